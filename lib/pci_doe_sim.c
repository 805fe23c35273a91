// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated PCI functions with DOE mailboxes and fault injection
 *
 * A software PCI host bridge in a PCI domain of its own (the first free one
 * from 0x10000, as VMD does) with custom pci_ops.  The PCI core enumerates
 * its functions like real ones: sysfs and /proc/bus/pci config access,
 * lspci, the DOE library's Discovery at enumeration and its ownership checks
 * all see them.  Each function is a Root Complex Integrated Endpoint with up
 * to 16 Data Object Exchange mailboxes (PCIe r6.2 sec 6.30, registers in sec
 * 7.9.24) served from memory by the config accessors, which answer DOE
 * Discovery (version 0 or 2 as the capability version says), an echo
 * protocol, a "sized" protocol and CXL Table Access (a CDAT), after a
 * programmable latency, and misbehave on demand.
 *
 * Functions and their mailboxes are created and destroyed at run time
 * through /sys/kernel/debug/pci_doe_sim/:
 *
 *   add        write "NR_MAILBOXES [CAP_VERSION]" (0-16, 1-15, default 2):
 *              creates the lowest free devfn of bus 0 (function ID = devfn,
 *              so 32 devices x 8 functions) and enumerates it; read back on
 *              the same file: "ID BDF" of the function it created
 *   del        write ID: removes the function from the PCI core and frees it
 *   rescan     write anything: rescan the bus (functions removed through
 *              sysfs come back)
 *   functions  one "ID BDF MAILBOXES STATE" line per function
 *   domain     the PCI domain, hexadecimal
 *   stats      "functions N", "pending N", "max_pending N": mailboxes
 *              processing a request now and at most so far (write: reset)
 *   fID/       bdf, mailboxes (offsets), state (present, absent: not on
 *              the bus, all_ones, surprise_removed), surprise (write: the
 *              function reads all-ones from now on and is removed from a
 *              work item, as a surprise link down would), other_writes
 *              (config writes outside the mailboxes, which are dropped)
 *   fID/mbK/   the mailbox at config offset 0x100 + 0x20 * K:
 *     offset, version       read only
 *     protocols             Discovery list, "vvvv:tt ..." (hex, in index
 *                           order; default 0001:00 7e57:01 7e57:02 1e98:02).
 *                           Only listed protocols are answered.
 *     latency_us            Data Object Ready is set by the first Status
 *                           read at or after Go + latency; Busy until then
 *     table_entries         CDAT structures after the CDAT header (0-4096)
 *     seed                  seed of the fuzz PRNG
 *     counters              config reads and writes per register, Gos,
 *                           exchanges served, aborts...; write: reset
 *     state                 register state, for debugging
 *     <fault>               "off", "once [ARG]", "every N [ARG]" or
 *                           "always [ARG]"; reads back the mode and how
 *                           often it had a chance to fire ("seen") and did
 *
 * Protocols: 0001:00 DOE Discovery; 7e57:01 echo (response payload =
 * request payload, at most 2046 dwords); 7e57:02 sized (request dword N:
 * N dwords of (i ^ 0xa5a50000), up to a whole 2^18-dword object, generated
 * on the fly); 1e98:02 CXL Table Access read entry of a CDAT of DSMAS
 * structures (handle 0 is the header, the last entry's next handle 0xffff).
 * Anything else, a Length that does not match the dwords written, or a Go
 * while Busy or Error is discarded silently (sec 6.30.2); a Read Data
 * Mailbox write with no object ready sets Error; Abort clears everything.
 *
 * Faults.  Each has a mode: once (the next chance, then off), every N (every
 * Nth chance) or always.  The chances of a fault, counted from when it is
 * written, are:
 *
 *   at each Go of a well-formed request:
 *     error_before_response   Error, no response
 *     error_during_response   Error once ARG dwords (default 3) are read,
 *                             rest discarded
 *     ready_never             Busy, never Data Object Ready
 *     wrong_vendor, wrong_type  response header altered
 *     length_0, length_1      Length field 0 (2^18) / 1, object unchanged
 *     too_short, too_long     Length field one less / four more than sent
 *     length_max              a real 2^18-dword object (Length 0) of the
 *                             request's protocol, pattern payload
 *     fuzz                    random response: header, Length, dwords,
 *                             Error before or during the response, Ready
 *                             late, random Busy, Interrupt Status and
 *                             reserved Status bits until the next Go or
 *                             Abort; always resolves within a few reads
 *     all_ones                every config read of the function returns
 *                             ~0 and writes are dropped, until this file is
 *                             written again; "always" applies at once
 *     surprise_remove         all-ones at once, and the function is removed
 *                             from a work item (pci_stop_and_remove...)
 *   when the mailbox becomes idle (written, last response dword read, Abort
 *   done):
 *     busy_stuck              Busy until an Abort (with always, an Abort
 *                             clears it and it is set again at once)
 *     busy_for ARG            Busy for ARG microseconds (an Abort clears it)
 *   at each Discovery response for the last index:
 *     discovery_loop ARG      Next Index ARG instead of 0
 *   at each Abort:
 *     abort_ignored           nothing happens
 *     abort_slow ARG          Busy for ARG microseconds, then the Abort
 *                             completes
 *
 * Locking: the config accessors run with interrupts off (under pci_lock for
 * userspace accesses) and only take the raw spinlock of the mailbox they
 * touch; they never sleep or allocate.  Functions are looked up under RCU.
 *
 * The simulator emulates hardware only and uses no DOE library API, so it
 * also builds as an out-of-tree module against a stock kernel (from lib/):
 *
 *   mkdir /tmp/sim && cp pci_doe_sim.c /tmp/sim/ &&
 *   echo 'obj-m := pci_doe_sim.o' >/tmp/sim/Kbuild &&
 *   make -C /lib/modules/$(uname -r)/build M=/tmp/sim modules
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/cleanup.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/kstrtox.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/prandom.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/workqueue.h>

#define SIM_VENDOR		PCI_VENDOR_ID_REDHAT	/* as QEMU's test devices */
#define SIM_DEVICE		0x7e58
/* Bus 0 only: function ID = devfn */
#define SIM_MAX_FUNCS		256
#define SIM_MAX_MB		16
/* Mailbox K's capability: 0x100 + 0x20 * K, 0x18 bytes (sec 7.9.24) */
#define SIM_CAP_BASE		PCI_CFG_SPACE_SIZE
#define SIM_CAP_STRIDE		0x20
#define SIM_PCIE_CAP		0x40
/* Request buffer and echo response buffer, dwords, header included */
#define SIM_BUF_DW		2048
/* Largest data object: 2^18 dwords, Length 0 (PCIe r6.2 sec 6.30.1) */
#define SIM_MAX_OBJECT_DW	0x40000U
/* Discovery indices are 8 bits wide (sec 6.30.1.1) */
#define SIM_MAX_PROTS		256
#define SIM_MAX_TABLE		4096
#define SIM_DOMAIN_BASE		0x10000
#define SIM_DOMAIN_TRIES	0x1000
#define SIM_PATTERN		0xa5a50000U
/* Largest write to a control file: a full protocol list */
#define SIM_MAX_INPUT		4096
/* A response cannot be slower than this; more is surely a typo */
#define SIM_MAX_DELAY_US	(600ULL * USEC_PER_SEC)
/* error_during_response without ARG: Error once this many dwords were read */
#define SIM_ERROR_AFTER_DW	3

/* Test protocols, as in drivers/pci/tests/doe_kunit.c */
#define SIM_VID_TEST		0x7e57
#define SIM_TYPE_ECHO		0x01
#define SIM_TYPE_SIZED		0x02
/* CXL Table Access, CXL r3.1 sec 8.1.11 */
#define SIM_TYPE_TABLE		0x02
#define SIM_TABLE_HANDLE	GENMASK(31, 16)
#define SIM_TABLE_LAST		0xffff
/* CDAT header and DSMAS structure sizes (CDAT r1.03 sec 2), dwords */
#define SIM_CDAT_HDR_DW		4
#define SIM_CDAT_DSMAS_DW	6

/* Response payload of a fuzzed exchange, at most (dwords) */
#define SIM_FUZZ_MAX_DW		8
#define SIM_STATUS_DEFINED	(PCI_DOE_STATUS_BUSY | \
				 PCI_DOE_STATUS_INT_STATUS | \
				 PCI_DOE_STATUS_ERROR | \
				 PCI_DOE_STATUS_DATA_OBJECT_READY)

