// SPDX-License-Identifier: GPL-2.0
/*
 * DOE mailbox ownership selftests, strict policy (pci_doe.policy=strict,
 * the default).
 *
 * A mailbox is owned by the kernel while it has claims or kernel exchanges
 * queued or running; root's config writes overlapping its register block
 * are then refused with EPERM and write nothing.  Root may take an unowned
 * mailbox through its char device (/dev/pci_doe/<name>, PCI_DOE_IOC_TAKE):
 * kernel users then get EBUSY and every root config write to it is let
 * through.  The kernel side is played by the test_pci_doe module
 * (lib/test_pci_doe.c, debugfs); the mailboxes are the devices of class
 * pci_doe (/sys/class/pci_doe/<BDF>-doe<offset>/) plus, where the DOE
 * simulator is built in (lib/pci_doe_sim.c), the two
 * mailboxes of a simulated function created for each test: the simulator
 * counts every config write it gets, per register and outside the
 * mailboxes, so on those every refused write is also shown not to have
 * reached the device at all, and every allowed one to have reached it with
 * exactly the accesses expected.
 *
 *  simulated_mailboxes         the simulated mailboxes are tested too
 *  denial_logged               a denied write logs who owns the mailbox
 *  claimed_writes_denied       every start and size 1..16 overlapping a
 *                              claimed block, sysfs and procfs: EPERM,
 *                              nothing written, denied_writes counts it;
 *                              the same bytes written right next to the
 *                              block go through
 *  long_writes_denied          long writes crossing the block write nothing
 *                              at all, not even the bytes before it
 *  released_userspace_then_kernel  after release, a userspace Discovery
 *                              through config writes works and the next
 *                              kernel exchange works (after an abort)
 *  takeover                    PCI_DOE_IOC_TAKE/GIVE on the char device:
 *                              argument and file checks, holder and INFO
 *                              flags, the kernel gets EBUSY, every root
 *                              write lands, GIVE, close() and SIGKILL give
 *                              it back and the kernel aborts first; no
 *                              TAKE while the kernel owns it
 *  setpci_client               setpci is refused while claimed, works after
 *  stray_writes_aborted        stray writes to an idle mailbox are aborted
 *                              before the next kernel exchange
 *  stress                      concurrent kernel streams against a
 *                              userspace hammer, with and without a claim
 *  procfs_offset_beyond_4g     a /proc/bus/pci write at 4 GiB + the Write
 *                              Data Mailbox is the write at the mailbox
 *                              (procfs truncates the offset to an int):
 *                              EPERM while claimed, nothing written
 *
 * Exits 4 (skip) without root, the test module, a DOE mailbox, or when the
 * policy is not strict (pci_doe_policy covers the other policies).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

/* Failures printed in detail by the loops; the rest are only counted */
#define MAX_DETAILS	5
/* Length of each stress phase */
#define STRESS_MS	4000
/* Exchanges per trigger_stream write in the stress test */
#define STRESS_BATCH	20
#define STRESS_STREAMS	4
/* A kernel exchange on QEMU takes milliseconds; 1 s means a timeout */
#define QUICK_MS	500
/* Mailboxes of the simulated function each test adds */
#define SIM_MBS		2

static const char *mb_name(const struct doe_ctl_mb *mb)
{
	static char name[2][64];
	static int i;

	i ^= 1;
	snprintf(name[i], sizeof(name[i]), "%s@%#x", mb->bdf, mb->cap);
	return name[i];
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Hex dump of a few bytes, for messages */
static const char *hex(const uint8_t *b, size_t len)
{
	static char buf[2][160];
	static int i;
	size_t j, pos = 0;

	i ^= 1;
	buf[i][0] = '\0';
	for (j = 0; j < len && pos < sizeof(buf[i]) - 3; j++)
		pos += snprintf(buf[i] + pos, sizeof(buf[i]) - pos, "%02x",
				b[j]);
	return buf[i];
}

FIXTURE(owner) {
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	int n;
	int rfd[DOE_CTL_MAX_MBS];	/* sysfs config, read-only */
	int sim_id;			/* the simulated function, or -1 */
	char sim_bdf[32];
	int nr_sim;			/* its mailboxes found in sysfs */
};

FIXTURE_SETUP(owner)
{
	int i;

	self->sim_id = -1;
	if (doe_ctl_sim_present())
		ASSERT_EQ(0, doe_ctl_sim_add(SIM_MBS, &self->sim_id,
					     self->sim_bdf,
					     sizeof(self->sim_bdf)));
	self->n = doe_ctl_mailboxes(self->mbs, DOE_CTL_MAX_MBS);
	ASSERT_LT(0, self->n);
	ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	for (i = 0; i < self->n; i++) {
		if (self->mbs[i].sim_id >= 0 &&
		    self->mbs[i].sim_id == self->sim_id)
			self->nr_sim++;
		self->rfd[i] = doe_ctl_open(self->mbs[i].bdf, DOE_CTL_SYSFS, 0);
		ASSERT_LE(0, self->rfd[i]);
		/* Nothing else in the kernel may own the mailboxes we test */
		ASSERT_EQ(0, doe_ctl_mb_claims(&self->mbs[i]))
			TH_LOG("%s is claimed by another kernel user",
			       mb_name(&self->mbs[i]));
	}
}

FIXTURE_TEARDOWN(owner)
{
	int i;

	doe_ctl_tpd_write("reset", "1");
	for (i = 0; i < self->n; i++)
		if (self->rfd[i] > 0)
			close(self->rfd[i]);
	if (self->sim_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(self->sim_id));
}

TEST_F(owner, simulated_mailboxes)
{
	int i;

	if (self->sim_id < 0)
		SKIP(return, "no " DOE_CTL_SIM_DIR " (CONFIG_PCI_DOE_SIM): no device-side counts");
	EXPECT_EQ(SIM_MBS, self->nr_sim)
		TH_LOG("%s: %d of its %d mailboxes in sysfs", self->sim_bdf,
		       self->nr_sim, SIM_MBS);
	for (i = 0; i < self->n; i++)
		TH_LOG("%s%s", mb_name(&self->mbs[i]),
		       self->mbs[i].sim_id >= 0 ? " (simulated)" : "");
}

/* Read /dev/kmsg records after @fd's position until one contains all of
 * @a, @b and @c; returns 1 if found.
 */
static int kmsg_find(int fd, const char *a, const char *b, const char *c,
		     char *line, size_t len)
{
	char rec[2048];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return 0;
		rec[n] = '\0';
		if (strstr(rec, a) && strstr(rec, b) && strstr(rec, c)) {
			const char *msg = strchr(rec, ';');
			size_t l;

			msg = msg ? msg + 1 : rec;
			l = strcspn(msg, "\n");
			if (l >= len)
				l = len - 1;
			memcpy(line, msg, l);
			line[l] = '\0';
			return 1;
		}
	}
}

