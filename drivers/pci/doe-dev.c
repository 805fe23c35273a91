// SPDX-License-Identifier: GPL-2.0
/*
 * PCI DOE mailboxes as userspace sees them
 *
 * Every mailbox is a device of class "pci_doe", child of its function,
 * named "<function>-doe<offset>" (e.g. 0000:0d:00.0-doe190), added with the
 * function's sysfs files and deleted with them, so that udev sees it come
 * and go and can match it on its protocols (DOE_PROTOCOLS in the uevent).
 * Its attributes show what the library knows: offset, version, protocols,
 * owners (kernel claims), in_flight, holder, and the counters in
 * statistics/.  The function keeps upstream's doe_features/ directory.
 *
 * Each device has a char device, /dev/pci_doe/<name>, root-only unless
 * udev widens it.  Through it root takes the mailbox from the kernel
 * (PCI_DOE_IOC_TAKE, see doe-owner.c) and learns what it carries
 * (PCI_DOE_IOC_INFO), see include/uapi/linux/pci-doe.h.  The device holds
 * a reference on the function, and an open file holds the device, so a
 * file may outlive the function: it then gets -ENODEV.
 */

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/poll.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <uapi/linux/pci-doe.h>

#include <kunit/visibility.h>

#include "pci.h"
#include "doe.h"

/* Mailboxes the char device region has room for */
#define DOE_MINORS		BIT(16)
/* Room for DOE_PROTOCOLS=... in a uevent (UEVENT_BUFFER_SIZE is 2048) */
#define DOE_UEVENT_PROTS_LEN	512

static dev_t doe_devt;
static DEFINE_IDA(doe_minors);
/* The class and the char device region are there: set once at boot */
static bool doe_dev_ready;

#define to_doe_mb(d) container_of(d, struct pci_doe_mb, face.dev)

/* ---- The class ---- */

static int doe_dev_uevent(const struct device *dev,
			  struct kobj_uevent_env *env)
{
	const struct pci_doe_mb *mb = to_doe_mb(dev);
	size_t pos = 0;
	unsigned int i;
	char *prots;
	int rc;

	rc = add_uevent_var(env, "DOE_OFFSET=%#x", mb->cap_offset);
	if (rc)
		return rc;
	prots = kzalloc(DOE_UEVENT_PROTS_LEN, GFP_KERNEL);
	if (!prots)
		return -ENOMEM;
	/* "vvvv:tt," each; a very long list is cut where the room ends */
	for (i = 0; i < mb->nr_prots && pos + 9 < DOE_UEVENT_PROTS_LEN; i++)
		pos += scnprintf(prots + pos, DOE_UEVENT_PROTS_LEN - pos,
				 "%s%04x:%02x", i ? "," : "",
				 mb->prots[i].vendor, mb->prots[i].type);
	rc = add_uevent_var(env, "DOE_PROTOCOLS=%s", prots);
	kfree(prots);
	return rc;
}

static char *doe_devnode(const struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return kasprintf(GFP_KERNEL, "pci_doe/%s", dev_name(dev));
}

static const struct class pci_doe_class = {
	.name = "pci_doe",
	.dev_uevent = doe_dev_uevent,
	.devnode = doe_devnode,
};

/* ---- Attributes ---- */

static ssize_t offset_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%#x\n", to_doe_mb(dev)->cap_offset);
}
static DEVICE_ATTR_RO(offset);

static ssize_t version_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", to_doe_mb(dev)->cap_version);
}
static DEVICE_ATTR_RO(version);

static ssize_t protocols_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct pci_doe_mb *mb = to_doe_mb(dev);
	unsigned int i;
	int len = 0;

	for (i = 0; i < mb->nr_prots; i++)
		len += sysfs_emit_at(buf, len, "%04x:%02x\n",
				     mb->prots[i].vendor, mb->prots[i].type);
	return len;
}
static DEVICE_ATTR_RO(protocols);

static ssize_t owners_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return pci_doe_owners_show(to_doe_mb(dev), buf);
}
static DEVICE_ATTR_RO(owners);

static ssize_t in_flight_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_doe_mb(dev)->kernel_tasks));
}
static DEVICE_ATTR_RO(in_flight);

static ssize_t holder_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return pci_doe_holder_show(to_doe_mb(dev), buf);
}
static DEVICE_ATTR_RO(holder);

