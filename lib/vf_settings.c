/* SPDX-License-Identifier: LGPL-2.1-only */
/* The per-VF settings, defined once (see vf_settings.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

const xenvf_setting_info xenvf_settings[XENVF_NR_SETTINGS] = {
#define XENVF_SETTING_INFO(ID, name_, field, kind_, min_, max_, flags_)        \
    [XENVF_SETTING_##ID] = {.name = name_,                                     \
                            .kind = XENVF_KIND_##kind_,                        \
                            .min = min_,                                       \
                            .max = max_,                                       \
                            .flags = flags_},
    XENVF_VF_SETTINGS(XENVF_SETTING_INFO)
#undef XENVF_SETTING_INFO
};

/* Where each setting lives in xenvf_vf_config: an int64_t for UINT and
 * BOOL, a char * for TEXT, mac[] (with has_mac) for MAC. */
static const size_t setting_offset[XENVF_NR_SETTINGS] = {
#define XENVF_SETTING_OFFSET(ID, name, field, ...)                             \
    [XENVF_SETTING_##ID] = offsetof(xenvf_vf_config, field),
    XENVF_VF_SETTINGS(XENVF_SETTING_OFFSET)
#undef XENVF_SETTING_OFFSET
};

static int64_t *num_field(xenvf_vf_config *c, xenvf_setting s)
{
    return (int64_t *)(void *)((char *)c + setting_offset[s]);
}

static char **text_field(xenvf_vf_config *c, xenvf_setting s)
{
    return (char **)(void *)((char *)c + setting_offset[s]);
}

/* The read-only views, for const configs. */
static int64_t num_of(const xenvf_vf_config *c, xenvf_setting s)
{
    return *num_field((xenvf_vf_config *)c, s);
}

static const char *text_of(const xenvf_vf_config *c, xenvf_setting s)
{
    return *text_field((xenvf_vf_config *)c, s);
}

xenvf_setting xenvf_setting_find(const char *name, size_t len)
{
    xenvf_setting_for_each(s)
    {
        if (!strncmp(xenvf_settings[s].name, name, len) &&
            !xenvf_settings[s].name[len])
            return s;
    }
    return XENVF_NR_SETTINGS;
}

bool xenvf_setting_is_set(const xenvf_vf_config *c, xenvf_setting s)
{
    switch (xenvf_settings[s].kind) {
    case XENVF_KIND_MAC:
        return c->has_mac;
    case XENVF_KIND_TEXT:
        return text_of(c, s) != NULL;
    default:
        return num_of(c, s) != -1;
    }
}

void xenvf_setting_unset(xenvf_vf_config *c, xenvf_setting s)
{
    switch (xenvf_settings[s].kind) {
    case XENVF_KIND_MAC:
        c->has_mac = false;
        memset(c->mac, 0, sizeof(c->mac));
        break;
    case XENVF_KIND_TEXT:
        free(*text_field(c, s));
        *text_field(c, s) = NULL;
        break;
    default:
        *num_field(c, s) = -1;
    }
}

void xenvf_setting_get(const xenvf_vf_config *c, xenvf_setting s,
                       xenvf_setting_value *out)
{
    memset(out, 0, sizeof(*out));
    switch (xenvf_settings[s].kind) {
    case XENVF_KIND_MAC:
        memcpy(out->mac, c->mac, sizeof(out->mac));
        break;
    case XENVF_KIND_TEXT:
        out->text = text_of(c, s);
        out->len = out->text ? strlen(out->text) : 0;
        break;
    default:
        out->num = (uint64_t)num_of(c, s);
    }
}

static int check_mac(const uint8_t m[6], xenvf_err *err)
{
    char text[18];

    xenvf_mac_format(m, text);
    if (m[0] & 1)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "mac %s is a multicast address (a VF needs a "
                             "unicast one)",
                             text);
    if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "mac %s is not an address (a VF needs a unicast "
                             "one)",
                             text);
    return 0;
}

