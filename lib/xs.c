/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The xenstore schema (see xs.h and docs/xenstore-paths.md): what xenvf
 * keeps where, published and read back. Every request goes through the
 * transport's wrappers (xs_conn.c, xs_internal.h).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include <xenvf/file.h>
#include <xenvf/switch.h>
#include <xenvf/text.h>
#include <xenvf/vf_settings.h>
#include <xenvf/vf_stats.h>
#include <xenvf/xs.h>

#include "xs_internal.h"

#define DOMID_LIMIT 0x7ff0u /* DOMID_FIRST_RESERVED in xen.h */

/* ---- the root ----------------------------------------------------------- */

int xenvf_xs_setup_root(xenvf_xs *xs, xenvf_err *err)
{
    int rc = xsi_mkdir_perms(xs, XBT_NULL, XENVF_XS_ROOT, 0, err);

    return rc ? rc : xsi_mkdir_perms(xs, XBT_NULL, XENVF_XS_PFS, 0, err);
}

/* ---- values ------------------------------------------------------------ */

static void fmt_uint(char buf[24], uint64_t v)
{
    snprintf(buf, 24, "%" PRIu64, v);
}

static void fmt_domid(char buf[24], uint32_t domid)
{
    if (domid == XENVF_DOMID_NONE)
        buf[0] = '\0';
    else
        fmt_uint(buf, domid);
}

int xenvf_xs_parse_domid(const char *s, uint32_t *out, xenvf_err *err)
{
    uint64_t v;
    int rc;

    if (s && !*s) {
        *out = XENVF_DOMID_NONE;
        return 0;
    }
    rc = xenvf_parse_uint(s, DOMID_LIMIT - 1, &v, err);
    if (rc) {
        xenvf_err_prepend(err, "domain id: ");
        return rc;
    }
    *out = (uint32_t)v;
    return 0;
}

/* A setting's leaf: its value from the text form (vf_settings.h). */
static int apply_setting_node(xenvf_vf_config *c, xenvf_setting set,
                              const char *value, xenvf_err *err)
{
    xenvf_setting_value v;
    int rc = xenvf_setting_parse(set, value, strlen(value), &v, err);

    return rc ? rc : xenvf_setting_store(c, set, &v, err);
}

static int apply_vf_node(xenvf_vf *vf, const char *leaf, const char *value,
                         xenvf_err *err)
{
    xenvf_setting set = xenvf_setting_find(leaf, strlen(leaf));
    int rc = 0;

    if (set < XENVF_NR_SETTINGS) {
        rc = apply_setting_node(&vf->config, set, value, err);
    } else if (!strcmp(leaf, "bdf")) {
        vf->bdf_known = *value != '\0';
        if (vf->bdf_known)
            rc = xenvf_bdf_parse(value, &vf->bdf, err);
    } else if (!strcmp(leaf, "domain")) {
        rc = xenvf_xs_parse_domid(value, &vf->domid, err);
    } else if (!strcmp(leaf, "state")) {
        rc = xenvf_vf_state_parse(value, &vf->state, err);
    } else if (!strcmp(leaf, "namespaces")) {
        rc = xenvf_ns_list_parse(value, &vf->config.ns, err);
    } else if (!strcmp(leaf, "stats")) {
        /* the PF agent's (a driver domain may write it): empty until it
         * speaks; a bad value is the VF's counters unreadable, never an
         * unreadable PF */
        if (*value &&
            xenvf_vf_stats_parse(value, strlen(value), &vf->stats, NULL))
            vf->stats.status = XENVF_VF_STATS_BAD;
    }
    return rc;
}

/* A VF setting node was removed: the setting is unset again. */
static void unset_vf_node(xenvf_vf *vf, const char *leaf)
{
    xenvf_setting set = xenvf_setting_find(leaf, strlen(leaf));

    if (set < XENVF_NR_SETTINGS)
        xenvf_setting_unset(&vf->config, set);
    else if (!strcmp(leaf, "namespaces"))
        xenvf_ns_list_dispose(&vf->config.ns);
    else if (!strcmp(leaf, "stats"))
        memset(&vf->stats, 0, sizeof(vf->stats));
}

int xenvf_xs_apply_pf_node(xenvf_pf *pf, const char *rel_path,
                           const char *value, xenvf_err *err)
{
    uint64_t v;
    int rc = 0;

    if (!strcmp(rel_path, "state")) {
        rc = xenvf_pf_state_parse(value, &pf->state, err);
    } else if (!strcmp(rel_path, "owner")) {
        /* empty: its driver domain is not running; no agent serves it */
        rc = xenvf_xs_parse_domid(value, &pf->owner_domid, err);
    } else if (!strcmp(rel_path, "bdf")) {
        rc = xenvf_bdf_parse(value, &pf->bdf, err);
    } else if (!strcmp(rel_path, "totalvfs") || !strcmp(rel_path, "numvfs")) {
        rc = xenvf_parse_uint(value, UINT16_MAX, &v, err);
        if (!rc)
            *(rel_path[0] == 't' ? &pf->total_vfs : &pf->num_vfs) = (unsigned)v;
    } else if (!strcmp(rel_path, "active")) {
        rc = xenvf_parse_uint(value, UINT16_MAX, &v, err); /* derived */
    } else if (!strncmp(rel_path, "vf/", 3)) {
        const char *slash = strchr(rel_path + 3, '/');
        char num[8];
        size_t len = slash ? (size_t)(slash - rel_path - 3) : 0;

        if (!slash || len == 0 || len >= sizeof(num))
            return 0; /* "vf" or "vf/<n>" directories carry no value */
        memcpy(num, rel_path + 3, len);
        num[len] = '\0';
        rc = xenvf_parse_uint(num, UINT16_MAX - 1, &v, err);
        if (!rc && v >= pf->nr_vfs)
            rc = xenvf_pf_resize_vfs(pf, (size_t)v + 1, err);
        if (!rc)
            rc = apply_vf_node(&pf->vfs[v], slash + 1, value, err);
    }
    if (rc)
        xenvf_err_prepend(err, "%s: ", rel_path);
    return rc;
}

