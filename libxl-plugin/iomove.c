/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xl save and xl migrate, xl restore and migrate-receive drive the I/O switch
 * (iomove.h, docs/migration.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenvf/file.h>
#include <xenvf/log.h>
#include <xenvf/model.h>
#include <xenvf/text.h>

#include "iomove.h"
#include "migrate.h"
#include "reserve.h"

#define PATH_WAIT_MS  30000 /* the kernel's block device after a rescan */
#define BACK_TRIES    4     /* asks of "vf" while the VF is not readable */
#define VBD_DEVID(n)  (202 << 8 | (n) << 4) /* xvd<'a' + n> */
#define VDEV_LETTERS  16                    /* xvda..xvdp */
#define NOT_READABLE  "was not back and readable"
#define SLEEP_STEP_MS 100

void xlp_iomove_env_default(xlp_iomove_env *env)
{
    env->sysfs_root = "/sys";
    env->dev_dir = "/dev";
    env->answer_ms = 60000;
}

/* ---- the PF path: a VF's namespace on the PF's own controller ----------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* A namespace's PF path as pf_path found or made it. */
typedef struct pf_path_info {
    char dev[XLP_IOMOVE_DEV_MAX];   /* dom0's block device */
    char wwid[XENVF_NVME_WWID_MAX]; /* the disk's identity */
    bool attached;                  /* by this call: it was not there */
} pf_path_info;

/* The block device of nsid on ctrl, waited for after an attachment. */
static int pf_block(const xlp_iomove_env *env, const char *ctrl, uint32_t nsid,
                    int wait_ms, char name[XENVF_NVME_NAME_MAX], xenvf_err *err)
{
    int64_t deadline = xenvf_now_ms() + wait_ms;
    int rc;

    while ((rc = xenvf_nvme_ns_block(env->sysfs_root, ctrl, nsid, name, err)) ==
               XENVF_ENOENT &&
           xenvf_now_ms() < deadline)
        sleep_ms(SLEEP_STEP_MS);
    return rc;
}

/* The PF path of nsid: with info, attached to the PF's own controller
 * (unless it is there already), its block device and wwid in info; without,
 * detached. A rescan after either. */
static int pf_path(const xlp_iomove_env *env, const char *pf_id,
                   const xenvf_bdf *pf_bdf, uint32_t nsid, pf_path_info *info,
                   xenvf_err *err)
{
    char ctrl[XENVF_NVME_NAME_MAX], name[XENVF_NVME_NAME_MAX];
    uint8_t *buf = aligned_alloc(4096, XENVF_NVME_ID_SIZE);
    int fd = -1, rc;
    uint16_t cntlid;

    if (!buf) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    fd = xenvf_nvme_open(env->sysfs_root, env->dev_dir, pf_bdf, ctrl, err);
    if (fd < 0) {
        rc = -fd;
        goto out;
    }
    if (info) {
        memset(info, 0, sizeof(*info));
        if (!(rc = pf_block(env, ctrl, nsid, 0, name, err)))
            goto found;
        if (rc != XENVF_ENOENT)
            goto out;
    }
    if ((rc = xenvf_nvme_cntlid(fd, &cntlid, err)) ||
        (rc = xenvf_nvme_ns_attachment(fd, !!info, nsid, cntlid, buf, err)) ||
        (rc = xenvf_nvme_rescan(fd, err)) || !info)
        goto out;
    info->attached = true;
    if ((rc = pf_block(env, ctrl, nsid, PATH_WAIT_MS, name, err)))
        goto out;
found:
    snprintf(info->dev, sizeof(info->dev), "%s/%s", env->dev_dir, name);
    rc = xenvf_nvme_ns_wwid(env->sysfs_root, name, info->wwid, err);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (rc)
        xenvf_err_prepend(err, "the PF path of %s's namespace %u: ", pf_id,
                          nsid);
    return rc;
}

/* ---- the books and the guest's answers ---------------------------------- */

/* How far the move out of one VF got: what to undo. */
typedef enum stage {
    STAGE_NONE,
    STAGE_PATHED,   /* the PF path attached (or found) */
    STAGE_ADDED,    /* its PV disk added to the guest */
    STAGE_ON_PV,    /* the guest's I/O on it */
    STAGE_UNPLUGGED /* the VF unplugged */
} stage;

/* A VF domid holds, as the move needs it: its entry in the books, what the
 * record will say of it, its guest entry, and how far its move got. */
typedef struct held {
    resv_held b;
    xlp_moved m;
    int local; /* its vf/<n> in the guest's nodes (-1: none) */
    stage at;
} held;

/* The VFs domid holds (*out malloc'ed, *nr), with their guest entries. */
static int held_vfs(xenvf_xs *xs, uint32_t domid, held **out, size_t *nr,
                    xenvf_err *err)
{
    resv_held *books = NULL;
    held *h = NULL;
    size_t n = 0;
    unsigned unused;
    int rc;

    *out = NULL;
    *nr = 0;
    if ((rc = resv_held_vfs(xs, domid, &books, &n, err)) || !n)
        goto out;
    if (!(h = calloc(n, sizeof(*h)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const resv_held *b = &books[i];

        h[i].b = *b;
        snprintf(h[i].m.pf, sizeof(h[i].m.pf), "%s", b->pf);
        h[i].m.index = b->index;
        h[i].m.nsid = b->nsid;
        rc = xenvf_xs_find_guest_vf(xs, domid, b->pf, b->index, &h[i].local,
                                    &unused, err);
    }
    if (rc) {
        free(h);
        goto out;
    }
    *out = h;
    *nr = n;
out:
    free(books);
    return rc;
}

static void switch_node(char path[XENVF_XS_PATH_MAX], uint32_t domid, int local,
                        const char *leaf)
{
    xenvf_xs_guest_path(path, domid, "/vf/%d/%s", local, leaf);
}

/* The guest's `switch` for its vf/<local>, parsed; text its words. */
static int read_switch(xenvf_xs *xs, uint32_t domid, int local,
                       xenvf_switch_state *st,
                       char text[XENVF_SWITCH_STATE_MAX], xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX], *v = NULL;
    int rc;

    switch_node(path, domid, local, XENVF_SWITCH_NODE);
    if ((rc = xenvf_xs_read(xs, path, &v, err)))
        return rc;
    snprintf(text, XENVF_SWITCH_STATE_MAX, "%s", v ? v : "");
    free(v);
    if (xenvf_switch_state_parse(text, st, NULL))
        st->kind = XENVF_SWITCH_NONE; /* nonsense: no answer */
    return 0;
}

/* Until vf/<local>/switch says something (answer_ms at most). */
static int wait_switch(xenvf_xs *xs, uint32_t domid, int local, int ms,
                       xenvf_switch_state *st,
                       char text[XENVF_SWITCH_STATE_MAX], xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX], token[32], *p = NULL, *t = NULL;
    const int64_t deadline = xenvf_now_ms() + ms;
    int rc, wrc = 0;

    switch_node(path, domid, local, XENVF_SWITCH_NODE);
    snprintf(token, sizeof(token), "xenvf-iomove-%d", local);
    if ((rc = xenvf_xs_watch(xs, path, token, err)))
        return rc;
    while (!(rc = read_switch(xs, domid, local, st, text, err)) &&
           st->kind == XENVF_SWITCH_NONE) {
        int64_t left = deadline - xenvf_now_ms();

        if (left <= 0) {
            rc = xenvf_err_set(err, XENVF_ETIMEDOUT,
                               "the guest did not answer in %d s (%s)",
                               ms / 1000, path);
            break;
        }
        wrc = xenvf_xs_wait_event(xs, (int)left, &p, &t, NULL);
        free(p);
        free(t);
        p = t = NULL;
        (void)wrc; /* a timeout is seen by the next round */
    }
    xenvf_xs_unwatch(xs, path, token, NULL);
    return rc;
}

/* Ask the guest (switch-request = req for its vf/<local>) and wait for its
 * answer: 0 when it says it is on path `to`, else err with its words. */
static int ask(xenvf_xs *xs, const xlp_iomove_env *env, uint32_t domid,
               int local, const char *req, xenvf_io_path to,
               char answer[XENVF_SWITCH_STATE_MAX], xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX];
    xenvf_switch_state st;
    int rc;

    /* the answer to wait for is a new one */
    switch_node(path, domid, local, XENVF_SWITCH_NODE);
    if ((rc = xenvf_xs_write(xs, path, "", err)))
        return rc;
    switch_node(path, domid, local, XENVF_SWITCH_REQUEST_NODE);
    if ((rc = xenvf_xs_write(xs, path, req, err)) ||
        (rc = wait_switch(xs, domid, local, env->answer_ms, &st, answer, err)))
        return rc;
    if (st.kind == XENVF_SWITCH_ON && st.on == to)
        return 0;
    return xenvf_err_set(err, XENVF_EIO, "the guest answered '%.200s'", answer);
}

