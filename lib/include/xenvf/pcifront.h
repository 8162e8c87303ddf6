/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A passed-through device's address in this domain (pcifront.c): the
 * driver domain's PF agent and the guest component both find theirs here.
 */
#ifndef XENVF_PCIFRONT_H
#define XENVF_PCIFRONT_H

#include <xenvf/bdf.h>
#include <xenvf/err.h>

/* Read one xenstore node (a relative path is in the caller's domain);
 * *value_out NULL when absent. xenvf_xs_read, or a table in tests. */
typedef int xenvf_xs_read_fn(void *ctx, const char *path, char **value_out,
                             xenvf_err *err);

/* The local address of the device at host address `host`, from pcifront's
 * backend nodes: the host address itself in pciback's passthrough mode,
 * XENVF_ENOENT when it is not passed through to this domain. */
int xenvf_pcifront_local_bdf(xenvf_xs_read_fn *read, void *ctx,
                             const xenvf_bdf *host, xenvf_bdf *local,
                             xenvf_err *err);

#endif
