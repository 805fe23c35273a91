// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-mediated DOE exchanges through the mailboxes' char devices.
 *
 * write() on /dev/pci_doe/<name> takes one whole request data object (two
 * header dwords, vendor | type << 16 and the Length in dwords, then the
 * payload, little-endian), checks it, and queues it with the kernel's own
 * exchanges on the mailbox; read() returns the response object of the
 * file's oldest request, or the errno of its exchange once.  poll() and
 * O_NONBLOCK give the asynchronous form (include/uapi/linux/pci-doe.h,
 * Documentation/userspace-api/pci-doe.rst).  The tests run on every
 * mailbox of class pci_doe and, where the DOE simulator is built in
 * (lib/pci_doe_sim.c), on the two mailboxes of a simulated function
 * created for each test, whose counters show what reached the device and
 * whose knobs make it slow or faulty.  The kernel side is played by the
 * test_pci_doe module (lib/test_pci_doe.c, debugfs).
 *
 *  discovery_matches       a mediated Discovery of every index gives the
 *                          protocols file, on every mailbox
 *  cdat_matches            a mediated CDAT read gives the CXL driver's
 *                          CDAT (else a raw read of the taken mailbox)
 *  malformed               requests refused at write() with their errno,
 *                          nothing reaching the device or the counters
 *  pipelining_and_poll     four requests per file, eight per mailbox,
 *                          FIFO answers, EMSGSIZE, poll and epoll
 *  max_response            PCI_DOE_IOC_MAX_RESPONSE: bounds, E2BIG
 *  kernel_and_user_streams a kernel stream and a userspace stream on one
 *                          mailbox at once: no mismatch, exact counts
 *  flood_kernel_latency    kernel exchanges while userspace floods the
 *                          mailbox all succeed; latencies printed
 *                          ("# latency: ..." lines)
 *  reserved_protocols      a protocol a kernel claim reserves: EBUSY
 *  policy_refused          pci_doe.user_protocols=: refused is EPERM; TAKE
 *                          under pci_doe.policy=locked
 *  faults_seen             device faults seen at read() as EIO, ETIMEDOUT
 *                          or EBUSY, then the mailbox works
 *  taken_refuses           no mediated exchange on a taken mailbox
 *  removal                 requests queued and in flight when the function
 *                          goes: ENODEV, POLLERR | POLLHUP
 *  close_cancels           close() and SIGKILL cancel what is queued and
 *                          leave the mailbox usable
 *
 * Needs root and a kernel with the mailboxes' char devices and their
 * exchanges; tests skip (with the reason) without the test module or the
 * simulator when they need them.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/types.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

#define PCI_DEVICES		"/sys/bus/pci/devices"
#define USER_PROTS_PARAM	"/sys/module/pci_doe/parameters/user_protocols"
#define LOCKDOWN_FILE		"/sys/kernel/security/lockdown"
#define MAX_MBS			DOE_CTL_MAX_MBS
/* Mailboxes of the simulated function each test adds */
#define SIM_MBS			2

/* The char device's limits (Documentation/userspace-api/pci-doe.rst) */
#define FD_MAX_PENDING		4	/* requests of a file not yet read */
#define MB_MAX_USER		8	/* userspace requests of a mailbox */
/* Largest data object: 2^18 dwords (PCIe r6.2 sec 6.30.1) */
#define MAX_OBJECT		(DOE_USER_MAX_DW * 4)

/* A protocol as Discovery shows it: vendor | type << 16 */
#define PROT(v, t)		((__u32)(v) | (__u32)(t) << 16)
#define PROT_DISCOVERY		PROT(DOE_USER_VID_PCISIG, DOE_USER_TYPE_DISCOVERY)
#define PROT_CDAT		PROT(DOE_USER_VID_CXL, DOE_USER_TYPE_CDAT)
/* Test protocols of the simulator; 7e57:03 and up are not answered */
#define SIM_VID			0x7e57
/* Discovery request and response: three dwords each */
#define DISC_BYTES		12
/* A CDAT entry is at most 64 KiB, after three dwords of response */
#define CDAT_RSP_MAX		(12 + 65536)
#define CDAT_LAST		0xffff

/* Bounded waits for what happens asynchronously: not timing assertions */
#define WAIT_MS			5000
/* A slow simulated device: requests pile up behind its exchange */
#define SLOW_US			"400000"
#define SLOWER_US		"500000"

#define STREAM_KERNEL		200
#define STREAM_USER		200
#define LAT_KERNEL		40
#define LAT_SAMPLES		20
#define FLOOD_FDS		(MB_MAX_USER / FD_MAX_PENDING)
#define MAX_DETAILS		5

/* The lines the closing note is built from: "# latency: ..." */
#define LAT_LOG(fmt, ...) do {						\
	ksft_print_msg("latency: " fmt "\n", ##__VA_ARGS__);		\
	fflush(stdout);							\
} while (0)

/* What user_protocols says of a protocol */
enum { P_ALLOWED, P_REFUSED, P_RESERVED, P_NR };

static const char * const state_names[P_NR] = {
	[P_ALLOWED] = "allowed",
	[P_REFUSED] = "refused",
	[P_RESERVED] = "reserved",
};

/* "default" of pci_doe.user_protocols=, and what lockdown leaves */
static const __u32 default_prots[] = {
	PROT(0x0001, 0x00), PROT(0x0001, 0x01), PROT(0x0001, 0x02),
	PROT(0x1e98, 0x02),
};

static const __u32 read_only_prots[] = {
	PROT(0x0001, 0x00), PROT(0x1e98, 0x02),
};

/* A mailbox under test: its class device and what its requests need */
struct xmb {
	struct doe_ctl_mb c;
	unsigned int dver;		/* Discovery Version of requests */
	int nr;				/* its protocols, from "protocols" */
	__u32 prots[DOE_USER_MAX_PROTOCOLS];
};

/* pci_doe.user_protocols= as its parameter shows it */
struct user_policy {
	char text[256];
	int all;
	int dflt;
	int nr;
	__u32 prots[32];
};

/* What every test works on */
struct xchg {
	struct xmb mbs[MAX_MBS];
	int n;
	int sim_id;			/* the simulated function, or -1 */
	char sim_bdf[32];
	int sim[SIM_MBS];		/* its mailboxes: indices in mbs */
	int nr_sim;
	char policy[32];		/* pci_doe.policy */
	struct user_policy up;
	int lockdown;			/* LOCKDOWN_PCI_ACCESS in force */
	int tpd;			/* the test module is there */
	int disc_allowed;		/* userspace may use Discovery */
};

FIXTURE(xchg) {
	struct xchg x;
};

/* ---- small helpers ---- */

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Wait until @path exists (@present) or not; 0 or -ETIMEDOUT */
static int wait_path(const char *path, int present)
{
	long long end = doe_ctl_now_ms() + WAIT_MS;

	while (!exists(path) != !present) {
		if (doe_ctl_now_ms() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

/* "vvvv:tt" of @id, for messages and options */
static const char *prot_name(__u32 id)
{
	static char buf[4][16];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%04x:%02x", id & 0xffff,
		 (id >> 16) & 0xff);
	return buf[i];
}

static const char *err_name(long ret)
{
	static char buf[2][64];
	static int i;

	i ^= 1;
	if (ret >= 0)
		snprintf(buf[i], sizeof(buf[i]), "%ld bytes", ret);
	else
		snprintf(buf[i], sizeof(buf[i]), "%s", strerror(-ret));
	return buf[i];
}

/* The first dwords of a response, for messages */
static const char *rsp_str(const __u32 *rsp, ssize_t n)
{
	static char buf[2][96];
	static int i;
	size_t pos = 0;
	ssize_t k;

	i ^= 1;
	buf[i][0] = '\0';
	if (n < 0)
		return err_name(n);
	for (k = 0; k < n / 4 && k < 6; k++)
		pos += snprintf(buf[i] + pos, sizeof(buf[i]) - pos, "%s%08x",
				k ? " " : "", le32toh(rsp[k]));
	return buf[i];
}

static int in_list(const __u32 *list, int n, __u32 id)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i] == id)
			return 1;
	return 0;
}