/* The lowest xvd<letter> from xvdb that domid has no disk at. */
static int free_vdev(xenvf_xs *xs, uint32_t domid, const char *taken,
                     char vdev[XENVF_SWITCH_VDEV_MAX], xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX], *v = NULL;
    int rc;

    for (int n = 1; n < VDEV_LETTERS; n++) {
        char want[8];

        snprintf(want, sizeof(want), "xvd%c", 'a' + n);
        if (strstr(taken, want))
            continue; /* given to another VF of this move */
        snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%d", domid,
                 VBD_DEVID(n));
        if ((rc = xenvf_xs_read(xs, path, &v, err)))
            return rc;
        free(v);
        if (!v) {
            snprintf(vdev, XENVF_SWITCH_VDEV_MAX, "%s", want);
            return 0;
        }
    }
    return xenvf_err_set(err, XENVF_ERANGE, "no free PV disk name xvdb-xvdp");
}

/* ---- out ------------------------------------------------------------------
 */

static int back_one(xenvf_xs *xs, const xlp_iomove_ops *ops,
                    const xlp_iomove_env *env, uint32_t domid,
                    const xlp_moved *m, xenvf_err *err);

/* Can the switch serve h (one namespace, guest nodes, its xenvf-guest on
 * the VF path)? */
