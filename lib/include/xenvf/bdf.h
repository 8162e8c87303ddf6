/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * PCI addresses (segment:bus:device.function) and SR-IOV routing-ID math.
 *
 * Text forms:  "0000:03:00.0" (sysfs, canonical), "03:00.0" (segment 0),
 * and the xenstore node-name form "0000-03-00-0" (xenstore names allow only
 * A-Za-z0-9-/_@, so libxl writes BDFs this way too).
 */
#ifndef XENVF_BDF_H
#define XENVF_BDF_H

#include <stdbool.h>
#include <stdint.h>

#include <xenvf/err.h>

typedef struct xenvf_bdf {
    uint16_t seg;
    uint8_t bus;
    uint8_t dev;  /* 0..31 */
    uint8_t func; /* 0..7 */
} xenvf_bdf;

#define XENVF_BDF_STR_MAX 16 /* "ssss:bb:dd.f" + NUL, with slack */
#define XENVF_BDF_XS_MAX  16 /* "ssss-bb-dd-f" + NUL, with slack */

/* Parse "ssss:bb:dd.f" or "bb:dd.f"; the whole string, hex, in range. */
int xenvf_bdf_parse(const char *s, xenvf_bdf *out, xenvf_err *err);
void xenvf_bdf_format(const xenvf_bdf *bdf, char buf[XENVF_BDF_STR_MAX]);
void xenvf_bdf_format_xs(const xenvf_bdf *bdf, char buf[XENVF_BDF_XS_MAX]);
bool xenvf_bdf_equal(const xenvf_bdf *a, const xenvf_bdf *b);
int xenvf_bdf_compare(const xenvf_bdf *a, const xenvf_bdf *b);

/* Routing ID: bus << 8 | dev << 3 | func (PCIe's 16-bit requester ID). */
uint16_t xenvf_bdf_rid(const xenvf_bdf *bdf);
void xenvf_bdf_from_rid(uint16_t seg, uint16_t rid, xenvf_bdf *out);

/*
 * The address of VF number vf_index (0-based) of a PF, from the SR-IOV
 * capability: RID(PF) + First VF Offset + vf_index * VF Stride (PCIe 9.3.3.9,
 * 9.3.3.10). Fails with XENVF_ERANGE if the result leaves the bus range.
 */
int xenvf_bdf_vf_address(const xenvf_bdf *pf, uint16_t offset, uint16_t stride,
                         unsigned vf_index, xenvf_bdf *out, xenvf_err *err);

#endif
