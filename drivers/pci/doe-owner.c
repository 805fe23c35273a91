// SPDX-License-Identifier: GPL-2.0
/*
 * PCI DOE mailbox ownership: kernel claims and root's config writes
 *
 * Two requesters writing one mailbox corrupt each other, and the
 * specification has no arbitration.  A mailbox is owned by the kernel while
 * it has claims (pci_doe_claim()) or tasks queued or running; root
 * userspace writes to its registers are then refused, per the policy chosen
 * with CONFIG_PCI_DOE_STRICT and "pci_doe.policy=".  The decision is taken
 * in pci_user_write_config(), where every root write path ends, under
 * pci_lock with the offset the access really uses, and the kernel changes a
 * mailbox's ownership under pci_lock too (doe.h): a root write either lands
 * before the kernel takes the mailbox (and is then aborted away first) or
 * is refused, whatever userspace does with its buffer meanwhile.
 *
 * Root may take a mailbox nobody in the kernel owns through its char device
 * (PCI_DOE_IOC_TAKE, doe-dev.c), for as long as it keeps the file open:
 * kernel users get -EBUSY and every root writer may use the mailbox, so
 * that setpci and other libpci tools work unchanged.
 */

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/moduleparam.h>
#include <linux/panic.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/xarray.h>

#include <kunit/visibility.h>

#include "pci.h"
#include "doe.h"

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

/*
 * The protocols userspace may exchange through a mailbox's char device,
 * "pci_doe.user_protocols=": a comma separated list of "vvvv:tt", "default"
 * (the protocols below) and "all".  Boot time only, so that a production
 * kernel keeps CXL Compliance (1e98:00), which can put a device in test
 * modes, and protocols it does not know away from userspace.
 */
#define DOE_USER_PROTS_MAX	32
static const struct pci_doe_protocol doe_user_default[] = {
	{ PCI_VENDOR_ID_PCI_SIG, DOE_PROT_DISCOVERY },
	{ PCI_VENDOR_ID_PCI_SIG, 0x01 },	/* CMA-SPDM */
	{ PCI_VENDOR_ID_PCI_SIG, 0x02 },	/* Secured CMA-SPDM */
	{ PCI_VENDOR_ID_CXL, 0x02 },		/* CXL Table Access (CDAT) */
};

/* The protocols that only read: allowed under LOCKDOWN_PCI_ACCESS */
static const struct pci_doe_protocol doe_user_read_only[] = {
	{ PCI_VENDOR_ID_PCI_SIG, DOE_PROT_DISCOVERY },
	{ PCI_VENDOR_ID_CXL, 0x02 },
};

/* Set once while the command line is parsed, read-only afterwards */
static struct {
	bool all;
	bool dflt;
	unsigned int nr;
	struct pci_doe_protocol prots[DOE_USER_PROTS_MAX];
	char text[DOE_USER_PROTS_MAX * 8 + 16];
} doe_user_prots = {
	.dflt = true,
	.text = "default",
};

static bool doe_prot_in(const struct pci_doe_protocol *list, unsigned int nr,
			u16 vendor, u8 type)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (list[i].vendor == vendor && list[i].type == type)
			return true;
	return false;
}

static int doe_user_prots_add(u16 vendor, u8 type)
{
	if (doe_prot_in(doe_user_prots.prots, doe_user_prots.nr, vendor, type))
		return 0;
	if (doe_user_prots.nr == DOE_USER_PROTS_MAX)
		return -ENOSPC;
	doe_user_prots.prots[doe_user_prots.nr].vendor = vendor;
	doe_user_prots.prots[doe_user_prots.nr++].type = type;
	return 0;
}

/* Parsed while the command line is, before the slab is up: no allocation */
static int doe_user_prots_set(const char *val, const struct kernel_param *kp)
{
	char buf[sizeof(doe_user_prots.text)];
	char *p = buf, *word;
	unsigned int vendor, type;
	int rc = 0;

	if (strscpy(buf, val) < 0)
		rc = -E2BIG;
	doe_user_prots.all = false;
	doe_user_prots.dflt = false;
	doe_user_prots.nr = 0;
	while (!rc && (word = strsep(&p, ","))) {
		word = strim(word);
		if (!*word || !strcmp(word, "none"))
			continue;
		if (!strcmp(word, "all"))
			doe_user_prots.all = true;
		else if (!strcmp(word, "default"))
			doe_user_prots.dflt = true;
		else if (strlen(word) == 7 && word[4] == ':' &&
			 sscanf(word, "%4x:%2x", &vendor, &type) == 2)
			rc = doe_user_prots_add(vendor, type);
		else
			rc = -EINVAL;
	}
	if (rc) {
		pr_err("pci_doe: bad user_protocols=%s: %d, allowing none\n", val,
		       rc);
		doe_user_prots.all = false;
		doe_user_prots.dflt = false;
		doe_user_prots.nr = 0;
	}
	strscpy(doe_user_prots.text, rc ? "none" : val);
	return rc;
}

