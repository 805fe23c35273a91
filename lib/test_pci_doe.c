// SPDX-License-Identifier: GPL-2.0
/*
 * Test module for the PCI DOE mailbox library (drivers/pci/doe.c).
 *
 * Plays a kernel user of Data Object Exchange mailboxes (PCIe r6.2 sec
 * 6.30) for the selftests in tools/testing/selftests/pci_doe/: through
 * debugfs (/sys/kernel/debug/test_pci_doe/) it takes and drops named claims
 * (pci_doe_claim()), runs synchronous exchanges (pci_doe()), batches of
 * asynchronous ones (pci_doe_submit()) and streams of exchanges from several
 * processes at once, and reports what the library returned.  The controls
 * follow lib/test_firmware.c: config_* knobs, trigger_* actions whose
 * write() returns the byte count or the -errno of the library call,
 * test_result and reset.  tools/testing/selftests/pci_doe/README documents
 * every file.
 *
 * A mailbox may be used as long as a reference on its PCI function is held
 * (see pci_find_doe_mailbox()): this module looks a function up by name,
 * with a reference, for every action, and a claim holds what it needs by
 * itself.  Once a function is removed its exchanges fail with -ENODEV, and
 * its claims stay until released (trigger_release, reset), which is safe
 * then too.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cleanup.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/hex.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

/* Largest request payload that config_request accepts */
#define TEST_DOE_MAX_REQUEST	4096
/* Largest write() to a control: a request in hex plus spaces and options */
#define TEST_DOE_MAX_INPUT	(4 * TEST_DOE_MAX_REQUEST + 256)
/* Names of a PCI function ("0000:0d:00.0") and of a claim */
#define TEST_DOE_NAME_LEN	64
/* Default response buffer, bytes */
#define TEST_DOE_RESPONSE_SZ	4096
/* Tasks one trigger_async write may submit */
#define TEST_DOE_MAX_ASYNC	256
/* Exchanges one trigger_stream write may run */
#define TEST_DOE_MAX_STREAM	1000000
/* trigger_wait and reset give up on outstanding tasks after this long */
#define TEST_DOE_WAIT_MS	(30 * MSEC_PER_SEC)

#define TEST_DOE_DEFAULT_OWNER	"test_pci_doe"

/**
 * struct test_doe_target - what an action works on and what it sends
 * @device: name of the PCI function, e.g. "0000:0d:00.0"
 * @offset: config offset of the mailbox; 0 picks the first mailbox of
 *	@device that carries @vendor:@type
 * @vendor: Vendor ID of the protocol of the request
 * @type: Data Object Type of the protocol of the request
 * @request: request payload (kmalloc()ed, owned by the target), or NULL
 * @request_sz: size of @request in bytes
 * @response_sz: size of the response buffer in bytes
 * @owner: name of the claims taken and released
 * @reserve: trigger_claim also reserves @reserve_vendor:@reserve_type for
 *	the kernel (pci_doe_claim_reserve()); option "reserve=vvvv:tt" only
 * @reserve_vendor: Vendor ID of the protocol to reserve
 * @reserve_type: Data Object Type of the protocol to reserve
 *
 * The configured target lives in test_doe_config; each action works on a
 * private copy (test_doe_target_copy()), so that several processes can run
 * actions at once while others change the configuration.
 */
struct test_doe_target {
	char device[TEST_DOE_NAME_LEN];
	u16 offset;
	u16 vendor;
	u8 type;
	u8 *request;
	size_t request_sz;
	size_t response_sz;
	char owner[TEST_DOE_NAME_LEN];
	bool reserve;
	u16 reserve_vendor;
	u8 reserve_type;
};

/**
 * struct test_doe_claim - one claim this module holds
 * @node: entry in test_doe_claims
 * @claim: the claim, which keeps its mailbox and function allocated
 * @device: name of the function, so that the claim can be released after
 *	the function is gone
 * @offset: config offset of the mailbox
 * @owner: name the claim was taken with
 */
struct test_doe_claim {
	struct list_head node;
	struct pci_doe_claim *claim;
	char device[TEST_DOE_NAME_LEN];
	u16 offset;
	char owner[];
};

