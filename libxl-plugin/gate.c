/* SPDX-License-Identifier: LGPL-2.1-only */
/* The unpause gate (see gate.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenvf/file.h>
#include <xenvf/text.h>
#include "gate.h"
#include "log.h"

#define PLAN_MAGIC "xenvf-gate 1"

void gate_plan_init(gate_plan *p)
{
    memset(p, 0, sizeof(*p));
}

void gate_plan_dispose(gate_plan *p)
{
    for (size_t i = 0; i < p->nr; i++)
        free(p->pfs[i].pf_id);
    free(p->pfs);
    free(p->domain);
    gate_plan_init(p);
}

int gate_plan_add(gate_plan *p, const char *pf_id, int timeout_ms,
                  xenvf_err *err)
{
    gate_pf *grown;

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "gate: bad PF id '%.40s'",
                             pf_id ? pf_id : "");
    if (timeout_ms < -1)
        return xenvf_err_set(err, XENVF_EINVAL, "gate: bad timeout %d",
                             timeout_ms);
    for (size_t i = 0; i < p->nr; i++) {
        gate_pf *g = &p->pfs[i];

        if (strcmp(g->pf_id, pf_id))
            continue;
        if (g->timeout_ms < 0 ||
            (timeout_ms >= 0 && timeout_ms < g->timeout_ms))
            g->timeout_ms = timeout_ms;
        return 0;
    }
    if (p->nr >= GATE_MAX_PFS)
        return xenvf_err_set(err, XENVF_ERANGE, "gate: more than %d PFs",
                             GATE_MAX_PFS);
    if (!(grown = realloc(p->pfs, sizeof(*grown) * (p->nr + 1))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    p->pfs = grown;
    memset(&p->pfs[p->nr], 0, sizeof(p->pfs[p->nr]));
    if (!(p->pfs[p->nr].pf_id = strdup(pf_id)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    p->pfs[p->nr].timeout_ms = timeout_ms;
    p->pfs[p->nr].state = XENVF_PF_UNKNOWN;
    p->nr++;
    return 0;
}

/* ---- the plan as text ------------------------------------------------------
 *
 *   xenvf-gate 1
 *   domain web1
 *   domid 7
 *   pf nvme0 30000          (timeout in ms; -1: no limit)
 */

int gate_plan_encode(const gate_plan *p, char **text_out, xenvf_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    *text_out = NULL;
    if (!f)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    fprintf(f, PLAN_MAGIC "\n");
    if (p->domain)
        fprintf(f, "domain %s\n", p->domain);
    fprintf(f, "domid %" PRIu32 "\n", p->domid);
    for (size_t i = 0; i < p->nr; i++)
        fprintf(f, "pf %s %d\n", p->pfs[i].pf_id, p->pfs[i].timeout_ms);
    if (fclose(f) || !buf) {
        free(buf);
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    }
    *text_out = buf;
    return 0;
}

static int decode_line(char *line, gate_plan *out, bool *have_domid,
                       xenvf_err *err)
{
    char *sp = strchr(line, ' '), *arg;
    uint64_t v;
    int rc;

    if (!sp)
        return xenvf_err_set(err, XENVF_EINVAL, "'%.40s' has no value", line);
    *sp = '\0';
    arg = sp + 1;
    if (!strcmp(line, "domain")) {
        if (out->domain || !*arg || strlen(arg) > XENVF_DOMAIN_NAME_MAX)
            return xenvf_err_set(err, XENVF_EINVAL, "bad domain line");
        if (!(out->domain = strdup(arg)))
            return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        return 0;
    }
    if (!strcmp(line, "domid")) {
        if (*have_domid || (rc = xenvf_parse_uint(arg, 0x7fef, &v, err)))
            return *have_domid
                       ? xenvf_err_set(err, XENVF_EINVAL, "domid given twice")
                       : rc;
        out->domid = (uint32_t)v;
        *have_domid = true;
        return 0;
    }
    if (!strcmp(line, "pf")) {
        char *id = arg, *t = strchr(arg, ' ');
        int timeout = -1;

        if (!t)
            return xenvf_err_set(err, XENVF_EINVAL, "pf line has no timeout");
        *t++ = '\0';
        if (strcmp(t, "-1")) {
            if ((rc = xenvf_parse_uint(t, INT32_MAX, &v, err)))
                return rc;
            timeout = (int)v;
        }
        return gate_plan_add(out, id, timeout, err);
    }
    return xenvf_err_set(err, XENVF_EINVAL, "unknown line '%.40s'", line);
}

