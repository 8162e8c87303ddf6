/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Output: text tables and key/value lines in xl's manner, and JSON with
 * yajl. Every string that came from outside (sysfs, xenstore, the map) goes
 * through xv_clean() first, so neither a terminal nor a JSON parser sees a
 * control character or invalid UTF-8.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "xenvf.h"

static void out_of_memory(void) __attribute__((noreturn));
static void out_of_memory(void)
{
    fputs("xenvf: out of memory\n", stderr);
    exit(XV_EXIT_ERROR);
}

static void *xmalloc_or_die(void *p)
{
    if (!p)
        out_of_memory();
    return p;
}

char *xv_clean(const char *s)
{
    char *c = xmalloc_or_die(strdup(s));

    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return c;
}

/* ---- tables ----------------------------------------------------------- */

void xv_table_init(xv_table *t, size_t nr_cols, const char *const *heads,
                   const bool *right)
{
    memset(t, 0, sizeof(*t));
    t->nr_cols = nr_cols;
    t->heads = heads;
    t->right = right;
}

void xv_table_dispose(xv_table *t)
{
    for (size_t i = 0; i < t->nr_rows * t->nr_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    xv_table_init(t, 0, NULL, NULL);
}

void xv_table_cell(xv_table *t, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    if (t->cur == 0) {
        if (t->nr_rows == t->cap_rows) {
            t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 16;
            t->cells = xmalloc_or_die(realloc(
                t->cells, t->cap_rows * t->nr_cols * sizeof(*t->cells)));
        }
        memset(&t->cells[t->nr_rows * t->nr_cols], 0,
               t->nr_cols * sizeof(*t->cells));
        t->nr_rows++;
    }
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    t->cells[(t->nr_rows - 1) * t->nr_cols + t->cur] = xv_clean(s);
    free(s);
    t->cur = (t->cur + 1) % t->nr_cols;
}

void xv_table_print(const xv_table *t, FILE *f)
{
    size_t *w = xmalloc_or_die(calloc(t->nr_cols, sizeof(*w)));
    size_t width = 0;
    char *line;

    for (size_t c = 0; c < t->nr_cols; c++) {
        w[c] = strlen(t->heads[c]);
        for (size_t r = 0; r < t->nr_rows; r++) {
            const char *s = t->cells[r * t->nr_cols + c];
            if (s && strlen(s) > w[c])
                w[c] = strlen(s);
        }
        width += w[c] + 2;
    }
    line = xmalloc_or_die(malloc(width + 1));
    for (size_t r = 0; r <= t->nr_rows; r++) {
        size_t n = 0;

        for (size_t c = 0; c < t->nr_cols; c++) {
            const char *s =
                r == 0 ? t->heads[c] : t->cells[(r - 1) * t->nr_cols + c];

            n += (size_t)snprintf(line + n, width + 1 - n,
                                  t->right && t->right[c] ? "%*s  " : "%-*s  ",
                                  (int)w[c], s ? s : "");
        }
        while (n && line[n - 1] == ' ') /* no trailing blanks */
            n--;
        line[n] = '\0';
        fprintf(f, "%s\n", line);
    }
    free(line);
    free(w);
}

void xv_kv(FILE *f, const char *key, const char *fmt, ...)
{
    va_list ap;
    char *s, *c;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    c = xv_clean(s);
    fprintf(f, "%-22s : %s\n", key, c);
    free(c);
    free(s);
}

/* ---- JSON ------------------------------------------------------------- */

void xv_json_init(xv_json *j, bool pretty)
{
    j->g = xmalloc_or_die(yajl_gen_alloc(NULL));
    j->failed = false;
    yajl_gen_config(j->g, yajl_gen_validate_utf8, 1);
    if (pretty) {
        yajl_gen_config(j->g, yajl_gen_beautify, 1);
        yajl_gen_config(j->g, yajl_gen_indent_string, "  ");
    }
}

void xv_json_dispose(xv_json *j)
{
    if (j->g)
        yajl_gen_free(j->g);
    j->g = NULL;
}

static void check(xv_json *j, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok)
        j->failed = true;
}