/**
 * struct test_doe_async - one task of trigger_async
 * @node: entry in test_doe_async_tasks
 * @task: the task handed to pci_doe_submit()
 * @done: its callback has run
 * @buf: request payload followed by the response buffer
 */
struct test_doe_async {
	struct list_head node;
	struct pci_doe_task task;
	bool done;
	u8 buf[];
};

/*
 * Protects the configuration (test_doe_config), the result of the last
 * synchronous exchange (test_doe_result, test_doe_response,
 * test_doe_response_len) and the list of claims held (test_doe_claims).
 * Never held across a DOE exchange.
 */
static DEFINE_MUTEX(test_doe_mutex);
static struct test_doe_target test_doe_config;
static int test_doe_result;
static u8 *test_doe_response;
static size_t test_doe_response_len;
static LIST_HEAD(test_doe_claims);

/*
 * Protects test_doe_async_tasks, the done flag of each of them and the
 * asynchronous counters below.  Taken by task callbacks, which run in
 * process context.  test_doe_async_wq is woken when the last outstanding
 * task completes.
 */
static DEFINE_SPINLOCK(test_doe_async_lock);
static LIST_HEAD(test_doe_async_tasks);
static unsigned long test_doe_async_submitted;
static unsigned long test_doe_async_completed;
static unsigned long test_doe_async_ok;
static unsigned long test_doe_async_errors;
static unsigned long test_doe_async_outstanding;
static int test_doe_async_last_error;
static DECLARE_WAIT_QUEUE_HEAD(test_doe_async_wq);

/* Stream statistics: updated by concurrent streams, so atomic, no lock */
static atomic_long_t test_doe_streams;
static atomic_long_t test_doe_stream_exchanges;
static atomic_long_t test_doe_stream_mismatches;
static atomic_long_t test_doe_stream_errors;

static struct dentry *test_doe_dir;

/* ---- targets and their parsing ---- */

static void test_doe_target_defaults(struct test_doe_target *t)
{
	kfree(t->request);
	memset(t, 0, sizeof(*t));
	t->vendor = PCI_VENDOR_ID_PCI_SIG;	/* DOE Discovery, index 0 */
	t->type = 0;
	t->request = kzalloc(sizeof(u32), GFP_KERNEL);
	t->request_sz = t->request ? sizeof(u32) : 0;
	t->response_sz = TEST_DOE_RESPONSE_SZ;
	strscpy(t->owner, TEST_DOE_DEFAULT_OWNER);
}

static void test_doe_target_free(struct test_doe_target *t)
{
	kfree(t->request);
	t->request = NULL;
	t->request_sz = 0;
}

/* Snapshot the configuration into @t; free it with test_doe_target_free() */
static int test_doe_target_copy(struct test_doe_target *t)
{
	guard(mutex)(&test_doe_mutex);

	*t = test_doe_config;
	t->request = NULL;
	if (test_doe_config.request_sz) {
		t->request = kmemdup(test_doe_config.request,
				     test_doe_config.request_sz, GFP_KERNEL);
		if (!t->request)
			return -ENOMEM;
	}
	return 0;
}

/* A name without its trailing newline; -EINVAL if empty or too long */
static int test_doe_parse_name(const char *s, char *name)
{
	size_t len = strcspn(s, "\n");

	if (!len || len >= TEST_DOE_NAME_LEN)
		return -EINVAL;
	memcpy(name, s, len);
	name[len] = '\0';
	return 0;
}

