// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the PCI DOE library (drivers/pci/doe.c)
 *
 * Each test builds a simulated PCIe endpoint on a software host bridge of
 * its own PCI domain.  Config space is served from memory by fake pci_ops;
 * the DOE capabilities follow PCIe r6.2 sec 6.30 / 7.9.24 (Busy, Error,
 * Data Object Ready, Abort, Go, Read Data Mailbox advance, Length rules)
 * and answer Discovery, an echo protocol and a "give me N dwords" protocol.
 * Knobs make a mailbox misbehave the ways real devices do.  The PCI core
 * enumerates the function as it would a real one, so the library's
 * pci_doe_init()/pci_doe_destroy() hooks run for real.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/bitfield.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>

#include "../doe.h"
#include "../pci.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

#define FAKE_VENDOR		0x1b36
#define FAKE_DEVICE		0x7e57
#define FAKE_MAX_MB		4
#define FAKE_MAX_PROTS		256
#define FAKE_BUF_DW		PCI_DOE_MAX_OBJECT_DW

/* Test protocols */
#define TEST_VID		0x7e57
#define TEST_ECHO		0x01	/* response payload = request payload */
#define TEST_SIZED		0x02	/* request dword N: N dwords of pattern */
#define TEST_SILENT		0x03	/* advertised, never answered */

/* Test timeout: short, so timeout cases stay fast */
#define TEST_TIMEOUT_US		(50 * USEC_PER_MSEC)

enum fake_fault {
	FAULT_NONE,
	FAULT_WRONG_VID,
	FAULT_WRONG_TYPE,
	FAULT_LEN0_SHORT,	/* Length 0 (2^18) but a short object */
	FAULT_LEN1,
	FAULT_LEN_SHORT,	/* Length smaller than the object */
	FAULT_LEN_LONG,		/* Length larger than the object */
	FAULT_ERROR_AT_GO,
	FAULT_ERROR_MID,	/* Error after two dwords were read */
	FAULT_NEVER_READY,
	FAULT_READY_LATE,	/* Ready after fault_arg Status reads */
	FAULT_READY_LINGERS,	/* Ready set fault_arg more Status reads */
};

struct fake_prot {
	u16 vid;
	u8 type;
};

/*
 * One emulated mailbox.  Everything is protected by fake_dev.lock, taken by
 * the config accessors (atomic context) and by tests changing knobs.
 */
struct fake_mb {
	u16 offset;
	u16 next;			/* offset of the next capability */
	u8 version;

	/* knobs */
	unsigned int nr_prots;
	struct fake_prot prots[FAKE_MAX_PROTS];
	int loop_from, loop_to;		/* Discovery: index loop_from -> loop_to */
	enum fake_fault fault;
	unsigned int fault_times;	/* exchanges left to fault, ~0 = always */
	unsigned int fault_arg;
	unsigned int busy_reads;	/* Busy for this many Status reads */
	bool busy_stuck;
	unsigned int abort_ignore;	/* this many Aborts are ignored */
	bool gone;			/* every read returns all-ones */

	/* state */
	u32 *wbuf;
	unsigned int wlen;
	u32 *rbuf;
	unsigned int rlen, rpos;
	bool busy, error, ready, pending;
	unsigned int ready_in;		/* Status reads until pending -> ready */
	unsigned int error_in;		/* Read pops until Error */
	unsigned int linger;		/* Status reads Ready stays set for */
	unsigned int linger_arm;	/* ... once this response is read */
	u8 last_disc_version;

	/* counters */
	unsigned int reads, writes, gos, aborts, exchanges;
	unsigned int blk_writes;	/* writes of any size to the block */
	unsigned int wdata;		/* dwords into the Write Data Mailbox */
	unsigned int pops;		/* Read Data Mailbox advances */
	struct task_struct *go_task;	/* who wrote the last Go */
};

struct fake_dev {
	raw_spinlock_t lock;	/* protects the mailboxes, see struct fake_mb */
	u8 cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int nr_mb;
	struct fake_mb mb[FAKE_MAX_MB];
#ifdef CONFIG_X86
	struct pci_sysdata sd;
#endif
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct resource busn;
};

static struct fake_dev *bus_to_fake(struct pci_bus *bus)
{
#ifdef CONFIG_X86
	return container_of(bus->sysdata, struct fake_dev, sd);
#else
	return bus->sysdata;
#endif
}

static struct fake_mb *fake_find_mb(struct fake_dev *fd, int where)
{
	unsigned int i;

	for (i = 0; i < fd->nr_mb; i++)
		if (where >= fd->mb[i].offset &&
		    where < fd->mb[i].offset + PCI_DOE_CAP_SIZEOF)
			return &fd->mb[i];
	return NULL;
}

static bool fake_faulting(struct fake_mb *m, enum fake_fault f)
{
	return m->fault == f && m->fault_times;
}

static void fake_reset(struct fake_mb *m)
{
	m->wlen = 0;
	m->rlen = 0;
	m->rpos = 0;
	m->busy = false;
	m->error = false;
	m->ready = false;
	m->pending = false;
	m->linger = 0;
	m->linger_arm = 0;
}

static void fake_respond(struct fake_mb *m, u16 vid, u8 type,
			 unsigned int pl_dw)
{
	m->rbuf[0] = FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_VID, vid) |
		     FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE, type);
	m->rbuf[1] = FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
				(pl_dw + 2) & PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH);
	m->rlen = pl_dw + 2;
	m->rpos = 0;
}

/* Build the response to the object in wbuf; false: discard silently */
static bool fake_process(struct fake_mb *m)
{
	u32 len, vid, type, i, n;

	if (m->wlen < 2)
		return false;
	len = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH, m->wbuf[1]);
	if (!len)
		len = FAKE_BUF_DW;
	if (len != m->wlen)
		return false;
	vid = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_VID, m->wbuf[0]);
	type = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE, m->wbuf[0]);

	if (vid == PCI_VENDOR_ID_PCI_SIG && type == 0 && len == 3) {
		u32 index = m->wbuf[2] & 0xff, next;

		m->last_disc_version = (m->wbuf[2] >> 8) & 0xff;
		if (index >= m->nr_prots)
			return false;
		next = index + 1 < m->nr_prots ? index + 1 : 0;
		if (m->loop_from >= 0 && index == m->loop_from)
			next = m->loop_to;
		fake_respond(m, vid, type, 1);
		m->rbuf[2] = FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_RSP_3_VID,
					m->prots[index].vid) |
			     FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_RSP_3_PROTOCOL,
					m->prots[index].type) |
			     FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_RSP_3_NEXT_INDEX,
					next);
		return true;
	}
	if (vid == TEST_VID && type == TEST_ECHO) {
		fake_respond(m, vid, type, len - 2);
		memcpy(&m->rbuf[2], &m->wbuf[2], (len - 2) * sizeof(u32));
		return true;
	}
	if (vid == TEST_VID && type == TEST_SIZED && len == 3) {
		n = min(m->wbuf[2], FAKE_BUF_DW - 2);
		fake_respond(m, vid, type, n);
		for (i = 0; i < n; i++)
			m->rbuf[2 + i] = i ^ 0xa5a50000;
		return true;
	}
	return false;
}

static void fake_go(struct fake_mb *m)
{
	m->gos++;
	m->go_task = current;
	if (m->busy || m->busy_stuck)
		return;		/* Go while Busy: undefined, ignore it */
	if (fake_faulting(m, FAULT_ERROR_AT_GO)) {
		m->error = true;
		goto faulted;
	}
	if (!fake_process(m)) {
		m->wlen = 0;
		return;
	}
	m->wlen = 0;
	m->exchanges++;

	switch (m->fault_times ? m->fault : FAULT_NONE) {
	case FAULT_WRONG_VID:
		m->rbuf[0] ^= 0x1;
		break;
	case FAULT_WRONG_TYPE:
		m->rbuf[0] ^= 0x10000;
		break;
	case FAULT_LEN0_SHORT:
		m->rbuf[1] = 0;
		break;
	case FAULT_LEN1:
		m->rbuf[1] = 1;
		break;
	case FAULT_LEN_SHORT:
		m->rbuf[1] = m->rlen - 1;
		break;
	case FAULT_LEN_LONG:
		m->rbuf[1] = m->rlen + 4;
		break;
	case FAULT_ERROR_MID:
		m->error_in = m->fault_arg ?: 3;
		break;
	case FAULT_READY_LINGERS:
		m->linger_arm = m->fault_arg;
		break;
	case FAULT_NEVER_READY:
		m->pending = true;
		m->ready_in = ~0U;
		goto faulted;
	case FAULT_READY_LATE:
		m->pending = true;
		m->ready_in = m->fault_arg;
		goto faulted;
	default:
		m->ready = true;
		return;
	}
	m->ready = true;
faulted:
	if (m->fault_times != ~0U)
		m->fault_times--;
}

static u32 fake_mb_read(struct fake_mb *m, int reg)
{
	u32 val = 0;

	m->reads++;
	if (m->gone)
		return ~0U;

	switch (reg) {
	case 0:
		return PCI_EXT_CAP_ID_DOE | (m->version << 16) |
		       (m->next << 20);
	case PCI_DOE_STATUS:
		if (m->pending && m->ready_in != ~0U && !m->ready_in--) {
			m->pending = false;
			m->ready = true;
		}
		if (m->busy_reads) {
			m->busy_reads--;
			val |= PCI_DOE_STATUS_BUSY;
		}
		/* Busy while stuck, or while a request is being processed */
		if (m->busy_stuck || m->busy || m->pending)
			val |= PCI_DOE_STATUS_BUSY;
		if (m->error)
			val |= PCI_DOE_STATUS_ERROR;
		if (m->ready)
			val |= PCI_DOE_STATUS_DATA_OBJECT_READY;
		if (m->linger && !--m->linger)
			m->ready = false;
		return val;
	case PCI_DOE_READ:
		if (m->ready && m->rpos < m->rlen)
			return m->rbuf[m->rpos];
		return 0;
	default:
		return 0;
	}
}

