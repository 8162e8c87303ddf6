/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The TCB protocol's messages as JSON (yajl): encode with yajl_gen, decode
 * with yajl_tree and check every field, naming it in the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include <xenvf/json.h>
#include <xenvf/proto.h>

static const char *const op_names[] = {
    [XENVF_OP_PING] = "ping",
    [XENVF_OP_RESERVE] = "reserve",
    [XENVF_OP_COMMIT] = "commit",
    [XENVF_OP_RELEASE] = "release",
};
#define NR_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *xenvf_op_name(xenvf_op op)
{
    return (unsigned)op < NR_OPS ? op_names[op] : "invalid";
}

int xenvf_rc_from_name(const char *name)
{
    for (int rc = 0; rc >= XENVF_ENOTSUP; rc--)
        if (name && !strcmp(xenvf_rc_name(rc), name))
            return rc;
    return XENVF_EIO;
}

/* ---- structs ------------------------------------------------------------ */

void xenvf_vf_request_init(xenvf_vf_request *r)
{
    r->pf = NULL;
    r->index = -1;
    xenvf_vf_config_init(&r->config);
}

void xenvf_vf_request_dispose(xenvf_vf_request *r)
{
    free(r->pf);
    xenvf_vf_config_dispose(&r->config);
    xenvf_vf_request_init(r);
}

void xenvf_request_init(xenvf_request *r)
{
    memset(r, 0, sizeof(*r));
    r->domid = XENVF_DOMID_NONE;
}

void xenvf_request_dispose(xenvf_request *r)
{
    for (size_t i = 0; i < r->nr_vfs; i++)
        xenvf_vf_request_dispose(&r->vfs[i]);
    free(r->vfs);
    free(r->domain);
    xenvf_request_init(r);
}

xenvf_vf_request *xenvf_request_add_vf(xenvf_request *r)
{
    xenvf_vf_request *vfs = reallocarray(r->vfs, r->nr_vfs + 1, sizeof(*vfs));

    if (!vfs)
        return NULL;
    r->vfs = vfs;
    xenvf_vf_request_init(&vfs[r->nr_vfs]);
    return &vfs[r->nr_vfs++];
}

void xenvf_response_init(xenvf_response *r)
{
    memset(r, 0, sizeof(*r));
}

void xenvf_response_dispose(xenvf_response *r)
{
    for (size_t i = 0; i < r->nr_vfs; i++) {
        free(r->vfs[i].pf);
        xenvf_vf_config_dispose(&r->vfs[i].config);
    }
    free(r->vfs);
    free(r->error);
    xenvf_response_init(r);
}

xenvf_vf_grant *xenvf_response_add_vf(xenvf_response *r)
{
    xenvf_vf_grant *vfs = reallocarray(r->vfs, r->nr_vfs + 1, sizeof(*vfs));

    if (!vfs)
        return NULL;
    r->vfs = vfs;
    memset(&vfs[r->nr_vfs], 0, sizeof(vfs[0]));
    xenvf_vf_config_init(&vfs[r->nr_vfs].config);
    return &vfs[r->nr_vfs++];
}

int xenvf_request_encode(const xenvf_request *r, char **json_out,
                         xenvf_err *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    int rc;

    if (!g)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    yajl_gen_map_open(g);
    xenvf_json_kv_str(g, "op", xenvf_op_name(r->op));
    if (r->domain)
        xenvf_json_kv_str(g, "domain", r->domain);
    if (r->domid != XENVF_DOMID_NONE)
        xenvf_json_kv_int(g, "domid", r->domid);
    if (r->nr_vfs) {
        xenvf_json_str(g, "vfs");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < r->nr_vfs; i++) {
            yajl_gen_map_open(g);
            xenvf_json_kv_str(g, "pf", r->vfs[i].pf ? r->vfs[i].pf : "");
            if (r->vfs[i].index >= 0)
                xenvf_json_kv_int(g, "index", r->vfs[i].index);
            xenvf_json_put_vf_config(g, &r->vfs[i].config);
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
    }
    yajl_gen_map_close(g);
    rc = xenvf_json_finish(g, json_out, NULL, err);
    yajl_gen_free(g);
    return rc;
}

