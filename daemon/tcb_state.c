/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The TCB's persistent state (docs/xenvfd.md, "State"): in the state
 * directory, tcb-state.json (yajl) holds every committed assignment, VFs
 * being reset, the drivers VFs had before pciback and any NumVFs change in
 * progress; map.xml is the map in force. Both are replaced atomically:
 * temp file, fsync, rename, fsync of the directory. Reservations that are
 * not committed are not persisted: they belong to a connection, and a
 * restart closes every connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include <xenvf/file.h>
#include <xenvf/json.h>
#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "tcb.h"

#define STATE_FILE   "tcb-state.json"
#define MAP_FILE     "map.xml"
#define STATE_MAX    (64u << 20)
#define STATE_FORMAT 1

/* Held VFs (a failed one keeps its holder: the assignment is not lost
 * because its PF went away) and what pciback replaced. */
static bool vf_kept(const tcb_vf *v)
{
    return v->state == XENVF_VF_ACTIVE || v->state == XENVF_VF_RESETTING ||
           (v->state == XENVF_VF_FAILED && v->domain);
}

static bool vf_persisted(const tcb_vf *v)
{
    return vf_kept(v) || v->old_driver;
}

static void gen_vf(yajl_gen g, const tcb_vf *v, unsigned index)
{
    yajl_gen_map_open(g);
    xenvf_json_kv_int(g, "index", index);
    /* only held VFs outlive a restart; the others restart as free */
    if (vf_kept(v)) {
        xenvf_json_kv_str(g, "state", xenvf_vf_state_name(v->state));
        if (v->domain)
            xenvf_json_kv_str(g, "domain", v->domain);
        if (v->domid != XENVF_DOMID_NONE)
            xenvf_json_kv_int(g, "domid", v->domid);
        xenvf_json_put_vf_config(g, &v->req);
    }
    if (v->old_driver)
        xenvf_json_kv_str(g, "driver", v->old_driver);
    yajl_gen_map_close(g);
}

static int state_json(tcb *t, char **out, size_t *len, xenvf_err *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    char bdf[XENVF_BDF_STR_MAX];
    int rc = 0;

    if (!g)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_map_open(g);
    xenvf_json_kv_int(g, "version", STATE_FORMAT);
    xenvf_json_str(g, "pfs");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < t->nr_pfs; i++) {
        const tcb_pf *pf = &t->pfs[i];

        yajl_gen_map_open(g);
        xenvf_json_kv_str(g, "id", pf->id);
        xenvf_bdf_format(&pf->bdf, bdf);
        xenvf_json_kv_str(g, "bdf", bdf);
        if (pf->intent) {
            xenvf_json_str(g, "intent");
            yajl_gen_map_open(g);
            xenvf_json_kv_int(g, "from", pf->intent_from);
            xenvf_json_kv_int(g, "to", pf->intent_to);
            xenvf_json_kv_int(g, "autoprobe", pf->intent_autoprobe);
            yajl_gen_map_close(g);
        }
        xenvf_json_str(g, "vfs");
        yajl_gen_array_open(g);
        for (size_t j = 0; j < pf->nr_vfs; j++)
            if (vf_persisted(&pf->vfs[j]))
                gen_vf(g, &pf->vfs[j], (unsigned)j);
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    rc = xenvf_json_finish(g, out, len, err);
    yajl_gen_free(g);
    return rc;
}

/* the state directory's file name, replaced atomically (file.h) */
static int write_atomic(const char *dir, const char *name, const char *data,
                        size_t len, xenvf_err *err)
{
    char path[PATH_MAX];
    int rc;

    if ((rc = xenvf_mkdir_p(dir, 0700, err)))
        return rc;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return xenvf_file_replace(path, data, len, 0600, err);
}

int tcb_state_save(tcb *t, xenvf_err *err)
{
    char *json = NULL;
    size_t len;
    int rc;

    if ((rc = state_json(t, &json, &len, err)))
        return rc;
    rc = write_atomic(t->cfg->state_dir, STATE_FILE, json, len, err);
    free(json);
    if (rc)
        xenvf_err_prepend(err, "save state: ");
    return rc;
}

int tcb_state_save_map(tcb *t, xenvf_err *err)
{
    char *text = NULL;
    size_t len;
    int rc;

    if ((rc = xenvf_map_format(&t->map, &text, &len, err)))
        return rc;
    rc = write_atomic(t->cfg->state_dir, MAP_FILE, text, len, err);
    free(text);
    return rc;
}

int tcb_state_load_map(tcb *t, xenvf_map *out, xenvf_err *err)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", t->cfg->state_dir, MAP_FILE);
    return xenvf_map_parse_file(path, out, err);
}

/* An integer field within [min, max], or dflt when absent. */
static int get_bounded(yajl_val obj, const char *key, long long dflt,
                       long long min, long long max, long long *out)
{
    *out = xenvf_json_get_int(obj, key, dflt);
    return *out == dflt || (*out >= min && *out <= max) ? 0 : -1;
}

/* What the holder asked for: every setting the table knows, checked as
 * the protocol checks it. Files written before the table carry trust and
 * spoofchk as 0/1 numbers: those still read. */