static int check_text(const xenvf_setting_info *i, const char *t, size_t len,
                      xenvf_err *err)
{
    char q[XENVF_QUOTE_MAX];

    if (len < i->min)
        return xenvf_err_set(err, XENVF_EINVAL, "%s is empty", i->name);
    if (len > i->max)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s is longer than %" PRIu64 " characters",
                             i->name, i->max);
    for (size_t k = 0; k < len; k++) {
        if (!t[k] || !strchr(XENVF_FUNCTION_CHARS, t[k])) {
            const char one[2] = {t[k], '\0'};

            xenvf_quote(one, q, sizeof(q));
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "%s: character '%.4s' is not allowed "
                                 "(letters, digits and _-.+:)",
                                 i->name, t[k] ? q : "\\x00");
        }
    }
    return 0;
}

int xenvf_setting_check(xenvf_setting s, const xenvf_setting_value *v,
                        xenvf_err *err)
{
    const xenvf_setting_info *i = &xenvf_settings[s];

    switch (i->kind) {
    case XENVF_KIND_MAC:
        return check_mac(v->mac, err);
    case XENVF_KIND_TEXT:
        return check_text(i, v->text ? v->text : "", v->len, err);
    case XENVF_KIND_BOOL:
        if (v->num > 1)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "%s %" PRIu64 " is not 0 or 1", i->name,
                                 v->num);
        return 0;
    default:
        if (v->num < i->min || v->num > i->max)
            return xenvf_err_set(err, XENVF_ERANGE,
                                 "%s %" PRIu64 " is out of range %" PRIu64
                                 "-%" PRIu64,
                                 i->name, v->num, i->min, i->max);
        return 0;
    }
}

int xenvf_setting_store(xenvf_vf_config *c, xenvf_setting s,
                        const xenvf_setting_value *v, xenvf_err *err)
{
    int rc = xenvf_setting_check(s, v, err);
    char *copy;

    if (rc)
        return rc;
    switch (xenvf_settings[s].kind) {
    case XENVF_KIND_MAC:
        memcpy(c->mac, v->mac, sizeof(c->mac));
        c->has_mac = true;
        break;
    case XENVF_KIND_TEXT:
        if (!(copy = strndup(v->text, v->len)))
            return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        free(*text_field(c, s));
        *text_field(c, s) = copy;
        break;
    default:
        *num_field(c, s) = (int64_t)v->num;
    }
    return 0;
}

/* ---- the text form --------------------------------------------------- */

static int parse_bool(const xenvf_setting_info *i, const char *t, size_t len,
                      uint64_t *out, xenvf_err *err)
{
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char *const no[] = {"0", "no", "off", "false"};
    char q[XENVF_QUOTE_MAX];

    for (size_t k = 0; k < sizeof(yes) / sizeof(yes[0]); k++) {
        if (strlen(yes[k]) == len && !memcmp(t, yes[k], len)) {
            *out = 1;
            return 0;
        }
        if (strlen(no[k]) == len && !memcmp(t, no[k], len)) {
            *out = 0;
            return 0;
        }
    }
    xenvf_quote_n(t, len, q, sizeof(q));
    return xenvf_err_set(err, XENVF_EINVAL,
                         "%s \"%s\" is not a boolean (0/1, yes/no, on/off, "
                         "true/false)",
                         i->name, q);
}

static int parse_mac(const xenvf_setting_info *i, const char *t, size_t len,
                     uint8_t mac[6], xenvf_err *err)
{
    char q[XENVF_QUOTE_MAX], copy[18];

    snprintf(copy, sizeof(copy), "%.*s", (int)(len < 17 ? len : 17), t);
    if (len != 17 || xenvf_mac_digits(copy, mac)) {
        xenvf_quote_n(t, len, q, sizeof(q));
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s \"%s\" is not a MAC address "
                             "(xx:xx:xx:xx:xx:xx)",
                             i->name, q);
    }
    return 0;
}

