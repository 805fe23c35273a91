// SPDX-License-Identifier: GPL-2.0
/*
 * DOE fault injection selftests, against simulated devices.
 *
 * A simulated function (lib/pci_doe_sim.c) is created for each test; the
 * DOE test module (lib/test_pci_doe.c) runs the kernel's exchanges on it
 * through the DOE library, and the simulator's knobs make a mailbox
 * misbehave.  Every result is checked for its errno, for finishing within
 * the DOE budget (1 s to respond + 1 s to abort, asserted < 3.5 s; the time
 * is printed), for the library having aborted the mailbox, and for the
 * mailbox working again once the device behaves.  The simulated devices are
 * the same on every boot of "make check": the cases that take a second or
 * more run on the first boot only (see sim_secondary_boot()).
 *
 *  fault.*             one fault (variant), then recovery
 *  sim.discovery_*     Discovery versions, a Next Index loop, a failing
 *                      mailbox among good ones, 256 protocols
 *  sim.silent_protocol an advertised protocol that is never answered
 *  sim.surprise_remove_on_go  the device vanishes at Go
 *  sim.length_max_full a whole 2^18-dword response, checked
 *  sim.error_midway    Error raised at dword 300 of a 4002-dword
 *                      response: -EIO, noticed within 256 dwords
 *  sim.fuzz_short      random responses, every task completes once
 *  sim.cdat_from_userspace  a userspace requester reads the CDAT
 *  sim.ownership       claimed and neighbour mailboxes of one function
 *  sim.stray_user_dword    root leaves half a request behind
 *
 * Needs root, debugfs, CONFIG_PCI_DOE_SIM and CONFIG_TEST_PCI_DOE (skips
 * otherwise).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_user.h"
#include "pci_doe_sim.h"

#define ECHO_REQ	"78563412"
#define ECHO_RSP	"78563412"
#define RSP_SZ		64
#define OWNER		"pci_doe_sim_test"

static int echo(const struct sim_fn *fn, int mb, long *ms)
{
	return tdoe_exchange(fn, mb, SIM_ECHO, ECHO_REQ, RSP_SZ, ms);
}

/* Remove the function through sysfs and let the PCI core find it again */
static int reenumerate(const struct sim_fn *fn, long *ms)
{
	char path[256];
	long t0 = sim_now_us();
	int ret;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", fn->bdf);
	ret = sim_sysfs_remove(fn);
	if (!ret)
		ret = sim_wait_path(path, 0, SIM_BUDGET_MS);
	if (!ret)
		ret = sim_rescan();
	if (!ret)
		ret = sim_wait_path(path, 1, SIM_BUDGET_MS);
	if (ms)
		*ms = (sim_now_us() - t0) / 1000;
	return ret;
}

static int count_lines(const char *path)
{
	char *buf = malloc(1 << 16);
	int n, lines = 0, i;

	if (!buf)
		return -ENOMEM;
	n = sim_read(path, buf, 1 << 16);
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	free(buf);
	return n < 0 ? n : lines;
}

static unsigned int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return 0x100;	/* makes the dword wrong */
}

static unsigned int hexbyte(const char *s)
{
	return hexdigit(s[0]) << 4 | hexdigit(s[1]);
}

/* Does the library have mailbox @mb (its class device)? */
static int mb_usable(const struct sim_fn *fn, int mb)
{
	char path[256];

	sim_doe_dir(fn, mb, path, sizeof(path));
	return sim_exists(path);
}

/* The path of the "protocols" file of mailbox @mb */
static void protocols_path(const struct sim_fn *fn, int mb, char *buf,
			   size_t len)
{
	char dir[128];

	sim_doe_dir(fn, mb, dir, sizeof(dir));
	snprintf(buf, len, "%s/protocols", dir);
}

/* ---- one fault, then recovery ---- */

FIXTURE(fault) {
	struct sim_fn fn;
};

FIXTURE_VARIANT(fault) {
	const char *knob;	/* fault or knob of mailbox 0 */
	const char *value;	/* what is written to it */
	const char *knob2;	/* a second one, or NULL */
	const char *value2;
	int expect;		/* first exchange: bytes or -errno */
	int min_ms;		/* it takes at least this long */
	int expect2;		/* second exchange, knobs untouched; 0: none */
	const char *clear;	/* written to knob before recovery, or NULL */
};