/* ---- publishing PFs ----------------------------------------------------- */

int xenvf_xs_pf_path(char buf[XENVF_XS_PATH_MAX], const char *pf_id,
                     const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, XS_PATH_MAX, XENVF_XS_PFS "/%s", pf_id);

    if (n < 0 || n >= XS_PATH_MAX)
        return XS_PATH_MAX - 1;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, XS_PATH_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return n < XS_PATH_MAX ? n : XS_PATH_MAX - 1;
}

#define GUEST_ROOT "/local/domain/%u/xenvf"

int xenvf_xs_guest_path(char buf[XENVF_XS_PATH_MAX], uint32_t domid,
                        const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, XS_PATH_MAX, GUEST_ROOT, domid);

    va_start(ap, fmt);
    n += vsnprintf(buf + n, XS_PATH_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return n < XS_PATH_MAX ? n : XS_PATH_MAX - 1;
}

bool xenvf_xs_parse_guest_vf_path(const char *path, uint32_t *domid,
                                  unsigned *local, const char **leaf)
{
    int end = 0;

    if (sscanf(path, GUEST_ROOT "/vf/%u/%n", domid, local, &end) != 2 || !end ||
        !path[end] || strchr(path + end, '/'))
        return false;
    *leaf = path + end;
    return true;
}

struct publish_args {
    const xenvf_pf *pf;
    const xenvf_pf *prev; /* NULL: full publish */
};

/* Write one leaf if its value changed; on a full publish also set perms. */
static int put_leaf(xenvf_xs *xs, xs_transaction_t t, const char *path,
                    const char *value, const char *prev_value, bool full,
                    uint32_t reader, xenvf_err *err)
{
    int rc;

    if (!full && prev_value && !strcmp(value, prev_value))
        return 0;
    rc = xsi_put(xs, t, path, value, err);
    if (!rc && full)
        rc = xsi_perms(xs, t, path, reader, XS_PERM_READ, err);
    return rc;
}

/* A full publish may find setting nodes left by an earlier run: drop those
 * the VF no longer has (one directory read instead of a delete per leaf). */
static int remove_unset_settings(xenvf_xs *xs, xs_transaction_t t,
                                 const char *vf_path, const xenvf_vf_config *c,
                                 xenvf_err *err)
{
    char path[XS_PATH_MAX * 2], **ents;
    unsigned nr;
    int rc;

    if ((rc = xsi_dir(xs, t, vf_path, &ents, &nr, err)))
        return rc;
    for (unsigned i = 0; i < nr && !rc; i++) {
        xenvf_setting set = xenvf_setting_find(ents[i], strlen(ents[i]));
        bool stale = set < XENVF_NR_SETTINGS
                         ? !xenvf_setting_is_set(c, set)
                         : !strcmp(ents[i], "namespaces") && !c->ns.nr;

        if (stale) {
            snprintf(path, sizeof(path), "%s/%s", vf_path, ents[i]);
            rc = xsi_del(xs, t, path, err);
        }
    }
    free(ents);
    return rc;
}

/* The namespaces node at path: written when the list changed (formatting
 * checks it), removed when it became empty. Its value can be 2 KiB, more
 * than a setting's buffer, and unchanged lists are never formatted. */
static int publish_ns(xenvf_xs *xs, xs_transaction_t t, const char *path,
                      const xenvf_vf *vf, const xenvf_vf *prev, bool full,
                      uint32_t reader, xenvf_err *err)
{
    char val[XENVF_NS_LIST_STR_MAX];
    int rc;

    if (!full && xenvf_ns_list_equal(&vf->config.ns, &prev->config.ns))
        return 0;
    if (!vf->config.ns.nr) /* full: remove_unset_settings drops a stale one */
        return full ? 0 : xsi_del(xs, t, path, err);
    if ((rc = xenvf_ns_list_format(&vf->config.ns, val, err))) {
        xenvf_err_prepend(err, "vf %u: ", vf->index);
        return rc;
    }
    return put_leaf(xs, t, path, val, NULL, full, reader, err);
}

/*
 * vf/<n>/stats belongs to the PF agent (the VF's counters, vf_stats.h). On
 * a full publish: a driver domain's agent gets the node (empty until it
 * writes) and the right to write it; a dom0 PF's node keeps what its agent
 * wrote, and an earlier owner's right is taken back.
 */
static int publish_stats_node(xenvf_xs *xs, xs_transaction_t t,
                              const char *path, uint32_t reader, xenvf_err *err)
{
    char *cur = NULL;
    int rc;

    rc = xsi_get(xs, t, path, &cur, err);
    if (rc || (!cur && reader == 0))
        return rc;
    if (!cur)
        rc = xsi_put(xs, t, path, "", err);
    if (!rc)
        rc = xsi_perms(xs, t, path, reader, XS_PERM_READ | XS_PERM_WRITE, err);
    free(cur);
    return rc;
}

