// SPDX-License-Identifier: GPL-2.0
/*
 * The doe tool (tools/pci/doe.c) against the kernel it describes.
 *
 * Runs "doe" on every mailbox of class pci_doe (and, with the DOE simulator
 * built in, on the two mailboxes of a simulated function each test creates)
 * and checks what it prints against sysfs, the char devices, the CXL
 * driver's CDAT files and the test module (lib/test_pci_doe.c):
 *
 *  list_json            "doe list --json" is valid JSON that names every
 *                       mailbox with the offset, version, protocols,
 *                       user_protocols states and counters of sysfs; -s
 *                       selects exactly the mailbox asked for
 *  discover_matches     "doe discover BDF@OFF" lists the protocols file;
 *                       the exchanges are counted as userspace's
 *  cdat_matches         "doe cdat --raw" is the CXL driver's CDAT of the
 *                       function (endpoint or port) or, without one, what a
 *                       raw read of the taken mailbox gives; "doe cdat"
 *                       says "checksum ok", --json says "ok": true
 *  cdat_qemu_tables     the switch topology's cxl-type3 devices whose CDATs
 *                       the harness wrote (scripts/cdat-tables.sh), found
 *                       by serial number: one structure of every type
 *                       decoded to the values written and read back byte
 *                       for byte; a bad checksum and a short table each
 *                       reported as such (status 1) with what was read
 *  cdat_malformed_file  "doe cdat --file" of a good table and of broken
 *                       ones (checksum, short, trailing bytes, structure
 *                       lengths, no header): each problem named, status 1
 *  exchange_discovery   "doe exchange BDF 0001:00 ..." prints the response
 *                       a mediated Discovery of index 0 gets, on the first
 *                       mailbox carrying Discovery
 *  take_runs_command    "doe take": the mailbox is held by the tool while
 *                       the command runs (a kernel claim gets EBUSY, a
 *                       setpci write lands), given back after it (the
 *                       kernel's next exchange works after exactly one
 *                       abort)
 *  take_status          the command's exit status: 0, 1, 7, 128 + SIGTERM,
 *                       127 for a command that does not exist
 *  take_busy            a kernel claim keeps "doe take" out, naming the
 *                       owner; the command does not run
 *  reserved_cdat        a claim reserving 1e98:02: "doe cdat" fails naming
 *                       the reservation, Discovery still works, "doe list"
 *                       shows it reserved and the owner
 *  missing_function     discover, cdat, exchange and take of a function
 *                       that does not exist: "No such device", status 1
 *  removed_device       a simulated function removed during a slow
 *                       exchange: the tool reports "No such device" and
 *                       "removed"; the gone function is ENODEV too
 *  capture_pcap         "doe capture" around mediated Discoveries and a
 *                       kernel stream: a pcap (magic, version 2.4, link
 *                       type 292) with exactly one packet per data object,
 *                       12 bytes each, the bytes of the exchange, wall
 *                       clock timestamps; trace_clock and the event's
 *                       enable are restored
 *
 * The tool is "doe" next to this program (the Makefile builds it there) or
 * in PATH; without it every test skips.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <linux/types.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "doe_ctl.h"

#define PCI_DEVICES		"/sys/bus/pci/devices"
#define MAX_MBS			DOE_CTL_MAX_MBS
#define SIM_MBS			2

/* How long one run of the tool may take; bounded waits, not assertions */
#define RUN_MS			20000
#define WAIT_MS			5000
/* A slow simulated device, so that the function goes mid-exchange */
#define SLOW_US			"500000"

/* The pcap the tool writes (tools/pci/doe.c) */
#define PCAP_MAGIC		0xa1b2c3d4u
#define LINKTYPE_PCI_DOE	292
#define CAPTURE_XCHG		3	/* mediated Discoveries */
#define CAPTURE_STREAM		5	/* kernel Discoveries */
#define DISC_BYTES		12

#define HELPER_ARG		"--claim-while-taken"
/* The helper's exit status when the holder is not its parent */
#define HELPER_NOT_HELD		100
#define HELPER_CLAIMED		101

static char tool[PATH_MAX];
static char self_exe[PATH_MAX];

/* ---- running the tool ---- */

/* A finished run: exit status (128 + signal), its output */
struct run {
	int status;
	char *out;
	size_t out_len;
	char *err;
	size_t err_len;
};

/* A run in the background */
struct bg {
	pid_t pid;
	int fd[2];		/* stdout, stderr; -1 once at EOF */
	struct run r;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return;
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
}

/* Start argv[] (argv[0] is the program) with its output on pipes */
static int bg_start(struct bg *b, char *const argv[])
{
	int out[2], err[2];

	memset(b, 0, sizeof(*b));
	b->r.out = calloc(1, 1);
	b->r.err = calloc(1, 1);
	if (!b->r.out || !b->r.err || pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (!b->pid) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	b->fd[0] = out[0];
	b->fd[1] = err[0];
	return 0;
}

/* Read what is there, waiting up to @ms; 0 once both pipes are at EOF */
static int bg_read(struct bg *b, int ms)
{
	struct pollfd p[2];
	char buf[4096];
	int i, n = 0;

	for (i = 0; i < 2; i++) {
		if (b->fd[i] < 0)
			continue;
		p[n].fd = b->fd[i];
		p[n].events = POLLIN;
		n++;
	}
	if (!n)
		return 0;
	if (poll(p, n, ms) <= 0)
		return 1;
	for (i = 0; i < n; i++) {
		int k = p[i].fd == b->fd[0] ? 0 : 1;
		ssize_t len;

		if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		len = read(b->fd[k], buf, sizeof(buf));
		if (len <= 0) {
			close(b->fd[k]);
			b->fd[k] = -1;
		} else if (k) {
			append(&b->r.err, &b->r.err_len, buf, len);
		} else {
			append(&b->r.out, &b->r.out_len, buf, len);
		}
	}
	return b->fd[0] >= 0 || b->fd[1] >= 0;
}

/* Wait (bounded) until the tool's stderr contains @s: 0 or -ETIMEDOUT */
static int bg_wait_err(struct bg *b, const char *s, int ms)
{
	long long end = doe_ctl_now_ms() + ms;

	while (!strstr(b->r.err, s)) {
		if (doe_ctl_now_ms() > end || !bg_read(b, 50))
			return strstr(b->r.err, s) ? 0 : -ETIMEDOUT;
	}
	return 0;
}

/* Collect the output and the status; killed after @ms */
static void bg_finish(struct bg *b, int ms, struct run *r)
{
	long long end = doe_ctl_now_ms() + ms;
	int status = 0, i;

	while (bg_read(b, 50))
		if (doe_ctl_now_ms() > end) {
			kill(b->pid, SIGKILL);
			break;
		}
	for (i = 0; i < 2; i++)
		if (b->fd[i] >= 0)
			close(b->fd[i]);
	while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		b->r.status = WEXITSTATUS(status);
	else
		b->r.status = 128 + WTERMSIG(status);
	*r = b->r;
}

/* Run the tool with the NULL-terminated arguments after @r */
static void doe(struct run *r, ...)
{
	char *argv[32];
	struct bg b;
	va_list ap;
	int n = 0;

	argv[n++] = tool;
	va_start(ap, r);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (bg_start(&b, argv)) {
		memset(r, 0, sizeof(*r));
		r->status = -1;
		r->out = calloc(1, 1);
		r->err = strdup("could not start the tool");
		return;
	}
	bg_finish(&b, RUN_MS, r);
}

/* For messages: the status and the start of stderr */
static const char *run_str(const struct run *r)
{
	static char buf[768];

	snprintf(buf, sizeof(buf), "status %d, stderr: %.700s", r->status,
		 r->err ? r->err : "");
	return buf;
}

/* ---- a small JSON parser, for "doe list --json" ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	char *key;		/* inside an object */
	char *str;
	long long num;
	int is_int;
	struct jv *kids;
	int nr;
};

static void jfree(struct jv *v)
{
	int i;

	for (i = 0; i < v->nr; i++)
		jfree(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->str);
}

