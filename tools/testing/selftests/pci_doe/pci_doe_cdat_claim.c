// SPDX-License-Identifier: GPL-2.0
/*
 * pci_doe_cdat_claim: the CXL driver holds a claim on the DOE mailbox for
 * the whole CDAT read of a port (patches/0006), so that root's writes
 * cannot land between two entries of one table.
 *
 * A root thread hammers the Write Data Mailbox of the type 3 device
 * through sysfs config while cxl_pci is unbound and bound again, which
 * makes the CXL core read the endpoint's CDAT again.  Under the strict
 * policy:
 *
 *  table_intact        after every rebind the endpoint's CDAT is the same
 *                      bytes as before, and the mailbox was aborted at most
 *                      once per read (the stray dwords that landed before
 *                      the claim): none landed between two entries, which
 *                      without the claim makes the next entry abort first
 *  claim_names_port    at least one write was refused while the CXL driver
 *                      held its claim, and the denial names it
 *                      ("claimed by cxl endpoint...")
 *
 * The relaxed policy lets writes into an exchange (it then fails, and the
 * table with it) and locked refuses every write whatever the claim: both
 * skip.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

#define CXL_PCI_DRIVER	"/sys/bus/pci/drivers/cxl_pci"
#define CDAT_MAX	65536
/* Rebinds to try for a write refused during the claim */
#define TRIES		24
/* Hammer threads, one per vCPU of the harness */
#define HAMMERS		2
/* How long a rebind may take to bring the endpoint's CDAT back, ms */
#define REBIND_MS	20000

struct hammer {
	int fd;
	off_t off;
	atomic_int stop;
	atomic_long ok, refused, other;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	uint32_t dw = 0x5a5a5a5a;

	while (!atomic_load(&h->stop)) {
		ssize_t n = pwrite(h->fd, &dw, sizeof(dw), h->off);

		if (n == sizeof(dw))
			atomic_fetch_add(&h->ok, 1);
		else if (n < 0 && errno == EPERM)
			atomic_fetch_add(&h->refused, 1);
		else
			atomic_fetch_add(&h->other, 1);
	}
	return NULL;
}

/* The one endpoint CDAT; its length, 0 if there is none, -1 if several */
/* The CDAT the CXL driver read from @bdf, at most @len bytes; 0 if none */
static ssize_t endpoint_cdat(const char *bdf, unsigned char *buf, size_t len)
{
	char path[PATH_MAX];
	uint8_t *data;
	size_t n;

	if (doe_ctl_kernel_cdat(bdf, &data, &n, path, sizeof(path)))
		return 0;
	if (n > len)
		n = len;
	memcpy(buf, data, n);
	free(data);
	return n;
}

/*
 * The PCI function cxl_pci is bound to; of several, the first that does
 * not serve one of the harness's CDAT files (scripts/cdat-tables.sh)
 */
static int cxl_pci_function(char *bdf, size_t len)
{
	struct dirent *e;
	DIR *d = opendir(CXL_PCI_DRIVER);
	int found = 0;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (!strchr(e->d_name, ':') || found || n >= len ||
		    doe_user_harness_table(e->d_name) != DOE_USER_TABLE_NONE)
			continue;
		memcpy(bdf, e->d_name, n + 1);
		found = 1;
	}
	closedir(d);
	return found ? 0 : -ENOENT;
}

/*
 * Mark the kernel log (the ring buffer is not cleared: the harness dumps
 * it after the tests and scans it)
 */
static void klog_mark(const char *mark)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, mark, strlen(mark)) < 0)
		perror("/dev/kmsg");
	close(fd);
}

/* Does the kernel log hold @needle after the last @mark? */
static int klog_has_after(const char *mark, const char *needle)
{
	int size = klogctl(10, NULL, 0), n, hit = 0;
	char *buf, *p, *last = NULL;

	if (size <= 0)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	n = klogctl(3, buf, size);
	buf[n > 0 ? n : 0] = '\0';
	for (p = buf; (p = strstr(p, mark)); p++)
		last = p;
	if (last)
		hit = !!strstr(last, needle);
	free(buf);
	return hit;
}

FIXTURE(cdat)
{
	char bdf[32];
	struct doe_ctl_mb mb;
	unsigned char ref[CDAT_MAX];
	ssize_t ref_len;
};

