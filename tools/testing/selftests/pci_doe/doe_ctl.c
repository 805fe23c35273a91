// SPDX-License-Identifier: GPL-2.0
/*
 * doe_ctl: helpers of the DOE ownership selftests, see doe_ctl.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "doe_ctl.h"

const char * const doe_ctl_path_names[] = {
	[DOE_CTL_SYSFS] = "sysfs",
	[DOE_CTL_PROCFS] = "procfs",
};

int doe_ctl_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

static int mb_cmp(const void *a, const void *b)
{
	const struct doe_ctl_mb *x = a, *y = b;
	int c = strcmp(x->bdf, y->bdf);

	return c ? c : (int)x->cap - (int)y->cap;
}

/* Is @mb's function simulated?  Fills in the sim_* fields. */
static void sim_lookup(struct doe_ctl_mb *mb)
{
	char line[256], bdf[64], state[64];
	int id, nr;
	FILE *f;

	mb->sim_id = -1;
	f = fopen(DOE_CTL_SIM_DIR "/functions", "re");
	if (!f)
		return;
	/* "ID BDF MAILBOXES STATE" */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %63s %d %63s", &id, bdf, &nr, state) != 4 ||
		    strcmp(bdf, mb->bdf))
			continue;
		if (mb->cap < DOE_CTL_SIM_BASE || nr > DOE_CTL_SIM_MAX_MB ||
		    (mb->cap - DOE_CTL_SIM_BASE) % DOE_CTL_SIM_STRIDE)
			break;
		mb->sim_id = id;
		mb->sim_nr_mb = nr;
		mb->sim_index = (mb->cap - DOE_CTL_SIM_BASE) /
				DOE_CTL_SIM_STRIDE;
		break;
	}
	fclose(f);
}

void doe_ctl_mb_name(const char *bdf, unsigned int cap, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s-doe%03x", bdf, cap);
}

/*
 * The PCI function of the class device at @dir: the target of its "device"
 * link, else the name up to "-doe"
 */
static void mb_bdf(struct doe_ctl_mb *mb)
{
	char path[256], target[256], *p;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/device", mb->dir);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		p = strrchr(target, '/');
		snprintf(mb->bdf, sizeof(mb->bdf), "%.31s", p ? p + 1 : target);
		return;
	}
	snprintf(mb->bdf, sizeof(mb->bdf), "%.31s", mb->name);
	p = strstr(mb->bdf, "-doe");
	if (p)
		*p = '\0';
}

