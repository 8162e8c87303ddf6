/* SPDX-License-Identifier: LGPL-2.1-only */
/* xenvf list: one line per SR-IOV PF, managed or not. */
#include <stdio.h>

#include "xenvf.h"

static void cell_num(xv_table *t, long v)
{
    if (v < 0)
        xv_table_cell(t, "-");
    else
        xv_table_cell(t, "%ld", v);
}

static void print_table(const xv_view *v)
{
    static const char *const heads[] = {
        "PF",   "BDF",  "DRIVER", "TOTALVFS", "NUMVFS",
        "FREE", "RSVD", "ACTIVE", "STATE",
    };
    static const bool right[] = {
        false, false, false, true, true, true, true, true, false,
    };
    char b[XENVF_BDF_STR_MAX];
    xv_table t;

    xv_table_init(&t, sizeof(heads) / sizeof(heads[0]), heads, right);
    for (size_t i = 0; i < v->nr_pfs; i++) {
        const xv_pf *pf = &v->pfs[i];

        xv_table_cell(&t, "%s", pf->id ? pf->id : "-");
        xenvf_bdf_format(&pf->bdf, b);
        xv_table_cell(&t, "%s", b);
        xv_table_cell(&t, "%s",
                      pf->hw && pf->hw->driver ? pf->hw->driver : "-");
        cell_num(&t, pf->totalvfs);
        /* a change the map wants and xenvfd has not made yet: "now->map" */
        if (pf->numvfs >= 0 && pf->map_numvfs >= 0 &&
            pf->numvfs != pf->map_numvfs)
            xv_table_cell(&t, "%ld->%ld", pf->numvfs, pf->map_numvfs);
        else if (pf->numvfs < 0 && pf->map_numvfs >= 0)
            xv_table_cell(&t, "?->%ld", pf->map_numvfs);
        else
            cell_num(&t, pf->numvfs);
        cell_num(&t, pf->nr_free);
        cell_num(&t, pf->nr_reserved);
        cell_num(&t, pf->nr_active);
        xv_table_cell(&t, "%s", xv_pf_state_text(pf));
    }
    xv_table_print(&t, stdout);
    xv_table_dispose(&t);
}

int xv_cmd_list(xv_ctx *ctx, int argc, char **argv)
{
    xv_view v;
    xv_json j;
    int rc, first;

    if ((rc = xv_parse_common(ctx, "list", true, argc, argv, &first)) >= 0)
        return rc;
    if (first < argc)
        return xv_usage_error("list", "list: unexpected argument '%s'",
                              argv[first]);

    if ((rc = xv_view_open(&v, ctx)))
        goto out;
    xv_view_warn(&v, ctx);
    if (!ctx->json) {
        print_table(&v);
        rc = fflush(stdout) ? XV_EXIT_ERROR : XV_EXIT_OK;
        goto out;
    }
    xv_json_init(&j, true);
    xv_json_open_map(&j, NULL);
    xv_json_open_array(&j, "pfs");
    for (size_t i = 0; i < v.nr_pfs; i++)
        xv_json_pf(&j, &v, &v.pfs[i], false);
    xv_json_close_array(&j);
    xv_json_close_map(&j);
    rc = xv_json_flush(&j, stdout);
    xv_json_dispose(&j);
out:
    xv_view_dispose(&v);
    return rc;
}
