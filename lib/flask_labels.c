/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * XSM/FLASK, the build side: the MMCFG window from ACPI, and the labels of
 * a machine (the VF map and discovery) as a policy fragment, as xl
 * commands, or applied at once (docs/xsm.md). Run-time labelling is
 * flask.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/flask.h>
#include <xenvf/log.h>
#include <xenvf/sriov.h>
#include <xenvf/sysfs.h>

#include "flask_internal.h"

/* ---- MCFG ------------------------------------------------------------ */

/* ACPI MCFG: a 36-byte table header, 8 reserved bytes, then entries of
 * base (u64), segment (u16), start bus, end bus (u8), 4 reserved bytes. */
#define MCFG_HEADER 44
#define MCFG_ENTRY  16

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--)
        v = v << 8 | p[n];
    return v;
}

#define MCFG_ADDR_LIMIT (1ull << 52)

int xenvf_flask_parse_mcfg(const void *buf, size_t len, xenvf_flask_mcfg **out,
                           size_t *nr, xenvf_err *err)
{
    const uint8_t *p = buf;
    xenvf_flask_mcfg *v = NULL;
    uint64_t table_len;
    size_t n;
    uint8_t sum = 0;

    *out = NULL;
    *nr = 0;
    if (len < MCFG_HEADER || memcmp(p, "MCFG", 4))
        return xenvf_err_set(err, XENVF_EINVAL, "MCFG: not an MCFG table");
    table_len = le(p + 4, 4);
    if (table_len < MCFG_HEADER || table_len > len ||
        (table_len - MCFG_HEADER) % MCFG_ENTRY)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "MCFG: length %" PRIu64 " does not fit %zu bytes",
                             table_len, len);
    for (size_t i = 0; i < table_len; i++)
        sum += p[i];
    if (sum)
        return xenvf_err_set(err, XENVF_EINVAL, "MCFG: bad checksum");
    n = (table_len - MCFG_HEADER) / MCFG_ENTRY;
    if (!n)
        return 0;
    v = calloc(n, sizeof(*v));
    if (!v)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = p + MCFG_HEADER + i * MCFG_ENTRY;

        v[i].base = le(e, 8);
        v[i].seg = le(e + 8, 2);
        v[i].start_bus = e[10];
        v[i].end_bus = e[11];
        if (v[i].end_bus < v[i].start_bus) {
            free(v);
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "MCFG entry %zu: end bus %u < start bus %u", i,
                                 e[11], e[10]);
        }
        /* the window must be real memory: within x86-64's 52 address bits
         * (which also keeps base + its size from wrapping) */
        if (v[i].base >= MCFG_ADDR_LIMIT ||
            MCFG_ADDR_LIMIT - v[i].base < ((uint64_t)v[i].end_bus + 1) << 20) {
            const uint64_t base = v[i].base;

            free(v);
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "MCFG entry %zu: window at %#" PRIx64
                                 " leaves the physical address space",
                                 i, base);
        }
    }
    *out = v;
    *nr = n;
    return 0;
}

void xenvf_flask_mcfg_range(const xenvf_flask_mcfg *m, xenvf_flask_range *r)
{
    r->io = false;
    r->start = m->base + ((uint64_t)m->start_bus << 20);
    r->end = m->base + (((uint64_t)m->end_bus + 1) << 20) - 1;
}

/* ---- the labels of a machine ----------------------------------------- */

void xenvf_flask_labels_init(xenvf_flask_labels *l)
{
    l->nr = 0;
    l->v = NULL;
}

void xenvf_flask_labels_dispose(xenvf_flask_labels *l)
{
    for (size_t i = 0; i < l->nr; i++) {
        free(l->v[i].ranges);
        free(l->v[i].what);
    }
    free(l->v);
    xenvf_flask_labels_init(l);
}

static bool ranges_overlap(const xenvf_flask_range *a,
                           const xenvf_flask_range *b)
{
    uint64_t a0, a1, b0, b1;

    if (a->io != b->io)
        return false;
    flask_range_units(a, &a0, &a1);
    flask_range_units(b, &b0, &b1);
    return a0 <= b1 && b0 <= a1;
}