static void jskip(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static int jstring(const char **p, char **out)
{
	size_t len = 0, cap = 16;
	char *s = malloc(cap);

	if (!s || **p != '"')
		goto bad;
	for ((*p)++; **p != '"'; (*p)++) {
		char c = **p;

		if (!c || (unsigned char)c < 0x20)
			goto bad;
		if (c == '\\') {
			(*p)++;
			switch (**p) {
			case '"':
			case '\\':
			case '/':
				c = **p;
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				if (!isxdigit((unsigned char)(*p)[1]) ||
				    !isxdigit((unsigned char)(*p)[2]) ||
				    !isxdigit((unsigned char)(*p)[3]) ||
				    !isxdigit((unsigned char)(*p)[4]))
					goto bad;
				c = '?';
				*p += 4;
				break;
			default:
				goto bad;
			}
		}
		if (len + 2 > cap) {
			char *ns = realloc(s, cap *= 2);

			if (!ns)
				goto bad;
			s = ns;
		}
		s[len++] = c;
	}
	(*p)++;
	s[len] = '\0';
	*out = s;
	return 0;
bad:
	free(s);
	return -1;
}

static int jvalue(const char **p, struct jv *v, int depth);

/* The members of an array or object, up to @close */
static int jmembers(const char **p, struct jv *v, char close, int depth)
{
	(*p)++;
	jskip(p);
	if (**p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		struct jv *nk = realloc(v->kids, (v->nr + 1) * sizeof(*nk));
		struct jv *k;

		if (!nk)
			return -1;
		v->kids = nk;
		k = &v->kids[v->nr++];
		memset(k, 0, sizeof(*k));
		jskip(p);
		if (close == '}') {
			if (jstring(p, &k->key))
				return -1;
			jskip(p);
			if (**p != ':')
				return -1;
			(*p)++;
		}
		if (jvalue(p, k, depth + 1))
			return -1;
		jskip(p);
		if (**p == close) {
			(*p)++;
			return 0;
		}
		if (**p != ',')
			return -1;
		(*p)++;
	}
}

static int jvalue(const char **p, struct jv *v, int depth)
{
	char *end;

	if (depth > 32)
		return -1;
	jskip(p);
	switch (**p) {
	case '{':
		v->type = J_OBJ;
		return jmembers(p, v, '}', depth);
	case '[':
		v->type = J_ARR;
		return jmembers(p, v, ']', depth);
	case '"':
		v->type = J_STR;
		return jstring(p, &v->str);
	case 't':
	case 'f':
		v->type = J_BOOL;
		v->num = **p == 't';
		if (strncmp(*p, v->num ? "true" : "false", v->num ? 4 : 5))
			return -1;
		*p += v->num ? 4 : 5;
		return 0;
	case 'n':
		v->type = J_NULL;
		if (strncmp(*p, "null", 4))
			return -1;
		*p += 4;
		return 0;
	}
	v->type = J_NUM;
	errno = 0;
	v->num = strtoll(*p, &end, 10);
	if (end == *p || errno)
		return -1;
	v->is_int = !strchr(".eE", *end);
	if (!v->is_int)
		strtod(*p, &end);
	*p = end;
	return 0;
}

/* Parse a whole document; 0 or -1 (and *v freed) */
static int jparse(const char *s, struct jv *v)
{
	memset(v, 0, sizeof(*v));
	if (jvalue(&s, v, 0)) {
		jfree(v);
		return -1;
	}
	jskip(&s);
	if (*s) {
		jfree(v);
		return -1;
	}
	return 0;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	int i;

	if (!o || o->type != J_OBJ)
		return NULL;
	for (i = 0; i < o->nr; i++)
		if (!strcmp(o->kids[i].key, key))
			return &o->kids[i];
	return NULL;
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->type == J_STR ? v->str : NULL;
}

static long long jnum(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->type == J_NUM && v->is_int ? v->num : -1;
}

/* ---- the fixture ---- */

struct cli {
	struct doe_ctl_mb mbs[MAX_MBS];
	int n;
	int sim_id;
	char sim_bdf[32];
	int tpd;
	char policy[32];
};

FIXTURE(cli) {
	struct cli x;
};

static int exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* What user_protocols says of @prot ("0001:00") on @mb, "" if nothing */
static void user_state(const struct doe_ctl_mb *mb, const char *prot,
		       char *state, size_t len)
{
	char buf[4096], *line, *save;

	state[0] = '\0';
	if (doe_ctl_mb_read(mb, "user_protocols", buf, sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, prot, 7) && line[7] == ' ')
			snprintf(state, len, "%s", line + 8);
}

static int allowed(const struct doe_ctl_mb *mb, const char *prot)
{
	char state[32];

	user_state(mb, prot, state, sizeof(state));
	return !strcmp(state, "allowed");
}

/* Does the mailbox carry a protocol userspace may not use? */
static int carries_refused(const struct doe_ctl_mb *mb)
{
	char buf[4096];

	if (doe_ctl_mb_read(mb, "user_protocols", buf, sizeof(buf)) < 0)
		return 0;
	return !!strstr(buf, " refused");
}

/* Kernel lockdown is in force (it refuses TAKE) */
static int locked_down(void)
{
	char buf[256];

	if (doe_ctl_read_file("/sys/kernel/security/lockdown", buf,
			      sizeof(buf)) <= 0)
		return 0;
	return !strstr(buf, "[none]");
}

/*
 * TAKE is refused on @mb: lockdown, or pci_doe.policy=locked and a
 * protocol userspace may not use
 */
static int take_refused(const struct cli *x, const struct doe_ctl_mb *mb)
{
	return locked_down() ||
	       (!strcmp(x->policy, "locked") && carries_refused(mb));
}

static void sel_of(const struct doe_ctl_mb *mb, char *buf, size_t len)
{
	snprintf(buf, len, "%s@%x", mb->bdf, mb->cap);
}

/*
 * The Discovery request dword of index 0 for @mb: Discovery Version 2
 * [15:8] for capability version 2 and later
 */
static __u32 disc_dword(const struct doe_ctl_mb *mb)
{
	char buf[32];

	if (doe_ctl_mb_read(mb, "version", buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10) >= 2 ? 2 << 8 : 0;
}

static void put_le32(__u8 *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

FIXTURE_SETUP(cli)
{
	struct cli *x = &self->x;
	int i;

	x->sim_id = -1;
	if (!tool[0])
		SKIP(return, "no doe tool next to this program or in PATH (tools/pci/doe.c)");
	x->tpd = doe_ctl_tpd_present();
	if (x->tpd)
		ASSERT_EQ(0, doe_ctl_tpd_write("reset", "1"));
	if (doe_ctl_policy(x->policy, sizeof(x->policy)))
		x->policy[0] = '\0';
	if (doe_ctl_sim_present()) {
		ASSERT_EQ(0, doe_ctl_sim_add(SIM_MBS, &x->sim_id, x->sim_bdf,
					     sizeof(x->sim_bdf)));
		ASSERT_EQ(0, doe_ctl_wait_class(x->sim_bdf, SIM_MBS, WAIT_MS));
	}
	x->n = doe_ctl_mailboxes(x->mbs, MAX_MBS);
	if (!x->n)
		SKIP(return, "no DOE mailbox: no CXL device, no simulator (CONFIG_PCI_DOE_SIM)");
	for (i = 0; i < x->n; i++)
		ASSERT_EQ(0, doe_ctl_mb_claims(&x->mbs[i]))
			TH_LOG("%s is claimed by another kernel user",
			       x->mbs[i].name);
}

FIXTURE_TEARDOWN(cli)
{
	struct cli *x = &self->x;

	if (x->tpd)
		doe_ctl_tpd_write("reset", "1");
	if (x->sim_id >= 0)
		EXPECT_EQ(0, doe_ctl_sim_del(x->sim_id));
}

#define NO_TPD	"no test module (CONFIG_TEST_PCI_DOE): the kernel's side comes from it"
#define NO_SIM	"no " DOE_CTL_SIM_DIR " (CONFIG_PCI_DOE_SIM)"

/* ---- doe list ---- */

static void list_one(struct __test_metadata *_metadata,
		     const struct doe_ctl_mb *mb, const struct jv *o)
{
	char buf[4096], want[2048], got[2048], state[32];
	const struct jv *prots, *stats;
	size_t pos = 0;
	glob_t g;
	int i;

	EXPECT_STREQ(mb->bdf, jstr(o, "device"));
	EXPECT_EQ(mb->cap, jnum(o, "offset"));
	ASSERT_LE(0, doe_ctl_mb_read(mb, "version", buf, sizeof(buf)));
	EXPECT_EQ(strtol(buf, NULL, 10), jnum(o, "version"));
	prots = jget(o, "protocols");
	ASSERT_TRUE(prots && prots->type == J_ARR) TH_LOG("%s", mb->name);
	got[0] = '\0';
	for (i = 0; i < prots->nr; i++) {
		const struct jv *p = &prots->kids[i];
		const char *id = jstr(p, "id");
		const char *user = jstr(p, "user");

		pos += snprintf(got + pos, sizeof(got) - pos, "%s%s",
				i ? " " : "", id ? id : "?");
		user_state(mb, id ? id : "", state, sizeof(state));
		EXPECT_STREQ(state, user ? user : "")
			TH_LOG("%s: %s", mb->name, id);
	}
	snprintf(want, sizeof(want), "%s", mb->protocols);
	EXPECT_STREQ(want, got) TH_LOG("%s: protocols", mb->name);
	EXPECT_EQ(J_NULL, jget(o, "holder") ? jget(o, "holder")->type : -1);
	EXPECT_EQ(0, jget(o, "owners") ? jget(o, "owners")->nr : -1);

	/* One counter per file of statistics/, a number each */
	stats = jget(o, "statistics");
	ASSERT_TRUE(stats && stats->type == J_OBJ);
	snprintf(buf, sizeof(buf), "%s/statistics/*", mb->dir);
	ASSERT_EQ(0, glob(buf, 0, NULL, &g));
	EXPECT_EQ(g.gl_pathc, (size_t)stats->nr);
	for (i = 0; i < (int)g.gl_pathc; i++) {
		const char *name = strrchr(g.gl_pathv[i], '/') + 1;

		EXPECT_LE(0, jnum(stats, name)) TH_LOG("%s: %s", mb->name,
						       name);
	}
	globfree(&g);
	EXPECT_LE(jnum(stats, "exchanges"),
		  doe_ctl_mb_counter(mb, "exchanges"));
}

TEST_F(cli, list_json)
{
	struct cli *x = &self->x;
	const struct jv *arr;
	char sel[64];
	struct run r;
	struct jv doc;
	int i, j;

	doe(&r, "list", "--json", NULL);
	ASSERT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
	ASSERT_EQ(0, jparse(r.out, &doc)) TH_LOG("not JSON: %.2000s", r.out);
	arr = jget(&doc, "mailboxes");
	ASSERT_TRUE(arr && arr->type == J_ARR);
	EXPECT_EQ(x->n, arr->nr);
	for (i = 0; i < x->n; i++) {
		for (j = 0; j < arr->nr; j++)
			if (!strcmp(x->mbs[i].name,
				    jstr(&arr->kids[j], "name") ?: ""))
				break;
		EXPECT_LT(j, arr->nr) TH_LOG("%s not listed", x->mbs[i].name);
		if (j < arr->nr)
			list_one(_metadata, &x->mbs[i], &arr->kids[j]);
	}
	jfree(&doc);
	run_free(&r);

	/* -s BDF@OFF: that one; text: its name and nothing else */
	for (i = 0; i < x->n; i++) {
		sel_of(&x->mbs[i], sel, sizeof(sel));
		doe(&r, "list", "-s", sel, "--json", NULL);
		ASSERT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
		ASSERT_EQ(0, jparse(r.out, &doc));
		arr = jget(&doc, "mailboxes");
		ASSERT_TRUE(arr && arr->type == J_ARR);
		ASSERT_EQ(1, arr->nr) TH_LOG("-s %s", sel);
		EXPECT_STREQ(x->mbs[i].name, jstr(&arr->kids[0], "name"));
		jfree(&doc);
		run_free(&r);

		doe(&r, "list", "-s", sel, NULL);
		ASSERT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
		EXPECT_TRUE(!strncmp(r.out, x->mbs[i].name,
				     strlen(x->mbs[i].name)))
			TH_LOG("-s %s: %.300s", sel, r.out);
		for (j = 0; j < x->n; j++)
			if (j != i)
				EXPECT_EQ(NULL, strstr(r.out, x->mbs[j].name));
		run_free(&r);
	}
}

/* ---- doe discover ---- */

TEST_F(cli, discover_matches)
{
	struct cli *x = &self->x;
	char sel[64], got[2048];
	int i, tested = 0;

	for (i = 0; i < x->n; i++) {
		const struct doe_ctl_mb *mb = &x->mbs[i];
		unsigned int idx, v, t;
		long ue0, nr = 0;
		size_t pos = 0;
		char *line, *save;
		struct run r;

		if (!allowed(mb, "0001:00"))
			continue;
		tested++;
		sel_of(mb, sel, sizeof(sel));
		ue0 = doe_ctl_mb_counter(mb, "user_exchanges");
		doe(&r, "discover", sel, NULL);
		ASSERT_EQ(0, r.status) TH_LOG("%s: %s", sel, run_str(&r));
		EXPECT_TRUE(!strncmp(r.out, mb->name, strlen(mb->name)));
		got[0] = '\0';
		for (line = strtok_r(r.out, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			/* "\t<index>: <vvvv>:<tt> <name>" */
			if (line[0] != '\t' ||
			    sscanf(line + 1, "%u: %4x:%2x", &idx, &v, &t) != 3)
				continue;
			pos += snprintf(got + pos, sizeof(got) - pos,
					"%s%04x:%02x", pos ? " " : "", v, t);
			nr++;
		}
		EXPECT_STREQ(mb->protocols, got) TH_LOG("%s", sel);
		EXPECT_EQ(ue0 + nr, doe_ctl_mb_counter(mb, "user_exchanges"));
		EXPECT_EQ(NULL, strstr(r.err, "note:")) TH_LOG("%s", r.err);
		run_free(&r);
	}
	if (!tested)
		SKIP(return, "Discovery is refused to userspace on every mailbox");
}

/* ---- doe cdat ---- */

/* The bytes of "doe cdat --raw": hex pairs; how many */
static size_t parse_hexdump(const char *s, __u8 *out, size_t max)
{
	size_t n = 0;
	unsigned int v;
	int k;

	while (*s && n < max) {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (sscanf(s, "%2x%n", &v, &k) != 1 || k != 2)
			break;
		out[n++] = v;
		s += 2;
	}
	return n;
}

static void cdat_one(struct __test_metadata *_metadata, const struct cli *x,
		     const struct doe_ctl_mb *mb)
{
	char sel[64], where[PATH_MAX];
	__u8 *want = NULL, *got;
	size_t wlen = 0, n, j;
	const struct jv *ok;
	struct run r;
	struct jv doc;
	int ret;

	sel_of(mb, sel, sizeof(sel));
	if (mb->sim_id >= 0 ||
	    doe_ctl_kernel_cdat(mb->bdf, &want, &wlen, where, sizeof(where))) {
		ret = doe_user_read_cdat_at(mb->bdf, mb->cap, &want, &wlen);
		if (ret == -EPERM && take_refused(x, mb)) {
			TH_LOG("%s: not compared: no TAKE (policy locked)",
			       mb->name);
			want = NULL;
		} else {
			ASSERT_EQ(0, ret) TH_LOG("%s: raw CDAT read: %s",
						 mb->name, strerror(-ret));
			snprintf(where, sizeof(where),
				 "a raw read of the taken mailbox (the CXL driver has no CDAT of %s)",
				 mb->bdf);
		}
	}

	doe(&r, "cdat", sel, "--raw", NULL);
	ASSERT_EQ(0, r.status) TH_LOG("%s: %s", sel, run_str(&r));
	got = malloc(r.out_len / 2 + 1);
	ASSERT_NE(NULL, got);
	n = parse_hexdump(r.out, got, r.out_len / 2 + 1);
	if (want) {
		EXPECT_EQ(wlen, n) TH_LOG("%s: %zu bytes from doe, %zu in %s",
					  sel, n, wlen, where);
		for (j = 0; j < n && j < wlen && got[j] == want[j]; j++)
			;
		EXPECT_EQ(n, j) TH_LOG("%s: doe and %s differ at byte %zu",
				       sel, where, j);
		TH_LOG("%s: %zu bytes of CDAT, as %s", mb->name, n, where);
	}
	run_free(&r);

	doe(&r, "cdat", sel, NULL);
	EXPECT_EQ(0, r.status) TH_LOG("%s: %s", sel, run_str(&r));
	EXPECT_NE(NULL, strstr(r.out, "checksum ok"))
		TH_LOG("%s: %.2000s", sel, r.out);
	EXPECT_EQ(0, r.err_len) TH_LOG("%s: %s", sel, r.err);
	run_free(&r);

	doe(&r, "cdat", sel, "--json", NULL);
	EXPECT_EQ(0, r.status) TH_LOG("%s: %s", sel, run_str(&r));
	ASSERT_EQ(0, jparse(r.out, &doc)) TH_LOG("not JSON: %.2000s", r.out);
	ok = jget(&doc, "ok");
	EXPECT_TRUE(ok && ok->type == J_BOOL && ok->num);
	EXPECT_EQ((long long)n, jnum(&doc, "bytes"));
	ok = jget(&doc, "checksum_ok");
	EXPECT_TRUE(ok && ok->type == J_BOOL && ok->num);
	jfree(&doc);
	run_free(&r);
	free(got);
	free(want);
}

TEST_F(cli, cdat_matches)
{
	struct cli *x = &self->x;
	int i, tested = 0;

	for (i = 0; i < x->n; i++) {
		if (!x->mbs[i].has_cdat || !allowed(&x->mbs[i], "1e98:02"))
			continue;
		/* malformed on purpose: cdat_qemu_tables */
		if (doe_user_harness_table(x->mbs[i].bdf) > DOE_USER_TABLE_EVERY)
			continue;
		cdat_one(_metadata, x, &x->mbs[i]);
		tested++;
	}
	if (!tested)
		SKIP(return, "no mailbox carries CXL Table Access (1e98:02) for userspace");
}

/* Set the checksum byte of the @len-byte table @t: all bytes sum to 0 */
static void cdat_checksum(__u8 *t, size_t len)
{
	unsigned int sum = 0;
	size_t i;

	t[5] = 0;
	for (i = 0; i < len; i++)
		sum += t[i];
	t[5] = -sum;
}

/*
 * A small CDAT: the header, a DSMAS (256 MiB) and a DSLBIS (read latency
 * 15 x 10000 ps), checksum set; the structures of CDAT r1.03 sec 3
 */
static size_t good_cdat(__u8 *t)
{
	size_t len = 16 + 24 + 24;

	memset(t, 0, len);
	put_le32(t, len);
	t[4] = 1;				/* revision */
	t[16] = 0;				/* DSMAS */
	t[18] = 24;
	t[16 + 16 + 3] = 0x10;			/* DPA length 256 MiB */
	t[40] = 1;				/* DSLBIS */
	t[42] = 24;
	t[40 + 6] = 1;				/* read latency */
	put_le32(t + 40 + 8, 10000);		/* entry base unit */
	t[40 + 16] = 15;
	cdat_checksum(t, len);
	return len;
}

static int write_table(const char *path, const __u8 *t, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, t, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

TEST_F(cli, cdat_malformed_file)
{
	static const struct {
		const char *name;
		const char *problem;	/* what stderr must say */
	} cases[] = {
		{ "well formed", NULL },
		{ "bad checksum", "bad checksum" },
		{ "short", "short: the header says 88 bytes" },
		{ "trailing bytes", "past the 64 the header says" },
		{ "structure length", "length 64, 48 bytes left" },
		{ "wrong size", "DSMAS of 20 bytes, expected 24" },
		{ "no header", "shorter than the CDAT header" },
	};
	char file[64];
	__u8 t[128];
	struct run r;
	size_t k, len;

	snprintf(file, sizeof(file), "/tmp/pci_doe_cli.%d.cdat", getpid());
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		len = good_cdat(t);
		switch (k) {
		case 1:
			t[5]++;
			break;
		case 2:
			put_le32(t, len + 24);	/* checksum off too */
			t[5] -= 24;
			break;
		case 3:
			memset(t + len, 0, 24);
			len += 24;
			break;
		case 4:
			t[18] = 64;		/* runs past the end */
			t[5] -= 40;
			break;
		case 5:
			t[18] = 20;		/* DSLBIS starts 4 bytes early */
			t[5] += 4;
			break;
		case 6:
			len = 3;
			break;
		}
		ASSERT_EQ(0, write_table(file, t, len));
		doe(&r, "cdat", "--file", file, NULL);
		if (!cases[k].problem) {
			EXPECT_EQ(0, r.status) TH_LOG("%s: %s", cases[k].name,
						      run_str(&r));
			EXPECT_NE(NULL, strstr(r.out, "checksum ok"));
			EXPECT_NE(NULL, strstr(r.out, "read latency 150000 ps"))
				TH_LOG("%s", r.out);
		} else {
			EXPECT_EQ(1, r.status) TH_LOG("%s: %s", cases[k].name,
						      run_str(&r));
			EXPECT_NE(NULL, strstr(r.err, "CDAT malformed"))
				TH_LOG("%s: %s", cases[k].name, r.err);
			EXPECT_NE(NULL, strstr(r.err, cases[k].problem))
				TH_LOG("%s: %s", cases[k].name, r.err);
		}
		run_free(&r);
		doe(&r, "cdat", "--file", file, "--json", NULL);
		EXPECT_EQ(!!cases[k].problem, r.status)
			TH_LOG("%s --json: %s", cases[k].name, run_str(&r));
		run_free(&r);
	}
	unlink(file);
}

/*
 * A table with one structure of every type CDAT r1.03 defines, with values
 * chosen so that a wrong offset or unit shows: the decoded text must say
 * what was written.
 */
static const __u8 every_structure[] = {
	/* header: length 148, revision 3, checksum (filled in), sequence 5 */
	0x94, 0x00, 0x00, 0x00, 0x03, 0x00, 0, 0, 0, 0, 0, 0,
	0x05, 0x00, 0x00, 0x00,
	/* DSMAS: handle 7, non-volatile, DPA base 4 GiB, length 1 GiB */
	0x00, 0x00, 0x18, 0x00, 0x07, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00,
	/* DSLBIS: handle 7, write latency, base unit 1000, entry 30 */
	0x01, 0x00, 0x18, 0x00, 0x07, 0x00, 0x02, 0x00,
	0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* DSMSCIS: handle 7, 2 MiB memory side cache */
	0x02, 0x00, 0x14, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	/* DSIS: memory attached, handle 9 */
	0x03, 0x00, 0x08, 0x00, 0x01, 0x09, 0x00, 0x00,
	/* DSEMTS: handle 7, EFI conventional + SP, DPA 0x1000 + 0x2000 */
	0x04, 0x00, 0x18, 0x00, 0x07, 0x01, 0x00, 0x00,
	0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* SSLBIS: read bandwidth, base unit 100, two port pairs */
	0x05, 0x00, 0x20, 0x00, 0x04, 0x00, 0x00, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xff, 0xff, 0x32, 0x00, 0x00, 0x00,
};

/* What "doe cdat" must print of every_structure[]; the last line: if valid */
static const char * const every_want[] = {
	"length 148, revision 3",
	"sequence 5",
	"DSMAS, 24 bytes: DSMAD handle 7, flags 0x4 (non-volatile), DPA base 0x100000000, DPA length 0x40000000 (1 GiB)",
	"DSLBIS, 24 bytes: handle 7, flags 0 (memory), data type 2 (write latency), write latency 30000 ps (30 ns), entry base unit 1000",
	"DSMSCIS, 20 bytes: DSMAS handle 7, cache size 0x200000 (2 MiB)",
	"DSIS, 8 bytes: flags 0x1 (memory attached), handle 9",
	"DSEMTS, 24 bytes: DSMAS handle 7, EFI memory type 1 (EfiConventionalMemory, EFI_MEMORY_SP), DPA offset 0x1000, DPA length 0x2000",
	"SSLBIS, 32 bytes: data type 4 (read bandwidth), entry base unit 100",
	"upstream port <-> port 0: read bandwidth 2500 MB/s",
	"port 0 <-> any port: read bandwidth 5000 MB/s",
	"148 bytes, 6 structures, checksum ok",
};

/* every_structure[] with its checksum set, in @t */
static void every_table(__u8 *t)
{
	memcpy(t, every_structure, sizeof(every_structure));
	cdat_checksum(t, sizeof(every_structure));
}

TEST_F(cli, cdat_every_structure)
{
	__u8 t[sizeof(every_structure)];
	char file[64];
	struct run r;
	size_t k;

	every_table(t);
	snprintf(file, sizeof(file), "/tmp/pci_doe_cli.%d.cdat", getpid());
	ASSERT_EQ(0, write_table(file, t, sizeof(t)));
	doe(&r, "cdat", "--file", file, NULL);
	EXPECT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
	for (k = 0; k < ARRAY_SIZE(every_want); k++) {
		const char *w = every_want[k];

		EXPECT_NE(NULL, strstr(r.out, w))
			TH_LOG("missing \"%s\" in:\n%s", w, r.out);
	}
	run_free(&r);
	doe(&r, "cdat", "--file", file, "--json", NULL);
	EXPECT_EQ(0, r.status) TH_LOG("--json: %s", run_str(&r));
	EXPECT_NE(NULL, strstr(r.out, "\"SSLBIS\""));
	EXPECT_NE(NULL, strstr(r.out, "\"DSMSCIS\""));
	run_free(&r);
	unlink(file);
}

/* Was this boot's topology the switch one (harness.topo=switch)? */
static int topo_switch(void)
{
	char topo[32];

	return !doe_user_cmdline("harness.topo", topo, sizeof(topo)) &&
	       !strcmp(topo, "switch");
}

TEST_F(cli, cdat_qemu_tables)
{
	static const char * const problem[DOE_USER_TABLE_MAX] = {
		[DOE_USER_TABLE_BADSUM] = "bad checksum: the bytes sum to 0x01, not 0",
		[DOE_USER_TABLE_SHORT] =
			"short: the header says 172 bytes, the entries end at 148",
	};
	static const char * const names[DOE_USER_TABLE_MAX] = {
		[DOE_USER_TABLE_EVERY] = "every structure",
		[DOE_USER_TABLE_BADSUM] = "bad checksum",
		[DOE_USER_TABLE_SHORT] = "short",
	};
	__u8 want[sizeof(every_structure)], got[sizeof(every_structure) + 64];
	struct cli *x = &self->x;
	int i, k, seen[DOE_USER_TABLE_MAX] = { 0 };
	size_t j, n, nwant;
	struct run r;

	if (!topo_switch())
		SKIP(return, "the harness hands QEMU CDAT files in the switch topology only");
	for (i = 0; i < x->n; i++) {
		const struct doe_ctl_mb *mb = &x->mbs[i];
		char sel[64];

		k = doe_user_harness_table(mb->bdf);
		if (k == DOE_USER_TABLE_NONE || !mb->has_cdat)
			continue;
		seen[k]++;
		sel_of(mb, sel, sizeof(sel));
		every_table(want);
		nwant = sizeof(want);
		if (k == DOE_USER_TABLE_BADSUM) {
			want[5]++;
		} else if (k == DOE_USER_TABLE_SHORT) {
			/* the header claims 24 more bytes, checksum kept right */
			want[0] += 24;
			want[5] -= 24;
		}

		doe(&r, "cdat", sel, NULL);
		EXPECT_EQ(k == DOE_USER_TABLE_EVERY ? 0 : 1, r.status)
			TH_LOG("%s (%s): %s", sel, names[k], run_str(&r));
		/* decoded whatever is wrong with the table */
		for (j = 0; j < ARRAY_SIZE(every_want) - 1; j++) {
			const char *w = every_want[j];

			if (j || k != DOE_USER_TABLE_SHORT)
				EXPECT_NE(NULL, strstr(r.out, w))
					TH_LOG("%s (%s): missing \"%s\" in:\n%s",
					       sel, names[k], w, r.out);
		}
		if (k == DOE_USER_TABLE_EVERY) {
			EXPECT_NE(NULL, strstr(r.out, every_want[ARRAY_SIZE(every_want) - 1]))
				TH_LOG("%s: %s", sel, r.out);
			EXPECT_EQ(0, r.err_len) TH_LOG("%s: %s", sel, r.err);
		} else {
			EXPECT_NE(NULL, strstr(r.err, "CDAT malformed"))
				TH_LOG("%s (%s): %s", sel, names[k], r.err);
			EXPECT_NE(NULL, strstr(r.err, problem[k]))
				TH_LOG("%s (%s): %s", sel, names[k], r.err);
		}
		run_free(&r);

		/* the bytes QEMU was given, as they were written */
		doe(&r, "cdat", sel, "--raw", NULL);
		EXPECT_EQ(k == DOE_USER_TABLE_EVERY ? 0 : 1, r.status)
			TH_LOG("%s --raw: %s", sel, run_str(&r));
		n = parse_hexdump(r.out, got, sizeof(got));
		EXPECT_EQ(nwant, n) TH_LOG("%s --raw: %zu bytes", sel, n);
		for (j = 0; j < n && j < nwant && got[j] == want[j]; j++)
			;
		EXPECT_EQ(nwant, j) TH_LOG("%s --raw differs from the file at byte %zu",
					   sel, j);
		run_free(&r);
		TH_LOG("%s: %s table, %zu bytes, as written", mb->name, names[k], n);
	}
	for (k = DOE_USER_TABLE_EVERY; k < DOE_USER_TABLE_MAX; k++) {
		const char *nm = names[k];
		int got = seen[k];

		EXPECT_EQ(1, got) TH_LOG("%d mailboxes serve the %s table (serial %#llx)",
					 got, nm, DOE_USER_TABLE_SN + k);
	}
}

/* ---- doe exchange ---- */

/* A mediated Discovery of index 0 by the test itself: the response dwords */
static int direct_discovery(const struct doe_ctl_mb *mb, __u32 *rsp, int max)
{
	__u32 req[3] = {
		htole32(0x00000001), htole32(3), htole32(disc_dword(mb)),
	};
	ssize_t n;
	int fd, i;

	fd = doe_ctl_cdev_open(mb, O_RDWR);
	if (fd < 0)
		return fd;
	n = write(fd, req, sizeof(req));
	if (n == sizeof(req))
		n = read(fd, rsp, max * 4);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	for (i = 0; i < n / 4; i++)
		rsp[i] = le32toh(rsp[i]);
	return n / 4;
}

TEST_F(cli, exchange_discovery)
{
	struct cli *x = &self->x;
	char dw[16], name[64], *line;
	int i, k, n, tested = 0;
	__u32 want[16], got[16];
	struct run r;

	for (i = 0; i < x->n; i++) {
		const struct doe_ctl_mb *mb = &x->mbs[i];

		if (!allowed(mb, "0001:00"))
			continue;
		/* Without @OFF: the first mailbox of the function */
		if (i && !strcmp(x->mbs[i - 1].bdf, mb->bdf))
			continue;
		tested++;
		n = direct_discovery(mb, want, ARRAY_SIZE(want));
		ASSERT_EQ(3, n) TH_LOG("%s: mediated Discovery: %s", mb->name,
				       n < 0 ? strerror(-n) : "length");
		snprintf(dw, sizeof(dw), "%08x", disc_dword(mb));
		doe(&r, "exchange", mb->bdf, "0001:00", dw, NULL);
		ASSERT_EQ(0, r.status) TH_LOG("%s: %s", mb->bdf,
					      run_str(&r));
		snprintf(name, sizeof(name), "%s: response 0001:00 Discovery, length 3 dwords",
			 mb->name);
		EXPECT_TRUE(!strncmp(r.out, name, strlen(name)))
			TH_LOG("%.300s", r.out);
		line = strchr(r.out, '\t');
		ASSERT_NE(NULL, line) TH_LOG("%.300s", r.out);
		k = sscanf(line, "%x %x %x", &got[0], &got[1], &got[2]);
		EXPECT_EQ(3, k);
		for (k = 0; k < 3; k++)
			EXPECT_EQ(want[k], got[k])
				TH_LOG("%s: dword %d", mb->name, k);
		run_free(&r);
	}
	if (!tested)
		SKIP(return, "Discovery is refused to userspace on every mailbox");
}

/* ---- doe take ---- */

/*
 * Run by "doe take" as its command: the mailbox must be held by our parent
 * (the tool), and a kernel claim must get EBUSY.  Exits with that errno.
 */
static int claim_helper(const char *bdf, const char *cap)
{
	char path[256], buf[128];
	int ret;

	snprintf(path, sizeof(path), DOE_CTL_CLASS_DIR "/%s-doe%03lx/holder",
		 bdf, strtoul(cap, NULL, 0));
	if (doe_ctl_read_file(path, buf, sizeof(buf)) <= 0 ||
	    strtol(buf, NULL, 10) != getppid())
		return HELPER_NOT_HELD;
	ret = doe_ctl_tpd_write("trigger_claim", "device=%s offset=%s", bdf,
				cap);
	if (!ret) {
		doe_ctl_tpd_write("trigger_release", "device=%s offset=%s",
				  bdf, cap);
		return HELPER_CLAIMED;
	}
	return -ret;
}

static const char *helper_str(int status)
{
	if (status == HELPER_NOT_HELD)
		return "the tool does not hold the mailbox";
	if (status == HELPER_CLAIMED)
		return "the claim succeeded";
	return strerror(status);
}

/* The kernel's next exchange works, after exactly one abort */
static void one_abort(struct __test_metadata *_metadata,
		      const struct doe_ctl_mb *mb, long aborts0,
		      const char *after)
{
	int ret = doe_ctl_kernel_discovery(mb);

	EXPECT_EQ(0, ret) TH_LOG("%s: kernel Discovery after %s: %s",
				 mb->name, after, strerror(-ret));
	EXPECT_EQ(aborts0 + 1, doe_ctl_mb_counter(mb, "aborts"))
		TH_LOG("%s: aborts after %s", mb->name, after);
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));
}

static int in_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096], *d, *save;

	snprintf(dirs, sizeof(dirs), "%s",
		 path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", d, prog);
		if (!access(buf, X_OK))
			return 1;
	}
	return 0;
}