enum sim_fault_id {
	/* at Go */
	SIM_ERROR_BEFORE,
	SIM_ERROR_DURING,
	SIM_READY_NEVER,
	SIM_WRONG_VENDOR,
	SIM_WRONG_TYPE,
	SIM_LENGTH_0,
	SIM_LENGTH_1,
	SIM_TOO_SHORT,
	SIM_TOO_LONG,
	SIM_LENGTH_MAX,
	SIM_FUZZ,
	SIM_ALL_ONES,
	SIM_SURPRISE_REMOVE,
	SIM_NR_GO_FAULTS,
	/* when idle */
	SIM_BUSY_STUCK = SIM_NR_GO_FAULTS,
	SIM_BUSY_FOR,
	/* at Discovery of the last index */
	SIM_DISCOVERY_LOOP,
	/* at Abort */
	SIM_ABORT_IGNORED,
	SIM_ABORT_SLOW,
	SIM_NR_FAULTS
};

static const char * const sim_fault_names[SIM_NR_FAULTS] = {
	[SIM_ERROR_BEFORE] = "error_before_response",
	[SIM_ERROR_DURING] = "error_during_response",
	[SIM_READY_NEVER] = "ready_never",
	[SIM_WRONG_VENDOR] = "wrong_vendor",
	[SIM_WRONG_TYPE] = "wrong_type",
	[SIM_LENGTH_0] = "length_0",
	[SIM_LENGTH_1] = "length_1",
	[SIM_TOO_SHORT] = "too_short",
	[SIM_TOO_LONG] = "too_long",
	[SIM_LENGTH_MAX] = "length_max",
	[SIM_FUZZ] = "fuzz",
	[SIM_ALL_ONES] = "all_ones",
	[SIM_SURPRISE_REMOVE] = "surprise_remove",
	[SIM_BUSY_STUCK] = "busy_stuck",
	[SIM_BUSY_FOR] = "busy_for",
	[SIM_DISCOVERY_LOOP] = "discovery_loop",
	[SIM_ABORT_IGNORED] = "abort_ignored",
	[SIM_ABORT_SLOW] = "abort_slow",
};

enum sim_mode {
	SIM_OFF,
	SIM_ONCE,
	SIM_EVERY,
	SIM_ALWAYS,
};

static const char * const sim_mode_names[] = {
	[SIM_OFF] = "off",
	[SIM_ONCE] = "once",
	[SIM_EVERY] = "every",
	[SIM_ALWAYS] = "always",
};

/**
 * struct sim_fault - one fault knob of a mailbox
 * @mode: when it fires, enum sim_mode
 * @every: N of "every N"
 * @arg: microseconds for busy_for and abort_slow, the index for
 *	discovery_loop
 * @seen: chances to fire since it was written
 * @fired: times it fired since it was written
 */
struct sim_fault {
	enum sim_mode mode;
	u32 every;
	u64 arg;
	u64 seen;
	u64 fired;
};

/* The six registers of a DOE capability, by offset / 4 */
enum sim_reg {
	SIM_REG_HEADER,
	SIM_REG_CAP,
	SIM_REG_CTRL,
	SIM_REG_STATUS,
	SIM_REG_WRITE,
	SIM_REG_READ,
	SIM_NR_REGS
};

static const char * const sim_reg_names[SIM_NR_REGS] = {
	"header", "cap", "ctrl", "status", "write_mailbox", "read_mailbox",
};

/**
 * struct sim_counters - what a mailbox saw
 * @reads: config reads per register
 * @writes: config writes per register
 * @gos: Go writes
 * @gos_ignored: Go while Busy or Error, ignored
 * @discarded: objects discarded (bad Length, unknown protocol, ...)
 * @exchanges: responses produced
 * @aborts: Abort writes
 * @aborts_ignored: Abort writes ignored by abort_ignored
 * @errors: times Error was raised
 * @discovery_version: Discovery Version of the last Discovery request
 */
struct sim_counters {
	u64 reads[SIM_NR_REGS];
	u64 writes[SIM_NR_REGS];
	u64 gos;
	u64 gos_ignored;
	u64 discarded;
	u64 exchanges;
	u64 aborts;
	u64 aborts_ignored;
	u64 errors;
	u8 discovery_version;
};

struct sim_fn;
struct sim_mb;

/* One debugfs file of a mailbox: what it shows and stores */
struct sim_attr {
	const char *name;
	umode_t mode;
	int (*show)(struct seq_file *s, struct sim_mb *mb, int arg);
	int (*store)(struct sim_mb *mb, int arg, char *buf);
	int arg;
};

/* i_private of a mailbox file */
struct sim_node {
	struct sim_mb *mb;
	const struct sim_attr *attr;
};

#define SIM_NR_MB_ATTRS		(8 + SIM_NR_FAULTS)

/**
 * struct sim_mb - one emulated DOE mailbox
 * @fn: function it belongs to
 * @index: K of mbK
 * @offset: config offset of its capability
 * @version: capability version
 * @nodes: its debugfs files
 * @lock: protects every field below; taken by the config accessors with
 *	interrupts off and by the debugfs files.  Nests outside sim_fn.lock
 *	and sim_stats_lock.
 * @nr_prots: entries of @prots
 * @prots: Discovery list, vendor in bits 15:0, type in 23:16
 * @latency_us: Go to Data Object Ready
 * @table_entries: CDAT structures after the header
 * @table_checksum: CDAT header checksum byte for @table_entries
 * @seed: seed of @rnd
 * @rnd: fuzz PRNG
 * @faults: fault knobs
 * @wbuf: request dwords written (the first SIM_BUF_DW)
 * @wlen: dwords written since the last Go or Abort (saturates past 2^18)
 * @rbuf: response dwords; only the two header dwords when @rgen
 * @rgen: response payload dword i is (i ^ SIM_PATTERN), not in @rbuf
 * @rlen: dwords in the response object as sent (whatever its Length says)
 * @rpos: response dwords read
 * @ready: Data Object Ready
 * @error: Error
 * @pending: processing a request: Busy, Ready at @ready_at
 * @ready_at: when a Status read sets Ready; KTIME_MAX for never
 * @ready_reads: Status reads that must see Busy first (fuzz)
 * @error_at: raise Error once this many response dwords were read, 0: no
 * @busy_stuck: Busy until Abort (busy_stuck fault)
 * @busy_until: Busy until then (busy_for fault)
 * @aborting: a slow Abort is in progress, done at @abort_done
 * @abort_done: end of the slow Abort
 * @fuzzing: add random Status bits (fuzz fault) until the next Go or Abort
 * @cnt: counters
 */
struct sim_mb {
	struct sim_fn *fn;
	unsigned int index;
	u16 offset;
	u8 version;
	struct sim_node nodes[SIM_NR_MB_ATTRS];

	raw_spinlock_t lock;	/* everything below, see above */
	unsigned int nr_prots;
	u32 prots[SIM_MAX_PROTS];
	u64 latency_us;
	unsigned int table_entries;
	u8 table_checksum;
	u64 seed;
	struct rnd_state rnd;
	struct sim_fault faults[SIM_NR_FAULTS];

	u32 *wbuf;
	unsigned int wlen;
	u32 *rbuf;
	bool rgen;
	unsigned int rlen;
	unsigned int rpos;
	bool ready;
	bool error;
	bool pending;
	ktime_t ready_at;
	unsigned int ready_reads;
	unsigned int error_at;
	bool busy_stuck;
	ktime_t busy_until;
	bool aborting;
	ktime_t abort_done;
	bool fuzzing;
	struct sim_counters cnt;
};

/**
 * struct sim_fn - one emulated PCI function
 * @id: its ID, which is also its devfn on bus 0
 * @bdf: its PCI name
 * @cfg: config space outside the mailboxes, read-only
 * @dir: debugfs directory fID/
 * @remove_work: removes the function from the PCI core (surprise removal)
 * @lock: protects @all_ones, @surprised and @dying against each other; the
 *	config accessors read the first two without it.  Taken inside
 *	sim_mb.lock.
 * @all_ones: mailboxes whose all_ones fault fired, one bit each
 * @surprised: surprise removal happened: all-ones for good
 * @dying: being deleted: @remove_work is not queued any more
 * @other_writes: config writes outside the mailboxes (dropped)
 * @exit_node: on the list of functions sim_exit() frees
 * @nr_mb: number of mailboxes
 * @mb: the mailboxes
 */
struct sim_fn {
	unsigned int id;
	char bdf[16];
	u8 cfg[PCI_CFG_SPACE_EXP_SIZE];
	struct dentry *dir;
	struct work_struct remove_work;

	raw_spinlock_t lock;	/* all_ones, surprised, dying; see above */
	u32 all_ones;
	bool surprised;
	bool dying;
	atomic_t other_writes;

