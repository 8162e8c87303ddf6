/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * NVMe PFs: each VF is a secondary controller that needs flexible
 * resources (queues, interrupts) from the primary before it can be used,
 * and must be brought online (NVMe 1.4 §8.5, Virtualization Management,
 * admin opcode 0x1c; nvme-cli `virt-mgmt` does the same). Sent with the
 * kernel's NVME_IOCTL_ADMIN_CMD on the PF's controller node. Idempotent:
 * a controller already online with enough resources is left alone, and one
 * whose VF a domain holds is never taken offline.
 *
 * Verified only in the QEMU tier (QEMU's nvme with sriov_max_vfs): there is
 * no NVMe controller here. tests/unit/test_agent_nvme.c checks the command
 * sequence and the list parsing against a scripted controller.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <xenvf/sysfs.h>

#include "agent.h"

#define NVME_ADMIN_IDENTIFY  0x06
#define NVME_ADMIN_VIRT_MGMT 0x1c
#define CNS_SECONDARY_LIST   0x15
#define VM_ACT_OFFLINE       7
#define VM_ACT_ASSIGN        8
#define VM_ACT_ONLINE        9
#define VM_RT_VQ             0
#define VM_RT_VI             1
#define SECLIST_SIZE         4096
#define SECLIST_ENTRY        32

static int ioctl_admin(void *ctx, int fd, struct nvme_admin_cmd *cmd)
{
    int r = ioctl(fd, NVME_IOCTL_ADMIN_CMD, cmd);

    return r < 0 ? -errno : r;
}

static agent_nvme_admin_fn *admin_fn = ioctl_admin;
static void *admin_ctx;

void agent_nvme_set_transport(agent_nvme_admin_fn *fn, void *ctx)
{
    admin_fn = fn ? fn : ioctl_admin;
    admin_ctx = ctx;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

size_t agent_nvme_parse_seclist(const uint8_t *buf, agent_nvme_sec *out,
                                size_t max)
{
    size_t n = buf[0]; /* Number of Identifiers */
    const size_t fit = (SECLIST_SIZE - SECLIST_ENTRY) / SECLIST_ENTRY;

    if (n > fit)
        n = fit;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = buf + SECLIST_ENTRY + i * SECLIST_ENTRY;

        out[i] = (agent_nvme_sec){.scid = le16(e),
                                  .online = e[4] & 1,
                                  .vfn = le16(e + 8),
                                  .nvq = le16(e + 10),
                                  .nvi = le16(e + 12)};
    }
    return n;
}

static int admin(int fd, struct nvme_admin_cmd *cmd, const char *what,
                 xenvf_err *err)
{
    int r = admin_fn(admin_ctx, fd, cmd);

    if (r < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, -r, "nvme %s", what);
    if (r > 0)
        return xenvf_err_set(err, XENVF_EIO, "nvme %s: NVMe status 0x%x", what,
                             r);
    return 0;
}

static int virt_mgmt(int fd, unsigned act, unsigned rt, uint16_t cntlid,
                     unsigned nr, xenvf_err *err)
{
    struct nvme_admin_cmd cmd = {
        .opcode = NVME_ADMIN_VIRT_MGMT,
        .cdw10 = act | rt << 8 | (uint32_t)cntlid << 16,
        .cdw11 = nr,
    };
    char what[64];

    snprintf(what, sizeof(what), "virt-mgmt act %u rt %u controller %u", act,
             rt, cntlid);
    return admin(fd, &cmd, what, err);
}

int agent_nvme_setup_vf(int fd, uint16_t vfn, unsigned nvq, unsigned nvi,
                        bool in_use, xenvf_err *err)
{
    uint8_t *buf = aligned_alloc(4096, SECLIST_SIZE);
    agent_nvme_sec secs[127], *s = NULL;
    struct nvme_admin_cmd id = {.opcode = NVME_ADMIN_IDENTIFY,
                                .cdw10 = CNS_SECONDARY_LIST,
                                .data_len = SECLIST_SIZE};
    size_t n;
    int rc;

    if (!buf)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    memset(buf, 0, SECLIST_SIZE);
    id.addr = (uint64_t)(uintptr_t)buf;
    if ((rc = admin(fd, &id, "identify secondary controller list", err)))
        goto out;
    n = agent_nvme_parse_seclist(buf, secs, 127);
    for (size_t i = 0; i < n && !s; i++)
        if (secs[i].vfn == vfn)
            s = &secs[i];
    if (!s) {
        rc = xenvf_err_set(err, XENVF_ENOENT,
                           "no secondary controller for VF %u", vfn);
        goto out;
    }
    if (s->online && s->nvq >= nvq && s->nvi >= nvi)
        goto out; /* already set up: a restart changes nothing */
    if (in_use) {
        rc = xenvf_err_set(err, XENVF_EBUSY,
                           "secondary controller %u (VF %u) lacks resources "
                           "(%u VQ, %u VI) but a domain holds it: left alone",
                           s->scid, vfn, s->nvq, s->nvi);
        goto out;
    }
    if ((rc = virt_mgmt(fd, VM_ACT_OFFLINE, 0, s->scid, 0, err)) ||
        (rc = virt_mgmt(fd, VM_ACT_ASSIGN, VM_RT_VI, s->scid, nvi, err)) ||
        (rc = virt_mgmt(fd, VM_ACT_ASSIGN, VM_RT_VQ, s->scid, nvq, err)) ||
        (rc = virt_mgmt(fd, VM_ACT_ONLINE, 0, s->scid, 0, err)))
        goto out;
    LOG(INFO, "nvme: secondary controller %u (VF %u): %u VQ, %u VI, online",
        s->scid, vfn, nvq, nvi);
out:
    free(buf);
    return rc;
}

/* The PF's controller node: <pf>/nvme/nvmeN -> <dev_dir>/nvmeN */
static int open_controller(agent *a, agent_pf *pf, xenvf_err *err)
{
    char *dir = NULL, path[PATH_MAX] = "";
    struct dirent *de;
    DIR *d;
    int rc, fd;

    if ((rc = xenvf_sysfs_dev_path(a->cfg->sysfs_root, &pf->rec.bdf, "nvme",
                                   &dir, err)))
        return rc;
    d = opendir(dir);
    free(dir);
    if (!d)
        return xenvf_err_set_errno(err, XENVF_ENOENT, errno,
                                   "pf %s: no NVMe controller", pf->id);
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "nvme", 4)) {
            snprintf(path, sizeof(path), "%s/%s", a->cfg->dev_dir, de->d_name);
            break;
        }
    closedir(d);
    if (!path[0])
        return xenvf_err_set(err, XENVF_ENOENT, "pf %s: no NVMe controller",
                             pf->id);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "open %s", path);
    return fd;
}

static int nvme_vf_setup(agent *a, agent_pf *pf, const xenvf_vf *vf,
                         xenvf_err *err)
{
    bool in_use =
        vf->state == XENVF_VF_ACTIVE || vf->state == XENVF_VF_RESERVED;
    int fd = open_controller(a, pf, err), rc;

    if (fd < 0)
        return fd;
    rc = agent_nvme_setup_vf(fd, (uint16_t)(vf->index + 1), a->cfg->nvme_vq,
                             a->cfg->nvme_vi, in_use, err);
    close(fd);
    if (rc)
        xenvf_err_prepend(err, "pf %s vf %u: ", pf->id, vf->index);
    return rc;
}

const agent_backend agent_backend_nvme = {"nvme", nvme_vf_setup};
