/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * NVMe admin commands xenvf sends to a PF's controller (the kernel's
 * NVME_IOCTL_ADMIN_CMD on /dev/nvmeN): the PF agent's for its VFs
 * (daemon/agent_nvme.c), the libxl plugin's for the I/O switch's PF path
 * (a VF's namespace attached to the PF's own controller too, so the PF's
 * domain has a block device on the same disk; docs/migration.md).
 */
#ifndef XENVF_NVME_H
#define XENVF_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/nvme_ioctl.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>

#define XENVF_NVME_ID_SIZE  4096 /* an Identify or Controller List buffer */
#define XENVF_NVME_NAME_MAX 32   /* "nvme12", "nvme0n2" */

/* The kernel's NVMe ioctls on a controller fd: req NVME_IOCTL_ADMIN_CMD
 * with cmd (the answer: 0, an NVMe status > 0, or -errno), or
 * NVME_IOCTL_RESCAN with cmd NULL (0 or -errno). Tests replace it to
 * play the controller. */
typedef int xenvf_nvme_admin_fn(void *ctx, int fd, unsigned long req,
                                struct nvme_admin_cmd *cmd);
void xenvf_nvme_set_transport(xenvf_nvme_admin_fn *fn, void *ctx);

/* Send cmd (what names it in errors): 0 with *sc its status (SCT << 8 |
 * SC, 0 on success) for the caller to judge, or XENVF_EIO when the ioctl
 * itself failed. */
int xenvf_nvme_admin_sc(int fd, struct nvme_admin_cmd *cmd, const char *what,
                        unsigned *sc, xenvf_err *err);
/* err set from a status, named when known; returns XENVF_EIO. */
int xenvf_nvme_status_err(unsigned sc, const char *what, xenvf_err *err);
/* Send cmd: 0, or XENVF_EIO naming the failure or the status. */
int xenvf_nvme_admin(int fd, struct nvme_admin_cmd *cmd, const char *what,
                     xenvf_err *err);

/* Namespace Attachment of nsid to (attach) or from (!attach) controller
 * cntlid, buf a XENVF_NVME_ID_SIZE scratch buffer (4096-aligned). Being so
 * already is success. */
int xenvf_nvme_ns_attachment(int fd, bool attach, uint32_t nsid,
                             uint16_t cntlid, uint8_t *buf, xenvf_err *err);

/* The controller's own id (Identify Controller, CNTLID). */
int xenvf_nvme_cntlid(int fd, uint16_t *cntlid, xenvf_err *err);

/* Open the NVMe controller of PCI function bdf: <sysfs_root>/bus/pci/
 * devices/<bdf>/nvme/nvmeN as <dev_dir>/nvmeN, O_RDWR. Returns the fd (its
 * name in name, may be NULL), or a negative XENVF_E* with err set. */
int xenvf_nvme_open(const char *sysfs_root, const char *dev_dir,
                    const xenvf_bdf *bdf, char name[XENVF_NVME_NAME_MAX],
                    xenvf_err *err);

/* The block device of namespace nsid on controller ctrl ("nvme0"): its
 * name ("nvme0n2"; with native multipath the namespace head's, not the
 * hidden path's "nvme0c0n2"). XENVF_ENOENT when the kernel shows none. */
int xenvf_nvme_ns_block(const char *sysfs_root, const char *ctrl, uint32_t nsid,
                        char name[XENVF_NVME_NAME_MAX], xenvf_err *err);

/* What the kernel says identifies the disk behind block device name
 * ("nvme0n2"): its wwid ("eui.…", "nvme.…" or "uuid.…", from the
 * namespace's NGUID, EUI-64, UUID or the controller's serial and nsid), the
 * same on every host that sees the same namespace. Letters, digits, '.',
 * '_' and '-' only (it goes into saved configs): else XENVF_EINVAL. */
#define XENVF_NVME_WWID_MAX 160
int xenvf_nvme_ns_wwid(const char *sysfs_root, const char *name,
                       char wwid[XENVF_NVME_WWID_MAX], xenvf_err *err);

/* Ask the kernel to scan controller fd's namespaces again (after an
 * attachment changed: it adds and removes their block devices). */
int xenvf_nvme_rescan(int fd, xenvf_err *err);

#endif