	struct list_head exit_node;
	unsigned int nr_mb;
	struct sim_mb mb[] __counted_by(nr_mb);
};

/*
 * Serialises add, del, rescan and module exit; protects the updates of
 * sim_fns (the config accessors read it under RCU) and sim_last_id.
 * Taken before pci_lock_rescan_remove().
 */
static DEFINE_MUTEX(sim_lock);
static struct sim_fn __rcu *sim_fns[SIM_MAX_FUNCS];
static int sim_last_id = -1;

/* Mailboxes processing a request now and at most: taken inside sim_mb.lock */
static DEFINE_RAW_SPINLOCK(sim_stats_lock);
static unsigned int sim_pending;
static unsigned int sim_max_pending;

/* Set up at module init, constant afterwards */
static struct pci_bus *sim_bus;
static struct resource sim_busn = DEFINE_RES_NAMED(0, 1, "pci_doe_sim",
						    IORESOURCE_BUS);
#ifdef CONFIG_X86
static struct pci_sysdata sim_sysdata = { .node = NUMA_NO_NODE };
#endif
static struct dentry *sim_dir;

/* ---- register emulation (atomic context, mailbox lock held) ---- */

static bool sim_fires(struct sim_fault *f)
{
	bool fire;

	switch (f->mode) {
	case SIM_ONCE:
		fire = true;
		f->mode = SIM_OFF;
		break;
	case SIM_EVERY:
		fire = !((f->seen + 1) % f->every);
		break;
	case SIM_ALWAYS:
		fire = true;
		break;
	default:
		return false;
	}
	f->seen++;
	if (fire)
		f->fired++;
	return fire;
}

static void sim_set_pending(struct sim_mb *mb, bool pending)
{
	lockdep_assert_held(&mb->lock);

	if (mb->pending == pending)
		return;
	mb->pending = pending;
	raw_spin_lock(&sim_stats_lock);
	if (pending) {
		sim_pending++;
		sim_max_pending = max(sim_max_pending, sim_pending);
	} else {
		sim_pending--;
	}
	raw_spin_unlock(&sim_stats_lock);
}

/* Everything an Abort clears */
static void sim_reset(struct sim_mb *mb)
{
	mb->wlen = 0;
	mb->rlen = 0;
	mb->rpos = 0;
	mb->rgen = false;
	mb->ready = false;
	mb->error = false;
	sim_set_pending(mb, false);
	mb->ready_reads = 0;
	mb->error_at = 0;
	mb->busy_stuck = false;
	mb->busy_until = 0;
	mb->aborting = false;
	mb->fuzzing = false;
}

/* The mailbox became idle: a chance for the Busy faults */
static void sim_idle(struct sim_mb *mb, ktime_t now)
{
	if (sim_fires(&mb->faults[SIM_BUSY_STUCK]))
		mb->busy_stuck = true;
	if (sim_fires(&mb->faults[SIM_BUSY_FOR]))
		mb->busy_until = ktime_add_us(now,
					      mb->faults[SIM_BUSY_FOR].arg);
}

/* Advance time-driven state: a slow Abort ending, a response becoming ready */
static void sim_tick(struct sim_mb *mb, ktime_t now, bool status_read)
{
	if (mb->aborting && !ktime_before(now, mb->abort_done)) {
		sim_reset(mb);
		sim_idle(mb, now);
	}
	if (!status_read || !mb->pending)
		return;
	if (mb->ready_reads) {
		mb->ready_reads--;
		return;
	}
	if (!ktime_before(now, mb->ready_at)) {
		sim_set_pending(mb, false);
		mb->ready = true;
	}
}

static bool sim_busy(struct sim_mb *mb, ktime_t now)
{
	return mb->busy_stuck || mb->pending || mb->aborting ||
	       ktime_before(now, mb->busy_until);
}

static u32 sim_status(struct sim_mb *mb)
{
	ktime_t now = ktime_get();
	u32 val = 0, r;

	sim_tick(mb, now, true);
	if (sim_busy(mb, now))
		val |= PCI_DOE_STATUS_BUSY;
	if (mb->error)
		val |= PCI_DOE_STATUS_ERROR;
	if (mb->ready)
		val |= PCI_DOE_STATUS_DATA_OBJECT_READY;
	if (mb->fuzzing) {
		r = prandom_u32_state(&mb->rnd);
		if (!(r & 0x7))
			val |= PCI_DOE_STATUS_BUSY;
		if (r & 0x8)
			val |= PCI_DOE_STATUS_INT_STATUS;
		if (!(r & 0x70))
			val |= prandom_u32_state(&mb->rnd) &
			       ~SIM_STATUS_DEFINED;
	}
	return val;
}

/* Response dword @i */
static u32 sim_rsp_dw(struct sim_mb *mb, unsigned int i)
{
	if (i < 2 || !mb->rgen)
		return mb->rbuf[i];
	return (i - 2) ^ SIM_PATTERN;
}

static u32 sim_length_field(unsigned int dw)
{
	/* 2^18 dwords are sent as Length 0 (sec 6.30.1) */
	return FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH,
			  dw & PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH);
}

/* Start a response of @payload_dw dwords after the two header dwords */
static void sim_rsp_start(struct sim_mb *mb, unsigned int payload_dw,
			  bool gen)
{
	mb->rbuf[0] = mb->wbuf[0];
	mb->rbuf[1] = sim_length_field(payload_dw + 2);
	mb->rlen = payload_dw + 2;
	mb->rgen = gen;
	mb->rpos = 0;
}

static bool sim_advertised(struct sim_mb *mb, u16 vid, u8 type)
{
	u32 want = vid | type << 16;
	unsigned int i;

	for (i = 0; i < mb->nr_prots; i++)
		if (mb->prots[i] == want)
			return true;
	return false;
}

static bool sim_discovery(struct sim_mb *mb)
{
	u32 req, index, next;

	if (mb->wlen != 3)
		return false;
	req = mb->wbuf[2];
	index = FIELD_GET(PCI_DOE_DATA_OBJECT_DISC_REQ_3_INDEX, req);
	mb->cnt.discovery_version =
		FIELD_GET(PCI_DOE_DATA_OBJECT_DISC_REQ_3_VER, req);
	if (index >= mb->nr_prots)
		return false;

	next = index + 1 < mb->nr_prots ? index + 1 : 0;
	if (!next && sim_fires(&mb->faults[SIM_DISCOVERY_LOOP]))
		next = mb->faults[SIM_DISCOVERY_LOOP].arg & 0xff;

	sim_rsp_start(mb, 1, false);
	mb->rbuf[2] = FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_RSP_3_VID,
				 mb->prots[index] & 0xffff) |
		      FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_RSP_3_PROTOCOL,
				 mb->prots[index] >> 16) |
		      FIELD_PREP(PCI_DOE_DATA_OBJECT_DISC_RSP_3_NEXT_INDEX,
				 next);
	return true;
}

/* CDAT structure @handle (0: the header) as little-endian dwords */
static unsigned int sim_cdat_entry(unsigned int handle, unsigned int entries,
				   u8 checksum, u32 *dw)
{
	u64 base = (u64)(handle - 1) * SZ_256M;

	if (!handle) {
		/* Length, Revision 1 + Checksum, reserved, Sequence */
		dw[0] = SIM_CDAT_HDR_DW * 4 + entries * SIM_CDAT_DSMAS_DW * 4;
		dw[1] = 1 | checksum << 8;
		dw[2] = 0;
		dw[3] = 1;
		return SIM_CDAT_HDR_DW;
	}
	/* DSMAS: type 0, length 24, DSMAD handle, DPA base and length */
	dw[0] = (SIM_CDAT_DSMAS_DW * 4) << 16;
	dw[1] = handle & 0xff;
	dw[2] = lower_32_bits(base);
	dw[3] = upper_32_bits(base);
	dw[4] = SZ_256M;
	dw[5] = 0;
	return SIM_CDAT_DSMAS_DW;
}

static bool sim_table(struct sim_mb *mb)
{
	u32 req, handle, next, dw[SIM_CDAT_DSMAS_DW];
	unsigned int n, i;

	if (mb->wlen != 3)
		return false;
	req = mb->wbuf[2];
	handle = FIELD_GET(SIM_TABLE_HANDLE, req);
	/* Request Code 0 (read entry), Table Type 0 (CDAT) */
	if ((req & 0xffff) || handle > mb->table_entries)
		return false;

	next = handle < mb->table_entries ? handle + 1 : SIM_TABLE_LAST;
	n = sim_cdat_entry(handle, mb->table_entries, mb->table_checksum, dw);
	sim_rsp_start(mb, 1 + n, false);
	mb->rbuf[2] = FIELD_PREP(SIM_TABLE_HANDLE, next);
	for (i = 0; i < n; i++)
		mb->rbuf[3 + i] = dw[i];
	return true;
}

