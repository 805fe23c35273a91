// SPDX-License-Identifier: GPL-2.0
/*
 * pci_doe_tool: look at DOE mailboxes from userspace (a debugging aid built
 * with the pci_doe selftests; it is not a test itself).
 *
 *   pci_doe_tool list                  DOE capabilities of every function
 *                                      (config reads only)
 *   pci_doe_tool discover [BDF]        Discovery on every mailbox (writes!)
 *   pci_doe_tool cdat BDF              read the CDAT through CXL Table Access
 *                                      and write it to stdout (writes!)
 *
 * discover and cdat take each mailbox from the kernel while they use it,
 * through its char device /dev/pci_doe/<BDF>-doe<offset> (PCI_DOE_IOC_TAKE),
 * where the kernel has one: its config writes are then admitted under
 * every pci_doe.policy, and the kernel aborts the mailbox before its next
 * exchange.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doe_user.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* called with the function's config fd and its DOE capabilities */
typedef int mailbox_fn(const char *bdf, int fd, uint16_t *caps, uint8_t *vers, int n);

/* Call fn for every function (or just @only) that has DOE capabilities */
static int walk_functions(const char *only, int rw, mailbox_fn *fn)
{
	char *names[512];
	struct dirent *e;
	int n = 0, i, ret = 0;
	DIR *d;

	d = opendir("/sys/bus/pci/devices");
	if (!d) {
		perror("/sys/bus/pci/devices");
		return 1;
	}
	while ((e = readdir(d)) && n < 512)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		uint16_t caps[16];
		uint8_t vers[16];
		int fd, nc;

		if (only && strcmp(only, names[i]))
			continue;
		fd = doe_user_open(names[i], rw);
		if (fd < 0) {
			fprintf(stderr, "%s: %s\n", names[i], strerror(-fd));
			ret = 1;
			continue;
		}
		nc = doe_user_find(fd, caps, vers, 16);
		if (nc < 0) {
			fprintf(stderr, "%s: capability walk: %s\n", names[i],
				strerror(-nc));
			ret = 1;
		} else if (nc > 0) {
			ret |= fn(names[i], fd, caps, vers, nc > 16 ? 16 : nc);
		}
		close(fd);
		free(names[i]);
	}
	return ret;
}

static int list_one(const char *bdf, int fd, uint16_t *caps, uint8_t *vers,
		    int n)
{
	int i;

	(void)fd;
	for (i = 0; i < n; i++)
		printf("%s %#x v%u\n", bdf, caps[i], vers[i]);
	return 0;
}

static int discover_one(const char *bdf, int fd, uint16_t *caps,
			uint8_t *vers, int n)
{
	struct doe_user_prot prots[DOE_USER_MAX_PROTOCOLS];
	struct doe_user_mb mb;
	int i, j, np, ret = 0;

	(void)vers;
	for (i = 0; i < n; i++) {
		np = doe_user_mb_init(&mb, fd, bdf, caps[i]);
		if (!np) {
			doe_user_take(&mb);	/* best effort */
			np = doe_user_discover(&mb, prots, DOE_USER_MAX_PROTOCOLS);
			doe_user_give(&mb);
		}
		printf("%s DOE mailbox %#x:", bdf, caps[i]);
		if (np < 0) {
			printf(" error %s\n", strerror(-np));
			ret = 1;
			continue;
		}
		printf(" protocols");
		for (j = 0; j < np && j < DOE_USER_MAX_PROTOCOLS; j++)
			printf(" %04x:%02x", prots[j].vid, prots[j].type);
		printf("\n");
	}
	return ret;
}

static int cdat(const char *bdf)
{
	struct doe_user_mb mb;
	uint8_t *table;
	size_t len;
	int ret;

	ret = doe_user_find_protocol(bdf, DOE_USER_VID_CXL, DOE_USER_TYPE_CDAT,
				     &mb);
	if (ret) {
		fprintf(stderr, "%s: no mailbox with CXL Table Access: %s\n",
			bdf, strerror(-ret));
		return 1;
	}
	ret = doe_user_read_cdat(&mb, &table, &len);
	doe_user_close(&mb);
	if (ret) {
		fprintf(stderr, "%s: CDAT read: %s\n", bdf, strerror(-ret));
		return 1;
	}
	fwrite(table, 1, len, stdout);
	free(table);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "list"))
		return walk_functions(NULL, 0, list_one);
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "discover"))
		return walk_functions(argv[2], 1, discover_one);
	if (argc == 3 && !strcmp(argv[1], "cdat"))
		return cdat(argv[2]);
	fprintf(stderr, "usage: %s list | discover [BDF] | cdat BDF\n", argv[0]);
	return 2;
}
