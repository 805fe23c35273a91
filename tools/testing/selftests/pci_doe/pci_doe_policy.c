// SPDX-License-Identifier: GPL-2.0
/*
 * DOE mailbox write policy selftests.
 *
 * The policy is chosen at boot with pci_doe.policy=relaxed|strict|locked
 * and shown in /sys/module/pci_doe/parameters/policy; each test checks one
 * policy and skips under the others, so the program runs once per boot:
 *
 *  policy_parameter  the parameter reads as one of the three and cannot
 *                    be changed at run time
 *  strict            writes to a claimed block are refused; once released,
 *                    userspace and then the kernel exchange on it
 *  relaxed           writes to a claimed block go through, each logging
 *                    one "... while the kernel owns the mailbox" line and
 *                    counting in overridden_writes (and tainting the
 *                    kernel, TAINT_USER); writes to an idle block do
 *                    neither; the kernel's next exchange aborts first and
 *                    works
 *  locked            every write to a block is refused (and logged, naming
 *                    PCI_DOE_IOC_TAKE) unless the mailbox is taken
 *
 * Under every policy, a mailbox taken through its char device
 * (/dev/pci_doe/<name>, PCI_DOE_IOC_TAKE) admits every root config write,
 * through sysfs and /proc/bus/pci alike, and keeps the kernel out (EBUSY)
 * until it is given back; a claimed one cannot be taken.
 *
 * The kernel side is played by the test_pci_doe module (debugfs).  Where
 * the DOE simulator is built in (lib/pci_doe_sim.c), each test also runs on
 * the two mailboxes of a simulated function, whose counters show that a
 * refused write reached the device not at all and an allowed one with
 * exactly its accesses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

#define POLICY_FILE	"/sys/module/pci_doe/parameters/policy"
#define SIM_MBS		2
/* dev_err_ratelimited(): 10 messages per 5 s */
#define RATELIMIT_BURST	10
#define RATELIMIT_MS	5000
#define OVERRIDE_MSG	"while the kernel owns the mailbox"
#define LOCKED_MSG	"policy is locked, take it with PCI_DOE_IOC_TAKE first"

FIXTURE(policy) {
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	int n;
	char policy[32];
	int sim_id;
	char sim_bdf[32];
};

FIXTURE_SETUP(policy)
{
	int i;

	self->sim_id = -1;
	ASSERT_EQ(0, doe_ctl_policy(self->policy, sizeof(self->policy)));
	if (doe_ctl_sim_present())
		ASSERT_EQ(0, doe_ctl_sim_add(SIM_MBS, &self->sim_id,
					     self->sim_bdf,
					     sizeof(self->sim_bdf)));
	self->n = doe_ctl_mailboxes(self->mbs, DOE_CTL_MAX_MBS);
	ASSERT_LT(0, self->n);
	ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	for (i = 0; i < self->n; i++)
		ASSERT_EQ(0, doe_ctl_mb_claims(&self->mbs[i]))
			TH_LOG("%s@%#x is claimed by another kernel user",
			       self->mbs[i].bdf, self->mbs[i].cap);
}

FIXTURE_TEARDOWN(policy)
{
	doe_ctl_tpd_write("reset", "1");
	if (self->sim_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(self->sim_id));
}

/*
 * Write the current value of a block register back through @path; the
 * device must see the write if it went through, nothing if it did not.
 */
static int write_back_seen(struct __test_metadata *_metadata,
			   const struct doe_ctl_mb *mb, int fd, int reg)
{
	struct doe_ctl_witness w;
	uint32_t val;
	int rfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 0), ret;

	if (rfd < 0)
		return rfd;
	ret = doe_ctl_pread(rfd, &val, 4, mb->cap + reg);
	close(rfd);
	if (ret)
		return ret;
	doe_ctl_witness_start(&w, mb);
	ret = doe_ctl_pwrite(fd, &val, 4, mb->cap + reg);
	if (!ret)
		doe_ctl_witness_expect(&w, mb->cap + reg, 4);
	EXPECT_DEVICE(&w, "a write of %#x (%s)", mb->cap + reg,
		      ret ? strerror(-ret) : "written");
	return ret;
}

/* A dword at @reg of the block: refused, and the device saw nothing */
static int write_dword_seen(struct __test_metadata *_metadata,
			    const struct doe_ctl_mb *mb, int fd, int reg,
			    uint32_t val)
{
	struct doe_ctl_witness w;
	int ret;

	doe_ctl_witness_start(&w, mb);
	ret = doe_ctl_pwrite(fd, &val, 4, mb->cap + reg);
	if (!ret)
		doe_ctl_witness_expect(&w, mb->cap + reg, 4);
	EXPECT_DEVICE(&w, "a write of %#x (%s)", mb->cap + reg,
		      ret ? strerror(-ret) : "written");
	return ret;
}