FIXTURE_VARIANT_ADD(fault, busy_stuck_once) {
	.knob = "busy_stuck", .value = "once",
	.expect = -EBUSY, .min_ms = 900, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, busy_stuck_always) {
	/* Busy again right after each Abort: the Abort fails too */
	.knob = "busy_stuck", .value = "always",
	.expect = -EBUSY, .min_ms = 1800, .expect2 = -EIO, .clear = "off",
};

FIXTURE_VARIANT_ADD(fault, busy_stuck_every_2) {
	/* Writing it is chance 1; the end of the first response chance 2 */
	.knob = "busy_stuck", .value = "every 2",
	.expect = 4, .expect2 = -EBUSY, .clear = "off",
};

FIXTURE_VARIANT_ADD(fault, busy_for_200ms) {
	.knob = "busy_for", .value = "once 200000",
	.expect = 4, .min_ms = 150, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, busy_for_1500ms) {
	.knob = "busy_for", .value = "once 1500000",
	.expect = -EBUSY, .min_ms = 900, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, error_before_response) {
	.knob = "error_before_response", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, error_during_response) {
	.knob = "error_during_response", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, ready_never) {
	.knob = "ready_never", .value = "once",
	.expect = -ETIMEDOUT, .min_ms = 900, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, latency_300ms) {
	.knob = "latency_us", .value = "300000",
	.expect = 4, .min_ms = 280, .expect2 = 4, .clear = "0",
};

FIXTURE_VARIANT_ADD(fault, latency_1500ms) {
	.knob = "latency_us", .value = "1500000",
	.expect = -ETIMEDOUT, .min_ms = 900, .expect2 = -ETIMEDOUT,
	.clear = "0",
};

FIXTURE_VARIANT_ADD(fault, wrong_vendor) {
	.knob = "wrong_vendor", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, wrong_vendor_every_2) {
	.knob = "wrong_vendor", .value = "every 2",
	.expect = 4, .expect2 = -EIO, .clear = "off",
};

FIXTURE_VARIANT_ADD(fault, wrong_type) {
	.knob = "wrong_type", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, length_0) {
	/* Length 0 means 2^18 dwords; the object is 3 */
	.knob = "length_0", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, length_1) {
	.knob = "length_1", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, too_short) {
	.knob = "too_short", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, too_long) {
	.knob = "too_long", .value = "once",
	.expect = -EIO, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, abort_ignored_once) {
	/* 1 s for the response, 1 s for the ignored Abort */
	.knob = "abort_ignored", .value = "once",
	.knob2 = "ready_never", .value2 = "once",
	.expect = -ETIMEDOUT, .min_ms = 1800, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, abort_ignored_always) {
	/* Then the Abort retried before the next request fails: -EIO */
	.knob = "abort_ignored", .value = "always",
	.knob2 = "ready_never", .value2 = "once",
	.expect = -ETIMEDOUT, .min_ms = 1800, .expect2 = -EIO,
	.clear = "off",
};

FIXTURE_VARIANT_ADD(fault, abort_slow_300ms) {
	.knob = "abort_slow", .value = "once 300000",
	.knob2 = "ready_never", .value2 = "once",
	.expect = -ETIMEDOUT, .min_ms = 1250, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, abort_slow_1500ms) {
	.knob = "abort_slow", .value = "once 1500000",
	.knob2 = "ready_never", .value2 = "once",
	.expect = -ETIMEDOUT, .min_ms = 1800, .expect2 = 4,
};

FIXTURE_VARIANT_ADD(fault, all_ones_once) {
	/* Gone at Go, and stays gone until the knob is written */
	.knob = "all_ones", .value = "once",
	.expect = -ENODEV, .expect2 = -ENODEV, .clear = "off",
};

FIXTURE_VARIANT_ADD(fault, all_ones_always) {
	.knob = "all_ones", .value = "always",
	.expect = -ENODEV, .expect2 = -ENODEV, .clear = "off",
};

FIXTURE_SETUP(fault)
{
	const char *why = sim_missing();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, tdoe("reset", "1"));
	ASSERT_EQ(0, sim_add(&self->fn, 2, 2));
}

FIXTURE_TEARDOWN(fault)
{
	EXPECT_EQ(0, sim_del(&self->fn));
	tdoe("reset", "1");
}