/* "vvvv:tt", both hexadecimal */
static int test_doe_parse_protocol(const char *s, u16 *vendor, u8 *type)
{
	char buf[16], *colon;
	int rc;

	if (strscpy(buf, s) < 0)
		return -EINVAL;
	colon = strchr(strim(buf), ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	rc = kstrtou16(buf, 16, vendor);
	if (!rc)
		rc = kstrtou8(colon + 1, 16, type);
	return rc;
}

/*
 * Hex bytes ("00000000", "01 00 00 00"), white space ignored.  *@out is
 * kmalloc()ed, or NULL for an empty payload.
 */
static int test_doe_parse_hex(const char *s, u8 **out, size_t *len)
{
	size_t digits = 0, n = 0;
	const char *p;
	u8 *bytes;
	int hi = -1;

	for (p = s; *p; p++) {
		if (isspace(*p))
			continue;
		if (hex_to_bin(*p) < 0)
			return -EINVAL;
		digits++;
	}
	if (digits % 2 || digits / 2 > TEST_DOE_MAX_REQUEST)
		return -EINVAL;

	*out = NULL;
	*len = 0;
	if (!digits)
		return 0;
	bytes = kmalloc(digits / 2, GFP_KERNEL);
	if (!bytes)
		return -ENOMEM;
	for (p = s; *p; p++) {
		if (isspace(*p))
			continue;
		if (hi < 0) {
			hi = hex_to_bin(*p);
		} else {
			bytes[n++] = hi << 4 | hex_to_bin(*p);
			hi = -1;
		}
	}
	*out = bytes;
	*len = n;
	return 0;
}

/*
 * One "key=value" option of a trigger, overriding the copied configuration
 * for this action only: device, offset, protocol, request, response_size,
 * owner.  Option names match the config_* files without their prefix;
 * "reserve=vvvv:tt" (trigger_claim) has no config_* file.
 */
static int test_doe_parse_option(struct test_doe_target *t, char *opt)
{
	char *val = strchr(opt, '=');
	unsigned long size;
	u8 *req;
	size_t len;
	int rc;

	if (!val)
		return -EINVAL;
	*val++ = '\0';

	if (!strcmp(opt, "device"))
		return test_doe_parse_name(val, t->device);
	if (!strcmp(opt, "owner"))
		return test_doe_parse_name(val, t->owner);
	if (!strcmp(opt, "offset"))
		return kstrtou16(val, 0, &t->offset);
	if (!strcmp(opt, "protocol"))
		return test_doe_parse_protocol(val, &t->vendor, &t->type);
	if (!strcmp(opt, "reserve")) {
		t->reserve = true;
		return test_doe_parse_protocol(val, &t->reserve_vendor,
					       &t->reserve_type);
	}
	if (!strcmp(opt, "response_size")) {
		rc = kstrtoul(val, 0, &size);
		if (rc)
			return rc;
		if (size > PCI_DOE_MAX_PAYLOAD)
			return -EINVAL;
		t->response_sz = size;
		return 0;
	}
	if (!strcmp(opt, "request")) {
		rc = test_doe_parse_hex(val, &req, &len);
		if (rc)
			return rc;
		kfree(t->request);
		t->request = req;
		t->request_sz = len;
		return 0;
	}
	return -EINVAL;
}

/*
 * Copy the configuration into @t and apply the options of a trigger write:
 * white-space separated words, of which the first is a count when @count is
 * not NULL, then "key=value" options.  Words without '=' are ignored
 * otherwise, so that "echo 1 > trigger_claim" works.
 */
static int test_doe_parse_trigger(char *buf, struct test_doe_target *t,
				  unsigned long *count, unsigned long max)
{
	char *word, *p = skip_spaces(buf);
	int rc;

	rc = test_doe_target_copy(t);
	if (rc)
		return rc;

	if (count) {
		word = strsep(&p, " \t\n");
		rc = kstrtoul(word, 0, count);
		if (!rc && (!*count || *count > max))
			rc = -EINVAL;
	}
	while (!rc && (word = strsep(&p, " \t\n"))) {
		if (!strchr(word, '='))
			continue;
		rc = test_doe_parse_option(t, word);
	}
	if (rc)
		test_doe_target_free(t);
	return rc;
}

/* ---- mailbox lookup ---- */

/*
 * Find the mailbox of @t.  The reference on *@pdev keeps the mailbox
 * usable (a removed one fails with -ENODEV); the caller drops it with
 * pci_dev_put() when done with the mailbox.
 */
static struct pci_doe_mb *test_doe_find(const struct test_doe_target *t,
					struct pci_dev **pdev)
{
	struct pci_doe_mb *mb;
	struct device *dev;

	if (!t->device[0])
		return ERR_PTR(-ENODEV);
	dev = bus_find_device_by_name(&pci_bus_type, NULL, t->device);
	if (!dev)
		return ERR_PTR(-ENODEV);
	*pdev = to_pci_dev(dev);

	if (t->offset)
		mb = pci_doe_find_mailbox_at(*pdev, t->offset);
	else
		mb = pci_find_doe_mailbox(*pdev, t->vendor, t->type);
	if (!mb) {
		pci_dev_put(*pdev);
		return ERR_PTR(-ENOENT);
	}
	return mb;
}

/* ---- claims ---- */

static void test_doe_claim_drop(struct test_doe_claim *c)
{
	lockdep_assert_held(&test_doe_mutex);

	pci_doe_release(c->claim);
	list_del(&c->node);
	kfree(c);
}

static int test_doe_claim(struct test_doe_target *t)
{
	struct test_doe_claim *c;
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	size_t len = strlen(t->owner) + 1;
	int rc = 0;

	c = kzalloc(struct_size(c, owner, len), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	memcpy(c->owner, t->owner, len);
	strscpy(c->device, t->device);

	mb = test_doe_find(t, &pdev);
	if (IS_ERR(mb)) {
		kfree(c);
		return PTR_ERR(mb);
	}
	c->offset = pci_doe_mailbox_offset(mb);
	c->claim = pci_doe_claim(mb, c->owner);
	/* The claim holds the function by itself */
	pci_dev_put(pdev);
	if (IS_ERR(c->claim)) {
		rc = PTR_ERR(c->claim);
		kfree(c);
		return rc;
	}
	if (t->reserve) {
		rc = pci_doe_claim_reserve(c->claim, t->reserve_vendor,
					   t->reserve_type);
		if (rc) {
			pci_doe_release(c->claim);
			kfree(c);
			return rc;
		}
	}

	mutex_lock(&test_doe_mutex);
	list_add_tail(&c->node, &test_doe_claims);
	mutex_unlock(&test_doe_mutex);
	return 0;
}

/*
 * Drop the latest claim of @t's owner on @t's device (and mailbox, if
 * @t->offset is set), looked up by name: the function may be gone.
 */
static int test_doe_release(struct test_doe_target *t)
{
	struct test_doe_claim *c, *found = NULL;

	guard(mutex)(&test_doe_mutex);
	list_for_each_entry_reverse(c, &test_doe_claims, node) {
		if (!strcmp(c->device, t->device) &&
		    !strcmp(c->owner, t->owner) &&
		    (!t->offset || c->offset == t->offset)) {
			found = c;
			break;
		}
	}
	if (!found)
		return -ENOENT;
	test_doe_claim_drop(found);
	return 0;
}

static void test_doe_release_all(void)
{
	struct test_doe_claim *c, *tmp;

	guard(mutex)(&test_doe_mutex);
	list_for_each_entry_safe(c, tmp, &test_doe_claims, node)
		test_doe_claim_drop(c);
}

/* ---- synchronous exchanges and streams ---- */

/*
 * One exchange of @t into @rsp.  The mailbox is looked up again for each
 * exchange, so that a stream does not hold up the removal of its function:
 * once the function is gone, the next exchange fails with -ENODEV.
 */
static int test_doe_exchange_once(struct test_doe_target *t, u8 *rsp)
{
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	int rc;

	mb = test_doe_find(t, &pdev);
	if (IS_ERR(mb))
		return PTR_ERR(mb);
	rc = pci_doe(mb, t->vendor, t->type, t->request, t->request_sz, rsp,
		     t->response_sz);
	pci_dev_put(pdev);
	return rc;
}

static int test_doe_exchange(struct test_doe_target *t)
{
	u8 *rsp = NULL;
	int rc;

	if (t->response_sz) {
		rsp = kvzalloc(t->response_sz, GFP_KERNEL);
		if (!rsp)
			return -ENOMEM;
	}

	rc = test_doe_exchange_once(t, rsp);

	mutex_lock(&test_doe_mutex);
	test_doe_result = rc;
	kvfree(test_doe_response);
	test_doe_response = rc > 0 ? rsp : NULL;
	test_doe_response_len = rc > 0 ? rc : 0;
	mutex_unlock(&test_doe_mutex);
	if (rc <= 0)
		kvfree(rsp);
	return rc < 0 ? rc : 0;
}

/*
 * @count exchanges of @t, each response compared with the first.  Stops at
 * the first failure: -EIO for a response that differs, the -errno of a
 * failed exchange, -EINTR on a signal.
 */
static int test_doe_stream(struct test_doe_target *t, unsigned long count)
{
	u8 *first = NULL, *cur = NULL;
	unsigned long i;
	int rc = 0, len = 0;

	if (t->response_sz) {
		first = kvzalloc(t->response_sz, GFP_KERNEL);
		cur = kvzalloc(t->response_sz, GFP_KERNEL);
		if (!first || !cur) {
			rc = -ENOMEM;
			goto out;
		}
	}

	for (i = 0; i < count; i++) {
		if (signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		rc = test_doe_exchange_once(t, i ? cur : first);
		atomic_long_inc(&test_doe_stream_exchanges);
		if (rc < 0) {
			atomic_long_inc(&test_doe_stream_errors);
			pr_err("stream on %s: exchange %lu of %04x:%02x failed: %d\n",
			       t->device, i, t->vendor, t->type, rc);
			break;
		}
		if (!i) {
			len = rc;
		} else if (rc != len || memcmp(first, cur, len)) {
			atomic_long_inc(&test_doe_stream_mismatches);
			pr_err("stream on %s: response %lu of %04x:%02x (%d bytes) differs from the first (%d bytes)\n",
			       t->device, i, t->vendor, t->type, rc, len);
			rc = -EIO;
			break;
		}
		rc = 0;
	}
	atomic_long_inc(&test_doe_streams);
out:
	kvfree(cur);
	kvfree(first);
	return rc;
}

/* ---- asynchronous exchanges ---- */

static void test_doe_async_done(struct pci_doe_task *task)
{
	struct test_doe_async *a = container_of(task, struct test_doe_async,
						task);
	bool again, wake = false;

	spin_lock(&test_doe_async_lock);
	test_doe_async_completed++;
	again = a->done;
	if (!again) {
		a->done = true;
		if (task->rv >= 0) {
			test_doe_async_ok++;
		} else {
			test_doe_async_errors++;
			test_doe_async_last_error = task->rv;
		}
		wake = !--test_doe_async_outstanding;
	}
	spin_unlock(&test_doe_async_lock);

	WARN(again, "DOE task %p completed twice (rv %d)\n", task, task->rv);
	if (wake)
		wake_up(&test_doe_async_wq);
}

static bool test_doe_async_idle(void)
{
	bool idle;

	spin_lock(&test_doe_async_lock);
	idle = !test_doe_async_outstanding;
	spin_unlock(&test_doe_async_lock);
	return idle;
}

/* Free the tasks whose callback has run */
static void test_doe_async_collect(void)
{
	struct test_doe_async *a, *tmp;
	LIST_HEAD(done);

	spin_lock(&test_doe_async_lock);
	list_for_each_entry_safe(a, tmp, &test_doe_async_tasks, node)
		if (a->done)
			list_move(&a->node, &done);
	spin_unlock(&test_doe_async_lock);

	list_for_each_entry_safe(a, tmp, &done, node)
		kvfree(a);
}

static int test_doe_async_wait(void)
{
	long left;

	left = wait_event_timeout(test_doe_async_wq, test_doe_async_idle(),
				  msecs_to_jiffies(TEST_DOE_WAIT_MS));
	test_doe_async_collect();
	return left ? 0 : -ETIMEDOUT;
}

/*
 * Submit @count tasks of @t at once: all are allocated first, so that they
 * queue up behind each other.  Stops at the first submission refused.
 */
static int test_doe_async(struct test_doe_target *t, unsigned long count)
{
	struct test_doe_async *a, *tmp;
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	LIST_HEAD(batch);
	unsigned long i;
	int rc = 0;

	test_doe_async_collect();

	for (i = 0; i < count; i++) {
		a = kvzalloc(struct_size(a, buf, t->request_sz + t->response_sz),
			     GFP_KERNEL);
		if (!a) {
			rc = -ENOMEM;
			goto out_free;
		}
		if (t->request_sz)
			memcpy(a->buf, t->request, t->request_sz);
		a->task.vendor = t->vendor;
		a->task.type = t->type;
		a->task.request = t->request_sz ? a->buf : NULL;
		a->task.request_sz = t->request_sz;
		a->task.response = t->response_sz ? a->buf + t->request_sz :
				   NULL;
		a->task.response_sz = t->response_sz;
		a->task.complete = test_doe_async_done;
		list_add_tail(&a->node, &batch);
	}

	mb = test_doe_find(t, &pdev);
	if (IS_ERR(mb)) {
		rc = PTR_ERR(mb);
		goto out_free;
	}

	list_for_each_entry_safe(a, tmp, &batch, node) {
		bool wake;

		/* Counted first: the callback may run before submit returns */
		spin_lock(&test_doe_async_lock);
		list_move_tail(&a->node, &test_doe_async_tasks);
		test_doe_async_outstanding++;
		test_doe_async_submitted++;
		spin_unlock(&test_doe_async_lock);

		rc = pci_doe_submit(mb, &a->task);
		if (!rc)
			continue;

		/* Not accepted: its callback will not run */
		spin_lock(&test_doe_async_lock);
		list_move(&a->node, &batch);
		wake = !--test_doe_async_outstanding;
		test_doe_async_submitted--;
		spin_unlock(&test_doe_async_lock);
		if (wake)
			wake_up(&test_doe_async_wq);
		break;
	}
	pci_dev_put(pdev);
out_free:
	list_for_each_entry_safe(a, tmp, &batch, node)
		kvfree(a);
	return rc;
}

/* ---- reset ---- */

static int test_doe_reset(void)
{
	int rc = test_doe_async_wait();

	test_doe_release_all();

	mutex_lock(&test_doe_mutex);
	test_doe_target_defaults(&test_doe_config);
	test_doe_result = 0;
	kvfree(test_doe_response);
	test_doe_response = NULL;
	test_doe_response_len = 0;
	mutex_unlock(&test_doe_mutex);

	spin_lock(&test_doe_async_lock);
	if (!test_doe_async_outstanding) {
		test_doe_async_submitted = 0;
		test_doe_async_completed = 0;
		test_doe_async_ok = 0;
		test_doe_async_errors = 0;
		test_doe_async_last_error = 0;
	}
	spin_unlock(&test_doe_async_lock);

	atomic_long_set(&test_doe_streams, 0);
	atomic_long_set(&test_doe_stream_exchanges, 0);
	atomic_long_set(&test_doe_stream_mismatches, 0);
	atomic_long_set(&test_doe_stream_errors, 0);
	return rc;
}

/* ---- debugfs controls ---- */

/**
 * struct test_doe_file - one file of /sys/kernel/debug/test_pci_doe/
 * @name: file name
 * @show: prints the file's content, or NULL for a write-only file
 * @store: acts on a NUL-terminated write; returns 0 or a negative errno,
 *	which write() returns.  NULL for a read-only file.
 */
struct test_doe_file {
	const char *name;
	int (*show)(struct seq_file *m);
	int (*store)(char *buf);
};

static void test_doe_seq_hex(struct seq_file *m, const u8 *buf, size_t len)
{
	size_t i;

	/* %*phN prints at most 64 bytes at a time */
	for (i = 0; i < len; i += 64)
		seq_printf(m, "%*phN", (int)min_t(size_t, 64, len - i),
			   buf + i);
	seq_putc(m, '\n');
}

static int config_device_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	seq_printf(m, "%s\n", test_doe_config.device);
	return 0;
}

static int config_device_store(char *buf)
{
	char name[TEST_DOE_NAME_LEN];
	int rc = test_doe_parse_name(buf, name);

	if (rc)
		return rc;
	guard(mutex)(&test_doe_mutex);
	strscpy(test_doe_config.device, name);
	return 0;
}

static int config_offset_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	seq_printf(m, "%#x\n", test_doe_config.offset);
	return 0;
}

static int config_offset_store(char *buf)
{
	u16 offset;
	int rc = kstrtou16(buf, 0, &offset);

	if (rc)
		return rc;
	guard(mutex)(&test_doe_mutex);
	test_doe_config.offset = offset;
	return 0;
}

static int config_protocol_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	seq_printf(m, "%04x:%02x\n", test_doe_config.vendor,
		   test_doe_config.type);
	return 0;
}