TEST_F_TIMEOUT(cli, take_runs_command, 90)
{
	struct cli *x = &self->x;
	char sel[64], cap[16], reg[32], setpci[PATH_MAX];
	int i, have_setpci;

	if (!x->tpd)
		SKIP(return, NO_TPD);
	have_setpci = in_path("setpci", setpci, sizeof(setpci));
	for (i = 0; i < x->n; i++) {
		const struct doe_ctl_mb *mb = &x->mbs[i];
		struct doe_ctl_witness w;
		struct run r;
		long aborts0;

		sel_of(mb, sel, sizeof(sel));
		snprintf(cap, sizeof(cap), "%#x", mb->cap);
		if (take_refused(x, mb)) {
			doe(&r, "take", sel, "--", "true", NULL);
			EXPECT_NE(0, r.status);
			EXPECT_NE(NULL, strstr(r.err, "Operation not permitted"));
			EXPECT_NE(NULL, strstr(r.err, "lock")) TH_LOG("%s", r.err);
			run_free(&r);
			continue;
		}
		/* Whatever an earlier test left for the kernel to abort */
		ASSERT_EQ(0, doe_ctl_kernel_discovery(mb));
		aborts0 = doe_ctl_mb_counter(mb, "aborts");
		doe(&r, "take", sel, "--", self_exe, HELPER_ARG, mb->bdf, cap,
		    NULL);
		EXPECT_EQ(EBUSY, r.status)
			TH_LOG("%s: kernel claim while taken: %d (%s): %s",
			       sel, r.status, helper_str(r.status), r.err);
		run_free(&r);
		one_abort(_metadata, mb, aborts0, "doe take");

		if (!have_setpci)
			continue;
		aborts0 = doe_ctl_mb_counter(mb, "aborts");
		snprintf(reg, sizeof(reg), "%x.L=0", mb->cap + 0x10);
		doe_ctl_witness_start(&w, mb);
		doe_ctl_witness_expect(&w, mb->cap + 0x10, 4);
		doe(&r, "take", sel, "--", setpci, "-s", mb->bdf, reg, NULL);
		EXPECT_EQ(0, r.status) TH_LOG("%s: %s", sel, run_str(&r));
		EXPECT_EQ(NULL, strstr(r.err, "not permitted"))
			TH_LOG("%s", r.err);
		run_free(&r);
		EXPECT_DEVICE(&w, "setpci %s", reg);
		one_abort(_metadata, mb, aborts0, "doe take -- setpci");
	}
	if (!have_setpci)
		TH_LOG("no setpci: the take of a setpci write not tested");
}

