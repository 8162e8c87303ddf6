/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The merged view: the map, discovery and xenstore, joined per PF. A PF is
 * the same PF in two sources when the map id equals the xenstore id, or
 * the BDFs match; whichever source is missing is shown as unknown, never
 * guessed from the others.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenvf.h"

void xv_view_init(xv_view *v)
{
    memset(v, 0, sizeof(*v));
    xenvf_map_init(&v->map);
    xenvf_err_init(&v->map_err);
    xenvf_err_init(&v->map_hw_err);
    xenvf_err_init(&v->hw_err);
    xenvf_xs_init(&v->xs);
    xenvf_err_init(&v->xs_err);
}

void xv_view_dispose(xv_view *v)
{
    for (size_t i = 0; i < v->nr_pfs; i++) {
        for (size_t j = 0; j < v->pfs[i].nr_vfs; j++)
            free(v->pfs[i].vfs[j].guest_status);
        free(v->pfs[i].vfs);
    }
    free(v->pfs);
    for (size_t i = 0; i < v->nr_names; i++)
        free(v->names[i].name);
    free(v->names);
    for (size_t i = 0; i < v->nr_xs_pfs; i++)
        xenvf_pf_dispose(&v->xs_pfs[i]);
    free(v->xs_pfs);
    for (size_t i = 0; i < v->nr_warnings; i++)
        free(v->warnings[i]);
    free(v->warnings);
    xenvf_xs_dispose(&v->xs);
    xenvf_sriov_info_list_free(v->hw, v->nr_hw);
    xenvf_map_dispose(&v->map);
    xv_view_init(v);
}

static int nomem(xenvf_err *err)
{
    return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
}

static int add_warning(xv_view *v, const char *msg, xenvf_err *err)
{
    char **w = realloc(v->warnings, (v->nr_warnings + 1) * sizeof(*w));

    if (!w)
        return nomem(err);
    v->warnings = w;
    if (!(w[v->nr_warnings] = strdup(msg)))
        return nomem(err);
    v->nr_warnings++;
    return 0;
}

/* ---- sources ---------------------------------------------------------- */

static void load_map(xv_view *v, const xv_ctx *ctx)
{
    struct stat st;

    if (stat(ctx->map_path, &st) < 0 && errno == ENOENT) {
        v->map_present = false;
        return;
    }
    v->map_present = true;
    v->map_ok = !xenvf_map_parse_file(ctx->map_path, &v->map, &v->map_err);
}

