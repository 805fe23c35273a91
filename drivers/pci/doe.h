/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the PCI DOE library, shared by its three parts and its KUnit
 * tests; nothing here is for drivers (they use <linux/pci-doe.h>):
 *
 *   doe.c        the exchange engine and the kernel API: Discovery, the
 *                queue and the polling, pci_doe(), pci_doe_submit()
 *   doe-owner.c  who owns a mailbox: kernel claims, the decision on every
 *                root config write, root's takeover
 *   doe-dev.c    the userspace face: a device of class pci_doe per mailbox,
 *                its attributes and its char device
 *
 * A mailbox's state is grouped the same way: struct pci_doe_mb holds what
 * the engine needs, with struct pci_doe_owner and struct pci_doe_face
 * embedded for the other two parts.
 */
#ifndef DRIVERS_PCI_DOE_H
#define DRIVERS_PCI_DOE_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "pci.h"

/* The Discovery protocol, of Vendor ID PCI_VENDOR_ID_PCI_SIG */
#define DOE_PROT_DISCOVERY	0x00
/* Largest data object, header included: 2^18 dwords (sec 6.30.1) */
#define DOE_MAX_OBJECT_BYTES	(PCI_DOE_MAX_OBJECT_DW * 4)

/* Bits of pci_doe_mb.flags */
enum {
	/* The function is gone or being removed: accept no more tasks */
	DOE_MB_DEAD,
};

struct pci_doe_protocol {
	u16 vendor;
	u8 type;
};

/**
 * struct pci_doe_stats - what the engine counts, shown in statistics/
 * @exchanges: completed exchanges, successful or not
 * @errors: exchanges that failed for a device or protocol error
 * @timeouts: exchanges that timed out
 * @aborts: DOE Aborts issued
 */
struct pci_doe_stats {
	atomic_long_t exchanges;
	atomic_long_t errors;
	atomic_long_t timeouts;
	atomic_long_t aborts;
};

/**
 * struct pci_doe_owner - who owns a mailbox (doe-owner.c)
 * @claims: kernel claims (struct pci_doe_claim); under pci_doe_mb.lock
 * @nr_claims: number of entries in @claims; under pci_doe_mb.lock
 * @owned: the kernel owns the mailbox (@nr_claims or
 *	pci_doe_mb.kernel_tasks), computed by doe_owner_update() only
 * @touched: a root write reached the register block since the engine last
 *	looked (doe_owner_touched())
 * @holder: the file of the mailbox's char device through which root took
 *	it, or NULL; compared only, never dereferenced
 * @holder_pid: thread group of the process that took it
 * @holder_comm: its command name
 * @denied_writes: root config writes refused
 * @overridden_writes: root config writes that the relaxed policy let
 *	through while the kernel owned the mailbox
 *
 * @owned, @touched and @holder are written under pci_doe_mb.lock and
 * pci_lock (taken in that order); the root write hook reads them under
 * pci_lock alone, in the critical section of the write it decides on, so
 * that a write either lands before the kernel takes the mailbox or sees
 * that it did.  @holder_pid and @holder_comm are under pci_doe_mb.lock.
 */
struct pci_doe_owner {
	struct list_head claims;
	unsigned int nr_claims;
	bool owned;
	bool touched;
	const void *holder;
	pid_t holder_pid;
	char holder_comm[TASK_COMM_LEN];
	atomic_long_t denied_writes;
	atomic_long_t overridden_writes;
};

/**
 * struct pci_doe_face - the mailbox as userspace sees it (doe-dev.c)
 * @dev: device of class pci_doe, child of the function.  It holds a
 *	reference on the function, which keeps the mailbox allocated, so an
 *	open file of @cdev may outlive the function's removal.
 * @cdev: char device /dev/pci_doe/<name>; its open files hold @dev
 * @added: @dev and @cdev are registered; set and cleared by the PCI core's
 *	sysfs hooks, which the core serialises
 * @gone: the device was deleted, open files get -ENODEV and it is never
 *	added again; under pci_doe_mb.lock
 * @features: the function's doe_features/ directory, kept by its first
 *	mailbox; under the PCI core's sysfs hooks as @added
 * @user_tasks: userspace requests queued or running on the mailbox, at
 *	most DOE_MB_MAX_USER (doe-dev.c), so that no more than that many run
 *	before a kernel request submitted after them
 * @user_wq: woken when @user_tasks drops and when the device is deleted
 * @user_exchanges: userspace exchanges completed
 */