TEST_F(owner, denial_logged)
{
	char tag[96], line[512];
	const struct doe_ctl_mb *mb = &self->mbs[0];
	uint32_t zero = 0;
	int kfd, wfd, found = 0, attempt;

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kfd < 0)
		SKIP(return, "/dev/kmsg: %s", strerror(errno));
	ASSERT_EQ(0, doe_ctl_claim(mb));
	wfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
	ASSERT_LE(0, wfd);
	snprintf(tag, sizeof(tag), "%s: DOE mailbox %#x: denied", mb->bdf,
		 mb->cap);

	/* The message is rate limited: retry once after the interval (5 s) */
	for (attempt = 0; attempt < 2 && !found; attempt++) {
		if (attempt)
			sleep(6);
		lseek(kfd, 0, SEEK_END);
		EXPECT_EQ(-EPERM, doe_ctl_pwrite(wfd, &zero, 4,
						 mb->cap + DOE_USER_WRITE));
		found = kmsg_find(kfd, tag, "test_pci_doe", "pci_doe_owner",
				  line, sizeof(line));
	}
	EXPECT_TRUE(found)
		TH_LOG("no \"%s\" line naming test_pci_doe and pci_doe_owner",
		       tag);
	if (found)
		TH_LOG("%s", line);
	close(wfd);
	close(kfd);
}

/* A counter file of sysfs, read again through an open fd */
static long fd_counter(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* The block of @mb, read through a read-only sysfs fd */
static int read_block(int rfd, const struct doe_ctl_mb *mb, uint8_t *b)
{
	return doe_ctl_pread(rfd, b, DOE_CTL_BLOCK, mb->cap);
}

/*
 * @size bytes at @start overlapping the claimed block of @mb, every byte
 * inverted: must be refused, counted, and change nothing.  Returns 1 when
 * it was, 0 otherwise (details logged for the first few).  The device side
 * is checked by the caller, for all the writes of one size at once: the
 * counters only go up, so no write at all for the group means none for
 * each.
 */
static int overlap_write(struct __test_metadata *_metadata,
			 const struct doe_ctl_mb *mb, int rfd, int wfd,
			 enum doe_ctl_path p, int start, int size, int *bad,
			 int dfd, long *denied)
{
	uint8_t orig[16], buf[16], after[16];
	uint8_t blk0[DOE_CTL_BLOCK], blk1[DOE_CTL_BLOCK];
	int cap = mb->cap, ret, j;
	long d0 = *denied, d1;

	if (doe_ctl_pread(rfd, orig, size, start) || read_block(rfd, mb, blk0))
		return 0;
	for (j = 0; j < size; j++)
		buf[j] = orig[j] ^ 0xff;
	ret = doe_ctl_pwrite(wfd, buf, size, start);
	/* Nothing else changes it: the count after is the next one's before */
	*denied = d1 = fd_counter(dfd);
	if (doe_ctl_pread(rfd, after, size, start) || read_block(rfd, mb, blk1))
		return 0;
	if (ret == -EPERM && d1 == d0 + 1 && !memcmp(orig, after, size) &&
	    !memcmp(blk0, blk1, DOE_CTL_BLOCK))
		return 1;

	if (++*bad <= MAX_DETAILS)
		TH_LOG("%s %s: %d bytes at %#x: %s, denied %ld -> %ld, %s -> %s, block %s -> %s",
		       mb_name(mb), doe_ctl_path_names[p], size, start,
		       ret ? strerror(-ret) : "written", d0, d1,
		       hex(orig, size), hex(after, size),
		       hex(blk0, DOE_CTL_BLOCK), hex(blk1, DOE_CTL_BLOCK));
	/* Put back what a wrongly allowed write changed outside the block */
	for (j = 0; !ret && j < size; j++)
		if (start + j < cap || start + j >= cap + DOE_CTL_BLOCK)
			doe_ctl_pwrite(wfd, &orig[j], 1, start + j);
	return 0;
}

/* @size bytes at @start next to the block, written back as read: allowed */
static int adjacent_write(struct __test_metadata *_metadata,
			  const struct doe_ctl_mb *mb, int rfd, int wfd,
			  enum doe_ctl_path p, int start, int size)
{
	uint8_t orig[16], blk0[DOE_CTL_BLOCK], blk1[DOE_CTL_BLOCK];
	struct doe_ctl_witness w;
	long d0, d1;
	int ret;

	if (start + size > DOE_CTL_CFG_SIZE)
		return 0;
	ASSERT_EQ(0, doe_ctl_pread(rfd, orig, size, start));
	ASSERT_EQ(0, read_block(rfd, mb, blk0));
	d0 = doe_ctl_mb_counter(mb, "denied_writes");
	doe_ctl_witness_start(&w, mb);
	ret = doe_ctl_pwrite(wfd, orig, size, start);
	/* Allowed: every access reaches the device, once */
	doe_ctl_witness_expect(&w, start, size);
	EXPECT_DEVICE(&w, "%d bytes at %#x next to the block (%s)", size,
		      start, doe_ctl_path_names[p]);
	d1 = doe_ctl_mb_counter(mb, "denied_writes");
	ASSERT_EQ(0, read_block(rfd, mb, blk1));
	EXPECT_EQ(0, ret)
		TH_LOG("%s %s: %d bytes at %#x next to the block: %s",
		       mb_name(mb), doe_ctl_path_names[p], size, start,
		       strerror(-ret));
	EXPECT_EQ(d0, d1);
	EXPECT_EQ(0, memcmp(blk0, blk1, DOE_CTL_BLOCK));
	return !ret;
}

static void claimed_writes(struct __test_metadata *_metadata,
			   const struct doe_ctl_mb *mb, int rfd,
			   enum doe_ctl_path p)
{
	int wfd = doe_ctl_open(mb->bdf, p, 1), cap = mb->cap, dfd;
	int size, start, tries = 0, bad = 0, refused = 0, adjacent = 0;
	long denied0 = doe_ctl_mb_counter(mb, "denied_writes"), denied;
	char path[256];

	ASSERT_LE(0, wfd);
	ASSERT_LE(0, denied0);
	doe_ctl_mb_stat_path(mb, "denied_writes", path, sizeof(path));
	dfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, dfd);
	denied = denied0;
	for (size = 1; size <= 16; size++) {
		struct doe_ctl_witness w;
		int n = 0;

		doe_ctl_witness_start(&w, mb);
		for (start = cap - size + 1; start < cap + DOE_CTL_BLOCK;
		     start++) {
			if (start + size > DOE_CTL_CFG_SIZE)
				continue;
			tries++;
			n++;
			refused += overlap_write(_metadata, mb, rfd, wfd, p,
						 start, size, &bad, dfd,
						 &denied);
		}
		/* Refused: the device must not have seen a single access */
		EXPECT_DEVICE(&w, "%d refused %d-byte writes from %#x to %#x (%s)",
			      n, size, cap - size + 1, cap + DOE_CTL_BLOCK - 1,
			      doe_ctl_path_names[p]);
	}
	EXPECT_EQ(tries, refused)
		TH_LOG("%s %s: %d of %d overlapping writes were not refused cleanly",
		       mb_name(mb), doe_ctl_path_names[p], tries - refused,
		       tries);
	EXPECT_EQ(denied0 + tries, doe_ctl_mb_counter(mb, "denied_writes"));

	for (size = 1; size <= 16; size++) {
		adjacent += adjacent_write(_metadata, mb, rfd, wfd, p,
					   cap - size, size);
		adjacent += adjacent_write(_metadata, mb, rfd, wfd, p,
					   cap + DOE_CTL_BLOCK, size);
	}
	TH_LOG("%s %s: %d overlapping writes refused, %d adjacent writes allowed",
	       mb_name(mb), doe_ctl_path_names[p], refused, adjacent);
	close(dfd);
	close(wfd);
}