static int config_protocol_store(char *buf)
{
	u16 vendor;
	u8 type;
	int rc = test_doe_parse_protocol(buf, &vendor, &type);

	if (rc)
		return rc;
	guard(mutex)(&test_doe_mutex);
	test_doe_config.vendor = vendor;
	test_doe_config.type = type;
	return 0;
}

static int config_request_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	test_doe_seq_hex(m, test_doe_config.request,
			 test_doe_config.request_sz);
	return 0;
}

static int config_request_store(char *buf)
{
	size_t len;
	u8 *req;
	int rc = test_doe_parse_hex(buf, &req, &len);

	if (rc)
		return rc;
	guard(mutex)(&test_doe_mutex);
	kfree(test_doe_config.request);
	test_doe_config.request = req;
	test_doe_config.request_sz = len;
	return 0;
}

static int config_response_size_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	seq_printf(m, "%zu\n", test_doe_config.response_sz);
	return 0;
}

static int config_response_size_store(char *buf)
{
	unsigned long size;
	int rc = kstrtoul(buf, 0, &size);

	if (rc)
		return rc;
	if (size > PCI_DOE_MAX_PAYLOAD)
		return -EINVAL;
	guard(mutex)(&test_doe_mutex);
	test_doe_config.response_sz = size;
	return 0;
}