static void fake_mb_write(struct fake_mb *m, int reg, u32 val)
{
	m->writes++;
	if (m->gone)
		return;

	switch (reg) {
	case PCI_DOE_CTRL:
		if (val & PCI_DOE_CTRL_ABORT) {
			m->aborts++;
			if (m->abort_ignore) {
				m->abort_ignore--;
				return;
			}
			fake_reset(m);
			m->busy_stuck = false;
			return;
		}
		if (val & PCI_DOE_CTRL_GO)
			fake_go(m);
		return;
	case PCI_DOE_WRITE:
		m->wdata++;
		if (m->wlen < FAKE_BUF_DW)
			m->wbuf[m->wlen++] = val;
		else
			m->error = true;
		return;
	case PCI_DOE_READ:
		m->pops++;
		if (!m->ready) {
			m->error = true;
			return;
		}
		if (m->error_in && !--m->error_in)
			m->error = true;
		if (++m->rpos >= m->rlen) {
			if (m->linger_arm)
				m->linger = m->linger_arm;
			else
				m->ready = false;
			m->linger_arm = 0;
		}
		return;
	}
}

static int fake_read(struct pci_bus *bus, unsigned int devfn, int where,
		     int size, u32 *val)
{
	struct fake_dev *fd = bus_to_fake(bus);
	struct fake_mb *m;
	unsigned long flags;
	u32 dw;

	if (devfn != 0 || where < 0 || where + size > sizeof(fd->cfg)) {
		*val = ~0U;
		return PCIBIOS_SUCCESSFUL;
	}

	raw_spin_lock_irqsave(&fd->lock, flags);
	m = fake_find_mb(fd, where);
	if (m)
		dw = fake_mb_read(m, (where - m->offset) & ~3);
	else
		memcpy(&dw, &fd->cfg[where & ~3], sizeof(dw));
	raw_spin_unlock_irqrestore(&fd->lock, flags);

	dw >>= 8 * (where & 3);
	*val = size == 4 ? dw : dw & ((1U << (8 * size)) - 1);
	return PCIBIOS_SUCCESSFUL;
}

static int fake_write(struct pci_bus *bus, unsigned int devfn, int where,
		      int size, u32 val)
{
	struct fake_dev *fd = bus_to_fake(bus);
	struct fake_mb *m;
	unsigned long flags;

	if (devfn != 0 || where < 0 || where + size > sizeof(fd->cfg))
		return PCIBIOS_SUCCESSFUL;

	raw_spin_lock_irqsave(&fd->lock, flags);
	m = fake_find_mb(fd, where);
	if (m)
		m->blk_writes++;
	/* Non-DOE registers are read-only: no BARs, nothing to enable */
	if (m && size == 4)
		fake_mb_write(m, where - m->offset, val);
	raw_spin_unlock_irqrestore(&fd->lock, flags);
	return PCIBIOS_SUCCESSFUL;
}

static struct pci_ops fake_ops = {
	.read = fake_read,
	.write = fake_write,
};

static void fake_set_prots(struct fake_mb *m, unsigned int nr)
{
	unsigned int i;

	m->nr_prots = nr;
	m->prots[0] = (struct fake_prot){ PCI_VENDOR_ID_PCI_SIG, 0 };
	if (nr > 1)
		m->prots[1] = (struct fake_prot){ TEST_VID, TEST_ECHO };
	if (nr > 2)
		m->prots[2] = (struct fake_prot){ TEST_VID, TEST_SIZED };
	if (nr > 3)
		m->prots[3] = (struct fake_prot){ TEST_VID, TEST_SILENT };
	for (i = 4; i < nr; i++)
		m->prots[i] = (struct fake_prot){ 0x1000 + i, i & 0xff };
}

/* A function with @nr_mb mailboxes, each with the four test protocols */
static struct fake_dev *fake_alloc(struct kunit *test, unsigned int nr_mb)
{
	struct fake_dev *fd;
	unsigned int i;
	u16 off;

	fd = kzalloc(sizeof(*fd), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fd);
	test->priv = fd;
	raw_spin_lock_init(&fd->lock);

	*(u16 *)&fd->cfg[PCI_VENDOR_ID] = FAKE_VENDOR;
	*(u16 *)&fd->cfg[PCI_DEVICE_ID] = FAKE_DEVICE;
	*(u16 *)&fd->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	*(u32 *)&fd->cfg[PCI_CLASS_REVISION] = PCI_CLASS_OTHERS << 16;
	fd->cfg[PCI_CAPABILITY_LIST] = 0x40;
	fd->cfg[0x40] = PCI_CAP_ID_EXP;
	*(u16 *)&fd->cfg[0x40 + PCI_EXP_FLAGS] = 2 |
		(PCI_EXP_TYPE_ENDPOINT << 4);

	fd->nr_mb = nr_mb;
	for (i = 0, off = 0x100; i < nr_mb; i++, off += 0x20) {
		struct fake_mb *m = &fd->mb[i];

		m->offset = off;
		m->next = i + 1 < nr_mb ? off + 0x20 : 0;
		m->version = 2;
		m->loop_from = -1;
		fake_set_prots(m, 4);
		m->wbuf = vzalloc(FAKE_BUF_DW * sizeof(u32));
		m->rbuf = vzalloc(FAKE_BUF_DW * sizeof(u32));
		KUNIT_ASSERT_NOT_NULL(test, m->wbuf);
		KUNIT_ASSERT_NOT_NULL(test, m->rbuf);
	}
	return fd;
}

static int fake_domain = 0x7d0e0;

/* Create the host bridge and let the PCI core enumerate the function */
static struct pci_dev *fake_enumerate(struct kunit *test, struct fake_dev *fd)
{
	LIST_HEAD(resources);
	int domain;

	do {
		domain = fake_domain++;
	} while (pci_find_bus(domain, 0));

	fd->busn.name = "doe-kunit";
	fd->busn.start = 0;
	fd->busn.end = 0;
	fd->busn.flags = IORESOURCE_BUS;
	pci_add_resource(&resources, &fd->busn);
#ifdef CONFIG_X86
	fd->sd.domain = domain;
	fd->sd.node = NUMA_NO_NODE;
	fd->bus = pci_create_root_bus(NULL, 0, &fake_ops, &fd->sd, &resources);
#else
	fd->bus = pci_create_root_bus(NULL, 0, &fake_ops, fd, &resources);
#endif
	if (!fd->bus) {
		pci_free_resource_list(&resources);
		KUNIT_FAIL_AND_ABORT(test, "cannot create a root bus");
	}

	pci_lock_rescan_remove();
	pci_scan_child_bus(fd->bus);
	pci_bus_add_devices(fd->bus);
	pci_unlock_rescan_remove();

	fd->pdev = pci_get_slot(fd->bus, 0);
	KUNIT_ASSERT_NOT_NULL(test, fd->pdev);
	return fd->pdev;
}

static void fake_remove(struct fake_dev *fd)
{
	struct pci_host_bridge *bridge;

	if (!fd->bus)
		return;
	pci_dev_put(fd->pdev);
	fd->pdev = NULL;
	bridge = pci_find_host_bridge(fd->bus);
	pci_lock_rescan_remove();
	pci_stop_root_bus(fd->bus);
	pci_remove_root_bus(fd->bus);
	pci_unlock_rescan_remove();
	/* pci_remove_root_bus() only deletes the bridge pci_create_root_bus() made */
	put_device(&bridge->dev);
	fd->bus = NULL;
}

static void fake_free(struct fake_dev *fd)
{
	unsigned int i;

	fake_remove(fd);
	for (i = 0; i < fd->nr_mb; i++) {
		vfree(fd->mb[i].wbuf);
		vfree(fd->mb[i].rbuf);
	}
	kfree(fd);
}

static void doe_test_exit(struct kunit *test)
{
	struct fake_dev *fd = test->priv;

	if (fd)
		fake_free(fd);
}

static unsigned int fake_get(struct fake_dev *fd, unsigned int *field)
{
	unsigned long flags;
	unsigned int v;

	raw_spin_lock_irqsave(&fd->lock, flags);
	v = *field;
	raw_spin_unlock_irqrestore(&fd->lock, flags);
	return v;
}

/* The next exchange of @m stays pending on the device until fake_answer() */
static void fake_hold_next(struct fake_dev *fd, struct fake_mb *m)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&fd->lock, flags);
	m->fault = FAULT_NEVER_READY;
	m->fault_times = 1;
	raw_spin_unlock_irqrestore(&fd->lock, flags);
}

/* Let the exchange held by fake_hold_next() answer at the next Status read */
static void fake_answer(struct fake_dev *fd, struct fake_mb *m)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&fd->lock, flags);
	m->ready_in = 0;
	raw_spin_unlock_irqrestore(&fd->lock, flags);
}

/* The common case: one function, one mailbox, short timeout */
static struct pci_doe_mb *setup_one(struct kunit *test, struct fake_dev **fdp)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_dev *pdev = fake_enumerate(test, fd);
	struct pci_doe_mb *mb;

	mb = pci_find_doe_mailbox(pdev, TEST_VID, TEST_ECHO);
	KUNIT_ASSERT_NOT_NULL(test, mb);
	pci_doe_set_timeout(mb, TEST_TIMEOUT_US);
	/* The library aborted the mailbox once before Discovery */
	KUNIT_EXPECT_EQ(test, fd->mb[0].aborts, 1);
	fd->mb[0].aborts = 0;
	*fdp = fd;
	return mb;
}

static int echo(struct pci_doe_mb *mb, u32 val)
{
	__le32 req = cpu_to_le32(val), rsp = 0;
	int rc;

	rc = pci_doe(mb, TEST_VID, TEST_ECHO, &req, sizeof(req),
		     &rsp, sizeof(rsp));
	if (rc == sizeof(rsp) && le32_to_cpu(rsp) != val)
		return -EILSEQ;
	return rc;
}

static int sized(struct pci_doe_mb *mb, u32 ndw, void *buf, size_t sz)
{
	__le32 req = cpu_to_le32(ndw);

	return pci_doe(mb, TEST_VID, TEST_SIZED, &req, sizeof(req), buf, sz);
}

/* ---- Discovery ---- */

static void doe_discovery_v2(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);

	KUNIT_EXPECT_EQ(test, fd->mb[0].last_disc_version, 2);
	KUNIT_EXPECT_TRUE(test, pci_doe_supports_prot(mb, TEST_VID, TEST_SIZED));
	KUNIT_EXPECT_TRUE(test, pci_doe_supports_prot(mb, TEST_VID, TEST_SILENT));
	KUNIT_EXPECT_FALSE(test, pci_doe_supports_prot(mb, TEST_VID, 0x77));
	KUNIT_EXPECT_EQ(test, pci_doe_mailbox_offset(mb), 0x100);
}

