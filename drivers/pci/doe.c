// SPDX-License-Identifier: GPL-2.0
/*
 * PCI Data Object Exchange (DOE) mailbox library
 *
 * Requester side of the DOE mailbox, PCIe r6.2 sec 6.30 (registers in sec
 * 7.9.24).  Every DOE capability of a function is found when the PCI core
 * adds the function; its protocols are learnt with DOE Discovery and cached.
 * Kernel users submit tasks, which each mailbox runs one at a time in FIFO
 * order from a work item; mailboxes of one or several functions run in
 * parallel.  pci_doe() is the synchronous wrapper over pci_doe_submit(),
 * except that it runs the exchange itself when the mailbox is idle.
 *
 * The library polls instead of using the DOE interrupt: a short spin catches
 * devices that answer at once, then sleeps that grow with the time already
 * waited keep the overshoot to a fraction of the device's latency without
 * burning a CPU on slow devices.  A mailbox whose responses take a steady
 * time is polled hybrid: one sleep through most of that time, then a short
 * spin.
 *
 * Ownership: two requesters writing one mailbox corrupt each other, and the
 * specification has no arbitration.  A mailbox is owned by the kernel while
 * it has claims (pci_doe_claim()) or tasks queued or running; root userspace
 * writes to its registers are then refused, per the policy chosen with
 * CONFIG_PCI_DOE_STRICT and "pci_doe.policy=".  The decision is taken in
 * pci_user_write_config_*(), where every root write path ends, under
 * pci_lock with the offset the access really uses, and the kernel changes a
 * mailbox's ownership under pci_lock too: a root write either lands before
 * the kernel takes the mailbox (and is then aborted away first) or is
 * refused, whatever userspace does with its buffer meanwhile.  Root may take
 * a mailbox nobody in the kernel owns for as long as a /proc/bus/pci file
 * stays open (PCIIOC_DOE_TAKE); kernel users get -EBUSY meanwhile.
 */

#include <linux/bitfield.h>
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/iopoll.h>
#include <linux/ioport.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/panic.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <kunit/visibility.h>

#define CREATE_TRACE_POINTS
#include <trace/events/pci_doe.h>

#include "pci.h"
#include "doe.h"

/* Go to Data Object Ready, Busy to clear, Abort to finish: 1 s (sec 6.30.2) */
#define DOE_TIMEOUT_US		USEC_PER_SEC
/* Spin this long before the first sleep: devices that answer at once */
#define DOE_SPIN_US		10
/* Bounds of one sleep while polling, see doe_wait() */
#define DOE_SLEEP_MIN_US	2
#define DOE_SLEEP_MAX_US	(5 * USEC_PER_MSEC)
/* Hybrid polling of responses expected to take this long or more */
#define DOE_HYBRID_MIN_US	50
/*
 * ... with a spin of at most this much past the expected time, or through
 * all of it when sleeps are too coarse and it is this short
 */
#define DOE_HYBRID_SPIN_MAX_US	200
/* Discovery indices are 8 bits wide (sec 6.30.1.1) */
#define DOE_DISCOVERY_MAX	256
/* While draining a long response, check for removal this often (dwords) */
#define DOE_DRAIN_CHECK_DW	256

/*
 * Data Object Ready still set after the last dword of a response: give a
 * device this long to clear it before calling the object longer than its
 * Length (the spec gives no figure: a few Status reads, about 1 us each on
 * hardware)
 */
#define DOE_READY_CLEAR_US	10

#define DOE_PROT_DISCOVERY	0x00

/* Userspace write policy, see Documentation/driver-api/pci/doe.rst */
enum pci_doe_policy {
	DOE_POLICY_RELAXED,
	DOE_POLICY_STRICT,
	DOE_POLICY_LOCKED,
};

static const char * const doe_policy_names[] = {
	[DOE_POLICY_RELAXED] = "relaxed",
	[DOE_POLICY_STRICT] = "strict",
	[DOE_POLICY_LOCKED] = "locked",
};

static int doe_policy = IS_ENABLED(CONFIG_PCI_DOE_LOCKED) ? DOE_POLICY_LOCKED :
			IS_ENABLED(CONFIG_PCI_DOE_STRICT) ? DOE_POLICY_STRICT :
			DOE_POLICY_RELAXED;

static int doe_policy_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(doe_policy_names, val);

	if (i < 0)
		return i;
	*(int *)kp->arg = i;
	return 0;
}

static int doe_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", doe_policy_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops doe_policy_ops = {
	.set = doe_policy_set,
	.get = doe_policy_get,
};

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "pci_doe."
/* Boot time only: "pci_doe.policy=relaxed|strict|locked" */
module_param_cb(policy, &doe_policy_ops, &doe_policy, 0444);
MODULE_PARM_DESC(policy, "Root config writes to DOE mailboxes: relaxed, strict or locked");

enum pci_doe_task_state {
	DOE_TASK_IDLE,
	DOE_TASK_QUEUED,
	DOE_TASK_RUNNING,
	DOE_TASK_DONE,
};

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
 * struct pci_doe_claim - a kernel claim on a mailbox, see pci_doe_claim()
 * @mb: the mailbox; the claim holds a reference on its PCI function, which
 *	keeps the mailbox allocated, so that releasing after removal is safe
 * @node: entry in pci_doe_mb.claims, under pci_doe_mb.lock
 * @owner: name shown to root
 */
struct pci_doe_claim {
	struct pci_doe_mb *mb;
	struct list_head node;
	char owner[];
};

/*
 * A completion callback being called outside the completion work item's
 * queue (or by it); on the caller's stack, listed in pci_doe_mb.calling so
 * that pci_doe_wait() can tell when the callback has returned without
 * touching the task.
 */
struct doe_calling {
	struct list_head node;
	struct pci_doe_task *task;
	struct task_struct *thread;
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
 * @timeout_us: budget for each wait on the device; DOE_TIMEOUT_US except in
 *	KUnit tests
 * @nr_prots: number of entries in @prots
 * @prots: protocols found by Discovery; written once before the mailbox is
 *	published in pci_dev.doe_mbs, read-only afterwards
 * @lock: protects @queue, @done, @calling, @flags changes that must be
 *	ordered against queueing, the state of every task on a list or
 *	running, @claims, @nr_claims, @kernel_tasks and @holder*
 * @queue: tasks accepted and not yet started, oldest first
 * @done: tasks whose exchange has ended and whose callback @cb_work has not
 *	called yet, in completion order
 * @calling: callbacks being called right now (struct doe_calling)
 * @flags: DOE_MB_* bits; set under @lock, may be tested without it
 * @claims: kernel claims (struct pci_doe_claim)
 * @nr_claims: number of entries in @claims
 * @kernel_tasks: tasks queued or running; they own the mailbox too
 * @holder: the /proc/bus/pci file through which root holds the mailbox, or
 *	NULL; compared only, never dereferenced
 * @holder_pid: thread group of the process that took the mailbox
 * @holder_comm: its command name
 * @gate_owned: the kernel owns the mailbox (@nr_claims or @kernel_tasks)
 * @gate_touched: a root write reached the block since the kernel last
 *	looked.  @gate_owned, @gate_touched and @holder are written under
 *	both @lock and pci_lock (in that order); the root write hook reads
 *	them under pci_lock alone, in the same critical section as the write
 *	it decides on, so that a write either lands before the kernel takes
 *	the mailbox or sees that it did.
 * @running: the task whose exchange is on the device, run by @work or by
 *	pci_doe() in its caller's context, or NULL; under @lock.  Only one
 *	exchange runs at a time, so @need_abort, @expect_us, @slack_us and
 *	@accesses are owned by whoever runs it (or by discovery before the
 *	mailbox is published)
 * @idle_wq: woken when @running drops to NULL
 * @done_wq: woken when a callback has returned
 * @work: runs the tasks of @queue, one at a time, while @running is NULL
 * @cb_work: calls the callbacks of @done, one at a time, in order; apart
 *	from @work so that a callback may wait for an exchange on its own
 *	mailbox
 * @need_abort: the mailbox is in an unknown state; abort before the next
 *	request.  Set when an exchange or an abort fails.
 * @expect_us: how long responses take (Go to Data Object Ready, a moving
 *	average), or 0 when unknown; see doe_wait_response()
 * @slack_us: how late a sleep of doe_wait_hybrid() ends (moving average)
 * @accesses: config accesses of the current exchange, for tracing
 * @kobj: sysfs directory doe/<offset>/; its release frees the mailbox
 * @dir: the device's doe/ directory, shared by its mailboxes
 * @features: the device's doe_features/ directory (first mailbox only)
 * @exchanges: completed exchanges, successful or not
 * @errors: exchanges that failed for a device or protocol error
 * @timeouts: exchanges that timed out
 * @aborts: DOE Aborts issued
 * @denied_writes: root config writes refused
 * @overridden_writes: root config writes that the relaxed policy let
 *	through while the kernel owned the mailbox
 */
struct pci_doe_mb {
	struct pci_dev *pdev;
	u16 cap_offset;
	u8 cap_version;
	u32 timeout_us;
	unsigned int nr_prots;
	struct pci_doe_protocol *prots;

	spinlock_t lock;		/* lists, tasks, ownership; see above */
	struct list_head queue;
	struct list_head done;
	struct list_head calling;
	unsigned long flags;
	struct list_head claims;
	unsigned int nr_claims;
	unsigned int kernel_tasks;
	const void *holder;
	pid_t holder_pid;
	char holder_comm[TASK_COMM_LEN];
	bool gate_owned;
	bool gate_touched;

	struct pci_doe_task *running;
	wait_queue_head_t idle_wq;
	wait_queue_head_t done_wq;
	struct work_struct work;
	struct work_struct cb_work;
	bool need_abort;
	u32 expect_us;
	u32 slack_us;
	unsigned int accesses;

	struct kobject kobj;
	struct kobject *dir;
	struct doe_features *features;