static int config_owner_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	seq_printf(m, "%s\n", test_doe_config.owner);
	return 0;
}

static int config_owner_store(char *buf)
{
	char name[TEST_DOE_NAME_LEN];
	int rc = test_doe_parse_name(buf, name);

	if (rc)
		return rc;
	guard(mutex)(&test_doe_mutex);
	strscpy(test_doe_config.owner, name);
	return 0;
}

/* Run @action on the configuration overridden by the options in @buf */
static int test_doe_trigger(char *buf, int (*action)(struct test_doe_target *))
{
	struct test_doe_target t;
	int rc;

	rc = test_doe_parse_trigger(buf, &t, NULL, 0);
	if (rc)
		return rc;
	rc = action(&t);
	test_doe_target_free(&t);
	return rc;
}

static int trigger_claim_store(char *buf)
{
	return test_doe_trigger(buf, test_doe_claim);
}

static int trigger_release_store(char *buf)
{
	return test_doe_trigger(buf, test_doe_release);
}

static int trigger_exchange_store(char *buf)
{
	return test_doe_trigger(buf, test_doe_exchange);
}

static int trigger_async_store(char *buf)
{
	struct test_doe_target t;
	unsigned long count;
	int rc;

	rc = test_doe_parse_trigger(buf, &t, &count, TEST_DOE_MAX_ASYNC);
	if (rc)
		return rc;
	rc = test_doe_async(&t, count);
	test_doe_target_free(&t);
	return rc;
}

