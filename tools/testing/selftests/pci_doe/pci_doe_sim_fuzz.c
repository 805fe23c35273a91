// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the DOE library with random responses from simulated mailboxes.
 *
 * The eight mailboxes of a simulated function (lib/pci_doe_sim.c) answer
 * every request with a random object from a seeded PRNG: random header,
 * Length (0, 1, off by a little or anything), payload dwords, Error before
 * or during the response, Ready late, random Busy, Interrupt Status and
 * reserved Status bits.  The DOE test module (lib/test_pci_doe.c) keeps
 * 256 tasks queued on each mailbox with various request and response
 * sizes.  The kernel must not crash or overrun a buffer (KASAN), every task
 * must complete exactly once (the test module warns on a second call), and
 * the mailboxes must work once the device behaves.
 *
 * 100000 exchanges on the first boot of "make check"; on the others (switch
 * topology, policy boots) a short run of 5000, to keep the suite's time
 * down.  PCI_DOE_SIM_FUZZ=N in the environment sets the count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kselftest_harness.h"
#include "pci_doe_sim.h"

#define NR_MB		8
#define BATCH		256	/* test_pci_doe's limit per trigger_async */
#define FULL_RUN	100000
#define SHORT_RUN	5000
#define TIME_LIMIT_S	200
#define SEED		0x5eed0000

static const char * const requests[] = {
	"", "01", "0102030405060708",
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
};

static const unsigned int response_sizes[] = { 0, 3, 4, 16, 64, 256 };

FIXTURE(fuzz) {
	struct sim_fn fn;
};

FIXTURE_SETUP(fuzz)
{
	const char *why = sim_missing();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, tdoe("reset", "1"));
	ASSERT_EQ(0, sim_add(&self->fn, NR_MB, 2));
}

FIXTURE_TEARDOWN(fuzz)
{
	EXPECT_EQ(0, sim_del(&self->fn));
	tdoe("reset", "1");
}

TEST_F_TIMEOUT(fuzz, random_responses, 280)
{
	const struct sim_fn *fn = &self->fn;
	long target = FULL_RUN, total = 0, fired = 0, t0, ms;
	const char *env = getenv("PCI_DOE_SIM_FUZZ");
	struct tdoe_async r;
	unsigned int round;
	int mb;

	if (env)
		target = strtol(env, NULL, 0);
	else if (sim_secondary_boot())
		target = SHORT_RUN;
	ksft_print_msg("fuzzing %ld exchanges, seeds %#x..%#x\n", target,
		       SEED, SEED + NR_MB - 1);
	if (!env && sim_secondary_boot())
		ksft_print_msg("short run (%s): the full run is on the first boot\n",
			       sim_secondary_boot());

	for (mb = 0; mb < NR_MB; mb++) {
		ASSERT_EQ(0, sim_knob(fn, mb, "seed", "%d", SEED + mb));
		ASSERT_EQ(0, sim_knob(fn, mb, "fuzz", "always"));
	}

	t0 = sim_now_us();
	for (round = 0; total < target; round++) {
		if (sim_now_us() - t0 > TIME_LIMIT_S * 1000000L) {
			ksft_print_msg("time limit of %d s reached\n",
				       TIME_LIMIT_S);
			break;
		}
		for (mb = 0; mb < NR_MB; mb++) {
			unsigned int k = round + mb;
			const char *req = requests[k % 4];
			unsigned int rsp = response_sizes[k % 6];

			ASSERT_EQ(0, tdoe_async(fn, mb, BATCH, SIM_ECHO, req,
						rsp));
		}
		ASSERT_EQ(0, tdoe("trigger_wait", "1"));
		total += NR_MB * BATCH;
	}
	ms = (sim_now_us() - t0) / 1000;

	ASSERT_EQ(0, tdoe_async_results(&r));
	for (mb = 0; mb < NR_MB; mb++)
		fired += sim_knob_key(fn, mb, "fuzz", "fired");
	ksft_print_msg("%ld exchanges in %ld ms (%ld us each)\n", r.completed,
		       ms, ms * 1000 / (total ?: 1));
	ksft_print_msg("%ld ok, %ld errors, %ld random responses\n", r.ok,
		       r.errors, fired);
	EXPECT_GE(total, target);
	EXPECT_EQ(total, r.submitted);
	EXPECT_EQ(r.submitted, r.completed);
	EXPECT_EQ(r.completed, r.ok + r.errors);
	/* Some succeed, some fail: the fuzzer does both */
	EXPECT_LT(0, r.ok);
	EXPECT_LT(0, r.errors);

	for (mb = 0; mb < NR_MB; mb++) {
		ASSERT_EQ(0, sim_knob(fn, mb, "fuzz", "off"));
		EXPECT_EQ(4, tdoe_exchange(fn, mb, SIM_ECHO, "78563412", 64,
					   NULL));
		EXPECT_EQ(0, sim_doe_attr(fn, mb, "in_flight"));
	}
}

TEST_HARNESS_MAIN
