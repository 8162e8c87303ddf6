/* SPDX-License-Identifier: LGPL-2.1-only */
/* Values read from text (see text.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <xenvf/text.h>

int xenvf_parse_uint(const char *s, uint64_t max, uint64_t *out, xenvf_err *err)
{
    uint64_t v = 0;
    const char *p = s;

    if (!s || !*s)
        return xenvf_err_set(err, XENVF_EINVAL, "empty number");
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return xenvf_err_set(err, XENVF_EINVAL, "'%.32s' is not a number",
                                 s);
        const uint64_t d = (uint64_t)(*p - '0');
        /* v * 10 + d > max, without overflowing (d > max: always) */
        if (d > max || v > (max - d) / 10)
            return xenvf_err_set(err, XENVF_ERANGE,
                                 "'%.32s' is out of range (max %llu)", s,
                                 (unsigned long long)max);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int xenvf_parse_dec(const char *what, const char *text, size_t len,
                    uint64_t min, uint64_t max, uint64_t *out, xenvf_err *err)
{
    char q[XENVF_QUOTE_MAX];
    uint64_t n = 0;
    bool overflow = false;
    size_t k = 0;

    for (; k < len && text[k] >= '0' && text[k] <= '9'; k++) {
        unsigned d = (unsigned)(text[k] - '0');

        if (n > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            n = n * 10 + d;
    }
    if (k && k == len && !overflow && n >= min && n <= max) {
        *out = n;
        return 0;
    }
    xenvf_quote_n(text, len, q, sizeof(q));
    if (k == 0 || k < len)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s \"%s\" is not a decimal number", what, q);
    return xenvf_err_set(err, XENVF_ERANGE,
                         "%s %s is out of range %" PRIu64 "-%" PRIu64, what, q,
                         min, max);
}

int xenvf_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int xenvf_mac_digits(const char *s, uint8_t mac[6])
{
    uint8_t b[6];

    /* a loop, not sscanf: the plugin parses MACs on xl's create path */
    for (int i = 0; s && i < 6; i++) {
        int hi = xenvf_hex_digit(s[3 * i]), lo;

        if (hi < 0 || (lo = xenvf_hex_digit(s[3 * i + 1])) < 0 ||
            s[3 * i + 2] != (i < 5 ? ':' : '\0'))
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!s)
        return -1;
    memcpy(mac, b, sizeof(b));
    return 0;
}

int xenvf_mac_parse(const char *s, uint8_t mac[6], xenvf_err *err)
{
    uint8_t b[6];

    if (xenvf_mac_digits(s, b))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad MAC '%.40s': expected xx:xx:xx:xx:xx:xx",
                             s ? s : "");
    if (b[0] & 1)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "MAC '%s' is a multicast address", s);
    memcpy(mac, b, sizeof(b));
    return 0;
}

void xenvf_mac_format(const uint8_t mac[6], char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
}

void xenvf_quote(const char *s, char *buf, size_t len)
{
    xenvf_quote_n(s, strlen(s), buf, len);
}

void xenvf_quote_n(const char *s, size_t n, char *buf, size_t len)
{
    size_t o = 0, i = 0;
    const size_t keep = 64;

    for (; i < keep && i < n && o + 6 < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, len - o, "\\%c", ch);
        else if (ch < 0x20 || ch > 0x7e)
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    if (i < n && o + 4 < len)
        o += (size_t)snprintf(buf + o, len - o, "...");
    buf[o] = '\0';
}

static int find_counter(const char *const *names, size_t nr, const char *name,
                        size_t len)
{
    for (size_t i = 0; i < nr; i++)
        if (strlen(names[i]) == len && !memcmp(names[i], name, len))
            return (int)i;
    return -1;
}

int xenvf_counters_parse(const char *text, size_t len, const char *const *names,
                         size_t nr, uint64_t *values, uint32_t *mask,
                         xenvf_err *err)
{
    char q[XENVF_QUOTE_MAX];
    size_t at = 0;
    int rc;

    *mask = 0;
    if (!len)
        return xenvf_err_set(err, XENVF_EINVAL, "empty");
    while (at < len) {
        const char *word = text + at, *sp = memchr(word, ' ', len - at);
        size_t wlen = sp ? (size_t)(sp - word) : len - at;
        const char *eq = memchr(word, '=', wlen);
        int i = eq ? find_counter(names, nr, word, (size_t)(eq - word)) : -1;

        if (i < 0 || (*mask & (1u << i))) {
            xenvf_quote_n(word, eq ? (size_t)(eq - word) : wlen, q, sizeof(q));
            return xenvf_err_set(
                err, XENVF_EINVAL,
                i < 0 ? "unknown counter \"%s\"" : "\"%s\" twice", q);
        }
        rc = xenvf_parse_dec(names[i], eq + 1, wlen - (size_t)(eq + 1 - word),
                             0, UINT64_MAX, &values[i], err);
        if (rc)
            return rc;
        *mask |= 1u << i;
        at += wlen;
        if (sp && ++at == len)
            return xenvf_err_set(err, XENVF_EINVAL, "trailing space");
    }
    return 0;
}

void xenvf_counters_format(const char *const *names, size_t nr,
                           const uint64_t *values, uint32_t mask, char *buf,
                           size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < nr && n < size; i++)
        if (mask & (1u << i))
            n += (size_t)snprintf(buf + n, size - n, "%s%s=%" PRIu64,
                                  n ? " " : "", names[i], values[i]);
}