static void doe_discovery_v0(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_dev *pdev;

	fd->mb[0].version = 1;
	pdev = fake_enumerate(test, fd);
	KUNIT_EXPECT_EQ(test, fd->mb[0].last_disc_version, 0);
	KUNIT_EXPECT_NOT_NULL(test,
			      pci_find_doe_mailbox(pdev, TEST_VID, TEST_ECHO));
}

static void doe_discovery_many(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	unsigned int i;

	fake_set_prots(&fd->mb[0], FAKE_MAX_PROTS);
	pdev = fake_enumerate(test, fd);
	mb = pci_doe_find_mailbox_at(pdev, 0x100);
	KUNIT_ASSERT_NOT_NULL(test, mb);
	for (i = 0; i < FAKE_MAX_PROTS; i++)
		KUNIT_EXPECT_TRUE(test,
				  pci_doe_supports_prot(mb, fd->mb[0].prots[i].vid,
							fd->mb[0].prots[i].type));
	/* One Discovery exchange per index, no more */
	KUNIT_EXPECT_EQ(test, fd->mb[0].exchanges, FAKE_MAX_PROTS);
}

static void doe_discovery_loop(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;

	fake_set_prots(&fd->mb[0], 8);
	fd->mb[0].loop_from = 5;
	fd->mb[0].loop_to = 2;
	pdev = fake_enumerate(test, fd);
	mb = pci_doe_find_mailbox_at(pdev, 0x100);
	KUNIT_ASSERT_NOT_NULL(test, mb);
	/* Indices 0..5 were walked once each, then the walk stopped */
	KUNIT_EXPECT_EQ(test, fd->mb[0].exchanges, 6);
	KUNIT_EXPECT_TRUE(test, pci_doe_supports_prot(mb, 0x1005, 5));
	KUNIT_EXPECT_FALSE(test, pci_doe_supports_prot(mb, 0x1006, 6));
	pci_doe_set_timeout(mb, TEST_TIMEOUT_US);
	KUNIT_EXPECT_EQ(test, echo(mb, 0x1234), 4);
}

static void doe_discovery_self_loop(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_dev *pdev;

	/* Index 1 points to itself */
	fd->mb[0].loop_from = 1;
	fd->mb[0].loop_to = 1;
	pdev = fake_enumerate(test, fd);
	KUNIT_EXPECT_EQ(test, fd->mb[0].exchanges, 2);
	KUNIT_EXPECT_NOT_NULL(test, pci_doe_find_mailbox_at(pdev, 0x100));
}

static void doe_discovery_duplicates(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;

	/* Five entries, of which index 4 repeats index 1 (echo) */
	fake_set_prots(&fd->mb[0], 5);
	fd->mb[0].prots[4] = fd->mb[0].prots[1];
	pdev = fake_enumerate(test, fd);
	mb = pci_doe_find_mailbox_at(pdev, 0x100);
	KUNIT_ASSERT_NOT_NULL(test, mb);
	/* Every index was asked for, the repeat is kept once */
	KUNIT_EXPECT_EQ(test, fd->mb[0].exchanges, 5);
	KUNIT_EXPECT_EQ(test, pci_doe_nr_protocols(mb), 4);
	KUNIT_EXPECT_TRUE(test, pci_doe_supports_prot(mb, TEST_VID, TEST_ECHO));
	KUNIT_EXPECT_TRUE(test, pci_doe_supports_prot(mb, TEST_VID,
						      TEST_SILENT));
}

static void doe_discovery_failure(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 2);
	struct pci_dev *pdev;

	/* Discovery fails on the first mailbox; the second must still work */
	fd->mb[0].fault = FAULT_WRONG_VID;
	fd->mb[0].fault_times = ~0U;
	pdev = fake_enumerate(test, fd);
	KUNIT_EXPECT_NULL(test, pci_doe_find_mailbox_at(pdev, 0x100));
	KUNIT_EXPECT_NOT_NULL(test, pci_doe_find_mailbox_at(pdev, 0x120));
}

static void doe_several_mailboxes(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 3);
	struct pci_doe_mb *a, *b, *c;
	struct pci_dev *pdev;

	/* Only the second and third carry the sized protocol */
	fd->mb[0].nr_prots = 2;
	pdev = fake_enumerate(test, fd);
	a = pci_doe_find_mailbox_at(pdev, 0x100);
	b = pci_doe_find_mailbox_at(pdev, 0x120);
	c = pci_doe_find_mailbox_at(pdev, 0x140);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_NULL(test, pci_doe_find_mailbox_at(pdev, 0x104));
	KUNIT_EXPECT_PTR_EQ(test, pci_find_doe_mailbox(pdev, TEST_VID,
						       TEST_ECHO), a);
	KUNIT_EXPECT_PTR_EQ(test, pci_find_doe_mailbox(pdev, TEST_VID,
						       TEST_SIZED), b);
	KUNIT_EXPECT_NULL(test, pci_find_doe_mailbox(pdev, TEST_VID, 0x99));
	KUNIT_EXPECT_EQ(test, echo(c, 0xc0ffee), 4);
	KUNIT_EXPECT_EQ(test, fd->mb[2].exchanges, 5);
	KUNIT_EXPECT_EQ(test, fd->mb[1].exchanges, 4);
}

/* ---- Exchanges ---- */

static void doe_sizes_gen_desc(const unsigned int *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u bytes", *p);
}

static const unsigned int doe_sizes[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
};

KUNIT_ARRAY_PARAM(doe_sizes, doe_sizes, doe_sizes_gen_desc);

static void doe_exchange_sizes(struct kunit *test)
{
	const unsigned int sz = *(const unsigned int *)test->param_value;
	size_t padded = round_up(sz, 4);
	u8 req[20], rsp[24];
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	unsigned int i;
	int rc;

	for (i = 0; i < sizeof(req); i++)
		req[i] = 0x40 + i;
	memset(rsp, 0xee, sizeof(rsp));

	rc = pci_doe(mb, TEST_VID, TEST_ECHO, req, sz, rsp, padded);
	KUNIT_ASSERT_EQ(test, rc, (int)padded);
	KUNIT_EXPECT_MEMEQ(test, rsp, req, sz);
	/* The request's last dword was padded with zeroes */
	for (i = sz; i < padded; i++)
		KUNIT_EXPECT_EQ(test, rsp[i], 0);
	/* Nothing written past the buffer */
	for (i = padded; i < sizeof(rsp); i++)
		KUNIT_EXPECT_EQ(test, rsp[i], 0xee);
	KUNIT_EXPECT_EQ(test, fd->mb[0].aborts, 0);
}

static void doe_response_not_dword_sized(struct kunit *test)
{
	u8 req[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, rsp[8];
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	int rc;

	memset(rsp, 0xee, sizeof(rsp));
	rc = pci_doe(mb, TEST_VID, TEST_ECHO, req, sizeof(req), rsp, 5);
	KUNIT_EXPECT_EQ(test, rc, 5);
	KUNIT_EXPECT_MEMEQ(test, rsp, req, 5);
	KUNIT_EXPECT_EQ(test, rsp[5], 0xee);
	KUNIT_EXPECT_EQ(test, echo(mb, 7), 4);
}

static void doe_exchange_large(struct kunit *test)
{
	const size_t sz = SZ_64K;
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	u8 *req, *rsp;
	size_t i;
	int rc;

	req = kunit_kmalloc(test, sz, GFP_KERNEL);
	rsp = kunit_kzalloc(test, sz, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, req);
	KUNIT_ASSERT_NOT_NULL(test, rsp);
	for (i = 0; i < sz; i++)
		req[i] = i * 7;

	rc = pci_doe(mb, TEST_VID, TEST_ECHO, req, sz, rsp, sz);
	KUNIT_EXPECT_EQ(test, rc, (int)sz);
	KUNIT_EXPECT_MEMEQ(test, rsp, req, sz);
}

static void doe_exchange_max_object(struct kunit *test)
{
	const u32 ndw = PCI_DOE_MAX_OBJECT_DW - 2;
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	__le32 *rsp;
	u32 i, bad = 0;
	int rc;

	rsp = vzalloc(ndw * sizeof(u32));
	KUNIT_ASSERT_NOT_NULL(test, rsp);
	/* A 2^18-dword object announces Length 0 (sec 6.30.1) */
	rc = sized(mb, ndw, rsp, ndw * sizeof(u32));
	KUNIT_EXPECT_EQ(test, rc, (int)(ndw * sizeof(u32)));
	for (i = 0; i < ndw; i++)
		if (le32_to_cpu(rsp[i]) != (i ^ 0xa5a50000))
			bad++;
	vfree(rsp);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, fd->mb[0].aborts, 0);
}

static void doe_response_longer_than_buffer(struct kunit *test)
{
	u8 rsp[16];
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	int rc;

	memset(rsp, 0xee, sizeof(rsp));
	rc = sized(mb, 100, rsp, 10);
	KUNIT_EXPECT_EQ(test, rc, 10);
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(rsp), 0xa5a50000);
	KUNIT_EXPECT_EQ(test, rsp[10], 0xee);
	/* The rest was drained: the next exchange is clean */
	KUNIT_EXPECT_EQ(test, fd->mb[0].aborts, 0);
	KUNIT_EXPECT_EQ(test, echo(mb, 0x55), 4);
	KUNIT_EXPECT_EQ(test, fd->mb[0].aborts, 0);
}

static void doe_response_shorter_than_buffer(struct kunit *test)
{
	u8 rsp[64];
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	int rc;

	memset(rsp, 0xee, sizeof(rsp));
	rc = sized(mb, 2, rsp, sizeof(rsp));
	KUNIT_EXPECT_EQ(test, rc, 8);
	KUNIT_EXPECT_EQ(test, rsp[8], 0xee);
	KUNIT_EXPECT_EQ(test, rsp[63], 0xee);
}