static ssize_t xwrite(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t xread(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

/* Wait (bounded) for POLLIN on @fd, then read: bytes or -errno */
static ssize_t read_wait(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, WAIT_MS);

	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIME;
	return xread(fd, buf, len);
}

/* PCI_DOE_IOC_MAX_RESPONSE of @fd: 0 or -errno */
static int set_max_response(int fd, __u32 bytes)
{
	__u32 val = bytes;

	return doe_ctl_ioctl(fd, PCI_DOE_IOC_MAX_RESPONSE, (unsigned long)&val);
}

static long stat_of(const struct xmb *m, const char *name)
{
	return doe_ctl_mb_counter(&m->c, name);
}

/* Wait (bounded) until statistics/@name of @m reaches @min */
static int stat_wait(const struct xmb *m, const char *name, long min)
{
	long long end = doe_ctl_now_ms() + WAIT_MS;

	while (stat_of(m, name) < min) {
		if (doe_ctl_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* ---- the simulator ---- */

static int is_sim(const struct xmb *m)
{
	return m->c.sim_id >= 0;
}

static long sim_count(const struct xmb *m, const char *key)
{
	return doe_ctl_sim_counter(&m->c, key);
}

static int sim_set(const struct xmb *m, const char *knob, const char *val)
{
	return doe_ctl_sim_knob(&m->c, knob, val);
}

/* How often the fault @knob of @m fired since it was written */
static long sim_fired(const struct xmb *m, const char *knob)
{
	char path[192], buf[256], *p;

	snprintf(path, sizeof(path), DOE_CTL_SIM_DIR "/f%d/mb%d/%s",
		 m->c.sim_id, m->c.sim_index, knob);
	if (doe_ctl_read_file(path, buf, sizeof(buf)) < 0)
		return -EIO;
	/* "once arg 0 seen 1 fired 1" */
	p = strstr(buf, " fired ");
	return p ? strtol(p + 7, NULL, 10) : -EINVAL;
}

/* Wait (bounded) until the simulator's counter @key of @m is @min */
static int sim_wait(const struct xmb *m, const char *key, long min)
{
	long long end = doe_ctl_now_ms() + WAIT_MS;

	while (sim_count(m, key) < min) {
		if (doe_ctl_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* ---- requests ---- */

/* The index the @i-th request of a rotation asks for */
static unsigned int disc_index(const struct xmb *m, unsigned int i)
{
	return m->nr ? i % m->nr : i;
}

static void disc_req(__u32 *req, const struct xmb *m, unsigned int index)
{
	req[0] = htole32(PROT_DISCOVERY);
	req[1] = htole32(3);
	req[2] = htole32((index & 0xff) | m->dver << 8);
}

/* Queue a Discovery request for index @index % protocols: 0 or -errno */
static int disc_write(int fd, const struct xmb *m, unsigned int index)
{
	__u32 req[3];
	ssize_t n;

	disc_req(req, m, disc_index(m, index));
	n = xwrite(fd, req, sizeof(req));
	if (n < 0)
		return n;
	return n == sizeof(req) ? 0 : -EIO;
}

/* Is @rsp (@n bytes) the Discovery response of index @index % protocols? */
static int disc_match(const struct xmb *m, unsigned int index,
		      const __u32 *rsp, ssize_t n)
{
	return m->nr && n == DISC_BYTES && le32toh(rsp[0]) == PROT_DISCOVERY &&
	       le32toh(rsp[1]) == 3 &&
	       (le32toh(rsp[2]) & 0xffffff) == m->prots[disc_index(m, index)];
}

/* One mediated Discovery on @fd: 0, -errno, or -EBADMSG (wrong answer) */
static int disc_xchg(int fd, const struct xmb *m, unsigned int index)
{
	__u32 rsp[16];
	ssize_t n;
	int ret;

	ret = disc_write(fd, m, index);
	if (ret)
		return ret;
	n = xread(fd, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	return disc_match(m, index, rsp, n) ? 0 : -EBADMSG;
}

/* Queue a CXL Table Access read of CDAT entry @handle: 0 or -errno */
static int cdat_write(int fd, unsigned int handle)
{
	__u32 req[3] = {
		htole32(PROT_CDAT), htole32(3), htole32(handle << 16),
	};
	ssize_t n = xwrite(fd, req, sizeof(req));

	if (n < 0)
		return n;
	return n == sizeof(req) ? 0 : -EIO;
}

/*
 * The whole CDAT through the char device, entry by entry from handle 0 as
 * doe_user_read_cdat() reads it raw: *@table malloc()ed, *@len bytes, in
 * *@entries exchanges
 */
static int mediated_cdat(int fd, __u8 **table, size_t *len, int *entries)
{
	unsigned int handle = 0;
	__u8 *buf = NULL, *nb;
	size_t size = 0, entry;
	__u32 *rsp;
	ssize_t n;
	int ret;

	*entries = 0;
	ret = set_max_response(fd, CDAT_RSP_MAX);
	if (ret)
		return ret;
	rsp = malloc(CDAT_RSP_MAX);
	if (!rsp)
		return -ENOMEM;
	do {
		if (++*entries > 0x10000) {
			ret = -ELOOP;
			break;
		}
		ret = cdat_write(fd, handle);
		if (ret)
			break;
		n = xread(fd, rsp, CDAT_RSP_MAX);
		if (n < 0) {
			ret = n;
			break;
		}
		if (n < 12 || le32toh(rsp[0]) != PROT_CDAT ||
		    le32toh(rsp[1]) != (__u32)n / 4 || (!handle && n < 12 + 16)) {
			ret = -EBADMSG;
			break;
		}
		entry = n - 12;
		nb = realloc(buf, size + entry + 1);
		if (!nb) {
			ret = -ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf + size, &rsp[3], entry);
		size += entry;
		handle = le32toh(rsp[2]) >> 16;
	} while (handle != CDAT_LAST);
	free(rsp);
	if (ret) {
		free(buf);
		return ret;
	}
	*table = buf;
	*len = size;
	return 0;
}

/* ---- what the kernel says about protocols ---- */

static int user_policy_read(struct user_policy *up)
{
	char buf[256], *tok, *save = NULL;
	unsigned int v, t;
	int ret;

	memset(up, 0, sizeof(*up));
	ret = doe_ctl_read_file(USER_PROTS_PARAM, up->text, sizeof(up->text));
	if (ret < 0)
		return ret;
	snprintf(buf, sizeof(buf), "%s", up->text);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " \t");
		if (!strncmp(tok, "all", 3))
			up->all = 1;
		else if (!strncmp(tok, "default", 7))
			up->dflt = 1;
		else if (!*tok || !strncmp(tok, "none", 4))
			continue;
		else if (sscanf(tok, "%4x:%2x", &v, &t) == 2 &&
			 up->nr < (int)ARRAY_SIZE(up->prots))
			up->prots[up->nr++] = PROT(v, t);
		else
			return -EINVAL;
	}
	return 0;
}

/* /sys/kernel/security/lockdown: "[none] integrity confidentiality" */
static int locked_down(void)
{
	char buf[128];

	if (doe_ctl_read_file(LOCKDOWN_FILE, buf, sizeof(buf)) <= 0)
		return 0;
	return !strstr(buf, "[none]");
}

/* What user_protocols must say of @id while no claim reserves it */
static int policy_state(const struct xchg *self, __u32 id)
{
	const struct user_policy *up = &self->up;
	int ok;

	ok = up->all || in_list(up->prots, up->nr, id) ||
	     (up->dflt && in_list(default_prots, ARRAY_SIZE(default_prots), id));
	if (self->lockdown &&
	    !in_list(read_only_prots, ARRAY_SIZE(read_only_prots), id))
		ok = 0;
	return ok ? P_ALLOWED : P_REFUSED;
}

/* What the user_protocols file of @m says of @id: P_*, or -errno */
static int prot_state(const struct xmb *m, __u32 id)
{
	char buf[4096], word[16], *line, *save = NULL;
	unsigned int v, t;
	int i, ret;

	ret = doe_ctl_mb_read(&m->c, "user_protocols", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%4x:%2x %15s", &v, &t, word) != 3 ||
		    PROT(v, t) != id)
			continue;
		for (i = 0; i < P_NR; i++)
			if (!strcmp(word, state_names[i]))
				return i;
		return -EINVAL;
	}
	return -ENOENT;
}

static const char *state_name(int state)
{
	return state >= 0 && state < P_NR ? state_names[state] :
	       err_name(state);
}

/* The PCI_DOE_PROT_* flags PCI_DOE_IOC_INFO gives @id on @fd, or -errno */
static int info_flags(int fd, __u32 id)
{
	static __u32 buf[(DOE_CTL_INFO_MIN + 4 * DOE_USER_MAX_PROTOCOLS) / 4];
	struct pci_doe_info *info = (struct pci_doe_info *)buf;
	__u32 i;
	int ret;

	ret = doe_ctl_info(fd, info, sizeof(buf));
	if (ret)
		return ret;
	for (i = 0; i < info->nr_protocols && i < DOE_USER_MAX_PROTOCOLS; i++)
		if (PROT(info->protocols[i].vendor,
			 info->protocols[i].type) == id)
			return info->protocols[i].flags;
	return -ENOENT;
}

/* PCI_DOE_INFO_* flags of the mailbox of @fd, or -errno */
static long info_mb_flags(int fd)
{
	static __u32 buf[DOE_CTL_INFO_MIN / 4];
	struct pci_doe_info *info = (struct pci_doe_info *)buf;
	int ret = doe_ctl_info(fd, info, sizeof(buf));

	return ret ? ret : (long)info->flags;
}

/* Does @m carry a protocol that userspace may not use on this boot? */
static int carries_refused(const struct xchg *self,
			   const struct xmb *m)
{
	int i;

	for (i = 0; i < m->nr; i++)
		if (policy_state(self, m->prots[i]) == P_REFUSED)
			return 1;
	return 0;
}

/* A protocol @m does not carry (and, with @allowed, the policy allows) */
static __u32 uncarried(const struct xchg *self, const struct xmb *m,
		       int allowed)
{
	__u32 cand[ARRAY_SIZE(default_prots) + 32 + 1];
	int n = 0, i;

	for (i = 0; i < (int)ARRAY_SIZE(default_prots); i++)
		cand[n++] = default_prots[i];
	for (i = 0; i < self->up.nr; i++)
		cand[n++] = self->up.prots[i];
	cand[n++] = PROT(SIM_VID, 0x7f);
	for (i = 0; i < n; i++)
		if (!in_list(m->prots, m->nr, cand[i]) &&
		    (!allowed || policy_state(self, cand[i]) == P_ALLOWED))
			return cand[i];
	return 0;
}

/* ---- the mailboxes ---- */

static void xmb_init(struct xmb *m, const struct doe_ctl_mb *c)
{
	const char *p;
	unsigned int v, t;
	char ver[16];
	int used;

	memset(m, 0, sizeof(*m));
	m->c = *c;
	if (doe_ctl_mb_read(c, "version", ver, sizeof(ver)) > 0)
		m->dver = atoi(ver) >= 2 ? 2 : 0;
	for (p = c->protocols; m->nr < DOE_USER_MAX_PROTOCOLS &&
	     sscanf(p, " %4x:%2x%n", &v, &t, &used) == 2; p += used)
		m->prots[m->nr++] = PROT(v, t);
}

static int load_mailboxes(struct xchg *self)
{
	static struct doe_ctl_mb c[MAX_MBS];
	char node[128];
	int i, ret;

	self->n = doe_ctl_mailboxes(c, MAX_MBS);
	self->nr_sim = 0;
	for (i = 0; i < self->n; i++) {
		xmb_init(&self->mbs[i], &c[i]);
		if (self->sim_id < 0 || c[i].sim_id != self->sim_id)
			continue;
		if (self->nr_sim < SIM_MBS)
			self->sim[self->nr_sim] = i;
		self->nr_sim++;
		/* devtmpfs makes the node as the device is added */
		doe_ctl_cdev_path(&c[i], node, sizeof(node));
		ret = wait_path(node, 1);
		if (ret)
			return ret;
	}
	return 0;
}

/* A simulated mailbox if there is one, else the first mailbox */
static const struct xmb *pick(const struct xchg *self)
{
	return &self->mbs[self->nr_sim ? self->sim[0] : 0];
}

/* The first mailbox that is not simulated, or NULL */
static const struct xmb *pick_device(const struct xchg *self)
{
	int i;

	for (i = 0; i < self->n; i++)
		if (!is_sim(&self->mbs[i]))
			return &self->mbs[i];
	return NULL;
}

/* Remove the simulated function through sysfs and wait until it is gone */
static int sim_remove(struct xchg *self)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/remove", self->sim_bdf);
	ret = doe_user_write_file(path, "1");
	if (ret)
		return ret;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", self->sim_bdf);
	ret = wait_path(path, 0);
	return ret ? ret : doe_ctl_wait_class(self->sim_bdf, 0, WAIT_MS);
}

/* The simulator's rescan brings it back; the mailboxes are read again */
static int sim_rescan(struct xchg *self)
{
	char path[128];
	int ret;

	ret = doe_user_write_file(DOE_CTL_SIM_DIR "/rescan", "1");
	if (ret)
		return ret;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", self->sim_bdf);
	ret = wait_path(path, 1);
	if (!ret)
		ret = doe_ctl_wait_class(self->sim_bdf, SIM_MBS, WAIT_MS);
	return ret ? ret : load_mailboxes(self);
}

FIXTURE_SETUP(xchg)
{
	struct xchg *x = &self->x;
	int i;

	x->sim_id = -1;
	x->tpd = doe_ctl_tpd_present();
	if (x->tpd)
		ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	ASSERT_EQ(0, doe_ctl_policy(x->policy, sizeof(x->policy)));
	ASSERT_EQ(0, user_policy_read(&x->up))
		TH_LOG(USER_PROTS_PARAM ": \"%s\"", x->up.text);
	x->lockdown = locked_down();
	x->disc_allowed = policy_state(x, PROT_DISCOVERY) == P_ALLOWED;
	if (doe_ctl_sim_present()) {
		ASSERT_EQ(0, doe_ctl_sim_add(SIM_MBS, &x->sim_id,
					     x->sim_bdf,
					     sizeof(x->sim_bdf)));
		ASSERT_EQ(0, doe_ctl_wait_class(x->sim_bdf, SIM_MBS, WAIT_MS))
			TH_LOG("%s: %d of %d class devices", x->sim_bdf,
			       doe_ctl_class_count(x->sim_bdf), SIM_MBS);
	}
	ASSERT_EQ(0, load_mailboxes(x));
	if (!x->n)
		SKIP(return, "no DOE mailbox: no CXL device, no simulator (CONFIG_PCI_DOE_SIM)");
	if (x->sim_id >= 0)
		ASSERT_EQ(SIM_MBS, x->nr_sim);
	for (i = 0; i < x->n; i++)
		ASSERT_EQ(0, doe_ctl_mb_claims(&x->mbs[i].c))
			TH_LOG("%s is claimed by another kernel user",
			       x->mbs[i].c.name);
}

FIXTURE_TEARDOWN(xchg)
{
	struct xchg *x = &self->x;

	if (x->tpd)
		doe_ctl_tpd_write("reset", "1");
	if (x->sim_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(x->sim_id));
}

#define NO_DISCOVERY	"pci_doe.user_protocols=%s refuses DOE Discovery to userspace"
#define NO_SIM		"no " DOE_CTL_SIM_DIR " (CONFIG_PCI_DOE_SIM)"
#define NO_TPD		"no %s (CONFIG_TEST_PCI_DOE): the kernel's exchanges come from it"

/* ---- 1. Discovery ---- */

static void discovery_one(struct __test_metadata *_metadata,
			  const struct xmb *m)
{
	unsigned char seen[DOE_USER_MAX_PROTOCOLS] = { 0 };
	char got[DOE_USER_MAX_PROTOCOLS * 8 + 16];
	unsigned int index = 0;
	__u32 rsp[16], dw;
	long ue0, ex0;
	size_t pos = 0;
	int fd, n = 0;
	ssize_t r;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	ue0 = stat_of(m, "user_exchanges");
	ex0 = stat_of(m, "exchanges");
	ASSERT_LE(0, ue0) TH_LOG("%s/statistics/user_exchanges: %s", m->c.dir,
				 err_name(ue0));
	got[0] = '\0';
	do {
		EXPECT_FALSE(seen[index])
			TH_LOG("%s: Next Index %u again", m->c.name, index);
		if (seen[index])
			break;
		seen[index] = 1;
		ASSERT_EQ(0, disc_write(fd, m, index));
		r = xread(fd, rsp, sizeof(rsp));
		ASSERT_EQ(DISC_BYTES, r)
			TH_LOG("%s: Discovery of index %u: %s", m->c.name,
			       index, err_name(r));
		EXPECT_EQ(PROT_DISCOVERY, le32toh(rsp[0]));
		EXPECT_EQ(3, le32toh(rsp[1]));
		dw = le32toh(rsp[2]);
		pos += snprintf(got + pos, sizeof(got) - pos, "%s%s",
				n ? " " : "", prot_name(dw & 0xffffff));
		n++;
		index = dw >> 24;
	} while (index);
	EXPECT_STREQ(m->c.protocols, got)
		TH_LOG("%s: protocols \"%s\", mediated Discovery \"%s\"",
		       m->c.name, m->c.protocols, got);
	EXPECT_EQ(m->nr, n);
	EXPECT_EQ(ue0 + n, stat_of(m, "user_exchanges"));
	EXPECT_EQ(ex0 + n, stat_of(m, "exchanges"));
	/* Nothing left to read */
	EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp)));
	TH_LOG("%s%s: %d protocols through the char device: %s", m->c.name,
	       is_sim(m) ? " (simulated)" : "", n, got);
	close(fd);
}

TEST_F(xchg, discovery_matches)
{
	struct xchg *x = &self->x;
	int i;

	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	for (i = 0; i < x->n; i++)
		discovery_one(_metadata, &x->mbs[i]);
}

/* ---- 2. CDAT ---- */

static void cdat_one(struct __test_metadata *_metadata,
		     const struct xchg *self, const struct xmb *m)
{
	__u8 *got = NULL, *want = NULL;
	size_t len = 0, wlen = 0, j;
	char path[PATH_MAX], source[PATH_MAX + 32];
	int fd, ret, entries;
	long ue0, ex0;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	ue0 = stat_of(m, "user_exchanges");
	ex0 = stat_of(m, "exchanges");
	ret = mediated_cdat(fd, &got, &len, &entries);
	close(fd);
	ASSERT_EQ(0, ret) TH_LOG("%s: mediated CDAT read, exchange %d: %s",
				 m->c.name, entries, err_name(ret));
	EXPECT_EQ(ue0 + entries, stat_of(m, "user_exchanges"));
	EXPECT_EQ(ex0 + entries, stat_of(m, "exchanges"));

	if (!is_sim(m) &&
	    !doe_ctl_kernel_cdat(m->c.bdf, &want, &wlen, path, sizeof(path))) {
		snprintf(source, sizeof(source), "the CXL driver's (%s)", path);
	} else {
		ret = doe_user_read_cdat_at(m->c.bdf, m->c.cap, &want, &wlen);
		if (ret == -EPERM && !strcmp(self->policy, "locked") &&
		    carries_refused(self, m)) {
			TH_LOG("%s: not compared: a refused protocol, no TAKE when locked",
			       m->c.name);
			free(got);
			return;
		}
		ASSERT_EQ(0, ret) TH_LOG("%s: raw CDAT read of the taken mailbox: %s",
					 m->c.name, err_name(ret));
		snprintf(source, sizeof(source), "%s",
			 is_sim(m) ? "a raw read of the taken mailbox" :
			 "a raw read of the taken mailbox (the CXL driver has no CDAT of it)");
	}
	EXPECT_EQ(wlen, len) TH_LOG("%s: %zu bytes of CDAT mediated, %zu in %s",
				    m->c.name, len, wlen, source);
	for (j = 0; j < len && j < wlen && got[j] == want[j]; j++)
		;
	EXPECT_EQ(len, j) TH_LOG("%s: mediated CDAT and %s differ at byte %zu",
				 m->c.name, source, j);
	TH_LOG("%s: %zu bytes of CDAT in %d mediated exchanges, as %s",
	       m->c.name, len, entries, source);
	free(got);
	free(want);
}

TEST_F(xchg, cdat_matches)
{
	struct xchg *x = &self->x;
	int i, tested = 0;

	if (policy_state(x, PROT_CDAT) == P_REFUSED)
		SKIP(return, "CDAT refused to userspace (pci_doe.user_protocols=%s%s)",
		     x->up.text, x->lockdown ? ", lockdown" : "");
	for (i = 0; i < x->n; i++) {
		if (!x->mbs[i].c.has_cdat)
			continue;
		cdat_one(_metadata, x, &x->mbs[i]);
		tested++;
	}
	if (!tested)
		SKIP(return, "no mailbox carries CXL Table Access (1e98:02)");
}

/* ---- 3. malformed requests ---- */

struct bad_req {
	const char *what;
	size_t len;		/* bytes written */
	__u32 length;		/* header dword 1 */
	int lacking;		/* header dword 0: a protocol not carried */
	int err;
};

static const struct bad_req bad_reqs[] = {
	{ "a 4-byte write", 4, 3, 0, EINVAL },
	{ "a 10-byte write", 10, 3, 0, EINVAL },
	{ "Length 2 for 3 dwords", 12, 2, 0, EINVAL },
	{ "Length 4 for 3 dwords", 12, 4, 0, EINVAL },
	{ "Length 0 (2^18 dwords) for 3 dwords", 12, 0, 0, EINVAL },
	{ "Length 1 for 2 dwords", 8, 1, 0, EINVAL },
	{ "a protocol the mailbox does not carry", 12, 3, 1, EINVAL },
	{ "2^20 + 4 bytes", MAX_OBJECT + 4, 0, 0, E2BIG },
	{ "2^20 + 4 bytes, Length 1", MAX_OBJECT + 4, 1, 0, E2BIG },
};

/*
 * @len bytes at @buf refused with @err at write(): nothing queued, nothing
 * on the device, no exchange counted; then a Discovery works
 */
static void refused_write(struct __test_metadata *_metadata,
			  const struct xmb *m, int fd, const void *buf,
			  size_t len, int err, const char *what)
{
	struct doe_ctl_witness w;
	__u32 rsp[16];
	long ex0, ue0;
	ssize_t n;
	int ret;

	ex0 = stat_of(m, "exchanges");
	ue0 = stat_of(m, "user_exchanges");
	doe_ctl_witness_start(&w, &m->c);
	n = xwrite(fd, buf, len);
	EXPECT_EQ(-err, n) TH_LOG("%s: %s: %s, not %s", m->c.name, what,
				  n < 0 ? strerror(-n) : "accepted",
				  strerror(err));
	EXPECT_DEVICE(&w, "%s", what);
	EXPECT_EQ(ex0, stat_of(m, "exchanges"));
	EXPECT_EQ(ue0, stat_of(m, "user_exchanges"));
	n = xread(fd, rsp, sizeof(rsp));
	EXPECT_EQ(0, n) TH_LOG("%s: read after %s: %s", m->c.name, what,
			       err_name(n));
	ret = disc_xchg(fd, m, 0);
	EXPECT_EQ(0, ret) TH_LOG("%s: Discovery after %s: %s", m->c.name,
				 what, err_name(ret));
	EXPECT_EQ(ex0 + 1, stat_of(m, "exchanges"));
	EXPECT_EQ(ue0 + 1, stat_of(m, "user_exchanges"));
}

static void malformed_one(struct __test_metadata *_metadata,
			  const struct xchg *self, const struct xmb *m,
			  __u32 *buf, __u8 *pages)
{
	long page = sysconf(_SC_PAGESIZE);
	__u32 lacking = uncarried(self, m, 1), rsp[16];
	const struct bad_req *b;
	unsigned int i;
	char what[128];
	__u32 *hdr;
	int fd;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	for (i = 0; i < ARRAY_SIZE(bad_reqs); i++) {
		b = &bad_reqs[i];
		if (b->lacking && !lacking) {
			TH_LOG("%s: it carries every protocol allowed: case skipped",
			       m->c.name);
			continue;
		}
		buf[0] = htole32(b->lacking ? lacking : PROT_DISCOVERY);
		buf[1] = htole32(b->length);
		buf[2] = htole32(m->dver << 8);
		snprintf(what, sizeof(what), "%s%s%s", b->what,
			 b->lacking ? " " : "",
			 b->lacking ? prot_name(lacking) : "");
		refused_write(_metadata, m, fd, buf, b->len, b->err, what);
	}

	/* The header unreadable, then only the payload */
	refused_write(_metadata, m, fd, pages + page, DISC_BYTES, EFAULT,
		      "a request in an unmapped page");
	hdr = (__u32 *)(pages + page - 8);
	hdr[0] = htole32(PROT_DISCOVERY);
	hdr[1] = htole32(3);
	refused_write(_metadata, m, fd, hdr, DISC_BYTES, EFAULT,
		      "a request whose payload is in an unmapped page");

	/* The refused requests left this file all its room: four in flight */
	for (i = 0; i < FD_MAX_PENDING; i++)
		EXPECT_EQ(0, disc_write(fd, m, i))
			TH_LOG("%s: request %u after the refused ones", m->c.name,
			       i);
	for (i = 0; i < FD_MAX_PENDING; i++) {
		ssize_t n = xread(fd, rsp, sizeof(rsp));

		EXPECT_TRUE(disc_match(m, i, rsp, n))
			TH_LOG("%s: response %u: %s", m->c.name, i,
			       rsp_str(rsp, n));
	}
	close(fd);
}

TEST_F(xchg, malformed)
{
	struct xchg *x = &self->x;
	long page = sysconf(_SC_PAGESIZE);
	__u8 *pages;
	__u32 *buf;
	int i;

	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	buf = calloc(1, MAX_OBJECT + 4);
	ASSERT_NE(NULL, buf);
	/* One readable page, then one that is not */
	pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + page, page, PROT_NONE));
	for (i = 0; i < x->n; i++)
		malformed_one(_metadata, x, &x->mbs[i], buf, pages);
	munmap(pages, 2 * page);
	free(buf);
}

