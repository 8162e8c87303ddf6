/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The VF map's model: its structs, copy, equality, lookups, and the
 * messages every part of it uses. Parsing is map_parse.c, the semantic
 * checks map_check.c, formatting and the atomic write map_write.c;
 * docs/vfmap.md describes the format and the rules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/vf_settings.h>

#include "map_internal.h"

/* ---- messages ---------------------------------------------------------- */

/* Messages are one line of printable ASCII, whatever the input held. */
static void msg_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

int map_fail(xenvf_err *err, int rc, const char *name, unsigned line,
             const char *fmt, ...)
{
    char body[XENVF_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return rc;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (!name)
        name = "<map>";
    if (line)
        xenvf_err_set(err, rc, "%s:%u: %s", name, line, body);
    else
        xenvf_err_set(err, rc, "%s: %s", name, body);
    msg_sanitize(err->msg);
    return rc;
}

quoted q(const char *v)
{
    quoted r;
    size_t n = strlen(v);

    if (n <= 32) {
        memcpy(r.s, v, n + 1);
    } else {
        memcpy(r.s, v, 32);
        memcpy(r.s + 32, "...", 4);
    }
    return r;
}

/* ---- structs ----------------------------------------------------------- */

void xenvf_map_ns_init(xenvf_map_ns *ns)
{
    memset(ns, 0, sizeof(*ns));
}

void xenvf_map_ns_dispose(xenvf_map_ns *ns)
{
    xenvf_map_ns_init(ns);
}

void xenvf_map_vf_init(xenvf_map_vf *vf)
{
    memset(vf, 0, sizeof(*vf));
    xenvf_vf_config_init(&vf->config);
}

void xenvf_map_vf_dispose(xenvf_map_vf *vf)
{
    free(vf->domain);
    xenvf_vf_config_dispose(&vf->config);
    for (size_t i = 0; i < vf->nr_ns; i++)
        xenvf_map_ns_dispose(&vf->ns[i]);
    free(vf->ns);
    xenvf_map_vf_init(vf);
}

void xenvf_map_pf_init(xenvf_map_pf *pf)
{
    memset(pf, 0, sizeof(*pf));
}

void xenvf_map_pf_dispose(xenvf_map_pf *pf)
{
    free(pf->id);
    free(pf->owner_name);
    for (size_t i = 0; i < pf->nr_vfs; i++)
        xenvf_map_vf_dispose(&pf->vfs[i]);
    free(pf->vfs);
    xenvf_map_pf_init(pf);
}

void xenvf_map_init(xenvf_map *map)
{
    memset(map, 0, sizeof(*map));
}

void xenvf_map_dispose(xenvf_map *map)
{
    free(map->name);
    for (size_t i = 0; i < map->nr_pfs; i++)
        xenvf_map_pf_dispose(&map->pfs[i]);
    free(map->pfs);
    xenvf_map_init(map);
}

/*
 * Grow *arr by one element of size sz; the caller inits the new slot. Exact
 * size every time: callers may have built the array themselves.
 */
int map_array_grow(void **arr, size_t *nr, size_t sz, xenvf_err *err)
{
    void *p;

    if (*nr >= SIZE_MAX / sz - 1)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    p = reallocarray(*arr, *nr + 1, sz);
    if (!p)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    *arr = p;
    (*nr)++;
    return 0;
}

bool map_token_valid(const char *s, size_t max, const char *chars)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= max && strspn(s, chars) == n;
}

int map_dup_string(char **dst, const char *src, xenvf_err *err)
{
    char *copy = NULL;

    if (src && !(copy = strdup(src)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

int xenvf_map_vf_set_domain(xenvf_map_vf *vf, const char *domain,
                            xenvf_err *err)
{
    if (domain && !map_token_valid(domain, XENVF_MAP_NAME_MAX, NAME_CHARS))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad domain name '%s': use 1-%d of A-Z a-z 0-9 "
                             "_ . -",
                             q(domain).s, XENVF_MAP_NAME_MAX);
    return map_dup_string(&vf->domain, domain, err);
}

int xenvf_map_pf_set_owner_name(xenvf_map_pf *pf, const char *name,
                                xenvf_err *err)
{
    if (name && !map_token_valid(name, XENVF_MAP_NAME_MAX, NAME_CHARS))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad owner name '%s': use 1-%d of A-Z a-z 0-9 "
                             "_ . -",
                             q(name).s, XENVF_MAP_NAME_MAX);
    return map_dup_string(&pf->owner_name, name, err);
}

bool xenvf_map_pf_driver_domain(const xenvf_map_pf *pf)
{
    return pf->owner_name || pf->owner;
}

int xenvf_map_vf_add_ns(xenvf_map_vf *vf, xenvf_map_ns **out, xenvf_err *err)
{
    int rc = map_array_grow((void **)&vf->ns, &vf->nr_ns, sizeof(*vf->ns), err);

    if (rc)
        return rc;
    xenvf_map_ns_init(&vf->ns[vf->nr_ns - 1]);
    if (out)
        *out = &vf->ns[vf->nr_ns - 1];
    return 0;
}

int xenvf_map_pf_set_id(xenvf_map_pf *pf, const char *id, xenvf_err *err)
{
    if (!xenvf_id_valid(id))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad PF id '%s': use 1-%d of A-Z a-z 0-9 _ -",
                             q(id ? id : "").s, XENVF_ID_MAX);
    return map_dup_string(&pf->id, id, err);
}

