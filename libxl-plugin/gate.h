/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The unpause gate: a domain's vCPUs run only once every PF behind its VFs
 * says `ready` at /xenvf/pf/<id>/state. One xenstore watch per PF, and the
 * process sleeps in poll(2) until xenstored fires one (no polling of
 * values). A PF that goes `failed`, a PF not ready by its deadline, or a
 * cancel (a signal, through cancel_fd) ends the wait with a message naming
 * the PF and its last state.
 *
 * The plan (which PFs, which timeouts) outlives the xl process that built
 * the domain when it was created paused (`xl create -p`): it is stored as
 * text (gate_plan_encode) with the domain, and `xl unpause` reads it back.
 */
#ifndef XENVF_XL_GATE_H
#define XENVF_XL_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/err.h>
#include <xenvf/model.h>
#include <xenvf/proto.h>
#include <xenvf/xs.h>

#define GATE_MAX_PFS 64

typedef struct gate_pf {
    char *pf_id;
    int timeout_ms;       /* from the start of the wait; -1: no limit */
    xenvf_pf_state state; /* the last state read */
} gate_pf;

typedef struct gate_plan {
    char *domain; /* the guest's name, for messages; may be NULL */
    uint32_t domid;
    size_t nr;
    gate_pf *pfs;
    /* set by gate_wait */
    size_t culprit;     /* the PF that failed, timed out or was awaited */
    int64_t elapsed_ms; /* from the start of the wait to its end */
} gate_plan;

void gate_plan_init(gate_plan *p);
void gate_plan_dispose(gate_plan *p);
/* Wait for pf_id too; a PF already in the plan keeps the shorter limit. */
int gate_plan_add(gate_plan *p, const char *pf_id, int timeout_ms,
                  xenvf_err *err);

/* The plan as a few lines of text (for libxl's per-domain userdata), and
 * back. Decoding checks everything: it reads a file any root process can
 * write. */
int gate_plan_encode(const gate_plan *p, char **text_out, xenvf_err *err);
int gate_plan_decode(const char *text, size_t len, gate_plan *out,
                     xenvf_err *err);

typedef struct gate_hooks {
    /* Every PF is watched and read and some are not ready: about to sleep
     * (tests and benchmarks use it as "the waiter is in place"). */
    void (*waiting)(void *opaque, const gate_plan *p);
    /* Every PF is ready; `last` is the one that completed the set. Release
     * the domain here (before the watches are dropped): the return value
     * is gate_wait's. */
    int (*ready)(void *opaque, const gate_plan *p, size_t last, xenvf_err *err);
    /* Optional: is the plan's domain still there? Asked on every
     * @releaseDomain; a domain destroyed while it waits (xl destroy from
     * another shell) ends the wait at once. */
    bool (*domain_alive)(void *opaque, uint32_t domid);
    void *opaque;
    /* The caller closes the connection after the wait: skip the unwatch
     * round trips (xenstored drops a closed connection's watches). */
    bool leave_watches;
} gate_hooks;

/*
 * Wait until every PF of the plan is `ready` at the same time. cancel_fd
 * (-1: none) ends the wait when it becomes readable. Returns the ready
 * hook's rc, or XENVF_ETIMEDOUT (a PF not ready by its deadline),
 * XENVF_EIO (a PF `failed`, or cancelled), XENVF_ENOENT (the domain was
 * destroyed meanwhile), or a xenstore error; on error
 * p->culprit is the PF the message names.
 */
int gate_wait(xenvf_xs *xs, gate_plan *p, int cancel_fd,
              const gate_hooks *hooks, xenvf_err *err);

#endif