/* ---- 4. pipelining, poll, epoll ---- */

/* The short of poll(): revents of @fd for @events after @ms */
static short poll_one(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) < 0 ? -1 : p.revents;
}

/* Four requests of one file, answered in order */
static void fifo_one(struct __test_metadata *_metadata, const struct xmb *m)
{
	int sim = is_sim(m), fd, i;
	__u32 rsp[16];
	long ue0, ex0;
	short rev;
	ssize_t n;

	if (sim)
		ASSERT_EQ(0, sim_set(m, "latency_us", "100000"));
	fd = doe_ctl_cdev_open(&m->c, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	ue0 = stat_of(m, "user_exchanges");
	ex0 = stat_of(m, "exchanges");
	EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp))) TH_LOG("nothing written yet");

	for (i = 0; i < FD_MAX_PENDING; i++)
		ASSERT_EQ(0, disc_write(fd, m, i)) TH_LOG("request %d", i);
	EXPECT_EQ(-EBUSY, disc_write(fd, m, 0))
		TH_LOG("%s: a fifth request of one file", m->c.name);
	rev = poll_one(fd, POLLIN | POLLOUT, 0);
	EXPECT_LE(0, rev);
	EXPECT_FALSE(rev & POLLOUT) TH_LOG("POLLOUT with four requests unread");
	if (sim) {
		/* A device that answers after 100 ms has not yet */
		EXPECT_FALSE(rev & POLLIN);
		EXPECT_EQ(-EAGAIN, xread(fd, rsp, sizeof(rsp)));
	}

	/* The oldest is answered: POLLIN; too small a buffer keeps it */
	rev = poll_one(fd, POLLIN, WAIT_MS);
	EXPECT_TRUE(rev & POLLIN) TH_LOG("revents %#x", rev);
	EXPECT_EQ(-EMSGSIZE, xread(fd, rsp, 8));
	EXPECT_EQ(-EMSGSIZE, xread(fd, rsp, DISC_BYTES - 4));
	n = xread(fd, rsp, DISC_BYTES);
	EXPECT_TRUE(disc_match(m, 0, rsp, n)) TH_LOG("response 0: %s",
						     rsp_str(rsp, n));

	/* Room for one more */
	rev = poll_one(fd, POLLOUT, 0);
	EXPECT_TRUE(rev & POLLOUT) TH_LOG("revents %#x with three unread",
					  rev);
	ASSERT_EQ(0, disc_write(fd, m, FD_MAX_PENDING));
	for (i = 1; i <= FD_MAX_PENDING; i++) {
		n = read_wait(fd, rsp, sizeof(rsp));
		EXPECT_TRUE(disc_match(m, i, rsp, n))
			TH_LOG("%s: response %d (index %d): %s", m->c.name, i,
			       disc_index(m, i), rsp_str(rsp, n));
	}
	EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp))) TH_LOG("nothing pending");
	EXPECT_EQ(ue0 + FD_MAX_PENDING + 1, stat_of(m, "user_exchanges"));
	EXPECT_EQ(ex0 + FD_MAX_PENDING + 1, stat_of(m, "exchanges"));
	close(fd);
	if (sim)
		EXPECT_EQ(0, sim_set(m, "latency_us", "0"));
}

