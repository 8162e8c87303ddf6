/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xl save and xl migrate, xl restore and xl migrate-receive drive the I/O
 * switch (issue 15, docs/migration.md): the plugin moves a guest's disk
 * I/O off its storage VFs before xl takes the domain's config for the
 * saved image or the migration stream, and back onto VFs once the
 * restored or received domain runs.
 *
 * Out (xlp_iomove_out, where xl first asks libxl for the config):
 * for each VF the domain holds, its namespace is attached to the PF's own
 * controller too (the PF path: dom0 gets a block device on the same disk),
 * offered to the guest as a PV disk (libxl_device_disk_add, blkback), and
 * the guest is asked to move its I/O there (switch-request "pv VDEV",
 * xenvf/switch.h) and answers; then each VF is hot-unplugged
 * (libxl_device_pci_remove: xenvfd resets and frees it). The config xl
 * saves or sends then has the PV disks and no VF, and says what was moved
 * (the XLP_IOMOVE_KEY entry of c_info.xsdata), with each namespace's
 * identity (its wwid). A failure at any step undoes the earlier ones: the
 * guest keeps its VFs, its I/O on them.
 *
 * Back (xlp_iomove_back, after xl unpaused the domain): the PF path made
 * sure of before the build and checked to be the same disk
 * (xlp_iomove_paths), each VF plugged again (the same PF and index: the
 * map gives the namespace to the VF index), the guest asked back ("vf"),
 * the PV disk unplugged and the namespace detached from the PF's
 * controller.
 *
 * Only for PFs dom0 holds, VFs with exactly one namespace, and guests
 * whose xenvf-guest serves the switch with their I/O on the VFs; anything
 * else is left to xlp_suspend_check (migrate.h), which refuses or lets
 * go with the reason.
 *
 * Unplug-and-go for xl migrate (XENVF_MIGRATE=unplug-and-go): the VFs the
 * switch cannot serve (a NIC VF, a guest without xenvf-guest, a VF with
 * several namespaces, a PF in a driver domain) are unplugged with the
 * others, with no second path (I/O on them errors in the guest), recorded
 * as such, and plugged again once the domain runs on the destination. A
 * live migration needs it: Xen refuses log-dirty mode to a domain with a
 * passed-through device. xl save does not: its unplug-and-go keeps the
 * VFs in the saved domain (migrate.h).
 */
#ifndef XENVF_XL_IOMOVE_H
#define XENVF_XL_IOMOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/nvme.h>
#include <xenvf/switch.h>
#include <xenvf/xs.h>

/* The c_info.xsdata key of the saved config that lists what was moved. */
#define XLP_IOMOVE_KEY "xenvf-iomove"

/* One VF whose I/O was moved to the PF path, or (unplugged) that was
 * unplugged with no second path: then only pf and index are set. */
typedef struct xlp_moved {
    char pf[48];                      /* the PF's map id */
    unsigned index;                   /* the VF index */
    uint32_t nsid;                    /* its namespace */
    char vdev[XENVF_SWITCH_VDEV_MAX]; /* the PV disk that carries it */
    char wwid[XENVF_NVME_WWID_MAX];   /* the namespace's, checked back */
    bool unplugged;                   /* unplug-and-go: no PF path */
} xlp_moved;

/* "nvme0#0:2:xvdb:eui.0011… nvme1#3:5:xvdc:nvme.1b36-… net0#1"
 * (PF#INDEX:NSID:VDEV:WWID, or PF#INDEX for a VF unplugged; space-separated):
 * format into a malloc'ed *out; parse (fuzzed) into a malloc'ed array,
 * naming what is wrong where. */
int xlp_moved_format(const xlp_moved *v, size_t nr, char **out, xenvf_err *err);
int xlp_moved_parse(const char *text, xlp_moved **out, size_t *nr,
                    xenvf_err *err);

/* libxl, as the move needs it: each synchronous, 0 or a libxl ERROR_*. */
typedef struct xlp_iomove_ops {
    /* a PV disk target (dom0's block device, raw, read-write) as vdev */
    int (*disk_add)(void *opaque, uint32_t domid, const char *target,
                    const char *vdev);
    int (*disk_remove)(void *opaque, uint32_t domid, const char *vdev);
    int (*pci_add)(void *opaque, uint32_t domid, const xenvf_bdf *bdf);
    int (*pci_remove)(void *opaque, uint32_t domid, const xenvf_bdf *bdf);
    void *opaque;
} xlp_iomove_ops;

/* Where the PF path's controllers and block devices are (tests: fakes). */
typedef struct xlp_iomove_env {
    const char *sysfs_root; /* "/sys" */
    const char *dev_dir;    /* "/dev" */
    int answer_ms;          /* how long the guest has for each answer */
} xlp_iomove_env;

void xlp_iomove_env_default(xlp_iomove_env *env);

/*
 * Move domid's I/O off its VFs (above). Without unplug_and_go: 0 with *nr
 * 0 when there is nothing to move (no VF, a VF with no or several
 * namespaces, a guest that does not serve the switch or is on the PV
 * path already); XENVF_ENOTSUP for a PF in a driver domain. With it,
 * every VF goes: the switch where it can serve, else unplugged (logged).
 * 0 with *out (malloc'ed) the VFs moved; else XENVF_E* with err saying
 * which step failed and why, everything undone (a VF unplugged before the
 * failure plugged again, its guest asked back).
 */
int xlp_iomove_out(xenvf_xs *xs, const xlp_iomove_ops *ops,
                   const xlp_iomove_env *env, uint32_t domid,
                   bool unplug_and_go, xlp_moved **out, size_t *nr,
                   xenvf_err *err);

/* Before the restored domain is built: each moved VF's PF path is there
 * (attached again if not; a VF unplugged has none, dev[i] ""), its dom0
 * block device in dev[i] (capacity nr, each PATH-sized:
 * XLP_IOMOVE_DEV_MAX), and it is the disk the guest was saved with (the
 * same wwid: on another host, a namespace of the same PF id and nsid may
 * be another disk; then XENVF_EINVAL). attached[i] (capacity nr) says
 * whether this call attached it. On any failure the PF paths this call
 * attached are detached again. */
#define XLP_IOMOVE_DEV_MAX 64
int xlp_iomove_paths(xenvf_xs *xs, const xlp_iomove_env *env,
                     const xlp_moved *v, size_t nr,
                     char (*dev)[XLP_IOMOVE_DEV_MAX], bool *attached,
                     xenvf_err *err);

/* The build after xlp_iomove_paths failed: the PF paths it attached
 * (attached[i]) detached again, attached cleared; failures logged. */
void xlp_iomove_paths_release(xenvf_xs *xs, const xlp_iomove_env *env,
                              const xlp_moved *v, size_t nr, bool *attached);

/* After it runs: each moved VF back (above; one unplugged is only plugged
 * again, its guest's driver finds it anew). A VF that cannot come back
 * is logged with why; the guest's I/O stays on its PV disk (it works on),
 * and the others go on. Returns 0 or the first failure's XENVF_E*. */
int xlp_iomove_back(xenvf_xs *xs, const xlp_iomove_ops *ops,
                    const xlp_iomove_env *env, uint32_t domid,
                    const xlp_moved *v, size_t nr, xenvf_err *err);

#endif
