/* SPDX-License-Identifier: LGPL-2.1-only */
/* JSON chores on top of yajl (see json.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/json.h>

void xenvf_json_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void xenvf_json_kv_str(yajl_gen g, const char *key, const char *value)
{
    xenvf_json_str(g, key);
    xenvf_json_str(g, value);
}

void xenvf_json_kv_int(yajl_gen g, const char *key, long long value)
{
    xenvf_json_str(g, key);
    yajl_gen_integer(g, value);
}

int xenvf_json_finish(yajl_gen g, char **out, size_t *len_out, xenvf_err *err)
{
    const unsigned char *buf;
    size_t len;

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
        return xenvf_err_set(err, XENVF_EINVAL, "cannot encode JSON");
    if (!(*out = strndup((const char *)buf, len)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    if (len_out)
        *len_out = len;
    return 0;
}

long long xenvf_json_get_int(yajl_val obj, const char *key, long long dflt)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_number);

    return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : dflt;
}

const char *xenvf_json_get_str(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}

/* ---- field checkers ------------------------------------------------- */

int xenvf_json_want_int(yajl_val v, const char *what, long long min,
                        long long max, long long *out, xenvf_err *err)
{
    if (!YAJL_IS_INTEGER(v))
        return xenvf_err_set(err, XENVF_EINVAL, "%s: not an integer", what);
    if (YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max)
        return xenvf_err_set(err, XENVF_ERANGE,
                             "%s: %lld is out of range %lld-%lld", what,
                             YAJL_GET_INTEGER(v), min, max);
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

int xenvf_json_want_bool(yajl_val v, const char *what, int *out, xenvf_err *err)
{
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return xenvf_err_set(err, XENVF_EINVAL, "%s: not true or false", what);
    *out = YAJL_IS_TRUE(v);
    return 0;
}

int xenvf_json_want_str(yajl_val v, const char *what, size_t max,
                        const char *allowed, char **out, xenvf_err *err)
{
    const char *s = YAJL_GET_STRING(v);
    size_t len;

    if (!s)
        return xenvf_err_set(err, XENVF_EINVAL, "%s: not a string", what);
    len = strlen(s);
    if (len == 0 || len > max)
        return xenvf_err_set(err, XENVF_EINVAL, "%s: must be 1-%zu bytes", what,
                             max);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || (allowed && !strchr(allowed, c)))
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "%s: character %zu is not allowed", what,
                                 i + 1);
    }
    free(*out);
    if (!(*out = strdup(s)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    return 0;
}

/* ---- VF settings ---------------------------------------------------- */

void xenvf_json_put_vf_config(yajl_gen g, const xenvf_vf_config *c)
{
    char buf[XENVF_SETTING_STR_MAX];
    xenvf_setting_value v;

    xenvf_setting_for_each(s)
    {
        if (!xenvf_setting_is_set(c, s))
            continue;
        xenvf_setting_get(c, s, &v);
        xenvf_json_str(g, xenvf_settings[s].name);
        switch (xenvf_settings[s].kind) {
        case XENVF_KIND_UINT:
            yajl_gen_integer(g, (long long)v.num);
            break;
        case XENVF_KIND_BOOL:
            yajl_gen_bool(g, v.num != 0);
            break;
        default:
            xenvf_json_str(g, xenvf_setting_format(c, s, buf));
        }
    }
}

int xenvf_json_get_vf_setting(xenvf_vf_config *c, xenvf_setting s, yajl_val v,
                              const char *where, xenvf_err *err)
{
    const xenvf_setting_info *i = &xenvf_settings[s];
    xenvf_setting_value val;
    char *text = NULL, what[64];
    long long n;
    int b, rc;

    /* "vfs[1].vlan: 5000 is out of range"; the table's own messages name
     * the setting: "vfs[1].function: character '@' is not allowed" */
    snprintf(what, sizeof(what), "%s%s%s", where, *where ? "." : "", i->name);

    switch (i->kind) {
    case XENVF_KIND_UINT:
        rc = xenvf_json_want_int(v, what, (long long)i->min, (long long)i->max,
                                 &n, err);
        if (rc)
            return rc;
        memset(&val, 0, sizeof(val));
        val.num = (uint64_t)n;
        break;
    case XENVF_KIND_BOOL:
        if ((rc = xenvf_json_want_bool(v, what, &b, err)))
            return rc;
        memset(&val, 0, sizeof(val));
        val.num = (uint64_t)b;
        break;
    default:
        /* the length and characters are the setting's to check */
        if (!YAJL_IS_STRING(v))
            return xenvf_err_set(err, XENVF_EINVAL, "%s: not a string", what);
        text = YAJL_GET_STRING(v);
        if ((rc = xenvf_setting_parse(s, text, strlen(text), &val, err))) {
            if (*where)
                xenvf_err_prepend(err, "%s.", where);
            return rc;
        }
    }
    return xenvf_setting_store(c, s, &val, err);
}