static int can_switch(xenvf_xs *xs, uint32_t domid, const held *h, bool *yes,
                      xenvf_err *err)
{
    char text[XENVF_SWITCH_STATE_MAX];
    xenvf_switch_state st;
    int rc;

    *yes = false;
    if (h->b.nr_ns != 1 || h->local < 0)
        return 0; /* no disk (a NIC), several, or no guest nodes */
    if ((rc = read_switch(xs, domid, h->local, &st, text, err)))
        return rc;
    /* else it does not serve the switch, or is on the PV path already */
    *yes = st.kind == XENVF_SWITCH_ON && st.on == XENVF_PATH_VF;
    return 0;
}

/* Which VFs move how (m.unplugged: no switch), and whether anything moves
 * (*go): all of them by the switch, or with unplug_and_go all of them. */
static int plan(xenvf_xs *xs, uint32_t domid, held *h, size_t nr,
                bool unplug_and_go, bool *go, xenvf_err *err)
{
    bool all = true, yes;
    int rc;

    *go = false;
    for (size_t i = 0; i < nr; i++) {
        if ((rc = can_switch(xs, domid, &h[i], &yes, err)))
            return rc;
        if (yes && h[i].b.pf_owner != 0) {
            if (!unplug_and_go)
                return xenvf_err_set(
                    err, XENVF_ENOTSUP,
                    "%s#%u: its PF is in driver domain %u, and the PF path of "
                    "a driver domain's PF is not built (docs/migration.md): "
                    "the guest keeps its VF",
                    h[i].m.pf, h[i].m.index, h[i].b.pf_owner);
            yes = false;
        }
        h[i].m.unplugged = !yes;
        all = all && yes;
    }
    *go = nr && (all || unplug_and_go);
    return 0;
}

/* Undo what the move out did to each VF (h[i].at), last first: a VF
 * unplugged plugged again and its guest asked back (the way back), else
 * the guest asked back, its PV disk removed, the PF path detached.
 * Failures are logged: the first error is the caller's. */