static int load_vf_settings(const tcb_pf *pf, long long index, yajl_val o,
                            xenvf_vf_config *c, xenvf_err *err)
{
    xenvf_setting_for_each(set)
    {
        const char *path[] = {xenvf_settings[set].name, NULL};
        yajl_val val = yajl_tree_get(o, path, yajl_t_any);
        xenvf_setting_value legacy = {.num = 0};
        int rc;

        if (!val)
            continue;
        if (xenvf_settings[set].kind == XENVF_KIND_BOOL &&
            YAJL_IS_INTEGER(val)) {
            legacy.num = (uint64_t)YAJL_GET_INTEGER(val);
            rc = xenvf_setting_store(c, set, &legacy, err);
        } else {
            rc = xenvf_json_get_vf_setting(c, set, val, "", err);
        }
        if (rc) {
            xenvf_err_prepend(err, "pf %s vf %lld: ", pf->id, index);
            return rc;
        }
    }
    return 0;
}

/* One VF's record. The file is ours, but a crash, a full disk or a hand
 * edit may have damaged it: every field is checked before it is used. */
static int load_vf(tcb_pf *pf, yajl_val o, xenvf_err *err)
{
    long long index = xenvf_json_get_int(o, "index", -1), domid;
    const char *state = xenvf_json_get_str(o, "state"), *s;
    tcb_vf *v;

    if (index < 0 || index >= UINT16_MAX)
        return xenvf_err_set(err, XENVF_EINVAL, "pf %s: bad vf index", pf->id);
    if (get_bounded(o, "domid", XENVF_DOMID_NONE, 0, 0x7fef, &domid))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "pf %s vf %lld: a value is out of range", pf->id,
                             index);
    if ((size_t)index >= pf->nr_vfs) {
        tcb_vf *n = reallocarray(pf->vfs, (size_t)index + 1, sizeof(*n));
        if (!n)
            return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        pf->vfs = n;
        for (size_t i = pf->nr_vfs; i <= (size_t)index; i++) {
            memset(&n[i], 0, sizeof(n[i]));
            n[i].domid = XENVF_DOMID_NONE;
            xenvf_vf_config_init(&n[i].req);
        }
        pf->nr_vfs = (size_t)index + 1;
    }
    v = &pf->vfs[index];
    if (v->domain || v->old_driver || v->domid != XENVF_DOMID_NONE)
        return xenvf_err_set(err, XENVF_EINVAL, "pf %s vf %lld: listed twice",
                             pf->id, index);
    if (state && xenvf_vf_state_parse(state, &v->state, err))
        return xenvf_err_set(err, XENVF_EINVAL, "pf %s vf %lld: bad state",
                             pf->id, index);
    if ((s = xenvf_json_get_str(o, "domain")) && !(v->domain = strdup(s)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    v->domid = (uint32_t)domid;
    if ((s = xenvf_json_get_str(o, "driver")) && !(v->old_driver = strdup(s)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    return load_vf_settings(pf, index, o, &v->req, err);
}

int tcb_state_load(tcb *t, xenvf_err *err)
{
    char path[PATH_MAX], *text = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", t->cfg->state_dir, STATE_FILE);
    if ((rc = xenvf_file_read(path, STATE_MAX, &text, NULL, err)))
        return rc;
    rc = tcb_state_load_text(t, path, text, err);
    free(text);
    return rc;
}

int tcb_state_load_text(tcb *t, const char *path, const char *text,
                        xenvf_err *err)
{
    char errbuf[256] = "";
    const char *pfs_path[] = {"pfs", NULL};
    yajl_val root = NULL, pfs;
    int rc = 0;

    root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    if (!root) {
        errbuf[strcspn(errbuf, "\n")] = '\0';
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: %s", path, errbuf);
        goto out;
    }
    if (xenvf_json_get_int(root, "version", 0) != STATE_FORMAT) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: unknown format", path);
        goto out;
    }
    pfs = yajl_tree_get(root, pfs_path, yajl_t_array);
    for (size_t i = 0; pfs && i < pfs->u.array.len && !rc; i++) {
        yajl_val o = pfs->u.array.values[i], vfs, intent;
        const char *vfs_path[] = {"vfs", NULL}, *in_path[] = {"intent", NULL};
        const char *id = xenvf_json_get_str(o, "id"),
                   *bdf = xenvf_json_get_str(o, "bdf");
        tcb_pf *pf = id ? tcb_find_pf(t, id) : NULL;
        xenvf_bdf b;

        if (!pf || !bdf || xenvf_bdf_parse(bdf, &b, NULL) ||
            !xenvf_bdf_equal(&b, &pf->bdf)) {
            LOG(WARN,
                "state: pf %s (%s) is not in the map in force: its "
                "records are dropped",
                id ? id : "?", bdf ? bdf : "?");
            continue;
        }
        if ((intent = yajl_tree_get(o, in_path, yajl_t_object))) {
            pf->intent = true;
            pf->intent_from = (unsigned)xenvf_json_get_int(intent, "from", 0);
            pf->intent_to = (unsigned)xenvf_json_get_int(intent, "to", 0);
            pf->intent_autoprobe =
                (int)xenvf_json_get_int(intent, "autoprobe", -1);
        }
        vfs = yajl_tree_get(o, vfs_path, yajl_t_array);
        for (size_t j = 0; vfs && j < vfs->u.array.len && !rc; j++)
            rc = load_vf(pf, vfs->u.array.values[j], err);
    }
out:
    yajl_tree_free(root);
    return rc;
}
