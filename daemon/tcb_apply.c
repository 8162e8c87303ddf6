/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The TCB's sysfs steps, in the order that works with Linux's SR-IOV and
 * xen-pciback (docs/xenvfd.md, "A NumVFs change"):
 *
 *   persist the intent (and sriov_drivers_autoprobe as it was)
 *   autoprobe 0        new VFs are not probed by the PF's VF driver
 *   unbind the VFs     pciback marks what it holds assigned, and PF drivers
 *                      refuse to disable SR-IOV while a VF is assigned
 *                      (pci_vfs_assigned: EPERM)
 *   NumVFs 0, NumVFs N the kernel refuses one non-zero count to another
 *   wait for the VFs   bounded, with progress in the log
 *   driver_override    pciback, for each VF (a VF with an override may be
 *                      bound even while autoprobe is 0)
 *   autoprobe back     as it was: while 0 the kernel refuses every other
 *                      bind of a VF with ENODEV
 *   unbind, bind       as `xl pci-assignable-add` does: the old driver is
 *                      remembered (state file, and libxl's own node so
 *                      `xl pci-assignable-remove -r` can restore it)
 *
 * Each step passes a named fault point (fault.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenvf/file.h>
#include <xenvf/libxl_nodes.h>
#include <xenvf/sysfs.h>

#include "tcb.h"

#define WAIT_STEP_MS     20
#define WAIT_PROGRESS_MS 1000

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static void save_or_log(tcb *t)
{
    xenvf_err err;

    xenvf_err_init(&err);
    if (tcb_state_save(t, &err))
        LOG(ERROR, "%s", err.msg);
}

/* The kernel creates VFs inside the sriov_numvfs write, but their sysfs
 * entries (and a slow PF driver's own work) may trail it. */
static int wait_vfs(tcb *t, tcb_pf *pf, unsigned n, xenvf_err *err)
{
    const int64_t start = xenvf_now_ms();
    int64_t next_log = start + WAIT_PROGRESS_MS;

    for (;;) {
        unsigned have = 0;
        xenvf_bdf b;

        while (have < n && !xenvf_sysfs_read_virtfn(t->cfg->sysfs_root,
                                                    &pf->bdf, have, &b, NULL))
            have++;
        if (have == n) {
            LOG(INFO, "pf %s: %u VF(s) present after %lld ms", pf->id, n,
                (long long)(xenvf_now_ms() - start));
            return 0;
        }
        if (xenvf_now_ms() - start >= t->cfg->vf_wait_ms)
            return xenvf_err_set(err, XENVF_ETIMEDOUT,
                                 "pf %s: only %u of %u VFs appeared within "
                                 "%d ms",
                                 pf->id, have, n, t->cfg->vf_wait_ms);
        if (xenvf_now_ms() >= next_log) {
            LOG(INFO, "pf %s: waiting for VFs: %u of %u after %lld ms", pf->id,
                have, n, (long long)(xenvf_now_ms() - start));
            next_log += WAIT_PROGRESS_MS;
        }
        sleep_ms(WAIT_STEP_MS);
    }
}

/* Before NumVFs 0: every VF left its driver. The planner made sure no
 * domain holds one; pciback would otherwise make the PF driver refuse. */
static int unbind_vfs(const char *root, tcb_pf *pf, unsigned n, xenvf_err *err)
{
    xenvf_bdf vf;
    int rc;

    for (unsigned i = 0; i < n; i++) {
        rc = xenvf_sysfs_read_virtfn(root, &pf->bdf, i, &vf, err);
        if (rc == XENVF_ENOENT)
            continue; /* gone already */
        if (rc || (rc = xenvf_sysfs_driver_unbind(root, &vf, err))) {
            xenvf_err_prepend(err, "pf %s: vf %u: ", pf->id, i);
            return rc;
        }
    }
    return 0;
}

static bool tcb_pf_on_assignable(tcb *t, const tcb_pf *pf)
{
    char *drv = NULL;
    bool on;

    if (xenvf_sysfs_read_driver(t->cfg->sysfs_root, &pf->bdf, &drv, NULL))
        return false;
    on = drv && !strcmp(drv, t->cfg->bind_driver);
    free(drv);
    return on;
}

int tcb_apply_numvfs(tcb *t, tcb_pf *pf, unsigned from, unsigned to,
                     xenvf_err *err)
{
    const char *root = t->cfg->sysfs_root;
    uint64_t ap = 0;
    unsigned cur;
    int rc;

    /* pciback has no sriov_configure: only dom0's driver changes NumVFs */
    if (!pf->intent && tcb_pf_on_assignable(t, pf))
        return xenvf_err_set(err, XENVF_EBUSY,
                             "pf %s: NumVFs %u -> %u refused: the PF is "
                             "bound to %s for its driver domain; give it "
                             "back to dom0 (the map's owner) first",
                             pf->id, from, to, t->cfg->bind_driver);
    /* the autoprobe value to restore is the one before the first try */
    if (!pf->intent) {
        pf->intent_autoprobe =
            xenvf_sysfs_read_uint(root, &pf->bdf, "sriov_drivers_autoprobe", 1,
                                  &ap, NULL)
                ? -1
                : (int)ap;
    }
    pf->intent = true;
    pf->intent_from = from;
    pf->intent_to = to;
    if ((rc = tcb_state_save(t, err)))
        return rc;
    xenvfd_fault_point("intent");

    /* VFs are about to be destroyed: nobody holds them (the planner made
     * sure), failed ones lose their last holder here */
    for (size_t i = 0; i < pf->nr_vfs; i++) {
        tcb_vf *v = &pf->vfs[i];
        if (v->domain)
            LOG(WARN, "pf %s: vf %zu of domain %s is gone with the change",
                pf->id, i, v->domain);
        tcb_vf_clear_holder(v);
        tcb_vf_step(pf, i, XENVF_VF_ABSENT);
        v->bound = false;
    }
    if (to > 0 && pf->intent_autoprobe == 1) {
        if ((rc = xenvf_sysfs_set_autoprobe(root, &pf->bdf, false, err)))
            return rc;
        xenvfd_fault_point("autoprobe-off");
    }
    /* the current count, not `from`: a restart may find it half done */
    cur = pf->num_vfs;
    if (cur && cur != to) {
        if ((rc = unbind_vfs(root, pf, cur, err)))
            return rc;
        xenvfd_fault_point("vfs-unbound");
    }
    if (cur && to && cur != to) {
        LOG(INFO, "pf %s: NumVFs %u -> 0 (on the way to %u)", pf->id, cur, to);
        if ((rc = xenvf_sysfs_set_numvfs(root, &pf->bdf, 0, err)))
            return rc;
        cur = 0;
        xenvfd_fault_point("numvfs-zero");
    }
    if (cur != to) {
        LOG(INFO, "pf %s: NumVFs %u -> %u", pf->id, cur, to);
        if ((rc = xenvf_sysfs_set_numvfs(root, &pf->bdf, to, err)))
            return rc;
        xenvfd_fault_point("numvfs-set");
    }
    if ((rc = wait_vfs(t, pf, to, err)))
        return rc;
    xenvfd_fault_point("vfs-wait");
    return tcb_probe_pf(t, pf, err);
}

/* Give back sriov_drivers_autoprobe and close the intent. */
static void finish_intent(tcb *t, tcb_pf *pf)
{
    xenvf_err err;

    xenvf_err_init(&err);
    if (!pf->intent)
        return;
    if (pf->intent_autoprobe == 1 &&
        xenvf_sysfs_set_autoprobe(t->cfg->sysfs_root, &pf->bdf, true, &err))
        LOG(ERROR, "pf %s: restoring sriov_drivers_autoprobe: %s", pf->id,
            err.msg);
    else if (pf->intent_autoprobe == 1)
        xenvfd_fault_point("autoprobe-restore");
    pf->intent = false;
    pf->intent_autoprobe = -1;
}

/* libxl's record of the driver a device had, so that
 * `xl pci-assignable-remove -r` gives the VF back to it. */
static void note_old_driver(tcb *t, const tcb_vf *v, const char *driver)
{
    if (xenvf_libxl_note_driver(&t->xs, &v->bdf, driver, NULL))
        LOG(WARN, "cannot note the old driver of a VF where libxl looks");
}

static int vf_override(tcb *t, tcb_pf *pf, unsigned i, xenvf_err *err)
{
    int rc = xenvf_sysfs_set_driver_override(
        t->cfg->sysfs_root, &pf->vfs[i].bdf, t->cfg->bind_driver, err);

    if (!rc)
        xenvfd_fault_point("override");
    return rc;
}

static int vf_rebind(tcb *t, tcb_pf *pf, unsigned i, xenvf_err *err)
{
    const char *root = t->cfg->sysfs_root;
    tcb_vf *v = &pf->vfs[i];
    char *drv = NULL;
    int rc;

    if ((rc = xenvf_sysfs_read_driver(root, &v->bdf, &drv, err)))
        return rc;
    if (drv && !strcmp(drv, t->cfg->bind_driver)) {
        v->bound = true;
        goto out;
    }
    if (drv) {
        if (!v->old_driver && !(v->old_driver = strdup(drv))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        note_old_driver(t, v, drv);
        if ((rc = xenvf_sysfs_driver_unbind(root, &v->bdf, err)))
            goto out;
        xenvfd_fault_point("unbind");
    }
    rc = xenvf_sysfs_driver_bind(root, &v->bdf, t->cfg->bind_driver, err);
    if (rc == XENVF_EBUSY && tcb_vf_bound(t, pf, i))
        rc = 0; /* something bound it there meanwhile: fine */
    if (rc)
        goto out;
    v->bound = true;
    xenvfd_fault_point("bind");
out:
    free(drv);
    return rc;
}

int tcb_apply_bind(tcb *t, tcb_pf *pf, unsigned index, xenvf_err *err)
{
    int rc;

    if (index >= pf->nr_vfs || !pf->vfs[index].bdf_known)
        return xenvf_err_set(err, XENVF_ENOENT, "pf %s: vf %u does not exist",
                             pf->id, index);
    if ((rc = vf_override(t, pf, index, err)))
        return rc;
    return vf_rebind(t, pf, index, err);
}

/* All of one PF's binds: every override first, then autoprobe back, then
 * each VF unbound from whatever took it and bound to pciback. */
static void apply_binds(tcb *t, tcb_pf *pf, const unsigned *idx, size_t n)
{
    xenvf_err err;
    size_t ok = 0;

    xenvf_err_init(&err);
    for (size_t k = 0; k < n; k++) {
        unsigned i = idx[k];
        if (i >= pf->nr_vfs || !pf->vfs[i].bdf_known)
            LOG(ERROR, "pf %s: vf %u does not exist", pf->id, i);
        else if (!tcb_vf_bound(t, pf, i) && vf_override(t, pf, i, &err))
            LOG(ERROR, "pf %s: vf %u: %s", pf->id, i, err.msg);
    }
    finish_intent(t, pf);
    for (size_t k = 0; k < n; k++) {
        unsigned i = idx[k];
        if (i >= pf->nr_vfs || !pf->vfs[i].bdf_known)
            continue;
        if (vf_rebind(t, pf, i, &err))
            LOG(ERROR, "pf %s: vf %u: %s", pf->id, i, err.msg);
        else
            ok++;
    }
    LOG(INFO, "pf %s: %zu of %zu VF(s) bound to %s", pf->id, ok, n,
        t->cfg->bind_driver);
}

int tcb_apply_reset(tcb *t, tcb_pf *pf, unsigned index, xenvf_err *err)
{
    tcb_vf *v = &pf->vfs[index];
    char bdf[XENVF_BDF_STR_MAX];
    int rc;

    tcb_vf_step(pf, index, XENVF_VF_RESETTING);
    save_or_log(t);
    tcb_publish(t, pf, NULL);
    xenvf_bdf_format(&v->bdf, bdf);
    if (!pf->present || !v->bdf_known)
        rc = xenvf_err_set(err, XENVF_ENOENT, "pf %s: vf %u (%s) is gone",
                           pf->id, index, bdf);
    else
        rc = xenvf_sysfs_reset(t->cfg->sysfs_root, &v->bdf, err);
    if (!rc) {
        xenvfd_fault_point("flr");
        LOG(INFO, "pf %s: vf %u (%s) reset (FLR), held by %s before: free",
            pf->id, index, bdf, v->domain ? v->domain : "?");
        v->bound = tcb_vf_bound(t, pf, index);
        tcb_vf_step(pf, index, v->bound ? XENVF_VF_FREE : XENVF_VF_FAILED);
    } else {
        LOG(ERROR, "pf %s: vf %u: reset failed: %s", pf->id, index,
            err ? err->msg : "");
        tcb_vf_step(pf, index, XENVF_VF_FAILED);
    }
    tcb_vf_clear_holder(v);
    save_or_log(t);
    tcb_publish(t, pf, NULL);
    return rc;
}

int tcb_apply_plan(tcb *t, const tcb_plan *plan)
{
    xenvf_err err;
    unsigned *idx = NULL;
    size_t nr_idx = 0;
    int failures = 0;

    xenvf_err_init(&err);
    for (size_t s = 0; s < plan->nr_steps; s++) {
        const tcb_step *st = &plan->steps[s];
        tcb_pf *pf = tcb_find_pf(t, st->pf_id);
        bool last_of_pf = s + 1 == plan->nr_steps ||
                          strcmp(plan->steps[s + 1].pf_id, st->pf_id);

        if (!pf)
            continue; /* dropped: sync_records has unpublished it */
        switch (st->kind) {
        case TCB_STEP_DROP_PF:
        case TCB_STEP_PF_MISSING:
            break;
        case TCB_STEP_SET_NUMVFS:
            if (tcb_apply_numvfs(t, pf, st->from, st->to, &err)) {
                LOG(ERROR, "%s", err.msg);
                failures++;
                /* its binds would fail on missing VFs: skip them */
                while (s + 1 < plan->nr_steps &&
                       plan->steps[s + 1].kind == TCB_STEP_BIND &&
                       !strcmp(plan->steps[s + 1].pf_id, st->pf_id))
                    s++;
                last_of_pf = true;
            }
            break;
        case TCB_STEP_BIND: {
            unsigned *n = reallocarray(idx, nr_idx + 1, sizeof(*idx));
            if (!n) {
                LOG(ERROR, "out of memory");
                failures++;
                break;
            }
            idx = n;
            idx[nr_idx++] = st->vf;
            break;
        }
        case TCB_STEP_RESET:
            if (tcb_apply_reset(t, pf, st->vf, &err))
                failures++;
            break;
        }
        if (last_of_pf) {
            if (nr_idx)
                apply_binds(t, pf, idx, nr_idx);
            nr_idx = 0;
            finish_intent(t, pf);
        }
    }
    free(idx);
    return failures;
}

/* ---- the PF's driver: dom0's, or pciback for a driver domain ------------ */

/* pciback lets go of a PF's VFs when the PF's driver is unbound (its bus
 * notifier, pci_stub.c): bind them again. */
static void rebind_vfs(tcb *t, tcb_pf *pf)
{
    xenvf_err err;
    unsigned ok = 0, n;

    xenvf_err_init(&err);
    if (tcb_probe_pf(t, pf, &err))
        LOG(ERROR, "%s", err.msg);
    n = pf->num_vfs < pf->nr_vfs ? pf->num_vfs : (unsigned)pf->nr_vfs;
    for (unsigned i = 0; i < n; i++) {
        if (tcb_vf_bound(t, pf, i))
            ok++;
        else if (tcb_apply_bind(t, pf, i, &err))
            LOG(ERROR, "pf %s: vf %u: %s", pf->id, i, err.msg);
        else
            ok++;
    }
    LOG(INFO, "pf %s: %u of %u VF(s) bound to %s after its driver changed",
        pf->id, ok, n, t->cfg->bind_driver);
}

static void hand_over(tcb *t, tcb_pf *pf, const xenvf_map_pf *mp,
                      const char *drv)
{
    const char *root = t->cfg->sysfs_root, *to = t->cfg->bind_driver;
    uint64_t numvfs = 0;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    /* NumVFs needs dom0's driver (pciback has no sriov_configure) */
    if (xenvf_sysfs_read_uint(root, &pf->bdf, "sriov_numvfs", UINT16_MAX,
                              &numvfs, NULL) ||
        numvfs != mp->numvfs) {
        LOG(WARN,
            "pf %s: not handed to %s for its driver domain yet: NumVFs is "
            "%llu, the map says %u",
            pf->id, to, (unsigned long long)numvfs, mp->numvfs);
        return;
    }
    /* pciback resets what it seizes, and a PF's reset clears VF Enable */
    rc = xenvf_sysfs_set_reset_methods(root, &pf->bdf, "", &err);
    if (rc && rc != XENVF_ENOENT)
        goto fail;
    if (drv) {
        /* ours, to give it back; libxl's, for xl pci-assignable-remove -r */
        if ((rc = xenvf_xs_note_handover(&t->xs, pf->id, drv, &err)))
            goto fail;
        if (xenvf_libxl_note_driver(&t->xs, &pf->bdf, drv, NULL))
            LOG(WARN, "pf %s: cannot note its driver %s where libxl looks",
                pf->id, drv);
        if ((rc = xenvf_sysfs_driver_unbind(root, &pf->bdf, &err)))
            goto fail;
        xenvfd_fault_point("handover");
    }
    if ((rc = xenvf_sysfs_set_driver_override(root, &pf->bdf, to, &err)) ||
        (rc = xenvf_sysfs_driver_bind(root, &pf->bdf, to, &err)))
        goto fail;
    rebind_vfs(t, pf);
    LOG(INFO,
        "pf %s: handed to %s for its driver domain %s (%s unbound, reset "
        "methods off so that its VFs survive)",
        pf->id, to, mp->owner_name ? mp->owner_name : "(by domid)",
        drv ? drv : "no driver");
    return;
fail:
    LOG(ERROR, "pf %s: handing it to %s for its driver domain: %s", pf->id, to,
        err.msg);
}

static void give_back(tcb *t, tcb_pf *pf)
{
    const char *root = t->cfg->sysfs_root;
    char *old = NULL;
    uint32_t holder;
    bool alive = false, in_xen;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    if ((rc = xenvf_xs_read_handover(&t->xs, pf->id, &old, &err)))
        goto fail;
    if (!old) /* not handed over by the TCB: not its to give back */
        return;
    if (!xenvf_libxl_pci_domid(&t->xs, &pf->bdf, &holder, NULL) &&
        holder != XENVF_DOMID_NONE &&
        (xenvf_xs_domain_introduced(&t->xs, holder, &alive, NULL) || alive)) {
        LOG(WARN,
            "pf %s: the map gives its driver back to dom0, but domain %u "
            "still has the PF: not before it is gone",
            pf->id, holder);
        free(old);
        return;
    }
    /* Xen parked it in its quarantine when the domain went: dom0's first
     * there, or dom0's driver runs without an IOMMU context. Refused:
     * nothing else done, tried again at the next reconcile. */
    if ((rc = xenvf_xen_dequarantine(&t->flask, &pf->bdf, &in_xen, &err)))
        goto fail;
    LOG(INFO, "pf %s: %s", pf->id,
        in_xen ? "out of Xen's quarantine (dom_io), dom0's in Xen"
               : "nothing to take out of Xen's quarantine (no hypervisor, or "
                 "not in it)");
    if ((rc = xenvf_sysfs_set_driver_override(root, &pf->bdf, NULL, &err)) ||
        (rc = xenvf_sysfs_driver_unbind(root, &pf->bdf, &err)))
        goto fail;
    xenvfd_fault_point("give-back");
    if ((rc = xenvf_sysfs_set_reset_methods(root, &pf->bdf, "default", &err)) ||
        (rc = xenvf_sysfs_driver_bind(root, &pf->bdf, old, &err)))
        goto fail;
    rebind_vfs(t, pf);
    /* back with it: a later unbind is the administrator's, not the TCB's */
    if (xenvf_xs_forget_handover(&t->xs, pf->id, &err))
        LOG(WARN, "pf %s: %s", pf->id, err.msg);
    LOG(INFO, "pf %s: given back to dom0's %s (reset methods back)", pf->id,
        old);
    free(old);
    return;
fail:
    LOG(ERROR, "pf %s: giving it back to dom0's %s: %s", pf->id,
        old ? old : "driver", err.msg);
    free(old);
}

void tcb_apply_owner(tcb *t, tcb_pf *pf)
{
    const xenvf_map_pf *mp = xenvf_map_find_pf(&t->map, pf->id);
    char *drv = NULL;
    bool on_assignable;

    if (!mp || !pf->present ||
        xenvf_sysfs_read_driver(t->cfg->sysfs_root, &pf->bdf, &drv, NULL))
        return;
    on_assignable = drv && !strcmp(drv, t->cfg->bind_driver);
    if (xenvf_map_pf_driver_domain(mp) && !on_assignable)
        hand_over(t, pf, mp, drv);
    /* no driver at all: a give-back interrupted half way (give_back acts
     * only on a PF the TCB handed over itself) */
    else if (!xenvf_map_pf_driver_domain(mp) && (on_assignable || !drv))
        give_back(t, pf);
    free(drv);
}
