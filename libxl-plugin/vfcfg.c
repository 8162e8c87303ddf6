/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * vf= parsing (see vfcfg.h and docs/vf-config.md). Each entry is split on
 * commas into key=value items; every item is checked and every mistake
 * gets its own message, prefixed with the entry it is in.
 *
 * This runs inside xl on every config that has vf=, so the common path is
 * kept cheap: entries own no heap memory, one pass splits an entry, and
 * messages (quoting, labels) are built only when something is wrong.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>

#include <xenvf/vf_settings.h>

#include "vfcfg.h"

/* ---- character classes (loops: strspn() with a long set rebuilds a table
 * on every call) ------------------------------------------------------------
 */

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static size_t count_digits(const char *s)
{
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

/* ---- init / dispose ---------------------------------------------------------
 */

void vfcfg_entry_init(vfcfg_entry *e)
{
    /* field by field: the text buffers need only their first byte */
    e->pos = 0;
    e->text[0] = '\0';
    e->pf_id[0] = '\0';
    e->pf_is_bdf = false;
    e->pf_bdf = (xenvf_bdf){0};
    e->index = -1;
    e->function[0] = '\0';
    xenvf_vf_config_init(&e->config);
    e->timeout_ms = -1;
}

void vfcfg_entry_dispose(vfcfg_entry *e)
{
    vfcfg_entry_init(e); /* nothing of its own on the heap */
}

int vfcfg_entry_config(const vfcfg_entry *e, xenvf_vf_config *dst,
                       xenvf_err *err)
{
    int rc = xenvf_vf_config_copy(dst, &e->config, err);

    if (rc || !e->function[0])
        return rc;
    if (!(dst->function = strdup(e->function)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    return 0;
}

void vfcfg_init(vfcfg *c)
{
    memset(c, 0, sizeof(*c));
}

void vfcfg_dispose(vfcfg *c)
{
    free(c->entries);
    free(c->source);
    vfcfg_init(c);
}

/* ---- messages --------------------------------------------------------------
 */

void vfcfg_entry_label(const vfcfg_entry *e, char *buf, size_t len)
{
    char q[XENVF_QUOTE_MAX];

    xenvf_quote(e->text, q, sizeof(q));
    snprintf(buf, len, "vf[%u] \"%s\"", e->pos, q);
}

/* ---- value parsers: each sets err with a message naming key and value --- */

static int parse_pf(const char *v, size_t len, vfcfg_entry *e, xenvf_err *err)
{
    size_t n = 0;
    char q[XENVF_QUOTE_MAX];

    while (is_id_char(v[n]))
        n++;
    if (n == len && len <= XENVF_ID_MAX) { /* as xenvf_id_valid() */
        memcpy(e->pf_id, v, len + 1);
        return 0;
    }
    /* ids never contain ':', addresses always do: no ambiguity */
    if (memchr(v, ':', len) && !xenvf_bdf_parse(v, &e->pf_bdf, NULL)) {
        e->pf_is_bdf = true;
        return 0;
    }
    xenvf_quote(v, q, sizeof(q));
    return xenvf_err_set(err, XENVF_EINVAL,
                         "pf \"%s\" is neither a PF id (letters, digits, _ "
                         "and -, at most %d) nor a PCI address "
                         "(ssss:bb:dd.f)",
                         q, XENVF_ID_MAX);
}

/* Seconds, with up to three decimals ("30", "2.5"), to milliseconds. */
static int parse_timeout(const char *v, vfcfg_entry *e, xenvf_err *err)
{
    const size_t whole = count_digits(v);
    const char *dot = v[whole] == '.' ? v + whole : NULL;
    const size_t frac = dot ? count_digits(dot + 1) : 0;
    uint64_t s = 0, ms = 0;
    char q[XENVF_QUOTE_MAX];

    if (!whole || whole > 9 ||
        (dot ? !frac || frac > 3 || dot[1 + frac] : v[whole] != '\0')) {
        xenvf_quote(v, q, sizeof(q));
        return xenvf_err_set(err, XENVF_EINVAL,
                             "timeout \"%s\" is not a number of seconds "
                             "(like 30 or 2.5)",
                             q);
    }
    for (size_t i = 0; i < whole; i++)
        s = s * 10 + (uint64_t)(v[i] - '0');
    for (size_t i = 0; i < 3; i++)
        ms = ms * 10 + (i < frac ? (uint64_t)(dot[1 + i] - '0') : 0);
    if (s > VFCFG_TIMEOUT_MAX_S || (s == VFCFG_TIMEOUT_MAX_S && ms)) {
        xenvf_quote(v, q, sizeof(q));
        return xenvf_err_set(err, XENVF_ERANGE,
                             "timeout %s s is out of range 0-%d", q,
                             VFCFG_TIMEOUT_MAX_S);
    }
    e->timeout_ms = (int)(s * 1000 + ms);
    return 0;
}

/* ---- keys ---------------------------------------------------------------- */

/* vf='s own keys, then one per VF setting (vf_settings.h): key
 * K_SETTINGS + s is setting s. */
enum key {
    K_PF,
    K_INDEX,
    K_TIMEOUT,
    K_SETTINGS,
    NR_KEYS = K_SETTINGS + XENVF_NR_SETTINGS,
};

static const char *key_name(enum key k)
{
    static const char *const own[K_SETTINGS] = {
        [K_PF] = "pf", [K_INDEX] = "index", [K_TIMEOUT] = "timeout"};

    return k < K_SETTINGS ? own[k] : xenvf_settings[k - K_SETTINGS].name;
}

/* The key of that name, or NR_KEYS. */
static enum key find_key(const char *k, size_t len)
{
    for (enum key own = K_PF; own < K_SETTINGS; own++)
        if (!strncmp(key_name(own), k, len) && !key_name(own)[len])
            return own;
    return K_SETTINGS + xenvf_setting_find(k, len);
}

/* "pf, index, function, ..., timeout": the message of an unknown key. */
static void known_keys(char *buf, size_t len)
{
    size_t o = 0;

    for (enum key k = K_PF; k < NR_KEYS; k++)
        if (k != K_TIMEOUT)
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s, ",
                                  key_name(k));
    snprintf(buf + o, o < len ? len - o : 0, "%s", key_name(K_TIMEOUT));
}

/* A setting's value: checked by the table; the function description is
 * kept in the entry's own buffer (entries own no heap memory). */
static int parse_setting(xenvf_setting set, const char *v, size_t len,
                         vfcfg_entry *e, xenvf_err *err)
{
    xenvf_setting_value val;
    int rc = xenvf_setting_parse(set, v, len, &val, err);

    if (rc)
        return rc;
    if (set == XENVF_SETTING_FUNCTION) {
        memcpy(e->function, val.text, val.len);
        e->function[val.len] = '\0';
        return 0;
    }
    return xenvf_setting_store(&e->config, set, &val, err);
}

static int parse_value(enum key k, const char *v, size_t len, vfcfg_entry *e,
                       xenvf_err *err)
{
    uint64_t n;
    int rc;

    switch (k) {
    case K_PF:
        return parse_pf(v, len, e, err);
    case K_INDEX:
        if (!(rc = xenvf_parse_dec("index", v, len, 0, VFCFG_INDEX_MAX, &n,
                                   err)))
            e->index = (int)n;
        return rc;
    case K_TIMEOUT:
        return parse_timeout(v, e, err);
    default:
        return parse_setting((xenvf_setting)(k - K_SETTINGS), v, len, e, err);
    }
}

/*
 * One key=value item, item[0..len) of a scratch copy (writable, and
 * item[len] is a separator we may overwrite). Blanks around the key and
 * the value do not count.
 */
static int parse_item(char *item, size_t len, unsigned *seen, vfcfg_entry *e,
                      xenvf_err *err)
{
    char *end = item + len, *eq = memchr(item, '=', len), *key, *key_end,
         *value, q[400];
    enum key k;

    *end = '\0';
    if (!eq) {
        xenvf_quote(item, q, sizeof(q));
        return xenvf_err_set(err, XENVF_EINVAL, "\"%s\" is not key=value", q);
    }
    for (key = item; key < eq && is_blank(*key); key++)
        ;
    for (key_end = eq; key_end > key && is_blank(key_end[-1]); key_end--)
        ;
    if (key == key_end) {
        xenvf_quote(item, q, sizeof(q));
        return xenvf_err_set(err, XENVF_EINVAL, "\"%s\" has no key before '='",
                             q);
    }
    for (value = eq + 1; value < end && is_blank(*value); value++)
        ;
    while (end > value && is_blank(end[-1]))
        end--;
    *end = '\0';
    if ((k = find_key(key, (size_t)(key_end - key))) == NR_KEYS) {
        char known[160];

        *key_end = '\0';
        xenvf_quote(key, q, sizeof(q));
        known_keys(known, sizeof(known));
        return xenvf_err_set(err, XENVF_EINVAL,
                             "unknown key \"%s\" (known: %s)", q, known);
    }
    if (*seen & (1u << k))
        return xenvf_err_set(err, XENVF_EINVAL, "%s is given twice",
                             key_name(k));
    *seen |= 1u << k;
    if (value == end)
        return xenvf_err_set(err, XENVF_EINVAL, "%s= has no value",
                             key_name(k));
    return parse_value(k, value, (size_t)(end - value), e, err);
}

int vfcfg_parse_entry(const char *text, unsigned pos, vfcfg_entry *out,
                      xenvf_err *err)
{
    const size_t len = strlen(text);
    char label[512], scratch[VFCFG_ENTRY_MAX + 1], *item, *p;
    unsigned seen = 0;
    int rc;

    out->pos = pos;
    /* the text as written, for messages (a longer one is refused) */
    memcpy(out->text, text, len < VFCFG_ENTRY_MAX ? len + 1 : VFCFG_ENTRY_MAX);
    out->text[VFCFG_ENTRY_MAX] = '\0';
    if (len > VFCFG_ENTRY_MAX) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "is longer than %d characters",
                           VFCFG_ENTRY_MAX);
        goto out;
    }
    memcpy(scratch, text, len + 1);
    for (item = scratch;; item = p + 1) {
        size_t ilen, lead = 0;
        bool last;

        p = strchr(item, ','); /* one vectorised scan per item */
        last = !p;
        if (last)
            p = item + strlen(item);
        ilen = (size_t)(p - item);
        while (lead < ilen && is_blank(item[lead]))
            lead++;
        if (lead == ilen) { /* nothing but blanks since the last comma */
            rc = item == scratch && last
                     ? xenvf_err_set(err, XENVF_EINVAL,
                                     "is empty: it needs at least pf=<PF>")
                     : xenvf_err_set(err, XENVF_EINVAL,
                                     "has an empty item (two commas, or a "
                                     "comma at one end)");
            goto out;
        }
        if ((rc = parse_item(item, ilen, &seen, out, err)))
            goto out;
        if (last)
            break;
    }
    if (!(seen & (1u << K_PF))) {
        rc = xenvf_err_set(err, XENVF_EINVAL,
                           "has no pf= (the PF to take the VF from)");
        goto out;
    }
    rc = 0;
out:
    if (rc) {
        vfcfg_entry_label(out, label, sizeof(label));
        xenvf_err_prepend(err, "%s: ", label);
    }
    return rc;
}