struct pci_doe_face {
	struct device dev;
	struct cdev cdev;
	bool added;
	bool gone;
	struct doe_features *features;
	atomic_t user_tasks;
	wait_queue_head_t user_wq;
	atomic_long_t user_exchanges;
};

/**
 * struct pci_doe_mb - one DOE mailbox of a PCI function
 * @pdev: function the mailbox belongs to.  The mailbox lives as long as the
 *	function's struct pci_dev: removal only kills it (pci_doe_destroy()),
 *	the function's release frees it (pci_doe_free()), so whoever holds a
 *	reference on @pdev may use the mailbox and gets -ENODEV once it is
 *	removed
 * @cap_offset: config space offset of the DOE extended capability
 * @cap_version: capability version, selects the Discovery version
 * @caps: the DOE Capabilities register, read once
 * @nr_prots: number of entries in @prots
 * @prots: protocols found by Discovery
 * @timeout_us: budget for each wait on the device; DOE_TIMEOUT_US except in
 *	KUnit tests.  The fields above are written before the mailbox is
 *	published in pci_dev.doe_mbs and read-only afterwards.
 * @lock: protects @queue, @done, @calling, @flags changes that must be
 *	ordered against queueing, the state of every task on a list or
 *	running, @running, @kernel_tasks, and what @owner and @face say is
 *	under it
 * @queue: tasks accepted and not yet started, oldest first
 * @done: tasks whose exchange has ended and whose callback @cb_work has not
 *	called yet, in completion order
 * @calling: callbacks being called right now (struct doe_calling)
 * @flags: DOE_MB_* bits; set under @lock, may be tested without it
 * @kernel_tasks: tasks queued or running; they own the mailbox too
 * @running: the task whose exchange is on the device, run by @work or by
 *	pci_doe() in its caller's context, or NULL.  Only one exchange runs at
 *	a time, so @need_abort, @expect_us, @slack_us and @accesses are owned
 *	by whoever runs it (or by Discovery before the mailbox is published)
 * @idle_wq: woken when @running drops to NULL
 * @done_wq: woken when a callback has returned
 * @work: runs the tasks of @queue, one at a time, while @running is NULL
 * @cb_work: calls the callbacks of @done, one at a time, in order; apart
 *	from @work so that a callback may wait for an exchange on its own
 *	mailbox
 * @need_abort: the mailbox is in an unknown state; abort before the next
 *	request.  Set when an exchange or an abort fails.
 * @expect_us: how long responses take (Go to Data Object Ready, a moving
 *	average), or 0 when unknown
 * @slack_us: how late a sleep of the hybrid poll ends (moving average)
 * @accesses: config accesses of the current exchange, for tracing
 * @stats: the engine's counters
 * @owner: ownership, see struct pci_doe_owner
 * @face: the userspace face, see struct pci_doe_face
 */
struct pci_doe_mb {
	struct pci_dev *pdev;
	u16 cap_offset;
	u8 cap_version;
	u32 caps;
	unsigned int nr_prots;
	struct pci_doe_protocol *prots;
	u32 timeout_us;

	spinlock_t lock;		/* see above */
	struct list_head queue;
	struct list_head done;
	struct list_head calling;
	unsigned long flags;
	unsigned int kernel_tasks;
	struct pci_doe_task *running;
	wait_queue_head_t idle_wq;
	wait_queue_head_t done_wq;
	struct work_struct work;
	struct work_struct cb_work;

	bool need_abort;
	u32 expect_us;
	u32 slack_us;
	unsigned int accesses;
	struct pci_doe_stats stats;

	struct pci_doe_owner owner;
	struct pci_doe_face face;
};