int xenvf_flask_labels_add(xenvf_flask_labels *l, xenvf_flask_kind kind,
                           const xenvf_bdf *bdf, const char *type,
                           const xenvf_flask_range *ranges, size_t nr,
                           const char *what, xenvf_err *err)
{
    xenvf_flask_label *v, *n;
    xenvf_flask_range *r = NULL;
    size_t nr_r = 0;
    char *w = NULL;
    int rc;

    if (!what)
        what = "?";
    rc = xenvf_flask_check_type(type, err);
    if (rc) {
        xenvf_err_prepend(err, "%s: ", what);
        goto out;
    }
    if (kind != XENVF_FLASK_KIND_MMCFG && !bdf) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: no address", what);
        goto out;
    }
    rc = flask_normalize_ranges(ranges, nr, &r, &nr_r, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < l->nr; i++) {
        const xenvf_flask_label *o = &l->v[i];

        if (kind != XENVF_FLASK_KIND_MMCFG &&
            o->kind != XENVF_FLASK_KIND_MMCFG &&
            xenvf_bdf_equal(bdf, &o->bdf)) {
            rc = xenvf_err_set(err, XENVF_ECONFLICT, "%s: same device as %s",
                               what, o->what);
            goto out;
        }
        for (size_t j = 0; j < o->nr_ranges; j++)
            for (size_t k = 0; k < nr_r; k++)
                if (ranges_overlap(&o->ranges[j], &r[k])) {
                    rc = xenvf_err_set(
                        err, XENVF_ECONFLICT,
                        "%s: %s %#" PRIx64 "-%#" PRIx64 " overlap %s", what,
                        r[k].io ? "I/O ports" : "I/O memory", r[k].start,
                        r[k].end, o->what);
                    goto out;
                }
    }
    w = strdup(what);
    v = w ? realloc(l->v, (l->nr + 1) * sizeof(*v)) : NULL;
    if (!v) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    l->v = v;
    n = &v[l->nr++];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    if (bdf && kind != XENVF_FLASK_KIND_MMCFG)
        n->bdf = *bdf;
    snprintf(n->type, sizeof(n->type), "%s", type);
    n->what = w;
    n->ranges = r;
    n->nr_ranges = nr_r;
    w = NULL;
    r = NULL;
out:
    free(w);
    free(r);
    return rc;
}

int xenvf_flask_labels_set_irq(xenvf_flask_labels *l, size_t i, unsigned irq,
                               xenvf_err *err)
{
    xenvf_flask_label *lb = &l->v[i];

    if (lb->kind != XENVF_FLASK_KIND_PF)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s: only a PF's INTx is labelled", lb->what);
    for (size_t j = 0; irq && j < l->nr; j++)
        if (j != i && l->v[j].irq == irq && strcmp(l->v[j].type, lb->type))
            return xenvf_err_set(err, XENVF_ECONFLICT,
                                 "%s: IRQ %u is %s's too, labelled %s",
                                 lb->what, irq, l->v[j].what, l->v[j].type);
    lb->irq = irq;
    return 0;
}

static const char *vf_type_of(const xenvf_flask_types *types,
                              const xenvf_map_vf *vf)
{
    if (!vf || !vf->domain)
        return types && types->vf ? types->vf : XENVF_FLASK_VF_TYPE;
    for (size_t i = 0; types && i < types->nr_guests; i++)
        if (!strcmp(types->guests[i].domain, vf->domain))
            return types->guests[i].type;
    return types && types->guest_vf ? types->guest_vf
                                    : XENVF_FLASK_GUEST_VF_TYPE;
}

