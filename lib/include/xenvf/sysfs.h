/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Every sysfs access of xenvf goes through this module (libvirt's virpci.c
 * is the model): small attribute reads with strict parsing, the links the
 * kernel keeps (driver, virtfnN, physfn), and the writes the TCB makes
 * (sriov_numvfs, sriov_drivers_autoprobe, bind/unbind, driver_override,
 * reset).
 *
 * The sysfs root is a parameter: NULL means "/sys"; tests pass the root of a
 * fake tree (tests/harness/fakesysfs.h). Devices are always reached through
 * <root>/bus/pci/devices/<ssss:bb:dd.f>.
 *
 * Writes use open/write/close, one write() per value, because a sysfs store
 * sees exactly one write() and answers it with an errno; stdio would buffer
 * and hide which write failed. Every error names the path and keeps the
 * errno (err->sys_errno), so a caller can tell EBUSY from ENODEV.
 */
#ifndef XENVF_SYSFS_H
#define XENVF_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>

#define XENVF_SYSFS_ROOT "/sys"
/* Largest attribute we read: a sysfs show() fills at most one page. */
#define XENVF_SYSFS_ATTR_MAX 4096

/* Map an errno from a sysfs call to a XENVF_E* code. */
int xenvf_sysfs_rc(int errnum);

/*
 * "<root>/bus/pci/devices/<bdf>" plus "/<attr>" when attr is non-NULL;
 * malloc'd into *out. Fails with XENVF_EINVAL if the path would not fit
 * PATH_MAX.
 */
int xenvf_sysfs_dev_path(const char *root, const xenvf_bdf *bdf,
                         const char *attr, char **out, xenvf_err *err);

/* Does <root>/bus/pci/devices/<bdf> exist (0), or not (XENVF_ENOENT)? */
int xenvf_sysfs_dev_exists(const char *root, const xenvf_bdf *bdf,
                           xenvf_err *err);

/* ---- reads --------------------------------------------------------- */

/*
 * Read a whole attribute of a device into a malloc'd string, without its
 * trailing newline. Content with NUL bytes or longer than
 * XENVF_SYSFS_ATTR_MAX - 1 is XENVF_EINVAL. A missing file is XENVF_ENOENT.
 */
int xenvf_sysfs_read_attr(const char *root, const xenvf_bdf *bdf,
                          const char *attr, char **out, xenvf_err *err);
/* Any file by path (same rules). */
int xenvf_sysfs_read_file(const char *path, char **out, xenvf_err *err);

/* A decimal attribute ("64\n"), strictly: xenvf_parse_uint(max). */
int xenvf_sysfs_read_uint(const char *root, const xenvf_bdf *bdf,
                          const char *attr, uint64_t max, uint64_t *out,
                          xenvf_err *err);
/* Strict hex parse as above, for callers holding the text. */
int xenvf_sysfs_parse_hex(const char *s, uint64_t max, uint64_t *out,
                          xenvf_err *err);

/*
 * The last path component of a link under the device directory, malloc'd
 * ("driver" -> "nvme", "virtfn3" -> "0000:01:00.4"). A missing link is
 * XENVF_ENOENT.
 */
int xenvf_sysfs_read_link(const char *root, const xenvf_bdf *bdf,
                          const char *link, char **out, xenvf_err *err);
/* The bound driver's name, or *out = NULL (and 0) when none is bound. */
int xenvf_sysfs_read_driver(const char *root, const xenvf_bdf *bdf, char **out,
                            xenvf_err *err);
/* VF n of a PF from its virtfn<n> link; XENVF_ENOENT if there is none. */
int xenvf_sysfs_read_virtfn(const char *root, const xenvf_bdf *pf, unsigned n,
                            xenvf_bdf *out, xenvf_err *err);
/* The PF of a VF from its physfn link; XENVF_ENOENT if it is not a VF. */
int xenvf_sysfs_read_physfn(const char *root, const xenvf_bdf *vf,
                            xenvf_bdf *out, xenvf_err *err);