	atomic_long_t exchanges;
	atomic_long_t errors;
	atomic_long_t timeouts;
	atomic_long_t aborts;
	atomic_long_t denied_writes;
	atomic_long_t overridden_writes;
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
#define doe_dbg(mb, fmt, ...)	doe_log(dev_dbg, mb, fmt, ##__VA_ARGS__)
#define doe_err_ratelimited(mb, fmt, ...)				\
	doe_log(dev_err_ratelimited, mb, fmt, ##__VA_ARGS__)

static bool doe_dead(struct pci_doe_mb *mb)
{
	return test_bit(DOE_MB_DEAD, &mb->flags) ||
	       pci_dev_is_disconnected(mb->pdev);
}

static int doe_read(struct pci_doe_mb *mb, int reg, u32 *val)
{
	int rc;

	mb->accesses++;
	rc = pci_read_config_dword(mb->pdev, mb->cap_offset + reg, val);
	return pcibios_err_to_errno(rc);
}

static int doe_write(struct pci_doe_mb *mb, int reg, u32 val)
{
	int rc;

	mb->accesses++;
	rc = pci_write_config_dword(mb->pdev, mb->cap_offset + reg, val);
	return pcibios_err_to_errno(rc);
}

/*
 * Status as seen by the poll loop.  A failed read or an all-ones value (the
 * function no longer answers) comes back as ~0, which every caller of
 * doe_wait() treats as "the device is gone".
 */
static u32 doe_status(struct pci_doe_mb *mb)
{
	u32 val;

	if (doe_read(mb, PCI_DOE_STATUS, &val))
		return ~0U;
	return val;
}

/*
 * Done when every bit of @clear is 0 and, if @any is not 0, at least one bit
 * of @any is 1.  An all-ones status also ends the wait (device gone).
 */
static bool doe_settled(u32 status, u32 clear, u32 any)
{
	if (PCI_POSSIBLE_ERROR(status))
		return true;
	if (status & clear)
		return false;
	return !any || (status & any);
}

/**
 * __doe_wait() - Poll DOE Status until it settles or the budget runs out
 * @mb: mailbox
 * @clear: Status bits that must all read 0
 * @any: Status bits of which one must read 1, or 0 for none
 * @status: the last Status value read; on entry, with @no_spin, a value
 *	the caller has just read that has not settled
 * @start: when the wait began (the budget counts from there)
 * @no_spin: go straight to the sleeps
 * @unready: if not NULL, set to when Status last read unsettled
 *
 * Spins for DOE_SPIN_US, then sleeps a quarter of the time already waited
 * (within [DOE_SLEEP_MIN_US, DOE_SLEEP_MAX_US]) between reads, so a device
 * answering after time T is seen by about 1.25 T while the number of reads
 * grows only with log(T).  No sleep is derived from HZ.
 *
 * Return: 0 once settled, -ENODEV if the function is gone or being removed,
 * -ETIMEDOUT after @mb->timeout_us.
 */
static int __doe_wait(struct pci_doe_mb *mb, u32 clear, u32 any, u32 *status,
		      ktime_t start, bool no_spin, ktime_t *unready)
{
	u32 val;
	int rc;

	if (no_spin) {
		val = *status;
		rc = -ETIMEDOUT;
	} else {
		rc = read_poll_timeout(doe_status, val,
				       doe_settled(val, clear, any), 0,
				       min(DOE_SPIN_US, mb->timeout_us), false,
				       mb);
	}
	while (rc) {
		ktime_t now = ktime_get();
		s64 waited = ktime_us_delta(now, start);
		unsigned long step;

		*status = val;
		if (unready)
			*unready = now;
		if (doe_dead(mb))
			return -ENODEV;
		if (waited >= mb->timeout_us)
			return -ETIMEDOUT;
		step = clamp_t(s64, waited / 4, DOE_SLEEP_MIN_US,
			       DOE_SLEEP_MAX_US);
		step = min_t(s64, step, mb->timeout_us - waited);
		usleep_range(step, step + step / 4 + 1);
		val = doe_status(mb);
		if (doe_settled(val, clear, any))
			rc = 0;
	}

	*status = val;
	if (PCI_POSSIBLE_ERROR(val))
		return -ENODEV;
	return 0;
}

static int doe_wait(struct pci_doe_mb *mb, u32 clear, u32 any, u32 *status)
{
	return __doe_wait(mb, clear, any, status, ktime_get(), false, NULL);
}

/*
 * One sleep, then a bounded spin: the hybrid wait of doe_wait_response().
 * Return: 0 with the response there, -EAGAIN if the guess was wrong (the
 * caller goes on with __doe_wait() from *status), -ENODEV.
 */
static int doe_wait_hybrid(struct pci_doe_mb *mb, u32 *status, ktime_t start,
			   u32 expect)
{
	const u32 any = PCI_DOE_STATUS_DATA_OBJECT_READY |
			PCI_DOE_STATUS_ERROR;
	u32 margin = min_t(u32, expect / 32, DOE_HYBRID_SPIN_MAX_US);
	s64 nap = (s64)expect - margin - mb->slack_us, spin;
	u32 val;
	int rc;

	if (nap >= DOE_SLEEP_MIN_US) {
		ktime_t end = ktime_add_us(start, nap);
		s64 left = nap, late;

		/* In steps, so that removal is noticed as in __doe_wait() */
		do {
			left = min_t(s64, left, DOE_SLEEP_MAX_US);
			usleep_range(left, left + 1);
			if (doe_dead(mb))
				return -ENODEV;
			left = ktime_us_delta(end, ktime_get());
		} while (left >= DOE_SLEEP_MIN_US);
		late = clamp_t(s64, -left, 0, expect);
		mb->slack_us = (3 * mb->slack_us + late) / 4;
		val = doe_status(mb);
		if (doe_settled(val, 0, any)) {
			/* Too late to tell how long it took: measure again */
			mb->expect_us = 0;
			*status = val;
			return PCI_POSSIBLE_ERROR(val) ? -ENODEV : 0;
		}
	} else if (expect > DOE_HYBRID_SPIN_MAX_US) {
		/* This machine's timers are too coarse for it */
		mb->expect_us = 0;
		*status = doe_status(mb);
		return -EAGAIN;
	}

	/*
	 * Spin to the response, up to a quarter past the expected time but
	 * DOE_HYBRID_SPIN_MAX_US at most, one Status read per microsecond
	 * (about what one costs on hardware)
	 */
	spin = (s64)expect + min_t(u32, expect / 4, DOE_HYBRID_SPIN_MAX_US) -
	       ktime_us_delta(ktime_get(), start);
	rc = read_poll_timeout_atomic(doe_status, val,
				      doe_settled(val, 0, any), 1,
				      max_t(s64, spin, DOE_SPIN_US), false, mb);
	*status = val;
	if (rc) {
		mb->expect_us = 0;
		return -EAGAIN;
	}
	if (PCI_POSSIBLE_ERROR(val))
		return -ENODEV;
	if (!(val & PCI_DOE_STATUS_ERROR))
		mb->expect_us = (3 * (u64)expect +
				 ktime_us_delta(ktime_get(), start)) / 4;
	return 0;
}

/*
 * Wait for the response to the request just sent.  Once a mailbox has shown
 * a steady response time of DOE_HYBRID_MIN_US or more (@mb->expect_us), it
 * is polled hybrid: one sleep meant to end 1/32 of that time (200 us at
 * most) early, however late this machine's sleeps end (@mb->slack_us, learnt
 * from them), then a spin on Status.  One wake-up and a short spin instead
 * of the dozen wake-ups of doe_wait()'s growing sleeps, and the response is
 * seen within one Status read.  A response already there after the sleep,
 * or not there after the spin, sends the mailbox back to doe_wait(), whose
 * last unready Status read gives the next estimate (a lower bound).
 */
static int doe_wait_response(struct pci_doe_mb *mb, u32 *status)
{
	const u32 any = PCI_DOE_STATUS_DATA_OBJECT_READY |
			PCI_DOE_STATUS_ERROR;
	ktime_t start = ktime_get(), unready = 0;
	u32 expect = mb->expect_us;
	bool no_spin = false;
	s64 bound;
	int rc;

	if (expect >= DOE_HYBRID_MIN_US && expect < mb->timeout_us) {
		rc = doe_wait_hybrid(mb, status, start, expect);
		if (rc != -EAGAIN)
			return rc;
		no_spin = true;
		if (doe_settled(*status, 0, any))
			return PCI_POSSIBLE_ERROR(*status) ? -ENODEV : 0;
	}

	rc = __doe_wait(mb, 0, any, status, start, no_spin, &unready);
	if (rc || (*status & PCI_DOE_STATUS_ERROR))
		return rc;

	bound = unready ? ktime_us_delta(unready, start) : 0;
	mb->expect_us = bound >= DOE_HYBRID_MIN_US ? bound : 0;
	return 0;
}

/*
 * Issue a DOE Abort and wait for Busy, Error and Data Object Ready to clear
 * (sec 6.30.2).  On failure the mailbox stays marked for another abort before
 * its next request, so a device that recovers later is usable again.
 */
static int doe_abort(struct pci_doe_mb *mb)
{
	u32 before = doe_status(mb), status;
	int rc;

	atomic_long_inc(&mb->aborts);
	rc = doe_write(mb, PCI_DOE_CTRL, PCI_DOE_CTRL_ABORT);
	if (!rc)
		rc = doe_wait(mb, PCI_DOE_STATUS_BUSY | PCI_DOE_STATUS_ERROR |
			      PCI_DOE_STATUS_DATA_OBJECT_READY, 0, &status);
	trace_pci_doe_abort(mb->pdev, mb->cap_offset, before, rc);

	mb->need_abort = rc != 0;
	if (rc == -ETIMEDOUT) {
		doe_err_ratelimited(mb, "abort did not complete (status %#010x), will retry before the next request\n",
				    status);
		rc = -EIO;
	}
	return rc;
}

/*
 * Make the mailbox ready for a new request, within one DOE_TIMEOUT_US and
 * at most one more for an abort: finish a pending abort (which leaves Busy,
 * Error and Data Object Ready clear), else wait for Busy to clear (firmware
 * has been seen leaving it set at boot) and throw away a stale response or
 * error left by an earlier requester.
 */
static int doe_prepare(struct pci_doe_mb *mb)
{
	u32 status;
	int rc;

	if (mb->need_abort)
		return doe_abort(mb);

	rc = doe_wait(mb, PCI_DOE_STATUS_BUSY, 0, &status);
	if (rc == -ETIMEDOUT) {
		doe_err_ratelimited(mb, "Busy did not clear within %u us, aborting\n",
				    mb->timeout_us);
		doe_abort(mb);
		return -EBUSY;
	}
	if (rc)
		return rc;

	if (status & (PCI_DOE_STATUS_ERROR | PCI_DOE_STATUS_DATA_OBJECT_READY))
		return doe_abort(mb);
	return 0;
}

static int doe_send(struct pci_doe_mb *mb, const struct pci_doe_task *task)
{
	size_t dws = DIV_ROUND_UP(task->request_sz, sizeof(u32));
	u32 length = dws + 2;
	size_t i;
	int rc;

	/* A Length of 0 stands for 2^18 dwords (sec 6.30.1) */
	if (length == PCI_DOE_MAX_OBJECT_DW)
		length = 0;

	rc = doe_write(mb, PCI_DOE_WRITE,
		       FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_VID, task->vendor) |
		       FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE, task->type));
	if (!rc)
		rc = doe_write(mb, PCI_DOE_WRITE,
			       FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
					  length));

	for (i = 0; !rc && i < dws; i++) {
		size_t done = i * sizeof(u32);
		__le32 dw = 0;

		memcpy(&dw, task->request + done,
		       min(sizeof(dw), task->request_sz - done));
		rc = doe_write(mb, PCI_DOE_WRITE, le32_to_cpu(dw));
	}

	if (!rc)
		rc = doe_write(mb, PCI_DOE_CTRL, PCI_DOE_CTRL_GO);
	return rc;
}

/* Pop the dword at the head of the Read Data Mailbox */
static int doe_pop(struct pci_doe_mb *mb, u32 *val)
{
	int rc;

	rc = doe_read(mb, PCI_DOE_READ, val);
	if (rc)
		return rc;
	/* Any value written to the Read Data Mailbox advances it (sec 7.9.24.6) */
	return doe_write(mb, PCI_DOE_READ, 0);
}