static void doe_empty_response(struct kunit *test)
{
	u8 rsp[8];
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);

	KUNIT_EXPECT_EQ(test, sized(mb, 0, rsp, sizeof(rsp)), 0);
	KUNIT_EXPECT_EQ(test, pci_doe(mb, TEST_VID, TEST_ECHO, NULL, 0,
				      NULL, 0), 0);
}

/* Faults that make one exchange fail with -EIO and leave the mailbox usable */
struct doe_fault_case {
	const char *name;
	enum fake_fault fault;
	int expect;
};

static const struct doe_fault_case doe_fault_cases[] = {
	{ "wrong vendor", FAULT_WRONG_VID, -EIO },
	{ "wrong type", FAULT_WRONG_TYPE, -EIO },
	{ "length 0 on a short object", FAULT_LEN0_SHORT, -EIO },
	{ "length 1", FAULT_LEN1, -EIO },
	{ "length shorter than object", FAULT_LEN_SHORT, -EIO },
	{ "length longer than object", FAULT_LEN_LONG, -EIO },
	{ "error at go", FAULT_ERROR_AT_GO, -EIO },
	{ "error mid response", FAULT_ERROR_MID, -EIO },
	{ "ready never set", FAULT_NEVER_READY, -ETIMEDOUT },
};

static void doe_fault_desc(const struct doe_fault_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(doe_faults, doe_fault_cases, doe_fault_desc);

static void doe_fault_then_recover(struct kunit *test)
{
	const struct doe_fault_case *c = test->param_value;
	u8 rsp[64];
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	int rc;

	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->fault = c->fault;
		m->fault_times = 1;
	}
	memset(rsp, 0xee, sizeof(rsp));
	rc = sized(mb, 8, rsp, 16);
	KUNIT_EXPECT_EQ(test, rc, c->expect);
	/* Never more than the caller's buffer, whatever the device says */
	KUNIT_EXPECT_EQ(test, rsp[16], 0xee);
	/* The library aborted to get rid of the rest */
	KUNIT_EXPECT_GE(test, fake_get(fd, &m->aborts), 1);
	KUNIT_EXPECT_EQ(test, echo(mb, 0xfeed), 4);
	KUNIT_EXPECT_EQ(test, echo(mb, 0xbeef), 4);
}

static void doe_stale_error(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];

	/* Someone popped the Read Data Mailbox with nothing in it */
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->error = true;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 1), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
}

static void doe_stale_response(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];

	/* A response nobody read, left by another requester */
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		fake_respond(m, TEST_VID, TEST_ECHO, 3);
		m->ready = true;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 0x77), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
}

static void doe_busy_clears(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];

	pci_doe_set_timeout(mb, USEC_PER_SEC);
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->busy_reads = 20;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 2), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 0);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->busy_reads), 0);
}

static void doe_busy_stuck(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	unsigned int writes;

	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->busy_stuck = true;
	}
	writes = fake_get(fd, &m->writes);
	KUNIT_EXPECT_EQ(test, echo(mb, 3), -EBUSY);
	/* Nothing but the Abort was written: no request into a Busy mailbox */
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->writes), writes + 1);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
	/* The Abort cleared Busy: the mailbox works again */
	KUNIT_EXPECT_EQ(test, echo(mb, 4), 4);
}

static void doe_ready_late(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];

	pci_doe_set_timeout(mb, USEC_PER_SEC);
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->fault = FAULT_READY_LATE;
		m->fault_times = 1;
		m->fault_arg = 30;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 5), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 0);
}

static void doe_abort_fails_then_recovers(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];

	/* Times out, and the Abort after it is ignored too */
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->fault = FAULT_NEVER_READY;
		m->fault_times = 1;
		m->abort_ignore = 2;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 6), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
	/* The next request retries the Abort first, which fails again */
	KUNIT_EXPECT_EQ(test, echo(mb, 7), -EIO);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 2);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->exchanges), 5);
	/* The device recovered: the Abort now works and so does the request */
	KUNIT_EXPECT_EQ(test, echo(mb, 8), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 3);
}

static void doe_device_gone(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	unsigned long start;

	/* A long timeout: -ENODEV must come from the all-ones read at once */
	pci_doe_set_timeout(mb, 10 * USEC_PER_SEC);
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->gone = true;
	}
	start = jiffies;
	KUNIT_EXPECT_EQ(test, echo(mb, 9), -ENODEV);
	KUNIT_EXPECT_LT(test, jiffies - start, 5 * HZ);
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->gone = false;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 10), 4);
}

static void doe_config_accesses(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	__le32 req = 0, rsp;
	unsigned int before, after;

	before = fake_get(fd, &m->reads) + fake_get(fd, &m->writes);
	KUNIT_EXPECT_EQ(test, pci_doe(mb, PCI_VENDOR_ID_PCI_SIG, 0, &req,
				      sizeof(req), &rsp, sizeof(rsp)), 4);
	after = fake_get(fd, &m->reads) + fake_get(fd, &m->writes);
	/*
	 * Status, 3 request dwords, Go, Status, 3 x (read + advance),
	 * final Status: 13.
	 */
	KUNIT_EXPECT_EQ(test, after - before, 13);
}

static void doe_bad_requests(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	unsigned int writes = fake_get(fd, &m->writes);
	u32 buf = 0;

	KUNIT_EXPECT_EQ(test, pci_doe(mb, TEST_VID, 0x42, &buf, 4, &buf, 4),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe(mb, TEST_VID, TEST_ECHO, NULL, 4,
				      &buf, 4), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe(mb, TEST_VID, TEST_ECHO, &buf, 4,
				      NULL, 4), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe(mb, TEST_VID, TEST_ECHO, &buf,
				      PCI_DOE_MAX_PAYLOAD + 1, &buf, 4),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe(NULL, TEST_VID, TEST_ECHO, &buf, 4,
				      &buf, 4), -EINVAL);
	/* Nothing reached the device */
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->writes), writes);
}

/* ---- Asynchronous API ---- */

#define NR_ASYNC 100

struct async_ctx {
	struct pci_doe_task task[NR_ASYNC];
	__le32 req[NR_ASYNC], rsp[NR_ASYNC];
	atomic_t calls[NR_ASYNC];
	int order[NR_ASYNC];
	atomic_t done;
	struct completion all;
	unsigned int nr;
};

static void async_complete(struct pci_doe_task *task)
{
	struct async_ctx *ctx = task->private;
	unsigned int i = task - ctx->task;

	atomic_inc(&ctx->calls[i]);
	ctx->order[atomic_read(&ctx->done) % NR_ASYNC] = i;
	if (atomic_inc_return(&ctx->done) == ctx->nr)
		complete(&ctx->all);
}

static struct async_ctx *async_alloc(struct kunit *test, unsigned int nr,
				     u8 type)
{
	struct async_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	init_completion(&ctx->all);
	ctx->nr = nr;
	for (i = 0; i < nr; i++) {
		ctx->req[i] = cpu_to_le32(type == TEST_SIZED ? 1 : 0x1000 + i);
		ctx->task[i] = (struct pci_doe_task){
			.vendor = TEST_VID,
			.type = type,
			.request = &ctx->req[i],
			.request_sz = sizeof(ctx->req[i]),
			.response = &ctx->rsp[i],
			.response_sz = sizeof(ctx->rsp[i]),
			.complete = async_complete,
			.private = ctx,
		};
	}
	return ctx;
}

static void doe_async_fifo(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct async_ctx *ctx = async_alloc(test, NR_ASYNC, TEST_ECHO);
	unsigned int i;

	for (i = 0; i < NR_ASYNC; i++)
		KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[i]), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 30 * HZ),
			0);
	for (i = 0; i < NR_ASYNC; i++) {
		KUNIT_EXPECT_EQ(test, ctx->task[i].rv, 4);
		KUNIT_EXPECT_EQ(test, le32_to_cpu(ctx->rsp[i]), 0x1000 + i);
		KUNIT_EXPECT_EQ(test, atomic_read(&ctx->calls[i]), 1);
		KUNIT_EXPECT_EQ(test, ctx->order[i], i);
	}
}

static void doe_async_parallel_mailboxes(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 2);
	struct pci_dev *pdev = fake_enumerate(test, fd);
	struct pci_doe_mb *a = pci_doe_find_mailbox_at(pdev, 0x100);
	struct pci_doe_mb *b = pci_doe_find_mailbox_at(pdev, 0x120);
	struct async_ctx *ca = async_alloc(test, NR_ASYNC / 2, TEST_ECHO);
	struct async_ctx *cb = async_alloc(test, NR_ASYNC / 2, TEST_ECHO);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	/* Mailbox a stalls on its first task; b must not wait for it */
	pci_doe_set_timeout(a, 2 * USEC_PER_SEC);
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		fd->mb[0].fault = FAULT_NEVER_READY;
		fd->mb[0].fault_times = 1;
	}
	for (i = 0; i < NR_ASYNC / 2; i++) {
		KUNIT_ASSERT_EQ(test, pci_doe_submit(a, &ca->task[i]), 0);
		KUNIT_ASSERT_EQ(test, pci_doe_submit(b, &cb->task[i]), 0);
	}
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&cb->all, 30 * HZ),
			0);
	/* b finished while a was still stuck in its first exchange */
	KUNIT_EXPECT_LT(test, atomic_read(&ca->done), NR_ASYNC / 2);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ca->all, 30 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, ca->task[0].rv, -ETIMEDOUT);
	for (i = 1; i < NR_ASYNC / 2; i++)
		KUNIT_EXPECT_EQ(test, ca->task[i].rv, 4);
	for (i = 0; i < NR_ASYNC / 2; i++)
		KUNIT_EXPECT_EQ(test, cb->task[i].rv, 4);
}

/* Wait until the mailbox has seen @n Go writes */
static void wait_for_go(struct kunit *test, struct fake_dev *fd,
			struct fake_mb *m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < 2000 && fake_get(fd, &m->gos) < n; i++)
		usleep_range(1000, 2000);
	KUNIT_ASSERT_GE(test, fake_get(fd, &m->gos), n);
}