TEST_F(fault, then_recover)
{
	const struct sim_fn *fn = &self->fn;
	int rc, i;
	char rsp[64];
	long ms;

	if (variant->min_ms >= 900 && sim_secondary_boot())
		SKIP(return, "slow: runs on the first boot only (%s)",
		     sim_secondary_boot());

	ASSERT_EQ(0, sim_knob(fn, 0, variant->knob, "%s", variant->value));
	if (variant->knob2)
		ASSERT_EQ(0, sim_knob(fn, 0, variant->knob2, "%s",
				      variant->value2));
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));

	rc = echo(fn, 0, &ms);
	ksft_print_msg("%s %s: %s after %ld ms\n", variant->knob,
		       variant->value, sim_result(rc), ms);
	EXPECT_EQ(variant->expect, rc);
	EXPECT_GE(ms, variant->min_ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	/* The library aborted to get the mailbox back to idle */
	if (rc < 0 && rc != -ENODEV)
		EXPECT_LE(1, sim_knob_key(fn, 0, "counters", "aborts"));

	if (variant->expect2) {
		rc = echo(fn, 0, &ms);
		ksft_print_msg("%s %s: then %s after %ld ms\n", variant->knob,
			       variant->value, sim_result(rc), ms);
		EXPECT_EQ(variant->expect2, rc);
		EXPECT_LT(ms, SIM_BUDGET_MS);
	}

	if (variant->clear)
		ASSERT_EQ(0, sim_knob(fn, 0, variant->knob, "%s",
				      variant->clear));
	/* The device behaves again: so does the mailbox */
	for (i = 0; i < 2; i++) {
		rc = echo(fn, 0, &ms);
		EXPECT_EQ(4, rc);
		EXPECT_LT(ms, SIM_BUDGET_MS);
	}
	ASSERT_LT(0, sim_read(TDOE_DIR "/response", rsp, sizeof(rsp)));
	EXPECT_EQ(0, strncmp(rsp, ECHO_RSP, strlen(ECHO_RSP)));
	/* The neighbour was never disturbed, nothing is left in flight */
	EXPECT_EQ(4, echo(fn, 1, NULL));
	EXPECT_EQ(0, sim_doe_attr(fn, 0, "in_flight"));
	EXPECT_EQ(0, sim_doe_claims(fn, 0));
}

/* ---- everything else, on a function with three mailboxes ---- */

FIXTURE(sim) {
	struct sim_fn fn;
};

FIXTURE_SETUP(sim)
{
	const char *why = sim_missing();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, tdoe("reset", "1"));
	ASSERT_EQ(0, sim_add(&self->fn, 3, 2));
}

FIXTURE_TEARDOWN(sim)
{
	EXPECT_EQ(0, sim_del(&self->fn));
	tdoe("reset", "1");
}

TEST_F(sim, discovery_versions)
{
	struct sim_fn v1;

	/* Capability version 2: Discovery version 2 (sec 6.30.1.1) */
	EXPECT_EQ(2, sim_knob_key(&self->fn, 0, "counters",
				  "discovery_version"));
	ASSERT_EQ(0, sim_add(&v1, 1, 1));
	EXPECT_EQ(0, sim_knob_key(&v1, 0, "counters", "discovery_version"));
	EXPECT_EQ(4, sim_knob_key(&v1, 0, "counters", "exchanges"));
	EXPECT_EQ(4, echo(&v1, 0, NULL));
	EXPECT_EQ(0, sim_del(&v1));
}

