/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf-guest: the guest's side of xenvf (docs/guest.md). For each VF the
 * guest holds, dom0 publishes /local/domain/<domid>/xenvf/vf/<n>/ (pf,
 * index, bdf: the host address, function, boot, mac). The guest finds the
 * VF where pcifront put it, binds it to the driver its function
 * description names, and reports per VF in the guest-writable `status`.
 */
#ifndef XENVF_GUEST_H
#define XENVF_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/pcifront.h>
#include <xenvf/switch.h>
#include <xenvf/xs.h>

#define GUEST_STATUS_MAX 256

/* One VF as dom0 published it for this guest. */
typedef struct guest_vf {
    unsigned local; /* its place in the guest's vf= list: vf/<local> */
    char *pf;
    unsigned index;
    xenvf_bdf host; /* the host's address (dom0's names) */
    char *function; /* NULL: no description, the kernel's ID match decides */
    unsigned boot;  /* boot position, 1 first; 0: not a boot VF */
} guest_vf;

void guest_vf_init(guest_vf *v);
void guest_vf_dispose(guest_vf *v);

/* Every VF under /local/domain/<domid>/xenvf/vf, in local order. */
int guest_list_vfs(xenvf_xs *xs, uint32_t domid, guest_vf **out, size_t *nr,
                   xenvf_err *err);
void guest_vfs_free(guest_vf *vfs, size_t nr);

/* The driver a function description names: the description up to its
 * first ':' ("nvme", "vfio-pci:dpdk" -> "vfio-pci"); the rest is the
 * guest's own. XENVF_EINVAL when that is not a driver name. */
int guest_function_driver(const char *function, char *driver, size_t len,
                          xenvf_err *err);

typedef struct guest_opts {
    const char *sysfs_root; /* NULL: /sys */
    const char *modprobe;   /* run as `modprobe DRIVER`; NULL: don't */
    xenvf_xs_read_fn *read; /* xenstore reads for the pcifront lookup */
    void *read_ctx;
} guest_opts;

/*
 * Bind one VF to the driver its description names: driver_override, then
 * unbind from whatever has it, load the driver's module if the kernel has
 * no such driver yet, bind, and check. status gets the line to report:
 * "bound nvme", "no function description: nvme bound it", or an error that
 * names the driver and why. Returns 0 when the VF ends up as described.
 */
int guest_bind_vf(const guest_opts *o, const guest_vf *vf, char *status,
                  size_t len);

/* Write status to vf/<local>/status (the guest may write only that). */
int guest_report(xenvf_xs *xs, uint32_t domid, unsigned local,
                 const char *status, xenvf_err *err);

/* guest_bind_vf and guest_report for every VF; *failed counts the VFs
 * not as described. Errors are xenstore's only. */
int guest_bind_all(const guest_opts *o, xenvf_xs *xs, uint32_t domid,
                   unsigned *bound, unsigned *failed, xenvf_err *err);

/* One boot VF, for `xenvf-guest boot-list` (boot.c, docs/guest.md). */
typedef struct guest_boot {
    unsigned boot;  /* its boot position, 1 first */
    unsigned local; /* vf/<local> */
    xenvf_bdf host; /* the host's address */
    bool found;     /* pcifront shows it in this guest (yet) */
    xenvf_bdf here; /* its address in this guest, when found */
} guest_boot;

/*
 * The boot list: the guest's VFs that have a boot position, in boot
 * order, each with its address in this guest once pcifront's backend
 * nodes name it (found false until then: the caller waits and asks
 * again). *nr 0 when the guest has no boot VF. Errors are xenstore's, or
 * a VF's nodes dom0 wrote wrong (they name the VF).
 */
int guest_boot_list(const guest_opts *o, xenvf_xs *xs, uint32_t domid,
                    guest_boot **out, size_t *nr, xenvf_err *err);

/* One line of the boot list: "BOOT LOCAL HOST-BDF GUEST-BDF", the last
 * "-" while pcifront does not show the VF. */
#define GUEST_BOOT_LINE_MAX 64
void guest_boot_format(const guest_boot *b, char *buf, size_t len);

/* ---- the I/O switch (switch.c, docs/migration.md) ------------------------
 *
 * The guest keeps a device-mapper device, xenvf-vf<n>, over the VF's
 * namespace; its I/O goes there. On dom0's switch-request (xenvf/switch.h)
 * it moves the device's table to the PV disk dom0 offers (the same
 * namespace through the PF) or back to the VF, and answers in `switch`. */

/* What the switch does to block devices: libdevmapper's (dm.c), or a
 * test's. */
typedef struct guest_dm_ops {
    /* a block device's size in 512-byte sectors */
    int (*size)(void *ctx, const char *dev, uint64_t *sectors, xenvf_err *err);
    /* one read of dev's first block, O_DIRECT: is the path usable? */
    int (*probe)(void *ctx, const char *dev, xenvf_err *err);
    /* create name: one linear table of sectors over dev */
    int (*create)(void *ctx, const char *name, const char *dev,
                  uint64_t sectors, xenvf_err *err);
    /* load the table onto dev, suspend name (in-flight requests complete,
     * new ones wait), resume it on the new table; *paused_us: suspend to
     * resume. On failure the device runs on its old table. */
    int (*swap)(void *ctx, const char *name, const char *dev, uint64_t sectors,
                long *paused_us, xenvf_err *err);
    void *ctx;
} guest_dm_ops;

extern const guest_dm_ops guest_dm_libdevmapper;

#define GUEST_DEV_MAX  128
#define GUEST_WWID_MAX 128

typedef struct guest_switch {
    unsigned local;                   /* vf/<local> */
    char name[32];                    /* the dm device: xenvf-vf<local> */
    char vf_dev[GUEST_DEV_MAX];       /* the VF path now (/dev/nvme0n2) */
    char wwid[GUEST_WWID_MAX];        /* its namespace's wwid ("" none): how the
                                         VF path is found again after a move */
    char vdev[XENVF_SWITCH_VDEV_MAX]; /* on the PV path: its disk (xvdb) */
    uint64_t sectors;
    int on;                /* xenvf_io_path */
    const char *dev_dir;   /* NULL: /dev */
    const char *sys_block; /* NULL: /sys/class/block */
    int wait_ms;           /* how long a path may take to appear */
} guest_switch;

/* Create the dm device over dev (vf[local]'s namespace) and say "vf". */
int guest_switch_start(const guest_dm_ops *ops, guest_switch *s, xenvf_xs *xs,
                       uint32_t domid, unsigned local, const char *dev,
                       xenvf_err *err);

/* Say in `switch` where the I/O is ("vf" or "pv"), e.g. under the new
 * domain id after a restore (dom0 created the node anew, empty). */
int guest_switch_announce(guest_switch *s, xenvf_xs *xs, uint32_t domid,
                          xenvf_err *err);

/* Do dom0's request (switch-request's text) and answer it in `switch`:
 * "pv paused=..." or "vf paused=...", or "error: ..." with the I/O left
 * where it was. A request for the path the I/O is on already is answered
 * "pv" or "vf" and moves nothing (a request seen twice: a watch's first
 * event, a restart). Errors are xenstore's only. */
int guest_switch_handle(const guest_dm_ops *ops, guest_switch *s, xenvf_xs *xs,
                        uint32_t domid, const char *request, xenvf_err *err);

#endif
