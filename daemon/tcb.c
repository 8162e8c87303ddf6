/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The TCB's records and its reconcile: probe the hardware, plan (pure,
 * tcb_plan.c), apply (tcb_apply.c), settle each VF's state, persist, and
 * publish only what changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/file.h>
#include <xenvf/sriov.h>
#include <xenvf/sysfs.h>
#include <xenvf/vf_settings.h>

#include "tcb.h"

/* ---- records ------------------------------------------------------------ */

static void tcb_vf_init(tcb_vf *v)
{
    memset(v, 0, sizeof(*v));
    v->domid = XENVF_DOMID_NONE;
    xenvf_vf_config_init(&v->req);
}

void tcb_vf_clear_holder(tcb_vf *v)
{
    free(v->domain);
    v->domain = NULL;
    v->domid = XENVF_DOMID_NONE;
    v->conn = 0;
    v->seen_in_libxl = false;
    xenvf_vf_config_dispose(&v->req);
}

bool tcb_vf_step(tcb_pf *pf, size_t index, xenvf_vf_state to)
{
    tcb_vf *v = &pf->vfs[index];

    if (v->state == to)
        return true;
    if (!xenvf_vf_state_step_ok(v->state, to)) {
        LOG(ERROR,
            "pf %s: vf %zu: %s -> %s is not a step of the VF state machine: "
            "refused (a bug)",
            pf->id, index, xenvf_vf_state_name(v->state),
            xenvf_vf_state_name(to));
        return false;
    }
    LOG(DEBUG, "pf %s: vf %zu: %s -> %s", pf->id, index,
        xenvf_vf_state_name(v->state), xenvf_vf_state_name(to));
    v->state = to;
    return true;
}

void tcb_vf_recover(tcb_pf *pf, size_t index, xenvf_vf_state to,
                    const char *why)
{
    tcb_vf *v = &pf->vfs[index];

    if (v->state == to || xenvf_vf_state_step_ok(v->state, to)) {
        tcb_vf_step(pf, index, to);
        return;
    }
    LOG(WARN, "pf %s: vf %zu: %s -> %s, outside the state machine: %s", pf->id,
        index, xenvf_vf_state_name(v->state), xenvf_vf_state_name(to), why);
    v->state = to;
}

static void tcb_vf_dispose(tcb_vf *v)
{
    tcb_vf_clear_holder(v);
    free(v->old_driver);
    tcb_vf_init(v);
}

static void tcb_pf_init(tcb_pf *pf)
{
    memset(pf, 0, sizeof(*pf));
    pf->intent_autoprobe = -1;
    xenvf_pf_init(&pf->pub);
}

static void tcb_pf_dispose(tcb_pf *pf)
{
    for (size_t i = 0; i < pf->nr_vfs; i++)
        tcb_vf_dispose(&pf->vfs[i]);
    free(pf->vfs);
    free(pf->id);
    xenvf_pf_dispose(&pf->pub);
    tcb_pf_init(pf);
}