static int publish_vf(xenvf_xs *xs, xs_transaction_t t, const xenvf_pf *pf,
                      const xenvf_vf *vf, const xenvf_vf *prev, bool full,
                      xenvf_err *err)
{
    char path[XS_PATH_MAX], val[XENVF_SETTING_STR_MAX],
        pval[XENVF_SETTING_STR_MAX] = "", bdf[XENVF_BDF_STR_MAX];
    char pbdf[XENVF_BDF_STR_MAX] = "";
    uint32_t reader = pf->owner_domid;
    int n, rc;

    full = full || !prev;
    n = xenvf_xs_pf_path(path, pf->id, "/vf/%u", vf->index);
    if (full && (rc = xsi_mkdir_perms(xs, t, path, reader, err)))
        return rc;

    bdf[0] = pbdf[0] = '\0';
    if (vf->bdf_known)
        xenvf_bdf_format(&vf->bdf, bdf);
    if (prev && prev->bdf_known)
        xenvf_bdf_format(&prev->bdf, pbdf);
    snprintf(path + n, XS_PATH_MAX - n, "/bdf");
    if ((rc =
             put_leaf(xs, t, path, bdf, prev ? pbdf : NULL, full, reader, err)))
        return rc;

    fmt_domid(val, vf->domid);
    if (prev)
        fmt_domid(pval, prev->domid);
    snprintf(path + n, XS_PATH_MAX - n, "/domain");
    if ((rc =
             put_leaf(xs, t, path, val, prev ? pval : NULL, full, reader, err)))
        return rc;

    snprintf(path + n, XS_PATH_MAX - n, "/state");
    if ((rc = put_leaf(xs, t, path, xenvf_vf_state_name(vf->state),
                       prev ? xenvf_vf_state_name(prev->state) : NULL, full,
                       reader, err)))
        return rc;

    xenvf_setting_for_each(set)
    {
        const char *v = xenvf_setting_format(&vf->config, set, val);
        const char *pv =
            prev ? xenvf_setting_format(&prev->config, set, pval) : NULL;

        snprintf(path + n, XS_PATH_MAX - n, "/%s", xenvf_settings[set].name);
        if (v)
            rc = put_leaf(xs, t, path, v, pv, full, reader, err);
        else if (pv && !full)
            rc = xsi_del(xs, t, path, err); /* a setting was cleared */
        if (rc)
            return rc;
    }
    snprintf(path + n, XS_PATH_MAX - n, "/namespaces");
    if ((rc = publish_ns(xs, t, path, vf, prev, full, reader, err)))
        return rc;
    if (full) {
        snprintf(path + n, XS_PATH_MAX - n, "/stats");
        if ((rc = publish_stats_node(xs, t, path, reader, err)))
            return rc;
        path[n] = '\0';
        rc = remove_unset_settings(xs, t, path, &vf->config, err);
    }
    return rc;
}

/* On a full publish: drop vf/<n> nodes left from an earlier, larger PF. */
static int remove_stale_vfs(xenvf_xs *xs, xs_transaction_t t,
                            const xenvf_pf *pf, size_t from, xenvf_err *err)
{
    char path[XS_PATH_MAX], **ents;
    unsigned nr;
    int rc;

    xenvf_xs_pf_path(path, pf->id, "/vf");
    if ((rc = xsi_dir(xs, t, path, &ents, &nr, err)))
        return rc;
    for (unsigned i = 0; i < nr && !rc; i++) {
        uint64_t idx;
        if (xenvf_parse_uint(ents[i], UINT16_MAX, &idx, NULL) || idx >= from) {
            xenvf_xs_pf_path(path, pf->id, "/vf/%s", ents[i]);
            rc = xsi_del(xs, t, path, err);
        }
    }
    free(ents);
    return rc;
}

static int publish_pf_tx(xenvf_xs *xs, xs_transaction_t t, void *arg,
                         xenvf_err *err)
{
    const struct publish_args *a = arg;
    const xenvf_pf *pf = a->pf, *prev = a->prev;
    const bool full = prev == NULL;
    const uint32_t reader = pf->owner_domid;
    char path[XS_PATH_MAX], val[24], pval[24] = "", bdf[XENVF_BDF_STR_MAX];
    char pbdf[XENVF_BDF_STR_MAX] = "", *state = NULL, *old_owner = NULL;
    bool new_owner = false;
    int n, rc;

    n = xenvf_xs_pf_path(path, pf->id, "%s", "");
    if (full) {
        if ((rc = xsi_mkdir_perms(xs, t, path, reader, err)))
            goto out;
        /* the owner in xenstore, before this publish changes it */
        snprintf(path + n, XS_PATH_MAX - n, "/owner");
        if ((rc = xsi_get(xs, t, path, &old_owner, err)))
            goto out;
        fmt_domid(val, pf->owner_domid);
        new_owner = old_owner && strcmp(old_owner, val);
    }

    xenvf_bdf_format(&pf->bdf, bdf);
    if (prev)
        xenvf_bdf_format(&prev->bdf, pbdf);
    snprintf(path + n, XS_PATH_MAX - n, "/bdf");
    if ((rc =
             put_leaf(xs, t, path, bdf, prev ? pbdf : NULL, full, reader, err)))
        goto out;
    fmt_domid(val, pf->owner_domid);
    fmt_domid(pval, prev ? prev->owner_domid : 0);
    snprintf(path + n, XS_PATH_MAX - n, "/owner");
    if ((rc =
             put_leaf(xs, t, path, val, prev ? pval : NULL, full, reader, err)))
        goto out;

    struct {
        const char *leaf;
        uint64_t v, pv;
    } nums[] = {
        {"totalvfs", pf->total_vfs, prev ? prev->total_vfs : 0},
        {"numvfs", pf->num_vfs, prev ? prev->num_vfs : 0},
        {"active", xenvf_pf_active_vfs(pf),
         prev ? xenvf_pf_active_vfs(prev) : 0},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        fmt_uint(val, nums[i].v);
        fmt_uint(pval, nums[i].pv);
        snprintf(path + n, XS_PATH_MAX - n, "/%s", nums[i].leaf);
        if ((rc = put_leaf(xs, t, path, val, prev ? pval : NULL, full, reader,
                           err)))
            goto out;
    }

    /* `state` belongs to the PF agent: create it (as "unknown") only if it
     * is missing, but always give the owner the right to write it. A new
     * owner's agent has not spoken yet: what the old one said is stale. */
    if (full) {
        snprintf(path + n, XS_PATH_MAX - n, "/state");
        if ((rc = xsi_get(xs, t, path, &state, err)))
            goto out;
        if ((!state || new_owner) &&
            (rc = xsi_put(xs, t, path, xenvf_pf_state_name(XENVF_PF_UNKNOWN),
                          err)))
            goto out;
        if ((rc = xsi_perms(xs, t, path, reader, XS_PERM_READ | XS_PERM_WRITE,
                            err)))
            goto out;
        snprintf(path + n, XS_PATH_MAX - n, "/vf");
        if ((rc = xsi_mkdir_perms(xs, t, path, reader, err)))
            goto out;
    }

    for (size_t i = 0; i < pf->nr_vfs; i++) {
        const xenvf_vf *pvf = prev && i < prev->nr_vfs ? &prev->vfs[i] : NULL;
        if ((rc = publish_vf(xs, t, pf, &pf->vfs[i], pvf, full, err)))
            goto out;
    }
    if (full) {
        rc = remove_stale_vfs(xs, t, pf, pf->nr_vfs, err);
    } else {
        for (size_t i = pf->nr_vfs; i < prev->nr_vfs && !rc; i++) {
            xenvf_xs_pf_path(path, pf->id, "/vf/%zu", i);
            rc = xsi_del(xs, t, path, err);
        }
    }
out:
    free(state);
    free(old_owner);
    return rc;
}

