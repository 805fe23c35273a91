// SPDX-License-Identifier: GPL-2.0
/*
 * DOE exchange measurements for "make bench" (scripts/bench.sh)
 *
 * Built out of tree against both benchmarked kernels: the stock 6.12
 * library and ours.  The comparison uses only what both export,
 * pci_find_doe_mailbox() and pci_doe(); the async and claim commands exist
 * only when built against ours (include/linux/pci-doe.h defines
 * PCI_DOE_MAX_OBJECT_DW there, not in stock).
 *
 * /sys/kernel/debug/pci_doe_bench/cmd: write one command, which runs to
 * completion in the writer's context; read the result back from the same
 * file.  BDF is DDDD:BB:DD.F.  A mailbox is the first one of the function
 * that supports the protocol of the exchange.
 *
 *   lat BDF KIND REPS        REPS exchanges one after the other with
 *                            pci_doe(), after 8 unmeasured ones.  KIND:
 *                              disc     Discovery, index 0 (one dword)
 *                              echoN    N-dword echo (simulator, 7e57:01)
 *                              cdat     CXL Table Access, CDAT header
 *                              cdatfull the whole CDAT, entry by entry
 *                                       from handle 0 until 0xffff (one
 *                                       sample is the whole table)
 *                            Result: "errors E", "bytes B" (cdatfull: the
 *                            table's size), "cpu ..." (see below) and
 *                            "ns S1 S2 ..." (one sample per exchange or
 *                            table, in order)
 *   idle MS                  sleep MS milliseconds: "cpu ...", what the
 *                            workqueue workers do when nobody exchanges
 *   sleep US REPS            REPS usleep_range(US, US + 1): "cpu ..." and
 *                            "ns ..." as for lat: how late a sleep ends
 *                            and what a sleep and wake-up costs: the floor
 *                            of the CPU figures of a waiting exchange
 *   cfg BDF OFF REPS         REPS config reads of dword OFF: "ns TOTAL"
 *   cfgw BDF OFF REPS        REPS config writes of 0 to dword OFF (pick a
 *                            register where 0 does nothing, e.g. DOE
 *                            Control): "ns TOTAL"
 *   tput MODE REPS BDF...    REPS 64-dword echoes on each function's
 *                            mailbox, all functions at once.  MODE sync:
 *                            one kthread per mailbox calling pci_doe();
 *                            async (ours): every task submitted up front
 *                            with pci_doe_submit().  "ns TOTAL errors E"
 *   claim BDF / release BDF  (ours) hold a kernel claim on the mailbox
 *   async                    "1" when built against ours, else "0"
 *
 * "cpu WALL_NS SELF_NS WORKERS_NS NWORKERS": the CPU time the scheduler
 * accounted, during the measured window, to the thread that ran the
 * command (SELF) and to every workqueue worker (PF_WQ_WORKER: both
 * libraries run their state machines in work items), NWORKERS of them.
 * Taken from the threads' own accounting (sum_exec_runtime) rather than
 * the CPUs' idle time, which TCG makes unreliable.
 *
 * Locking: bench_lock serialises commands and the result buffer.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#ifdef PCI_DOE_MAX_OBJECT_DW
#define BENCH_OURS	1
#else
#define BENCH_OURS	0
#endif

#define BENCH_MAX_REPS		100000
#define BENCH_MAX_MBS		16
#define BENCH_ECHO_MAX_DW	1024
/* cdatfull: the largest entry and the most entries of one table */
#define BENCH_ENTRY_MAX_DW	1024
#define BENCH_CDAT_MAX_ENTRIES	4097
#define BENCH_MAX_WORKERS	1024
#define BENCH_WARMUP		8
#define BENCH_RESULT_SZ		(BENCH_MAX_REPS * 12 + 256)

#define VID_PCI_SIG		0x0001
#define VID_SIM			0x7e57
#define VID_CXL			0x1e98
#define TYPE_DISCOVERY		0
#define TYPE_ECHO		1
#define TYPE_TABLE_ACCESS	2

static DEFINE_MUTEX(bench_lock);
/* Protected by bench_lock */
static char *bench_result;
static size_t bench_result_len;
static struct dentry *bench_dir;