/* Eight requests of two files fill a (slow) mailbox */
static void mailbox_full(struct __test_metadata *_metadata,
			 const struct xmb *m)
{
	int fds[3], d, i, k;
	long long t0, waited;
	__u32 rsp[16];
	long ex0;
	ssize_t n;

	ASSERT_EQ(0, sim_set(m, "latency_us", "200000"));
	ex0 = stat_of(m, "exchanges");
	for (k = 0; k < 3; k++) {
		fds[k] = doe_ctl_cdev_open(&m->c, O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, fds[k]);
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < FD_MAX_PENDING; i++)
			ASSERT_EQ(0, disc_write(fds[k], m, i))
				TH_LOG("file %d, request %d", k, i);
	/* Eight queued or running: a third file may not add one */
	EXPECT_FALSE(poll_one(fds[2], POLLOUT, 0) & POLLOUT)
		TH_LOG("POLLOUT with eight userspace requests on the mailbox");
	EXPECT_EQ(-EAGAIN, disc_write(fds[2], m, 0));
	/* ... but a blocking write waits for a slot */
	d = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, d);
	t0 = now_us();
	EXPECT_EQ(0, disc_write(d, m, 1));
	waited = now_us() - t0;
	for (k = 0; k < 2; k++)
		for (i = 0; i < FD_MAX_PENDING; i++) {
			n = read_wait(fds[k], rsp, sizeof(rsp));
			EXPECT_TRUE(disc_match(m, i, rsp, n))
				TH_LOG("file %d, response %d: %s", k, i,
				       rsp_str(rsp, n));
		}
	n = xread(d, rsp, sizeof(rsp));
	EXPECT_TRUE(disc_match(m, 1, rsp, n)) TH_LOG("%s", rsp_str(rsp, n));
	EXPECT_EQ(0, xread(fds[2], rsp, sizeof(rsp)));
	EXPECT_EQ(ex0 + 2 * FD_MAX_PENDING + 1, stat_of(m, "exchanges"));
	TH_LOG("%s: mailbox full at %d requests; a blocking write waited %lld ms for a slot",
	       m->c.name, MB_MAX_USER, waited / 1000);
	for (k = 0; k < 3; k++)
		close(fds[k]);
	close(d);
	EXPECT_EQ(0, sim_set(m, "latency_us", "0"));
}

/* One epoll set over several mailboxes with requests in flight on each */
static void epoll_many(struct __test_metadata *_metadata,
		       const struct xchg *self)
{
	const struct xmb *ms[MAX_MBS];
	int fds[MAX_MBS], next[MAX_MBS], nm = 0, ep, left, i, k, n;
	struct epoll_event ev, evs[MAX_MBS];
	__u32 rsp[16];
	ssize_t r;

	for (i = 0; i < self->n; i++)
		if (!self->nr_sim || self->mbs[i].c.sim_id == self->sim_id)
			ms[nm++] = &self->mbs[i];
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	for (k = 0; k < nm; k++) {
		if (is_sim(ms[k]))
			ASSERT_EQ(0, sim_set(ms[k], "latency_us", "20000"));
		fds[k] = doe_ctl_cdev_open(&ms[k]->c, O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, fds[k]);
		for (i = 0; i < FD_MAX_PENDING; i++)
			ASSERT_EQ(0, disc_write(fds[k], ms[k], i));
		next[k] = 0;
		ev.events = EPOLLIN;
		ev.data.u32 = k;
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fds[k], &ev));
	}
	for (left = nm * FD_MAX_PENDING; left > 0;) {
		n = epoll_wait(ep, evs, MAX_MBS, WAIT_MS);
		ASSERT_LT(0, n) TH_LOG("%d responses not there after %d ms",
				       left, WAIT_MS);
		for (i = 0; i < n; i++) {
			k = evs[i].data.u32;
			r = xread(fds[k], rsp, sizeof(rsp));
			EXPECT_TRUE(disc_match(ms[k], next[k], rsp, r))
				TH_LOG("%s: response %d: %s", ms[k]->c.name,
				       next[k], rsp_str(rsp, r));
			left--;
			if (++next[k] == FD_MAX_PENDING)
				EXPECT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL,
						       fds[k], NULL));
		}
	}
	for (k = 0; k < nm; k++) {
		close(fds[k]);
		if (is_sim(ms[k]))
			EXPECT_EQ(0, sim_set(ms[k], "latency_us", "0"));
	}
	close(ep);
	TH_LOG("epoll: %d mailboxes, %d requests in flight on each, all answered",
	       nm, FD_MAX_PENDING);
}