int xenvf_xs_publish_pf(xenvf_xs *xs, const xenvf_pf *pf, const xenvf_pf *prev,
                        xenvf_err *err)
{
    struct publish_args a = {.pf = pf, .prev = prev};
    int rc;

    if (!xenvf_id_valid(pf->id))
        return xenvf_err_set(err, XENVF_EINVAL, "publish: bad PF id '%.40s'",
                             pf->id ? pf->id : "");
    /* A new owner needs new permissions on every node: publish in full. */
    if (prev && (prev->owner_domid != pf->owner_domid || !prev->id ||
                 strcmp(prev->id, pf->id)))
        a.prev = NULL;
    rc = xsi_in_transaction(xs, publish_pf_tx, &a, err);
    if (rc)
        xenvf_err_prepend(err, "publish PF %s: ", pf->id);
    return rc;
}

int xenvf_xs_remove_pf(xenvf_xs *xs, const char *pf_id, xenvf_err *err)
{
    char path[XS_PATH_MAX];

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "bad PF id '%.40s'",
                             pf_id ? pf_id : "");
    xenvf_xs_pf_path(path, pf_id, "%s", "");
    return xsi_del(xs, XBT_NULL, path, err);
}

int xenvf_xs_set_pf_state(xenvf_xs *xs, const char *pf_id, xenvf_pf_state state,
                          xenvf_err *err)
{
    char path[XS_PATH_MAX];
    int rc;

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "bad PF id '%.40s'",
                             pf_id ? pf_id : "");
    xenvf_xs_pf_path(path, pf_id, "/state");
    rc = xsi_put(xs, XBT_NULL, path, xenvf_pf_state_name(state), err);
    if (rc)
        xenvf_err_prepend(err, "PF %s: set state %s: ", pf_id,
                          xenvf_pf_state_name(state));
    return rc;
}

int xenvf_xs_get_pf_state(xenvf_xs *xs, const char *pf_id, xenvf_pf_state *out,
                          xenvf_err *err)
{
    xenvf_pf pf;
    int rc;

    xenvf_pf_init(&pf); /* state unknown until a node says otherwise */
    rc = xenvf_xs_read_pf_leaf(xs, pf_id, "state", &pf, err);
    if (rc == XENVF_ENOENT) /* nobody has said yet */
        rc = 0;
    if (!rc)
        *out = pf.state;
    xenvf_pf_dispose(&pf);
    return rc;
}

/* ---- reading PFs back ---------------------------------------------------- */

struct read_args {
    const char *pf_id;
    xenvf_pf *pf;
    bool head_only; /* the PF's own leaves, not vf/<n>/... */
};

/* Read every leaf of directory `dir` and apply it as node <prefix><leaf>. */
static int read_leaves(xenvf_xs *xs, xs_transaction_t t, xenvf_pf *pf,
                       const char *dir, const char *prefix, xenvf_err *err)
{
    char path[XS_PATH_MAX * 2], rel[XS_PATH_MAX * 2], **ents = NULL;
    char *value = NULL;
    unsigned nr;
    int rc;

    if ((rc = xsi_dir(xs, t, dir, &ents, &nr, err)))
        return rc;
    for (unsigned i = 0; i < nr && !rc; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]);
        snprintf(rel, sizeof(rel), "%s%s", prefix, ents[i]);
        if ((rc = xsi_get(xs, t, path, &value, err)) || !value)
            continue;
        rc = xenvf_xs_apply_pf_node(pf, rel, value, err);
        free(value);
        value = NULL;
    }
    free(ents);
    return rc;
}

/* The PF's own leaves, then vf/<n>/<leaf> for every VF directory. */
static int read_pf_nodes(xenvf_xs *xs, xs_transaction_t t, xenvf_pf *pf,
                         xenvf_err *err)
{
    char dir[XS_PATH_MAX], prefix[32], **vfs = NULL;
    unsigned nr;
    int rc;

    xenvf_xs_pf_path(dir, pf->id, "%s", "");
    if ((rc = read_leaves(xs, t, pf, dir, "", err)))
        return rc;
    xenvf_xs_pf_path(dir, pf->id, "/vf");
    if ((rc = xsi_dir(xs, t, dir, &vfs, &nr, err)))
        return rc;
    for (unsigned i = 0; i < nr && !rc; i++) {
        if (strlen(vfs[i]) > 8)
            continue; /* not a VF index; apply_pf_node would refuse it */
        xenvf_xs_pf_path(dir, pf->id, "/vf/%s", vfs[i]);
        snprintf(prefix, sizeof(prefix), "vf/%s/", vfs[i]);
        rc = read_leaves(xs, t, pf, dir, prefix, err);
    }
    free(vfs);
    return rc;
}