static const char * const doe_user_prot_names[] = {
	[DOE_PROT_ALLOWED] = "allowed",
	[DOE_PROT_REFUSED] = "refused",
	[DOE_PROT_RESERVED] = "reserved",
};

/* "vvvv:tt allowed|refused|reserved" per protocol, for the reader */
static ssize_t user_protocols_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	bool locked_down = security_locked_down(LOCKDOWN_PCI_ACCESS);
	struct pci_doe_mb *mb = to_doe_mb(dev);
	enum doe_user_prot v;
	unsigned int i;
	int len = 0;

	for (i = 0; i < mb->nr_prots; i++) {
		v = pci_doe_user_protocol(mb, mb->prots[i].vendor,
					  mb->prots[i].type, locked_down);
		len += sysfs_emit_at(buf, len, "%04x:%02x %s\n",
				     mb->prots[i].vendor, mb->prots[i].type,
				     doe_user_prot_names[v]);
	}
	return len;
}
static DEVICE_ATTR_RO(user_protocols);

static struct attribute *doe_dev_attrs[] = {
	&dev_attr_offset.attr,
	&dev_attr_version.attr,
	&dev_attr_protocols.attr,
	&dev_attr_owners.attr,
	&dev_attr_in_flight.attr,
	&dev_attr_holder.attr,
	&dev_attr_user_protocols.attr,
	NULL
};

static const struct attribute_group doe_dev_group = {
	.attrs = doe_dev_attrs,
};

/* statistics/: each an atomic_long_t of struct pci_doe_mb */
struct doe_stat_attr {
	struct device_attribute attr;
	size_t offset;
};

static ssize_t doe_stat_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct doe_stat_attr *s = container_of(attr, struct doe_stat_attr, attr);
	atomic_long_t *v = (void *)to_doe_mb(dev) + s->offset;

	return sysfs_emit(buf, "%ld\n", atomic_long_read(v));
}

#define DOE_STAT_ATTR(_name, _field)					\
	static struct doe_stat_attr doe_stat_##_name = {		\
		.attr = __ATTR(_name, 0444, doe_stat_show, NULL),	\
		.offset = offsetof(struct pci_doe_mb, _field),		\
	}

DOE_STAT_ATTR(exchanges, stats.exchanges);
DOE_STAT_ATTR(errors, stats.errors);
DOE_STAT_ATTR(timeouts, stats.timeouts);
DOE_STAT_ATTR(aborts, stats.aborts);
DOE_STAT_ATTR(denied_writes, owner.denied_writes);
DOE_STAT_ATTR(overridden_writes, owner.overridden_writes);
DOE_STAT_ATTR(user_exchanges, face.user_exchanges);

static struct attribute *doe_stat_attrs[] = {
	&doe_stat_exchanges.attr.attr,
	&doe_stat_errors.attr.attr,
	&doe_stat_timeouts.attr.attr,
	&doe_stat_aborts.attr.attr,
	&doe_stat_denied_writes.attr.attr,
	&doe_stat_overridden_writes.attr.attr,
	&doe_stat_user_exchanges.attr.attr,
	NULL
};

static const struct attribute_group doe_stat_group = {
	.name = "statistics",
	.attrs = doe_stat_attrs,
};

static const struct attribute_group *doe_dev_groups[] = {
	&doe_dev_group,
	&doe_stat_group,
	NULL
};

/* ---- The char device ---- */

/* Requests one open file may have queued, running or not yet read */
#define DOE_FILE_MAX_PENDING	4
/* Userspace requests queued or running on one mailbox, see pci_doe_face */
#define DOE_MB_MAX_USER		8

/**
 * struct doe_file - an open file of a mailbox's char device
 * @mb: the mailbox; the file holds its device, and with it the function
 * @lock: protects @reqs, @nr_reqs and doe_req.done
 * @reqs: this file's requests, oldest first, until read (struct doe_req)
 * @nr_reqs: entries of @reqs, at most DOE_FILE_MAX_PENDING
 * @wq: woken when a request of this file completes
 * @read_lock: serialises readers, so that the oldest request stays theirs
 *	while they copy it out
 * @max_response: largest response object accepted, bytes, header included;
 *	read by write(), set by PCI_DOE_IOC_MAX_RESPONSE
 */
