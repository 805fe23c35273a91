/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PCI Data Object Exchange (DOE) mailbox devices
 *
 * Every DOE mailbox the kernel found is a device of class "pci_doe", child
 * of its PCI function, named "<function>-doe<offset>" (the config space
 * offset of the DOE capability, three hex digits, e.g. "0000:0d:00.0-doe190"),
 * with a char device node /dev/pci_doe/<name>.  The node is root-only by
 * default; udev may widen it.  See Documentation/userspace-api/pci-doe.rst.
 *
 * Exchanges: write() one whole request data object (the two header dwords
 * and the payload, little-endian dwords as on the wire), read() the whole
 * response object.  The kernel checks the request, queues it with its own
 * exchanges on the mailbox and answers in order; poll() and O_NONBLOCK give
 * the asynchronous form.
 */
#ifndef _UAPI_LINUX_PCI_DOE_H
#define _UAPI_LINUX_PCI_DOE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* pci_doe_protocol_id.flags */
/* Userspace may not exchange it: pci_doe.user_protocols=, or lockdown */
#define PCI_DOE_PROT_REFUSED		0x01
/* A kernel user keeps it for itself now (an SPDM session, say) */
#define PCI_DOE_PROT_RESERVED		0x02

/**
 * struct pci_doe_protocol_id - a protocol a mailbox supports (Discovery)
 * @vendor: PCI-SIG Vendor ID of the protocol (0x0001 for PCI-SIG, 0x1e98 for
 *	CXL)
 * @type: Data Object Type
 * @flags: PCI_DOE_PROT_* bits: whether the char device would refuse it
 */
struct pci_doe_protocol_id {
	__u16 vendor;
	__u8 type;
	__u8 flags;
};

/* pci_doe_info.flags */
/* The DOE capability supports the DOE interrupt */
#define PCI_DOE_INFO_INTERRUPT		0x00000001
/* The kernel owns the mailbox now: a claim, or an exchange queued or running */
#define PCI_DOE_INFO_KERNEL_OWNED	0x00000002
/* Some file has taken the mailbox with PCI_DOE_IOC_TAKE */
#define PCI_DOE_INFO_TAKEN		0x00000004
/* ... and it is the file the ioctl was issued on */
#define PCI_DOE_INFO_TAKEN_HERE		0x00000008

/**
 * struct pci_doe_info - what PCI_DOE_IOC_INFO reports about a mailbox
 * @argsz: in: bytes the caller provides at the argument (at least up to
 *	@protocols); out: bytes the kernel has to report, protocols included.
 *	Fields the caller's size does not cover are not written, so a caller
 *	built against an older header keeps working, and one whose buffer is
 *	too short for every protocol calls again with the size returned.
 * @flags: PCI_DOE_INFO_* bits
 * @cap_offset: config space offset of the DOE extended capability
 * @cap_version: version of that capability
 * @reserved0: zero
 * @max_object_size: largest data object the mailbox carries, in bytes,
 *	header included (2^18 dwords, PCIe r6.2 sec 6.30.1)
 * @nr_protocols: number of protocols Discovery found, Discovery included
 * @reserved1: zero
 * @protocols: those protocols, in Discovery order, as many as @argsz covers
 */
struct pci_doe_info {
	__u32 argsz;
	__u32 flags;
	__u16 cap_offset;
	__u8 cap_version;
	__u8 reserved0;
	__u32 max_object_size;
	__u32 nr_protocols;
	__u32 reserved1;
	struct pci_doe_protocol_id protocols[];
};

#define PCI_DOE_IOC_MAGIC	0xD0

/* Report what struct pci_doe_info describes */
#define PCI_DOE_IOC_INFO	_IOWR(PCI_DOE_IOC_MAGIC, 0x00, struct pci_doe_info)
/*
 * Take the mailbox for root: kernel users get -EBUSY and root config writes
 * to the mailbox are let through, until PCI_DOE_IOC_GIVE on the same file or
 * until the file is closed; the kernel aborts the mailbox before its next
 * exchange.  The argument is flags, zero for now.  Only a mailbox the
 * kernel does not own can be taken (-EBUSY otherwise).  Needs CAP_SYS_ADMIN
 * and the file open for writing.
 */
#define PCI_DOE_IOC_TAKE	_IO(PCI_DOE_IOC_MAGIC, 0x01)
/* Give back a mailbox taken through this file; argument zero */
#define PCI_DOE_IOC_GIVE	_IO(PCI_DOE_IOC_MAGIC, 0x02)
/*
 * Largest response object, in bytes, header included, that this file's
 * later requests accept: a multiple of 4 from 8 to 2^20 (the default is
 * PCI_DOE_DEFAULT_MAX_RESPONSE).  A longer response fails its read() with
 * E2BIG.
 */
#define PCI_DOE_IOC_MAX_RESPONSE	_IOW(PCI_DOE_IOC_MAGIC, 0x03, __u32)
#define PCI_DOE_DEFAULT_MAX_RESPONSE	65536

#endif /* _UAPI_LINUX_PCI_DOE_H */