TEST_F_TIMEOUT(owner, claimed_writes_denied, 120)
{
	int i, p;

	for (i = 0; i < self->n; i++) {
		ASSERT_EQ(0, doe_ctl_claim(&self->mbs[i]));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++)
			claimed_writes(_metadata, &self->mbs[i], self->rfd[i],
				       p);
		ASSERT_EQ(0, doe_ctl_release(&self->mbs[i]));
	}
}

/*
 * Write @len bytes at @start through @wfd: the bytes read there, with the
 * byte at @mark inverted.  Must be refused and change nothing.
 */
static void long_write(struct __test_metadata *_metadata,
		       const struct doe_ctl_mb *mb, int rfd, int wfd,
		       enum doe_ctl_path p, int start, int len, int mark)
{
	uint8_t *orig = malloc(len), *buf = malloc(len), *after = malloc(len);
	struct doe_ctl_witness w;
	long d0, d1;
	int ret, j;

	ASSERT_TRUE(orig && buf && after);
	ASSERT_EQ(0, doe_ctl_pread(rfd, orig, len, start));
	memcpy(buf, orig, len);
	buf[mark - start] ^= 0xff;
	d0 = doe_ctl_mb_counter(mb, "denied_writes");
	doe_ctl_witness_start(&w, mb);
	ret = doe_ctl_pwrite(wfd, buf, len, start);
	EXPECT_DEVICE(&w, "%d refused bytes at %#x (%s)", len, start,
		      doe_ctl_path_names[p]);
	d1 = doe_ctl_mb_counter(mb, "denied_writes");
	ASSERT_EQ(0, doe_ctl_pread(rfd, after, len, start));
	EXPECT_EQ(-EPERM, ret)
		TH_LOG("%s %s: %d bytes at %#x: %s", mb_name(mb),
		       doe_ctl_path_names[p], len, start,
		       ret ? strerror(-ret) : "written");
	EXPECT_EQ(d0 + 1, d1);
	for (j = 0; j < len && orig[j] == after[j]; j++)
		;
	EXPECT_EQ(len, j)
		TH_LOG("%s %s: %d bytes at %#x: byte %#x changed %02x -> %02x",
		       mb_name(mb), doe_ctl_path_names[p], len, start,
		       start + j, orig[j], after[j]);
	if (j < len)
		doe_ctl_pwrite(wfd, &orig[mark - start], 1, mark);
	free(orig);
	free(buf);
	free(after);
}

TEST_F(owner, long_writes_denied)
{
	int i, p;

	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		int cap = mb->cap, rfd = self->rfd[i];

		ASSERT_EQ(0, doe_ctl_claim(mb));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			int wfd = doe_ctl_open(mb->bdf, p, 1);
			uint8_t line, probe;

			ASSERT_LE(0, wfd);
			/* 64 bytes from 48 before the block, first byte changed */
			long_write(_metadata, mb, rfd, wfd, p, cap - 48, 64,
				   cap - 48);

			/*
			 * From Interrupt Line (0x3c), a read-write scratch
			 * register (shown writable first), to the block's end.
			 * The simulator's header is read-only: its counters
			 * show instead that nothing reached the device.
			 */
			ASSERT_EQ(0, doe_ctl_pread(rfd, &line, 1, 0x3c));
			probe = line ^ 0xff;
			ASSERT_EQ(0, doe_ctl_pwrite(wfd, &probe, 1, 0x3c));
			ASSERT_EQ(0, doe_ctl_pread(rfd, &probe, 1, 0x3c));
			ASSERT_EQ(0, doe_ctl_pwrite(wfd, &line, 1, 0x3c));
			if (mb->sim_id < 0)
				EXPECT_EQ((uint8_t)(line ^ 0xff), probe)
					TH_LOG("%s: Interrupt Line (read-write) not writable",
					       mb->bdf);
			long_write(_metadata, mb, rfd, wfd, p, 0x3c,
				   cap + DOE_CTL_BLOCK - 0x3c, 0x3c);

			/* From inside the block to the end of config space */
			long_write(_metadata, mb, rfd, wfd, p,
				   cap + DOE_USER_WRITE,
				   DOE_CTL_CFG_SIZE - cap - DOE_USER_WRITE,
				   DOE_CTL_CFG_SIZE - 1);
			close(wfd);
		}
		ASSERT_EQ(0, doe_ctl_release(mb));
	}
}

/* Parse the first dword of the test module's response file */
static int response_dword(uint32_t *dw)
{
	char buf[64];
	uint8_t b[4];
	int i;

	if (doe_ctl_tpd_read("response", buf, sizeof(buf)) < 8)
		return -EIO;
	for (i = 0; i < 4; i++) {
		char two[3] = { buf[2 * i], buf[2 * i + 1], '\0' }, *end;

		b[i] = strtoul(two, &end, 16);
		if (*end)
			return -EIO;
	}
	*dw = le32(b);
	return 0;
}

TEST_F(owner, released_userspace_then_kernel)
{
	int i;

	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		char got[256], owners[256], first[16], result[32];
		long aborts0, aborts1;
		uint32_t dw;
		int fd, n;

		ASSERT_EQ(0, doe_ctl_claim(mb));
		ASSERT_EQ(0, doe_ctl_release(mb));
		ASSERT_LE(0, doe_ctl_mb_read(mb, "owners", owners, sizeof(owners)));
		EXPECT_STREQ("", owners);
		EXPECT_EQ(0, doe_ctl_mb_claims(mb));

		/* Userspace Discovery through sysfs config writes */
		fd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
		ASSERT_LE(0, fd);
		n = doe_ctl_user_discovery(mb, fd, got, sizeof(got));
		close(fd);
		ASSERT_LT(0, n) TH_LOG("%s: userspace Discovery: %s",
				       mb_name(mb), strerror(-n));
		EXPECT_STREQ(mb->protocols, got);
		TH_LOG("%s: userspace Discovery: %s", mb_name(mb), got);

		/* Then the kernel, which must abort first */
		aborts0 = doe_ctl_mb_counter(mb, "aborts");
		ASSERT_EQ(0, doe_ctl_kernel_discovery(mb));
		aborts1 = doe_ctl_mb_counter(mb, "aborts");
		ASSERT_LE(0, doe_ctl_tpd_read("test_result", result, sizeof(result)));
		EXPECT_LE(4, atoi(result));
		ASSERT_EQ(0, response_dword(&dw));
		snprintf(first, sizeof(first), "%04x:%02x", dw & 0xffff,
			 (dw >> 16) & 0xff);
		EXPECT_EQ(0, strncmp(got, first, strlen(first)))
			TH_LOG("%s: kernel Discovery index 0 says %s, userspace %s",
			       mb_name(mb), first, got);
		EXPECT_EQ(aborts0 + 1, aborts1)
			TH_LOG("%s: %ld aborts before the kernel exchange after userspace",
			       mb_name(mb), aborts1 - aborts0);
	}
}

