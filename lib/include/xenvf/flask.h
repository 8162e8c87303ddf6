/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * XSM/FLASK device labels (docs/xsm.md, xsm-policy/).
 *
 * Two halves. At run time, the TCB asks the hypervisor whether FLASK is
 * active (libxenctrl) and labels each PF and VF as it appears, the way Xen's
 * flask-label-pci does, with two differences: a device that already has a
 * label is relabelled, and a PF's SR-IOV BAR windows are not given the PF's
 * label (each VF's slice of them carries the VF's own). Without a hypervisor
 * (not on Xen, not privileged) or without XSM (Debian's hypervisor), this is
 * said once at INFO level and labelling does nothing.
 *
 * At build time, xenvf-flask-labels turns the VF map and discovery into the
 * same labels as a policy fragment (pcidevicecon, iomemcon, ioportcon).
 *
 * FLASK numbers: a device is its SBDF, seg << 16 | bus << 8 | devfn; I/O
 * memory is in 4 KiB frames, first and last inclusive; I/O ports inclusive.
 */
#ifndef XENVF_FLASK_H
#define XENVF_FLASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/map.h>

/* The types of xsm-policy/xenvf.te. */
#define XENVF_FLASK_PF_TYPE       "xenvf_pf_t"       /* PF driven in dom0 */
#define XENVF_FLASK_DRV_PF_TYPE   "xenvf_drv_pf_t"   /* PF of a driver dom. */
#define XENVF_FLASK_VF_TYPE       "xenvf_vf_t"       /* VF in the free pool */
#define XENVF_FLASK_GUEST_VF_TYPE "xenvf_guest_vf_t" /* VF a guest holds */
#define XENVF_FLASK_MMCFG_TYPE    "xenvf_mmcfg_t"    /* the MMCFG window */
/* A device's context is "<user>:<role>:<type>". */
#define XENVF_FLASK_CONTEXT_PREFIX "system_u:object_r:"
#define XENVF_FLASK_TYPE_MAX       64
#define XENVF_FLASK_CONTEXT_MAX                                                \
    (sizeof(XENVF_FLASK_CONTEXT_PREFIX) + XENVF_FLASK_TYPE_MAX)

/* ---- run time -------------------------------------------------------- */

typedef enum xenvf_flask_state {
    XENVF_FLASK_UNPROBED = 0,
    XENVF_FLASK_NO_XEN,     /* no hypervisor interface */
    XENVF_FLASK_OFF,        /* Xen without XSM/FLASK (ENOSYS) */
    XENVF_FLASK_PERMISSIVE, /* FLASK loaded, denials only logged */
    XENVF_FLASK_ENFORCING,
} xenvf_flask_state;

const char *xenvf_flask_state_name(xenvf_flask_state state);

/*
 * The hypervisor calls, replaceable so that tests (and callers that reach
 * the hypervisor another way) can stand in for libxenctrl. Each returns 0
 * (getenforce: 0 permissive, 1 enforcing) or -1 with errno set.
 */
typedef struct xenvf_flask_ops {
    int (*open)(void *opaque);
    void (*close)(void *opaque);
    int (*getenforce)(void *opaque);
    int (*add_device)(void *opaque, uint32_t sbdf, const char *context);
    int (*del_device)(void *opaque, uint32_t sbdf);
    int (*add_iomem)(void *opaque, uint64_t first, uint64_t last,
                     const char *context);
    int (*del_iomem)(void *opaque, uint64_t first, uint64_t last);
    int (*add_ioport)(void *opaque, uint64_t first, uint64_t last,
                      const char *context);
    int (*del_ioport)(void *opaque, uint64_t first, uint64_t last);
    /* a physical IRQ (pirqcon): Xen's IRQ number, the GSI for INTx */
    int (*add_pirq)(void *opaque, unsigned irq, const char *context);
    int (*del_pirq)(void *opaque, unsigned irq);
    /* out of Xen's quarantine (dom_io) back to dom0: what `xl
     * pci-assignable-remove` does, xc_deassign_device(DOMID_IO, sbdf) */
    int (*dequarantine)(void *opaque, uint32_t sbdf);
} xenvf_flask_ops;

typedef struct xenvf_flask {
    const xenvf_flask_ops *ops;
    void *opaque;
    void *xch; /* the libxenctrl backend's xc_interface */
    bool is_open;
    xenvf_flask_state state;
} xenvf_flask;

/* libxenctrl's handle with its messages in xenvf's log at debug level
 * (never on stderr: xl's plugin, xenvfd), or NULL; xc_interface_close()
 * it. One opener for every user of the hypervisor interface. */
struct xc_interface_core *xenvf_xc_open(void);

/* libxenctrl (xc_interface_open, xc_flask_*). */
void xenvf_flask_init(xenvf_flask *fl);
void xenvf_flask_init_ops(xenvf_flask *fl, const xenvf_flask_ops *ops,
                          void *opaque);
void xenvf_flask_dispose(xenvf_flask *fl);

/*
 * Ask once, remember the answer. No hypervisor and no XSM are answers, not
 * errors (0, logged once). Errors: XENVF_EPERM when the query itself is
 * refused (EACCES/EPERM: FLASK active and we may not ask), XENVF_EIO for
 * anything else.
 */
int xenvf_flask_probe(xenvf_flask *fl, xenvf_err *err);
/* Probed and FLASK loaded (permissive or enforcing): labels matter. */
bool xenvf_flask_active(const xenvf_flask *fl);

/*
 * Give a PF that a destroyed domain had back to dom0 in Xen, as `xl
 * pci-assignable-remove` does (libxl_pci.c): when Xen deassigns a device
 * from a domain it parks it in its quarantine (dom_io, iommu_quarantine on
 * by default), with an IOMMU context no dom0 driver can use (DMAR "Present
 * bit in context entry is clear"). Probes first. No hypervisor, or a
 * device not in the quarantine (ENODEV: never assigned, or already dom0's)
 * is *done = false and 0. Errors: XENVF_EPERM when Xen or FLASK refuses
 * (EPERM/EACCES), XENVF_EIO for anything else.
 */
int xenvf_xen_dequarantine(xenvf_flask *fl, const xenvf_bdf *bdf, bool *done,
                           xenvf_err *err);

/* A device's I/O memory (bytes) or I/O ports, first and last inclusive. */
typedef struct xenvf_flask_range {
    bool io;
    uint64_t start, end;
} xenvf_flask_range;

/*
 * The ranges that carry a device's own label: its BARs and expansion ROM
 * (`resource` lines 0-6). A PF's SR-IOV windows (lines 7-12) are left out.
 * *out is malloc'ed (NULL when *nr is 0).
 */
int xenvf_flask_device_ranges(const char *sysfs_root, const xenvf_bdf *bdf,
                              xenvf_flask_range **out, size_t *nr,
                              xenvf_err *err);

/*
 * Label a device and its ranges with `type` (a type of xenvf.te), replacing
 * earlier labels of the same device and ranges; probes first if needed.
 * Does nothing, successfully, unless FLASK is active. XENVF_ECONFLICT: a
 * range overlaps a differently labelled one that is not the same range;
 * XENVF_EPERM: refused (EACCES/EPERM).
 */
int xenvf_flask_label_device(xenvf_flask *fl, const xenvf_bdf *bdf,
                             const char *type, const xenvf_flask_range *ranges,
                             size_t nr, xenvf_err *err);

/*
 * A device's legacy interrupt (INTx) as Xen numbers it: sysfs `irq`, which
 * in a Xen dom0 is the GSI (Linux maps GSI n to IRQ n there). *irq is 0
 * when the device has none (a VF, a device without INTx).
 */
int xenvf_flask_device_irq(const char *sysfs_root, const xenvf_bdf *bdf,
                           unsigned *irq, xenvf_err *err);

/*
 * Label physical IRQ irq with `type` (pirqcon), replacing an earlier label;
 * with type NULL, drop the label (the IRQ is Xen's irq_t again; none was
 * there: success). Probes first; does nothing unless FLASK is active.
 * libxl grants a PCI device's INTx to the domain it is given to, and Xen
 * checks that domain's right to the IRQ's label: a PF given to a driver
 * domain needs its INTx labelled as the PF is.
 */
int xenvf_flask_label_irq(xenvf_flask *fl, unsigned irq, const char *type,
                          xenvf_err *err);

/* SBDF as FLASK numbers devices. */
uint32_t xenvf_flask_sbdf(const xenvf_bdf *bdf);
/* Is `type` a plausible type name ([A-Za-z0-9_]{1,63}, not starting with a
 * digit)? XENVF_EINVAL if not. */
int xenvf_flask_check_type(const char *type, xenvf_err *err);

/* ---- the MMCFG window (ACPI MCFG) ----------------------------------- */

typedef struct xenvf_flask_mcfg {
    uint64_t base; /* ECAM base of bus 0 of the segment */
    uint16_t seg;
    uint8_t start_bus, end_bus;
} xenvf_flask_mcfg;

#define XENVF_FLASK_MCFG_PATH "/sys/firmware/acpi/tables/MCFG"

/* Parse an ACPI MCFG table; *out malloc'ed. XENVF_EINVAL if malformed. */
int xenvf_flask_parse_mcfg(const void *buf, size_t len, xenvf_flask_mcfg **out,
                           size_t *nr, xenvf_err *err);
/* The bytes an MCFG entry decodes: base + start_bus << 20 up to the end of
 * end_bus. */
void xenvf_flask_mcfg_range(const xenvf_flask_mcfg *m, xenvf_flask_range *r);

/* ---- build time: the labels of a machine ---------------------------- */

typedef enum xenvf_flask_kind {
    XENVF_FLASK_KIND_PF,
    XENVF_FLASK_KIND_VF,
    XENVF_FLASK_KIND_MMCFG,
} xenvf_flask_kind;

typedef struct xenvf_flask_label {
    xenvf_flask_kind kind;
    xenvf_bdf bdf; /* PF and VF */
    char type[XENVF_FLASK_TYPE_MAX];
    size_t nr_ranges;
    xenvf_flask_range *ranges;
    char *what;   /* for messages and comments: "pf nvme0", "vf nvme0/1" */
    unsigned irq; /* a PF's INTx to label with it (pirqcon), 0: none */
} xenvf_flask_label;

typedef struct xenvf_flask_labels {
    size_t nr;
    xenvf_flask_label *v;
} xenvf_flask_labels;

void xenvf_flask_labels_init(xenvf_flask_labels *l);
void xenvf_flask_labels_dispose(xenvf_flask_labels *l);
/* Append a label (ranges copied). Two labels for one device, or ranges that
 * overlap, are XENVF_ECONFLICT. */
int xenvf_flask_labels_add(xenvf_flask_labels *l, xenvf_flask_kind kind,
                           const xenvf_bdf *bdf, const char *type,
                           const xenvf_flask_range *ranges, size_t nr,
                           const char *what, xenvf_err *err);

/* Label the INTx (Xen's IRQ number, the GSI) of label i with its type.
 * One IRQ labelled with two types is XENVF_ECONFLICT (a line two PFs
 * share keeps one label). */
int xenvf_flask_labels_set_irq(xenvf_flask_labels *l, size_t i, unsigned irq,
                               xenvf_err *err);

/* Which type each device gets. NULL members take the defaults above. */
typedef struct xenvf_flask_guest_type {
    const char *domain; /* map domain name */
    const char *type;   /* VF type of xenvf_guest(..., type) */
} xenvf_flask_guest_type;

typedef struct xenvf_flask_types {
    const char *pf;       /* PFs with owner 0 */
    const char *drv_pf;   /* PFs with another owner */
    const char *vf;       /* free VFs */
    const char *guest_vf; /* held VFs of domains not in guests[] */
    size_t nr_guests;
    const xenvf_flask_guest_type *guests;
} xenvf_flask_types;

/*
 * Labels for every PF of the map and VFs 0..numvfs-1 of each, from
 * discovery under sysfs_root (NULL: /sys): addresses from the SR-IOV
 * capability (xenvf_sriov_vf_bdf), a PF's ranges from its `resource`, a
 * VF's from its slice of the PF's VF BARs; a PF the map gives to a driver
 * domain also its INTx (sysfs `irq`, as the TCB labels it at run time).
 * Appended to *out.
 */
int xenvf_flask_labels_from_map(const xenvf_map *map, const char *sysfs_root,
                                const xenvf_flask_types *types,
                                xenvf_flask_labels *out, xenvf_err *err);

/*
 * A label list, the input for machines that discovery cannot see:
 *   pf    0000:01:00.0  xenvf_pf_t  [mem:0xfe000000-0xfe003fff | io:..]...
 *                                    [irq:23]   (a PF's INTx: pirqcon)
 *   vf    0000:01:00.1  xenvf_vf_t  [ranges]...
 *   mmcfg -             xenvf_mmcfg_t  mem:0xb0000000-0xbfffffff
 * '#' starts a comment. Errors name the line.
 */
int xenvf_flask_labels_parse_list(const char *name, const char *text,
                                  xenvf_flask_labels *out, xenvf_err *err);

/* The policy fragment: pcidevicecon, iomemcon, ioportcon and pirqcon
 * lines (one pirqcon per IRQ), with a comment naming each device. *out
 * malloc'ed. */
int xenvf_flask_labels_format_policy(const xenvf_flask_labels *l, char **out,
                                     xenvf_err *err);
/* The run-time commands: "flask-label-pci BDF CONTEXT" per device, VFs
 * first (see docs/xsm.md for why). *out malloc'ed. */
int xenvf_flask_labels_format_commands(const xenvf_flask_labels *l, char **out,
                                       xenvf_err *err);
/* Label every PF and VF through fl (nothing to do if FLASK is off). */
int xenvf_flask_labels_apply(xenvf_flask *fl, const xenvf_flask_labels *l,
                             xenvf_err *err);

#endif
