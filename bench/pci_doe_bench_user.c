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
 *   pci_doe_bench_user med|raw KIND BDF OFF REPS
 *	REPS exchanges from userspace with the mailbox at config offset OFF
 *	of BDF, after 8 unmeasured ones.  KIND: disc (Discovery, index 0)
 *	or cdatfull (the whole CDAT through CXL Table Access, entry by entry;
 *	one sample per table).  med: through the mailbox's char device
 *	/dev/pci_doe/BDF-doeOFF, the kernel mediating (ours only).  raw:
 *	root driving the registers through /sys/bus/pci/devices/BDF/config,
 *	one pread()/pwrite() per dword (doe_user.c of the selftests), after
 *	PCI_DOE_IOC_TAKE where there is a char device (ours).  Prints
 *	"errors E", "bytes B" (payload of one response, or the table's size)
 *	and "ns S1 S2 ...".
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "doe_user.h"

#define SIM_DIR "/sys/kernel/debug/pci_doe_sim"
#define SIM_MAX_MB 16
#define WARMUP 8
/* the largest CDAT entry read through the char device, bytes */
#define ENTRY_MAX 4096
/* entries of one CDAT: a header and at most 4096 structures */
#define CDAT_MAX_ENTRIES 4097

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

/* One mailbox and how this run reaches it */
struct user_mb {
	int med;		/* through the char device */
	int cdev;		/* med: /dev/pci_doe/<name> */
	struct doe_user_mb raw;	/* raw: the config file, taken */
};

static int user_open(struct user_mb *u, int med, const char *bdf, long off)
{
	char path[96];
	int fd, rc;

	memset(u, 0, sizeof(*u));
	u->med = med;
	u->cdev = -1;
	u->raw.fd = -1;
	u->raw.cdev_fd = -1;
	if (med) {
		doe_user_cdev_path(bdf, off, path, sizeof(path));
		u->cdev = open(path, O_RDWR | O_CLOEXEC);
		return u->cdev < 0 ? -errno : 0;
	}
	fd = doe_user_open(bdf, 1);
	if (fd < 0)
		return fd;
	rc = doe_user_mb_init(&u->raw, fd, bdf, off);
	if (!rc) {
		/* no char device: stock, whose mailboxes root may write */
		rc = doe_user_take(&u->raw);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (!rc)
		rc = doe_user_abort(&u->raw);
	if (rc)
		close(fd);
	return rc;
}

static void user_close(struct user_mb *u)
{
	if (u->med)
		close(u->cdev);
	else
		doe_user_close(&u->raw);
}

/*
 * One request with a one-dword payload: the response, header included, in
 * @rsp (at most @max bytes).  Returns its length in bytes or -errno.
 */
static int user_xchg(struct user_mb *u, __u16 vid, __u8 type, __u32 dw,
		     __u32 *rsp, size_t max)
{
	__u32 req[3] = { htole32(vid | (__u32)type << 16), htole32(3),
			 htole32(dw) };
	size_t rsp_dw;
	ssize_t n;
	int rc;

	if (u->med) {
		if (write(u->cdev, req, sizeof(req)) != sizeof(req))
			return -errno;
		n = read(u->cdev, rsp, max);
		return n < 0 ? -errno : (int)n;
	}
	req[0] = vid | (__u32)type << 16;
	req[1] = 3;
	req[2] = dw;
	rc = doe_user_exchange(&u->raw, req, 3, rsp, max / 4, &rsp_dw);
	if (rc)
		return rc;
	return rsp_dw > max / 4 ? -E2BIG : (int)rsp_dw * 4;
}

/* The whole CDAT, entry by entry: its size in bytes or -errno */
static int user_cdat(struct user_mb *u, __u32 *rsp)
{
	unsigned int handle = 0, entries = 0;
	int n, bytes = 0;
	__u32 dw;

	while (handle != 0xffff) {
		if (++entries > CDAT_MAX_ENTRIES)
			return -ELOOP;
		n = user_xchg(u, DOE_USER_VID_CXL, DOE_USER_TYPE_CDAT,
			      handle << 16, rsp, ENTRY_MAX);
		if (n < 0)
			return n;
		if (n < 16)
			return -EIO;
		dw = u->med ? le32toh(rsp[2]) : rsp[2];
		handle = dw >> 16;
		bytes += n - 12;
	}
	return bytes;
}

static int do_user(int med, const char *kind, const char *bdf, long off,
		   unsigned long reps)
{
	int cdat = !strcmp(kind, "cdatfull");
	unsigned long i, errors = 0;
	__u32 *rsp = malloc(ENTRY_MAX);
	__u64 *ns = calloc(reps, sizeof(*ns));
	struct user_mb u;
	int rc, bytes = 0;

	if ((!cdat && strcmp(kind, "disc")) || !reps || !rsp || !ns) {
		fprintf(stderr, "pci_doe_bench_user: %s: bad kind, count or no memory\n",
			kind);
		return 2;
	}
	rc = user_open(&u, med, bdf, off);
	if (rc) {
		errno = -rc;
		die(bdf);
	}
	for (i = 0; i < WARMUP + reps; i++) {
		__u64 t0 = now_ns();

		rc = cdat ? user_cdat(&u, rsp) :
		     user_xchg(&u, DOE_USER_VID_PCISIG, DOE_USER_TYPE_DISCOVERY,
			       0, rsp, ENTRY_MAX);
		t0 = now_ns() - t0;
		if (i < WARMUP)
			continue;
		ns[i - WARMUP] = t0;
		/* Discovery: the payload, as pci_doe() counts it */
		if (!cdat)
			rc = rc > 8 ? rc - 8 : -EIO;
		if (rc <= 0 || (bytes && rc != bytes))
			errors++;
		else
			bytes = rc;
	}
	user_close(&u);
	printf("errors %lu\nbytes %d\nns", errors, bytes);
	for (i = 0; i < reps; i++)
		printf(" %llu", (unsigned long long)ns[i]);
	printf("\n");
	free(ns);
	free(rsp);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && (!strcmp(argv[1], "med") || !strcmp(argv[1], "raw")))
		return do_user(argv[1][0] == 'm', argv[2], argv[3],
			       strtol(argv[4], NULL, 0),
			       strtoul(argv[5], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "enum"))
		return do_enum(strtoul(argv[2], NULL, 0));
	if (argc == 6 && (!strcmp(argv[1], "cfgw") || !strcmp(argv[1], "cfgr")))
		return do_cfg(argv[2], strtol(argv[3], NULL, 0),
			      strtoul(argv[4], NULL, 0),
			      strtoul(argv[5], NULL, 0), argv[1][3] == 'w');
	fprintf(stderr, "usage: %s enum N | cfgw|cfgr BDF OFF SIZE REPS |\n"
		"       med|raw disc|cdatfull BDF OFF REPS\n", argv[0]);
	return 2;
}