/* Grow (never shrink: records past TotalVFs are kept until released). */
static int tcb_pf_grow(tcb_pf *pf, size_t nr, xenvf_err *err)
{
    tcb_vf *n;

    if (nr <= pf->nr_vfs)
        return 0;
    if (!(n = reallocarray(pf->vfs, nr, sizeof(*n))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    pf->vfs = n;
    for (size_t i = pf->nr_vfs; i < nr; i++)
        tcb_vf_init(&n[i]);
    pf->nr_vfs = nr;
    return 0;
}

void tcb_init(tcb *t, const xenvfd_config *cfg)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    xenvf_xs_init(&t->xs);
    xenvf_map_init(&t->map);
    xenvf_flask_init(&t->flask);
    t->map_ino_fd = t->map_dir_wd = t->listen_fd = -1;
}

void tcb_dispose(tcb *t)
{
    tcb_server_stop(t);
    tcb_map_watch_stop(t);
    if (t->dw_on)
        xenvfd_devwatch_dispose(&t->dw);
    if (t->xs.h) {
        int fd = xenvf_xs_fileno(&t->xs);
        if (fd >= 0)
            xenvfd_loop_del(fd);
    }
    for (size_t i = 0; i < t->nr_pfs; i++)
        tcb_pf_dispose(&t->pfs[i]);
    free(t->pfs);
    xenvf_map_dispose(&t->map);
    xenvf_xs_dispose(&t->xs);
    xenvf_flask_dispose(&t->flask);
    free(t->req_watches);
    memset(t, 0, sizeof(*t));
    t->map_ino_fd = t->map_dir_wd = t->listen_fd = -1;
}

tcb_pf *tcb_find_pf(tcb *t, const char *id)
{
    for (size_t i = 0; i < t->nr_pfs; i++)
        if (t->pfs[i].id && !strcmp(t->pfs[i].id, id))
            return &t->pfs[i];
    return NULL;
}

static tcb_pf *find_pf_bdf(tcb *t, const xenvf_bdf *bdf)
{
    for (size_t i = 0; i < t->nr_pfs; i++)
        if (xenvf_bdf_equal(&t->pfs[i].bdf, bdf))
            return &t->pfs[i];
    return NULL;
}

/*
 * Make the records match `want`, PF for PF in map order: a record moves
 * along when its id and address stay, new PFs get fresh records, and
 * dropped ones go (the planner made sure nothing is held there).
 */
static int sync_records(tcb *t, const xenvf_map *want, xenvf_err *err)
{
    tcb_pf *n = calloc(want->nr_pfs ? want->nr_pfs : 1, sizeof(*n));

    if (!n)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < want->nr_pfs; i++) {
        const xenvf_map_pf *p = &want->pfs[i];
        tcb_pf *old = tcb_find_pf(t, p->id);

        if (old && xenvf_bdf_equal(&old->bdf, &p->address)) {
            n[i] = *old;
            tcb_pf_init(old); /* moved */
            free(old->id);
            old->id = NULL;
            continue;
        }
        tcb_pf_init(&n[i]);
        n[i].bdf = p->address;
        if (!(n[i].id = strdup(p->id))) {
            for (size_t j = 0; j <= i; j++)
                tcb_pf_dispose(&n[j]);
            free(n);
            return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < t->nr_pfs; i++) {
        if (t->pfs[i].id) {
            LOG(INFO,
                "pf %s: no longer in the map: unpublished, its "
                "NumVFs and bindings are left as they are",
                t->pfs[i].id);
            if (t->pfs[i].published)
                xenvf_xs_remove_pf(&t->xs, t->pfs[i].id, NULL);
        }
        tcb_pf_dispose(&t->pfs[i]);
    }
    free(t->pfs);
    t->pfs = n;
    t->nr_pfs = want->nr_pfs;
    return 0;
}

/* ---- what the hardware says -------------------------------------------- */

bool tcb_vf_bound(tcb *t, const tcb_pf *pf, unsigned index)
{
    char *drv = NULL;
    bool bound;

    if (index >= pf->nr_vfs || !pf->vfs[index].bdf_known)
        return false;
    if (xenvf_sysfs_read_driver(t->cfg->sysfs_root, &pf->vfs[index].bdf, &drv,
                                NULL))
        return false;
    bound = drv && !strcmp(drv, t->cfg->bind_driver);
    free(drv);
    return bound;
}

int tcb_probe_pf(tcb *t, tcb_pf *pf, xenvf_err *err)
{
    xenvf_sriov_info info;
    int rc;

    xenvf_sriov_info_init(&info);
    rc = xenvf_sriov_probe(t->cfg->sysfs_root, &pf->bdf, &info, err);
    if (rc == XENVF_ENOENT || rc == XENVF_ENOTSUP) {
        pf->present = false;
        if (err)
            xenvf_err_init(err);
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    pf->present = true;
    pf->total_vfs = info.max_vfs;
    pf->num_vfs = info.num_vfs;
    if ((rc = tcb_pf_grow(pf, info.max_vfs, err)))
        goto out;
    for (size_t i = 0; i < pf->nr_vfs; i++) {
        tcb_vf *v = &pf->vfs[i];

        v->bdf_known = i < info.nr_vfs;
        if (v->bdf_known)
            v->bdf = info.vf_bdfs[i];
        v->bound = v->bdf_known && tcb_vf_bound(t, pf, (unsigned)i);
    }
out:
    xenvf_sriov_info_dispose(&info);
    if (rc)
        xenvf_err_prepend(err, "pf %s: ", pf->id);
    return rc;
}

/* ---- settling and publishing ------------------------------------------- */

static bool vf_held(const tcb_vf *v)
{
    return v->state == XENVF_VF_RESERVED || v->state == XENVF_VF_ACTIVE ||
           v->state == XENVF_VF_RESETTING;
}

/* After a reconcile, each VF's state follows from what is there. */
static void settle(tcb_pf *pf)
{
    for (size_t i = 0; i < pf->nr_vfs; i++) {
        tcb_vf *v = &pf->vfs[i];

        if (!pf->present) {
            if (v->state != XENVF_VF_ABSENT || v->domain)
                tcb_vf_step(pf, i, XENVF_VF_FAILED);
            continue;
        }
        if (vf_held(v))
            continue;
        if (i >= pf->num_vfs || !v->bdf_known) {
            tcb_vf_step(pf, i, XENVF_VF_ABSENT);
            tcb_vf_clear_holder(v);
        } else if (v->state == XENVF_VF_FAILED && v->domain) {
            /* its domain is still to be released (domains check) */
        } else if (v->bound) {
            /* a failed VF its PF brought back, bound again, is free */
            tcb_vf_recover(pf, i, XENVF_VF_FREE,
                           "bound to the assignable driver again");
        } else {
            tcb_vf_step(pf, i, XENVF_VF_FAILED);
        }
    }
}

static int ns_cmp(const void *a, const void *b)
{
    const xenvf_ns *x = a, *y = b;

    return (x->nsid > y->nsid) - (x->nsid < y->nsid);
}

/* The map's <namespace> elements as the published list: ascending nsid
 * (a parsed map is sorted already; one built in memory may not be). */
static int map_namespaces(const xenvf_map_vf *mv, xenvf_ns_list *out,
                          xenvf_err *err)
{
    int rc;

    xenvf_ns_list_dispose(out);
    for (size_t k = 0; k < mv->nr_ns; k++)
        if ((rc = xenvf_ns_list_add(out, mv->ns[k].nsid, mv->ns[k].size, err)))
            return rc;
    if (out->nr > 1)
        qsort(out->ns, out->nr, sizeof(*out->ns), ns_cmp);
    return 0;
}

int tcb_vf_config(tcb *t, const tcb_pf *pf, unsigned index,
                  xenvf_vf_config *out, xenvf_err *err)
{
    const xenvf_map_pf *mp = xenvf_map_find_pf(&t->map, pf->id);
    const xenvf_map_vf *mv = mp ? xenvf_map_find_vf(mp, index) : NULL;
    const tcb_vf *v = index < pf->nr_vfs ? &pf->vfs[index] : NULL;
    int rc;

    xenvf_vf_config_dispose(out);
    if (mv && ((rc = xenvf_vf_config_copy(out, &mv->config, err)) ||
               (rc = map_namespaces(mv, &out->ns, err))))
        return rc;
    if (!v || !v->domain)
        return 0;
    /* what the holder asked for wins over the map's, setting by setting */
    return xenvf_vf_config_overlay(out, &v->req, err);
}

int tcb_pf_model(tcb *t, const tcb_pf *pf, xenvf_pf *out, xenvf_err *err)
{
    size_t nr = pf->present ? pf->total_vfs : pf->nr_vfs;
    int rc;

    xenvf_pf_dispose(out);
    if ((rc = xenvf_pf_set_id(out, pf->id, err)) ||
        (rc = xenvf_pf_resize_vfs(out, nr, err)))
        return rc;
    out->bdf = pf->bdf;
    out->owner_domid = pf->owner_domid;
    out->total_vfs = pf->total_vfs;
    out->num_vfs = pf->present ? pf->num_vfs : 0;
    for (size_t i = 0; i < nr; i++) {
        const tcb_vf *v = &pf->vfs[i];
        xenvf_vf *o = &out->vfs[i];

        o->bdf_known = pf->present && v->bdf_known && i < pf->num_vfs;
        o->bdf = v->bdf;
        o->state = v->state;
        o->domid = v->state == XENVF_VF_ABSENT ? XENVF_DOMID_NONE : v->domid;
        if ((rc = tcb_vf_config(t, pf, (unsigned)i, &o->config, err)))
            return rc;
    }
    return 0;
}

static bool model_equal(const xenvf_pf *a, const xenvf_pf *b)
{
    if (!xenvf_bdf_equal(&a->bdf, &b->bdf) ||
        a->owner_domid != b->owner_domid || a->total_vfs != b->total_vfs ||
        a->num_vfs != b->num_vfs || a->nr_vfs != b->nr_vfs)
        return false;
    for (size_t i = 0; i < a->nr_vfs; i++) {
        const xenvf_vf *x = &a->vfs[i], *y = &b->vfs[i];
        if (x->bdf_known != y->bdf_known ||
            (x->bdf_known && !xenvf_bdf_equal(&x->bdf, &y->bdf)) ||
            x->state != y->state || x->domid != y->domid ||
            !xenvf_vf_config_equal(&x->config, &y->config))
            return false;
    }
    return true;
}

int tcb_publish(tcb *t, tcb_pf *pf, xenvf_err *err)
{
    xenvf_pf model;
    int rc;

    xenvf_pf_init(&model);
    /* labels first: a guest's VF must carry its label before the reply
     * that lets libxl assign it */
    if ((rc = tcb_flask_sync(t, pf, err)) ||
        (rc = tcb_pf_model(t, pf, &model, err)))
        goto out;
    if (pf->published && model_equal(&model, &pf->pub))
        goto out;
    rc = xenvf_xs_publish_pf(&t->xs, &model, pf->published ? &pf->pub : NULL,
                             err);
    if (rc) {
        pf->published = false; /* next time in full */
        goto out;
    }
    xenvf_pf_dispose(&pf->pub);
    pf->pub = model;
    xenvf_pf_init(&model);
    pf->published = true;
    /* holders may have changed: watch their guests' request nodes */
    tcb_requests_sync(t);
    xenvfd_fault_point("publish");
out:
    xenvf_pf_dispose(&model);
    return rc;
}

static void publish_all(tcb *t)
{
    xenvf_err err;

    xenvf_err_init(&err);
    for (size_t i = 0; i < t->nr_pfs; i++) {
        tcb_pf *pf = &t->pfs[i];

        if (tcb_publish(t, pf, &err))
            LOG(ERROR, "%s", err.msg);
        /* a vanished PF is failed for whoever waits on it: the hardware
         * is gone, whatever its agent last said */
        if (!pf->present &&
            xenvf_xs_set_pf_state(&t->xs, pf->id, XENVF_PF_FAILED, &err))
            LOG(ERROR, "%s", err.msg);
    }
}

/* ---- reconcile --------------------------------------------------------- */

typedef struct probe_set {
    size_t nr;
    tcb_pf *pfs;       /* probed copies: hardware facts only */
    tcb_plan_pf *plan; /* planner's view */
    tcb_plan_vf **vfs;
} probe_set;

static void probe_set_dispose(probe_set *ps)
{
    for (size_t i = 0; i < ps->nr; i++) {
        free(ps->pfs[i].vfs);
        free(ps->pfs[i].id);
        free(ps->vfs[i]);
    }
    free(ps->pfs);
    free(ps->plan);
    free(ps->vfs);
    memset(ps, 0, sizeof(*ps));
}

/*
 * The planner's view of one PF: hardware as probed now at `bdf`, VF
 * records from the TCB's record for this id when it is the same device.
 */
static int probe_one(tcb *t, probe_set *ps, const char *id,
                     const xenvf_bdf *bdf, xenvf_err *err)
{
    size_t k = ps->nr;
    tcb_pf *hw = &ps->pfs[k], *rec = tcb_find_pf(t, id);
    tcb_plan_vf *vfs;
    size_t nr;
    int rc;

    memset(hw, 0, sizeof(*hw));
    hw->bdf = *bdf;
    if (!(hw->id = strdup(id)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    ps->nr++;
    /* probe into a scratch record: only hardware facts are used */
    if ((rc = tcb_probe_pf(t, hw, err)))
        return rc;
    nr = hw->nr_vfs;
    if (rec && rec->nr_vfs > nr)
        nr = rec->nr_vfs;
    if (!(vfs = calloc(nr ? nr : 1, sizeof(*vfs))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    ps->vfs[k] = vfs;
    for (size_t i = 0; i < nr; i++) {
        const tcb_vf *r = rec && i < rec->nr_vfs ? &rec->vfs[i] : NULL;

        vfs[i].state = r ? r->state : XENVF_VF_ABSENT;
        vfs[i].holder = r ? r->domain : NULL;
        vfs[i].domid = r ? r->domid : XENVF_DOMID_NONE;
        vfs[i].bound = i < hw->nr_vfs && hw->vfs[i].bound;
    }
    ps->plan[k] = (tcb_plan_pf){.id = hw->id,
                                .bdf = *bdf,
                                .present = hw->present,
                                .total_vfs = hw->total_vfs,
                                .num_vfs = hw->num_vfs,
                                .nr_vfs = nr,
                                .vfs = vfs};
    return 0;
}

static int probe_all(tcb *t, const xenvf_map *want, probe_set *ps,
                     xenvf_err *err)
{
    size_t cap = want->nr_pfs + t->nr_pfs + 1;
    int rc = 0;

    memset(ps, 0, sizeof(*ps));
    ps->pfs = calloc(cap, sizeof(*ps->pfs));
    ps->plan = calloc(cap, sizeof(*ps->plan));
    ps->vfs = calloc(cap, sizeof(*ps->vfs));
    if (!ps->pfs || !ps->plan || !ps->vfs)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < want->nr_pfs && !rc; i++)
        rc = probe_one(t, ps, want->pfs[i].id, &want->pfs[i].address, err);
    /* PFs being dropped: their records decide whether they may go */
    for (size_t i = 0; i < t->nr_pfs && !rc; i++)
        if (!xenvf_map_find_pf(want, t->pfs[i].id))
            rc = probe_one(t, ps, t->pfs[i].id, &t->pfs[i].bdf, err);
    return rc;
}

static void log_plan(const tcb_plan *plan)
{
    size_t binds = 0;

    for (size_t i = 0; i < plan->nr_steps; i++) {
        const tcb_step *s = &plan->steps[i];

        if (s->kind == TCB_STEP_BIND)
            binds++;
        else if (s->kind == TCB_STEP_SET_NUMVFS)
            LOG(INFO, "plan: pf %s: NumVFs %u -> %u", s->pf_id, s->from, s->to);
        else if (s->kind == TCB_STEP_RESET)
            LOG(INFO, "plan: pf %s: finish the reset of vf %u", s->pf_id,
                s->vf);
        else
            LOG(INFO, "plan: pf %s: %s", s->pf_id, tcb_step_name(s->kind));
    }
    if (binds)
        LOG(INFO, "plan: %zu VF(s) to make assignable (%s)", binds,
            XENVFD_BIND_DRIVER);
}

/*
 * Reconcile to `want`. An edit (partial false) is all or nothing: refused,
 * nothing changes. A rescan (partial true, want is the map in force) skips
 * what conflicts and does the rest.
 */
static void warn_domid_owners(const tcb *t)
{
    for (size_t i = 0; i < t->map.nr_pfs; i++)
        if (t->map.pfs[i].owner)
            LOG(WARN,
                "pf %s: owner=\"%u\" names a domid, which changes when the "
                "domain is re-created: deprecated, name the driver domain "
                "instead (owner=\"NAME\")",
                t->map.pfs[i].id, t->map.pfs[i].owner);
}

/* The reconcile counted for xenvf metrics (/xenvf/stats/reconcile, xs.h):
 * a count that cannot be written is logged, never an error of the
 * reconcile. */
static void count_reconcile(tcb *t, xenvf_reconcile_stats *count, int rc,
                            int64_t t0)
{
    xenvf_err e;
    int64_t ms = xenvf_now_ms() - t0;

    xenvf_err_init(&e);
    count->refused = rc != 0;
    count->sum_ms = ms > 0 ? (uint64_t)ms : 0;
    if (xenvf_xs_count_reconcile(&t->xs, count, &e))
        LOG(WARN, "%s", e.msg);
}

static int reconcile(tcb *t, const xenvf_map *want, bool partial,
                     xenvf_err *err)
{
    const int64_t t0 = xenvf_now_ms();
    xenvf_reconcile_stats count = {.runs = 1};
    probe_set ps;
    tcb_plan plan;
    xenvf_err e;
    bool map_changed;
    int rc;

    tcb_plan_init(&plan);
    xenvf_err_init(&e);
    if ((rc = probe_all(t, want, &ps, err)))
        goto out;
    rc = tcb_plan_compute(want, t->nr_pfs ? &t->map : NULL, ps.plan, ps.nr,
                          partial, &plan, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < plan.nr_skipped; i++)
        LOG(ERROR, "left as it is: %s", plan.skipped[i]);
    count.skipped = plan.nr_skipped;

    map_changed = !xenvf_map_equal(want, &t->map);
    if (map_changed) {
        xenvf_map copy;

        xenvf_map_init(&copy);
        if ((rc = xenvf_map_copy(&copy, want, err))) {
            xenvf_map_dispose(&copy);
            goto out;
        }
        xenvf_map_dispose(&t->map);
        t->map = copy;
        /* a restart resumes from the map in force, not from the file */
        if ((rc = tcb_state_save_map(t, err)))
            goto out;
    }
    if ((rc = sync_records(t, want, err)))
        goto out;
    if (map_changed)
        warn_domid_owners(t);
    tcb_owners_resolve(t, false);
    for (size_t i = 0; i < t->nr_pfs; i++) {
        if (tcb_probe_pf(t, &t->pfs[i], &e))
            LOG(ERROR, "%s", e.msg);
        if (!t->pfs[i].present)
            LOG(ERROR, "pf %s: not found in sysfs: failed", t->pfs[i].id);
        if (t->dw_on && t->pfs[i].present)
            xenvfd_devwatch_add(&t->dw, &t->pfs[i].bdf, NULL);
    }
    log_plan(&plan);
    /* a PF given back to dom0 first (its driver may change NumVFs), one
     * handed to a driver domain once NumVFs is set */
    for (size_t i = 0; i < t->nr_pfs; i++)
        tcb_apply_owner(t, &t->pfs[i]);
    count.failed_steps = (uint64_t)tcb_apply_plan(t, &plan);
    for (size_t i = 0; i < t->nr_pfs; i++)
        tcb_apply_owner(t, &t->pfs[i]);
    for (size_t i = 0; i < t->nr_pfs; i++)
        settle(&t->pfs[i]);
    if (tcb_state_save(t, &e))
        LOG(ERROR, "%s", e.msg);
    xenvfd_fault_point("state-done");
    publish_all(t);
    LOG(INFO, "reconciled %zu PF(s) in %lld ms (%zu step(s))", t->nr_pfs,
        (long long)(xenvf_now_ms() - t0), plan.nr_steps);
out:
    count_reconcile(t, &count, rc, t0);
    probe_set_dispose(&ps);
    tcb_plan_dispose(&plan);
    return rc;
}

int tcb_reload(tcb *t, xenvf_err *err_out)
{
    xenvf_map want;
    xenvf_err e, *err = &e;
    int rc;

    xenvf_err_init(&e);
    xenvf_map_init(&want);
    rc = tcb_map_load(t, &want, err);
    if (rc == XENVF_ENOENT) {
        LOG(WARN,
            "no map at %s: nothing changes (an empty <vfmap/> "
            "unmanages every PF)",
            t->cfg->map_path);
        goto out;
    }
    if (!rc && xenvf_map_equal(&want, &t->map) && t->nr_pfs == want.nr_pfs) {
        /* the same map: still a rescan, cheap when nothing changed */
        rc = reconcile(t, &want, true, err);
        goto out;
    }
    if (!rc)
        rc = reconcile(t, &want, false, err);
    if (rc)
        LOG(ERROR, "map %s refused, running state untouched: %s",
            t->cfg->map_path, e.msg);
    else
        LOG(INFO, "map %s in force", t->cfg->map_path);
out:
    if (rc && err_out)
        *err_out = e;
    xenvf_map_dispose(&want);
    return rc;
}

void tcb_rescan(tcb *t)
{
    xenvf_err err;
    xenvf_map cur;

    xenvf_err_init(&err);
    xenvf_map_init(&cur);
    LOG(INFO, "rescan: domains, hardware, map");
    tcb_domains_check(t);
    if (!xenvf_map_copy(&cur, &t->map, &err) && reconcile(t, &cur, true, &err))
        LOG(ERROR, "rescan: %s", err.msg);
    xenvf_map_dispose(&cur);
    tcb_reload(t, &err);
}

void tcb_device_event(void *opaque, const char *bdf, const char *action)
{
    tcb *t = opaque;
    xenvf_bdf b;
    tcb_pf *pf;
    xenvf_err err;
    xenvf_map cur;

    if (xenvf_bdf_parse(bdf, &b, NULL) || !(pf = find_pf_bdf(t, &b)))
        return;
    if (!strcmp(action, "remove") && pf->present) {
        LOG(ERROR, "pf %s (%s) vanished: failed; its VFs are failed", pf->id,
            bdf);
    } else if (!strcmp(action, "add") && !pf->present) {
        LOG(INFO, "pf %s (%s) is back: reconciling it", pf->id, bdf);
    } else {
        return;
    }
    xenvf_err_init(&err);
    xenvf_map_init(&cur);
    if (!xenvf_map_copy(&cur, &t->map, &err) && reconcile(t, &cur, true, &err))
        LOG(ERROR, "pf %s: %s", pf->id, err.msg);
    xenvf_map_dispose(&cur);
}

/* ---- start -------------------------------------------------------------- */

int tcb_start(tcb *t, xenvf_err *err)
{
    xenvf_map have;
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    xenvf_map_init(&have);
    LOG(INFO, "tcb: map %s, state %s, socket %s, sysfs %s", t->cfg->map_path,
        t->cfg->state_dir, t->cfg->socket_path,
        t->cfg->sysfs_root ? t->cfg->sysfs_root : "/sys");
    if ((rc = xenvf_xs_open(&t->xs, err)) ||
        (rc = xenvf_xs_setup_root(&t->xs, err)))
        goto out;
    tcb_flask_start(t);

    /* 1. the map in force and the records, as the last run left them */
    rc = tcb_state_load_map(t, &have, &e);
    if (rc && rc != XENVF_ENOENT)
        LOG(ERROR, "the saved map is unusable, starting from none: %s", e.msg);
    if (!rc) {
        if ((rc = xenvf_map_copy(&t->map, &have, err)) ||
            (rc = sync_records(t, &t->map, err)))
            goto out;
    }
    rc = tcb_state_load(t, &e);
    t->state_loaded = rc == 0;
    if (rc && rc != XENVF_ENOENT)
        LOG(ERROR, "state: %s (records come from xenstore instead)", e.msg);
    if (t->state_loaded)
        for (size_t i = 0; i < t->nr_pfs; i++)
            if (t->pfs[i].intent)
                LOG(WARN,
                    "pf %s: the last run was interrupted changing "
                    "NumVFs %u -> %u: finishing it",
                    t->pfs[i].id, t->pfs[i].intent_from, t->pfs[i].intent_to);

    /* 2. what domains hold that the records lack, and who is gone */
    for (size_t i = 0; i < t->nr_pfs; i++)
        if (tcb_probe_pf(t, &t->pfs[i], &e))
            LOG(ERROR, "%s", e.msg);
    tcb_domains_adopt(t);
    if ((rc = tcb_domains_start(t, err)))
        goto out;
    if ((rc = xenvfd_devwatch_init(&t->dw, t->cfg->sysfs_root, t->cfg->uevents,
                                   tcb_device_event, t, err)))
        goto out;
    t->dw_on = true;
    /* 3. finish what the last run left, with the map in force */
    if (t->nr_pfs) {
        xenvf_map_dispose(&have);
        xenvf_map_init(&have);
        if ((rc = xenvf_map_copy(&have, &t->map, err)))
            goto out;
        if (reconcile(t, &have, true, &e))
            LOG(ERROR, "restart: %s", e.msg);
    }
    tcb_domains_check(t);
    /* 4. then the map file, which may have been edited meanwhile */
    tcb_reload(t, NULL);
    if ((rc = tcb_map_watch_start(t, err)) || (rc = tcb_server_start(t, err)))
        goto out;
    LOG(INFO, "tcb ready: %zu PF(s) managed", t->nr_pfs);
out:
    xenvf_map_dispose(&have);
    return rc;
}