TEST_F(cli, take_status)
{
	static const struct {
		const char *cmd;
		int status;
	} cases[] = {
		{ "true", 0 },
		{ "false", 1 },
		{ "exit 7", 7 },
		{ "kill -TERM $$", 128 + SIGTERM },
	};
	const struct doe_ctl_mb *mb = NULL;
	struct cli *x = &self->x;
	char sel[64], path[PATH_MAX];
	struct run r;
	size_t k;
	int i;

	for (i = 0; i < x->n && !mb; i++)
		if (!take_refused(x, &x->mbs[i]))
			mb = &x->mbs[i];
	if (!mb)
		SKIP(return, "no mailbox can be taken (lockdown, pci_doe.policy=locked)");
	if (!in_path("sh", path, sizeof(path)))
		SKIP(return, "no sh");
	sel_of(mb, sel, sizeof(sel));
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		doe(&r, "take", sel, "--", path, "-c", (char *)cases[k].cmd,
		    NULL);
		EXPECT_EQ(cases[k].status, r.status)
			TH_LOG("take -- sh -c '%s': %s", cases[k].cmd, r.err);
		run_free(&r);
	}
	doe(&r, "take", sel, "--", "/nonexistent/command", NULL);
	EXPECT_EQ(127, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	EXPECT_EQ(0, doe_ctl_mb_holder(mb, NULL, 0));
	if (x->tpd)
		EXPECT_EQ(0, doe_ctl_kernel_discovery(mb));
}

