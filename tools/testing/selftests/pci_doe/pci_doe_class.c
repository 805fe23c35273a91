// SPDX-License-Identifier: GPL-2.0
/*
 * DOE mailboxes as devices of class pci_doe, and their char devices.
 *
 * Every DOE mailbox the kernel found is a device /sys/class/pci_doe/<name>,
 * child of its PCI function, named "<BDF>-doe<offset, %03x>", with the
 * files offset, version, protocols, owners, in_flight, holder, dev, uevent
 * and statistics/, and a char device /dev/pci_doe/<name> (mode 0600, root)
 * with the ioctls of include/uapi/linux/pci-doe.h.  Where the DOE simulator
 * is built in (lib/pci_doe_sim.c), every test creates a simulated function
 * with two mailboxes first; the removal tests remove that one, else the
 * CXL type 3 device.  The kernel side is played by the test_pci_doe module
 * (lib/test_pci_doe.c, debugfs).
 *
 *  devices_match_config   the DOE capabilities found by walking config
 *                         space of every function and the class devices
 *                         are the same: one each, named after the function
 *                         and offset, "device" linking to the function,
 *                         offset, version and protocols (a userspace
 *                         Discovery) right, a char device node 0600 root
 *                         with the numbers of "dev"
 *  uevent_file            MAJOR, MINOR, DEVNAME, DOE_OFFSET, DOE_PROTOCOLS
 *                         of each uevent file match the other files
 *  info_ioctl             PCI_DOE_IOC_INFO: fields, the argsz protocol
 *                         (EINVAL below 24 bytes, the size needed returned,
 *                         nothing written beyond argsz), KERNEL_OWNED while
 *                         claimed; unknown ioctls get ENOTTY
 *  statistics             a kernel exchange counts once in exchanges, a
 *                         refused write once in denied_writes; owners names
 *                         the claims with their counts
 *  uevents_remove_rescan  removing a function sends a "remove" uevent per
 *                         mailbox, its class devices and nodes go; a
 *                         rescan sends an "add" uevent per mailbox and
 *                         they come back (seen through uevent_helper)
 *  removal_with_open_fds  files of a removed mailbox, taken or not, get
 *                         ENODEV from every ioctl and close; the mailbox
 *                         found again by a rescan is a new one, not taken
 *  sim_churn              simulated functions with 1-4 mailboxes created
 *                         and deleted in a loop: their class devices come
 *                         and go, an open file outlives its mailbox
 *
 * Needs root and a kernel with the class; tests skip (with the reason)
 * without the test module, the simulator or uevent_helper when they need
 * them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

#define PCI_DEVICES		"/sys/bus/pci/devices"
#define CLASS_CXL_MEM		"0x050210"	/* CXL memory device */
#define ENDPOINT_CDATS		"/sys/bus/cxl/devices/endpoint*/CDAT"
#define UEVENT_HELPER		"/sys/kernel/uevent_helper"
#define HELPER_SCRIPT		"/tmp/pci_doe_class.uevent.sh"
#define HELPER_LOG		"/tmp/pci_doe_class.uevents"
/* On devtmpfs, which has device nodes whatever /tmp is mounted with */
#define NODE_COPY		"/dev/pci_doe_class.node"
#define MAX_DEVS		512
#define MAX_MBS			128
/* Mailboxes of the simulated function each test adds */
#define SIM_MBS			2
#define CHURN			20
/* Bounded waits for what happens asynchronously: not timing assertions */
#define WAIT_MS			5000
#define CXL_WAIT_MS		60000
/* DOE Capabilities: Interrupt Support (PCIe r6.2 sec 7.9.24.2) */
#define DOE_CAP_INT_SUP		0x00000001u
/* INFO flags about ownership */
#define OWNERSHIP_FLAGS		(PCI_DOE_INFO_KERNEL_OWNED | \
				 PCI_DOE_INFO_TAKEN | PCI_DOE_INFO_TAKEN_HERE)
/* INFO's protocol flags; pci_doe_xchg checks which is set when */
#define PROT_FLAGS		(PCI_DOE_PROT_REFUSED | PCI_DOE_PROT_RESERVED)
/* The /proc/bus/pci takeover ioctl of earlier versions */
#define OLD_PCIIOC_DOE_TAKE	(('P' << 24 | 'C' << 16 | 'I' << 8) | 0x10)
#define CANARY			0xa5
/* INFO's argument with room for 256 protocols and more */
#define INFO_BUF		(DOE_CTL_INFO_MIN + 4 * 256 + 64)
#define OWNER			"pci_doe_class"
#define NO_VICTIM		"no simulator (CONFIG_PCI_DOE_SIM), no CXL type 3 device to remove"

static uint32_t info_buf[INFO_BUF / 4];

