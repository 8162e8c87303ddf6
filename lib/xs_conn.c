/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The xenstore transport (see xs.h): the handle, the request wrappers that
 * count each request and turn libxenstore's errno into an rc and a message
 * naming the path, transactions with retries, reads, writes and watches.
 * The schema (what xenvf keeps where) is xs.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include <xenvf/file.h>

#include "xs_internal.h"

/* ---- request wrappers -------------------------------------------------- */

int xsi_errno_rc(int errnum)
{
    switch (errnum) {
    case EACCES:
    case EPERM:
        return XENVF_EPERM;
    case ENOENT:
        return XENVF_ENOENT;
    case ENOMEM:
        return XENVF_ENOMEM;
    default:
        return XENVF_EXS;
    }
}

int xsi_fail(xenvf_err *err, const char *op, const char *path)
{
    int errnum = errno ? errno : EIO;

    return xenvf_err_set_errno(err, xsi_errno_rc(errnum), errnum,
                               "xenstore %s %s", op, path);
}

int xsi_put(xenvf_xs *xs, xs_transaction_t t, const char *path,
            const char *value, xenvf_err *err)
{
    xs->nr_requests++;
    if (!xs_write(xs->h, t, path, value, strlen(value)))
        return xsi_fail(err, "write", path);
    return 0;
}

/* Read path; *value_out is NULL (and rc 0) when the node does not exist. */
int xsi_get(xenvf_xs *xs, xs_transaction_t t, const char *path,
            char **value_out, xenvf_err *err)
{
    unsigned len;

    xs->nr_requests++;
    *value_out = xs_read(xs->h, t, path, &len);
    if (!*value_out && errno != ENOENT)
        return xsi_fail(err, "read", path);
    return 0;
}

int xsi_del(xenvf_xs *xs, xs_transaction_t t, const char *path, xenvf_err *err)
{
    xs->nr_requests++;
    if (!xs_rm(xs->h, t, path) && errno != ENOENT)
        return xsi_fail(err, "rm", path);
    return 0;
}

int xsi_dir(xenvf_xs *xs, xs_transaction_t t, const char *path,
            char ***ents_out, unsigned *nr_out, xenvf_err *err)
{
    xs->nr_requests++;
    *ents_out = xs_directory(xs->h, t, path, nr_out);
    if (!*ents_out) {
        *nr_out = 0;
        if (errno != ENOENT)
            return xsi_fail(err, "directory", path);
    }
    return 0;
}

/* Who may see a node: dom0 owns it; `reader` (if any) gets `reader_perm`. */
int xsi_perms(xenvf_xs *xs, xs_transaction_t t, const char *path,
              uint32_t reader, unsigned reader_perm, xenvf_err *err)
{
    struct xs_permissions perms[2] = {
        {.id = 0, .perms = XS_PERM_NONE},
        {.id = reader, .perms = reader_perm},
    };
    unsigned nr = reader == 0 || reader == XENVF_DOMID_NONE ? 1 : 2;

    xs->nr_requests++;
    if (!xs_set_permissions(xs->h, t, path, perms, nr))
        return xsi_fail(err, "set permissions on", path);
    return 0;
}

int xsi_mkdir_perms(xenvf_xs *xs, xs_transaction_t t, const char *path,
                    uint32_t reader, xenvf_err *err)
{
    xs->nr_requests++;
    if (!xs_mkdir(xs->h, t, path))
        return xsi_fail(err, "mkdir", path);
    return xsi_perms(xs, t, path, reader, XS_PERM_READ, err);
}

/*
 * Run body(xs, t, arg, err) in a transaction, retrying while xenstored
 * says EAGAIN (another transaction touched the same nodes).
 */

int xsi_in_transaction(xenvf_xs *xs, xsi_tx_body *body, void *arg,
                       xenvf_err *err)
{
    for (int attempt = 0; attempt < XS_TX_RETRIES; attempt++) {
        xs_transaction_t t;
        int rc;

        xs->nr_requests++;
        t = xs_transaction_start(xs->h);
        if (t == XBT_NULL)
            return xsi_fail(err, "transaction start", "");
        rc = body(xs, t, arg, err);
        xs->nr_requests++;
        if (rc) {
            xs_transaction_end(xs->h, t, true);
            return rc;
        }
        if (xs_transaction_end(xs->h, t, false))
            return 0;
        if (errno != EAGAIN)
            return xsi_fail(err, "transaction end", "");
    }
    return xenvf_err_set(err, XENVF_EBUSY,
                         "xenstore transaction kept conflicting (%d tries)",
                         XS_TX_RETRIES);
}

/* ---- handle ------------------------------------------------------------ */

