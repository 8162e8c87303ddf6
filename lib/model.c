/* SPDX-License-Identifier: LGPL-2.1-only */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/model.h>
#include <xenvf/text.h>

/* ---- states ---------------------------------------------------------- */

static const char *const pf_state_names[] = {
    [XENVF_PF_UNKNOWN] = "unknown",     [XENVF_PF_PROBING] = "probing",
    [XENVF_PF_READY] = "ready",         [XENVF_PF_DEGRADED] = "degraded",
    [XENVF_PF_RESETTING] = "resetting", [XENVF_PF_FAILED] = "failed",
};

static const char *const vf_state_names[] = {
    [XENVF_VF_ABSENT] = "absent",       [XENVF_VF_FREE] = "free",
    [XENVF_VF_RESERVED] = "reserved",   [XENVF_VF_ACTIVE] = "active",
    [XENVF_VF_RESETTING] = "resetting", [XENVF_VF_FAILED] = "failed",
};

#define NR_PF_STATES (sizeof(pf_state_names) / sizeof(pf_state_names[0]))
#define NR_VF_STATES (sizeof(vf_state_names) / sizeof(vf_state_names[0]))

const char *xenvf_pf_state_name(xenvf_pf_state s)
{
    return (unsigned)s < NR_PF_STATES ? pf_state_names[s] : "invalid";
}

const char *xenvf_vf_state_name(xenvf_vf_state s)
{
    return (unsigned)s < NR_VF_STATES ? vf_state_names[s] : "invalid";
}

static int state_lookup(const char *const *names, size_t n, const char *s,
                        const char *what, int *out, xenvf_err *err)
{
    for (size_t i = 0; s && i < n; i++) {
        if (!strcmp(names[i], s)) {
            *out = (int)i;
            return 0;
        }
    }
    return xenvf_err_set(err, XENVF_EINVAL, "unknown %s state '%.32s'", what,
                         s ? s : "");
}

int xenvf_pf_state_parse(const char *s, xenvf_pf_state *out, xenvf_err *err)
{
    int v, rc = state_lookup(pf_state_names, NR_PF_STATES, s, "PF", &v, err);
    if (!rc)
        *out = (xenvf_pf_state)v;
    return rc;
}

int xenvf_vf_state_parse(const char *s, xenvf_vf_state *out, xenvf_err *err)
{
    int v, rc = state_lookup(vf_state_names, NR_VF_STATES, s, "VF", &v, err);
    if (!rc)
        *out = (xenvf_vf_state)v;
    return rc;
}

#define BIT(s) (1u << (s))

/* Allowed next states, one bitmask per state (docs/architecture.md). */
static const unsigned pf_steps[] = {
    [XENVF_PF_UNKNOWN] = BIT(XENVF_PF_PROBING) | BIT(XENVF_PF_FAILED),
    [XENVF_PF_PROBING] =
        BIT(XENVF_PF_READY) | BIT(XENVF_PF_DEGRADED) | BIT(XENVF_PF_FAILED),
    [XENVF_PF_READY] = BIT(XENVF_PF_DEGRADED) | BIT(XENVF_PF_RESETTING) |
                       BIT(XENVF_PF_PROBING) | BIT(XENVF_PF_FAILED),
    [XENVF_PF_DEGRADED] = BIT(XENVF_PF_READY) | BIT(XENVF_PF_RESETTING) |
                          BIT(XENVF_PF_PROBING) | BIT(XENVF_PF_FAILED),
    [XENVF_PF_RESETTING] = BIT(XENVF_PF_PROBING) | BIT(XENVF_PF_FAILED),
    [XENVF_PF_FAILED] = BIT(XENVF_PF_PROBING) | BIT(XENVF_PF_UNKNOWN),
};

/*
 * A VF held by a live domain (ACTIVE) is never handed back without a reset:
 * ACTIVE -> FREE is not a step. A reservation that was never used may be
 * dropped (RESERVED -> FREE). Only an unheld VF may vanish (-> ABSENT).
 */