int xenvf_response_encode(const xenvf_response *r, char **json_out,
                          xenvf_err *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    char bdf[XENVF_BDF_STR_MAX];
    int rc;

    if (!g)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    yajl_gen_map_open(g);
    xenvf_json_str(g, "ok");
    yajl_gen_bool(g, r->rc == 0);
    if (r->rc) {
        xenvf_json_kv_str(g, "code", xenvf_rc_name(r->rc));
        xenvf_json_kv_str(g, "error", r->error ? r->error : "");
    }
    if (r->nr_vfs) {
        xenvf_json_str(g, "vfs");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < r->nr_vfs; i++) {
            yajl_gen_map_open(g);
            xenvf_json_kv_str(g, "pf", r->vfs[i].pf ? r->vfs[i].pf : "");
            xenvf_json_kv_int(g, "index", r->vfs[i].index);
            xenvf_bdf_format(&r->vfs[i].bdf, bdf);
            xenvf_json_kv_str(g, "bdf", bdf);
            xenvf_json_put_vf_config(g, &r->vfs[i].config);
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
    }
    yajl_gen_map_close(g);
    rc = xenvf_json_finish(g, json_out, NULL, err);
    yajl_gen_free(g);
    return rc;
}

/* ---- decoding ------------------------------------------------------------ */

/* An object with at most 16 keys, none twice: a repeated key is ambiguous
 * (which one wins?), so it is refused rather than resolved. */
#define OBJECT_MAX_KEYS 16

static int check_object(yajl_val v, const char *what, xenvf_err *err)
{
    if (!YAJL_IS_OBJECT(v))
        return xenvf_err_set(err, XENVF_EINVAL, "%s: not an object", what);
    if (v->u.object.len > OBJECT_MAX_KEYS)
        return xenvf_err_set(err, XENVF_EINVAL, "%s: more than %d keys", what,
                             OBJECT_MAX_KEYS);
    for (size_t i = 0; i < v->u.object.len; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v->u.object.keys[i], v->u.object.keys[j]))
                return xenvf_err_set(err, XENVF_EINVAL,
                                     "%s: key '%.16s' appears twice", what,
                                     v->u.object.keys[i]);
    return 0;
}

#define ID_CHARS XENVF_ID_CHARS

