/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf assign PF[#INDEX] DOMAIN and xenvf release PF#INDEX|DOMAIN: who
 * holds which VF, in the map. xenvfd applies the map; these commands only
 * refuse early what it would refuse, and warn about what it cannot undo
 * (a VF a running domain is using stays with it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/vf_settings.h>

#include "xenvf.h"

/* The VF as xenstore publishes it, or NULL. */
static const xenvf_vf *live_vf(const xv_pf *live, unsigned index)
{
    if (!live || !live->xs_pf || index >= live->xs_pf->nr_vfs)
        return NULL;
    return &live->xs_pf->vfs[index];
}

/* "domain 7 (web2)" or "domain 7". */
static void holder_text(xv_edit *e, uint32_t domid, char *buf, size_t size)
{
    const char *name = xv_view_domain_name(&e->live, domid);

    if (name)
        snprintf(buf, size, "domain %u (%s)", domid, name);
    else
        snprintf(buf, size, "domain %u", domid);
}

/* Is the VF used live by a domain other than `domain`? */
static bool used_by_other(xv_edit *e, const xenvf_vf *x, const char *domain)
{
    const char *name;

    if (!xv_vf_in_use(x))
        return false;
    name = xv_view_domain_name(&e->live, x->domid);
    return !name || strcmp(name, domain);
}

static int check_arg_pf(const char *cmd, const char *pf)
{
    xenvf_bdf bdf;

    if (xenvf_id_valid(pf) || !xenvf_bdf_parse(pf, &bdf, NULL))
        return 0;
    return xv_usage_error(cmd, "%s: '%s' is neither a PF id nor a PCI address",
                          cmd, pf);
}

int xv_cmd_assign(xv_ctx *ctx, int argc, char **argv)
{
    xv_edit e;
    xenvf_map_pf *pf;
    xenvf_map_vf *vf;
    const xv_pf *live;
    char *pf_arg = NULL, who[96];
    const char *domain;
    long index;
    int rc, first;
    xenvf_err err;

    if ((rc = xv_parse_common(ctx, "assign", false, argc, argv, &first)) >= 0)
        return rc;
    if (argc - first != 2)
        return xv_usage_error("assign",
                              "assign: expected PF[#INDEX] DOMAIN, got %d "
                              "argument%s",
                              argc - first, argc - first == 1 ? "" : "s");
    domain = argv[first + 1];
    if (!xv_domain_name_valid(domain))
        return xv_usage_error("assign",
                              "assign: '%s' is not a guest name "
                              "([A-Za-z0-9_.-], at most %d)",
                              domain, XENVF_MAP_NAME_MAX);
    if ((rc = xv_parse_pf_index("assign", argv[first], &pf_arg, &index)))
        return rc;
    if ((rc = check_arg_pf("assign", pf_arg))) {
        free(pf_arg);
        return rc;
    }

    xenvf_err_init(&err);
    xv_edit_init(&e, ctx);
    rc = XV_EXIT_ERROR;
    if (xv_edit_begin(&e, false) || !(pf = xv_edit_find_pf(&e, pf_arg)))
        goto out;
    live = xv_edit_live_pf(&e, pf);

    if (index < 0) {
        /* the lowest VF neither the map nor a running domain holds */
        for (unsigned i = 0; i < pf->numvfs && index < 0; i++) {
            vf = xenvf_map_find_vf(pf, i);
            if ((!vf || !vf->domain) &&
                !used_by_other(&e, live_vf(live, i), domain))
                index = i;
        }
        if (index < 0) {
            if (pf->numvfs == 0)
                xv_error("pf %s: has no VFs (NumVFs 0): give it some with "
                         "'xenvf set-numvfs %s N'",
                         pf->id, pf->id);
            else
                xv_error("pf %s: no free vf: all %u are assigned or in use",
                         pf->id, pf->numvfs);
            goto out;
        }
    } else if ((unsigned long)index >= pf->numvfs) {
        xv_error("pf %s: vf %ld does not exist (NumVFs %u)", pf->id, index,
                 pf->numvfs);
        goto out;
    }

    vf = xenvf_map_find_vf(pf, (unsigned)index);
    if (vf && vf->domain && !strcmp(vf->domain, domain)) {
        printf("pf %s: vf %ld is already assigned to %s\n", pf->id, index,
               domain);
        rc = XV_EXIT_OK;
        goto out;
    }
    if (vf && vf->domain) {
        xv_error("pf %s: vf %ld is assigned to %s (release it first: "
                 "'xenvf release %s#%ld')",
                 pf->id, index, vf->domain, pf->id, index);
        goto out;
    }
    if (used_by_other(&e, live_vf(live, (unsigned)index), domain)) {
        holder_text(&e, live_vf(live, (unsigned)index)->domid, who,
                    sizeof(who));
        xv_error("pf %s: vf %ld is in use by %s", pf->id, index, who);
        goto out;
    }

    if ((!vf && xenvf_map_pf_add_vf(pf, (unsigned)index, &vf, &err)) ||
        xenvf_map_vf_set_domain(vf, domain, &err)) {
        xv_error("pf %s: vf %ld: %s", pf->id, index, err.msg);
        goto out;
    }
    if ((rc = xv_edit_commit(&e, pf)))
        goto out;
    printf("pf %s: vf %ld assigned to %s\n", pf->id, index, domain);
    xv_edit_tcb_hint(&e);
out:
    xv_edit_dispose(&e);
    free(pf_arg);
    return rc;
}

/* ---- release ---------------------------------------------------------- */

static bool vf_has_settings(const xenvf_map_vf *vf)
{
    const xenvf_vf_config *c = &vf->config;

    return !xenvf_vf_config_is_empty(c) || vf->nr_ns;
}

/*
 * Take VF j of pf back: its domain goes, and its boot order with it (a
 * boot order belongs to the guest's boot list). A VF element left with no
 * settings is dropped, so the map keeps listing only what matters.
 */
static void release_vf(xv_edit *e, xenvf_map_pf *pf, size_t j, FILE *done)
{
    xenvf_map_vf *vf = &pf->vfs[j];
    const xenvf_vf *x = live_vf(xv_edit_live_pf(e, pf), vf->index);
    char who[96], boot[48] = "";

    if (vf->config.boot > 0)
        snprintf(boot, sizeof(boot), "; boot order %" PRId64 " dropped",
                 vf->config.boot);
    fprintf(done, "pf %s: vf %u released (was assigned to %s%s)\n", pf->id,
            vf->index, vf->domain, boot);
    if (xv_vf_in_use(x)) {
        holder_text(e, x->domid, who, sizeof(who));
        xv_warn("pf %s: vf %u is still in use by %s; it stays with it until "
                "the domain is gone",
                pf->id, vf->index, who);
    }
    xenvf_map_vf_set_domain(vf, NULL, NULL);
    xenvf_setting_unset(&vf->config, XENVF_SETTING_BOOT);
    if (vf_has_settings(vf))
        return;
    xenvf_map_vf_dispose(vf);
    memmove(vf, vf + 1, (pf->nr_vfs - j - 1) * sizeof(*vf));
    pf->nr_vfs--;
}

int xv_cmd_release(xv_ctx *ctx, int argc, char **argv)
{
    xv_edit e;
    xenvf_map_pf *pf;
    char *pf_arg = NULL;
    const char *arg;
    long index = -1;
    size_t released = 0, done_len = 0;
    char *done_text = NULL;
    FILE *done = NULL;
    int rc, first;

    if ((rc = xv_parse_common(ctx, "release", false, argc, argv, &first)) >= 0)
        return rc;
    if (argc - first != 1)
        return xv_usage_error("release",
                              "release: expected PF#INDEX or DOMAIN, got %d "
                              "arguments",
                              argc - first);
    arg = argv[first];
    if (strchr(arg, '#')) {
        if ((rc = xv_parse_pf_index("release", arg, &pf_arg, &index)))
            return rc;
        if ((rc = check_arg_pf("release", pf_arg))) {
            free(pf_arg);
            return rc;
        }
    } else if (!xv_domain_name_valid(arg)) {
        return xv_usage_error("release",
                              "release: '%s' is neither PF#INDEX nor a guest "
                              "name",
                              arg);
    }

    xv_edit_init(&e, ctx);
    rc = XV_EXIT_ERROR;
    /* what was released is said once the map is written */
    if (!(done = open_memstream(&done_text, &done_len))) {
        xv_error("out of memory");
        goto out;
    }
    if (xv_edit_begin(&e, false))
        goto out;
    if (pf_arg) {
        xenvf_map_vf *vf;

        if (!(pf = xv_edit_find_pf(&e, pf_arg)))
            goto out;
        if ((unsigned long)index >= pf->numvfs) {
            xv_error("pf %s: vf %ld does not exist (NumVFs %u)", pf->id, index,
                     pf->numvfs);
            goto out;
        }
        vf = xenvf_map_find_vf(pf, (unsigned)index);
        if (!vf || !vf->domain) {
            xv_error("pf %s: vf %ld is not assigned to any domain", pf->id,
                     index);
            goto out;
        }
        release_vf(&e, pf, (size_t)(vf - pf->vfs), done);
        released = 1;
    } else {
        for (size_t i = 0; i < e.map.nr_pfs; i++) {
            pf = &e.map.pfs[i];
            /* backwards: release_vf may drop the element */
            for (size_t j = pf->nr_vfs; j-- > 0;) {
                if (!pf->vfs[j].domain || strcmp(pf->vfs[j].domain, arg))
                    continue;
                release_vf(&e, pf, j, done);
                released++;
            }
        }
        if (!released) {
            if (xenvf_map_find_pf(&e.map, arg))
                xv_error("domain %s: the map assigns no VF to it (for a VF "
                         "of pf %s, say %s#INDEX)",
                         arg, arg, arg);
            else
                xv_error("domain %s: the map assigns no VF to it", arg);
            goto out;
        }
    }
    if ((rc = xv_edit_commit(&e, NULL)))
        goto out;
    fclose(done);
    done = NULL;
    fputs(done_text, stdout);
    xv_edit_tcb_hint(&e);
out:
    if (done)
        fclose(done);
    free(done_text);
    xv_edit_dispose(&e);
    free(pf_arg);
    return rc;
}