void xv_json_key(xv_json *j, const char *key)
{
    if (key)
        check(j,
              yajl_gen_string(j->g, (const unsigned char *)key, strlen(key)));
}

void xv_json_str(xv_json *j, const char *key, const char *v)
{
    xv_json_key(j, key);
    if (!v) {
        check(j, yajl_gen_null(j->g));
        return;
    }
    char *c = xv_clean(v);
    check(j, yajl_gen_string(j->g, (const unsigned char *)c, strlen(c)));
    free(c);
}

void xv_json_int(xv_json *j, const char *key, long long v)
{
    xv_json_key(j, key);
    check(j, yajl_gen_integer(j->g, v));
}

void xv_json_int_or_null(xv_json *j, const char *key, long long v)
{
    if (v < 0)
        xv_json_null(j, key);
    else
        xv_json_int(j, key, v);
}

void xv_json_bool(xv_json *j, const char *key, bool v)
{
    xv_json_key(j, key);
    check(j, yajl_gen_bool(j->g, v));
}

void xv_json_null(xv_json *j, const char *key)
{
    xv_json_key(j, key);
    check(j, yajl_gen_null(j->g));
}

void xv_json_open_map(xv_json *j, const char *key)
{
    xv_json_key(j, key);
    check(j, yajl_gen_map_open(j->g));
}

void xv_json_close_map(xv_json *j)
{
    check(j, yajl_gen_map_close(j->g));
}

void xv_json_open_array(xv_json *j, const char *key)
{
    xv_json_key(j, key);
    check(j, yajl_gen_array_open(j->g));
}

void xv_json_close_array(xv_json *j)
{
    check(j, yajl_gen_array_close(j->g));
}

int xv_json_flush(xv_json *j, FILE *f)
{
    const unsigned char *buf;
    size_t len;

    if (j->failed || yajl_gen_get_buf(j->g, &buf, &len) != yajl_gen_status_ok) {
        xv_error("internal error: could not generate JSON");
        return XV_EXIT_ERROR;
    }
    fwrite(buf, 1, len, f);
    /* beautified yajl output already ends in a newline */
    if (!len || buf[len - 1] != '\n')
        fputc('\n', f);
    yajl_gen_clear(j->g);
    if (fflush(f) != 0) {
        xv_error("cannot write output");
        return XV_EXIT_ERROR;
    }
    return XV_EXIT_OK;
}

/* ---- PFs and VFs ------------------------------------------------------ */

const char *xv_pf_state_text(const xv_pf *pf)
{
    return pf->xs_pf ? xenvf_pf_state_name(pf->xs_pf->state) : "-";
}

long xv_pf_owner_domid(const xv_pf *pf)
{
    if (pf->xs_pf)
        return pf->xs_pf->owner_domid == XENVF_DOMID_NONE
                   ? -1
                   : (long)pf->xs_pf->owner_domid;
    if (pf->map_pf && !pf->map_pf->owner_name)
        return (long)pf->map_pf->owner;
    return -1;
}

const char *xv_pf_owner_name(const xv_pf *pf)
{
    return pf->map_pf ? pf->map_pf->owner_name : NULL;
}

/* The settings a VF has: the map's when it lists the VF, else what
 * xenstore has (a vf= entry's, published at reservation). */
/* What xenvfd published is the VF's effective settings (the map's with its
 * holder's over them); before that, what the map says. */
static const xenvf_vf_config *vf_config(const xv_vf *vf)
{
    if (vf->xs_vf)
        return &vf->xs_vf->config;
    return vf->map_vf ? &vf->map_vf->config : NULL;
}

static void size_text(uint64_t size, char buf[32])
{
    static const char units[] = "KMGT";
    int u = -1;

    while (u < 3 && size && size % 1024 == 0) {
        size /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, 32, "%" PRIu64, size);
    else
        snprintf(buf, 32, "%" PRIu64 "%c", size, units[u]);
}

