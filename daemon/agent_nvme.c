/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * NVMe PFs: each VF is a secondary controller that needs flexible
 * resources (queues, interrupts) from the primary before it can be used,
 * and must be brought online (NVMe 1.4 §8.5, Virtualization Management,
 * admin opcode 0x1c; nvme-cli `virt-mgmt` does the same). Sent with the
 * kernel's NVME_IOCTL_ADMIN_CMD on the PF's controller node. Idempotent:
 * a controller already online with enough resources is left alone, and one
 * whose VF a domain holds is never taken offline. An offline controller is
 * set up even when its VF is held: nobody can be using it, and a guest the
 * plugin keeps paused until the PF is ready holds exactly such a VF.
 *
 * Then each of the VF's namespaces (the TCB's `namespaces` node): Identify
 * (CNS 0x11, allocated NSID) on the PF's controller; a missing one is
 * created (Namespace Management, 0x0d) when the controller can, one that is
 * smaller than the map asks for is refused (larger is fine), and it is
 * attached (Namespace Attachment, 0x15) to the VF's secondary controller.
 * "Already attached" is success, so a restart repeats nothing. A namespace
 * the map took away since the agent last set the VF up is detached first
 * ("not attached" is success), so the VF's next holder does not get the
 * last one's disk; never from a VF passed through to a domain (the TCB
 * refuses that edit for any held VF, tcb_plan.c). What was set up before
 * the agent started is not known to it: a namespace dropped while no agent
 * ran stays attached.
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

#include <xenvf/nvme.h>
#include <xenvf/sysfs.h>

#include "agent.h"

#define NVME_ADMIN_IDENTIFY  0x06
#define NVME_ADMIN_NS_MGMT   0x0d
#define NVME_ADMIN_VIRT_MGMT 0x1c
#define CNS_NS               0x00
#define CNS_CTRL             0x01
#define CNS_NS_ALLOCATED     0x11
#define CNS_SECONDARY_LIST   0x15
#define NSID_ALL             0xffffffffu
#define OACS_NS_MGMT         (1u << 3)
#define NS_MGMT_CREATE       0
#define NS_MGMT_DELETE       1
#define ID_SIZE              4096
#define VM_ACT_OFFLINE       7
#define VM_ACT_ASSIGN        8
#define VM_ACT_ONLINE        9
#define VM_RT_VQ             0
#define VM_RT_VI             1
#define SECLIST_SIZE         4096
#define SECLIST_ENTRY        32

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
    return xenvf_nvme_admin(fd, &cmd, what, err);
}

