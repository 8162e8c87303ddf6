/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The reservation socket (docs/tcb-protocol.md): JSON lines on a unix
 * stream socket, root only. Reservations belong to their connection until
 * committed; a connection that closes gives back what it reserved. The
 * codec is lib/proto.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenvf/proto.h>

#include "tcb.h"

#define MAX_CLIENTS 256

struct tcb_client {
    tcb_client *next;
    tcb *t;
    int fd;
    unsigned long id;
    char *in;
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    bool closing; /* close once out is flushed */
};

static void client_close(tcb_client *c);

/* ---- operations ------------------------------------------------------- */

static bool vf_taken(const tcb_vf *v)
{
    return v->state != XENVF_VF_FREE;
}

static const char *map_holder(tcb *t, const tcb_pf *pf, unsigned index)
{
    const xenvf_map_pf *mp = xenvf_map_find_pf(&t->map, pf->id);
    const xenvf_map_vf *mv = mp ? xenvf_map_find_vf(mp, index) : NULL;

    return mv ? mv->domain : NULL;
}

static bool picked(tcb_pf *const *pfs, const unsigned *idx, size_t n,
                   const tcb_pf *pf, unsigned i)
{
    for (size_t k = 0; k < n; k++)
        if (pfs[k] == pf && idx[k] == i)
            return true;
    return false;
}

/* Choose VF for entry k, or say why not. */
static int pick_vf(tcb *t, const xenvf_request *req, size_t k, tcb_pf **pfs,
                   unsigned *idx, xenvf_err *err)
{
    const xenvf_vf_request *r = &req->vfs[k];
    tcb_pf *pf = tcb_find_pf(t, r->pf);
    unsigned held = 0;

    if (!pf)
        return xenvf_err_set(err, XENVF_ENOENT,
                             "vfs[%zu]: pf '%s' is not in the VF map", k,
                             r->pf);
    if (!pf->present)
        return xenvf_err_set(err, XENVF_EBUSY,
                             "vfs[%zu]: pf %s has failed (gone from the "
                             "host)",
                             k, pf->id);
    pfs[k] = pf;
    if (r->index >= 0) {
        unsigned i = (unsigned)r->index;
        const char *mh = map_holder(t, pf, i);
        const tcb_vf *v;

        if (i >= pf->num_vfs)
            return xenvf_err_set(err, XENVF_ERANGE,
                                 "vfs[%zu]: pf %s has no vf %u (NumVFs %u)", k,
                                 pf->id, i, pf->num_vfs);
        if (picked(pfs, idx, k, pf, i))
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "vfs[%zu]: pf %s vf %u is asked for twice", k,
                                 pf->id, i);
        if (mh && strcmp(mh, req->domain))
            return xenvf_err_set(err, XENVF_ECONFLICT,
                                 "vfs[%zu]: pf %s vf %u is for domain '%s' "
                                 "in the VF map",
                                 k, pf->id, i, mh);
        v = &pf->vfs[i];
        if (v->domain && vf_taken(v)) {
            if (v->domid != XENVF_DOMID_NONE)
                return xenvf_err_set(err, XENVF_EBUSY,
                                     "vfs[%zu]: pf %s vf %u is held by "
                                     "domain %s (%u)",
                                     k, pf->id, i, v->domain, v->domid);
            return xenvf_err_set(err, XENVF_EBUSY,
                                 "vfs[%zu]: pf %s vf %u is reserved for "
                                 "domain %s",
                                 k, pf->id, i, v->domain);
        }
        if (vf_taken(v))
            return xenvf_err_set(err, XENVF_EBUSY,
                                 "vfs[%zu]: pf %s vf %u is %s", k, pf->id, i,
                                 xenvf_vf_state_name(v->state));
        idx[k] = i;
        return 0;
    }
    /* any: first the VFs the map gives this domain, then the free pool */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < pf->num_vfs && i < pf->nr_vfs; i++) {
            const char *mh = map_holder(t, pf, i);

            if (vf_taken(&pf->vfs[i]) || picked(pfs, idx, k, pf, i) ||
                (pass == 0 ? !mh || strcmp(mh, req->domain) : mh != NULL))
                continue;
            idx[k] = i;
            return 0;
        }
    }
    for (unsigned i = 0; i < pf->num_vfs && i < pf->nr_vfs; i++)
        held += vf_taken(&pf->vfs[i]);
    return xenvf_err_set(err, XENVF_EBUSY,
                         "vfs[%zu]: pf %s has no free VF for domain %s (%u "
                         "of %u taken, the rest given to other domains in "
                         "the VF map)",
                         k, pf->id, req->domain, held, pf->num_vfs);
}