TEST_F(sim, discovery_loop)
{
	const struct sim_fn *fn = &self->fn;
	char path[256];
	long ms;

	/* The last index points back to index 1 */
	ASSERT_EQ(0, sim_knob(fn, 0, "discovery_loop", "always 1"));
	ASSERT_EQ(0, reenumerate(fn, &ms));
	ksft_print_msg("re-enumerated with a Discovery loop in %ld ms\n", ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	EXPECT_EQ(1, sim_knob_key(fn, 0, "discovery_loop", "fired"));
	protocols_path(fn, 0, path, sizeof(path));
	EXPECT_EQ(4, count_lines(path));
	EXPECT_EQ(4, echo(fn, 0, NULL));
}

TEST_F(sim, discovery_failure)
{
	const struct sim_fn *fn = &self->fn;
	long ms;

	/* Discovery fails on mailbox 0 only: the others still work */
	ASSERT_EQ(0, sim_knob(fn, 0, "wrong_vendor", "always"));
	ASSERT_EQ(0, reenumerate(fn, &ms));
	ksft_print_msg("re-enumerated with a broken mailbox in %ld ms\n", ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	EXPECT_FALSE(mb_usable(fn, 0));
	EXPECT_TRUE(mb_usable(fn, 1));
	EXPECT_TRUE(mb_usable(fn, 2));
	EXPECT_EQ(-ENOENT, echo(fn, 0, NULL));
	EXPECT_EQ(4, echo(fn, 2, NULL));

	ASSERT_EQ(0, sim_knob(fn, 0, "wrong_vendor", "off"));
	ASSERT_EQ(0, reenumerate(fn, NULL));
	EXPECT_TRUE(mb_usable(fn, 0));
	EXPECT_EQ(4, echo(fn, 0, NULL));
}

TEST_F(sim, discovery_256)
{
	const struct sim_fn *fn = &self->fn;
	char list[256 * 9 + 1] = "0001:00 7e57:01", path[256];
	int i, len = strlen(list);
	long ms;

	for (i = 2; i < 256; i++)
		len += snprintf(list + len, sizeof(list) - len, " %04x:%02x",
				0x1000 + i, i);
	ASSERT_EQ(0, sim_knob(fn, 1, "protocols", "%s", list));
	ASSERT_EQ(0, sim_knob(fn, 1, "counters", "0"));
	ASSERT_EQ(0, reenumerate(fn, &ms));
	ksft_print_msg("256 protocols discovered in %ld ms\n", ms);
	protocols_path(fn, 1, path, sizeof(path));
	EXPECT_EQ(256, count_lines(path));
	EXPECT_EQ(256, sim_knob_key(fn, 1, "counters", "exchanges"));
	EXPECT_EQ(4, echo(fn, 1, NULL));
}

TEST_F(sim, silent_protocol)
{
	const struct sim_fn *fn = &self->fn;
	long ms;
	int rc;

	/* 7e57:03 is advertised but the simulator never answers it */
	ASSERT_EQ(0, sim_knob(fn, 0, "protocols", "0001:00 7e57:01 7e57:03"));
	ASSERT_EQ(0, reenumerate(fn, NULL));
	rc = tdoe_exchange(fn, 0, "7e57:03", ECHO_REQ, RSP_SZ, &ms);
	ksft_print_msg("unanswered protocol: %s after %ld ms\n",
		       sim_result(rc), ms);
	EXPECT_EQ(-ETIMEDOUT, rc);
	EXPECT_GE(ms, 900);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	EXPECT_EQ(1, sim_knob_key(fn, 0, "counters", "discarded"));
	EXPECT_EQ(4, echo(fn, 0, NULL));
	/* Not advertised: refused before anything is sent */
	EXPECT_EQ(-EINVAL, tdoe_exchange(fn, 0, SIM_SIZED, "01000000",
					 RSP_SZ, NULL));
}

TEST_F(sim, surprise_remove_on_go)
{
	const struct sim_fn *fn = &self->fn;
	char path[256], state[64];
	long ms, t0;
	int rc;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", fn->bdf);
	ASSERT_EQ(0, sim_knob(fn, 1, "surprise_remove", "once"));
	t0 = sim_now_us();
	rc = echo(fn, 1, &ms);
	ksft_print_msg("surprise removal at Go: %s after %ld ms\n",
		       sim_result(rc), ms);
	EXPECT_EQ(-ENODEV, rc);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	EXPECT_EQ(0, sim_wait_path(path, 0, SIM_BUDGET_MS));
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("function gone from sysfs %ld ms after Go\n", ms);
	EXPECT_EQ(0, sim_state(fn, state, sizeof(state)));
	EXPECT_STREQ("surprise_removed", state);
	EXPECT_EQ(-ENODEV, echo(fn, 0, NULL));
}

TEST_F(sim, length_max_full)
{
	const struct sim_fn *fn = &self->fn;
	const size_t sz = (SIM_MAX_OBJECT_DW - 2) * 4;
	unsigned int i, bad = 0;
	char *hex;
	long ms;
	int rc, n;

	if (sim_secondary_boot())
		SKIP(return, "slow: runs on the first boot only (%s)",
		     sim_secondary_boot());
	hex = malloc(2 * sz + 64);
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	ASSERT_NE(NULL, hex);
	/* Sized protocol: request 2^18 - 2 dwords, a Length 0 object */
	rc = tdoe_exchange(fn, 0, SIM_SIZED, "feff0300", sz, &ms);
	ksft_print_msg("2^18-dword response: %s after %ld ms\n",
		       sim_result(rc), ms);
	EXPECT_EQ((int)sz, rc);
	n = sim_read(TDOE_DIR "/response", hex, 2 * sz + 64);
	ASSERT_EQ((int)(2 * sz + 1), n);
	for (i = 0; i < SIM_MAX_OBJECT_DW - 2; i++) {
		uint32_t dw = 0;
		int b;

		/* Little-endian bytes, two hex digits each */
		for (b = 3; b >= 0; b--)
			dw = dw << 8 | hexbyte(hex + 8 * i + 2 * b);
		bad += dw != (i ^ SIM_PATTERN);
	}
	free(hex);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, sim_knob_key(fn, 0, "counters", "aborts"));
	EXPECT_EQ(4, echo(fn, 0, NULL));
}

/*
 * A long response during which the device raises Error after 300 dwords
 * (header included): the library checks Status every 256 dwords of
 * payload, so it must stop by the second check, at dword 2 + 512, fail
 * with -EIO and abort, instead of popping all 4002 dwords of nothing.
 */
#define MIDWAY_DW	4000		/* payload dwords of the response */
#define MIDWAY_ERROR_AT	300
#define MIDWAY_CHECK_DW	256

TEST_F(sim, error_midway)
{
	const struct sim_fn *fn = &self->fn;
	char req[16];
	long ms, pops, aborts, errors0;
	int rc;

	ASSERT_EQ(0, sim_knob(fn, 0, "error_during_response", "once %d",
			      MIDWAY_ERROR_AT));
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	errors0 = sim_doe_attr(fn, 0, "errors");
	/* Sized protocol: request dword = payload dwords, little-endian hex */
	snprintf(req, sizeof(req), "%02x%02x%02x%02x", MIDWAY_DW & 0xff,
		 (MIDWAY_DW >> 8) & 0xff, (MIDWAY_DW >> 16) & 0xff,
		 MIDWAY_DW >> 24);
	rc = tdoe_exchange(fn, 0, SIM_SIZED, req, RSP_SZ, &ms);
	pops = sim_knob_key(fn, 0, "counters", "read_mailbox_writes");
	aborts = sim_knob_key(fn, 0, "counters", "aborts");
	ksft_print_msg("Error at dword %d of %d: %s after %ld ms, %ld dwords read, %ld abort(s)\n",
		       MIDWAY_ERROR_AT, MIDWAY_DW + 2, sim_result(rc), ms,
		       pops, aborts);
	EXPECT_EQ(-EIO, rc);
	EXPECT_EQ(1, sim_knob_key(fn, 0, "error_during_response", "fired"));
	/* Read past the Error, but not further than the next check */
	EXPECT_LE(MIDWAY_ERROR_AT, pops);
	EXPECT_GE(2 + 2 * MIDWAY_CHECK_DW, pops);
	EXPECT_EQ(1, aborts);
	EXPECT_EQ(errors0 + 1, sim_doe_attr(fn, 0, "errors"));
	EXPECT_LT(ms, SIM_BUDGET_MS);
	/* The fault fired once: the same request now works to its end */
	rc = tdoe_exchange(fn, 0, SIM_SIZED, req, RSP_SZ, &ms);
	ksft_print_msg("then: %s after %ld ms\n", sim_result(rc), ms);
	EXPECT_EQ(RSP_SZ, rc);
	EXPECT_EQ(4, echo(fn, 0, NULL));
}

/*
 * A device whose response time swings between slow, fast and slow again:
 * the library learns a steady response time and polls around it, so this
 * walks the paths where its guess is too long (the response is there after
 * the first sleep) and too short (not there after the spin).  Every
 * exchange must still succeed, with no abort and no timeout.  Speed is
 * make bench's business; this checks that the guessing never costs a
 * result.
 */
TEST_F(sim, latency_changes)
{
	static const unsigned int lat_us[] = {
		2000, 2000, 2000, 2000, 10, 10, 10, 300, 300, 300, 300, 5000,
		5000, 5000, 0, 0, 1000, 1000, 1000, 1000, 60, 60, 3000, 100,
	};
	const struct sim_fn *fn = &self->fn;
	unsigned int i, bad = 0;
	int rc;

	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	for (i = 0; i < ARRAY_SIZE(lat_us); i++) {
		ASSERT_EQ(0, sim_knob(fn, 0, "latency_us", "%u", lat_us[i]));
		rc = echo(fn, 0, NULL);
		if (rc != 4) {
			ksft_print_msg("exchange %u at %u us: %s\n", i,
				       lat_us[i], sim_result(rc));
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, sim_knob_key(fn, 0, "counters", "aborts"));
	EXPECT_EQ(0, sim_doe_attr(fn, 0, "timeouts"));
	EXPECT_EQ(0, sim_doe_attr(fn, 0, "errors"));
	ASSERT_EQ(0, sim_knob(fn, 0, "latency_us", "0"));
}

TEST_F(sim, fuzz_short)
{
	const struct sim_fn *fn = &self->fn;
	struct tdoe_async r;
	long t0, ms;
	int mb;

	for (mb = 0; mb < 3; mb++) {
		ASSERT_EQ(0, sim_knob(fn, mb, "seed", "%d", 1000 + mb));
		ASSERT_EQ(0, sim_knob(fn, mb, "fuzz", "always"));
	}
	t0 = sim_now_us();
	for (mb = 0; mb < 3; mb++)
		ASSERT_EQ(0, tdoe_async(fn, mb, 200, SIM_ECHO,
					"0102030405060708", RSP_SZ));
	ASSERT_EQ(0, tdoe("trigger_wait", "1"));
	ms = (sim_now_us() - t0) / 1000;
	ASSERT_EQ(0, tdoe_async_results(&r));
	ksft_print_msg("fuzz: %ld exchanges in %ld ms: %ld ok, %ld errors\n",
		       r.completed, ms, r.ok, r.errors);
	EXPECT_EQ(600, r.submitted);
	EXPECT_EQ(r.submitted, r.completed);
	EXPECT_EQ(r.completed, r.ok + r.errors);
	for (mb = 0; mb < 3; mb++) {
		/* One Go per task, each fuzzed */
		EXPECT_EQ(200, sim_knob_key(fn, mb, "fuzz", "fired"));
		ASSERT_EQ(0, sim_knob(fn, mb, "fuzz", "off"));
		EXPECT_EQ(4, echo(fn, mb, NULL));
		EXPECT_EQ(0, sim_doe_attr(fn, mb, "in_flight"));
	}
}

TEST_F(sim, cdat_from_userspace)
{
	const struct sim_fn *fn = &self->fn;
	struct doe_user_mb mb;
	uint8_t *table, sum = 0;
	size_t len, i;
	int ret;

	ASSERT_EQ(0, sim_knob(fn, 0, "table_entries", "8"));
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	/* An independent requester, through config space */
	ret = doe_user_find_protocol(fn->bdf, DOE_USER_VID_CXL,
				     DOE_USER_TYPE_CDAT, &mb);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(SIM_MB_OFFSET(0), mb.cap);
	ret = doe_user_read_cdat(&mb, &table, &len);
	doe_user_close(&mb);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(16 + 8 * 24, len);
	EXPECT_EQ(len, table[0] | table[1] << 8);
	for (i = 0; i < len; i++)
		sum += table[i];
	EXPECT_EQ(0, sum);
	free(table);
	/* Root used the mailbox: the kernel aborts it before its next use */
	EXPECT_EQ(4, echo(fn, 0, NULL));
	EXPECT_EQ(1, sim_knob_key(fn, 0, "counters", "aborts"));
}

TEST_F(sim, ownership)
{
	const struct sim_fn *fn = &self->fn;
	uint32_t zero[4] = { 0 };
	int mb;

	if (strcmp(sim_policy(), "strict"))
		SKIP(return, "DOE policy is \"%s\", not strict", sim_policy());

	/* Mailbox 1 claimed; 0 and 2, its neighbours, idle */
	ASSERT_EQ(0, tdoe_claim(fn, 1, OWNER));
	for (mb = 0; mb < 3; mb++)
		ASSERT_EQ(0, sim_knob(fn, mb, "counters", "0"));

	EXPECT_EQ(-EPERM, sim_cfg_write(fn, SIM_MB_OFFSET(1) + SIM_DOE_WRITE,
					zero, 4));
	EXPECT_EQ(-EPERM, sim_proc_write(fn, SIM_MB_OFFSET(1) + SIM_DOE_READ,
					 zero, 4));
	EXPECT_EQ(-EPERM, sim_cfg_write(fn, SIM_MB_OFFSET(1) + 3, zero, 1));
	/* Across the idle mailbox 0 into 1: refused as a whole */
	EXPECT_EQ(-EPERM, sim_cfg_write(fn, SIM_MB_OFFSET(0) + SIM_DOE_READ,
					zero, 16));
	EXPECT_EQ(0, sim_knob_key(fn, 0, "counters", "read_mailbox_writes"));
	EXPECT_EQ(4, sim_doe_attr(fn, 1, "denied_writes"));

	/* The neighbours take root's writes */
	EXPECT_EQ(0, sim_cfg_write(fn, SIM_MB_OFFSET(0) + SIM_DOE_WRITE,
				   zero, 4));
	EXPECT_EQ(0, sim_proc_write(fn, SIM_MB_OFFSET(2) + SIM_DOE_WRITE,
				    zero, 4));
	EXPECT_EQ(1, sim_knob_key(fn, 0, "counters", "write_mailbox_writes"));
	EXPECT_EQ(1, sim_knob_key(fn, 2, "counters", "write_mailbox_writes"));
	for (mb = 0; mb < 3; mb++)
		EXPECT_EQ(mb == 1 ? 0 : 1,
			  sim_knob_key(fn, mb, "counters", "write_mailbox_writes") +
			  sim_knob_key(fn, mb, "counters", "read_mailbox_writes") +
			  sim_knob_key(fn, mb, "counters", "ctrl_writes"));

	/* The kernel aborts the mailboxes root wrote, not the claimed one */
	for (mb = 0; mb < 3; mb++) {
		EXPECT_EQ(4, echo(fn, mb, NULL));
		EXPECT_EQ(mb == 1 ? 0 : 1,
			  sim_knob_key(fn, mb, "counters", "aborts"));
	}

	/* Released: root may write it again */
	ASSERT_EQ(0, tdoe_release(fn, 1, OWNER));
	EXPECT_EQ(0, sim_cfg_write(fn, SIM_MB_OFFSET(1) + SIM_DOE_WRITE,
				   zero, 4));

	/* No claim, but an exchange in flight: refused until it ends */
	ASSERT_EQ(0, sim_knob(fn, 2, "ready_never", "once"));
	ASSERT_EQ(0, sim_knob(fn, 2, "counters", "0"));
	ASSERT_EQ(0, tdoe_async(fn, 2, 1, SIM_ECHO, ECHO_REQ, RSP_SZ));
	ASSERT_EQ(0, sim_wait_count(fn, 2, "gos", 1, SIM_BUDGET_MS));
	EXPECT_EQ(-EPERM, sim_cfg_write(fn, SIM_MB_OFFSET(2) + SIM_DOE_WRITE,
					zero, 4));
	EXPECT_EQ(0, sim_cfg_write(fn, SIM_MB_OFFSET(0) + SIM_DOE_WRITE,
				   zero, 4));
	ASSERT_EQ(0, tdoe("trigger_wait", "1"));
	EXPECT_EQ(0, sim_cfg_write(fn, SIM_MB_OFFSET(2) + SIM_DOE_WRITE,
				   zero, 4));
	for (mb = 0; mb < 3; mb++)
		EXPECT_EQ(4, echo(fn, mb, NULL));
}

TEST_F(sim, stray_user_dword)
{
	const struct sim_fn *fn = &self->fn;
	uint32_t hdr = 0x00017e57;	/* half an echo request */
	long ms;

	if (!strcmp(sim_policy(), "locked"))
		SKIP(return, "DOE policy is locked: root writes are refused");
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	ASSERT_EQ(0, sim_cfg_write(fn, SIM_MB_OFFSET(0) + SIM_DOE_WRITE, &hdr,
				   4));
	/* The stock kernel times out here; the library aborts first */
	EXPECT_EQ(4, echo(fn, 0, &ms));
	ksft_print_msg("exchange after a stray dword: %ld ms\n", ms);
	EXPECT_LT(ms, 500);
	EXPECT_EQ(1, sim_knob_key(fn, 0, "counters", "aborts"));
	EXPECT_EQ(0, sim_knob_key(fn, 0, "counters", "discarded"));
}

TEST_HARNESS_MAIN
