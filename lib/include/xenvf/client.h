/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A client of the TCB's reservation socket (see proto.h): the libxl plugin
 * and the xenvf CLI use it. One request at a time per connection.
 */
#ifndef XENVF_CLIENT_H
#define XENVF_CLIENT_H

#include <xenvf/proto.h>

typedef struct xenvf_client {
    int fd;
    char *buf; /* bytes read past the last response line */
    size_t buf_len;
} xenvf_client;

void xenvf_client_init(xenvf_client *c);
/* Connect to path, or $XENVF_TCB_SOCKET, or XENVF_TCB_SOCKET. */
int xenvf_client_connect(xenvf_client *c, const char *path, xenvf_err *err);
/*
 * Send req and wait up to timeout_ms (-1: forever) for its response. A
 * transport failure is an rc here; a refusal by the TCB is rc 0 with
 * resp->rc and resp->error set (the caller decides how to report it).
 */
int xenvf_client_call(xenvf_client *c, const xenvf_request *req,
                      xenvf_response *resp, int timeout_ms, xenvf_err *err);
/* The two halves of a call, for a caller with work to do while xenvfd
 * answers: send req; then read the response to it (op names it in
 * messages). Each waits at most timeout_ms. */
int xenvf_client_send(xenvf_client *c, const xenvf_request *req, int timeout_ms,
                      xenvf_err *err);
int xenvf_client_receive(xenvf_client *c, xenvf_op op, xenvf_response *resp,
                         int timeout_ms, xenvf_err *err);
/* Close (which releases uncommitted reservations) and re-init. */
void xenvf_client_dispose(xenvf_client *c);

#endif
