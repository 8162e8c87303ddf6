/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The reserved VFs as ordinary PCI passthrough devices of a domain config,
 * so that libxl itself does the passthrough (pciback, IOMMU, I/O ranges,
 * FLASK) exactly as for pci= devices. Pure: libxl's type functions need no
 * context, and nothing here does I/O.
 */
#ifndef XENVF_XL_PCIDEV_H
#define XENVF_XL_PCIDEV_H

#include <stdbool.h>
#include <stddef.h>

#include <libxl.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>

/* What xl gives every pci= device from the config-wide pci_* keys. */
typedef struct pcidev_defaults {
    bool msitranslate;
    bool power_mgmt;
    bool permissive;
    bool seize;
} pcidev_defaults;

/*
 * Append one PCI device per address to d->pcidevs, set up as xl sets up a
 * pci= device: the pci_* defaults, the HVM rdm policy, and for a PV guest
 * e820_host (xl turns it on whenever a PV guest has PCI devices), and
 * passthrough "enabled" where it was left to libxl (what libxl would pick
 * with devices; said in the config so that it survives the devices). An
 * address already in d->pcidevs (also listed in pci=) is XENVF_ECONFLICT
 * and d is left as it was. names[i] (may be NULL) names bdfs[i] in messages.
 */
int pcidev_add(libxl_domain_config *d, const xenvf_bdf *bdfs, size_t nr,
               const char *const *names, const pcidev_defaults *defs,
               xenvf_err *err);

/* Drop the devices past the first n (undo pcidev_add). */
void pcidev_truncate(libxl_domain_config *d, int n);

/*
 * Remove every device whose address is in bdfs (the VFs an earlier build
 * of this domain added: on reboot xl hands back the config libxl stored,
 * which includes them). Returns how many were removed.
 */
size_t pcidev_strip(libxl_domain_config *d, const xenvf_bdf *bdfs, size_t nr);

/* The device's address as a xenvf_bdf, and the other way. */
void pcidev_bdf(const libxl_device_pci *pci, xenvf_bdf *out);
void pcidev_set_bdf(libxl_device_pci *pci, const xenvf_bdf *bdf);

#endif