FIXTURE(class) {
	int sim_id;		/* the simulated function, or -1 */
	char sim_bdf[32];
	int churn_id;		/* sim_churn's function, or -1 */
	int helper_set;		/* uevent_helper replaced */
	char helper[256];	/* what it held before */
};

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Wait until @path exists (@present) or not; 0 or -ETIMEDOUT */
static int wait_path(const char *path, int present, long ms)
{
	long long end = doe_ctl_now_ms() + ms;

	while (!exists(path) != !present) {
		if (doe_ctl_now_ms() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

FIXTURE_SETUP(class)
{
	self->sim_id = -1;
	self->churn_id = -1;
	if (doe_ctl_tpd_present())
		ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	if (doe_ctl_sim_present()) {
		ASSERT_EQ(0, doe_ctl_sim_add(SIM_MBS, &self->sim_id,
					     self->sim_bdf,
					     sizeof(self->sim_bdf)));
		/* the tests check the count themselves */
		doe_ctl_wait_class(self->sim_bdf, SIM_MBS, WAIT_MS);
	}
}

FIXTURE_TEARDOWN(class)
{
	if (self->helper_set) {
		char buf[260];

		snprintf(buf, sizeof(buf), "%s\n", self->helper);
		EXPECT_EQ(0, doe_user_write_file(UEVENT_HELPER, buf));
		unlink(HELPER_SCRIPT);
		unlink(HELPER_LOG);
	}
	unlink(NODE_COPY);
	if (doe_ctl_tpd_present())
		doe_ctl_tpd_write("reset", "1");
	if (self->churn_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(self->churn_id));
	if (self->sim_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(self->sim_id));
}

/* The protocols file of @dir, lines joined with @sep */
static int read_protocols(const char *dir, char sep, char *buf, size_t len)
{
	char path[256];
	int n, i;

	snprintf(path, sizeof(path), "%s/protocols", dir);
	n = doe_ctl_read_file(path, buf, len);
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = sep;
	return n;
}

/* A file of @dir, trailing newline cut */
static int read_attr(const char *dir, const char *name, char *buf,
		     size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return doe_ctl_read_file(path, buf, len);
}

/* "major:minor" of @dir/dev */
static int read_devt(const char *dir, dev_t *devt)
{
	unsigned int maj, min;
	char buf[32];

	if (read_attr(dir, "dev", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -EIO;
	*devt = makedev(maj, min);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* The PCI functions, sorted; returns how many (at most @max). */
static int pci_devices(char **bdfs, int max)
{
	DIR *d = opendir(PCI_DEVICES);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < max)
		if (e->d_name[0] != '.')
			bdfs[n++] = strdup(e->d_name);
	closedir(d);
	qsort(bdfs, n, sizeof(*bdfs), cmp_str);
	return n;
}

/*
 * One DOE capability at @cap of @bdf (config fd @fd, read-write), version
 * @ver: its class device, among @mbs (@matched counts the hits).
 */
static void check_capability(struct __test_metadata *_metadata,
			     const char *bdf, int fd, unsigned int cap,
			     unsigned int ver, struct doe_ctl_mb *mbs, int nmb,
			     int *matched)
{
	char name[64], dir[160], node[160], path[256], buf[256], want[64];
	char real_dev[PATH_MAX], real_fn[PATH_MAX], prots[1024], got[1024];
	struct doe_ctl_mb *mb = NULL;
	struct stat st;
	dev_t devt;
	ssize_t n;
	int k, cfd, ret;

	doe_ctl_mb_name(bdf, cap, name, sizeof(name));
	snprintf(dir, sizeof(dir), DOE_CTL_CLASS_DIR "/%s", name);
	for (k = 0; k < nmb; k++)
		if (!strcmp(mbs[k].name, name)) {
			mb = &mbs[k];
			matched[k]++;
		}
	EXPECT_NE(NULL, mb) TH_LOG("%s: DOE capability at %#x, no %s", bdf,
				   cap, dir);
	if (!mb)
		return;

	/* Child of the function, of class pci_doe */
	real_dev[0] = '\0';
	snprintf(path, sizeof(path), "%s/device", dir);
	EXPECT_NE(NULL, realpath(path, real_dev))
		TH_LOG("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	ASSERT_NE(NULL, realpath(path, real_fn));
	EXPECT_STREQ(real_fn, real_dev);
	snprintf(path, sizeof(path), "%s/subsystem", dir);
	n = readlink(path, buf, sizeof(buf) - 1);
	EXPECT_LT(0, n) TH_LOG("%s: %s", path, strerror(errno));
	buf[n > 0 ? n : 0] = '\0';
	EXPECT_STREQ("pci_doe", strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf);

	/* What the capability header says */
	snprintf(want, sizeof(want), "%#x", cap);
	EXPECT_LT(0, read_attr(dir, "offset", buf, sizeof(buf)));
	EXPECT_STREQ(want, buf) TH_LOG("%s/offset", dir);
	snprintf(want, sizeof(want), "%u", ver);
	EXPECT_LT(0, read_attr(dir, "version", buf, sizeof(buf)));
	EXPECT_STREQ(want, buf) TH_LOG("%s/version", dir);

	/* What a userspace Discovery finds, the mailbox taken meanwhile */
	EXPECT_LT(0, read_protocols(dir, ' ', prots, sizeof(prots)));
	cfd = doe_ctl_cdev_open(mb, O_RDWR);
	EXPECT_LE(0, cfd) TH_LOG("%s: char device: %s", name, strerror(-cfd));
	if (cfd >= 0) {
		ret = doe_ctl_take(cfd);
		EXPECT_EQ(0, ret) TH_LOG("%s: TAKE: %s", name, strerror(-ret));
		ret = doe_ctl_user_discovery(mb, fd, got, sizeof(got));
		EXPECT_LT(0, ret) TH_LOG("%s: userspace Discovery: %s", name,
					 strerror(-ret));
		EXPECT_STREQ(got, prots) TH_LOG("%s: Discovery: %s, protocols: %s",
						name, got, prots);
		EXPECT_EQ(0, doe_ctl_give(cfd));
		close(cfd);
	}

	/* The node: a char device of the numbers in "dev", 0600 root */
	ASSERT_EQ(0, read_devt(dir, &devt)) TH_LOG("%s/dev", dir);
	doe_ctl_cdev_path(mb, node, sizeof(node));
	ASSERT_EQ(0, stat(node, &st)) TH_LOG("%s: %s", node, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode)) TH_LOG("%s: mode %o", node,
						st.st_mode);
	EXPECT_EQ(0600, st.st_mode & 07777) TH_LOG("%s: mode %o", node,
						   st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(major(devt), major(st.st_rdev)) TH_LOG("%s", node);
	EXPECT_EQ(minor(devt), minor(st.st_rdev)) TH_LOG("%s", node);
	TH_LOG("%s: v%u, %s, %s %u:%u", name, ver, prots, node, major(devt),
	       minor(devt));
}

TEST_F_TIMEOUT(class, devices_match_config, 60)
{
	static struct doe_ctl_mb mbs[MAX_MBS];
	int matched[MAX_MBS] = { 0 };
	char *bdfs[MAX_DEVS];
	int nd, nmb, i, j, caps_total = 0, class_total;
	glob_t g;

	nmb = doe_ctl_mailboxes(mbs, MAX_MBS);
	class_total = glob(DOE_CTL_CLASS_DIR "/*", 0, NULL, &g) ? 0 :
		      (int)g.gl_pathc;
	if (class_total)
		globfree(&g);
	nd = pci_devices(bdfs, MAX_DEVS);
	ASSERT_LE(0, nd);
	for (i = 0; i < nd; i++) {
		uint16_t caps[16];
		uint8_t vers[16];
		int fd = doe_user_open(bdfs[i], 1), n;

		ASSERT_LE(0, fd) TH_LOG("%s config: %s", bdfs[i],
					strerror(-fd));
		n = doe_user_find(fd, caps, vers, 16);
		EXPECT_LE(0, n) TH_LOG("%s: capability walk: %s", bdfs[i],
				       strerror(-n));
		for (j = 0; j < n && j < 16; j++) {
			caps_total++;
			check_capability(_metadata, bdfs[i], fd, caps[j],
					 vers[j], mbs, nmb, matched);
		}
		close(fd);
		free(bdfs[i]);
	}
	/* No class device without a capability, none twice */
	for (i = 0; i < nmb; i++)
		EXPECT_EQ(1, matched[i])
			TH_LOG("%s (function %s, offset %#x): %s", mbs[i].name,
			       mbs[i].bdf, mbs[i].cap,
			       matched[i] ? "matched twice" :
			       "no DOE capability of that name in config space");
	EXPECT_EQ(caps_total, nmb);
	EXPECT_EQ(nmb, class_total);
	TH_LOG("%d DOE capabilities in config space, %d class devices",
	       caps_total, class_total);
	if (self->sim_id >= 0)
		EXPECT_EQ(SIM_MBS, doe_ctl_class_count(self->sim_bdf));
	if (!caps_total && !class_total && _metadata->exit_code != KSFT_FAIL)
		SKIP(return, "no DOE mailbox in this system");
}

/* The value of @key in uevent contents @buf, or NULL */
static const char *uevent_value(const char *buf, const char *key, char *val,
				size_t len)
{
	size_t klen = strlen(key), l;
	const char *p;

	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) || p[klen] != '=')
			continue;
		p += klen + 1;
		l = strcspn(p, "\n");
		if (l >= len)
			l = len - 1;
		memcpy(val, p, l);
		val[l] = '\0';
		return val;
	}
	return NULL;
}

TEST_F(class, uevent_file)
{
	static struct doe_ctl_mb mbs[MAX_MBS];
	char buf[4096], val[1024], want[1024];
	int n, i;
	dev_t devt;

	n = doe_ctl_mailboxes(mbs, MAX_MBS);
	if (!n)
		SKIP(return, "no DOE mailbox in " DOE_CTL_CLASS_DIR);
	for (i = 0; i < n; i++) {
		const char *dir = mbs[i].dir;

		ASSERT_LT(0, read_attr(dir, "uevent", buf, sizeof(buf)))
			TH_LOG("%s/uevent", dir);
		ASSERT_EQ(0, read_devt(dir, &devt));
		snprintf(want, sizeof(want), "%u", major(devt));
		EXPECT_STREQ(want, uevent_value(buf, "MAJOR", val, sizeof(val)) ?: "")
			TH_LOG("%s: MAJOR", mbs[i].name);
		snprintf(want, sizeof(want), "%u", minor(devt));
		EXPECT_STREQ(want, uevent_value(buf, "MINOR", val, sizeof(val)) ?: "")
			TH_LOG("%s: MINOR", mbs[i].name);
		snprintf(want, sizeof(want), "pci_doe/%s", mbs[i].name);
		EXPECT_STREQ(want, uevent_value(buf, "DEVNAME", val, sizeof(val)) ?: "")
			TH_LOG("%s: DEVNAME", mbs[i].name);
		EXPECT_LT(0, read_attr(dir, "offset", want, sizeof(want)));
		EXPECT_STREQ(want, uevent_value(buf, "DOE_OFFSET", val, sizeof(val)) ?: "")
			TH_LOG("%s: DOE_OFFSET", mbs[i].name);
		EXPECT_LT(0, read_protocols(dir, ',', want, sizeof(want)));
		EXPECT_STREQ(want, uevent_value(buf, "DOE_PROTOCOLS", val, sizeof(val)) ?: "")
			TH_LOG("%s: DOE_PROTOCOLS", mbs[i].name);
		TH_LOG("%s: DOE_OFFSET=%s DOE_PROTOCOLS=%s", mbs[i].name,
		       uevent_value(buf, "DOE_OFFSET", want, sizeof(want)) ?: "",
		       val);
	}
}

/* The protocols of @mb ("0001:00 1e98:02") as vendor << 16 | type */
static int parse_protocols(const struct doe_ctl_mb *mb, uint32_t *ids,
			   int max)
{
	const char *p = mb->protocols;
	unsigned int vid, type;
	int n = 0, used;

	while (n < max && sscanf(p, " %4x:%2x%n", &vid, &type, &used) == 2) {
		ids[n++] = vid << 16 | type;
		p += used;
	}
	return n;
}

/* Are the bytes of @buf from @from to @to all CANARY? */
static int canary_intact(const uint8_t *buf, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (buf[i] != CANARY)
			return 0;
	return 1;
}

static void info_one(struct __test_metadata *_metadata,
		     const struct doe_ctl_mb *mb)
{
	struct pci_doe_info *info = (struct pci_doe_info *)info_buf;
	uint8_t *raw = (uint8_t *)info_buf;
	uint32_t ids[256], capreg, irq;
	size_t need;
	char ver[16];
	int fd, rfd, nr, i;

	nr = parse_protocols(mb, ids, 256);
	need = DOE_CTL_INFO_MIN + 4 * nr;
	ASSERT_LT(0, read_attr(mb->dir, "version", ver, sizeof(ver)));
	rfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 0);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, doe_user_read(rfd, mb->cap + DOE_USER_CAP, &capreg));
	close(rfd);
	irq = capreg & DOE_CAP_INT_SUP ? PCI_DOE_INFO_INTERRUPT : 0;
	/* INFO needs no write access */
	fd = doe_ctl_cdev_open(mb, O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", mb->name, strerror(-fd));

	/* Too small for the fixed part */
	EXPECT_EQ(-EINVAL, doe_ctl_info(fd, info, 4));
	EXPECT_EQ(-EINVAL, doe_ctl_info(fd, info, DOE_CTL_INFO_MIN - 1));

	/* The fixed part only: the size needed comes back, no protocol */
	memset(raw, CANARY, INFO_BUF);
	ASSERT_EQ(0, doe_ctl_info(fd, info, DOE_CTL_INFO_MIN));
	EXPECT_EQ(need, info->argsz);
	EXPECT_EQ(nr, info->nr_protocols);
	EXPECT_EQ(irq, info->flags);
	EXPECT_EQ(mb->cap, info->cap_offset);
	EXPECT_EQ(atoi(ver), info->cap_version);
	EXPECT_EQ(0, info->reserved0);
	EXPECT_EQ(DOE_CTL_MAX_OBJECT, info->max_object_size);
	EXPECT_EQ(0, info->reserved1);
	EXPECT_TRUE(canary_intact(raw, DOE_CTL_INFO_MIN, INFO_BUF))
		TH_LOG("%s: INFO of %zu bytes wrote beyond them", mb->name,
		       DOE_CTL_INFO_MIN);

	/* Room for one protocol: exactly that one */
	if (nr >= 2) {
		memset(raw, CANARY, INFO_BUF);
		ASSERT_EQ(0, doe_ctl_info(fd, info, DOE_CTL_INFO_MIN + 4));
		EXPECT_EQ(need, info->argsz);
		EXPECT_EQ(ids[0] >> 16, info->protocols[0].vendor);
		EXPECT_EQ(ids[0] & 0xff, info->protocols[0].type);
		EXPECT_EQ(0, info->protocols[0].flags & ~PROT_FLAGS);
		EXPECT_TRUE(canary_intact(raw, DOE_CTL_INFO_MIN + 4, INFO_BUF))
			TH_LOG("%s: INFO of %zu bytes wrote beyond them",
			       mb->name, DOE_CTL_INFO_MIN + 4);
	}

	/* Room for all: the protocols of sysfs, in order, nothing more */
	memset(raw, CANARY, INFO_BUF);
	ASSERT_EQ(0, doe_ctl_info(fd, info, need));
	EXPECT_EQ(need, info->argsz);
	EXPECT_EQ(nr, info->nr_protocols);
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(ids[i] >> 16, info->protocols[i].vendor)
			TH_LOG("%s: protocol %d", mb->name, i);
		EXPECT_EQ(ids[i] & 0xff, info->protocols[i].type)
			TH_LOG("%s: protocol %d", mb->name, i);
		EXPECT_EQ(0, info->protocols[i].flags & ~PROT_FLAGS);
	}
	EXPECT_TRUE(canary_intact(raw, need, INFO_BUF))
		TH_LOG("%s: INFO of %zu bytes wrote beyond them", mb->name,
		       need);
	/* More room: the size needed all the same */
	ASSERT_EQ(0, doe_ctl_info(fd, info, INFO_BUF));
	EXPECT_EQ(need, info->argsz);

	/* KERNEL_OWNED while the kernel holds a claim */
	ASSERT_EQ(0, doe_ctl_claim(mb));
	ASSERT_EQ(0, doe_ctl_info(fd, info, DOE_CTL_INFO_MIN));
	EXPECT_EQ(PCI_DOE_INFO_KERNEL_OWNED, info->flags & OWNERSHIP_FLAGS);
	ASSERT_EQ(0, doe_ctl_release(mb));
	ASSERT_EQ(0, doe_ctl_info(fd, info, DOE_CTL_INFO_MIN));
	EXPECT_EQ(0, info->flags & OWNERSHIP_FLAGS);

	/* Unknown ioctls */
	EXPECT_EQ(-ENOTTY, doe_ctl_ioctl(fd, _IO(PCI_DOE_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(-ENOTTY, doe_ctl_ioctl(fd, OLD_PCIIOC_DOE_TAKE, mb->cap));
	TH_LOG("%s: INFO: %d protocols, argsz %zu, flags %#x", mb->name, nr,
	       need, info->flags);
	close(fd);
}

TEST_F(class, info_ioctl)
{
	static struct doe_ctl_mb mbs[MAX_MBS];
	int n, i;

	if (!doe_ctl_tpd_present())
		SKIP(return, "no %s (CONFIG_TEST_PCI_DOE): KERNEL_OWNED needs a claim",
		     doe_ctl_tpd_dir());
	n = doe_ctl_mailboxes(mbs, MAX_MBS);
	if (!n)
		SKIP(return, "no DOE mailbox in " DOE_CTL_CLASS_DIR);
	for (i = 0; i < n; i++)
		info_one(_metadata, &mbs[i]);
}

static void statistics_one(struct __test_metadata *_metadata,
			   const struct doe_ctl_mb *mb, int relaxed)
{
	long ex0, err0, to0, ab0, d0, o0;
	char owners[256];
	uint32_t zero = 0;
	int fd, ret;

	/* Whatever earlier tests left is aborted now */
	ASSERT_EQ(0, doe_ctl_kernel_discovery(mb));
	ex0 = doe_ctl_mb_counter(mb, "exchanges");
	err0 = doe_ctl_mb_counter(mb, "errors");
	to0 = doe_ctl_mb_counter(mb, "timeouts");
	ab0 = doe_ctl_mb_counter(mb, "aborts");
	ASSERT_LE(0, ex0) TH_LOG("%s/statistics/exchanges: %s", mb->dir,
				 strerror(-ex0));
	ASSERT_EQ(0, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(ex0 + 1, doe_ctl_mb_counter(mb, "exchanges"));
	EXPECT_EQ(err0, doe_ctl_mb_counter(mb, "errors"));
	EXPECT_EQ(to0, doe_ctl_mb_counter(mb, "timeouts"));
	EXPECT_EQ(ab0, doe_ctl_mb_counter(mb, "aborts"));

	/* owners: one line per name, with its count, in claim order */
	ASSERT_LE(0, doe_ctl_mb_read(mb, "owners", owners, sizeof(owners)));
	EXPECT_STREQ("", owners);
	ASSERT_EQ(0, doe_ctl_claim(mb));
	ASSERT_EQ(0, doe_ctl_claim(mb));
	ASSERT_EQ(0, doe_ctl_tpd_on(mb, "trigger_claim", 0, "owner=" OWNER));
	ASSERT_LE(0, doe_ctl_mb_read(mb, "owners", owners, sizeof(owners)));
	EXPECT_STREQ("test_pci_doe 2\n" OWNER " 1", owners);
	EXPECT_EQ(3, doe_ctl_mb_claims(mb));
	EXPECT_EQ(0, doe_ctl_mb_counter(mb, "in_flight"));

	/* A write while claimed: refused (strict, locked) or overridden */
	d0 = doe_ctl_mb_counter(mb, "denied_writes");
	o0 = doe_ctl_mb_counter(mb, "overridden_writes");
	fd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
	ASSERT_LE(0, fd);
	ret = doe_ctl_pwrite(fd, &zero, 4, mb->cap + DOE_USER_WRITE);
	close(fd);
	EXPECT_EQ(relaxed ? 0 : -EPERM, ret);
	EXPECT_EQ(d0 + !relaxed, doe_ctl_mb_counter(mb, "denied_writes"));
	EXPECT_EQ(o0 + relaxed, doe_ctl_mb_counter(mb, "overridden_writes"));

	ASSERT_EQ(0, doe_ctl_release(mb));
	ASSERT_LE(0, doe_ctl_mb_read(mb, "owners", owners, sizeof(owners)));
	EXPECT_STREQ("test_pci_doe 1\n" OWNER " 1", owners);
	ASSERT_EQ(0, doe_ctl_tpd_on(mb, "trigger_release", 0, "owner=" OWNER));
	ASSERT_EQ(0, doe_ctl_release(mb));
	ASSERT_LE(0, doe_ctl_mb_read(mb, "owners", owners, sizeof(owners)));
	EXPECT_STREQ("", owners);

	/* The dword that landed (relaxed) is aborted first, once */
	ASSERT_EQ(0, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(ab0 + relaxed, doe_ctl_mb_counter(mb, "aborts"));
	EXPECT_EQ(ex0 + 2, doe_ctl_mb_counter(mb, "exchanges"));
	TH_LOG("%s: exchanges %ld, denied_writes %ld, overridden_writes %ld, aborts %ld",
	       mb->name, doe_ctl_mb_counter(mb, "exchanges"),
	       doe_ctl_mb_counter(mb, "denied_writes"),
	       doe_ctl_mb_counter(mb, "overridden_writes"),
	       doe_ctl_mb_counter(mb, "aborts"));
}

TEST_F(class, statistics)
{
	static struct doe_ctl_mb mbs[MAX_MBS];
	char policy[32];
	int n, i;

	if (!doe_ctl_tpd_present())
		SKIP(return,
		     "no %s (CONFIG_TEST_PCI_DOE): the kernel's exchanges and claims come from it",
		     doe_ctl_tpd_dir());
	ASSERT_EQ(0, doe_ctl_policy(policy, sizeof(policy)));
	n = doe_ctl_mailboxes(mbs, MAX_MBS);
	if (!n)
		SKIP(return, "no DOE mailbox in " DOE_CTL_CLASS_DIR);
	for (i = 0; i < n; i++)
		statistics_one(_metadata, &mbs[i], !strcmp(policy, "relaxed"));
}

/* ---- removal ---- */

/* The function a removal test removes and how to get it back */
struct victim {
	char bdf[32];
	int sim;		/* the fixture's simulated function */
	int cdats;		/* endpoint CDATs before (CXL type 3) */
	int nr;			/* its mailboxes */
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
};

static int count_glob(const char *pat)
{
	glob_t g;
	int n;

	if (glob(pat, 0, NULL, &g))
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

/* The mailboxes of @bdf; how many */
static int function_mbs(const char *bdf, struct doe_ctl_mb *out, int max)
{
	static struct doe_ctl_mb mbs[MAX_MBS];
	int n = doe_ctl_mailboxes(mbs, MAX_MBS), i, k = 0;

	for (i = 0; i < n && k < max; i++)
		if (!strcmp(mbs[i].bdf, bdf))
			out[k++] = mbs[i];
	return k;
}

/*
 * The fixture's simulated function, else the CXL type 3 device (which
 * pci_doe_basic removes and rescans too); 0, or -ENOENT for neither.
 */
static int pick_victim(int sim_id, const char *sim_bdf, struct victim *v)
{
	static struct doe_ctl_mb mbs[MAX_MBS];
	char path[128], cls[32];
	int n, i;

	memset(v, 0, sizeof(*v));
	if (sim_id >= 0) {
		snprintf(v->bdf, sizeof(v->bdf), "%s", sim_bdf);
		v->sim = 1;
	} else {
		n = doe_ctl_mailboxes(mbs, MAX_MBS);
		for (i = 0; i < n && !v->bdf[0]; i++) {
			snprintf(path, sizeof(path), PCI_DEVICES "/%.31s/class",
				 mbs[i].bdf);
			if (doe_ctl_read_file(path, cls, sizeof(cls)) > 0 &&
			    !strncmp(cls, CLASS_CXL_MEM, strlen(CLASS_CXL_MEM)))
				snprintf(v->bdf, sizeof(v->bdf), "%.31s",
					 mbs[i].bdf);
		}
		if (!v->bdf[0])
			return -ENOENT;
		v->cdats = count_glob(ENDPOINT_CDATS);
	}
	v->nr = function_mbs(v->bdf, v->mbs, DOE_CTL_MAX_MBS);
	return 0;
}

/* Remove @v's function through sysfs and wait until it is gone */
static int victim_remove(const struct victim *v)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/remove", v->bdf);
	ret = doe_user_write_file(path, "1");
	if (ret)
		return ret;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", v->bdf);
	return wait_path(path, 0, WAIT_MS);
}

/*
 * Rescan (the simulator's bus, or every bus) and wait until the function
 * and its mailboxes are back and, for the CXL device, its CDAT.
 */
static int victim_rescan(const struct victim *v)
{
	long long end = doe_ctl_now_ms() + CXL_WAIT_MS;
	char path[128];
	int ret;

	ret = doe_user_write_file(v->sim ? DOE_CTL_SIM_DIR "/rescan" :
				  "/sys/bus/pci/rescan", "1");
	if (ret)
		return ret;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", v->bdf);
	ret = wait_path(path, 1, WAIT_MS);
	if (!ret)
		ret = doe_ctl_wait_class(v->bdf, v->nr, WAIT_MS);
	/* The CXL drivers probe asynchronously; let them finish */
	while (!ret && !v->sim && count_glob(ENDPOINT_CDATS) < v->cdats)
		if (doe_ctl_now_ms() > end)
			ret = -ETIMEDOUT;
		else
			usleep(10000);
	return ret;
}

/*
 * Point uevent_helper at a script logging every uevent to HELPER_LOG; what
 * it held goes to @saved, and *@set says that it is to be restored
 */
static int helper_install(char *saved, size_t len, int *set)
{
	static const char script[] =
		"#!/bin/sh\n"
		"echo \"$ACTION|$DEVPATH|$SUBSYSTEM|$DEVNAME|$DOE_OFFSET|$DOE_PROTOCOLS\" \\\n"
		"	>>" HELPER_LOG "\n";
	int fd, ret;

	ret = doe_ctl_read_file(UEVENT_HELPER, saved, len);
	if (ret < 0)
		return ret;
	fd = open(HELPER_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	fd = open(HELPER_SCRIPT, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0755);
	if (fd < 0)
		return -errno;
	ret = write(fd, script, strlen(script)) == (ssize_t)strlen(script) ?
	      0 : -EIO;
	close(fd);
	if (ret)
		return ret;
	ret = doe_user_write_file(UEVENT_HELPER, HELPER_SCRIPT);
	if (!ret)
		*set = 1;
	return ret;
}

/* A uevent the helper logged: ACTION|DEVPATH|SUBSYSTEM|DEVNAME|... */
struct uevent {
	char action[16];
	char devpath[256];
	char subsystem[32];
	char devname[96];
	char offset[16];
	char protocols[512];
};

static int parse_uevent(char *line, struct uevent *e)
{
	char *f[6], *p = line;
	int i;

	for (i = 0; i < 6; i++) {
		f[i] = strsep(&p, "|");
		if (!f[i])
			return -EINVAL;
	}
	snprintf(e->action, sizeof(e->action), "%s", f[0]);
	snprintf(e->devpath, sizeof(e->devpath), "%s", f[1]);
	snprintf(e->subsystem, sizeof(e->subsystem), "%s", f[2]);
	snprintf(e->devname, sizeof(e->devname), "%s", f[3]);
	snprintf(e->offset, sizeof(e->offset), "%s", f[4]);
	snprintf(e->protocols, sizeof(e->protocols), "%s", f[5]);
	return 0;
}

/*
 * Count the pci_doe uevents of @action in the log: per mailbox of @v in
 * @per_mb (those of other names in *@others); with @check, log and count
 * in *@bad the ones whose DEVPATH, DOE_OFFSET or (add) DOE_PROTOCOLS are
 * not those of the mailbox.
 */
static void count_uevents(struct __test_metadata *_metadata,
			  const struct victim *v, const char *devpaths,
			  const char *action, int *per_mb, int *others,
			  int check, int *bad)
{
	char line[1024], devname[96], want[64], prots[512], *p;
	struct uevent e;
	FILE *f;
	int k;

	memset(per_mb, 0, sizeof(*per_mb) * v->nr);
	*others = 0;
	f = fopen(HELPER_LOG, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (parse_uevent(line, &e) || strcmp(e.subsystem, "pci_doe") ||
		    strcmp(e.action, action))
			continue;
		for (k = 0; k < v->nr; k++) {
			snprintf(devname, sizeof(devname), "pci_doe/%s",
				 v->mbs[k].name);
			if (!strcmp(e.devname, devname))
				break;
		}
		if (k == v->nr) {
			(*others)++;
			if (check)
				TH_LOG("another pci_doe uevent: %s", line);
			continue;
		}
		per_mb[k]++;
		if (!check)
			continue;
		snprintf(want, sizeof(want), "%#x", v->mbs[k].cap);
		snprintf(prots, sizeof(prots), "%s", v->mbs[k].protocols);
		for (p = prots; *p; p++)
			if (*p == ' ')
				*p = ',';
		if (strcmp(e.devpath, devpaths + 256 * k) ||
		    strcmp(e.offset, want) ||
		    (!strcmp(action, "add") && strcmp(e.protocols, prots))) {
			(*bad)++;
			TH_LOG("%s uevent of %s: %s (want %s, %s, %s)",
			       action, v->mbs[k].name, line,
			       devpaths + 256 * k, want, prots);
		}
	}
	fclose(f);
}

/* Wait (bounded) until every mailbox of @v had its @action uevent */
static int wait_uevents(struct __test_metadata *_metadata,
			const struct victim *v, const char *devpaths,
			const char *action)
{
	long long end = doe_ctl_now_ms() + WAIT_MS;
	int per_mb[DOE_CTL_MAX_MBS], others, k, missing;

	for (;;) {
		count_uevents(_metadata, v, devpaths, action, per_mb, &others,
			      0, NULL);
		for (k = 0, missing = 0; k < v->nr; k++)
			missing += !per_mb[k];
		if (!missing || doe_ctl_now_ms() > end)
			return missing;
		usleep(10000);
	}
}

/* Neither the class device nor the node of @mb exists */
static void expect_gone(struct __test_metadata *_metadata,
			const struct doe_ctl_mb *mb)
{
	char node[128];

	doe_ctl_cdev_path(mb, node, sizeof(node));
	EXPECT_FALSE(exists(mb->dir)) TH_LOG("%s still there", mb->dir);
	EXPECT_FALSE(exists(node)) TH_LOG("%s still there", node);
}

/* The class device and the node of @mb exist, the node of "dev" */
static void expect_back(struct __test_metadata *_metadata,
			const struct doe_ctl_mb *mb)
{
	char node[128];
	struct stat st;
	dev_t devt;

	doe_ctl_cdev_path(mb, node, sizeof(node));
	EXPECT_TRUE(exists(mb->dir)) TH_LOG("no %s", mb->dir);
	ASSERT_EQ(0, stat(node, &st)) TH_LOG("%s: %s", node, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0, read_devt(mb->dir, &devt));
	EXPECT_EQ(devt, st.st_rdev) TH_LOG("%s", node);
}

TEST_F_TIMEOUT(class, uevents_remove_rescan, 150)
{
	static struct victim v;
	static char devpaths[DOE_CTL_MAX_MBS * 256];
	int per_mb[DOE_CTL_MAX_MBS], others, bad = 0, k, ret;
	char real[PATH_MAX];

	if (access(UEVENT_HELPER, W_OK))
		SKIP(return, "no " UEVENT_HELPER " (CONFIG_UEVENT_HELPER)");
	if (pick_victim(self->sim_id, self->sim_bdf, &v))
		SKIP(return, NO_VICTIM);
	ASSERT_LT(0, v.nr) TH_LOG("%s: no class device", v.bdf);
	if (v.sim)
		ASSERT_EQ(SIM_MBS, v.nr);
	for (k = 0; k < v.nr; k++) {
		/* DEVPATH: the device's path below /sys */
		ASSERT_NE(NULL, realpath(v.mbs[k].dir, real));
		ASSERT_EQ(0, strncmp(real, "/sys/", 5));
		snprintf(devpaths + 256 * k, 256, "%.255s", real + 4);
	}
	ret = helper_install(self->helper, sizeof(self->helper),
			     &self->helper_set);
	ASSERT_EQ(0, ret) TH_LOG(UEVENT_HELPER ": %s", strerror(-ret));

	/* Removed: one "remove" per mailbox, class devices and nodes gone */
	ASSERT_EQ(0, victim_remove(&v)) TH_LOG("%s: remove", v.bdf);
	EXPECT_EQ(0, wait_uevents(_metadata, &v, devpaths, "remove"))
		TH_LOG("%s: \"remove\" uevents missing after %d ms", v.bdf,
		       WAIT_MS);
	for (k = 0; k < v.nr; k++)
		expect_gone(_metadata, &v.mbs[k]);

	/* Found again: one "add" per mailbox, back with the same names */
	ret = victim_rescan(&v);
	ASSERT_EQ(0, ret) TH_LOG("%s: rescan: %s", v.bdf, strerror(-ret));
	EXPECT_EQ(0, wait_uevents(_metadata, &v, devpaths, "add"))
		TH_LOG("%s: \"add\" uevents missing after %d ms", v.bdf,
		       WAIT_MS);
	for (k = 0; k < v.nr; k++)
		expect_back(_metadata, &v.mbs[k]);

	/* Exactly one of each, right, and none of another mailbox */
	count_uevents(_metadata, &v, devpaths, "remove", per_mb, &others, 1,
		      &bad);
	for (k = 0; k < v.nr; k++)
		EXPECT_EQ(1, per_mb[k]) TH_LOG("%s: %d \"remove\" uevents",
					       v.mbs[k].name, per_mb[k]);
	EXPECT_EQ(0, others);
	count_uevents(_metadata, &v, devpaths, "add", per_mb, &others, 1,
		      &bad);
	for (k = 0; k < v.nr; k++)
		EXPECT_EQ(1, per_mb[k]) TH_LOG("%s: %d \"add\" uevents",
					       v.mbs[k].name, per_mb[k]);
	EXPECT_EQ(0, others);
	EXPECT_EQ(0, bad);
	TH_LOG("%s (%s): %d mailboxes, a remove and an add uevent each",
	       v.bdf, v.sim ? "simulated" : "CXL type 3", v.nr);
}

/* Every ioctl on @fd, a file of a removed mailbox, gets ENODEV */
static void expect_dead(struct __test_metadata *_metadata, int fd,
			const char *what)
{
	struct pci_doe_info *info = (struct pci_doe_info *)info_buf;

	EXPECT_EQ(-ENODEV, doe_ctl_info(fd, info, INFO_BUF))
		TH_LOG("INFO on %s", what);
	EXPECT_EQ(-ENODEV, doe_ctl_take(fd)) TH_LOG("TAKE on %s", what);
	EXPECT_EQ(-ENODEV, doe_ctl_give(fd)) TH_LOG("GIVE on %s", what);
}

TEST_F_TIMEOUT(class, removal_with_open_fds, 150)
{
	struct pci_doe_info *info = (struct pci_doe_info *)info_buf;
	static struct victim v;
	const struct doe_ctl_mb *mb;
	int tfd, ofd, nfd, fd, ret;
	char node[128];
	struct stat st;

	if (!doe_ctl_tpd_present())
		SKIP(return,
		     "no %s (CONFIG_TEST_PCI_DOE): a kernel claim shows the new mailbox is free",
		     doe_ctl_tpd_dir());
	if (pick_victim(self->sim_id, self->sim_bdf, &v))
		SKIP(return, NO_VICTIM);
	ASSERT_LT(0, v.nr) TH_LOG("%s: no class device", v.bdf);
	mb = &v.mbs[0];
	doe_ctl_cdev_path(mb, node, sizeof(node));

	/* Two files: one takes the mailbox, the other does not */
	tfd = doe_ctl_cdev_open(mb, O_RDWR);
	ofd = doe_ctl_cdev_open(mb, O_RDWR);
	ASSERT_LE(0, tfd) TH_LOG("%s: %s", node, strerror(-tfd));
	ASSERT_LE(0, ofd);
	ASSERT_EQ(0, doe_ctl_take(tfd));
	/* A node of the same numbers, to open once the device is gone */
	ASSERT_EQ(0, stat(node, &st));
	unlink(NODE_COPY);
	ASSERT_EQ(0, mknod(NODE_COPY, S_IFCHR | 0600, st.st_rdev))
		TH_LOG(NODE_COPY ": %s", strerror(errno));

	ASSERT_EQ(0, victim_remove(&v)) TH_LOG("%s: remove", v.bdf);
	expect_dead(_metadata, tfd, "the taking file");
	expect_dead(_metadata, ofd, "the other file");
	expect_gone(_metadata, mb);
	fd = open(NODE_COPY, O_RDWR | O_CLOEXEC);
	EXPECT_EQ(-1, fd) TH_LOG("the removed mailbox's device number opens");
	if (fd < 0) {
		EXPECT_TRUE(errno == ENXIO || errno == ENODEV || errno == ENOENT)
			TH_LOG("opening the removed mailbox: %s", strerror(errno));
	} else {
		close(fd);
	}
	EXPECT_EQ(0, unlink(NODE_COPY));
	EXPECT_EQ(0, close(ofd));

	/* Found again: a new mailbox of the same name, free */
	ret = victim_rescan(&v);
	ASSERT_EQ(0, ret) TH_LOG("%s: rescan: %s", v.bdf, strerror(-ret));
	nfd = doe_ctl_cdev_open(mb, O_RDWR);
	ASSERT_LE(0, nfd) TH_LOG("%s after the rescan: %s", node,
				 strerror(-nfd));
	ASSERT_EQ(0, doe_ctl_info(nfd, info, DOE_CTL_INFO_MIN));
	EXPECT_EQ(mb->cap, info->cap_offset);
	EXPECT_EQ(0, info->flags & OWNERSHIP_FLAGS);
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));
	/* ... while the old file stays dead */
	expect_dead(_metadata, tfd, "the taking file, after the rescan");
	/* ... and its take did not carry over */
	EXPECT_EQ(0, doe_ctl_claim(mb));
	EXPECT_EQ(0, doe_ctl_release(mb));
	EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(0, doe_ctl_take(nfd));
	EXPECT_EQ(0, doe_ctl_give(nfd));
	EXPECT_EQ(0, close(tfd));
	EXPECT_EQ(0, close(nfd));
	EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
}

TEST_F_TIMEOUT(class, sim_churn, 120)
{
	struct pci_doe_info *info = (struct pci_doe_info *)info_buf;
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	int round, k, nr, n, fd, total = 0;
	char bdf[32], name[64];

	if (!doe_ctl_sim_present())
		SKIP(return, "no " DOE_CTL_SIM_DIR " (CONFIG_PCI_DOE_SIM)");
	for (round = 0; round < CHURN; round++) {
		nr = 1 + round % 4;
		ASSERT_EQ(0, doe_ctl_sim_add(nr, &self->churn_id, bdf,
					     sizeof(bdf)));
		EXPECT_EQ(0, doe_ctl_wait_class(bdf, nr, WAIT_MS))
			TH_LOG("round %d: %s: %d of %d class devices", round,
			       bdf, doe_ctl_class_count(bdf), nr);
		n = function_mbs(bdf, mbs, DOE_CTL_MAX_MBS);
		ASSERT_EQ(nr, n);
		for (k = 0; k < n; k++) {
			doe_ctl_mb_name(bdf, DOE_CTL_SIM_BASE +
					DOE_CTL_SIM_STRIDE * k, name,
					sizeof(name));
			EXPECT_STREQ(name, mbs[k].name);
			expect_back(_metadata, &mbs[k]);
		}
		/* A file of mailbox 0 outlives it; taken every other round */
		fd = doe_ctl_cdev_open(&mbs[0], O_RDWR);
		ASSERT_LE(0, fd) TH_LOG("round %d: %s: %s", round,
					mbs[0].name, strerror(-fd));
		ASSERT_EQ(0, doe_ctl_info(fd, info, DOE_CTL_INFO_MIN));
		EXPECT_EQ(DOE_CTL_SIM_BASE, info->cap_offset);
		/* the simulator's default: 0001:00 7e57:01 7e57:02 1e98:02 */
		EXPECT_EQ(4, info->nr_protocols);
		if (round & 1)
			EXPECT_EQ(0, doe_ctl_take(fd));

		ASSERT_EQ(0, doe_ctl_sim_del(self->churn_id));
		self->churn_id = -1;
		EXPECT_EQ(0, doe_ctl_wait_class(bdf, 0, WAIT_MS))
			TH_LOG("round %d: %s: %d class devices left", round,
			       bdf, doe_ctl_class_count(bdf));
		for (k = 0; k < n; k++)
			expect_gone(_metadata, &mbs[k]);
		expect_dead(_metadata, fd, "a file of a deleted mailbox");
		EXPECT_EQ(0, close(fd));
		total += n;
	}
	TH_LOG("%d rounds: %d class devices created and removed", CHURN,
	       total);
}

int main(int argc, char **argv)
{
	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("needs root\n");
	}
	if (access(DOE_CTL_CLASS_DIR, F_OK)) {
		ksft_print_header();
		ksft_exit_skip("no " DOE_CTL_CLASS_DIR ": kernel without DOE mailbox devices\n");
	}
	return test_harness_run(argc, argv);
}
