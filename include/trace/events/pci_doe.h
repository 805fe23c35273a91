/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the PCI Data Object Exchange library (drivers/pci/doe.c).
 *
 * Every exchange emits pci_doe_submit when it is queued and pci_doe_complete
 * when its callback is about to run; pci_doe_abort records each DOE Abort
 * the library issues and how it ended.  pci_doe_object carries the data
 * objects themselves, the request as written to the mailbox and the
 * response as read, header included, cut to PCI_DOE_TRACE_OBJECT_MAX bytes
 * (the true length is recorded), for capture tools.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pci_doe

#if !defined(_TRACE_PCI_DOE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_PCI_DOE_H

#include <linux/ktime.h>
#include <linux/pci.h>
#include <linux/pci-doe.h>
#include <linux/tracepoint.h>

#ifndef PCI_DOE_TRACE_OBJECT_MAX
/* Bytes of a data object that pci_doe_object records */
#define PCI_DOE_TRACE_OBJECT_MAX	2048

/* Fill @cap bytes of @data: the header, then the payload at hand, then 0 */
static inline void pci_doe_trace_object(u8 *data, u32 cap, const __le32 *hdr,
					const void *payload, size_t avail)
{
	size_t n = min_t(size_t, avail, cap - 8);

	memcpy(data, hdr, 8);
	memcpy(data + 8, payload, n);
	memset(data + 8 + n, 0, cap - 8 - n);
}
#endif

TRACE_EVENT(pci_doe_submit,
	    TP_PROTO(struct pci_dev *pdev, u16 offset,
		     const struct pci_doe_task *task),
	    TP_ARGS(pdev, offset, task),
	    TP_STRUCT__entry(__string(dev, pci_name(pdev))
			     __field(const void *, task)
			     __field(u16, offset)
			     __field(u16, vendor)
			     __field(u8, type)
			     __field(size_t, request_sz)
			     __field(size_t, response_sz)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->task = task;
			   __entry->offset = offset;
			   __entry->vendor = task->vendor;
			   __entry->type = task->type;
			   __entry->request_sz = task->request_sz;
			   __entry->response_sz = task->response_sz;),
	    TP_printk("%s mailbox %#x task %p protocol %04x:%02x request %zu response %zu",
		      __get_str(dev), __entry->offset, __entry->task,
		      __entry->vendor, __entry->type, __entry->request_sz,
		      __entry->response_sz)
);

TRACE_EVENT(pci_doe_complete,
	    TP_PROTO(struct pci_dev *pdev, u16 offset,
		     const struct pci_doe_task *task, int rv,
		     unsigned int accesses),
	    TP_ARGS(pdev, offset, task, rv, accesses),
	    TP_STRUCT__entry(__string(dev, pci_name(pdev))
			     __field(const void *, task)
			     __field(u64, latency_ns)
			     __field(int, rv)
			     __field(unsigned int, accesses)
			     __field(u16, offset)
			     __field(u16, vendor)
			     __field(u8, type)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->task = task;
			   /* only when tracing: not on every exchange */
			   __entry->latency_ns = ktime_get_ns() -
						 task->submitted;
			   __entry->rv = rv;
			   __entry->accesses = accesses;
			   __entry->offset = offset;
			   __entry->vendor = task->vendor;
			   __entry->type = task->type;),
	    TP_printk("%s mailbox %#x task %p protocol %04x:%02x rv %d latency %llu ns config accesses %u",
		      __get_str(dev), __entry->offset, __entry->task,
		      __entry->vendor, __entry->type, __entry->rv,
		      __entry->latency_ns, __entry->accesses)
);

TRACE_EVENT(pci_doe_abort,
	    TP_PROTO(struct pci_dev *pdev, u16 offset, u32 status, int rv),
	    TP_ARGS(pdev, offset, status, rv),
	    TP_STRUCT__entry(__string(dev, pci_name(pdev))
			     __field(u32, status)
			     __field(int, rv)
			     __field(u16, offset)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->status = status;
			   __entry->rv = rv;
			   __entry->offset = offset;),
	    TP_printk("%s mailbox %#x status before abort %#010x rv %d",
		      __get_str(dev), __entry->offset, __entry->status,
		      __entry->rv)
);

/*
 * @hdr: the two header dwords as on the wire; @length: the object's size in
 * bytes; @payload, @avail: the payload bytes at hand, fewer than the
 * object's when the caller's buffer cut a response (what is recorded ends
 * there, "captured" tells) or when the last request dword is padding
 */
TRACE_EVENT(pci_doe_object,
	    TP_PROTO(struct pci_dev *pdev, u16 offset, bool response,
		     const __le32 *hdr, u32 length, const void *payload,
		     size_t avail),
	    TP_ARGS(pdev, offset, response, hdr, length, payload, avail),
	    TP_STRUCT__entry(__string(dev, pci_name(pdev))
			     __field(u32, length)
			     __field(u16, offset)
			     __field(bool, response)
			     __dynamic_array(u8, data,
					     min_t(size_t,
						   min_t(size_t, length,
							 8 + round_up(avail, 4)),
						   PCI_DOE_TRACE_OBJECT_MAX))),
	    TP_fast_assign(__assign_str(dev);
			   __entry->length = length;
			   __entry->offset = offset;
			   __entry->response = response;
			   pci_doe_trace_object(__get_dynamic_array(data),
						__get_dynamic_array_len(data),
						hdr, payload, avail);),
	    TP_printk("%s mailbox %#x %s length %u captured %u: %s",
		      __get_str(dev), __entry->offset,
		      __entry->response ? "response" : "request",
		      __entry->length, __get_dynamic_array_len(data),
		      __print_hex(__get_dynamic_array(data),
				  __get_dynamic_array_len(data)))
);

#endif /* _TRACE_PCI_DOE_H */

#include <trace/define_trace.h>
