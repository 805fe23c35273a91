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
 *  relaxed           writes to a claimed block go through and taint the
 *                    kernel (TAINT_USER); the kernel's next exchange aborts
 *                    first and works; a held mailbox still admits its
 *                    holder only
 *  locked            every write to a block is refused unless made through
 *                    the /proc/bus/pci file that took the mailbox
 *
 * The kernel side is played by the test_pci_doe module (debugfs).
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

FIXTURE(policy) {
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	int n;
	char policy[32];
};

FIXTURE_SETUP(policy)
{
	int i;

	ASSERT_EQ(0, doe_ctl_policy(self->policy, sizeof(self->policy)));
	self->n = doe_ctl_mailboxes(self->mbs, DOE_CTL_MAX_MBS);
	ASSERT_LT(0, self->n);
	ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	for (i = 0; i < self->n; i++)
		ASSERT_EQ(0, doe_ctl_mb_counter(&self->mbs[i], "claims"))
			TH_LOG("%s@%#x is claimed by another kernel user",
			       self->mbs[i].bdf, self->mbs[i].cap);
}

FIXTURE_TEARDOWN(policy)
{
	doe_ctl_tpd_write("reset", "1");
}

/* Write the current value of a block register back through @path */
static int write_back(const struct doe_ctl_mb *mb, enum doe_ctl_path path,
		      int fd, int reg)
{
	uint32_t val;
	int rfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 0), ret;

	if (rfd < 0)
		return rfd;
	ret = doe_ctl_pread(rfd, &val, 4, mb->cap + reg);
	close(rfd);
	if (ret)
		return ret;
	return doe_ctl_pwrite(fd, &val, 4, mb->cap + reg);
}

/* PCIIOC_DOE_TAKE through a new /proc/bus/pci file, closed at once */
static int take_once(const struct doe_ctl_mb *mb)
{
	int fd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1), ret;

	if (fd < 0)
		return fd;
	ret = doe_ctl_take(fd, mb->cap);
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
	EXPECT_LT(aborts0, doe_ctl_mb_counter(mb, "aborts"));
}

/*
 * Take the mailbox through /proc/bus/pci: the holder's writes and a whole
 * Discovery go through, every other writer is refused; then give it back.
 */
static void holder_only(struct __test_metadata *_metadata,
			const struct doe_ctl_mb *mb)
{
	int hfd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
	int ofd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
	int sfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 1);
	char got[256];
	long d0;
	int ret;

	ASSERT_LE(0, hfd);
	ASSERT_LE(0, ofd);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, doe_ctl_take(hfd, mb->cap));
	EXPECT_EQ(-EBUSY, doe_ctl_kernel_discovery(mb));
	EXPECT_EQ(-EBUSY, doe_ctl_claim(mb));

	EXPECT_EQ(0, write_back(mb, DOE_CTL_PROCFS, hfd, DOE_USER_CTRL));
	ret = doe_ctl_user_discovery(mb, hfd, got, sizeof(got));
	EXPECT_LT(0, ret) TH_LOG("%s@%#x: Discovery through the holder: %s",
				 mb->bdf, mb->cap, strerror(-ret));
	EXPECT_STREQ(mb->protocols, got);

	d0 = doe_ctl_mb_counter(mb, "denied_writes");
	EXPECT_EQ(-EPERM, write_back(mb, DOE_CTL_SYSFS, sfd, DOE_USER_CTRL));
	EXPECT_EQ(-EPERM, write_back(mb, DOE_CTL_PROCFS, ofd, DOE_USER_CTRL));
	EXPECT_EQ(d0 + 2, doe_ctl_mb_counter(mb, "denied_writes"));

	ASSERT_EQ(0, doe_ctl_give(hfd, mb->cap));
	kernel_after_user(_metadata, mb);
	close(hfd);
	close(ofd);
	close(sfd);
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
		uint32_t zero = 0;
		char got[256];
		int fd, n;

		/* Claimed: refused through both paths */
		ASSERT_EQ(0, doe_ctl_claim(mb));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			long d0 = doe_ctl_mb_counter(mb, "denied_writes");

			fd = doe_ctl_open(mb->bdf, p, 1);
			ASSERT_LE(0, fd);
			EXPECT_EQ(-EPERM, doe_ctl_pwrite(fd, &zero, 4,
							 mb->cap + DOE_USER_WRITE));
			EXPECT_EQ(-EPERM, write_back(mb, p, fd, DOE_USER_CTRL));
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

		holder_only(_metadata, mb);
	}
}