static __printf(1, 2) void bench_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_result_len += vscnprintf(bench_result + bench_result_len,
				       BENCH_RESULT_SZ - bench_result_len,
				       fmt, ap);
	va_end(ap);
}

/* One kind of exchange: what is sent and what must come back */
struct bench_xchg {
	u16 vendor;
	u8 type;
	u32 *req;
	size_t req_sz;
	u32 *rsp;
	size_t rsp_sz;
	size_t expect_sz;	/* 0: any length > 0 */
	bool full;		/* CXL Table Access: every entry, see bench_cdat() */
};

static int bench_xchg_init(struct bench_xchg *x, const char *kind)
{
	unsigned int i, n = 1;

	memset(x, 0, sizeof(*x));
	if (!strcmp(kind, "disc")) {
		x->vendor = VID_PCI_SIG;
		x->type = TYPE_DISCOVERY;
		x->expect_sz = 4;
	} else if (!strcmp(kind, "cdat") || !strcmp(kind, "cdatfull")) {
		x->vendor = VID_CXL;
		x->type = TYPE_TABLE_ACCESS;
		x->full = kind[4] == 'f';
		/* the header: 1 dword + 4 (CDAT header); a whole entry */
		n = x->full ? BENCH_ENTRY_MAX_DW : 16;
	} else if (!strncmp(kind, "echo", 4)) {
		if (kstrtouint(kind + 4, 10, &n) || !n ||
		    n > BENCH_ECHO_MAX_DW)
			return -EINVAL;
		x->vendor = VID_SIM;
		x->type = TYPE_ECHO;
		x->expect_sz = n * 4;
	} else {
		return -EINVAL;
	}
	x->req = kcalloc(n, 4, GFP_KERNEL);
	x->rsp = kcalloc(n, 4, GFP_KERNEL);
	if (!x->req || !x->rsp) {
		kfree(x->req);
		kfree(x->rsp);
		return -ENOMEM;
	}
	/* Discovery index 0 and CDAT read entry 0 are all-zero dwords */
	x->req_sz = x->type == TYPE_ECHO ? n * 4 : 4;
	x->rsp_sz = n * 4;
	if (x->type == TYPE_ECHO)
		for (i = 0; i < n; i++)
			x->req[i] = 0x5a5a0000 + i;
	return 0;
}

static void bench_xchg_free(struct bench_xchg *x)
{
	kfree(x->req);
	kfree(x->rsp);
}

static bool bench_xchg_ok(const struct bench_xchg *x, int rc)
{
	if (rc <= 0)
		return false;
	if (x->expect_sz && rc != x->expect_sz)
		return false;
	return x->type != TYPE_ECHO || !memcmp(x->req, x->rsp, rc);
}

/*
 * The whole CDAT, one Table Access read entry per structure: handle 0 is
 * the header, each response names the next handle, 0xffff ends the table.
 * Returns the table's size in bytes or a negative errno (-EIO: a response
 * shorter than its own entry header, -ELOOP: more entries than a CDAT can
 * have).
 */
static int bench_cdat(struct pci_doe_mb *mb, struct bench_xchg *x)
{
	unsigned int handle = 0, entries = 0;
	int rc, bytes = 0;

	while (handle != 0xffff) {
		if (++entries > BENCH_CDAT_MAX_ENTRIES)
			return -ELOOP;
		x->req[0] = cpu_to_le32(FIELD_PREP(GENMASK(31, 16), handle));
		rc = pci_doe(mb, x->vendor, x->type, x->req, 4, x->rsp,
			     x->rsp_sz);
		if (rc < 0)
			return rc;
		if (rc < 8)
			return -EIO;
		handle = FIELD_GET(GENMASK(31, 16), le32_to_cpu(x->rsp[0]));
		bytes += rc - 4;
	}
	return bytes;
}

static int bench_xchg_once(struct pci_doe_mb *mb, struct bench_xchg *x)
{
	if (x->full)
		return bench_cdat(mb, x);
	return pci_doe(mb, x->vendor, x->type, x->req, x->req_sz,
		       x->rsp, x->rsp_sz);
}