static int parse_json(const char *json, size_t len, yajl_val *out,
                      xenvf_err *err)
{
    char errbuf[256], *copy;
    int rc;

    if (len > XENVF_PROTO_MAX_LINE)
        return xenvf_err_set(err, XENVF_ERANGE,
                             "message of %zu bytes is over the %d limit", len,
                             XENVF_PROTO_MAX_LINE);
    if (memchr(json, '\0', len))
        return xenvf_err_set(err, XENVF_EINVAL, "message contains a NUL");
    if (!(copy = strndup(json, len)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    errbuf[0] = '\0';
    *out = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
    free(copy);
    if (!*out) {
        errbuf[strcspn(errbuf, "\n")] = '\0';
        return xenvf_err_set(err, XENVF_EINVAL, "bad JSON: %s",
                             errbuf[0] ? errbuf : "parse error");
    }
    rc = check_object(*out, "message", err);
    if (rc) {
        yajl_tree_free(*out);
        *out = NULL;
    }
    return rc;
}

/* A key of a VF entry, request or grant alike: pf, index or a setting.
 * Returns NOT_COMMON for the others, which the caller knows or refuses. */
#define NOT_COMMON 1

typedef struct vf_entry {
    char **pf;
    long long index; /* -1 until given */
    xenvf_vf_config *config;
} vf_entry;

static int decode_vf_key(const char *key, yajl_val val, size_t n, vf_entry *e,
                         xenvf_err *err)
{
    char what[48], where[32];
    xenvf_setting set;

    snprintf(what, sizeof(what), "vfs[%zu].%.16s", n, key);
    snprintf(where, sizeof(where), "vfs[%zu]", n);
    if (!strcmp(key, "pf"))
        return xenvf_json_want_str(val, what, XENVF_ID_MAX, ID_CHARS, e->pf,
                                   err);
    if (!strcmp(key, "index"))
        return xenvf_json_want_int(val, what, 0, UINT16_MAX - 1, &e->index,
                                   err);
    set = xenvf_setting_find(key, strlen(key));
    if (set < XENVF_NR_SETTINGS)
        return xenvf_json_get_vf_setting(e->config, set, val, where, err);
    return NOT_COMMON;
}

static int decode_vf_request(yajl_val obj, size_t n, xenvf_vf_request *r,
                             xenvf_err *err)
{
    vf_entry e = {.pf = &r->pf, .index = -1, .config = &r->config};
    char what[48];
    int rc = 0;

    snprintf(what, sizeof(what), "vfs[%zu]", n);
    if ((rc = check_object(obj, what, err)))
        return rc;
    for (size_t i = 0; i < obj->u.object.len && !rc; i++) {
        const char *key = obj->u.object.keys[i];

        rc = decode_vf_key(key, obj->u.object.values[i], n, &e, err);
        if (rc == NOT_COMMON)
            rc = xenvf_err_set(err, XENVF_EINVAL, "vfs[%zu].%.16s: unknown key",
                               n, key);
    }
    r->index = (int)e.index;
    if (!rc && !r->pf)
        rc = xenvf_err_set(err, XENVF_EINVAL, "vfs[%zu]: no pf", n);
    return rc;
}

static int decode_request(yajl_val root, xenvf_request *out, xenvf_err *err)
{
    bool have_op = false;
    long long v;
    int rc = 0;

    for (size_t i = 0; i < root->u.object.len && !rc; i++) {
        const char *key = root->u.object.keys[i];
        yajl_val val = root->u.object.values[i];

        if (!strcmp(key, "op")) {
            const char *s = YAJL_GET_STRING(val);
            rc = xenvf_err_set(err, XENVF_EINVAL, "op: unknown operation");
            for (unsigned o = 0; s && o < NR_OPS; o++) {
                if (!strcmp(s, op_names[o])) {
                    out->op = (xenvf_op)o;
                    have_op = true;
                    rc = 0;
                }
            }
        } else if (!strcmp(key, "domain")) {
            rc = xenvf_json_want_str(val, "domain", XENVF_DOMAIN_NAME_MAX,
                                     XENVF_NAME_CHARS, &out->domain, err);
        } else if (!strcmp(key, "domid")) {
            if (!(rc = xenvf_json_want_int(val, "domid", 0, 0x7fef, &v, err)))
                out->domid = (uint32_t)v;
        } else if (!strcmp(key, "vfs")) {
            if (!YAJL_IS_ARRAY(val))
                return xenvf_err_set(err, XENVF_EINVAL, "vfs: not an array");
            if (val->u.array.len > XENVF_PROTO_MAX_VFS)
                return xenvf_err_set(err, XENVF_ERANGE,
                                     "vfs: %zu entries, at most %d",
                                     val->u.array.len, XENVF_PROTO_MAX_VFS);
            for (size_t n = 0; n < val->u.array.len && !rc; n++) {
                xenvf_vf_request *r = xenvf_request_add_vf(out);
                rc = r ? decode_vf_request(val->u.array.values[n], n, r, err)
                       : xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            }
        } else {
            rc = xenvf_err_set(err, XENVF_EINVAL, "%.32s: unknown key", key);
        }
    }
    if (rc)
        return rc;
    if (!have_op)
        return xenvf_err_set(err, XENVF_EINVAL, "op: missing");

    /* What each operation needs. */
    switch (out->op) {
    case XENVF_OP_RESERVE:
        if (!out->domain || !out->nr_vfs)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "reserve: needs a domain and vfs");
        break;
    case XENVF_OP_COMMIT:
        if (!out->domain || out->domid == XENVF_DOMID_NONE)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "commit: needs a domain and a domid");
        break;
    case XENVF_OP_RELEASE:
        if (!out->domain && out->domid == XENVF_DOMID_NONE)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "release: needs a domain or a domid");
        break;
    case XENVF_OP_PING:
        break;
    }
    if (out->op != XENVF_OP_RESERVE && out->nr_vfs)
        return xenvf_err_set(err, XENVF_EINVAL, "%s: takes no vfs",
                             xenvf_op_name(out->op));
    return 0;
}

int xenvf_request_decode(const char *json, size_t json_len, xenvf_request *out,
                         xenvf_err *err)
{
    yajl_val root;
    int rc;

    xenvf_request_dispose(out);
    if ((rc = parse_json(json, json_len, &root, err)))
        return rc;
    rc = decode_request(root, out, err);
    yajl_tree_free(root);
    if (rc)
        xenvf_request_dispose(out);
    return rc;
}

