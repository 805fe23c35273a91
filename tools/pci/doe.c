// SPDX-License-Identifier: GPL-2.0
/*
 * doe: look at and use PCI Data Object Exchange (DOE) mailboxes (PCIe r6.2
 * sec 6.30) through the kernel, for root debugging DOE hardware.
 *
 * Everything goes through what the kernel's DOE library shows to userspace
 * (Documentation/userspace-api/pci-doe.rst): the mailbox devices of class
 * pci_doe in sysfs, and their char devices /dev/pci_doe/<name>, on which an
 * exchange is a write() of one request data object and a read() of its
 * response, queued with the kernel's own exchanges.  The tool never writes
 * config space; "doe take" keeps the kernel off a mailbox while another
 * program (setpci, a compliance tool) drives the registers itself, and
 * "doe capture" records the objects of every exchange from the
 * pci_doe:pci_doe_object trace event into a pcap file.
 *
 *   doe list [-s SEL] [--json]           mailboxes, protocols, owners, counters
 *   doe discover BDF[@OFF]               DOE Discovery (PCIe r6.2 sec 6.30.1.1)
 *   doe cdat BDF [--raw] [--json]        the CDAT through CXL Table Access
 *   doe exchange BDF[@OFF] VVVV:TT [HEX...]  one request, its response in hex
 *   doe take BDF[@OFF] -- CMD [ARGS...]  run CMD with the mailbox taken
 *   doe capture [-s SEL] -o FILE [-c N | -t S]  record data objects (pcap)
 *
 * See tools/pci/README.doe.rst.
 */
#include <ctype.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pci-doe.h>
#include <linux/types.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define CLASS_DIR		"/sys/class/pci_doe"
#define NODE_DIR		"/dev/pci_doe"
#define PCI_DIR			"/sys/bus/pci/devices"
#define PARAM_DIR		"/sys/module/pci_doe/parameters"
#define LOCKDOWN_FILE		"/sys/kernel/security/lockdown"

/* Exit statuses */
#define EXIT_OK			0
#define EXIT_FAIL		1
#define EXIT_USAGE		2

/* Data object header (PCIe r6.2 sec 6.30.1): dword 0 vendor | type << 16 */
#define HDR_VID(dw)		((dw) & 0xffff)
#define HDR_TYPE(dw)		(((dw) >> 16) & 0xff)
/* dword 1: Length in dwords [17:0], 0 means 2^18 */
#define HDR_LEN_MASK		0x3ffff
#define MAX_OBJECT_DW		0x40000
#define MAX_OBJECT		(MAX_OBJECT_DW * 4)

#define VID_PCISIG		0x0001
#define TYPE_DISCOVERY		0x00
#define VID_CXL			0x1e98
#define TYPE_TABLE_ACCESS	0x02

/*
 * Discovery request dword 2: Index [7:0], Discovery Version [15:8] (2 for
 * capability version 2 and later); response dword 2: Vendor ID [15:0],
 * Data Object Type [23:16], Next Index [31:24] (PCIe r6.2 sec 6.30.1.1)
 */
#define DISC_VERSION_SHIFT	8
#define DISC_NEXT(dw)		((dw) >> 24)
#define DISC_MAX		256

/*
 * CXL Table Access, Read Entry (CXL r3.1 sec 8.1.11.1): request dword 2
 * Request Code 0 [7:0], Table Type 0 = CDAT [15:8], Entry Handle [31:16];
 * response dword 2 Response Code [7:0], Table Type [15:8], the next Entry
 * Handle [31:16], 0xffff after the last entry; then the entry
 */
#define CDAT_HANDLE_SHIFT	16
#define CDAT_LAST		0xffff
/* CDAT header (CDAT r1.03 sec 2.1): length, revision, checksum, sequence */
#define CDAT_HDR_LEN		16
/* Every structure starts with type u8, reserved u8, length u16 */
#define CDAT_STRUCT_HDR		4
/* Far more than any device describes; bounds what a broken one sends */
#define CDAT_MAX_TABLE		(16 << 20)

/* pcap (classic, microseconds): DMTF libspdm's LINKTYPE_PCI_DOE */
#define PCAP_MAGIC		0xa1b2c3d4
#define PCAP_SNAPLEN		MAX_OBJECT
#define LINKTYPE_PCI_DOE	292

#define doe_err(fmt, ...) fprintf(stderr, "doe: " fmt "\n", ##__VA_ARGS__)

/* ---- small helpers ---- */

static __u32 get_le32(const __u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

static __u16 get_le16(const __u8 *p)
{
	return p[0] | p[1] << 8;
}

static __u64 get_le64(const __u8 *p)
{
	return get_le32(p) | (__u64)get_le32(p + 4) << 32;
}

static void put_le32(__u8 *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void *xmalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p) {
		doe_err("out of memory (%zu bytes)", size);
		exit(EXIT_FAIL);
	}
	return p;
}

static void *xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size);

	if (!p) {
		doe_err("out of memory (%zu bytes)", size);
		exit(EXIT_FAIL);
	}
	return p;
}

/* A small text file, trailing newlines cut: its length or -errno */
static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

static int write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

/* A whole binary file, malloc()ed: its size or -errno */
static ssize_t read_binary(const char *path, __u8 **data)
{
	size_t size = 0, cap = 4096;
	__u8 *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = xmalloc(cap);
	for (;;) {
		if (size == cap) {
			if (cap >= CDAT_MAX_TABLE * 2) {
				n = -EFBIG;
				break;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + size, cap - size);
		if (n <= 0) {
			if (n < 0)
				n = -errno;
			break;
		}
		size += n;
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return n;
	}
	*data = buf;
	return size;
}

/* The value of a hex digit */
static int hex_val(char c)
{
	return isdigit((unsigned char)c) ? c - '0' :
	       tolower((unsigned char)c) - 'a' + 10;
}

/* strtoul() of a whole hex string ("0x" allowed): 0 or -EINVAL */
static int parse_hex(const char *s, unsigned long max, unsigned long *val)
{
	char *end;

	if (!isxdigit((unsigned char)*s) || strlen(s) > 18)
		return -EINVAL;
	errno = 0;
	*val = strtoul(s, &end, 16);
	if (errno || *end || *val > max)
		return -EINVAL;
	return 0;
}

/* "vvvv:tt" into vendor and type: 0 or -EINVAL */
static int parse_prot(const char *s, __u16 *vid, __u8 *type)
{
	unsigned long v, t;
	char buf[16], *colon;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_hex(buf, 0xffff, &v) || parse_hex(colon + 1, 0xff, &t))
		return -EINVAL;
	*vid = v;
	*type = t;
	return 0;
}

/* ---- protocols ---- */

static const struct {
	__u16 vid;
	__u8 type;
	const char *name;
} known_prots[] = {
	{ VID_PCISIG, TYPE_DISCOVERY, "Discovery" },
	{ VID_PCISIG, 0x01, "CMA-SPDM" },
	{ VID_PCISIG, 0x02, "Secured CMA-SPDM" },
	{ VID_CXL, 0x00, "CXL Compliance" },
	{ VID_CXL, TYPE_TABLE_ACCESS, "CXL Table Access" },
};

/* The protocol's name, or NULL for one the tool does not know */
static const char *prot_name(__u16 vid, __u8 type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_prots); i++)
		if (known_prots[i].vid == vid && known_prots[i].type == type)
			return known_prots[i].name;
	return NULL;
}

/* "vvvv:tt Name" or "vvvv:tt" into @buf */
static const char *prot_str(__u16 vid, __u8 type, char *buf, size_t len)
{
	const char *name = prot_name(vid, type);

	snprintf(buf, len, "%04x:%02x%s%s", vid, type, name ? " " : "",
		 name ? name : "");
	return buf;
}

/* ---- JSON output ---- */

struct json {
	FILE *f;
	int depth;
	int count[32];		/* members written at each depth */
};