const char *xv_vf_settings_text(const xv_vf *vf, char *buf, size_t size)
{
    const xenvf_vf_config *c = vf_config(vf);
    size_t n = 0;
    char val[XENVF_SETTING_STR_MAX], sz[32];

#define ADD(...)                                                               \
    do {                                                                       \
        if (n < size)                                                          \
            n += (size_t)snprintf(buf + n, size - n, "%s", n ? " " : "");      \
        if (n < size)                                                          \
            n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__);             \
    } while (0)

    buf[0] = '\0';
    if (!c)
        return buf;
    xenvf_setting_for_each(set)
    {
        const char *v = xenvf_setting_format_word(c, set, val);

        if (v)
            ADD("%s=%s", xenvf_settings[set].name, v);
    }
    for (size_t i = 0; vf->map_vf && i < vf->map_vf->nr_ns; i++) {
        size_text(vf->map_vf->ns[i].size, sz);
        ADD("ns=%" PRIu32 ":%s", vf->map_vf->ns[i].nsid, sz);
    }
#undef ADD
    return buf;
}

#define NOT_GIVEN  "not given by the driver"
#define UNREADABLE "unreadable (a bad value in xenstore)"

const char *xv_vf_counters_text(const xv_vf *vf,
                                char buf[XENVF_VF_STATS_STR_MAX])
{
    const xenvf_vf_stats *st = vf->xs_vf ? &vf->xs_vf->stats : NULL;

    if (!st || st->status == XENVF_VF_STATS_UNKNOWN)
        return NULL;
    if (st->status == XENVF_VF_STATS_NOT_GIVEN)
        return NOT_GIVEN;
    /* the published text itself (a GIVEN value always formats) */
    if (st->status == XENVF_VF_STATS_BAD ||
        xenvf_vf_stats_format(st, buf, NULL))
        return UNREADABLE;
    return buf;
}

/* "counters": null (nothing published), {"given": false, "reason": ...},
 * or {"given": true, <each counter the driver gave>: N}. */
static void json_counters(xv_json *j, const xv_vf *vf)
{
    const xenvf_vf_stats *st = vf->xs_vf ? &vf->xs_vf->stats : NULL;

    if (!st || st->status == XENVF_VF_STATS_UNKNOWN) {
        xv_json_null(j, "counters");
        return;
    }
    xv_json_open_map(j, "counters");
    xv_json_bool(j, "given", st->status == XENVF_VF_STATS_GIVEN);
    if (st->status == XENVF_VF_STATS_GIVEN) {
        for (int s = 0; s < XENVF_NR_VF_STATS; s++)
            if (st->mask & (1u << s))
                xv_json_int(j, xenvf_vf_stat_defs[s].name, (long long)st->v[s]);
    } else {
        xv_json_str(j, "reason",
                    st->status == XENVF_VF_STATS_NOT_GIVEN ? NOT_GIVEN
                                                           : UNREADABLE);
    }
    xv_json_close_map(j);
}

static void json_settings(xv_json *j, const xv_vf *vf)
{
    const xenvf_vf_config *c = vf_config(vf);
    char val[XENVF_SETTING_STR_MAX];

    xv_json_open_map(j, "settings");
    xenvf_setting_for_each(set)
    {
        const char *name = xenvf_settings[set].name;
        xenvf_setting_value v;

        if (!c || !xenvf_setting_is_set(c, set)) {
            xv_json_null(j, name);
            continue;
        }
        xenvf_setting_get(c, set, &v);
        switch (xenvf_settings[set].kind) {
        case XENVF_KIND_UINT:
            xv_json_int(j, name, (long long)v.num);
            break;
        case XENVF_KIND_BOOL:
            xv_json_bool(j, name, v.num != 0);
            break;
        default:
            xv_json_str(j, name, xenvf_setting_format(c, set, val));
        }
    }
    xv_json_open_array(j, "namespaces");
    for (size_t i = 0; vf->map_vf && i < vf->map_vf->nr_ns; i++) {
        xv_json_open_map(j, NULL);
        xv_json_int(j, "nsid", vf->map_vf->ns[i].nsid);
        xv_json_int(j, "size", (long long)vf->map_vf->ns[i].size);
        xv_json_close_map(j);
    }
    xv_json_close_array(j);
    xv_json_close_map(j);
}

