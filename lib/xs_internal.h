/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The xenstore transport's request wrappers (xs_conn.c), shared with the
 * schema (xs.c); not part of the library's interface. Each counts the
 * request and turns libxenstore's errno into an rc and a message naming
 * the path.
 */
#ifndef XENVF_XS_INTERNAL_H
#define XENVF_XS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>

#include <xenvf/xs.h>

#define XS_PATH_MAX   XENVF_XS_PATH_MAX
#define XS_TX_RETRIES 16

int xsi_errno_rc(int errnum);
int xsi_fail(xenvf_err *err, const char *op, const char *path);
int xsi_put(xenvf_xs *xs, xs_transaction_t t, const char *path,
            const char *value, xenvf_err *err);
/* *out NULL (rc 0) when the node does not exist */
int xsi_get(xenvf_xs *xs, xs_transaction_t t, const char *path, char **out,
            xenvf_err *err);
int xsi_del(xenvf_xs *xs, xs_transaction_t t, const char *path, xenvf_err *err);
int xsi_dir(xenvf_xs *xs, xs_transaction_t t, const char *path,
            char ***ents_out, unsigned *nr_out, xenvf_err *err);
/* Who may see a node: dom0 owns it; `reader` (if any) gets `reader_perm`. */
int xsi_perms(xenvf_xs *xs, xs_transaction_t t, const char *path,
              uint32_t reader, unsigned reader_perm, xenvf_err *err);
int xsi_mkdir_perms(xenvf_xs *xs, xs_transaction_t t, const char *path,
                    uint32_t reader, xenvf_err *err);

/* body runs inside one transaction, retried while xenstored says EAGAIN
 * (another transaction touched the same nodes). */
typedef int xsi_tx_body(xenvf_xs *xs, xs_transaction_t t, void *arg,
                        xenvf_err *err);
int xsi_in_transaction(xenvf_xs *xs, xsi_tx_body *body, void *arg,
                       xenvf_err *err);

#endif