struct doe_file {
	struct pci_doe_mb *mb;
	spinlock_t lock;		/* see above */
	struct list_head reqs;
	unsigned int nr_reqs;
	wait_queue_head_t wq;
	struct mutex read_lock;		/* see above */
	u32 max_response;
};

/**
 * struct doe_req - a userspace request, from write() until read()
 * @task: the exchange, submitted to the library
 * @df: the file that wrote it
 * @node: entry in doe_file.reqs
 * @done: the exchange has ended and its callback returned what it needs;
 *	under doe_file.lock
 * @cap: the response payload userspace accepts, bytes; @task's response
 *	buffer has one more dword, so that a longer response shows
 */
struct doe_req {
	struct pci_doe_task task;
	struct doe_file *df;
	struct list_head node;
	bool done;
	size_t cap;
};

static bool doe_face_gone(struct pci_doe_mb *mb)
{
	unsigned long flags;
	bool gone;

	spin_lock_irqsave(&mb->lock, flags);
	gone = mb->face.gone || test_bit(DOE_MB_DEAD, &mb->flags);
	spin_unlock_irqrestore(&mb->lock, flags);
	return gone;
}

static void doe_req_free(struct doe_req *r)
{
	kvfree(r->task.request);
	kvfree(r->task.response);
	kfree(r);
}

/* Completion callback of a userspace request, see pci_doe_submit() */
static void doe_req_done(struct pci_doe_task *task)
{
	struct doe_req *r = container_of(task, struct doe_req, task);
	struct doe_file *df = r->df;
	struct pci_doe_mb *mb = df->mb;
	unsigned long flags;

	if (task->rv != -ECANCELED)
		atomic_long_inc(&mb->face.user_exchanges);
	atomic_dec(&mb->face.user_tasks);
	wake_up(&mb->face.user_wq);

	spin_lock_irqsave(&df->lock, flags);
	r->done = true;
	spin_unlock_irqrestore(&df->lock, flags);
	/* The file waits for this callback to return before it goes away */
	wake_up_interruptible_poll(&df->wq, EPOLLIN | EPOLLRDNORM);
}

/* Take a slot of the mailbox's userspace requests, if one is free */
static bool doe_user_slot(struct pci_doe_mb *mb)
{
	return atomic_add_unless(&mb->face.user_tasks, 1, DOE_MB_MAX_USER);
}

/*
 * Check a request object's header against the write and the mailbox:
 * @hdr holds its first two dwords, @count the bytes written.
 */
static int doe_check_request(struct doe_file *df, const __le32 *hdr,
			     size_t count, u16 *vendor, u8 *type)
{
	struct pci_doe_mb *mb = df->mb;
	u32 dw0 = le32_to_cpu(hdr[0]), dw1 = le32_to_cpu(hdr[1]);
	u32 length = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH, dw1);

	if (!length)
		length = PCI_DOE_MAX_OBJECT_DW;
	*vendor = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_VID, dw0);
	*type = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE, dw0);

	if ((size_t)length * sizeof(u32) != count) {
		doe_dbg(mb, "%s[%d] wrote %zu bytes of a %u-dword object\n",
			current->comm, task_tgid_nr(current), count, length);
		return -EINVAL;
	}
	if (!pci_doe_supports_prot(mb, *vendor, *type)) {
		doe_dbg(mb, "%s[%d]: protocol %04x:%02x not supported\n",
			current->comm, task_tgid_nr(current), *vendor, *type);
		return -EINVAL;
	}
	switch (pci_doe_user_protocol(mb, *vendor, *type,
				      security_locked_down(LOCKDOWN_PCI_ACCESS))) {
	case DOE_PROT_REFUSED:
		doe_err_ratelimited(mb, "%s[%d]: protocol %04x:%02x is not for userspace\n",
				    current->comm, task_tgid_nr(current),
				    *vendor, *type);
		return -EPERM;
	case DOE_PROT_RESERVED:
		doe_dbg(mb, "%s[%d]: protocol %04x:%02x is reserved by the kernel\n",
			current->comm, task_tgid_nr(current), *vendor, *type);
		return -EBUSY;
	default:
		return 0;
	}
}