static void json_indent(struct json *j)
{
	int i;

	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Start a member (with @key inside an object, NULL inside an array) */
static void json_member(struct json *j, const char *key)
{
	if (j->depth && j->count[j->depth]++)
		fputc(',', j->f);
	if (j->depth)
		json_indent(j);
	if (key) {
		json_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth < (int)ARRAY_SIZE(j->count) - 1)
		j->depth++;
	j->count[j->depth] = 0;
}

static void json_close(struct json *j, char c)
{
	int empty = !j->count[j->depth];

	j->depth--;
	if (!empty)
		json_indent(j);
	fputc(c, j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

static void json_obj(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

static void json_obj_end(struct json *j)
{
	json_close(j, '}');
}

static void json_arr(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

static void json_arr_end(struct json *j)
{
	json_close(j, ']');
}

static void json_str(struct json *j, const char *key, const char *val)
{
	json_member(j, key);
	if (val)
		json_string(j->f, val);
	else
		fputs("null", j->f);
}

static void json_u64(struct json *j, const char *key, __u64 val)
{
	json_member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

static void json_bool(struct json *j, const char *key, int val)
{
	json_member(j, key);
	fputs(val ? "true" : "false", j->f);
}

static void json_null(struct json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

/* Bytes as one hex string */
static void json_hex(struct json *j, const char *key, const __u8 *p,
		     size_t len)
{
	size_t i;

	json_member(j, key);
	fputc('"', j->f);
	for (i = 0; i < len; i++)
		fprintf(j->f, "%02x", p[i]);
	fputc('"', j->f);
}

/* ---- function selection: [[DOMAIN:]BUS:]DEV.FN[@OFFSET] ---- */

struct sel {
	long domain;		/* -1: any (never from the parser: default 0) */
	long bus;		/* -1: any */
	long dev;
	long fn;
	long offset;		/* -1: every mailbox */
	char text[64];		/* as given */
};

/*
 * Parse a selection like lspci -s: "[[DOMAIN:]BUS:]DEV.FN", hexadecimal,
 * domain 0000 when not given, any bus when not given; "@OFFSET" (hex)
 * names one mailbox.  A mailbox name, "<BDF>-doe<OFFSET>", is taken too.
 */
static int parse_sel(const char *s, struct sel *sel, int offset_ok)
{
	char buf[64], *parts[3], *at, *dot, *p;
	unsigned long v;
	int n = 0;

	memset(sel, 0, sizeof(*sel));
	sel->offset = -1;
	snprintf(sel->text, sizeof(sel->text), "%s", s);
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	at = strchr(buf, '@');
	if (at) {
		*at++ = '\0';
	} else {
		at = strstr(buf, "-doe");
		if (at) {
			*at = '\0';
			at += 4;
		}
	}
	if (at) {
		if (!offset_ok || parse_hex(at, 0xfff, &v) || v < 0x100)
			return -EINVAL;
		sel->offset = v;
	}
	for (p = buf; n < 3; n++) {
		parts[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n == 3)
		return -EINVAL;
	dot = strchr(parts[n], '.');
	if (!dot)
		return -EINVAL;
	*dot++ = '\0';
	if (parse_hex(parts[n], 0x1f, &v))
		return -EINVAL;
	sel->dev = v;
	if (parse_hex(dot, 7, &v))
		return -EINVAL;
	sel->fn = v;
	sel->bus = -1;
	if (n >= 1) {
		if (parse_hex(parts[n - 1], 0xff, &v))
			return -EINVAL;
		sel->bus = v;
	}
	if (n == 2) {
		if (parse_hex(parts[0], 0xffffffff, &v))
			return -EINVAL;
		sel->domain = v;
	}
	return 0;
}

/* ---- mailboxes: /sys/class/pci_doe/<BDF>-doe<offset> ---- */

struct mbox {
	char name[64];		/* "0000:0d:00.0-doe190" */
	char bdf[32];		/* "0000:0d:00.0" */
	unsigned long domain, bus, dev, fn;
	unsigned int offset;
	char dir[PATH_MAX];
	char node[PATH_MAX];
};

static int mbox_cmp(const void *a, const void *b)
{
	const struct mbox *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	return (int)x->offset - (int)y->offset;
}

/* "<domain>:<bus>:<dev>.<fn>-doe<offset>" into @m: 0 or -EINVAL */
static int mbox_parse(const char *name, struct mbox *m)
{
	char buf[64], *dash;
	struct sel sel;

	if (strlen(name) >= sizeof(m->name))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", name);
	dash = strstr(buf, "-doe");
	if (!dash || parse_sel(buf, &sel, 1) || sel.bus < 0)
		return -EINVAL;
	*dash = '\0';
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->bdf, sizeof(m->bdf), "%.31s", buf);
	m->domain = sel.domain;
	m->bus = sel.bus;
	m->dev = sel.dev;
	m->fn = sel.fn;
	m->offset = sel.offset;
	snprintf(m->dir, sizeof(m->dir), CLASS_DIR "/%s", name);
	snprintf(m->node, sizeof(m->node), NODE_DIR "/%s", name);
	return 0;
}

static int sel_match(const struct sel *sel, const struct mbox *m)
{
	if (!sel)
		return 1;
	return (unsigned long)sel->domain == m->domain &&
	       (sel->bus < 0 || (unsigned long)sel->bus == m->bus) &&
	       (unsigned long)sel->dev == m->dev &&
	       (unsigned long)sel->fn == m->fn &&
	       (sel->offset < 0 || (unsigned long)sel->offset == m->offset);
}

/* Every mailbox @sel selects (all for NULL), sorted: how many, or -errno */
static int mbox_list(const struct sel *sel, struct mbox **out)
{
	struct mbox *mbs = NULL, m;
	struct dirent *e;
	int n = 0, cap = 0;
	DIR *d;

	d = opendir(CLASS_DIR);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || mbox_parse(e->d_name, &m))
			continue;
		if (!sel_match(sel, &m))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			mbs = xrealloc(mbs, cap * sizeof(*mbs));
		}
		mbs[n++] = m;
	}
	closedir(d);
	if (n)
		qsort(mbs, n, sizeof(*mbs), mbox_cmp);
	*out = mbs;
	return n;
}

/* An attribute of the mailbox's class device: its length or -errno */
static int mbox_attr(const struct mbox *m, const char *attr, char *buf,
		     size_t len)
{
	char path[PATH_MAX + 64];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", m->dir, attr);
	ret = read_file(path, buf, len);
	if (ret < 0)
		buf[0] = '\0';
	return ret;
}

/* The capability version (sysfs "version"), 0 if unknown */
static unsigned int mbox_version(const struct mbox *m)
{
	char buf[32];

	if (mbox_attr(m, "version", buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

/* Does the mailbox list @vid:@type in sysfs "protocols"? */
static int mbox_has(const struct mbox *m, __u16 vid, __u8 type)
{
	char buf[4096], want[16];
	char *line, *save;

	if (mbox_attr(m, "protocols", buf, sizeof(buf)) < 0)
		return 0;
	snprintf(want, sizeof(want), "%04x:%02x", vid, type);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strcasecmp(line, want))
			return 1;
	return 0;
}

/* "allowed", "refused", "reserved" from user_protocols, or "" */
static void mbox_user_state(const struct mbox *m, __u16 vid, __u8 type,
			    char *state, size_t len)
{
	char buf[4096], want[16], *line, *save;

	state[0] = '\0';
	if (mbox_attr(m, "user_protocols", buf, sizeof(buf)) < 0)
		return;
	snprintf(want, sizeof(want), "%04x:%02x ", vid, type);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncasecmp(line, want, strlen(want)))
			snprintf(state, len, "%s", line + strlen(want));
}

/* The kernel's owners in one line: "cxl endpoint2 1, test 2" or "" */
static void mbox_owners(const struct mbox *m, char *out, size_t len)
{
	char buf[4096], *line, *save;
	size_t pos = 0;

	out[0] = '\0';
	if (mbox_attr(m, "owners", buf, sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line && pos < len;
	     line = strtok_r(NULL, "\n", &save))
		pos += snprintf(out + pos, len - pos, "%s%s", pos ? ", " : "",
				line);
}

/* Who keeps the mailbox now, for an EBUSY: "owners: ...", "taken by ..." */
static void mbox_busy_why(const struct mbox *m, char *out, size_t len)
{
	char owners[1024], holder[256], flight[32];
	size_t pos = 0;

	mbox_owners(m, owners, sizeof(owners));
	mbox_attr(m, "holder", holder, sizeof(holder));
	mbox_attr(m, "in_flight", flight, sizeof(flight));
	out[0] = '\0';
	if (owners[0])
		pos += snprintf(out + pos, len - pos,
				"owned by the kernel (owners: %s)", owners);
	if (pos < len && flight[0] && strcmp(flight, "0"))
		pos += snprintf(out + pos, len - pos,
				"%s%s kernel exchange(s) in flight",
				pos ? ", " : "", flight);
	if (pos < len && holder[0])
		pos += snprintf(out + pos, len - pos, "%staken by %s",
				pos ? ", " : "", holder);
	if (!out[0])
		snprintf(out, len, "busy (it was owned or taken a moment ago)");
}

/*
 * The mailboxes of one function for a command: those @sel selects, all of
 * one function.  Reports the error and returns -errno when there is none.
 */
static int mbox_for(const struct sel *sel, struct mbox **out)
{
	char path[PATH_MAX];
	struct mbox *mbs;
	int n, i;

	n = mbox_list(sel, &mbs);
	if (n < 0) {
		doe_err("%s: %s; the kernel shows no DOE mailbox devices (CONFIG_PCI_DOE, a kernel with /sys/class/pci_doe)",
			CLASS_DIR, strerror(-n));
		return n;
	}
	for (i = 1; i < n; i++)
		if (strcmp(mbs[i].bdf, mbs[0].bdf)) {
			doe_err("%s: selects more than one function (%s, %s...): give the bus",
				sel->text, mbs[0].bdf, mbs[i].bdf);
			free(mbs);
			return -EINVAL;
		}
	if (n) {
		*out = mbs;
		return n;
	}
	free(mbs);
	if (sel->bus < 0) {
		doe_err("%s: no DOE mailbox on a function of that device and function number",
			sel->text);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), PCI_DIR "/%04lx:%02lx:%02lx.%lx",
		 sel->domain, sel->bus, sel->dev, sel->fn);
	if (access(path, F_OK)) {
		doe_err("%s: %s: no PCI function %s (removed?)", sel->text,
			strerror(ENODEV), strrchr(path, '/') + 1);
		return -ENODEV;
	}
	if (sel->offset >= 0)
		doe_err("%s: no DOE mailbox at config offset %#lx of %s",
			sel->text, sel->offset, strrchr(path, '/') + 1);
	else
		doe_err("%s: %s has no DOE mailbox", sel->text,
			strrchr(path, '/') + 1);
	return -ENOENT;
}

/* ---- exchanges through the char device ---- */

struct xfd {
	const struct mbox *m;
	int fd;
};

static const char *open_hint(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "needs root or the device's group";
	case ENOENT:
		return "no char device (devtmpfs on /dev? mediated exchanges?)";
	case ENODEV:
	case ENXIO:
		return "device removed";
	default:
		return NULL;
	}
}

/* Open the mailbox's char device; reports the error */
static int xfd_open(struct xfd *x, const struct mbox *m, int flags)
{
	const char *hint;
	__u32 max = MAX_OBJECT;

	x->m = m;
	x->fd = open(m->node, flags | O_CLOEXEC);
	if (x->fd < 0) {
		int err = errno;

		hint = open_hint(err);
		doe_err("%s: open %s: %s%s%s", m->name, m->node, strerror(err),
			hint ? "; " : "", hint ? hint : "");
		return -err;
	}
	/* Accept any response a device can send (default 64 KiB) */
	if ((flags & O_ACCMODE) != O_RDONLY)
		ioctl(x->fd, PCI_DOE_IOC_MAX_RESPONSE, &max);
	return 0;
}

static void xfd_close(struct xfd *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

/* Explain a failed write() of a request of @vid:@type */
static void write_error(const struct xfd *x, __u16 vid, __u8 type, int err)
{
	char hint[1200], state[32], why[1024], prot[48];

	hint[0] = '\0';
	prot_str(vid, type, prot, sizeof(prot));
	switch (err) {
	case EPERM:
		snprintf(hint, sizeof(hint),
			 "protocol %04x:%02x is not for userspace (pci_doe.user_protocols=, or kernel lockdown)",
			 vid, type);
		break;
	case EBUSY:
		mbox_user_state(x->m, vid, type, state, sizeof(state));
		mbox_attr(x->m, "holder", why, sizeof(why));
		if (!strcmp(state, "reserved")) {
			mbox_owners(x->m, why, sizeof(why));
			snprintf(hint, sizeof(hint),
				 "protocol %04x:%02x reserved by the kernel (owners: %s)",
				 vid, type, why[0] ? why : "?");
		} else if (why[0]) {
			snprintf(hint, sizeof(hint), "mailbox taken by %s",
				 why);
		} else {
			snprintf(hint, sizeof(hint),
				 "the mailbox was reserved or taken meanwhile");
		}
		break;
	case EINVAL:
		snprintf(hint, sizeof(hint), "%s",
			 mbox_has(x->m, vid, type) ?
			 "malformed request object" :
			 "the mailbox does not carry this protocol");
		break;
	case E2BIG:
		snprintf(hint, sizeof(hint),
			 "larger than a data object can be (2^18 dwords)");
		break;
	case ENODEV:
		snprintf(hint, sizeof(hint), "device removed");
		break;
	}
	doe_err("%s: request %s: %s%s%s", x->m->name, prot, strerror(err),
		hint[0] ? "; " : "", hint);
}

static void read_error(const struct xfd *x, __u16 vid, __u8 type, int err)
{
	const char *hint = NULL;
	char prot[48];

	switch (err) {
	case ETIMEDOUT:
		hint = "device did not answer; the kernel aborted the mailbox";
		break;
	case EIO:
		hint = "device reported an error; the kernel aborted the mailbox";
		break;
	case EBUSY:
		hint = "the mailbox stayed Busy";
		break;
	case E2BIG:
		hint = "response larger than 1 MiB";
		break;
	case ENODEV:
		hint = "device removed";
		break;
	}
	doe_err("%s: response to %s: %s%s%s", x->m->name,
		prot_str(vid, type, prot, sizeof(prot)), strerror(err),
		hint ? "; " : "", hint ? hint : "");
}

/*
 * One exchange: the request of @vid:@type with @payload (@dws dwords, CPU
 * order), the response object (header included) into @rsp, at most @max
 * bytes.  The response's size, or -errno (reported).
 */
static ssize_t xfd_exchange(const struct xfd *x, __u16 vid, __u8 type,
			    const __u32 *payload, size_t dws, __u8 *rsp,
			    size_t max)
{
	size_t len = (dws + 2) * 4, i;
	__u8 *req;
	ssize_t n;

	if (dws + 2 > MAX_OBJECT_DW) {
		write_error(x, vid, type, E2BIG);
		return -E2BIG;
	}
	req = xmalloc(len);
	put_le32(req, vid | type << 16);
	put_le32(req + 4, (dws + 2) & HDR_LEN_MASK);
	for (i = 0; i < dws; i++)
		put_le32(req + 8 + 4 * i, payload[i]);
	n = write(x->fd, req, len);
	free(req);
	if (n < 0) {
		n = -errno;
		write_error(x, vid, type, -n);
		return n;
	}
	if ((size_t)n != len) {
		doe_err("%s: request written short (%zd of %zu bytes)",
			x->m->name, n, len);
		return -EIO;
	}
	n = read(x->fd, rsp, max);
	if (n < 0) {
		n = -errno;
		read_error(x, vid, type, -n);
		return n;
	}
	if (n < 8) {
		doe_err("%s: response to %04x:%02x of %zd bytes, not a data object",
			x->m->name, vid, type, n);
		return -EIO;
	}
	return n;
}

/* ---- doe list ---- */

static const char * const stat_order[] = {
	"exchanges", "errors", "timeouts", "aborts", "denied_writes",
	"overridden_writes", "user_exchanges",
};

struct stat_val {
	char name[64];
	char val[64];
};

static int stat_cmp(const void *a, const void *b)
{
	const struct stat_val *x = a, *y = b;
	size_t i, ix = ARRAY_SIZE(stat_order), iy = ix;

	for (i = 0; i < ARRAY_SIZE(stat_order); i++) {
		if (!strcmp(x->name, stat_order[i]))
			ix = i;
		if (!strcmp(y->name, stat_order[i]))
			iy = i;
	}
	if (ix != iy)
		return ix < iy ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The counters of statistics/, in a known order: how many */
static int mbox_stats(const struct mbox *m, struct stat_val *st, int max)
{
	char path[PATH_MAX + 64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/statistics", m->dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char file[PATH_MAX + 400];

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		snprintf(st[n].name, sizeof(st[n].name), "%.63s", e->d_name);
		if (read_file(file, st[n].val, sizeof(st[n].val)) < 0)
			snprintf(st[n].val, sizeof(st[n].val), "?");
		n++;
	}
	closedir(d);
	qsort(st, n, sizeof(*st), stat_cmp);
	return n;
}

/* Is @s a decimal number? */
static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void list_json_one(struct json *j, const struct mbox *m)
{
	char prots[4096], users[4096], owners[4096], buf[256], name[64];
	char *line, *save;
	struct stat_val st[32];
	struct stat sb;
	int n, i;

	json_obj(j, NULL);
	json_str(j, "name", m->name);
	json_str(j, "device", m->bdf);
	json_u64(j, "offset", m->offset);
	json_u64(j, "version", mbox_version(m));
	if (!stat(m->node, &sb))
		json_str(j, "node", m->node);
	else
		json_null(j, "node");

	mbox_attr(m, "protocols", prots, sizeof(prots));
	mbox_attr(m, "user_protocols", users, sizeof(users));
	json_arr(j, "protocols");
	for (line = strtok_r(prots, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		__u16 vid;
		__u8 type;

		if (parse_prot(line, &vid, &type))
			continue;
		json_obj(j, NULL);
		snprintf(name, sizeof(name), "%04x:%02x", vid, type);
		json_str(j, "id", name);
		json_u64(j, "vendor", vid);
		json_u64(j, "type", type);
		json_str(j, "name", prot_name(vid, type));
		mbox_user_state(m, vid, type, buf, sizeof(buf));
		json_str(j, "user", buf[0] ? buf : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);

	mbox_attr(m, "owners", owners, sizeof(owners));
	json_arr(j, "owners");
	for (line = strtok_r(owners, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		json_obj(j, NULL);
		if (sp && is_number(sp + 1)) {
			*sp = '\0';
			json_str(j, "name", line);
			json_u64(j, "count", strtoul(sp + 1, NULL, 10));
		} else {
			json_str(j, "name", line);
		}
		json_obj_end(j);
	}
	json_arr_end(j);

	if (mbox_attr(m, "in_flight", buf, sizeof(buf)) > 0 && is_number(buf))
		json_u64(j, "in_flight", strtoul(buf, NULL, 10));
	else
		json_null(j, "in_flight");
	if (mbox_attr(m, "holder", buf, sizeof(buf)) > 0) {
		char *sp = strchr(buf, ' ');

		json_obj(j, "holder");
		if (sp)
			*sp = '\0';
		json_u64(j, "pid", strtoul(buf, NULL, 10));
		json_str(j, "comm", sp ? sp + 1 : "");
		json_obj_end(j);
	} else {
		json_null(j, "holder");
	}

	n = mbox_stats(m, st, ARRAY_SIZE(st));
	json_obj(j, "statistics");
	for (i = 0; i < n; i++)
		if (is_number(st[i].val))
			json_u64(j, st[i].name, strtoull(st[i].val, NULL, 10));
		else
			json_str(j, st[i].name, st[i].val);
	json_obj_end(j);
	json_obj_end(j);
}

static void list_text_one(const struct mbox *m)
{
	char prots[4096], owners[4096], buf[256], name[64];
	char *line, *save;
	struct stat_val st[32];
	int n, i, col;

	printf("%s: %s mailbox %#x, DOE capability version %u\n", m->name,
	       m->bdf, m->offset, mbox_version(m));
	printf("\tnode:       %s%s\n", m->node,
	       access(m->node, F_OK) ? " (missing)" : "");
	mbox_attr(m, "protocols", prots, sizeof(prots));
	n = 0;
	for (line = strtok_r(prots, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		__u16 vid;
		__u8 type;

		if (parse_prot(line, &vid, &type))
			continue;
		mbox_user_state(m, vid, type, buf, sizeof(buf));
		printf("\t%-12s%-28s %s\n", n++ ? "" : "protocols:",
		       prot_str(vid, type, name, sizeof(name)),
		       buf[0] ? buf : "");
	}
	if (!n)
		printf("\tprotocols:  none\n");

	mbox_attr(m, "owners", owners, sizeof(owners));
	n = 0;
	for (line = strtok_r(owners, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("\t%-12s%s\n", n++ ? "" : "owners:", line);
	if (!n)
		printf("\towners:     none\n");
	mbox_attr(m, "in_flight", buf, sizeof(buf));
	printf("\tin flight:  %s\n", buf[0] ? buf : "?");
	mbox_attr(m, "holder", buf, sizeof(buf));
	printf("\tholder:     %s\n", buf[0] ? buf : "none");

	n = mbox_stats(m, st, ARRAY_SIZE(st));
	col = 0;
	for (i = 0; i < n; i++) {
		char item[160];
		int len = snprintf(item, sizeof(item), "%s %s", st[i].name,
				   st[i].val);

		if (!i) {
			col = printf("\tstatistics: %s", item) + 7;
		} else if (col + len + 2 > 80) {
			printf(",\n\t            %s", item);
			col = 8 + 12 + len;
		} else {
			col += printf(", %s", item);
		}
	}
	printf("%s\n", n ? "" : "\tstatistics: none");
}

static void usage_list(FILE *f)
{
	fputs("usage: doe list [-s [[DOMAIN:]BUS:]DEV.FN[@OFFSET]] [--json]\n"
	      "\n"
	      "Every DOE mailbox the kernel found (/sys/class/pci_doe): its function,\n"
	      "config offset and capability version, the protocols Discovery found\n"
	      "with what the char device does with each (allowed, refused by\n"
	      "pci_doe.user_protocols= or lockdown, reserved by a kernel user), the\n"
	      "kernel's owners (named claims), its exchanges in flight, the process\n"
	      "holding it (PCI_DOE_IOC_TAKE) and its counters (statistics/).\n"
	      "\n"
	      "  -s SEL      only the functions SEL selects, as lspci -s: domain 0000\n"
	      "              when not given, any bus when not given; @OFFSET (hex)\n"
	      "              selects one mailbox\n"
	      "  --json      one JSON object: {\"mailboxes\": [...]}\n"
	      "\n"
	      "examples:\n"
	      "  doe list\n"
	      "  doe list -s 0d:00.0 --json\n", f);
}

static int cmd_list(int argc, char **argv)
{
	struct sel sel, *psel = NULL;
	struct mbox *mbs;
	struct json j = { .f = stdout };
	int json = 0, n, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage_list(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			if (parse_sel(argv[++i], &sel, 1)) {
				doe_err("list: bad selection \"%s\": [[DOMAIN:]BUS:]DEV.FN[@OFFSET]",
					argv[i]);
				return EXIT_USAGE;
			}
			psel = &sel;
		} else {
			usage_list(stderr);
			return EXIT_USAGE;
		}
	}
	n = mbox_list(psel, &mbs);
	if (n < 0) {
		doe_err("%s: %s; the kernel shows no DOE mailbox devices (CONFIG_PCI_DOE, a kernel with /sys/class/pci_doe)",
			CLASS_DIR, strerror(-n));
		return EXIT_FAIL;
	}
	if (json) {
		json_obj(&j, NULL);
		json_arr(&j, "mailboxes");
		for (i = 0; i < n; i++)
			list_json_one(&j, &mbs[i]);
		json_arr_end(&j);
		json_obj_end(&j);
	} else {
		for (i = 0; i < n; i++)
			list_text_one(&mbs[i]);
		if (!n)
			printf("no DOE mailbox%s%s\n", psel ? " on " : "",
			       psel ? psel->text : "");
	}
	free(mbs);
	return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

/* ---- doe discover ---- */

/* Discovery on one mailbox, printed; 0 or -errno (reported) */
static int discover_one(const struct mbox *m)
{
	unsigned char seen[DISC_MAX] = { 0 };
	unsigned int ver = mbox_version(m) >= 2 ? 2 : 0;
	unsigned int index = 0, count = 0;
	char name[64], got[4096], sysfs[4096];
	struct xfd x;
	size_t pos = 0;
	__u8 rsp[64];
	__u32 req, dw;
	ssize_t n;
	int ret = 0, lines;

	if (xfd_open(&x, m, O_RDWR))
		return -EIO;
	printf("%s: Discovery version %u\n", m->name, ver);
	got[0] = '\0';
	for (;;) {
		if (seen[index]) {
			doe_err("%s: Discovery loops: index %u again after %u entries",
				m->name, index, count);
			ret = -ELOOP;
			break;
		}
		seen[index] = 1;
		req = index | ver << DISC_VERSION_SHIFT;
		n = xfd_exchange(&x, VID_PCISIG, TYPE_DISCOVERY, &req, 1, rsp,
				 sizeof(rsp));
		if (n < 0) {
			ret = n;
			break;
		}
		if (n < 12 || HDR_VID(get_le32(rsp)) != VID_PCISIG ||
		    HDR_TYPE(get_le32(rsp)) != TYPE_DISCOVERY) {
			doe_err("%s: Discovery index %u: response of %zd bytes, header %08x, not a Discovery response",
				m->name, index, n, get_le32(rsp));
			ret = -EIO;
			break;
		}
		dw = get_le32(rsp + 8);
		printf("\t%u: %s", index,
		       prot_str(HDR_VID(dw), HDR_TYPE(dw), name, sizeof(name)));
		if (n > 12)
			printf(" (%zd more bytes)", n - 12);
		printf("\n");
		pos += snprintf(got + pos, sizeof(got) - pos, "%s%04x:%02x",
				pos ? "\n" : "", HDR_VID(dw), HDR_TYPE(dw));
		if (pos >= sizeof(got))
			pos = sizeof(got) - 1;
		count++;
		index = DISC_NEXT(dw);
		if (!index)
			break;
	}
	xfd_close(&x);
	if (ret)
		return ret;
	lines = mbox_attr(m, "protocols", sysfs, sizeof(sysfs));
	if (lines >= 0 && strcasecmp(sysfs, got))
		doe_err("%s: note: the kernel's Discovery at enumeration found other protocols (sysfs protocols: %s)",
			m->name, sysfs);
	return 0;
}

static void usage_discover(FILE *f)
{
	fputs("usage: doe discover [[DOMAIN:]BUS:]DEV.FN[@OFFSET]\n"
	      "\n"
	      "DOE Discovery (PCIe r6.2 sec 6.30.1.1) through the mailbox's char\n"
	      "device: every index from 0 along Next Index (at most 256, loops\n"
	      "detected), Discovery version 2 on capability version 2 and later.\n"
	      "Without @OFFSET every mailbox of the function.  The protocols are\n"
	      "compared with those the kernel found at enumeration (sysfs).\n"
	      "\n"
	      "examples:\n"
	      "  doe discover 0d:00.0\n"
	      "  doe discover 0000:0d:00.0@190\n", f);
}

static int cmd_discover(int argc, char **argv)
{
	struct mbox *mbs;
	struct sel sel;
	int n, i, fails = 0;

	if (argc == 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage_discover(stdout);
		return EXIT_OK;
	}
	if (argc != 2 || parse_sel(argv[1], &sel, 1)) {
		usage_discover(stderr);
		return EXIT_USAGE;
	}
	n = mbox_for(&sel, &mbs);
	if (n < 0)
		return EXIT_FAIL;
	for (i = 0; i < n; i++)
		if (discover_one(&mbs[i]))
			fails++;
	free(mbs);
	fflush(stdout);
	return fails ? EXIT_FAIL : EXIT_OK;
}

/* ---- doe cdat ---- */

/* One structure of the table: where it is and how it was read */
struct span {
	size_t off;
	size_t len;
	long handle;		/* Entry Handle it was read with, or -1 */
};

struct cdat {
	__u8 *data;
	size_t len;
	size_t cap;
	struct span *spans;
	int nr_spans;
	char **problems;
	int nr_problems;
	char source[PATH_MAX + 64];
};

#define cdat_err(c, fmt, ...) do {					\
	char __p[512];							\
									\
	snprintf(__p, sizeof(__p), fmt, ##__VA_ARGS__);			\
	cdat_add_problem(c, __p);					\
} while (0)

static void cdat_add_problem(struct cdat *c, const char *p)
{
	c->problems = xrealloc(c->problems,
			       (c->nr_problems + 1) * sizeof(*c->problems));
	c->problems[c->nr_problems] = strdup(p);
	if (!c->problems[c->nr_problems]) {
		doe_err("out of memory");
		exit(EXIT_FAIL);
	}
	c->nr_problems++;
}

static void cdat_append(struct cdat *c, const __u8 *p, size_t len,
			long handle)
{
	if (c->len + len > c->cap) {
		c->cap = (c->len + len) * 2;
		c->data = xrealloc(c->data, c->cap);
	}
	memcpy(c->data + c->len, p, len);
	c->spans = xrealloc(c->spans, (c->nr_spans + 1) * sizeof(*c->spans));
	c->spans[c->nr_spans].off = c->len;
	c->spans[c->nr_spans].len = len;
	c->spans[c->nr_spans].handle = handle;
	c->nr_spans++;
	c->len += len;
}

static void cdat_free(struct cdat *c)
{
	int i;

	for (i = 0; i < c->nr_problems; i++)
		free(c->problems[i]);
	free(c->problems);
	free(c->spans);
	free(c->data);
}

/*
 * Read the whole CDAT entry by entry from handle 0 (the header) until the
 * next handle is 0xffff.  Returns 0 when the table was read (problems with
 * it are recorded), or -errno when an exchange failed (reported).
 */
static int cdat_read(const struct mbox *m, struct cdat *c)
{
	unsigned char *seen;
	unsigned int handle = 0;
	__u32 req, dw, hdr_len = 0;
	__u8 *rsp;
	struct xfd x;
	ssize_t n;
	size_t elen;
	int ret = 0;

	snprintf(c->source, sizeof(c->source), "%s", m->name);
	if (xfd_open(&x, m, O_RDWR))
		return -EIO;
	rsp = xmalloc(MAX_OBJECT);
	seen = xmalloc(0x10000);
	for (;;) {
		seen[handle] = 1;
		req = handle << CDAT_HANDLE_SHIFT;
		n = xfd_exchange(&x, VID_CXL, TYPE_TABLE_ACCESS, &req, 1, rsp,
				 MAX_OBJECT);
		if (n < 0) {
			ret = n;
			break;
		}
		if (n < 12 || n % 4 ||
		    HDR_VID(get_le32(rsp)) != VID_CXL ||
		    HDR_TYPE(get_le32(rsp)) != TYPE_TABLE_ACCESS) {
			cdat_err(c, "entry handle %u: response of %zd bytes, header %08x: not a CXL Table Access response",
				 handle, n, get_le32(rsp));
			break;
		}
		dw = get_le32(rsp + 8);
		if (dw & 0xffff)
			cdat_err(c, "entry handle %u: response code/table type 0x%04x, expected 0 (Read Entry, CDAT)",
				 handle, dw & 0xffff);
		elen = n - 12;
		if (!handle) {
			if (elen < CDAT_HDR_LEN) {
				cdat_err(c, "the CDAT header (entry handle 0) is %zu bytes, expected %u",
					 elen, CDAT_HDR_LEN);
				cdat_append(c, rsp + 12, elen, handle);
				break;
			}
			if (elen != CDAT_HDR_LEN)
				cdat_err(c, "the CDAT header (entry handle 0) is %zu bytes, expected %u",
					 elen, CDAT_HDR_LEN);
			hdr_len = get_le32(rsp + 12);
			if (hdr_len > CDAT_MAX_TABLE) {
				cdat_err(c, "the CDAT header says %u bytes, more than the %u the tool reads",
					 hdr_len, CDAT_MAX_TABLE);
				cdat_append(c, rsp + 12, elen, handle);
				break;
			}
		} else if (!elen) {
			cdat_err(c, "entry handle %u: empty entry", handle);
			break;
		}
		cdat_append(c, rsp + 12, elen, handle);
		handle = dw >> CDAT_HANDLE_SHIFT;
		if (handle == CDAT_LAST)
			break;
		if (c->len >= hdr_len) {
			cdat_err(c, "entries past the header length: %zu bytes read, the header says %u, and the next entry handle is %u, not 0xffff",
				 c->len, hdr_len, handle);
			break;
		}
		if (seen[handle]) {
			cdat_err(c, "entry handles loop: %u again after %d entries",
				 handle, c->nr_spans);
			break;
		}
	}
	free(seen);
	free(rsp);
	xfd_close(&x);
	return ret;
}

static const char * const cdat_names[] = {
	"DSMAS", "DSLBIS", "DSMSCIS", "DSIS", "DSEMTS", "SSLBIS",
};

/* CDAT r1.03 sec 3: sizes of the fixed-size structures */
static const unsigned int cdat_sizes[] = { 24, 24, 20, 8, 24, 0 };

/* HMAT/CDAT data types of DSLBIS and SSLBIS */
static const char * const lb_names[] = {
	"access latency", "read latency", "write latency",
	"access bandwidth", "read bandwidth", "write bandwidth",
};

static const char * const lb_keys[] = {
	"access_latency", "read_latency", "write_latency",
	"access_bandwidth", "read_bandwidth", "write_bandwidth",
};

/*
 * Output of one structure: JSON members, or "label value" pairs on one
 * text line after its header
 */
struct out {
	struct json *j;
	int fields;		/* text: pairs written on the current line */
};

static void out_sep(struct out *o)
{
	fputs(o->fields++ ? ", " : ": ", stdout);
}

static void out_u(struct out *o, const char *key, const char *label,
		  __u64 v)
{
	if (o->j) {
		json_u64(o->j, key, v);
		return;
	}
	out_sep(o);
	printf("%s %llu", label, (unsigned long long)v);
}

static void out_x(struct out *o, const char *key, const char *label,
		  __u64 v)
{
	if (o->j) {
		json_u64(o->j, key, v);
		return;
	}
	out_sep(o);
	printf("%s %#llx", label, (unsigned long long)v);
}

/* A size, with a binary unit when it is a whole one */
static void out_size(struct out *o, const char *key, const char *label,
		     __u64 v)
{
	static const char * const units[] = { "KiB", "MiB", "GiB", "TiB" };
	int i;

	out_x(o, key, label, v);
	if (o->j || !v)
		return;
	for (i = ARRAY_SIZE(units) - 1; i >= 0; i--) {
		__u64 unit = 1ULL << (10 * (i + 1));

		if (!(v % unit)) {
			printf(" (%llu %s)", (unsigned long long)(v / unit),
			       units[i]);
			return;
		}
	}
}

/*
 * A latency (ps) or bandwidth (MB/s) of data type @dt: @entry times the
 * entry base unit (HMAT: latencies in picoseconds, bandwidths in MB/s)
 */
static void out_lb(struct out *o, unsigned int dt, __u16 entry, __u64 base)
{
	const char *unit = dt < 3 ? "ps" : "MB/s";
	int over = entry && base > ~0ULL / entry;
	__u64 v = over ? 0 : (__u64)entry * base;
	char key[48];

	if (dt >= ARRAY_SIZE(lb_names)) {
		out_u(o, "entry", "entry", entry);
		return;
	}
	if (o->j) {
		snprintf(key, sizeof(key), "%s_%s", lb_keys[dt],
			 dt < 3 ? "ps" : "mbps");
		if (over)
			json_null(o->j, key);
		else
			json_u64(o->j, key, v);
		return;
	}
	out_sep(o);
	if (over) {
		printf("%s %u x %llu (overflows 64 bits)", lb_names[dt], entry,
		       (unsigned long long)base);
		return;
	}
	printf("%s %llu %s", lb_names[dt], (unsigned long long)v, unit);
	if (dt < 3 && v && !(v % 1000))
		printf(" (%llu ns)", (unsigned long long)(v / 1000));
}

static void out_raw(struct out *o, const __u8 *p, size_t len)
{
	size_t i;

	if (o->j) {
		json_hex(o->j, "raw", p, len);
		return;
	}
	out_sep(o);
	printf("raw");
	for (i = 0; i < len; i++)
		printf(" %02x", p[i]);
}

static void decode_dsmas(struct out *o, const __u8 *p)
{
	static const char * const flags[8] = {
		[2] = "non-volatile", [3] = "shareable",
		[4] = "hardware-managed coherency",
		[5] = "dynamic capacity", [6] = "read-only",
	};
	char text[160];
	size_t pos = 0;
	int i;

	out_u(o, "dsmad_handle", "DSMAD handle", p[4]);
	out_x(o, "flags", "flags", p[5]);
	for (i = 0; i < 8; i++)
		if (p[5] & (1 << i))
			pos += snprintf(text + pos, sizeof(text) - pos, "%s%s",
					pos ? ", " : "",
					flags[i] ? flags[i] : "reserved");
	if (!o->j && pos)
		printf(" (%s)", text);
	out_x(o, "dpa_base", "DPA base", get_le64(p + 8));
	out_size(o, "dpa_length", "DPA length", get_le64(p + 16));
}

static void decode_dslbis(struct out *o, const __u8 *p)
{
	static const char * const hier[] = {
		"memory", "1st level cache", "2nd level cache",
		"3rd level cache",
	};
	__u64 base = get_le64(p + 8);
	unsigned int dt = p[6];

	out_u(o, "handle", "handle", p[4]);
	out_x(o, "flags", "flags", p[5]);
	if (!o->j && (p[5] & 0xf) < ARRAY_SIZE(hier))
		printf(" (%s)", hier[p[5] & 0xf]);
	out_u(o, "data_type", "data type", dt);
	if (!o->j)
		printf(" (%s)", dt < ARRAY_SIZE(lb_names) ? lb_names[dt] :
		       "reserved");
	out_lb(o, dt, get_le16(p + 16), base);
	out_u(o, "entry_base_unit", "entry base unit", base);
	if (o->j) {
		json_arr(o->j, "entries");
		json_u64(o->j, NULL, get_le16(p + 16));
		json_u64(o->j, NULL, get_le16(p + 18));
		json_u64(o->j, NULL, get_le16(p + 20));
		json_arr_end(o->j);
	} else {
		out_sep(o);
		printf("entries %u %u %u", get_le16(p + 16), get_le16(p + 18),
		       get_le16(p + 20));
	}
}

static void decode_dsmscis(struct out *o, const __u8 *p)
{
	static const char * const assoc[] = {
		"none", "direct mapped", "complex",
	};
	static const char * const policy[] = {
		"none", "write back", "write through",
	};
	__u32 attr = get_le32(p + 16);
	unsigned int a = (attr >> 8) & 0xf, w = (attr >> 12) & 0xf;

	out_u(o, "dsmas_handle", "DSMAS handle", p[4]);
	out_size(o, "cache_size", "cache size", get_le64(p + 8));
	out_x(o, "cache_attributes", "attributes", attr);
	if (o->j)
		return;
	printf(" (%u levels, level %u, %s, %s, line %u bytes)", attr & 0xf,
	       (attr >> 4) & 0xf,
	       a < ARRAY_SIZE(assoc) ? assoc[a] : "reserved associativity",
	       w < ARRAY_SIZE(policy) ? policy[w] : "reserved write policy",
	       attr >> 16);
}

static void decode_dsis(struct out *o, const __u8 *p)
{
	out_x(o, "flags", "flags", p[4]);
	if (!o->j && (p[4] & 1))
		printf(" (memory attached)");
	out_u(o, "handle", "handle", p[5]);
}

static void decode_dsemts(struct out *o, const __u8 *p)
{
	static const char * const types[] = {
		"EfiConventionalMemory",
		"EfiConventionalMemory, EFI_MEMORY_SP",
		"EfiReservedMemoryType",
	};

	out_u(o, "dsmas_handle", "DSMAS handle", p[4]);
	out_u(o, "memory_type", "EFI memory type", p[5]);
	if (!o->j)
		printf(" (%s)", p[5] < ARRAY_SIZE(types) ? types[p[5]] :
		       "reserved");
	out_x(o, "dpa_offset", "DPA offset", get_le64(p + 8));
	out_size(o, "dpa_length", "DPA length", get_le64(p + 16));
}

static const char *port_name(__u16 id, char *buf, size_t len)
{
	if (id == 0x100)
		return "upstream port";
	if (id == 0xffff)
		return "any port";
	snprintf(buf, len, "port %u", id);
	return buf;
}

static void decode_sslbis(struct out *o, const __u8 *p, size_t len)
{
	unsigned int dt = p[4];
	__u64 base = get_le64(p + 8);
	char a[32], b[32];
	size_t off;

	out_u(o, "data_type", "data type", dt);
	if (!o->j)
		printf(" (%s)", dt < ARRAY_SIZE(lb_names) ? lb_names[dt] :
		       "reserved");
	out_u(o, "entry_base_unit", "entry base unit", base);
	if (o->j)
		json_arr(o->j, "entries");
	for (off = 16; off + 8 <= len; off += 8) {
		__u16 x = get_le16(p + off), y = get_le16(p + off + 2);
		__u16 v = get_le16(p + off + 4);

		if (o->j) {
			json_obj(o->j, NULL);
			json_u64(o->j, "port_x", x);
			json_u64(o->j, "port_y", y);
			json_u64(o->j, "entry", v);
			out_lb(o, dt, v, base);
			json_obj_end(o->j);
			continue;
		}
		printf("\n\t\t%s <-> %s", port_name(x, a, sizeof(a)),
		       port_name(y, b, sizeof(b)));
		o->fields = 0;
		out_lb(o, dt, v, base);
	}
	if (o->j)
		json_arr_end(o->j);
}

/* Check and decode the structure at @s; how many problems it has */
static int cdat_struct(struct cdat *c, const struct span *s, int idx,
		       struct json *j)
{
	const __u8 *p = c->data + s->off;
	struct out o = { .j = j };
	unsigned int type, slen, want;
	const char *name;
	char where[64];
	int bad = 0;

	if (s->handle >= 0)
		snprintf(where, sizeof(where), "entry handle %ld", s->handle);
	else
		snprintf(where, sizeof(where), "structure %d", idx);
	if (s->len < CDAT_STRUCT_HDR) {
		cdat_err(c, "%s at byte %zu: %zu bytes, shorter than a structure header",
			 where, s->off, s->len);
		if (j) {
			json_obj(j, NULL);
			json_u64(j, "offset", s->off);
			json_hex(j, "raw", p, s->len);
			json_obj_end(j);
		} else {
			printf("  +0x%04zx %s: %zu bytes", s->off, where,
			       s->len);
			out_raw(&o, p, s->len);
			printf("\n");
		}
		return 1;
	}
	type = p[0];
	slen = get_le16(p + 2);
	name = type < ARRAY_SIZE(cdat_names) ? cdat_names[type] : NULL;
	if (slen != s->len) {
		cdat_err(c, "%s at byte %zu: structure length %u, but the entry is %zu bytes",
			 where, s->off, slen, s->len);
		bad++;
	}
	want = name ? cdat_sizes[type] : 0;
	if (name && ((want && s->len != want) ||
		     (!want && (s->len < 16 || (s->len - 16) % 8)))) {
		if (want)
			cdat_err(c, "%s at byte %zu: %s of %zu bytes, expected %u",
				 where, s->off, name, s->len, want);
		else
			cdat_err(c, "%s at byte %zu: %s of %zu bytes, expected 16 + 8 per entry",
				 where, s->off, name, s->len);
		bad++;
		name = NULL;	/* shown raw */
	}

	if (j) {
		json_obj(j, NULL);
		json_u64(j, "offset", s->off);
		if (s->handle >= 0)
			json_u64(j, "entry_handle", s->handle);
		json_u64(j, "type", type);
		json_str(j, "name", type < ARRAY_SIZE(cdat_names) ?
			 cdat_names[type] : NULL);
		json_u64(j, "length", slen);
		json_bool(j, "ok", !bad);
	} else {
		printf("  +0x%04zx ", s->off);
		if (s->handle >= 0)
			printf("[%ld] ", s->handle);
		if (type < ARRAY_SIZE(cdat_names))
			printf("%s", cdat_names[type]);
		else
			printf("type %u", type);
		printf(", %zu bytes%s", s->len, bad ? " (MALFORMED)" : "");
	}
	switch (name ? type : ~0u) {
	case 0:
		decode_dsmas(&o, p);
		break;
	case 1:
		decode_dslbis(&o, p);
		break;
	case 2:
		decode_dsmscis(&o, p);
		break;
	case 3:
		decode_dsis(&o, p);
		break;
	case 4:
		decode_dsemts(&o, p);
		break;
	case 5:
		decode_sslbis(&o, p, s->len);
		break;
	default:
		out_raw(&o, p + CDAT_STRUCT_HDR, s->len - CDAT_STRUCT_HDR);
		break;
	}
	if (j)
		json_obj_end(j);
	else
		printf("\n");
	return bad;
}

/* Split a table from a file into structures by their length fields */
static void cdat_split(struct cdat *c)
{
	size_t off = CDAT_HDR_LEN, len;

	if (c->len < CDAT_HDR_LEN) {
		cdat_err(c, "%zu bytes, shorter than the CDAT header (%u)",
			 c->len, CDAT_HDR_LEN);
		c->spans = xrealloc(c->spans, sizeof(*c->spans));
		c->spans[0] = (struct span){ 0, c->len, -1 };
		c->nr_spans = 1;
		return;
	}
	c->spans = xrealloc(c->spans, sizeof(*c->spans));
	c->spans[0] = (struct span){ 0, CDAT_HDR_LEN, -1 };
	c->nr_spans = 1;
	while (off < c->len) {
		len = c->len - off;
		if (len >= CDAT_STRUCT_HDR) {
			size_t slen = get_le16(c->data + off + 2);

			if (slen >= CDAT_STRUCT_HDR && slen <= len)
				len = slen;
			else
				cdat_err(c, "structure %d at byte %zu: length %zu, %zu bytes left",
					 c->nr_spans, off, slen, len);
		}
		c->spans = xrealloc(c->spans,
				    (c->nr_spans + 1) * sizeof(*c->spans));
		c->spans[c->nr_spans++] = (struct span){ off, len, -1 };
		off += len;
	}
}

static void hexdump(const __u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%s%02x%s", i % 16 ? " " : "", p[i],
		       i % 16 == 15 || i + 1 == len ? "\n" : "");
}

/* Check and show the table: 0 if it is well formed, else -EBADMSG */
static int cdat_show(struct cdat *c, int raw, int json)
{
	struct json jj = { .f = stdout }, *j = json ? &jj : NULL;
	unsigned int sum = 0, hlen = 0;
	int i, structs = 0;
	size_t k;

	for (k = 0; k < c->len; k++)
		sum += c->data[k];
	sum &= 0xff;
	if (c->len >= CDAT_HDR_LEN) {
		hlen = get_le32(c->data);
		if (hlen < CDAT_HDR_LEN)
			cdat_err(c, "the header says %u bytes, less than itself",
				 hlen);
		else if (c->len < hlen)
			cdat_err(c, "short: the header says %u bytes, the entries end at %zu",
				 hlen, c->len);
		else if (c->len > hlen)
			cdat_err(c, "%zu bytes, %zu past the %u the header says",
				 c->len, c->len - hlen, hlen);
		if (sum)
			cdat_err(c, "bad checksum: the bytes sum to 0x%02x, not 0 (checksum byte 0x%02x)",
				 sum, c->data[5]);
	}

	if (raw && !json) {
		hexdump(c->data, c->len);
		goto problems;
	}
	if (j) {
		json_obj(j, NULL);
		json_str(j, "source", c->source);
		json_u64(j, "bytes", c->len);
		if (c->len >= CDAT_HDR_LEN) {
			json_obj(j, "header");
			json_u64(j, "length", hlen);
			json_u64(j, "revision", c->data[4]);
			json_u64(j, "checksum", c->data[5]);
			json_u64(j, "sequence", get_le32(c->data + 12));
			json_obj_end(j);
		} else {
			json_null(j, "header");
		}
		json_bool(j, "checksum_ok", c->len >= CDAT_HDR_LEN && !sum);
		json_arr(j, "structures");
	} else if (c->len >= CDAT_HDR_LEN) {
		printf("CDAT of %s: length %u, revision %u, checksum 0x%02x, sequence %u\n",
		       c->source, hlen, c->data[4], c->data[5],
		       get_le32(c->data + 12));
	} else {
		printf("CDAT of %s: %zu bytes, no whole header\n", c->source,
		       c->len);
	}
	for (i = 1; i < c->nr_spans; i++) {
		cdat_struct(c, &c->spans[i], i, j);
		structs++;
	}
	if (j) {
		json_arr_end(j);
		json_hex(j, "raw", c->data, c->len);
		json_arr(j, "problems");
		for (i = 0; i < c->nr_problems; i++)
			json_str(j, NULL, c->problems[i]);
		json_arr_end(j);
		json_bool(j, "ok", !c->nr_problems);
		json_obj_end(j);
	} else {
		printf("%zu bytes, %d structures, checksum %s\n", c->len,
		       structs, c->len < CDAT_HDR_LEN ? "missing" :
		       sum ? "BAD" : "ok");
	}
problems:
	fflush(stdout);
	for (i = 0; i < c->nr_problems; i++)
		doe_err("%s: CDAT malformed: %s", c->source, c->problems[i]);
	if (c->nr_problems)
		doe_err("%s: CDAT malformed: %d problem(s); %s what was read (%zu bytes)",
			c->source, c->nr_problems, json ? "the JSON shows" :
			raw ? "above is" : "decoded above is", c->len);
	return c->nr_problems ? -EBADMSG : 0;
}

static void usage_cdat(FILE *f)
{
	fputs("usage: doe cdat [[DOMAIN:]BUS:]DEV.FN[@OFFSET] [--raw] [--json]\n"
	      "       doe cdat --file FILE [--raw] [--json]\n"
	      "\n"
	      "Reads the whole CDAT (Coherent Device Attribute Table) of a CXL\n"
	      "device through CXL Table Access (1e98:02) requests on the mailbox's\n"
	      "char device, entry by entry from handle 0 (the header) until 0xffff,\n"
	      "on the first mailbox carrying it; checks the checksum (all bytes sum\n"
	      "to 0), the header length and every structure's length, and decodes\n"
	      "DSMAS, DSLBIS, DSMSCIS, DSIS, DSEMTS and SSLBIS (latencies in ps,\n"
	      "bandwidths in MB/s, the entry base unit applied); other structures\n"
	      "are shown in hex.  A malformed table is reported on stderr with what\n"
	      "was read, and the exit status is 1.\n"
	      "\n"
	      "  --raw        the table bytes in hex, 16 a line\n"
	      "  --json       one JSON object (header, structures, raw, problems)\n"
	      "  --file FILE  decode a table from a file instead, e.g. the CXL\n"
	      "               driver's /sys/bus/cxl/devices/endpointN/CDAT\n"
	      "\n"
	      "examples:\n"
	      "  doe cdat 0d:00.0\n"
	      "  doe cdat 0000:0d:00.0 --raw\n"
	      "  doe cdat --file /sys/bus/cxl/devices/endpoint2/CDAT --json\n", f);
}

static int cmd_cdat(int argc, char **argv)
{
	const char *target = NULL, *file = NULL;
	struct cdat c = { 0 };
	struct mbox *mbs;
	struct sel sel;
	int raw = 0, json = 0, n, i, ret;
	ssize_t len;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--raw")) {
			raw = 1;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage_cdat(stdout);
			return EXIT_OK;
		} else if (!target && argv[i][0] != '-') {
			target = argv[i];
		} else {
			usage_cdat(stderr);
			return EXIT_USAGE;
		}
	}
	if (!target == !file || (target && parse_sel(target, &sel, 1))) {
		usage_cdat(stderr);
		return EXIT_USAGE;
	}
	if (file) {
		len = read_binary(file, &c.data);
		if (len < 0) {
			doe_err("%s: %s", file, strerror(-len));
			return EXIT_FAIL;
		}
		c.len = len;
		c.cap = len;
		snprintf(c.source, sizeof(c.source), "%s", file);
		cdat_split(&c);
	} else {
		n = mbox_for(&sel, &mbs);
		if (n < 0)
			return EXIT_FAIL;
		for (i = 0; i < n; i++)
			if (mbox_has(&mbs[i], VID_CXL, TYPE_TABLE_ACCESS))
				break;
		if (i == n) {
			doe_err("%s: no mailbox of %s carries CXL Table Access (1e98:02)",
				sel.text, mbs[0].bdf);
			free(mbs);
			return EXIT_FAIL;
		}
		ret = cdat_read(&mbs[i], &c);
		free(mbs);
		if (ret) {
			if (c.len)
				doe_err("%s: %zu bytes of CDAT read before the failure",
					c.source, c.len);
			cdat_free(&c);
			return EXIT_FAIL;
		}
	}
	ret = cdat_show(&c, raw, json);
	cdat_free(&c);
	return ret ? EXIT_FAIL : EXIT_OK;
}

/* ---- doe exchange ---- */

/* Hex bytes (white space and ':' ignored) appended to @buf: 0 or -EINVAL */
static int parse_bytes(const char *s, __u8 **buf, size_t *len)
{
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s) || *s == ':')
			continue;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
		v = hex_val(*s);
		if (hi < 0) {
			hi = v;
			continue;
		}
		*buf = xrealloc(*buf, *len + 1);
		(*buf)[(*len)++] = hi << 4 | v;
		hi = -1;
	}
	return hi < 0 ? 0 : -EINVAL;
}

static void usage_exchange(FILE *f)
{
	fputs("usage: doe exchange [[DOMAIN:]BUS:]DEV.FN[@OFFSET] VVVV:TT [-b] [HEX...]\n"
	      "\n"
	      "One request of protocol VVVV:TT (vendor:type, hex) through the\n"
	      "mailbox's char device, on the first mailbox of the function that\n"
	      "carries it when no @OFFSET is given; the response object is printed\n"
	      "in hex dwords with its header decoded.  The header of the request is\n"
	      "built by the tool; HEX is the payload:\n"
	      "\n"
	      "  HEX...      one dword per argument, 1-8 hex digits (\"0x\" allowed),\n"
	      "              sent little-endian as the wire carries dwords\n"
	      "  -b HEX...   the payload as bytes in wire order (white space and ':'\n"
	      "              ignored), a whole number of dwords\n"
	      "\n"
	      "examples:\n"
	      "  doe exchange 0d:00.0 0001:00 00000000        # Discovery, index 0\n"
	      "  doe exchange 0d:00.0@190 1e98:02 0           # the CDAT header\n"
	      "  doe exchange 0d:00.0 1e98:02 -b 00 00 01 00  # CDAT entry 1\n", f);
}

static int cmd_exchange(int argc, char **argv)
{
	__u32 *payload = NULL;
	__u8 *bytes = NULL, *rsp;
	size_t nbytes = 0, dws = 0, k;
	struct mbox *mbs;
	struct sel sel;
	struct xfd x;
	unsigned long v;
	char name[64];
	int i, n, b = 0, first;
	__u16 vid;
	__u8 type;
	ssize_t len;
	__u32 dw;

	if (argc >= 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage_exchange(stdout);
		return EXIT_OK;
	}
	if (argc < 3 || parse_sel(argv[1], &sel, 1) ||
	    parse_prot(argv[2], &vid, &type)) {
		usage_exchange(stderr);
		return EXIT_USAGE;
	}
	first = 3;
	if (argc > 3 && (!strcmp(argv[3], "-b") ||
			 !strcmp(argv[3], "--bytes"))) {
		b = 1;
		first = 4;
	}
	for (i = first; i < argc; i++) {
		if (b) {
			if (!parse_bytes(argv[i], &bytes, &nbytes))
				continue;
		} else {
			const char *s = argv[i];

			if (!strncasecmp(s, "0x", 2))
				s += 2;
			if (strlen(s) <= 8 && !parse_hex(s, 0xffffffff, &v)) {
				payload = xrealloc(payload,
						   (dws + 1) * sizeof(*payload));
				payload[dws++] = v;
				continue;
			}
		}
		doe_err("exchange: bad payload \"%s\": %s", argv[i],
			b ? "hex bytes" :
			"a dword of 1-8 hex digits (-b for a byte string)");
		free(payload);
		free(bytes);
		return EXIT_USAGE;
	}
	if (b) {
		if (nbytes % 4) {
			doe_err("exchange: %zu payload bytes, not whole dwords",
				nbytes);
			free(bytes);
			return EXIT_USAGE;
		}
		dws = nbytes / 4;
		payload = xmalloc((dws + 1) * sizeof(*payload));
		for (k = 0; k < dws; k++)
			payload[k] = get_le32(bytes + 4 * k);
		free(bytes);
	}

	n = mbox_for(&sel, &mbs);
	if (n < 0) {
		free(payload);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		if (sel.offset >= 0 || mbox_has(&mbs[i], vid, type))
			break;
	if (i == n) {
		doe_err("%s: no mailbox of %s carries %s", sel.text,
			mbs[0].bdf, prot_str(vid, type, name, sizeof(name)));
		free(mbs);
		free(payload);
		return EXIT_FAIL;
	}
	if (xfd_open(&x, &mbs[i], O_RDWR)) {
		free(mbs);
		free(payload);
		return EXIT_FAIL;
	}
	rsp = xmalloc(MAX_OBJECT);
	len = xfd_exchange(&x, vid, type, payload, dws, rsp, MAX_OBJECT);
	xfd_close(&x);
	free(payload);
	if (len < 0) {
		free(rsp);
		free(mbs);
		return EXIT_FAIL;
	}
	dw = get_le32(rsp);
	v = get_le32(rsp + 4) & HDR_LEN_MASK;
	printf("%s: response %s, length %lu dwords (%zd bytes)\n",
	       mbs[i].name,
	       prot_str(HDR_VID(dw), HDR_TYPE(dw), name, sizeof(name)),
	       v ? v : MAX_OBJECT_DW, len);
	for (k = 0; k < (size_t)len / 4; k++)
		printf("%s%08x%s", k % 8 ? " " : "\t",
		       get_le32(rsp + 4 * k),
		       k % 8 == 7 || k + 1 == (size_t)len / 4 ? "\n" : "");
	for (k = len & ~3; k < (size_t)len; k++)
		printf("%s%02x%s", k == (size_t)(len & ~3) ? "\t" : " ",
		       rsp[k], k + 1 == (size_t)len ? "\n" : "");
	if (HDR_VID(dw) == VID_PCISIG && HDR_TYPE(dw) == TYPE_DISCOVERY &&
	    len >= 12) {
		dw = get_le32(rsp + 8);
		printf("\tDiscovery: %s, next index %u\n",
		       prot_str(HDR_VID(dw), HDR_TYPE(dw), name, sizeof(name)),
		       DISC_NEXT(dw));
	} else if (HDR_VID(dw) == VID_CXL && HDR_TYPE(dw) == TYPE_TABLE_ACCESS &&
		   len >= 12) {
		dw = get_le32(rsp + 8);
		printf("\tTable Access: code %u, table %u, next handle %#x, %zd bytes\n",
		       dw & 0xff, (dw >> 8) & 0xff, dw >> CDAT_HANDLE_SHIFT,
		       len - 12);
	}
	free(rsp);
	free(mbs);
	return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

/* ---- doe take ---- */

static pid_t take_child;

static void take_forward(int sig)
{
	if (take_child > 0)
		kill(take_child, sig);
}

/* Explain a failed PCI_DOE_IOC_TAKE */
static void take_error(const struct mbox *m, int err)
{
	char why[1200], policy[32], lock[128], users[4096], refused[1024];
	char *line, *save;
	size_t pos = 0;

	why[0] = '\0';
	switch (err) {
	case EBUSY:
		mbox_busy_why(m, why, sizeof(why));
		break;
	case EPERM:
		if (geteuid()) {
			snprintf(why, sizeof(why), "needs root (CAP_SYS_ADMIN)");
			break;
		}
		refused[0] = '\0';
		mbox_attr(m, "user_protocols", users, sizeof(users));
		for (line = strtok_r(users, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (strstr(line, " refused"))
				pos += snprintf(refused + pos,
						sizeof(refused) - pos,
						"%s%.7s", pos ? " " : "",
						line);
		if (read_file(PARAM_DIR "/policy", policy, sizeof(policy)) < 0)
			policy[0] = '\0';
		if (read_file(LOCKDOWN_FILE, lock, sizeof(lock)) < 0)
			lock[0] = '\0';
		if (lock[0] && !strstr(lock, "[none]"))
			snprintf(why, sizeof(why),
				 "kernel lockdown (%s) refuses taking mailboxes",
				 lock);
		else if (!strcmp(policy, "locked") && refused[0])
			snprintf(why, sizeof(why),
				 "pci_doe.policy=locked and the mailbox carries protocols userspace may not use (%s)",
				 refused);
		else
			snprintf(why, sizeof(why),
				 "needs CAP_SYS_ADMIN; refused by kernel lockdown or pci_doe.policy=locked with a refused protocol");
		break;
	case ENODEV:
		snprintf(why, sizeof(why), "device removed");
		break;
	case ENOTTY:
		snprintf(why, sizeof(why),
			 "the kernel does not know PCI_DOE_IOC_TAKE");
		break;
	}
	doe_err("%s: take: %s%s%s", m->name, strerror(err),
		why[0] ? "; " : "", why);
}

static void usage_take(FILE *f)
{
	fputs("usage: doe take [[DOMAIN:]BUS:]DEV.FN[@OFFSET] -- COMMAND [ARGS...]\n"
	      "\n"
	      "Takes the mailbox from the kernel (PCI_DOE_IOC_TAKE on its char\n"
	      "device) and runs COMMAND while it is taken: kernel claims and\n"
	      "exchanges on it get EBUSY, and root's config writes to its registers\n"
	      "(setpci, a compliance tool) go through under every pci_doe.policy.\n"
	      "Without @OFFSET every mailbox of the function is taken.  When COMMAND\n"
	      "ends the mailbox is given back and the kernel aborts it before its\n"
	      "next exchange.  The exit status is COMMAND's (128 + the signal if it\n"
	      "was killed, 127 if it could not be run).\n"
	      "\n"
	      "examples:\n"
	      "  doe take 0d:00.0 -- setpci -s 0d:00.0 1a0.L=00020001\n"
	      "  doe take 0000:0d:00.0@190 -- spdm_requester_emu --pcap x.pcap\n", f);
}

static int cmd_take(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = take_forward };
	struct sigaction old_int, old_quit;
	struct mbox *mbs;
	struct xfd *xs;
	struct sel sel;
	int n, i, cmd, status, ret;

	if (argc >= 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage_take(stdout);
		return EXIT_OK;
	}
	cmd = 2;
	if (argc > 2 && !strcmp(argv[2], "--"))
		cmd = 3;
	if (argc <= cmd || parse_sel(argv[1], &sel, 1)) {
		usage_take(stderr);
		return EXIT_USAGE;
	}
	n = mbox_for(&sel, &mbs);
	if (n < 0)
		return EXIT_FAIL;
	xs = xmalloc(n * sizeof(*xs));
	for (i = 0; i < n; i++) {
		if (xfd_open(&xs[i], &mbs[i], O_RDWR))
			break;
		if (ioctl(xs[i].fd, PCI_DOE_IOC_TAKE, 0)) {
			take_error(&mbs[i], errno);
			xfd_close(&xs[i]);
			break;
		}
	}
	if (i < n) {
		while (i--)
			xfd_close(&xs[i]);
		free(xs);
		free(mbs);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		doe_err("%s: taken; running %s", mbs[i].name, argv[cmd]);

	/* As system(): the terminal's signals reach the command directly */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGQUIT, &sa, &old_quit);
	sa.sa_handler = take_forward;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fflush(NULL);
	take_child = fork();
	if (take_child < 0) {
		doe_err("fork: %s", strerror(errno));
		ret = EXIT_FAIL;
	} else if (!take_child) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execvp(argv[cmd], argv + cmd);
		doe_err("%s: %s", argv[cmd], strerror(errno));
		_exit(127);
	} else {
		while (waitpid(take_child, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status))
			ret = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			ret = 128 + WTERMSIG(status);
		else
			ret = EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		xfd_close(&xs[i]);
		doe_err("%s: given back; the kernel aborts it before its next exchange",
			mbs[i].name);
	}
	free(xs);
	free(mbs);
	return ret;
}

/* ---- doe capture ---- */

struct capture {
	char tracing[64];	/* the tracefs mount */
	char old_clock[64];	/* trace_clock before, "" if unchanged */
	char old_enable[8];	/* the event's enable before */
	int enabled;		/* we wrote the event's enable */
	int tracing_on_set;	/* we wrote tracing_on 1 */
	long long offset_ns;	/* realtime - monotonic */
	long long start_ns;	/* monotonic at the start */
	long long overrun;	/* events lost in the ring buffer so far */
	unsigned long long packets, requests, responses;
	unsigned long long cut;		/* recorded in part by the kernel */
	unsigned long long short_lines;	/* fewer bytes printed than recorded */
	unsigned long long toobig;	/* "[LINE TOO BIG]" */
	unsigned long long skipped;	/* not parsed */
	FILE *out;
	const struct sel *sel;
};

static int tracing_path(const struct capture *c, const char *file,
			char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", c->tracing, file) >= (int)len ?
	       -ENAMETOOLONG : 0;
}

static int tracing_read(const struct capture *c, const char *file, char *buf,
			size_t len)
{
	char path[256];

	if (tracing_path(c, file, path, sizeof(path)))
		return -ENAMETOOLONG;
	return read_file(path, buf, len);
}

static int tracing_write(const struct capture *c, const char *file,
			 const char *s)
{
	char path[256];

	if (tracing_path(c, file, path, sizeof(path)))
		return -ENAMETOOLONG;
	return write_file(path, s);
}

#define EVENT_DIR	"events/pci_doe/pci_doe_object"

/* Sum of "overrun" and "dropped events" of every CPU's ring buffer */
static long long tracing_lost(const struct capture *c)
{
	char file[64], buf[1024], *p;
	long long sum = 0;
	int cpu, ret;

	for (cpu = 0; cpu < 4096; cpu++) {
		snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", cpu);
		ret = tracing_read(c, file, buf, sizeof(buf));
		if (ret == -ENOENT && cpu >= 64)
			break;
		if (ret < 0)
			continue;
		p = strstr(buf, "overrun:");
		if (p)
			sum += strtoll(p + 8, NULL, 10);
		p = strstr(buf, "dropped events:");
		if (p)
			sum += strtoll(p + 15, NULL, 10);
	}
	return sum;
}

static long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void capture_restore(struct capture *c)
{
	int ret;

	if (c->enabled) {
		ret = tracing_write(c, EVENT_DIR "/enable", c->old_enable);
		if (ret)
			doe_err("%s/" EVENT_DIR "/enable: restoring \"%s\": %s",
				c->tracing, c->old_enable, strerror(-ret));
		c->enabled = 0;
	}
	if (c->old_clock[0]) {
		ret = tracing_write(c, "trace_clock", c->old_clock);
		if (ret)
			doe_err("%s/trace_clock: restoring \"%s\": %s",
				c->tracing, c->old_clock, strerror(-ret));
		c->old_clock[0] = '\0';
	}
	if (c->tracing_on_set) {
		tracing_write(c, "tracing_on", "0");
		c->tracing_on_set = 0;
	}
}

/* Find tracefs, switch to the mono clock, turn the event on */
static int capture_setup(struct capture *c)
{
	static const char * const mounts[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char buf[512], path[128], *l, *r;
	long long a, b, rt;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(mounts); i++) {
		snprintf(path, sizeof(path), "%s/trace_pipe", mounts[i]);
		if (!access(path, R_OK))
			break;
	}
	if (i == ARRAY_SIZE(mounts)) {
		doe_err("no tracefs: mount it (mount -t tracefs nodev /sys/kernel/tracing); the kernel needs CONFIG_EVENT_TRACING");
		return -ENOENT;
	}
	snprintf(c->tracing, sizeof(c->tracing), "%s", mounts[i]);
	ret = tracing_read(c, EVENT_DIR "/enable", c->old_enable,
			   sizeof(c->old_enable));
	if (ret < 0) {
		doe_err("%s/" EVENT_DIR "/enable: %s%s", c->tracing,
			strerror(-ret), ret == -ENOENT ?
			"; the kernel has no pci_doe_object trace event" : "");
		return ret;
	}
	if (!c->old_enable[0] || c->old_enable[0] == 'X')
		snprintf(c->old_enable, sizeof(c->old_enable), "0");

	ret = tracing_read(c, "trace_clock", buf, sizeof(buf));
	if (ret < 0) {
		doe_err("%s/trace_clock: %s", c->tracing, strerror(-ret));
		return ret;
	}
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!r) {
		doe_err("%s/trace_clock: no current clock in \"%s\"",
			c->tracing, buf);
		return -EINVAL;
	}
	*r = '\0';
	if (strcmp(l + 1, "mono")) {
		/* Changing the clock empties the ring buffer */
		ret = tracing_write(c, "trace_clock", "mono");
		if (ret) {
			doe_err("%s/trace_clock: mono: %s", c->tracing,
				strerror(-ret));
			return ret;
		}
		snprintf(c->old_clock, sizeof(c->old_clock), "%s", l + 1);
	}
	if (tracing_read(c, "tracing_on", buf, sizeof(buf)) > 0 &&
	    !strcmp(buf, "0")) {
		ret = tracing_write(c, "tracing_on", "1");
		if (ret) {
			doe_err("%s/tracing_on: %s", c->tracing,
				strerror(-ret));
			capture_restore(c);
			return ret;
		}
		c->tracing_on_set = 1;
	}

	/* The offset from the trace's monotonic clock to wall time */
	a = clock_ns(CLOCK_MONOTONIC);
	rt = clock_ns(CLOCK_REALTIME);
	b = clock_ns(CLOCK_MONOTONIC);
	c->offset_ns = rt - (a + (b - a) / 2);
	c->start_ns = a;
	c->overrun = tracing_lost(c);

	ret = tracing_write(c, EVENT_DIR "/enable", "1");
	if (ret) {
		doe_err("%s/" EVENT_DIR "/enable: %s", c->tracing,
			strerror(-ret));
		capture_restore(c);
		return ret;
	}
	c->enabled = 1;
	return 0;
}

static void put_le32_file(FILE *f, __u32 v)
{
	__u8 b[4];

	put_le32(b, v);
	fwrite(b, 1, 4, f);
}

static void pcap_header(FILE *f)
{
	put_le32_file(f, PCAP_MAGIC);
	put_le32_file(f, 2 | 4 << 16);	/* version 2.4 */
	put_le32_file(f, 0);		/* thiszone */
	put_le32_file(f, 0);		/* sigfigs */
	put_le32_file(f, PCAP_SNAPLEN);
	put_le32_file(f, LINKTYPE_PCI_DOE);
}

/* "<sec>.<fraction>" into nanoseconds: 0 or -EINVAL */
static int parse_ts(const char *s, size_t len, long long *ns)
{
	long long sec = 0, frac = 0;
	size_t i = 0;
	int digits = 0;

	while (i < len && isdigit((unsigned char)s[i]))
		sec = sec * 10 + s[i++] - '0';
	if (!i || i >= len || s[i++] != '.')
		return -EINVAL;
	while (i < len && isdigit((unsigned char)s[i])) {
		if (digits < 9) {
			frac = frac * 10 + s[i] - '0';
			digits++;
		}
		i++;
	}
	if (!digits || i != len)
		return -EINVAL;
	while (digits++ < 9)
		frac *= 10;
	*ns = sec * 1000000000LL + frac;
	return 0;
}

/*
 * One trace_pipe line: "<comm>-<pid> [cpu] <flags> <sec.usec>:
 * pci_doe_object: <BDF> mailbox 0x190 request length 12 captured 12: 01 ..."
 * Returns 1 when a packet was written, 0 when the line is not one of ours.
 */
static int capture_line(struct capture *c, char *line)
{
	char dev[64], dir[16], *ev, *ts, *hex;
	unsigned int offset, length, captured, n = 0;
	long long ns;
	struct mbox m;
	__u8 *data;
	int pos = 0;

	if (strstr(line, "[LINE TOO BIG]")) {
		c->toobig++;
		return 0;
	}
	ev = strstr(line, ": pci_doe_object: ");
	if (!ev)
		return 0;
	ts = ev;
	while (ts > line && !isspace((unsigned char)ts[-1]))
		ts--;
	if (parse_ts(ts, ev - ts, &ns)) {
		c->skipped++;
		return 0;
	}
	ev += strlen(": pci_doe_object: ");
	if (sscanf(ev, "%63s mailbox %x %15s length %u captured %u:%n", dev,
		   &offset, dir, &length, &captured, &pos) != 5 || !pos) {
		c->skipped++;
		return 0;
	}
	if (ns < c->start_ns)
		return 0;	/* from before the start */
	if (c->sel) {
		char name[96];

		snprintf(name, sizeof(name), "%s-doe%03x", dev, offset);
		if (mbox_parse(name, &m) || !sel_match(c->sel, &m))
			return 0;
	}
	hex = ev + pos;
	data = xmalloc(captured + 1);
	while (n < captured) {
		while (*hex == ' ')
			hex++;
		if (!isxdigit((unsigned char)hex[0]) ||
		    !isxdigit((unsigned char)hex[1]))
			break;
		data[n++] = hex_val(hex[0]) << 4 | hex_val(hex[1]);
		hex += 2;
	}
	if (n < captured)
		c->short_lines++;
	else if (n < length)
		c->cut++;
	ns += c->offset_ns;
	put_le32_file(c->out, ns / 1000000000LL);
	put_le32_file(c->out, ns % 1000000000LL / 1000);
	put_le32_file(c->out, n);
	put_le32_file(c->out, length);
	fwrite(data, 1, n, c->out);
	free(data);
	c->packets++;
	if (!strcmp(dir, "request"))
		c->requests++;
	else
		c->responses++;
	return 1;
}

static void usage_capture(FILE *f)
{
	fputs("usage: doe capture [-s SEL] -o FILE.pcap [-c COUNT | -t SECONDS]\n"
	      "\n"
	      "Records every data object exchanged on the selected mailboxes (all\n"
	      "of them without -s), the kernel's and userspace's alike, into a pcap\n"
	      "file: classic pcap, link type 292 (LINKTYPE_PCI_DOE, as DMTF\n"
	      "libspdm's spdm_dump reads it), one packet per data object, header\n"
	      "included, with wall-clock timestamps.  The source is the trace event\n"
	      "pci_doe:pci_doe_object through tracefs: the tool turns it on, sets\n"
	      "trace_clock to mono (which empties the trace buffer) and restores\n"
	      "both when it ends.  Objects the kernel recorded only in part (over\n"
	      "4096 bytes) are written with their true length and what was\n"
	      "recorded.  Stops after COUNT objects, after SECONDS, or on SIGINT or\n"
	      "SIGTERM, and prints how many objects were captured.\n"
	      "\n"
	      "  -s SEL      only the mailboxes of the functions SEL selects\n"
	      "  -o FILE     the pcap file, \"-\" for stdout\n"
	      "  -c COUNT    stop after COUNT objects (requests and responses)\n"
	      "  -t SECONDS  stop after SECONDS\n"
	      "\n"
	      "examples:\n"
	      "  doe capture -s 0d:00.0 -o doe.pcap\n"
	      "  doe capture -o doe.pcap -t 10\n"
	      "  tshark -r doe.pcap\n", f);
}

static int cmd_capture(int argc, char **argv)
{
	struct capture c = { 0 };
	struct sel sel;
	const char *file = NULL;
	unsigned long long count = 0;
	long long deadline = 0, lost;
	char *buf, *line = NULL, *nl, path[128];
	size_t llen = 0, lcap = 0;
	struct pollfd p[2];
	sigset_t mask;
	double secs = 0;
	int i, fd, sfd, ret = EXIT_OK, stop = 0;
	ssize_t n;

	for (i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage_capture(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			if (parse_sel(argv[++i], &sel, 1)) {
				doe_err("capture: bad selection \"%s\"",
					argv[i]);
				return EXIT_USAGE;
			}
			c.sel = &sel;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			count = strtoull(argv[++i], &end, 10);
			if (*end || !count) {
				usage_capture(stderr);
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			secs = strtod(argv[++i], &end);
			if (*end || secs <= 0) {
				usage_capture(stderr);
				return EXIT_USAGE;
			}
		} else {
			usage_capture(stderr);
			return EXIT_USAGE;
		}
	}
	if (!file || (count && secs)) {
		usage_capture(stderr);
		return EXIT_USAGE;
	}

	/* SIGINT and SIGTERM end the capture, through a signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		doe_err("signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	c.out = strcmp(file, "-") ? fopen(file, "we") : stdout;
	if (!c.out) {
		doe_err("%s: %s", file, strerror(errno));
		return EXIT_FAIL;
	}
	pcap_header(c.out);
	if (fflush(c.out)) {
		doe_err("%s: %s", file, strerror(errno));
		return EXIT_FAIL;
	}
	if (capture_setup(&c))
		return EXIT_FAIL;
	snprintf(path, sizeof(path), "%s/trace_pipe", c.tracing);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		doe_err("%s: %s", path, strerror(errno));
		capture_restore(&c);
		return EXIT_FAIL;
	}
	if (secs)
		deadline = clock_ns(CLOCK_MONOTONIC) + secs * 1e9;
	doe_err("capturing the data objects of %s into %s (%s)",
		c.sel ? c.sel->text : "every mailbox", file,
		count ? "until the count" : secs ? "for the time given" :
		"Ctrl-C stops");

	buf = xmalloc(65536);
	p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (!stop) {
		int timeout = 100;

		if (deadline) {
			long long left = deadline - clock_ns(CLOCK_MONOTONIC);

			if (left <= 0)
				stop = 1;
			else if (left / 1000000 < timeout)
				timeout = left / 1000000 + 1;
		}
		if (poll(p, 2, stop ? 0 : timeout) < 0 && errno != EINTR) {
			doe_err("poll: %s", strerror(errno));
			ret = EXIT_FAIL;
			break;
		}
		if (p[1].revents & POLLIN)
			stop = 1;
		/* Read whatever is there, also once stopping */
		for (;;) {
			n = read(fd, buf, 65536);
			if (n <= 0)
				break;
			if (llen + n + 1 > lcap) {
				lcap = (llen + n + 1) * 2;
				line = xrealloc(line, lcap);
			}
			memcpy(line + llen, buf, n);
			llen += n;
			line[llen] = '\0';
			while ((nl = memchr(line, '\n', llen))) {
				*nl = '\0';
				capture_line(&c, line);
				llen -= nl + 1 - line;
				memmove(line, nl + 1, llen + 1);
				if (count && c.packets >= count)
					break;
			}
			if (count && c.packets >= count)
				break;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			doe_err("%s/trace_pipe: %s", c.tracing,
				strerror(errno));
			ret = EXIT_FAIL;
			break;
		}
		if (fflush(c.out)) {
			doe_err("%s: %s", file, strerror(errno));
			ret = EXIT_FAIL;
			break;
		}
		if (count && c.packets >= count)
			stop = 1;
	}
	capture_restore(&c);
	lost = tracing_lost(&c) - c.overrun;
	close(fd);
	close(sfd);
	free(buf);
	free(line);
	if ((c.out != stdout && fclose(c.out)) ||
	    (c.out == stdout && fflush(stdout))) {
		doe_err("%s: %s", file, strerror(errno));
		ret = EXIT_FAIL;
	}
	fprintf(c.out == stdout ? stderr : stdout,
		"%llu data objects captured (%llu requests, %llu responses) into %s\n",
		c.packets, c.requests, c.responses, file);
	fflush(stdout);
	if (c.cut)
		doe_err("%llu objects over what the kernel records, written in part (caplen < len)",
			c.cut);
	if (c.short_lines)
		doe_err("%llu objects cut short in trace_pipe's text (fewer bytes than recorded)",
			c.short_lines);
	if (c.toobig)
		doe_err("%llu objects lost: trace_pipe printed \"[LINE TOO BIG]\" for them",
			c.toobig);
	if (lost > 0)
		doe_err("%lld trace events lost: the ring buffer overran (grow buffer_size_kb)",
			lost);
	if (c.skipped)
		doe_err("%llu pci_doe_object lines not understood (trace_options changed?)",
			c.skipped);
	return ret;
}

/* ---- main ---- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	void (*usage)(FILE *f);
} commands[] = {
	{ "list", cmd_list, usage_list },
	{ "discover", cmd_discover, usage_discover },
	{ "cdat", cmd_cdat, usage_cdat },
	{ "exchange", cmd_exchange, usage_exchange },
	{ "take", cmd_take, usage_take },
	{ "capture", cmd_capture, usage_capture },
};

static void usage_main(FILE *f)
{
	fputs("usage: doe COMMAND [ARGS...]     (doe COMMAND --help for more)\n"
	      "\n"
	      "PCI DOE (Data Object Exchange) mailboxes through the kernel: the\n"
	      "mailbox devices in /sys/class/pci_doe and their char devices\n"
	      "/dev/pci_doe/<BDF>-doe<offset>.  No config space writes.\n"
	      "\n"
	      "  list [-s SEL] [--json]                mailboxes, protocols, owners,\n"
	      "                                        holder, counters\n"
	      "  discover BDF[@OFFSET]                 DOE Discovery, by name\n"
	      "  cdat BDF [--raw] [--json]             the CDAT, checked and decoded\n"
	      "  exchange BDF[@OFFSET] VVVV:TT [HEX...]  one request, the response\n"
	      "  take BDF[@OFFSET] -- COMMAND [ARGS]   run COMMAND with the mailbox\n"
	      "                                        taken from the kernel\n"
	      "  capture [-s SEL] -o FILE [-c N|-t S]  record data objects to pcap\n"
	      "\n"
	      "BDF and SEL are [[DOMAIN:]BUS:]DEV.FN in hex, as lspci -s (domain\n"
	      "0000 when not given); @OFFSET is the mailbox's config offset (hex),\n"
	      "and a mailbox name such as 0000:0d:00.0-doe190 works too.  Exit\n"
	      "status: 0 success, 1 failure, 2 usage; take: the command's.\n"
	      "\n"
	      "examples:\n"
	      "  doe list\n"
	      "  doe discover 0d:00.0\n"
	      "  doe cdat 0d:00.0\n"
	      "  doe exchange 0d:00.0 0001:00 00000000\n"
	      "  doe take 0d:00.0 -- setpci -s 0d:00.0 1a0.L=00020001\n"
	      "  doe capture -s 0d:00.0 -o doe.pcap -t 5\n", f);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2)
			for (i = 0; i < ARRAY_SIZE(commands); i++)
				if (!strcmp(argv[2], commands[i].name)) {
					commands[i].usage(stdout);
					return EXIT_OK;
				}
		usage_main(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	doe_err("unknown command \"%s\"", argv[1]);
	usage_main(stderr);
	return EXIT_USAGE;
}
