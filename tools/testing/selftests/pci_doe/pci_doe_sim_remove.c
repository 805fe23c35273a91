// SPDX-License-Identifier: GPL-2.0
/*
 * Removal of simulated DOE functions with work queued and in flight.
 *
 * The DOE test module (lib/test_pci_doe.c) holds claims and queues
 * asynchronous and synchronous exchanges on a simulated function
 * (lib/pci_doe_sim.c), which is then removed: in order ("del", or sysfs
 * "remove" and a rescan), or by surprise (all-ones, then removal from a work
 * item).  Every callback must run exactly once and fail with -ENODEV, the
 * removal must finish within the DOE budget, and the pci_doe_complete trace
 * events must show one completion per task, all with rv -19.
 *
 *  rm.orderly_async_claim     claim + tasks running and queued on two
 *                             mailboxes, "del"
 *  rm.orderly_sync_in_flight  a synchronous exchange in flight (300 ms
 *                             device) does not hold the removal up: it
 *                             fails with -ENODEV at its next poll, as do
 *                             the queued tasks of the other mailbox
 *  rm.surprise_all_work       claim + synchronous + asynchronous work, the
 *                             device vanishes
 *  rm.during_length_max       removal in the middle of a 2^18-dword read
 *  rm.sysfs_remove_rescan     sysfs remove with a claim and queued tasks
 *                             (the class devices go), then a rescan gives
 *                             fresh, working mailboxes
 *  rm.churn                   functions added, used and deleted in a loop
 *  rm.claim_outlives_orderly  a claim held across "del" is released later,
 *                             quietly; the module finds it by name
 *  rm.claim_outlives_surprise the same across a surprise removal
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pci_doe_sim.h"

#define ECHO_REQ	"78563412"
#define RSP_SZ		64
#define OWNER		"pci_doe_sim_remove"
#define NR_TASKS	32
#define CHURN		40
#define TRACING		"/sys/kernel/tracing"
#define COMPLETE_EVENT	TRACING "/events/pci_doe/pci_doe_complete/enable"

/* Clear the trace buffer and record pci_doe_complete: 0 or -errno */
static int trace_start(void)
{
	int fd;

	fd = open(TRACING "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return sim_write(COMPLETE_EVENT, "1");
}

/*
 * The trace counts are part of the removal tests: without the tracepoint
 * (no tracefs, CONFIG_EVENT_TRACING) they skip, and a tracepoint that
 * cannot be turned on fails them.
 */
#define NO_TRACE	"no " COMPLETE_EVENT " (tracefs, CONFIG_EVENT_TRACING)"

static void trace_stop(void)
{
	sim_write(COMPLETE_EVENT, "0");
}

/* pci_doe_complete events of @bdf: how many with rv @rv, how many not */
static int trace_count(const char *bdf, int rv, int *others)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1), *p, *nb;
	char want[64];
	int fd, n = 0;
	ssize_t got;

	*others = 0;
	if (!buf)
		return -ENOMEM;
	fd = open(TRACING "/trace", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	while ((got = read(fd, buf + len, cap - len)) > 0) {
		len += got;
		if (len == cap) {
			nb = realloc(buf, 2 * cap + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';

	snprintf(want, sizeof(want), "pci_doe_complete: %s ", bdf);
	for (p = buf; (p = strstr(p, want)); p++) {
		char *r = strstr(p, " rv ");
		char *eol = strchr(p, '\n');

		if (!r || (eol && r > eol))
			continue;
		if (strtol(r + 4, NULL, 10) == rv)
			n++;
		else
			(*others)++;
	}
	free(buf);
	return n;
}

/* A child process running one synchronous exchange; its result in a pipe */
struct sync_child {
	pid_t pid;
	int fd;
};

static int sync_start(struct sync_child *c, const struct sim_fn *fn, int mb)
{
	int p[2];

	if (pipe(p))
		return -errno;
	c->pid = fork();
	if (c->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!c->pid) {
		int rc = tdoe_exchange(fn, mb, SIM_ECHO, ECHO_REQ, RSP_SZ,
				       NULL);

		close(p[0]);
		if (write(p[1], &rc, sizeof(rc)) != sizeof(rc))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	c->fd = p[0];
	return 0;
}

static int sync_result(struct sync_child *c)
{
	int rc = -EPIPE, status;

	if (read(c->fd, &rc, sizeof(rc)) != sizeof(rc))
		rc = -EPIPE;
	close(c->fd);
	waitpid(c->pid, &status, 0);
	return rc;
}

FIXTURE(rm) {
	struct sim_fn fn;
	int deleted;
	int traced;
};

FIXTURE_SETUP(rm)
{
	const char *why = sim_missing();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, tdoe("reset", "1"));
	ASSERT_EQ(0, sim_add(&self->fn, 2, 2));
}

FIXTURE_TEARDOWN(rm)
{
	if (!self->deleted)
		EXPECT_EQ(0, sim_del(&self->fn));
	if (self->traced)
		trace_stop();
	tdoe("reset", "1");
}

/*
 * Check that @nr tasks completed once each, all with -ENODEV, and that the
 * trace shows @nr + @extra_enodev completions with -ENODEV and @others
 * with other results.
 */
static void check_all_enodev(struct __test_metadata *_metadata,
			     const struct sim_fn *fn, int traced, long nr,
			     int extra_enodev, int expect_others)
{
	struct tdoe_async r;
	int others, n;

	ASSERT_EQ(0, tdoe("trigger_wait", "1"));
	ASSERT_EQ(0, tdoe_async_results(&r));
	ksft_print_msg("async: submitted %ld completed %ld ok %ld errors %ld last_error %d\n",
		       r.submitted, r.completed, r.ok, r.errors, r.last_error);
	EXPECT_EQ(nr, r.submitted);
	EXPECT_EQ(r.submitted, r.completed);
	EXPECT_EQ(0, r.ok);
	EXPECT_EQ(nr, r.errors);
	EXPECT_EQ(-ENODEV, r.last_error);
	ASSERT_TRUE(traced);
	n = trace_count(fn->bdf, -ENODEV, &others);
	ksft_print_msg("trace: %d completions with rv -19, %d other\n", n,
		       others);
	EXPECT_EQ(nr + extra_enodev, n);
	EXPECT_EQ(expect_others, others);
}

TEST_F(rm, orderly_async_claim)
{
	const struct sim_fn *fn = &self->fn;
	long ms, t0;
	int mb;

	if (!sim_exists(COMPLETE_EVENT))
		SKIP(return, NO_TRACE);
	ASSERT_EQ(0, trace_start());
	self->traced = 1;
	ASSERT_EQ(0, tdoe_claim(fn, 0, OWNER));
	for (mb = 0; mb < 2; mb++) {
		/* The first task waits for a response, the others queue */
		ASSERT_EQ(0, sim_knob(fn, mb, "ready_never", "always"));
		ASSERT_EQ(0, sim_knob(fn, mb, "counters", "0"));
		ASSERT_EQ(0, tdoe_async(fn, mb, NR_TASKS / 2, SIM_ECHO,
					ECHO_REQ, RSP_SZ));
	}
	for (mb = 0; mb < 2; mb++)
		ASSERT_EQ(0, sim_wait_count(fn, mb, "gos", 1, SIM_BUDGET_MS));

	t0 = sim_now_us();
	ASSERT_EQ(0, sim_del(fn));
	self->deleted = 1;
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("removed with a claim and %d tasks in %ld ms\n",
		       NR_TASKS, ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	check_all_enodev(_metadata, fn, self->traced, NR_TASKS, 0, 0);
}

TEST_F(rm, orderly_sync_in_flight)
{
	const struct sim_fn *fn = &self->fn;
	struct sync_child c;
	int rc, others;
	long ms, t0;

	if (!sim_exists(COMPLETE_EVENT))
		SKIP(return, NO_TRACE);
	ASSERT_EQ(0, trace_start());
	self->traced = 1;
	ASSERT_EQ(0, tdoe_claim(fn, 0, OWNER));
	/* Mailbox 1 answers after 300 ms, mailbox 0 never */
	ASSERT_EQ(0, sim_knob(fn, 1, "latency_us", "300000"));
	ASSERT_EQ(0, sim_knob(fn, 0, "ready_never", "always"));
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	ASSERT_EQ(0, sim_knob(fn, 1, "counters", "0"));

	ASSERT_EQ(0, sync_start(&c, fn, 1));
	ASSERT_EQ(0, sim_wait_count(fn, 1, "gos", 1, SIM_BUDGET_MS));
	ASSERT_EQ(0, tdoe_async(fn, 0, NR_TASKS, SIM_ECHO, ECHO_REQ, RSP_SZ));
	ASSERT_EQ(0, sim_wait_count(fn, 0, "gos", 1, SIM_BUDGET_MS));

	t0 = sim_now_us();
	ASSERT_EQ(0, sim_del(fn));
	self->deleted = 1;
	ms = (sim_now_us() - t0) / 1000;
	rc = sync_result(&c);
	ksft_print_msg("removed in %ld ms; the exchange in flight: %s\n", ms,
		       sim_result(rc));
	EXPECT_LT(ms, SIM_BUDGET_MS);
	/*
	 * The removal does not wait for the device: the exchange in flight
	 * ends with -ENODEV at its next poll, well before its 300 ms
	 */
	EXPECT_EQ(-ENODEV, rc);
	check_all_enodev(_metadata, fn, self->traced, NR_TASKS, 1, 0);
	EXPECT_EQ(0, trace_count(fn->bdf, 4, &others));
}

/*
 * A claim holds what it needs: after its function is removed it can be
 * released (0 from the module, no warning) and the module no longer finds
 * the function for an exchange.  KASAN and kmemleak judge the rest.
 */
static void claim_outlives(struct __test_metadata *_metadata,
			   const struct sim_fn *fn, int surprise)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", fn->bdf);
	ASSERT_EQ(0, tdoe_claim(fn, 0, OWNER));
	ASSERT_EQ(0, tdoe_claim(fn, 1, OWNER));
	if (surprise) {
		ASSERT_EQ(0, sim_knob(fn, -1, "surprise", "1"));
		ASSERT_EQ(0, sim_wait_path(path, 0, SIM_BUDGET_MS));
	} else {
		ASSERT_EQ(0, sim_del(fn));
	}
	EXPECT_EQ(-ENODEV, tdoe_exchange(fn, 0, SIM_ECHO, ECHO_REQ, RSP_SZ,
					 NULL));
	EXPECT_EQ(0, tdoe_release(fn, 1, OWNER));
	EXPECT_EQ(0, tdoe_release(fn, 0, OWNER));
	EXPECT_EQ(-ENOENT, tdoe_release(fn, 0, OWNER));
}

TEST_F(rm, claim_outlives_orderly)
{
	claim_outlives(_metadata, &self->fn, 0);
	self->deleted = 1;
}

TEST_F(rm, claim_outlives_surprise)
{
	claim_outlives(_metadata, &self->fn, 1);
}

TEST_F(rm, surprise_all_work)
{
	const struct sim_fn *fn = &self->fn;
	char path[256], state[64];
	struct sync_child c;
	long ms, t0;
	int rc, mb;

	if (!sim_exists(COMPLETE_EVENT))
		SKIP(return, NO_TRACE);
	ASSERT_EQ(0, trace_start());
	self->traced = 1;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", fn->bdf);
	ASSERT_EQ(0, tdoe_claim(fn, 0, OWNER));
	for (mb = 0; mb < 2; mb++) {
		ASSERT_EQ(0, sim_knob(fn, mb, "ready_never", "always"));
		ASSERT_EQ(0, sim_knob(fn, mb, "counters", "0"));
	}
	/* Mailbox 1: a synchronous exchange in flight, tasks behind it */
	ASSERT_EQ(0, sync_start(&c, fn, 1));
	ASSERT_EQ(0, sim_wait_count(fn, 1, "gos", 1, SIM_BUDGET_MS));
	ASSERT_EQ(0, tdoe_async(fn, 1, NR_TASKS / 2, SIM_ECHO, ECHO_REQ,
				RSP_SZ));
	/* Mailbox 0, claimed: a task in flight, tasks behind it */
	ASSERT_EQ(0, tdoe_async(fn, 0, NR_TASKS / 2, SIM_ECHO, ECHO_REQ,
				RSP_SZ));
	ASSERT_EQ(0, sim_wait_count(fn, 0, "gos", 1, SIM_BUDGET_MS));

	t0 = sim_now_us();
	ASSERT_EQ(0, sim_knob(fn, -1, "surprise", "1"));
	rc = sync_result(&c);
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("synchronous exchange: %s %ld ms after the surprise\n",
		       sim_result(rc), ms);
	EXPECT_EQ(-ENODEV, rc);
	EXPECT_EQ(0, sim_wait_path(path, 0, SIM_BUDGET_MS));
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("function gone from sysfs after %ld ms\n", ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	EXPECT_EQ(0, sim_state(fn, state, sizeof(state)));
	EXPECT_STREQ("surprise_removed", state);
	check_all_enodev(_metadata, fn, self->traced, NR_TASKS, 1, 0);
}

TEST_F(rm, during_length_max)
{
	const struct sim_fn *fn = &self->fn;
	long ms, t0;

	if (!sim_exists(COMPLETE_EVENT))
		SKIP(return, NO_TRACE);
	ASSERT_EQ(0, trace_start());
	self->traced = 1;
	ASSERT_EQ(0, sim_knob(fn, 0, "length_max", "always"));
	ASSERT_EQ(0, sim_knob(fn, 0, "counters", "0"));
	ASSERT_EQ(0, tdoe_async(fn, 0, 4, SIM_ECHO, ECHO_REQ, RSP_SZ));
	/* Well into the first 2^18-dword response */
	ASSERT_EQ(0, sim_wait_count(fn, 0, "read_mailbox_reads", 2000,
				    10000));

	t0 = sim_now_us();
	ASSERT_EQ(0, sim_del(fn));
	self->deleted = 1;
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("removed in the middle of a 1 MiB response in %ld ms\n",
		       ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	check_all_enodev(_metadata, fn, self->traced, 4, 0, 0);
}

TEST_F(rm, sysfs_remove_rescan)
{
	const struct sim_fn *fn = &self->fn;
	char path[256], dir[128];
	uint32_t zero = 0;
	long ms, t0;
	int mb;

	if (!sim_exists(COMPLETE_EVENT))
		SKIP(return, NO_TRACE);
	ASSERT_EQ(0, trace_start());
	self->traced = 1;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", fn->bdf);
	ASSERT_EQ(0, tdoe_claim(fn, 1, OWNER));
	ASSERT_EQ(1, sim_doe_claims(fn, 1));
	ASSERT_EQ(0, sim_knob(fn, 1, "ready_never", "always"));
	ASSERT_EQ(0, sim_knob(fn, 1, "counters", "0"));
	ASSERT_EQ(0, tdoe_async(fn, 1, NR_TASKS, SIM_ECHO, ECHO_REQ, RSP_SZ));
	ASSERT_EQ(0, sim_wait_count(fn, 1, "gos", 1, SIM_BUDGET_MS));

	t0 = sim_now_us();
	ASSERT_EQ(0, sim_sysfs_remove(fn));
	ASSERT_EQ(0, sim_wait_path(path, 0, SIM_BUDGET_MS));
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("sysfs remove in %ld ms\n", ms);
	EXPECT_LT(ms, SIM_BUDGET_MS);
	check_all_enodev(_metadata, fn, self->traced, NR_TASKS, 0, 0);
	/* The mailboxes' class devices went with the function */
	for (mb = 0; mb < 2; mb++) {
		sim_doe_dir(fn, mb, dir, sizeof(dir));
		EXPECT_EQ(0, sim_wait_path(dir, 0, SIM_BUDGET_MS))
			TH_LOG("%s still there after the remove", dir);
	}

	/* Found again: fresh mailboxes, no claim, working */
	ASSERT_EQ(0, sim_knob(fn, 1, "ready_never", "off"));
	ASSERT_EQ(0, sim_rescan());
	ASSERT_EQ(0, sim_wait_path(path, 1, SIM_BUDGET_MS));
	for (mb = 0; mb < 2; mb++) {
		sim_doe_dir(fn, mb, dir, sizeof(dir));
		ASSERT_EQ(0, sim_wait_path(dir, 1, SIM_BUDGET_MS))
			TH_LOG("no %s after the rescan", dir);
	}
	EXPECT_EQ(0, sim_doe_claims(fn, 1));
	/* Not claimed any more: root may write it (but for the locked policy) */
	EXPECT_EQ(strcmp(sim_policy(), "locked") ? 0 : -EPERM,
		  sim_cfg_write(fn, SIM_MB_OFFSET(1) + SIM_DOE_WRITE, &zero,
				4));
	EXPECT_EQ(4, tdoe_exchange(fn, 1, SIM_ECHO, ECHO_REQ, RSP_SZ, NULL));
	EXPECT_EQ(4, tdoe_exchange(fn, 0, SIM_ECHO, ECHO_REQ, RSP_SZ, NULL));
}

/* A /proc/meminfo value, kB */
static long mem_kb(const char *key)
{
	return sim_read_key("/proc/meminfo", key);
}

/* One cycle: two functions added, used from both APIs, deleted */
static void churn_cycle(struct __test_metadata *_metadata)
{
	struct sim_fn a, b;

	ASSERT_EQ(0, sim_add(&a, 2, 2));
	ASSERT_EQ(0, sim_add(&b, 1, 1));
	EXPECT_EQ(4, tdoe_exchange(&a, 1, SIM_ECHO, ECHO_REQ, RSP_SZ, NULL));
	EXPECT_EQ(0, tdoe_async(&b, 0, 8, SIM_ECHO, ECHO_REQ, RSP_SZ));
	ASSERT_EQ(0, sim_del(&a));
	EXPECT_EQ(4, tdoe_exchange(&b, 0, SIM_ECHO, ECHO_REQ, RSP_SZ, NULL));
	ASSERT_EQ(0, sim_del(&b));
}

TEST_F_TIMEOUT(rm, churn, 120)
{
	long t0, slab, vmalloc;
	struct tdoe_async r;
	int i;

	/* Warm up caches and worker pools, then count what stays allocated */
	for (i = 0; i < 2; i++)
		churn_cycle(_metadata);
	slab = mem_kb("SUnreclaim:");
	vmalloc = mem_kb("VmallocUsed:");
	t0 = sim_now_us();
	for (i = 0; i < CHURN; i++)
		churn_cycle(_metadata);
	ASSERT_EQ(0, tdoe("trigger_wait", "1"));
	ksft_print_msg("%d x (add 2 functions, exchange, delete) in %ld ms\n",
		       CHURN, (sim_now_us() - t0) / 1000);
	slab = mem_kb("SUnreclaim:") - slab;
	vmalloc = mem_kb("VmallocUsed:") - vmalloc;
	/*
	 * For information only: KASAN's quarantine of freed objects moves
	 * the slab figure by megabytes either way.  A leak check needs
	 * CONFIG_DEBUG_KMEMLEAK.
	 */
	ksft_print_msg("unreclaimable slab %+ld kB, vmalloc %+ld kB\n", slab,
		       vmalloc);
	ASSERT_EQ(0, tdoe_async_results(&r));
	EXPECT_EQ((CHURN + 2) * 8, r.submitted);
	EXPECT_EQ(r.submitted, r.completed);
	EXPECT_EQ(r.submitted, r.ok);
}

TEST_HARNESS_MAIN