static int bench_get_dev(const char *bdf, struct pci_dev **pdev)
{
	unsigned int dom, bus, dev, fn;
	char c;

	if (sscanf(bdf, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &c) != 4 ||
	    bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	*pdev = pci_get_domain_bus_and_slot(dom, bus, PCI_DEVFN(dev, fn));
	return *pdev ? 0 : -ENODEV;
}

static struct pci_doe_mb *bench_find_mb(struct pci_dev *pdev, u16 vendor,
					u8 type)
{
	/* Discovery is on every mailbox: take the one the other rows use */
	if (vendor == VID_PCI_SIG)
		return pci_find_doe_mailbox(pdev, VID_SIM, TYPE_ECHO) ?:
		       pci_find_doe_mailbox(pdev, VID_CXL, TYPE_TABLE_ACCESS);
	return pci_find_doe_mailbox(pdev, vendor, type);
}

/* A workqueue worker and its runtime when a window began */
struct bench_worker {
	pid_t pid;
	u64 ns;
};

/*
 * A window of time whose CPU use is reported, see bench_cpu_out().  One at
 * a time, under bench_lock.
 */
static struct bench_cpu {
	u64 wall_ns;
	u64 self_ns;
	unsigned int nworkers;
	bool overflow;		/* more workers than fit: not counted */
	struct bench_worker workers[BENCH_MAX_WORKERS];
} bench_cpu_win;

/* Runtime of a worker that was there at the start (0 for a new one) */
static u64 bench_worker_start(const struct bench_cpu *c, pid_t pid)
{
	unsigned int i;

	for (i = 0; i < c->nworkers; i++)
		if (c->workers[i].pid == pid)
			return c->workers[i].ns;
	return 0;
}

static void bench_cpu_start(struct bench_cpu *c)
{
	struct task_struct *g, *t;

	c->nworkers = 0;
	c->overflow = false;
	rcu_read_lock();
	for_each_process_thread(g, t) {
		if (!(t->flags & PF_WQ_WORKER))
			continue;
		if (c->nworkers == BENCH_MAX_WORKERS) {
			c->overflow = true;
			break;
		}
		c->workers[c->nworkers].pid = t->pid;
		c->workers[c->nworkers++].ns = READ_ONCE(t->se.sum_exec_runtime);
	}
	rcu_read_unlock();
	c->self_ns = current->se.sum_exec_runtime;
	c->wall_ns = ktime_get_ns();
}

/*
 * "cpu WALL_NS SELF_NS WORKERS_NS NWORKERS" of the window that began at
 * bench_cpu_start(); a worker that exited within it is not counted.
 */
static void bench_cpu_out(const struct bench_cpu *c)
{
	u64 wall = ktime_get_ns() - c->wall_ns;
	u64 self = current->se.sum_exec_runtime - c->self_ns;
	u64 workers = 0, ns;
	struct task_struct *g, *t;
	unsigned int n = 0;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		if (!(t->flags & PF_WQ_WORKER))
			continue;
		ns = READ_ONCE(t->se.sum_exec_runtime);
		workers += ns - min(ns, bench_worker_start(c, t->pid));
		n++;
	}
	rcu_read_unlock();
	if (c->overflow)
		pr_warn("more than %d workqueue workers: CPU not measured\n",
			BENCH_MAX_WORKERS);
	bench_out("cpu %llu %llu %llu %u\n", wall, self,
		  c->overflow ? 0 : workers, n);
}

static void bench_samples_out(unsigned int errors, const u64 *ns,
			      unsigned int reps)
{
	unsigned int i;

	bench_out("errors %u\nns", errors);
	for (i = 0; i < reps; i++)
		bench_out(" %llu", ns[i]);
	bench_out("\n");
}