static struct doe_req *doe_req_alloc(struct doe_file *df,
				     const char __user *ubuf, size_t count,
				     u16 vendor, u8 type)
{
	struct doe_req *r;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	r->df = df;
	r->cap = READ_ONCE(df->max_response) - 2 * sizeof(u32);
	r->task.vendor = vendor;
	r->task.type = type;
	r->task.request_sz = count - 2 * sizeof(u32);
	r->task.response_sz = r->cap + sizeof(u32);
	r->task.complete = doe_req_done;
	r->task.response = kvmalloc(r->task.response_sz, GFP_KERNEL);
	if (r->task.request_sz)
		r->task.request = vmemdup_user(ubuf + 2 * sizeof(u32),
					       r->task.request_sz);
	if (IS_ERR(r->task.request)) {
		int rc = PTR_ERR(r->task.request);

		r->task.request = NULL;
		doe_req_free(r);
		return ERR_PTR(rc);
	}
	if (!r->task.response) {
		doe_req_free(r);
		return ERR_PTR(-ENOMEM);
	}
	return r;
}

static ssize_t doe_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct doe_file *df = file->private_data;
	struct pci_doe_mb *mb = df->mb;
	__le32 hdr[2];
	struct doe_req *r;
	u16 vendor;
	u8 type;
	int rc;

	if (doe_face_gone(mb))
		return -ENODEV;
	if (count > DOE_MAX_OBJECT_BYTES)
		return -E2BIG;
	if (count < sizeof(hdr) || count % sizeof(u32))
		return -EINVAL;
	if (copy_from_user(hdr, ubuf, sizeof(hdr)))
		return -EFAULT;
	rc = doe_check_request(df, hdr, count, &vendor, &type);
	if (rc)
		return rc;

	/* This file's share: its responses must be read before it asks more */
	spin_lock_irq(&df->lock);
	if (df->nr_reqs < DOE_FILE_MAX_PENDING)
		df->nr_reqs++;
	else
		rc = -EBUSY;
	spin_unlock_irq(&df->lock);
	if (rc)
		return rc;

	/* The mailbox's share: bounded ahead of any kernel request */
	while (!doe_user_slot(mb)) {
		if (file->f_flags & O_NONBLOCK) {
			rc = -EAGAIN;
			goto put_file;
		}
		rc = wait_event_interruptible(mb->face.user_wq,
					      atomic_read(&mb->face.user_tasks) <
					      DOE_MB_MAX_USER ||
					      doe_face_gone(mb));
		if (!rc && doe_face_gone(mb))
			rc = -ENODEV;
		if (rc)
			goto put_file;
	}

	r = doe_req_alloc(df, ubuf, count, vendor, type);
	if (IS_ERR(r)) {
		rc = PTR_ERR(r);
		goto put_slot;
	}
	spin_lock_irq(&df->lock);
	list_add_tail(&r->node, &df->reqs);
	spin_unlock_irq(&df->lock);

	rc = pci_doe_submit(mb, &r->task);
	if (rc) {
		spin_lock_irq(&df->lock);
		list_del(&r->node);
		spin_unlock_irq(&df->lock);
		doe_req_free(r);
		goto put_slot;
	}
	return count;

put_slot:
	atomic_dec(&mb->face.user_tasks);
	wake_up(&mb->face.user_wq);
put_file:
	spin_lock_irq(&df->lock);
	df->nr_reqs--;
	spin_unlock_irq(&df->lock);
	return rc;
}

/*
 * The response object of the oldest request: header rebuilt from the
 * request's protocol and the length stored, then the payload.
 */
static ssize_t doe_copy_response(struct doe_req *r, char __user *ubuf,
				 size_t count)
{
	size_t payload = r->task.rv, size = payload + 2 * sizeof(u32);
	u32 length = size / sizeof(u32);
	__le32 hdr[2];

	if (count < size)
		return -EMSGSIZE;
	hdr[0] = cpu_to_le32(FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_VID,
					r->task.vendor) |
			     FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE,
					r->task.type));
	/* 2^18 dwords is written as 0 */
	hdr[1] = cpu_to_le32(FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
					length == PCI_DOE_MAX_OBJECT_DW ? 0 :
					length));
	if (copy_to_user(ubuf, hdr, sizeof(hdr)) ||
	    copy_to_user(ubuf + sizeof(hdr), r->task.response, payload))
		return -EFAULT;
	return size;
}