int xenvf_map_pf_add_vf(xenvf_map_pf *pf, unsigned index, xenvf_map_vf **out,
                        xenvf_err *err)
{
    int rc =
        map_array_grow((void **)&pf->vfs, &pf->nr_vfs, sizeof(*pf->vfs), err);

    if (rc)
        return rc;
    xenvf_map_vf_init(&pf->vfs[pf->nr_vfs - 1]);
    pf->vfs[pf->nr_vfs - 1].index = index;
    if (out)
        *out = &pf->vfs[pf->nr_vfs - 1];
    return 0;
}

int xenvf_map_set_name(xenvf_map *map, const char *name, xenvf_err *err)
{
    return map_dup_string(&map->name, name, err);
}

int xenvf_map_add_pf(xenvf_map *map, xenvf_map_pf **out, xenvf_err *err)
{
    int rc = map_array_grow((void **)&map->pfs, &map->nr_pfs, sizeof(*map->pfs),
                            err);

    if (rc)
        return rc;
    xenvf_map_pf_init(&map->pfs[map->nr_pfs - 1]);
    if (out)
        *out = &map->pfs[map->nr_pfs - 1];
    return 0;
}

static int vf_copy(xenvf_map_vf *dst, const xenvf_map_vf *src, xenvf_err *err)
{
    xenvf_map_ns *ns;
    int rc;

    dst->index = src->index;
    dst->line = src->line;
    dst->guest_settable = src->guest_settable;
    rc = map_dup_string(&dst->domain, src->domain, err);
    if (rc)
        return rc;
    rc = xenvf_vf_config_copy(&dst->config, &src->config, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < src->nr_ns; k++) {
        rc = xenvf_map_vf_add_ns(dst, &ns, err);
        if (rc)
            return rc;
        *ns = src->ns[k];
    }
    return 0;
}

int xenvf_map_copy(xenvf_map *dst, const xenvf_map *src, xenvf_err *err)
{
    xenvf_map tmp;
    xenvf_map_pf *pf;
    xenvf_map_vf *vf;
    int rc;

    xenvf_map_init(&tmp);
    rc = xenvf_map_set_name(&tmp, src->name, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < src->nr_pfs; i++) {
        const xenvf_map_pf *s = &src->pfs[i];

        rc = xenvf_map_add_pf(&tmp, &pf, err);
        if (rc)
            goto out;
        rc = map_dup_string(&pf->id, s->id, err);
        if (rc)
            goto out;
        pf->address = s->address;
        pf->numvfs = s->numvfs;
        pf->owner = s->owner;
        rc = map_dup_string(&pf->owner_name, s->owner_name, err);
        if (rc)
            goto out;
        pf->line = s->line;
        for (size_t j = 0; j < s->nr_vfs; j++) {
            rc = xenvf_map_pf_add_vf(pf, s->vfs[j].index, &vf, err);
            if (rc)
                goto out;
            rc = vf_copy(vf, &s->vfs[j], err);
            if (rc)
                goto out;
        }
    }
    xenvf_map_dispose(dst);
    *dst = tmp;
    xenvf_map_init(&tmp);
out:
    xenvf_map_dispose(&tmp);
    return rc;
}

static bool str_equal(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool vf_equal(const xenvf_map_vf *a, const xenvf_map_vf *b)
{
    if (a->index != b->index || !str_equal(a->domain, b->domain) ||
        a->guest_settable != b->guest_settable ||
        !xenvf_vf_config_equal(&a->config, &b->config) || a->nr_ns != b->nr_ns)
        return false;
    for (size_t k = 0; k < a->nr_ns; k++)
        if (a->ns[k].nsid != b->ns[k].nsid || a->ns[k].size != b->ns[k].size)
            return false;
    return true;
}

bool xenvf_map_equal(const xenvf_map *a, const xenvf_map *b)
{
    if (a->nr_pfs != b->nr_pfs)
        return false;
    for (size_t i = 0; i < a->nr_pfs; i++) {
        const xenvf_map_pf *p = &a->pfs[i], *r = &b->pfs[i];

        if (!str_equal(p->id, r->id) ||
            !xenvf_bdf_equal(&p->address, &r->address) ||
            p->numvfs != r->numvfs || p->owner != r->owner ||
            !str_equal(p->owner_name, r->owner_name) || p->nr_vfs != r->nr_vfs)
            return false;
        for (size_t j = 0; j < p->nr_vfs; j++)
            if (!vf_equal(&p->vfs[j], &r->vfs[j]))
                return false;
    }
    return true;
}

/* ---- lookups ----------------------------------------------------------- */

xenvf_map_pf *xenvf_map_find_pf(const xenvf_map *map, const char *id)
{
    for (size_t i = 0; id && i < map->nr_pfs; i++)
        if (map->pfs[i].id && !strcmp(map->pfs[i].id, id))
            return &map->pfs[i];
    return NULL;
}

xenvf_map_pf *xenvf_map_find_pf_by_address(const xenvf_map *map,
                                           const xenvf_bdf *address)
{
    for (size_t i = 0; i < map->nr_pfs; i++)
        if (xenvf_bdf_equal(&map->pfs[i].address, address))
            return &map->pfs[i];
    return NULL;
}

xenvf_map_vf *xenvf_map_find_vf(const xenvf_map_pf *pf, unsigned index)
{
    for (size_t j = 0; j < pf->nr_vfs; j++)
        if (pf->vfs[j].index == index)
            return &pf->vfs[j];
    return NULL;
}