static int map_pf_labels(const xenvf_map_pf *pf, const char *sysfs_root,
                         const xenvf_flask_types *types,
                         xenvf_flask_labels *out, xenvf_err *err)
{
    xenvf_sriov_info info;
    xenvf_flask_range *pf_ranges = NULL;
    xenvf_flask_range vf_ranges[XENVF_SRIOV_NR_BARS];
    size_t nr_pf_ranges = 0;
    char what[96];
    const char *type;
    int rc;

    xenvf_sriov_info_init(&info);
    rc = xenvf_sriov_probe(sysfs_root, &pf->address, &info, err);
    if (rc)
        goto out;
    rc = xenvf_flask_device_ranges(sysfs_root, &pf->address, &pf_ranges,
                                   &nr_pf_ranges, err);
    if (rc)
        goto out;
    if (pf->owner)
        type = types && types->drv_pf ? types->drv_pf : XENVF_FLASK_DRV_PF_TYPE;
    else
        type = types && types->pf ? types->pf : XENVF_FLASK_PF_TYPE;
    snprintf(what, sizeof(what), "pf %s", pf->id);
    rc = xenvf_flask_labels_add(out, XENVF_FLASK_KIND_PF, &pf->address, type,
                                pf_ranges, nr_pf_ranges, what, err);
    if (rc)
        goto out;
    /* a driver domain's PF: libxl grants it the PF's INTx too, and Xen
     * checks use_iommu on the IRQ's label (the TCB's run-time pirqcon) */
    if (pf->owner) {
        unsigned irq;

        rc = xenvf_flask_device_irq(sysfs_root, &pf->address, &irq, err);
        if (!rc)
            rc = xenvf_flask_labels_set_irq(out, out->nr - 1, irq, err);
        if (rc)
            goto out;
    }
    if (pf->numvfs && !info.vf_bar_sizes_known)
        LOG(WARN,
            "PF %s: VF BAR sizes unknown: VFs labelled without their "
            "BARs",
            pf->id);
    for (unsigned i = 0; i < pf->numvfs; i++) {
        xenvf_bdf vf;
        size_t n = 0;

        rc = xenvf_sriov_vf_bdf(&info, i, &vf, err);
        if (rc)
            goto out;
        /* VF i's BAR j is its slice of the PF's VF BAR j window. */
        for (unsigned j = 0; j < XENVF_SRIOV_NR_BARS; j++) {
            const xenvf_sriov_bar *bar = &info.vf_bars[j];

            if (!bar->present || !bar->size || !info.vf_bar_sizes_known)
                continue;
            vf_ranges[n].io = false;
            vf_ranges[n].start = bar->base + (uint64_t)i * bar->size;
            vf_ranges[n].end = vf_ranges[n].start + bar->size - 1;
            n++;
        }
        snprintf(what, sizeof(what), "vf %s/%u", pf->id, i);
        rc = xenvf_flask_labels_add(out, XENVF_FLASK_KIND_VF, &vf,
                                    vf_type_of(types, xenvf_map_find_vf(pf, i)),
                                    vf_ranges, n, what, err);
        if (rc)
            goto out;
    }
out:
    if (rc)
        xenvf_err_prepend(err, "pf %s: ", pf->id);
    free(pf_ranges);
    xenvf_sriov_info_dispose(&info);
    return rc;
}

int xenvf_flask_labels_from_map(const xenvf_map *map, const char *sysfs_root,
                                const xenvf_flask_types *types,
                                xenvf_flask_labels *out, xenvf_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < map->nr_pfs && !rc; i++)
        rc = map_pf_labels(&map->pfs[i], sysfs_root, types, out, err);
    return rc;
}

/* "mem:0xSTART-0xEND" or "io:0xSTART-0xEND", hex with 0x, whole token. */
static int parse_range(const char *s, xenvf_flask_range *r)
{
    const char *p;
    char *end;

    if (!strncmp(s, "mem:", 4)) {
        r->io = false;
        p = s + 4;
    } else if (!strncmp(s, "io:", 3)) {
        r->io = true;
        p = s + 3;
    } else {
        return -1;
    }
    if (strncmp(p, "0x", 2) || !isxdigit((unsigned char)p[2]))
        return -1;
    errno = 0;
    r->start = strtoull(p, &end, 16);
    if (errno || *end != '-')
        return -1;
    p = end + 1;
    if (strncmp(p, "0x", 2) || !isxdigit((unsigned char)p[2]))
        return -1;
    errno = 0;
    r->end = strtoull(p, &end, 16);
    if (errno || *end || r->end < r->start)
        return -1;
    return 0;
}

/* "N", decimal, 1 <= N < 65536 (Xen's IRQ numbers), whole token. */
static int parse_irq(const char *s, unsigned *irq)
{
    char *end;
    unsigned long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || !v || v > 0xffff)
        return -1;
    *irq = (unsigned)v;
    return 0;
}