static bool doe_oldest_done(struct doe_file *df)
{
	struct doe_req *r;
	bool done;

	spin_lock_irq(&df->lock);
	r = list_first_entry_or_null(&df->reqs, struct doe_req, node);
	done = r && r->done;
	spin_unlock_irq(&df->lock);
	return done;
}

static ssize_t doe_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct doe_file *df = file->private_data;
	struct doe_req *r;
	ssize_t rc;

	if (mutex_lock_interruptible(&df->read_lock))
		return -ERESTARTSYS;

	spin_lock_irq(&df->lock);
	r = list_first_entry_or_null(&df->reqs, struct doe_req, node);
	spin_unlock_irq(&df->lock);
	/* Nothing asked, nothing to read */
	rc = 0;
	if (!r)
		goto out;

	if (!doe_oldest_done(df)) {
		rc = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out;
		rc = wait_event_interruptible(df->wq, doe_oldest_done(df));
		if (rc)
			goto out;
	}

	if (r->task.rv < 0)
		rc = r->task.rv;
	else if (r->task.rv > r->cap)
		rc = -E2BIG;
	else
		rc = doe_copy_response(r, ubuf, count);
	/* A buffer too small or a fault keeps the response for another read */
	if (rc == -EMSGSIZE || rc == -EFAULT)
		goto out;

	spin_lock_irq(&df->lock);
	list_del(&r->node);
	df->nr_reqs--;
	spin_unlock_irq(&df->lock);
	/* done: its callback returned, see doe_release() for why it matters */
	pci_doe_wait(&r->task);
	doe_req_free(r);
out:
	mutex_unlock(&df->read_lock);
	return rc;
}

static __poll_t doe_poll(struct file *file, poll_table *wait)
{
	struct doe_file *df = file->private_data;
	struct pci_doe_mb *mb = df->mb;
	struct doe_req *r;
	__poll_t mask = 0;
	bool gone;

	poll_wait(file, &df->wq, wait);
	poll_wait(file, &mb->face.user_wq, wait);

	gone = doe_face_gone(mb);
	spin_lock_irq(&df->lock);
	r = list_first_entry_or_null(&df->reqs, struct doe_req, node);
	if (r && r->done)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (!gone && df->nr_reqs < DOE_FILE_MAX_PENDING &&
	    atomic_read(&mb->face.user_tasks) < DOE_MB_MAX_USER)
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock_irq(&df->lock);
	if (gone)
		mask |= EPOLLERR | EPOLLHUP;
	return mask;
}

static int doe_open(struct inode *inode, struct file *file)
{
	struct pci_doe_mb *mb = container_of(inode->i_cdev, struct pci_doe_mb,
					     face.cdev);
	struct doe_file *df;

	if (doe_face_gone(mb))
		return -ENODEV;
	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	df->mb = mb;
	spin_lock_init(&df->lock);
	INIT_LIST_HEAD(&df->reqs);
	init_waitqueue_head(&df->wq);
	mutex_init(&df->read_lock);
	df->max_response = PCI_DOE_DEFAULT_MAX_RESPONSE;
	file->private_data = df;
	return stream_open(inode, file);
}

/*
 * Cancel what the file queued, all of it before waiting for anything (the
 * mailbox would start the next request meanwhile), then wait for what
 * runs: a callback may still be running after it marked its request done,
 * so every request is waited for, not only those that were not done,
 * before it is freed.
 */
static int doe_release(struct inode *inode, struct file *file)
{
	struct doe_file *df = file->private_data;
	struct doe_req *r, *tmp;

	list_for_each_entry(r, &df->reqs, node)
		pci_doe_cancel(&r->task);
	list_for_each_entry_safe(r, tmp, &df->reqs, node) {
		pci_doe_wait(&r->task);
		list_del(&r->node);
		doe_req_free(r);
	}
	/* Quietly nothing unless @file took the mailbox */
	pci_doe_give(df->mb, file);
	mutex_destroy(&df->read_lock);
	kfree(df);
	return 0;
}