int doe_ctl_mailboxes(struct doe_ctl_mb *mbs, int max)
{
	glob_t g;
	size_t i;
	int n = 0;

	if (glob(DOE_CTL_CLASS_DIR "/*/offset", 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc && n < max; i++) {
		struct doe_ctl_mb *mb = &mbs[n];
		char buf[256], *p, *s;

		memset(mb, 0, sizeof(*mb));
		/* /sys/class/pci_doe/<name>/offset */
		snprintf(mb->dir, sizeof(mb->dir), "%s", g.gl_pathv[i]);
		*strrchr(mb->dir, '/') = '\0';
		snprintf(mb->name, sizeof(mb->name), "%s",
			 strrchr(mb->dir, '/') + 1);
		mb_bdf(mb);
		if (doe_ctl_read_file(g.gl_pathv[i], buf, sizeof(buf)) < 0)
			continue;
		mb->cap = strtoul(buf, NULL, 0);
		if (doe_ctl_mb_read(mb, "protocols", buf, sizeof(buf)) < 0)
			continue;
		for (p = buf, s = mb->protocols; *p; p++)
			*s++ = *p == '\n' ? ' ' : *p;
		*s = '\0';
		mb->has_cdat = !!strstr(mb->protocols, "1e98:02");
		sim_lookup(mb);
		n++;
	}
	globfree(&g);
	qsort(mbs, n, sizeof(*mbs), mb_cmp);
	return n;
}

int doe_ctl_mb_read(const struct doe_ctl_mb *mb, const char *name, char *buf,
		    size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", mb->dir, name);
	return doe_ctl_read_file(path, buf, len);
}

void doe_ctl_mb_stat_path(const struct doe_ctl_mb *mb, const char *name,
			  char *buf, size_t len)
{
	snprintf(buf, len, "%s/statistics/%s", mb->dir, name);
}

long doe_ctl_mb_counter(const struct doe_ctl_mb *mb, const char *name)
{
	char path[256], buf[64], *end;
	long v;
	int ret;

	doe_ctl_mb_stat_path(mb, name, path, sizeof(path));
	ret = doe_ctl_read_file(path, buf, sizeof(buf));
	if (ret == -ENOENT)
		ret = doe_ctl_mb_read(mb, name, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	v = strtol(buf, &end, 10);
	return end == buf ? -EINVAL : v;
}

long doe_ctl_mb_claims(const struct doe_ctl_mb *mb)
{
	char buf[1024], *line, *save, *count;
	long sum = 0;
	int ret;

	ret = doe_ctl_mb_read(mb, "owners", buf, sizeof(buf));
	if (ret < 0)
		return ret;
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

int doe_ctl_mb_holder(const struct doe_ctl_mb *mb, char *comm, size_t len)
{
	char buf[128], *sp;

	if (comm)
		comm[0] = '\0';
	if (doe_ctl_mb_read(mb, "holder", buf, sizeof(buf)) <= 0)
		return 0;
	sp = strchr(buf, ' ');
	if (comm && sp)
		snprintf(comm, len, "%s", sp + 1);
	return strtol(buf, NULL, 10);
}

int doe_ctl_policy(char *buf, size_t len)
{
	int ret = doe_ctl_read_file("/sys/module/pci_doe/parameters/policy",
				    buf, len);

	return ret < 0 ? ret : 0;
}

unsigned long doe_ctl_tainted(void)
{
	char buf[64];

	if (doe_ctl_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)) < 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

const char *doe_ctl_tpd_dir(void)
{
	const char *dir = getenv("TEST_PCI_DOE_DIR");

	return dir && *dir ? dir : DOE_CTL_DEFAULT_DIR;
}

int doe_ctl_tpd_present(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/trigger_exchange", doe_ctl_tpd_dir());
	return access(path, W_OK) == 0;
}

int doe_ctl_tpd_write(const char *file, const char *fmt, ...)
{
	char path[256], buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", doe_ctl_tpd_dir(), file);
	return doe_user_write_file(path, buf);
}

int doe_ctl_tpd_read(const char *file, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", doe_ctl_tpd_dir(), file);
	return doe_ctl_read_file(path, buf, len);
}

int doe_ctl_tpd_on(const struct doe_ctl_mb *mb, const char *trigger,
		   unsigned long count, const char *extra)
{
	char num[32] = "";

	if (count)
		snprintf(num, sizeof(num), "%lu ", count);
	return doe_ctl_tpd_write(trigger, "%sdevice=%s offset=%#x %s", num,
				 mb->bdf, mb->cap, extra ? extra : "");
}

int doe_ctl_claim(const struct doe_ctl_mb *mb)
{
	return doe_ctl_tpd_on(mb, "trigger_claim", 0, NULL);
}

int doe_ctl_release(const struct doe_ctl_mb *mb)
{
	return doe_ctl_tpd_on(mb, "trigger_release", 0, NULL);
}

void doe_ctl_discovery_request(const struct doe_ctl_mb *mb, char *hex,
			       size_t len)
{
	char path[256], buf[64];
	unsigned int version = 0;
	uint32_t hdr;
	int fd;

	/* Discovery Version 2 for capability version 2 and later */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", mb->bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (!doe_user_read(fd, mb->cap, &hdr))
			version = (hdr >> 16) & 0xf;
		close(fd);
	}
	snprintf(buf, sizeof(buf), "00%02x0000", version >= 2 ? 2 : 0);
	snprintf(hex, len, "%s", buf);
}

int doe_ctl_kernel_discovery(const struct doe_ctl_mb *mb)
{
	char req[16], opts[64];

	doe_ctl_discovery_request(mb, req, sizeof(req));
	snprintf(opts, sizeof(opts), "protocol=0001:00 request=%s", req);
	return doe_ctl_tpd_on(mb, "trigger_exchange", 0, opts);
}

int doe_ctl_proc_path(const char *bdf, char *buf, size_t len)
{
	unsigned int dom, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return -EINVAL;
	if (dom)
		snprintf(buf, len, "/proc/bus/pci/%04x:%02x/%02x.%x", dom, bus,
			 dev, fn);
	else
		snprintf(buf, len, "/proc/bus/pci/%02x/%02x.%x", bus, dev, fn);
	return 0;
}

int doe_ctl_open(const char *bdf, enum doe_ctl_path path, int rw)
{
	char name[128];
	int fd, ret;

	if (path == DOE_CTL_SYSFS) {
		snprintf(name, sizeof(name), "/sys/bus/pci/devices/%s/config",
			 bdf);
	} else {
		ret = doe_ctl_proc_path(bdf, name, sizeof(name));
		if (ret)
			return ret;
	}
	fd = open(name, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int doe_ctl_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int doe_ctl_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

void doe_ctl_cdev_path(const struct doe_ctl_mb *mb, char *buf, size_t len)
{
	snprintf(buf, len, DOE_CTL_CDEV_DIR "/%s", mb->name);
}

int doe_ctl_cdev_open(const struct doe_ctl_mb *mb, int flags)
{
	char path[128];
	int fd;

	doe_ctl_cdev_path(mb, path, sizeof(path));
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int doe_ctl_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int doe_ctl_take(int fd)
{
	return doe_ctl_ioctl(fd, PCI_DOE_IOC_TAKE, 0);
}

int doe_ctl_give(int fd)
{
	return doe_ctl_ioctl(fd, PCI_DOE_IOC_GIVE, 0);
}

int doe_ctl_info(int fd, struct pci_doe_info *info, size_t size)
{
	info->argsz = size;
	return ioctl(fd, PCI_DOE_IOC_INFO, info) < 0 ? -errno : 0;
}

int doe_ctl_user_discovery(const struct doe_ctl_mb *mb, int fd, char *buf,
			   size_t len)
{
	static struct doe_user_prot prots[DOE_USER_MAX_PROTOCOLS];
	struct doe_user_mb umb;
	size_t pos = 0;
	int n, i, ret;

	ret = doe_user_mb_init(&umb, fd, mb->bdf, mb->cap);
	if (ret)
		return ret;
	n = doe_user_discover(&umb, prots, DOE_USER_MAX_PROTOCOLS);
	if (n < 0)
		return n;
	buf[0] = '\0';
	for (i = 0; i < n && i < DOE_USER_MAX_PROTOCOLS && pos < len; i++)
		pos += snprintf(buf + pos, len - pos, "%s%04x:%02x",
				i ? " " : "", prots[i].vid, prots[i].type);
	return n;
}

long long doe_ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int doe_ctl_kmsg_count(int fd, const char *a, const char *b, const char *c,
		       char *line, size_t len)
{
	char rec[2048];
	int found = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten records */
			continue;
		if (n <= 0)
			return found;
		rec[n] = '\0';
		if ((a && !strstr(rec, a)) || (b && !strstr(rec, b)) ||
		    (c && !strstr(rec, c)))
			continue;
		if (!found++ && line) {
			const char *msg = strchr(rec, ';');
			size_t l;

			msg = msg ? msg + 1 : rec;
			l = strcspn(msg, "\n");
			if (l >= len)
				l = len - 1;
			memcpy(line, msg, l);
			line[l] = '\0';
		}
	}
}

/* ---- the simulator: what the device saw ---- */

static const char * const sim_reg_names[DOE_CTL_SIM_REGS] = {
	"header", "cap", "ctrl", "status", "write_mailbox", "read_mailbox",
};

int doe_ctl_sim_present(void)
{
	return access(DOE_CTL_SIM_DIR "/add", W_OK) == 0;
}

int doe_ctl_sim_add(int nr_mb, int *id, char *bdf, size_t len)
{
	char buf[64], name[64];
	int fd, ret = 0;
	ssize_t n;

	fd = open(DOE_CTL_SIM_DIR "/add", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%d 2", nr_mb);
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
	if (sscanf(buf, "%d %63s", id, name) != 2)
		ret = -EIO;
	else
		snprintf(bdf, len, "%s", name);
out:
	close(fd);
	return ret;
}

int doe_ctl_sim_del(int id)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", id);
	return doe_user_write_file(DOE_CTL_SIM_DIR "/del", buf);
}

/* The number after "@key " at the start of a line of @buf */
static long key_value(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	const char *p;

	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtol(p + klen + 1, NULL, 10);
	return -ENOENT;
}

long doe_ctl_sim_counter(const struct doe_ctl_mb *mb, const char *key)
{
	char path[160], buf[1024];
	int ret;

	if (mb->sim_id < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), DOE_CTL_SIM_DIR "/f%d/mb%d/counters",
		 mb->sim_id, mb->sim_index);
	ret = doe_ctl_read_file(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	return key_value(buf, key);
}

int doe_ctl_sim_knob(const struct doe_ctl_mb *mb, const char *knob,
		     const char *val)
{
	char path[160];

	if (mb->sim_id < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), DOE_CTL_SIM_DIR "/f%d/mb%d/%s",
		 mb->sim_id, mb->sim_index, knob);
	return doe_user_write_file(path, val);
}

int doe_ctl_dev_read(const struct doe_ctl_mb *mb, struct doe_ctl_dev *d)
{
	char path[160], buf[1024], key[64];
	int k, r, ret;

	memset(d, 0, sizeof(*d));
	if (mb->sim_id < 0)
		return 0;
	for (k = 0; k < mb->sim_nr_mb; k++) {
		snprintf(path, sizeof(path),
			 DOE_CTL_SIM_DIR "/f%d/mb%d/counters", mb->sim_id, k);
		ret = doe_ctl_read_file(path, buf, sizeof(buf));
		if (ret < 0)
			return ret;
		for (r = 0; r < DOE_CTL_SIM_REGS; r++) {
			snprintf(key, sizeof(key), "%s_writes",
				 sim_reg_names[r]);
			d->reg[k][r] = key_value(buf, key);
			if (d->reg[k][r] < 0)
				return -EIO;
		}
	}
	snprintf(path, sizeof(path), DOE_CTL_SIM_DIR "/f%d/other_writes",
		 mb->sim_id);
	ret = doe_ctl_read_file(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	d->other = strtol(buf, NULL, 10);
	return 0;
}

/* One config access at @off, as the simulator counts it */
static void dev_access(const struct doe_ctl_mb *mb, struct doe_ctl_dev *d,
		       unsigned int off)
{
	unsigned int reg = off & ~3u, k, base;

	if (reg >= DOE_CTL_SIM_BASE) {
		k = (reg - DOE_CTL_SIM_BASE) / DOE_CTL_SIM_STRIDE;
		base = DOE_CTL_SIM_BASE + k * DOE_CTL_SIM_STRIDE;
		if ((int)k < mb->sim_nr_mb && reg - base < DOE_CTL_BLOCK) {
			d->reg[k][(reg - base) / 4]++;
			return;
		}
	}
	d->other++;
}

/*
 * The offsets of the config accesses of a root write of @len bytes at @off,
 * as pci_write_config() (sysfs) and proc_bus_pci_write() split it; returns
 * how many (at most 4 + @len / 4)
 */
static int split_write(unsigned long long off, size_t len, unsigned int *acc)
{
	int n = 0;

	if (off >= DOE_CTL_CFG_SIZE)
		return 0;
	if (off + len > DOE_CTL_CFG_SIZE)
		len = DOE_CTL_CFG_SIZE - off;
	if ((off & 1) && len) {
		acc[n++] = off;
		off++;
		len--;
	}
	if ((off & 3) && len > 2) {
		acc[n++] = off;
		off += 2;
		len -= 2;
	}
	while (len > 3) {
		acc[n++] = off;
		off += 4;
		len -= 4;
	}
	if (len >= 2) {
		acc[n++] = off;
		off += 2;
		len -= 2;
	}
	if (len)
		acc[n++] = off;
	return n;
}

void doe_ctl_dev_add_write(const struct doe_ctl_mb *mb, struct doe_ctl_dev *d,
			   unsigned long long off, size_t len)
{
	static unsigned int acc[4 + DOE_CTL_CFG_SIZE / 4];
	int i, n;

	if (mb->sim_id < 0)
		return;
	n = split_write(off, len, acc);
	for (i = 0; i < n; i++)
		dev_access(mb, d, acc[i]);
}

int doe_ctl_block_accesses(const struct doe_ctl_mb *mb, unsigned long long off,
			   size_t len)
{
	static unsigned int acc[4 + DOE_CTL_CFG_SIZE / 4];
	int i, n, hits = 0;

	n = split_write(off, len, acc);
	for (i = 0; i < n; i++)
		hits += acc[i] >= mb->cap && acc[i] < mb->cap + DOE_CTL_BLOCK;
	return hits;
}

void doe_ctl_witness_start(struct doe_ctl_witness *w,
			   const struct doe_ctl_mb *mb)
{
	w->mb = mb;
	w->error = doe_ctl_dev_read(mb, &w->start);
	w->want = w->start;
}

void doe_ctl_witness_expect(struct doe_ctl_witness *w, unsigned long long off,
			    size_t len)
{
	doe_ctl_dev_add_write(w->mb, &w->want, off, len);
}

int doe_ctl_witness_check(struct doe_ctl_witness *w, char *why, size_t len)
{
	const struct doe_ctl_mb *mb = w->mb;
	struct doe_ctl_dev got;
	size_t pos = 0;
	int k, r, ret;

	why[0] = '\0';
	if (mb->sim_id < 0)
		return 0;
	if (w->error) {
		snprintf(why, len, "simulator counters: %s", strerror(-w->error));
		return w->error;
	}
	ret = doe_ctl_dev_read(mb, &got);
	if (ret) {
		snprintf(why, len, "simulator counters: %s", strerror(-ret));
		return ret;
	}
	for (k = 0; k < mb->sim_nr_mb; k++)
		for (r = 0; r < DOE_CTL_SIM_REGS; r++)
			if (got.reg[k][r] != w->want.reg[k][r] && pos < len)
				pos += snprintf(why + pos, len - pos,
						"%smb%d %s writes +%ld (expected +%ld)",
						pos ? ", " : "", k,
						sim_reg_names[r],
						got.reg[k][r] - w->start.reg[k][r],
						w->want.reg[k][r] - w->start.reg[k][r]);
	if (got.other != w->want.other && pos < len)
		pos += snprintf(why + pos, len - pos,
				"%swrites outside the mailboxes +%ld (expected +%ld)",
				pos ? ", " : "", got.other - w->start.other,
				w->want.other - w->start.other);
	return pos ? -EIO : 0;
}

ssize_t doe_ctl_read_all(const char *path, uint8_t **buf)
{
	size_t size = 0, cap = 4096;
	uint8_t *b = malloc(cap + 1), *nb;	/* + 1: the NUL */
	ssize_t n;
	int fd;

	if (!b)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(b);
		return -errno;
	}
	while ((n = read(fd, b + size, cap - size)) > 0) {
		size += n;
		if (size < cap)
			continue;
		cap *= 2;
		nb = realloc(b, cap + 1);
		if (!nb) {
			n = -1;
			errno = ENOMEM;
			break;
		}
		b = nb;
	}
	n = n < 0 ? -errno : (ssize_t)size;
	close(fd);
	if (n <= 0) {
		free(b);
	} else {
		b[size] = '\0';
		*buf = b;
	}
	return n;
}

int doe_ctl_class_count(const char *bdf)
{
	char pat[128];
	glob_t g;
	int n;

	snprintf(pat, sizeof(pat), DOE_CTL_CLASS_DIR "/%s-doe*", bdf);
	if (glob(pat, 0, NULL, &g))
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

int doe_ctl_wait_class(const char *bdf, int want, int ms)
{
	long long end = doe_ctl_now_ms() + ms;

	while (doe_ctl_class_count(bdf) != want) {
		if (doe_ctl_now_ms() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

int doe_ctl_is_bdf(const char *s)
{
	unsigned int dom, bus, dev, fn;
	char c;

	return strlen(s) == 12 &&
	       sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &c) == 4;
}

int doe_ctl_port_bdf(const char *port_dir, char *bdf, size_t len)
{
	char path[PATH_MAX + 8], real[PATH_MAX], probe[PATH_MAX + 32], *slash;

	snprintf(path, sizeof(path), "%s/uport", port_dir);
	if (!realpath(path, real))
		return -errno;
	while ((slash = strrchr(real, '/')) && slash != real) {
		snprintf(probe, sizeof(probe), "/sys/bus/pci/devices/%s",
			 slash + 1);
		if (doe_ctl_is_bdf(slash + 1) && !access(probe, F_OK)) {
			snprintf(bdf, len, "%s", slash + 1);
			return 0;
		}
		*slash = '\0';
	}
	return -ENODEV;
}

int doe_ctl_kernel_cdat(const char *bdf, uint8_t **data, size_t *len,
			char *path, size_t plen)
{
	static const char * const pats[] = {
		"/sys/bus/cxl/devices/endpoint*/CDAT",
		"/sys/bus/cxl/devices/port*/CDAT",
	};
	char dir[PATH_MAX], pbdf[64];
	int ret = -ENOENT;
	size_t p, i;
	ssize_t n;

	for (p = 0; p < ARRAY_SIZE(pats) && ret; p++) {
		glob_t g;

		if (glob(pats[p], 0, NULL, &g))
			continue;
		for (i = 0; i < g.gl_pathc && ret; i++) {
			snprintf(dir, sizeof(dir), "%s", g.gl_pathv[i]);
			*strrchr(dir, '/') = '\0';
			if (doe_ctl_port_bdf(dir, pbdf, sizeof(pbdf)) ||
			    strcmp(pbdf, bdf))
				continue;
			n = doe_ctl_read_all(g.gl_pathv[i], data);
			if (n <= 0)
				continue;
			*len = n;
			snprintf(path, plen, "%s", g.gl_pathv[i]);
			ret = 0;
		}
		globfree(&g);
	}
	return ret;
}