static int doe_user_prots_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", doe_user_prots.text);
}

static const struct kernel_param_ops doe_user_prots_ops = {
	.set = doe_user_prots_set,
	.get = doe_user_prots_get,
};

/* Boot time only: "pci_doe.user_protocols=default,1e98:00" */
module_param_cb(user_protocols, &doe_user_prots_ops, NULL, 0444);
MODULE_PARM_DESC(user_protocols,
		 "Protocols userspace may exchange through mailbox char devices: default, all or vvvv:tt, comma separated");

/* Protocols one claim may reserve, see pci_doe_claim_reserve() */
#define DOE_CLAIM_RESERVE_MAX	4

/**
 * struct pci_doe_claim - a kernel claim on a mailbox, see pci_doe_claim()
 * @mb: the mailbox; the claim holds a reference on its PCI function, which
 *	keeps the mailbox allocated, so that releasing after removal is safe
 * @node: entry in pci_doe_mb.claims, under pci_doe_mb.lock
 * @nr_reserved: entries of @reserved; under pci_doe_mb.lock
 * @reserved: protocols kept from userspace while the claim is held
 * @owner: name shown to root
 */
struct pci_doe_claim {
	struct pci_doe_mb *mb;
	struct list_head node;
	unsigned int nr_reserved;
	struct pci_doe_protocol reserved[DOE_CLAIM_RESERVE_MAX];
	char owner[];
};

