/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf status: is xenvfd (tcb) up, is xenstore readable, is the map valid
 * for this machine, and what state is each PF in. The exit status answers
 * the first three for scripts (xenvf(1)).
 */
#include <stdio.h>
#include <stdlib.h>

#include <xenvf/client.h>

#include "xenvf.h"

const char *xv_tcb_socket(const xv_ctx *ctx)
{
    const char *env = getenv(XENVF_TCB_SOCKET_ENV);

    if (ctx->socket_path)
        return ctx->socket_path;
    return env && *env ? env : XENVF_TCB_SOCKET;
}

int xv_tcb_ping(const xv_ctx *ctx, int timeout_ms, xenvf_err *err)
{
    xenvf_client c;
    xenvf_request req;
    xenvf_response resp;
    int rc;

    xenvf_client_init(&c);
    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    req.op = XENVF_OP_PING;
    rc = xenvf_client_connect(&c, xv_tcb_socket(ctx), err);
    if (rc)
        goto out;
    rc = xenvf_client_call(&c, &req, &resp, timeout_ms, err);
    if (rc)
        goto out;
    if (resp.rc)
        rc = xenvf_err_set(err, resp.rc, "xenvfd refused ping: %s",
                           resp.error ? resp.error : xenvf_rc_name(resp.rc));
out:
    xenvf_response_dispose(&resp);
    xenvf_request_dispose(&req);
    xenvf_client_dispose(&c);
    return rc;
}

typedef struct status {
    bool tcb_up;
    xenvf_err tcb_err;
    bool map_valid;       /* present, parsed, checked, and fits the hardware */
    const char *hw_check; /* "ok", "failed", "skipped" */
} status;

static void print_text(const xv_ctx *ctx, const xv_view *v, const status *s)
{
    size_t assigned = 0, published = 0;
    char key[64];

    if (s->tcb_up)
        xv_kv(stdout, "xenvfd (tcb)", "up (%s)", xv_tcb_socket(ctx));
    else
        xv_kv(stdout, "xenvfd (tcb)", "NOT REACHABLE: %s", s->tcb_err.msg);

    if (v->xs_ok)
        xv_kv(stdout, "xenstore", "ok, %zu PF%s published", v->nr_xs_pfs,
              v->nr_xs_pfs == 1 ? "" : "s");
    else
        xv_kv(stdout, "xenstore", "NOT READABLE: %s", v->xs_err.msg);

    xv_kv(stdout, "map", "%s", ctx->map_path);
    for (size_t i = 0; v->map_ok && i < v->map.nr_pfs; i++)
        for (size_t j = 0; j < v->map.pfs[i].nr_vfs; j++)
            assigned += v->map.pfs[i].vfs[j].domain != NULL;
    if (!v->map_present)
        xv_kv(stdout, "map state", "absent: no PF is managed");
    else if (!v->map_ok)
        xv_kv(stdout, "map state", "INVALID: %s", v->map_err.msg);
    else
        xv_kv(stdout, "map state", "valid, %zu PF%s, %zu VF%s assigned",
              v->map.nr_pfs, v->map.nr_pfs == 1 ? "" : "s", assigned,
              assigned == 1 ? "" : "s");
    if (v->map_hw_checked && v->map_hw_rc)
        xv_kv(stdout, "hardware check", "FAILED: %s", v->map_hw_err.msg);
    else if (v->map_hw_checked)
        xv_kv(stdout, "hardware check", "ok, %zu SR-IOV PF%s in sysfs",
              v->nr_hw, v->nr_hw == 1 ? "" : "s");
    else if (!v->hw_ok)
        xv_kv(stdout, "hardware check", "skipped: discovery failed: %s",
              v->hw_err.msg);
    else
        xv_kv(stdout, "hardware check", "skipped: no valid map");

    for (size_t i = 0; i < v->nr_pfs; i++) {
        const xv_pf *pf = &v->pfs[i];

        if (!pf->map_pf && !pf->xs_pf)
            continue; /* not ours: `xenvf list` shows it */
        published += pf->xs_pf != NULL;
        snprintf(key, sizeof(key), "pf %s", pf->id);
        if (!pf->xs_pf)
            xv_kv(stdout, key, "not published (xenvfd has not applied it)");
        else
            xv_kv(stdout, key, "%s, %ld of %ld VF%s in use%s",
                  xv_pf_state_text(pf), pf->nr_reserved + pf->nr_active,
                  pf->numvfs < 0 ? 0 : pf->numvfs, pf->numvfs == 1 ? "" : "s",
                  pf->map_pf ? "" : " (not in the map)");
    }
}