static int bench_lat(const char *bdf, const char *kind, unsigned int reps)
{
		struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	struct bench_xchg x;
	unsigned int i, errors = 0;
	int rc, bytes = 0;
	u64 *ns;

	if (!reps || reps > BENCH_MAX_REPS)
		return -EINVAL;
	rc = bench_get_dev(bdf, &pdev);
	if (rc)
		return rc;
	rc = bench_xchg_init(&x, kind);
	if (rc)
		goto put;
	mb = bench_find_mb(pdev, x.vendor, x.type);
	ns = kvcalloc(reps, sizeof(*ns), GFP_KERNEL);
	if (!mb || !ns) {
		rc = mb ? -ENOMEM : -ENOENT;
		goto free;
	}
	for (i = 0; i < BENCH_WARMUP; i++)
		bench_xchg_once(mb, &x);
	bench_cpu_start(&bench_cpu_win);
	for (i = 0; i < reps; i++) {
		u64 t0 = ktime_get_ns();

		rc = bench_xchg_once(mb, &x);
		ns[i] = ktime_get_ns() - t0;
		if (!bench_xchg_ok(&x, rc))
			errors++;
		else if (!bytes)
			bytes = rc;
		else if (x.full && rc != bytes)
			errors++;	/* the table changed size */
		cond_resched();
	}
	bench_cpu_out(&bench_cpu_win);
	bench_out("bytes %d\n", bytes);
	bench_samples_out(errors, ns, reps);
	rc = 0;
free:
	kvfree(ns);
	bench_xchg_free(&x);
put:
	pci_dev_put(pdev);
	return rc;
}

static int bench_idle(unsigned int ms)
{
	if (!ms || ms > 60000)
		return -EINVAL;
	bench_cpu_start(&bench_cpu_win);
	msleep(ms);
	bench_cpu_out(&bench_cpu_win);
	return 0;
}

