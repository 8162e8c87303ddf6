/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The TCB's planner: pure. From the map that is wanted, the map that was in
 * force, what discovery found and what the TCB holds, decide whether the
 * change is allowed and which steps make the machine match it. No I/O, so
 * it is unit-tested (tests/unit/test_tcb_plan.c).
 */
#ifndef XENVFD_TCB_PLAN_H
#define XENVFD_TCB_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <xenvf/map.h>
#include <xenvf/model.h>

/* One VF as the TCB knows it now. */
typedef struct tcb_plan_vf {
    xenvf_vf_state state; /* the TCB's record */
    const char *holder;   /* domain name while reserved/active/resetting */
    uint32_t domid;       /* XENVF_DOMID_NONE when not committed */
    bool bound;           /* bound to the assignable driver (pciback) now */
} tcb_plan_vf;

/* One PF as discovery and the TCB's records see it now. */
typedef struct tcb_plan_pf {
    const char *id;
    xenvf_bdf bdf;
    bool present;       /* found in sysfs with its SR-IOV capability */
    unsigned total_vfs; /* what the kernel accepts (sriov_totalvfs) */
    unsigned num_vfs;   /* enabled now */
    size_t nr_vfs;      /* entries in vfs; indexes past it are free */
    const tcb_plan_vf *vfs;
} tcb_plan_pf;

typedef enum tcb_step_kind {
    TCB_STEP_DROP_PF,    /* the map no longer lists it: unpublish */
    TCB_STEP_PF_MISSING, /* it vanished: its VFs failed */
    TCB_STEP_SET_NUMVFS, /* from -> to, through 0 */
    TCB_STEP_BIND,       /* make VF `vf` assignable (pciback) */
    TCB_STEP_RESET,      /* finish an interrupted FLR of VF `vf` */
} tcb_step_kind;

typedef struct tcb_step {
    tcb_step_kind kind;
    char *pf_id;
    unsigned vf;
    unsigned from, to;
} tcb_step;

typedef struct tcb_plan {
    size_t nr_steps;
    tcb_step *steps;
    /* partial plans: why each skipped PF was skipped */
    size_t nr_skipped;
    char **skipped;
} tcb_plan;

void tcb_plan_init(tcb_plan *plan);
void tcb_plan_dispose(tcb_plan *plan);
const char *tcb_step_name(tcb_step_kind kind);

/*
 * Plan the change from `have` (NULL: nothing in force) to `want`. `pfs`
 * describes every PF of both maps, found by id. A change that conflicts
 * with what is held is refused as a whole: XENVF_EBUSY (NumVFs change or
 * removal under held VFs, a namespace taken from a held VF),
 * XENVF_ECONFLICT (the map gives a held VF to another domain),
 * XENVF_ENOENT (a new PF that is not there), XENVF_ERANGE (past TotalVFs);
 * the message names the PF, the VF and the holder.
 *
 * With partial (a rescan of the map in force, not an edit), a PF whose
 * change conflicts is skipped instead, its reason in plan->skipped, and
 * the rest is planned: a restart must still finish what it can.
 */
int tcb_plan_compute(const xenvf_map *want, const xenvf_map *have,
                     const tcb_plan_pf *pfs, size_t nr_pfs, bool partial,
                     tcb_plan *plan, xenvf_err *err);

#endif