/* Build the response to the request in wbuf; false: discard it */
static bool sim_respond(struct sim_mb *mb)
{
	u16 vid = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_VID, mb->wbuf[0]);
	u8 type = FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE, mb->wbuf[0]);
	unsigned int n;

	if (vid == PCI_VENDOR_ID_PCI_SIG && type == 0)
		return sim_discovery(mb);
	if (!sim_advertised(mb, vid, type))
		return false;

	if (vid == SIM_VID_TEST && type == SIM_TYPE_ECHO) {
		if (mb->wlen > SIM_BUF_DW) {
			/* Too big for this device */
			mb->error = true;
			mb->cnt.errors++;
			return false;
		}
		n = mb->wlen - 2;
		sim_rsp_start(mb, n, false);
		memcpy(&mb->rbuf[2], &mb->wbuf[2], n * sizeof(u32));
		return true;
	}
	if (vid == SIM_VID_TEST && type == SIM_TYPE_SIZED && mb->wlen == 3) {
		n = min(mb->wbuf[2], SIM_MAX_OBJECT_DW - 2);
		sim_rsp_start(mb, n, true);
		return true;
	}
	if (vid == PCI_VENDOR_ID_CXL && type == SIM_TYPE_TABLE)
		return sim_table(mb);
	return false;
}

/*
 * Replace the response by a random one; false: Error and no response.
 * Most random responses are cheap for the requester (Ready at once or at
 * the next Status read), so that a fuzz run covers many exchanges; one in
 * sixteen makes it wait, a quarter add random Status bits.
 */
static bool sim_fuzz(struct sim_mb *mb)
{
	u32 r = prandom_u32_state(&mb->rnd);
	unsigned int n = r % (SIM_FUZZ_MAX_DW + 1), i;

	sim_rsp_start(mb, n, false);
	for (i = 0; i < n; i++)
		mb->rbuf[2 + i] = prandom_u32_state(&mb->rnd);
	mb->ready_reads = (r >> 8) & 1;
	mb->fuzzing = !((r >> 9) & 3);

	switch ((r >> 16) % 16) {
	case 0:		/* random header */
		mb->rbuf[0] = prandom_u32_state(&mb->rnd);
		break;
	case 1:		/* random Length, possibly 0, 1 or huge */
		mb->rbuf[1] = prandom_u32_state(&mb->rnd) &
			      ((r >> 24) & 1 ? 0x3ffff : 0x3f);
		break;
	case 2:
	case 3:		/* Length off by -2..2 */
		mb->rbuf[1] = sim_length_field(mb->rlen + (r >> 24) % 5 - 2);
		break;
	case 4:		/* Error instead of a response */
		mb->error = true;
		mb->cnt.errors++;
		return false;
	case 5:		/* Error while the response is read */
		mb->error_at = 1 + (r >> 24) % mb->rlen;
		break;
	case 6:		/* Busy for a while, then Ready */
		mb->ready_reads += 2 + (r >> 24) % 8;
		break;
	default:	/* a well-formed response */
		break;
	}
	return true;
}

/* Alter a response as the faults that fired at Go say */
static void sim_mangle(struct sim_mb *mb, unsigned long fired)
{
	if (test_bit(SIM_LENGTH_MAX, &fired)) {
		mb->rbuf[1] = sim_length_field(SIM_MAX_OBJECT_DW);
		mb->rlen = SIM_MAX_OBJECT_DW;
		mb->rgen = true;
	}
	if (test_bit(SIM_WRONG_VENDOR, &fired))
		mb->rbuf[0] ^= FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_VID,
					  0x8000);
	if (test_bit(SIM_WRONG_TYPE, &fired))
		mb->rbuf[0] ^= FIELD_PREP(PCI_DOE_DATA_OBJECT_HEADER_1_TYPE,
					  0x80);
	if (test_bit(SIM_LENGTH_0, &fired))
		mb->rbuf[1] = 0;
	if (test_bit(SIM_LENGTH_1, &fired))
		mb->rbuf[1] = 1;
	if (test_bit(SIM_TOO_SHORT, &fired))
		mb->rbuf[1] = sim_length_field(mb->rlen - 1);
	if (test_bit(SIM_TOO_LONG, &fired))
		mb->rbuf[1] = sim_length_field(mb->rlen + 4);
	if (test_bit(SIM_ERROR_DURING, &fired))
		mb->error_at = min_t(u64, mb->rlen,
				     mb->faults[SIM_ERROR_DURING].arg ?:
				     SIM_ERROR_AFTER_DW);
}

/* The function stops answering: all-ones, and maybe removal */
static void sim_fn_gone(struct sim_fn *fn, unsigned int mb_index,
			bool surprise)
{
	raw_spin_lock(&fn->lock);
	if (surprise) {
		WRITE_ONCE(fn->surprised, true);
		if (!fn->dying)
			schedule_work(&fn->remove_work);
	} else {
		WRITE_ONCE(fn->all_ones, fn->all_ones | BIT(mb_index));
	}
	raw_spin_unlock(&fn->lock);
}

static void sim_go(struct sim_mb *mb, ktime_t now)
{
	unsigned long fired = 0;
	unsigned int len, i;

	mb->cnt.gos++;
	sim_tick(mb, now, false);
	/* Go while Busy is undefined (sec 6.30.2); with Error, Abort first */
	if (sim_busy(mb, now) || mb->error) {
		mb->cnt.gos_ignored++;
		return;
	}

	len = mb->wlen >= 2 ?
	      FIELD_GET(PCI_DOE_DATA_OBJECT_HEADER_2_LENGTH, mb->wbuf[1]) : 0;
	if (mb->wlen >= 2 && !len)
		len = SIM_MAX_OBJECT_DW;
	if (mb->wlen < 2 || len != mb->wlen) {
		/* An object whose Length does not match is discarded */
		mb->cnt.discarded++;
		mb->wlen = 0;
		return;
	}

	/* A new request replaces an unread response */
	mb->ready = false;
	mb->fuzzing = false;
	mb->error_at = 0;
	mb->ready_reads = 0;
	for (i = 0; i < SIM_NR_GO_FAULTS; i++)
		if (sim_fires(&mb->faults[i]))
			__set_bit(i, &fired);

	if (test_bit(SIM_SURPRISE_REMOVE, &fired) ||
	    test_bit(SIM_ALL_ONES, &fired)) {
		sim_fn_gone(mb->fn, mb->index,
			    test_bit(SIM_SURPRISE_REMOVE, &fired));
		mb->wlen = 0;
		return;
	}
	if (test_bit(SIM_ERROR_BEFORE, &fired)) {
		mb->error = true;
		mb->cnt.errors++;
		mb->wlen = 0;
		return;
	}
	if (test_bit(SIM_READY_NEVER, &fired)) {
		mb->wlen = 0;
		mb->ready_at = KTIME_MAX;
		sim_set_pending(mb, true);
		return;
	}

	if (!sim_respond(mb) ||
	    (test_bit(SIM_FUZZ, &fired) && !sim_fuzz(mb))) {
		if (!mb->error)
			mb->cnt.discarded++;
		mb->wlen = 0;
		return;
	}
	mb->wlen = 0;
	sim_mangle(mb, fired);
	mb->cnt.exchanges++;

	mb->ready_at = ktime_add_us(now, mb->latency_us);
	if (!mb->latency_us && !mb->ready_reads)
		mb->ready = true;
	else
		sim_set_pending(mb, true);
}

static void sim_abort(struct sim_mb *mb, ktime_t now)
{
	bool ignored = sim_fires(&mb->faults[SIM_ABORT_IGNORED]);
	bool slow = sim_fires(&mb->faults[SIM_ABORT_SLOW]);

	mb->cnt.aborts++;
	if (ignored) {
		mb->cnt.aborts_ignored++;
		return;
	}
	if (slow) {
		mb->aborting = true;
		mb->abort_done = ktime_add_us(now,
					      mb->faults[SIM_ABORT_SLOW].arg);
		return;
	}
	sim_reset(mb);
	sim_idle(mb, now);
}

/* A write to the Read Data Mailbox pops a dword (sec 7.9.24.6) */
static void sim_pop(struct sim_mb *mb, ktime_t now)
{
	if (!mb->ready) {
		mb->error = true;
		mb->cnt.errors++;
		return;
	}
	mb->rpos++;
	if (mb->error_at && mb->rpos >= mb->error_at) {
		/* The rest of the object is lost */
		mb->error = true;
		mb->cnt.errors++;
		mb->ready = false;
		mb->error_at = 0;
		return;
	}
	if (mb->rpos >= mb->rlen) {
		mb->ready = false;
		sim_idle(mb, now);
	}
}