TEST_F_TIMEOUT(xchg, pipelining_and_poll, 60)
{
	struct xchg *x = &self->x;
	const struct xmb *m = pick(x);

	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	fifo_one(_metadata, m);
	if (is_sim(m))
		mailbox_full(_metadata, m);
	else
		TH_LOG("no simulated mailbox: the mailbox limit (%d) is not tested",
		       MB_MAX_USER);
	epoll_many(_metadata, x);
}

/* ---- 5. PCI_DOE_IOC_MAX_RESPONSE ---- */

static void max_response_one(struct __test_metadata *_metadata,
			     const struct xmb *m)
{
	static const __u32 bad[] = { 0, 4, 6, 7, 10, MAX_OBJECT + 4 };
	__u32 rsp[16];
	unsigned int i;
	ssize_t n;
	int fd;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, set_max_response(fd, bad[i]))
			TH_LOG("%s: MAX_RESPONSE %u", m->c.name, bad[i]);
	/* ... and they left the default */
	EXPECT_EQ(0, disc_xchg(fd, m, 0));
	EXPECT_EQ(0, set_max_response(fd, MAX_OBJECT));

	/* 8 bytes: a header only; the 12-byte answer is too long, consumed */
	EXPECT_EQ(0, set_max_response(fd, 8));
	ASSERT_EQ(0, disc_write(fd, m, 0));
	n = xread(fd, rsp, sizeof(rsp));
	EXPECT_EQ(-E2BIG, n) TH_LOG("%s: a 12-byte response with 8 accepted: %s",
				    m->c.name, err_name(n));
	EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp))) TH_LOG("E2BIG not consumed");

	/* Exactly the size fits */
	EXPECT_EQ(0, set_max_response(fd, DISC_BYTES));
	EXPECT_EQ(0, disc_xchg(fd, m, 0));

	/* A request keeps the limit it was written with */
	ASSERT_EQ(0, disc_write(fd, m, 0));
	EXPECT_EQ(0, set_max_response(fd, 8));
	n = xread(fd, rsp, sizeof(rsp));
	EXPECT_TRUE(disc_match(m, 0, rsp, n))
		TH_LOG("%s: written with 12 accepted, read after 8: %s",
		       m->c.name, rsp_str(rsp, n));

	EXPECT_EQ(0, set_max_response(fd, PCI_DOE_DEFAULT_MAX_RESPONSE));
	EXPECT_EQ(0, disc_xchg(fd, m, 0));
	close(fd);
}

TEST_F(xchg, max_response)
{
	struct xchg *x = &self->x;
	int i;

	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	for (i = 0; i < x->n; i++)
		max_response_one(_metadata, &x->mbs[i]);
}

/* ---- 6. kernel and userspace streams at once ---- */

struct stream_stats {
	long streams;
	long exchanges;
	long mismatches;
	long errors;
};

static int stream_stats(struct stream_stats *s)
{
	char buf[256];
	int ret = doe_ctl_tpd_read("stream_stats", buf, sizeof(buf));

	if (ret < 0)
		return ret;
	return sscanf(buf, "streams %ld exchanges %ld mismatches %ld errors %ld",
		      &s->streams, &s->exchanges, &s->mismatches,
		      &s->errors) == 4 ? 0 : -EINVAL;
}

/* A child running @count kernel Discoveries on @m (trigger_stream) */
static pid_t kernel_stream(const struct xmb *m, int count)
{
	char req[16], opts[64];
	pid_t pid;
	int ret;

	doe_ctl_discovery_request(&m->c, req, sizeof(req));
	snprintf(opts, sizeof(opts), "protocol=0001:00 request=%s", req);
	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	ret = doe_ctl_tpd_on(&m->c, "trigger_stream", count, opts);
	_exit(ret < 0 ? -ret : 0);
}

TEST_F_TIMEOUT(xchg, kernel_and_user_streams, 120)
{
	struct xchg *x = &self->x;
	const struct xmb *m = pick(x);
	int fd, sent = 0, done = 0, bad = 0, status;
	struct stream_stats s, s_start = { 0 }, s_end = { 0 };
	long ue0, ex0;
	long long end;
	__u32 rsp[16];
	ssize_t n;
	pid_t pid;

	if (!x->tpd)
		SKIP(return, NO_TPD, doe_ctl_tpd_dir());
	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd);
	ue0 = stat_of(m, "user_exchanges");
	ex0 = stat_of(m, "exchanges");
	pid = kernel_stream(m, STREAM_KERNEL);
	ASSERT_LT(0, pid);

	/* Once the kernel's stream runs, userspace's joins it */
	end = doe_ctl_now_ms() + WAIT_MS;
	while (!stream_stats(&s_start) && !s_start.exchanges &&
	       doe_ctl_now_ms() < end)
		usleep(500);
	while (done < STREAM_USER) {
		while (sent < STREAM_USER && sent - done < FD_MAX_PENDING) {
			ASSERT_EQ(0, disc_write(fd, m, sent))
				TH_LOG("userspace request %d", sent);
			sent++;
		}
		n = xread(fd, rsp, sizeof(rsp));
		if (!disc_match(m, done, rsp, n) && bad++ < MAX_DETAILS)
			TH_LOG("%s: userspace response %d (index %d): %s",
			       m->c.name, done, disc_index(m, done), rsp_str(rsp, n));
		done++;
	}
	stream_stats(&s_end);
	close(fd);

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("kernel stream: %s", WIFEXITED(status) ?
		       strerror(WEXITSTATUS(status)) : "killed");
	ASSERT_EQ(0, stream_stats(&s));
	EXPECT_EQ(1, s.streams);
	EXPECT_EQ(STREAM_KERNEL, s.exchanges);
	EXPECT_EQ(0, s.mismatches);
	EXPECT_EQ(0, s.errors);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(STREAM_USER, done);
	EXPECT_EQ(ue0 + STREAM_USER, stat_of(m, "user_exchanges"));
	EXPECT_EQ(ex0 + STREAM_KERNEL + STREAM_USER, stat_of(m, "exchanges"));
	TH_LOG("%s: %d kernel and %d userspace Discoveries, %d mismatches",
	       m->c.name, STREAM_KERNEL, STREAM_USER, bad);
	TH_LOG("%s: the kernel stream at %ld when userspace started, %ld when it ended",
	       m->c.name, s_start.exchanges, s_end.exchanges);
}

/* ---- 7. kernel latency under a userspace flood ---- */

struct lat {
	int n;
	int errors;
	int first_error;
	long long sum_us;
	long long max_us;
};

static void lat_add(struct lat *l, long long us, int ret)
{
	l->n++;
	l->sum_us += us;
	if (us > l->max_us)
		l->max_us = us;
	if (ret && !l->errors++)
		l->first_error = ret;
}

static long long lat_mean(const struct lat *l)
{
	return l->n ? l->sum_us / l->n : 0;
}

/* @count kernel Discoveries on @m through the test module, each timed */
/*
 * The kernel's exchange, timed around the test module's trigger: a CDAT
 * header read (CXL Table Access, entry handle 0) where the mailbox carries
 * CDAT, else a Discovery
 */
static int kernel_exchange(const struct xmb *m)
{
	if (m->c.has_cdat)
		return doe_ctl_tpd_on(&m->c, "trigger_exchange", 0,
				      "protocol=1e98:02 request=00000000");
	return doe_ctl_kernel_discovery(&m->c);
}

static const char *kernel_exchange_name(const struct xmb *m)
{
	return m->c.has_cdat ? "CDAT read" : "Discovery";
}

static void kernel_latency(const struct xmb *m, int count, struct lat *l)
{
	long long t;
	int i, ret;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < count; i++) {
		t = now_us();
		ret = kernel_exchange(m);
		lat_add(l, now_us() - t, ret);
	}
}

struct flood_result {
	long done;		/* right responses */
	long bad;		/* wrong ones, errors, or never answered */
	long write_errors;
	long long us;
};

/*
 * In a child: keep MB_MAX_USER Discoveries in flight on @m through
 * FLOOD_FDS files until @stop_fd is closed, then report to @res_fd
 */
