/* SPDX-License-Identifier: GPL-2.0 */
/*
 * doe_ctl: helpers shared by the DOE ownership selftests (pci_doe_owner,
 * pci_doe_policy, pci_doe_class...): the mailboxes the kernel shows as
 * devices of class pci_doe (/sys/class/pci_doe/<BDF>-doe<offset>/, with
 * their counters in statistics/), their char devices
 * (/dev/pci_doe/<BDF>-doe<offset>) and ioctls (include/uapi/linux/pci-doe.h),
 * the test module's debugfs controls (/sys/kernel/debug/test_pci_doe/,
 * lib/test_pci_doe.c) and the two config space write paths of root (sysfs
 * config and /proc/bus/pci).
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure, like doe_user.h; none of them prints anything.
 */
#ifndef DOE_CTL_H
#define DOE_CTL_H

#include <linux/pci-doe.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../kselftest.h"
#include "doe_user.h"

/* The mailboxes' class devices and char devices */
#define DOE_CTL_CLASS_DIR	"/sys/class/pci_doe"
#define DOE_CTL_CDEV_DIR	DOE_USER_CDEV_DIR
/* struct pci_doe_info up to its protocols: the smallest argsz of INFO */
#define DOE_CTL_INFO_MIN	offsetof(struct pci_doe_info, protocols)
/* What INFO reports as max_object_size: 2^18 dwords (PCIe r6.2 sec 6.30.1) */
#define DOE_CTL_MAX_OBJECT	(DOE_USER_MAX_DW * 4)

/* Size of the DOE register block (PCIe r6.2 sec 7.9.24) */
#define DOE_CTL_BLOCK		0x18
/* Extended config space size */
#define DOE_CTL_CFG_SIZE	4096
/* DOE Control: Interrupt Enable */
#define DOE_CTL_CTRL_INT_EN	0x00000002u
/* Bit 6 of /proc/sys/kernel/tainted: TAINT_USER */
#define DOE_CTL_TAINT_USER	0x40ul

#define DOE_CTL_MAX_MBS		16
#define DOE_CTL_DEFAULT_DIR	"/sys/kernel/debug/test_pci_doe"

/* The DOE simulator (lib/pci_doe_sim.c), where the kernel has it */
#define DOE_CTL_SIM_DIR		"/sys/kernel/debug/pci_doe_sim"
#define DOE_CTL_SIM_MAX_MB	16
/* Its mailbox K is at 0x100 + 0x20 * K, six registers */
#define DOE_CTL_SIM_BASE	0x100
#define DOE_CTL_SIM_STRIDE	0x20
#define DOE_CTL_SIM_REGS	6

/* One mailbox, as its class device /sys/class/pci_doe/<name>/ shows it */
struct doe_ctl_mb {
	char bdf[32];
	unsigned int cap;
	char name[64];			/* "<bdf>-doe<cap, %03x>" */
	char dir[160];			/* /sys/class/pci_doe/<name> */
	char protocols[256];		/* "0001:00 1e98:02" */
	int has_cdat;			/* lists CXL Table Access (1e98:02) */
	int sim_id;			/* simulated function ID, or -1 */
	int sim_index;			/* K of mbK in the simulator */
	int sim_nr_mb;			/* mailboxes of the simulated function */
};

/* Where a root config write goes through */
enum doe_ctl_path {
	DOE_CTL_SYSFS,		/* /sys/bus/pci/devices/<bdf>/config */
	DOE_CTL_PROCFS,		/* /proc/bus/pci/<bus>/<dev>.<fn> */
};

extern const char * const doe_ctl_path_names[];

/* Every mailbox of class pci_doe, sorted by BDF and offset; how many. */
int doe_ctl_mailboxes(struct doe_ctl_mb *mbs, int max);
/* The name of the class device of the mailbox at @cap of @bdf */
void doe_ctl_mb_name(const char *bdf, unsigned int cap, char *buf,
		     size_t len);

/* Read a file of the mailbox's class device (trailing newline cut). */
int doe_ctl_mb_read(const struct doe_ctl_mb *mb, const char *name, char *buf,
		    size_t len);
/*
 * A decimal counter of the mailbox: statistics/@name (exchanges, errors,
 * timeouts, aborts, denied_writes, overridden_writes) or else @name
 * (in_flight).
 */
long doe_ctl_mb_counter(const struct doe_ctl_mb *mb, const char *name);
/* The path of statistics/@name of @mb */
void doe_ctl_mb_stat_path(const struct doe_ctl_mb *mb, const char *name,
			  char *buf, size_t len);
