/*
 * Fuzz the small text parsers: PCI addresses (both spellings), MACs,
 * decimals (xenvf_parse_uint, against a reference at several maxima) and
 * the state names. Whatever is accepted must round-trip: parse -> format ->
 * parse gives the same value, and the text formats back to the input up to
 * case (and the implied segment of the short BDF form). Any violation
 * aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xenvf/bdf.h>
#include <xenvf/model.h>
#include <xenvf/text.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const xenvf_err *err)
{
    if (rc >= 0 || err->rc != rc || !err->msg[0] ||
        strnlen(err->msg, sizeof(err->msg)) == sizeof(err->msg))
        abort();
}

static void fuzz_bdf(const char *s)
{
    char buf[XENVF_BDF_STR_MAX], xs[XENVF_BDF_XS_MAX], want[32];
    xenvf_bdf b, back;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = xenvf_bdf_parse(s, &b, &err);
    if (rc) {
        check_err(rc, &err);
    } else {
        if (b.dev > 31 || b.func > 7)
            abort();
        xenvf_bdf_format(&b, buf);
        if (xenvf_bdf_parse(buf, &back, NULL) || !xenvf_bdf_equal(&b, &back))
            abort();
        snprintf(want, sizeof(want), "%s%s", strlen(s) == 7 ? "0000:" : "", s);
        if (strcasecmp(buf, want))
            abort();
        /* libxl's spelling: the same digits, '-' for ':' and '.' */
        xenvf_bdf_format_xs(&b, xs);
        buf[4] = buf[7] = buf[10] = '-';
        if (strcmp(xs, buf))
            abort();
    }
}

static void fuzz_mac(const char *s)
{
    uint8_t mac[6], back[6];
    char buf[18];
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = xenvf_mac_parse(s, mac, &err);
    if (rc) {
        check_err(rc, &err);
        return;
    }
    if (mac[0] & 1)
        abort(); /* multicast must be refused */
    xenvf_mac_format(mac, buf);
    if (strcasecmp(buf, s) || xenvf_mac_parse(buf, back, NULL) ||
        memcmp(mac, back, 6))
        abort();
}

static void fuzz_uint(const char *s)
{
    static const uint64_t maxima[] = {
        0,
        1,
        3,
        9,
        10,
        99,
        255,
        4094,
        65535,
        UINT32_MAX,
        UINT64_MAX / 10,
        UINT64_MAX - 1,
        UINT64_MAX,
    };
    unsigned __int128 ref = 0;
    bool digits = *s != '\0', big = false;
    char buf[32];

    /* the reference: every character a digit (up to the first that is
     * not), value without overflow */
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            digits = false;
            break;
        }
        if (!big) {
            ref = ref * 10 + (unsigned)(*p - '0');
            big = ref > UINT64_MAX;
        }
    }
    for (size_t i = 0; i < sizeof(maxima) / sizeof(maxima[0]); i++) {
        uint64_t v = 0, back;
        xenvf_err err;
        /* the digits before any bad character are already past max */
        bool pre_big = big || ref > maxima[i];
        int rc, want;

        xenvf_err_init(&err);
        rc = xenvf_parse_uint(s, maxima[i], &v, &err);
        want = !digits ? XENVF_EINVAL : pre_big ? XENVF_ERANGE : 0;
        /* a digit prefix past max may be reported as ERANGE before the
         * bad character is seen ("03:00.0" with max 0): both refuse it */
        if (rc != want &&
            !(want == XENVF_EINVAL && pre_big && rc == XENVF_ERANGE))
            abort();
        if (rc) {
            check_err(rc, &err);
            continue;
        }
        if (v != (uint64_t)ref)
            abort();
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        if (xenvf_parse_uint(buf, maxima[i], &back, NULL) || back != v)
            abort();
    }
}

static void fuzz_states(const char *s)
{
    xenvf_pf_state p;
    xenvf_vf_state v;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = xenvf_pf_state_parse(s, &p, &err);
    if (rc)
        check_err(rc, &err);
    else if (strcmp(xenvf_pf_state_name(p), s))
        abort();
    xenvf_err_init(&err);
    rc = xenvf_vf_state_parse(s, &v, &err);
    if (rc)
        check_err(rc, &err);
    else if (strcmp(xenvf_vf_state_name(v), s))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* an embedded NUL ends the text, as in C callers */
    fuzz_bdf(s);
    fuzz_mac(s);
    fuzz_uint(s);
    fuzz_states(s);
    free(s);
    return 0;
}
