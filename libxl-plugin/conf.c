/* SPDX-License-Identifier: LGPL-2.1-only */
/* xenvf-plugin.conf (see conf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxlutil.h>

#include "conf.h"
#include "vfcfg.h"

void plugin_conf_init(plugin_conf *c)
{
    c->gate_timeout_ms = 120 * 1000;
    c->tcb_timeout_ms = 30 * 1000;
    c->reboot_wait_ms = 10 * 1000;
    c->tcb_socket = NULL;
}

void plugin_conf_dispose(plugin_conf *c)
{
    free(c->tcb_socket);
    plugin_conf_init(c);
}

int plugin_conf_parse_seconds(const char *s, int *ms_out)
{
    vfcfg_entry e;
    char text[64];
    int rc;

    /* one grammar for seconds everywhere: the entry parser's timeout= */
    if (strlen(s) > 16)
        return XENVF_EINVAL;
    snprintf(text, sizeof(text), "pf=x,timeout=%s", s);
    vfcfg_entry_init(&e);
    rc = vfcfg_parse_entry(text, 0, &e, NULL);
    if (!rc)
        *ms_out = e.timeout_ms;
    vfcfg_entry_dispose(&e);
    return rc;
}

static int get_seconds(const XLU_Config *cfg, const char *path, const char *key,
                       int *ms, xenvf_err *err)
{
    const char *v;

    if (xlu_cfg_get_string(cfg, key, &v, 1))
        return 0; /* absent: keep the default */
    if (plugin_conf_parse_seconds(v, ms))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s: %s \"%.32s\" is not a number of seconds "
                             "0-86400",
                             path, key, v);
    return 0;
}

int plugin_conf_load(plugin_conf *c, const char *path, xenvf_err *err)
{
    XLU_Config *cfg = NULL;
    const char *v;
    int rc, e;

    if (!path)
        path = getenv(PLUGIN_CONF_ENV);
    if (!path || !*path)
        path = PLUGIN_CONF_PATH;
    if (access(path, F_OK) && errno == ENOENT)
        return 0; /* no file: the defaults */
    if (!(cfg = xlu_cfg_init(stderr, path))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    if ((e = xlu_cfg_readfile(cfg, path))) {
        rc = xenvf_err_set_errno(err, XENVF_EINVAL, e, "%s does not parse",
                                 path);
        goto out;
    }
    if ((rc = get_seconds(cfg, path, "gate_timeout", &c->gate_timeout_ms,
                          err)) ||
        (rc = get_seconds(cfg, path, "tcb_timeout", &c->tcb_timeout_ms, err)) ||
        (rc = get_seconds(cfg, path, "reboot_wait", &c->reboot_wait_ms, err)))
        goto out;
    if (!xlu_cfg_get_string(cfg, "tcb_socket", &v, 1)) {
        free(c->tcb_socket);
        if (!(c->tcb_socket = strdup(v))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    xlu_cfg_destroy(cfg);
    return rc;
}