/* Is pfs[k] one of pfs[0..k-1]? */
static bool picked_pf_before(tcb_pf *const *pfs, size_t k)
{
    for (size_t j = 0; j < k; j++)
        if (pfs[j] == pfs[k])
            return true;
    return false;
}

/* Give the first n picks back to the pool. */
static void free_picks(tcb_pf **pfs, const unsigned *idx, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        tcb_vf_clear_holder(&pfs[j]->vfs[idx[j]]);
        tcb_vf_step(pfs[j], idx[j], XENVF_VF_FREE);
    }
}

int tcb_reserve(tcb *t, unsigned long conn, const xenvf_request *req,
                xenvf_response *resp, xenvf_err *err)
{
    tcb_pf **pfs = calloc(req->nr_vfs, sizeof(*pfs));
    unsigned *idx = calloc(req->nr_vfs, sizeof(*idx));
    int rc = 0;

    if (!pfs || !idx) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < req->nr_vfs && !rc; k++) {
        rc = pick_vf(t, req, k, pfs, idx, err);
        if (rc == XENVF_EBUSY) {
            /* its holder may have just died, @releaseDomain still queued */
            tcb_domains_check(t);
            rc = pick_vf(t, req, k, pfs, idx, err);
        }
    }
    if (rc)
        goto out;
    /* all or nothing: every pick stands, now take them */
    for (size_t k = 0; k < req->nr_vfs; k++) {
        tcb_vf *v = &pfs[k]->vfs[idx[k]];
        xenvf_vf_grant *g;

        tcb_vf_clear_holder(v);
        if (!(v->domain = strdup(req->domain)) ||
            xenvf_vf_config_copy(&v->req, &req->vfs[k].config, err) ||
            !(g = xenvf_response_add_vf(resp)) ||
            !(g->pf = strdup(pfs[k]->id)) ||
            tcb_vf_config(t, pfs[k], idx[k], &g->config, err)) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            tcb_vf_clear_holder(v);
            free_picks(pfs, idx, k);
            goto out;
        }
        tcb_vf_step(pfs[k], idx[k], XENVF_VF_RESERVED);
        v->conn = conn;
        g->index = idx[k];
        g->bdf = v->bdf;
        LOG(INFO, "pf %s: vf %u reserved for %s (connection %lu)", pfs[k]->id,
            idx[k], req->domain, conn);
    }
    /* the labels before the reply that lets libxl assign the VFs: one that
     * FLASK refuses stops the reservation here, naming the device and the
     * label, instead of the hypervisor refusing the assignment later */
    for (size_t k = 0; k < req->nr_vfs && !rc; k++)
        if (!picked_pf_before(pfs, k))
            rc = tcb_flask_sync(t, pfs[k], err);
    if (rc) {
        xenvf_err_prepend(err, "domain %s: no VF reserved: ", req->domain);
        LOG(ERROR, "%s", err->msg);
        free_picks(pfs, idx, req->nr_vfs);
    }
    for (size_t k = 0; k < req->nr_vfs; k++)
        if (!picked_pf_before(pfs, k))
            tcb_publish(t, pfs[k], NULL);
out:
    free(pfs);
    free(idx);
    return rc;
}

