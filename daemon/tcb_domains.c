/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Who holds what, from domain lifetimes: xenstored fires @releaseDomain
 * when a domain dies (it says not which), so each event re-checks the
 * domains that hold VFs (XS_IS_DOMAIN_INTRODUCED, and the domain's name
 * against a reused domid). A VF whose domain is gone is reset (FLR) and
 * free again. At start the TCB also adopts what xenstore shows domains
 * hold but its records lack: libxl's pciback backend nodes (a domain built
 * with a VF whose commit never arrived) and, when the state file is gone,
 * the TCB's own published nodes.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/sysfs.h>

#include "tcb.h"

#define TOKEN_RELEASE "xenvfd-release"

/* The domain's name, or NULL when xenstore has none. */
static char *domain_name(tcb *t, uint32_t domid)
{
    char path[64], *name = NULL;

    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    xenvf_xs_read(&t->xs, path, &name, NULL);
    return name;
}

static bool domain_alive(tcb *t, uint32_t domid, const char *expect_name)
{
    xenvf_err err;
    bool alive;
    char *name;

    xenvf_err_init(&err);
    if (xenvf_xs_domain_introduced(&t->xs, domid, &alive, &err)) {
        LOG(ERROR, "domain %u: %s (assumed alive)", domid, err.msg);
        return true;
    }
    if (!alive || !expect_name)
        return alive;
    /* a domid that came back as another domain (host restarted) */
    name = domain_name(t, domid);
    alive = !name || !strcmp(name, expect_name);
    if (!alive)
        LOG(INFO, "domain %u is now '%s', not '%s'", domid, name, expect_name);
    free(name);
    return alive;
}

void tcb_domains_check(tcb *t)
{
    uint32_t *seen = NULL;
    size_t nr_seen = 0;

    for (size_t p = 0; p < t->nr_pfs; p++) {
        tcb_pf *pf = &t->pfs[p];

        for (size_t i = 0; i < pf->nr_vfs; i++) {
            tcb_vf *v = &pf->vfs[i];
            bool known = false;

            if (v->domid == XENVF_DOMID_NONE ||
                (v->state != XENVF_VF_ACTIVE && v->state != XENVF_VF_FAILED &&
                 v->state != XENVF_VF_RESETTING))
                continue;
            for (size_t k = 0; k < nr_seen && !known; k++)
                known = seen[k] == v->domid;
            if (known)
                continue;
            uint32_t *n = reallocarray(seen, nr_seen + 1, sizeof(*n));
            if (!n)
                break;
            seen = n;
            seen[nr_seen++] = v->domid;
            if (domain_alive(t, v->domid, v->domain))
                continue;
            LOG(INFO, "domain %s (%u) is gone: resetting its VFs",
                v->domain ? v->domain : "?", v->domid);
            tcb_release_domain(t, NULL, v->domid, NULL, NULL);
        }
    }
    free(seen);
}

int tcb_release_domain(tcb *t, const char *name, uint32_t domid,
                       unsigned *nr_out, xenvf_err *err)
{
    unsigned nr = 0;
    bool changed = false;

    for (size_t p = 0; p < t->nr_pfs; p++) {
        tcb_pf *pf = &t->pfs[p];

        for (size_t i = 0; i < pf->nr_vfs; i++) {
            tcb_vf *v = &pf->vfs[i];

            if (!((name && v->domain && !strcmp(v->domain, name)) ||
                  (domid != XENVF_DOMID_NONE && v->domid == domid)))
                continue;
            nr++;
            if (v->state == XENVF_VF_RESERVED) {
                /* never ran on it: no reset needed */
                LOG(INFO, "pf %s: vf %zu released by %s (not committed)",
                    pf->id, i, v->domain);
                tcb_vf_clear_holder(v);
                v->state = v->bound ? XENVF_VF_FREE : XENVF_VF_FAILED;
                changed = true;
                tcb_publish(t, pf, NULL);
            } else if (v->state == XENVF_VF_ACTIVE ||
                       v->state == XENVF_VF_RESETTING) {
                tcb_apply_reset(t, pf, (unsigned)i, NULL);
            } else {
                /* failed with its PF: the assignment ends, nothing to
                 * reset */
                LOG(INFO, "pf %s: vf %zu (failed) no longer held by %s", pf->id,
                    i, v->domain ? v->domain : "?");
                tcb_vf_clear_holder(v);
                changed = true;
                tcb_publish(t, pf, NULL);
            }
        }
    }
    if (changed)
        tcb_state_save(t, NULL);
    if (nr_out)
        *nr_out = nr;
    if (!nr) {
        if (name)
            return xenvf_err_set(err, XENVF_ENOENT, "domain %s holds no VF",
                                 name);
        return xenvf_err_set(err, XENVF_ENOENT, "domain %u holds no VF", domid);
    }
    return 0;
}