TEST_F(cli, take_busy)
{
	struct cli *x = &self->x;
	char sel[64], marker[64], path[PATH_MAX];
	int i, ret, busy;

	if (!x->tpd)
		SKIP(return, NO_TPD);
	if (!in_path("touch", path, sizeof(path)))
		SKIP(return, "no touch");
	snprintf(marker, sizeof(marker), "/tmp/pci_doe_cli.%d", getpid());
	for (i = 0; i < x->n; i++) {
		const struct doe_ctl_mb *mb = &x->mbs[i];
		struct run r;

		sel_of(mb, sel, sizeof(sel));
		ret = doe_ctl_claim(mb);
		ASSERT_EQ(0, ret) TH_LOG("%s: claim: %s", mb->name,
					 strerror(-ret));
		unlink(marker);
		doe(&r, "take", sel, "--", path, marker, NULL);
		EXPECT_NE(0, r.status);
		/* Under locked, a refused protocol may be the reason */
		busy = strstr(r.err, "Device or resource busy") ||
		       !take_refused(x, mb);
		EXPECT_NE(NULL, strstr(r.err, busy ?
				       "busy; owned by the kernel (owners: test_pci_doe 1)" :
				       "Operation not permitted"))
			TH_LOG("%s: %s", sel, r.err);
		EXPECT_FALSE(exists(marker)) TH_LOG("the command ran");
		run_free(&r);
		EXPECT_EQ(0, doe_ctl_release(mb));
		unlink(marker);
	}
}