static const unsigned vf_steps[] = {
    [XENVF_VF_ABSENT] = BIT(XENVF_VF_FREE) | BIT(XENVF_VF_FAILED),
    [XENVF_VF_FREE] = BIT(XENVF_VF_RESERVED) | BIT(XENVF_VF_ABSENT) |
                      BIT(XENVF_VF_RESETTING) | BIT(XENVF_VF_FAILED),
    [XENVF_VF_RESERVED] = BIT(XENVF_VF_ACTIVE) | BIT(XENVF_VF_FREE) |
                          BIT(XENVF_VF_RESETTING) | BIT(XENVF_VF_FAILED),
    [XENVF_VF_ACTIVE] = BIT(XENVF_VF_RESETTING) | BIT(XENVF_VF_FAILED),
    [XENVF_VF_RESETTING] = BIT(XENVF_VF_FREE) | BIT(XENVF_VF_FAILED),
    [XENVF_VF_FAILED] = BIT(XENVF_VF_RESETTING) | BIT(XENVF_VF_ABSENT),
};

bool xenvf_pf_state_step_ok(xenvf_pf_state from, xenvf_pf_state to)
{
    return (unsigned)from < NR_PF_STATES && (unsigned)to < NR_PF_STATES &&
           (pf_steps[from] & BIT(to));
}

bool xenvf_vf_state_step_ok(xenvf_vf_state from, xenvf_vf_state to)
{
    return (unsigned)from < NR_VF_STATES && (unsigned)to < NR_VF_STATES &&
           (vf_steps[from] & BIT(to));
}

bool xenvf_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n == 0 || n > XENVF_ID_MAX)
        return false;
    return strspn(id, XENVF_ID_CHARS) == n;
}

/* ---- namespace lists -------------------------------------------------- */

void xenvf_ns_list_init(xenvf_ns_list *l)
{
    l->nr = 0;
    l->ns = NULL;
}

void xenvf_ns_list_dispose(xenvf_ns_list *l)
{
    free(l->ns);
    xenvf_ns_list_init(l);
}

int xenvf_ns_list_copy(xenvf_ns_list *dst, const xenvf_ns_list *src,
                       xenvf_err *err)
{
    xenvf_ns *ns = NULL;

    if (src->nr && !(ns = calloc(src->nr, sizeof(*ns))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    if (src->nr)
        memcpy(ns, src->ns, src->nr * sizeof(*ns));
    xenvf_ns_list_dispose(dst);
    dst->ns = ns;
    dst->nr = src->nr;
    return 0;
}

int xenvf_ns_list_add(xenvf_ns_list *l, uint32_t nsid, uint64_t size,
                      xenvf_err *err)
{
    xenvf_ns *ns = reallocarray(l->ns, l->nr + 1, sizeof(*ns));

    if (!ns)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    ns[l->nr] = (xenvf_ns){.nsid = nsid, .size = size};
    l->ns = ns;
    l->nr++;
    return 0;
}

bool xenvf_ns_list_equal(const xenvf_ns_list *a, const xenvf_ns_list *b)
{
    if (a->nr != b->nr)
        return false;
    for (size_t i = 0; i < a->nr; i++)
        if (a->ns[i].nsid != b->ns[i].nsid || a->ns[i].size != b->ns[i].size)
            return false;
    return true;
}

static int ns_too_many(size_t i, xenvf_err *err)
{
    return xenvf_err_set(err, XENVF_ERANGE,
                         "entry %zu: more than %d namespaces", i + 1,
                         XENVF_NS_MAX);
}

/* Entry i (0-based) after prev (NULL for the first): one rule set for the
 * parser and the formatter. */
static int ns_entry_check(size_t i, const xenvf_ns *ns, const xenvf_ns *prev,
                          xenvf_err *err)
{
    if (i >= XENVF_NS_MAX)
        return ns_too_many(i, err);
    if (ns->nsid == 0 || ns->nsid > XENVF_NSID_MAX)
        return xenvf_err_set(err, XENVF_ERANGE,
                             "entry %zu: nsid %u is reserved by NVMe (use "
                             "1-%u)",
                             i + 1, ns->nsid, XENVF_NSID_MAX);
    if (ns->size == 0 || ns->size % XENVF_NS_SIZE_ALIGN)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "entry %zu: namespace %u: size %llu is not a "
                             "positive multiple of %d",
                             i + 1, ns->nsid, (unsigned long long)ns->size,
                             XENVF_NS_SIZE_ALIGN);
    if (prev && ns->nsid == prev->nsid)
        return xenvf_err_set(err, XENVF_ECONFLICT,
                             "entry %zu: nsid %u is listed twice", i + 1,
                             ns->nsid);
    if (prev && ns->nsid < prev->nsid)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "entry %zu: nsid %u after %u: not in ascending "
                             "order",
                             i + 1, ns->nsid, prev->nsid);
    return 0;
}

