/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The I/O switch's handshake (issue 15, docs/migration.md): two nodes per
 * VF under /local/domain/<domid>/xenvf/vf/<n>/.
 *
 *   switch-request  dom0 writes it, the guest reads it:
 *                   "pv VDEV"  move the VF's disk I/O to the PV disk VDEV
 *                              (xvdb: blkback on the same namespace
 *                              through the PF)
 *                   "vf"       move it back to the VF
 *   switch          the guest writes it (empty until its xenvf-guest
 *                   serves the switch): where its I/O goes now and how
 *                   long the last move paused it, or why the move failed
 *                   (its I/O stays where it was):
 *                   "vf", "pv", "vf paused=0.001234", "error: TEXT"
 *
 * Every answer is a new write, so dom0 waits for the watch event on
 * `switch` after its request and reads it.
 */
#ifndef XENVF_SWITCH_H
#define XENVF_SWITCH_H

#include <stddef.h>

#include <xenvf/err.h>

typedef enum xenvf_io_path {
    XENVF_PATH_VF,
    XENVF_PATH_PV,
} xenvf_io_path;

#define XENVF_SWITCH_VDEV_MAX     16 /* "xvdb", with its NUL */
#define XENVF_SWITCH_REQUEST_MAX  24
#define XENVF_SWITCH_STATE_MAX    256
#define XENVF_SWITCH_NODE         "switch"
#define XENVF_SWITCH_REQUEST_NODE "switch-request"

typedef struct xenvf_switch_request {
    xenvf_io_path to;
    char vdev[XENVF_SWITCH_VDEV_MAX]; /* XENVF_PATH_PV: the PV disk */
} xenvf_switch_request;

/* "pv VDEV" (VDEV a lower-case letter, then letters and digits) or "vf". */
int xenvf_switch_request_parse(const char *text, xenvf_switch_request *out,
                               xenvf_err *err);
void xenvf_switch_request_format(const xenvf_switch_request *r,
                                 char buf[XENVF_SWITCH_REQUEST_MAX]);

typedef enum xenvf_switch_kind {
    XENVF_SWITCH_NONE,  /* empty: the guest does not serve the switch */
    XENVF_SWITCH_ON,    /* on path `on` */
    XENVF_SWITCH_ERROR, /* the last request failed: `msg` */
} xenvf_switch_kind;

typedef struct xenvf_switch_state {
    xenvf_switch_kind kind;
    xenvf_io_path on;
    long paused_us; /* the last move's pause; -1: none given */
    char msg[XENVF_SWITCH_STATE_MAX - 8]; /* after "error: " */
} xenvf_switch_state;

/* The guest's `switch` value (NULL or "" is XENVF_SWITCH_NONE). */
int xenvf_switch_state_parse(const char *text, xenvf_switch_state *out,
                             xenvf_err *err);
void xenvf_switch_state_format(const xenvf_switch_state *s,
                               char buf[XENVF_SWITCH_STATE_MAX]);

#endif