int gate_plan_decode(const char *text, size_t len, gate_plan *out,
                     xenvf_err *err)
{
    char *copy, *line, *next;
    bool have_domid = false;
    int rc = 0;

    gate_plan_dispose(out);
    if (len > 64 * 1024 || memchr(text, '\0', len))
        return xenvf_err_set(err, XENVF_EINVAL, "gate plan: not a plan");
    if (!(copy = strndup(text, len)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    line = copy;
    next = strchr(line, '\n');
    if (!next || (size_t)(next - line) != strlen(PLAN_MAGIC) ||
        strncmp(line, PLAN_MAGIC, strlen(PLAN_MAGIC))) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "not a gate plan");
        goto out;
    }
    for (line = next + 1; *line && !rc; line = next) {
        if (!(next = strchr(line, '\n'))) {
            rc = xenvf_err_set(err, XENVF_EINVAL, "unterminated line");
            break;
        }
        *next++ = '\0';
        rc = decode_line(line, out, &have_domid, err);
    }
    if (!rc && (!have_domid || !out->nr))
        rc = xenvf_err_set(err, XENVF_EINVAL, "plan lacks domid or PFs");
out:
    if (rc) {
        xenvf_err_prepend(err, "gate plan: ");
        gate_plan_dispose(out);
    }
    free(copy);
    return rc;
}

/* ---- the wait ------------------------------------------------------------ */

static unsigned gate_serial; /* tells this wait's tokens from older ones */

static void state_path(char buf[XENVF_XS_PATH_MAX], const char *pf_id)
{
    xenvf_xs_pf_path(buf, pf_id, "/state");
}

static const char *state_name(const gate_pf *g)
{
    return xenvf_pf_state_name(g->state);
}

/* Read one PF's state. A value we cannot parse (a buggy agent) is not a
 * reason to give up: it counts as unknown, the deadline still applies. */
static int read_state(xenvf_xs *xs, gate_pf *g, xenvf_err *err)
{
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    rc = xenvf_xs_get_pf_state(xs, g->pf_id, &g->state, &e);
    if (rc == XENVF_EINVAL) {
        LOG(WARN, "PF %s: %s; treating it as unknown", g->pf_id, e.msg);
        g->state = XENVF_PF_UNKNOWN;
        rc = 0;
    } else if (rc && err) {
        *err = e;
    }
    return rc;
}

#define DEATH_WATCH "@releaseDomain"
#define DEATH_TOKEN "dead"

/* Mark the PFs whose watch fired, and a domain death; events of other
 * tokens (another user of this connection, a previous wait) are not ours
 * and change nothing. */
static int drain_events(xenvf_xs *xs, const char *prefix, gate_plan *p,
                        bool *dirty, bool *death, xenvf_err *err)
{
    const size_t plen = strlen(prefix);

    for (;;) {
        char *path = NULL, *token = NULL;
        uint64_t i;
        int rc = xenvf_xs_next_event(xs, &path, &token, err); /* no sleep */

        if (rc || !path)
            return rc;
        if (!strncmp(token, prefix, plen) && !strcmp(token + plen, DEATH_TOKEN))
            *death = true;
        else if (!strncmp(token, prefix, plen) &&
                 !xenvf_parse_uint(token + plen, p->nr - 1, &i, NULL))
            dirty[i] = true;
        free(path);
        free(token);
    }
}