int xenvf_ns_list_check(const xenvf_ns_list *l, xenvf_err *err)
{
    for (size_t i = 0; i < l->nr; i++) {
        int rc = ns_entry_check(i, &l->ns[i], i ? &l->ns[i - 1] : NULL, err);
        if (rc) {
            xenvf_err_prepend(err, "namespace list: ");
            return rc;
        }
    }
    return 0;
}

/* One "NSID:BYTES" token of len bytes at s (not terminated). */
static int ns_entry_parse(const char *s, size_t len, size_t i, xenvf_ns *out,
                          xenvf_err *err)
{
    char tok[40], *colon;
    uint64_t nsid, size;
    int rc;

    if (len >= sizeof(tok) || !(colon = memchr(s, ':', len)))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "entry %zu '%.*s': expected NSID:BYTES", i + 1,
                             (int)(len < 32 ? len : 32), s);
    memcpy(tok, s, len);
    tok[len] = '\0';
    colon = tok + (colon - s);
    *colon = '\0';
    if ((rc = xenvf_parse_uint(tok, UINT32_MAX, &nsid, err))) {
        xenvf_err_prepend(err, "entry %zu: nsid: ", i + 1);
        return rc;
    }
    if ((rc = xenvf_parse_uint(colon + 1, UINT64_MAX, &size, err))) {
        xenvf_err_prepend(err, "entry %zu: size: ", i + 1);
        return rc;
    }
    *out = (xenvf_ns){.nsid = (uint32_t)nsid, .size = size};
    return 0;
}

int xenvf_ns_list_parse(const char *s, xenvf_ns_list *out, xenvf_err *err)
{
    xenvf_ns_list l;
    const char *p = s;
    int rc = 0;

    xenvf_ns_list_init(&l);
    if (!s || !*s) {
        rc = xenvf_err_set(err, XENVF_EINVAL,
                           "empty (no namespaces is an absent node)");
        goto out;
    }
    for (size_t i = 0;; i++) {
        const size_t len = strcspn(p, " ");
        xenvf_ns ns;

        /* the count first: a long list is refused before it is stored */
        if (i >= XENVF_NS_MAX) {
            rc = ns_too_many(i, err);
            goto out;
        }
        if ((rc = ns_entry_parse(p, len, i, &ns, err)) ||
            (rc = ns_entry_check(i, &ns, i ? &l.ns[i - 1] : NULL, err)) ||
            (rc = xenvf_ns_list_add(&l, ns.nsid, ns.size, err)))
            goto out;
        p += len;
        if (!*p)
            break;
        /* one space between entries, none at the end */
        if (!p[1]) {
            rc = xenvf_err_set(err, XENVF_EINVAL,
                               "trailing space at offset %zu", (size_t)(p - s));
            goto out;
        }
        if (p[1] == ' ') {
            rc = xenvf_err_set(err, XENVF_EINVAL,
                               "entry %zu: stray space at offset %zu", i + 2,
                               (size_t)(p - s) + 1);
            goto out;
        }
        p++;
    }
    xenvf_ns_list_dispose(out);
    *out = l;
    xenvf_ns_list_init(&l);
out:
    if (rc)
        xenvf_err_prepend(err, "namespace list: ");
    xenvf_ns_list_dispose(&l);
    return rc;
}

