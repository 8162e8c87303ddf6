/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Where a passed-through device is in this domain. xenvf names PFs and VFs
 * by their host address; a driver domain sees its PF, and a guest its VFs,
 * where pcifront put them. xen-pciback's backend nodes pair the two, one
 * pair per passed-through device:
 *
 *   /local/domain/<D>/device/pci/0/backend = <backend dir>   (our frontend)
 *   <backend dir>/num_devs, dev-N = host address, vdev-N = ours (vpci mode)
 *
 * In passthrough mode there is no vdev-N: the domain sees the host address.
 * The frontend may read its backend's nodes (that is how pcifront connects).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>

#include <xenvf/pcifront.h>

#define FRONTEND_BACKEND "device/pci/0/backend" /* relative: our own domain */
#define MAX_DEVS         256

/* One node's value through read; *out NULL when absent. */
static int read_node(xenvf_xs_read_fn *read, void *ctx, char **out,
                     xenvf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int read_node(xenvf_xs_read_fn *read, void *ctx, char **out,
                     xenvf_err *err, const char *fmt, ...)
{
    char path[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    *out = NULL;
    return read(ctx, path, out, err);
}

/* pciback writes vdev-N with a two-digit function ("0000:00:00.00",
 * xen_pcibk_publish_pci_dev's %02x): back to the usual one digit. */
static const char *pciback_bdf(char *s)
{
    size_t n = strlen(s);

    if (n == 13 && s[10] == '.' && s[11] == '0')
        memmove(s + 11, s + 12, 2);
    return s;
}

int xenvf_pcifront_local_bdf(xenvf_xs_read_fn *read, void *ctx,
                             const xenvf_bdf *host, xenvf_bdf *local,
                             xenvf_err *err)
{
    char *be = NULL, *v = NULL, want[XENVF_BDF_STR_MAX];
    uint64_t num = 0;
    xenvf_bdf b;
    int rc;

    xenvf_bdf_format(host, want);
    if ((rc = read_node(read, ctx, &be, err, "%s", FRONTEND_BACKEND)))
        goto out;
    if (!be) {
        rc = xenvf_err_set(err, XENVF_ENOENT,
                           "%s: this domain has no PCI frontend", want);
        goto out;
    }
    if ((rc = read_node(read, ctx, &v, err, "%s/num_devs", be)))
        goto out;
    if (!v || xenvf_parse_uint(v, MAX_DEVS, &num, NULL)) {
        rc = xenvf_err_set(err, XENVF_EIO, "%s/num_devs: '%s' is not a count",
                           be, v ? v : "(absent)");
        goto out;
    }
    for (uint64_t n = 0; n < num; n++) {
        free(v);
        if ((rc = read_node(read, ctx, &v, err, "%s/dev-%u", be, (unsigned)n)))
            goto out;
        if (!v || xenvf_bdf_parse(v, &b, NULL) || !xenvf_bdf_equal(&b, host))
            continue;
        free(v);
        if ((rc = read_node(read, ctx, &v, err, "%s/vdev-%u", be, (unsigned)n)))
            goto out;
        if (!v) { /* passthrough mode */
            *local = *host;
        } else if ((rc = xenvf_bdf_parse(pciback_bdf(v), local, err))) {
            xenvf_err_prepend(err, "%s/vdev-%u: ", be, (unsigned)n);
            goto out;
        }
        goto out;
    }
    rc =
        xenvf_err_set(err, XENVF_ENOENT,
                      "%s is not passed through to this domain (%s)", want, be);
out:
    free(be);
    free(v);
    return rc;
}
