/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI Data Object Exchange (DOE) mailbox library, PCIe r6.2 sec 6.30.
 *
 * A DOE mailbox carries request and response data objects between a
 * requester and a PCIe function through its config space.  This header is
 * the kernel API: look up a mailbox, then exchange objects with it either
 * synchronously (pci_doe()) or asynchronously (pci_doe_submit()).
 * Documentation/driver-api/pci/doe.rst has the guide.
 */

#ifndef LINUX_PCI_DOE_H
#define LINUX_PCI_DOE_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/types.h>

struct device;
struct pci_dev;
struct pci_doe_mb;
struct pci_doe_claim;

/* Largest data object, header included: 2^18 dwords (PCIe r6.2 sec 6.30.1) */
#define PCI_DOE_MAX_OBJECT_DW		0x40000U
/* Largest request or response payload a caller can pass, in bytes */
#define PCI_DOE_MAX_PAYLOAD		((PCI_DOE_MAX_OBJECT_DW - 2) * 4)

/**
 * struct pci_doe_task - one asynchronous DOE exchange
 * @vendor: Vendor ID of the protocol of the request
 * @type: Data Object Type of the protocol of the request
 * @request: request payload, sent verbatim after the two header dwords;
 *	a size that is not a multiple of 4 is padded with zero bytes
 * @request_sz: size of @request in bytes; 0 sends a header-only object
 * @response: buffer for the response payload (header stripped)
 * @response_sz: size of @response in bytes; a longer response is cut to
 *	this size and the rest is drained from the mailbox
 * @complete: called exactly once for every task pci_doe_submit() accepted,
 *	in process context (see pci_doe_submit() for where), after the
 *	library is done with the task; the library does not touch the task
 *	once @complete has been called, so it may free or resubmit it
 * @private: for the submitter, untouched by the library
 * @rv: result, valid in @complete: number of response bytes stored in
 *	@response, or a negative errno
 *
 * The submitter owns the task and both buffers until @complete runs.
 */
struct pci_doe_task {
	u16 vendor;
	u8 type;
	const void *request;
	size_t request_sz;
	void *response;
	size_t response_sz;
	void (*complete)(struct pci_doe_task *task);
	void *private;
	int rv;

	/* private: */
	struct list_head node;
	struct pci_doe_mb *mb;
	u64 submitted;
	unsigned int state;
};

#ifdef CONFIG_PCI_DOE
struct pci_doe_mb *pci_find_doe_mailbox(struct pci_dev *pdev, u16 vendor,
					u8 type);
struct pci_doe_mb *pci_doe_find_mailbox_at(struct pci_dev *pdev,
					   u16 cap_offset);
u16 pci_doe_mailbox_offset(const struct pci_doe_mb *mb);
bool pci_doe_supports_prot(const struct pci_doe_mb *mb, u16 vendor, u8 type);

int pci_doe(struct pci_doe_mb *mb, u16 vendor, u8 type,
	    const void *request, size_t request_sz,
	    void *response, size_t response_sz);
int pci_doe_submit(struct pci_doe_mb *mb, struct pci_doe_task *task);
int pci_doe_cancel(struct pci_doe_task *task);
int pci_doe_wait(struct pci_doe_task *task);

struct pci_doe_claim *pci_doe_claim(struct pci_doe_mb *mb, const char *owner);
void pci_doe_release(struct pci_doe_claim *claim);
struct pci_doe_mb *pci_doe_claim_mailbox(const struct pci_doe_claim *claim);
struct pci_doe_claim *devm_pci_doe_claim(struct device *dev,
					 struct pci_doe_mb *mb,
					 const char *owner);
int pci_doe_claim_reserve(struct pci_doe_claim *claim, u16 vendor, u8 type);
#else
static inline struct pci_doe_mb *pci_find_doe_mailbox(struct pci_dev *pdev,
						      u16 vendor, u8 type)
{
	return NULL;
}

static inline struct pci_doe_mb *pci_doe_find_mailbox_at(struct pci_dev *pdev,
							 u16 cap_offset)
{
	return NULL;
}

static inline u16 pci_doe_mailbox_offset(const struct pci_doe_mb *mb)
{
	return 0;
}

static inline bool pci_doe_supports_prot(const struct pci_doe_mb *mb,
					 u16 vendor, u8 type)
{
	return false;
}

static inline int pci_doe(struct pci_doe_mb *mb, u16 vendor, u8 type,
			  const void *request, size_t request_sz,
			  void *response, size_t response_sz)
{
	return -ENODEV;
}

static inline int pci_doe_submit(struct pci_doe_mb *mb,
				 struct pci_doe_task *task)
{
	return -ENODEV;
}

static inline int pci_doe_cancel(struct pci_doe_task *task)
{
	return -EINVAL;
}

static inline int pci_doe_wait(struct pci_doe_task *task)
{
	return -EINVAL;
}

static inline struct pci_doe_claim *pci_doe_claim(struct pci_doe_mb *mb,
						  const char *owner)
{
	return ERR_PTR(-ENODEV);
}

static inline void pci_doe_release(struct pci_doe_claim *claim)
{
}

static inline struct pci_doe_mb *
pci_doe_claim_mailbox(const struct pci_doe_claim *claim)
{
	return NULL;
}

static inline struct pci_doe_claim *
devm_pci_doe_claim(struct device *dev, struct pci_doe_mb *mb,
		   const char *owner)
{
	return ERR_PTR(-ENODEV);
}

static inline int pci_doe_claim_reserve(struct pci_doe_claim *claim,
					u16 vendor, u8 type)
{
	return -ENODEV;
}
#endif /* CONFIG_PCI_DOE */

#endif /* LINUX_PCI_DOE_H */