/* The /proc/bus/pci takeover ioctls of earlier versions, removed */
#define OLD_PCIIOC_BASE		('P' << 24 | 'C' << 16 | 'I' << 8)
#define OLD_PCIIOC_DOE_TAKE	(OLD_PCIIOC_BASE | 0x10)
#define OLD_PCIIOC_DOE_GIVE	(OLD_PCIIOC_BASE | 0x11)
/* INFO flags about ownership */
#define OWNERSHIP_FLAGS		(PCI_DOE_INFO_KERNEL_OWNED | \
				 PCI_DOE_INFO_TAKEN | PCI_DOE_INFO_TAKEN_HERE)
/* An in-flight kernel exchange on a simulated mailbox, in microseconds */
#define IN_FLIGHT_US		"500000"
#define IN_FLIGHT_WAIT_MS	2000

/* The ownership flags PCI_DOE_IOC_INFO reports on @fd, or -errno */
static long info_flags(int fd)
{
	struct pci_doe_info info;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = doe_ctl_info(fd, &info, DOE_CTL_INFO_MIN);
	return ret ? ret : (long)(info.flags & OWNERSHIP_FLAGS);
}

/* "<bdf>... DOE mailbox 0x...: @what pci_doe_owner[<pid>]" lines after @kfd */
static int take_log(int kfd, const struct doe_ctl_mb *mb, const char *what,
		    pid_t pid)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "DOE mailbox %#x: %s pci_doe_owner[%d]",
		 mb->cap, what, (int)pid);
	return doe_ctl_kmsg_count(kfd, mb->bdf, msg, NULL, NULL, 0);
}

/*
 * The mailbox was given back (GIVE, close() or exit): the kernel's next
 * exchange works after exactly one abort, which the device sees, and the
 * one after that needs none.
 */
static void kernel_after_give(struct __test_metadata *_metadata,
			      const struct doe_ctl_mb *mb, const char *how)
{
	long aborts0 = doe_ctl_mb_counter(mb, "aborts");
	long dev0 = doe_ctl_sim_counter(mb, "aborts");
	int ret;

	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0))
		TH_LOG("%s: still held after %s", mb_name(mb), how);
	ret = doe_ctl_kernel_discovery(mb);
	EXPECT_EQ(0, ret) TH_LOG("%s: kernel Discovery after %s: %s",
				 mb_name(mb), how, strerror(-ret));
	EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"))
		TH_LOG("%s: aborts before the kernel's exchange after %s",
		       mb_name(mb), how);
	if (mb->sim_id >= 0)
		EXPECT_EQ(dev0 + 1, doe_ctl_sim_counter(mb, "aborts"))
			TH_LOG("%s: aborts the device saw after %s",
			       mb_name(mb), how);
	EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"))
		TH_LOG("%s: a second exchange after %s aborted again",
		       mb_name(mb), how);
}

/*
 * While taken, every root config write to the block lands: through sysfs
 * and /proc/bus/pci, from this process and from another one; none is
 * counted as denied or overridden.
 */
static void taken_writes(struct __test_metadata *_metadata,
			 const struct doe_ctl_mb *mb, int rfd, int sfd, int pfd)
{
	long d0 = doe_ctl_mb_counter(mb, "denied_writes");
	long o0 = doe_ctl_mb_counter(mb, "overridden_writes");
	struct doe_ctl_witness w;
	uint32_t ctrl;
	pid_t child;
	int status;

	ASSERT_EQ(0, doe_ctl_pread(rfd, &ctrl, 4, mb->cap + DOE_USER_CTRL));
	doe_ctl_witness_start(&w, mb);
	EXPECT_EQ(0, doe_ctl_pwrite(sfd, &ctrl, 4, mb->cap + DOE_USER_CTRL))
		TH_LOG("%s: taken, sysfs write refused", mb_name(mb));
	doe_ctl_witness_expect(&w, mb->cap + DOE_USER_CTRL, 4);
	EXPECT_EQ(0, doe_ctl_pwrite(pfd, &ctrl, 4, mb->cap + DOE_USER_CTRL))
		TH_LOG("%s: taken, procfs write refused", mb_name(mb));
	doe_ctl_witness_expect(&w, mb->cap + DOE_USER_CTRL, 4);

	/* Another process, which does not hold the mailbox */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int fd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);

		_exit(fd < 0 || doe_ctl_pwrite(fd, &ctrl, 4,
					       mb->cap + DOE_USER_CTRL));
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("%s: taken, another process's sysfs write refused",
		       mb_name(mb));
	doe_ctl_witness_expect(&w, mb->cap + DOE_USER_CTRL, 4);
	EXPECT_DEVICE(&w, "three Control writes while taken");
	EXPECT_EQ(d0, doe_ctl_mb_counter(mb, "denied_writes"));
	EXPECT_EQ(o0, doe_ctl_mb_counter(mb, "overridden_writes"));
}

/*
 * A simulated mailbox with a kernel exchange in flight (the device answers
 * after IN_FLIGHT_US): the kernel owns it, no TAKE.
 */
static void take_in_flight(struct __test_metadata *_metadata,
			   const struct doe_ctl_mb *mb, int hfd)
{
	long gos0 = doe_ctl_sim_counter(mb, "gos");
	long long end;
	char res[256];

	ASSERT_EQ(0, doe_ctl_sim_knob(mb, "latency_us", IN_FLIGHT_US));
	ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	ASSERT_EQ(0, doe_ctl_tpd_on(mb, "trigger_async", 1,
				    "protocol=7e57:01 request=0a0b0c0d"));
	end = doe_ctl_now_ms() + IN_FLIGHT_WAIT_MS;
	while (doe_ctl_sim_counter(mb, "gos") <= gos0 &&
	       doe_ctl_now_ms() < end)
		usleep(1000);
	EXPECT_LT(gos0, doe_ctl_sim_counter(mb, "gos"));
	EXPECT_EQ(-EBUSY, doe_ctl_take(hfd));
	EXPECT_EQ(1, doe_ctl_mb_counter(mb, "in_flight"));
	EXPECT_EQ(PCI_DOE_INFO_KERNEL_OWNED, info_flags(hfd));
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));
	EXPECT_EQ(0, doe_ctl_tpd_write("trigger_wait", "1"));
	ASSERT_LE(0, doe_ctl_tpd_read("async_results", res, sizeof(res)));
	EXPECT_NE(NULL, strstr(res, "completed 1 ok 1 ")) TH_LOG("%s", res);
	EXPECT_EQ(0, doe_ctl_sim_knob(mb, "latency_us", "0"));
	EXPECT_EQ(0, doe_ctl_mb_counter(mb, "in_flight"));
	EXPECT_EQ(0, info_flags(hfd));
}