int xenvf_setting_parse(xenvf_setting s, const char *text, size_t len,
                        xenvf_setting_value *out, xenvf_err *err)
{
    const xenvf_setting_info *i = &xenvf_settings[s];
    int rc;

    memset(out, 0, sizeof(*out));
    switch (i->kind) {
    case XENVF_KIND_MAC:
        rc = parse_mac(i, text, len, out->mac, err);
        break;
    case XENVF_KIND_TEXT:
        out->text = text;
        out->len = len;
        rc = 0;
        break;
    case XENVF_KIND_BOOL:
        rc = parse_bool(i, text, len, &out->num, err);
        break;
    default:
        rc =
            xenvf_parse_dec(i->name, text, len, i->min, i->max, &out->num, err);
    }
    return rc ? rc : xenvf_setting_check(s, out, err);
}

const char *xenvf_setting_format(const xenvf_vf_config *c, xenvf_setting s,
                                 char buf[XENVF_SETTING_STR_MAX])
{
    if (!xenvf_setting_is_set(c, s))
        return NULL;
    switch (xenvf_settings[s].kind) {
    case XENVF_KIND_MAC:
        xenvf_mac_format(c->mac, buf);
        return buf;
    case XENVF_KIND_TEXT:
        return text_of(c, s);
    default:
        snprintf(buf, XENVF_SETTING_STR_MAX, "%" PRId64, num_of(c, s));
        return buf;
    }
}

const char *xenvf_setting_format_word(const xenvf_vf_config *c, xenvf_setting s,
                                      char buf[XENVF_SETTING_STR_MAX])
{
    const char *v = xenvf_setting_format(c, s, buf);

    if (v && xenvf_settings[s].kind == XENVF_KIND_BOOL)
        return num_of(c, s) ? "on" : "off";
    return v;
}

/* ---- whole configs --------------------------------------------------- */

static bool setting_equal(const xenvf_vf_config *a, const xenvf_vf_config *b,
                          xenvf_setting s)
{
    const char *ta, *tb;

    switch (xenvf_settings[s].kind) {
    case XENVF_KIND_MAC:
        return a->has_mac == b->has_mac &&
               (!a->has_mac || !memcmp(a->mac, b->mac, sizeof(a->mac)));
    case XENVF_KIND_TEXT:
        ta = text_of(a, s);
        tb = text_of(b, s);
        return ta == tb || (ta && tb && !strcmp(ta, tb));
    default:
        return num_of(a, s) == num_of(b, s);
    }
}

bool xenvf_vf_config_equal_in(const xenvf_vf_config *a,
                              const xenvf_vf_config *b, unsigned flags)
{
    xenvf_setting_for_each(s)
    {
        if ((xenvf_settings[s].flags & flags) && !setting_equal(a, b, s))
            return false;
    }
    return true;
}

bool xenvf_vf_config_equal(const xenvf_vf_config *a, const xenvf_vf_config *b)
{
    xenvf_setting_for_each(s)
    {
        if (!setting_equal(a, b, s))
            return false;
    }
    return xenvf_ns_list_equal(&a->ns, &b->ns);
}

bool xenvf_vf_config_is_empty(const xenvf_vf_config *c)
{
    xenvf_setting_for_each(s)
    {
        if (xenvf_setting_is_set(c, s))
            return false;
    }
    return true;
}

bool xenvf_vf_config_has(const xenvf_vf_config *c, unsigned flags)
{
    xenvf_setting_for_each(s)
    {
        if ((xenvf_settings[s].flags & flags) && xenvf_setting_is_set(c, s))
            return true;
    }
    return false;
}

int xenvf_vf_config_overlay(xenvf_vf_config *dst, const xenvf_vf_config *over,
                            xenvf_err *err)
{
    xenvf_setting_value v;
    int rc;

    xenvf_setting_for_each(s)
    {
        if (!xenvf_setting_is_set(over, s))
            continue;
        xenvf_setting_get(over, s, &v);
        if ((rc = xenvf_setting_store(dst, s, &v, err)))
            return rc;
    }
    return 0;
}

int xenvf_vf_config_check(const xenvf_vf_config *c, xenvf_err *err)
{
    xenvf_setting_value v;
    int rc;

    xenvf_setting_for_each(s)
    {
        if (!xenvf_setting_is_set(c, s))
            continue;
        xenvf_setting_get(c, s, &v);
        /* a number below -1 reads as a huge unsigned one: out of range */
        if ((rc = xenvf_setting_check(s, &v, err)))
            return rc;
    }
    return 0;
}