static int print_json(const xv_ctx *ctx, const xv_view *v, const status *s,
                      int code)
{
    xv_json j;
    int rc;

    xv_json_init(&j, true);
    xv_json_open_map(&j, NULL);

    xv_json_open_map(&j, "tcb");
    xv_json_str(&j, "socket", xv_tcb_socket(ctx));
    xv_json_bool(&j, "reachable", s->tcb_up);
    xv_json_str(&j, "error", s->tcb_up ? NULL : s->tcb_err.msg);
    xv_json_close_map(&j);

    xv_json_open_map(&j, "xenstore");
    xv_json_bool(&j, "readable", v->xs_ok);
    xv_json_str(&j, "error", v->xs_ok ? NULL : v->xs_err.msg);
    xv_json_int_or_null(&j, "published", v->xs_ok ? (long)v->nr_xs_pfs : -1);
    xv_json_close_map(&j);

    xv_json_open_map(&j, "map");
    xv_json_str(&j, "path", ctx->map_path);
    xv_json_bool(&j, "present", v->map_present);
    xv_json_bool(&j, "valid", s->map_valid);
    xv_json_str(&j, "error",
                v->map_present && !v->map_ok        ? v->map_err.msg
                : v->map_hw_checked && v->map_hw_rc ? v->map_hw_err.msg
                                                    : NULL);
    xv_json_str(&j, "hardware_check", s->hw_check);
    xv_json_int_or_null(&j, "pfs", v->map_ok ? (long)v->map.nr_pfs : -1);
    xv_json_close_map(&j);

    xv_json_open_array(&j, "pfs");
    for (size_t i = 0; i < v->nr_pfs; i++)
        if (v->pfs[i].map_pf || v->pfs[i].xs_pf)
            xv_json_pf(&j, v, &v->pfs[i], false);
    xv_json_close_array(&j);
    xv_json_int(&j, "exit", code);
    xv_json_close_map(&j);
    rc = xv_json_flush(&j, stdout);
    xv_json_dispose(&j);
    return rc;
}

int xv_cmd_status(xv_ctx *ctx, int argc, char **argv)
{
    xv_view v;
    status s = {0};
    int rc, first, code;

    if ((rc = xv_parse_common(ctx, "status", true, argc, argv, &first)) >= 0)
        return rc;
    if (first < argc)
        return xv_usage_error("status", "status: unexpected argument '%s'",
                              argv[first]);

    xenvf_err_init(&s.tcb_err);
    s.tcb_up = !xv_tcb_ping(ctx, XV_PING_TIMEOUT_MS, &s.tcb_err);

    if ((rc = xv_view_open(&v, ctx)))
        goto out;
    s.map_valid =
        v.map_present && v.map_ok && !(v.map_hw_checked && v.map_hw_rc);
    s.hw_check = !v.map_hw_checked ? "skipped" : v.map_hw_rc ? "failed" : "ok";

    /* The TCB comes first: without it nothing is applied at all. A missing
     * map is not an error (nothing is managed yet); a bad one is. */
    if (!s.tcb_up)
        code = XV_EXIT_TCB;
    else if ((v.map_present && !s.map_valid) || !v.xs_ok)
        code = XV_EXIT_ERROR;
    else
        code = XV_EXIT_OK;

    if (ctx->json)
        rc = print_json(ctx, &v, &s, code);
    else {
        print_text(ctx, &v, &s);
        rc = fflush(stdout) ? XV_EXIT_ERROR : XV_EXIT_OK;
    }
    if (!rc)
        rc = code;
out:
    xv_view_dispose(&v);
    return rc;
}
