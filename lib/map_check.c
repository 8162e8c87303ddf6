/* SPDX-License-Identifier: LGPL-2.1-only */
/* The VF map: the semantic checks, on their own and against the hardware. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "map_internal.h"

/* ---- semantic checks --------------------------------------------------- */

/* One thing that must be unique, for the duplicate finders below. */
typedef struct dup_item {
    const char *s; /* string key, or NULL */
    uint64_t k;    /* numeric key */
    size_t pf, vf, ns;
    size_t pos; /* map order, ties broken by it */
} dup_item;

static int dup_cmp(const void *va, const void *vb)
{
    const dup_item *a = va, *b = vb;
    int c = (a->s && b->s) ? strcmp(a->s, b->s) : 0;

    if (c)
        return c;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool dup_same(const dup_item *a, const dup_item *b)
{
    return a->k == b->k && (!a->s || !b->s || !strcmp(a->s, b->s));
}

/*
 * Sort and find the repeated key whose second occurrence comes first in map
 * order: *first is that key's first occurrence, *again the repeat.
 */
static bool dup_find(dup_item *it, size_t n, size_t *first, size_t *again)
{
    size_t best = SIZE_MAX, g = 0;

    qsort(it, n, sizeof(*it), dup_cmp);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && dup_same(&it[g], &it[i]))
            continue;
        if (i - g > 1 && (best == SIZE_MAX || it[g + 1].pos < it[best].pos)) {
            best = g + 1;
            *first = g;
        }
        g = i;
    }
    *again = best;
    return best != SIZE_MAX;
}

static uint64_t bdf_key(const xenvf_bdf *b)
{
    return (uint64_t)b->seg << 16 | xenvf_bdf_rid(b);
}

#define MAP_FAIL(map, err, rc, line, ...)                                      \
    map_fail(err, rc, (map)->name, line, __VA_ARGS__)

static int check_config(const xenvf_map *map, const xenvf_map_pf *pf,
                        const xenvf_map_vf *vf, xenvf_err *err)
{
    const xenvf_vf_config *c = &vf->config;
    unsigned l = vf->line;
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    if (vf->domain &&
        !map_token_valid(vf->domain, XENVF_MAP_NAME_MAX, NAME_CHARS))
        return MAP_FAIL(map, err, XENVF_EINVAL, l,
                        "pf '%s': vf %u: bad domain name '%s'", pf->id,
                        vf->index, q(vf->domain).s);
    if ((rc = xenvf_vf_config_check(c, &e)))
        return MAP_FAIL(map, err, rc, l, "pf '%s': vf %u: %s", pf->id,
                        vf->index, e.msg);
    if (xenvf_setting_is_set(c, XENVF_SETTING_BOOT) && !vf->domain)
        return MAP_FAIL(map, err, XENVF_ECONFLICT, l,
                        "pf '%s': vf %u: boot order %" PRId64
                        " on a VF that no domain holds",
                        pf->id, vf->index, c->boot);
    for (size_t k = 0; k < vf->nr_ns; k++) {
        const xenvf_map_ns *ns = &vf->ns[k];

        if (k == XENVF_MAP_NS_PER_VF_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, ns->line,
                            "pf '%s': vf %u: more than %d namespaces", pf->id,
                            vf->index, XENVF_MAP_NS_PER_VF_MAX);
        if (ns->nsid == 0 || ns->nsid > XENVF_MAP_NSID_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, ns->line,
                            "pf '%s': vf %u: nsid %u is not in 1-%u", pf->id,
                            vf->index, ns->nsid, XENVF_MAP_NSID_MAX);
        if (ns->size == 0 || ns->size % XENVF_MAP_NS_SIZE_ALIGN)
            return MAP_FAIL(map, err, XENVF_EINVAL, ns->line,
                            "pf '%s': vf %u: namespace %u: size %llu is not "
                            "a positive multiple of %u",
                            pf->id, vf->index, ns->nsid,
                            (unsigned long long)ns->size,
                            XENVF_MAP_NS_SIZE_ALIGN);
    }
    return 0;
}