TEST_F(policy, relaxed)
{
	unsigned long taint0 = doe_ctl_tainted();
	int i, p;

	if (strcmp(self->policy, "relaxed"))
		SKIP(return, "pci_doe.policy=%s", self->policy);
	if (taint0 & DOE_CTL_TAINT_USER)
		TH_LOG("TAINT_USER was already set (tainted %lu): its check proves nothing",
		       taint0);
	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		uint32_t stray = 0xdeadbeef;

		ASSERT_EQ(0, doe_ctl_claim(mb));
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			long d0 = doe_ctl_mb_counter(mb, "denied_writes");
			int fd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, fd);
			EXPECT_EQ(0, write_back(mb, p, fd, DOE_USER_CTRL))
				TH_LOG("%s@%#x %s: write to a claimed block refused",
				       mb->bdf, mb->cap, doe_ctl_path_names[p]);
			/* a stray dword: the kernel must cope */
			EXPECT_EQ(0, doe_ctl_pwrite(fd, &stray, 4,
						    mb->cap + DOE_USER_WRITE));
			EXPECT_EQ(d0, doe_ctl_mb_counter(mb, "denied_writes"));
			EXPECT_TRUE(doe_ctl_tainted() & DOE_CTL_TAINT_USER)
				TH_LOG("%s@%#x %s: claimed block written, no TAINT_USER (%lu)",
				       mb->bdf, mb->cap, doe_ctl_path_names[p],
				       doe_ctl_tainted());
			close(fd);
			kernel_after_user(_metadata, mb);
		}
		ASSERT_EQ(0, doe_ctl_release(mb));

		/* Taking a mailbox still keeps every other writer out */
		holder_only(_metadata, mb);
	}
}

TEST_F(policy, locked)
{
	int i, p;

	if (strcmp(self->policy, "locked"))
		SKIP(return, "pci_doe.policy=%s", self->policy);
	for (i = 0; i < self->n; i++) {
		const struct doe_ctl_mb *mb = &self->mbs[i];
		int hfd;

		/* Unclaimed, not taken: refused all the same */
		for (p = DOE_CTL_SYSFS; p <= DOE_CTL_PROCFS; p++) {
			long d0 = doe_ctl_mb_counter(mb, "denied_writes");
			uint32_t zero = 0;
			int fd = doe_ctl_open(mb->bdf, p, 1);

			ASSERT_LE(0, fd);
			EXPECT_EQ(-EPERM, write_back(mb, p, fd, DOE_USER_CTRL));
			EXPECT_EQ(-EPERM, doe_ctl_pwrite(fd, &zero, 4,
							 mb->cap + DOE_USER_WRITE));
			EXPECT_EQ(d0 + 2, doe_ctl_mb_counter(mb, "denied_writes"));
			close(fd);
		}
		/* The kernel is not affected */
		EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));

		/* Taken: the holder only */
		holder_only(_metadata, mb);

		/* Claimed: no takeover, no writes */
		ASSERT_EQ(0, doe_ctl_claim(mb));
		hfd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
		ASSERT_LE(0, hfd);
		EXPECT_EQ(-EBUSY, doe_ctl_take(hfd, mb->cap));
		EXPECT_EQ(-EPERM, write_back(mb, DOE_CTL_PROCFS, hfd,
					     DOE_USER_CTRL));
		close(hfd);
		ASSERT_EQ(0, doe_ctl_release(mb));
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
		ksft_exit_skip("no " POLICY_FILE ": kernel without DOE ownership\n");
	}
	if (!doe_ctl_tpd_present()) {
		ksft_print_header();
		ksft_exit_skip("no %s: build with CONFIG_TEST_PCI_DOE and mount debugfs\n",
			       doe_ctl_tpd_dir());
	}
	if (doe_ctl_mailboxes(mbs, DOE_CTL_MAX_MBS) <= 0) {
		ksft_print_header();
		ksft_exit_skip("no DOE mailbox in /sys/bus/pci/devices/*/doe/\n");
	}
	return test_harness_run(argc, argv);
}
