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

#include <xenvf/libxl_nodes.h>
#include <xenvf/sysfs.h>
#include <xenvf/text.h>

#include "tcb.h"

#define TOKEN_RELEASE "xenvfd-release"
#define TOKEN_LIBXL   "xenvfd-libxl-pci"
#define TOKEN_INTRO   "xenvfd-introduce"

/* libxl's nodes that change when a domain gains or loses a PCI device */
static const char *const libxl_pci_paths[] = {
    "/local/domain/0/backend/pci",
    "/libxl/pciback",
};

/* The domain's name, or NULL when xenstore has none. */
static char *domain_name(tcb *t, uint32_t domid)
{
    char path[64], *name = NULL;

    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    xenvf_xs_read(&t->xs, path, &name, NULL);
    return name;
}

/* xl renames a guest around a migration (xl_migrate.c): "<name>--incoming"
 * on the receiving side until it runs, "<name>--migratedaway" on the
 * sending side until it is destroyed. Either is still that guest. */
static size_t guest_name_len(const char *name)
{
    static const char *const suffixes[] = {"--incoming", "--migratedaway"};
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        size_t s = strlen(suffixes[i]);

        if (n > s && !strcmp(name + n - s, suffixes[i]))
            return n - s;
    }
    return n;
}

static bool same_guest(const char *a, const char *b)
{
    size_t n = guest_name_len(a);

    return n == guest_name_len(b) && !strncmp(a, b, n);
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
    alive = !name || same_guest(name, expect_name);
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
                tcb_vf_step(pf, i, v->bound ? XENVF_VF_FREE : XENVF_VF_FAILED);
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

/* Hand VF i to domid: libxl has given it to that domain, whatever the
 * books said (a restore, a pci-attach without the plugin, a build whose
 * commit never came, a state file lost). No reset: libxl reset it before
 * it assigned it. */
static void adopt(tcb *t, tcb_pf *pf, size_t i, uint32_t domid, const char *why)
{
    tcb_vf *v = &pf->vfs[i];
    char *name = domain_name(t, domid);
    const char *was = xenvf_vf_state_name(v->state);

    if (v->domid != XENVF_DOMID_NONE)
        LOG(WARN, "pf %s: vf %zu: its holder %s (%u) is gone", pf->id, i,
            v->domain ? v->domain : "?", v->domid);
    tcb_vf_clear_holder(v);
    v->domid = domid;
    if (name)
        v->domain = name;
    else if (asprintf(&v->domain, "domid-%u", domid) < 0)
        v->domain = NULL;
    /* free, failed or absent in the books: libxl's word is the truth */
    tcb_vf_recover(pf, i, XENVF_VF_ACTIVE, "adopted from what libxl shows");
    LOG(WARN,
        "pf %s: vf %zu adopted as held by domain %s (%u): %s (the books "
        "said %s)",
        pf->id, i, v->domain ? v->domain : "?", domid, why, was);
}

/* Domain liveness, asked once per domid in one repair. */
typedef struct alive_cache {
    size_t nr;
    uint32_t domid[64];
    bool alive[64];
} alive_cache;

static bool alive_cached(tcb *t, alive_cache *c, uint32_t domid)
{
    bool alive;

    for (size_t k = 0; k < c->nr; k++)
        if (c->domid[k] == domid)
            return c->alive[k];
    alive = domain_alive(t, domid, NULL);
    if (c->nr < sizeof(c->domid) / sizeof(c->domid[0])) {
        c->domid[c->nr] = domid;
        c->alive[c->nr++] = alive;
    }
    return alive;
}

/* A VF the books give to a live domain that libxl says no longer has it:
 * `xl pci-detach`. Only where libxl is known to have had it (seen in its
 * backend, or the domain has a PCI backend at all), and only once libxl
 * has finished removing it (its own record of the holder is gone). */
static bool left_domain(tcb *t, const tcb_vf *v, const xenvf_pci_backends *b)
{
    uint32_t libxl_domid;

    if (!v->seen_in_libxl && !xenvf_pci_backends_has_domain(b, v->domid))
        return false;
    if (xenvf_libxl_pci_domid(&t->xs, &v->bdf, &libxl_domid, NULL))
        return false;
    return libxl_domid != v->domid;
}

static void say_shared(const tcb_pf *pf, size_t i, uint32_t other)
{
    const tcb_vf *v = &pf->vfs[i];

    LOG(ERROR,
        "pf %s: vf %zu is held by domain %s (%u) in the books but libxl's "
        "PCI backend gives it to domain %u too: two domains must not share "
        "a VF; destroy one of them",
        pf->id, i, v->domain ? v->domain : "?", v->domid, other);
}

static bool repair_vf(tcb *t, tcb_pf *pf, size_t i, const xenvf_pci_backends *b,
                      alive_cache *alive)
{
    tcb_vf *v = &pf->vfs[i];
    uint32_t other = XENVF_DOMID_NONE;
    bool held, holder_has = false;

    if (!v->bdf_known || v->state == XENVF_VF_RESERVED)
        return false; /* a build in progress owns a reserved VF */
    held = v->domid != XENVF_DOMID_NONE &&
           (v->state == XENVF_VF_ACTIVE || v->state == XENVF_VF_RESETTING);
    /* the live domains whose backends list it (a dead one's may linger) */
    for (size_t k = 0; k < b->nr_devs; k++) {
        uint32_t d = b->devs[k].domid;

        if (!xenvf_bdf_equal(&b->devs[k].bdf, &v->bdf) ||
            !alive_cached(t, alive, d))
            continue;
        if (held && d == v->domid)
            holder_has = true;
        else if (other == XENVF_DOMID_NONE)
            other = d;
    }
    if (holder_has) {
        v->seen_in_libxl = true;
        if (other != XENVF_DOMID_NONE)
            say_shared(pf, i, other);
        return false;
    }
    if (other != XENVF_DOMID_NONE) {
        if (held && alive_cached(t, alive, v->domid)) {
            say_shared(pf, i, other);
            return false;
        }
        if (v->state == XENVF_VF_FAILED && v->domid != XENVF_DOMID_NONE)
            return false; /* failed with its PF: its holder is kept */
        adopt(t, pf, i, other, "libxl's PCI backend lists it");
        v->seen_in_libxl = true;
        xenvfd_fault_point("adopt");
        return true;
    }
    if (held && v->state == XENVF_VF_ACTIVE &&
        alive_cached(t, alive, v->domid) && left_domain(t, v, b)) {
        LOG(WARN,
            "pf %s: vf %zu left domain %s (%u) (xl pci-detach): resetting "
            "it",
            pf->id, i, v->domain ? v->domain : "?", v->domid);
        tcb_apply_reset(t, pf, (unsigned)i, NULL);
    }
    return false;
}

void tcb_domains_repair(tcb *t)
{
    xenvf_pci_backends b;
    alive_cache alive = {0};
    xenvf_err err;

    xenvf_err_init(&err);
    if (xenvf_libxl_read_pci_backends(&t->xs, &b, &err)) {
        LOG(ERROR, "reading libxl's PCI backends: %s", err.msg);
        return;
    }
    for (size_t p = 0; p < t->nr_pfs; p++) {
        tcb_pf *pf = &t->pfs[p];
        bool adopted = false;

        for (size_t i = 0; i < pf->nr_vfs; i++)
            adopted |= repair_vf(t, pf, i, &b, &alive);
        if (!adopted)
            continue;
        /* persisted before anyone is told, as a commit is */
        if (tcb_state_save(t, &err))
            LOG(ERROR, "%s", err.msg);
        tcb_publish(t, pf, NULL);
    }
    xenvf_pci_backends_dispose(&b);
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
        for (size_t i = 0; i < pub.nr_vfs && i < pf->nr_vfs; i++) {
            tcb_vf *v = &pf->vfs[i];
            uint32_t domid = pub.vfs[i].domid;

            if ((pub.vfs[i].state == XENVF_VF_ACTIVE ||
                 pub.vfs[i].state == XENVF_VF_RESETTING) &&
                domid != XENVF_DOMID_NONE &&
                !(v->state == XENVF_VF_ACTIVE && v->domid == domid) &&
                domain_alive(t, domid, NULL))
                adopt(t, pf, i, domid, "published in xenstore");
        }
        xenvf_pf_dispose(&pub);
    }
}

