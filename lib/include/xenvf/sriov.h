/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * SR-IOV discovery: which PCI functions are SR-IOV physical functions, and
 * what their SR-IOV capability says (docs/discovery.md).
 *
 * Config space is read through libpci (method linux-sysfs, with its
 * `sysfs.path` parameter at <root>/bus/pci, so a fake tree works the same
 * as /sys); the kernel's view (bound driver, sriov_drivers_autoprobe, the
 * virtfnN links, the VF BAR windows in `resource`) through xenvf/sysfs.h.
 * Every call opens a fresh libpci session, so each sees the tree as it is
 * now: nothing is cached between calls.
 */
#ifndef XENVF_SRIOV_H
#define XENVF_SRIOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/model.h>

#define XENVF_SRIOV_NR_BARS 6

/* One VF BAR (PCIe 9.3.3.14): memory only; a 64-bit BAR uses two slots. */
typedef struct xenvf_sriov_bar {
    bool present;  /* implemented: a window the kernel sized, or a 64-bit
                      BAR's lower half; false for unused and upper halves */
    bool is_64;    /* 64-bit: this slot and the next form the address */
    bool prefetch; /* prefetchable */
    uint64_t base; /* bus address of VF 0's BAR, from the register */
    uint64_t size; /* per-VF size in bytes; 0 when unknown */
} xenvf_sriov_bar;

typedef struct xenvf_sriov_info {
    xenvf_bdf bdf;
    /* from the configuration space header */
    uint16_t vendor_id;
    uint16_t device_id;
    uint32_t class_code; /* base class << 16 | subclass << 8 | prog-if */
    /* from the SR-IOV extended capability */
    uint16_t cap_offset;           /* where the capability sits */
    uint32_t sriov_cap;            /* SR-IOV Capabilities register */
    uint16_t sriov_ctrl;           /* SR-IOV Control (VF Enable = bit 0) */
    uint16_t initial_vfs;          /* InitialVFs */
    uint16_t total_vfs;            /* TotalVFs */
    uint16_t num_vfs;              /* NumVFs */
    uint8_t func_dep_link;         /* Function Dependency Link */
    uint16_t vf_offset;            /* First VF Offset */
    uint16_t vf_stride;            /* VF Stride */
    uint16_t vf_device_id;         /* VF Device ID */
    uint32_t supported_page_sizes; /* bit n: 2^(n+12) bytes */
    uint32_t system_page_size;
    xenvf_sriov_bar vf_bars[XENVF_SRIOV_NR_BARS];
    bool vf_bar_sizes_known; /* the kernel's `resource` had the VF windows */
    /* from sysfs */
    uint16_t max_vfs;      /* sriov_totalvfs: what the kernel accepts
                              (a PF driver may lower it); total_vfs if
                              the attribute is missing */
    char *driver;          /* bound driver, NULL if none */
    int drivers_autoprobe; /* 0 or 1; -1 if the attribute is missing */
    /*
     * The VFs that exist now: vf_bdfs[i] for VF i < nr_vfs (nr_vfs ==
     * num_vfs), from the kernel's virtfn<i> links, or from the arithmetic
     * where a link is missing.
     */
    size_t nr_vfs;
    xenvf_bdf *vf_bdfs;
} xenvf_sriov_info;

void xenvf_sriov_info_init(xenvf_sriov_info *info);
void xenvf_sriov_info_dispose(xenvf_sriov_info *info);
/* Dispose every entry of a list from xenvf_sriov_scan and free it. */
void xenvf_sriov_info_list_free(xenvf_sriov_info *list, size_t nr);

/*
 * Every SR-IOV PF under sysfs_root (NULL: "/sys"), sorted by BDF, into a
 * malloc'd array (free with xenvf_sriov_info_list_free). Functions without
 * the SR-IOV capability (including VFs) are skipped; a device that vanishes
 * while it is read is skipped too. XENVF_EPERM when config space past the
 * first 64 bytes is unreadable (not root).
 */
int xenvf_sriov_scan(const char *sysfs_root, xenvf_sriov_info **out, size_t *nr,
                     xenvf_err *err);

/*
 * One PF. XENVF_ENOENT if there is no such device, XENVF_ENOTSUP if it has
 * no SR-IOV capability. *out is disposed and refilled.
 */
int xenvf_sriov_probe(const char *sysfs_root, const xenvf_bdf *pf,
                      xenvf_sriov_info *out, xenvf_err *err);

/*
 * The address of VF index (0-based): the kernel's virtfn link while the VF
 * exists, else RID(PF) + First VF Offset + index * VF Stride. The latter is
 * a prediction: the spec lets offset and stride change with NumVFs.
 * XENVF_ERANGE if index >= TotalVFs or the address leaves the bus range.
 */
int xenvf_sriov_vf_bdf(const xenvf_sriov_info *info, unsigned index,
                       xenvf_bdf *out, xenvf_err *err);

#endif
