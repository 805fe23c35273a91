// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace side of "make bench" (scripts/bench.sh), run in the guest.
 *
 *   pci_doe_bench_user enum N
 *	Creates simulated functions holding N DOE mailboxes in all (one
 *	function of N mailboxes below 16, else N/16 functions of 16) through
 *	/sys/kernel/debug/pci_doe_sim/add, each of which enumerates the
 *	function and runs Discovery on its mailboxes, and prints
 *	"ns TOTAL functions F".  The functions are deleted afterwards.
 *   pci_doe_bench_user cfgw BDF OFF SIZE REPS
 *	REPS writes of SIZE (1, 2 or 4) bytes at config offset OFF, each
 *	writing back the value read before, through
 *	/sys/bus/pci/devices/BDF/config; prints "ns TOTAL".
 *   pci_doe_bench_user cfgr BDF OFF SIZE REPS
 *	The same with reads, which no DOE hook sees: the control of cfgw.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#define SIM_DIR "/sys/kernel/debug/pci_doe_sim"
#define SIM_MAX_MB 16

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "pci_doe_bench_user: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* write S to PATH; on success read back what the file says into OUT */
static void write_file(const char *path, const char *s, char *out, size_t sz)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (write(fd, s, strlen(s)) < 0)
		die(path);
	if (out) {
		n = pread(fd, out, sz - 1, 0);
		if (n < 0)
			die(path);
		out[n] = '\0';
	}
	close(fd);
}

static int do_enum(unsigned int n)
{
	unsigned int per = n < SIM_MAX_MB ? n : SIM_MAX_MB;
	unsigned int i, nfn = (n + per - 1) / per;
	unsigned int ids[256];
	char buf[64], rsp[64], *end;
	__u64 t0, t = 0;

	if (!n || n % per || nfn > 256) {
		fprintf(stderr, "enum: N must be 1..15 or a multiple of 16 up to 4096\n");
		return 2;
	}
	snprintf(buf, sizeof(buf), "%u", per);
	for (i = 0; i < nfn; i++) {
		t0 = now_ns();
		write_file(SIM_DIR "/add", buf, rsp, sizeof(rsp));
		t += now_ns() - t0;
		ids[i] = strtoul(rsp, &end, 10);
		if (end == rsp) {
			fprintf(stderr, "enum: add answered \"%s\"\n", rsp);
			return 1;
		}
	}
	printf("ns %llu functions %u\n", (unsigned long long)t, nfn);
	for (i = 0; i < nfn; i++) {
		snprintf(buf, sizeof(buf), "%u", ids[i]);
		write_file(SIM_DIR "/del", buf, NULL, 0);
	}
	return 0;
}

static int do_cfg(const char *bdf, long off, size_t size, unsigned long reps,
		  int write)
{
	char path[128];
	__u32 val = 0;
	__u64 t0;
	unsigned long i;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (size != 1 && size != 2 && size != 4)
		return 2;
	if (pread(fd, &val, size, off) != (ssize_t)size)
		die("read");
	t0 = now_ns();
	for (i = 0; i < reps; i++)
		if ((write ? pwrite(fd, &val, size, off) :
			     pread(fd, &val, size, off)) != (ssize_t)size)
			die(write ? "write" : "read");
	printf("ns %llu\n", (unsigned long long)(now_ns() - t0));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "enum"))
		return do_enum(strtoul(argv[2], NULL, 0));
	if (argc == 6 && (!strcmp(argv[1], "cfgw") || !strcmp(argv[1], "cfgr")))
		return do_cfg(argv[2], strtol(argv[3], NULL, 0),
			      strtoul(argv[4], NULL, 0),
			      strtoul(argv[5], NULL, 0), argv[1][3] == 'w');
	fprintf(stderr, "usage: %s enum N | cfgw|cfgr BDF OFF SIZE REPS\n",
		argv[0]);
	return 2;
}
