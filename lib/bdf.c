/* SPDX-License-Identifier: LGPL-2.1-only */
#include <stdio.h>
#include <string.h>

#include <xenvf/bdf.h>
#include <xenvf/model.h>
#include <xenvf/text.h>

/* Exactly `digits` hex digits at s; returns the value or -1. */
static long hex_field(const char *s, int digits)
{
    long v = 0;

    for (int i = 0; i < digits; i++) {
        int h = xenvf_hex_digit(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/*
 * One parser for both spellings: sep1 between seg/bus and bus/dev, sep2
 * between dev and func. Accepted: "ssss<s1>bb<s1>dd<s2>f" and, when
 * allow_short, "bb<s1>dd<s2>f" (segment 0).
 */
static int bdf_parse_with(const char *s, char sep1, char sep2, bool allow_short,
                          xenvf_bdf *out, xenvf_err *err)
{
    size_t len = s ? strlen(s) : 0;
    const char *p = s;
    long seg = 0, bus, dev, func;

    if (len == 12) {
        seg = hex_field(p, 4);
        if (seg < 0 || p[4] != sep1)
            goto bad;
        p += 5;
    } else if (!(allow_short && len == 7)) {
        goto bad;
    }
    bus = hex_field(p, 2);
    dev = hex_field(p + 3, 2);
    func = hex_field(p + 6, 1);
    if (bus < 0 || p[2] != sep1 || dev < 0 || p[5] != sep2 || func < 0)
        goto bad;
    if (dev > 31 || func > 7)
        return xenvf_err_set(err, XENVF_ERANGE,
                             "PCI address '%s': device must be 00-1f and "
                             "function 0-7",
                             s);
    out->seg = (uint16_t)seg;
    out->bus = (uint8_t)bus;
    out->dev = (uint8_t)dev;
    out->func = (uint8_t)func;
    return 0;

bad:
    return xenvf_err_set(
        err, XENVF_EINVAL, "bad PCI address '%.40s': expected %s", s ? s : "",
        sep1 == ':' ? "ssss:bb:dd.f or bb:dd.f" : "ssss-bb-dd-f");
}

int xenvf_bdf_parse(const char *s, xenvf_bdf *out, xenvf_err *err)
{
    return bdf_parse_with(s, ':', '.', true, out, err);
}

void xenvf_bdf_format(const xenvf_bdf *bdf, char buf[XENVF_BDF_STR_MAX])
{
    snprintf(buf, XENVF_BDF_STR_MAX, "%04x:%02x:%02x.%x", bdf->seg, bdf->bus,
             bdf->dev, bdf->func);
}

void xenvf_bdf_format_xs(const xenvf_bdf *bdf, char buf[XENVF_BDF_XS_MAX])
{
    snprintf(buf, XENVF_BDF_XS_MAX, "%04x-%02x-%02x-%x", bdf->seg, bdf->bus,
             bdf->dev, bdf->func);
}

bool xenvf_bdf_equal(const xenvf_bdf *a, const xenvf_bdf *b)
{
    return xenvf_bdf_compare(a, b) == 0;
}

int xenvf_bdf_compare(const xenvf_bdf *a, const xenvf_bdf *b)
{
    if (a->seg != b->seg)
        return a->seg < b->seg ? -1 : 1;
    if (xenvf_bdf_rid(a) != xenvf_bdf_rid(b))
        return xenvf_bdf_rid(a) < xenvf_bdf_rid(b) ? -1 : 1;
    return 0;
}

uint16_t xenvf_bdf_rid(const xenvf_bdf *bdf)
{
    return (uint16_t)(bdf->bus << 8 | bdf->dev << 3 | bdf->func);
}

void xenvf_bdf_from_rid(uint16_t seg, uint16_t rid, xenvf_bdf *out)
{
    out->seg = seg;
    out->bus = rid >> 8;
    out->dev = (rid >> 3) & 0x1f;
    out->func = rid & 0x7;
}

int xenvf_bdf_vf_address(const xenvf_bdf *pf, uint16_t offset, uint16_t stride,
                         unsigned vf_index, xenvf_bdf *out, xenvf_err *err)
{
    uint64_t rid =
        (uint64_t)xenvf_bdf_rid(pf) + offset + (uint64_t)stride * vf_index;
    char pfs[XENVF_BDF_STR_MAX];

    if (offset == 0 || (vf_index > 0 && stride == 0) || rid > 0xffff) {
        xenvf_bdf_format(pf, pfs);
        return xenvf_err_set(err, XENVF_ERANGE,
                             "PF %s: VF %u has no valid routing ID (First VF "
                             "Offset %u, VF Stride %u)",
                             pfs, vf_index, offset, stride);
    }
    xenvf_bdf_from_rid(pf->seg, (uint16_t)rid, out);
    return 0;
}