static void sim_push(struct sim_mb *mb, u32 val, ktime_t now)
{
	sim_tick(mb, now, false);
	if (sim_busy(mb, now))
		return;
	if (mb->wlen < SIM_BUF_DW)
		mb->wbuf[mb->wlen] = val;
	/* Past 2^18 dwords no Length can match: stop counting there */
	if (mb->wlen <= SIM_MAX_OBJECT_DW)
		mb->wlen++;
}

static u32 __sim_mb_read(struct sim_mb *mb, unsigned int reg)
{
	struct sim_fn *fn = mb->fn;
	u16 next;

	lockdep_assert_held(&mb->lock);

	mb->cnt.reads[reg / 4]++;
	switch (reg) {
	case 0:
		next = mb->index + 1 < fn->nr_mb ? mb->offset + SIM_CAP_STRIDE :
		       0;
		return PCI_EXT_CAP_ID_DOE | (u32)mb->version << 16 |
		       (u32)next << 20;
	case PCI_DOE_STATUS:
		return sim_status(mb);
	case PCI_DOE_READ:
		if (mb->ready && mb->rpos < mb->rlen)
			return sim_rsp_dw(mb, mb->rpos);
		return 0;
	default:
		/* No interrupt support; Control and Write Data read as 0 */
		return 0;
	}
}

static u32 sim_mb_read(struct sim_mb *mb, unsigned int reg)
{
	unsigned long flags;
	u32 val;

	raw_spin_lock_irqsave(&mb->lock, flags);
	val = __sim_mb_read(mb, reg);
	raw_spin_unlock_irqrestore(&mb->lock, flags);
	return val;
}

static void sim_mb_write(struct sim_mb *mb, unsigned int reg, u32 val)
{
	ktime_t now = ktime_get();
	unsigned long flags;

	raw_spin_lock_irqsave(&mb->lock, flags);
	mb->cnt.writes[reg / 4]++;
	switch (reg) {
	case PCI_DOE_CTRL:
		if (val & PCI_DOE_CTRL_ABORT)
			sim_abort(mb, now);
		else if (val & PCI_DOE_CTRL_GO)
			sim_go(mb, now);
		break;
	case PCI_DOE_WRITE:
		sim_push(mb, val, now);
		break;
	case PCI_DOE_READ:
		sim_pop(mb, now);
		break;
	}
	raw_spin_unlock_irqrestore(&mb->lock, flags);
}

static bool sim_fn_dead(struct sim_fn *fn)
{
	return READ_ONCE(fn->surprised) || READ_ONCE(fn->all_ones);
}

static struct sim_mb *sim_mb_at(struct sim_fn *fn, unsigned int where)
{
	unsigned int i;

	if (where < SIM_CAP_BASE)
		return NULL;
	i = (where - SIM_CAP_BASE) / SIM_CAP_STRIDE;
	if (i >= fn->nr_mb || where - fn->mb[i].offset >= PCI_DOE_CAP_SIZEOF)
		return NULL;
	return &fn->mb[i];
}

static struct sim_fn *sim_fn_of(struct pci_bus *bus, unsigned int devfn)
{
	if (bus->number || devfn >= SIM_MAX_FUNCS)
		return NULL;
	return rcu_dereference(sim_fns[devfn]);
}

static int sim_cfg_read(struct pci_bus *bus, unsigned int devfn, int where,
			int size, u32 *val)
{
	unsigned int reg = where & ~3;
	struct sim_fn *fn;
	struct sim_mb *mb;
	u32 dw = ~0U;

	if (where < 0 || where + size > PCI_CFG_SPACE_EXP_SIZE) {
		*val = ~0U;
		return PCIBIOS_BAD_REGISTER_NUMBER;
	}

	rcu_read_lock();
	fn = sim_fn_of(bus, devfn);
	if (fn && !sim_fn_dead(fn)) {
		mb = sim_mb_at(fn, reg);
		if (mb)
			dw = sim_mb_read(mb, reg - mb->offset);
		else
			dw = get_unaligned_le32(&fn->cfg[reg]);
	}
	rcu_read_unlock();

	dw >>= 8 * (where & 3);
	*val = size == 4 ? dw : dw & (BIT(8 * size) - 1);
	return PCIBIOS_SUCCESSFUL;
}

static int sim_cfg_write(struct pci_bus *bus, unsigned int devfn, int where,
			 int size, u32 val)
{
	unsigned int reg = where & ~3;
	struct sim_fn *fn;
	struct sim_mb *mb;

	if (where < 0 || where + size > PCI_CFG_SPACE_EXP_SIZE)
		return PCIBIOS_BAD_REGISTER_NUMBER;

	rcu_read_lock();
	fn = sim_fn_of(bus, devfn);
	/* Outside the mailboxes everything is read-only: no BARs, no IRQ */
	if (fn && !sim_fn_dead(fn)) {
		mb = sim_mb_at(fn, reg);
		/* A narrower write is a dword write with the other bytes 0 */
		if (mb)
			sim_mb_write(mb, reg - mb->offset,
				     size == 4 ? val : val << 8 * (where & 3));
		else
			atomic_inc(&fn->other_writes);
	}
	rcu_read_unlock();
	return PCIBIOS_SUCCESSFUL;
}

static struct pci_ops sim_pci_ops = {
	.read = sim_cfg_read,
	.write = sim_cfg_write,
};

/* ---- functions: creation, removal ---- */

/* The CDAT header checksum: the bytes of the whole table sum to 0 */
static u8 sim_table_checksum(unsigned int entries)
{
	u32 dw[SIM_CDAT_DSMAS_DW];
	unsigned int h, i, n;
	u8 sum = 0;

	for (h = 0; h <= entries; h++) {
		n = sim_cdat_entry(h, entries, 0, dw);
		for (i = 0; i < n; i++)
			sum += (dw[i] & 0xff) + ((dw[i] >> 8) & 0xff) +
			       ((dw[i] >> 16) & 0xff) + (dw[i] >> 24);
	}
	return -sum;
}

static void sim_fn_free(struct sim_fn *fn)
{
	unsigned int i;

	for (i = 0; i < fn->nr_mb; i++) {
		scoped_guard(raw_spinlock_irqsave, &fn->mb[i].lock)
			sim_set_pending(&fn->mb[i], false);
		kvfree(fn->mb[i].wbuf);
		kvfree(fn->mb[i].rbuf);
	}
	kvfree(fn);
}

static void sim_remove_pdev(struct sim_fn *fn)
{
	struct pci_dev *pdev;

	pci_lock_rescan_remove();
	pdev = pci_get_slot(sim_bus, fn->id);
	if (pdev) {
		pci_stop_and_remove_bus_device(pdev);
		pci_dev_put(pdev);
	}
	pci_unlock_rescan_remove();
}

static void sim_remove_work(struct work_struct *work)
{
	struct sim_fn *fn = container_of(work, struct sim_fn, remove_work);

	pr_info("%s: surprise removal\n", fn->bdf);
	sim_remove_pdev(fn);
}

static const u32 sim_default_prots[] = {
	PCI_VENDOR_ID_PCI_SIG | 0x00 << 16,
	SIM_VID_TEST | SIM_TYPE_ECHO << 16,
	SIM_VID_TEST | SIM_TYPE_SIZED << 16,
	PCI_VENDOR_ID_CXL | SIM_TYPE_TABLE << 16,
};

