// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the pci_doe_sim_* selftests: see pci_doe_sim.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doe_user.h"
#include "pci_doe_sim.h"

#define SIM_LINE	512

const char *sim_result(int rc)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EIO, "-EIO" }, { ETIMEDOUT, "-ETIMEDOUT" },
		{ EBUSY, "-EBUSY" }, { ENODEV, "-ENODEV" }, { EPERM, "-EPERM" },
		{ EINVAL, "-EINVAL" }, { ENOENT, "-ENOENT" },
		{ ECANCELED, "-ECANCELED" }, { ENOMEM, "-ENOMEM" },
	};
	static char buf[32];
	size_t i;

	if (rc >= 0) {
		snprintf(buf, sizeof(buf), "%d bytes", rc);
		return buf;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == -rc)
			return names[i].name;
	snprintf(buf, sizeof(buf), "error %d", rc);
	return buf;
}

long sim_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

int sim_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

const char *sim_missing(void)
{
	if (!sim_exists(SIM_DIR))
		return "no " SIM_DIR " (CONFIG_PCI_DOE_SIM, debugfs)";
	if (!sim_exists(TDOE_DIR))
		return "no " TDOE_DIR " (CONFIG_TEST_PCI_DOE, debugfs)";
	return NULL;
}

const char *sim_secondary_boot(void)
{
	static char why[64];
	char buf[32], val[32];
	const char *topo = NULL;
	int policy;

	if (!doe_user_cmdline("harness.topo", buf, sizeof(buf)))
		topo = buf;
	policy = !doe_user_cmdline("pci_doe.policy", val, sizeof(val));
	/*
	 * The harness (scripts/qemu.sh) says which topology it booted; only
	 * a boot without harness.topo= (by hand) falls back to looking for
	 * the switch topology's type 3 function.
	 */
	if (topo ? strcmp(topo, "direct") != 0 :
		   sim_exists(PCI_DEVICES "/0000:0f:00.0")) {
		snprintf(why, sizeof(why), "%s topology", topo ? topo : "switch");
		return why;
	}
	if (policy)
		return "pci_doe.policy= boot";
	return NULL;
}

const char *sim_policy(void)
{
	static char policy[32];
	int n = sim_read("/sys/module/pci_doe/parameters/policy", policy,
			 sizeof(policy));

	if (n < 0)
		return "";
	policy[strcspn(policy, "\n")] = '\0';
	return policy;
}