static int trigger_wait_store(char *buf)
{
	return test_doe_async_wait();
}

static int trigger_stream_store(char *buf)
{
	struct test_doe_target t;
	unsigned long count;
	int rc;

	rc = test_doe_parse_trigger(buf, &t, &count, TEST_DOE_MAX_STREAM);
	if (rc)
		return rc;
	rc = test_doe_stream(&t, count);
	test_doe_target_free(&t);
	return rc;
}

static int test_result_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	seq_printf(m, "%d\n", test_doe_result);
	return 0;
}

static int response_show(struct seq_file *m)
{
	guard(mutex)(&test_doe_mutex);
	test_doe_seq_hex(m, test_doe_response, test_doe_response_len);
	return 0;
}

static int async_results_show(struct seq_file *m)
{
	unsigned long submitted, completed, ok, errors;
	int last_error;

	spin_lock(&test_doe_async_lock);
	submitted = test_doe_async_submitted;
	completed = test_doe_async_completed;
	ok = test_doe_async_ok;
	errors = test_doe_async_errors;
	last_error = test_doe_async_last_error;
	spin_unlock(&test_doe_async_lock);

	seq_printf(m, "submitted %lu completed %lu ok %lu errors %lu last_error %d\n",
		   submitted, completed, ok, errors, last_error);
	return 0;
}