static struct sim_fn *sim_fn_alloc(unsigned int id, unsigned int nr_mb,
				   u8 version)
{
	struct sim_fn *fn;
	unsigned int i;
	u8 *cfg;

	fn = kvzalloc(struct_size(fn, mb, nr_mb), GFP_KERNEL);
	if (!fn)
		return NULL;
	fn->nr_mb = nr_mb;
	fn->id = id;
	raw_spin_lock_init(&fn->lock);
	INIT_WORK(&fn->remove_work, sim_remove_work);
	snprintf(fn->bdf, sizeof(fn->bdf), "%04x:00:%02x.%x",
		 pci_domain_nr(sim_bus), PCI_SLOT(id), PCI_FUNC(id));

	cfg = fn->cfg;
	put_unaligned_le16(SIM_VENDOR, &cfg[PCI_VENDOR_ID]);
	put_unaligned_le16(SIM_DEVICE, &cfg[PCI_DEVICE_ID]);
	put_unaligned_le16(PCI_STATUS_CAP_LIST, &cfg[PCI_STATUS]);
	put_unaligned_le32((u32)PCI_CLASS_OTHERS << 24 | 1, &cfg[PCI_CLASS_REVISION]);
	/* Multi-function: the core scans functions 1-7 of every slot */
	cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL | PCI_HEADER_TYPE_MFD;
	put_unaligned_le16(SIM_VENDOR, &cfg[PCI_SUBSYSTEM_VENDOR_ID]);
	put_unaligned_le16(SIM_DEVICE, &cfg[PCI_SUBSYSTEM_ID]);
	cfg[PCI_CAPABILITY_LIST] = SIM_PCIE_CAP;
	cfg[SIM_PCIE_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_EXP;
	put_unaligned_le16(2 | PCI_EXP_TYPE_RC_END << 4,
			   &cfg[SIM_PCIE_CAP + PCI_EXP_FLAGS]);

	for (i = 0; i < nr_mb; i++) {
		struct sim_mb *mb = &fn->mb[i];

		mb->fn = fn;
		mb->index = i;
		mb->offset = SIM_CAP_BASE + i * SIM_CAP_STRIDE;
		mb->version = version;
		raw_spin_lock_init(&mb->lock);
		mb->nr_prots = ARRAY_SIZE(sim_default_prots);
		memcpy(mb->prots, sim_default_prots, sizeof(sim_default_prots));
		mb->seed = id * SIM_MAX_MB + i + 1;
		prandom_seed_state(&mb->rnd, mb->seed);
		mb->table_entries = 4;
		mb->table_checksum = sim_table_checksum(4);
		mb->wbuf = kvcalloc(SIM_BUF_DW, sizeof(u32), GFP_KERNEL);
		mb->rbuf = kvcalloc(SIM_BUF_DW, sizeof(u32), GFP_KERNEL);
		if (!mb->wbuf || !mb->rbuf) {
			/* The mailboxes after this one have no buffers yet */
			fn->nr_mb = i + 1;
			sim_fn_free(fn);
			return NULL;
		}
	}
	return fn;
}

static void sim_fn_debugfs(struct sim_fn *fn);

/* Create function @nr_mb mailboxes at the lowest free devfn; returns its ID */
static int sim_add(unsigned int nr_mb, u8 version)
{
	struct pci_dev *pdev;
	struct sim_fn *fn;
	int id;

	guard(mutex)(&sim_lock);

	for (id = 0; id < SIM_MAX_FUNCS; id++)
		if (!rcu_access_pointer(sim_fns[id]))
			break;
	if (id == SIM_MAX_FUNCS)
		return -ENOSPC;

	fn = sim_fn_alloc(id, nr_mb, version);
	if (!fn)
		return -ENOMEM;
	rcu_assign_pointer(sim_fns[id], fn);

	pci_lock_rescan_remove();
	pdev = pci_scan_single_device(sim_bus, id);
	if (pdev)
		pci_bus_add_devices(sim_bus);
	pci_unlock_rescan_remove();

	if (!pdev) {
		RCU_INIT_POINTER(sim_fns[id], NULL);
		synchronize_rcu();
		sim_fn_free(fn);
		return -EIO;
	}

	sim_fn_debugfs(fn);
	sim_last_id = id;
	pr_info("f%d: %s, %u DOE mailbox(es), capability version %u\n", id,
		fn->bdf, nr_mb, version);
	return id;
}

static int sim_del(unsigned int id)
{
	struct sim_fn *fn;

	guard(mutex)(&sim_lock);

	if (id >= SIM_MAX_FUNCS)
		return -EINVAL;
	fn = rcu_dereference_protected(sim_fns[id], lockdep_is_held(&sim_lock));
	if (!fn)
		return -ENOENT;

	/* Waits for the knob writers of this function */
	debugfs_remove_recursive(fn->dir);
	scoped_guard(raw_spinlock_irqsave, &fn->lock)
		fn->dying = true;
	cancel_work_sync(&fn->remove_work);
	sim_remove_pdev(fn);

	RCU_INIT_POINTER(sim_fns[id], NULL);
	synchronize_rcu();
	if (sim_last_id == id)
		sim_last_id = -1;
	pr_info("f%u: %s deleted\n", id, fn->bdf);
	sim_fn_free(fn);
	return 0;
}

/* ---- debugfs: parsing helpers ---- */

static int sim_parse_u64(char *buf, u64 *val, u64 max)
{
	int rc = kstrtou64(strim(buf), 0, val);

	if (!rc && *val > max)
		rc = -ERANGE;
	return rc;
}

/* "off", "once [ARG]", "every N [ARG]" or "always [ARG]" */
static int sim_parse_fault(const char *buf, struct sim_fault *f)
{
	unsigned long long a = 0, b = 0;
	char word[8];
	int n, mode;

	memset(f, 0, sizeof(*f));
	n = sscanf(buf, "%7s %llu %llu", word, &a, &b);
	if (n < 1)
		return -EINVAL;
	mode = match_string(sim_mode_names, ARRAY_SIZE(sim_mode_names), word);
	if (mode < 0)
		return -EINVAL;
	f->mode = mode;

	switch (mode) {
	case SIM_OFF:
		if (n != 1)
			return -EINVAL;
		break;
	case SIM_EVERY:
		if (n < 2 || !a || a > U32_MAX)
			return -EINVAL;
		f->every = a;
		f->arg = b;
		break;
	default:
		if (n > 2)
			return -EINVAL;
		f->arg = a;
		break;
	}
	return f->arg > SIM_MAX_DELAY_US ? -ERANGE : 0;
}

/* ---- debugfs: mailbox files ---- */

static int sim_offset_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	seq_printf(s, "%#x\n", mb->offset);
	return 0;
}

static int sim_version_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	seq_printf(s, "%u\n", mb->version);
	return 0;
}

static int sim_protocols_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	u32 prots[SIM_MAX_PROTS];
	unsigned int i, n;

	scoped_guard(raw_spinlock_irqsave, &mb->lock) {
		n = mb->nr_prots;
		memcpy(prots, mb->prots, n * sizeof(u32));
	}
	for (i = 0; i < n; i++)
		seq_printf(s, "%04x:%02x%c", prots[i] & 0xffff, prots[i] >> 16,
			   i + 1 < n ? ' ' : '\n');
	return 0;
}

static int sim_protocols_store(struct sim_mb *mb, int arg, char *buf)
{
	u32 *prots __free(kfree) = kcalloc(SIM_MAX_PROTS, sizeof(u32),
					   GFP_KERNEL);
	unsigned int n = 0;
	char *p = buf, *word;
	u16 vid;
	u8 type;

	if (!prots)
		return -ENOMEM;
	while ((word = strsep(&p, " \t\n,"))) {
		char *colon = strchr(word, ':');

		if (!*word)
			continue;
		if (!colon || n == SIM_MAX_PROTS)
			return -EINVAL;
		*colon = '\0';
		if (kstrtou16(word, 16, &vid) || kstrtou8(colon + 1, 16, &type))
			return -EINVAL;
		prots[n++] = vid | type << 16;
	}

	scoped_guard(raw_spinlock_irqsave, &mb->lock) {
		memcpy(mb->prots, prots, n * sizeof(u32));
		mb->nr_prots = n;
	}
	return 0;
}

static int sim_latency_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	seq_printf(s, "%llu\n", READ_ONCE(mb->latency_us));
	return 0;
}

static int sim_latency_store(struct sim_mb *mb, int arg, char *buf)
{
	u64 val;
	int rc = sim_parse_u64(buf, &val, SIM_MAX_DELAY_US);

	if (rc)
		return rc;
	scoped_guard(raw_spinlock_irqsave, &mb->lock)
		mb->latency_us = val;
	return 0;
}

static int sim_table_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	seq_printf(s, "%u\n", READ_ONCE(mb->table_entries));
	return 0;
}

static int sim_table_store(struct sim_mb *mb, int arg, char *buf)
{
	u64 val;
	int rc = sim_parse_u64(buf, &val, SIM_MAX_TABLE);
	u8 checksum;

	if (rc)
		return rc;
	checksum = sim_table_checksum(val);
	scoped_guard(raw_spinlock_irqsave, &mb->lock) {
		mb->table_entries = val;
		mb->table_checksum = checksum;
	}
	return 0;
}

static int sim_seed_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	seq_printf(s, "%llu\n", READ_ONCE(mb->seed));
	return 0;
}

static int sim_seed_store(struct sim_mb *mb, int arg, char *buf)
{
	u64 val;
	int rc = sim_parse_u64(buf, &val, U64_MAX);

	if (rc)
		return rc;
	scoped_guard(raw_spinlock_irqsave, &mb->lock) {
		mb->seed = val;
		prandom_seed_state(&mb->rnd, val);
	}
	return 0;
}

