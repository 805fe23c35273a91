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

#include <linux/bits.h>
#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
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

static struct attribute *doe_dev_attrs[] = {
	&dev_attr_offset.attr,
	&dev_attr_version.attr,
	&dev_attr_protocols.attr,
	&dev_attr_owners.attr,
	&dev_attr_in_flight.attr,
	&dev_attr_holder.attr,
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

static struct attribute *doe_stat_attrs[] = {
	&doe_stat_exchanges.attr.attr,
	&doe_stat_errors.attr.attr,
	&doe_stat_timeouts.attr.attr,
	&doe_stat_aborts.attr.attr,
	&doe_stat_denied_writes.attr.attr,
	&doe_stat_overridden_writes.attr.attr,
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

static bool doe_face_gone(struct pci_doe_mb *mb)
{
	unsigned long flags;
	bool gone;

	spin_lock_irqsave(&mb->lock, flags);
	gone = mb->face.gone || test_bit(DOE_MB_DEAD, &mb->flags);
	spin_unlock_irqrestore(&mb->lock, flags);
	return gone;
}

static int doe_open(struct inode *inode, struct file *file)
{
	struct pci_doe_mb *mb = container_of(inode->i_cdev, struct pci_doe_mb,
					     face.cdev);

	if (doe_face_gone(mb))
		return -ENODEV;
	file->private_data = mb;
	return nonseekable_open(inode, file);
}

static int doe_release(struct inode *inode, struct file *file)
{
	/* Quietly nothing unless @file took the mailbox */
	pci_doe_give(file->private_data, file);
	return 0;
}

static long doe_ioctl_info(struct pci_doe_mb *mb, struct file *file,
			   struct pci_doe_info __user *uinfo)
{
	const size_t minsz = offsetof(struct pci_doe_info, protocols);
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
		info->protocols[i].vendor = mb->prots[i].vendor;
		info->protocols[i].type = mb->prots[i].type;
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
	struct pci_doe_mb *mb = file->private_data;
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
	default:
		return -ENOTTY;
	}
}

static const struct file_operations doe_fops = {
	.owner = THIS_MODULE,
	.open = doe_open,
	.release = doe_release,
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