/* Values one element at a time, in map order. */
static int check_values(const xenvf_map *map, xenvf_err *err)
{
    for (size_t i = 0; i < map->nr_pfs; i++) {
        const xenvf_map_pf *pf = &map->pfs[i];
        int rc;

        if (!xenvf_id_valid(pf->id))
            return MAP_FAIL(map, err, XENVF_EINVAL, pf->line,
                            "pf #%zu: bad id '%s'", i,
                            q(pf->id ? pf->id : "").s);
        if (pf->address.dev > 31 || pf->address.func > 7)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': address has device > 1f or function "
                            "> 7",
                            pf->id);
        if (pf->numvfs > XENVF_MAP_NUMVFS_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': numvfs %u is above %u", pf->id,
                            pf->numvfs, XENVF_MAP_NUMVFS_MAX);
        if (pf->owner > XENVF_MAP_DOMID_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': owner domid %u is reserved or invalid",
                            pf->id, pf->owner);
        for (size_t j = 0; j < pf->nr_vfs; j++) {
            const xenvf_map_vf *vf = &pf->vfs[j];

            if (vf->index >= pf->numvfs)
                return MAP_FAIL(map, err, XENVF_ERANGE, vf->line,
                                "pf '%s': vf index %u >= numvfs %u", pf->id,
                                vf->index, pf->numvfs);
            rc = check_config(map, pf, vf, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int check_pf_dups(const xenvf_map *map, dup_item *it, xenvf_err *err)
{
    size_t a, b, n = map->nr_pfs;
    char addr[XENVF_BDF_STR_MAX];

    for (size_t i = 0; i < n; i++)
        it[i] = (dup_item){.s = map->pfs[i].id, .pf = i, .pos = i};
    if (dup_find(it, n, &a, &b))
        return MAP_FAIL(map, err, XENVF_ECONFLICT, map->pfs[it[b].pf].line,
                        "pf id '%s' is used twice (first at line %u)",
                        map->pfs[it[b].pf].id, map->pfs[it[a].pf].line);
    for (size_t i = 0; i < n; i++)
        it[i] =
            (dup_item){.k = bdf_key(&map->pfs[i].address), .pf = i, .pos = i};
    if (dup_find(it, n, &a, &b)) {
        const xenvf_map_pf *p1 = &map->pfs[it[a].pf], *p2 = &map->pfs[it[b].pf];

        xenvf_bdf_format(&p2->address, addr);
        return MAP_FAIL(
            map, err, XENVF_ECONFLICT, p2->line,
            "pf '%s': address %s is already used by pf '%s' (line %u)", p2->id,
            addr, p1->id, p1->line);
    }
    return 0;
}

/*
 * The same (pf, index) twice. Two different holders is the worse problem
 * and gets its own message; otherwise it is a plain duplicate.
 */
static const xenvf_map_vf *item_vf(const xenvf_map *map, const dup_item *it)
{
    return &map->pfs[it->pf].vfs[it->vf];
}

static int check_vf_dups(const xenvf_map *map, dup_item *it, size_t n,
                         xenvf_err *err)
{
    size_t best = SIZE_MAX, best_first = 0;
    bool best_two = false;
    const xenvf_map_pf *pf;
    const xenvf_map_vf *v1, *v2;

    qsort(it, n, sizeof(*it), dup_cmp);
    for (size_t g = 0, i = 1; i <= n; i++) {
        size_t holder = SIZE_MAX, first = g, rep = g + 1;
        bool two = false;

        if (i < n && dup_same(&it[g], &it[i]))
            continue;
        if (i - g < 2) {
            g = i;
            continue;
        }
        /* the group's first holder, and the first entry naming another */
        for (size_t j = g; j < i && !two; j++) {
            const char *d = item_vf(map, &it[j])->domain;

            if (!d)
                continue;
            if (holder == SIZE_MAX) {
                holder = j;
            } else if (strcmp(d, item_vf(map, &it[holder])->domain)) {
                two = true;
                first = holder;
                rep = j;
            }
        }
        if (best == SIZE_MAX || (two && !best_two) ||
            (two == best_two && it[rep].pos < it[best].pos)) {
            best = rep;
            best_first = first;
            best_two = two;
        }
        g = i;
    }
    if (best == SIZE_MAX)
        return 0;
    pf = &map->pfs[it[best].pf];
    v1 = &pf->vfs[it[best_first].vf];
    v2 = &pf->vfs[it[best].vf];
    if (best_two)
        return MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                        "pf '%s': vf %u is held by two domains, '%s' (line "
                        "%u) and '%s'",
                        pf->id, v2->index, v1->domain, v1->line, v2->domain);
    return MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                    "pf '%s': vf index %u is listed twice (first at line %u)",
                    pf->id, v2->index, v1->line);
}

int xenvf_map_check(const xenvf_map *map, xenvf_err *err)
{
    size_t nr_vfs = 0, nr_ns = 0, n, a, b, pos;
    dup_item *it = NULL;
    char mac[18];
    int rc;

    rc = check_values(map, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < map->nr_pfs; i++) {
        nr_vfs += map->pfs[i].nr_vfs;
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++)
            nr_ns += map->pfs[i].vfs[j].nr_ns;
    }
    n = map->nr_pfs;
    if (nr_vfs > n)
        n = nr_vfs;
    if (nr_ns > n)
        n = nr_ns;
    it = calloc(n ? n : 1, sizeof(*it));
    if (!it) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }

    rc = check_pf_dups(map, it, err);
    if (rc)
        goto out;

    /* VF index, by (pf, index) */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++)
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++, pos++)
            it[pos] =
                (dup_item){.k = (uint64_t)i << 32 | map->pfs[i].vfs[j].index,
                           .pf = i,
                           .vf = j,
                           .pos = pos};
    rc = check_vf_dups(map, it, nr_vfs, err);
    if (rc)
        goto out;

    /* NSIDs are per NVMe subsystem: unique within a PF */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++)
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++)
            for (size_t k = 0; k < map->pfs[i].vfs[j].nr_ns; k++, pos++)
                it[pos] = (dup_item){.k = (uint64_t)i << 32 |
                                          map->pfs[i].vfs[j].ns[k].nsid,
                                     .pf = i,
                                     .vf = j,
                                     .ns = k,
                                     .pos = pos};
    if (dup_find(it, nr_ns, &a, &b)) {
        const xenvf_map_pf *pf = &map->pfs[it[b].pf];
        const xenvf_map_ns *n1 = &pf->vfs[it[a].vf].ns[it[a].ns];
        const xenvf_map_ns *n2 = &pf->vfs[it[b].vf].ns[it[b].ns];

        rc = MAP_FAIL(map, err, XENVF_ECONFLICT, n2->line,
                      "pf '%s': namespace nsid %u is declared twice (first "
                      "at line %u)",
                      pf->id, n2->nsid, n1->line);
        goto out;
    }

    /* MACs, across the whole map: one station, one address */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++) {
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++) {
            const xenvf_vf_config *c = &map->pfs[i].vfs[j].config;
            uint64_t k = 0;

            if (!c->has_mac)
                continue;
            for (int m = 0; m < 6; m++)
                k = k << 8 | c->mac[m];
            it[pos] = (dup_item){.k = k, .pf = i, .vf = j, .pos = pos};
            pos++;
        }
    }
    if (dup_find(it, pos, &a, &b)) {
        const xenvf_map_pf *p1 = &map->pfs[it[a].pf], *p2 = &map->pfs[it[b].pf];
        const xenvf_map_vf *v1 = &p1->vfs[it[a].vf], *v2 = &p2->vfs[it[b].vf];

        xenvf_mac_format(v2->config.mac, mac);
        rc = MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                      "pf '%s': vf %u: MAC %s is already used by pf '%s' "
                      "vf %u (line %u)",
                      p2->id, v2->index, mac, p1->id, v1->index, v1->line);
        goto out;
    }

    /* boot orders, per domain: the guest's boot list must be a list */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++) {
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++) {
            const xenvf_map_vf *vf = &map->pfs[i].vfs[j];

            if (!vf->domain || vf->config.boot < 0)
                continue;
            it[pos] = (dup_item){.s = vf->domain,
                                 .k = (uint64_t)vf->config.boot,
                                 .pf = i,
                                 .vf = j,
                                 .pos = pos};
            pos++;
        }
    }
    if (dup_find(it, pos, &a, &b)) {
        const xenvf_map_pf *p1 = &map->pfs[it[a].pf], *p2 = &map->pfs[it[b].pf];
        const xenvf_map_vf *v1 = &p1->vfs[it[a].vf], *v2 = &p2->vfs[it[b].vf];

        rc = MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                      "domain '%s': boot order %" PRId64
                      " is given to two VFs, pf "
                      "'%s' vf %u (line %u) and pf '%s' vf %u",
                      v2->domain, v2->config.boot, p1->id, v1->index, v1->line,
                      p2->id, v2->index);
        goto out;
    }
    rc = 0;