/*
 * Long objects are checked every DOE_DRAIN_CHECK_DW dwords, so that a device
 * that stops in the middle or raises Error does not keep the worker reading
 * up to 2^18 dwords of nothing.  Data Object Ready stays set until the last
 * dword of an object is read.
 */
static int doe_check_midway(struct pci_doe_mb *mb, u32 length)
{
	u32 status;
	int rc;

	if (doe_dead(mb))
		return -ENODEV;
	rc = doe_read(mb, PCI_DOE_STATUS, &status);
	if (rc)
		return rc;
	if (PCI_POSSIBLE_ERROR(status))
		return -ENODEV;
	if (status & PCI_DOE_STATUS_ERROR) {
		doe_err_ratelimited(mb, "device reported an error during the response\n");
		return -EIO;
	}
	if (!(status & PCI_DOE_STATUS_DATA_OBJECT_READY)) {
		doe_err_ratelimited(mb, "response ended before its announced length of %u dwords\n",
				    length);
		return -EIO;
	}
	return 0;
}

/*
 * Read a response into @task->response.  Returns the number of payload
 * bytes stored, or a negative errno with @mb->need_abort set when the device
 * may still hold part of the object.
 */
static int doe_recv(struct pci_doe_mb *mb, struct pci_doe_task *task)
{
	u32 hdr, length, status, val, i;
	size_t stored = 0;
	u16 vendor;
	u8 type;
	int rc;

	rc = doe_pop(mb, &hdr);
	if (rc)
		goto unknown;
	vendor = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_VID, hdr);
	type = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE, hdr);
	if (vendor != task->vendor || type != task->type) {
		doe_err_ratelimited(mb, "response protocol %04x:%02x does not match request %04x:%02x\n",
				    vendor, type, task->vendor, task->type);
		rc = -EIO;
		goto unknown;
	}

	rc = doe_pop(mb, &length);
	if (rc)
		goto unknown;
	length = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH, length);
	if (!length)
		length = PCI_DOE_MAX_OBJECT_DW;
	if (length < 2) {
		doe_err_ratelimited(mb, "response length %u dwords is shorter than its header\n",
				    length);
		rc = -EIO;
		goto unknown;
	}

	/*
	 * Store what fits in the caller's buffer and drain the rest: the
	 * object must be read to its end before the mailbox takes a new one.
	 * The loop is bounded by the 18-bit Length.
	 */
	for (i = 0; i < length - 2; i++) {
		rc = doe_pop(mb, &val);
		if (rc)
			goto unknown;
		if (stored < task->response_sz) {
			__le32 dw = cpu_to_le32(val);
			size_t n = min(sizeof(dw), task->response_sz - stored);

			memcpy(task->response + stored, &dw, n);
			stored += n;
		}
		if (i % DOE_DRAIN_CHECK_DW == DOE_DRAIN_CHECK_DW - 1 &&
		    i < length - 3) {
			rc = doe_check_midway(mb, length);
			if (rc)
				goto unknown;
			cond_resched();
		}
	}
	if (stored < (size_t)(length - 2) * sizeof(u32))
		doe_dbg(mb, "response of %u dwords cut to %zu bytes\n",
			length - 2, stored);

	/*
	 * One Status read catches an Error raised while the response was read
	 * and a device still holding data past the Length it announced.
	 */
	rc = doe_read(mb, PCI_DOE_STATUS, &status);
	if (rc)
		goto unknown;
	if (PCI_POSSIBLE_ERROR(status))
		return -ENODEV;
	if (status & PCI_DOE_STATUS_ERROR) {
		doe_err_ratelimited(mb, "device reported an error during the response\n");
		rc = -EIO;
		goto unknown;
	}
	if (status & PCI_DOE_STATUS_DATA_OBJECT_READY) {
		/*
		 * A device may take a moment to clear it after the last dword
		 * was popped; one that keeps it set has more data than its
		 * Length said, and the response cannot be trusted.
		 */
		rc = read_poll_timeout_atomic(doe_status, status,
					      !(status & PCI_DOE_STATUS_DATA_OBJECT_READY) ||
					      (status & PCI_DOE_STATUS_ERROR),
					      1, DOE_READY_CLEAR_US, false, mb);
		if (PCI_POSSIBLE_ERROR(status))
			return -ENODEV;
		if (status & PCI_DOE_STATUS_ERROR) {
			doe_err_ratelimited(mb, "device reported an error at the end of the response\n");
			rc = -EIO;
			goto unknown;
		}
		if (rc) {
			doe_err_ratelimited(mb, "device has data past the announced length of %u dwords\n",
					    length);
			rc = -EIO;
			goto unknown;
		}
	}
	return stored;

unknown:
	mb->need_abort = true;
	return rc;
}

/* Run one exchange on the device; the caller serialises exchanges */
static int doe_exchange(struct pci_doe_mb *mb, struct pci_doe_task *task)
{
	u32 status;
	int rc;

	if (doe_dead(mb))
		return -ENODEV;

	rc = doe_prepare(mb);
	if (rc)
		return rc;

	rc = doe_send(mb, task);
	if (rc) {
		mb->need_abort = true;
		goto out;
	}

	rc = doe_wait_response(mb, &status);
	if (rc == -ETIMEDOUT) {
		doe_err_ratelimited(mb, "no response to %04x:%02x within %u us\n",
				    task->vendor, task->type, mb->timeout_us);
		mb->need_abort = true;
	} else if (!rc && (status & PCI_DOE_STATUS_ERROR)) {
		doe_err_ratelimited(mb, "device reported an error for %04x:%02x\n",
				    task->vendor, task->type);
		mb->need_abort = true;
		rc = -EIO;
	} else if (!rc) {
		rc = doe_recv(mb, task);
	}

out:
	/* Leave the mailbox idle for the next requester where possible */
	if (rc < 0 && mb->need_abort && rc != -ENODEV && !doe_dead(mb))
		doe_abort(mb);
	return rc;
}

/* ---- Ownership as the root write hook sees it (under pci_lock) ---- */

/*
 * @nr_claims or @kernel_tasks changed: recompute whether the kernel owns
 * the mailbox, the one place that predicate is computed
 */
static void doe_gate_update(struct pci_doe_mb *mb)
{
	bool owned = mb->nr_claims || mb->kernel_tasks;

	lockdep_assert_held(&mb->lock);
	if (owned == mb->gate_owned)
		return;
	raw_spin_lock(&pci_lock);
	mb->gate_owned = owned;
	raw_spin_unlock(&pci_lock);
}

static void doe_gate_set_holder(struct pci_doe_mb *mb, const void *holder)
{
	lockdep_assert_held(&mb->lock);
	raw_spin_lock(&pci_lock);
	mb->holder = holder;
	raw_spin_unlock(&pci_lock);
}

/*
 * Did a root write reach the block since the last call?  Clears the mark.
 * Under pci_lock, so that a write is either seen here or happens after,
 * when the kernel owns the mailbox and (strict, locked) it cannot land.
 */
static bool doe_gate_touched(struct pci_doe_mb *mb)
{
	unsigned long flags;
	bool touched;

	if (!READ_ONCE(mb->gate_touched))
		return false;
	raw_spin_lock_irqsave(&pci_lock, flags);
	touched = mb->gate_touched;
	mb->gate_touched = false;
	raw_spin_unlock_irqrestore(&pci_lock, flags);
	return touched;
}

/*
 * Run one exchange for @task, which owns the mailbox.  Root writes that
 * landed before it (the mailbox was idle, or relaxed) turn into an abort
 * before the request; one that lands during it (only the relaxed policy
 * lets it) fails the exchange, whose response can no longer be trusted.
 */
static int doe_run(struct pci_doe_mb *mb, struct pci_doe_task *task)
{
	int rc;

	mb->accesses = 0;
	if (doe_gate_touched(mb))
		mb->need_abort = true;
	rc = doe_exchange(mb, task);
	if (doe_gate_touched(mb) && rc != -ENODEV) {
		doe_err_ratelimited(mb, "a root config write landed during the %04x:%02x exchange, failing it\n",
				    task->vendor, task->type);
		if (!doe_dead(mb))
			doe_abort(mb);
		rc = -EIO;
	}
	if (rc == -ETIMEDOUT)
		atomic_long_inc(&mb->timeouts);
	else if (rc < 0 && rc != -ENODEV)
		atomic_long_inc(&mb->errors);
	return rc;
}

static void doe_sync_done(struct pci_doe_task *task)
{
	/* The waiter may return and free the task once this is done */
	complete(task->private);
}

/*
 * Call @task's callback from the current context and note it in
 * @mb->calling meanwhile; the caller holds @mb->lock, which is dropped for
 * the callback and taken again.  The task is not touched afterwards.
 */
static void doe_call(struct pci_doe_mb *mb, struct pci_doe_task *task,
		     unsigned long *flags)
	__must_hold(&mb->lock)
{
	struct doe_calling me = { .task = task, .thread = current };

	list_add_tail(&me.node, &mb->calling);
	spin_unlock_irqrestore(&mb->lock, *flags);

	task->complete(task);

	spin_lock_irqsave(&mb->lock, *flags);
	list_del(&me.node);
	if (wq_has_sleeper(&mb->done_wq))
		wake_up_all(&mb->done_wq);
}

/* Calls the callbacks of @mb->done in order; see pci_doe_mb.cb_work */
static void doe_cb_work(struct work_struct *work)
{
	struct pci_doe_mb *mb = container_of(work, struct pci_doe_mb, cb_work);
	struct pci_doe_task *task;
	unsigned long flags;

	spin_lock_irqsave(&mb->lock, flags);
	while ((task = list_first_entry_or_null(&mb->done, struct pci_doe_task,
						node))) {
		list_del_init(&task->node);
		doe_call(mb, task, &flags);
		/* A long run of callbacks: let others have the CPU */
		if (!list_empty(&mb->done)) {
			spin_unlock_irqrestore(&mb->lock, flags);
			cond_resched();
			spin_lock_irqsave(&mb->lock, flags);
		}
	}
	spin_unlock_irqrestore(&mb->lock, flags);
}

/*
 * The exchange of @task ended with @rv: free the device for the next one
 * and hand the task back.  pci_doe()'s own waiter is woken from here; the
 * callback of a submitted task is called by @mb->cb_work, so that it runs
 * apart from the exchanges (it may wait for one).  @kick: the exchange ran
 * outside @mb->work, which must now run the tasks queued meanwhile.
 */