int xenvf_flask_labels_parse_list(const char *name, const char *text,
                                  xenvf_flask_labels *out, xenvf_err *err)
{
    char *copy = strdup(text), *line, *save = NULL;
    xenvf_flask_range *ranges = NULL;
    unsigned lineno = 0;
    int rc = 0;

    if (!name)
        name = "<list>";
    if (!copy)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    /* strtok_r would skip empty lines and miscount: split by hand. */
    for (line = copy; line && !rc; line = save) {
        char *tok[64], *hash, *t, *tsave = NULL;
        size_t ntok = 0, nr = 0;
        xenvf_flask_kind kind;
        xenvf_bdf bdf;
        unsigned irq;
        char what[64];

        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (t = strtok_r(line, " \t\r", &tsave); t;
             t = strtok_r(NULL, " \t\r", &tsave)) {
            if (ntok == sizeof(tok) / sizeof(tok[0])) {
                rc = xenvf_err_set(err, XENVF_EINVAL, "%s:%u: too many ranges",
                                   name, lineno);
                goto out;
            }
            tok[ntok++] = t;
        }
        if (!ntok)
            continue;
        if (ntok < 3) {
            rc = xenvf_err_set(err, XENVF_EINVAL,
                               "%s:%u: expected 'KIND ADDRESS TYPE [RANGE...]'",
                               name, lineno);
            goto out;
        }
        if (!strcmp(tok[0], "pf")) {
            kind = XENVF_FLASK_KIND_PF;
        } else if (!strcmp(tok[0], "vf")) {
            kind = XENVF_FLASK_KIND_VF;
        } else if (!strcmp(tok[0], "mmcfg")) {
            kind = XENVF_FLASK_KIND_MMCFG;
        } else {
            rc = xenvf_err_set(err, XENVF_EINVAL,
                               "%s:%u: kind '%.32s' is not pf, vf or mmcfg",
                               name, lineno, tok[0]);
            goto out;
        }
        memset(&bdf, 0, sizeof(bdf));
        if (kind == XENVF_FLASK_KIND_MMCFG) {
            if (strcmp(tok[1], "-") || ntok < 4) {
                rc = xenvf_err_set(err, XENVF_EINVAL,
                                   "%s:%u: mmcfg takes '-' and a range", name,
                                   lineno);
                goto out;
            }
        } else {
            rc = xenvf_bdf_parse(tok[1], &bdf, err);
            if (rc) {
                xenvf_err_prepend(err, "%s:%u: ", name, lineno);
                goto out;
            }
        }
        free(ranges);
        ranges = calloc(ntok, sizeof(*ranges));
        if (!ranges) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        irq = 0;
        for (size_t i = 3; i < ntok; i++) {
            if (!strncmp(tok[i], "irq:", 4)) {
                if (kind != XENVF_FLASK_KIND_PF || irq ||
                    parse_irq(tok[i] + 4, &irq)) {
                    rc = xenvf_err_set(err, XENVF_EINVAL,
                                       "%s:%u: bad '%.64s' (one irq:N, "
                                       "1 <= N < 65536, on a pf line)",
                                       name, lineno, tok[i]);
                    goto out;
                }
                continue;
            }
            if (parse_range(tok[i], &ranges[nr++])) {
                rc = xenvf_err_set(err, XENVF_EINVAL,
                                   "%s:%u: bad range '%.64s' (want "
                                   "mem:0xSTART-0xEND or io:0xSTART-0xEND)",
                                   name, lineno, tok[i]);
                goto out;
            }
        }
        snprintf(what, sizeof(what), "%s:%u", name, lineno);
        /* Its messages start with `what`. */
        rc = xenvf_flask_labels_add(out, kind, &bdf, tok[2], ranges, nr, what,
                                    err);
        if (!rc && irq)
            rc = xenvf_flask_labels_set_irq(out, out->nr - 1, irq, err);
    }
out:
    free(ranges);
    free(copy);
    return rc;
}

/* A growing string for the formatters. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool oom;
} strbuf;

static void sb_printf(strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->oom)
        return;
    for (;;) {
        size_t room = sb->cap - sb->len;

        va_start(ap, fmt);
        n = vsnprintf(sb->s ? sb->s + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->oom = true;
            return;
        }
        if ((size_t)n < room) {
            sb->len += n;
            return;
        }
        size_t cap = (sb->cap + n + 1) * 2;
        char *s = realloc(sb->s, cap);

        if (!s) {
            sb->oom = true;
            return;
        }
        sb->s = s;
        sb->cap = cap;
    }
}

static int sb_finish(strbuf *sb, char **out, xenvf_err *err)
{
    if (!sb->oom && !sb->s)
        sb_printf(sb, "%s", "");
    if (sb->oom) {
        free(sb->s);
        *out = NULL;
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    }
    *out = sb->s;
    return 0;
}

static const char *kind_name(xenvf_flask_kind kind)
{
    switch (kind) {
    case XENVF_FLASK_KIND_PF:
        return "pf";
    case XENVF_FLASK_KIND_VF:
        return "vf";
    case XENVF_FLASK_KIND_MMCFG:
        return "mmcfg";
    }
    return "?";
}

/* Has a label before i the same IRQ? (one pirqcon per IRQ) */
static bool irq_seen_before(const xenvf_flask_labels *l, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (l->v[j].irq == l->v[i].irq)
            return true;
    return false;
}