/* pci_doe_protocol_id.flags for what pci_doe_user_protocol() says */
static const u8 doe_prot_flags[] = {
	[DOE_PROT_ALLOWED] = 0,
	[DOE_PROT_REFUSED] = PCI_DOE_PROT_REFUSED,
	[DOE_PROT_RESERVED] = PCI_DOE_PROT_RESERVED,
};

static long doe_ioctl_info(struct pci_doe_mb *mb, struct file *file,
			   struct pci_doe_info __user *uinfo)
{
	const size_t minsz = offsetof(struct pci_doe_info, protocols);
	bool locked_down = security_locked_down(LOCKDOWN_PCI_ACCESS);
	struct pci_doe_info *info __free(kfree) = NULL;
	size_t need = struct_size(info, protocols, mb->nr_prots), n;
	unsigned long flags;
	unsigned int i;
	u32 argsz;

	if (get_user(argsz, &uinfo->argsz))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;

	info = kzalloc(need, GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	info->argsz = need;
	info->cap_offset = mb->cap_offset;
	info->cap_version = mb->cap_version;
	info->max_object_size = DOE_MAX_OBJECT_BYTES;
	info->nr_protocols = mb->nr_prots;
	for (i = 0; i < mb->nr_prots; i++) {
		struct pci_doe_protocol_id *p = &info->protocols[i];

		p->vendor = mb->prots[i].vendor;
		p->type = mb->prots[i].type;
		p->flags = doe_prot_flags[pci_doe_user_protocol(mb, p->vendor,
								 p->type,
								 locked_down)];
	}
	if (mb->caps & PCI_DOE_CAP_INT_SUP)
		info->flags |= PCI_DOE_INFO_INTERRUPT;
	spin_lock_irqsave(&mb->lock, flags);
	if (mb->owner.owned)
		info->flags |= PCI_DOE_INFO_KERNEL_OWNED;
	if (mb->owner.holder)
		info->flags |= PCI_DOE_INFO_TAKEN;
	if (mb->owner.holder == file)
		info->flags |= PCI_DOE_INFO_TAKEN_HERE;
	spin_unlock_irqrestore(&mb->lock, flags);

	/* Whole protocol entries only, as many as the caller has room for */
	n = min_t(size_t, mb->nr_prots,
		  (argsz - minsz) / sizeof(info->protocols[0]));
	if (copy_to_user(uinfo, info, struct_size(info, protocols, n)))
		return -EFAULT;
	return 0;
}

static long doe_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct doe_file *df = file->private_data;
	struct pci_doe_mb *mb = df->mb;
	u32 max;
	int rc;

	if (doe_face_gone(mb))
		return -ENODEV;