/* agent_nvme_setup_vf, telling the caller the controller's id. */
static int setup_vf(int fd, uint16_t vfn, unsigned nvq, unsigned nvi,
                    bool in_use, uint16_t *scid, xenvf_err *err)
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
    if ((rc = xenvf_nvme_admin(fd, &id, "identify secondary controller list",
                               err)))
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
    *scid = s->scid;
    if (s->online && s->nvq >= nvq && s->nvi >= nvi)
        goto out; /* already set up: a restart changes nothing */
    if (in_use && s->online) {
        rc = xenvf_err_set(err, XENVF_EBUSY,
                           "secondary controller %u (VF %u) lacks resources "
                           "(%u VQ, %u VI) but a domain holds it: left alone",
                           s->scid, vfn, s->nvq, s->nvi);
        goto out;
    }
    if ((s->online &&
         (rc = virt_mgmt(fd, VM_ACT_OFFLINE, 0, s->scid, 0, err))) ||
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

int agent_nvme_setup_vf(int fd, uint16_t vfn, unsigned nvq, unsigned nvi,
                        bool in_use, xenvf_err *err)
{
    uint16_t scid;

    return setup_vf(fd, vfn, nvq, nvi, in_use, &scid, err);
}

/* ---- namespaces --------------------------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static int identify(int fd, unsigned cns, uint32_t nsid, uint8_t *buf,
                    const char *what, unsigned *sc, xenvf_err *err)
{
    struct nvme_admin_cmd cmd = {.opcode = NVME_ADMIN_IDENTIFY,
                                 .nsid = nsid,
                                 .cdw10 = cns,
                                 .addr = (uint64_t)(uintptr_t)buf,
                                 .data_len = ID_SIZE};

    memset(buf, 0, ID_SIZE);
    return xenvf_nvme_admin_sc(fd, &cmd, what, sc, err);
}

/* log2 of the LBA size of format fmt in an Identify Namespace structure,
 * 0 when the format is unusable. */
static unsigned lba_shift(const uint8_t *id, unsigned fmt)
{
    unsigned lbads = id[128 + 4 * fmt + 2];

    return lbads >= 9 && lbads < 32 ? lbads : 0;
}

/* Namespace nsid's capacity in bytes on the PF's controller: 0 when it is
 * not allocated (Identify returns zeroes). */
static int ns_bytes(int fd, uint32_t nsid, uint8_t *buf, uint64_t *bytes,
                    xenvf_err *err)
{
    uint64_t nsze;
    unsigned sc, shift;
    int rc;

    *bytes = 0;
    if ((rc = identify(fd, CNS_NS_ALLOCATED, nsid, buf, "identify namespace",
                       &sc, err)))
        return rc;
    if (sc)
        return xenvf_nvme_status_err(sc, "identify namespace", err);
    if (!(nsze = le64(buf)))
        return 0;
    /* FLBAS: format index bits 3:0, and 6:5 above them (NVMe 2.0) */
    shift = lba_shift(buf, (buf[26] & 0xf) | ((buf[26] >> 5) & 3) << 4);
    if (!shift)
        return xenvf_err_set(err, XENVF_EIO,
                             "namespace %u: unusable LBA format in its "
                             "Identify data",
                             nsid);
    *bytes = nsze > UINT64_MAX >> shift ? UINT64_MAX : nsze << shift;
    return 0;
}

/* Does the controller do Namespace Management? *mgmt: -1 not asked yet. */
static int ns_mgmt(int fd, uint8_t *buf, int *mgmt, xenvf_err *err)
{
    unsigned sc;
    int rc;

    if (*mgmt >= 0)
        return 0;
    if ((rc = identify(fd, CNS_CTRL, 0, buf, "identify controller", &sc, err)))
        return rc;
    if (sc)
        return xenvf_nvme_status_err(sc, "identify controller", err);
    *mgmt = (le16(buf + 256) & OACS_NS_MGMT) != 0; /* OACS */
    return 0;
}

/* Create namespace want->nsid with FLBAS 0. NVMe lets the controller pick
 * the NSID: one that differs from the map's is deleted again (it is new and
 * empty) and the error says so. */
static int ns_create(int fd, const xenvf_ns *want, uint8_t *buf, int *mgmt,
                     xenvf_err *err)
{
    struct nvme_admin_cmd cmd = {.opcode = NVME_ADMIN_NS_MGMT,
                                 .cdw10 = NS_MGMT_CREATE,
                                 .addr = (uint64_t)(uintptr_t)buf,
                                 .data_len = ID_SIZE};
    unsigned sc, shift = 9;
    uint32_t got;
    int rc;

    if ((rc = ns_mgmt(fd, buf, mgmt, err)))
        return rc;
    if (!*mgmt)
        return xenvf_err_set(err, XENVF_ENOTSUP,
                             "namespace %u does not exist and the controller "
                             "cannot create namespaces (no Namespace "
                             "Management, OACS bit 3)",
                             want->nsid);
    /* LBA format 0's size, from the capabilities common to all namespaces;
     * a controller that does not answer gets the 512 bytes every NVMe
     * controller supports */
    if ((rc = identify(fd, CNS_NS, NSID_ALL, buf, "identify namespace formats",
                       &sc, err)))
        return rc;
    if (!sc && lba_shift(buf, 0))
        shift = lba_shift(buf, 0);
    if (want->size & ((UINT64_C(1) << shift) - 1))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "namespace %u: size %llu is not a multiple of "
                             "the controller's %u-byte blocks (LBA format 0)",
                             want->nsid, (unsigned long long)want->size,
                             1u << shift);
    memset(buf, 0, ID_SIZE);
    put_le64(buf, want->size >> shift);     /* NSZE */
    put_le64(buf + 8, want->size >> shift); /* NCAP: fully provisioned */
    buf[26] = 0;                            /* FLBAS: format 0 */
    if ((rc = xenvf_nvme_admin(fd, &cmd, "namespace create", err))) {
        xenvf_err_prepend(err, "namespace %u: ", want->nsid);
        return rc;
    }
    got = cmd.result; /* dw0: the new namespace's NSID */
    if (got == want->nsid) {
        LOG(INFO, "nvme: namespace %u created, %llu bytes", got,
            (unsigned long long)want->size);
        return 0;
    }
    cmd = (struct nvme_admin_cmd){
        .opcode = NVME_ADMIN_NS_MGMT, .nsid = got, .cdw10 = NS_MGMT_DELETE};
    rc = xenvf_nvme_admin(fd, &cmd, "namespace delete", NULL);
    return xenvf_err_set(err, XENVF_ECONFLICT,
                         "namespace %u: the controller created it as nsid %u "
                         "(NVMe picks the NSID; number the map's namespaces "
                         "the way the controller allocates them, or create "
                         "them beforehand); nsid %u %s",
                         want->nsid, got, got,
                         rc ? "could NOT be deleted again" : "deleted again");
}

