// SPDX-License-Identifier: GPL-2.0
/*
 * Root paths to a DOE mailbox that could get around the kernel's checks.
 *
 *  devmem_ecam    raw ECAM through /dev/mem: the page of config space of a
 *                 function with a mailbox (the CXL type 3 device where
 *                 there is one) cannot be mapped (EPERM), read or written
 *                 (EFAULT, or EPERM where the window lies below the end of
 *                 RAM); the mailbox's registers are unchanged and a kernel
 *                 exchange then works without an abort
 *  stalled_write  a /proc/bus/pci write of four dwords from the Write Data
 *                 Mailbox on, from a buffer whose second page is missing
 *                 (userfaultfd): while the write is stalled the kernel
 *                 claims the mailbox and runs an exchange, which must get
 *                 its right response with the device seeing the kernel's
 *                 accesses only; the root write then must be refused
 *                 (strict, locked: EPERM, the device saw none of it, not
 *                 even the dword before the missing page) or, under
 *                 relaxed, land after the kernel's exchange as a whole,
 *                 counted in overridden_writes: never interleaved with it
 *
 * The kernel side is played by the test_pci_doe module (debugfs); the
 * stalled write runs on a simulated function (lib/pci_doe_sim.c), whose
 * counters show every config write the device gets.  Runs under every
 * policy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

#define CLASS_CXL_MEM	"0x050210"	/* CXL memory device */
#define ECHO		"7e57:01"	/* the simulator's echo protocol */
#define ECHO_REQ	"0a0b0c0d"
#define STALL_DWORDS	4
#define WAIT_MS		10000

FIXTURE(bypass) {
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS];
	int n;
	char policy[32];
	int sim_id;
};

FIXTURE_SETUP(bypass)
{
	self->sim_id = -1;
	ASSERT_EQ(0, doe_ctl_policy(self->policy, sizeof(self->policy)));
	ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	self->n = doe_ctl_mailboxes(self->mbs, DOE_CTL_MAX_MBS);
}

FIXTURE_TEARDOWN(bypass)
{
	doe_ctl_tpd_write("reset", "1");
	if (self->sim_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(self->sim_id));
}

/* ---- raw ECAM ---- */

static int is_type3(const char *bdf)
{
	char path[128], cls[32];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", bdf);
	return doe_ctl_read_file(path, cls, sizeof(cls)) > 0 &&
	       !strncmp(cls, CLASS_CXL_MEM, strlen(CLASS_CXL_MEM));
}

/*
 * The ECAM window of PCI segment 0 covering @bus, from /proc/iomem (root
 * sees the addresses): "PCI ECAM 0000 [bus 00-ff]" or, on x86 with ACPI,
 * "PCI MMCONFIG 0000 [bus 00-ff]".  Returns 0 and the address of bus
 * @bus's first function.
 */
static int ecam_base(unsigned int bus, unsigned long long *base, char *name,
		     size_t len)
{
	unsigned long long start, end;
	unsigned int seg, b0, b1;
	char line[256], *p;
	FILE *f = fopen("/proc/iomem", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "PCI ECAM ");
		if (!p)
			p = strstr(line, "PCI MMCONFIG ");
		if (!p || sscanf(line, " %llx-%llx", &start, &end) != 2)
			continue;
		p = strchr(p + 4, ' ');
		if (sscanf(p, " %x [bus %x-%x]", &seg, &b0, &b1) != 3 || seg ||
		    bus < b0 || bus > b1)
			continue;
		*base = start + ((unsigned long long)(bus - b0) << 20);
		snprintf(name, len, "%.*s", (int)strcspn(line, "\n"), line);
		ret = start ? 0 : -EACCES;	/* zeros: not root enough */
		break;
	}
	fclose(f);
	return ret;
}