static int do_commit(tcb_client *c, const xenvf_request *req, xenvf_err *err)
{
    tcb *t = c->t;
    unsigned nr = 0;
    bool alive;
    int rc;

    if ((rc = xenvf_xs_domain_introduced(&t->xs, req->domid, &alive, err)))
        return rc;
    if (!alive)
        return xenvf_err_set(err, XENVF_ENOENT,
                             "commit %s: domain %u does not exist", req->domain,
                             req->domid);
    for (size_t p = 0; p < t->nr_pfs; p++)
        for (size_t i = 0; i < t->pfs[p].nr_vfs; i++) {
            tcb_vf *v = &t->pfs[p].vfs[i];
            if (v->state == XENVF_VF_RESERVED && v->conn == c->id &&
                !strcmp(v->domain, req->domain)) {
                tcb_vf_step(&t->pfs[p], i, XENVF_VF_ACTIVE);
                v->domid = req->domid;
                v->conn = 0;
                nr++;
            }
        }
    if (!nr)
        return xenvf_err_set(err, XENVF_ENOENT,
                             "domain %s has no uncommitted reservation on "
                             "this connection",
                             req->domain);
    /* durable before anyone is told: a restart never loses it */
    if ((rc = tcb_state_save(t, err))) {
        for (size_t p = 0; p < t->nr_pfs; p++)
            for (size_t i = 0; i < t->pfs[p].nr_vfs; i++) {
                tcb_vf *v = &t->pfs[p].vfs[i];
                if (v->state == XENVF_VF_ACTIVE && v->domid == req->domid &&
                    !strcmp(v->domain, req->domain)) {
                    tcb_vf_recover(&t->pfs[p], i, XENVF_VF_RESERVED,
                                   "the commit could not be persisted: "
                                   "undone");
                    v->domid = XENVF_DOMID_NONE;
                    v->conn = c->id;
                }
            }
        return rc;
    }
    xenvfd_fault_point("commit");
    for (size_t p = 0; p < t->nr_pfs; p++)
        tcb_publish(t, &t->pfs[p], NULL);
    LOG(INFO, "domain %s is domid %u: %u VF(s) active", req->domain, req->domid,
        nr);
    return 0;
}

static void handle_line(tcb_client *c, const char *line, size_t len)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_err err;
    char *json = NULL;
    unsigned nr;
    int rc;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    xenvf_err_init(&err);
    rc = xenvf_request_decode(line, len, &req, &err);
    if (rc) {
        LOG(WARN, "connection %lu: bad request: %s", c->id, err.msg);
    } else {
        switch (req.op) {
        case XENVF_OP_PING:
            break;
        case XENVF_OP_RESERVE:
            rc = tcb_reserve(c->t, c->id, &req, &resp, &err);
            break;
        case XENVF_OP_COMMIT:
            rc = do_commit(c, &req, &err);
            break;
        case XENVF_OP_RELEASE:
            rc = tcb_release_domain(c->t, req.domain, req.domid, &nr, &err);
            if (!rc)
                LOG(INFO, "released %u VF(s) of %s", nr,
                    req.domain ? req.domain : "a domain");
            break;
        }
        if (rc && req.op != XENVF_OP_PING)
            LOG(INFO, "connection %lu: %s refused: %s", c->id,
                xenvf_op_name(req.op), err.msg);
    }
    if (rc) {
        xenvf_response_dispose(&resp);
        resp.rc = rc;
        resp.error = strdup(err.msg);
    }
    if (xenvf_response_encode(&resp, &json, &err)) {
        LOG(ERROR, "connection %lu: %s", c->id, err.msg);
        c->closing = true;
    } else {
        size_t jl = strlen(json);
        char *n = realloc(c->out, c->out_len + jl + 1);
        if (n) {
            memcpy(n + c->out_len, json, jl);
            n[c->out_len + jl] = '\n';
            c->out = n;
            c->out_len += jl + 1;
        } else {
            c->closing = true;
        }
    }
    free(json);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}

/* ---- connections -------------------------------------------------------- */

/*
 * A client that goes away before commit (xl killed, create failed) gives
 * back what it reserved. But xl may have died after libxl built the domain
 * and passed the VFs through: such a VF is held, whatever the protocol
 * said, so libxl's PCI backend nodes decide before anything is published.
 */
static void release_uncommitted(tcb_client *c)
{
    tcb *t = c->t;
    xenvf_err err;
    unsigned nr = 0;

    for (size_t p = 0; p < t->nr_pfs; p++) {
        for (size_t i = 0; i < t->pfs[p].nr_vfs; i++) {
            tcb_vf *v = &t->pfs[p].vfs[i];
            if (v->state != XENVF_VF_RESERVED || v->conn != c->id)
                continue;
            LOG(INFO,
                "pf %s: vf %zu: reservation of %s dropped with its "
                "connection",
                t->pfs[p].id, i, v->domain);
            tcb_vf_clear_holder(v);
            tcb_vf_step(&t->pfs[p], i,
                        v->bound ? XENVF_VF_FREE : XENVF_VF_FAILED);
            nr++;
        }
    }
    if (!nr)
        return;
    LOG(INFO, "connection %lu closed: %u uncommitted VF(s) released", c->id,
        nr);
    tcb_domains_repair(t);
    xenvf_err_init(&err);
    if (tcb_state_save(t, &err))
        LOG(ERROR, "%s", err.msg);
    for (size_t p = 0; p < t->nr_pfs; p++)
        if (tcb_publish(t, &t->pfs[p], &err))
            LOG(ERROR, "%s", err.msg);
}