int xv_map_check_hw(const xenvf_map *map, const xenvf_sriov_info *found,
                    size_t nr_found, xenvf_err *err)
{
    xenvf_pf *hw = NULL;
    int rc;

    if (nr_found && !(hw = calloc(nr_found, sizeof(*hw))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < nr_found; i++) {
        xenvf_pf_init(&hw[i]);
        hw[i].bdf = found[i].bdf;
        hw[i].total_vfs = found[i].max_vfs;
    }
    rc = xenvf_map_check_hw(map, hw, nr_found, err);
    free(hw); /* no VFs were sized: nothing else to dispose */
    return rc;
}

/* The map against the hardware, as xenvfd will check it. */
static void check_map_hw(xv_view *v)
{
    v->map_hw_checked = false;
    if (!v->map_ok || !v->hw_ok)
        return;
    v->map_hw_rc = xv_map_check_hw(&v->map, v->hw, v->nr_hw, &v->map_hw_err);
    v->map_hw_checked = true;
}

static int load_xs(xv_view *v, xenvf_err *err)
{
    char **ids = NULL;
    unsigned nr = 0;
    int rc = 0;

    if (xenvf_xs_open(&v->xs, &v->xs_err))
        return 0;
    if (xenvf_xs_list_pfs(&v->xs, &ids, &nr, &v->xs_err)) {
        xenvf_xs_dispose(&v->xs);
        return 0;
    }
    v->xs_ok = true;
    if (nr && !(v->xs_pfs = calloc(nr, sizeof(*v->xs_pfs)))) {
        rc = nomem(err);
        goto out;
    }
    for (unsigned i = 0; i < nr; i++) {
        xenvf_pf *pf = &v->xs_pfs[v->nr_xs_pfs];
        xenvf_err e;

        xenvf_err_init(&e);
        xenvf_pf_init(pf);
        v->nr_xs_pfs++;
        if (!xenvf_xs_read_pf(&v->xs, ids[i], pf, &e))
            continue;
        /* one unreadable PF must not hide the others */
        v->nr_xs_pfs--;
        xenvf_pf_dispose(pf);
        if (e.rc == XENVF_ENOENT)
            continue; /* removed while we listed */
        xenvf_err_prepend(&e, "xenstore: pf %s: ", ids[i]);
        if ((rc = add_warning(v, e.msg, err)))
            goto out;
    }
out:
    for (unsigned i = 0; i < nr; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

/* ---- merging ---------------------------------------------------------- */

static xv_pf *row_add(xv_view *v, size_t *cap, xenvf_err *err)
{
    if (v->nr_pfs == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        xv_pf *p = realloc(v->pfs, ncap * sizeof(*p));

        if (!p) {
            nomem(err);
            return NULL;
        }
        v->pfs = p;
        *cap = ncap;
    }
    memset(&v->pfs[v->nr_pfs], 0, sizeof(v->pfs[0]));
    return &v->pfs[v->nr_pfs++];
}

static xv_pf *row_by_bdf(xv_view *v, const xenvf_bdf *bdf)
{
    for (size_t i = 0; i < v->nr_pfs; i++)
        if (xenvf_bdf_equal(&v->pfs[i].bdf, bdf))
            return &v->pfs[i];
    return NULL;
}

static int row_cmp(const void *a, const void *b)
{
    return xenvf_bdf_compare(&((const xv_pf *)a)->bdf,
                             &((const xv_pf *)b)->bdf);
}

bool xv_vf_in_use(const xenvf_vf *vf)
{
    return vf &&
           (vf->state == XENVF_VF_RESERVED || vf->state == XENVF_VF_ACTIVE);
}

static void row_numbers(xv_pf *r)
{
    r->totalvfs = r->hw      ? (long)r->hw->max_vfs
                  : r->xs_pf ? (long)r->xs_pf->total_vfs
                             : -1;
    r->numvfs = r->hw      ? (long)r->hw->num_vfs
                : r->xs_pf ? (long)r->xs_pf->num_vfs
                           : -1;
    r->map_numvfs = r->map_pf ? (long)r->map_pf->numvfs : -1;
    r->nr_free = r->nr_reserved = r->nr_active = -1;
    if (r->xs_pf) {
        r->nr_free = r->nr_reserved = r->nr_active = 0;
        for (size_t i = 0; i < r->xs_pf->nr_vfs; i++) {
            switch (r->xs_pf->vfs[i].state) {
            case XENVF_VF_FREE:
                r->nr_free++;
                break;
            case XENVF_VF_RESERVED:
                r->nr_reserved++;
                break;
            case XENVF_VF_ACTIVE:
                r->nr_active++;
                break;
            default:
                break;
            }
        }
    }
    r->nr_assigned = -1;
    if (r->map_pf) {
        r->nr_assigned = 0;
        for (size_t i = 0; i < r->map_pf->nr_vfs; i++)
            r->nr_assigned += r->map_pf->vfs[i].domain != NULL;
    }
    r->id = r->map_pf ? r->map_pf->id : r->xs_pf ? r->xs_pf->id : NULL;
}

static int merge(xv_view *v, xenvf_err *err)
{
    size_t cap = 0;
    xv_pf *r;

    for (size_t i = 0; i < v->nr_hw; i++) {
        if (!(r = row_add(v, &cap, err)))
            return XENVF_ENOMEM;
        r->bdf = v->hw[i].bdf;
        r->hw = &v->hw[i];
    }
    for (size_t i = 0; v->map_ok && i < v->map.nr_pfs; i++) {
        const xenvf_map_pf *mp = &v->map.pfs[i];

        r = row_by_bdf(v, &mp->address);
        if (!r && !(r = row_add(v, &cap, err)))
            return XENVF_ENOMEM;
        r->bdf = mp->address;
        r->map_pf = mp;
    }
    for (size_t i = 0; i < v->nr_xs_pfs; i++) {
        const xenvf_pf *xp = &v->xs_pfs[i];

        r = NULL;
        for (size_t k = 0; k < v->nr_pfs && !r; k++)
            if (v->pfs[k].map_pf && !strcmp(v->pfs[k].map_pf->id, xp->id))
                r = &v->pfs[k];
        /* a BDF match that the map names differently is another PF */
        if (!r && (r = row_by_bdf(v, &xp->bdf)) && r->map_pf)
            r = NULL;
        if (r && r->xs_pf)
            r = NULL;
        if (!r) {
            if (!(r = row_add(v, &cap, err)))
                return XENVF_ENOMEM;
            r->bdf = xp->bdf;
        }
        r->xs_pf = xp;
    }
    for (size_t i = 0; i < v->nr_pfs; i++)
        row_numbers(&v->pfs[i]);
    if (v->nr_pfs)
        qsort(v->pfs, v->nr_pfs, sizeof(*v->pfs), row_cmp);
    return 0;
}

int xv_view_load(xv_view *v, const xv_ctx *ctx, xenvf_err *err)
{
    int rc;

    load_map(v, ctx);
    v->hw_ok =
        !xenvf_sriov_scan(ctx->sysfs_root, &v->hw, &v->nr_hw, &v->hw_err);
    check_map_hw(v);
    if ((rc = load_xs(v, err)))
        return rc;
    return merge(v, err);
}

int xv_view_open(xv_view *v, const xv_ctx *ctx)
{
    xenvf_err err;

    xv_view_init(v);
    xenvf_err_init(&err);
    if (xv_view_load(v, ctx, &err)) {
        xv_error("%s", err.msg);
        return XV_EXIT_ERROR;
    }
    return 0;
}

void xv_view_warn(const xv_view *v, const xv_ctx *ctx)
{
    if (v->map_present && !v->map_ok)
        xv_warn("map %s is not valid, managed PFs are not shown: %s",
                ctx->map_path, v->map_err.msg);
    if (!v->hw_ok)
        xv_warn("SR-IOV discovery failed, hardware is not shown: %s",
                v->hw_err.msg);
    if (!v->xs_ok)
        xv_warn("xenstore is not readable, live state is not shown: %s",
                v->xs_err.msg);
    for (size_t i = 0; i < v->nr_warnings; i++)
        xv_warn("%s", v->warnings[i]);
}

xv_pf *xv_view_find(const xv_view *v, const char *spec)
{
    xenvf_bdf bdf;

    if (!xenvf_bdf_parse(spec, &bdf, NULL))
        return row_by_bdf((xv_view *)v, &bdf);
    for (size_t i = 0; i < v->nr_pfs; i++)
        if (v->pfs[i].id && !strcmp(v->pfs[i].id, spec))
            return &v->pfs[i];
    /* a PF published under an id the map gives to another BDF */
    for (size_t i = 0; i < v->nr_pfs; i++)
        if (v->pfs[i].xs_pf && !strcmp(v->pfs[i].xs_pf->id, spec))
            return &v->pfs[i];
    return NULL;
}

const char *xv_view_domain_name(xv_view *v, uint32_t domid)
{
    char path[64], *name = NULL;
    xv_domname *n;

    if (!v->xs_ok || domid == XENVF_DOMID_NONE)
        return NULL;
    for (size_t i = 0; i < v->nr_names; i++)
        if (v->names[i].domid == domid)
            return v->names[i].name;
    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    if (xenvf_xs_read(&v->xs, path, &name, NULL))
        name = NULL;
    n = realloc(v->names, (v->nr_names + 1) * sizeof(*n));
    if (!n) {
        free(name);
        return NULL;
    }
    v->names = n;
    n[v->nr_names].domid = domid;
    n[v->nr_names].name = name;
    v->nr_names++;
    return name;
}

int xv_view_vfs(xv_view *v, xv_pf *pf, xenvf_err *err)
{
    size_t n = 0;

    if (pf->vfs)
        return 0;
    if (pf->numvfs > 0)
        n = (size_t)pf->numvfs;
    if (pf->map_numvfs > 0 && (size_t)pf->map_numvfs > n)
        n = (size_t)pf->map_numvfs;
    if (pf->xs_pf && pf->xs_pf->nr_vfs > n)
        n = pf->xs_pf->nr_vfs;
    for (size_t i = 0; pf->map_pf && i < pf->map_pf->nr_vfs; i++)
        if (pf->map_pf->vfs[i].index >= n)
            n = pf->map_pf->vfs[i].index + 1;
    if (!n)
        return 0;
    if (!(pf->vfs = calloc(n, sizeof(*pf->vfs))))
        return nomem(err);
    pf->nr_vfs = n;
    for (size_t i = 0; i < n; i++) {
        xv_vf *vf = &pf->vfs[i];

        vf->index = (unsigned)i;
        vf->map_vf =
            pf->map_pf ? xenvf_map_find_vf(pf->map_pf, vf->index) : NULL;
        vf->xs_vf =
            pf->xs_pf && i < pf->xs_pf->nr_vfs ? &pf->xs_pf->vfs[i] : NULL;
        if (vf->xs_vf && vf->xs_vf->bdf_known) {
            vf->bdf_known = true;
            vf->bdf = vf->xs_vf->bdf;
        } else if (pf->hw && i < pf->hw->nr_vfs) {
            vf->bdf_known = true;
            vf->bdf = pf->hw->vf_bdfs[i];
        }
        vf->exists = pf->numvfs >= 0 && i < (size_t)pf->numvfs;
        if (vf->xs_vf && vf->xs_vf->domid != XENVF_DOMID_NONE && pf->id) {
            vf->holder_name = xv_view_domain_name(v, vf->xs_vf->domid);
            /* best effort: a guest without xenvf-guest says nothing */
            xenvf_xs_read_guest_status(&v->xs, vf->xs_vf->domid, pf->id,
                                       vf->index, &vf->guest_status, NULL);
        }
    }
    return 0;
}
