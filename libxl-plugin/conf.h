/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The plugin's own settings: /etc/xen/xenvf-plugin.conf, in xl.cfg syntax
 * (parsed with libxlutil). $XENVF_PLUGIN_CONF names another file. A missing
 * file means the defaults; docs/plugin.md lists the keys.
 */
#ifndef XENVF_XL_CONF_H
#define XENVF_XL_CONF_H

#include <xenvf/err.h>

#define PLUGIN_CONF_PATH "/etc/xen/xenvf-plugin.conf"
#define PLUGIN_CONF_ENV  "XENVF_PLUGIN_CONF"

typedef struct plugin_conf {
    int gate_timeout_ms; /* vf= entries without timeout= (default 120 s) */
    int tcb_timeout_ms;  /* how long xenvfd may take to answer (30 s) */
    int reboot_wait_ms;  /* on reboot, how long to wait for the same VFs */
    char *tcb_socket;    /* NULL: $XENVF_TCB_SOCKET or /run/xenvf/tcb.sock */
} plugin_conf;

void plugin_conf_init(plugin_conf *c); /* the defaults */
void plugin_conf_dispose(plugin_conf *c);

/* Read path (NULL: $XENVF_PLUGIN_CONF, else PLUGIN_CONF_PATH) over the
 * defaults. Bad values are errors naming the file and the key. */
int plugin_conf_load(plugin_conf *c, const char *path, xenvf_err *err);

/* "30", "2.5" (seconds, up to 3 decimals, 0-86400) to milliseconds. */
int plugin_conf_parse_seconds(const char *s, int *ms_out);

#endif
