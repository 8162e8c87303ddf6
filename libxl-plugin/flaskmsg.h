/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * FLASK refusals in words (docs/xsm.md). On a hypervisor that enforces
 * FLASK, a domain build the policy refuses fails in xl with "Operation not
 * permitted" and nothing more; Xen's console has the AVC line. The plugin
 * counts those lines before a build and, when the build fails, explains
 * each new one on xl's stderr: which domain type was refused which
 * permission on which label (device or I/O memory), and what to change.
 * Without Xen, without FLASK, or when the console cannot be read: nothing.
 */
#ifndef XENVF_XL_FLASKMSG_H
#define XENVF_XL_FLASKMSG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool on;              /* FLASK enforcing and the console readable */
    unsigned long denied; /* AVC denials in the console before the build */
} xlp_flask_watch;

/* Before a build: is FLASK enforcing, and how many denials are logged. */
void xlp_flask_watch_begin(xlp_flask_watch *w);

/* After a failed build: explain the denials logged since begin. */
void xlp_flask_watch_explain(const xlp_flask_watch *w);

/* One of Xen's AVC lines ("avc:  denied  { PERM } for ... scontext=...
 * tcontext=... tclass=...") in words, into buf; false if it is not one. */
bool xlp_flask_describe(const char *line, char *buf, size_t len);

#endif
