/* SPDX-License-Identifier: LGPL-2.1-only */
/* VFs as libxl PCI devices (see pcidev.h). */
#include <stdlib.h>
#include <string.h>

#include "pcidev.h"

void pcidev_bdf(const libxl_device_pci *pci, xenvf_bdf *out)
{
    out->seg = (uint16_t)pci->domain;
    out->bus = pci->bus;
    out->dev = pci->dev;
    out->func = pci->func;
}

void pcidev_set_bdf(libxl_device_pci *pci, const xenvf_bdf *bdf)
{
    pci->domain = bdf->seg;
    pci->bus = bdf->bus;
    pci->dev = bdf->dev;
    pci->func = bdf->func;
}

static int find(const libxl_domain_config *d, const xenvf_bdf *bdf)
{
    for (int i = 0; i < d->num_pcidevs; i++) {
        xenvf_bdf have;

        pcidev_bdf(&d->pcidevs[i], &have);
        if (xenvf_bdf_equal(&have, bdf))
            return i;
    }
    return -1;
}

int pcidev_add(libxl_domain_config *d, const xenvf_bdf *bdfs, size_t nr,
               const char *const *names, const pcidev_defaults *defs,
               xenvf_err *err)
{
    libxl_device_pci *grown;
    char text[XENVF_BDF_STR_MAX];
    const int old = d->num_pcidevs;

    if ((size_t)old + nr > 1024)
        return xenvf_err_set(err, XENVF_ERANGE, "too many PCI devices");
    for (size_t i = 0; i < nr; i++) {
        /* libxl would refuse to assign one device twice, less clearly */
        if (find(d, &bdfs[i]) >= 0) {
            xenvf_bdf_format(&bdfs[i], text);
            return xenvf_err_set(err, XENVF_ECONFLICT,
                                 "%s%s%s is also in pci=", text,
                                 names && names[i] ? " of " : "",
                                 names && names[i] ? names[i] : "");
        }
    }
    if (!nr)
        return 0;
    grown = realloc(d->pcidevs, sizeof(*grown) * ((size_t)old + nr));
    if (!grown)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    d->pcidevs = grown;
    for (size_t i = 0; i < nr; i++) {
        libxl_device_pci *pci = &d->pcidevs[old + (int)i];

        libxl_device_pci_init(pci);
        pcidev_set_bdf(pci, &bdfs[i]);
        pci->msitranslate = defs->msitranslate;
        pci->power_mgmt = defs->power_mgmt;
        pci->permissive = defs->permissive;
        pci->seize = defs->seize;
        /* xl copies the guest's rdm policy into each device; only an HVM
         * guest has one (xl reads the union regardless: we do not) */
        if (d->b_info.type == LIBXL_DOMAIN_TYPE_HVM)
            pci->rdm_policy = d->b_info.u.hvm.rdm.policy;
    }
    d->num_pcidevs = old + (int)nr;
    if (d->b_info.type == LIBXL_DOMAIN_TYPE_PV)
        libxl_defbool_set(&d->b_info.u.pv.e820_host, true);
    /* libxl stores the config as given and derives the default again at
     * every restore, from the devices the domain has then: a domain that
     * left its VF behind (pci-detach before xl save) would come back
     * without an IOMMU context, and Xen refuses it a VF for good
     * (xc_assign_device: EOPNOTSUPP). Said once, it stays. */
    if (d->c_info.passthrough == LIBXL_PASSTHROUGH_DEFAULT)
        d->c_info.passthrough = LIBXL_PASSTHROUGH_ENABLED;
    return 0;
}

void pcidev_truncate(libxl_domain_config *d, int n)
{
    if (n < 0 || n >= d->num_pcidevs)
        return;
    for (int i = n; i < d->num_pcidevs; i++)
        libxl_device_pci_dispose(&d->pcidevs[i]);
    d->num_pcidevs = n;
    if (!n) {
        free(d->pcidevs);
        d->pcidevs = NULL;
    }
}

size_t pcidev_strip(libxl_domain_config *d, const xenvf_bdf *bdfs, size_t nr)
{
    size_t removed = 0;
    int keep = 0;

    for (int i = 0; i < d->num_pcidevs; i++) {
        xenvf_bdf have;
        bool ours = false;

        pcidev_bdf(&d->pcidevs[i], &have);
        for (size_t j = 0; j < nr && !ours; j++)
            ours = xenvf_bdf_equal(&have, &bdfs[j]);
        if (ours) {
            libxl_device_pci_dispose(&d->pcidevs[i]);
            removed++;
            continue;
        }
        if (keep != i)
            d->pcidevs[keep] = d->pcidevs[i]; /* a move: i is not used again */
        keep++;
    }
    d->num_pcidevs = keep;
    if (!keep) {
        free(d->pcidevs);
        d->pcidevs = NULL;
    }
    return removed;
}