void tcb_domains_adopt(tcb *t)
{
    if (!t->state_loaded && t->nr_pfs)
        adopt_published(t);
    tcb_domains_repair(t);
}

void tcb_xs_event(void *opaque, int fd, short revents)
{
    tcb *t = opaque;
    bool release = false, libxl = false, intro = false;
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
        else if (!strcmp(token, TOKEN_LIBXL))
            libxl = true;
        else if (!strcmp(token, TOKEN_INTRO))
            intro = true;
        else if (!strcmp(token, TCB_TOKEN_REQUEST))
            tcb_request_event(t, path);
        free(path);
        free(token);
    }
    /* what libxl says first: a VF a dead domain held may already be in a
     * live one's hands (a restore), and must then not be reset */
    if (release || libxl)
        tcb_domains_repair(t);
    if (release)
        tcb_domains_check(t);
    if (release || intro)
        tcb_owners_resolve(t, true);
    /* a PF the map gives back to dom0 waits for its driver domain's end */
    for (size_t p = 0; release && p < t->nr_pfs; p++)
        tcb_apply_owner(t, &t->pfs[p]);
}

int tcb_domains_start(tcb *t, xenvf_err *err)
{
    int fd = xenvf_xs_fileno(&t->xs), rc;

    if ((rc = xenvf_xs_watch(&t->xs, "@releaseDomain", TOKEN_RELEASE, err)) ||
        (rc = xenvf_xs_watch(&t->xs, "@introduceDomain", TOKEN_INTRO, err)))
        return rc;
    for (size_t i = 0; i < sizeof(libxl_pci_paths) / sizeof(*libxl_pci_paths);
         i++)
        if ((rc = xenvf_xs_watch(&t->xs, libxl_pci_paths[i], TOKEN_LIBXL, err)))
            return rc;
    return xenvfd_loop_add(fd, POLLIN, tcb_xs_event, t);
}