/* ---- a reserved protocol ---- */

TEST_F(cli, reserved_cdat)
{
	struct cli *x = &self->x;
	const struct jv *arr, *m, *p, *o;
	char sel[64];
	int i, k, tested = 0, ret;
	struct jv doc;
	struct run r;

	if (!x->tpd)
		SKIP(return, NO_TPD);
	for (i = 0; i < x->n; i++) {
		const struct doe_ctl_mb *mb = &x->mbs[i];

		/* a malformed table fails "doe cdat" after the release too */
		if (!mb->has_cdat || !allowed(mb, "1e98:02") ||
		    doe_user_harness_table(mb->bdf) > DOE_USER_TABLE_EVERY)
			continue;
		tested++;
		sel_of(mb, sel, sizeof(sel));
		ret = doe_ctl_tpd_on(mb, "trigger_claim", 0, "reserve=1e98:02");
		ASSERT_EQ(0, ret) TH_LOG("%s: claim reserving 1e98:02: %s",
					 mb->name, strerror(-ret));

		doe(&r, "cdat", sel, NULL);
		EXPECT_NE(0, r.status);
		EXPECT_NE(NULL, strstr(r.err, "reserved by the kernel"))
			TH_LOG("%s: %s", sel, r.err);
		EXPECT_NE(NULL, strstr(r.err, "test_pci_doe"))
			TH_LOG("%s: %s", sel, r.err);
		run_free(&r);

		if (allowed(mb, "0001:00")) {
			doe(&r, "discover", sel, NULL);
			EXPECT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
			run_free(&r);
		}

		doe(&r, "list", "-s", sel, "--json", NULL);
		ASSERT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
		ASSERT_EQ(0, jparse(r.out, &doc));
		arr = jget(&doc, "mailboxes");
		ASSERT_TRUE(arr && arr->type == J_ARR && arr->nr == 1);
		m = &arr->kids[0];
		p = jget(m, "protocols");
		ASSERT_TRUE(p && p->type == J_ARR);
		for (k = 0; k < p->nr; k++)
			if (!strcmp(jstr(&p->kids[k], "id") ?: "", "1e98:02"))
				EXPECT_STREQ("reserved",
					     jstr(&p->kids[k], "user"));
		o = jget(m, "owners");
		ASSERT_TRUE(o && o->type == J_ARR && o->nr == 1);
		EXPECT_STREQ("test_pci_doe", jstr(&o->kids[0], "name"));
		EXPECT_EQ(1, jnum(&o->kids[0], "count"));
		jfree(&doc);
		run_free(&r);

		EXPECT_EQ(0, doe_ctl_release(mb));
		doe(&r, "cdat", sel, NULL);
		EXPECT_EQ(0, r.status) TH_LOG("after release: %s",
					      run_str(&r));
		run_free(&r);
	}
	if (!tested)
		SKIP(return, "no mailbox carries CXL Table Access (1e98:02) for userspace");
}