static void takeover_one(struct __test_metadata *_metadata,
			 const struct doe_ctl_mb *mb, int rfd, int kfd)
{
	int hfd, ofd, rofd, sfd, pfd, pipefd[2], ret, fds[2], p;
	char got[256], comm[64], rsp[16];
	uint32_t zero = 0;
	pid_t child;
	char c;

	hfd = doe_ctl_cdev_open(mb, O_RDWR);
	ofd = doe_ctl_cdev_open(mb, O_RDWR);
	rofd = doe_ctl_cdev_open(mb, O_RDONLY);
	sfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
	pfd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
	ASSERT_LE(0, hfd) TH_LOG("%s: char device: %s", mb_name(mb),
				 strerror(-hfd));
	ASSERT_LE(0, ofd);
	ASSERT_LE(0, rofd);
	ASSERT_LE(0, sfd);
	ASSERT_LE(0, pfd);
	fds[DOE_CTL_SYSFS] = sfd;
	fds[DOE_CTL_PROCFS] = pfd;

	/* The /proc/bus/pci ioctls are gone */
	ret = doe_ctl_ioctl(pfd, OLD_PCIIOC_DOE_TAKE, mb->cap);
	EXPECT_TRUE(ret == -ENOTTY || ret == -EINVAL)
		TH_LOG("%s: the removed PCIIOC_DOE_TAKE: %s", mb_name(mb),
		       ret ? strerror(-ret) : "0");
	ret = doe_ctl_ioctl(pfd, OLD_PCIIOC_DOE_GIVE, mb->cap);
	EXPECT_TRUE(ret == -ENOTTY || ret == -EINVAL)
		TH_LOG("%s: the removed PCIIOC_DOE_GIVE: %s", mb_name(mb),
		       ret ? strerror(-ret) : "0");
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));

	/* Argument checks: flags must be 0, a read-only file cannot take */
	EXPECT_EQ(-EINVAL, doe_ctl_ioctl(hfd, PCI_DOE_IOC_TAKE, 1));
	EXPECT_EQ(-EBADF, doe_ctl_take(rofd));
	EXPECT_EQ(-EINVAL, doe_ctl_give(hfd));	/* not held */
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));
	EXPECT_EQ(0, info_flags(hfd));

	/* Take it: logged once; the holder and INFO show it */
	lseek(kfd, 0, SEEK_END);
	ASSERT_EQ(0, doe_ctl_take(hfd));
	EXPECT_EQ(1, take_log(kfd, mb, "taken by", getpid()));
	EXPECT_EQ(0, doe_ctl_take(hfd));	/* again: no-op */
	EXPECT_EQ(getpid(), doe_ctl_mb_holder(mb, comm, sizeof(comm)));
	EXPECT_STREQ("pci_doe_owner", comm);
	EXPECT_EQ(PCI_DOE_INFO_TAKEN | PCI_DOE_INFO_TAKEN_HERE,
		  info_flags(hfd));
	EXPECT_EQ(PCI_DOE_INFO_TAKEN, info_flags(ofd));
	EXPECT_EQ(PCI_DOE_INFO_TAKEN, info_flags(rofd));
	/* Held by another file: no TAKE, no GIVE */
	EXPECT_EQ(-EBUSY, doe_ctl_take(ofd));
	EXPECT_EQ(-EINVAL, doe_ctl_give(ofd));
	EXPECT_EQ(-EINVAL, doe_ctl_ioctl(hfd, PCI_DOE_IOC_GIVE, 1));
	EXPECT_EQ(getpid(), doe_ctl_mb_holder(mb, NULL, 0));

	/* The kernel gets EBUSY at once */
	EXPECT_EQ(-EBUSY, doe_ctl_claim(mb));
	EXPECT_EQ(-EBUSY, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(-EBUSY, doe_ctl_tpd_on(mb, "trigger_async", 1,
					 "protocol=0001:00"));
	EXPECT_EQ(0, doe_ctl_tpd_write("trigger_wait", "1"));
	EXPECT_EQ(0, doe_ctl_mb_claims(mb));
	EXPECT_EQ(0, doe_ctl_mb_counter(mb, "in_flight"));

	/* Root's writes land, and a whole Discovery through each path */
	taken_writes(_metadata, mb, rfd, sfd, pfd);
	for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
		ret = doe_ctl_user_discovery(mb, fds[p], got, sizeof(got));
		EXPECT_LT(0, ret) TH_LOG("%s: taken, Discovery through %s: %s",
					 mb_name(mb), doe_ctl_path_names[p],
					 strerror(-ret));
		EXPECT_STREQ(mb->protocols, got);
	}

	/* Give it back: logged; the kernel aborts before its next exchange */
	lseek(kfd, 0, SEEK_END);
	ASSERT_EQ(0, doe_ctl_give(hfd));
	EXPECT_EQ(1, take_log(kfd, mb, "given back by", getpid()));
	EXPECT_EQ(0, info_flags(hfd));
	EXPECT_EQ(-EINVAL, doe_ctl_give(hfd));
	kernel_after_give(_metadata, mb, "GIVE");

	/* Even when nothing was written while it was taken */
	ASSERT_EQ(0, doe_ctl_take(hfd));
	ASSERT_EQ(0, doe_ctl_give(hfd));
	kernel_after_give(_metadata, mb, "an idle TAKE and GIVE");

	/* Another file takes it; close() gives it back */
	ASSERT_EQ(0, doe_ctl_take(ofd));
	EXPECT_EQ(PCI_DOE_INFO_TAKEN, info_flags(hfd));
	EXPECT_EQ(-EBUSY, doe_ctl_take(hfd));
	EXPECT_EQ(0, doe_ctl_pwrite(sfd, &zero, 4, mb->cap + DOE_USER_WRITE));
	close(ofd);
	EXPECT_EQ(0, info_flags(hfd));
	kernel_after_give(_metadata, mb, "close()");

	/* A holder killed with SIGKILL gives it back too */
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int fd = doe_ctl_cdev_open(mb, O_RDWR);

		c = 'n';
		if (fd >= 0 && !doe_ctl_take(fd)) {
			/* leave a stray dword in the mailbox */
			doe_ctl_pwrite(sfd, &zero, 4, mb->cap + DOE_USER_WRITE);
			c = 'y';
		}
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_EQ('y', c);
	EXPECT_EQ(child, doe_ctl_mb_holder(mb, NULL, 0));
	EXPECT_EQ(PCI_DOE_INFO_TAKEN, info_flags(hfd));
	EXPECT_EQ(-EBUSY, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(-EBUSY, doe_ctl_take(hfd));
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, NULL, 0));
	kernel_after_give(_metadata, mb, "SIGKILL of the holder");
	EXPECT_LT(0, doe_ctl_tpd_read("response", rsp, sizeof(rsp)));

	/* No takeover while the kernel holds a claim */
	ASSERT_EQ(0, doe_ctl_claim(mb));
	EXPECT_EQ(-EBUSY, doe_ctl_take(hfd));
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));
	EXPECT_EQ(PCI_DOE_INFO_KERNEL_OWNED, info_flags(hfd));
	ASSERT_EQ(0, doe_ctl_release(mb));
	/* ... nor while a kernel exchange is in flight */
	if (mb->sim_id >= 0)
		take_in_flight(_metadata, mb, hfd);
	/* ... and it works again afterwards; close() gives it back */
	EXPECT_EQ(0, doe_ctl_take(hfd));
	close(hfd);
	kernel_after_give(_metadata, mb, "the last close()");

	close(rofd);
	close(sfd);
	close(pfd);
}

