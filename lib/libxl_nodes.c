/* SPDX-License-Identifier: LGPL-2.1-only */
/* libxl's own xenstore nodes about PCI devices (see libxl_nodes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/libxl_nodes.h>
#include <xenvf/model.h>
#include <xenvf/text.h>

#define PCI_BACKENDS "/local/domain/0/backend/pci"
#define PCI_INFO     "/libxl/pciback"
#define MAX_DEVS     256 /* libxl's own bound on a domain's PCI devices */

void xenvf_pci_backends_init(xenvf_pci_backends *b)
{
    memset(b, 0, sizeof(*b));
}

void xenvf_pci_backends_dispose(xenvf_pci_backends *b)
{
    free(b->devs);
    free(b->domids);
    xenvf_pci_backends_init(b);
}

static int read_count(xenvf_xs *xs, const char *path, uint64_t *out)
{
    char *val = NULL;
    int rc = xenvf_xs_read(xs, path, &val, NULL);

    if (!rc && (!val || xenvf_parse_uint(val, MAX_DEVS, out, NULL)))
        rc = XENVF_ENOENT;
    free(val);
    return rc;
}

static int add_dev(xenvf_pci_backends *b, uint32_t domid, const xenvf_bdf *bdf,
                   xenvf_err *err)
{
    xenvf_pci_dev *n = reallocarray(b->devs, b->nr_devs + 1, sizeof(*n));

    if (!n)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    b->devs = n;
    b->devs[b->nr_devs++] = (xenvf_pci_dev){.domid = domid, .bdf = *bdf};
    return 0;
}

/* One domain's backend: /local/domain/0/backend/pci/<domid>/0 */
static int read_backend(xenvf_xs *xs, uint32_t domid, xenvf_pci_backends *b,
                        xenvf_err *err)
{
    char path[128];
    uint64_t n;
    int rc = 0;

    snprintf(path, sizeof(path), PCI_BACKENDS "/%u/0/num_devs", domid);
    if (read_count(xs, path, &n))
        return 0; /* being written or torn down: not a backend yet */
    uint32_t *d = reallocarray(b->domids, b->nr_domids + 1, sizeof(*d));
    if (!d)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    b->domids = d;
    b->domids[b->nr_domids++] = domid;
    for (uint64_t k = 0; k < n && !rc; k++) {
        char *val = NULL;
        xenvf_bdf bdf;

        snprintf(path, sizeof(path), PCI_BACKENDS "/%u/0/dev-%llu", domid,
                 (unsigned long long)k);
        if (!xenvf_xs_read(xs, path, &val, NULL) && val &&
            !xenvf_bdf_parse(val, &bdf, NULL))
            rc = add_dev(b, domid, &bdf, err);
        free(val);
    }
    return rc;
}

int xenvf_libxl_read_pci_backends(xenvf_xs *xs, xenvf_pci_backends *out,
                                  xenvf_err *err)
{
    char **doms = NULL;
    unsigned nr = 0;
    int rc;

    xenvf_pci_backends_init(out);
    if ((rc = xenvf_xs_directory(xs, PCI_BACKENDS, &doms, &nr, err)))
        return rc;
    for (unsigned i = 0; i < nr && !rc; i++) {
        uint64_t domid;

        if (!xenvf_parse_uint(doms[i], XENVF_DOMID_MAX, &domid, NULL))
            rc = read_backend(xs, (uint32_t)domid, out, err);
    }
    free(doms);
    if (rc)
        xenvf_pci_backends_dispose(out);
    return rc;
}

bool xenvf_pci_backends_has_domain(const xenvf_pci_backends *b, uint32_t domid)
{
    for (size_t i = 0; i < b->nr_domids; i++)
        if (b->domids[i] == domid)
            return true;
    return false;
}

static void info_path(char *buf, size_t len, const xenvf_bdf *bdf,
                      const char *node)
{
    char xsbdf[XENVF_BDF_XS_MAX];

    xenvf_bdf_format_xs(bdf, xsbdf);
    snprintf(buf, len, PCI_INFO "/%s/%s", xsbdf, node);
}

int xenvf_libxl_pci_domid(xenvf_xs *xs, const xenvf_bdf *bdf,
                          uint32_t *domid_out, xenvf_err *err)
{
    char path[96], *val = NULL;
    uint64_t domid;
    int rc;

    *domid_out = XENVF_DOMID_NONE;
    info_path(path, sizeof(path), bdf, "domid");
    if ((rc = xenvf_xs_read(xs, path, &val, err)))
        return rc;
    if (val && !xenvf_parse_uint(val, XENVF_DOMID_MAX, &domid, NULL))
        *domid_out = (uint32_t)domid;
    free(val);
    return 0;
}

int xenvf_libxl_note_driver(xenvf_xs *xs, const xenvf_bdf *bdf,
                            const char *driver, xenvf_err *err)
{
    char path[96], value[256];

    info_path(path, sizeof(path), bdf, "driver_path");
    snprintf(value, sizeof(value), "/sys/bus/pci/drivers/%s", driver);
    return xenvf_xs_write(xs, path, value, err);
}