static void doe_finish(struct pci_doe_mb *mb, struct pci_doe_task *task,
		       int rv, bool kick)
{
	unsigned long flags;

	atomic_long_inc(&mb->exchanges);
	trace_pci_doe_complete(mb->pdev, mb->cap_offset, task, rv,
			       mb->accesses);

	spin_lock_irqsave(&mb->lock, flags);
	task->rv = rv;
	task->state = DOE_TASK_DONE;
	mb->kernel_tasks--;
	doe_gate_update(mb);
	if (mb->running == task) {
		mb->running = NULL;
		if (kick && !list_empty(&mb->queue))
			queue_work(system_unbound_wq, &mb->work);
		/* Under @lock: pci_doe_destroy() frees @mb once it sees NULL */
		wake_up(&mb->idle_wq);
	}
	if (task->complete == doe_sync_done) {
		spin_unlock_irqrestore(&mb->lock, flags);
		doe_sync_done(task);
		return;
	}
	list_add_tail(&task->node, &mb->done);
	/* Under the lock, so removal cannot miss this work */
	queue_work(system_unbound_wq, &mb->cb_work);
	spin_unlock_irqrestore(&mb->lock, flags);
}

static void doe_work(struct work_struct *work)
{
	struct pci_doe_mb *mb = container_of(work, struct pci_doe_mb, work);
	struct pci_doe_task *task;
	unsigned long flags;
	int rv;

	for (;;) {
		spin_lock_irqsave(&mb->lock, flags);
		/* pci_doe() in its caller's context queues this work when done */
		task = NULL;
		if (!mb->running)
			task = list_first_entry_or_null(&mb->queue,
							struct pci_doe_task,
							node);
		if (task) {
			list_del_init(&task->node);
			task->state = DOE_TASK_RUNNING;
			mb->running = task;
		}
		spin_unlock_irqrestore(&mb->lock, flags);
		if (!task)
			return;

		rv = doe_run(mb, task);
		doe_finish(mb, task, rv, false);
		/*
		 * A long queue on a fast device never sleeps: let other work,
		 * e.g. the items of other mailboxes, have the CPU meanwhile
		 */
		cond_resched();
	}
}

/*
 * Is @task queued, running, waiting for its callback or in it?  Reads
 * @task, which the caller keeps alive, and compares it with what @mb holds.
 */
static bool doe_task_pending(struct pci_doe_mb *mb, struct pci_doe_task *task)
{
	struct doe_calling *c;
	struct pci_doe_task *t;

	lockdep_assert_held(&mb->lock);
	if (task->state == DOE_TASK_QUEUED || task->state == DOE_TASK_RUNNING)
		return true;
	list_for_each_entry(t, &mb->done, node)
		if (t == task)
			return true;
	list_for_each_entry(c, &mb->calling, node)
		if (c->task == task)
			return true;
	return false;
}

static bool doe_pending_unlocked(struct pci_doe_mb *mb,
				 struct pci_doe_task *task)
{
	unsigned long flags;
	bool pending;

	spin_lock_irqsave(&mb->lock, flags);
	pending = doe_task_pending(mb, task);
	spin_unlock_irqrestore(&mb->lock, flags);
	return pending;
}

/*
 * Would waiting for @task from here never end?  In the completion work item
 * of @mb (the callback of @task would have to run after the current one)
 * or in @task's own callback.
 */
static bool doe_wait_deadlocks(struct pci_doe_mb *mb,
			       struct pci_doe_task *task)
{
	struct doe_calling *c;
	unsigned long flags;
	bool self = false;

	if (current_work() == &mb->cb_work)
		return true;
	spin_lock_irqsave(&mb->lock, flags);
	list_for_each_entry(c, &mb->calling, node)
		if (c->task == task && c->thread == current)
			self = true;
	spin_unlock_irqrestore(&mb->lock, flags);
	return self;
}

static bool doe_check_task(struct pci_doe_mb *mb, struct pci_doe_task *task)
{
	if (!task->complete)
		return false;
	if (task->request_sz > PCI_DOE_MAX_PAYLOAD ||
	    (task->request_sz && !task->request) ||
	    (task->response_sz && !task->response)) {
		doe_err_ratelimited(mb, "invalid buffers for %04x:%02x (request %zu bytes, response %zu bytes)\n",
				    task->vendor, task->type, task->request_sz,
				    task->response_sz);
		return false;
	}
	if (!pci_doe_supports_prot(mb, task->vendor, task->type)) {
		doe_err_ratelimited(mb, "protocol %04x:%02x not supported\n",
				    task->vendor, task->type);
		return false;
	}
	return true;
}

/*
 * Accept a checked @task on @mb: from now on it owns the mailbox and its
 * callback runs exactly once.  With @may_run, the caller takes the device
 * itself if the mailbox is idle (nothing running, nothing queued, so FIFO
 * order holds): no hand-off to the work item and back, two wake-ups that
 * are the largest cost of a fast exchange.
 *
 * Return: 1 if the caller must now run the task (@may_run), 0 if it was
 * queued, -ENODEV if the function is going away, -EBUSY if root holds the
 * mailbox.
 */
