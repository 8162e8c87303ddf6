/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Xen's own xenstore nodes that xenvf reads and, in one case, writes: what
 * libxl records about PCI devices (tools/libs/light/libxl_pci.c, 4.17 and
 * 4.20 alike). They are libxl's, not ours: this file is the one place that
 * knows their layout.
 *
 *   /local/domain/0/backend/pci/<domid>/0/num_devs, dev-<n>
 *       the PCI backend of a domain (PV and HVM): which devices it has.
 *       libxl writes dev-<n> once the device is assigned and removes it on
 *       pci-detach; the directory stays (num_devs 0) until the domain dies.
 *   /libxl/pciback/<dddd-bb-dd-f>/domid
 *       written when libxl starts to add the device to a domain, removed
 *       when it has finished removing it (or the add failed).
 *   /libxl/pciback/<dddd-bb-dd-f>/driver_path
 *       the driver the device had before pciback (xl pci-assignable-remove -r).
 */
#ifndef XENVF_LIBXL_NODES_H
#define XENVF_LIBXL_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/xs.h>

/* One device listed in a domain's PCI backend. */
typedef struct xenvf_pci_dev {
    uint32_t domid;
    xenvf_bdf bdf;
} xenvf_pci_dev;

/* Every PCI backend in dom0's xenstore. */
typedef struct xenvf_pci_backends {
    size_t nr_devs;
    xenvf_pci_dev *devs;
    size_t nr_domids; /* domains that have a PCI backend at all */
    uint32_t *domids;
} xenvf_pci_backends;

void xenvf_pci_backends_init(xenvf_pci_backends *b);
void xenvf_pci_backends_dispose(xenvf_pci_backends *b);
/* Read them all (unreadable entries are skipped: libxl may be mid-write). */
int xenvf_libxl_read_pci_backends(xenvf_xs *xs, xenvf_pci_backends *out,
                                  xenvf_err *err);
/* Does domid have a PCI backend? */
bool xenvf_pci_backends_has_domain(const xenvf_pci_backends *b, uint32_t domid);

/* libxl's /libxl/pciback/<bdf>/domid: the domain it is adding the device
 * to or has added it to; XENVF_DOMID_NONE when there is none. */
int xenvf_libxl_pci_domid(xenvf_xs *xs, const xenvf_bdf *bdf,
                          uint32_t *domid_out, xenvf_err *err);

/* Note the driver a device had before pciback, where libxl looks. */
int xenvf_libxl_note_driver(xenvf_xs *xs, const xenvf_bdf *bdf,
                            const char *driver, xenvf_err *err);

#endif