static void undo_out(xenvf_xs *xs, const xlp_iomove_ops *ops,
                     const xlp_iomove_env *env, uint32_t domid, const held *h,
                     size_t nr)
{
    char answer[XENVF_SWITCH_STATE_MAX];
    xenvf_err e;

    for (size_t i = nr; i-- > 0;) {
        const held *v = &h[i];

        xenvf_err_init(&e);
        if (v->at == STAGE_UNPLUGGED) {
            if (back_one(xs, ops, env, domid, &v->m, &e))
                LOG(ERROR,
                    "%s#%u was unplugged and did not come back: %s; xl "
                    "pci-attach it%s (docs/migration.md)",
                    v->m.pf, v->m.index, e.msg,
                    v->m.unplugged ? "" : " and ask the guest back");
            continue;
        }
        if (v->at >= STAGE_ON_PV &&
            ask(xs, env, domid, v->local, "vf", XENVF_PATH_VF, answer, &e))
            LOG(ERROR, "%s#%u: back to the VF: %s", v->m.pf, v->m.index, e.msg);
        if (v->at >= STAGE_ADDED &&
            ops->disk_remove(ops->opaque, domid, v->m.vdev))
            LOG(ERROR, "%s#%u: removing the PV disk %s failed", v->m.pf,
                v->m.index, v->m.vdev);
        if (v->at >= STAGE_PATHED &&
            pf_path(env, v->m.pf, &v->b.pf_bdf, v->m.nsid, NULL, &e))
            LOG(ERROR, "%s", e.msg);
    }
}

/* One VF's I/O onto the PF path: the namespace there, a PV disk, the
 * guest asked (v->at says how far it got); taken: the vdevs given so far. */
static int switch_out(xenvf_xs *xs, const xlp_iomove_ops *ops,
                      const xlp_iomove_env *env, uint32_t domid, held *v,
                      char *taken, xenvf_err *err)
{
    char req[XENVF_SWITCH_REQUEST_MAX], answer[XENVF_SWITCH_STATE_MAX];
    pf_path_info path;
    int rc;

    if ((rc = pf_path(env, v->m.pf, &v->b.pf_bdf, v->m.nsid, &path, err)))
        return rc;
    v->at = STAGE_PATHED;
    snprintf(v->m.wwid, sizeof(v->m.wwid), "%s", path.wwid);
    if ((rc = free_vdev(xs, domid, taken, v->m.vdev, err)))
        return rc;
    strcat(taken, v->m.vdev);
    strcat(taken, " ");
    if (ops->disk_add(ops->opaque, domid, path.dev, v->m.vdev))
        return xenvf_err_set(err, XENVF_EIO,
                             "libxl could not add %s as the PV disk %s",
                             path.dev, v->m.vdev);
    v->at = STAGE_ADDED;
    snprintf(req, sizeof(req), "pv %s", v->m.vdev);
    if ((rc = ask(xs, env, domid, v->local, req, XENVF_PATH_PV, answer, err)))
        return rc;
    v->at = STAGE_ON_PV;
    LOG(INFO,
        "%s#%u: the guest's I/O is on the PV disk %s (%s, namespace %u "
        "through the PF): '%s'",
        v->m.pf, v->m.index, v->m.vdev, path.dev, v->m.nsid, answer);
    return 0;
}