	switch (cmd) {
	case PCI_DOE_IOC_INFO:
		return doe_ioctl_info(mb, file, (void __user *)arg);
	case PCI_DOE_IOC_TAKE:
		if (arg)
			return -EINVAL;
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		/* Taking is only good for raw config writes, which it denies */
		rc = security_locked_down(LOCKDOWN_PCI_ACCESS);
		if (rc)
			return rc;
		return pci_doe_take(mb, file);
	case PCI_DOE_IOC_GIVE:
		if (arg)
			return -EINVAL;
		return pci_doe_give(mb, file);
	case PCI_DOE_IOC_MAX_RESPONSE:
		if (get_user(max, (u32 __user *)arg))
			return -EFAULT;
		if (max < 2 * sizeof(u32) || max > DOE_MAX_OBJECT_BYTES ||
		    max % sizeof(u32))
			return -EINVAL;
		WRITE_ONCE(df->max_response, max);
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations doe_fops = {
	.owner = THIS_MODULE,
	.open = doe_open,
	.release = doe_release,
	.read = doe_read,
	.write = doe_write,
	.poll = doe_poll,
	.unlocked_ioctl = doe_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- Adding and deleting ---- */

static void doe_dev_release(struct device *dev)
{
	struct pci_doe_mb *mb = to_doe_mb(dev);

	if (MAJOR(dev->devt))
		ida_free(&doe_minors, MINOR(dev->devt));
	/* Last: may free the function, and with it @mb */
	pci_dev_put(mb->pdev);
}

static void doe_face_add(struct pci_doe_mb *mb)
{
	struct device *dev = &mb->face.dev;
	int minor, rc;

	if (mb->face.added || mb->face.gone)
		return;

	device_initialize(dev);
	/* Dropped by doe_dev_release(), also on the error paths below */
	pci_dev_get(mb->pdev);
	dev->class = &pci_doe_class;
	dev->parent = &mb->pdev->dev;
	dev->groups = doe_dev_groups;
	dev->release = doe_dev_release;

	minor = ida_alloc_max(&doe_minors, DOE_MINORS - 1, GFP_KERNEL);
	if (minor < 0) {
		rc = minor;
		goto err;
	}
	dev->devt = MKDEV(MAJOR(doe_devt), minor);
	rc = dev_set_name(dev, "%s-doe%03x", pci_name(mb->pdev),
			  mb->cap_offset);
	if (rc)
		goto err;

	init_waitqueue_head(&mb->face.user_wq);
	cdev_init(&mb->face.cdev, &doe_fops);
	mb->face.cdev.owner = THIS_MODULE;
	rc = cdev_device_add(&mb->face.cdev, dev);
	if (rc)
		goto err;
	mb->face.added = true;
	return;

err:
	doe_warn(mb, "cannot add its device: %d\n", rc);
	spin_lock_irq(&mb->lock);
	mb->face.gone = true;
	spin_unlock_irq(&mb->lock);
	put_device(dev);
}

static void doe_face_del(struct pci_doe_mb *mb)
{
	if (!mb->face.added)
		return;
	spin_lock_irq(&mb->lock);
	mb->face.gone = true;
	spin_unlock_irq(&mb->lock);
	/* Writers waiting for a slot get -ENODEV */
	wake_up_all(&mb->face.user_wq);
	cdev_device_del(&mb->face.cdev, &mb->face.dev);
	mb->face.added = false;
	/* Open files keep the device, and with it @mb, until they close */
	put_device(&mb->face.dev);
}

/* ---- doe_features/ ---- */

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
 * pci_doe_sysfs_init() - Show the DOE mailboxes of a function to userspace
 * @pdev: function whose sysfs files the PCI core is creating
 *
 * Adds a device of class pci_doe, with its char device, per mailbox, and
 * the function's doe_features/ directory.  A mailbox whose device cannot be
 * added is logged and stays usable by the kernel.
 */
void pci_doe_sysfs_init(struct pci_dev *pdev)
{
	struct pci_doe_mb *mb, *first;
	unsigned long index = 0;

	first = xa_find(&pdev->doe_mbs, &index, ULONG_MAX, XA_PRESENT);
	if (!first)
		return;

	if (doe_dev_ready)
		xa_for_each(&pdev->doe_mbs, index, mb)
			doe_face_add(mb);
	if (!first->face.features)
		first->face.features = doe_features_create(pdev);
}

/**
 * pci_doe_sysfs_teardown() - Remove what pci_doe_sysfs_init() showed
 * @pdev: function whose sysfs files the PCI core is removing
 *
 * Open files of the mailboxes' char devices get -ENODEV from now on.
 */
void pci_doe_sysfs_teardown(struct pci_dev *pdev)
{
	struct pci_doe_mb *mb;
	unsigned long index;

	xa_for_each(&pdev->doe_mbs, index, mb) {
		doe_face_del(mb);
		doe_features_destroy(mb->face.features);
		mb->face.features = NULL;
	}
}

static int __init pci_doe_dev_init(void)
{
	int rc;

	rc = alloc_chrdev_region(&doe_devt, 0, DOE_MINORS, "pci_doe");
	if (rc)
		goto err;
	rc = class_register(&pci_doe_class);
	if (rc) {
		unregister_chrdev_region(doe_devt, DOE_MINORS);
		goto err;
	}
	doe_dev_ready = true;
	return 0;

err:
	pr_err("pci_doe: no mailbox devices: %d\n", rc);
	return rc;
}

/* Before the PCI core creates sysfs files, which is at late_initcall */
postcore_initcall(pci_doe_dev_init);

#if IS_ENABLED(CONFIG_PCI_DOE_KUNIT_TEST)
/**
 * pci_doe_mailbox_dev() - The class device of a mailbox, for tests
 * @mb: mailbox
 *
 * Return: the device while it is added, else NULL.
 */
struct device *pci_doe_mailbox_dev(struct pci_doe_mb *mb)
{
	return mb->face.added ? &mb->face.dev : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_mailbox_dev);
#endif
