/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The guest's boot list (guest.h, docs/guest.md): the VFs dom0 gave a boot
 * position, in that order, with their addresses in this guest. The boot
 * initramfs (guest/initramfs/xenvf-boot) reads it through
 * `xenvf-guest boot-list` and tries each VF's namespaces in turn.
 */
#include <stdio.h>
#include <stdlib.h>

#include "guest.h"

static int by_boot(const void *a, const void *b)
{
    const guest_boot *x = a, *y = b;

    /* dom0 refuses one position twice (vf-config.md); should two come
     * anyway, the earlier vf= entry first */
    if (x->boot != y->boot)
        return (x->boot > y->boot) - (x->boot < y->boot);
    return (x->local > y->local) - (x->local < y->local);
}

int guest_boot_list(const guest_opts *o, xenvf_xs *xs, uint32_t domid,
                    guest_boot **out, size_t *nr, xenvf_err *err)
{
    guest_boot *list = NULL;
    guest_vf *vfs = NULL;
    size_t nr_vfs = 0, k = 0;
    int rc;

    *out = NULL;
    *nr = 0;
    if ((rc = guest_list_vfs(xs, domid, &vfs, &nr_vfs, err)))
        return rc;
    if (!nr_vfs)
        return 0;
    if (!(list = calloc(nr_vfs, sizeof(*list)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nr_vfs; i++) {
        guest_boot *b = &list[k];
        xenvf_err lookup;
        int lrc;

        if (!vfs[i].boot)
            continue;
        b->boot = vfs[i].boot;
        b->local = vfs[i].local;
        b->host = vfs[i].host;
        xenvf_err_init(&lookup);
        lrc = xenvf_pcifront_local_bdf(o->read, o->read_ctx, &vfs[i].host,
                                       &b->here, &lookup);
        /* not there yet is an answer ("-"); anything else is an error */
        if (lrc && lrc != XENVF_ENOENT) {
            rc = xenvf_err_set(err, lrc, "vf/%u: %s", vfs[i].local, lookup.msg);
            goto out;
        }
        b->found = lrc == 0;
        k++;
    }
    qsort(list, k, sizeof(*list), by_boot);
out:
    guest_vfs_free(vfs, nr_vfs);
    if (rc) {
        free(list);
        return rc;
    }
    if (!k) {
        free(list);
        list = NULL;
    }
    *out = list;
    *nr = k;
    return 0;
}

void guest_boot_format(const guest_boot *b, char *buf, size_t len)
{
    char host[XENVF_BDF_STR_MAX], here[XENVF_BDF_STR_MAX] = "-";

    xenvf_bdf_format(&b->host, host);
    if (b->found)
        xenvf_bdf_format(&b->here, here);
    snprintf(buf, len, "%u %u %s %s", b->boot, b->local, host, here);
}