int xlp_iomove_out(xenvf_xs *xs, const xlp_iomove_ops *ops,
                   const xlp_iomove_env *env, uint32_t domid,
                   bool unplug_and_go, xlp_moved **out, size_t *nr,
                   xenvf_err *err)
{
    char taken[VDEV_LETTERS * 6] = "";
    size_t n = 0, at = 0;
    held *h = NULL;
    bool go;
    int rc;

    *out = NULL;
    *nr = 0;
    if ((rc = held_vfs(xs, domid, &h, &n, err)) ||
        (rc = plan(xs, domid, h, n, unplug_and_go, &go, err)) || !go)
        goto out;
    for (at = 0; at < n && !rc; at++)
        if (!h[at].m.unplugged)
            rc = switch_out(xs, ops, env, domid, &h[at], taken, err);
    /* every VF's I/O is on the PF path or has none: the VFs go */
    for (size_t k = 0; k < n && !rc; k++) {
        at = k + 1;
        if (ops->pci_remove(ops->opaque, domid, &h[k].b.vf_bdf)) {
            rc = xenvf_err_set(err, XENVF_EIO, "libxl could not unplug it");
            break;
        }
        h[k].at = STAGE_UNPLUGGED;
        if (h[k].m.unplugged)
            LOG(WARN,
                "%s#%u: unplug-and-go (" XLP_MIGRATE_ENV "): unplugged with "
                "no second path, I/O on it errors in the guest until it is "
                "plugged again where the domain runs next",
                h[k].m.pf, h[k].m.index);
    }
    if (rc) {
        xenvf_err_prepend(err, "%s#%u: ", h[at - 1].m.pf, h[at - 1].m.index);
        undo_out(xs, ops, env, domid, h, n);
        goto out;
    }
    if (!(*out = malloc(n * sizeof(**out)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        undo_out(xs, ops, env, domid, h, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        (*out)[i] = h[i].m;
    *nr = n;
out:
    free(h);
    return rc;
}

/* ---- back -----------------------------------------------------------------
 */

/* PF pf_id's record: its bdf, and VF index's state, holder and bdf. */
static int read_vf(xenvf_xs *xs, const char *pf_id, unsigned index,
                   xenvf_bdf *pf_bdf, xenvf_vf *vf, xenvf_err *err)
{
    xenvf_pf pf;
    int rc;

    xenvf_pf_init(&pf);
    if (!(rc = xenvf_xs_read_pf(xs, pf_id, &pf, err))) {
        if (index >= pf.nr_vfs || !pf.vfs[index].bdf_known)
            rc = xenvf_err_set(err, XENVF_ENOENT,
                               "PF %s has no VF %u now (NumVFs %u)", pf_id,
                               index, pf.num_vfs);
        else {
            *pf_bdf = pf.bdf;
            vf->state = pf.vfs[index].state;
            vf->domid = pf.vfs[index].domid;
            vf->bdf = pf.vfs[index].bdf;
        }
    }
    xenvf_pf_dispose(&pf);
    return rc;
}

void xlp_iomove_paths_release(xenvf_xs *xs, const xlp_iomove_env *env,
                              const xlp_moved *v, size_t nr, bool *attached)
{
    xenvf_bdf pf_bdf;
    xenvf_vf vf;
    xenvf_err e;

    for (size_t k = nr; k-- > 0;) {
        xenvf_err_init(&e);
        if (attached[k] &&
            (read_vf(xs, v[k].pf, v[k].index, &pf_bdf, &vf, &e) ||
             pf_path(env, v[k].pf, &pf_bdf, v[k].nsid, NULL, &e)))
            LOG(ERROR, "%s", e.msg);
        attached[k] = false;
    }
}

int xlp_iomove_paths(xenvf_xs *xs, const xlp_iomove_env *env,
                     const xlp_moved *v, size_t nr,
                     char (*dev)[XLP_IOMOVE_DEV_MAX], bool *attached,
                     xenvf_err *err)
{
    pf_path_info path;
    xenvf_bdf pf_bdf;
    xenvf_vf vf;
    int rc = 0;

    memset(attached, 0, nr * sizeof(*attached));
    for (size_t i = 0; i < nr && !rc; i++) {
        dev[i][0] = '\0';
        if (v[i].unplugged)
            continue;
        if ((rc = read_vf(xs, v[i].pf, v[i].index, &pf_bdf, &vf, err)) ||
            (rc = pf_path(env, v[i].pf, &pf_bdf, v[i].nsid, &path, err)))
            break;
        attached[i] = path.attached;
        snprintf(dev[i], XLP_IOMOVE_DEV_MAX, "%s", path.dev);
        if (strcmp(path.wwid, v[i].wwid))
            rc = xenvf_err_set(err, XENVF_EINVAL,
                               "%s#%u: namespace %u of %s here is the disk "
                               "%s, but the guest was saved on %s: not the "
                               "same disk (a move to another host needs the "
                               "namespace shared with it)",
                               v[i].pf, v[i].index, v[i].nsid, v[i].pf,
                               path.wwid, v[i].wwid);
    }
    if (rc)
        xlp_iomove_paths_release(xs, env, v, nr, attached);
    return rc;
}

/* One VF back: plugged, the guest asked, its PV disk and PF path gone. */
static int back_one(xenvf_xs *xs, const xlp_iomove_ops *ops,
                    const xlp_iomove_env *env, uint32_t domid,
                    const xlp_moved *m, xenvf_err *err)
{
    char answer[XENVF_SWITCH_STATE_MAX];
    xenvf_switch_state st;
    xenvf_bdf pf_bdf;
    unsigned unused;
    xenvf_vf vf;
    int rc, local = -1;

    /* xenvfd resets the VF it freed at the save: moments, usually done;
     * unplugged from domid just now (an undo), it may not have seen it */
    for (int64_t until = xenvf_now_ms() + PATH_WAIT_MS;;) {
        if ((rc = read_vf(xs, m->pf, m->index, &pf_bdf, &vf, err)))
            return rc;
        if (vf.state == XENVF_VF_FREE ||
            (vf.domid != XENVF_DOMID_NONE && vf.domid != domid) ||
            xenvf_now_ms() >= until)
            break;
        sleep_ms(SLEEP_STEP_MS);
    }
    if (vf.state != XENVF_VF_FREE)
        return xenvf_err_set(err, XENVF_EBUSY,
                             "the VF is %s (domain %d), not free: the map "
                             "gives its namespace to that VF index",
                             xenvf_vf_state_name(vf.state),
                             vf.domid == XENVF_DOMID_NONE ? -1 : (int)vf.domid);
    if (ops->pci_add(ops->opaque, domid, &vf.bdf))
        return xenvf_err_set(err, XENVF_EIO, "libxl could not plug it");
    if (m->unplugged) {
        LOG(INFO,
            "%s#%u: plugged again (unplug-and-go): the guest's driver "
            "finds it anew",
            m->pf, m->index);
        return 0;
    }
    /* the plugged VF's nodes (xlp_pci_attached); the guest says "pv" there
     * under its new domain id once it sees them */
    if ((rc = xenvf_xs_find_guest_vf(xs, domid, m->pf, m->index, &local,
                                     &unused, err)))
        return rc;
    if (local < 0)
        return xenvf_err_set(err, XENVF_ENOENT,
                             "the guest has no nodes for it after the plug");
    if ((rc = wait_switch(xs, domid, local, env->answer_ms, &st, answer, err)))
        return rc;
    for (int k = 0; k < BACK_TRIES; k++) {
        /* the guest's nvme driver recovers from the reset under it: asked
         * again while the guest says the namespace is not readable yet */
        rc = ask(xs, env, domid, local, "vf", XENVF_PATH_VF, answer, err);
        if (!rc || !strstr(answer, NOT_READABLE))
            break;
        LOG(INFO, "%s#%u: the guest says '%s': asking again", m->pf, m->index,
            answer);
    }
    if (rc)
        return rc;
    LOG(INFO, "%s#%u: the guest's I/O is on its VF again: '%s'", m->pf,
        m->index, answer);
    if (ops->disk_remove(ops->opaque, domid, m->vdev))
        return xenvf_err_set(err, XENVF_EIO,
                             "libxl could not remove the PV disk %s", m->vdev);
    return pf_path(env, m->pf, &pf_bdf, m->nsid, NULL, err);
}

int xlp_iomove_back(xenvf_xs *xs, const xlp_iomove_ops *ops,
                    const xlp_iomove_env *env, uint32_t domid,
                    const xlp_moved *v, size_t nr, xenvf_err *err)
{
    int first = 0;

    for (size_t i = 0; i < nr; i++) {
        xenvf_err e;
        int rc;

        xenvf_err_init(&e);
        if (!(rc = back_one(xs, ops, env, domid, &v[i], &e)))
            continue;
        if (v[i].unplugged)
            LOG(ERROR,
                "domain %u: %s#%u did not come back: %s; the guest has no VF "
                "of %s: xl pci-attach one (docs/migration.md)",
                domid, v[i].pf, v[i].index, e.msg, v[i].pf);
        else
            LOG(ERROR,
                "domain %u: %s#%u did not come back: %s; the guest's I/O "
                "stays on the PV disk %s (docs/migration.md)",
                domid, v[i].pf, v[i].index, e.msg, v[i].vdev);
        if (!first) {
            first = rc;
            xenvf_err_set(err, rc, "%s#%u: %s", v[i].pf, v[i].index, e.msg);
        }
    }
    return first;
}