out:
    free(it);
    return rc;
}

int xenvf_map_check_hw(const xenvf_map *map, const xenvf_pf *hw, size_t nr_hw,
                       xenvf_err *err)
{
    char addr[XENVF_BDF_STR_MAX];

    for (size_t i = 0; i < map->nr_pfs; i++) {
        const xenvf_map_pf *pf = &map->pfs[i];
        const xenvf_pf *h = NULL;

        for (size_t k = 0; k < nr_hw && !h; k++)
            if (xenvf_bdf_equal(&hw[k].bdf, &pf->address))
                h = &hw[k];
        if (!h) {
            xenvf_bdf_format(&pf->address, addr);
            return MAP_FAIL(map, err, XENVF_ENOENT, pf->line,
                            "pf '%s': unknown PF: %s is not a discovered "
                            "SR-IOV physical function",
                            pf->id, addr);
        }
        /* A VF that can never exist on this device is the more specific
         * problem, so it is reported before numvfs. */
        for (size_t j = 0; j < pf->nr_vfs; j++)
            if (pf->vfs[j].index >= h->total_vfs)
                return MAP_FAIL(map, err, XENVF_ERANGE, pf->vfs[j].line,
                                "pf '%s': vf index %u >= TotalVFs %u", pf->id,
                                pf->vfs[j].index, h->total_vfs);
        if (pf->numvfs > h->total_vfs)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': numvfs %u is more than the device's "
                            "TotalVFs %u",
                            pf->id, pf->numvfs, h->total_vfs);
    }
    return 0;
}