TEST_F(bypass, devmem_ecam)
{
	const struct doe_ctl_mb *mb = NULL;
	unsigned int dom, bus, dev, fn;
	uint8_t blk0[DOE_CTL_BLOCK], blk1[DOE_CTL_BLOCK];
	unsigned long long phys = 0, page;
	long aborts0, errors0, timeouts0;
	uint32_t val = 0xdeadbeef;
	char window[256];
	int i, fd, rfd, ret, err;
	ssize_t n;
	void *map;

	/* The CXL type 3 device, else any mailbox of segment 0 */
	for (i = 0; i < self->n && !mb; i++)
		if (!strncmp(self->mbs[i].bdf, "0000:", 5) &&
		    is_type3(self->mbs[i].bdf))
			mb = &self->mbs[i];
	for (i = 0; i < self->n && !mb; i++)
		if (!strncmp(self->mbs[i].bdf, "0000:", 5))
			mb = &self->mbs[i];
	if (!mb)
		SKIP(return, "no DOE mailbox in PCI segment 0");
	ret = sscanf(mb->bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
	ASSERT_EQ(4, ret);
	ret = ecam_base(bus, &phys, window, sizeof(window));
	ASSERT_EQ(0, ret) TH_LOG("no ECAM window for bus %02x in /proc/iomem: %s",
				 bus, strerror(-ret));
	page = phys + ((unsigned long long)dev << 15) + (fn << 12);
	TH_LOG("%s@%#x (%s): config space at %#llx, in %s", mb->bdf, mb->cap,
	       is_type3(mb->bdf) ? "CXL type 3" : "DOE", page, window);

	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/mem (CONFIG_DEVMEM)");
	ASSERT_LE(0, fd) TH_LOG("/dev/mem: %s", strerror(errno));

	/* Start from a mailbox the kernel has nothing to abort in */
	ASSERT_EQ(0, doe_ctl_kernel_discovery(mb));
	rfd = doe_ctl_open(mb->bdf, DOE_CTL_SYSFS, 0);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, doe_ctl_pread(rfd, blk0, DOE_CTL_BLOCK, mb->cap));
	aborts0 = doe_ctl_mb_counter(mb, "aborts");
	errors0 = doe_ctl_mb_counter(mb, "errors");
	timeouts0 = doe_ctl_mb_counter(mb, "timeouts");

	/* The window is claimed busy by the PCI core: IO_STRICT_DEVMEM */
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page);
	err = errno;
	EXPECT_EQ(MAP_FAILED, map)
		TH_LOG("mmap of %#llx read-write worked", page);
	if (map == MAP_FAILED)
		EXPECT_EQ(EPERM, err) TH_LOG("mmap: %s", strerror(err));
	if (map != MAP_FAILED)
		munmap(map, 4096);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, page);
	err = errno;
	EXPECT_EQ(MAP_FAILED, map)
		TH_LOG("mmap of %#llx read-only worked", page);
	if (map == MAP_FAILED)
		EXPECT_EQ(EPERM, err) TH_LOG("mmap: %s", strerror(err));
	if (map != MAP_FAILED)
		munmap(map, 4096);

	/*
	 * read_mem()/write_mem() refuse addresses past the end of RAM
	 * (EFAULT, what this 1 GiB guest shows) and busy I/O memory below it
	 * (EPERM).
	 */
	n = pread(fd, &val, 4, page + mb->cap + DOE_USER_STATUS);
	err = errno;
	EXPECT_EQ(-1, n) TH_LOG("pread of the DOE Status at %#llx worked",
				page + mb->cap + DOE_USER_STATUS);
	if (n < 0)
		EXPECT_TRUE(err == EFAULT || err == EPERM)
			TH_LOG("pread: %s", strerror(err));
	if (n < 0)
		TH_LOG("pread at %#llx: %s", page + mb->cap + DOE_USER_STATUS,
		       strerror(err));
	val = 0xdeadbeef;
	n = pwrite(fd, &val, 4, page + mb->cap + DOE_USER_WRITE);
	err = errno;
	EXPECT_EQ(-1, n) TH_LOG("pwrite of the Write Data Mailbox at %#llx worked",
				page + mb->cap + DOE_USER_WRITE);
	if (n < 0)
		EXPECT_TRUE(err == EFAULT || err == EPERM)
			TH_LOG("pwrite: %s", strerror(err));
	if (n < 0)
		TH_LOG("pwrite at %#llx: %s", page + mb->cap + DOE_USER_WRITE,
		       strerror(err));
	close(fd);

	/* Nothing reached the mailbox: the kernel's exchange needs no abort */
	ASSERT_EQ(0, doe_ctl_pread(rfd, blk1, DOE_CTL_BLOCK, mb->cap));
	close(rfd);
	EXPECT_EQ(0, memcmp(blk0, blk1, DOE_CTL_BLOCK));
	ret = doe_ctl_kernel_discovery(mb);
	EXPECT_EQ(0, ret) TH_LOG("kernel Discovery: %s", strerror(-ret));
	EXPECT_EQ(aborts0, doe_ctl_mb_counter(mb, "aborts"));
	EXPECT_EQ(errors0, doe_ctl_mb_counter(mb, "errors"));
	EXPECT_EQ(timeouts0, doe_ctl_mb_counter(mb, "timeouts"));
}