/* PCI_DOE_IOC_TAKE through a new open file of the char device, closed */
static int take_once(const struct doe_ctl_mb *mb)
{
	int fd = doe_ctl_cdev_open(mb, O_RDWR), ret;

	if (fd < 0)
		return fd;
	ret = doe_ctl_take(fd);
	close(fd);
	return ret;
}

/* A kernel Discovery after userspace touched the mailbox: aborts first */
static void kernel_after_user(struct __test_metadata *_metadata,
			      const struct doe_ctl_mb *mb)
{
	long aborts0 = doe_ctl_mb_counter(mb, "aborts");
	int ret = doe_ctl_kernel_discovery(mb);

	EXPECT_EQ(0, ret) TH_LOG("%s@%#x: kernel Discovery: %s", mb->bdf,
				 mb->cap, strerror(-ret));
	/* Exactly one: what root left is aborted once, before the request */
	EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"));
}

/*
 * Take the mailbox through its char device: the kernel gets EBUSY; root's
 * writes through sysfs and /proc/bus/pci and whole Discoveries through
 * each go through, none denied or counted as overridden (the kernel does
 * not own the mailbox); then give it back.
 */
static void taken_admits_all(struct __test_metadata *_metadata,
			     const struct doe_ctl_mb *mb)
{
	int hfd = doe_ctl_cdev_open(mb, O_RDWR), fds[2], p, ret;
	long d0, o0;
	char got[256];

	fds[DOE_CTL_SYSFS] = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
	fds[DOE_CTL_PROCFS] = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
	ASSERT_LE(0, hfd) TH_LOG("%s@%#x: char device: %s", mb->bdf, mb->cap,
				 strerror(-hfd));
	ASSERT_LE(0, fds[DOE_CTL_SYSFS]);
	ASSERT_LE(0, fds[DOE_CTL_PROCFS]);
	ASSERT_EQ(0, doe_ctl_take(hfd));
	EXPECT_EQ(-EBUSY, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(-EBUSY, doe_ctl_claim(mb));

	d0 = doe_ctl_mb_counter(mb, "denied_writes");
	o0 = doe_ctl_mb_counter(mb, "overridden_writes");
	for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
		EXPECT_EQ(0, write_back_seen(_metadata, mb, fds[p],
					     DOE_USER_CTRL))
			TH_LOG("%s@%#x: taken, %s write refused", mb->bdf,
			       mb->cap, doe_ctl_path_names[p]);
		ret = doe_ctl_user_discovery(mb, fds[p], got, sizeof(got));
		EXPECT_LT(0, ret) TH_LOG("%s@%#x: taken, Discovery through %s: %s",
					 mb->bdf, mb->cap,
					 doe_ctl_path_names[p], strerror(-ret));
		EXPECT_STREQ(mb->protocols, got);
	}
	EXPECT_EQ(d0, doe_ctl_mb_counter(mb, "denied_writes"));
	EXPECT_EQ(o0, doe_ctl_mb_counter(mb, "overridden_writes"));

	ASSERT_EQ(0, doe_ctl_give(hfd));
	kernel_after_user(_metadata, mb);
	close(hfd);
	close(fds[DOE_CTL_SYSFS]);
	close(fds[DOE_CTL_PROCFS]);
}

TEST_F(policy, policy_parameter)
{
	static const char * const names[] = { "relaxed", "strict", "locked" };
	const char *other;
	char after[32];
	int i, found = 0, ret;

	for (i = 0; i < 3; i++)
		found |= !strcmp(self->policy, names[i]);
	EXPECT_TRUE(found) TH_LOG("policy \"%s\"", self->policy);
	TH_LOG("pci_doe.policy=%s", self->policy);

	/* Boot time only */
	other = strcmp(self->policy, "relaxed") ? "relaxed" : "locked";
	ret = doe_user_write_file(POLICY_FILE, other);
	EXPECT_NE(0, ret) TH_LOG("the policy could be changed at run time");
	ASSERT_EQ(0, doe_ctl_policy(after, sizeof(after)));
	EXPECT_STREQ(self->policy, after);
}

