/* SPDX-License-Identifier: LGPL-2.1-only */
/* JSON chores on top of yajl (see json.h). */
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