int xenvf_ns_list_format(const xenvf_ns_list *l,
                         char buf[XENVF_NS_LIST_STR_MAX], xenvf_err *err)
{
    size_t n = 0;
    int rc = xenvf_ns_list_check(l, err);

    buf[0] = '\0';
    if (rc)
        return rc;
    /* checked: at most XENVF_NS_MAX entries of at most 31 bytes each */
    for (size_t i = 0; i < l->nr; i++)
        n += (size_t)snprintf(buf + n, XENVF_NS_LIST_STR_MAX - n,
                              "%s%" PRIu32 ":%" PRIu64, i ? " " : "",
                              l->ns[i].nsid, l->ns[i].size);
    return 0;
}

/* ---- structs ---------------------------------------------------------- */

void xenvf_vf_config_init(xenvf_vf_config *c)
{
    memset(c, 0, sizeof(*c));
    c->vlan = -1;
    c->trust = -1;
    c->spoofchk = -1;
    c->rate_mbps = -1;
    c->boot = -1;
}

void xenvf_vf_config_dispose(xenvf_vf_config *c)
{
    free(c->function);
    xenvf_ns_list_dispose(&c->ns);
    xenvf_vf_config_init(c);
}

int xenvf_vf_config_copy(xenvf_vf_config *dst, const xenvf_vf_config *src,
                         xenvf_err *err)
{
    char *function = NULL;
    xenvf_ns_list ns;
    int rc;

    xenvf_ns_list_init(&ns);
    if (src->function && !(function = strdup(src->function)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    if ((rc = xenvf_ns_list_copy(&ns, &src->ns, err))) {
        free(function);
        return rc;
    }
    xenvf_vf_config_dispose(dst);
    *dst = *src;
    dst->function = function;
    dst->ns = ns;
    return 0;
}

void xenvf_vf_init(xenvf_vf *vf)
{
    memset(vf, 0, sizeof(*vf));
    vf->state = XENVF_VF_ABSENT;
    vf->domid = XENVF_DOMID_NONE;
    xenvf_vf_config_init(&vf->config);
}

void xenvf_vf_dispose(xenvf_vf *vf)
{
    xenvf_vf_config_dispose(&vf->config);
    xenvf_vf_init(vf);
}

void xenvf_pf_init(xenvf_pf *pf)
{
    memset(pf, 0, sizeof(*pf));
    pf->state = XENVF_PF_UNKNOWN;
}

void xenvf_pf_dispose(xenvf_pf *pf)
{
    for (size_t i = 0; i < pf->nr_vfs; i++)
        xenvf_vf_dispose(&pf->vfs[i]);
    free(pf->vfs);
    free(pf->id);
    xenvf_pf_init(pf);
}

int xenvf_pf_set_id(xenvf_pf *pf, const char *id, xenvf_err *err)
{
    char *copy;

    if (!xenvf_id_valid(id))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad PF id '%.40s': use 1-%d of A-Z a-z 0-9 _ -",
                             id ? id : "", XENVF_ID_MAX);
    if (!(copy = strdup(id)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    free(pf->id);
    pf->id = copy;
    return 0;
}

int xenvf_pf_resize_vfs(xenvf_pf *pf, size_t nr, xenvf_err *err)
{
    xenvf_vf *vfs;

    for (size_t i = nr; i < pf->nr_vfs; i++)
        xenvf_vf_dispose(&pf->vfs[i]);
    if (nr == 0) {
        free(pf->vfs);
        pf->vfs = NULL;
        pf->nr_vfs = 0;
        return 0;
    }
    vfs = reallocarray(pf->vfs, nr, sizeof(*vfs));
    if (!vfs)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory for %zu VFs",
                             nr);
    for (size_t i = pf->nr_vfs; i < nr; i++) {
        xenvf_vf_init(&vfs[i]);
        vfs[i].index = (unsigned)i;
    }
    pf->vfs = vfs;
    pf->nr_vfs = nr;
    return 0;
}

unsigned xenvf_pf_active_vfs(const xenvf_pf *pf)
{
    unsigned n = 0;

    for (size_t i = 0; i < pf->nr_vfs; i++)
        if (pf->vfs[i].state == XENVF_VF_RESERVED ||
            pf->vfs[i].state == XENVF_VF_ACTIVE)
            n++;
    return n;
}