static void json_vf(xv_json *j, const xv_vf *vf)
{
    char b[XENVF_BDF_STR_MAX], q[XENVF_QUOTE_MAX];
    const xenvf_vf *x = vf->xs_vf;

    xv_json_open_map(j, NULL);
    xv_json_int(j, "index", vf->index);
    if (vf->bdf_known) {
        xenvf_bdf_format(&vf->bdf, b);
        xv_json_str(j, "bdf", b);
    } else {
        xv_json_null(j, "bdf");
    }
    xv_json_bool(j, "exists", vf->exists);
    xv_json_str(j, "state", x ? xenvf_vf_state_name(x->state) : NULL);
    if (x && x->domid != XENVF_DOMID_NONE)
        xv_json_int(j, "domid", x->domid);
    else
        xv_json_null(j, "domid");
    xv_json_str(j, "name", vf->holder_name);
    xv_json_str(j, "assigned", vf->map_vf ? vf->map_vf->domain : NULL);
    json_settings(j, vf);
    json_counters(j, vf);
    /* the guest wrote it: printable ASCII only, quoted as the text shows it */
    if (vf->guest_status)
        xenvf_quote(vf->guest_status, q, sizeof(q));
    xv_json_str(j, "guest_status", vf->guest_status ? q : NULL);
    xv_json_close_map(j);
}

/* A yes/no that a source which could not be read leaves unknown. */
static void json_known_bool(xv_json *j, const char *key, bool known, bool v)
{
    if (known)
        xv_json_bool(j, key, v);
    else
        xv_json_null(j, key);
}

void xv_json_pf(xv_json *j, const xv_view *v, const xv_pf *pf, bool with_vfs)
{
    char b[XENVF_BDF_STR_MAX], hex[8];
    xv_json_open_map(j, NULL);
    xv_json_str(j, "id", pf->id);
    xenvf_bdf_format(&pf->bdf, b);
    xv_json_str(j, "bdf", b);
    json_known_bool(j, "managed", v->map_ok || !v->map_present,
                    pf->map_pf != NULL);
    json_known_bool(j, "present", v->hw_ok, pf->hw != NULL);
    json_known_bool(j, "published", v->xs_ok, pf->xs_pf != NULL);
    xv_json_str(j, "driver", pf->hw ? pf->hw->driver : NULL);
    if (pf->hw) {
        snprintf(hex, sizeof(hex), "%04x", pf->hw->vendor_id);
        xv_json_str(j, "vendor", hex);
        snprintf(hex, sizeof(hex), "%04x", pf->hw->device_id);
        xv_json_str(j, "device", hex);
    } else {
        xv_json_null(j, "vendor");
        xv_json_null(j, "device");
    }
    xv_json_int_or_null(j, "totalvfs", pf->totalvfs);
    xv_json_int_or_null(j, "numvfs", pf->numvfs);
    xv_json_int_or_null(j, "map_numvfs", pf->map_numvfs);
    xv_json_int_or_null(j, "owner", xv_pf_owner_domid(pf));
    xv_json_str(j, "owner_name", xv_pf_owner_name(pf));
    xv_json_str(j, "state",
                pf->xs_pf ? xenvf_pf_state_name(pf->xs_pf->state) : NULL);
    xv_json_int_or_null(j, "free", pf->nr_free);
    xv_json_int_or_null(j, "reserved", pf->nr_reserved);
    xv_json_int_or_null(j, "active", pf->nr_active);
    xv_json_int_or_null(j, "assigned", pf->nr_assigned);
    if (with_vfs) {
        xv_json_open_array(j, "vfs");
        for (size_t i = 0; i < pf->nr_vfs; i++)
            json_vf(j, &pf->vfs[i]);
        xv_json_close_array(j);
    }
    xv_json_close_map(j);
}