TEST_F_TIMEOUT(owner, takeover, 90)
{
	int i, kfd;

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kfd) TH_LOG("/dev/kmsg: %s", strerror(errno));
	for (i = 0; i < self->n; i++)
		takeover_one(_metadata, &self->mbs[i], self->rfd[i], kfd);
	close(kfd);
}

static const char *find_setpci(void)
{
	static char path[256];
	const char *env = getenv("PATH");
	char *dirs, *dir, *save;

	if (!access("/usr/bin/setpci", X_OK))
		return "/usr/bin/setpci";
	if (!env)
		return NULL;
	dirs = strdup(env);
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/setpci", dir);
		if (!access(path, X_OK)) {
			free(dirs);
			return path;
		}
	}
	free(dirs);
	return NULL;
}

/* Run setpci, collect its output; returns its exit status */
static int run_setpci(const char *setpci, const char *args, char *out,
		      size_t len)
{
	char cmd[512];
	size_t n = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", setpci, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n < len - 1 && fgets(out + n, len - n, f))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

TEST_F(owner, setpci_client)
{
	static const char * const methods[] = { "", "-A linux-proc " };
	const char *setpci = find_setpci();
	int i, m;

	if (!setpci)
		SKIP(return, "setpci (pciutils) not found");
	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		/* /proc/bus/pci/devices has no PCI domains */
		int nr_methods = strncmp(mb->bdf, "0000:", 5) ? 1 : 2;
		struct doe_ctl_witness w;
		char args[128], out[1024];
		long d0, aborts0;
		int st, fd;

		if (nr_methods == 1)
			TH_LOG("%s: not in domain 0 (setpci -A linux-proc): sysfs only",
			       mb_name(mb));
		ASSERT_EQ(0, doe_ctl_claim(mb));
		for (m = 0; m < nr_methods; m++) {
			/* a dword into the Write Data Mailbox */
			snprintf(args, sizeof(args), "%s-s %s %x.L=0",
				 methods[m], mb->bdf, mb->cap + DOE_USER_WRITE);
			d0 = doe_ctl_mb_counter(mb, "denied_writes");
			doe_ctl_witness_start(&w, mb);
			st = run_setpci(setpci, args, out, sizeof(out));
			TH_LOG("claimed: setpci %s: exit %d: %s", args, st, out);
			EXPECT_NE(NULL, strstr(out, "Operation not permitted"));
			EXPECT_EQ(d0 + 1, doe_ctl_mb_counter(mb, "denied_writes"));
			EXPECT_DEVICE(&w, "setpci %s while claimed", args);
			/*
			 * pciutils 3.9 only warns about a failed write and
			 * exits 0; newer versions may fail.  The refusal is
			 * checked by its message, denied_writes and, on the
			 * simulator, the device.
			 */
		}
		ASSERT_EQ(0, doe_ctl_release(mb));

		for (m = 0; m < nr_methods; m++) {
			snprintf(args, sizeof(args), "%s-s %s %x.L=0",
				 methods[m], mb->bdf, mb->cap + DOE_USER_WRITE);
			d0 = doe_ctl_mb_counter(mb, "denied_writes");
			doe_ctl_witness_start(&w, mb);
			st = run_setpci(setpci, args, out, sizeof(out));
			EXPECT_EQ(0, st) TH_LOG("released: setpci %s: %s", args, out);
			EXPECT_EQ(NULL, strstr(out, "not permitted"))
				TH_LOG("released: setpci %s: %s", args, out);
			EXPECT_EQ(d0, doe_ctl_mb_counter(mb, "denied_writes"));
			doe_ctl_witness_expect(&w, mb->cap + DOE_USER_WRITE, 4);
			EXPECT_DEVICE(&w, "setpci %s once released", args);

			/* The library aborts the stray dword first, once */
			aborts0 = doe_ctl_mb_counter(mb, "aborts");
			EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
			EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"));
		}

		/* Taken through its char device: setpci works unchanged */
		fd = doe_ctl_cdev_open(mb, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, doe_ctl_take(fd));
		for (m = 0; m < nr_methods; m++) {
			snprintf(args, sizeof(args), "%s-s %s %x.L=0",
				 methods[m], mb->bdf, mb->cap + DOE_USER_WRITE);
			d0 = doe_ctl_mb_counter(mb, "denied_writes");
			doe_ctl_witness_start(&w, mb);
			st = run_setpci(setpci, args, out, sizeof(out));
			EXPECT_EQ(0, st) TH_LOG("taken: setpci %s: %s", args, out);
			EXPECT_EQ(NULL, strstr(out, "not permitted"))
				TH_LOG("taken: setpci %s: %s", args, out);
			EXPECT_EQ(d0, doe_ctl_mb_counter(mb, "denied_writes"));
			doe_ctl_witness_expect(&w, mb->cap + DOE_USER_WRITE, 4);
			EXPECT_DEVICE(&w, "setpci %s while taken", args);
		}
		/* ... while the kernel stays out until it is given back */
		EXPECT_EQ(-EBUSY, doe_ctl_claim(mb));
		aborts0 = doe_ctl_mb_counter(mb, "aborts");
		EXPECT_EQ(0, close(fd));
		EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
		EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"));
	}
}