/* ---- owners by name ------------------------------------------------------ */

/* The live domain called name, or XENVF_DOMID_NONE. */
static uint32_t domid_of(tcb *t, const char *name)
{
    uint32_t found = XENVF_DOMID_NONE;
    char **doms = NULL;
    unsigned nr = 0;

    if (xenvf_xs_directory(&t->xs, "/local/domain", &doms, &nr, NULL))
        return found;
    for (unsigned i = 0; i < nr && found == XENVF_DOMID_NONE; i++) {
        uint64_t domid;
        char *n;

        if (xenvf_parse_uint(doms[i], XENVF_DOMID_MAX, &domid, NULL))
            continue;
        n = domain_name(t, (uint32_t)domid);
        if (n && !strcmp(n, name) && domain_alive(t, (uint32_t)domid, NULL))
            found = (uint32_t)domid;
        free(n);
    }
    free(doms);
    return found;
}

void tcb_owners_resolve(tcb *t, bool publish)
{
    for (size_t p = 0; p < t->nr_pfs; p++) {
        tcb_pf *pf = &t->pfs[p];
        const xenvf_map_pf *mp = xenvf_map_find_pf(&t->map, pf->id);
        uint32_t now;

        if (!mp)
            continue;
        now = mp->owner_name ? domid_of(t, mp->owner_name) : mp->owner;
        if (now == pf->owner_domid)
            continue;
        if (!mp->owner_name)
            ;
        else if (now == XENVF_DOMID_NONE)
            LOG(WARN,
                "pf %s: its driver domain %s is not running: nobody "
                "serves it until it is",
                pf->id, mp->owner_name);
        else
            LOG(INFO, "pf %s: its driver domain %s is domain %u", pf->id,
                mp->owner_name, now);
        pf->owner_domid = now;
        if (publish)
            tcb_publish(t, pf, NULL);
    }
}