static int doe_accept(struct pci_doe_mb *mb, struct pci_doe_task *task,
		      bool may_run)
{
	unsigned long flags;
	int rc = 0;

	spin_lock_irqsave(&mb->lock, flags);
	if (test_bit(DOE_MB_DEAD, &mb->flags)) {
		rc = -ENODEV;
	} else if (mb->holder) {
		rc = -EBUSY;
	} else {
		task->mb = mb;
		task->rv = 0;
		task->submitted = ktime_get_ns();
		mb->kernel_tasks++;
		doe_gate_update(mb);
		trace_pci_doe_submit(mb->pdev, mb->cap_offset, task);
		if (may_run && !mb->running && list_empty(&mb->queue)) {
			task->state = DOE_TASK_RUNNING;
			mb->running = task;
			rc = 1;
		} else {
			task->state = DOE_TASK_QUEUED;
			list_add_tail(&task->node, &mb->queue);
			/* Under the lock, so removal cannot miss this work */
			queue_work(system_unbound_wq, &mb->work);
		}
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	if (rc == -EBUSY)
		doe_dbg(mb, "%04x:%02x refused: root holds the mailbox\n",
			task->vendor, task->type);
	return rc;
}

/**
 * pci_doe_submit() - Queue an asynchronous DOE exchange
 * @mb: mailbox, from pci_find_doe_mailbox() or pci_doe_find_mailbox_at()
 * @task: the exchange; fill in every public field but @task->rv
 *
 * Tasks of one mailbox run in the order they were submitted; different
 * mailboxes run in parallel.  Once accepted, @task->complete is called
 * exactly once, with @task->rv holding the result: the number of response
 * bytes stored, or -EIO (device or protocol error, or a root write landed
 * during the exchange under the relaxed policy), -ETIMEDOUT (no response
 * within 1 s), -EBUSY (the mailbox stayed Busy), -ENODEV (the function went
 * away) or -ECANCELED (pci_doe_cancel()).
 *
 * The callback is called in process context and may sleep.  It runs in the
 * mailbox's completion work item, which calls the callbacks of one mailbox
 * one at a time in the order their exchanges ended (also for tasks failed
 * by removal), apart from the work that runs the exchanges; only a task
 * withdrawn by pci_doe_cancel() has its callback called by the canceller.
 * A callback may free or resubmit its task and may call pci_doe(),
 * pci_doe_submit(), pci_doe_cancel(), pci_doe_claim() and pci_doe_release()
 * on any mailbox, its own included; it must not wait for another callback
 * of its mailbox (pci_doe_wait() then fails with -EDEADLK) nor for the
 * removal of its function.
 *
 * Context: Any context; does not sleep.
 * Return: 0 if the task was accepted; -EINVAL for a bad task or a protocol
 * the mailbox does not support, -EBUSY if root holds the mailbox (see
 * PCIIOC_DOE_TAKE), -ENODEV if the function is being removed.
 * @task->complete is not called when the task is not accepted.
 */
int pci_doe_submit(struct pci_doe_mb *mb, struct pci_doe_task *task)
{
	if (!mb || !task || !doe_check_task(mb, task))
		return -EINVAL;
	return min(doe_accept(mb, task, false), 0);
}
EXPORT_SYMBOL_GPL(pci_doe_submit);

/**
 * pci_doe_cancel() - Withdraw a task that has not started yet
 * @task: a task accepted by pci_doe_submit()
 *
 * A task still waiting in its mailbox's queue is removed from it and its
 * callback is called from here, before this returns, with @task->rv set
 * to -ECANCELED.  A task the mailbox has started, or whose exchange has
 * ended, completes as usual; pci_doe_wait() waits for that.
 *
 * Context: Process context; @task->complete runs in the caller's context.
 * The mailbox must be valid, as for pci_doe_submit().
 * Return: 0 if the task was cancelled, -EBUSY if it is running or its
 * callback is pending or running, -EINVAL if it is not accepted (never
 * submitted, or already completed).
 */
int pci_doe_cancel(struct pci_doe_task *task)
{
	struct pci_doe_mb *mb = task->mb;
	unsigned long flags;
	struct pci_dev *pdev;
	int rc = 0;

	if (!mb)
		return -EINVAL;
	pdev = mb->pdev;

	spin_lock_irqsave(&mb->lock, flags);
	switch (task->state) {
	case DOE_TASK_QUEUED:
		list_del_init(&task->node);
		task->state = DOE_TASK_DONE;
		task->rv = -ECANCELED;
		mb->kernel_tasks--;
		doe_gate_update(mb);
		trace_pci_doe_complete(mb->pdev, mb->cap_offset, task,
				       -ECANCELED, 0);
		/*
		 * The function may be removed meanwhile: hold it, and with it
		 * @mb, until the callback has returned and @lock is dropped
		 */
		pci_dev_get(pdev);
		doe_call(mb, task, &flags);
		break;
	case DOE_TASK_RUNNING:
		rc = -EBUSY;
		break;
	default:
		rc = doe_task_pending(mb, task) ? -EBUSY : -EINVAL;
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	/* Last: may free the function and @mb */
	if (!rc)
		pci_dev_put(pdev);
	return rc;
}
EXPORT_SYMBOL_GPL(pci_doe_cancel);

/**
 * pci_doe_wait() - Wait until a submitted task is completely done
 * @task: a task accepted by pci_doe_submit()
 *
 * Returns once @task is neither queued nor running and its callback has
 * returned, e.g. after pci_doe_cancel() said -EBUSY, so that the caller can
 * free it.  The library only reads @task here: its callback must not free
 * it when the submitter waits.  A task that is done already returns at
 * once.
 *
 * Context: Process context.  May sleep, as long as the exchange and the
 * callbacks before it take.  The mailbox must be valid, as for
 * pci_doe_submit().
 * Return: 0 when @task is done; -EINVAL if it was never submitted;
 * -EDEADLK, without waiting, when @task is not done and the wait could
 * never end: called from a callback that the mailbox's completion work
 * item runs (@task's callback would have to run after it), or from @task's
 * own callback.
 */
int pci_doe_wait(struct pci_doe_task *task)
{
	struct pci_doe_mb *mb = task->mb;

	might_sleep();
	if (!mb)
		return -EINVAL;

	if (!doe_pending_unlocked(mb, task))
		return 0;
	if (doe_wait_deadlocks(mb, task)) {
		doe_warn(mb, "%ps waits for a task from a callback of its mailbox\n",
			 __builtin_return_address(0));
		return -EDEADLK;
	}

	wait_event(mb->done_wq, !doe_pending_unlocked(mb, task));
	return 0;
}
EXPORT_SYMBOL_GPL(pci_doe_wait);

/**
 * pci_doe() - Perform a DOE exchange and wait for it
 * @mb: mailbox, from pci_find_doe_mailbox() or pci_doe_find_mailbox_at()
 * @vendor: Vendor ID of the protocol
 * @type: Data Object Type of the protocol
 * @request: request payload, sent verbatim as little-endian dwords after the
 *	two header dwords; the last dword is padded with zero bytes
 * @request_sz: size of @request in bytes
 * @response: buffer for the response payload, header stripped
 * @response_sz: size of @response in bytes
 *
 * Payloads are byte streams: the caller converts any multi-byte fields with
 * cpu_to_le32() and friends.  A response longer than @response_sz is cut to
 * it (the rest is read from the mailbox and dropped); a shorter one leaves
 * the tail of @response untouched, so check the returned length.
 *
 * The exchange runs in the caller's context when the mailbox is idle, else
 * it is queued behind the tasks before it.
 *
 * Context: Process context.  May sleep: on a misbehaving device one
 * exchange takes at most 3 s (1 s for the mailbox to become ready, by an
 * abort or Busy clearing, 1 s for the response, 1 s for the abort after a
 * timeout, each the DOE budget of PCIe r6.2 sec 6.30.2), plus the time of
 * the tasks queued before it on the same mailbox.  May be called from a
 * completion callback, on any mailbox.
 * Return: number of bytes stored in @response, or a negative errno as
 * listed for pci_doe_submit().
 */
int pci_doe(struct pci_doe_mb *mb, u16 vendor, u8 type,
	    const void *request, size_t request_sz,
	    void *response, size_t response_sz)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct pci_doe_task task = {
		.vendor = vendor,
		.type = type,
		.request = request,
		.request_sz = request_sz,
		.response = response,
		.response_sz = response_sz,
		.complete = doe_sync_done,
		.private = &done,
	};
	int rc;

	might_sleep();

	if (!mb || !doe_check_task(mb, &task))
		return -EINVAL;
	rc = doe_accept(mb, &task, true);
	if (rc < 0)
		return rc;
	if (rc)
		doe_finish(mb, &task, doe_run(mb, &task), true);

	wait_for_completion(&done);
	return task.rv;
}
EXPORT_SYMBOL_GPL(pci_doe);

/**
 * pci_doe_supports_prot() - Does a mailbox carry a protocol?
 * @mb: mailbox
 * @vendor: Vendor ID of the protocol
 * @type: Data Object Type of the protocol
 *
 * DOE Discovery itself is supported by every mailbox.
 *
 * Context: Any context.
 * Return: true if Discovery listed the protocol on @mb.
 */
bool pci_doe_supports_prot(const struct pci_doe_mb *mb, u16 vendor, u8 type)
{
	unsigned int i;

	if (vendor == PCI_VENDOR_ID_PCI_SIG && type == DOE_PROT_DISCOVERY)
		return true;

	for (i = 0; i < mb->nr_prots; i++)
		if (mb->prots[i].vendor == vendor && mb->prots[i].type == type)
			return true;
	return false;
}
EXPORT_SYMBOL_GPL(pci_doe_supports_prot);

/**
 * pci_find_doe_mailbox() - Find a mailbox that carries a protocol
 * @pdev: PCI function
 * @vendor: Vendor ID of the protocol
 * @type: Data Object Type of the protocol
 *
 * A function may offer one protocol on several mailboxes; this returns the
 * one at the lowest config offset.  Use pci_doe_find_mailbox_at() to pick
 * another one.  The mailbox may be used while @pdev is added, or as long
 * as the caller holds a reference on @pdev (or a claim on the mailbox);
 * once @pdev is removed, exchanges and claims on it fail with -ENODEV.
 *
 * Context: Process context.
 * Return: the mailbox, or NULL if no mailbox of @pdev carries the protocol.
 */
struct pci_doe_mb *pci_find_doe_mailbox(struct pci_dev *pdev, u16 vendor,
					u8 type)
{
	struct pci_doe_mb *mb;
	unsigned long offset;

	xa_for_each(&pdev->doe_mbs, offset, mb)
		if (pci_doe_supports_prot(mb, vendor, type))
			return mb;
	return NULL;
}
EXPORT_SYMBOL_GPL(pci_find_doe_mailbox);

/**
 * pci_doe_find_mailbox_at() - Find the mailbox at a config space offset
 * @pdev: PCI function
 * @cap_offset: offset of the DOE extended capability
 *
 * The mailbox may be used as long as for pci_find_doe_mailbox().
 *
 * Context: Process context.
 * Return: the mailbox, or NULL if @pdev has no DOE mailbox at @cap_offset.
 */
struct pci_doe_mb *pci_doe_find_mailbox_at(struct pci_dev *pdev,
					   u16 cap_offset)
{
	return xa_load(&pdev->doe_mbs, cap_offset);
}
EXPORT_SYMBOL_GPL(pci_doe_find_mailbox_at);

/**
 * pci_doe_mailbox_offset() - Config space offset of a mailbox
 * @mb: mailbox
 *
 * Context: Any context.
 * Return: offset of the DOE extended capability of @mb.
 */
u16 pci_doe_mailbox_offset(const struct pci_doe_mb *mb)
{
	return mb->cap_offset;
}
EXPORT_SYMBOL_GPL(pci_doe_mailbox_offset);

/*
 * Run one Discovery exchange directly: the mailbox is not published yet, so
 * nothing else can run on it.
 */
static int doe_discover_one(struct pci_doe_mb *mb, u8 index,
			    struct pci_doe_protocol *prot, u8 *next)
{
	u8 version = mb->cap_version >= 2 ? 2 : 0;
	__le32 request, response;
	struct pci_doe_task task = {
		.vendor = PCI_VENDOR_ID_PCI_SIG,
		.type = DOE_PROT_DISCOVERY,
		.request = &request,
		.request_sz = sizeof(request),
		.response = &response,
		.response_sz = sizeof(response),
	};
	int rc, attempt;
	u32 dw;

	request = cpu_to_le32(FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_REQ_3_INDEX,
					 index) |
			      FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_REQ_3_VER,
					 version));
	/*
	 * A failed exchange has aborted the mailbox: try once more, so that
	 * one hiccup does not cost the function its mailbox until removal.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		task.submitted = ktime_get_ns();
		trace_pci_doe_submit(mb->pdev, mb->cap_offset, &task);
		rc = doe_run(mb, &task);
		atomic_long_inc(&mb->exchanges);
		trace_pci_doe_complete(mb->pdev, mb->cap_offset, &task, rc,
				       mb->accesses);
		if (rc >= 0 || rc == -ENODEV)
			break;
	}
	if (rc < 0)
		return rc;
	if (rc < sizeof(response)) {
		doe_err(mb, "Discovery response of %d bytes is too short\n",
			rc);
		return -EIO;
	}

	dw = le32_to_cpu(response);
	prot->vendor = FIELD_GET(PCI_DOE_DATA_OBJECT_DISC_RSP_3_VID, dw);
	prot->type = FIELD_GET(PCI_DOE_DATA_OBJECT_DISC_RSP_3_PROTOCOL, dw);
	*next = FIELD_GET(PCI_DOE_DATA_OBJECT_DISC_RSP_3_NEXT_INDEX, dw);
	return 0;
}

/* Walk the Discovery index list, at most once per index (sec 6.30.1.1) */
static int doe_discover(struct pci_doe_mb *mb)
{
	struct pci_doe_protocol *found __free(kfree) =
		kcalloc(DOE_DISCOVERY_MAX, sizeof(*found), GFP_KERNEL);
	DECLARE_BITMAP(seen, DOE_DISCOVERY_MAX) = {};
	unsigned int nr = 0, i;
	u8 index = 0, next = 0;
	int rc;

	if (!found)
		return -ENOMEM;

	while (!test_and_set_bit(index, seen)) {
		struct pci_doe_protocol prot;

		rc = doe_discover_one(mb, index, &prot, &next);
		if (rc)
			return rc;

		for (i = 0; i < nr; i++)
			if (found[i].vendor == prot.vendor &&
			    found[i].type == prot.type)
				break;
		if (i == nr)
			found[nr++] = prot;

		if (!next)
			break;
		index = next;
	}
	if (next && test_bit(next, seen))
		doe_warn(mb, "Discovery index %u repeats, list cut there\n",
			 next);

	mb->prots = kmemdup_array(found, nr, sizeof(*found), GFP_KERNEL);
	if (!mb->prots)
		return -ENOMEM;
	mb->nr_prots = nr;
	return 0;
}

static void doe_log_protocols(struct pci_doe_mb *mb)
{
	/* " vvvv:tt" per protocol */
	size_t len = mb->nr_prots * 8 + 1, pos = 0;
	unsigned int i;
	char *buf;

	buf = kmalloc(len, GFP_KERNEL);
	if (!buf)
		return;
	buf[0] = '\0';
	for (i = 0; i < mb->nr_prots; i++)
		pos += scnprintf(buf + pos, len - pos, " %04x:%02x",
				 mb->prots[i].vendor, mb->prots[i].type);
	pci_info(mb->pdev, "DOE mailbox %#x: protocols%s\n", mb->cap_offset,
		 buf);
	kfree(buf);
}

static void doe_mb_release(struct kobject *kobj)
{
	struct pci_doe_mb *mb = container_of(kobj, struct pci_doe_mb, kobj);

	/* Claims hold a reference on the function: none is left by now */
	WARN_ON_ONCE(!list_empty(&mb->claims));
	kfree(mb->prots);
	kfree(mb);
}

static const struct kobj_type doe_mb_ktype;

static void doe_mb_free(struct pci_doe_mb *mb)
{
	kobject_put(&mb->kobj);
}

static struct pci_doe_mb *doe_mb_create(struct pci_dev *pdev, u16 offset)
{
	struct pci_doe_mb *mb;
	u32 hdr;
	int rc;

	mb = kzalloc(sizeof(*mb), GFP_KERNEL);
	if (!mb)
		return ERR_PTR(-ENOMEM);

	mb->pdev = pdev;
	mb->cap_offset = offset;
	mb->timeout_us = DOE_TIMEOUT_US;
	spin_lock_init(&mb->lock);
	INIT_LIST_HEAD(&mb->queue);
	INIT_LIST_HEAD(&mb->done);
	INIT_LIST_HEAD(&mb->calling);
	INIT_LIST_HEAD(&mb->claims);
	init_waitqueue_head(&mb->idle_wq);
	init_waitqueue_head(&mb->done_wq);
	INIT_WORK(&mb->work, doe_work);
	INIT_WORK(&mb->cb_work, doe_cb_work);
	kobject_init(&mb->kobj, &doe_mb_ktype);
	/*
	 * Nothing tells what was left in the Write Data Mailbox by firmware,
	 * a previous kernel or root before a rescan (it reads as zero):
	 * abort before the first request.
	 */
	mb->need_abort = true;

