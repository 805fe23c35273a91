// SPDX-License-Identifier: GPL-2.0
/*
 * doe_user: a userspace DOE requester over sysfs config space, see doe_user.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci-doe.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doe_user.h"

/* Extended capabilities live in 0x100..0xfff, each header is 4 bytes */
#define EXT_CAP_START	0x100
#define EXT_CAP_END	0x1000
#define EXT_CAP_MAX	((EXT_CAP_END - EXT_CAP_START) / 4)
/* wait_status(): any bit of the mask */
#define DOE_ANY		0xffffffffu

int doe_user_open(const char *bdf, int rw)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int doe_user_read(int fd, unsigned int off, uint32_t *val)
{
	uint8_t b[4];
	ssize_t n = pread(fd, b, sizeof(b), off);

	if (n < 0)
		return -errno;
	if (n != sizeof(b))
		return -ENXIO;	/* beyond the end of config space */
	*val = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

int doe_user_write(int fd, unsigned int off, uint32_t val)
{
	uint8_t b[4] = { val, val >> 8, val >> 16, val >> 24 };
	ssize_t n = pwrite(fd, b, sizeof(b), off);

	if (n < 0)
		return -errno;
	return n == sizeof(b) ? 0 : -EIO;
}

int doe_user_find(int fd, uint16_t *caps, uint8_t *versions, int max)
{
	unsigned int off = EXT_CAP_START, seen = 0;
	int found = 0, ret;
	uint32_t hdr;

	while (off) {
		if (off < EXT_CAP_START || off >= EXT_CAP_END || ++seen > EXT_CAP_MAX)
			return -ELOOP;
		ret = doe_user_read(fd, off, &hdr);
		if (ret == -ENXIO)	/* no extended config space */
			return found;
		if (ret)
			return ret;
		if (hdr == 0 || hdr == 0xffffffff)
			break;
		if ((hdr & 0xffff) == DOE_USER_EXT_CAP_ID) {
			if (found < max) {
				caps[found] = off;
				if (versions)
					versions[found] = (hdr >> 16) & 0xf;
			}
			found++;
		}
		off = (hdr >> 20) & 0xffc;
	}
	return found;
}

int doe_user_mb_init(struct doe_user_mb *mb, int fd, const char *bdf,
		     uint16_t cap)
{
	uint32_t hdr;
	int ret;

	memset(mb, 0, sizeof(*mb));
	mb->fd = fd;
	mb->cdev_fd = -1;
	snprintf(mb->bdf, sizeof(mb->bdf), "%s", bdf);
	mb->cap = cap;
	ret = doe_user_read(fd, cap, &hdr);
	if (ret)
		return ret;
	if ((hdr & 0xffff) != DOE_USER_EXT_CAP_ID)
		return -ENODEV;
	mb->cap_version = (hdr >> 16) & 0xf;
	return 0;
}

void doe_user_cdev_path(const char *bdf, unsigned int cap, char *buf,
			size_t len)
{
	snprintf(buf, len, DOE_USER_CDEV_DIR "/%s-doe%03x", bdf, cap);
}

int doe_user_take(struct doe_user_mb *mb)
{
	char path[96];
	int fd, err;

	if (mb->taken)
		return 0;
	doe_user_cdev_path(mb->bdf, mb->cap, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, PCI_DOE_IOC_TAKE, 0) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	mb->cdev_fd = fd;
	mb->taken = 1;
	return 0;
}

int doe_user_give(struct doe_user_mb *mb)
{
	int ret = 0;

	if (!mb->taken)
		return 0;
	if (ioctl(mb->cdev_fd, PCI_DOE_IOC_GIVE, 0) < 0)
		ret = -errno;
	close(mb->cdev_fd);
	mb->cdev_fd = -1;
	mb->taken = 0;
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Poll Status until (status & mask) == want (or, when want is DOE_ANY, until
 * any bit of mask is set), at most 1 s.  Sleeps grow from
 * 10 us to 1 ms so fast devices (QEMU answers at once) cost little.
 */
static int wait_status(struct doe_user_mb *mb, uint32_t mask, uint32_t want,
		       uint32_t *status)
{
	long long deadline = now_ms() + DOE_USER_TIMEOUT_MS;
	useconds_t sleep_us = 10;
	int ret;

	for (;;) {
		ret = doe_user_read(mb->fd, mb->cap + DOE_USER_STATUS, status);
		if (ret)
			return ret;
		if (want == DOE_ANY ? (*status & mask) != 0 : (*status & mask) == want)
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(sleep_us);
		if (sleep_us < 1000)
			sleep_us *= 2;
	}
}

int doe_user_abort(struct doe_user_mb *mb)
{
	uint32_t status;
	int ret;

	ret = doe_user_write(mb->fd, mb->cap + DOE_USER_CTRL,
			     DOE_USER_CTRL_ABORT);
	if (ret)
		return ret;
	return wait_status(mb, DOE_USER_STATUS_BUSY | DOE_USER_STATUS_ERROR |
			   DOE_USER_STATUS_READY, 0, &status);
}

int doe_user_exchange(struct doe_user_mb *mb, const uint32_t *req,
		      size_t req_dw, uint32_t *rsp, size_t rsp_max,
		      size_t *rsp_dw)
{
	uint32_t status, val, len = 0;
	size_t i;
	int ret;

	if (req_dw < 2)
		return -EINVAL;
	ret = doe_user_read(mb->fd, mb->cap + DOE_USER_STATUS, &status);
	if (ret)
		return ret;
	/* A stale Error or response (someone else's) must be aborted first */
	if (status & (DOE_USER_STATUS_ERROR | DOE_USER_STATUS_READY)) {
		ret = doe_user_abort(mb);
		if (ret)
			return ret == -ETIMEDOUT ? -EIO : ret;
	}
	ret = wait_status(mb, DOE_USER_STATUS_BUSY, 0, &status);
	if (ret)
		return ret == -ETIMEDOUT ? -EBUSY : ret;

	for (i = 0; i < req_dw; i++) {
		ret = doe_user_write(mb->fd, mb->cap + DOE_USER_WRITE, req[i]);
		if (ret)
			return ret;
	}
	ret = doe_user_write(mb->fd, mb->cap + DOE_USER_CTRL, DOE_USER_CTRL_GO);
	if (ret)
		return ret;

	ret = wait_status(mb, DOE_USER_STATUS_READY | DOE_USER_STATUS_ERROR,
			  DOE_ANY, &status);
	if (ret == -ETIMEDOUT || (!ret && (status & DOE_USER_STATUS_ERROR))) {
		doe_user_abort(mb);
		return ret ? ret : -EIO;
	}
	if (ret)
		return ret;

	for (i = 0; i < 2 || i < len; i++) {
		ret = doe_user_read(mb->fd, mb->cap + DOE_USER_READ, &val);
		if (ret)
			return ret;
		ret = doe_user_write(mb->fd, mb->cap + DOE_USER_READ, 0);
		if (ret)
			return ret;
		if (i == 0 && val != req[0]) {
			doe_user_abort(mb);
			return -EIO;	/* answer to another vendor:type */
		}
		if (i == 1) {
			len = val & (DOE_USER_MAX_DW - 1);
			if (!len)
				len = DOE_USER_MAX_DW;
			if (len < 2) {
				doe_user_abort(mb);
				return -EIO;
			}
		}
		if (i < rsp_max)
			rsp[i] = val;
	}
	ret = doe_user_read(mb->fd, mb->cap + DOE_USER_STATUS, &status);
	if (ret)
		return ret;
	if (status & DOE_USER_STATUS_ERROR) {
		doe_user_abort(mb);
		return -EIO;
	}
	*rsp_dw = len;
	return 0;
}

int doe_user_discover(struct doe_user_mb *mb, struct doe_user_prot *prots,
		      int max)
{
	uint8_t version = mb->cap_version >= 2 ? 2 : 0;
	unsigned char seen[DOE_USER_MAX_PROTOCOLS] = { 0 };
	unsigned int index = 0;
	uint32_t req[3], rsp[8];
	size_t rsp_dw;
	int n = 0, ret;

	for (;;) {
		if (seen[index] || n >= DOE_USER_MAX_PROTOCOLS)
			return -ELOOP;
		seen[index] = 1;
		req[0] = DOE_USER_VID_PCISIG | DOE_USER_TYPE_DISCOVERY << 16;
		req[1] = 3;
		req[2] = index | version << 8;
		ret = doe_user_exchange(mb, req, 3, rsp, 8, &rsp_dw);
		if (ret)
			return ret;
		if (rsp_dw < 3)	/* more dwords are tolerated */
			return -EIO;
		if (n < max) {
			prots[n].vid = rsp[2] & 0xffff;
			prots[n].type = (rsp[2] >> 16) & 0xff;
		}
		n++;
		index = rsp[2] >> 24;
		if (!index)
			return n;
	}
}

int doe_user_has(const struct doe_user_prot *prots, int n, uint16_t vid,
		 uint8_t type)
{
	int i;

	for (i = 0; i < n; i++)
		if (prots[i].vid == vid && prots[i].type == type)
			return 1;
	return 0;
}

/* A CDAT entry is at most 64 KiB (16-bit length), plus 3 dwords of header */
#define CDAT_RSP_MAX_DW	(3 + 65536 / 4)
/* CDAT header: Length (4 bytes), Revision, Checksum, reserved, Sequence */
#define CDAT_HDR_LEN	16

int doe_user_read_cdat(struct doe_user_mb *mb, uint8_t **table, size_t *len)
{
	uint32_t req[3], *rsp;
	uint8_t *buf = NULL, *nbuf;
	size_t size = 0, rsp_dw, entry;
	unsigned int handle = 0, entries = 0;
	int ret = 0;

	rsp = malloc(CDAT_RSP_MAX_DW * sizeof(*rsp));
	if (!rsp)
		return -ENOMEM;
	do {
		/* at most one entry per 16-bit handle */
		if (++entries > 0x10000) {
			ret = -ELOOP;
			break;
		}
		req[0] = DOE_USER_VID_CXL | DOE_USER_TYPE_CDAT << 16;
		req[1] = 3;
		req[2] = 0 | 0 << 8 | handle << 16;	/* read entry, CDAT table */
		ret = doe_user_exchange(mb, req, 3, rsp, CDAT_RSP_MAX_DW, &rsp_dw);
		if (ret)
			break;
		if (rsp_dw < 3 || rsp_dw > CDAT_RSP_MAX_DW) {
			ret = -EIO;
			break;
		}
		entry = (rsp_dw - 3) * 4;
		if (handle == 0 && entry < CDAT_HDR_LEN) {
			ret = -EIO;
			break;
		}
		nbuf = realloc(buf, size + entry + 1);
		if (!nbuf) {
			ret = -ENOMEM;
			break;
		}
		buf = nbuf;
		memcpy(buf + size, &rsp[3], entry);
		size += entry;
		handle = rsp[2] >> 16;
	} while (handle != 0xffff);
	free(rsp);
	if (ret) {
		free(buf);
		return ret;
	}
	*table = buf;
	*len = size;
	return 0;
}

int doe_user_find_protocol(const char *bdf, uint16_t vid, uint8_t type,
			   struct doe_user_mb *mb)
{
	struct doe_user_prot prots[DOE_USER_MAX_PROTOCOLS];
	uint16_t caps[16];
	int fd, n, i, np, ret = -ENOENT;

	fd = doe_user_open(bdf, 1);
	if (fd < 0)
		return fd;
	n = doe_user_find(fd, caps, NULL, 16);
	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++) {
		ret = doe_user_mb_init(mb, fd, bdf, caps[i]);
		if (ret)
			break;
		doe_user_take(mb);	/* best effort, see doe_user_take() */
		np = doe_user_discover(mb, prots, DOE_USER_MAX_PROTOCOLS);
		if (np >= 0 && doe_user_has(prots, np, vid, type))
			return 0;
		doe_user_give(mb);
		ret = np < 0 ? np : -ENOENT;
		if (np < 0)
			break;
	}
	close(fd);
	return n < 0 ? n : ret;
}

void doe_user_close(struct doe_user_mb *mb)
{
	doe_user_give(mb);
	if (mb->fd >= 0)
		close(mb->fd);
	mb->fd = -1;
}

int doe_user_write_file(const char *path, const char *s)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int doe_user_serial(const char *bdf, uint64_t *sn)
{
	unsigned int off = EXT_CAP_START, hops = 0;
	uint32_t h, lo, hi;
	int fd, ret;

	fd = doe_user_open(bdf, 0);
	if (fd < 0)
		return fd;
	ret = -ENOENT;
	while (off >= EXT_CAP_START && off + 12 <= EXT_CAP_END && !(off & 3) &&
	       hops++ < EXT_CAP_MAX) {
		ret = doe_user_read(fd, off, &h);
		if (ret)
			break;
		ret = -ENOENT;
		if ((h & 0xffff) == 0x0003) {
			ret = doe_user_read(fd, off + 4, &lo);
			if (!ret)
				ret = doe_user_read(fd, off + 8, &hi);
			if (!ret)
				*sn = (uint64_t)hi << 32 | lo;
			break;
		}
		off = h >> 20;
	}
	close(fd);
	return ret;
}

enum doe_user_table doe_user_harness_table(const char *bdf)
{
	uint64_t sn;

	if (doe_user_serial(bdf, &sn) || sn <= DOE_USER_TABLE_SN ||
	    sn >= DOE_USER_TABLE_SN + DOE_USER_TABLE_MAX)
		return DOE_USER_TABLE_NONE;
	return sn - DOE_USER_TABLE_SN;
}

int doe_user_read_cdat_at(const char *bdf, uint16_t cap, uint8_t **table,
			  size_t *len)
{
	struct doe_user_mb mb;
	int fd, ret;

	fd = doe_user_open(bdf, 1);
	if (fd < 0)
		return fd;
	ret = doe_user_mb_init(&mb, fd, bdf, cap);
	if (!ret)
		ret = doe_user_take(&mb);
	if (!ret) {
		ret = doe_user_read_cdat(&mb, table, len);
		doe_user_give(&mb);
	}
	close(fd);
	return ret;
}

int doe_user_cmdline(const char *key, char *val, size_t len)
{
	char buf[4096], *tok, *save = NULL;
	size_t klen = strlen(key);
	ssize_t n;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (!strncmp(tok, key, klen) && tok[klen] == '=') {
			snprintf(val, len, "%s", tok + klen + 1);
			return 0;
		}
	}
	return -ENOENT;
}