TEST_F(policy, strict)
{
	int i, p;

	if (strcmp(self->policy, "strict"))
		SKIP(return, "pci_doe.policy=%s", self->policy);
	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		char got[256];
		int fd, n;

		/* Claimed: refused through both paths */
		ASSERT_EQ(0, doe_ctl_claim(mb));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			long d0 = doe_ctl_mb_counter(mb, "denied_writes");

			fd = doe_ctl_open(mb->bdf, p, 1);
			ASSERT_LE(0, fd);
			EXPECT_EQ(-EPERM, write_dword_seen(_metadata, mb, fd,
							   DOE_USER_WRITE, 0));
			EXPECT_EQ(-EPERM, write_back_seen(_metadata, mb, fd, DOE_USER_CTRL));
			EXPECT_EQ(d0 + 2, doe_ctl_mb_counter(mb, "denied_writes"));
			close(fd);
		}
		EXPECT_EQ(-EBUSY, take_once(mb));
		ASSERT_EQ(0, doe_ctl_release(mb));

		/* Released: userspace Discovery, then the kernel */
		fd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
		ASSERT_LE(0, fd);
		n = doe_ctl_user_discovery(mb, fd, got, sizeof(got));
		close(fd);
		EXPECT_LT(0, n) TH_LOG("%s@%#x: userspace Discovery: %s",
				       mb->bdf, mb->cap, strerror(-n));
		EXPECT_STREQ(mb->protocols, got);
		kernel_after_user(_metadata, mb);

		taken_admits_all(_metadata, mb);
	}
}

/*
 * The rate limit of the kernel's message: at most RATELIMIT_BURST - 1 of
 * ours per window, then wait for the next one (with a margin).  A window
 * opens at the first message after the last one closed.
 */
struct override_log {
	int kfd;		/* /dev/kmsg */
	long long window;	/* when our first message of the window went */
	int logged;		/* our messages in it */
};

static void override_budget(struct override_log *l)
{
	long long now = doe_ctl_now_ms(), end = l->window + RATELIMIT_MS + 500;

	if (l->logged && now >= end)
		l->logged = 0;
	if (l->logged == RATELIMIT_BURST - 1) {
		usleep((end - now) * 1000);
		l->logged = 0;
	}
	if (!l->logged)
		l->window = doe_ctl_now_ms();
	l->logged++;
}

/*
 * One dword written at @reg of the block of @mb, which the kernel owns
 * (@owned) or not: it goes through and reaches the device; if owned it
 * logs exactly one line and counts once in overridden_writes, else
 * neither; never in denied_writes.
 */
static void relaxed_write(struct __test_metadata *_metadata,
			  struct override_log *l, const struct doe_ctl_mb *mb,
			  enum doe_ctl_path p, int fd, int reg, uint32_t val,
			  int owned)
{
	long o0 = doe_ctl_mb_counter(mb, "overridden_writes");
	long d0 = doe_ctl_mb_counter(mb, "denied_writes");
	struct doe_ctl_witness w;
	char tag[96], line[512] = "";
	int ret, lines;

	if (owned)
		override_budget(l);
	snprintf(tag, sizeof(tag), "%s: DOE mailbox %#x:", mb->bdf, mb->cap);
	lseek(l->kfd, 0, SEEK_END);
	doe_ctl_witness_start(&w, mb);
	ret = doe_ctl_pwrite(fd, &val, 4, mb->cap + reg);
	EXPECT_EQ(0, ret) TH_LOG("%s@%#x %s: write at %#x %s: %s", mb->bdf,
				 mb->cap, doe_ctl_path_names[p], mb->cap + reg,
				 owned ? "(claimed)" : "(idle)", strerror(-ret));
	doe_ctl_witness_expect(&w, mb->cap + reg, 4);
	EXPECT_DEVICE(&w, "a write at %#x (%s)", mb->cap + reg,
		      doe_ctl_path_names[p]);
	lines = doe_ctl_kmsg_count(l->kfd, tag, OVERRIDE_MSG, NULL, line,
				   sizeof(line));
	EXPECT_EQ(owned ? 1 : 0, lines)
		TH_LOG("%s@%#x %s: write at %#x %s: %d \"%s ... " OVERRIDE_MSG "\" lines, not %d",
		       mb->bdf, mb->cap, doe_ctl_path_names[p], mb->cap + reg,
		       owned ? "(claimed)" : "(idle)", lines, tag,
		       owned ? 1 : 0);
	if (lines == 1 && owned && reg == DOE_USER_WRITE &&
	    p == DOE_CTL_SYSFS)
		TH_LOG("%s", line);
	EXPECT_EQ(o0 + (owned ? 1 : 0),
		  doe_ctl_mb_counter(mb, "overridden_writes"))
		TH_LOG("%s@%#x %s: overridden_writes %ld before the write",
		       mb->bdf, mb->cap, doe_ctl_path_names[p], o0);
	EXPECT_EQ(d0, doe_ctl_mb_counter(mb, "denied_writes"));
	if (owned)
		EXPECT_TRUE(doe_ctl_tainted() & DOE_CTL_TAINT_USER)
			TH_LOG("%s@%#x %s: claimed block written, no TAINT_USER (%lu)",
			       mb->bdf, mb->cap, doe_ctl_path_names[p],
			       doe_ctl_tainted());
}

