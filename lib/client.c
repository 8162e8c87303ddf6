/* SPDX-License-Identifier: LGPL-2.1-only */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenvf/file.h>
#include <xenvf/client.h>

void xenvf_client_init(xenvf_client *c)
{
    c->fd = -1;
    c->buf = NULL;
    c->buf_len = 0;
}

void xenvf_client_dispose(xenvf_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    xenvf_client_init(c);
}

int xenvf_client_connect(xenvf_client *c, const char *path, xenvf_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (!path)
        path = getenv(XENVF_TCB_SOCKET_ENV);
    if (!path || !*path)
        path = XENVF_TCB_SOCKET;
    if (strlen(path) >= sizeof(sa.sun_path))
        return xenvf_err_set(err, XENVF_EINVAL, "socket path too long: %s",
                             path);
    strcpy(sa.sun_path, path);

    xenvf_client_dispose(c);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "socket");
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int e = errno;
        xenvf_client_dispose(c);
        return xenvf_err_set_errno(
            err, e == ENOENT || e == ECONNREFUSED ? XENVF_ENOENT : XENVF_EIO, e,
            "cannot reach xenvfd (tcb) at %s", path);
    }
    return 0;
}

/* Wait for fd to be ready for `events` until deadline (-1: forever). */
static int wait_fd(int fd, short events, long long deadline, xenvf_err *err)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int left = deadline < 0 ? -1 : (int)(deadline - xenvf_now_ms());
        if (deadline >= 0 && left <= 0)
            return xenvf_err_set(err, XENVF_ETIMEDOUT,
                                 "xenvfd did not answer in time");
        int r = poll(&p, 1, left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return xenvf_err_set_errno(err, XENVF_EIO, errno, "poll");
    }
}

static int send_line(xenvf_client *c, const char *line, long long deadline,
                     xenvf_err *err)
{
    size_t len = strlen(line), off = 0;
    int rc;

    while (off <= len) {
        /* the terminating NUL is sent as the '\n' that ends the line */
        const char *p = off < len ? line + off : "\n";
        size_t n = off < len ? len - off : 1;
        ssize_t w;

        if ((rc = wait_fd(c->fd, POLLOUT, deadline, err)))
            return rc;
        w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return xenvf_err_set_errno(err, XENVF_EIO, errno, "send to xenvfd");
        off += (size_t)w;
    }
    return 0;
}

/* Read one '\n'-terminated line into *line_out (malloc'ed, no '\n'). */
static int recv_line(xenvf_client *c, char **line_out, size_t *len_out,
                     long long deadline, xenvf_err *err)
{
    for (;;) {
        char *nl = c->buf ? memchr(c->buf, '\n', c->buf_len) : NULL;
        char chunk[4096], *grown;
        ssize_t r;
        int rc;

        if (nl) {
            size_t len = (size_t)(nl - c->buf);
            if (!(*line_out = strndup(c->buf, len)))
                return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            *len_out = len;
            c->buf_len -= len + 1;
            memmove(c->buf, nl + 1, c->buf_len);
            return 0;
        }
        if (c->buf_len > XENVF_PROTO_MAX_LINE)
            return xenvf_err_set(err, XENVF_ERANGE,
                                 "xenvfd sent a line over %d bytes",
                                 XENVF_PROTO_MAX_LINE);
        if ((rc = wait_fd(c->fd, POLLIN, deadline, err)))
            return rc;
        r = recv(c->fd, chunk, sizeof(chunk), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return xenvf_err_set_errno(err, XENVF_EIO, errno,
                                       "receive from xenvfd");
        if (r == 0)
            return xenvf_err_set(err, XENVF_EIO,
                                 "xenvfd closed the connection");
        if (!(grown = realloc(c->buf, c->buf_len + (size_t)r)))
            return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        c->buf = grown;
        memcpy(c->buf + c->buf_len, chunk, (size_t)r);
        c->buf_len += (size_t)r;
    }
}

int xenvf_client_send(xenvf_client *c, const xenvf_request *req, int timeout_ms,
                      xenvf_err *err)
{
    const long long deadline =
        timeout_ms < 0 ? -1 : xenvf_now_ms() + timeout_ms;
    char *out = NULL;
    int rc;

    if (c->fd < 0)
        rc = xenvf_err_set(err, XENVF_EIO, "not connected to xenvfd");
    else if (!(rc = xenvf_request_encode(req, &out, err)))
        rc = send_line(c, out, deadline, err);
    if (rc)
        xenvf_err_prepend(err, "%s: ", xenvf_op_name(req->op));
    free(out);
    return rc;
}

int xenvf_client_receive(xenvf_client *c, xenvf_op op, xenvf_response *resp,
                         int timeout_ms, xenvf_err *err)
{
    const long long deadline =
        timeout_ms < 0 ? -1 : xenvf_now_ms() + timeout_ms;
    char *in = NULL;
    size_t in_len;
    int rc;

    if (c->fd < 0)
        rc = xenvf_err_set(err, XENVF_EIO, "not connected to xenvfd");
    else if (!(rc = recv_line(c, &in, &in_len, deadline, err)) &&
             (rc = xenvf_response_decode(in, in_len, resp, err)))
        xenvf_err_prepend(err, "bad response from xenvfd: ");
    if (rc)
        xenvf_err_prepend(err, "%s: ", xenvf_op_name(op));
    free(in);
    return rc;
}

int xenvf_client_call(xenvf_client *c, const xenvf_request *req,
                      xenvf_response *resp, int timeout_ms, xenvf_err *err)
{
    int rc = xenvf_client_send(c, req, timeout_ms, err);

    if (!rc)
        rc = xenvf_client_receive(c, req->op, resp, timeout_ms, err);
    return rc;
}