static int stream_stats_show(struct seq_file *m)
{
	seq_printf(m, "streams %ld exchanges %ld mismatches %ld errors %ld\n",
		   atomic_long_read(&test_doe_streams),
		   atomic_long_read(&test_doe_stream_exchanges),
		   atomic_long_read(&test_doe_stream_mismatches),
		   atomic_long_read(&test_doe_stream_errors));
	return 0;
}

static int reset_store(char *buf)
{
	return test_doe_reset();
}

#define TEST_DOE_RW(_name) \
	{ .name = #_name, .show = _name##_show, .store = _name##_store }
#define TEST_DOE_RO(_name) { .name = #_name, .show = _name##_show }
#define TEST_DOE_WO(_name) { .name = #_name, .store = _name##_store }

static const struct test_doe_file test_doe_files[] = {
	TEST_DOE_RW(config_device),
	TEST_DOE_RW(config_offset),
	TEST_DOE_RW(config_protocol),
	TEST_DOE_RW(config_request),
	TEST_DOE_RW(config_response_size),
	TEST_DOE_RW(config_owner),
	TEST_DOE_WO(trigger_claim),
	TEST_DOE_WO(trigger_release),
	TEST_DOE_WO(trigger_exchange),
	TEST_DOE_WO(trigger_async),
	TEST_DOE_WO(trigger_wait),
	TEST_DOE_WO(trigger_stream),
	TEST_DOE_RO(test_result),
	TEST_DOE_RO(response),
	TEST_DOE_RO(async_results),
	TEST_DOE_RO(stream_stats),
	TEST_DOE_WO(reset),
};

static int test_doe_seq_show(struct seq_file *m, void *v)
{
	const struct test_doe_file *f = m->private;

	return f->show(m);
}

static int test_doe_open(struct inode *inode, struct file *file)
{
	const struct test_doe_file *f = inode->i_private;

	if ((file->f_mode & FMODE_READ) && !f->show)
		return -EACCES;
	if ((file->f_mode & FMODE_WRITE) && !f->store)
		return -EACCES;
	return single_open(file, test_doe_seq_show, inode->i_private);
}

static ssize_t test_doe_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	const struct test_doe_file *f =
		((struct seq_file *)file->private_data)->private;
	char *buf;
	int rc;

	if (count > TEST_DOE_MAX_INPUT)
		return -E2BIG;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	rc = f->store(buf);
	kfree(buf);
	return rc ? rc : count;
}

