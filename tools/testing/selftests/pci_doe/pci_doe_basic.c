// SPDX-License-Identifier: GPL-2.0
/*
 * Basic PCI DOE selftests.
 *
 * Compare what the kernel's DOE library and the CXL driver report with what
 * a userspace requester (doe_user.c) reads from the same mailboxes, and
 * exercise the library across a remove and rescan of a CXL type 3 device:
 *
 *  mailboxes_reported   every DOE mailbox in config space is logged by the
 *                       kernel ("DOE mailbox 0x190: protocols 0001:00 ...")
 *                       with the protocols userspace Discovery returns
 *  cdat_matches_device  every CDAT in /sys/bus/cxl/devices is well formed and
 *                       equal to what the device's mailbox returns
 *  tracepoints          a remove + rescan emits pci_doe_submit and
 *                       pci_doe_complete events, exactly one completion
 *                       per submission (paired by task), none with an error
 *  cdat_survives_rescan the CDATs are identical after a remove + rescan
 *  doe_features         every function's doe_features/ lists exactly the
 *                       protocols its mailboxes answer in Discovery
 *
 * Needs root, sysfs, /dev/kmsg and, for the last two, a CXL type 3 device
 * (QEMU's cxl-type3); tests skip when what they look at does not exist.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"
#include "doe_user.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define CXL_DEVICES	"/sys/bus/cxl/devices"
#define CLASS_CXL_MEM	"0x050210"	/* CXL memory device, CXL 2.0 8.1.12.1 */
#define MAX_DEVS	256
#define MAX_MBS		64
#define MAX_CDATS	32
#define RESCAN_WAIT_S	60
#define EPERM_HINT	" (root writes refused: the kernel owns the mailbox)"

/* ---- small sysfs helpers ---------------------------------------------- */

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* The PCI functions, sorted; returns how many (at most max). */
static int pci_devices(char **bdfs, int max)
{
	DIR *d = opendir(PCI_DEVICES);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		bdfs[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(bdfs, n, sizeof(*bdfs), cmp_str);
	return n;
}

static void free_strs(char **s, int n)
{
	while (n-- > 0)
		free(s[n]);
}

/* The first PCI function with the CXL memory device class, or NULL. */
static char *find_type3(void)
{
	char *bdfs[MAX_DEVS], path[PATH_MAX], *found = NULL;
	int n = pci_devices(bdfs, MAX_DEVS), i;
	uint8_t *cls;

	for (i = 0; i < n && !found; i++) {
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/class", bdfs[i]);
		if (doe_ctl_read_all(path, &cls) <= 0)
			continue;
		if (!strncmp((char *)cls, CLASS_CXL_MEM, strlen(CLASS_CXL_MEM)))
			found = strdup(bdfs[i]);
		free(cls);
	}
	free_strs(bdfs, n > 0 ? n : 0);
	return found;
}

/* ---- what the kernel logged ------------------------------------------- */

struct mb_info {
	char bdf[32];
	unsigned int cap;
	int nprots;
	struct doe_user_prot prots[DOE_USER_MAX_PROTOCOLS];
};

/*
 * Parse "<bus-or-driver> <BDF>: DOE mailbox 0x190: protocols 0001:00 1e98:02"
 * from /dev/kmsg; a later line for the same mailbox replaces an earlier one.
 */
static int kernel_mailboxes(struct mb_info *mbs, int max)
{
	static const char tag[] = ": DOE mailbox ";
	char rec[8192], *msg, *p, *q, *end;
	int fd, n = 0, i;
	ssize_t len;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		struct mb_info m = { 0 };

		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)	/* overwritten records */
			continue;
		if (len <= 0)
			break;
		rec[len] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		end = strchr(msg, '\n');
		if (end)
			*end = '\0';
		p = strstr(msg, tag);
		if (!p)
			continue;
		/* the device name is the word before the tag */
		for (q = p; q > msg && q[-1] != ' '; q--)
			;
		if (p - q >= (long)sizeof(m.bdf))
			continue;
		memcpy(m.bdf, q, p - q);
		p += strlen(tag);
		m.cap = strtoul(p, &p, 16);
		if (strncmp(p, ": protocols", 11))
			continue;
		p += 11;
		while (*p == ' ' && m.nprots < DOE_USER_MAX_PROTOCOLS) {
			unsigned int vid, type;
			int used;

			if (sscanf(p, " %4x:%2x%n", &vid, &type, &used) != 2)
				break;
			m.prots[m.nprots].vid = vid;
			m.prots[m.nprots].type = type;
			m.nprots++;
			p += used;
		}
		for (i = 0; i < n; i++)
			if (!strcmp(mbs[i].bdf, m.bdf) && mbs[i].cap == m.cap)
				break;
		if (i == n) {
			if (n == max)
				continue;
			n++;
		}
		mbs[i] = m;
	}
	close(fd);
	return n;
}