static void doe_async_cancel(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 4, TEST_ECHO);
	unsigned int gos = fake_get(fd, &m->gos), i;

	pci_doe_set_timeout(mb, 500 * USEC_PER_MSEC);
	fake_hold_next(fd, m);
	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[i]), 0);
	wait_for_go(test, fd, m, gos + 1);

	/* Task 0 is running, the others wait */
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&ctx->task[0]), -EBUSY);
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&ctx->task[2]), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->calls[2]), 1);
	KUNIT_EXPECT_EQ(test, ctx->task[2].rv, -ECANCELED);
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&ctx->task[2]), -EINVAL);

	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 30 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, ctx->task[0].rv, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, ctx->task[1].rv, 4);
	KUNIT_EXPECT_EQ(test, ctx->task[3].rv, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, atomic_read(&ctx->calls[i]), 1);
	/* A completed task cannot be cancelled */
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&ctx->task[1]), -EINVAL);
}

static void doe_async_bad_task(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct async_ctx *ctx = async_alloc(test, 2, TEST_ECHO);

	ctx->task[0].complete = NULL;
	KUNIT_EXPECT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), -EINVAL);
	ctx->task[1].type = 0x55;
	KUNIT_EXPECT_EQ(test, pci_doe_submit(mb, &ctx->task[1]), -EINVAL);
	/* Not accepted: no callback */
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->done), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&ctx->task[1]), -EINVAL);
}

static void doe_remove_with_tasks(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 10, TEST_ECHO);
	unsigned int gos = fake_get(fd, &m->gos), i;
	unsigned long start;

	/* The first task would wait 10 s for a response that never comes */
	pci_doe_set_timeout(mb, 10 * USEC_PER_SEC);
	fake_hold_next(fd, m);
	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[i]), 0);
	wait_for_go(test, fd, m, gos + 1);

	start = jiffies;
	fake_remove(fd);
	/* Removal returned: every callback has run, exactly once */
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->done), 10);
	KUNIT_EXPECT_LT(test, jiffies - start, 5 * HZ);
	for (i = 0; i < 10; i++) {
		KUNIT_EXPECT_EQ(test, ctx->task[i].rv, -ENODEV);
		KUNIT_EXPECT_EQ(test, atomic_read(&ctx->calls[i]), 1);
	}
}

static void doe_remove_idle(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);

	KUNIT_EXPECT_EQ(test, echo(mb, 11), 4);
	fake_remove(fd);
	/* Enumerate the same function again: a new mailbox, working */
	mb = pci_find_doe_mailbox(fake_enumerate(test, fd), TEST_VID,
				  TEST_ECHO);
	KUNIT_ASSERT_NOT_NULL(test, mb);
	KUNIT_EXPECT_EQ(test, echo(mb, 12), 4);
}

struct racer {
	struct pci_doe_mb *mb;
	u32 base;
	int bad;
	struct completion done;
};

static int racer_fn(void *data)
{
	struct racer *r = data;
	unsigned int i;

	for (i = 0; i < 200; i++)
		if (echo(r->mb, r->base + i) != 4)
			r->bad++;
	complete(&r->done);
	return 0;
}

static void doe_two_submitters(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct racer r[2] = {
		{ .mb = mb, .base = 0x10000 },
		{ .mb = mb, .base = 0x20000 },
	};
	struct task_struct *t;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		init_completion(&r[i].done);
		t = kthread_run(racer_fn, &r[i], "doe-racer%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	}
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_NE(test,
				wait_for_completion_timeout(&r[i].done,
							    60 * HZ), 0);
		KUNIT_EXPECT_EQ(test, r[i].bad, 0);
	}
	KUNIT_EXPECT_EQ(test, fake_get(fd, &fd->mb[0].aborts), 0);
}

/* ---- Ownership ---- */

static void doe_discovery_retry(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_dev *pdev;

	/* The first Discovery response is garbage: retried, not fatal */
	fd->mb[0].fault = FAULT_WRONG_VID;
	fd->mb[0].fault_times = 1;
	pdev = fake_enumerate(test, fd);
	KUNIT_EXPECT_NOT_NULL(test, pci_doe_find_mailbox_at(pdev, 0x100));
	KUNIT_EXPECT_EQ(test, fd->mb[0].exchanges, 5);
}

static void doe_stray_dword_before_enumeration(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 1);
	struct pci_dev *pdev;

	/* Someone left half a request in the Write Data Mailbox */
	fd->mb[0].wbuf[0] = 0xdead;
	fd->mb[0].wlen = 1;
	pdev = fake_enumerate(test, fd);
	KUNIT_EXPECT_NOT_NULL(test, pci_doe_find_mailbox_at(pdev, 0x100));
	KUNIT_EXPECT_EQ(test, fd->mb[0].aborts, 1);
	KUNIT_EXPECT_EQ(test, fd->mb[0].exchanges, 4);
}

/* A root write through the access point: 0, -EPERM or -EINVAL */
static int user_write(struct pci_dev *pdev, int pos, int size)
{
	switch (size) {
	case 1:
		return pci_user_write_config_byte(pdev, pos, 0x5a);
	case 2:
		return pci_user_write_config_word(pdev, pos, 0x5a5a);
	default:
		return pci_user_write_config_dword(pdev, pos, 0x5a5a5a5a);
	}
}

/*
 * A claim keeps every root access that reaches the block [0x100, 0x118)
 * out, decided at the access with the offset it uses: the device sees none
 * of them.  Accesses next to the block go through.
 */
static void doe_claim_denies_user_writes(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_dev *pdev = fd->pdev;
	struct fake_mb *m = &fd->mb[0];
	struct pci_doe_claim *claim;
	unsigned int blk = fake_get(fd, &m->blk_writes);
	int off, size, refused = 0;

	claim = pci_doe_claim(mb, "kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
	KUNIT_EXPECT_PTR_EQ(test, pci_doe_claim_mailbox(claim), mb);
	for (size = 1; size <= 4; size *= 2)
		for (off = 0xf8; off < 0x120; off += size) {
			int rc = user_write(pdev, off, size);

			if (off + size > 0x100 && off < 0x118) {
				KUNIT_EXPECT_EQ(test, rc, -EPERM);
				refused++;
			} else {
				KUNIT_EXPECT_EQ(test, rc, 0);
			}
		}
	KUNIT_EXPECT_EQ(test, refused, 24 + 12 + 6);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->blk_writes), blk);

	/* Whole ranges, as the sysfs and procfs writers vet them first */
	for (off = 0xf0; off < 0x118; off++)
		for (size = 1; size <= 16; size++)
			KUNIT_EXPECT_EQ(test, pci_doe_user_check(pdev, off, size),
					off + size > 0x100 ? -EPERM : 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_check(pdev, 0x118, 4), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_check(pdev, 0x4, 2), 0);

	pci_doe_release(claim);
	KUNIT_EXPECT_EQ(test, user_write(pdev, 0x110, 4), 0);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->blk_writes), blk + 1);
	/* The write touched the idle mailbox: aborted before the next use */
	KUNIT_EXPECT_EQ(test, echo(mb, 1), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
}

/*
 * Offsets as the pciconfig_write syscall and procfs truncate them to the
 * int that the access uses: 4 GiB above the mailbox is the mailbox, and a
 * negative offset (outside the function's config space) is refused.
 */
static void doe_user_write_truncated_offsets(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_dev *pdev = fd->pdev;
	struct fake_mb *m = &fd->mb[0];
	/* The int that (1 << 32) + 0x110 and (1 << 32) + 2^31 + 0x110 become */
	int wide = lower_32_bits((1ULL << 32) + 0x110);
	int neg = lower_32_bits((1ULL << 32) + 0x80000000ULL + 0x110);
	unsigned int blk = fake_get(fd, &m->blk_writes);
	unsigned int wdata = fake_get(fd, &m->wdata);
	struct pci_doe_claim *claim;

	claim = pci_doe_claim(mb, "kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
	KUNIT_EXPECT_EQ(test, wide, 0x110);
	KUNIT_EXPECT_LT(test, neg, 0);
	KUNIT_EXPECT_EQ(test, pci_user_write_config_dword(pdev, wide, 0),
			-EPERM);
	KUNIT_EXPECT_EQ(test, pci_user_write_config_dword(pdev, neg, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, pci_user_write_config_dword(pdev, 0x1000, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, pci_user_write_config_byte(pdev, -1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->blk_writes), blk);
	pci_doe_release(claim);
	/* Idle: the truncated offset reaches the Write Data Mailbox */
	KUNIT_EXPECT_EQ(test, pci_user_write_config_dword(pdev, wide, 0),
			0);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->wdata), wdata + 1);
	KUNIT_EXPECT_EQ(test, echo(mb, 2), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
}

struct stalled_writer {
	struct pci_dev *pdev;
	int rc;
	struct completion done;
};

static int stalled_writer_fn(void *data)
{
	struct stalled_writer *w = data;

	w->rc = pci_user_write_config_dword(w->pdev, 0x110, 0xdead);
	complete(&w->done);
	return 0;
}

/*
 * A root write stalls before it reaches the device (here in pci_wait_cfg(),
 * behind pci_cfg_access_lock(), as a reset or VPD access makes it) while a
 * kernel exchange starts: the kernel does not wait for it, and when the
 * write goes on it is decided then, refused because the kernel owns the
 * mailbox.  The exchange's data is intact and the device never saw the
 * stray dword.
 */
static void doe_user_write_stalled(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 1, TEST_ECHO);
	struct stalled_writer w = { .pdev = fd->pdev };
	unsigned int gos = fake_get(fd, &m->gos);
	unsigned int wdata = fake_get(fd, &m->wdata);
	struct task_struct *t;

	init_completion(&w.done);
	pci_cfg_access_lock(fd->pdev);
	t = kthread_run(stalled_writer_fn, &w, "doe-stalled");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	/* The writer is stuck in pci_wait_cfg() */
	KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&w.done, HZ / 10), 0);

	fake_hold_next(fd, m);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), 0);
	wait_for_go(test, fd, m, gos + 1);

	/* The exchange is on the device: let the write go on */
	pci_cfg_access_unlock(fd->pdev);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&w.done, 10 * HZ), 0);
	KUNIT_EXPECT_EQ(test, w.rc, -EPERM);

	/* Now let the device answer */
	fake_answer(fd, m);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 10 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, ctx->task[0].rv, 4);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(ctx->rsp[0]), 0x1000);
	/* Header and payload of the request, nothing else */
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->wdata), wdata + 3);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 0);
}