static __noreturn void flood(const struct xmb *m, int stop_fd, int res_fd)
{
	int sent[FLOOD_FDS] = { 0 }, got[FLOOD_FDS] = { 0 };
	struct pollfd p[FLOOD_FDS + 1];
	struct flood_result r = { 0 };
	int k, i, stopping = 0, outstanding = 0;
	long long t0 = now_us();
	__u32 rsp[16];
	ssize_t n;

	for (k = 0; k < FLOOD_FDS; k++) {
		p[k].fd = doe_ctl_cdev_open(&m->c, O_RDWR | O_NONBLOCK);
		p[k].events = POLLIN;
		if (p[k].fd < 0)
			_exit(1);
		for (i = 0; i < FD_MAX_PENDING; i++, outstanding++)
			if (disc_write(p[k].fd, m, sent[k]++))
				_exit(2);
	}
	p[FLOOD_FDS].fd = stop_fd;
	p[FLOOD_FDS].events = POLLIN;
	while (outstanding) {
		/* Once stopping, the closed pipe would always be ready */
		if (poll(p, FLOOD_FDS + !stopping, WAIT_MS) <= 0)
			break;
		if (!stopping && p[FLOOD_FDS].revents)
			stopping = 1;
		for (k = 0; k < FLOOD_FDS; k++) {
			if (!(p[k].revents & POLLIN))
				continue;
			n = xread(p[k].fd, rsp, sizeof(rsp));
			if (n == -EAGAIN)
				continue;
			outstanding--;
			if (disc_match(m, got[k]++, rsp, n))
				r.done++;
			else
				r.bad++;
			if (stopping)
				continue;
			if (disc_write(p[k].fd, m, sent[k]++))
				r.write_errors++;
			else
				outstanding++;
		}
	}
	r.bad += outstanding;
	r.us = now_us() - t0;
	if (write(res_fd, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

/* Mean latency of a mediated, a kernel and a raw userspace Discovery */
static void latency_note(struct __test_metadata *_metadata,
			 const struct xmb *m)
{
	struct lat med = { 0 }, ker, raw = { 0 };
	__u32 req[3], rsp[8];
	struct doe_user_mb umb;
	int fd, cfg, i, ret;
	const char *kind;
	size_t rsp_dw;
	long long t;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < LAT_SAMPLES; i++) {
		t = now_us();
		ret = disc_xchg(fd, m, 0);
		lat_add(&med, now_us() - t, ret);
	}
	close(fd);
	EXPECT_EQ(0, med.errors) TH_LOG("%s: mediated Discovery: %s",
					m->c.name, err_name(med.first_error));
	kernel_latency(m, LAT_SAMPLES, &ker);
	EXPECT_EQ(0, ker.errors) TH_LOG("%s: kernel Discovery: %s", m->c.name,
					err_name(ker.first_error));

	cfg = doe_user_open(m->c.bdf, 1);
	ASSERT_LE(0, cfg);
	ret = doe_user_mb_init(&umb, cfg, m->c.bdf, m->c.cap);
	if (!ret)
		ret = doe_user_take(&umb);
	if (ret) {
		TH_LOG("%s: not taken (%s): no raw userspace figure",
		       m->c.name, strerror(-ret));
	} else {
		req[0] = PROT_DISCOVERY;
		req[1] = 3;
		req[2] = m->dver << 8;
		for (i = 0; i < LAT_SAMPLES; i++) {
			t = now_us();
			ret = doe_user_exchange(&umb, req, 3, rsp, 8, &rsp_dw);
			lat_add(&raw, now_us() - t, ret);
		}
		EXPECT_EQ(0, raw.errors) TH_LOG("%s: raw Discovery: %s",
						m->c.name,
						err_name(raw.first_error));
		EXPECT_EQ(0, doe_user_give(&umb));
	}
	close(cfg);
	kind = is_sim(m) ? "simulated" : "device";
	LAT_LOG("%s (%s): mediated Discovery: mean %lld us (%d)", m->c.name,
		kind, lat_mean(&med), med.n);
	LAT_LOG("%s (%s): kernel pci_doe() Discovery: mean %lld us (%d, via debugfs)",
		m->c.name, kind, lat_mean(&ker), ker.n);
	LAT_LOG("%s (%s): raw userspace Discovery: mean %lld us (%d, taken)",
		m->c.name, kind, lat_mean(&raw), raw.n);
}

TEST_F_TIMEOUT(xchg, flood_kernel_latency, 120)
{
	struct xchg *x = &self->x;
	const struct xmb *m = pick(x), *dev = pick_device(x);
	int stop[2], res[2], status;
	struct lat alone, flooded;
	struct flood_result r = { 0 };
	long ue0;
	ssize_t n;
	pid_t pid;

	if (!x->tpd)
		SKIP(return, NO_TPD, doe_ctl_tpd_dir());
	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);

	kernel_latency(m, LAT_KERNEL, &alone);
	EXPECT_EQ(0, alone.errors) TH_LOG("%s: kernel %s alone: %s",
					  m->c.name, kernel_exchange_name(m),
					  err_name(alone.first_error));

	ASSERT_EQ(0, pipe(stop));
	ASSERT_EQ(0, pipe(res));
	ue0 = stat_of(m, "user_exchanges");
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(stop[1]);
		close(res[0]);
		flood(m, stop[0], res[1]);
	}
	close(stop[0]);
	close(res[1]);
	/* The flood is on once its first requests were answered */
	ASSERT_EQ(0, stat_wait(m, "user_exchanges", ue0 + MB_MAX_USER))
		TH_LOG("%s: the userspace flood did not start", m->c.name);

	kernel_latency(m, LAT_KERNEL, &flooded);
	close(stop[1]);
	n = read(res[0], &r, sizeof(r));
	close(res[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("flood: status %#x", status);
	EXPECT_EQ(sizeof(r), n);
	EXPECT_EQ(LAT_KERNEL, flooded.n);
	EXPECT_EQ(0, flooded.errors)
		TH_LOG("%s: %d of %d kernel %ss under the flood failed, the first with %s",
		       m->c.name, flooded.errors, flooded.n,
		       kernel_exchange_name(m), err_name(flooded.first_error));
	EXPECT_EQ(0, r.bad);
	EXPECT_EQ(0, r.write_errors);
	EXPECT_EQ(ue0 + r.done, stat_of(m, "user_exchanges"));
	LAT_LOG("%s: kernel %s alone: mean %lld us, max %lld us (%d)",
		m->c.name, kernel_exchange_name(m), lat_mean(&alone),
		alone.max_us, alone.n);
	LAT_LOG("%s: kernel %s, %d userspace in flight: mean %lld us, max %lld us (%d)",
		m->c.name, kernel_exchange_name(m), MB_MAX_USER,
		lat_mean(&flooded), flooded.max_us, flooded.n);
	LAT_LOG("%s: userspace flood: %ld Discoveries in %lld ms, %lld/s",
		m->c.name, r.done, r.us / 1000,
		r.us ? r.done * 1000000LL / r.us : 0);

	latency_note(_metadata, m);
	if (dev && dev != m)
		latency_note(_metadata, dev);
}

/* ---- 8. protocols a kernel claim reserves ---- */

static void reserved_one(struct __test_metadata *_metadata,
			 const struct xchg *self, const struct xmb *m)
{
	__u32 lacking = uncarried(self, m, 0), rsp[64];
	struct doe_ctl_witness w;
	char opt[32];
	long ex0;
	ssize_t n;
	int fd;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	ASSERT_EQ(P_ALLOWED, prot_state(m, PROT_CDAT));

	ASSERT_EQ(0, doe_ctl_tpd_on(&m->c, "trigger_claim", 0,
				    "reserve=1e98:02"));
	EXPECT_EQ(1, doe_ctl_mb_claims(&m->c));
	EXPECT_EQ(P_RESERVED, prot_state(m, PROT_CDAT));
	EXPECT_EQ(policy_state(self, PROT_DISCOVERY),
		  prot_state(m, PROT_DISCOVERY));
	EXPECT_EQ(PCI_DOE_PROT_RESERVED, info_flags(fd, PROT_CDAT));
	EXPECT_EQ(0, info_flags(fd, PROT_DISCOVERY));
	ex0 = stat_of(m, "exchanges");
	doe_ctl_witness_start(&w, &m->c);
	n = cdat_write(fd, 0);
	EXPECT_EQ(-EBUSY, n) TH_LOG("%s: CDAT request while reserved: %s",
				    m->c.name, err_name(n));
	EXPECT_DEVICE(&w, "a reserved protocol's request");
	EXPECT_EQ(ex0, stat_of(m, "exchanges"));
	EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp)));
	/* The mailbox's other protocols, and the kernel's CDAT, go on */
	EXPECT_EQ(0, disc_xchg(fd, m, 0));
	EXPECT_EQ(0, doe_ctl_tpd_on(&m->c, "trigger_exchange", 0,
				    "protocol=1e98:02 request=00000000"));

	ASSERT_EQ(0, doe_ctl_release(&m->c));
	EXPECT_EQ(0, doe_ctl_mb_claims(&m->c));
	EXPECT_EQ(P_ALLOWED, prot_state(m, PROT_CDAT));
	EXPECT_EQ(0, info_flags(fd, PROT_CDAT));
	ASSERT_EQ(0, cdat_write(fd, 0));
	n = xread(fd, rsp, sizeof(rsp));
	EXPECT_TRUE(n >= 12 + 16 && le32toh(rsp[0]) == PROT_CDAT)
		TH_LOG("%s: CDAT header after the release: %s", m->c.name,
		       rsp_str(rsp, n));

	/* What a claim cannot reserve: Discovery, a protocol not carried */
	EXPECT_EQ(-EINVAL, doe_ctl_tpd_on(&m->c, "trigger_claim", 0,
					  "reserve=0001:00"));
	EXPECT_EQ(0, doe_ctl_mb_claims(&m->c)) TH_LOG("a failed claim stayed");
	snprintf(opt, sizeof(opt), "reserve=%s", prot_name(lacking));
	EXPECT_EQ(-EINVAL, doe_ctl_tpd_on(&m->c, "trigger_claim", 0, opt))
		TH_LOG("%s: %s", m->c.name, opt);
	EXPECT_EQ(0, doe_ctl_mb_claims(&m->c)) TH_LOG("a failed claim stayed");
	EXPECT_EQ(P_ALLOWED, prot_state(m, PROT_CDAT));
	close(fd);
	TH_LOG("%s: 1e98:02 reserved and released; %s and %s not reservable",
	       m->c.name, prot_name(PROT_DISCOVERY), prot_name(lacking));
}

TEST_F(xchg, reserved_protocols)
{
	struct xchg *x = &self->x;
	int i, tested = 0;

	if (!x->tpd)
		SKIP(return, NO_TPD, doe_ctl_tpd_dir());
	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	if (policy_state(x, PROT_CDAT) == P_REFUSED)
		SKIP(return, "CDAT is refused on this boot: nothing to reserve");
	for (i = 0; i < x->n; i++) {
		if (!x->mbs[i].c.has_cdat)
			continue;
		reserved_one(_metadata, x, &x->mbs[i]);
		tested++;
	}
	if (!tested)
		SKIP(return, "no mailbox carries CXL Table Access (1e98:02)");
}

/* ---- 9. protocols refused by pci_doe.user_protocols= ---- */

/*
 * Each protocol of @m as the boot's policy says, in user_protocols and
 * INFO; a refused one gets EPERM at write().  Returns how many it refused.
 */
