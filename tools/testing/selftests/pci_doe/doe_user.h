/* SPDX-License-Identifier: GPL-2.0 */
/*
 * doe_user: a userspace DOE requester over /sys/bus/pci/devices/<BDF>/config.
 *
 * Used by the pci_doe selftests to learn, independently of the kernel, what a
 * device's DOE mailboxes answer (PCIe r6.2 sec 6.30, registers in sec 7.9.24).
 * Every access is a 4-byte pread()/pwrite() of a little-endian dword, which
 * the kernel turns into one config dword access.  A mailbox may be taken
 * from the kernel first through its char device /dev/pci_doe/<name>
 * (PCI_DOE_IOC_TAKE, include/uapi/linux/pci-doe.h), which keeps kernel users
 * out and lets root's config writes to it through under every policy.
 *
 * All functions return 0 (or a count) on success and a negative errno on
 * failure; none of them prints anything.
 */
#ifndef DOE_USER_H
#define DOE_USER_H

#include <stddef.h>
#include <stdint.h>

#define DOE_USER_EXT_CAP_ID	0x2e		/* PCI_EXT_CAP_ID_DOE */
#define DOE_USER_CAP		0x04
#define DOE_USER_CTRL		0x08
#define DOE_USER_CTRL_ABORT	0x00000001u
#define DOE_USER_CTRL_GO	0x80000000u
#define DOE_USER_STATUS		0x0c
#define DOE_USER_STATUS_BUSY	0x00000001u
#define DOE_USER_STATUS_ERROR	0x00000004u
#define DOE_USER_STATUS_READY	0x80000000u
#define DOE_USER_WRITE		0x10
#define DOE_USER_READ		0x14

#define DOE_USER_VID_PCISIG	0x0001
#define DOE_USER_TYPE_DISCOVERY	0x00
#define DOE_USER_VID_CXL	0x1e98
#define DOE_USER_TYPE_CDAT	0x02

/* 1 s from Go to Data Object Ready, for Busy and for Abort (sec 6.30.2) */
#define DOE_USER_TIMEOUT_MS	1000
/* Discovery indices are 8 bits wide */
#define DOE_USER_MAX_PROTOCOLS	256
/* Length 0 in header dword 1 means 2^18 dwords */
#define DOE_USER_MAX_DW		0x40000u

/* Char devices of the mailboxes: <bdf>-doe<offset, %03x> */
#define DOE_USER_CDEV_DIR	"/dev/pci_doe"

struct doe_user_mb {
	int fd;			/* the sysfs config file, every access */
	int cdev_fd;		/* /dev/pci_doe/<name> while taken, else -1 */
	char bdf[32];		/* e.g. "0000:0d:00.0" */
	uint16_t cap;		/* config offset of the DOE capability */
	uint8_t cap_version;	/* version field of its extended cap header */
	int taken;		/* held with PCI_DOE_IOC_TAKE through cdev_fd */
};

struct doe_user_prot {
	uint16_t vid;
	uint8_t type;
};

/* Open /sys/bus/pci/devices/<bdf>/config read-write (read-only if !rw). */
int doe_user_open(const char *bdf, int rw);
int doe_user_read(int fd, unsigned int off, uint32_t *val);
int doe_user_write(int fd, unsigned int off, uint32_t val);

/*
 * Walk the extended capability list from 0x100 (bounded, loop-checked) and
 * store the offsets and versions of the DOE capabilities.  Returns how many
 * were found (possibly more than @max; only @max are stored).
 */
int doe_user_find(int fd, uint16_t *caps, uint8_t *versions, int max);

/* Set up @mb for the mailbox at @cap of @bdf; @fd must be read-write. */
int doe_user_mb_init(struct doe_user_mb *mb, int fd, const char *bdf,
		     uint16_t cap);

/* The mailbox's char device: DOE_USER_CDEV_DIR "/<bdf>-doe<cap %03x>" */
void doe_user_cdev_path(const char *bdf, unsigned int cap, char *buf,
			size_t len);

/*
 * Take the mailbox for userspace: open its char device read-write and
 * ioctl(PCI_DOE_IOC_TAKE, 0).  The accesses of @mb still go through the
 * sysfs config file, which the kernel lets through to a taken mailbox under
 * every policy (pci_doe.policy=relaxed|strict|locked); kernel users get
 * -EBUSY until doe_user_give().  -ENOENT: no char device (a kernel without
 * it, where writes to an unowned mailbox are not restricted); -EBUSY: the
 * kernel owns the mailbox or another file holds it.
 */