static void client_flush(tcb_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            c->closing = true;
            c->out_off = c->out_len;
            break;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        xenvfd_loop_set_events(c->fd, POLLIN);
    } else {
        xenvfd_loop_set_events(c->fd, POLLIN | POLLOUT);
    }
}

static void client_event(void *opaque, int fd, short revents)
{
    tcb_client *c = opaque;

    if (revents & POLLOUT)
        client_flush(c);
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            client_close(c);
            return;
        }
        if (n > 0) {
            char *grown = realloc(c->in, c->in_len + (size_t)n);
            if (!grown) {
                client_close(c);
                return;
            }
            c->in = grown;
            memcpy(c->in + c->in_len, buf, (size_t)n);
            c->in_len += (size_t)n;
        }
        for (;;) {
            char *nl = c->in ? memchr(c->in, '\n', c->in_len) : NULL;
            size_t len;

            if (!nl)
                break;
            len = (size_t)(nl - c->in);
            handle_line(c, c->in, len);
            c->in_len -= len + 1;
            memmove(c->in, nl + 1, c->in_len);
        }
        if (c->in_len > XENVF_PROTO_MAX_LINE) {
            LOG(WARN, "connection %lu: line over %d bytes: closing", c->id,
                XENVF_PROTO_MAX_LINE);
            client_close(c);
            return;
        }
        client_flush(c);
    }
    if (c->closing && c->out_off == c->out_len)
        client_close(c);
}

static void client_close(tcb_client *c)
{
    tcb *t = c->t;

    for (tcb_client **pp = &t->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    release_uncommitted(c);
    xenvfd_loop_del(c->fd);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void accept_event(void *opaque, int fd, short revents)
{
    tcb *t = opaque;

    for (;;) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        tcb_client *c;
        size_t n = 0;

        if (cfd < 0)
            return;
        for (c = t->clients; c; c = c->next)
            n++;
        /* root only: the socket's mode says so, the peer's uid makes sure */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
            (cred.uid != 0 && cred.uid != geteuid()) || n >= MAX_CLIENTS) {
            LOG(WARN, "connection refused (uid %d, %zu clients)", (int)cred.uid,
                n);
            close(cfd);
            continue;
        }
        if (!(c = calloc(1, sizeof(*c)))) {
            close(cfd);
            continue;
        }
        c->t = t;
        c->fd = cfd;
        c->id = ++t->next_conn;
        if (xenvfd_loop_add(cfd, POLLIN, client_event, c)) {
            close(cfd);
            free(c);
            continue;
        }
        c->next = t->clients;
        t->clients = c;
        LOG(DEBUG, "connection %lu from pid %d", c->id, (int)cred.pid);
    }
}

int tcb_server_start(tcb *t, xenvf_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = t->cfg->socket_path;
    char dir[PATH_MAX], *slash;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return xenvf_err_set(err, XENVF_EINVAL, "socket path too long: %s",
                             path);
    strcpy(sa.sun_path, path);
    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) && errno != EEXIST)
            return xenvf_err_set_errno(err, XENVF_EIO, errno, "mkdir %s", dir);
    }
    /* a live TCB answers on it; a dead one left the file behind */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return xenvf_err_set(err, XENVF_EBUSY,
                             "another xenvfd (tcb) is serving %s", path);
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
        listen(fd, 64)) {
        int e = errno;
        close(fd);
        return xenvf_err_set_errno(err, XENVF_EIO, e, "listen on %s", path);
    }
    t->listen_fd = fd;
    return xenvfd_loop_add(fd, POLLIN, accept_event, t);
}

void tcb_server_stop(tcb *t)
{
    while (t->clients) {
        tcb_client *c = t->clients;
        t->clients = c->next;
        xenvfd_loop_del(c->fd);
        close(c->fd);
        free(c->in);
        free(c->out);
        free(c);
    }
    if (t->listen_fd >= 0) {
        xenvfd_loop_del(t->listen_fd);
        close(t->listen_fd);
        unlink(t->cfg->socket_path);
    }
    t->listen_fd = -1;
}