static int read_pf_tx(xenvf_xs *xs, xs_transaction_t t, void *arg,
                      xenvf_err *err)
{
    struct read_args *a = arg;
    char base[XS_PATH_MAX], *head;
    int rc;

    xenvf_pf_dispose(a->pf);
    xenvf_xs_pf_path(base, a->pf_id, "%s", "");
    xs->nr_requests++;
    head = xs_read(xs->h, t, base, &(unsigned){0});
    if (!head && errno == ENOENT)
        return xenvf_err_set(err, XENVF_ENOENT, "no PF '%s' in xenstore",
                             a->pf_id);
    free(head); /* only its existence matters */
    if ((rc = xenvf_pf_set_id(a->pf, a->pf_id, err)))
        return rc;
    if (a->head_only)
        return read_leaves(xs, t, a->pf, base, "", err);
    return read_pf_nodes(xs, t, a->pf, err);
}

int xenvf_xs_read_pf(xenvf_xs *xs, const char *pf_id, xenvf_pf *out,
                     xenvf_err *err)
{
    struct read_args a = {.pf_id = pf_id, .pf = out};

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "bad PF id '%.40s'",
                             pf_id ? pf_id : "");
    return xsi_in_transaction(xs, read_pf_tx, &a, err);
}

int xenvf_xs_read_pf_leaf(xenvf_xs *xs, const char *pf_id, const char *leaf,
                          xenvf_pf *out, xenvf_err *err)
{
    char path[XS_PATH_MAX], *value = NULL;
    int rc;

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "bad PF id '%.40s'",
                             pf_id ? pf_id : "");
    xenvf_xs_pf_path(path, pf_id, "/%s", leaf);
    if ((rc = xsi_get(xs, XBT_NULL, path, &value, err)))
        return rc;
    if (!value)
        return xenvf_err_set(err, XENVF_ENOENT, "%s is not published", path);
    rc = xenvf_xs_apply_pf_node(out, leaf, value, err);
    if (rc)
        xenvf_err_prepend(err, "%s: ", path);
    free(value);
    return rc;
}