FIXTURE_SETUP(cdat)
{
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	char policy[32];
	int n, i, found = 0;

	if (doe_ctl_policy(policy, sizeof(policy)) == 0 &&
	    strcmp(policy, "strict"))
		SKIP(return, "policy %s: the claim's effect is seen under strict only",
		     policy);
	ASSERT_EQ(0, cxl_pci_function(self->bdf, sizeof(self->bdf)))
		TH_LOG("no function bound to cxl_pci");
	n = doe_ctl_mailboxes(mbs, DOE_CTL_MAX_MBS);
	for (i = 0; i < n; i++)
		if (!strcmp(mbs[i].bdf, self->bdf) && mbs[i].has_cdat) {
			self->mb = mbs[i];
			found = 1;
		}
	ASSERT_TRUE(found) TH_LOG("%s has no CDAT mailbox", self->bdf);
	self->ref_len = endpoint_cdat(self->bdf, self->ref, sizeof(self->ref));
	ASSERT_GT(self->ref_len, 16) TH_LOG("no endpoint CDAT to compare with");
}

FIXTURE_TEARDOWN(cdat)
{
}

/* Unbind and bind cxl_pci; 0 once the endpoint's CDAT is back */
static int rebind(const char *bdf, unsigned char *buf, ssize_t *len)
{
	long long end;
	int rc;

	rc = doe_user_write_file(CXL_PCI_DRIVER "/unbind", bdf);
	if (rc)
		return rc;
	rc = doe_user_write_file(CXL_PCI_DRIVER "/bind", bdf);
	if (rc)
		return rc;
	end = doe_ctl_now_ms() + REBIND_MS;
	while (doe_ctl_now_ms() < end) {
		*len = endpoint_cdat(bdf, buf, CDAT_MAX);
		if (*len > 0)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

TEST_F_TIMEOUT(cdat, table_intact_and_claim_names_port, 300)
{
	static unsigned char got[CDAT_MAX];
	struct hammer h = {};
	long denied0 = doe_ctl_mb_counter(&self->mb, "denied_writes");
	int try, named = 0, i;
	pthread_t t[HAMMERS];
	long aborts;
	ssize_t len;

	h.fd = doe_ctl_open(self->bdf, DOE_CTL_SYSFS, 1);
	ASSERT_GE(h.fd, 0);
	h.off = self->mb.cap + 0x10;	/* Write Data Mailbox */

	for (try = 0; try < TRIES && !named; try++) {
		char mark[64];

		snprintf(mark, sizeof(mark), "pci_doe_cdat_claim: try %d\n",
			 try);
		klog_mark(mark);
		atomic_store(&h.stop, 0);
		for (i = 0; i < HAMMERS; i++)
			ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_fn, &h));
		/* Let stray dwords land first: the read starts touched */
		usleep(20000);
		aborts = doe_ctl_mb_counter(&self->mb, "aborts");
		ASSERT_EQ(0, rebind(self->bdf, got, &len));
		aborts = doe_ctl_mb_counter(&self->mb, "aborts") - aborts;
		atomic_store(&h.stop, 1);
		for (i = 0; i < HAMMERS; i++)
			pthread_join(t[i], NULL);

		ASSERT_EQ(self->ref_len, len);
		ASSERT_EQ(0, memcmp(self->ref, got, len))
			TH_LOG("try %d: the endpoint's CDAT changed", try);
		ASSERT_LE(aborts, 1)
			TH_LOG("try %d: %ld aborts in one CDAT read", try,
			       aborts);
		named = klog_has_after(mark, "claimed by cxl endpoint");
		TH_LOG("try %d: %ld ok, %ld EPERM, %ld other, %ld abort(s), named: %s",
		       try, atomic_load(&h.ok), atomic_load(&h.refused),
		       atomic_load(&h.other), aborts, named ? "yes" : "no");
	}
	close(h.fd);

	EXPECT_EQ(0, atomic_load(&h.other));
	EXPECT_GT(atomic_load(&h.refused), 0);
	EXPECT_EQ(denied0 + atomic_load(&h.refused),
		  doe_ctl_mb_counter(&self->mb, "denied_writes"));
	EXPECT_TRUE(named)
		TH_LOG("no write was refused with the CDAT claim held in %d rebinds",
		       TRIES);
	/* The kernel still talks to the mailbox */
	EXPECT_EQ(0, doe_ctl_kernel_discovery(&self->mb));
}

TEST_HARNESS_MAIN