static int refused_one(struct __test_metadata *_metadata,
		       const struct xchg *self, const struct xmb *m)
{
	struct doe_ctl_witness w;
	int fd, i, want, got, refused = 0;
	__u32 req[3], rsp[16];
	long ex0;
	ssize_t n;

	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", m->c.name, strerror(-fd));
	for (i = 0; i < m->nr; i++) {
		want = policy_state(self, m->prots[i]);
		got = prot_state(m, m->prots[i]);
		EXPECT_EQ(want, got)
			TH_LOG("%s: user_protocols says %s %s; pci_doe.user_protocols=%s%s: %s",
			       m->c.name, prot_name(m->prots[i]),
			       state_name(got), self->up.text,
			       self->lockdown ? " and lockdown" : "",
			       state_name(want));
		EXPECT_EQ(want == P_REFUSED ? PCI_DOE_PROT_REFUSED : 0,
			  info_flags(fd, m->prots[i]))
			TH_LOG("%s: INFO flags of %s", m->c.name,
			       prot_name(m->prots[i]));
		if (want != P_REFUSED)
			continue;
		refused++;
		req[0] = htole32(m->prots[i]);
		req[1] = htole32(3);
		req[2] = 0;
		ex0 = stat_of(m, "exchanges");
		doe_ctl_witness_start(&w, &m->c);
		n = xwrite(fd, req, sizeof(req));
		EXPECT_EQ(-EPERM, n) TH_LOG("%s: a %s request: %s", m->c.name,
					    prot_name(m->prots[i]),
					    err_name(n));
		EXPECT_DEVICE(&w, "a refused %s request",
			      prot_name(m->prots[i]));
		EXPECT_EQ(ex0, stat_of(m, "exchanges"));
		EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp)));
		TH_LOG("%s: %s refused (EPERM)", m->c.name,
		       prot_name(m->prots[i]));
	}
	if (self->disc_allowed)
		EXPECT_EQ(0, disc_xchg(fd, m, 0));
	close(fd);
	return refused;
}

/*
 * Give the second simulated mailbox a protocol the policy refuses (the
 * first 7e57:tt from 03 that it does not allow), found by its Discovery
 * after a remove and rescan; 0 if the policy allows them all.
 */
static __u32 add_refused_protocol(struct __test_metadata *_metadata,
				  struct xchg *self)
{
	const struct xmb *m = &self->mbs[self->sim[SIM_MBS - 1]];
	char list[sizeof(m->c.protocols) + 16];
	__u32 id = 0;
	int t, ret;

	for (t = 0x03; t <= 0xff && !id; t++)
		if (policy_state(self, PROT(SIM_VID, t)) == P_REFUSED)
			id = PROT(SIM_VID, t);
	if (!id)
		return 0;
	snprintf(list, sizeof(list), "%s %s", m->c.protocols, prot_name(id));
	EXPECT_EQ(0, sim_set(m, "protocols", list));
	ret = sim_remove(self);
	EXPECT_EQ(0, ret) TH_LOG("%s: remove: %s", self->sim_bdf,
				 err_name(ret));
	ret = sim_rescan(self);
	EXPECT_EQ(0, ret) TH_LOG("%s: rescan: %s", self->sim_bdf,
				 err_name(ret));
	m = &self->mbs[self->sim[SIM_MBS - 1]];
	EXPECT_TRUE(in_list(m->prots, m->nr, id))
		TH_LOG("%s: protocols %s, no %s after the rescan", m->c.name,
		       m->c.protocols, prot_name(id));
	return ret ? 0 : id;
}

/* Under pci_doe.policy=locked: TAKE only of mailboxes with no refused one */
static void take_by_policy(struct __test_metadata *_metadata,
			   const struct xchg *self)
{
	int locked = !strcmp(self->policy, "locked");
	int i, fd, ret, with = 0, without = 0;
	const struct xmb *m;

	for (i = 0; i < self->n; i++) {
		m = &self->mbs[i];
		if (carries_refused(self, m))
			with++;
		else if (locked)
			without++;
		else
			continue;
		fd = doe_ctl_cdev_open(&m->c, O_RDWR);
		ASSERT_LE(0, fd);
		ret = doe_ctl_take(fd);
		EXPECT_EQ(locked && carries_refused(self, m) ? -EPERM : 0, ret)
			TH_LOG("%s: TAKE under pci_doe.policy=%s, %s refused protocol: %s",
			       m->c.name, self->policy,
			       carries_refused(self, m) ? "a" : "no",
			       err_name(ret));
		if (!ret)
			EXPECT_EQ(0, doe_ctl_give(fd));
		if (ret)
			EXPECT_EQ(0, doe_ctl_mb_holder(&m->c, NULL, 0));
		close(fd);
	}
	if (locked && !with)
		TH_LOG("locked: no mailbox carries a refused protocol: no EPERM");
	if (locked && !without)
		TH_LOG("locked: every mailbox carries a refused protocol");
	TH_LOG("TAKE under pci_doe.policy=%s: %d with a refused protocol, %d without",
	       self->policy, with, without);
}

TEST_F(xchg, policy_refused)
{
	struct xchg *x = &self->x;
	int i, refused = 0;
	__u32 added = 0;

	for (i = 0; i < x->n; i++)
		refused += refused_one(_metadata, x, &x->mbs[i]);
	if (x->nr_sim == SIM_MBS) {
		added = add_refused_protocol(_metadata, x);
		if (added)
			refused += refused_one(_metadata, x,
					       &x->mbs[x->sim[SIM_MBS - 1]]);
	}
	take_by_policy(_metadata, x);
	TH_LOG("pci_doe.user_protocols=%s%s: %d refused protocol(s) seen%s%s",
	       x->up.text, x->lockdown ? ", lockdown" : "", refused,
	       added ? ", one added to the simulated mailbox: " : "",
	       added ? prot_name(added) : "");
	if (!refused)
		SKIP(return, "pci_doe.user_protocols=%s refuses no protocol of these mailboxes",
		     x->up.text);
}

/* ---- 10. device faults seen from userspace ---- */

static const struct fault {
	const char *knob;
	int err;
} faults[] = {
	{ "error_before_response", EIO },
	{ "error_during_response", EIO },
	{ "wrong_vendor", EIO },
	{ "wrong_type", EIO },
	{ "length_0", EIO },
	{ "length_1", EIO },
	{ "too_short", EIO },
	{ "too_long", EIO },
	/* 1 s each */
	{ "ready_never", ETIMEDOUT },
	{ "busy_stuck", EBUSY },
};

TEST_F(xchg, faults_seen)
{
	struct xchg *x = &self->x;
	const struct xmb *m;
	long ue0, ex0, ms;
	__u32 rsp[16];
	unsigned int i;
	long long t0;
	int fd, ret;
	ssize_t n;

	if (!x->nr_sim)
		SKIP(return, NO_SIM);
	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	m = &x->mbs[x->sim[0]];
	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(faults); i++) {
		const struct fault *f = &faults[i];

		ASSERT_EQ(0, sim_set(m, "counters", "0"));
		ue0 = stat_of(m, "user_exchanges");
		ex0 = stat_of(m, "exchanges");
		ASSERT_EQ(0, sim_set(m, f->knob, "once"));
		t0 = now_us();
		ASSERT_EQ(0, disc_write(fd, m, 0));
		n = xread(fd, rsp, sizeof(rsp));
		ms = (now_us() - t0) / 1000;
		EXPECT_EQ(-f->err, n) TH_LOG("%s: read() after %s: %s, not %s",
					     m->c.name, f->knob, err_name(n),
					     strerror(f->err));
		EXPECT_EQ(1, sim_fired(m, f->knob));
		/* The kernel got the mailbox back to idle */
		EXPECT_LE(1, sim_count(m, "aborts")) TH_LOG("%s", f->knob);
		EXPECT_EQ(0, xread(fd, rsp, sizeof(rsp)))
			TH_LOG("%s: the error is returned once", f->knob);
		ret = disc_xchg(fd, m, 1);
		EXPECT_EQ(0, ret) TH_LOG("%s: the exchange after %s: %s",
					 m->c.name, f->knob, err_name(ret));
		/* Both completed, the failed one too */
		EXPECT_EQ(ue0 + 2, stat_of(m, "user_exchanges"));
		EXPECT_EQ(ex0 + 2, stat_of(m, "exchanges"));
		TH_LOG("%s: %s: read() %s after %ld ms, then a Discovery works",
		       m->c.name, f->knob, err_name(n), ms);
	}
	close(fd);
}

/* ---- 11. a taken mailbox ---- */

static void taken_one(struct __test_metadata *_metadata,
		      const struct xchg *self, const struct xmb *m)
{
	struct doe_ctl_witness w;
	long ex0, ue0, ab0, flags;
	__u32 rsp[16];
	int a, b, ret;
	ssize_t n;

	a = doe_ctl_cdev_open(&m->c, O_RDWR);
	b = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, a) TH_LOG("%s: %s", m->c.name, strerror(-a));
	ASSERT_LE(0, b);
	ret = doe_ctl_take(a);
	if (ret == -EPERM && !strcmp(self->policy, "locked") &&
	    carries_refused(self, m)) {
		TH_LOG("%s: not taken: under pci_doe.policy=locked it carries a refused protocol",
		       m->c.name);
		close(a);
		close(b);
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("%s: TAKE: %s", m->c.name, err_name(ret));
	flags = info_mb_flags(b);
	EXPECT_TRUE(flags >= 0 && (flags & PCI_DOE_INFO_TAKEN))
		TH_LOG("%s: INFO flags %#lx", m->c.name, flags);

	ex0 = stat_of(m, "exchanges");
	ue0 = stat_of(m, "user_exchanges");
	doe_ctl_witness_start(&w, &m->c);
	ret = disc_write(b, m, 0);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("%s: a request while taken: %s",
				      m->c.name, err_name(ret));
	EXPECT_DEVICE(&w, "a request while taken");
	EXPECT_EQ(ex0, stat_of(m, "exchanges"));
	EXPECT_EQ(0, xread(b, rsp, sizeof(rsp)));

	/* Given back: it works, after the kernel's abort */
	ab0 = stat_of(m, "aborts");
	EXPECT_EQ(0, doe_ctl_give(a));
	ret = disc_xchg(b, m, 0);
	EXPECT_EQ(0, ret) TH_LOG("%s: after GIVE: %s", m->c.name,
				 err_name(ret));
	EXPECT_EQ(ex0 + 1, stat_of(m, "exchanges"));
	EXPECT_EQ(ue0 + 1, stat_of(m, "user_exchanges"));
	EXPECT_EQ(ab0 + 1, stat_of(m, "aborts"));

	/* A request queued makes it the kernel's: no TAKE until answered */
	if (is_sim(m)) {
		ASSERT_EQ(0, sim_set(m, "latency_us", "200000"));
		ASSERT_EQ(0, disc_write(b, m, 1));
		EXPECT_EQ(-EBUSY, doe_ctl_take(a));
		n = xread(b, rsp, sizeof(rsp));
		EXPECT_TRUE(disc_match(m, 1, rsp, n)) TH_LOG("%s",
							     rsp_str(rsp, n));
		ASSERT_EQ(0, sim_set(m, "latency_us", "0"));
		EXPECT_EQ(0, doe_ctl_take(a));
		EXPECT_EQ(0, doe_ctl_give(a));
	}
	close(a);
	close(b);
}