int agent_nvme_setup_ns(int fd, uint16_t scid, const xenvf_ns_list *l,
                        xenvf_err *err)
{
    uint8_t *buf = l->nr ? aligned_alloc(4096, ID_SIZE) : NULL;
    int mgmt = -1, rc = 0;

    if (l->nr && !buf)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < l->nr && !rc; i++) {
        const xenvf_ns *want = &l->ns[i];
        uint64_t have;

        if ((rc = ns_bytes(fd, want->nsid, buf, &have, err))) {
            xenvf_err_prepend(err, "namespace %u: ", want->nsid);
            break;
        }
        if (!have)
            rc = ns_create(fd, want, buf, &mgmt, err);
        else if (have < want->size)
            rc = xenvf_err_set(err, XENVF_ERANGE,
                               "namespace %u holds %llu bytes, less than the "
                               "%llu the map asks for",
                               want->nsid, (unsigned long long)have,
                               (unsigned long long)want->size);
        if (!rc)
            rc = xenvf_nvme_ns_attachment(fd, true, want->nsid, scid, buf, err);
    }
    free(buf);
    return rc;
}

int agent_nvme_detach_dropped_ns(int fd, uint16_t scid,
                                 const xenvf_ns_list *was,
                                 const xenvf_ns_list *now, bool held,
                                 xenvf_err *err)
{
    uint8_t *buf = NULL;
    int rc = 0;

    /* both ascending by nsid: one walk finds what `now` lacks */
    for (size_t i = 0, j = 0; i < was->nr && !rc; i++) {
        uint32_t nsid = was->ns[i].nsid;

        while (j < now->nr && now->ns[j].nsid < nsid)
            j++;
        if (j < now->nr && now->ns[j].nsid == nsid)
            continue;
        if (held) {
            rc = xenvf_err_set(err, XENVF_EBUSY,
                               "namespace %u left the map while a domain "
                               "holds the VF: not detached from under it",
                               nsid);
        } else if (!buf && !(buf = aligned_alloc(4096, ID_SIZE))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        } else {
            rc = xenvf_nvme_ns_attachment(fd, false, nsid, scid, buf, err);
        }
    }
    free(buf);
    return rc;
}

/* The PF's controller node: <pf>/nvme/nvmeN -> <dev_dir>/nvmeN */
static int open_controller(agent *a, agent_pf *pf, xenvf_err *err)
{
    int fd = xenvf_nvme_open(a->cfg->sysfs_root, a->cfg->dev_dir, &pf->rec.bdf,
                             NULL, err);

    if (fd < 0)
        xenvf_err_prepend(err, "pf %s: ", pf->id);
    return fd;
}

static int nvme_vf_setup(agent *a, agent_pf *pf, const xenvf_vf *vf,
                         xenvf_err *err)
{
    bool in_use =
        vf->state == XENVF_VF_ACTIVE || vf->state == XENVF_VF_RESERVED;
    int fd = open_controller(a, pf, err), rc;
    uint16_t scid;

    if (fd < 0)
        return fd;
    /* namespaces once the controller is online: the dropped ones first */
    if (!(rc = setup_vf(fd, (uint16_t)(vf->index + 1), a->cfg->nvme_vq,
                        a->cfg->nvme_vi, in_use, &scid, err)) &&
        vf->index < pf->nr_vfs)
        /* only a VF passed through to a domain has a guest using its disks:
         * a reserved one is not assigned yet */
        rc = agent_nvme_detach_dropped_ns(fd, scid, &pf->applied[vf->index].ns,
                                          &vf->config.ns,
                                          vf->state == XENVF_VF_ACTIVE, err);
    if (!rc)
        rc = agent_nvme_setup_ns(fd, scid, &vf->config.ns, err);
    close(fd);
    if (rc)
        xenvf_err_prepend(err, "pf %s vf %u: ", pf->id, vf->index);
    return rc;
}

const agent_backend agent_backend_nvme = {"nvme", nvme_vf_setup};