	rc = doe_read(mb, 0, &hdr);
	if (!rc && PCI_POSSIBLE_ERROR(hdr))
		rc = -ENODEV;
	if (!rc) {
		mb->cap_version = PCI_EXT_CAP_VER(hdr);
		rc = doe_discover(mb);
	}
	if (rc) {
		doe_mb_free(mb);
		return ERR_PTR(rc);
	}

	doe_log_protocols(mb);
	return mb;
}

/* Stop accepting tasks and fail the queued ones; see pci_doe_destroy() */
static bool doe_idle(struct pci_doe_mb *mb)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&mb->lock, flags);
	idle = !mb->running;
	spin_unlock_irqrestore(&mb->lock, flags);
	return idle;
}

static void doe_mb_kill(struct pci_doe_mb *mb)
{
	struct pci_doe_task *task, *tmp;
	unsigned long flags;
	LIST_HEAD(dropped);

	spin_lock_irqsave(&mb->lock, flags);
	set_bit(DOE_MB_DEAD, &mb->flags);
	list_splice_init(&mb->queue, &dropped);
	list_for_each_entry(task, &dropped, node)
		task->state = DOE_TASK_RUNNING;
	spin_unlock_irqrestore(&mb->lock, flags);

	/* Their callbacks run in @mb->cb_work, as for any other task */
	list_for_each_entry_safe(task, tmp, &dropped, node) {
		list_del_init(&task->node);
		doe_finish(mb, task, -ENODEV, false);
	}
}

/**
 * pci_doe_init() - Find and set up the DOE mailboxes of a function
 * @pdev: function being added
 *
 * Called by the PCI core when it adds @pdev.  A mailbox whose Discovery
 * fails is left out and logged; the other mailboxes are still set up.
 */
void pci_doe_init(struct pci_dev *pdev)
{
	u16 offset = 0;
	int rc;

	xa_init(&pdev->doe_mbs);

	while ((offset = pci_find_next_ext_capability(pdev, offset,
						      PCI_EXT_CAP_ID_DOE))) {
		struct pci_doe_mb *mb = doe_mb_create(pdev, offset);

		if (IS_ERR(mb)) {
			pci_err(pdev, "DOE mailbox %#x: not usable, Discovery failed: %pe\n",
				offset, mb);
			continue;
		}

		rc = xa_insert(&pdev->doe_mbs, offset, mb, GFP_KERNEL);
		if (rc) {
			pci_err(pdev, "DOE mailbox %#x: cannot be registered: %d\n",
				offset, rc);
			doe_mb_free(mb);
		}
	}
}

/**
 * pci_doe_destroy() - Kill the DOE mailboxes of a function being removed
 * @pdev: function being removed
 *
 * Queued tasks complete with -ENODEV, a running task ends with -ENODEV at
 * its next wait, and every callback but those called by a canceller has
 * returned when this returns.  Drivers of @pdev are unbound by now and
 * submit nothing new.  The mailboxes stay allocated, refusing new work with
 * -ENODEV, until @pdev is released (pci_doe_free()): whoever still holds a
 * reference on @pdev, e.g. through a claim, may still call the library.
 */
void pci_doe_destroy(struct pci_dev *pdev)
{
	struct pci_doe_mb *mb;
	unsigned long offset;

	xa_for_each(&pdev->doe_mbs, offset, mb) {
		doe_mb_kill(mb);
		flush_work(&mb->work);
		/* and a pci_doe() running in its caller's context */
		wait_event(mb->idle_wq, doe_idle(mb));
		/* The callbacks of every task that ended */
		flush_work(&mb->cb_work);
	}
}

/**
 * pci_doe_free() - Free the DOE mailboxes of a function being released
 * @pdev: function whose last reference is gone
 */
void pci_doe_free(struct pci_dev *pdev)
{
	struct pci_doe_mb *mb;
	unsigned long offset;

	/* Also for a function that never got as far as pci_doe_init() */
	if (xa_empty(&pdev->doe_mbs))
		return;
	xa_for_each(&pdev->doe_mbs, offset, mb) {
		xa_erase(&pdev->doe_mbs, offset);
		doe_mb_free(mb);
	}
	xa_destroy(&pdev->doe_mbs);
}

/**
 * pci_doe_disconnected() - The function is gone: fail its DOE work
 * @pdev: function marked disconnected (surprise removal, DPC)
 *
 * Only flags the mailboxes and kicks their work items, which fail every
 * queued task with -ENODEV from process context; a running task ends at
 * its next poll.
 */
void pci_doe_disconnected(struct pci_dev *pdev)
{
	struct pci_doe_mb *mb;
	unsigned long offset, flags;

	xa_for_each(&pdev->doe_mbs, offset, mb) {
		spin_lock_irqsave(&mb->lock, flags);
		set_bit(DOE_MB_DEAD, &mb->flags);
		queue_work(system_unbound_wq, &mb->work);
		spin_unlock_irqrestore(&mb->lock, flags);
	}
}

/* ---- Ownership: kernel claims ---- */

/*
 * Claims are listed per name: for the first claim of a name on @mb, the
 * number of claims with that name; 0 for the later ones.
 */
static unsigned int doe_claims_named(struct pci_doe_mb *mb,
				     struct pci_doe_claim *claim)
{
	struct pci_doe_claim *c;
	unsigned int n = 0;

	lockdep_assert_held(&mb->lock);
	list_for_each_entry(c, &mb->claims, node) {
		if (strcmp(c->owner, claim->owner))
			continue;
		if (!n++ && c != claim)
			return 0;
	}
	return n;
}

/**
 * pci_doe_claim() - Take a claim on a mailbox
 * @mb: mailbox
 * @owner: name shown to root in sysfs and in denial messages, e.g. the
 *	driver name; copied
 *
 * While a mailbox has a claim, or a task queued or running, it is owned by
 * the kernel and root userspace cannot write its registers under the
 * default (strict) policy, nor take it over.  Holding a claim between
 * exchanges keeps root out for a whole conversation (an SPDM session, a
 * multi-step CDAT read), not just one exchange.  Several kernel users may
 * hold claims at once, under the same name or not.
 *
 * A claim does not serialise kernel users against each other (tasks on one
 * mailbox always run one at a time), does not stop other kernel users from
 * submitting, and under the relaxed policy does not stop root writes: they
 * then only warn and taint the kernel.
 *
 * The claim holds what it needs: @mb and its PCI function stay allocated
 * until the claim is released, even if the function is removed first.  On
 * a removed mailbox, exchanges fail with -ENODEV and pci_doe_release() is
 * quiet, so a claim may outlive the device whose driver took it.
 *
 * Context: Process context.  May sleep (allocates); may be called from a
 * completion callback.
 * Return: the claim, or an ERR_PTR(): -EBUSY if root holds the mailbox,
 * -ENODEV if the function is being removed, -EINVAL for a missing mailbox
 * or name, -ENOMEM.
 */
struct pci_doe_claim *pci_doe_claim(struct pci_doe_mb *mb, const char *owner)
{
	struct pci_doe_claim *claim;
	unsigned long flags;
	size_t len;
	int rc = 0;

	if (!mb || !owner || !*owner)
		return ERR_PTR(-EINVAL);

	len = strlen(owner) + 1;
	claim = kzalloc(struct_size(claim, owner, len), GFP_KERNEL);
	if (!claim)
		return ERR_PTR(-ENOMEM);
	memcpy(claim->owner, owner, len);
	claim->mb = mb;