static void fmt_prots(char *buf, size_t len, const struct doe_user_prot *p,
		      int n)
{
	size_t pos = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && pos < len; i++)
		pos += snprintf(buf + pos, len - pos, " %04x:%02x", p[i].vid,
				p[i].type);
}

/* ---- CDAT snapshots ------------------------------------------------------ */

struct cdat {
	char port[64];		/* e.g. endpoint2, port2 */
	char bdf[32];		/* the PCI function that holds the table */
	int endpoint;
	uint8_t *data;
	size_t len;
};

static int cdat_cmp(const void *a, const void *b)
{
	const struct cdat *x = a, *y = b;

	if (x->endpoint != y->endpoint)
		return x->endpoint - y->endpoint;
	return strcmp(x->bdf, y->bdf);
}

/* Every non-empty CDAT attribute of the CXL ports, sorted by kind and BDF. */
static int cdat_snapshot(struct cdat *c, int max)
{
	static const char * const pats[] = {
		CXL_DEVICES "/endpoint*/CDAT", CXL_DEVICES "/port*/CDAT",
	};
	unsigned int p;
	size_t i;
	int n = 0;

	for (p = 0; p < 2; p++) {
		glob_t g;

		if (glob(pats[p], 0, NULL, &g))
			continue;
		for (i = 0; i < g.gl_pathc && n < max; i++) {
			char dir[PATH_MAX], *slash;
			uint8_t *data;
			ssize_t len;

			snprintf(dir, sizeof(dir), "%s", g.gl_pathv[i]);
			slash = strrchr(dir, '/');
			*slash = '\0';
			len = doe_ctl_read_all(g.gl_pathv[i], &data);
			if (len <= 0)
				continue;
			memset(&c[n], 0, sizeof(c[n]));
			snprintf(c[n].port, sizeof(c[n].port), "%s",
				 strrchr(dir, '/') + 1);
			c[n].endpoint = p == 0;
			c[n].data = data;
			c[n].len = len;
			if (doe_ctl_port_bdf(dir, c[n].bdf, sizeof(c[n].bdf)))
				snprintf(c[n].bdf, sizeof(c[n].bdf), "?");
			n++;
		}
		globfree(&g);
	}
	qsort(c, n, sizeof(*c), cdat_cmp);
	return n;
}

