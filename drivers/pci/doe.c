// SPDX-License-Identifier: GPL-2.0
/*
 * PCI Data Object Exchange (DOE) mailbox library: the exchange engine
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
 * Who may write a mailbox (kernel claims, root's config writes, root's
 * takeover) is decided in doe-owner.c; the engine keeps the state that
 * needs (doe.h) and aborts a mailbox a root write reached before its next
 * exchange.  doe-dev.c shows each mailbox to userspace as a device.
 */

#include <linux/bitfield.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/iopoll.h>
#include <linux/ktime.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
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

enum pci_doe_task_state {
	DOE_TASK_IDLE,
	DOE_TASK_QUEUED,
	DOE_TASK_RUNNING,
	DOE_TASK_DONE,
};

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

	atomic_long_inc(&mb->stats.aborts);
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
	if (!rc && trace_pci_doe_object_enabled()) {
		__le32 hdr[2] = {
			cpu_to_le32(FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_VID,
					       task->vendor) |
				    FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE,
					       task->type)),
			cpu_to_le32(length),
		};

		trace_pci_doe_object(mb->pdev, mb->cap_offset, false, hdr,
				     (dws + 2) * sizeof(u32), task->request,
				     task->request_sz);
	}
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
	u32 hdr, raw_length, length, status, val, i;
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

	rc = doe_pop(mb, &raw_length);
	if (rc)
		goto unknown;
	length = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH, raw_length);
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
	if (trace_pci_doe_object_enabled()) {
		__le32 obj[2] = { cpu_to_le32(hdr), cpu_to_le32(raw_length) };

		trace_pci_doe_object(mb->pdev, mb->cap_offset, true, obj,
				     length * sizeof(u32), task->response,
				     stored);
	}

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
	if (doe_owner_touched(mb))
		mb->need_abort = true;
	rc = doe_exchange(mb, task);
	if (doe_owner_touched(mb) && rc != -ENODEV) {
		doe_err_ratelimited(mb, "a root config write landed during the %04x:%02x exchange, failing it\n",
				    task->vendor, task->type);
		if (!doe_dead(mb))
			doe_abort(mb);
		rc = -EIO;
	}
	if (rc == -ETIMEDOUT)
		atomic_long_inc(&mb->stats.timeouts);
	else if (rc < 0 && rc != -ENODEV)
		atomic_long_inc(&mb->stats.errors);
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

	atomic_long_inc(&mb->stats.exchanges);
	trace_pci_doe_complete(mb->pdev, mb->cap_offset, task, rv,
			       mb->accesses);

	spin_lock_irqsave(&mb->lock, flags);
	task->rv = rv;
	task->state = DOE_TASK_DONE;
	mb->kernel_tasks--;
	doe_owner_update(mb);
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
	} else if (doe_owner_taken(mb)) {
		rc = -EBUSY;
	} else {
		task->mb = mb;
		task->rv = 0;
		task->submitted = ktime_get_ns();
		mb->kernel_tasks++;
		doe_owner_update(mb);
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
		doe_dbg(mb, "%04x:%02x refused: root took the mailbox\n",
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
 * the mailbox does not support, -EBUSY if root took the mailbox (see
 * PCI_DOE_IOC_TAKE), -ENODEV if the function is being removed.
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
		doe_owner_update(mb);
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
		atomic_long_inc(&mb->stats.exchanges);
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

static void doe_mb_free(struct pci_doe_mb *mb)
{
	/* Claims and open files hold a reference on the function: none left */
	WARN_ON_ONCE(!list_empty(&mb->owner.claims));
	kfree(mb->prots);
	kfree(mb);
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
	INIT_LIST_HEAD(&mb->owner.claims);
	init_waitqueue_head(&mb->idle_wq);
	init_waitqueue_head(&mb->done_wq);
	INIT_WORK(&mb->work, doe_work);
	INIT_WORK(&mb->cb_work, doe_cb_work);
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
		rc = doe_read(mb, PCI_DOE_CAP, &mb->caps);
	}
	if (!rc)
		rc = doe_discover(mb);
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
#endif