static int bench_sleep(unsigned int us, unsigned int reps)
{
		unsigned int i;
	u64 *ns;

	if (!us || us > USEC_PER_SEC || !reps || reps > BENCH_MAX_REPS)
		return -EINVAL;
	ns = kvcalloc(reps, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	bench_cpu_start(&bench_cpu_win);
	for (i = 0; i < reps; i++) {
		u64 t0 = ktime_get_ns();

		usleep_range(us, us + 1);
		ns[i] = ktime_get_ns() - t0;
	}
	bench_cpu_out(&bench_cpu_win);
	bench_samples_out(0, ns, reps);
	kvfree(ns);
	return 0;
}

static int bench_cfg(const char *bdf, unsigned int off, unsigned int reps,
		     bool write)
{
	struct pci_dev *pdev;
	unsigned int i;
	u64 t0, t;
	u32 val;
	int rc;

	if (!reps || reps > BENCH_MAX_REPS * 10 || off & 3 || off >= 4096)
		return -EINVAL;
	rc = bench_get_dev(bdf, &pdev);
	if (rc)
		return rc;
	t0 = ktime_get_ns();
	for (i = 0; i < reps; i++) {
		if (write)
			pci_write_config_dword(pdev, off, 0);
		else
			pci_read_config_dword(pdev, off, &val);
	}
	t = ktime_get_ns() - t0;
	pci_dev_put(pdev);
	bench_out("ns %llu\n", t);
	return 0;
}

/* ---- throughput ---- */

struct bench_tput {
	struct pci_doe_mb *mb;
	struct bench_xchg x;
	unsigned int reps;
	atomic_t *errors;
	atomic_t *left;
	struct completion *done;
};

static int bench_tput_thread(void *data)
{
	struct bench_tput *t = data;
	unsigned int i;

	for (i = 0; i < t->reps; i++)
		if (!bench_xchg_ok(&t->x, bench_xchg_once(t->mb, &t->x)))
			atomic_inc(t->errors);
	if (atomic_dec_and_test(t->left))
		complete(t->done);
	return 0;
}

#if BENCH_OURS
struct bench_task {
	struct pci_doe_task task;
	struct bench_tput *t;
	u32 rsp[64];
};

static void bench_task_done(struct pci_doe_task *task)
{
	struct bench_task *bt = container_of(task, struct bench_task, task);
	struct bench_tput *t = bt->t;

	if (task->rv != sizeof(bt->rsp) ||
	    memcmp(bt->rsp, t->x.req, sizeof(bt->rsp)))
		atomic_inc(t->errors);
	if (atomic_dec_and_test(t->left))
		complete(t->done);
}

static int bench_tput_async(struct bench_tput *t, unsigned int n,
			    unsigned int reps, atomic_t *left)
{
	struct bench_task *bt;
	unsigned int i, j, submitted = 0;
	int rc = 0;

	bt = kvcalloc(n * reps, sizeof(*bt), GFP_KERNEL);
	if (!bt)
		return -ENOMEM;
	atomic_set(left, n * reps + 1);
	for (j = 0; j < reps && !rc; j++) {
		for (i = 0; i < n && !rc; i++) {
			struct bench_task *b = &bt[j * n + i];

			b->t = &t[i];
			b->task.vendor = VID_SIM;
			b->task.type = TYPE_ECHO;
			b->task.request = t[i].x.req;
			b->task.request_sz = t[i].x.req_sz;
			b->task.response = b->rsp;
			b->task.response_sz = sizeof(b->rsp);
			b->task.complete = bench_task_done;
			rc = pci_doe_submit(t[i].mb, &b->task);
			if (!rc)
				submitted++;
		}
	}
	/* Tasks never submitted will not complete: drop them from the count */
	if (atomic_sub_and_test(n * reps - submitted + 1, left))
		complete(t[0].done);
	wait_for_completion(t[0].done);
	kvfree(bt);
	return rc;
}
#endif

static int bench_tput(const char *mode, unsigned int reps, char **bdfs,
		      unsigned int n)
{
	struct pci_dev *pdev[BENCH_MAX_MBS] = { };
	struct bench_tput *t;
	DECLARE_COMPLETION_ONSTACK(done);
	atomic_t errors = ATOMIC_INIT(0), left;
	bool async = !strcmp(mode, "async");
	unsigned int i;
	u64 t0, ns;
	int rc = 0;

	if (!n || n > BENCH_MAX_MBS || !reps || reps > 10000)
		return -EINVAL;
	if (!async && strcmp(mode, "sync"))
		return -EINVAL;
	if (async && !BENCH_OURS)
		return -EOPNOTSUPP;
	t = kcalloc(n, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n && !rc; i++) {
		rc = bench_get_dev(bdfs[i], &pdev[i]);
		if (rc)
			break;
		rc = bench_xchg_init(&t[i].x, "echo64");
		if (rc)
			break;
		t[i].mb = pci_find_doe_mailbox(pdev[i], VID_SIM, TYPE_ECHO);
		if (!t[i].mb)
			rc = -ENOENT;
		t[i].reps = reps;
		t[i].errors = &errors;
		t[i].left = &left;
		t[i].done = &done;
	}
	if (rc)
		goto out;

	t0 = ktime_get_ns();
	if (async) {
#if BENCH_OURS
		rc = bench_tput_async(t, n, reps, &left);
#endif
	} else {
		atomic_set(&left, n);
		for (i = 0; i < n; i++) {
			struct task_struct *k;

			k = kthread_run(bench_tput_thread, &t[i], "doe_bench/%u",
					i);
			if (IS_ERR(k)) {
				/* the threads already started still finish */
				rc = PTR_ERR(k);
				if (atomic_sub_and_test(n - i, &left))
					complete(&done);
				break;
			}
		}
		wait_for_completion(&done);
	}
	ns = ktime_get_ns() - t0;
	if (!rc)
		bench_out("ns %llu errors %d\n", ns, atomic_read(&errors));
out:
	for (i = 0; i < n; i++) {
		bench_xchg_free(&t[i].x);
		pci_dev_put(pdev[i]);
	}
	kfree(t);
	return rc;
}

#if BENCH_OURS
/* The claim "claim BDF" holds until "release BDF"; under bench_lock */
static struct pci_doe_claim *bench_held;
#endif

static int bench_claim(const char *bdf, bool claim)
{
#if BENCH_OURS
	struct pci_doe_claim *c;
	struct pci_doe_mb *mb;
	struct pci_dev *pdev;
	int rc;

	if (!claim) {
		if (!bench_held)
			return -ENOENT;
		pci_doe_release(bench_held);
		bench_held = NULL;
		return 0;
	}
	if (bench_held)
		return -EBUSY;
	rc = bench_get_dev(bdf, &pdev);
	if (rc)
		return rc;
	mb = bench_find_mb(pdev, VID_PCI_SIG, TYPE_DISCOVERY);
	if (!mb) {
		rc = -ENOENT;
	} else {
		c = pci_doe_claim(mb, KBUILD_MODNAME);
		if (IS_ERR(c))
			rc = PTR_ERR(c);
		else
			bench_held = c;
	}
	pci_dev_put(pdev);
	return rc;
#else
	return -EOPNOTSUPP;
#endif
}

#define BENCH_MAX_ARGS	(BENCH_MAX_MBS + 3)

static int bench_run(char *line)
{
	char *argv[BENCH_MAX_ARGS], *p;
	unsigned int a, b, argc = 0;

	while ((p = strsep(&line, " \t\n"))) {
		if (!*p)
			continue;
		if (argc == BENCH_MAX_ARGS)
			return -E2BIG;
		argv[argc++] = p;
	}
	if (!argc)
		return -EINVAL;
	if (!strcmp(argv[0], "async") && argc == 1) {
		bench_out("%d\n", BENCH_OURS);
		return 0;
	}
	if (!strcmp(argv[0], "lat") && argc == 4) {
		if (kstrtouint(argv[3], 0, &a))
			return -EINVAL;
		return bench_lat(argv[1], argv[2], a);
	}
	if (!strcmp(argv[0], "sleep") && argc == 3) {
		if (kstrtouint(argv[1], 0, &a) || kstrtouint(argv[2], 0, &b))
			return -EINVAL;
		return bench_sleep(a, b);
	}
	if (!strcmp(argv[0], "idle") && argc == 2) {
		if (kstrtouint(argv[1], 0, &a))
			return -EINVAL;
		return bench_idle(a);
	}
	if ((!strcmp(argv[0], "cfg") || !strcmp(argv[0], "cfgw")) &&
	    argc == 4) {
		if (kstrtouint(argv[2], 0, &a) || kstrtouint(argv[3], 0, &b))
			return -EINVAL;
		return bench_cfg(argv[1], a, b, argv[0][3] == 'w');
	}
	if (!strcmp(argv[0], "tput") && argc >= 4) {
		if (kstrtouint(argv[2], 0, &a))
			return -EINVAL;
		return bench_tput(argv[1], a, &argv[3], argc - 3);
	}
	if (!strcmp(argv[0], "claim") && argc == 2)
		return bench_claim(argv[1], true);
	if (!strcmp(argv[0], "release") && argc == 2)
		return bench_claim(argv[1], false);
	return -EINVAL;
}

static ssize_t bench_cmd_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char *line;
	int rc;

	if (len > 512)
		return -E2BIG;
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);
	mutex_lock(&bench_lock);
	bench_result_len = 0;
	bench_result[0] = '\0';
	rc = bench_run(line);
	if (rc)
		bench_result_len = 0;
	mutex_unlock(&bench_lock);
	kfree(line);
	return rc ?: len;
}

static ssize_t bench_cmd_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	ssize_t rc;

	mutex_lock(&bench_lock);
	rc = simple_read_from_buffer(ubuf, len, ppos, bench_result,
				     bench_result_len);
	mutex_unlock(&bench_lock);
	return rc;
}

static const struct file_operations bench_cmd_fops = {
	.owner = THIS_MODULE,
	.write = bench_cmd_write,
	.read = bench_cmd_read,
	.llseek = default_llseek,
};

static int __init bench_init(void)
{
	bench_result = kvzalloc(BENCH_RESULT_SZ, GFP_KERNEL);
	if (!bench_result)
		return -ENOMEM;
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("cmd", 0600, bench_dir, NULL, &bench_cmd_fops);
	return 0;
}
module_init(bench_init);

static void __exit bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	kvfree(bench_result);
}
module_exit(bench_exit);

MODULE_DESCRIPTION("DOE exchange measurements for make bench");
MODULE_LICENSE("GPL");
