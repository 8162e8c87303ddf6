/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf watch [PF]: one line per change under /xenvf, as it happens.
 *
 * A xenstore watch says only "something at or below this path changed",
 * so we keep the last value of every node (a sorted cache, filled once at
 * start) and compare on each event: that gives old and new values, says
 * which nodes went with a removed subtree, and drops events that changed
 * nothing (the one xenstored fires when the watch is set). The process
 * sleeps in poll(2) on the xenstore descriptor and a signalfd: no timer,
 * no polling. SIGINT and SIGTERM end it cleanly with exit status 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <xenvf/log.h>
#include <xenvf/text.h>

#include "xenvf.h"

#define WATCH_TOKEN    "xenvf-cli-watch"
#define FIRST_EVENT_MS 5000

typedef struct node {
    char *path;
    char *value;
} node;

typedef struct cache {
    node *v;
    size_t nr, cap;
} cache;

static void cache_dispose(cache *c)
{
    for (size_t i = 0; i < c->nr; i++) {
        free(c->v[i].path);
        free(c->v[i].value);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

/* First position whose path is >= path. */
static size_t cache_lower(const cache *c, const char *path)
{
    size_t lo = 0, hi = c->nr;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(c->v[mid].path, path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static node *cache_find(const cache *c, const char *path)
{
    size_t i = cache_lower(c, path);

    return i < c->nr && !strcmp(c->v[i].path, path) ? &c->v[i] : NULL;
}

/* Insert at position i (keeps the order); takes path and value. */
static int cache_insert_at(cache *c, size_t i, char *path, char *value)
{
    if (c->nr == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        node *v = realloc(c->v, ncap * sizeof(*v));

        if (!v)
            return -1;
        c->v = v;
        c->cap = ncap;
    }
    memmove(&c->v[i + 1], &c->v[i], (c->nr - i) * sizeof(*c->v));
    c->v[i].path = path;
    c->v[i].value = value;
    c->nr++;
    return 0;
}

static void cache_drop(cache *c, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        free(c->v[i].path);
        free(c->v[i].value);
    }
    memmove(&c->v[from], &c->v[to], (c->nr - to) * sizeof(*c->v));
    c->nr -= to - from;
}

/* Remove path and everything below it; returns how many nodes went. The
 * nodes below "<path>" are the ones starting "<path>/": contiguous in
 * strcmp order, though not next to "<path>" ("<path>-x" sorts between). */
static size_t cache_remove_tree(cache *c, const char *path)
{
    size_t gone = 0, from, to, len = strlen(path);
    node *n = cache_find(c, path);
    char *below;

    if (n) {
        cache_drop(c, (size_t)(n - c->v), (size_t)(n - c->v) + 1);
        gone++;
    }
    if (asprintf(&below, "%s/", path) < 0)
        return gone;
    from = to = cache_lower(c, below);
    while (to < c->nr && !strncmp(c->v[to].path, below, len + 1))
        to++;
    cache_drop(c, from, to);
    free(below);
    return gone + (to - from);
}

static int node_cmp(const void *a, const void *b)
{
    return strcmp(((const node *)a)->path, ((const node *)b)->path);
}

/* Read the subtree at path into the cache (unsorted; sorted by caller). */
static int snapshot(xenvf_xs *xs, cache *c, const char *path, xenvf_err *err)
{
    char *value = NULL, **ents = NULL, *p;
    unsigned nr = 0;
    int rc;

    if ((rc = xenvf_xs_read(xs, path, &value, err)))
        return rc;
    if (!value)
        return 0; /* gone while we looked */
    if (!(p = strdup(path)) || cache_insert_at(c, c->nr, p, value)) {
        free(p);
        free(value);
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    }
    if ((rc = xenvf_xs_directory(xs, path, &ents, &nr, err)))
        return rc;
    for (unsigned i = 0; i < nr && !rc; i++) {
        char *child;

        if (asprintf(&child, "%s/%s", path, ents[i]) < 0) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            break;
        }
        rc = snapshot(xs, c, child, err);
        free(child);
    }
    free(ents);
    return rc;
}

/* ---- output ----------------------------------------------------------- */

typedef struct where {
    char pf[XENVF_ID_MAX + 1]; /* "" when not under /xenvf/pf/<id> */
    long vf;                   /* -1 when not under .../vf/<n> */
    const char *leaf;          /* the rest; "" for the object itself */
} where;

/* /xenvf/pf/<id>[/vf/<n>][/<leaf>] */
static void locate(const char *path, where *w)
{
    static const char pfx[] = XENVF_XS_PFS "/";
    const char *p = path + sizeof(pfx) - 1, *slash;
    size_t len;

    w->pf[0] = '\0';
    w->vf = -1;
    w->leaf = path;
    if (strncmp(path, pfx, sizeof(pfx) - 1))
        return;
    slash = strchr(p, '/');
    len = slash ? (size_t)(slash - p) : strlen(p);
    if (!len || len > XENVF_ID_MAX)
        return;
    memcpy(w->pf, p, len);
    w->pf[len] = '\0';
    w->leaf = slash ? slash + 1 : "";
    if (!strncmp(w->leaf, "vf/", 3)) {
        uint64_t n;
        const char *q = w->leaf + 3, *s2 = strchr(q, '/');
        char num[8];

        len = s2 ? (size_t)(s2 - q) : strlen(q);
        if (len && len < sizeof(num)) {
            memcpy(num, q, len);
            num[len] = '\0';
            if (!xenvf_parse_uint(num, UINT16_MAX, &n, NULL)) {
                w->vf = (long)n;
                w->leaf = s2 ? s2 + 1 : "";
            }
        }
    }
}

static const char *quoted(const char *v, char *buf, size_t size)
{
    char *c = xv_clean(v);

    snprintf(buf, size, *c ? "%s" : "\"%s\"", c);
    free(c);
    return buf;
}

/* event: "created", "changed" or "removed"; old/value NULL when none. */
static int emit(const xv_ctx *ctx, const char *path, const char *event,
                const char *old, const char *value)
{
    char ts[XENVF_LOG_STAMP_MAX], obj[64], ob[256], vb[256];
    where w;
    xv_json j;

    xenvf_log_timestamp(ts);
    locate(path, &w);
    if (ctx->json) {
        int rc;

        xv_json_init(&j, false);
        xv_json_open_map(&j, NULL);
        xv_json_str(&j, "time", ts);
        xv_json_str(&j, "path", path);
        xv_json_str(&j, "pf", w.pf[0] ? w.pf : NULL);
        xv_json_int_or_null(&j, "vf", w.vf);
        xv_json_str(&j, "node", w.pf[0] && *w.leaf ? w.leaf : NULL);
        xv_json_str(&j, "event", event);
        xv_json_str(&j, "old", old);
        xv_json_str(&j, "value", value);
        xv_json_close_map(&j);
        rc = xv_json_flush(&j, stdout);
        xv_json_dispose(&j);
        return rc;
    }
    if (!w.pf[0])
        snprintf(obj, sizeof(obj), "%s", path);
    else if (w.vf < 0)
        snprintf(obj, sizeof(obj), "pf %s", w.pf);
    else
        snprintf(obj, sizeof(obj), "pf %s vf %ld", w.pf, w.vf);
    if (!w.pf[0] || !*w.leaf)
        printf("%s %s: %s\n", ts, obj, event);
    else if (!strcmp(event, "changed"))
        printf("%s %s: %s: %s -> %s\n", ts, obj, w.leaf,
               quoted(old, ob, sizeof(ob)), quoted(value, vb, sizeof(vb)));
    else if (!strcmp(event, "created"))
        printf("%s %s: %s = %s\n", ts, obj, w.leaf,
               quoted(value, vb, sizeof(vb)));
    else if (old && *old)
        printf("%s %s: %s removed (was %s)\n", ts, obj, w.leaf,
               quoted(old, ob, sizeof(ob)));
    else
        printf("%s %s: %s removed\n", ts, obj, w.leaf);
    return ferror(stdout) ? XV_EXIT_ERROR : XV_EXIT_OK;
}

/* Directories that only hold objects: their own events say nothing. */
static bool structural(const char *path)
{
    where w;

    if (!strcmp(path, XENVF_XS_ROOT) || !strcmp(path, XENVF_XS_PFS))
        return true;
    locate(path, &w);
    return w.pf[0] && w.vf < 0 && !strcmp(w.leaf, "vf");
}

/* One event: compare the node with the cache, print, update the cache. */
static int handle(const xv_ctx *ctx, xenvf_xs *xs, cache *c, const char *path)
{
    char *value = NULL, *p;
    xenvf_err err;
    node *n;
    int rc = XV_EXIT_OK;

    xenvf_err_init(&err);
    if (xenvf_xs_read(xs, path, &value, &err)) {
        if (err.rc == XENVF_EPERM)
            return XV_EXIT_OK; /* not ours to see */
        /* also what a lost connection to xenstored looks like */
        xv_error("watch stopped: %s", err.msg);
        return XV_EXIT_ERROR;
    }
    n = cache_find(c, path);
    if (!value) {
        char *old = n ? strdup(n->value) : NULL;

        if (n && !old) {
            xv_error("out of memory");
            return XV_EXIT_ERROR;
        }
        /* a node we never saw, with nothing seen below it: nothing that
         * was shown has changed */
        if (cache_remove_tree(c, path))
            rc = emit(ctx, path, "removed", old, NULL);
        free(old);
        return rc;
    }
    if (n) {
        if (!strcmp(n->value, value)) {
            free(value);
            return XV_EXIT_OK;
        }
        if (!structural(path))
            rc = emit(ctx, path, "changed", n->value, value);
        free(n->value);
        n->value = value;
        return rc;
    }
    if (!structural(path))
        rc = emit(ctx, path, "created", NULL, value);
    if (!(p = strdup(path)) ||
        cache_insert_at(c, cache_lower(c, path), p, value)) {
        free(p);
        free(value);
        xv_error("out of memory");
        return XV_EXIT_ERROR;
    }
    return rc;
}

/* Wait (bounded) for the event xenstored fires when our watch is set. */
static int first_event(xenvf_xs *xs, xenvf_err *err)
{
    for (;;) {
        char *path = NULL, *token = NULL;
        int rc = xenvf_xs_wait_event(xs, FIRST_EVENT_MS, &path, &token, err);
        bool ours = !rc && !strcmp(token, WATCH_TOKEN);

        free(path);
        free(token);
        if (rc == XENVF_ETIMEDOUT) {
            xenvf_err_init(err);
            return 0; /* a xenstored that does not fire it: go on */
        }
        if (rc || ours)
            return rc;
    }
}

int xv_cmd_watch(xv_ctx *ctx, int argc, char **argv)
{
    char path[XENVF_XS_PATH_MAX], *ev_path = NULL, *ev_token = NULL;
    xenvf_xs xs;
    xenvf_err err;
    cache c = {0};
    sigset_t mask, old_mask;
    int rc, first, sfd = -1;
    bool watching = false;

    if ((rc = xv_parse_common(ctx, "watch", true, argc, argv, &first)) >= 0)
        return rc;
    if (argc - first > 1)
        return xv_usage_error("watch", "watch: unexpected argument '%s'",
                              argv[first + 1]);
    if (argc - first == 1 && !xenvf_id_valid(argv[first]))
        return xv_usage_error("watch", "watch: '%s' is not a PF id",
                              argv[first]);
    if (argc - first == 1)
        xenvf_xs_pf_path(path, argv[first], "%s", "");
    else
        snprintf(path, sizeof(path), XENVF_XS_ROOT);

    /* Block the signals before libxenstore starts its reader thread, so
     * that they reach only the signalfd. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, &old_mask);
    xenvf_xs_init(&xs);
    xenvf_err_init(&err);
    rc = XV_EXIT_ERROR;
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        xv_error("signalfd: %s", strerror(errno));
        goto out;
    }
    if (xenvf_xs_open(&xs, &err)) {
        xv_error("%s", err.msg);
        goto out;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* a line as soon as it happens */
    /* the pipe behind the descriptor must exist before the first event */
    if (xenvf_xs_fileno(&xs) < 0) {
        xv_error("xenstore: no descriptor to wait on");
        goto out;
    }
    if (xenvf_xs_watch(&xs, path, WATCH_TOKEN, &err)) {
        xv_error("%s", err.msg);
        goto out;
    }
    watching = true;
    /* xenstored fires a new watch once straight away; it comes before any
     * real change, so take it now and start from a quiet queue */
    if (first_event(&xs, &err)) {
        xv_error("%s", err.msg);
        goto out;
    }
    /* after the watch is set, so no change falls between the two */
    if (snapshot(&xs, &c, path, &err)) {
        xv_error("%s", err.msg);
        goto out;
    }
    if (c.nr)
        qsort(c.v, c.nr, sizeof(*c.v), node_cmp);
    if (ctx->verbose) /* scripts and tests wait for this line */
        fprintf(stderr, "xenvf: watching %s\n", path);

    for (;;) {
        struct pollfd pfd[2] = {
            {.fd = sfd, .events = POLLIN},
            {.fd = xenvf_xs_fileno(&xs), .events = POLLIN},
        };

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            xv_error("poll: %s", strerror(errno));
            goto out;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;

            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
                (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)) {
                rc = XV_EXIT_OK;
                goto out;
            }
        }
        if (!pfd[1].revents)
            continue;
        /* drain every queued event; timeout 0 says "none left" */
        for (;;) {
            int r = xenvf_xs_wait_event(&xs, 0, &ev_path, &ev_token, &err);

            if (r == XENVF_ETIMEDOUT)
                break;
            if (r) {
                xv_error("watch stopped: %s", err.msg);
                goto out;
            }
            if (!strcmp(ev_token, WATCH_TOKEN) &&
                handle(ctx, &xs, &c, ev_path)) {
                goto out;
            }
            free(ev_path);
            free(ev_token);
            ev_path = ev_token = NULL;
        }
    }
out:
    free(ev_path);
    free(ev_token);
    if (watching)
        xenvf_xs_unwatch(&xs, path, WATCH_TOKEN, NULL);
    xenvf_xs_dispose(&xs);
    cache_dispose(&c);
    if (sfd >= 0)
        close(sfd);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    fflush(stdout);
    return rc;
}