/* ---- a removed device ---- */

/* A function that is not there: every command says so */
TEST_F(cli, missing_function)
{
	char sel[] = "7:ff:1f.7";
	char *cmds[][5] = {
		{ "discover", sel, NULL },
		{ "cdat", sel, NULL },
		{ "exchange", sel, "0001:00", "0", NULL },
		{ "take", sel, "--", "true", NULL },
	};
	struct run r;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(cmds); k++) {
		doe(&r, cmds[k][0], cmds[k][1], cmds[k][2], cmds[k][3],
		    cmds[k][4]);
		EXPECT_EQ(1, r.status) TH_LOG("%s: %s", cmds[k][0],
					      run_str(&r));
		EXPECT_NE(NULL, strstr(r.err, "No such device"))
			TH_LOG("%s: %s", cmds[k][0], r.err);
		run_free(&r);
	}
}

TEST_F_TIMEOUT(cli, removed_device, 60)
{
	const struct doe_ctl_mb *mb = NULL;
	struct cli *x = &self->x;
	char sel[64], dw[16], path[PATH_MAX];
	char *argv[8];
	struct run r;
	struct bg b;
	long long end;
	int i;

	if (x->sim_id < 0)
		SKIP(return, NO_SIM);
	for (i = 0; i < x->n; i++)
		if (x->mbs[i].sim_id == x->sim_id && !x->mbs[i].sim_index)
			mb = &x->mbs[i];
	ASSERT_NE(NULL, mb);
	if (!allowed(mb, "0001:00"))
		SKIP(return, "Discovery is refused to userspace");
	ASSERT_EQ(0, doe_ctl_sim_knob(mb, "latency_us", SLOW_US));
	ASSERT_EQ(0, doe_ctl_sim_knob(mb, "counters", "0"));
	sel_of(mb, sel, sizeof(sel));
	snprintf(dw, sizeof(dw), "%08x", disc_dword(mb));
	argv[0] = tool;
	argv[1] = "exchange";
	argv[2] = sel;
	argv[3] = "0001:00";
	argv[4] = dw;
	argv[5] = NULL;
	ASSERT_EQ(0, bg_start(&b, argv));
	/* On the device: the function goes while it works */
	end = doe_ctl_now_ms() + WAIT_MS;
	while (doe_ctl_sim_counter(mb, "gos") < 1 && doe_ctl_now_ms() < end)
		usleep(1000);
	EXPECT_EQ(1, doe_ctl_sim_counter(mb, "gos"));
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/remove", mb->bdf);
	ASSERT_EQ(0, doe_user_write_file(path, "1"));
	bg_finish(&b, RUN_MS, &r);
	EXPECT_NE(0, r.status) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.err, "No such device")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "removed")) TH_LOG("%s", r.err);
	run_free(&r);

	/* Gone: "No such device" again, from sysfs this time */
	ASSERT_EQ(0, doe_ctl_wait_class(mb->bdf, 0, WAIT_MS));
	doe(&r, "discover", sel, NULL);
	EXPECT_NE(0, r.status);
	EXPECT_NE(NULL, strstr(r.err, "No such device")) TH_LOG("%s", r.err);
	run_free(&r);
}

/* ---- doe capture ---- */