int xenvf_xs_read_pf_head(xenvf_xs *xs, const char *pf_id, xenvf_pf *out,
                          xenvf_err *err)
{
    struct read_args a = {.pf_id = pf_id, .pf = out, .head_only = true};

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "bad PF id '%.40s'",
                             pf_id ? pf_id : "");
    return xsi_in_transaction(xs, read_pf_tx, &a, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The children of dir, sorted, each its own allocation. */
static int list_sorted(xenvf_xs *xs, const char *dir, char ***ids_out,
                       unsigned *nr_out, xenvf_err *err)
{
    char **ents, **ids = NULL;
    unsigned nr, i = 0;
    int rc;

    *ids_out = NULL;
    *nr_out = 0;
    if ((rc = xsi_dir(xs, XBT_NULL, dir, &ents, &nr, err)))
        return rc;
    if (nr && !(ids = calloc(nr, sizeof(*ids)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (; i < nr; i++) {
        if (!(ids[i] = strdup(ents[i]))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (nr) /* qsort's base must not be NULL, even for no elements */
        qsort(ids, nr, sizeof(*ids), cmp_str);
    *ids_out = ids;
    *nr_out = nr;
    ids = NULL;
out:
    for (unsigned j = 0; ids && j < i; j++)
        free(ids[j]);
    free(ids);
    free(ents);
    return rc;
}

int xenvf_xs_list_pfs(xenvf_xs *xs, char ***ids_out, unsigned *nr_out,
                      xenvf_err *err)
{
    return list_sorted(xs, XENVF_XS_PFS, ids_out, nr_out, err);
}

/* ---- guest nodes ----------------------------------------------------------
 */

void xenvf_guest_vf_init(xenvf_guest_vf *g)
{
    memset(g, 0, sizeof(*g));
    xenvf_vf_config_init(&g->config);
}

void xenvf_guest_vf_dispose(xenvf_guest_vf *g)
{
    free(g->pf_id);
    xenvf_vf_config_dispose(&g->config);
    xenvf_guest_vf_init(g);
}

/* The guest's own nodes under vf/<n>: created empty, writable by it
 * (switch: the I/O switch's answers, switch.h). */
static const char *const guest_written[] = {"status", "request",
                                            XENVF_SWITCH_NODE};

struct guest_args {
    uint32_t domid;
    const xenvf_guest_vf *vfs;
    size_t nr;
};

/* One VF's nodes under vf/<n>. Created by dom0, they take the permissions
 * of the xenvf directory above them (xenstored gives a new node its
 * parent's, owned by its creator): dom0's, read by the guest. Only the
 * nodes the guest writes get their own. */
static int publish_guest_vf_tx(xenvf_xs *xs, xs_transaction_t t, uint32_t domid,
                               const xenvf_guest_vf *g, xenvf_err *err)
{
    char path[XS_PATH_MAX], num[24], bdf[XENVF_BDF_STR_MAX],
        val[XENVF_SETTING_STR_MAX];
    int n, rc = 0;

    n = xenvf_xs_guest_path(path, domid, "/vf/%u", g->local_index);
    xenvf_bdf_format(&g->bdf, bdf);
    const struct {
        const char *leaf, *value;
    } leaves[] = {
        {"pf", g->pf_id},
        {"index", (fmt_uint(num, g->vf_index), num)},
        {"bdf", bdf},
    };
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]) && !rc; i++) {
        snprintf(path + n, sizeof(path) - n, "/%s", leaves[i].leaf);
        rc = xsi_put(xs, t, path, leaves[i].value, err);
    }
    /* the settings the guest acts on: its driver, its MAC, its boot order */
    xenvf_setting_for_each(set)
    {
        const char *v = xenvf_setting_format(&g->config, set, val);

        if (rc || !v || !(xenvf_settings[set].flags & XENVF_SETTING_GUEST))
            continue;
        snprintf(path + n, sizeof(path) - n, "/%s", xenvf_settings[set].name);
        rc = xsi_put(xs, t, path, v, err);
    }
    /* the nodes the guest writes: what its xenvf-guest made of the VF, its
     * requests for settings (answered in request-result, dom0's), and its
     * I/O switch's answers (asked in switch-request, dom0's) */
    for (size_t i = 0; i < sizeof(guest_written) / sizeof(*guest_written);
         i++) {
        snprintf(path + n, sizeof(path) - n, "/%s", guest_written[i]);
        if (!rc && !(rc = xsi_put(xs, t, path, "", err)))
            rc = xsi_perms(xs, t, path, domid, XS_PERM_READ | XS_PERM_WRITE,
                           err);
    }
    if (rc)
        xenvf_err_prepend(err, "vf %u: ", g->local_index);
    return rc;
}

static int publish_guest_tx(xenvf_xs *xs, xs_transaction_t t, void *arg,
                            xenvf_err *err)
{
    const struct guest_args *a = arg;
    char path[XS_PATH_MAX];
    int rc;

    /* the directory first, with the permissions its nodes inherit */
    xenvf_xs_guest_path(path, a->domid, "%s", "");
    if ((rc = xsi_mkdir_perms(xs, t, path, a->domid, err)))
        return rc;
    for (size_t i = 0; i < a->nr && !rc; i++)
        rc = publish_guest_vf_tx(xs, t, a->domid, &a->vfs[i], err);
    return rc;
}

int xenvf_xs_publish_guest(xenvf_xs *xs, uint32_t domid,
                           const xenvf_guest_vf *vfs, size_t nr, xenvf_err *err)
{
    struct guest_args a = {.domid = domid, .vfs = vfs, .nr = nr};
    int rc;

    if (domid == 0 || domid >= DOMID_LIMIT)
        return xenvf_err_set(err, XENVF_EINVAL, "guest VFs: bad domain %u",
                             domid);
    for (size_t i = 0; i < nr; i++)
        if (!xenvf_id_valid(vfs[i].pf_id))
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "domain %u vf %u: bad PF id", domid,
                                 vfs[i].local_index);
    rc = xsi_in_transaction(xs, publish_guest_tx, &a, err);
    if (rc)
        xenvf_err_prepend(err, "domain %u: ", domid);
    return rc;
}

int xenvf_xs_remove_guest(xenvf_xs *xs, uint32_t domid, xenvf_err *err)
{
    char path[XS_PATH_MAX];

    xenvf_xs_guest_path(path, domid, "%s", "");
    return xsi_del(xs, XBT_NULL, path, err);
}

int xenvf_xs_find_guest_vf(xenvf_xs *xs, uint32_t domid, const char *pf_id,
                           unsigned vf_index, int *local, unsigned *unused,
                           xenvf_err *err)
{
    char path[XS_PATH_MAX], **ents = NULL, *pf = NULL, *idx = NULL, want[16];
    bool used[XENVF_GUEST_VFS_MAX] = {false};
    unsigned nr = 0;
    uint64_t n;
    int rc;

    *local = -1;
    *unused = 0;
    snprintf(want, sizeof(want), "%u", vf_index);
    xenvf_xs_guest_path(path, domid, "/vf");
    if ((rc = xsi_dir(xs, XBT_NULL, path, &ents, &nr, err)) == XENVF_ENOENT)
        return 0;
    for (unsigned i = 0; i < nr && !rc; i++) {
        if (xenvf_parse_uint(ents[i], XENVF_GUEST_VFS_MAX - 1, &n, NULL))
            continue; /* not one of ours */
        used[n] = true;
        xenvf_xs_guest_path(path, domid, "/vf/%s/pf", ents[i]);
        if ((rc = xsi_get(xs, XBT_NULL, path, &pf, err)))
            break;
        xenvf_xs_guest_path(path, domid, "/vf/%s/index", ents[i]);
        if ((rc = xsi_get(xs, XBT_NULL, path, &idx, err)))
            break;
        if (pf && idx && !strcmp(pf, pf_id) && !strcmp(idx, want))
            *local = (int)n;
        free(pf);
        free(idx);
        pf = idx = NULL;
    }
    while (*unused < XENVF_GUEST_VFS_MAX && used[*unused])
        (*unused)++;
    if (!rc && *unused == XENVF_GUEST_VFS_MAX)
        rc = xenvf_err_set(err, XENVF_ERANGE, "domain %u has %u VF entries",
                           domid, XENVF_GUEST_VFS_MAX);
    free(pf);
    free(idx);
    free(ents);
    return rc;
}

int xenvf_xs_read_guest_status(xenvf_xs *xs, uint32_t domid, const char *pf_id,
                               unsigned vf_index, char **out, xenvf_err *err)
{
    char path[XS_PATH_MAX];
    unsigned unused;
    int rc, local;

    *out = NULL;
    rc = xenvf_xs_find_guest_vf(xs, domid, pf_id, vf_index, &local, &unused,
                                err);
    if (rc == XENVF_ERANGE) /* full, but the VF may be among them */
        rc = 0;
    if (rc || local < 0)
        return rc;
    xenvf_xs_guest_path(path, domid, "/vf/%d/status", local);
    rc = xsi_get(xs, XBT_NULL, path, out, err);
    if (!rc && *out && !**out) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- waiting for a PF's state ------------------------------------------- */

/* ---- the TCB's note of a PF it handed over ------------------------------ */

static void handover_path(char *buf, size_t len, const char *pf_id)
{
    snprintf(buf, len, XENVF_XS_ROOT "/handover/%s", pf_id);
}

int xenvf_xs_note_handover(xenvf_xs *xs, const char *pf_id, const char *driver,
                           xenvf_err *err)
{
    char path[XS_PATH_MAX];

    handover_path(path, sizeof(path), pf_id);
    return xsi_put(xs, XBT_NULL, path, driver, err);
}

int xenvf_xs_read_handover(xenvf_xs *xs, const char *pf_id, char **driver_out,
                           xenvf_err *err)
{
    char path[XS_PATH_MAX];

    handover_path(path, sizeof(path), pf_id);
    return xsi_get(xs, XBT_NULL, path, driver_out, err);
}

int xenvf_xs_forget_handover(xenvf_xs *xs, const char *pf_id, xenvf_err *err)
{
    char path[XS_PATH_MAX];

    handover_path(path, sizeof(path), pf_id);
    return xsi_del(xs, XBT_NULL, path, err);
}

/* rel ("/vf/<n>/<leaf>") was removed: unset that VF setting in *pf. */
static void unset_pf_node(xenvf_pf *pf, const char *rel)
{
    const char *slash;
    char num[8];
    uint64_t v;

    if (strncmp(rel, "/vf/", 4) || !(slash = strchr(rel + 4, '/')) ||
        (size_t)(slash - rel - 4) >= sizeof(num))
        return;
    memcpy(num, rel + 4, (size_t)(slash - rel - 4));
    num[slash - rel - 4] = '\0';
    if (!xenvf_parse_uint(num, UINT16_MAX - 1, &v, NULL) && v < pf->nr_vfs)
        unset_vf_node(&pf->vfs[v], slash + 1);
}

int xenvf_xs_read_pf_node(xenvf_xs *xs, const char *path, xenvf_pf *pf,
                          bool *gone, xenvf_err *err)
{
    char base[XS_PATH_MAX], *value = NULL;
    size_t n;
    int rc;

    *gone = false;
    n = (size_t)xenvf_xs_pf_path(base, pf->id, "%s", "");
    if (strncmp(path, base, n) || (path[n] && path[n] != '/'))
        return xenvf_err_set(err, XENVF_EINVAL, "%s is not under %s", path,
                             base);
    if ((rc = xsi_get(xs, XBT_NULL, path, &value, err)))
        return rc;
    if (!value) {
        *gone = true;
        unset_pf_node(pf, path + n);
        return 0;
    }
    rc = path[n] ? xenvf_xs_apply_pf_node(pf, path + n + 1, value, err) : 0;
    free(value);
    return rc;
}

int xenvf_xs_publish_vf_stats(xenvf_xs *xs, const char *pf_id, unsigned index,
                              const xenvf_vf_stats *s, xenvf_err *err)
{
    char path[XS_PATH_MAX], val[XENVF_VF_STATS_STR_MAX];
    int rc;

    if (!xenvf_id_valid(pf_id))
        return xenvf_err_set(err, XENVF_EINVAL, "vf stats: bad PF id");
    rc = xenvf_vf_stats_format(s, val, err);
    if (rc)
        return rc;
    xenvf_xs_pf_path(path, pf_id, "/vf/%u/stats", index);
    return xsi_put(xs, XBT_NULL, path, val, err);
}

/* ---- /xenvf/stats ----------------------------------------------------- */

#define STATS_GATE      XENVF_XS_STATS "/gate"
#define STATS_RECONCILE XENVF_XS_STATS "/reconcile"

static const char *const gate_result_names[XENVF_GATE_NR_RESULTS] = {
    [XENVF_GATE_READY] = "ready",         [XENVF_GATE_TIMEOUT] = "timeout",
    [XENVF_GATE_FAILED] = "failed",       [XENVF_GATE_CANCELLED] = "cancelled",
    [XENVF_GATE_DESTROYED] = "destroyed", [XENVF_GATE_ERROR] = "error",
};

const unsigned xenvf_gate_bucket_ms[XENVF_GATE_NR_BUCKETS] = {
    100, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000,
};

const char *xenvf_gate_result_name(xenvf_gate_result r)
{
    return r < XENVF_GATE_NR_RESULTS ? gate_result_names[r] : "?";
}

/*
 * A record of counters is one node whose value is "name=N name=N ...":
 * adding to it is a read and a write in a transaction (4 requests, however
 * many counters move), which a gate pays on every xl create.
 */
typedef struct counter {
    char leaf[16]; /* its name in the record */
    uint64_t *value;
    uint64_t add;
} counter;

struct counters_args {
    const char *path;
    counter *c;
    size_t nr;
};

#define RECORD_MAX 32 /* counters in a record (the parser's mask) */

/* The record at path into the counters (all 0 when it does not exist, or
 * a counter is not in it; *present, if asked, says whether it exists). */
static int read_record(xenvf_xs *xs, xs_transaction_t t, const char *path,
                       counter *c, size_t nr, bool *present, xenvf_err *err)
{
    const char *names[RECORD_MAX];
    uint64_t values[RECORD_MAX] = {0};
    uint32_t mask = 0;
    char *v = NULL;
    int rc;

    for (size_t i = 0; i < nr; i++)
        names[i] = c[i].leaf;
    rc = xsi_get(xs, t, path, &v, err);
    if (present)
        *present = v != NULL;
    if (!rc && v)
        rc = xenvf_counters_parse(v, strlen(v), names, nr, values, &mask, err);
    if (rc)
        xenvf_err_prepend(err, "%s: ", path);
    for (size_t i = 0; i < nr; i++)
        *c[i].value = values[i];
    free(v);
    return rc;
}

static int add_counters_tx(xenvf_xs *xs, xs_transaction_t t, void *arg,
                           xenvf_err *err)
{
    struct counters_args *a = arg;
    const char *names[RECORD_MAX];
    uint64_t values[RECORD_MAX];
    char buf[1024];
    int rc;

    if ((rc = read_record(xs, t, a->path, a->c, a->nr, NULL, err)))
        return rc;
    for (size_t i = 0; i < a->nr; i++) {
        names[i] = a->c[i].leaf;
        values[i] = *a->c[i].value + a->c[i].add;
    }
    xenvf_counters_format(names, a->nr, values, (uint32_t)((1ull << a->nr) - 1),
                          buf, sizeof(buf));
    return xsi_put(xs, t, a->path, buf, err);
}

/* The counters of one gate stats record, each bound to its field. */
#define GATE_NR_COUNTERS (XENVF_GATE_NR_RESULTS + 1 + XENVF_GATE_NR_BUCKETS)
_Static_assert(GATE_NR_COUNTERS <= RECORD_MAX, "a gate record fits");

static void gate_counters(xenvf_gate_stats *s, counter c[GATE_NR_COUNTERS])
{
    size_t n = 0;

    memset(c, 0, GATE_NR_COUNTERS * sizeof(*c));
    for (int r = 0; r < XENVF_GATE_NR_RESULTS; r++, n++) {
        snprintf(c[n].leaf, sizeof(c[n].leaf), "%s", gate_result_names[r]);
        c[n].value = &s->waits[r];
    }
    snprintf(c[n].leaf, sizeof(c[n].leaf), "sum_ms");
    c[n++].value = &s->sum_ms;
    for (int b = 0; b < XENVF_GATE_NR_BUCKETS; b++, n++) {
        snprintf(c[n].leaf, sizeof(c[n].leaf), "le_%u",
                 xenvf_gate_bucket_ms[b]);
        c[n].value = &s->le[b];
    }
}

static int gate_path(char path[XS_PATH_MAX], const char *pf_id, xenvf_err *err)
{
    int n = snprintf(path, XS_PATH_MAX, STATS_GATE "/%s", pf_id);

    if (n < 0 || n >= XS_PATH_MAX || !*pf_id || strchr(pf_id, '/'))
        return xenvf_err_set(err, XENVF_EINVAL, "gate stats: bad pf id");
    return 0;
}

int xenvf_xs_count_gate_wait(xenvf_xs *xs, const char *pf_id,
                             xenvf_gate_result r, int64_t elapsed_ms,
                             xenvf_err *err)
{
    char path[XS_PATH_MAX];
    xenvf_gate_stats s;
    counter c[GATE_NR_COUNTERS];
    struct counters_args a = {.path = path, .c = c, .nr = GATE_NR_COUNTERS};
    uint64_t ms = elapsed_ms > 0 ? (uint64_t)elapsed_ms : 0;
    int rc;

    if (r >= XENVF_GATE_NR_RESULTS)
        return xenvf_err_set(err, XENVF_EINVAL, "gate stats: bad result");
    rc = gate_path(path, pf_id, err);
    if (rc)
        return rc;
    gate_counters(&s, c);
    c[r].add = 1;
    c[XENVF_GATE_NR_RESULTS].add = ms;
    for (int b = 0; b < XENVF_GATE_NR_BUCKETS; b++)
        c[XENVF_GATE_NR_RESULTS + 1 + b].add = ms <= xenvf_gate_bucket_ms[b];
    rc = xsi_in_transaction(xs, add_counters_tx, &a, err);
    if (rc)
        xenvf_err_prepend(err, "gate stats of pf %s: ", pf_id);
    return rc;
}

int xenvf_xs_list_gate_stats(xenvf_xs *xs, char ***ids_out, unsigned *nr_out,
                             xenvf_err *err)
{
    return list_sorted(xs, STATS_GATE, ids_out, nr_out, err);
}

int xenvf_xs_read_gate_stats(xenvf_xs *xs, const char *pf_id,
                             xenvf_gate_stats *out, xenvf_err *err)
{
    char path[XS_PATH_MAX];
    counter c[GATE_NR_COUNTERS];
    int rc;

    memset(out, 0, sizeof(*out));
    rc = gate_path(path, pf_id, err);
    if (rc)
        return rc;
    gate_counters(out, c);
    return read_record(xs, XBT_NULL, path, c, GATE_NR_COUNTERS, NULL, err);
}

#define RECONCILE_NR_COUNTERS 5

static void reconcile_counters(xenvf_reconcile_stats *s,
                               const xenvf_reconcile_stats *add,
                               counter c[RECONCILE_NR_COUNTERS])
{
    static const xenvf_reconcile_stats none;
    const struct {
        const char *leaf;
        size_t off;
    } f[RECONCILE_NR_COUNTERS] = {
        {"runs", offsetof(xenvf_reconcile_stats, runs)},
        {"refused", offsetof(xenvf_reconcile_stats, refused)},
        {"failed_steps", offsetof(xenvf_reconcile_stats, failed_steps)},
        {"skipped", offsetof(xenvf_reconcile_stats, skipped)},
        {"sum_ms", offsetof(xenvf_reconcile_stats, sum_ms)},
    };

    if (!add)
        add = &none;
    for (size_t i = 0; i < RECONCILE_NR_COUNTERS; i++) {
        snprintf(c[i].leaf, sizeof(c[i].leaf), "%s", f[i].leaf);
        c[i].value = (uint64_t *)((char *)s + f[i].off);
        c[i].add = *(const uint64_t *)((const char *)add + f[i].off);
    }
}

int xenvf_xs_count_reconcile(xenvf_xs *xs, const xenvf_reconcile_stats *delta,
                             xenvf_err *err)
{
    xenvf_reconcile_stats s;
    counter c[RECONCILE_NR_COUNTERS];
    struct counters_args a = {
        .path = STATS_RECONCILE, .c = c, .nr = RECONCILE_NR_COUNTERS};
    int rc;

    reconcile_counters(&s, delta, c);
    rc = xsi_in_transaction(xs, add_counters_tx, &a, err);
    if (rc)
        xenvf_err_prepend(err, "reconcile stats: ");
    return rc;
}

int xenvf_xs_read_reconcile_stats(xenvf_xs *xs, xenvf_reconcile_stats *out,
                                  bool *present, xenvf_err *err)
{
    counter c[RECONCILE_NR_COUNTERS];

    memset(out, 0, sizeof(*out));
    reconcile_counters(out, NULL, c);
    return read_record(xs, XBT_NULL, STATS_RECONCILE, c, RECONCILE_NR_COUNTERS,
                       present, err);
}