/* ---- a root write stalled by userfaultfd ---- */

struct stalled {
	int fd;
	const void *buf;
	size_t len;
	off_t off;
	ssize_t ret;
	int err;
	int done;		/* __atomic_*() */
};

static void *stalled_writer(void *arg)
{
	struct stalled *st = arg;

	st->ret = pwrite(st->fd, st->buf, st->len, st->off);
	st->err = errno;
	__atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int wait_done(struct stalled *st, long ms)
{
	long long end = doe_ctl_now_ms() + ms;

	while (!__atomic_load_n(&st->done, __ATOMIC_ACQUIRE)) {
		if (doe_ctl_now_ms() > end)
			return 0;
		usleep(1000);
	}
	return 1;
}

/* One kernel echo exchange; 0 if it returned the request's bytes */
static int kernel_echo(const struct doe_ctl_mb *mb, char *why, size_t len)
{
	char result[32], rsp[64];
	int ret;

	ret = doe_ctl_tpd_on(mb, "trigger_exchange", 0,
			     "protocol=" ECHO " request=" ECHO_REQ
			     " response_size=64");
	if (ret) {
		snprintf(why, len, "exchange: %s", strerror(-ret));
		return ret;
	}
	if (doe_ctl_tpd_read("test_result", result, sizeof(result)) < 0 ||
	    doe_ctl_tpd_read("response", rsp, sizeof(rsp)) < 0) {
		snprintf(why, len, "no result");
		return -EIO;
	}
	if (atoi(result) != 4 || strcmp(rsp, ECHO_REQ)) {
		snprintf(why, len, "result %s, response \"%s\"", result, rsp);
		return -EIO;
	}
	return 0;
}

/* What a kernel echo exchange writes to the device, measured on @mb */
static int kernel_echo_writes(struct __test_metadata *_metadata,
			      const struct doe_ctl_mb *mb,
			      struct doe_ctl_dev *delta)
{
	struct doe_ctl_dev a, b;
	char why[128];
	int k, r;

	if (doe_ctl_dev_read(mb, &a) || kernel_echo(mb, why, sizeof(why)) ||
	    doe_ctl_dev_read(mb, &b))
		return -EIO;
	for (k = 0; k < DOE_CTL_SIM_MAX_MB; k++)
		for (r = 0; r < DOE_CTL_SIM_REGS; r++)
			delta->reg[k][r] = b.reg[k][r] - a.reg[k][r];
	delta->other = b.other - a.other;
	return 0;
}

static void dev_add(struct doe_ctl_dev *d, const struct doe_ctl_dev *delta)
{
	int k, r;

	for (k = 0; k < DOE_CTL_SIM_MAX_MB; k++)
		for (r = 0; r < DOE_CTL_SIM_REGS; r++)
			d->reg[k][r] += delta->reg[k][r];
	d->other += delta->other;
}

TEST_F_TIMEOUT(bypass, stalled_write, 90)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_copy copy = { 0 };
	struct doe_ctl_mb mbs[DOE_CTL_MAX_MBS], *mb = NULL;
	struct doe_ctl_dev echo;
	struct doe_ctl_witness w;
	struct stalled st = { 0 };
	struct uffd_msg msg;
	struct pollfd pfd;
	int relaxed = !strcmp(self->policy, "relaxed");
	long pagesz = sysconf(_SC_PAGESIZE), denied0, over0 = 0, aborts0;
	char bdf[32], why[512];
	uint8_t *area, *src;
	uint32_t dw[STALL_DWORDS] = { 0x00017e57, 0, 0x5a5a5a5a, 0xa5a5a5a5 };
	pthread_t thread;
	int uffd, i, n, ret, stalled = 0;

	if (!doe_ctl_sim_present())
		SKIP(return, "no " DOE_CTL_SIM_DIR " (CONFIG_PCI_DOE_SIM)");
	/* The sysctl exists exactly when userfaultfd() does */
	if (access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD)");
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));

	ASSERT_EQ(0, doe_ctl_sim_add(1, &self->sim_id, bdf, sizeof(bdf)));
	n = doe_ctl_mailboxes(mbs, DOE_CTL_MAX_MBS);
	for (i = 0; i < n; i++)
		if (mbs[i].sim_id == self->sim_id)
			mb = &mbs[i];
	ASSERT_NE(NULL, mb) TH_LOG("%s: no mailbox in sysfs", bdf);

	/*
	 * A first exchange aborts what enumeration may have left; a second
	 * one shows what a clean exchange writes, with no abort.
	 */
	ASSERT_EQ(0, kernel_echo(mb, why, sizeof(why))) TH_LOG("%s", why);
	aborts0 = doe_ctl_sim_counter(mb, "aborts");
	ASSERT_EQ(0, kernel_echo_writes(_metadata, mb, &echo));
	ASSERT_EQ(aborts0, doe_ctl_sim_counter(mb, "aborts"));

	/* dw[0] at the end of page 0, the rest on page 1, not there yet */
	area = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, pagesz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_NE(MAP_FAILED, src);
	memcpy(area + pagesz - 4, &dw[0], 4);
	memcpy(src, &dw[1], 4 * (STALL_DWORDS - 1));
	reg.range.start = (unsigned long)area + pagesz;
	reg.range.len = pagesz;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));

	st.fd = doe_ctl_open(mb->bdf, DOE_CTL_PROCFS, 1);
	ASSERT_LE(0, st.fd);
	st.buf = area + pagesz - 4;
	st.len = 4 * STALL_DWORDS;
	st.off = mb->cap + DOE_USER_WRITE;
	denied0 = doe_ctl_mb_counter(mb, "denied_writes");
	if (relaxed)
		over0 = doe_ctl_mb_counter(mb, "overridden_writes");
	aborts0 = doe_ctl_mb_counter(mb, "aborts");
	doe_ctl_witness_start(&w, mb);
	ASSERT_EQ(0, pthread_create(&thread, NULL, stalled_writer, &st));

	/* The write reaches the missing page */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	for (i = 0; i < WAIT_MS / 10 && !stalled &&
	     !__atomic_load_n(&st.done, __ATOMIC_ACQUIRE); i++) {
		if (poll(&pfd, 1, 10) == 1 &&
		    read(uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		    msg.event == UFFD_EVENT_PAGEFAULT)
			stalled = 1;
	}
	if (!stalled) {
		/* Refused before the buffer was even read: as good */
		ASSERT_TRUE(wait_done(&st, WAIT_MS))
			TH_LOG("the write neither stalled nor ended in %d ms",
			       WAIT_MS);
		pthread_join(thread, NULL);
		TH_LOG("%s: the write ended without reading its buffer: %s",
		       mb->bdf, st.ret < 0 ? strerror(st.err) : "written");
		EXPECT_FALSE(relaxed) TH_LOG("relaxed: a write refused");
		EXPECT_EQ(-1, st.ret);
		EXPECT_EQ(EPERM, st.err);
		EXPECT_DEVICE(&w, "a write refused at once");
		goto out;
	}
	TH_LOG("%s: the write of %zu bytes at %#lx stalled at %#llx (page 1 at %p)",
	       mb->bdf, st.len, (long)st.off,
	       (unsigned long long)msg.arg.pagefault.address,
	       area + pagesz);
	EXPECT_EQ((unsigned long)area + pagesz,
		  msg.arg.pagefault.address & ~(pagesz - 1));

	/* Stalled: not a single access may have reached the device yet */
	EXPECT_DEVICE(&w, "the write stalled on its second page");

	/* The kernel takes the mailbox and exchanges meanwhile */
	ASSERT_EQ(0, doe_ctl_claim(mb));
	ret = kernel_echo(mb, why, sizeof(why));
	EXPECT_EQ(0, ret) TH_LOG("kernel exchange during the stall: %s", why);
	dev_add(&w.want, &echo);
	EXPECT_DEVICE(&w, "the kernel's exchange during the stall");
	EXPECT_EQ(aborts0, doe_ctl_mb_counter(mb, "aborts"));

	/* The missing page arrives; the write goes on */
	copy.dst = (unsigned long)area + pagesz;
	copy.src = (unsigned long)src;
	copy.len = pagesz;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy))
		TH_LOG("UFFDIO_COPY: %s", strerror(errno));
	ASSERT_TRUE(wait_done(&st, WAIT_MS))
		TH_LOG("the write did not end %d ms after its page came", WAIT_MS);
	pthread_join(thread, NULL);
	TH_LOG("%s: then the write: %s", mb->bdf,
	       st.ret < 0 ? strerror(st.err) : "written");
	if (relaxed) {
		/* After the kernel's exchange, as a whole, overridden */
		EXPECT_EQ((ssize_t)st.len, st.ret)
			TH_LOG("%s", st.ret < 0 ? strerror(st.err) : "short");
		doe_ctl_witness_expect(&w, st.off, st.len);
		/* One per access that reached the block */
		EXPECT_EQ(over0 + doe_ctl_block_accesses(mb, st.off, st.len),
			  doe_ctl_mb_counter(mb, "overridden_writes"));
		EXPECT_EQ(denied0, doe_ctl_mb_counter(mb, "denied_writes"));
	} else {
		/* Claimed (strict) or not taken (locked): refused, none of it */
		EXPECT_EQ(-1, st.ret);
		EXPECT_EQ(EPERM, st.err);
		EXPECT_EQ(denied0 + 1, doe_ctl_mb_counter(mb, "denied_writes"));
	}
	EXPECT_DEVICE(&w, "the write after the kernel's exchange");
	ASSERT_EQ(0, doe_ctl_release(mb));

out:
	/* The kernel's next exchange works (after an abort if root wrote) */
	ret = kernel_echo(mb, why, sizeof(why));
	EXPECT_EQ(0, ret) TH_LOG("kernel exchange after the write: %s", why);
	close(st.fd);
	close(uffd);
	munmap(area, 2 * pagesz);
	munmap(src, pagesz);
}

int main(int argc, char **argv)
{
	char policy[32];

	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("needs root\n");
	}
	if (doe_ctl_policy(policy, sizeof(policy))) {
		ksft_print_header();
		ksft_exit_skip("no pci_doe.policy parameter: kernel without DOE ownership\n");
	}
	if (!doe_ctl_tpd_present()) {
		ksft_print_header();
		ksft_exit_skip("no %s: build with CONFIG_TEST_PCI_DOE and mount debugfs\n",
			       doe_ctl_tpd_dir());
	}
	return test_harness_run(argc, argv);
}