static const struct file_operations test_doe_fops = {
	.owner = THIS_MODULE,
	.open = test_doe_open,
	.read = seq_read,
	.write = test_doe_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int __init test_doe_init(void)
{
	unsigned int i;
	int rc;

	test_doe_target_defaults(&test_doe_config);
	if (!test_doe_config.request)
		return -ENOMEM;

	test_doe_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(test_doe_dir)) {
		rc = PTR_ERR(test_doe_dir);
		goto err_free;
	}
	for (i = 0; i < ARRAY_SIZE(test_doe_files); i++) {
		const struct test_doe_file *f = &test_doe_files[i];
		umode_t mode = (f->show ? 0400 : 0) | (f->store ? 0200 : 0);

		debugfs_create_file(f->name, mode, test_doe_dir, (void *)f,
				    &test_doe_fops);
	}
	return 0;

err_free:
	test_doe_target_free(&test_doe_config);
	return rc;
}

static void __exit test_doe_exit(void)
{
	/* Waits for the actions in progress; no new one can start */
	debugfs_remove_recursive(test_doe_dir);

	/* The library completes every accepted task in bounded time */
	wait_event(test_doe_async_wq, test_doe_async_idle());
	test_doe_async_collect();
	test_doe_release_all();

	test_doe_target_free(&test_doe_config);
	kvfree(test_doe_response);
}

module_init(test_doe_init);
module_exit(test_doe_exit);

MODULE_DESCRIPTION("Test module for the PCI DOE mailbox library");
MODULE_LICENSE("GPL");