	spin_lock_irqsave(&mb->lock, flags);
	if (test_bit(DOE_MB_DEAD, &mb->flags)) {
		rc = -ENODEV;
	} else if (mb->holder) {
		rc = -EBUSY;
	} else {
		pci_dev_get(mb->pdev);
		list_add_tail(&claim->node, &mb->claims);
		mb->nr_claims++;
		doe_gate_update(mb);
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	if (rc) {
		kfree(claim);
		return ERR_PTR(rc);
	}
	return claim;
}
EXPORT_SYMBOL_GPL(pci_doe_claim);

/**
 * pci_doe_release() - Drop a claim taken with pci_doe_claim()
 * @claim: the claim, or NULL or an ERR_PTR() (nothing is done)
 *
 * Also after the mailbox's function was removed.  @claim is freed.
 *
 * Context: Process context.  May sleep (the last reference on a removed
 * function may be dropped here); may be called from a completion callback.
 */
void pci_doe_release(struct pci_doe_claim *claim)
{
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	unsigned long flags;

	if (IS_ERR_OR_NULL(claim))
		return;
	mb = claim->mb;
	pdev = mb->pdev;

	spin_lock_irqsave(&mb->lock, flags);
	list_del(&claim->node);
	mb->nr_claims--;
	doe_gate_update(mb);
	spin_unlock_irqrestore(&mb->lock, flags);

	kfree(claim);
	/* Last: may free the function, and with it @mb */
	pci_dev_put(pdev);
}
EXPORT_SYMBOL_GPL(pci_doe_release);

/**
 * pci_doe_claim_mailbox() - The mailbox a claim is on
 * @claim: a claim from pci_doe_claim()
 *
 * The mailbox stays valid while @claim is held, even after the function is
 * removed (exchanges then fail with -ENODEV).
 *
 * Context: Any context.
 * Return: the mailbox.
 */
struct pci_doe_mb *pci_doe_claim_mailbox(const struct pci_doe_claim *claim)
{
	return claim->mb;
}
EXPORT_SYMBOL_GPL(pci_doe_claim_mailbox);

static void doe_devm_release(void *claim)
{
	pci_doe_release(claim);
}

/**
 * devm_pci_doe_claim() - pci_doe_claim() released when @dev is unbound
 * @dev: device whose driver holds the claim; any device, it need not be
 *	the mailbox's function
 * @mb: mailbox
 * @owner: name of the claim
 *
 * The claim is released when the driver of @dev is unbound (or its probe
 * fails), also if the mailbox's function was removed before.
 *
 * Context: Process context.  May sleep.
 * Return: the claim, or an ERR_PTR() as for pci_doe_claim().
 */
struct pci_doe_claim *devm_pci_doe_claim(struct device *dev,
					 struct pci_doe_mb *mb,
					 const char *owner)
{
	struct pci_doe_claim *claim;
	int rc;

	claim = pci_doe_claim(mb, owner);
	if (IS_ERR(claim))
		return claim;
	rc = devm_add_action_or_reset(dev, doe_devm_release, claim);
	if (rc)
		return ERR_PTR(rc);
	return claim;
}
EXPORT_SYMBOL_GPL(devm_pci_doe_claim);

/* ---- Ownership: root userspace ---- */

/*
 * Verdicts of the root write hook: 0 lets a write land, negative ones are
 * refusals, positive ones let it land and are reported.
 */
enum {
	DOE_USER_LOCKED = -3,	/* locked policy, mailbox not taken */
	DOE_USER_HELD = -2,	/* another file holds the mailbox */
	DOE_USER_OWNED = -1,	/* the kernel owns the mailbox (strict) */
	DOE_USER_OK = 0,
	DOE_USER_OVERRIDE = 1,	/* the kernel owns it, relaxed lets it land */
};

/*
 * The register block of a mailbox whose capability is at C is [C, C + 0x18):
 * a write [@pos, @end) reaches exactly the mailboxes with C in
 * [doe_first_cap(@pos), @end - 1].  DOE is an extended capability, so the
 * first 256 bytes (the header, where most root writes go) never hold one.
 */
static unsigned long doe_first_cap(s64 pos)
{
	return max_t(s64, pos - PCI_DOE_CAP_SIZEOF + 1, PCI_CFG_SPACE_SIZE);
}

/* What may the writer behind @file (NULL: not a holding file) do to @mb? */
static int doe_user_verdict(struct pci_doe_mb *mb, const void *file)
{
	if (mb->holder)
		return mb->holder == file ? DOE_USER_OK : DOE_USER_HELD;
	if (doe_policy == DOE_POLICY_LOCKED)
		return DOE_USER_LOCKED;
	if (!mb->gate_owned)
		return DOE_USER_OK;
	return doe_policy == DOE_POLICY_RELAXED ? DOE_USER_OVERRIDE :
						   DOE_USER_OWNED;
}

/* Who owns @mb, for root: "claimed by a x2, b; 1 kernel exchange(s) ..." */
static void doe_describe_owners(struct pci_doe_mb *mb, char *buf, size_t len)
{
	struct pci_doe_claim *c;
	size_t pos = 0;

	lockdep_assert_held(&mb->lock);
	buf[0] = '\0';
	list_for_each_entry(c, &mb->claims, node) {
		unsigned int n = doe_claims_named(mb, c);

		if (!n)
			continue;
		pos += scnprintf(buf + pos, len - pos, "%s%s", pos ? ", " :
				 "claimed by ", c->owner);
		if (n > 1)
			pos += scnprintf(buf + pos, len - pos, " x%u", n);
	}
	if (mb->kernel_tasks)
		scnprintf(buf + pos, len - pos, "%s%u kernel exchange(s) queued or running",
			  pos ? "; " : "", mb->kernel_tasks);
}

static void doe_user_why(struct pci_doe_mb *mb, int verdict, char *why,
			 size_t len)
{
	unsigned long flags;

	spin_lock_irqsave(&mb->lock, flags);
	switch (verdict) {
	case DOE_USER_HELD:
		if (mb->holder) {
			scnprintf(why, len, "held by %s[%d]", mb->holder_comm,
				  mb->holder_pid);
			break;
		}
		fallthrough;
	case DOE_USER_LOCKED:
		scnprintf(why, len, "policy is locked, take it with PCIIOC_DOE_TAKE first");
		break;
	default:
		doe_describe_owners(mb, why, len);
		if (!why[0])
			scnprintf(why, len, "owned by the kernel");
	}
	spin_unlock_irqrestore(&mb->lock, flags);
}

/**
 * pci_doe_user_access() - Decide on one root config write (the access point)
 * @pdev: function written to
 * @pos: config offset the access really uses
 * @size: bytes written, 1, 2 or 4
 * @file: /proc/bus/pci file that holds a mailbox and is written through, or
 *	NULL
 * @v: filled in when the write must be reported by pci_doe_user_report()
 *
 * Called by pci_user_write_config() under pci_lock, right before the bus
 * write it decides on, so that the decision and the write are one critical
 * section of the lock under which the kernel changes a mailbox's ownership.
 * A write to an idle mailbox (or one that the relaxed policy lets through)
 * marks it, and the kernel aborts the mailbox before its next exchange.
 *
 * Context: under pci_lock, interrupts off.  Does not sleep or log.
 * Return: 0 if the write may go to the device, -EPERM if it must not.
 */
int pci_doe_user_access(struct pci_dev *pdev, int pos, int size,
			const void *file, struct pci_doe_user_verdict *v)
{
	s64 end = (s64)pos + size;
	struct pci_doe_mb *mb;
	unsigned long index;
	int verdict, rc = 0;

	lockdep_assert_held(&pci_lock);
	if (end <= PCI_CFG_SPACE_SIZE || xa_empty(&pdev->doe_mbs))
		return 0;

	/* Capabilities are dword aligned: an access reaches one block at most */
	xa_for_each_range(&pdev->doe_mbs, index, mb, doe_first_cap(pos),
			  end - 1) {
		verdict = doe_user_verdict(mb, file);
		if (verdict < 0) {
			atomic_long_inc(&mb->denied_writes);
			rc = -EPERM;
		} else {
			mb->gate_touched = true;
			if (verdict == DOE_USER_OVERRIDE)
				atomic_long_inc(&mb->overridden_writes);
		}
		if (verdict) {
			v->cap = mb->cap_offset;
			v->verdict = verdict;
		}
		if (rc)
			break;
	}
	return rc;
}

/**
 * pci_doe_user_report() - Log what pci_doe_user_access() decided
 * @pdev: function written to
 * @pos: config offset of the access
 * @size: bytes
 * @v: the verdict filled in by pci_doe_user_access()
 *
 * Called after pci_lock is dropped.  A refused write and a write the
 * relaxed policy let into a kernel-owned mailbox each log one rate-limited
 * line naming the writer and the owner; the latter also taints the kernel.
 *
 * Context: Any context that may log.
 */
void pci_doe_user_report(struct pci_dev *pdev, int pos, int size,
			 const struct pci_doe_user_verdict *v)
{
	struct pci_doe_mb *mb;
	char why[128];

	if (!v->verdict)
		return;
	mb = xa_load(&pdev->doe_mbs, v->cap);
	if (mb) {
		doe_user_why(mb, v->verdict, why, sizeof(why));
		if (v->verdict < 0)
			doe_err_ratelimited(mb, "denied %d-byte config write at %#x by %s[%d]: %s\n",
					    size, pos, current->comm,
					    task_tgid_nr(current), why);
		else
			doe_err_ratelimited(mb, "%s[%d] wrote %d bytes at %#x while the kernel owns the mailbox (%s)\n",
					    current->comm,
					    task_tgid_nr(current), size, pos,
					    why);
	}
	if (v->verdict > 0)
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
}

/**
 * pci_doe_user_check() - Vet a whole root config write before any of it
 * @pdev: function written to
 * @off: config offset of the write, as the writer will use it
 * @count: bytes to write
 * @file: /proc/bus/pci file written through, or NULL
 *
 * Called by the sysfs and procfs config writers before their first
 * access, with their user data already in kernel memory, so that a long
 * write crossing a mailbox it may not write is refused as a whole and
 * writes nothing.  This is only all-or-nothing for the common case: the
 * guarantee is pci_doe_user_access(), which decides every access again.
 *
 * Context: Process context.
 * Return: 0 if the write may start, -EPERM if it would be refused.
 */
int pci_doe_user_check(struct pci_dev *pdev, loff_t off, size_t count,
		       const void *file)
{
	struct pci_doe_user_verdict v = {};
	struct pci_doe_mb *mb;
	unsigned long index;
	s64 end;
	int verdict;

	if (xa_empty(&pdev->doe_mbs) || off < 0 || off >= pdev->cfg_size ||
	    !count)
		return 0;
	end = off + min_t(u64, count, pdev->cfg_size - off);
	if (end <= PCI_CFG_SPACE_SIZE)
		return 0;

	raw_spin_lock_irq(&pci_lock);
	xa_for_each_range(&pdev->doe_mbs, index, mb, doe_first_cap(off),
			  end - 1) {
		verdict = doe_user_verdict(mb, file);
		if (verdict < 0) {
			atomic_long_inc(&mb->denied_writes);
			v.cap = mb->cap_offset;
			v.verdict = verdict;
			break;
		}
	}
	raw_spin_unlock_irq(&pci_lock);

	if (!v.verdict)
		return 0;
	pci_doe_user_report(pdev, off, end - off, &v);
	return -EPERM;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_user_check);

/**
 * pci_doe_user_take() - Let root hold a mailbox through an open file
 * @pdev: function
 * @offset: config offset of the DOE capability
 * @file: /proc/bus/pci file, opened for writing, that will hold it
 *
 * Only a mailbox with no kernel claim and no kernel task can be taken.
 * While held, writes to its block through @file go through, other writers
 * get -EPERM and kernel claims and exchanges fail at once with -EBUSY.
 * Closing @file gives it back (pci_doe_user_release()).
 *
 * Return: 0 if @file holds the mailbox; -EPERM without CAP_SYS_ADMIN,
 * -EBADF if @file is not open for writing, -EINVAL if no mailbox is at
 * @offset, -EBUSY if the kernel owns it or another file holds it, -ENODEV
 * if the function is being removed.
 */
int pci_doe_user_take(struct pci_dev *pdev, unsigned long offset,
		      struct file *file)
{
	struct pci_doe_mb *mb;
	unsigned long flags;
	char why[128] = "";
	bool taken = false;
	int rc = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (offset > U16_MAX)
		return -EINVAL;
	mb = xa_load(&pdev->doe_mbs, offset);
	if (!mb)
		return -EINVAL;

	spin_lock_irqsave(&mb->lock, flags);
	if (test_bit(DOE_MB_DEAD, &mb->flags)) {
		rc = -ENODEV;
	} else if (mb->holder && mb->holder != file) {
		scnprintf(why, sizeof(why), "held by %s[%d]", mb->holder_comm,
			  mb->holder_pid);
		rc = -EBUSY;
	} else if (mb->gate_owned) {
		doe_describe_owners(mb, why, sizeof(why));
		rc = -EBUSY;
	} else if (!mb->holder) {
		doe_gate_set_holder(mb, file);
		mb->holder_pid = task_tgid_nr(current);
		get_task_comm(mb->holder_comm, current);
		taken = true;
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	if (rc == -EBUSY)
		doe_err_ratelimited(mb, "%s[%d] cannot take it: %s\n",
				    current->comm, task_tgid_nr(current), why);
	else if (taken)
		pci_info(pdev, "DOE mailbox %#x: taken by %s[%d]\n",
			 mb->cap_offset, current->comm, task_tgid_nr(current));
	return rc;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_user_take);

static bool doe_user_give(struct pci_doe_mb *mb, const void *file)
{
	unsigned long flags;
	bool given = false;

	spin_lock_irqsave(&mb->lock, flags);
	if (mb->holder && mb->holder == file) {
		/* Whatever root left in it, abort before the kernel's next use */
		raw_spin_lock(&pci_lock);
		mb->holder = NULL;
		mb->gate_touched = true;
		raw_spin_unlock(&pci_lock);
		given = true;
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	if (given)
		pci_info(mb->pdev, "DOE mailbox %#x: given back by %s[%d]\n",
			 mb->cap_offset, current->comm,
			 task_tgid_nr(current));
	return given;
}

/**
 * pci_doe_user_give() - Give back a mailbox taken with pci_doe_user_take()
 * @pdev: function
 * @offset: config offset of the DOE capability
 * @file: the file holding it
 *
 * Return: 0, or -EINVAL if @file does not hold a mailbox at @offset.
 */
int pci_doe_user_give(struct pci_dev *pdev, unsigned long offset,
		      struct file *file)
{
	struct pci_doe_mb *mb;

	if (offset > U16_MAX)
		return -EINVAL;
	mb = xa_load(&pdev->doe_mbs, offset);
	if (!mb || !doe_user_give(mb, file))
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_user_give);

/**
 * pci_doe_user_release() - Give back every mailbox a closing file holds
 * @pdev: function
 * @file: file being released
 */
void pci_doe_user_release(struct pci_dev *pdev, struct file *file)
{
	struct pci_doe_mb *mb;
	unsigned long index;

	xa_for_each(&pdev->doe_mbs, index, mb)
		doe_user_give(mb, file);
}

/* ---- sysfs: doe/<offset>/ per mailbox, doe_features/ per function ---- */

#define to_doe_mb(k) container_of(k, struct pci_doe_mb, kobj)

static ssize_t offset_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%#x\n", to_doe_mb(kobj)->cap_offset);
}

static struct kobj_attribute doe_attr_offset = __ATTR_RO(offset);

static ssize_t protocols_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	struct pci_doe_mb *mb = to_doe_mb(kobj);
	unsigned int i;
	int len = 0;

