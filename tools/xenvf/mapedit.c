/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Editing the map: take its lock, read it, let the command change it, then
 * check the result against the hardware and write it atomically under the
 * same lock, so that two writers (xenvf, an editor script, xenvfd's own
 * rewrites) cannot lose each other's changes. Nothing is written unless
 * every check passes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenvf.h"

void xv_edit_init(xv_edit *e, const xv_ctx *ctx)
{
    e->ctx = ctx;
    xenvf_map_lock_init(&e->lock);
    xenvf_map_init(&e->map);
    e->map_new = false;
    xv_view_init(&e->live);
}

void xv_edit_dispose(xv_edit *e)
{
    xv_view_dispose(&e->live);
    xenvf_map_dispose(&e->map);
    xenvf_map_lock_dispose(&e->lock);
}

static int lock_map(xv_edit *e)
{
    const char *path = e->ctx->map_path;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = xenvf_map_lock_acquire(&e->lock, path, false, &err);
    if (rc == XENVF_EBUSY) {
        /* a writer holds it for a read-modify-write: that is short */
        xv_warn("waiting for the lock on %s: %s", path, err.msg);
        xenvf_err_init(&err);
        rc = xenvf_map_lock_acquire(&e->lock, path, true, &err);
    }
    if (rc) {
        xv_error("map %s: %s", path, err.msg);
        return XV_EXIT_ERROR;
    }
    return XV_EXIT_OK;
}

int xv_edit_begin(xv_edit *e, bool allow_new)
{
    const char *path = e->ctx->map_path;
    struct stat st;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    if (stat(path, &st) < 0 && errno == ENOENT && !allow_new) {
        xv_error("map %s does not exist: no PF is managed yet (add one with "
                 "'xenvf set-numvfs --id ID BDF N')",
                 path);
        return XV_EXIT_ERROR;
    }
    if ((rc = lock_map(e)))
        return rc;
    /* under the lock: what we read is what we replace */
    if (stat(path, &st) < 0 && errno == ENOENT) {
        if (!allow_new) {
            xv_error("map %s was removed", path);
            return XV_EXIT_ERROR;
        }
        e->map_new = true;
        if (xenvf_map_set_name(&e->map, path, &err)) {
            xv_error("%s", err.msg);
            return XV_EXIT_ERROR;
        }
    } else if (xenvf_map_parse_file(path, &e->map, &err)) {
        xv_error("the map is not valid, fix it first: %s", err.msg);
        return XV_EXIT_ERROR;
    }

    if (xv_view_load(&e->live, e->ctx, &err)) {
        xv_error("%s", err.msg);
        return XV_EXIT_ERROR;
    }
    if (!e->live.xs_ok)
        xv_warn("xenstore is not readable, so whether VFs are in use is not "
                "checked: %s",
                e->live.xs_err.msg);
    return XV_EXIT_OK;
}

xenvf_map_pf *xv_edit_find_pf(xv_edit *e, const char *spec)
{
    xenvf_map_pf *pf;
    const xv_pf *live;
    xenvf_bdf bdf;
    char b[XENVF_BDF_STR_MAX];

    if (!xenvf_bdf_parse(spec, &bdf, NULL))
        pf = xenvf_map_find_pf_by_address(&e->map, &bdf);
    else
        pf = xenvf_map_find_pf(&e->map, spec);
    if (pf)
        return pf;
    live = xv_view_find(&e->live, spec);
    if (live && live->hw) {
        xenvf_bdf_format(&live->bdf, b);
        xv_error("pf %s: not managed: %s is not in the map %s (add it with "
                 "'xenvf set-numvfs --id ID %s N')",
                 spec, b, e->ctx->map_path, b);
    } else if (live && live->xs_pf) {
        xv_error("pf %s: not in the map %s (xenstore still has it: xenvfd "
                 "removes it when it applies the map)",
                 spec, e->ctx->map_path);
    } else {
        xv_error("pf %s: no such PF in the map %s", spec, e->ctx->map_path);
    }
    return NULL;
}

const xv_pf *xv_edit_live_pf(const xv_edit *e, const xenvf_map_pf *pf)
{
    const xv_view *v = &e->live;

    for (size_t i = 0; i < v->nr_pfs; i++)
        if (v->pfs[i].xs_pf && v->pfs[i].xs_pf->id &&
            !strcmp(v->pfs[i].xs_pf->id, pf->id))
            return &v->pfs[i];
    for (size_t i = 0; i < v->nr_pfs; i++)
        if (xenvf_bdf_equal(&v->pfs[i].bdf, &pf->address))
            return &v->pfs[i];
    return NULL;
}

int xv_edit_commit(xv_edit *e, const xenvf_map_pf *edited)
{
    const char *path = e->ctx->map_path;
    xenvf_err err;
    xenvf_pf *hw = NULL;
    int rc = XV_EXIT_ERROR;

    xenvf_err_init(&err);
    /*
     * The hardware check covers the PF being edited only: another PF of
     * the map that is missing now (unplugged, failed) must not block an
     * unrelated edit. A release passes NULL: taking a VF back cannot
     * conflict with the hardware, and must work when the PF is gone.
     */
    if (edited && e->live.hw_ok) {
        xenvf_map one = {
            .name = e->map.name, .nr_pfs = 1, .pfs = (xenvf_map_pf *)edited};

        if (e->live.nr_hw && !(hw = calloc(e->live.nr_hw, sizeof(*hw)))) {
            xv_error("out of memory");
            goto out;
        }
        for (size_t i = 0; i < e->live.nr_hw; i++) {
            xenvf_pf_init(&hw[i]);
            hw[i].bdf = e->live.hw[i].bdf;
            hw[i].total_vfs = e->live.hw[i].max_vfs;
        }
        if (xenvf_map_check_hw(&one, hw, e->live.nr_hw, &err)) {
            xv_error("%s (the map is unchanged)", err.msg);
            goto out;
        }
    } else if (edited) {
        xv_warn("not checked against the hardware: SR-IOV discovery "
                "failed: %s",
                e->live.hw_err.msg);
    }
    if (xenvf_map_write_file_locked(path, &e->map, &e->lock, &err)) {
        xv_error("%s (the map is unchanged)", err.msg);
        goto out;
    }
    rc = XV_EXIT_OK;
out:
    free(hw);
    return rc;
}

void xv_edit_tcb_hint(const xv_edit *e)
{
    xenvf_err err;

    xenvf_err_init(&err);
    if (xv_tcb_ping(e->ctx, XV_PING_TIMEOUT_MS, &err))
        xv_warn("the map is saved, but xenvfd does not answer, so nothing "
                "applies it until it runs: %s",
                err.msg);
}