void xenvf_xs_init(xenvf_xs *xs)
{
    xs->h = NULL;
    xs->nr_requests = 0;
}

int xenvf_xs_open(xenvf_xs *xs, xenvf_err *err)
{
    xenvf_xs_init(xs);
    xs->h = xs_open(0);
    if (!xs->h)
        return xenvf_err_set_errno(err, XENVF_EXS, errno,
                                   "cannot connect to xenstore");
    return 0;
}

void xenvf_xs_dispose(xenvf_xs *xs)
{
    if (xs->h)
        xs_close(xs->h);
    xenvf_xs_init(xs);
}

/* ---- reads, writes, watches --------------------------------------------- */

int xenvf_xs_read(xenvf_xs *xs, const char *path, char **value_out,
                  xenvf_err *err)
{
    return xsi_get(xs, XBT_NULL, path, value_out, err);
}

int xenvf_xs_directory(xenvf_xs *xs, const char *path, char ***ents_out,
                       unsigned *nr_out, xenvf_err *err)
{
    return xsi_dir(xs, XBT_NULL, path, ents_out, nr_out, err);
}

int xenvf_xs_watch(xenvf_xs *xs, const char *path, const char *token,
                   xenvf_err *err)
{
    xs->nr_requests++;
    if (!xs_watch(xs->h, path, token))
        return xsi_fail(err, "watch", path);
    return 0;
}

int xenvf_xs_unwatch(xenvf_xs *xs, const char *path, const char *token,
                     xenvf_err *err)
{
    xs->nr_requests++;
    if (!xs_unwatch(xs->h, path, token))
        return xsi_fail(err, "unwatch", path);
    return 0;
}

int xenvf_xs_wait_event(xenvf_xs *xs, int timeout_ms, char **path_out,
                        char **token_out, xenvf_err *err)
{
    const int64_t deadline = timeout_ms < 0 ? -1 : xenvf_now_ms() + timeout_ms;
    struct pollfd pfd = {.fd = xs_fileno(xs->h), .events = POLLIN};

    if (pfd.fd < 0)
        return xsi_fail(err, "fileno", "");
    for (;;) {
        char **ev = xs_check_watch(xs->h);
        int wait, r;

        if (ev) {
            *path_out = strdup(ev[XS_WATCH_PATH]);
            *token_out = strdup(ev[XS_WATCH_TOKEN]);
            free(ev);
            if (!*path_out || !*token_out) {
                free(*path_out);
                free(*token_out);
                return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            }
            return 0;
        }
        if (errno != EAGAIN)
            return xsi_fail(err, "read watch", "");
        wait = deadline < 0 ? -1 : (int)(deadline - xenvf_now_ms());
        if (deadline >= 0 && wait <= 0)
            return xenvf_err_set(err, XENVF_ETIMEDOUT,
                                 "no xenstore event within %d ms", timeout_ms);
        r = poll(&pfd, 1, wait);
        if (r < 0 && errno != EINTR)
            return xenvf_err_set_errno(err, XENVF_EXS, errno,
                                       "poll on xenstore");
    }
}

int xenvf_xs_fileno(xenvf_xs *xs)
{
    return xs->h ? xs_fileno(xs->h) : -1;
}

int xenvf_xs_next_event(xenvf_xs *xs, char **path_out, char **token_out,
                        xenvf_err *err)
{
    char **ev = xs_check_watch(xs->h);

    *path_out = *token_out = NULL;
    if (!ev)
        return errno == EAGAIN ? 0 : xsi_fail(err, "read watch", "");
    *path_out = strdup(ev[XS_WATCH_PATH]);
    *token_out = strdup(ev[XS_WATCH_TOKEN]);
    free(ev);
    if (!*path_out || !*token_out) {
        free(*path_out);
        free(*token_out);
        *path_out = *token_out = NULL;
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    }
    return 0;
}

int xenvf_xs_write(xenvf_xs *xs, const char *path, const char *value,
                   xenvf_err *err)
{
    return xsi_put(xs, XBT_NULL, path, value, err);
}

int xenvf_xs_remove(xenvf_xs *xs, const char *path, xenvf_err *err)
{
    return xsi_del(xs, XBT_NULL, path, err);
}

int xenvf_xs_domain_introduced(xenvf_xs *xs, uint32_t domid, bool *out,
                               xenvf_err *err)
{
    xs->nr_requests++;
    errno = 0;
    *out = xs_is_domain_introduced(xs->h, domid);
    /* false with an errno other than "no" is a transport failure */
    if (!*out && errno && errno != ENOENT && errno != EINVAL && errno != ESRCH)
        return xsi_fail(err, "is-domain-introduced", "");
    return 0;
}