	for (i = 0; i < mb->nr_prots; i++)
		len += sysfs_emit_at(buf, len, "%04x:%02x\n",
				     mb->prots[i].vendor, mb->prots[i].type);
	return len;
}

static struct kobj_attribute doe_attr_protocols = __ATTR_RO(protocols);

static ssize_t owners_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct pci_doe_mb *mb = to_doe_mb(kobj);
	struct pci_doe_claim *c;
	unsigned long flags;
	int len = 0;

	/* "name count" per name, in the order the names first claimed */
	spin_lock_irqsave(&mb->lock, flags);
	list_for_each_entry(c, &mb->claims, node) {
		unsigned int n = doe_claims_named(mb, c);

		if (n)
			len += sysfs_emit_at(buf, len, "%s %u\n", c->owner, n);
	}
	spin_unlock_irqrestore(&mb->lock, flags);
	return len;
}

static struct kobj_attribute doe_attr_owners = __ATTR_RO(owners);

static ssize_t claims_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_doe_mb(kobj)->nr_claims));
}

static struct kobj_attribute doe_attr_claims = __ATTR_RO(claims);

static ssize_t in_flight_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(to_doe_mb(kobj)->kernel_tasks));
}

static struct kobj_attribute doe_attr_in_flight = __ATTR_RO(in_flight);

static ssize_t user_holder_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct pci_doe_mb *mb = to_doe_mb(kobj);
	unsigned long flags;
	int len = 0;

	spin_lock_irqsave(&mb->lock, flags);
	if (mb->holder)
		len = sysfs_emit(buf, "%d %s\n", mb->holder_pid,
				 mb->holder_comm);
	spin_unlock_irqrestore(&mb->lock, flags);
	return len;
}

static struct kobj_attribute doe_attr_user_holder = __ATTR_RO(user_holder);

/* The counters, each an atomic_long_t of struct pci_doe_mb */
struct doe_counter_attr {
	struct kobj_attribute attr;
	size_t offset;
};

static ssize_t doe_counter_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct doe_counter_attr *c = container_of(attr, struct doe_counter_attr,
						  attr);
	atomic_long_t *v = (void *)to_doe_mb(kobj) + c->offset;

	return sysfs_emit(buf, "%ld\n", atomic_long_read(v));
}

static struct doe_counter_attr doe_attr_exchanges = {
	.attr = __ATTR(exchanges, 0444, doe_counter_show, NULL),
	.offset = offsetof(struct pci_doe_mb, exchanges),
};

static struct doe_counter_attr doe_attr_errors = {
	.attr = __ATTR(errors, 0444, doe_counter_show, NULL),
	.offset = offsetof(struct pci_doe_mb, errors),
};

static struct doe_counter_attr doe_attr_timeouts = {
	.attr = __ATTR(timeouts, 0444, doe_counter_show, NULL),
	.offset = offsetof(struct pci_doe_mb, timeouts),
};

static struct doe_counter_attr doe_attr_aborts = {
	.attr = __ATTR(aborts, 0444, doe_counter_show, NULL),
	.offset = offsetof(struct pci_doe_mb, aborts),
};

static struct doe_counter_attr doe_attr_denied_writes = {
	.attr = __ATTR(denied_writes, 0444, doe_counter_show, NULL),
	.offset = offsetof(struct pci_doe_mb, denied_writes),
};

static struct doe_counter_attr doe_attr_overridden_writes = {
	.attr = __ATTR(overridden_writes, 0444, doe_counter_show, NULL),
	.offset = offsetof(struct pci_doe_mb, overridden_writes),
};

static struct attribute *doe_mb_attrs[] = {
	&doe_attr_offset.attr,
	&doe_attr_protocols.attr,
	&doe_attr_owners.attr,
	&doe_attr_claims.attr,
	&doe_attr_in_flight.attr,
	&doe_attr_user_holder.attr,
	&doe_attr_exchanges.attr.attr,
	&doe_attr_errors.attr.attr,
	&doe_attr_timeouts.attr.attr,
	&doe_attr_aborts.attr.attr,
	&doe_attr_denied_writes.attr.attr,
	&doe_attr_overridden_writes.attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(doe_mb);

static const struct kobj_type doe_mb_ktype = {
	.release = doe_mb_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = doe_mb_groups,
};

/*
 * doe_features/ as introduced upstream in 6.15: one file per protocol of
 * any mailbox, named and containing "vvvv:tt", Discovery as doe_discovery.
 */
struct doe_feature {
	struct kobj_attribute attr;
	char name[16];
	char value[8];
};

struct doe_features {
	struct kobject *kobj;
	unsigned int nr;
	struct doe_feature f[] __counted_by(nr);
};

static ssize_t doe_feature_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct doe_feature *f = container_of(attr, struct doe_feature, attr);

	return sysfs_emit(buf, "%s\n", f->value);
}

static void doe_features_destroy(struct doe_features *feat)
{
	if (!feat)
		return;
	kobject_put(feat->kobj);
	kfree(feat);
}

static struct doe_features *doe_features_create(struct pci_dev *pdev)
{
	struct doe_features *feat;
	struct pci_doe_mb *mb;
	unsigned long index;
	unsigned int max = 0, i, j;

	xa_for_each(&pdev->doe_mbs, index, mb)
		max += mb->nr_prots;

	feat = kzalloc(struct_size(feat, f, max), GFP_KERNEL);
	if (!feat)
		return NULL;
	feat->kobj = kobject_create_and_add("doe_features", &pdev->dev.kobj);
	if (!feat->kobj) {
		kfree(feat);
		return NULL;
	}

	xa_for_each(&pdev->doe_mbs, index, mb) {
		for (i = 0; i < mb->nr_prots; i++) {
			struct doe_feature *f = &feat->f[feat->nr];

			snprintf(f->value, sizeof(f->value), "%04x:%02x",
				 mb->prots[i].vendor, mb->prots[i].type);
			for (j = 0; j < feat->nr; j++)
				if (!strcmp(feat->f[j].value, f->value))
					break;
			if (j < feat->nr)
				continue;

			if (mb->prots[i].vendor == PCI_VENDOR_ID_PCI_SIG &&
			    mb->prots[i].type == DOE_PROT_DISCOVERY)
				strscpy(f->name, "doe_discovery");
			else
				strscpy(f->name, f->value);
			sysfs_attr_init(&f->attr.attr);
			f->attr.attr.name = f->name;
			f->attr.attr.mode = 0444;
			f->attr.show = doe_feature_show;
			feat->nr++;
			if (sysfs_create_file(feat->kobj, &f->attr.attr))
				pci_warn(pdev, "DOE: cannot list feature %s\n",
					 f->value);
		}
	}
	return feat;
}

/**
 * pci_doe_sysfs_init() - Show the DOE mailboxes of a function in sysfs
 * @pdev: function whose sysfs files the PCI core is creating
 */
void pci_doe_sysfs_init(struct pci_dev *pdev)
{
	struct pci_doe_mb *mb, *first = NULL;
	struct kobject *dir;
	unsigned long index;

	if (xa_empty(&pdev->doe_mbs))
		return;
	first = xa_find(&pdev->doe_mbs, &index, ULONG_MAX, XA_PRESENT);
	if (first->dir)
		return;

	dir = kobject_create_and_add("doe", &pdev->dev.kobj);
	if (!dir) {
		pci_warn(pdev, "DOE: cannot create the doe directory\n");
		return;
	}

	xa_for_each(&pdev->doe_mbs, index, mb) {
		mb->dir = dir;
		if (kobject_add(&mb->kobj, dir, "%x", mb->cap_offset))
			doe_warn(mb, "cannot create its sysfs directory\n");
	}
	first->features = doe_features_create(pdev);
}

/**
 * pci_doe_sysfs_teardown() - Remove what pci_doe_sysfs_init() showed
 * @pdev: function whose sysfs files the PCI core is removing
 */
void pci_doe_sysfs_teardown(struct pci_dev *pdev)
{
	struct kobject *dir = NULL;
	struct pci_doe_mb *mb;
	unsigned long index;

	xa_for_each(&pdev->doe_mbs, index, mb) {
		if (mb->kobj.state_in_sysfs)
			kobject_del(&mb->kobj);
		dir = mb->dir;
		mb->dir = NULL;
		doe_features_destroy(mb->features);
		mb->features = NULL;
	}
	kobject_put(dir);
}

#if IS_ENABLED(CONFIG_PCI_DOE_KUNIT_TEST)
/**
 * pci_doe_set_timeout() - Shorten the DOE timeout of a mailbox, for tests
 * @mb: mailbox
 * @timeout_us: new budget of every wait, in microseconds
 *
 * Context: Process context, with no task queued or running on @mb.
 */
void pci_doe_set_timeout(struct pci_doe_mb *mb, u32 timeout_us)
{
	/* read_poll_timeout() takes 0 as "forever" */
	mb->timeout_us = max(timeout_us, 1U);
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_set_timeout);

/**
 * pci_doe_set_policy() - Switch the root write policy, for tests
 * @name: "relaxed", "strict" or "locked"
 *
 * Context: Process context; nothing else may depend on the policy meanwhile.
 * Return: the name of the previous policy, or NULL for an unknown @name.
 */
const char *pci_doe_set_policy(const char *name)
{
	int old = doe_policy, i = sysfs_match_string(doe_policy_names, name);

	if (i < 0)
		return NULL;
	doe_policy = i;
	return doe_policy_names[old];
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_set_policy);

/**
 * pci_doe_nr_protocols() - Number of protocols Discovery cached, for tests
 * @mb: mailbox
 *
 * Return: the number of entries, duplicates included if any were kept.
 */
unsigned int pci_doe_nr_protocols(const struct pci_doe_mb *mb)
{
	return mb->nr_prots;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_nr_protocols);

/**
 * pci_doe_overridden_writes() - Root writes the relaxed policy let through
 * @mb: mailbox
 *
 * Return: the overridden_writes counter of @mb.
 */
unsigned long pci_doe_overridden_writes(const struct pci_doe_mb *mb)
{
	return atomic_long_read(&mb->overridden_writes);
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_overridden_writes);
#endif