/* ---- sets of settings, and a guest's request ------------------------- */

static void known_names(char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    xenvf_setting_for_each(s)
    {
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
                              o ? ", " : "", xenvf_settings[s].name);
    }
}

static int unknown_setting(const char *name, size_t len, xenvf_err *err)
{
    char q[XENVF_QUOTE_MAX], known[160];

    xenvf_quote_n(name, len < 39 ? len : 39, q, sizeof(q));
    known_names(known, sizeof(known));
    return xenvf_err_set(err, XENVF_EINVAL,
                         "unknown setting \"%s\" (known: %s)", q, known);
}

int xenvf_setting_mask_parse(const char *text, char sep, unsigned *mask,
                             xenvf_err *err)
{
    unsigned m = 0;

    for (const char *p = text; *p;) {
        size_t n = strcspn(p, (char[]){sep, '\0'});
        xenvf_setting s = xenvf_setting_find(p, n);

        if (s == XENVF_NR_SETTINGS)
            return unknown_setting(p, n, err);
        if (m & XENVF_SETTING_BIT(s))
            return xenvf_err_set(err, XENVF_EINVAL, "%s is named twice",
                                 xenvf_settings[s].name);
        m |= XENVF_SETTING_BIT(s);
        p += n;
        if (*p && !*++p)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "a separator at the end of \"%.40s\"", text);
    }
    *mask = m;
    return 0;
}

void xenvf_setting_mask_format(unsigned mask, char sep, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    xenvf_setting_for_each(s)
    {
        if (mask & XENVF_SETTING_BIT(s))
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
                                  o ? (char[]){sep, '\0'} : "",
                                  xenvf_settings[s].name);
    }
}

int xenvf_vf_config_parse_request(const char *text, xenvf_vf_config *out,
                                  unsigned *mask, xenvf_err *err)
{
    xenvf_vf_config c;
    unsigned m = 0;
    size_t len = strlen(text);
    int rc = 0;

    if (len == 0)
        return xenvf_err_set(err, XENVF_EINVAL, "empty request");
    if (len > XENVF_REQUEST_MAX)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "request of %zu bytes is over the %d limit", len,
                             XENVF_REQUEST_MAX);
    xenvf_vf_config_init(&c);
    for (const char *p = text; *p && !rc;) {
        size_t n = strcspn(p, ","), k = strcspn(p, "=,");
        xenvf_setting s;
        xenvf_setting_value v;

        if (k == n) {
            rc = xenvf_err_set(err, XENVF_EINVAL,
                               "\"%.*s\" is not setting=value",
                               (int)(n < 40 ? n : 40), p);
            break;
        }
        s = xenvf_setting_find(p, k);
        if (s == XENVF_NR_SETTINGS) {
            rc = unknown_setting(p, k, err);
            break;
        }
        if (m & XENVF_SETTING_BIT(s)) {
            rc = xenvf_err_set(err, XENVF_EINVAL, "%s is given twice",
                               xenvf_settings[s].name);
            break;
        }
        if (!(rc = xenvf_setting_parse(s, p + k + 1, n - k - 1, &v, err)))
            rc = xenvf_setting_store(&c, s, &v, err);
        m |= XENVF_SETTING_BIT(s);
        p += n;
        if (*p && !*++p)
            rc = xenvf_err_set(err, XENVF_EINVAL, "a comma at the end");
    }
    if (!rc && (rc = xenvf_vf_config_copy(out, &c, err)) == 0)
        *mask = m;
    xenvf_vf_config_dispose(&c);
    return rc;
}

void xenvf_vf_config_format_request(const xenvf_vf_config *c, unsigned mask,
                                    char *buf, size_t len)
{
    char val[XENVF_SETTING_STR_MAX];
    size_t o = 0;

    buf[0] = '\0';
    xenvf_setting_for_each(s)
    {
        const char *v;

        if (!(mask & XENVF_SETTING_BIT(s)) ||
            !(v = xenvf_setting_format(c, s, val)))
            continue;
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s=%s",
                              o ? "," : "", xenvf_settings[s].name, v);
    }
}