int sim_wait_path(const char *path, int present, long timeout_ms)
{
	long end = sim_now_us() + timeout_ms * 1000;

	while (!sim_exists(path) != !present) {
		if (sim_now_us() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

static int vwrite_fmt(const char *path, const char *fmt, va_list ap)
{
	char buf[8192];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0 || n >= (int)sizeof(buf))
		return -E2BIG;
	return doe_user_write_file(path, buf);
}

int sim_write(const char *path, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vwrite_fmt(path, fmt, ap);
	va_end(ap);
	return ret;
}

int sim_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;
	size_t got = 0;
	int ret;

	if (fd < 0)
		return -errno;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	ret = n < 0 ? -errno : (int)got;
	close(fd);
	buf[got] = '\0';
	return ret;
}

long sim_read_key(const char *path, const char *key)
{
	char buf[4096], *p;
	size_t klen = strlen(key);
	int n = sim_read(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	for (p = buf; (p = strstr(p, key)); p += klen) {
		/* a whole word followed by a number */
		if ((p == buf || p[-1] == ' ' || p[-1] == '\n') &&
		    p[klen] == ' ')
			return strtol(p + klen + 1, NULL, 0);
	}
	return -ENOENT;
}

int sim_add(struct sim_fn *fn, int nr_mb, int version)
{
	char buf[64];
	int fd, ret = 0;
	ssize_t n;

	fd = open(SIM_DIR "/add", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%d %d", nr_mb, version);
	if (write(fd, buf, strlen(buf)) < 0) {
		ret = -errno;
		goto out;
	}
	/* Read back on the same file: the function this write created */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		ret = n < 0 ? -errno : -EIO;
		goto out;
	}
	buf[n] = '\0';
	if (sscanf(buf, "%d %31s", &fn->id, fn->bdf) != 2)
		ret = -EIO;
	fn->nr_mb = nr_mb;
out:
	close(fd);
	return ret;
}

int sim_del(const struct sim_fn *fn)
{
	return sim_write(SIM_DIR "/del", "%d", fn->id);
}

static void knob_path(char *path, size_t len, const struct sim_fn *fn,
		      int mb, const char *knob)
{
	if (mb < 0)
		snprintf(path, len, SIM_DIR "/f%d/%s", fn->id, knob);
	else
		snprintf(path, len, SIM_DIR "/f%d/mb%d/%s", fn->id, mb, knob);
}

int sim_knob(const struct sim_fn *fn, int mb, const char *knob,
	     const char *fmt, ...)
{
	char path[256];
	va_list ap;
	int ret;

	knob_path(path, sizeof(path), fn, mb, knob);
	va_start(ap, fmt);
	ret = vwrite_fmt(path, fmt, ap);
	va_end(ap);
	return ret;
}

long sim_knob_key(const struct sim_fn *fn, int mb, const char *knob,
		  const char *key)
{
	char path[256];

	knob_path(path, sizeof(path), fn, mb, knob);
	return sim_read_key(path, key);
}

int sim_state(const struct sim_fn *fn, char *buf, size_t len)
{
	char path[256];
	int n;

	knob_path(path, sizeof(path), fn, -1, "state");
	n = sim_read(path, buf, len);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return n < 0 ? n : 0;
}

int sim_sysfs_remove(const struct sim_fn *fn)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/remove", fn->bdf);
	return sim_write(path, "1");
}

int sim_rescan(void)
{
	return sim_write(SIM_DIR "/rescan", "1");
}

int sim_wait_count(const struct sim_fn *fn, int mb, const char *key,
		   long min, long timeout_ms)
{
	long end = sim_now_us() + timeout_ms * 1000, v;

	for (;;) {
		v = sim_knob_key(fn, mb, "counters", key);
		if (v < 0)
			return v;
		if (v >= min)
			return 0;
		if (sim_now_us() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

void sim_doe_dir(const struct sim_fn *fn, int mb, char *buf, size_t len)
{
	snprintf(buf, len, DOE_CLASS "/%s-doe%03x", fn->bdf, SIM_MB_OFFSET(mb));
}

long sim_doe_attr(const struct sim_fn *fn, int mb, const char *attr)
{
	char dir[128], path[256], buf[64];
	int n;

	sim_doe_dir(fn, mb, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/statistics/%s", dir, attr);
	n = sim_read(path, buf, sizeof(buf));
	if (n == -ENOENT) {
		snprintf(path, sizeof(path), "%s/%s", dir, attr);
		n = sim_read(path, buf, sizeof(buf));
	}
	if (n < 0)
		return n;
	return strtol(buf, NULL, 0);
}

long sim_doe_claims(const struct sim_fn *fn, int mb)
{
	char dir[128], path[256], buf[1024], *line, *save, *count;
	long sum = 0;
	int n;

	sim_doe_dir(fn, mb, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/owners", dir);
	n = sim_read(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	/* "<name> <count>" per line */
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		count = strrchr(line, ' ');
		if (!count)
			return -EINVAL;
		sum += strtol(count + 1, NULL, 10);
	}
	return sum;
}

int tdoe(const char *ctl, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	int ret;

	snprintf(path, sizeof(path), TDOE_DIR "/%s", ctl);
	va_start(ap, fmt);
	ret = vwrite_fmt(path, fmt, ap);
	va_end(ap);
	return ret;
}

long tdoe_long(const char *file)
{
	char path[256], buf[64];
	int n;

	snprintf(path, sizeof(path), TDOE_DIR "/%s", file);
	n = sim_read(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	return strtol(buf, NULL, 0);
}

int tdoe_exchange(const struct sim_fn *fn, int mb, const char *prot,
		  const char *req, size_t rsp_sz, long *ms)
{
	long t0 = sim_now_us();
	int ret;

	ret = tdoe("trigger_exchange",
		   "device=%s offset=%#x protocol=%s request=%s response_size=%zu",
		   fn->bdf, SIM_MB_OFFSET(mb), prot, req, rsp_sz);
	if (ms)
		*ms = (sim_now_us() - t0) / 1000;
	if (ret)
		return ret;
	return tdoe_long("test_result");
}

int tdoe_async(const struct sim_fn *fn, int mb, int count, const char *prot,
	       const char *req, size_t rsp_sz)
{
	return tdoe("trigger_async",
		    "%d device=%s offset=%#x protocol=%s request=%s response_size=%zu",
		    count, fn->bdf, SIM_MB_OFFSET(mb), prot, req, rsp_sz);
}

int tdoe_async_results(struct tdoe_async *r)
{
	char buf[256];
	int n = sim_read(TDOE_DIR "/async_results", buf, sizeof(buf));

	if (n < 0)
		return n;
	if (sscanf(buf, "submitted %ld completed %ld ok %ld errors %ld last_error %d",
		   &r->submitted, &r->completed, &r->ok, &r->errors,
		   &r->last_error) != 5)
		return -EIO;
	return 0;
}

int tdoe_claim(const struct sim_fn *fn, int mb, const char *owner)
{
	return tdoe("trigger_claim", "device=%s offset=%#x owner=%s", fn->bdf,
		    SIM_MB_OFFSET(mb), owner);
}

int tdoe_release(const struct sim_fn *fn, int mb, const char *owner)
{
	return tdoe("trigger_release", "device=%s offset=%#x owner=%s",
		    fn->bdf, SIM_MB_OFFSET(mb), owner);
}

static int pwrite_file(const char *path, unsigned int off, const void *buf,
		       size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pwrite(fd, buf, len, off);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

int sim_cfg_write(const struct sim_fn *fn, unsigned int off, const void *buf,
		  size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", fn->bdf);
	return pwrite_file(path, off, buf, len);
}

int sim_proc_write(const struct sim_fn *fn, unsigned int off,
		   const void *buf, size_t len)
{
	unsigned int dom, bus, dev, func;
	char path[256];

	if (sscanf(fn->bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &func) != 4)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/bus/pci/%04x:%02x/%02x.%x", dom,
		 bus, dev, func);
	return pwrite_file(path, off, buf, len);
}