static int sim_counters_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	struct sim_counters c;
	unsigned int i;

	scoped_guard(raw_spinlock_irqsave, &mb->lock)
		c = mb->cnt;
	for (i = 0; i < SIM_NR_REGS; i++)
		seq_printf(s, "%s_reads %llu\n", sim_reg_names[i], c.reads[i]);
	for (i = 0; i < SIM_NR_REGS; i++)
		seq_printf(s, "%s_writes %llu\n", sim_reg_names[i],
			   c.writes[i]);
	seq_printf(s, "gos %llu\ngos_ignored %llu\ndiscarded %llu\nexchanges %llu\naborts %llu\naborts_ignored %llu\nerrors %llu\ndiscovery_version %u\n",
		   c.gos, c.gos_ignored, c.discarded, c.exchanges, c.aborts,
		   c.aborts_ignored, c.errors, c.discovery_version);
	return 0;
}

static int sim_counters_store(struct sim_mb *mb, int arg, char *buf)
{
	scoped_guard(raw_spinlock_irqsave, &mb->lock)
		memset(&mb->cnt, 0, sizeof(mb->cnt));
	return 0;
}

static int sim_state_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	ktime_t now = ktime_get();
	bool busy, ready, error, pending;
	unsigned int wlen, rlen, rpos;

	scoped_guard(raw_spinlock_irqsave, &mb->lock) {
		busy = sim_busy(mb, now);
		ready = mb->ready;
		error = mb->error;
		pending = mb->pending;
		wlen = mb->wlen;
		rlen = mb->rlen;
		rpos = mb->rpos;
	}
	seq_printf(s, "busy %d ready %d error %d pending %d written %u response %u read %u\n",
		   busy, ready, error, pending, wlen, rlen, rpos);
	return 0;
}

static int sim_fault_show(struct seq_file *s, struct sim_mb *mb, int arg)
{
	struct sim_fault f;

	scoped_guard(raw_spinlock_irqsave, &mb->lock)
		f = mb->faults[arg];
	seq_printf(s, "%s", sim_mode_names[f.mode]);
	if (f.mode == SIM_EVERY)
		seq_printf(s, " %u", f.every);
	seq_printf(s, " arg %llu seen %llu fired %llu\n", f.arg, f.seen,
		   f.fired);
	return 0;
}

static int sim_fault_store(struct sim_mb *mb, int arg, char *buf)
{
	struct sim_fn *fn = mb->fn;
	struct sim_fault f;
	ktime_t now = ktime_get();
	unsigned long flags;
	int rc;

	rc = sim_parse_fault(buf, &f);
	if (rc)
		return rc;

	raw_spin_lock_irqsave(&mb->lock, flags);
	mb->faults[arg] = f;
	switch (arg) {
	case SIM_BUSY_STUCK:
		/* The device recovers from an earlier Busy; writing is a chance */
		mb->busy_stuck = false;
		sim_idle(mb, now);
		break;
	case SIM_BUSY_FOR:
		mb->busy_until = 0;
		sim_idle(mb, now);
		break;
	case SIM_ALL_ONES:
		raw_spin_lock(&fn->lock);
		WRITE_ONCE(fn->all_ones, fn->all_ones & ~BIT(mb->index));
		raw_spin_unlock(&fn->lock);
		if (f.mode == SIM_ALWAYS && sim_fires(&mb->faults[arg]))
			sim_fn_gone(fn, mb->index, false);
		break;
	}
	raw_spin_unlock_irqrestore(&mb->lock, flags);
	return 0;
}

#define SIM_RO(_name, _show) { .name = _name, .mode = 0400, .show = _show }
#define SIM_RW(_name, _show, _store) \
	{ .name = _name, .mode = 0600, .show = _show, .store = _store }
#define SIM_FAULT(_id) \
	{ .mode = 0600, .show = sim_fault_show, .store = sim_fault_store, \
	  .arg = _id }

static const struct sim_attr sim_mb_attrs[] = {
	SIM_RO("offset", sim_offset_show),
	SIM_RO("version", sim_version_show),
	SIM_RW("protocols", sim_protocols_show, sim_protocols_store),
	SIM_RW("latency_us", sim_latency_show, sim_latency_store),
	SIM_RW("table_entries", sim_table_show, sim_table_store),
	SIM_RW("seed", sim_seed_show, sim_seed_store),
	SIM_RW("counters", sim_counters_show, sim_counters_store),
	SIM_RO("state", sim_state_show),
	SIM_FAULT(SIM_ERROR_BEFORE),
	SIM_FAULT(SIM_ERROR_DURING),
	SIM_FAULT(SIM_READY_NEVER),
	SIM_FAULT(SIM_WRONG_VENDOR),
	SIM_FAULT(SIM_WRONG_TYPE),
	SIM_FAULT(SIM_LENGTH_0),
	SIM_FAULT(SIM_LENGTH_1),
	SIM_FAULT(SIM_TOO_SHORT),
	SIM_FAULT(SIM_TOO_LONG),
	SIM_FAULT(SIM_LENGTH_MAX),
	SIM_FAULT(SIM_FUZZ),
	SIM_FAULT(SIM_ALL_ONES),
	SIM_FAULT(SIM_SURPRISE_REMOVE),
	SIM_FAULT(SIM_BUSY_STUCK),
	SIM_FAULT(SIM_BUSY_FOR),
	SIM_FAULT(SIM_DISCOVERY_LOOP),
	SIM_FAULT(SIM_ABORT_IGNORED),
	SIM_FAULT(SIM_ABORT_SLOW),
};

static_assert(ARRAY_SIZE(sim_mb_attrs) == SIM_NR_MB_ATTRS);

static int sim_knob_show(struct seq_file *s, void *v)
{
	const struct sim_node *node = s->private;

	return node->attr->show(s, node->mb, node->attr->arg);
}

static int sim_knob_open(struct inode *inode, struct file *file)
{
	return single_open(file, sim_knob_show, inode->i_private);
}

static char *sim_get_input(const char __user *ubuf, size_t count)
{
	if (count > SIM_MAX_INPUT)
		return ERR_PTR(-E2BIG);
	return memdup_user_nul(ubuf, count);
}

static ssize_t sim_knob_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	const struct sim_node *node =
		((struct seq_file *)file->private_data)->private;
	char *buf;
	int rc;

	if (!node->attr->store)
		return -EACCES;
	buf = sim_get_input(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	rc = node->attr->store(node->mb, node->attr->arg, buf);
	kfree(buf);
	return rc ? rc : count;
}

static const struct file_operations sim_knob_fops = {
	.owner = THIS_MODULE,
	.open = sim_knob_open,
	.read = seq_read,
	.write = sim_knob_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* ---- debugfs: function files ---- */

static const char *sim_fn_state(struct sim_fn *fn)
{
	struct pci_dev *pdev;

	if (READ_ONCE(fn->surprised))
		return "surprise_removed";
	if (READ_ONCE(fn->all_ones))
		return "all_ones";
	pdev = pci_get_slot(sim_bus, fn->id);
	pci_dev_put(pdev);
	return pdev ? "present" : "absent";
}

static int sim_fn_bdf_show(struct seq_file *s, void *v)
{
	struct sim_fn *fn = s->private;

	seq_printf(s, "%s\n", fn->bdf);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sim_fn_bdf);

static int sim_fn_mailboxes_show(struct seq_file *s, void *v)
{
	struct sim_fn *fn = s->private;
	unsigned int i;

	for (i = 0; i < fn->nr_mb; i++)
		seq_printf(s, "%#x\n", fn->mb[i].offset);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sim_fn_mailboxes);

static int sim_fn_state_show(struct seq_file *s, void *v)
{
	seq_printf(s, "%s\n", sim_fn_state(s->private));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sim_fn_state);

static ssize_t sim_surprise_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct sim_fn *fn = file->private_data;
	unsigned long flags;

	raw_spin_lock_irqsave(&fn->lock, flags);
	WRITE_ONCE(fn->surprised, true);
	if (!fn->dying)
		schedule_work(&fn->remove_work);
	raw_spin_unlock_irqrestore(&fn->lock, flags);
	return count;
}

static const struct file_operations sim_surprise_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = sim_surprise_write,
};