/*
 * Under the relaxed policy a root write may land during an exchange: it is
 * counted, and the exchange whose mailbox it disturbed fails instead of
 * returning a response that may be shifted.  The next exchange works.
 */
static void doe_relaxed_write_during_exchange(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 1, TEST_ECHO);
	unsigned int gos = fake_get(fd, &m->gos);
	unsigned int wdata = fake_get(fd, &m->wdata);
	const char *old;

	old = pci_doe_set_policy("relaxed");
	KUNIT_ASSERT_NOT_NULL(test, old);
	fake_hold_next(fd, m);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), 0);
	wait_for_go(test, fd, m, gos + 1);
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), 0);
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_overridden_writes(mb), 2);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->wdata), wdata + 5);
	fake_answer(fd, m);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 10 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, ctx->task[0].rv, -EIO);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
	pci_doe_set_policy(old);
	KUNIT_EXPECT_EQ(test, echo(mb, 3), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
	KUNIT_EXPECT_EQ(test, pci_doe_overridden_writes(mb), 2);
}

static void doe_claims_are_counted(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_dev *pdev = fd->pdev;
	struct pci_doe_claim *a1, *a2, *b;

	a1 = pci_doe_claim(mb, "a");
	a2 = pci_doe_claim(mb, "a");
	b = pci_doe_claim(mb, "b");
	KUNIT_ASSERT_FALSE(test, IS_ERR(a1) || IS_ERR(a2) || IS_ERR(b));
	KUNIT_EXPECT_PTR_NE(test, a1, a2);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_doe_claim(mb, "")), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_doe_claim(mb, NULL)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_doe_claim(NULL, "a")), -EINVAL);
	/* Claims do not stop kernel exchanges */
	KUNIT_EXPECT_EQ(test, echo(mb, 2), 4);

	pci_doe_release(a1);
	pci_doe_release(b);
	KUNIT_EXPECT_EQ(test, user_write(pdev, 0x110, 4), -EPERM);
	pci_doe_release(a2);
	/* Nothing to release: nothing happens */
	pci_doe_release(NULL);
	pci_doe_release(ERR_PTR(-EBUSY));
	KUNIT_EXPECT_EQ(test, user_write(pdev, 0x110, 4), 0);
}

/*
 * A claim holds what it needs: after the function is removed (orderly, or
 * surprise with the device gone first) the claim stays safe to use,
 * exchanges and new claims on its mailbox fail with -ENODEV, root cannot
 * reach it, and releasing it later frees everything (KASAN, kmemleak).
 */
static void doe_claim_outlives_function(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_doe_claim *claim, *devm_claim;
	struct device *dev;
	bool surprise;

	for (surprise = false; ; surprise = true) {
		claim = pci_doe_claim(mb, "kunit");
		KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
		/* A device that outlives the function holds one too */
		dev = kunit_device_register(test, surprise ? "doe-dev-s" :
							     "doe-dev-o");
		KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
		devm_claim = devm_pci_doe_claim(dev, mb, "kunit-devm");
		KUNIT_ASSERT_FALSE(test, IS_ERR(devm_claim));

		if (surprise) {
			scoped_guard(raw_spinlock_irqsave, &fd->lock)
				fd->mb[0].gone = true;
			pci_dev_set_disconnected(fd->pdev, NULL);
		}
		fake_remove(fd);

		KUNIT_EXPECT_PTR_EQ(test, pci_doe_claim_mailbox(claim), mb);
		KUNIT_EXPECT_EQ(test, echo(mb, 7), -ENODEV);
		KUNIT_EXPECT_EQ(test, PTR_ERR(pci_doe_claim(mb, "late")),
				-ENODEV);
		kunit_device_unregister(test, dev);
		pci_doe_release(claim);
		if (surprise)
			break;

		/* Everything is released: free the fake, again on a new one */
		fake_free(fd);
		test->priv = NULL;
		fd = fake_alloc(test, 1);
		mb = pci_find_doe_mailbox(fake_enumerate(test, fd), TEST_VID,
					  TEST_ECHO);
		KUNIT_ASSERT_NOT_NULL(test, mb);
		pci_doe_set_timeout(mb, TEST_TIMEOUT_US);
	}
}

/* devm_pci_doe_claim() is dropped when its device goes */
static void doe_devm_claim(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_doe_claim *claim;
	struct device *dev;

	dev = kunit_device_register(test, "doe-devm");
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
	claim = devm_pci_doe_claim(dev, mb, "kunit-devm");
	KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), -EPERM);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), 0);
}

static void doe_exchange_in_flight_owns(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 1, TEST_ECHO);
	unsigned int gos = fake_get(fd, &m->gos);

	pci_doe_set_timeout(mb, 300 * USEC_PER_MSEC);
	fake_hold_next(fd, m);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), 0);
	wait_for_go(test, fd, m, gos + 1);
	/* No claim, but an exchange runs: root is kept out */
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), -EPERM);
	KUNIT_EXPECT_EQ(test, pci_doe_user_check(fd->pdev, 0x110, 4), -EPERM);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 10 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), 0);
}

/* pci_doe() on an idle mailbox runs in its caller; queued tasks do not */
static void doe_sync_runs_inline(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 1, TEST_ECHO);
	struct task_struct *go_task;

	KUNIT_EXPECT_EQ(test, echo(mb, 21), 4);
	scoped_guard(raw_spinlock_irqsave, &fd->lock)
		go_task = m->go_task;
	KUNIT_EXPECT_PTR_EQ(test, go_task, current);

	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 10 * HZ),
			0);
	scoped_guard(raw_spinlock_irqsave, &fd->lock)
		go_task = m->go_task;
	KUNIT_EXPECT_PTR_NE(test, go_task, current);
	KUNIT_EXPECT_EQ(test, echo(mb, 22), 4);
}

struct inline_caller {
	struct pci_doe_mb *mb;
	int rc;
	struct completion done;
};

static int inline_caller_fn(void *data)
{
	struct inline_caller *c = data;

	c->rc = echo(c->mb, 23);
	complete(&c->done);
	return 0;
}

/*
 * Removal while pci_doe() waits in its caller's context: removal waits for
 * it (no use after free: KASAN), and it fails with -ENODEV, quickly; a task
 * queued behind it completes too.
 */
static void doe_remove_during_inline(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 1, TEST_ECHO);
	struct inline_caller c = { .mb = mb };
	unsigned int gos = fake_get(fd, &m->gos);
	struct task_struct *t, *go_task;
	unsigned long start;

	init_completion(&c.done);
	pci_doe_set_timeout(mb, 10 * USEC_PER_SEC);
	fake_hold_next(fd, m);
	t = kthread_run(inline_caller_fn, &c, "doe-inline");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	wait_for_go(test, fd, m, gos + 1);
	scoped_guard(raw_spinlock_irqsave, &fd->lock)
		go_task = m->go_task;
	KUNIT_EXPECT_PTR_EQ(test, go_task, t);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), 0);

	start = jiffies;
	fake_remove(fd);
	KUNIT_EXPECT_LT(test, jiffies - start, 5 * HZ);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&c.done, 10 * HZ), 0);
	KUNIT_EXPECT_EQ(test, c.rc, -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->done), 1);
	KUNIT_EXPECT_EQ(test, ctx->task[0].rv, -ENODEV);
}

static void doe_denied_write_writes_nothing(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 2);
	struct pci_dev *pdev = fake_enumerate(test, fd);
	struct pci_doe_mb *a = pci_doe_find_mailbox_at(pdev, 0x100);
	struct pci_doe_mb *b = pci_doe_find_mailbox_at(pdev, 0x120);
	struct pci_doe_claim *claim;

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_EQ(test, echo(a, 3), 4);
	fd->mb[0].aborts = 0;
	/* A write across the idle mailbox a into the claimed mailbox b */
	claim = pci_doe_claim(b, "kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
	KUNIT_EXPECT_EQ(test, pci_doe_user_check(pdev, 0x108, 0x20),
			-EPERM);
	/* Refused as a whole: a was not marked as written */
	KUNIT_EXPECT_EQ(test, echo(a, 4), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &fd->mb[0].aborts), 0);
	pci_doe_release(claim);
}

static void doe_user_take(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_dev *pdev = fd->pdev;
	struct pci_doe_claim *claim;
	unsigned int wdata = fake_get(fd, &fd->mb[0].wdata);
	const char *old;
	struct file *f1, *f2;

	f1 = kunit_kzalloc(test, sizeof(*f1), GFP_KERNEL);
	f2 = kunit_kzalloc(test, sizeof(*f2), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f1);
	KUNIT_ASSERT_NOT_NULL(test, f2);

	claim = pci_doe_claim(mb, "kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
	KUNIT_EXPECT_EQ(test, pci_doe_take(mb, f1), -EBUSY);
	pci_doe_release(claim);

	KUNIT_ASSERT_EQ(test, pci_doe_take(mb, f1), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_take(mb, f1), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_take(mb, f2), -EBUSY);
	/* The kernel is refused at once, without waiting */
	KUNIT_EXPECT_EQ(test, echo(mb, 5), -EBUSY);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_doe_claim(mb, "kunit")), -EBUSY);
	/* Every root writer gets through, also under the locked policy */
	KUNIT_EXPECT_EQ(test, pci_user_write_config(pdev, 0x110, 4, 1), 0);
	KUNIT_EXPECT_EQ(test, user_write(pdev, 0x110, 4), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_check(pdev, 0x110, 4), 0);
	old = pci_doe_set_policy("locked");
	KUNIT_EXPECT_EQ(test, user_write(pdev, 0x110, 4), 0);
	pci_doe_set_policy(old);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &fd->mb[0].wdata), wdata + 3);
	KUNIT_EXPECT_EQ(test, pci_doe_give(mb, f2), -EINVAL);

	/* Giving it back: the kernel aborts what root left, then works */
	KUNIT_EXPECT_EQ(test, pci_doe_give(mb, f1), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_give(mb, f1), -EINVAL);
	KUNIT_EXPECT_EQ(test, echo(mb, 6), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &fd->mb[0].aborts), 1);
	/* ... and root is kept out of the kernel's mailbox again */
	wdata = fake_get(fd, &fd->mb[0].wdata);
	claim = pci_doe_claim(mb, "kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(claim));
	KUNIT_EXPECT_EQ(test, user_write(pdev, 0x110, 4), -EPERM);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &fd->mb[0].wdata), wdata);
	pci_doe_release(claim);
}

