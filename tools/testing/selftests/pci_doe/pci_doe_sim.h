/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the pci_doe_sim_* selftests.
 *
 * They drive the DOE device simulator (lib/pci_doe_sim.c, debugfs
 * /sys/kernel/debug/pci_doe_sim/) and the DOE test module, a kernel user
 * of the mailboxes (lib/test_pci_doe.c, /sys/kernel/debug/test_pci_doe/).
 * Every function returns 0 (or a count) on success and a negative errno
 * on failure; none of them prints anything.
 */
#ifndef PCI_DOE_SIM_H
#define PCI_DOE_SIM_H

#include <stddef.h>

#include "../kselftest.h"	/* __printf, ARRAY_SIZE */

#define SIM_DIR			"/sys/kernel/debug/pci_doe_sim"
#define TDOE_DIR		"/sys/kernel/debug/test_pci_doe"
#define PCI_DEVICES		"/sys/bus/pci/devices"
/* The DOE library's devices of its mailboxes: <bdf>-doe<offset, %03x> */
#define DOE_CLASS		"/sys/class/pci_doe"

/* Mailbox K of a simulated function */
#define SIM_MB_OFFSET(k)	(0x100 + 0x20 * (k))
#define SIM_DOE_WRITE		0x10	/* Write Data Mailbox */
#define SIM_DOE_READ		0x14	/* Read Data Mailbox */

/* Protocols the simulator answers */
#define SIM_ECHO		"7e57:01"
#define SIM_SIZED		"7e57:02"
#define SIM_TABLE		"1e98:02"
#define SIM_MAX_OBJECT_DW	0x40000	/* 2^18 dwords, Length 0 */
#define SIM_PATTERN		0xa5a50000u

/* The DOE budget: 1 s to respond plus 1 s to abort, and a margin */
#define SIM_BUDGET_MS		3500

struct sim_fn {
	int id;
	int nr_mb;
	char bdf[32];
};

struct tdoe_async {
	long submitted;
	long completed;
	long ok;
	long errors;
	int last_error;
};

/* NULL if the simulator and the test module are there, else what is not */
const char *sim_missing(void);
/*
 * NULL on the boot that runs the slow and heavy tests, else why this boot
 * does not: the simulated devices are the same on every boot of "make
 * check", so they run on the first one only (direct topology, default
 * policy), not with 0000:0f:00.0 (switch) or "pci_doe.policy=" booted.
 */
const char *sim_secondary_boot(void);
/* The DOE write policy booted: "strict", "relaxed", "locked" or "" */
const char *sim_policy(void);

/* "4 bytes", "-ETIMEDOUT", ... for messages */
const char *sim_result(int rc);
long sim_now_us(void);
int sim_exists(const char *path);
/* Wait until @path exists (@present) or not; 0 or -ETIMEDOUT */
int sim_wait_path(const char *path, int present, long timeout_ms);

__printf(2, 3) int sim_write(const char *path, const char *fmt, ...);
int sim_read(const char *path, char *buf, size_t len);
/* The number after the word @key in @path ("key N" lines or pairs) */
long sim_read_key(const char *path, const char *key);

/* Create a function with @nr_mb mailboxes of capability @version */
int sim_add(struct sim_fn *fn, int nr_mb, int version);
int sim_del(const struct sim_fn *fn);
/* Write to fID/mbK/@knob (mb < 0: fID/@knob) */
__printf(4, 5) int sim_knob(const struct sim_fn *fn, int mb,
			    const char *knob, const char *fmt, ...);
long sim_knob_key(const struct sim_fn *fn, int mb, const char *knob,
		  const char *key);
int sim_state(const struct sim_fn *fn, char *buf, size_t len);
/* Remove the function through sysfs; sim_rescan() brings it back */
int sim_sysfs_remove(const struct sim_fn *fn);
int sim_rescan(void);
/* Wait until the mailbox's counter @key reaches @min */
int sim_wait_count(const struct sim_fn *fn, int mb, const char *key,
		   long min, long timeout_ms);
/* The library's class device of mailbox @mb: DOE_CLASS "/<name>" */
void sim_doe_dir(const struct sim_fn *fn, int mb, char *buf, size_t len);
/*
 * A number in the class device of mailbox @mb: statistics/@attr
 * (exchanges, errors, timeouts, aborts, denied_writes...) or else @attr
 * (in_flight)
 */
long sim_doe_attr(const struct sim_fn *fn, int mb, const char *attr);
/* The kernel's claims on mailbox @mb: the counts of its "owners" summed */
long sim_doe_claims(const struct sim_fn *fn, int mb);

__printf(2, 3) int tdoe(const char *ctl, const char *fmt, ...);
long tdoe_long(const char *file);
/*
 * One pci_doe() through the test module: returns the response bytes or
 * -errno, and the time it took in *@ms when @ms is not NULL.
 */
int tdoe_exchange(const struct sim_fn *fn, int mb, const char *prot,
		  const char *req, size_t rsp_sz, long *ms);
/* Queue @count pci_doe_submit() tasks */
int tdoe_async(const struct sim_fn *fn, int mb, int count, const char *prot,
	       const char *req, size_t rsp_sz);
int tdoe_async_results(struct tdoe_async *r);
int tdoe_claim(const struct sim_fn *fn, int mb, const char *owner);
int tdoe_release(const struct sim_fn *fn, int mb, const char *owner);

/* Config space access through sysfs: 0 or -errno */
int sim_cfg_write(const struct sim_fn *fn, unsigned int off, const void *buf,
		  size_t len);
int sim_proc_write(const struct sim_fn *fn, unsigned int off,
		   const void *buf, size_t len);

#endif /* PCI_DOE_SIM_H */