/* One line of a device's `resource` file. */
typedef struct xenvf_sysfs_resource {
    uint64_t start, end, flags;
} xenvf_sysfs_resource;

/* Resource line numbers (the kernel's resource indexes). */
#define XENVF_SYSFS_RES_ROM 6
#define XENVF_SYSFS_RES_IOV 7 /* PCI_IOV_RESOURCES: VF BAR 0..5 windows */
#define XENVF_SYSFS_RES_MAX 17

/* Size of a resource (0 when unset: end <= start). */
uint64_t xenvf_sysfs_resource_size(const xenvf_sysfs_resource *r);

/*
 * Parse the `resource` file: lines of "0x%016llx 0x%016llx 0x%016llx".
 * Fills res[0..*nr-1]; *nr is 7 on kernels without CONFIG_PCI_IOV, 13 with
 * it (lines 7..12 are the VF BAR windows, each TotalVFs times the per-VF
 * size), 17 for bridges.
 */
int xenvf_sysfs_read_resources(const char *root, const xenvf_bdf *bdf,
                               xenvf_sysfs_resource res[XENVF_SYSFS_RES_MAX],
                               size_t *nr, xenvf_err *err);

/* ---- writes -------------------------------------------------------- */

/* Write value to a device attribute in one write(). */
int xenvf_sysfs_write_attr(const char *root, const xenvf_bdf *bdf,
                           const char *attr, const char *value, xenvf_err *err);
/* Write value to any file in one write(). */
int xenvf_sysfs_write_file(const char *path, const char *value, xenvf_err *err);

/*
 * Write N to sriov_numvfs once. The kernel's answers, as rc (the errno is
 * in err->sys_errno): XENVF_ERANGE (N > TotalVFs), XENVF_EBUSY (VFs are
 * enabled and N is another non-zero value: go through 0), XENVF_ENOTSUP
 * (no PF driver, or one without sriov_configure, e.g. pciback),
 * XENVF_ENOENT (no such device or no SR-IOV).
 */
int xenvf_sysfs_set_numvfs(const char *root, const xenvf_bdf *pf, unsigned n,
                           xenvf_err *err);
/* sriov_drivers_autoprobe: while 0, the kernel refuses every VF bind with
 * ENODEV unless the VF has a driver_override. */
int xenvf_sysfs_set_autoprobe(const char *root, const xenvf_bdf *pf, bool on,
                              xenvf_err *err);
/* Write the BDF to <root>/bus/pci/drivers/<driver>/bind. ENODEV from the
 * kernel (refused: no match, or a VF while autoprobe is 0) is XENVF_EPERM;
 * a device already bound is XENVF_EBUSY; a missing device XENVF_ENOENT. */
int xenvf_sysfs_driver_bind(const char *root, const xenvf_bdf *bdf,
                            const char *driver, xenvf_err *err);
/* Unbind from whatever driver holds the device; 0 if none does. */
int xenvf_sysfs_driver_unbind(const char *root, const xenvf_bdf *bdf,
                              xenvf_err *err);
/* driver_override: the only driver that may bind; NULL or "" clears it. */
int xenvf_sysfs_set_driver_override(const char *root, const xenvf_bdf *bdf,
                                    const char *driver, xenvf_err *err);
/* The device's reset methods (`reset_method`): "" turns every one off
 * (a PF handed to a driver domain must survive pciback's resets with its
 * VFs), "default" gives the kernel's back. */
int xenvf_sysfs_set_reset_methods(const char *root, const xenvf_bdf *bdf,
                                  const char *methods, xenvf_err *err);
/* Function-level reset: write "1" to `reset`. XENVF_ENOENT when the device
 * has no reset method (no `reset` file). */
int xenvf_sysfs_reset(const char *root, const xenvf_bdf *bdf, xenvf_err *err);

#endif
