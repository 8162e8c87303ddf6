/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The TCB's reservation protocol: how the libxl plugin and the CLI ask the
 * trusted component for VFs. docs/tcb-protocol.md is the reference.
 *
 * Transport: a unix stream socket in dom0 (XENVF_TCB_SOCKET, root only).
 * Framing: one JSON object per line, each way; a request gets exactly one
 * response. Reservations made on a connection and not committed to a domid
 * are released when the connection closes, so an xl that dies half-way
 * through `xl create` leaves nothing held.
 *
 *   -> {"op":"reserve","domain":"web1","vfs":[{"pf":"nvme0","index":1},
 *                                              {"pf":"net0","mac":"..."}]}
 *   <- {"ok":true,"vfs":[{"pf":"nvme0","index":1,"bdf":"0000:01:00.2"},...]}
 *   -> {"op":"commit","domain":"web1","domid":7}
 *   <- {"ok":true}
 *   -> {"op":"release","domain":"web1"}          (or "domid":7)
 *   <- {"ok":false,"code":"ENOENT","error":"domain web1 holds no VF"}
 */
#ifndef XENVF_PROTO_H
#define XENVF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <xenvf/err.h>
#include <xenvf/model.h>

#define XENVF_TCB_SOCKET      "/run/xenvf/tcb.sock"
#define XENVF_TCB_SOCKET_ENV  "XENVF_TCB_SOCKET" /* overrides the path */
#define XENVF_PROTO_MAX_LINE  (256 * 1024)       /* longer lines: refused */
#define XENVF_PROTO_MAX_VFS   64                 /* per reserve request */
#define XENVF_DOMAIN_NAME_MAX 64

typedef enum xenvf_op {
    XENVF_OP_PING = 0, /* is the TCB up? (also: protocol version) */
    XENVF_OP_RESERVE,  /* all the listed VFs for a domain, or none */
    XENVF_OP_COMMIT,   /* the domain now exists as domid: keep them */
    XENVF_OP_RELEASE,  /* give back what a domain holds */
} xenvf_op;

const char *xenvf_op_name(xenvf_op op);

/* One wanted VF: a PF, and an index or -1 for "any free VF of it". */
typedef struct xenvf_vf_request {
    char *pf;
    int index;
    xenvf_vf_config config;
} xenvf_vf_request;

void xenvf_vf_request_init(xenvf_vf_request *r);
void xenvf_vf_request_dispose(xenvf_vf_request *r);

typedef struct xenvf_request {
    xenvf_op op;
    char *domain;   /* guest name; NULL when the op names a domid */
    uint32_t domid; /* XENVF_DOMID_NONE when absent */
    size_t nr_vfs;
    xenvf_vf_request *vfs;
} xenvf_request;

void xenvf_request_init(xenvf_request *r);
void xenvf_request_dispose(xenvf_request *r);
/* Append an entry (init'ed, index -1) and return it, or NULL on ENOMEM. */
xenvf_vf_request *xenvf_request_add_vf(xenvf_request *r);

/* One granted VF, with its effective settings: the map's for that VF with
 * the request's over them (xenvf_vf_config_overlay), which is what the
 * guest is told and the PF agent applies. */
typedef struct xenvf_vf_grant {
    char *pf;
    unsigned index;
    xenvf_bdf bdf;
    xenvf_vf_config config;
} xenvf_vf_grant;

typedef struct xenvf_response {
    int rc;      /* 0, or the XENVF_E* code the TCB failed with */
    char *error; /* its message when rc != 0 */
    size_t nr_vfs;
    xenvf_vf_grant *vfs;
} xenvf_response;

void xenvf_response_init(xenvf_response *r);
void xenvf_response_dispose(xenvf_response *r);
xenvf_vf_grant *xenvf_response_add_vf(xenvf_response *r);

/*
 * Encode as one line of JSON (no '\n' inside, none at the end); *json_out
 * is malloc'ed. Decode the same from json (json_len bytes, need not be
 * NUL-terminated). Decoding validates everything: unknown ops and keys,
 * wrong types, out-of-range numbers, bad ids, MACs and BDFs are errors
 * naming the field ("vfs[1].vlan: 4095 is out of range 0-4094").
 */
int xenvf_request_encode(const xenvf_request *r, char **json_out,
                         xenvf_err *err);
int xenvf_request_decode(const char *json, size_t json_len, xenvf_request *out,
                         xenvf_err *err);
int xenvf_response_encode(const xenvf_response *r, char **json_out,
                          xenvf_err *err);
int xenvf_response_decode(const char *json, size_t json_len,
                          xenvf_response *out, xenvf_err *err);

/* Parse an rc name back ("EBUSY" -> XENVF_EBUSY); unknown -> XENVF_EIO. */
int xenvf_rc_from_name(const char *name);

#endif
