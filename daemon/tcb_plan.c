/* SPDX-License-Identifier: LGPL-2.1-only */
/* The TCB's planner (tcb_plan.h): decisions only, no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcb_plan.h"

void tcb_plan_init(tcb_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
}

void tcb_plan_dispose(tcb_plan *plan)
{
    for (size_t i = 0; i < plan->nr_steps; i++)
        free(plan->steps[i].pf_id);
    free(plan->steps);
    for (size_t i = 0; i < plan->nr_skipped; i++)
        free(plan->skipped[i]);
    free(plan->skipped);
    tcb_plan_init(plan);
}

/* Partial plans: keep the reason, drop the PF's steps, go on. */
static int skip_pf(tcb_plan *plan, size_t first_step, const xenvf_err *why,
                   xenvf_err *err)
{
    char **n = reallocarray(plan->skipped, plan->nr_skipped + 1, sizeof(*n));

    while (plan->nr_steps > first_step)
        free(plan->steps[--plan->nr_steps].pf_id);
    if (!n)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    plan->skipped = n;
    if (!(n[plan->nr_skipped] = strdup(why->msg)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    plan->nr_skipped++;
    return 0;
}

const char *tcb_step_name(tcb_step_kind kind)
{
    static const char *const names[] = {
        [TCB_STEP_DROP_PF] = "drop-pf",   [TCB_STEP_PF_MISSING] = "pf-missing",
        [TCB_STEP_SET_NUMVFS] = "numvfs", [TCB_STEP_BIND] = "bind",
        [TCB_STEP_RESET] = "reset",
    };
    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind]
                                                             : "?";
}

static int add_step(tcb_plan *plan, tcb_step_kind kind, const char *pf_id,
                    unsigned vf, unsigned from, unsigned to, xenvf_err *err)
{
    tcb_step *s = reallocarray(plan->steps, plan->nr_steps + 1, sizeof(*s));

    if (!s)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    plan->steps = s;
    s = &s[plan->nr_steps];
    *s = (tcb_step){.kind = kind, .vf = vf, .from = from, .to = to};
    if (!(s->pf_id = strdup(pf_id)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    plan->nr_steps++;
    return 0;
}

static const tcb_plan_pf *find_pf(const tcb_plan_pf *pfs, size_t nr,
                                  const char *id)
{
    for (size_t i = 0; i < nr; i++)
        if (!strcmp(pfs[i].id, id))
            return &pfs[i];
    return NULL;
}

static bool held(const tcb_plan_vf *v)
{
    return v->state == XENVF_VF_RESERVED || v->state == XENVF_VF_ACTIVE ||
           v->state == XENVF_VF_RESETTING;
}

static void holder_text(const tcb_plan_vf *v, char *buf, size_t len)
{
    if (v->domid != XENVF_DOMID_NONE)
        snprintf(buf, len, "%s (%u)", v->holder ? v->holder : "?", v->domid);
    else
        snprintf(buf, len, "%s (reserved)", v->holder ? v->holder : "?");
}

/* The first VF held by a domain, or -1. */
static long first_held(const tcb_plan_pf *hw)
{
    for (size_t i = 0; i < hw->nr_vfs; i++)
        if (held(&hw->vfs[i]))
            return (long)i;
    return -1;
}

static const xenvf_map_pf *same_pf(const xenvf_map *m, const xenvf_map_pf *p)
{
    const xenvf_map_pf *q = m ? xenvf_map_find_pf(m, p->id) : NULL;

    return q && xenvf_bdf_equal(&q->address, &p->address) ? q : NULL;
}

/* A PF of `have` that `want` drops (or moves to another address). */
static int plan_drop(const xenvf_map_pf *old, const tcb_plan_pf *hw,
                     tcb_plan *plan, xenvf_err *err)
{
    long h = hw ? first_held(hw) : -1;
    char who[96];

    if (h >= 0) {
        holder_text(&hw->vfs[h], who, sizeof(who));
        return xenvf_err_set(err, XENVF_EBUSY,
                             "pf '%s': removing it from the map is refused: "
                             "vf %ld is held by domain %s",
                             old->id, h, who);
    }
    return add_step(plan, TCB_STEP_DROP_PF, old->id, 0, 0, 0, err);
}

static bool lists_nsid(const xenvf_map_vf *vf, uint32_t nsid)
{
    for (size_t k = 0; vf && k < vf->nr_ns; k++)
        if (vf->ns[k].nsid == nsid)
            return true;
    return false;
}

/* A held VF keeps its disks: the map may not take a namespace away from
 * it (the PF agent would detach it from under the guest). */
static int check_held_ns(const xenvf_map_pf *p, const xenvf_map_pf *old,
                         const tcb_plan_pf *hw, xenvf_err *err)
{
    char who[96];

    if (!old) /* a new PF: nobody can hold its VFs' disks yet */
        return 0;
    for (size_t i = 0; i < hw->nr_vfs; i++) {
        const xenvf_map_vf *was = xenvf_map_find_vf(old, (unsigned)i);
        const xenvf_map_vf *now = xenvf_map_find_vf(p, (unsigned)i);

        if (!held(&hw->vfs[i]) || !was)
            continue;
        for (size_t k = 0; k < was->nr_ns; k++) {
            if (lists_nsid(now, was->ns[k].nsid))
                continue;
            holder_text(&hw->vfs[i], who, sizeof(who));
            return xenvf_err_set(err, XENVF_EBUSY,
                                 "pf '%s': taking namespace %u away from vf "
                                 "%zu is refused: it is held by domain %s",
                                 p->id, was->ns[k].nsid, i, who);
        }
    }
    return 0;
}

static bool owner_changed(const xenvf_map_pf *p, const xenvf_map_pf *old)
{
    if (p->owner_name || old->owner_name)
        return !p->owner_name || !old->owner_name ||
               strcmp(p->owner_name, old->owner_name);
    return p->owner != old->owner;
}

static const char *owner_text(const xenvf_map_pf *p)
{
    return p->owner_name ? p->owner_name
           : p->owner    ? "a driver domain (by domid)"
                         : "dom0";
}

static int plan_pf(const xenvf_map_pf *p, const xenvf_map_pf *old,
                   const tcb_plan_pf *hw, tcb_plan *plan, xenvf_err *err)
{
    char who[96], addr[XENVF_BDF_STR_MAX];
    long h;
    int rc;

    if (!hw || !hw->present) {
        xenvf_bdf_format(&p->address, addr);
        if (!old)
            return xenvf_err_set(err, XENVF_ENOENT,
                                 "pf '%s': unknown PF: %s is not an SR-IOV "
                                 "physical function on this host",
                                 p->id, addr);
        return add_step(plan, TCB_STEP_PF_MISSING, p->id, 0, 0, 0, err);
    }
    for (size_t j = 0; j < p->nr_vfs; j++)
        if (p->vfs[j].index >= hw->total_vfs)
            return xenvf_err_set(err, XENVF_ERANGE,
                                 "pf '%s': vf index %u >= TotalVFs %u", p->id,
                                 p->vfs[j].index, hw->total_vfs);
    if (p->numvfs > hw->total_vfs)
        return xenvf_err_set(err, XENVF_ERANGE,
                             "pf '%s': numvfs %u is more than TotalVFs %u",
                             p->id, p->numvfs, hw->total_vfs);

    /* The map may not give a held VF to someone else. */
    for (size_t i = 0; i < hw->nr_vfs; i++) {
        const tcb_plan_vf *v = &hw->vfs[i];
        const xenvf_map_vf *mv = xenvf_map_find_vf(p, (unsigned)i);

        if (!held(v) || !mv || !mv->domain || !v->holder ||
            !strcmp(mv->domain, v->holder))
            continue;
        holder_text(v, who, sizeof(who));
        return xenvf_err_set(err, XENVF_ECONFLICT,
                             "pf '%s': vf %zu is held by domain %s; the map "
                             "gives it to '%s'",
                             p->id, i, who, mv->domain);
    }
    if ((rc = check_held_ns(p, old, hw, err)))
        return rc;
    /* moving the PF's driver to another domain resets the PF, and with it
     * every VF's resources: not under a guest */
    if (old && owner_changed(p, old) && (h = first_held(hw)) >= 0) {
        holder_text(&hw->vfs[h], who, sizeof(who));
        return xenvf_err_set(err, XENVF_EBUSY,
                             "pf '%s': moving its driver to %s is refused: "
                             "vf %ld is held by domain %s",
                             p->id, owner_text(p), h, who);
    }

    if (p->numvfs != hw->num_vfs) {
        /* any change goes through 0, which would pull every VF away */
        if ((h = first_held(hw)) >= 0) {
            holder_text(&hw->vfs[h], who, sizeof(who));
            return xenvf_err_set(err, XENVF_EBUSY,
                                 "pf '%s': NumVFs change %u -> %u is refused: "
                                 "vf %ld is held by domain %s",
                                 p->id, hw->num_vfs, p->numvfs, h, who);
        }
        if ((rc = add_step(plan, TCB_STEP_SET_NUMVFS, p->id, 0, hw->num_vfs,
                           p->numvfs, err)))
            return rc;
        for (unsigned i = 0; i < p->numvfs; i++)
            if ((rc = add_step(plan, TCB_STEP_BIND, p->id, i, 0, 0, err)))
                return rc;
        return 0;
    }
    for (unsigned i = 0; i < hw->num_vfs; i++) {
        const tcb_plan_vf *v = i < hw->nr_vfs ? &hw->vfs[i] : NULL;

        if (v && v->state == XENVF_VF_RESETTING)
            rc = add_step(plan, TCB_STEP_RESET, p->id, i, 0, 0, err);
        else if (!v || (!v->bound && !held(v)))
            rc = add_step(plan, TCB_STEP_BIND, p->id, i, 0, 0, err);
        else
            rc = 0;
        if (rc)
            return rc;
    }
    return 0;
}

int tcb_plan_compute(const xenvf_map *want, const xenvf_map *have,
                     const tcb_plan_pf *pfs, size_t nr_pfs, bool partial,
                     tcb_plan *plan, xenvf_err *err)
{
    xenvf_err why;
    int rc = 0;

    tcb_plan_dispose(plan);
    xenvf_err_init(&why);
    for (size_t i = 0; have && i < have->nr_pfs && !rc; i++) {
        const xenvf_map_pf *old = &have->pfs[i];
        const xenvf_map_pf *now = xenvf_map_find_pf(want, old->id);
        size_t first = plan->nr_steps;

        if (now && xenvf_bdf_equal(&now->address, &old->address))
            continue;
        rc = plan_drop(old, find_pf(pfs, nr_pfs, old->id), plan, &why);
        if (rc && partial && rc != XENVF_ENOMEM)
            rc = skip_pf(plan, first, &why, &why);
    }
    for (size_t i = 0; i < want->nr_pfs && !rc; i++) {
        const xenvf_map_pf *p = &want->pfs[i];
        const xenvf_map_pf *old = have ? same_pf(have, p) : NULL;
        const tcb_plan_pf *hw = find_pf(pfs, nr_pfs, p->id);
        size_t first = plan->nr_steps;

        /* a PF that moved address is a new PF: its old records are not
         * this one's */
        if (hw && !xenvf_bdf_equal(&hw->bdf, &p->address))
            hw = NULL;
        rc = plan_pf(p, old, hw, plan, &why);
        if (rc && partial && rc != XENVF_ENOMEM)
            rc = skip_pf(plan, first, &why, &why);
    }
    if (rc) {
        if (err)
            *err = why;
        tcb_plan_dispose(plan);
    }
    return rc;
}