static int decode_grant(yajl_val obj, size_t n, xenvf_vf_grant *g,
                        xenvf_err *err)
{
    vf_entry e = {.pf = &g->pf, .index = -1, .config = &g->config};
    char what[48], *bdf = NULL;
    bool have_bdf = false;
    int rc = 0;

    snprintf(what, sizeof(what), "vfs[%zu]", n);
    if ((rc = check_object(obj, what, err)))
        return rc;
    for (size_t i = 0; i < obj->u.object.len && !rc; i++) {
        const char *key = obj->u.object.keys[i];
        yajl_val val = obj->u.object.values[i];

        rc = decode_vf_key(key, val, n, &e, err);
        if (rc != NOT_COMMON)
            continue;
        snprintf(what, sizeof(what), "vfs[%zu].%.16s", n, key);
        if (!strcmp(key, "bdf")) {
            if (!(rc = xenvf_json_want_str(val, what, 12, NULL, &bdf, err)) &&
                (rc = xenvf_bdf_parse(bdf, &g->bdf, err)))
                xenvf_err_prepend(err, "%s: ", what);
            have_bdf = rc == 0;
        } else {
            rc = xenvf_err_set(err, XENVF_EINVAL, "%s: unknown key", what);
        }
    }
    free(bdf);
    g->index = e.index < 0 ? 0 : (unsigned)e.index;
    if (!rc && (!g->pf || e.index < 0 || !have_bdf))
        rc = xenvf_err_set(err, XENVF_EINVAL,
                           "vfs[%zu]: needs pf, index and bdf", n);
    return rc;
}

static int decode_response(yajl_val root, xenvf_response *out, xenvf_err *err)
{
    int ok = -1, rc = 0;
    char *code = NULL;

    for (size_t i = 0; i < root->u.object.len && !rc; i++) {
        const char *key = root->u.object.keys[i];
        yajl_val val = root->u.object.values[i];

        if (!strcmp(key, "ok")) {
            rc = xenvf_json_want_bool(val, "ok", &ok, err);
        } else if (!strcmp(key, "code")) {
            rc = xenvf_json_want_str(val, "code", 16, NULL, &code, err);
        } else if (!strcmp(key, "error")) {
            /* free text from the TCB: any string, bounded */
            const char *s = YAJL_GET_STRING(val);
            if (!s || strlen(s) > XENVF_ERR_MSG_MAX)
                rc = xenvf_err_set(err, XENVF_EINVAL,
                                   "error: not a string of at most %d bytes",
                                   XENVF_ERR_MSG_MAX);
            else if (!(out->error = strdup(s)))
                rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        } else if (!strcmp(key, "vfs")) {
            if (!YAJL_IS_ARRAY(val) || val->u.array.len > XENVF_PROTO_MAX_VFS)
                rc = xenvf_err_set(err, XENVF_EINVAL,
                                   "vfs: not an array of at most %d",
                                   XENVF_PROTO_MAX_VFS);
            for (size_t n = 0; !rc && n < val->u.array.len; n++) {
                xenvf_vf_grant *g = xenvf_response_add_vf(out);
                rc = g ? decode_grant(val->u.array.values[n], n, g, err)
                       : xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            }
        } else {
            rc = xenvf_err_set(err, XENVF_EINVAL, "%.32s: unknown key", key);
        }
    }
    if (!rc && ok < 0)
        rc = xenvf_err_set(err, XENVF_EINVAL, "ok: missing");
    if (!rc && !ok) {
        out->rc = xenvf_rc_from_name(code);
        if (out->rc == 0)
            out->rc = XENVF_EIO; /* "ok":false with code "OK" */
    }
    free(code);
    return rc;
}

int xenvf_response_decode(const char *json, size_t json_len,
                          xenvf_response *out, xenvf_err *err)
{
    yajl_val root;
    int rc;

    xenvf_response_dispose(out);
    if ((rc = parse_json(json, json_len, &root, err)))
        return rc;
    rc = decode_response(root, out, err);
    yajl_tree_free(root);
    if (rc)
        xenvf_response_dispose(out);
    return rc;
}