TEST_F(xchg, taken_refuses)
{
	struct xchg *x = &self->x;
	int i;

	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	for (i = 0; i < x->n; i++)
		taken_one(_metadata, x, &x->mbs[i]);
}

/* ---- 12. removal with requests queued and in flight ---- */

TEST_F_TIMEOUT(xchg, removal, 60)
{
	struct xchg *x = &self->x;
	struct pollfd p[2];
	struct xmb m;
	__u32 rsp[16];
	int fd[2], k, j;
	ssize_t n;

	if (!x->nr_sim)
		SKIP(return, NO_SIM);
	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	m = x->mbs[x->sim[0]];
	ASSERT_EQ(0, sim_set(&m, "latency_us", SLOWER_US));
	ASSERT_EQ(0, sim_set(&m, "counters", "0"));
	for (k = 0; k < 2; k++) {
		fd[k] = doe_ctl_cdev_open(&m.c, O_RDWR);
		ASSERT_LE(0, fd[k]);
		for (j = 0; j < 2; j++)
			ASSERT_EQ(0, disc_write(fd[k], &m, 2 * k + j));
	}
	/* The first is on the device, three wait behind it */
	ASSERT_EQ(0, sim_wait(&m, "gos", 1));
	ASSERT_EQ(0, sim_remove(x)) TH_LOG("%s: remove", x->sim_bdf);
	EXPECT_FALSE(exists(m.c.dir));

	for (k = 0; k < 2; k++)
		for (j = 0; j < 2; j++) {
			n = xread(fd[k], rsp, sizeof(rsp));
			EXPECT_EQ(-ENODEV, n)
				TH_LOG("file %d, request %d (%s): %s", k, j,
				       k || j ? "queued" : "in flight",
				       rsp_str(rsp, n));
		}
	for (k = 0; k < 2; k++) {
		EXPECT_EQ(-ENODEV, disc_write(fd[k], &m, 0));
		p[k].fd = fd[k];
		p[k].events = POLLIN | POLLOUT;
		p[k].revents = 0;
	}
	EXPECT_EQ(2, poll(p, 2, 0));
	for (k = 0; k < 2; k++) {
		EXPECT_EQ(POLLERR | POLLHUP,
			  p[k].revents & (POLLERR | POLLHUP | POLLOUT))
			TH_LOG("file %d: revents %#x", k, p[k].revents);
		EXPECT_EQ(0, close(fd[k]));
	}
	EXPECT_EQ(1, sim_count(&m, "gos"))
		TH_LOG("queued requests reached the removed device");

	/* Found again: a new mailbox, a new file works */
	ASSERT_EQ(0, sim_set(&m, "latency_us", "0"));
	ASSERT_EQ(0, sim_rescan(x)) TH_LOG("%s: rescan", x->sim_bdf);
	fd[0] = doe_ctl_cdev_open(&x->mbs[x->sim[0]].c, O_RDWR);
	ASSERT_LE(0, fd[0]);
	EXPECT_EQ(0, disc_xchg(fd[0], &x->mbs[x->sim[0]], 0));
	close(fd[0]);
}

/* ---- 13. close() and SIGKILL cancel what is queued ---- */

/* The mailbox works for the kernel and for userspace after @what */
static void still_usable(struct __test_metadata *_metadata,
			 const struct xchg *self, const struct xmb *m,
			 long gos, const char *what)
{
	int fd, ret;

	if (self->tpd) {
		ret = doe_ctl_kernel_discovery(&m->c);
		EXPECT_EQ(0, ret) TH_LOG("%s: kernel Discovery after %s: %s",
					 m->c.name, what, err_name(ret));
		EXPECT_EQ(gos + 1, sim_count(m, "gos"));
	}
	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd);
	ret = disc_xchg(fd, m, 0);
	EXPECT_EQ(0, ret) TH_LOG("%s: mediated Discovery after %s: %s",
				 m->c.name, what, err_name(ret));
	close(fd);
}

/* close() of a file whose first request runs and three wait */
static void close_one_file(struct __test_metadata *_metadata,
			   const struct xchg *self, const struct xmb *m)
{
	long ue0, ue;
	int fd, i;

	ASSERT_EQ(0, sim_set(m, "latency_us", SLOW_US));
	ASSERT_EQ(0, sim_set(m, "counters", "0"));
	ue0 = stat_of(m, "user_exchanges");
	fd = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < FD_MAX_PENDING; i++)
		ASSERT_EQ(0, disc_write(fd, m, i));
	ASSERT_EQ(0, sim_wait(m, "gos", 1));
	EXPECT_EQ(0, close(fd));
	/* close() waited for the running one, cancelled the others */
	EXPECT_EQ(3, sim_count(m, "read_mailbox_writes"))
		TH_LOG("close() returned before the running exchange was read");
	EXPECT_EQ(1, sim_count(m, "gos")) TH_LOG("cancelled requests ran");
	ue = stat_of(m, "user_exchanges");
	EXPECT_GE(ue0 + 1, ue);
	ASSERT_EQ(0, sim_set(m, "latency_us", "0"));
	still_usable(_metadata, self, m, 1, "close()");
	TH_LOG("%s: close() with 1 running, %d queued: %ld exchange(s) counted",
	       m->c.name, FD_MAX_PENDING - 1, ue - ue0);
}

/* close() of a file with four requests behind another file's slow one */
static void close_behind(struct __test_metadata *_metadata,
			 const struct xchg *self, const struct xmb *m)
{
	__u32 rsp[16];
	int s, f, i, ret;
	long ue0;
	ssize_t n;

	ASSERT_EQ(0, sim_set(m, "latency_us", SLOW_US));
	ASSERT_EQ(0, sim_set(m, "counters", "0"));
	ue0 = stat_of(m, "user_exchanges");
	s = doe_ctl_cdev_open(&m->c, O_RDWR);
	f = doe_ctl_cdev_open(&m->c, O_RDWR);
	ASSERT_LE(0, s);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, disc_write(s, m, 0));
	ASSERT_EQ(0, sim_wait(m, "gos", 1));
	for (i = 0; i < FD_MAX_PENDING; i++)
		ASSERT_EQ(0, disc_write(f, m, i + 1));
	EXPECT_EQ(0, close(f));
	ASSERT_EQ(0, sim_set(m, "latency_us", "0"));
	/* Right away: the kernel's request waits for the slow one only */
	if (self->tpd) {
		ret = doe_ctl_kernel_discovery(&m->c);
		EXPECT_EQ(0, ret) TH_LOG("%s: kernel Discovery: %s",
					 m->c.name, err_name(ret));
	}
	n = xread(s, rsp, sizeof(rsp));
	EXPECT_TRUE(disc_match(m, 0, rsp, n)) TH_LOG("%s", rsp_str(rsp, n));
	EXPECT_EQ(0, close(s));
	EXPECT_EQ(1 + self->tpd, sim_count(m, "gos"))
		TH_LOG("the closed file's requests reached the device");
	/* The slow one, read; the four cancelled ones are not counted */
	EXPECT_EQ(ue0 + 1, stat_of(m, "user_exchanges"));
	still_usable(_metadata, self, m, 1 + self->tpd, "close()");
}

/* A process killed with requests in flight */
static void killed_child(struct __test_metadata *_metadata,
			 const struct xchg *self, const struct xmb *m)
{
	struct pollfd pf;
	int p[2], status;
	long ue0, ue;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, sim_set(m, "latency_us", SLOW_US));
	ASSERT_EQ(0, sim_set(m, "counters", "0"));
	ue0 = stat_of(m, "user_exchanges");
	ASSERT_EQ(0, pipe(p));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = doe_ctl_cdev_open(&m->c, O_RDWR), i;

		close(p[0]);
		for (i = 0; fd >= 0 && i < FD_MAX_PENDING; i++)
			if (!disc_write(fd, m, i))
				c++;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	pf.fd = p[0];
	pf.events = POLLIN;
	EXPECT_EQ(1, poll(&pf, 1, WAIT_MS));
	EXPECT_EQ(1, read(p[0], &c, 1));
	close(p[0]);
	EXPECT_EQ(FD_MAX_PENDING, c);
	EXPECT_EQ(0, sim_wait(m, "gos", 1));
	EXPECT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The running one ends; nothing of the others reaches the device */
	EXPECT_EQ(0, sim_wait(m, "read_mailbox_writes", 3));
	usleep(100000);
	EXPECT_EQ(1, sim_count(m, "gos"))
		TH_LOG("the killed process's queued requests reached the device");
	ue = stat_of(m, "user_exchanges");
	EXPECT_GE(ue0 + 1, ue);
	ASSERT_EQ(0, sim_set(m, "latency_us", "0"));
	still_usable(_metadata, self, m, 1, "SIGKILL");
	TH_LOG("%s: killed with 1 running, %d queued: %ld exchange(s) counted",
	       m->c.name, FD_MAX_PENDING - 1, ue - ue0);
}

TEST_F_TIMEOUT(xchg, close_cancels, 60)
{
	struct xchg *x = &self->x;
	const struct xmb *m;

	if (!x->nr_sim)
		SKIP(return, NO_SIM);
	if (!x->disc_allowed)
		SKIP(return, NO_DISCOVERY, x->up.text);
	m = &x->mbs[x->sim[0]];
	close_one_file(_metadata, x, m);
	close_behind(_metadata, x, m);
	killed_child(_metadata, x, m);
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
	if (access(USER_PROTS_PARAM, R_OK)) {
		ksft_print_header();
		ksft_exit_skip("no " USER_PROTS_PARAM ": no exchanges through char devices\n");
	}
	return test_harness_run(argc, argv);
}