/* Find the record of the VF at this address. */
static tcb_vf *vf_by_bdf(tcb *t, const xenvf_bdf *bdf, tcb_pf **pf_out,
                         size_t *index)
{
    for (size_t p = 0; p < t->nr_pfs; p++)
        for (size_t i = 0; i < t->pfs[p].nr_vfs; i++)
            if (t->pfs[p].vfs[i].bdf_known &&
                xenvf_bdf_equal(&t->pfs[p].vfs[i].bdf, bdf)) {
                *pf_out = &t->pfs[p];
                *index = i;
                return &t->pfs[p].vfs[i];
            }
    return NULL;
}

static void adopt(tcb *t, tcb_pf *pf, size_t i, uint32_t domid, const char *why)
{
    tcb_vf *v = &pf->vfs[i];
    char *name;

    if (v->state == XENVF_VF_ACTIVE && v->domid == domid)
        return;
    if (!domain_alive(t, domid, NULL))
        return;
    name = domain_name(t, domid);
    tcb_vf_clear_holder(v);
    v->domid = domid;
    if (name)
        v->domain = name;
    else if (asprintf(&v->domain, "domid-%u", domid) < 0)
        v->domain = NULL;
    v->state = XENVF_VF_ACTIVE;
    LOG(WARN, "pf %s: vf %zu adopted as held by domain %s (%u): %s", pf->id, i,
        v->domain ? v->domain : "?", domid, why);
}

/* libxl's PCI backend: /local/domain/0/backend/pci/<domid>/0/dev-<n> */
static void adopt_backends(tcb *t)
{
    char **doms = NULL, path[128], *val = NULL;
    unsigned nr = 0;

    if (xenvf_xs_directory(&t->xs, "/local/domain/0/backend/pci", &doms, &nr,
                           NULL))
        return;
    for (unsigned d = 0; d < nr; d++) {
        uint64_t domid, n = 0;

        if (xenvf_parse_uint(doms[d], 0x7fef, &domid, NULL))
            continue;
        snprintf(path, sizeof(path),
                 "/local/domain/0/backend/pci/%s/0/num_devs", doms[d]);
        if (xenvf_xs_read(&t->xs, path, &val, NULL) || !val ||
            xenvf_parse_uint(val, 256, &n, NULL))
            n = 0;
        free(val);
        val = NULL;
        for (uint64_t k = 0; k < n; k++) {
            xenvf_bdf bdf;
            tcb_pf *pf;
            size_t i;
            tcb_vf *v;

            snprintf(path, sizeof(path),
                     "/local/domain/0/backend/pci/%s/0/dev-%llu", doms[d],
                     (unsigned long long)k);
            if (!xenvf_xs_read(&t->xs, path, &val, NULL) && val &&
                !xenvf_bdf_parse(val, &bdf, NULL) &&
                (v = vf_by_bdf(t, &bdf, &pf, &i)) &&
                v->state != XENVF_VF_ACTIVE)
                adopt(t, pf, i, (uint32_t)domid, "libxl's pci backend");
            free(val);
            val = NULL;
        }
    }
    free(doms);
}

/* The TCB's own published nodes, when its state file is lost. */
static void adopt_published(tcb *t)
{
    xenvf_pf pub;

    xenvf_pf_init(&pub);
    for (size_t p = 0; p < t->nr_pfs; p++) {
        tcb_pf *pf = &t->pfs[p];

        if (xenvf_xs_read_pf(&t->xs, pf->id, &pub, NULL))
            continue;
        for (size_t i = 0; i < pub.nr_vfs && i < pf->nr_vfs; i++)
            if ((pub.vfs[i].state == XENVF_VF_ACTIVE ||
                 pub.vfs[i].state == XENVF_VF_RESETTING) &&
                pub.vfs[i].domid != XENVF_DOMID_NONE)
                adopt(t, pf, i, pub.vfs[i].domid, "published in xenstore");
        xenvf_pf_dispose(&pub);
    }
}

void tcb_domains_adopt_assigned(tcb *t)
{
    adopt_backends(t);
}

void tcb_domains_adopt(tcb *t)
{
    if (!t->state_loaded && t->nr_pfs)
        adopt_published(t);
    adopt_backends(t);
}

void tcb_xs_event(void *opaque, int fd, short revents)
{
    tcb *t = opaque;
    bool release = false;
    xenvf_err err;

    xenvf_err_init(&err);
    for (;;) {
        char *path = NULL, *token = NULL;

        if (xenvf_xs_next_event(&t->xs, &path, &token, &err)) {
            LOG(ERROR, "%s", err.msg);
            break;
        }
        if (!path)
            break;
        if (!strcmp(token, TOKEN_RELEASE))
            release = true;
        free(path);
        free(token);
    }
    if (release)
        tcb_domains_check(t);
}

int tcb_domains_start(tcb *t, xenvf_err *err)
{
    int fd = xenvf_xs_fileno(&t->xs), rc;

    if ((rc = xenvf_xs_watch(&t->xs, "@releaseDomain", TOKEN_RELEASE, err)))
        return rc;
    return xenvfd_loop_add(fd, POLLIN, tcb_xs_event, t);
}