/* A kernel Discovery that must succeed without a timeout's delay */
static void quick_discovery(struct __test_metadata *_metadata,
			    const struct doe_ctl_mb *mb, const char *after)
{
	long long t0 = doe_ctl_now_ms(), ms;
	int ret = doe_ctl_kernel_discovery(mb);

	ms = doe_ctl_now_ms() - t0;
	EXPECT_EQ(0, ret) TH_LOG("%s: kernel Discovery after %s: %s",
				 mb_name(mb), after, strerror(-ret));
	EXPECT_GT(QUICK_MS, ms) TH_LOG("%s: kernel Discovery after %s took %lld ms",
				       mb_name(mb), after, ms);
}

TEST_F(owner, stray_writes_aborted)
{
	/* Write Data Mailbox: a stray dword; Read Data Mailbox: a stray pop */
	static const struct { int reg; const char *what; } strays[] = {
		{ DOE_USER_WRITE, "a stray dword in the Write Data Mailbox" },
		{ DOE_USER_READ, "a stray Read Data Mailbox write" },
	};
	int i, p, s;

	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];

		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			int wfd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, wfd);
			for (s = 0; s < 2; s++) {
				uint32_t val = 0xdeadbeef;
				long aborts0, errors0, timeouts0, dev_aborts0;
				struct doe_ctl_witness w;
				char what[128];

				snprintf(what, sizeof(what), "%s (%s)",
					 strays[s].what, doe_ctl_path_names[p]);
				aborts0 = doe_ctl_mb_counter(mb, "aborts");
				errors0 = doe_ctl_mb_counter(mb, "errors");
				timeouts0 = doe_ctl_mb_counter(mb, "timeouts");
				dev_aborts0 = doe_ctl_sim_counter(mb, "aborts");
				doe_ctl_witness_start(&w, mb);
				EXPECT_EQ(0, doe_ctl_pwrite(wfd, &val, 4,
							    mb->cap + strays[s].reg))
					TH_LOG("%s: %s refused", mb_name(mb), what);
				doe_ctl_witness_expect(&w, mb->cap + strays[s].reg, 4);
				EXPECT_DEVICE(&w, "%s", what);
				quick_discovery(_metadata, mb, what);
				/* One abort, which the device saw */
				EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"));
				if (mb->sim_id >= 0)
					EXPECT_EQ(dev_aborts0 + 1,
						  doe_ctl_sim_counter(mb, "aborts"));
				EXPECT_EQ(errors0, doe_ctl_mb_counter(mb, "errors"));
				EXPECT_EQ(timeouts0,
					  doe_ctl_mb_counter(mb, "timeouts"));
			}
			close(wfd);
		}
	}
}

/* ---- stress ---- */

struct stress_stream {
	long runs, ok, failed;
	int first_error;
};

struct stress_shared {
	struct stress_stream s[STRESS_STREAMS];
	long writes, eperm, landed, other;
	int other_error;
	long sightings;
	uint32_t sighting_ctrl, sighting_status;
};

/* What the hammer writes, round robin, alternately through sysfs and procfs */
static const struct { int reg; uint32_t val; int when_claimed_only; } hammer[] = {
	{ DOE_USER_WRITE, 0xdeadbeef, 0 },	/* stray request dword */
	{ DOE_USER_READ, 0, 0 },		/* stray response pop */
	{ DOE_USER_CTRL, DOE_USER_CTRL_GO, 0 },	/* stray Go */
	{ DOE_USER_CTRL, DOE_CTL_CTRL_INT_EN, 1 },	/* visible if it lands */
};

static void stress_stream_child(const struct doe_ctl_mb *mb, int cdat,
				struct stress_stream *st, long long deadline)
{
	char opts[128], req[16];

	if (cdat) {
		snprintf(opts, sizeof(opts), "protocol=1e98:02 request=00000000");
	} else {
		doe_ctl_discovery_request(mb, req, sizeof(req));
		snprintf(opts, sizeof(opts), "protocol=0001:00 request=%s", req);
	}
	while (doe_ctl_now_ms() < deadline) {
		int ret = doe_ctl_tpd_on(mb, "trigger_stream", STRESS_BATCH,
					 opts);

		st->runs++;
		if (!ret) {
			st->ok++;
		} else {
			if (!st->failed)
				st->first_error = ret;
			st->failed++;
		}
	}
	_exit(0);
}

static void stress_hammer_child(const struct doe_ctl_mb *mb, int claimed,
				struct stress_shared *sh, long long deadline)
{
	int fds[2], rfd, k = 0;

	fds[0] = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
	fds[1] = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
	rfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 0);
	if (fds[0] < 0 || fds[1] < 0 || rfd < 0)
		_exit(1);
	while (doe_ctl_now_ms() < deadline) {
		int h = k % (int)ARRAY_SIZE(hammer);
		uint32_t ctrl, status;
		int ret;

		if (hammer[h].when_claimed_only && !claimed) {
			k++;
			continue;
		}
		ret = doe_ctl_pwrite(fds[k++ / 4 % 2], &hammer[h].val, 4,
				     mb->cap + hammer[h].reg);
		sh->writes++;
		if (ret == -EPERM) {
			sh->eperm++;
		} else if (!ret) {
			sh->landed++;
		} else {
			if (!sh->other)
				sh->other_error = ret;
			sh->other++;
		}
		if (!claimed)
			continue;
		/* A hammered value must never show up */
		if (doe_ctl_pread(rfd, &ctrl, 4, mb->cap + DOE_USER_CTRL) ||
		    doe_ctl_pread(rfd, &status, 4, mb->cap + DOE_USER_STATUS))
			continue;
		if ((ctrl & DOE_CTL_CTRL_INT_EN) ||
		    (status & DOE_USER_STATUS_ERROR)) {
			if (!sh->sightings) {
				sh->sighting_ctrl = ctrl;
				sh->sighting_status = status;
			}
			sh->sightings++;
		}
	}
	_exit(0);
}

static long stat_field(const char *stats, const char *name)
{
	const char *p = strstr(stats, name);

	return p ? atol(p + strlen(name)) : -1;
}