static void cdat_free(struct cdat *c, int n)
{
	while (n-- > 0)
		free(c[n].data);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- remove + rescan ----------------------------------------------------- */

static long long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int count_endpoint_cdats_of(const char *bdf)
{
	struct cdat c[MAX_CDATS];
	int n = cdat_snapshot(c, MAX_CDATS), i, hits = 0;

	for (i = 0; i < n; i++)
		if (c[i].endpoint && !strcmp(c[i].bdf, bdf))
			hits++;
	cdat_free(c, n);
	return hits;
}

/*
 * Remove @bdf, rescan the bus, and wait until it and as many CDATs as
 * before are back (the CXL drivers probe asynchronously).
 */
static int remove_rescan(struct __test_metadata *_metadata, const char *bdf)
{
	struct cdat c[MAX_CDATS];
	char path[PATH_MAX];
	int before, had_ep, n, ret;
	long long deadline;

	before = cdat_snapshot(c, MAX_CDATS);
	cdat_free(c, before);
	had_ep = count_endpoint_cdats_of(bdf);

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/remove", bdf);
	ret = doe_user_write_file(path, "1");
	if (ret) {
		TH_LOG("%s: %s", path, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	deadline = now_s() + RESCAN_WAIT_S;
	while (exists(path) && now_s() < deadline)
		usleep(10000);
	if (exists(path)) {
		TH_LOG("%s still present after remove", bdf);
		return -EBUSY;
	}
	ret = doe_user_write_file("/sys/bus/pci/rescan", "1");
	if (ret) {
		TH_LOG("/sys/bus/pci/rescan: %s", strerror(-ret));
		return ret;
	}
	deadline = now_s() + RESCAN_WAIT_S;
	for (;;) {
		n = cdat_snapshot(c, MAX_CDATS);
		cdat_free(c, n);
		if (exists(path) && n >= before &&
		    (!had_ep || count_endpoint_cdats_of(bdf) >= had_ep))
			return 0;
		if (now_s() >= deadline)
			break;
		usleep(50000);
	}
	TH_LOG("after rescan: %s %s, %d CDAT(s) (%d before) within %d s",
	       bdf, exists(path) ? "present" : "missing", n, before,
	       RESCAN_WAIT_S);
	return -ETIMEDOUT;
}

/*
 * A task of the trace, by device and task pointer.  Before the kernel can
 * hash pointers (early, without entropy) every %p prints "(____ptrval____)":
 * then the tasks of a device are only counted.
 */
struct trace_task {
	char dev[32];
	char id[32];
	int open;		/* submitted, not completed yet */
};

#define MAX_TASKS	1024
#define NO_PTR		"(____ptrval____)"

/*
 * A pci_doe_submit (@submit) or pci_doe_complete line: a task must be
 * completed once after each submission.  Returns 1 for an event out of
 * that order (logged), 0 otherwise.
 */
static int task_event(struct __test_metadata *_metadata,
		      struct trace_task *tasks, int *n, const char *line,
		      int submit)
{
	const char *ev = strstr(line, submit ? "pci_doe_submit: " :
					       "pci_doe_complete: ");
	char dev[32], id[32];
	int i;

	if (!ev || sscanf(strchr(ev, ' ') + 1, "%31s mailbox %*x task %31s",
			  dev, id) != 2) {
		TH_LOG("cannot parse: %s", line);
		return 1;
	}
	for (i = 0; i < *n; i++)
		if (!strcmp(tasks[i].dev, dev) && !strcmp(tasks[i].id, id))
			break;
	if (i == *n) {
		if (*n == MAX_TASKS) {
			TH_LOG("more than %d tasks", MAX_TASKS);
			return 1;
		}
		snprintf(tasks[i].dev, sizeof(tasks[i].dev), "%s", dev);
		snprintf(tasks[i].id, sizeof(tasks[i].id), "%s", id);
		tasks[i].open = 0;
		(*n)++;
	}
	if (submit && (!tasks[i].open || !strcmp(id, NO_PTR))) {
		tasks[i].open++;
		return 0;
	}
	if (!submit && tasks[i].open) {
		tasks[i].open--;
		return 0;
	}
	TH_LOG("%s: %s", submit ? "submitted again before its completion" :
				   "completed without a submission", line);
	return 1;
}

static const char *tracing_dir(void)
{
	if (exists("/sys/kernel/tracing/events"))
		return "/sys/kernel/tracing";
	if (exists("/sys/kernel/debug/tracing/events"))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

/* ---- tests --------------------------------------------------------------- */

FIXTURE(pci_doe) {
	int unused;
};

FIXTURE_SETUP(pci_doe)
{
	if (geteuid())
		SKIP(return, "needs root");
}

FIXTURE_TEARDOWN(pci_doe)
{
}

TEST_F(pci_doe, mailboxes_reported)
{
	static struct mb_info kernel[MAX_MBS];
	static struct doe_user_prot prots[DOE_USER_MAX_PROTOCOLS];
	char *bdfs[MAX_DEVS], want[2048], got[2048];
	int nk, nd, i, j, k, total = 0;

	nk = kernel_mailboxes(kernel, MAX_MBS);
	ASSERT_LE(0, nk) TH_LOG("/dev/kmsg: %s", strerror(-nk));
	nd = pci_devices(bdfs, MAX_DEVS);
	ASSERT_LE(0, nd);

	for (i = 0; i < nd; i++) {
		uint16_t caps[16];
		int fd = doe_user_open(bdfs[i], 1), n;

		ASSERT_LE(0, fd) TH_LOG("%s config: %s", bdfs[i], strerror(-fd));
		n = doe_user_find(fd, caps, NULL, 16);
		EXPECT_LE(0, n) TH_LOG("%s: capability walk: %s", bdfs[i],
				       strerror(-n));
		for (j = 0; j < n && j < 16; j++) {
			struct doe_user_mb mb;
			int np;

			total++;
			ASSERT_EQ(0, doe_user_mb_init(&mb, fd, bdfs[i], caps[j]));
			doe_user_take(&mb);	/* best effort */
			np = doe_user_discover(&mb, prots, DOE_USER_MAX_PROTOCOLS);
			doe_user_give(&mb);
			EXPECT_LE(1, np)
				TH_LOG("%s mailbox %#x: userspace Discovery failed: %s%s",
				       bdfs[i], caps[j], strerror(-np),
				       np == -EPERM ? EPERM_HINT : "");
			if (np < 1)
				continue;
			fmt_prots(want, sizeof(want), prots, np);
			for (k = 0; k < nk; k++)
				if (!strcmp(kernel[k].bdf, bdfs[i]) &&
				    kernel[k].cap == caps[j])
					break;
			EXPECT_LT(k, nk)
				TH_LOG("%s mailbox %#x (protocols%s): not in the kernel log",
				       bdfs[i], caps[j], want);
			if (k == nk)
				continue;
			fmt_prots(got, sizeof(got), kernel[k].prots,
				  kernel[k].nprots);
			EXPECT_STREQ(want, got)
				TH_LOG("%s mailbox %#x: Discovery says%s, the kernel logged%s",
				       bdfs[i], caps[j], want, got);
			if (!strcmp(want, got))
				TH_LOG("%s mailbox %#x: protocols%s", bdfs[i],
				       caps[j], got);
		}
		close(fd);
	}
	/* The kernel must not report mailboxes that are not there */
	for (k = 0; k < nk; k++) {
		char path[PATH_MAX];
		uint16_t caps[16];
		int fd, n, found = 0;

		snprintf(path, sizeof(path), PCI_DEVICES "/%.31s", kernel[k].bdf);
		if (!exists(path))
			continue;	/* removed since */
		fd = doe_user_open(kernel[k].bdf, 0);
		ASSERT_LE(0, fd);
		n = doe_user_find(fd, caps, NULL, 16);
		for (j = 0; j < n && j < 16; j++)
			found |= caps[j] == kernel[k].cap;
		close(fd);
		EXPECT_TRUE(found)
			TH_LOG("the kernel logged a DOE mailbox at %#x of %s, which has none there",
			       kernel[k].cap, kernel[k].bdf);
	}
	free_strs(bdfs, nd);
	/* Nothing to compare, and nothing failed */
	if (!total && _metadata->exit_code != KSFT_FAIL)
		SKIP(return, "no DOE mailbox in this system");
}

TEST_F(pci_doe, cdat_matches_device)
{
	static struct cdat c[MAX_CDATS];
	int n, i;

	n = cdat_snapshot(c, MAX_CDATS);
	ASSERT_LT(0, n) TH_LOG("no CDAT in " CXL_DEVICES " (endpoint*/CDAT, port*/CDAT)");
	for (i = 0; i < n; i++) {
		struct doe_user_mb mb;
		uint8_t *dev, sum = 0;
		size_t len, j;
		int ret;

		TH_LOG("%s (%s): %zu bytes of CDAT", c[i].port, c[i].bdf,
		       c[i].len);
		/* malformed on purpose: pci_doe_cli.cdat_qemu_tables */
		if (doe_user_harness_table(c[i].bdf) > DOE_USER_TABLE_EVERY)
			continue;
		EXPECT_LE(16, c[i].len);
		if (c[i].len < 16)
			continue;
		EXPECT_EQ(le32(c[i].data), c[i].len)
			TH_LOG("%s: CDAT header length %u, file %zu bytes",
			       c[i].port, le32(c[i].data), c[i].len);
		for (j = 0; j < c[i].len; j++)
			sum += c[i].data[j];
		EXPECT_EQ(0, sum) TH_LOG("%s: CDAT sums to %#x, not 0", c[i].port, sum);

		ASSERT_TRUE(doe_ctl_is_bdf(c[i].bdf))
			TH_LOG("%s: no PCI function behind its uport", c[i].port);
		ret = doe_user_find_protocol(c[i].bdf, DOE_USER_VID_CXL,
					     DOE_USER_TYPE_CDAT, &mb);
		ASSERT_EQ(0, ret) TH_LOG("%s: no mailbox with CXL Table Access: %s",
					 c[i].bdf, strerror(-ret));
		ret = doe_user_read_cdat(&mb, &dev, &len);
		doe_user_close(&mb);
		ASSERT_EQ(0, ret) TH_LOG("%s mailbox %#x: CDAT read: %s",
					 c[i].bdf, mb.cap, strerror(-ret));
		EXPECT_EQ(c[i].len, len) TH_LOG("%s: sysfs has %zu bytes, the device %zu",
						c[i].port, c[i].len, len);
		if (len == c[i].len) {
			for (j = 0; j < len && dev[j] == c[i].data[j]; j++)
				;
			EXPECT_EQ(len, j) TH_LOG("%s: sysfs and device CDAT differ at byte %zu",
						 c[i].port, j);
		}
		free(dev);
	}
	cdat_free(c, n);
}

/* The name upstream (6.15) gives a protocol's file in doe_features/ */
static void feature_name(const struct doe_user_prot *p, char *buf, size_t len)
{
	if (p->vid == DOE_USER_VID_PCISIG && p->type == DOE_USER_TYPE_DISCOVERY)
		snprintf(buf, len, "doe_discovery");
	else
		snprintf(buf, len, "%04x:%02x", p->vid, p->type);
}

/*
 * The protocols of every mailbox of @bdf, from userspace Discovery, without
 * duplicates, in the order found.  Returns how many, or -errno.
 */
static int function_protocols(struct __test_metadata *_metadata,
			      const char *bdf, struct doe_user_prot *all,
			      int max, int *nr_mb)
{
	static struct doe_user_prot prots[DOE_USER_MAX_PROTOCOLS];
	uint16_t caps[16];
	int fd = doe_user_open(bdf, 1), n, j, k, l, total = 0;

	*nr_mb = 0;
	if (fd < 0)
		return fd;
	n = doe_user_find(fd, caps, NULL, 16);
	for (j = 0; j < n && j < 16; j++) {
		struct doe_user_mb mb;
		int np;

		if (doe_user_mb_init(&mb, fd, bdf, caps[j]))
			continue;
		(*nr_mb)++;
		doe_user_take(&mb);	/* best effort */
		np = doe_user_discover(&mb, prots, DOE_USER_MAX_PROTOCOLS);
		doe_user_give(&mb);
		if (np < 0) {
			TH_LOG("%s mailbox %#x: userspace Discovery: %s", bdf,
			       caps[j], strerror(-np));
			close(fd);
			return np;
		}
		for (k = 0; k < np; k++) {
			for (l = 0; l < total; l++)
				if (all[l].vid == prots[k].vid &&
				    all[l].type == prots[k].type)
					break;
			if (l == total && total < max)
				all[total++] = prots[k];
		}
	}
	close(fd);
	return n < 0 ? n : total;
}

TEST_F(pci_doe, doe_features)
{
	static struct doe_user_prot all[DOE_USER_MAX_PROTOCOLS];
	char *bdfs[MAX_DEVS];
	int nd, i, functions = 0, type3 = 0;
	uint8_t *cls;

	nd = pci_devices(bdfs, MAX_DEVS);
	ASSERT_LE(0, nd);
	for (i = 0; i < nd; i++) {
		char dir[PATH_MAX], path[PATH_MAX + 64], name[32], want[16];
		char listed[DOE_USER_MAX_PROTOCOLS * 16] = "";
		int np, nr_mb, k, files = 0, is_type3 = 0;
		uint8_t *val;
		ssize_t len;
		struct dirent *e;
		DIR *d;

		np = function_protocols(_metadata, bdfs[i], all,
					DOE_USER_MAX_PROTOCOLS, &nr_mb);
		EXPECT_LE(0, np) TH_LOG("%s: %s", bdfs[i], strerror(-np));
		if (np < 0)
			continue;
		snprintf(dir, sizeof(dir), PCI_DEVICES "/%s/doe_features",
			 bdfs[i]);
		if (!nr_mb) {
			EXPECT_FALSE(exists(dir))
				TH_LOG("%s has no DOE mailbox but a doe_features directory",
				       bdfs[i]);
			continue;
		}
		functions++;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/class", bdfs[i]);
		if (doe_ctl_read_all(path, &cls) > 0) {
			is_type3 = !strncmp((char *)cls, CLASS_CXL_MEM,
					    strlen(CLASS_CXL_MEM));
			free(cls);
		}
		type3 += is_type3;

		/* One file per protocol, named and holding "vvvv:tt" */
		for (k = 0; k < np; k++) {
			feature_name(&all[k], name, sizeof(name));
			snprintf(want, sizeof(want), "%04x:%02x\n", all[k].vid,
				 all[k].type);
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			len = doe_ctl_read_all(path, &val);
			EXPECT_LT(0, len)
				TH_LOG("%s: no doe_features/%s: %s", bdfs[i],
				       name, strerror(len < 0 ? -len : EIO));
			if (len <= 0)
				continue;
			EXPECT_STREQ(want, (char *)val)
				TH_LOG("%s: doe_features/%s", bdfs[i], name);
			free(val);
		}
		/* ... and no other */
		d = opendir(dir);
		EXPECT_NE(NULL, d) TH_LOG("%s: %s: %s", bdfs[i], dir,
					  strerror(errno));
		if (!d)
			continue;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			files++;
			snprintf(listed + strlen(listed),
				 sizeof(listed) - strlen(listed), " %s",
				 e->d_name);
			for (k = 0; k < np; k++) {
				feature_name(&all[k], name, sizeof(name));
				if (!strcmp(name, e->d_name))
					break;
			}
			EXPECT_LT(k, np)
				TH_LOG("%s: doe_features/%s: no mailbox answers it",
				       bdfs[i], e->d_name);
		}
		closedir(d);
		EXPECT_EQ(np, files);
		TH_LOG("%s: %d mailbox(es), doe_features:%s", bdfs[i], nr_mb,
		       listed);
		/* QEMU's cxl-type3: Discovery and CDAT, one mailbox */
		if (is_type3)
			EXPECT_TRUE(np == 2 && files == 2 &&
				    doe_user_has(all, np, DOE_USER_VID_PCISIG,
						 DOE_USER_TYPE_DISCOVERY) &&
				    doe_user_has(all, np, DOE_USER_VID_CXL,
						 DOE_USER_TYPE_CDAT))
				TH_LOG("%s (type 3): doe_features:%s, want doe_discovery 1e98:02",
				       bdfs[i], listed);
	}
	free_strs(bdfs, nd);
	TH_LOG("%d function(s) with DOE mailboxes, %d CXL type 3", functions,
	       type3);
	/* Nothing to look at, and nothing failed */
	if (!functions && _metadata->exit_code != KSFT_FAIL)
		SKIP(return, "no DOE mailbox in this system");
}

TEST_F_TIMEOUT(pci_doe, tracepoints, 2 * RESCAN_WAIT_S + 30)
{
	static struct trace_task tasks[MAX_TASKS];
	const char *tr = tracing_dir();
	char path[PATH_MAX], *trace, *line, *save, *bdf;
	uint8_t *buf;
	int submit = 0, complete = 0, aborts = 0, errors = 0, ret;
	int ntasks = 0, unpaired = 0, i;

	if (!tr)
		SKIP(return, "tracefs is not mounted");
	snprintf(path, sizeof(path), "%s/events/pci_doe", tr);
	if (!exists(path))
		SKIP(return, "no pci_doe tracepoints (events/pci_doe)");
	bdf = find_type3();
	if (!bdf)
		SKIP(return, "no CXL type 3 device to remove and rescan");

	snprintf(path, sizeof(path), "%s/trace", tr);
	ASSERT_EQ(0, doe_user_write_file(path, ""));
	snprintf(path, sizeof(path), "%s/tracing_on", tr);
	ASSERT_EQ(0, doe_user_write_file(path, "1"));
	snprintf(path, sizeof(path), "%s/events/pci_doe/enable", tr);
	ASSERT_EQ(0, doe_user_write_file(path, "1"));
	ret = remove_rescan(_metadata, bdf);
	doe_user_write_file(path, "0");
	ASSERT_EQ(0, ret);

	snprintf(path, sizeof(path), "%s/trace", tr);
	/* never empty: the header comes first */
	ASSERT_LT(0, doe_ctl_read_all(path, &buf));
	trace = (char *)buf;
	/* Events lost to a full buffer would make the counts meaningless */
	EXPECT_EQ(NULL, strstr(trace, "LOST"));
	for (line = strtok_r(trace, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *rv;

		if (line[0] == '#')
			continue;
		if (strstr(line, "pci_doe_submit:")) {
			submit++;
			unpaired += task_event(_metadata, tasks, &ntasks, line,
					       1);
		}
		if (strstr(line, "pci_doe_abort:")) {
			aborts++;
			TH_LOG("%s", line);
		}
		if (strstr(line, "pci_doe_complete:")) {
			complete++;
			unpaired += task_event(_metadata, tasks, &ntasks, line,
					       0);
		}
		/* an exchange or an abort that failed */
		rv = strstr(line, " rv ");
		if (rv && atoi(rv + 4) < 0) {
			errors++;
			TH_LOG("%s", line);
		}
	}
	for (i = 0; i < ntasks; i++)
		if (tasks[i].open) {
			unpaired += tasks[i].open;
			TH_LOG("task %s (%s): %d submitted, never completed",
			       tasks[i].id, tasks[i].dev, tasks[i].open);
		}
	TH_LOG("remove + rescan of %s: %d pci_doe_submit, %d pci_doe_complete, %d pci_doe_abort",
	       bdf, submit, complete, aborts);
	EXPECT_LT(0, submit);
	/*
	 * Every exchange, queued or run at once (Discovery at enumeration,
	 * pci_doe()), has one submission and then one completion: a task
	 * completed twice, or never, shows here.
	 */
	EXPECT_EQ(submit, complete);
	EXPECT_EQ(0, unpaired);
	EXPECT_EQ(0, errors);
	free(trace);
	free(bdf);
}

TEST_F_TIMEOUT(pci_doe, cdat_survives_rescan, 2 * RESCAN_WAIT_S + 30)
{
	static struct cdat before[MAX_CDATS], after[MAX_CDATS];
	int nb, na, i;
	char *bdf;

	bdf = find_type3();
	if (!bdf)
		SKIP(return, "no CXL type 3 device to remove and rescan");
	nb = cdat_snapshot(before, MAX_CDATS);
	ASSERT_LT(0, nb) TH_LOG("no CDAT before the rescan");
	ASSERT_EQ(0, remove_rescan(_metadata, bdf));
	na = cdat_snapshot(after, MAX_CDATS);
	ASSERT_EQ(nb, na);
	for (i = 0; i < nb; i++) {
		EXPECT_STREQ(before[i].bdf, after[i].bdf);
		EXPECT_EQ(before[i].len, after[i].len)
			TH_LOG("%s: %zu bytes before, %zu after",
			       before[i].bdf, before[i].len, after[i].len);
		if (before[i].len == after[i].len)
			EXPECT_EQ(0, memcmp(before[i].data, after[i].data, before[i].len))
				TH_LOG("%s (%s, now %s): CDAT changed across remove + rescan",
				       before[i].bdf, before[i].port, after[i].port);
	}
	cdat_free(before, nb);
	cdat_free(after, na);
	free(bdf);
}

TEST_HARNESS_MAIN
