/* SPDX-License-Identifier: LGPL-2.1-only */
/* xenvf show PF: one PF in full, and every VF it has. */
#include <stdio.h>
#include <stdlib.h>

#include <xenvf/text.h>

#include "xenvf.h"

static const char *num_text(long v, char buf[24])
{
    if (v < 0)
        return "-";
    snprintf(buf, 24, "%ld", v);
    return buf;
}

static void print_pf(const xv_ctx *ctx, const xv_pf *pf)
{
    char b[XENVF_BDF_STR_MAX], n1[24], n2[24], n3[24];
    const char *owner_name = xv_pf_owner_name(pf);

    xenvf_bdf_format(&pf->bdf, b);
    xv_kv(stdout, "id", "%s", pf->id ? pf->id : "-");
    xv_kv(stdout, "bdf", "%s", b);
    if (pf->map_pf)
        xv_kv(stdout, "managed", "yes (%s line %u)", ctx->map_path,
              pf->map_pf->line);
    else
        xv_kv(stdout, "managed", "no (not in the map %s)", ctx->map_path);
    if (pf->hw) {
        xv_kv(stdout, "driver", "%s", pf->hw->driver ? pf->hw->driver : "-");
        xv_kv(stdout, "device", "%04x:%04x (VFs %04x:%04x)", pf->hw->vendor_id,
              pf->hw->device_id, pf->hw->vendor_id, pf->hw->vf_device_id);
    } else {
        xv_kv(stdout, "driver", "- (not found in sysfs)");
    }
    xv_kv(stdout, "totalvfs", "%s", num_text(pf->totalvfs, n1));
    xv_kv(stdout, "numvfs", "%s", num_text(pf->numvfs, n1));
    xv_kv(stdout, "map numvfs", "%s", num_text(pf->map_numvfs, n1));
    if (owner_name)
        xv_kv(stdout, "owner", "%s (%s)", owner_name,
              xv_pf_owner_domid(pf) < 0 ? "not running"
                                        : num_text(xv_pf_owner_domid(pf), n1));
    else
        xv_kv(stdout, "owner", "%s", num_text(xv_pf_owner_domid(pf), n1));
    if (pf->xs_pf)
        xv_kv(stdout, "state", "%s", xv_pf_state_text(pf));
    else
        xv_kv(stdout, "state", "- (not published in xenstore)");
    xv_kv(stdout, "vfs free/rsvd/active", "%s/%s/%s", num_text(pf->nr_free, n1),
          num_text(pf->nr_reserved, n2), num_text(pf->nr_active, n3));
}

/* The NIC VFs' traffic counters, with the domain holding each VF, when
 * the PF agent published any. */
static void print_counters(const xv_pf *pf)
{
    char buf[XENVF_VF_STATS_STR_MAX], who[64];
    bool head = false;

    for (size_t i = 0; i < pf->nr_vfs; i++) {
        const xv_vf *vf = &pf->vfs[i];
        const char *c = xv_vf_counters_text(vf, buf);

        if (!c)
            continue;
        if (!head)
            fputs("\nVF counters (from the PF driver):\n", stdout);
        head = true;
        if (vf->xs_vf->domid != XENVF_DOMID_NONE)
            snprintf(who, sizeof(who), " (%s, domid %u)",
                     vf->holder_name ? vf->holder_name : "-", vf->xs_vf->domid);
        else
            who[0] = '\0';
        printf("  vf %u%s: %s\n", vf->index, who, c);
    }
}

static void print_vfs(const xv_pf *pf)
{
    static const char *const heads[] = {
        "VF", "BDF", "STATE", "DOMID", "NAME", "ASSIGNED", "SETTINGS", "GUEST",
    };
    static const bool right[] = {
        true, false, false, true, false, false, false, false,
    };
    char b[XENVF_BDF_STR_MAX], settings[512], q[XENVF_QUOTE_MAX];
    xv_table t;

    xv_table_init(&t, sizeof(heads) / sizeof(heads[0]), heads, right);
    for (size_t i = 0; i < pf->nr_vfs; i++) {
        const xv_vf *vf = &pf->vfs[i];
        const xenvf_vf *x = vf->xs_vf;

        xv_table_cell(&t, "%u", vf->index);
        if (vf->bdf_known) {
            xenvf_bdf_format(&vf->bdf, b);
            xv_table_cell(&t, "%s", b);
        } else {
            xv_table_cell(&t, "-");
        }
        if (x)
            xv_table_cell(&t, "%s", xenvf_vf_state_name(x->state));
        else
            xv_table_cell(&t, "%s", vf->exists ? "-" : "absent");
        if (x && x->domid != XENVF_DOMID_NONE)
            xv_table_cell(&t, "%u", x->domid);
        else
            xv_table_cell(&t, "-");
        xv_table_cell(&t, "%s", vf->holder_name ? vf->holder_name : "-");
        xv_table_cell(&t, "%s",
                      vf->map_vf && vf->map_vf->domain ? vf->map_vf->domain
                                                       : "-");
        xv_table_cell(&t, "%s",
                      xv_vf_settings_text(vf, settings, sizeof(settings)));
        /* the guest wrote it: shown quoted, never as it is */
        if (vf->guest_status)
            xenvf_quote(vf->guest_status, q, sizeof(q));
        xv_table_cell(&t, "%s", vf->guest_status ? q : "-");
    }
    xv_table_print(&t, stdout);
    xv_table_dispose(&t);
    print_counters(pf);
}

int xv_cmd_show(xv_ctx *ctx, int argc, char **argv)
{
    xv_view v;
    xv_json j;
    xv_pf *pf;
    xenvf_bdf bdf;
    xenvf_err err;
    int rc, first;

    if ((rc = xv_parse_common(ctx, "show", true, argc, argv, &first)) >= 0)
        return rc;
    if (first >= argc)
        return xv_usage_error("show", "show: which PF?");
    if (first + 1 < argc)
        return xv_usage_error("show", "show: unexpected argument '%s'",
                              argv[first + 1]);
    if (!xenvf_id_valid(argv[first]) &&
        xenvf_bdf_parse(argv[first], &bdf, NULL))
        return xv_usage_error("show",
                              "show: '%s' is neither a PF id nor a PCI address",
                              argv[first]);

    xenvf_err_init(&err);
    if ((rc = xv_view_open(&v, ctx)))
        goto out;
    xv_view_warn(&v, ctx);
    pf = xv_view_find(&v, argv[first]);
    if (!pf) {
        xv_error("pf %s: no such PF: not in the map, not published in "
                 "xenstore, not an SR-IOV PF in sysfs",
                 argv[first]);
        rc = XV_EXIT_ERROR;
        goto out;
    }
    if (xv_view_vfs(&v, pf, &err)) {
        xv_error("%s", err.msg);
        rc = XV_EXIT_ERROR;
        goto out;
    }
    if (ctx->json) {
        xv_json_init(&j, true);
        xv_json_pf(&j, &v, pf, true);
        rc = xv_json_flush(&j, stdout);
        xv_json_dispose(&j);
        goto out;
    }
    print_pf(ctx, pf);
    if (pf->nr_vfs) {
        putchar('\n');
        print_vfs(pf);
    }
    rc = fflush(stdout) ? XV_EXIT_ERROR : XV_EXIT_OK;
out:
    xv_view_dispose(&v);
    return rc;
}
