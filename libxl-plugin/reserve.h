/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Turning vf= entries into concrete VFs: resolve each entry's PF (a map id,
 * or a PCI address looked up under /xenvf/pf), check what xenstore already
 * tells (the PF exists, the index is below TotalVFs) so the common mistakes
 * get a message naming the entry, then ask xenvfd (docs/tcb-protocol.md).
 *
 * A reservation belongs to its connection until it is committed to a
 * domid: if xl dies or the build fails, closing the connection (or xl's
 * exit) gives the VFs back. After commit they belong to the domain.
 */
#ifndef XENVF_XL_RESERVE_H
#define XENVF_XL_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

#include <xenvf/client.h>
#include <xenvf/xs.h>

#include "conf.h"
#include "vfcfg.h"

typedef struct resv {
    xenvf_client client; /* the reservation lives on this connection */
    char *domain;
    size_t nr; /* one grant per vf= entry, in order */
    xenvf_vf_grant *grants;
    bool committed;
    uint32_t domid;
} resv;

void resv_init(resv *r);
/* Close the connection (uncommitted VFs go back) and free. */
void resv_dispose(resv *r);

/*
 * The PF id of every entry (*ids_out: cfg->nr strings, free with
 * resv_free_ids), checked against /xenvf/pf: the PF is published, an
 * index= is below its TotalVFs, and no two entries name one VF.
 */
int resv_resolve(xenvf_xs *xs, const vfcfg *cfg, char ***ids_out,
                 xenvf_err *err);
void resv_free_ids(char **ids, size_t nr);

/*
 * Reserve every entry of cfg for domain, all or nothing. ids: from
 * resv_resolve. pins (may be NULL): pins[i] >= 0 asks for that index for
 * an entry without index= (the VF the domain had before a reboot). A
 * refusal names the entry when xenvfd's message says which ("vfs[1]: ...",
 * "pf nvme0: ..."); its rc is xenvfd's (XENVF_EBUSY: a VF is taken).
 */
int resv_reserve(resv *r, const plugin_conf *conf, const char *domain,
                 const vfcfg *cfg, char *const *ids, const int *pins,
                 xenvf_err *err);

/* The domain was built as domid: the VFs are its own from now on, once
 * xenvfd says so. In two halves, so that the caller can write the guest's
 * nodes while xenvfd records the commit. */
int resv_commit_send(resv *r, const plugin_conf *conf, uint32_t domid,
                     xenvf_err *err);
int resv_commit_wait(resv *r, const plugin_conf *conf, xenvf_err *err);

/* Which managed VF is at bdf: its PF (*pf_out, disposed by the caller)
 * and *index; XENVF_ENOENT when no PF xenvf manages has a VF there. */
int resv_find_vf(xenvf_xs *xs, const xenvf_bdf *bdf, xenvf_pf *pf_out,
                 size_t *index, xenvf_err *err);

/* A VF a domain holds in xenvfd's books (RESERVED or ACTIVE). */
typedef struct resv_held {
    char pf[XENVF_ID_MAX + 1]; /* its PF's map id */
    unsigned index;
    xenvf_bdf pf_bdf, vf_bdf;
    uint32_t pf_owner; /* the domain that runs the PF driver */
    size_t nr_ns;      /* its namespaces in the map */
    uint32_t nsid;     /* the first of them (0: none) */
} resv_held;

/* Every VF domid holds, PF by PF in the books' order (*out malloc'ed,
 * *nr); none (0) when xenvfd publishes nothing. */
int resv_held_vfs(xenvf_xs *xs, uint32_t domid, resv_held **out, size_t *nr,
                  xenvf_err *err);

/* Give back what domid holds, on a connection of its own; "holds nothing"
 * is success. */
int resv_release_domid(const plugin_conf *conf, uint32_t domid, xenvf_err *err);

#endif