static void stress_phase(struct __test_metadata *_metadata,
			 const struct doe_ctl_mb *mb, int claimed)
{
	struct stress_shared *sh;
	pid_t pids[STRESS_STREAMS + 1];
	long denied0, aborts0, denied, aborts;
	long long deadline;
	char stats[256];
	int k, status;
	const char *phase = claimed ? "claimed" : "unclaimed";

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	/* Whatever an earlier test left in the mailbox is aborted now */
	quick_discovery(_metadata, mb, "the tests before");
	if (claimed)
		ASSERT_EQ(0, doe_ctl_claim(mb));
	denied0 = doe_ctl_mb_counter(mb, "denied_writes");
	aborts0 = doe_ctl_mb_counter(mb, "aborts");

	deadline = doe_ctl_now_ms() + STRESS_MS;
	for (k = 0; k <= STRESS_STREAMS; k++) {
		pids[k] = fork();
		ASSERT_LE(0, pids[k]);
		if (pids[k])
			continue;
		if (k == STRESS_STREAMS)
			stress_hammer_child(mb, claimed, sh, deadline);
		/* the last stream reads CDAT where the mailbox has it */
		stress_stream_child(mb, k == STRESS_STREAMS - 1 && mb->has_cdat,
				    &sh->s[k], deadline);
	}
	for (k = 0; k <= STRESS_STREAMS; k++) {
		ASSERT_EQ(pids[k], waitpid(pids[k], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}

	for (k = 0; k < STRESS_STREAMS; k++) {
		const char *what = k == STRESS_STREAMS - 1 && mb->has_cdat ?
				   "CDAT" : "Discovery";

		TH_LOG("%s %s: %s stream %d: %ld runs of %d, %ld failed%s%s",
		       mb_name(mb), phase, what, k, sh->s[k].runs,
		       STRESS_BATCH, sh->s[k].failed,
		       sh->s[k].failed ? ", first: " : "",
		       sh->s[k].failed ? strerror(-sh->s[k].first_error) : "");
		EXPECT_LT(0, sh->s[k].ok);
		EXPECT_EQ(0, sh->s[k].failed);
	}
	ASSERT_LE(0, doe_ctl_tpd_read("stream_stats", stats, sizeof(stats)));
	EXPECT_EQ(0, stat_field(stats, "mismatches "));
	EXPECT_EQ(0, stat_field(stats, "errors "));

	denied = doe_ctl_mb_counter(mb, "denied_writes") - denied0;
	TH_LOG("%s %s: hammer: %ld writes, %ld refused, %ld landed, %ld other; denied +%ld; %s",
	       mb_name(mb), phase, sh->writes, sh->eperm, sh->landed,
	       sh->other, denied, stats);
	EXPECT_LT(0, sh->writes);
	EXPECT_EQ(0, sh->other) TH_LOG("first other error: %s",
				       strerror(-sh->other_error));
	EXPECT_EQ(sh->eperm, denied);
	if (claimed) {
		EXPECT_EQ(sh->writes, sh->eperm);
		EXPECT_EQ(0, sh->sightings)
			TH_LOG("hammered value seen: Control %#x Status %#x",
			       sh->sighting_ctrl, sh->sighting_status);
		ASSERT_EQ(0, doe_ctl_release(mb));
	}

	/* Whatever landed is aborted before the next kernel exchange */
	quick_discovery(_metadata, mb, "the hammer");
	aborts = doe_ctl_mb_counter(mb, "aborts") - aborts0;
	TH_LOG("%s %s: %ld aborts", mb_name(mb), phase, aborts);
	if (claimed) {
		/* Nothing landed: no exchange had anything to abort */
		EXPECT_EQ(0, aborts);
	} else if (sh->landed) {
		/* At most one per write that landed, at least one */
		EXPECT_TRUE(aborts >= 1 && aborts <= sh->landed)
			TH_LOG("%ld aborts for %ld writes that landed", aborts,
			       sh->landed);
	}
	munmap(sh, sizeof(*sh));
}

TEST_F_TIMEOUT(owner, stress, 180)
{
	int i, sim = 0;

	for (i = 0; i < self->n; i++) {
		/* One simulated mailbox is enough: they are all the same */
		if (self->mbs[i].sim_id >= 0 && sim++)
			continue;
		stress_phase(_metadata, &self->mbs[i], 1);
		stress_phase(_metadata, &self->mbs[i], 0);
	}
}

/*
 * /proc/bus/pci files are written at the file position truncated to an
 * int; an offset of 4 GiB + X writes at X.  The kernel must vet the write
 * against the block at X: EPERM while claimed and nothing written; when
 * unowned it goes through and is aborted before the next kernel exchange.
 * Runs last: a kernel that gets this wrong leaves the mailbox slow.
 */
TEST_F(owner, procfs_offset_beyond_4g)
{
	int i;

	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		off_t far = (1LL << 32) + mb->cap + DOE_USER_WRITE;
		uint32_t val = 0xdeadbeef;
		int wfd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1), ret;
		struct doe_ctl_witness w;
		long d0, aborts0;

		ASSERT_LE(0, wfd);
		/* Claimed: refused like a write at the block, nothing written */
		ASSERT_EQ(0, doe_ctl_claim(mb));
		d0 = doe_ctl_mb_counter(mb, "denied_writes");
		doe_ctl_witness_start(&w, mb);
		ret = doe_ctl_pwrite(wfd, &val, 4, far);
		EXPECT_EQ(-EPERM, ret)
			TH_LOG("%s: a write at %#llx while claimed: %s",
			       mb_name(mb), (long long)far,
			       ret ? strerror(-ret) : "written");
		EXPECT_DEVICE(&w, "a refused write at %#llx", (long long)far);
		EXPECT_EQ(d0 + 1, doe_ctl_mb_counter(mb, "denied_writes"));
		ASSERT_EQ(0, doe_ctl_release(mb));

		/*
		 * Unowned: it is the write at the Write Data Mailbox, which
		 * the kernel aborts before its next exchange; the ones after
		 * that need no abort.
		 */
		quick_discovery(_metadata, mb, "the release");
		aborts0 = doe_ctl_mb_counter(mb, "aborts");
		doe_ctl_witness_start(&w, mb);
		ret = doe_ctl_pwrite(wfd, &val, 4, far);
		EXPECT_EQ(0, ret) TH_LOG("%s: unowned, write at %#llx: %s",
					 mb_name(mb), (long long)far,
					 strerror(-ret));
		doe_ctl_witness_expect(&w, mb->cap + DOE_USER_WRITE, 4);
		EXPECT_DEVICE(&w, "an allowed write at %#llx", (long long)far);
		quick_discovery(_metadata, mb, "a write above 4 GiB");
		EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"));
		quick_discovery(_metadata, mb, "a write above 4 GiB, twice");
		EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"));
		close(wfd);
	}
}

int main(int argc, char **argv)
{
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	char policy[32];

	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("needs root\n");
	}
	if (doe_ctl_policy(policy, sizeof(policy))) {
		ksft_print_header();
		ksft_exit_skip("no pci_doe.policy parameter: kernel without DOE ownership\n");
	}
	if (strcmp(policy, "strict")) {
		ksft_print_header();
		ksft_exit_skip("pci_doe.policy=%s; these tests need strict (see pci_doe_policy)\n",
			       policy);
	}
	if (!doe_ctl_tpd_present()) {
		ksft_print_header();
		ksft_exit_skip("no %s: build with CONFIG_TEST_PCI_DOE and mount debugfs\n",
			       doe_ctl_tpd_dir());
	}
	if (doe_ctl_mailboxes(mbs, DOE_CTL_MAX_MBS) <= 0) {
		ksft_print_header();
		ksft_exit_skip("no DOE mailbox in " DOE_CTL_CLASS_DIR "\n");
	}
	return test_harness_run(argc, argv);
}