/* Kernel claims on @mb: the sum of the counts in "owners"; or -errno */
long doe_ctl_mb_claims(const struct doe_ctl_mb *mb);
/*
 * The process holding @mb ("holder": "<pid> <comm>"): its pid, its comm in
 * @comm (if not NULL); 0 if the mailbox is not taken.
 */
int doe_ctl_mb_holder(const struct doe_ctl_mb *mb, char *comm, size_t len);

/* Read a small file (trailing newline cut); doe_user_write_file() writes. */
int doe_ctl_read_file(const char *path, char *buf, size_t len);

/* pci_doe.policy: "relaxed", "strict" or "locked"; -ENOENT without it. */
int doe_ctl_policy(char *buf, size_t len);
/* /proc/sys/kernel/tainted */
unsigned long doe_ctl_tainted(void);

/*
 * The test module: its directory (TEST_PCI_DOE_DIR overrides the default),
 * whether it is there, a write to one of its files (returns 0 or the
 * -errno of the write, i.e. of the library call) and a read.
 */
const char *doe_ctl_tpd_dir(void);
int doe_ctl_tpd_present(void);
__printf(2, 3)
int doe_ctl_tpd_write(const char *file, const char *fmt, ...);
int doe_ctl_tpd_read(const char *file, char *buf, size_t len);

/*
 * Trigger @trigger ("trigger_claim", "trigger_exchange"...) on @mb with
 * "device=<bdf> offset=<cap>" and @extra appended (may be NULL), preceded by
 * "@count " when @count is not 0.
 */
int doe_ctl_tpd_on(const struct doe_ctl_mb *mb, const char *trigger,
		   unsigned long count, const char *extra);
int doe_ctl_claim(const struct doe_ctl_mb *mb);
int doe_ctl_release(const struct doe_ctl_mb *mb);
/* A kernel DOE Discovery exchange (index 0) on @mb; 0 or -errno. */
int doe_ctl_kernel_discovery(const struct doe_ctl_mb *mb);
/* The hex Discovery request for index 0 and the capability version. */
void doe_ctl_discovery_request(const struct doe_ctl_mb *mb, char *hex,
			       size_t len);

/* Open a config write path of @bdf read-write (or read-only). */
int doe_ctl_open(const char *bdf, enum doe_ctl_path path, int rw);
int doe_ctl_proc_path(const char *bdf, char *buf, size_t len);
/* pread/pwrite exactly @len bytes at @off: 0 or -errno (-EIO if short). */
int doe_ctl_pread(int fd, void *buf, size_t len, off_t off);
int doe_ctl_pwrite(int fd, const void *buf, size_t len, off_t off);

/*
 * The mailbox's char device: its path, and an open() of it with @flags
 * (O_CLOEXEC added) returning the fd or -errno.
 */
void doe_ctl_cdev_path(const struct doe_ctl_mb *mb, char *buf, size_t len);
int doe_ctl_cdev_open(const struct doe_ctl_mb *mb, int flags);
/* ioctl(@fd, @req, @arg): 0 or -errno */
int doe_ctl_ioctl(int fd, unsigned long req, unsigned long arg);
/* PCI_DOE_IOC_TAKE/GIVE (argument 0) on a char device fd: 0 or -errno. */
int doe_ctl_take(int fd);
int doe_ctl_give(int fd);
/*
 * PCI_DOE_IOC_INFO into @info, a buffer of @size bytes (at least 4), with
 * argsz = @size: 0 or -errno; the kernel sets argsz to the size it needs.
 */
int doe_ctl_info(int fd, struct pci_doe_info *info, size_t size);

/* A userspace Discovery through @fd, formatted like @mb->protocols. */
int doe_ctl_user_discovery(const struct doe_ctl_mb *mb, int fd, char *buf,
			   size_t len);

long long doe_ctl_now_ms(void);

/*
 * /dev/kmsg records after @fd's position (opened O_NONBLOCK) that contain
 * every one of @a, @b and @c (NULL: no condition); consumes them all.
 * The first match is copied to @line when @line is not NULL.
 */
int doe_ctl_kmsg_count(int fd, const char *a, const char *b, const char *c,
		       char *line, size_t len);

/*
 * The device's side of root's writes, on simulated mailboxes: the
 * simulator counts the config writes its function gets, per register of
 * each mailbox and outside the mailboxes.  A witness takes a snapshot of
 * those counters; the writes the test expects to reach the device are
 * added with doe_ctl_witness_expect(), as the kernel splits them into
 * byte, word and dword accesses; doe_ctl_witness_check() then compares
 * with what the device saw.  On a mailbox that is not simulated the
 * witness sees nothing and every check passes (mb->sim_id < 0).
 */