static const char *tracing_dir(void)
{
	if (exists("/sys/kernel/tracing/events"))
		return "/sys/kernel/tracing";
	if (exists("/sys/kernel/debug/tracing/events"))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

/* The current trace clock ("local") and the event's enable */
static void trace_state(const char *dir, char *clock, size_t clen,
			char *enable, size_t elen)
{
	char path[256], buf[512], *l, *r;

	clock[0] = '\0';
	snprintf(path, sizeof(path), "%s/trace_clock", dir);
	if (doe_ctl_read_file(path, buf, sizeof(buf)) > 0) {
		l = strchr(buf, '[');
		r = l ? strchr(l, ']') : NULL;
		if (r) {
			*r = '\0';
			snprintf(clock, clen, "%s", l + 1);
		}
	}
	snprintf(path, sizeof(path),
		 "%s/events/pci_doe/pci_doe_object/enable", dir);
	if (doe_ctl_read_file(path, enable, elen) < 0)
		enable[0] = '\0';
}

struct pkt {
	__u32 sec, usec, caplen, len;
	__u8 data[64];
};

static __u32 le32_at(const __u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

/* Check the pcap header; the packets (at most @max): how many, or -1 */
static int read_pcap(struct __test_metadata *_metadata, const char *file,
		     struct pkt *pk, int max)
{
	size_t off = 24;
	__u8 *d = NULL;
	ssize_t len;
	int n = 0;

	len = doe_ctl_read_all(file, &d);
	if (len < 24) {
		TH_LOG("%s: %zd bytes", file, len);
		if (len > 0)
			free(d);
		return -1;
	}
	EXPECT_EQ(PCAP_MAGIC, le32_at(d));
	EXPECT_EQ(2, d[4] | d[5] << 8);
	EXPECT_EQ(4, d[6] | d[7] << 8);
	EXPECT_LE(1048576, le32_at(d + 16));
	EXPECT_EQ(LINKTYPE_PCI_DOE, le32_at(d + 20));
	while (off + 16 <= (size_t)len) {
		struct pkt p;

		p.sec = le32_at(d + off);
		p.usec = le32_at(d + off + 4);
		p.caplen = le32_at(d + off + 8);
		p.len = le32_at(d + off + 12);
		off += 16;
		if (off + p.caplen > (size_t)len) {
			TH_LOG("%s: packet %d cut at the end of the file", file,
			       n);
			break;
		}
		memset(p.data, 0, sizeof(p.data));
		memcpy(p.data, d + off, p.caplen < sizeof(p.data) ?
		       p.caplen : sizeof(p.data));
		off += p.caplen;
		if (n < max)
			pk[n] = p;
		n++;
	}
	EXPECT_EQ((size_t)len, off) TH_LOG("%s: trailing bytes", file);
	free(d);
	return n;
}

/* Start "doe capture -s SEL -o FILE [extra...]" and wait until it runs */
static int capture_start(struct bg *b, char *sel, char *file, char *opt,
			 char *val)
{
	char *argv[10] = {
		tool, "capture", "-s", sel, "-o", file, opt, val, NULL,
	};
	struct run r;
	int ret;

	ret = bg_start(b, argv);
	if (ret)
		return ret;
	ret = bg_wait_err(b, "capturing", WAIT_MS);
	if (ret) {
		/* Not left running with the event on */
		kill(b->pid, SIGINT);
		bg_finish(b, WAIT_MS, &r);
		b->r = r;
	}
	return ret;
}

/* Every packet is a Discovery request or response of 12 bytes */
static void check_packets(struct __test_metadata *_metadata,
			  const struct pkt *pk, int n, const __u8 *req,
			  const __u8 *rsp, long long t0, long long t1)
{
	long long prev = 0, t;
	int i;

	for (i = 0; i < n; i++) {
		const __u8 *want = i % 2 ? rsp : req;

		EXPECT_EQ(DISC_BYTES, pk[i].caplen) TH_LOG("packet %d", i);
		EXPECT_EQ(DISC_BYTES, pk[i].len) TH_LOG("packet %d", i);
		EXPECT_EQ(0, memcmp(pk[i].data, want, DISC_BYTES))
			TH_LOG("packet %d (%s): %08x %08x %08x", i,
			       i % 2 ? "response" : "request",
			       le32_at(pk[i].data), le32_at(pk[i].data + 4),
			       le32_at(pk[i].data + 8));
		t = pk[i].sec * 1000LL + pk[i].usec / 1000;
		EXPECT_LE(t0 - 1000, t) TH_LOG("packet %d: not wall time", i);
		EXPECT_GE(t1 + 1000, t) TH_LOG("packet %d: not wall time", i);
		EXPECT_LE(prev, t) TH_LOG("packet %d: earlier than %d", i,
					  i - 1);
		prev = t;
	}
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Bytes as hex, no separators */
static void print_hex(const __u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/*
 * Hand the capture to the harness, which reads it back with tshark on the
 * host (scripts/check.sh): one console line with what tshark must see, the
 * frame count, each frame's length and the first request and response, and
 * the file itself in hex
 */
static void emit_pcap(const char *file, int frames, const __u8 *req,
		      const __u8 *rsp)
{
	__u8 buf[4096];
	ssize_t n;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n == sizeof(buf))
		return;
	printf("# @@PCAP frames=%d len=%d req=", frames, DISC_BYTES);
	print_hex(req, DISC_BYTES);
	printf(" rsp=");
	print_hex(rsp, DISC_BYTES);
	printf(" file=");
	print_hex(buf, n);
	printf("\n");
	fflush(stdout);
}

TEST_F_TIMEOUT(cli, capture_pcap, 60)
{
	const struct doe_ctl_mb *mb = NULL;
	struct cli *x = &self->x;
	char clock0[64], enable0[16], clock1[64], enable1[16];
	char sel[64], dw[16], file[64], count[16], hexreq[32], want[64];
	struct pkt pk[2 * CAPTURE_STREAM + 4];
	__u8 req[DISC_BYTES], rsp[DISC_BYTES];
	__u32 rdw[16];
	long long t0, t1;
	const char *dir;
	struct run r;
	struct bg b;
	int i, n, ret;

	dir = tracing_dir();
	if (!dir)
		SKIP(return, "no tracefs");
	snprintf(file, sizeof(file), "%s/events/pci_doe/pci_doe_object", dir);
	if (!exists(file))
		SKIP(return, "no pci_doe:pci_doe_object trace event");
	/* A simulated mailbox has no other traffic; else the first one */
	for (i = 0; i < x->n; i++)
		if (allowed(&x->mbs[i], "0001:00") &&
		    (!mb || (mb->sim_id < 0 && x->mbs[i].sim_id >= 0)))
			mb = &x->mbs[i];
	if (!mb)
		SKIP(return, "Discovery is refused to userspace on every mailbox");
	trace_state(dir, clock0, sizeof(clock0), enable0, sizeof(enable0));
	sel_of(mb, sel, sizeof(sel));
	snprintf(dw, sizeof(dw), "%08x", disc_dword(mb));
	snprintf(file, sizeof(file), "/tmp/pci_doe_cli.%d.pcap", getpid());

	/* The bytes the capture must show */
	ASSERT_EQ(3, direct_discovery(mb, rdw, ARRAY_SIZE(rdw)));
	put_le32(req, 0x00000001);
	put_le32(req + 4, 3);
	put_le32(req + 8, disc_dword(mb));
	for (i = 0; i < 3; i++)
		put_le32(rsp + 4 * i, rdw[i]);

	/* Mediated Discoveries through the tool, then SIGINT */
	t0 = wall_ms();
	ret = capture_start(&b, sel, file, NULL, NULL);
	ASSERT_EQ(0, ret) TH_LOG("capture did not start: %s", b.r.err);
	for (i = 0; i < CAPTURE_XCHG; i++) {
		doe(&r, "exchange", sel, "0001:00", dw, NULL);
		EXPECT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
		run_free(&r);
	}
	usleep(300000);
	kill(b.pid, SIGINT);
	bg_finish(&b, RUN_MS, &r);
	t1 = wall_ms();
	EXPECT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
	snprintf(want, sizeof(want), "%d data objects captured",
		 2 * CAPTURE_XCHG);
	EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("%s", r.out);
	run_free(&r);
	n = read_pcap(_metadata, file, pk, ARRAY_SIZE(pk));
	EXPECT_EQ(2 * CAPTURE_XCHG, n);
	if (n > 0)
		check_packets(_metadata, pk, n < (int)ARRAY_SIZE(pk) ? n :
			      (int)ARRAY_SIZE(pk), req, rsp, t0, t1);
	if (n == 2 * CAPTURE_XCHG)
		emit_pcap(file, n, req, rsp);
	trace_state(dir, clock1, sizeof(clock1), enable1, sizeof(enable1));
	EXPECT_STREQ(clock0, clock1);
	EXPECT_STREQ(enable0, enable1);

	/* A kernel stream; -c ends the capture by itself */
	if (!x->tpd) {
		TH_LOG("kernel stream not captured: %s", NO_TPD);
		unlink(file);
		return;
	}
	snprintf(count, sizeof(count), "%d", 2 * CAPTURE_STREAM);
	t0 = wall_ms();
	ret = capture_start(&b, sel, file, "-c", count);
	ASSERT_EQ(0, ret) TH_LOG("capture did not start: %s", b.r.err);
	doe_ctl_discovery_request(mb, hexreq, sizeof(hexreq));
	snprintf(want, sizeof(want), "request=%s", hexreq);
	ret = doe_ctl_tpd_on(mb, "trigger_stream", CAPTURE_STREAM, want);
	EXPECT_EQ(0, ret) TH_LOG("kernel stream: %s", strerror(-ret));
	bg_finish(&b, WAIT_MS * 2, &r);
	t1 = wall_ms();
	EXPECT_EQ(0, r.status) TH_LOG("%s", run_str(&r));
	snprintf(want, sizeof(want), "%d data objects captured",
		 2 * CAPTURE_STREAM);
	EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("%s", r.out);
	run_free(&r);
	n = read_pcap(_metadata, file, pk, ARRAY_SIZE(pk));
	EXPECT_EQ(2 * CAPTURE_STREAM, n);
	if (n > 0)
		check_packets(_metadata, pk, n < (int)ARRAY_SIZE(pk) ? n :
			      (int)ARRAY_SIZE(pk), req, rsp, t0, t1);
	trace_state(dir, clock1, sizeof(clock1), enable1, sizeof(enable1));
	EXPECT_STREQ(clock0, clock1);
	EXPECT_STREQ(enable0, enable1);
	unlink(file);
}

/* The tool: "doe" next to this program, else in PATH */
static void find_tool(void)
{
	ssize_t n = readlink("/proc/self/exe", self_exe,
			     sizeof(self_exe) - 1);
	char *slash;

	if (n > 0) {
		self_exe[n] = '\0';
		snprintf(tool, sizeof(tool), "%s", self_exe);
		slash = strrchr(tool, '/');
		if (slash && (size_t)(slash - tool) + 5 < sizeof(tool)) {
			snprintf(slash + 1, 4, "doe");
			if (!access(tool, X_OK))
				return;
		}
	}
	if (!in_path("doe", tool, sizeof(tool)))
		tool[0] = '\0';
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], HELPER_ARG))
		return claim_helper(argv[2], argv[3]);
	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("needs root\n");
	}
	if (access(DOE_CTL_CLASS_DIR, F_OK)) {
		ksft_print_header();
		ksft_exit_skip("no " DOE_CTL_CLASS_DIR ": kernel without DOE mailbox devices\n");
	}
	find_tool();
	return test_harness_run(argc, argv);
}
