/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * XSM/FLASK labels for the devices the TCB manages (xsm-policy/xenvf.te,
 * docs/xsm.md). Labels follow what is published: a PF carries the type of
 * where its driver runs; a VF a domain holds (reserved or active) the guest
 * VF type, which its guest may use; every other VF the free-pool type,
 * which only the TCB may touch. A VF that vanishes loses its record, so it
 * is labelled again when it comes back (its address may hold another VF).
 * A PF given to a driver domain has its INTx labelled with it: libxl grants
 * the domain the PF's interrupt too, and an unlabelled one (Xen's irq_t) is
 * dom0's alone. A dom0 PF's INTx stays irq_t (a shared line may serve
 * other devices).
 */
#include <stdlib.h>

#include <xenvf/log.h>

#include "tcb.h"

void tcb_flask_start(tcb *t)
{
    xenvf_err err;

    xenvf_err_init(&err);
    if (xenvf_flask_probe(&t->flask, &err))
        LOG(WARN, "flask: %s; devices stay unlabelled", err.msg);
}

static const char *vf_type(const tcb_vf *v)
{
    switch (v->state) {
    case XENVF_VF_RESERVED:
    case XENVF_VF_ACTIVE:
        return XENVF_FLASK_GUEST_VF_TYPE;
    default:
        return XENVF_FLASK_VF_TYPE;
    }
}

static int label(tcb *t, const xenvf_bdf *bdf, const char *type, xenvf_err *err)
{
    xenvf_flask_range *ranges = NULL;
    size_t nr = 0;
    int rc;

    rc = xenvf_flask_device_ranges(t->cfg->sysfs_root, bdf, &ranges, &nr, err);
    if (!rc)
        rc = xenvf_flask_label_device(&t->flask, bdf, type, ranges, nr, err);
    free(ranges);
    return rc;
}

/* A driver domain's PF: its INTx gets the PF's label; back in dom0 the
 * label is dropped (Xen's irq_t again). */
static int label_intx(tcb *t, tcb_pf *pf, const char *type, bool drv,
                      xenvf_err *err)
{
    unsigned irq = 0;
    int rc;

    if (!drv) {
        if (pf->flask_irq &&
            (rc = xenvf_flask_label_irq(&t->flask, pf->flask_irq, NULL, err)))
            return rc;
        if (pf->flask_irq)
            LOG(INFO, "pf %s labelled %s; its INTx (IRQ %u) is irq_t again",
                pf->id, type, pf->flask_irq);
        else
            LOG(INFO, "pf %s labelled %s", pf->id, type);
        pf->flask_irq = 0;
        return 0;
    }
    if ((rc = xenvf_flask_device_irq(t->cfg->sysfs_root, &pf->bdf, &irq, err)))
        return rc;
    if (irq && (rc = xenvf_flask_label_irq(&t->flask, irq, type, err)))
        return rc;
    pf->flask_irq = irq;
    if (irq)
        LOG(INFO, "pf %s labelled %s, its INTx (IRQ %u) too", pf->id, type,
            irq);
    else
        LOG(INFO, "pf %s labelled %s (no INTx)", pf->id, type);
    return 0;
}

int tcb_flask_sync(tcb *t, tcb_pf *pf, xenvf_err *err)
{
    const xenvf_map_pf *mp = xenvf_map_find_pf(&t->map, pf->id);
    const bool drv = mp && xenvf_map_pf_driver_domain(mp);
    const char *type = drv ? XENVF_FLASK_DRV_PF_TYPE : XENVF_FLASK_PF_TYPE;
    int rc = 0;

    if (!xenvf_flask_active(&t->flask))
        return 0;
    if (pf->present && pf->flask_type != type) {
        if ((rc = label(t, &pf->bdf, type, err)) ||
            (rc = label_intx(t, pf, type, drv, err)))
            goto out;
        pf->flask_type = type;
    }
    for (size_t i = 0; i < pf->nr_vfs; i++) {
        tcb_vf *v = &pf->vfs[i];

        if (!v->bdf_known || v->state == XENVF_VF_ABSENT) {
            v->flask_type = NULL;
            continue;
        }
        type = vf_type(v);
        if (v->flask_type == type)
            continue;
        if ((rc = label(t, &v->bdf, type, err))) {
            v->flask_type = NULL; /* half done, maybe: again next time */
            goto out;
        }
        LOG(INFO, "pf %s: vf %zu labelled %s", pf->id, i, type);
        v->flask_type = type;
    }
out:
    if (rc)
        xenvf_err_prepend(err, "pf %s: flask label: ", pf->id);
    return rc;
}