/* Every message names the function and the mailbox */
#define doe_log(level, mb, fmt, ...)					\
({									\
	const struct pci_doe_mb *__mb = (mb);				\
	level(&__mb->pdev->dev, "DOE mailbox %#x: " fmt,		\
	      __mb->cap_offset, ##__VA_ARGS__);				\
})
#define doe_err(mb, fmt, ...)	doe_log(dev_err, mb, fmt, ##__VA_ARGS__)
#define doe_warn(mb, fmt, ...)	doe_log(dev_warn, mb, fmt, ##__VA_ARGS__)
#define doe_info(mb, fmt, ...)	doe_log(dev_info, mb, fmt, ##__VA_ARGS__)
#define doe_dbg(mb, fmt, ...)	doe_log(dev_dbg, mb, fmt, ##__VA_ARGS__)
#define doe_err_ratelimited(mb, fmt, ...)				\
	doe_log(dev_err_ratelimited, mb, fmt, ##__VA_ARGS__)

static inline bool doe_dead(const struct pci_doe_mb *mb)
{
	return test_bit(DOE_MB_DEAD, &mb->flags) ||
	       pci_dev_is_disconnected(mb->pdev);
}

/*
 * The ownership state the engine keeps for the root write hook, written
 * under @mb->lock and pci_lock as struct pci_doe_owner says.
 *
 * doe_owner_update(): claims or kernel tasks changed; recompute whether
 * the kernel owns the mailbox, the one place that predicate is computed.
 */
static inline void doe_owner_update(struct pci_doe_mb *mb)
{
	bool owned = mb->owner.nr_claims || mb->kernel_tasks;

	lockdep_assert_held(&mb->lock);
	if (owned == mb->owner.owned)
		return;
	raw_spin_lock(&pci_lock);
	mb->owner.owned = owned;
	raw_spin_unlock(&pci_lock);
}

/*
 * Did a root write reach the block since the last call?  Clears the mark.
 * Under pci_lock, so that a write is either seen here or happens after,
 * when the kernel owns the mailbox and (strict, locked) it cannot land.
 */
static inline bool doe_owner_touched(struct pci_doe_mb *mb)
{
	unsigned long flags;
	bool touched;

	if (!READ_ONCE(mb->owner.touched))
		return false;
	raw_spin_lock_irqsave(&pci_lock, flags);
	touched = mb->owner.touched;
	mb->owner.touched = false;
	raw_spin_unlock_irqrestore(&pci_lock, flags);
	return touched;
}

/* Root has taken the mailbox: the kernel stays out.  Under @mb->lock. */
static inline bool doe_owner_taken(const struct pci_doe_mb *mb)
{
	return mb->owner.holder;
}

/* What userspace may do with a protocol of a mailbox (doe-owner.c) */
enum doe_user_prot {
	DOE_PROT_ALLOWED,
	DOE_PROT_REFUSED,	/* pci_doe.user_protocols= or lockdown */
	DOE_PROT_RESERVED,	/* a kernel claim keeps it */
};

enum doe_user_prot pci_doe_user_protocol(struct pci_doe_mb *mb, u16 vendor,
					 u8 type, bool locked_down);

/* doe-owner.c: root's takeover, used by the char device */
int pci_doe_take(struct pci_doe_mb *mb, const struct file *file);
int pci_doe_give(struct pci_doe_mb *mb, const struct file *file);
/* doe-owner.c: the owners and holder attributes of doe-dev.c */
int pci_doe_owners_show(struct pci_doe_mb *mb, char *buf);
ssize_t pci_doe_holder_show(struct pci_doe_mb *mb, char *buf);

#if IS_ENABLED(CONFIG_PCI_DOE_KUNIT_TEST)
void pci_doe_set_timeout(struct pci_doe_mb *mb, u32 timeout_us);
const char *pci_doe_set_policy(const char *name);
unsigned int pci_doe_nr_protocols(const struct pci_doe_mb *mb);
unsigned long pci_doe_overridden_writes(const struct pci_doe_mb *mb);
int pci_doe_set_user_protocols(const char *list, char *old, size_t len);
struct device *pci_doe_mailbox_dev(struct pci_doe_mb *mb);
#endif

#endif /* DRIVERS_PCI_DOE_H */