/* ---- the list ------------------------------------------------------------ */

static bool same_pf(const vfcfg_entry *a, const vfcfg_entry *b)
{
    if (a->pf_is_bdf != b->pf_is_bdf)
        return false; /* an id and an address: only xenstore can tell */
    return a->pf_is_bdf ? xenvf_bdf_equal(&a->pf_bdf, &b->pf_bdf)
                        : !strcmp(a->pf_id, b->pf_id);
}

/* One VF, MAC or boot position claimed by two entries is a mistake that
 * would otherwise surface later and less clearly (xenvfd, the firmware). */
static inline int check_pair(const vfcfg_entry *a, const vfcfg_entry *b,
                             xenvf_err *err)
{
    char label[512], mac[18];

    if (a->index >= 0 && a->index == b->index && same_pf(a, b)) {
        vfcfg_entry_label(b, label, sizeof(label));
        return xenvf_err_set(err, XENVF_ECONFLICT,
                             "%s: the same VF as vf[%u] (index %d of that PF)",
                             label, a->pos, a->index);
    }
    if (a->config.has_mac && b->config.has_mac &&
        !memcmp(a->config.mac, b->config.mac, 6)) {
        vfcfg_entry_label(b, label, sizeof(label));
        xenvf_mac_format(b->config.mac, mac);
        return xenvf_err_set(err, XENVF_ECONFLICT,
                             "%s: mac %s is also vf[%u]'s", label, mac, a->pos);
    }
    if (a->config.boot > 0 && a->config.boot == b->config.boot) {
        vfcfg_entry_label(b, label, sizeof(label));
        return xenvf_err_set(err, XENVF_ECONFLICT,
                             "%s: boot position %" PRId64 " is also vf[%u]'s",
                             label, b->config.boot, a->pos);
    }
    return 0;
}