int xenvf_flask_labels_format_policy(const xenvf_flask_labels *l, char **out,
                                     xenvf_err *err)
{
    strbuf sb = {0};

    sb_printf(&sb, "# xenvf device labels (xenvf-flask-labels): every PF and "
                   "VF, their BARs\n# in 4 KiB frames, the MMCFG window.\n");
    for (size_t i = 0; i < l->nr; i++) {
        const xenvf_flask_label *lb = &l->v[i];
        char b[XENVF_BDF_STR_MAX] = "-";

        if (lb->kind != XENVF_FLASK_KIND_MMCFG)
            xenvf_bdf_format(&lb->bdf, b);
        sb_printf(&sb, "# %s %s (%s)\n", kind_name(lb->kind), b, lb->what);
        if (lb->kind != XENVF_FLASK_KIND_MMCFG)
            sb_printf(&sb, "pcidevicecon %#" PRIx32 " %s%s\n",
                      xenvf_flask_sbdf(&lb->bdf), XENVF_FLASK_CONTEXT_PREFIX,
                      lb->type);
        for (size_t j = 0; j < lb->nr_ranges; j++) {
            uint64_t first, last;

            flask_range_units(&lb->ranges[j], &first, &last);
            sb_printf(&sb, "%s %#" PRIx64,
                      lb->ranges[j].io ? "ioportcon" : "iomemcon", first);
            if (last != first)
                sb_printf(&sb, "-%#" PRIx64, last);
            sb_printf(&sb, " %s%s\n", XENVF_FLASK_CONTEXT_PREFIX, lb->type);
        }
        if (lb->irq && !irq_seen_before(l, i))
            sb_printf(&sb, "pirqcon %u %s%s\n", lb->irq,
                      XENVF_FLASK_CONTEXT_PREFIX, lb->type);
    }
    return sb_finish(&sb, out, err);
}

int xenvf_flask_labels_format_commands(const xenvf_flask_labels *l, char **out,
                                       xenvf_err *err)
{
    static const xenvf_flask_kind order[] = {XENVF_FLASK_KIND_VF,
                                             XENVF_FLASK_KIND_PF};
    strbuf sb = {0};

    sb_printf(&sb,
              "# xenvf device labels for a running system (dom0, FLASK "
              "active).\n"
              "# VFs first: flask-label-pci labels a PF's SR-IOV BAR windows "
              "with the\n"
              "# PF's label; with the VFs' BARs labelled, it reports those "
              "windows as\n"
              "# overlapping (exit 2) and they keep the VFs' labels. "
              "`xenvf-flask-labels\n"
              "# --apply` labels exactly, and relabels.\n");
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
        for (size_t i = 0; i < l->nr; i++) {
            const xenvf_flask_label *lb = &l->v[i];
            char b[XENVF_BDF_STR_MAX];

            if (lb->kind != order[k])
                continue;
            xenvf_bdf_format(&lb->bdf, b);
            sb_printf(&sb, "flask-label-pci %s %s%s\n", b,
                      XENVF_FLASK_CONTEXT_PREFIX, lb->type);
        }
    for (size_t i = 0; i < l->nr; i++)
        if (l->v[i].kind == XENVF_FLASK_KIND_MMCFG)
            sb_printf(&sb,
                      "# %s: the MMCFG window has no flask-label-pci "
                      "form: use the policy fragment or --apply\n",
                      l->v[i].what);
    return sb_finish(&sb, out, err);
}

int xenvf_flask_labels_apply(xenvf_flask *fl, const xenvf_flask_labels *l,
                             xenvf_err *err)
{
    int rc;

    rc = xenvf_flask_probe(fl, err);
    if (rc || !xenvf_flask_active(fl))
        return rc;
    for (size_t i = 0; i < l->nr; i++) {
        const xenvf_flask_label *lb = &l->v[i];

        rc = flask_label_one(
            fl, lb->kind == XENVF_FLASK_KIND_MMCFG ? NULL : &lb->bdf, lb->type,
            lb->ranges, lb->nr_ranges, err);
        if (!rc && lb->irq)
            rc = xenvf_flask_label_irq(fl, lb->irq, lb->type, err);
        if (rc)
            return rc;
    }
    return 0;
}