TEST_F_TIMEOUT(policy, relaxed, 120)
{
	struct override_log l = { 0 };
	int i, p;

	if (strcmp(self->policy, "relaxed"))
		SKIP(return, "pci_doe.policy=%s", self->policy);
	l.kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, l.kfd) TH_LOG("/dev/kmsg: %s", strerror(errno));
	/* A rate limit window opened before this test has closed by then */
	sleep(RATELIMIT_MS / 1000 + 1);

	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		int rfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 0);
		uint32_t ctrl;

		ASSERT_LE(0, rfd);
		ASSERT_EQ(0, doe_ctl_pread(rfd, &ctrl, 4,
					   mb->cap + DOE_USER_CTRL));
		close(rfd);

		/* Idle: written, not logged, not counted as overridden */
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			int fd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, fd);
			relaxed_write(_metadata, &l, mb, p, fd, DOE_USER_CTRL,
				      ctrl, 0);
			close(fd);
		}
		kernel_after_user(_metadata, mb);

		/* Claimed: written, logged and counted, each write */
		ASSERT_EQ(0, doe_ctl_claim(mb));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			int fd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, fd);
			relaxed_write(_metadata, &l, mb, p, fd, DOE_USER_CTRL,
				      ctrl, 1);
			/* a stray dword: the kernel must cope */
			relaxed_write(_metadata, &l, mb, p, fd, DOE_USER_WRITE,
				      0xdeadbeef, 1);
			close(fd);
			kernel_after_user(_metadata, mb);
		}
		ASSERT_EQ(0, doe_ctl_release(mb));

		/* A taken mailbox admits every writer, none overridden */
		taken_admits_all(_metadata, mb);
	}
	close(l.kfd);
}

/* The denial names the way out: "... denied ... PCI_DOE_IOC_TAKE first" */
static int locked_denials(int kfd, const struct doe_ctl_mb *mb, char *line,
			  size_t len)
{
	char tag[96];

	snprintf(tag, sizeof(tag), "DOE mailbox %#x: denied", mb->cap);
	return doe_ctl_kmsg_count(kfd, mb->bdf, tag, LOCKED_MSG, line, len);
}

TEST_F_TIMEOUT(policy, locked, 60)
{
	char line[512];
	int i, p, kfd, logged = 0;

	if (strcmp(self->policy, "locked"))
		SKIP(return, "pci_doe.policy=%s", self->policy);
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kfd) TH_LOG("/dev/kmsg: %s", strerror(errno));
	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		long aborts0;

		/* What earlier tests left is aborted now */
		EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
		/* Unclaimed, not taken: refused all the same */
		lseek(kfd, 0, SEEK_END);
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			long d0 = doe_ctl_mb_counter(mb, "denied_writes");
			int fd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, fd);
			EXPECT_EQ(-EPERM, write_back_seen(_metadata, mb, fd, DOE_USER_CTRL));
			EXPECT_EQ(-EPERM, write_dword_seen(_metadata, mb, fd,
							   DOE_USER_WRITE, 0));
			EXPECT_EQ(d0 + 2, doe_ctl_mb_counter(mb, "denied_writes"));
			close(fd);
		}
		/*
		 * The message is rate limited (10 per 5 s): checked on the
		 * first mailbox, once more after the interval if need be
		 */
		if (!i) {
			logged = locked_denials(kfd, mb, line, sizeof(line));
			if (!logged) {
				int fd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);

				ASSERT_LE(0, fd);
				sleep(RATELIMIT_MS / 1000 + 1);
				lseek(kfd, 0, SEEK_END);
				EXPECT_EQ(-EPERM, write_dword_seen(_metadata, mb, fd,
								   DOE_USER_WRITE, 0));
				close(fd);
				logged = locked_denials(kfd, mb, line,
							sizeof(line));
			}
			EXPECT_LT(0, logged)
				TH_LOG("%s@%#x: no \"denied ... %s\" line",
				       mb->bdf, mb->cap, LOCKED_MSG);
			if (logged)
				TH_LOG("%s", line);
		}
		/* The kernel is not affected: nothing to abort */
		aborts0 = doe_ctl_mb_counter(mb, "aborts");
		EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
		EXPECT_EQ(aborts0, doe_ctl_mb_counter(mb, "aborts"));

		/* Taken: every root write goes through */
		taken_admits_all(_metadata, mb);

		/* Claimed: no takeover, no writes */
		ASSERT_EQ(0, doe_ctl_claim(mb));
		EXPECT_EQ(-EBUSY, take_once(mb));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			int fd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, fd);
			EXPECT_EQ(-EPERM, write_back_seen(_metadata, mb, fd,
							  DOE_USER_CTRL));
			close(fd);
		}
		ASSERT_EQ(0, doe_ctl_release(mb));
	}
	close(kfd);
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
		ksft_exit_skip("no " POLICY_FILE ": kernel without DOE ownership\n");
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