/* xl: `if (!xlu_cfg_get_long(config, "pci_seize", &l, 0)) seize = l;` and
 * each pci= device gets the value, as a bool. */
static int pci_default(const XLU_Config *cfg, const char *key)
{
    long l;

    return xlu_cfg_get_long(cfg, key, &l, 1) ? 0 : (int)!!l;
}

void vfcfg_pci_defaults(const XLU_Config *cfg, vfcfg *out)
{
    out->pci_msitranslate = pci_default(cfg, "pci_msitranslate");
    out->pci_power_mgmt = pci_default(cfg, "pci_power_mgmt");
    out->pci_permissive = pci_default(cfg, "pci_permissive");
    out->pci_seize = pci_default(cfg, "pci_seize");
}

bool vfcfg_note_pci_default(vfcfg *out, const char *key, long value)
{
    int *slot;

    if (strncmp(key, "pci_", 4))
        return false; /* most of xl's lookups: one compare */
    if (!strcmp(key + 4, "msitranslate"))
        slot = &out->pci_msitranslate;
    else if (!strcmp(key + 4, "power_mgmt"))
        slot = &out->pci_power_mgmt;
    else if (!strcmp(key + 4, "permissive"))
        slot = &out->pci_permissive;
    else if (!strcmp(key + 4, "seize"))
        slot = &out->pci_seize;
    else
        return false;
    *slot = !!value;
    return true;
}