struct doe_ctl_dev {
	long reg[DOE_CTL_SIM_MAX_MB][DOE_CTL_SIM_REGS];
	long other;		/* outside the mailboxes */
};

struct doe_ctl_witness {
	const struct doe_ctl_mb *mb;
	struct doe_ctl_dev start;
	struct doe_ctl_dev want;
	int error;		/* reading the counters failed: -errno */
};

/* Is the simulator there (debugfs, CONFIG_PCI_DOE_SIM)? */
int doe_ctl_sim_present(void);
/* Create a simulated function with @nr_mb mailboxes; its ID and BDF */
int doe_ctl_sim_add(int nr_mb, int *id, char *bdf, size_t len);
int doe_ctl_sim_del(int id);
/* The simulator's counters of @mb's function */
int doe_ctl_dev_read(const struct doe_ctl_mb *mb, struct doe_ctl_dev *d);
/* Add the config accesses of a root write of @len bytes at @off to @d */
void doe_ctl_dev_add_write(const struct doe_ctl_mb *mb, struct doe_ctl_dev *d,
			   unsigned long long off, size_t len);
/*
 * How many of the config accesses that the kernel splits a root write of
 * @len bytes at @off into reach @mb's block (any mailbox, simulated or not)
 */
int doe_ctl_block_accesses(const struct doe_ctl_mb *mb, unsigned long long off,
			   size_t len);
/* A named counter of the simulator's mbK/counters file of @mb */
long doe_ctl_sim_counter(const struct doe_ctl_mb *mb, const char *key);
/* Write @val to the simulator's knob mbK/@knob of @mb: 0 or -errno */
int doe_ctl_sim_knob(const struct doe_ctl_mb *mb, const char *knob,
		     const char *val);

void doe_ctl_witness_start(struct doe_ctl_witness *w,
			   const struct doe_ctl_mb *mb);
void doe_ctl_witness_expect(struct doe_ctl_witness *w, unsigned long long off,
			    size_t len);
/*
 * 0 if the device saw exactly the expected writes since the start (always
 * for a mailbox that is not simulated); -EIO with the differences in @why
 * ("mb0 write_mailbox 1 (expected 0), ..."), or the -errno of reading the
 * counters.
 */
int doe_ctl_witness_check(struct doe_ctl_witness *w, char *why, size_t len);

/*
 * In a kselftest_harness test: did the device see exactly what @w expects?
 * Logs the difference, prefixed with "<bdf>@<cap>: device side of @what".
 */
#define EXPECT_DEVICE(w, what, ...) do {				\
	struct doe_ctl_witness *__w = (w);				\
	char __why[512];						\
	int __ret = doe_ctl_witness_check(__w, __why, sizeof(__why));	\
	EXPECT_EQ(0, __ret)						\
		TH_LOG("%s@%#x: device side of " what ": %s",		\
		       __w->mb->bdf, __w->mb->cap, ##__VA_ARGS__, __why);	\
} while (0)

/* ---- sysfs files, class devices and the CXL driver's CDATs ---- */

/*
 * A whole file, malloc()ed in *@buf with a NUL after its last byte (so a
 * text file is a string); its size, or -errno.  Nothing is allocated, and
 * *@buf is left alone, when it returns 0 or less.
 */
ssize_t doe_ctl_read_all(const char *path, uint8_t **buf);

/* How many class devices @bdf has (/sys/class/pci_doe/<bdf>-doe*) */
int doe_ctl_class_count(const char *bdf);
/* Wait up to @ms until @bdf has @want class devices; 0 or -ETIMEDOUT */
int doe_ctl_wait_class(const char *bdf, int want, int ms);

/* Is @s DDDD:BB:DD.F, the name of a PCI function in sysfs? */
int doe_ctl_is_bdf(const char *s);

/*
 * The PCI function behind the CXL port at @port_dir: its "uport" is the
 * function itself (a switch upstream port) or a device below it (an
 * endpoint's memdev).  -ENODEV: no PCI function on the way.
 */
int doe_ctl_port_bdf(const char *port_dir, char *bdf, size_t len);

/*
 * The CDAT the CXL driver read from @bdf (an endpoint or port CDAT file
 * of /sys/bus/cxl/devices whose port leads to @bdf), malloc()ed in *@data,
 * its size in *@len and its path in @path.  -ENOENT: none, or empty.
 */
int doe_ctl_kernel_cdat(const char *bdf, uint8_t **data, size_t *len,
			char *path, size_t plen);

#endif /* DOE_CTL_H */