static bool any(const bool *flags, size_t nr)
{
    for (size_t i = 0; i < nr; i++)
        if (flags[i])
            return true;
    return false;
}

static bool all_ready(const gate_plan *p)
{
    for (size_t i = 0; i < p->nr; i++)
        if (p->pfs[i].state != XENVF_PF_READY)
            return false;
    return true;
}

/* The first PF not ready: the one a message about the wait names. */
static size_t first_waited(const gate_plan *p)
{
    size_t i = 0;

    while (i < p->nr - 1 && p->pfs[i].state == XENVF_PF_READY)
        i++;
    return i;
}

static double secs(int64_t ms)
{
    return (double)ms / 1000.0;
}

int gate_wait(xenvf_xs *xs, gate_plan *p, int cancel_fd,
              const gate_hooks *hooks, xenvf_err *err)
{
    const int64_t start = xenvf_now_ms();
    char prefix[64], path[XENVF_XS_PATH_MAX], token[96];
    bool *dirty = NULL, *was_ready = NULL, *newly = NULL, announced = false;
    bool death = false, death_watched = false;
    size_t watched = 0, last = 0;
    int rc;

    p->culprit = 0;
    p->elapsed_ms = 0;
    if (!p->nr)
        return hooks && hooks->ready ? hooks->ready(hooks->opaque, p, 0, err)
                                     : 0;
    dirty = calloc(p->nr, sizeof(*dirty));
    was_ready = calloc(p->nr, sizeof(*was_ready));
    newly = calloc(p->nr, sizeof(*newly));
    if (!dirty || !was_ready || !newly) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(prefix, sizeof(prefix), "xenvf-gate-%ld-%u-", (long)getpid(),
             ++gate_serial);
    /* watch first, then read: a change between the two is not lost */
    for (; watched < p->nr; watched++) {
        state_path(path, p->pfs[watched].pf_id);
        snprintf(token, sizeof(token), "%s%zu", prefix, watched);
        if ((rc = xenvf_xs_watch(xs, path, token, err)))
            goto out;
        dirty[watched] = true;
    }

    for (;;) {
        struct pollfd fds[2] = {
            {.fd = xenvf_xs_fileno(xs), .events = POLLIN},
            {.fd = cancel_fd, .events = POLLIN},
        };
        int64_t now, wait = -1;

        for (size_t i = 0; i < p->nr; i++) {
            if (!dirty[i])
                continue;
            dirty[i] = false;
            if ((rc = read_state(xs, &p->pfs[i], err)))
                goto out;
            newly[i] = p->pfs[i].state == XENVF_PF_READY && !was_ready[i];
            if (newly[i])
                last = i;
            was_ready[i] = p->pfs[i].state == XENVF_PF_READY;
        }
        now = xenvf_now_ms();
        p->elapsed_ms = now - start;
        if (death && !hooks->domain_alive(hooks->opaque, p->domid)) {
            p->culprit = first_waited(p);
            rc = xenvf_err_set(err, XENVF_ENOENT,
                               "the domain was destroyed after %.3f s of "
                               "waiting for PF %s (last state: %s)",
                               secs(p->elapsed_ms), p->pfs[p->culprit].pf_id,
                               state_name(&p->pfs[p->culprit]));
            goto out;
        }
        death = false;
        for (size_t i = 0; i < p->nr; i++) {
            if (p->pfs[i].state != XENVF_PF_FAILED)
                continue;
            p->culprit = i;
            rc = xenvf_err_set(err, XENVF_EIO, "PF %s failed after %.3f s",
                               p->pfs[i].pf_id, secs(p->elapsed_ms));
            goto out;
        }
        if (all_ready(p)) {
            p->culprit = last;
            rc = 0;
            if (hooks && hooks->ready)
                rc = hooks->ready(hooks->opaque, p, last, err);
            else
                LOG(INFO, "PF %s ready after %.3f s", p->pfs[last].pf_id,
                    secs(p->elapsed_ms));
            goto out;
        }
        for (size_t i = 0; announced && i < p->nr; i++) {
            if (newly[i])
                LOG(INFO, "PF %s ready after %.3f s; still waiting",
                    p->pfs[i].pf_id, secs(p->elapsed_ms));
            newly[i] = false;
        }
        for (size_t i = 0; i < p->nr; i++) {
            const gate_pf *g = &p->pfs[i];
            int64_t left;

            if (g->state == XENVF_PF_READY || g->timeout_ms < 0)
                continue;
            left = start + g->timeout_ms - now;
            if (left <= 0) {
                p->culprit = i;
                rc =
                    xenvf_err_set(err, XENVF_ETIMEDOUT,
                                  "PF %s not ready after %.3f s (last "
                                  "state: %s)",
                                  g->pf_id, secs(g->timeout_ms), state_name(g));
                goto out;
            }
            if (wait < 0 || left < wait)
                wait = left;
        }
        /* handle what is queued (the watches fire once when set, or a
         * change came in) before sleeping: "waiting" means nothing is
         * left to do */
        if ((rc = drain_events(xs, prefix, p, dirty, &death, err)))
            goto out;
        if (any(dirty, p->nr) || death)
            continue;
        if (!death_watched && hooks && hooks->domain_alive) {
            /* only a wait needs it (PFs already ready cost no request for
             * it); it fires once when set, so a death before is seen too */
            snprintf(token, sizeof(token), "%s" DEATH_TOKEN, prefix);
            if ((rc = xenvf_xs_watch(xs, DEATH_WATCH, token, err)))
                goto out;
            death_watched = true;
            continue;
        }
        if (!announced) {
            for (size_t i = 0; i < p->nr; i++)
                if (p->pfs[i].state != XENVF_PF_READY)
                    LOG(INFO, "waiting for PF %s (state %s)", p->pfs[i].pf_id,
                        state_name(&p->pfs[i]));
            if (hooks && hooks->waiting)
                hooks->waiting(hooks->opaque, p);
            announced = true;
        }
        if (poll(fds, cancel_fd >= 0 ? 2 : 1, (int)wait) < 0) {
            if (errno == EINTR)
                continue; /* a signal with a handler: re-check deadlines */
            rc = xenvf_err_set_errno(err, XENVF_EXS, errno, "poll");
            goto out;
        }
        if (cancel_fd >= 0 && fds[1].revents) {
            p->culprit = first_waited(p);
            rc = xenvf_err_set(err, XENVF_EIO,
                               "interrupted after %.3f s of waiting for PF "
                               "%s (last state: %s)",
                               secs(xenvf_now_ms() - start),
                               p->pfs[p->culprit].pf_id,
                               state_name(&p->pfs[p->culprit]));
            goto out;
        }
        if ((rc = drain_events(xs, prefix, p, dirty, &death, err)))
            goto out;
    }
out:
    if (rc)
        p->elapsed_ms = xenvf_now_ms() - start;
    /* a connection about to be closed drops its watches by itself */
    if (hooks && hooks->leave_watches)
        watched = 0;
    for (size_t i = 0; i < watched; i++) {
        state_path(path, p->pfs[i].pf_id);
        snprintf(token, sizeof(token), "%s%zu", prefix, i);
        xenvf_xs_unwatch(xs, path, token, NULL);
    }
    if (death_watched && !(hooks && hooks->leave_watches)) {
        snprintf(token, sizeof(token), "%s" DEATH_TOKEN, prefix);
        xenvf_xs_unwatch(xs, DEATH_WATCH, token, NULL);
    }
    free(dirty);
    free(was_ready);
    free(newly);
    return rc;
}