int vfcfg_from_xlu(const XLU_Config *cfg, const char *source, vfcfg *out,
                   xenvf_err *err)
{
    XLU_ConfigList *list;
    int nr = 0, rc;

    vfcfg_dispose(out);
    rc = xlu_cfg_get_list(cfg, "vf", &list, &nr, 1);
    if (rc == ESRCH)
        return 0; /* no vf=: the common case, one lookup and no more */
    if (!(out->source = strdup(source ? source : "config"))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    if (rc) {
        rc = xenvf_err_set(err, XENVF_EINVAL,
                           "vf= must be a list of strings, like "
                           "vf = [ \"pf=nvme0\" ]");
        goto out;
    }
    if (nr > VFCFG_MAX_ENTRIES) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "vf= has %d entries; at most %d",
                           nr, VFCFG_MAX_ENTRIES);
        goto out;
    }
    if (nr && !(out->entries = malloc((size_t)nr * sizeof(*out->entries)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < nr; i++) {
        const char *text = xlu_cfg_get_listitem(list, i);

        vfcfg_entry_init(&out->entries[i]);
        out->nr = (size_t)i + 1;
        if (!text) {
            rc =
                xenvf_err_set(err, XENVF_EINVAL,
                              "vf[%d] is not a string (a list inside vf=?)", i);
            goto out;
        }
        if ((rc = vfcfg_parse_entry(text, (unsigned)i, &out->entries[i], err)))
            goto out;
    }
    for (size_t i = 0; i < out->nr; i++)
        for (size_t j = 0; j < i; j++)
            if ((rc = check_pair(&out->entries[j], &out->entries[i], err)))
                goto out;
out:
    if (rc)
        xenvf_err_prepend(err, "%s: ", source ? source : "config");
    return rc;
}

int vfcfg_parse_data(const char *source, const char *data, size_t len,
                     const char *extra, vfcfg *out, xenvf_err *err)
{
    size_t extra_len = extra ? strlen(extra) : 0, total = len;
    char *buf = NULL, *report_text = NULL;
    size_t report_len = 0;
    FILE *report = NULL;
    XLU_Config *cfg = NULL;
    int rc, e;

    if (len > INT_MAX - extra_len - 3) {
        rc = xenvf_err_set(err, XENVF_ERANGE, "%s: config too large", source);
        goto out;
    }
    if (!(buf = malloc(len + extra_len + 3))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(buf, data, len);
    if (extra_len) /* exactly as xl appends command-line key=value lines */
        total += (size_t)sprintf(buf + len, "\n%s\n", extra);
    /* libxlutil reports syntax errors to a stream: keep them for err */
    report = open_memstream(&report_text, &report_len);
    cfg = xlu_cfg_init(report ? report : stderr, source);
    if (!cfg) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    e = xlu_cfg_readdata(cfg, buf, (int)total);
    if (e) {
        if (report)
            fflush(report);
        rc = xenvf_err_set(
            err, XENVF_EINVAL, "%s: config does not parse: %s", source,
            report_text && *report_text ? report_text : strerror(e));
        /* the message ends where libxlutil's first line does */
        if (err)
            err->msg[strcspn(err->msg, "\n")] = '\0';
        goto out;
    }
    if (!(rc = vfcfg_from_xlu(cfg, source, out, err)))
        vfcfg_pci_defaults(cfg, out);
out:
    xlu_cfg_destroy(cfg);
    if (report)
        fclose(report);
    free(report_text);
    free(buf);
    return rc;
}