/* ---- Kernel claims ---- */

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
	list_for_each_entry(c, &mb->owner.claims, node) {
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
 * Return: the claim, or an ERR_PTR(): -EBUSY if root took the mailbox,
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
	} else if (mb->owner.holder) {
		rc = -EBUSY;
	} else {
		pci_dev_get(mb->pdev);
		list_add_tail(&claim->node, &mb->owner.claims);
		mb->owner.nr_claims++;
		doe_owner_update(mb);
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
	mb->owner.nr_claims--;
	doe_owner_update(mb);
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

/**
 * pci_doe_claim_reserve() - Keep a protocol of a claimed mailbox from userspace
 * @claim: a claim from pci_doe_claim()
 * @vendor: Vendor ID of the protocol
 * @type: Data Object Type of the protocol
 *
 * While @claim is held, userspace exchanges of this protocol through the
 * mailbox's char device fail with EBUSY, for instance while the kernel
 * holds an SPDM session over it; the mailbox's other protocols stay
 * available to userspace.  Released with the claim.  Reserving a protocol
 * twice is allowed.
 *
 * Context: Any context.
 * Return: 0; -EINVAL if the mailbox does not carry the protocol or it is
 * DOE Discovery, -ENOSPC if the claim already reserves
 * DOE_CLAIM_RESERVE_MAX protocols.
 */
int pci_doe_claim_reserve(struct pci_doe_claim *claim, u16 vendor, u8 type)
{
	struct pci_doe_mb *mb = claim->mb;
	unsigned long flags;
	int rc = 0;

	if ((vendor == PCI_VENDOR_ID_PCI_SIG && type == DOE_PROT_DISCOVERY) ||
	    !pci_doe_supports_prot(mb, vendor, type))
		return -EINVAL;

	spin_lock_irqsave(&mb->lock, flags);
	if (doe_prot_in(claim->reserved, claim->nr_reserved, vendor, type)) {
		/* nothing to do */
	} else if (claim->nr_reserved == DOE_CLAIM_RESERVE_MAX) {
		rc = -ENOSPC;
	} else {
		claim->reserved[claim->nr_reserved].vendor = vendor;
		claim->reserved[claim->nr_reserved++].type = type;
	}
	spin_unlock_irqrestore(&mb->lock, flags);
	return rc;
}
EXPORT_SYMBOL_GPL(pci_doe_claim_reserve);

/* ---- What userspace may exchange ---- */

static bool doe_user_policy_allows(u16 vendor, u8 type)
{
	return doe_user_prots.all ||
	       (doe_user_prots.dflt &&
		doe_prot_in(doe_user_default, ARRAY_SIZE(doe_user_default),
			    vendor, type)) ||
	       doe_prot_in(doe_user_prots.prots, doe_user_prots.nr, vendor,
			   type);
}

/**
 * pci_doe_user_protocol() - May userspace exchange a protocol on a mailbox?
 * @mb: mailbox
 * @vendor: Vendor ID of the protocol
 * @type: Data Object Type of the protocol
 * @locked_down: LOCKDOWN_PCI_ACCESS is in force
 *
 * "pci_doe.user_protocols=" says which protocols userspace may use; under
 * lockdown only those that just read (Discovery, CDAT) stay available,
 * since the others may change the device's state (SPDM sessions and
 * certificates, compliance modes) where lockdown forbids userspace to.  A
 * protocol a kernel claim reserves is the kernel's while the claim lasts.
 *
 * Context: Any context.
 * Return: DOE_PROT_ALLOWED, DOE_PROT_REFUSED or DOE_PROT_RESERVED.
 */
enum doe_user_prot pci_doe_user_protocol(struct pci_doe_mb *mb, u16 vendor,
					 u8 type, bool locked_down)
{
	enum doe_user_prot verdict = DOE_PROT_ALLOWED;
	struct pci_doe_claim *c;
	unsigned long flags;

	if (!doe_user_policy_allows(vendor, type) ||
	    (locked_down && !doe_prot_in(doe_user_read_only,
					 ARRAY_SIZE(doe_user_read_only),
					 vendor, type)))
		return DOE_PROT_REFUSED;

	spin_lock_irqsave(&mb->lock, flags);
	list_for_each_entry(c, &mb->owner.claims, node)
		if (doe_prot_in(c->reserved, c->nr_reserved, vendor, type))
			verdict = DOE_PROT_RESERVED;
	spin_unlock_irqrestore(&mb->lock, flags);
	return verdict;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_user_protocol);

/* Does @mb carry a protocol "pci_doe.user_protocols=" keeps from userspace? */
static bool doe_carries_refused(struct pci_doe_mb *mb)
{
	unsigned int i;

	for (i = 0; i < mb->nr_prots; i++)
		if (!doe_user_policy_allows(mb->prots[i].vendor,
					    mb->prots[i].type))
			return true;
	return false;
}

/* ---- Root's config writes ---- */

/*
 * Verdicts of the root write hook: 0 lets a write land, negative ones are
 * refusals, positive ones let it land and are reported.
 */
enum {
	DOE_USER_LOCKED = -2,	/* locked policy, mailbox not taken */
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

/*
 * What may a root writer do to @mb?  A mailbox root has taken admits every
 * root writer: the access point cannot tell the taker's writes from those
 * of the setpci it runs (another process, another file), and root's
 * writers are root's to coordinate, as for /dev/mem.
 */
static int doe_user_verdict(struct pci_doe_mb *mb)
{
	if (mb->owner.holder)
		return DOE_USER_OK;
	if (doe_policy == DOE_POLICY_LOCKED)
		return DOE_USER_LOCKED;
	if (!mb->owner.owned)
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
	list_for_each_entry(c, &mb->owner.claims, node) {
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
	case DOE_USER_LOCKED:
		scnprintf(why, len, "policy is locked, take it with PCI_DOE_IOC_TAKE first");
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
			struct pci_doe_user_verdict *v)
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
		verdict = doe_user_verdict(mb);
		if (verdict < 0) {
			atomic_long_inc(&mb->owner.denied_writes);
			rc = -EPERM;
		} else {
			mb->owner.touched = true;
			if (verdict == DOE_USER_OVERRIDE)
				atomic_long_inc(&mb->owner.overridden_writes);
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
int pci_doe_user_check(struct pci_dev *pdev, loff_t off, size_t count)
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
		verdict = doe_user_verdict(mb);
		if (verdict < 0) {
			atomic_long_inc(&mb->owner.denied_writes);
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
 * pci_doe_take() - Let root take a mailbox through a file of its char device
 * @mb: mailbox
 * @file: the open file that will hold it
 *
 * Only a mailbox with no kernel claim and no kernel task can be taken.
 * While taken, every root config write to its registers is let through
 * (see doe_user_verdict()) and kernel claims and exchanges fail at once
 * with -EBUSY.  pci_doe_give() with the same @file gives it back.  Taking
 * a mailbox @file already holds does nothing.
 *
 * Context: Process context.
 * Return: 0 if @file holds the mailbox; -EBUSY if the kernel owns it or
 * another file holds it, -EPERM under the locked policy if the mailbox
 * carries a protocol that userspace may not exchange, -ENODEV if the
 * function is being removed.
 */
int pci_doe_take(struct pci_doe_mb *mb, const struct file *file)
{
	unsigned long flags;
	char why[128] = "";
	bool taken = false;
	int rc = 0;

	/*
	 * Taking gives raw access to every protocol of the mailbox: under the
	 * locked policy, not to one that userspace may not exchange
	 */
	if (doe_policy == DOE_POLICY_LOCKED && doe_carries_refused(mb)) {
		doe_err_ratelimited(mb, "%s[%d] cannot take it: it carries a protocol pci_doe.user_protocols= refuses\n",
				    current->comm, task_tgid_nr(current));
		return -EPERM;
	}

	spin_lock_irqsave(&mb->lock, flags);
	if (test_bit(DOE_MB_DEAD, &mb->flags)) {
		rc = -ENODEV;
	} else if (mb->owner.holder && mb->owner.holder != file) {
		scnprintf(why, sizeof(why), "taken by %s[%d]",
			  mb->owner.holder_comm, mb->owner.holder_pid);
		rc = -EBUSY;
	} else if (mb->owner.owned) {
		doe_describe_owners(mb, why, sizeof(why));
		rc = -EBUSY;
	} else if (!mb->owner.holder) {
		raw_spin_lock(&pci_lock);
		mb->owner.holder = file;
		raw_spin_unlock(&pci_lock);
		mb->owner.holder_pid = task_tgid_nr(current);
		get_task_comm(mb->owner.holder_comm, current);
		taken = true;
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	if (rc == -EBUSY)
		doe_err_ratelimited(mb, "%s[%d] cannot take it: %s\n",
				    current->comm, task_tgid_nr(current), why);
	else if (taken)
		doe_info(mb, "taken by %s[%d]\n", current->comm,
			 task_tgid_nr(current));
	return rc;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_take);

/**
 * pci_doe_give() - Give back a mailbox taken with pci_doe_take()
 * @mb: mailbox
 * @file: the file holding it
 *
 * Whatever root left in the mailbox, the kernel aborts it before its next
 * exchange.  Also on a removed mailbox, so that closing a file always
 * gives back what it holds.
 *
 * Context: Process context.
 * Return: 0, or -EINVAL if @file does not hold @mb.
 */
int pci_doe_give(struct pci_doe_mb *mb, const struct file *file)
{
	unsigned long flags;
	bool given = false;

	spin_lock_irqsave(&mb->lock, flags);
	if (mb->owner.holder && mb->owner.holder == file) {
		raw_spin_lock(&pci_lock);
		mb->owner.holder = NULL;
		mb->owner.touched = true;
		raw_spin_unlock(&pci_lock);
		given = true;
	}
	spin_unlock_irqrestore(&mb->lock, flags);

	if (!given)
		return -EINVAL;
	doe_info(mb, "given back by %s[%d]\n", current->comm,
		 task_tgid_nr(current));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_give);

/**
 * pci_doe_owners_show() - The owners attribute: "name count" per claim name
 * @mb: mailbox
 * @buf: sysfs buffer
 *
 * Names are listed in the order they first claimed the mailbox.
 *
 * Return: bytes written to @buf.
 */
int pci_doe_owners_show(struct pci_doe_mb *mb, char *buf)
{
	struct pci_doe_claim *c;
	unsigned long flags;
	int len = 0;

	spin_lock_irqsave(&mb->lock, flags);
	list_for_each_entry(c, &mb->owner.claims, node) {
		unsigned int n = doe_claims_named(mb, c);

		if (n)
			len += sysfs_emit_at(buf, len, "%s %u\n", c->owner, n);
	}
	spin_unlock_irqrestore(&mb->lock, flags);
	return len;
}

/**
 * pci_doe_holder_show() - The holder attribute: "pid comm" of the taker
 * @mb: mailbox
 * @buf: sysfs buffer
 *
 * Return: bytes written to @buf, 0 when root has not taken the mailbox.
 */
ssize_t pci_doe_holder_show(struct pci_doe_mb *mb, char *buf)
{
	unsigned long flags;
	ssize_t len = 0;

	spin_lock_irqsave(&mb->lock, flags);
	if (mb->owner.holder)
		len = sysfs_emit(buf, "%d %s\n", mb->owner.holder_pid,
				 mb->owner.holder_comm);
	spin_unlock_irqrestore(&mb->lock, flags);
	return len;
}

#if IS_ENABLED(CONFIG_PCI_DOE_KUNIT_TEST)
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
 * pci_doe_set_user_protocols() - Change "pci_doe.user_protocols=", for tests
 * @list: the new value, as on the command line
 * @old: filled in with the previous value, to restore it
 * @len: size of @old
 *
 * Context: Process context; nothing else may depend on the value meanwhile.
 * Return: 0, or the error parsing @list (userspace may then use nothing).
 */
int pci_doe_set_user_protocols(const char *list, char *old, size_t len)
{
	strscpy(old, doe_user_prots.text, len);
	return doe_user_prots_set(list, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_set_user_protocols);

/**
 * pci_doe_overridden_writes() - Root writes the relaxed policy let through
 * @mb: mailbox
 *
 * Return: the overridden_writes counter of @mb.
 */
unsigned long pci_doe_overridden_writes(const struct pci_doe_mb *mb)
{
	return atomic_long_read(&mb->owner.overridden_writes);
}
EXPORT_SYMBOL_IF_KUNIT(pci_doe_overridden_writes);
#endif