/*
 * What userspace may exchange through the char device: the boot policy,
 * lockdown (read-only protocols only) and protocols a claim reserves; and
 * under the locked policy, no takeover of a mailbox carrying a refused one.
 */
static void doe_user_protocols(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct pci_doe_claim *a, *b;
	char old[256], orig[256];
	const char *policy;
	struct file *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);

	KUNIT_ASSERT_EQ(test, pci_doe_set_user_protocols("default", orig,
							 sizeof(orig)), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x0001, 0, false),
			DOE_PROT_ALLOWED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x1e98, 2, false),
			DOE_PROT_ALLOWED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x0001, 1, false),
			DOE_PROT_ALLOWED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x1e98, 0, false),
			DOE_PROT_REFUSED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_ECHO,
						    false), DOE_PROT_REFUSED);
	/* Lockdown leaves the protocols that only read */
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x0001, 0, true),
			DOE_PROT_ALLOWED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x1e98, 2, true),
			DOE_PROT_ALLOWED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x0001, 1, true),
			DOE_PROT_REFUSED);

	KUNIT_EXPECT_EQ(test, pci_doe_set_user_protocols("default, 7e57:01",
							 old, sizeof(old)), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_ECHO,
						    false), DOE_PROT_ALLOWED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_ECHO,
						    true), DOE_PROT_REFUSED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_SIZED,
						    false), DOE_PROT_REFUSED);
	KUNIT_EXPECT_EQ(test, pci_doe_set_user_protocols("7e57:02", old,
							 sizeof(old)), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, 0x0001, 0, false),
			DOE_PROT_REFUSED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_SIZED,
						    false), DOE_PROT_ALLOWED);
	/* A bad list allows nothing rather than everything */
	KUNIT_EXPECT_EQ(test, pci_doe_set_user_protocols("all,zz", old,
							 sizeof(old)), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_SIZED,
						    false), DOE_PROT_REFUSED);
	KUNIT_EXPECT_EQ(test, pci_doe_set_user_protocols("all", old,
							 sizeof(old)), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_SILENT,
						    false), DOE_PROT_ALLOWED);

	/* Reservations are per claim and go with it */
	a = pci_doe_claim(mb, "kunit-a");
	b = pci_doe_claim(mb, "kunit-b");
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	KUNIT_ASSERT_FALSE(test, IS_ERR(b));
	KUNIT_EXPECT_EQ(test, pci_doe_claim_reserve(a, 0x0001, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe_claim_reserve(a, TEST_VID, 0x09),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, pci_doe_claim_reserve(a, TEST_VID, TEST_ECHO), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_claim_reserve(a, TEST_VID, TEST_ECHO), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_ECHO,
						    false), DOE_PROT_RESERVED);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_SIZED,
						    false), DOE_PROT_ALLOWED);
	pci_doe_release(a);
	KUNIT_EXPECT_EQ(test, pci_doe_user_protocol(mb, TEST_VID, TEST_ECHO,
						    false), DOE_PROT_ALLOWED);
	pci_doe_release(b);

	/* Locked: no raw access to a mailbox with a refused protocol */
	policy = pci_doe_set_policy("locked");
	KUNIT_EXPECT_EQ(test, pci_doe_take(mb, f), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_give(mb, f), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_set_user_protocols("default", old,
							 sizeof(old)), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_take(mb, f), -EPERM);
	pci_doe_set_policy("strict");
	KUNIT_EXPECT_EQ(test, pci_doe_take(mb, f), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_give(mb, f), 0);
	pci_doe_set_policy(policy);
	pci_doe_set_user_protocols(orig, old, sizeof(old));
}

/*
 * Each mailbox is a device of class pci_doe, child of its function, with
 * a char device, and goes away with the function's sysfs files.
 */
static void doe_mailbox_device(struct kunit *test)
{
	struct fake_dev *fd = fake_alloc(test, 2);
	struct pci_dev *pdev = fake_enumerate(test, fd);
	struct pci_doe_mb *a, *b;
	struct device *da, *db;
	char name[32];

	a = pci_doe_find_mailbox_at(pdev, 0x100);
	b = pci_doe_find_mailbox_at(pdev, 0x120);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	da = pci_doe_mailbox_dev(a);
	db = pci_doe_mailbox_dev(b);
	KUNIT_ASSERT_NOT_NULL(test, da);
	KUNIT_ASSERT_NOT_NULL(test, db);
	snprintf(name, sizeof(name), "%s-doe100", pci_name(pdev));
	KUNIT_EXPECT_STREQ(test, dev_name(da), name);
	snprintf(name, sizeof(name), "%s-doe120", pci_name(pdev));
	KUNIT_EXPECT_STREQ(test, dev_name(db), name);
	KUNIT_EXPECT_PTR_EQ(test, da->parent, &pdev->dev);
	KUNIT_EXPECT_STREQ(test, da->class->name, "pci_doe");
	KUNIT_EXPECT_NE(test, MAJOR(da->devt), 0);
	KUNIT_EXPECT_EQ(test, MAJOR(da->devt), MAJOR(db->devt));
	KUNIT_EXPECT_NE(test, MINOR(da->devt), MINOR(db->devt));
	KUNIT_EXPECT_TRUE(test, device_is_registered(da));
}

/* ---- Callbacks that call the library, and waiting for tasks ---- */

struct cb_ctx {
	struct pci_doe_mb *mb;
	struct fake_dev *fd;
	struct pci_doe_task task[4];
	__le32 req[4], rsp[4];
	int inner_rc;		/* what the callback's own calls returned */
	int submit_rc[2];
	int cancel_rc;
	int wait_rc;
	unsigned int resubmits;
	struct pci_doe_claim *claim;
	atomic_t calls[4];
	struct completion done[4];
};

static void cb_init(struct cb_ctx *c, struct pci_doe_mb *mb,
		    void (*complete)(struct pci_doe_task *task))
{
	unsigned int i;

	c->mb = mb;
	for (i = 0; i < ARRAY_SIZE(c->task); i++) {
		c->req[i] = cpu_to_le32(0x2000 + i);
		c->task[i] = (struct pci_doe_task){
			.vendor = TEST_VID,
			.type = TEST_ECHO,
			.request = &c->req[i],
			.request_sz = sizeof(c->req[i]),
			.response = &c->rsp[i],
			.response_sz = sizeof(c->rsp[i]),
			.complete = complete,
			.private = c,
		};
		init_completion(&c->done[i]);
	}
}

static unsigned int cb_index(struct pci_doe_task *task)
{
	struct cb_ctx *c = task->private;

	return task - c->task;
}

/*
 * Task 0's callback runs pci_doe() on its own mailbox while task 1 is
 * still queued behind it; then submits, cancels, claims and releases.
 */
static void cb_calls_library(struct pci_doe_task *task)
{
	struct cb_ctx *c = task->private;
	unsigned int i = cb_index(task);

	atomic_inc(&c->calls[i]);
	if (i == 0) {
		c->inner_rc = echo(c->mb, 0x77);
		c->claim = pci_doe_claim(c->mb, "kunit-cb");
		/* Task 2 stays on the device until the test lets it answer */
		fake_hold_next(c->fd, &c->fd->mb[0]);
		c->submit_rc[0] = pci_doe_submit(c->mb, &c->task[2]);
		c->submit_rc[1] = pci_doe_submit(c->mb, &c->task[3]);
		/* Task 3 is queued behind 2: withdrawn, its callback here */
		c->cancel_rc = pci_doe_cancel(&c->task[3]);
		pci_doe_release(c->claim);
		/* Waiting on a task of this mailbox from here cannot end */
		c->wait_rc = pci_doe_wait(&c->task[2]);
		msleep(20);
	}
	complete(&c->done[i]);
}

static void doe_callback_calls_library(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct cb_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct fake_mb *m = &fd->mb[0];
	unsigned int gos = fake_get(fd, &m->gos), i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	cb_init(c, mb, cb_calls_library);
	c->fd = fd;
	pci_doe_set_timeout(mb, 5 * USEC_PER_SEC);
	/* Task 0 waits on the device until task 1 is queued */
	fake_hold_next(fd, m);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &c->task[0]), 0);
	wait_for_go(test, fd, m, gos + 1);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &c->task[1]), 0);
	fake_answer(fd, m);
	/* Task 0's callback has returned; task 2 waits on the device */
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&c->done[0], 10 * HZ),
			0);
	wait_for_go(test, fd, m, gos + 4);
	fake_answer(fd, m);

	for (i = 1; i < 4; i++)
		KUNIT_ASSERT_NE(test,
				wait_for_completion_timeout(&c->done[i], 10 * HZ),
				0);
	KUNIT_EXPECT_EQ(test, c->inner_rc, 4);
	KUNIT_EXPECT_FALSE(test, IS_ERR(c->claim));
	KUNIT_EXPECT_EQ(test, c->submit_rc[0], 0);
	KUNIT_EXPECT_EQ(test, c->submit_rc[1], 0);
	KUNIT_EXPECT_EQ(test, c->cancel_rc, 0);
	KUNIT_EXPECT_EQ(test, c->wait_rc, -EDEADLK);
	KUNIT_EXPECT_EQ(test, c->task[0].rv, 4);
	KUNIT_EXPECT_EQ(test, c->task[1].rv, 4);
	KUNIT_EXPECT_EQ(test, c->task[2].rv, 4);
	KUNIT_EXPECT_EQ(test, c->task[3].rv, -ECANCELED);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, atomic_read(&c->calls[i]), 1);
		if (i < 3)
			KUNIT_EXPECT_EQ(test, le32_to_cpu(c->rsp[i]),
					0x2000 + i);
	}
	/* Tasks 0 and 1, the callback's pci_doe(), then task 2 */
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->gos), gos + 4);
	/* The claim is gone: root may write again */
	KUNIT_EXPECT_EQ(test, user_write(fd->pdev, 0x110, 4), 0);
}

/* Frees its own task; the library must not touch it afterwards (KASAN) */
static void cb_frees_task(struct pci_doe_task *task)
{
	struct completion *done = task->private;

	kfree(task->response);
	kfree(task);
	complete(done);
}

