/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the PCI DOE library (drivers/pci/doe.c) for its
 * KUnit tests; nothing here is for drivers.
 */
#ifndef DRIVERS_PCI_DOE_H
#define DRIVERS_PCI_DOE_H

#include <linux/types.h>

struct pci_doe_mb;

#if IS_ENABLED(CONFIG_PCI_DOE_KUNIT_TEST)
void pci_doe_set_timeout(struct pci_doe_mb *mb, u32 timeout_us);
const char *pci_doe_set_policy(const char *name);
unsigned int pci_doe_nr_protocols(const struct pci_doe_mb *mb);
unsigned long pci_doe_overridden_writes(const struct pci_doe_mb *mb);
#endif

#endif /* DRIVERS_PCI_DOE_H */