int doe_user_take(struct doe_user_mb *mb);
/* Give a taken mailbox back (PCI_DOE_IOC_GIVE) and close its char device. */
int doe_user_give(struct doe_user_mb *mb);

/* Abort and wait (1 s) for Busy, Error and Data Object Ready to clear. */
int doe_user_abort(struct doe_user_mb *mb);

/*
 * One exchange: @req (@req_dw dwords including the 2 header dwords) is
 * written, Go is set, the response is read dword by dword.  Up to @rsp_max
 * dwords are stored in @rsp; *@rsp_dw gets the response length from its
 * header.  A stale Error or Data Object Ready is cleared with an Abort first.
 * -ETIMEDOUT: no Data Object Ready within 1 s; -EIO: Error, or a response
 * whose header does not match the request; -EPERM: the kernel refused a
 * write to the mailbox.
 */
int doe_user_exchange(struct doe_user_mb *mb, const uint32_t *req,
		      size_t req_dw, uint32_t *rsp, size_t rsp_max,
		      size_t *rsp_dw);

/*
 * DOE Discovery from index 0 until Next Index is 0 (at most 256 entries; a
 * repeated index is -ELOOP).  Returns the number of protocols stored.
 */
int doe_user_discover(struct doe_user_mb *mb, struct doe_user_prot *prots,
		      int max);

/* Does the list contain vid:type? */
int doe_user_has(const struct doe_user_prot *prots, int n, uint16_t vid,
		 uint8_t type);

/*
 * Read the whole CDAT through CXL Table Access, entry by entry from handle 0
 * (the CDAT header) until the next handle is 0xffff.  *@table is malloc()ed
 * and holds the concatenated entries; *@len is their total size.
 */
int doe_user_read_cdat(struct doe_user_mb *mb, uint8_t **table, size_t *len);

/*
 * The whole CDAT of the mailbox at @cap of @bdf, read as doe_user_read_cdat()
 * does with the mailbox taken (doe_user_take()) and given back after.
 */
int doe_user_read_cdat_at(const char *bdf, uint16_t cap, uint8_t **table,
			  size_t *len);

/*
 * Find the first mailbox of @bdf that lists @vid:@type in Discovery and open
 * it (read-write) into @mb, taken with doe_user_take() when the kernel
 * supports that.  -ENOENT if there is none.
 */
int doe_user_find_protocol(const char *bdf, uint16_t vid, uint8_t type,
			   struct doe_user_mb *mb);
/* Give the mailbox back if taken and close its files. */
void doe_user_close(struct doe_user_mb *mb);

/*
 * The Device Serial Number of @bdf (extended capability 0x0003, list walk
 * bounded by the number of headers that fit) in *@sn.  -ENOENT: the
 * function has none.
 */
int doe_user_serial(const char *bdf, uint64_t *sn);

/*
 * The cxl-type3 devices of the switch topology whose CDATs are files of
 * scripts/cdat-tables.sh, by serial number (scripts/qemu.sh sets sn=):
 * one structure of every type, the same with a bad checksum, the same with
 * a header claiming 24 bytes more than the structures hold.
 */
#define DOE_USER_TABLE_SN	0xcda7000000000000ull
enum doe_user_table {
	DOE_USER_TABLE_NONE,	/* not one of them */
	DOE_USER_TABLE_EVERY,
	DOE_USER_TABLE_BADSUM,
	DOE_USER_TABLE_SHORT,
	DOE_USER_TABLE_MAX,
};

/* Which of those tables @bdf serves; DOE_USER_TABLE_NONE for other devices */
enum doe_user_table doe_user_harness_table(const char *bdf);

/*
 * The value of parameter @key ("harness.topo") on the kernel command line
 * (/proc/cmdline) in @val; -ENOENT if it is not there.
 */
int doe_user_cmdline(const char *key, char *val, size_t len);

/* Write string @s to the file at @path (sysfs, debugfs); 0 or -errno. */
int doe_user_write_file(const char *path, const char *s);

#endif /* DOE_USER_H */