/* Resubmits its task until it ran three times */
static void cb_resubmits(struct pci_doe_task *task)
{
	struct cb_ctx *c = task->private;

	if (++c->resubmits < 3 && !pci_doe_submit(c->mb, task))
		return;
	complete(&c->done[0]);
}

static void doe_callback_frees_and_resubmits(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct cb_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	DECLARE_COMPLETION_ONSTACK(freed);
	struct pci_doe_task *t;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		t = kzalloc(sizeof(*t), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, t);
		t->vendor = TEST_VID;
		t->type = TEST_ECHO;
		t->response = kzalloc(4, GFP_KERNEL);
		t->response_sz = 4;
		t->complete = cb_frees_task;
		t->private = &freed;
		KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, t), 0);
	}
	for (i = 0; i < 8; i++)
		KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&freed, 10 * HZ),
				0);

	KUNIT_ASSERT_NOT_NULL(test, c);
	cb_init(c, mb, cb_resubmits);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &c->task[0]), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&c->done[0], 10 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, c->resubmits, 3);
	KUNIT_EXPECT_EQ(test, c->task[0].rv, 4);
	/* Resubmitted from its callback: done once the last callback returned */
	KUNIT_EXPECT_EQ(test, pci_doe_wait(&c->task[0]), 0);
}

static void cb_slow(struct pci_doe_task *task)
{
	struct cb_ctx *c = task->private;
	unsigned int i = cb_index(task);

	atomic_inc(&c->calls[i]);
	msleep(50);
	complete(&c->done[i]);
}

/*
 * pci_doe_cancel() says -EBUSY for a running task; pci_doe_wait() returns
 * once its callback (which sleeps) has returned, so the caller may free
 * it.  Waiting on a task never submitted or done returns at once.
 */
static void doe_wait_for_running_task(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct cb_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct fake_mb *m = &fd->mb[0];
	unsigned int gos = fake_get(fd, &m->gos);
	struct pci_doe_task never = {};

	KUNIT_ASSERT_NOT_NULL(test, c);
	cb_init(c, mb, cb_slow);
	KUNIT_EXPECT_EQ(test, pci_doe_wait(&never), -EINVAL);
	fake_hold_next(fd, m);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &c->task[0]), 0);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &c->task[1]), 0);
	wait_for_go(test, fd, m, gos + 1);
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&c->task[0]), -EBUSY);
	fake_answer(fd, m);
	KUNIT_EXPECT_EQ(test, pci_doe_wait(&c->task[0]), 0);
	/* Its callback has returned, not only started */
	KUNIT_EXPECT_TRUE(test, completion_done(&c->done[0]));
	KUNIT_EXPECT_EQ(test, pci_doe_wait(&c->task[1]), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&c->done[1]));
	KUNIT_EXPECT_EQ(test, atomic_read(&c->calls[0]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->calls[1]), 1);
	KUNIT_EXPECT_EQ(test, pci_doe_wait(&c->task[0]), 0);
	KUNIT_EXPECT_EQ(test, pci_doe_cancel(&c->task[0]), -EINVAL);
}

/* pci_doe_submit() from atomic context: spinlock held, interrupts off */
static void doe_submit_atomic(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct async_ctx *ctx = async_alloc(test, 4, TEST_ECHO);
	static DEFINE_SPINLOCK(lock);
	unsigned long flags;
	unsigned int i;
	int rc[4];

	spin_lock_irqsave(&lock, flags);
	for (i = 0; i < 4; i++)
		rc[i] = pci_doe_submit(mb, &ctx->task[i]);
	spin_unlock_irqrestore(&lock, flags);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, rc[i], 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 10 * HZ),
			0);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, ctx->task[i].rv, 4);
}

/*
 * A task queued while pci_doe() runs in its caller's context must start as
 * soon as that exchange ends, without another submission to wake the
 * queue (a lost wake-up otherwise).
 */
static void doe_queued_behind_inline(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	struct async_ctx *ctx = async_alloc(test, 1, TEST_ECHO);
	struct inline_caller c = { .mb = mb };
	unsigned int gos = fake_get(fd, &m->gos);
	struct task_struct *t;

	init_completion(&c.done);
	pci_doe_set_timeout(mb, 10 * USEC_PER_SEC);
	fake_hold_next(fd, m);
	t = kthread_run(inline_caller_fn, &c, "doe-inline");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	wait_for_go(test, fd, m, gos + 1);
	KUNIT_ASSERT_EQ(test, pci_doe_submit(mb, &ctx->task[0]), 0);
	fake_answer(fd, m);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&c.done, 10 * HZ), 0);
	KUNIT_EXPECT_EQ(test, c.rc, 4);
	/* Nothing else is submitted: the queued task must still run */
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->all, 5 * HZ),
			0);
	KUNIT_EXPECT_EQ(test, ctx->task[0].rv, 4);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(ctx->rsp[0]), 0x1000);
}

/* ---- End of a response ---- */

/*
 * Data Object Ready still set for a few Status reads after the last dword:
 * a device slow to clear it does not lose a valid response; one that keeps
 * it set (its object is longer than its Length) fails.
 */
static void doe_ready_lingers(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];

	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->fault = FAULT_READY_LINGERS;
		m->fault_arg = 3;
		m->fault_times = 1;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 8), 4);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 0);

	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->fault = FAULT_READY_LINGERS;
		m->fault_arg = ~0U;
		m->fault_times = 1;
	}
	KUNIT_EXPECT_EQ(test, echo(mb, 9), -EIO);
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->aborts), 1);
	KUNIT_EXPECT_EQ(test, echo(mb, 10), 4);
}

/*
 * Error raised half-way through a long response is seen at the Status
 * check every 256 dwords, not only at the end: the read stops early.
 */
static void doe_error_midway_long_response(struct kunit *test)
{
	struct fake_dev *fd;
	struct pci_doe_mb *mb = setup_one(test, &fd);
	struct fake_mb *m = &fd->mb[0];
	unsigned int pops = fake_get(fd, &m->pops);
	void *buf = kunit_kzalloc(test, 2000 * 4, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	scoped_guard(raw_spinlock_irqsave, &fd->lock) {
		m->fault = FAULT_ERROR_MID;
		m->fault_arg = 300;
		m->fault_times = 1;
	}
	KUNIT_EXPECT_EQ(test, sized(mb, 2000, buf, 2000 * 4), -EIO);
	/* Stopped at the check after dword 512 of the payload, not at 2000 */
	KUNIT_EXPECT_EQ(test, fake_get(fd, &m->pops) - pops, 2 + 512);
	KUNIT_EXPECT_EQ(test, sized(mb, 2000, buf, 2000 * 4), 2000 * 4);
}

static struct kunit_case doe_cases[] = {
	KUNIT_CASE(doe_discovery_v2),
	KUNIT_CASE(doe_discovery_v0),
	KUNIT_CASE(doe_discovery_many),
	KUNIT_CASE(doe_discovery_loop),
	KUNIT_CASE(doe_discovery_self_loop),
	KUNIT_CASE(doe_discovery_duplicates),
	KUNIT_CASE(doe_discovery_failure),
	KUNIT_CASE(doe_several_mailboxes),
	KUNIT_CASE_PARAM(doe_exchange_sizes, doe_sizes_gen_params),
	KUNIT_CASE(doe_response_not_dword_sized),
	KUNIT_CASE(doe_exchange_large),
	KUNIT_CASE_SLOW(doe_exchange_max_object),
	KUNIT_CASE(doe_response_longer_than_buffer),
	KUNIT_CASE(doe_response_shorter_than_buffer),
	KUNIT_CASE(doe_empty_response),
	KUNIT_CASE_PARAM(doe_fault_then_recover, doe_faults_gen_params),
	KUNIT_CASE(doe_stale_error),
	KUNIT_CASE(doe_stale_response),
	KUNIT_CASE(doe_busy_clears),
	KUNIT_CASE(doe_busy_stuck),
	KUNIT_CASE(doe_ready_late),
	KUNIT_CASE(doe_abort_fails_then_recovers),
	KUNIT_CASE(doe_device_gone),
	KUNIT_CASE(doe_config_accesses),
	KUNIT_CASE(doe_bad_requests),
	KUNIT_CASE(doe_async_fifo),
	KUNIT_CASE_SLOW(doe_async_parallel_mailboxes),
	KUNIT_CASE(doe_async_cancel),
	KUNIT_CASE(doe_async_bad_task),
	KUNIT_CASE(doe_remove_with_tasks),
	KUNIT_CASE(doe_remove_idle),
	KUNIT_CASE(doe_two_submitters),
	KUNIT_CASE(doe_sync_runs_inline),
	KUNIT_CASE(doe_remove_during_inline),
	KUNIT_CASE(doe_discovery_retry),
	KUNIT_CASE(doe_stray_dword_before_enumeration),
	KUNIT_CASE(doe_claim_denies_user_writes),
	KUNIT_CASE(doe_claims_are_counted),
	KUNIT_CASE(doe_exchange_in_flight_owns),
	KUNIT_CASE(doe_denied_write_writes_nothing),
	KUNIT_CASE(doe_user_take),
	KUNIT_CASE(doe_mailbox_device),
	KUNIT_CASE(doe_user_protocols),
	KUNIT_CASE(doe_user_write_truncated_offsets),
	KUNIT_CASE(doe_user_write_stalled),
	KUNIT_CASE(doe_relaxed_write_during_exchange),
	KUNIT_CASE(doe_claim_outlives_function),
	KUNIT_CASE(doe_devm_claim),
	KUNIT_CASE(doe_callback_calls_library),
	KUNIT_CASE(doe_callback_frees_and_resubmits),
	KUNIT_CASE(doe_wait_for_running_task),
	KUNIT_CASE(doe_submit_atomic),
	KUNIT_CASE(doe_queued_behind_inline),
	KUNIT_CASE(doe_ready_lingers),
	KUNIT_CASE(doe_error_midway_long_response),
	{}
};

static struct kunit_suite doe_suite = {
	.name = "pci_doe",
	.exit = doe_test_exit,
	.test_cases = doe_cases,
};

kunit_test_suite(doe_suite);

MODULE_DESCRIPTION("KUnit tests for the PCI DOE library");
MODULE_LICENSE("GPL");