static void sim_fn_debugfs(struct sim_fn *fn)
{
	char name[16];
	unsigned int i, j;

	snprintf(name, sizeof(name), "f%u", fn->id);
	fn->dir = debugfs_create_dir(name, sim_dir);
	debugfs_create_file("bdf", 0400, fn->dir, fn, &sim_fn_bdf_fops);
	debugfs_create_file("mailboxes", 0400, fn->dir, fn,
			    &sim_fn_mailboxes_fops);
	debugfs_create_file("state", 0400, fn->dir, fn, &sim_fn_state_fops);
	debugfs_create_file("surprise", 0200, fn->dir, fn, &sim_surprise_fops);
	debugfs_create_atomic_t("other_writes", 0400, fn->dir,
				&fn->other_writes);

	for (i = 0; i < fn->nr_mb; i++) {
		struct sim_mb *mb = &fn->mb[i];
		struct dentry *dir;

		snprintf(name, sizeof(name), "mb%u", i);
		dir = debugfs_create_dir(name, fn->dir);
		for (j = 0; j < SIM_NR_MB_ATTRS; j++) {
			const struct sim_attr *attr = &sim_mb_attrs[j];

			mb->nodes[j].mb = mb;
			mb->nodes[j].attr = attr;
			debugfs_create_file(attr->name ?: sim_fault_names[attr->arg],
					    attr->mode, dir, &mb->nodes[j],
					    &sim_knob_fops);
		}
	}
}

/* ---- debugfs: top-level files ---- */

static ssize_t sim_add_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	unsigned int nr, version = 2;
	char *buf;
	int rc, id;

	buf = sim_get_input(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	rc = sscanf(buf, "%u %u", &nr, &version);
	kfree(buf);
	if (rc < 1 || nr > SIM_MAX_MB || !version ||
	    version > PCI_EXT_CAP_VER(~0U))
		return -EINVAL;

	id = sim_add(nr, version);
	if (id < 0)
		return id;
	/* Read back on this file: the function it created */
	file->private_data = (void *)(uintptr_t)(id + 1);
	return count;
}

static ssize_t sim_add_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	int id = (int)(uintptr_t)file->private_data - 1;
	struct sim_fn *fn;
	char buf[32] = "none\n";
	int len = strlen(buf);

	scoped_guard(mutex, &sim_lock) {
		if (id < 0)
			id = sim_last_id;
		fn = id < 0 ? NULL :
		     rcu_dereference_protected(sim_fns[id],
					       lockdep_is_held(&sim_lock));
		if (fn)
			len = scnprintf(buf, sizeof(buf), "%d %s\n", id,
					fn->bdf);
	}
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static int sim_add_open(struct inode *inode, struct file *file)
{
	file->private_data = NULL;
	return 0;
}

static const struct file_operations sim_add_fops = {
	.owner = THIS_MODULE,
	.open = sim_add_open,
	.read = sim_add_read,
	.write = sim_add_write,
	.llseek = default_llseek,
};

static ssize_t sim_del_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	unsigned int id;
	int rc;

	rc = kstrtouint_from_user(ubuf, count, 0, &id);
	if (!rc)
		rc = sim_del(id);
	return rc ? rc : count;
}

static const struct file_operations sim_del_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = sim_del_write,
};

static ssize_t sim_rescan_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	guard(mutex)(&sim_lock);
	pci_lock_rescan_remove();
	pci_rescan_bus(sim_bus);
	pci_unlock_rescan_remove();
	return count;
}

static const struct file_operations sim_rescan_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = sim_rescan_write,
};

static int sim_functions_show(struct seq_file *s, void *v)
{
	struct sim_fn *fn;
	unsigned int id;

	guard(mutex)(&sim_lock);
	for (id = 0; id < SIM_MAX_FUNCS; id++) {
		fn = rcu_dereference_protected(sim_fns[id],
					       lockdep_is_held(&sim_lock));
		if (fn)
			seq_printf(s, "%u %s %u %s\n", id, fn->bdf, fn->nr_mb,
				   sim_fn_state(fn));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sim_functions);

static int sim_domain_show(struct seq_file *s, void *v)
{
	seq_printf(s, "%x\n", pci_domain_nr(sim_bus));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sim_domain);

static int sim_stats_show(struct seq_file *s, void *v)
{
	unsigned int functions = 0, pending, max_pending, id;

	scoped_guard(mutex, &sim_lock) {
		for (id = 0; id < SIM_MAX_FUNCS; id++)
			functions += !!rcu_access_pointer(sim_fns[id]);
	}
	scoped_guard(raw_spinlock_irqsave, &sim_stats_lock) {
		pending = sim_pending;
		max_pending = sim_max_pending;
	}
	seq_printf(s, "functions %u\npending %u\nmax_pending %u\n", functions,
		   pending, max_pending);
	return 0;
}

static int sim_stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, sim_stats_show, inode->i_private);
}

static ssize_t sim_stats_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	scoped_guard(raw_spinlock_irqsave, &sim_stats_lock)
		sim_max_pending = sim_pending;
	return count;
}

static const struct file_operations sim_stats_fops = {
	.owner = THIS_MODULE,
	.open = sim_stats_open,
	.read = seq_read,
	.write = sim_stats_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* ---- module ---- */

static int __init sim_create_bus(void)
{
	LIST_HEAD(resources);
	int domain, i;

	/* A domain of our own, free now: the first from 0x10000 like VMD */
	for (i = 0, domain = SIM_DOMAIN_BASE; i < SIM_DOMAIN_TRIES;
	     i++, domain++)
		if (!pci_find_bus(domain, 0))
			break;
	if (i == SIM_DOMAIN_TRIES)
		return -EBUSY;

	pci_add_resource(&resources, &sim_busn);
#ifdef CONFIG_X86
	sim_sysdata.domain = domain;
	sim_bus = pci_create_root_bus(NULL, 0, &sim_pci_ops, &sim_sysdata,
				      &resources);
#else
	/* ACPI hosts take sysdata for a pci_config_window: not ours */
	if (!acpi_disabled) {
		pci_free_resource_list(&resources);
		return -EOPNOTSUPP;
	}
	sim_bus = pci_create_root_bus(NULL, 0, &sim_pci_ops, NULL, &resources);
#endif
	if (!sim_bus) {
		pci_free_resource_list(&resources);
		return -ENOMEM;
	}

	pci_lock_rescan_remove();
	pci_scan_child_bus(sim_bus);
	pci_bus_add_devices(sim_bus);
	pci_unlock_rescan_remove();
	return 0;
}

static void sim_remove_bus(void)
{
	struct pci_host_bridge *bridge = pci_find_host_bridge(sim_bus);

	pci_lock_rescan_remove();
	pci_stop_root_bus(sim_bus);
	pci_remove_root_bus(sim_bus);
	pci_unlock_rescan_remove();
	/* pci_remove_root_bus() only deletes the bridge pci_create_root_bus() made */
	put_device(&bridge->dev);
}

static int __init sim_init(void)
{
	int rc;

	rc = sim_create_bus();
	if (rc)
		return rc;

	sim_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("add", 0600, sim_dir, NULL, &sim_add_fops);
	debugfs_create_file("del", 0200, sim_dir, NULL, &sim_del_fops);
	debugfs_create_file("rescan", 0200, sim_dir, NULL, &sim_rescan_fops);
	debugfs_create_file("functions", 0400, sim_dir, NULL,
			    &sim_functions_fops);
	debugfs_create_file("domain", 0400, sim_dir, NULL, &sim_domain_fops);
	debugfs_create_file("stats", 0600, sim_dir, NULL, &sim_stats_fops);

	pr_info("host bridge in PCI domain %04x\n", pci_domain_nr(sim_bus));
	return 0;
}

static void __exit sim_exit(void)
{
	struct sim_fn *fn, *tmp;
	LIST_HEAD(gone);
	unsigned int id;

	/* No more add, del, rescan or knob writes */
	debugfs_remove_recursive(sim_dir);

	mutex_lock(&sim_lock);
	for (id = 0; id < SIM_MAX_FUNCS; id++) {
		fn = rcu_dereference_protected(sim_fns[id],
					       lockdep_is_held(&sim_lock));
		if (!fn)
			continue;
		scoped_guard(raw_spinlock_irqsave, &fn->lock)
			fn->dying = true;
		cancel_work_sync(&fn->remove_work);
	}
	sim_remove_bus();

	for (id = 0; id < SIM_MAX_FUNCS; id++) {
		fn = rcu_dereference_protected(sim_fns[id],
					       lockdep_is_held(&sim_lock));
		RCU_INIT_POINTER(sim_fns[id], NULL);
		if (fn)
			list_add(&fn->exit_node, &gone);
	}
	mutex_unlock(&sim_lock);

	synchronize_rcu();
	list_for_each_entry_safe(fn, tmp, &gone, exit_node)
		sim_fn_free(fn);
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated PCI functions with DOE mailboxes and fault injection");
MODULE_LICENSE("GPL");
