/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * XSM/FLASK labels of PFs and VFs: detection and labelling through
 * libxenctrl, the MMCFG window from ACPI, and the labels of a machine as a
 * policy fragment (docs/xsm.md).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xentoollog.h>

#include <xenvf/flask.h>
#include <xenvf/log.h>
#include <xenvf/sriov.h>
#include <xenvf/sysfs.h>

#define FRAME_SHIFT 12 /* FLASK labels I/O memory in 4 KiB frames */

/* Linux's IORESOURCE_* flags of a `resource` line (linux/ioport.h). */
#define IORESOURCE_IO  0x00000100
#define IORESOURCE_MEM 0x00000200

const char *xenvf_flask_state_name(xenvf_flask_state state)
{
    switch (state) {
    case XENVF_FLASK_UNPROBED:
        return "unprobed";
    case XENVF_FLASK_NO_XEN:
        return "no-xen";
    case XENVF_FLASK_OFF:
        return "off";
    case XENVF_FLASK_PERMISSIVE:
        return "permissive";
    case XENVF_FLASK_ENFORCING:
        return "enforcing";
    }
    return "unknown";
}

/* ---- libxenctrl ------------------------------------------------------ */

/* libxenctrl's own messages (including "cannot open privcmd" when there is
 * no Xen) go to our log at debug level: the probe says what matters once. */
static void xtl_vmessage(struct xentoollog_logger *logger,
                         xentoollog_level level, int errnoval,
                         const char *context, const char *format, va_list al)
    __attribute__((format(printf, 5, 0)));

static void xtl_vmessage(struct xentoollog_logger *logger,
                         xentoollog_level level, int errnoval,
                         const char *context, const char *format, va_list al)
{
    xenvf_logv(XENVF_LOG_DEBUG, context ? context : "libxenctrl", format, al);
}

static void xtl_destroy(struct xentoollog_logger *logger)
{
}

static xentoollog_logger xtl_to_log = {
    .vmessage = xtl_vmessage,
    .progress = NULL,
    .destroy = xtl_destroy,
};

static xc_interface *xch_of(void *opaque)
{
    return ((xenvf_flask *)opaque)->xch;
}

static int xc_ops_open(void *opaque)
{
    xenvf_flask *fl = opaque;

    fl->xch = xc_interface_open(&xtl_to_log, &xtl_to_log, 0);
    return fl->xch ? 0 : -1;
}

static void xc_ops_close(void *opaque)
{
    xenvf_flask *fl = opaque;

    if (fl->xch)
        xc_interface_close(fl->xch);
    fl->xch = NULL;
}

static int xc_ops_getenforce(void *opaque)
{
    return xc_flask_getenforce(xch_of(opaque));
}

/* libxenctrl takes non-const context strings it does not modify. */
static int xc_ops_add_device(void *opaque, uint32_t sbdf, const char *context)
{
    char buf[XENVF_FLASK_CONTEXT_MAX];

    snprintf(buf, sizeof(buf), "%s", context);
    return xc_flask_add_device(xch_of(opaque), sbdf, buf);
}

static int xc_ops_del_device(void *opaque, uint32_t sbdf)
{
    return xc_flask_del_device(xch_of(opaque), sbdf);
}

static int xc_ops_add_iomem(void *opaque, uint64_t first, uint64_t last,
                            const char *context)
{
    char buf[XENVF_FLASK_CONTEXT_MAX];

    snprintf(buf, sizeof(buf), "%s", context);
    return xc_flask_add_iomem(xch_of(opaque), first, last, buf);
}

static int xc_ops_del_iomem(void *opaque, uint64_t first, uint64_t last)
{
    return xc_flask_del_iomem(xch_of(opaque), first, last);
}

static int xc_ops_add_ioport(void *opaque, uint64_t first, uint64_t last,
                             const char *context)
{
    char buf[XENVF_FLASK_CONTEXT_MAX];

    snprintf(buf, sizeof(buf), "%s", context);
    return xc_flask_add_ioport(xch_of(opaque), first, last, buf);
}

static int xc_ops_del_ioport(void *opaque, uint64_t first, uint64_t last)
{
    return xc_flask_del_ioport(xch_of(opaque), first, last);
}

static const xenvf_flask_ops xc_ops = {
    .open = xc_ops_open,
    .close = xc_ops_close,
    .getenforce = xc_ops_getenforce,
    .add_device = xc_ops_add_device,
    .del_device = xc_ops_del_device,
    .add_iomem = xc_ops_add_iomem,
    .del_iomem = xc_ops_del_iomem,
    .add_ioport = xc_ops_add_ioport,
    .del_ioport = xc_ops_del_ioport,
};

/* ---- run time -------------------------------------------------------- */

void xenvf_flask_init(xenvf_flask *fl)
{
    memset(fl, 0, sizeof(*fl));
    fl->ops = &xc_ops;
    fl->opaque = fl;
}

void xenvf_flask_init_ops(xenvf_flask *fl, const xenvf_flask_ops *ops,
                          void *opaque)
{
    memset(fl, 0, sizeof(*fl));
    fl->ops = ops;
    fl->opaque = opaque;
}

void xenvf_flask_dispose(xenvf_flask *fl)
{
    const xenvf_flask_ops *ops = fl->ops;
    void *opaque = fl->opaque;

    if (fl->is_open && ops->close)
        ops->close(opaque);
    /* Disposed twice or re-used: keep the backend, forget the rest. */
    if (ops == &xc_ops)
        xenvf_flask_init(fl);
    else
        xenvf_flask_init_ops(fl, ops, opaque);
}

int xenvf_flask_probe(xenvf_flask *fl, xenvf_err *err)
{
    int mode, e;

    if (fl->state != XENVF_FLASK_UNPROBED)
        return 0;
    if (fl->ops->open(fl->opaque)) {
        e = errno;
        fl->state = XENVF_FLASK_NO_XEN;
        LOG(INFO,
            "no Xen hypervisor interface (%s): not labelling devices "
            "for XSM/FLASK",
            strerror(e));
        return 0;
    }
    fl->is_open = true;
    mode = fl->ops->getenforce(fl->opaque);
    if (mode < 0) {
        e = errno;
        if (e == ENOSYS || e == EOPNOTSUPP) {
            fl->state = XENVF_FLASK_OFF;
            LOG(INFO, "Xen has no XSM/FLASK (%s): not labelling devices",
                strerror(e));
            return 0;
        }
        if (e == EACCES || e == EPERM)
            return xenvf_err_set_errno(err, XENVF_EPERM, e,
                                       "FLASK getenforce refused");
        return xenvf_err_set_errno(err, XENVF_EIO, e, "FLASK getenforce");
    }
    fl->state = mode ? XENVF_FLASK_ENFORCING : XENVF_FLASK_PERMISSIVE;
    LOG(INFO, "XSM/FLASK is %s: labelling PFs and VFs",
        xenvf_flask_state_name(fl->state));
    return 0;
}

bool xenvf_flask_active(const xenvf_flask *fl)
{
    return fl->state == XENVF_FLASK_PERMISSIVE ||
           fl->state == XENVF_FLASK_ENFORCING;
}

uint32_t xenvf_flask_sbdf(const xenvf_bdf *bdf)
{
    return (uint32_t)bdf->seg << 16 | xenvf_bdf_rid(bdf);
}

int xenvf_flask_check_type(const char *type, xenvf_err *err)
{
    size_t n = type ? strlen(type) : 0;

    if (n == 0 || n >= XENVF_FLASK_TYPE_MAX ||
        (type[0] >= '0' && type[0] <= '9'))
        goto bad;
    for (size_t i = 0; i < n; i++) {
        char c = type[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            goto bad;
    }
    return 0;
bad:
    return xenvf_err_set(err, XENVF_EINVAL, "bad FLASK type name '%.80s'",
                         type ? type : "");
}

/* FLASK's numbers for a range: frames for memory, ports for I/O. */
static void range_units(const xenvf_flask_range *r, uint64_t *first,
                        uint64_t *last)
{
    *first = r->io ? r->start : r->start >> FRAME_SHIFT;
    *last = r->io ? r->end : r->end >> FRAME_SHIFT;
}

int xenvf_flask_device_ranges(const char *sysfs_root, const xenvf_bdf *bdf,
                              xenvf_flask_range **out, size_t *nr,
                              xenvf_err *err)
{
    xenvf_sysfs_resource res[XENVF_SYSFS_RES_MAX];
    xenvf_flask_range *v = NULL;
    size_t n = 0, m = 0;
    int rc;

    *out = NULL;
    *nr = 0;
    rc = xenvf_sysfs_read_resources(sysfs_root, bdf, res, &n, err);
    if (rc)
        goto out;
    /* Lines 0-5 are BARs, 6 the ROM; 7-12 a PF's VF BAR windows. */
    if (n > XENVF_SYSFS_RES_IOV)
        n = XENVF_SYSFS_RES_IOV;
    v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!xenvf_sysfs_resource_size(&res[i]))
            continue;
        if (res[i].flags & IORESOURCE_MEM)
            v[m].io = false;
        else if (res[i].flags & IORESOURCE_IO)
            v[m].io = true;
        else
            continue;
        v[m].start = res[i].start;
        v[m].end = res[i].end;
        m++;
    }
    if (m) {
        *out = v;
        *nr = m;
        v = NULL;
    }
out:
    free(v);
    return rc;
}

/* What a label is put on. */
typedef enum flask_obj {
    OBJ_DEVICE,
    OBJ_IOMEM,
    OBJ_IOPORT,
} flask_obj;

static const char *const obj_names[] = {"device", "I/O memory frames",
                                        "I/O ports"};

static int obj_add(xenvf_flask *fl, flask_obj obj, uint64_t first,
                   uint64_t last, const char *context)
{
    switch (obj) {
    case OBJ_DEVICE:
        return fl->ops->add_device(fl->opaque, (uint32_t)first, context);
    case OBJ_IOMEM:
        return fl->ops->add_iomem(fl->opaque, first, last, context);
    case OBJ_IOPORT:
        return fl->ops->add_ioport(fl->opaque, first, last, context);
    }
    errno = EINVAL;
    return -1;
}

static int obj_del(xenvf_flask *fl, flask_obj obj, uint64_t first,
                   uint64_t last)
{
    switch (obj) {
    case OBJ_DEVICE:
        return fl->ops->del_device(fl->opaque, (uint32_t)first);
    case OBJ_IOMEM:
        return fl->ops->del_iomem(fl->opaque, first, last);
    case OBJ_IOPORT:
        return fl->ops->del_ioport(fl->opaque, first, last);
    }
    errno = EINVAL;
    return -1;
}

/*
 * Xen answers EEXIST when the object already has another label (the same
 * label is fine): drop the old one and add again. A range whose old entry
 * is not the same range cannot be dropped (ENOENT): that is a conflict.
 */
static int relabel(xenvf_flask *fl, flask_obj obj, uint64_t first,
                   uint64_t last, const char *context, xenvf_err *err)
{
    int e;

    if (!obj_add(fl, obj, first, last, context))
        return 0;
    e = errno;
    if (e == EEXIST) {
        if (!obj_del(fl, obj, first, last)) {
            if (!obj_add(fl, obj, first, last, context))
                return 0;
            e = errno;
        } else {
            e = errno;
            if (e == ENOENT)
                return xenvf_err_set(err, XENVF_ECONFLICT,
                                     "%s %#" PRIx64 "-%#" PRIx64
                                     " overlap a range labelled otherwise",
                                     obj_names[obj], first, last);
        }
    }
    return xenvf_err_set_errno(
        err, e == EACCES || e == EPERM ? XENVF_EPERM : XENVF_EIO, e,
        "%s %#" PRIx64 "-%#" PRIx64, obj_names[obj], first, last);
}

static int range_cmp(const void *a, const void *b)
{
    const xenvf_flask_range *x = a, *y = b;

    if (x->io != y->io)
        return x->io ? 1 : -1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * A device's ranges as FLASK sees them: memory widened to whole frames,
 * sorted, and merged where they touch (two small BARs in one frame are one
 * label). *out malloc'ed.
 */
static int normalize_ranges(const xenvf_flask_range *in, size_t nr,
                            xenvf_flask_range **out, size_t *nr_out,
                            xenvf_err *err)
{
    xenvf_flask_range *v;
    size_t m = 0;

    *out = NULL;
    *nr_out = 0;
    if (!nr)
        return 0;
    v = malloc(nr * sizeof(*v));
    if (!v)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < nr; i++) {
        v[i] = in[i];
        if (v[i].end < v[i].start) {
            free(v);
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "range %#" PRIx64 "-%#" PRIx64
                                 " ends before it starts",
                                 in[i].start, in[i].end);
        }
        if (!v[i].io) {
            v[i].start &= ~(uint64_t)((1u << FRAME_SHIFT) - 1);
            v[i].end |= (1u << FRAME_SHIFT) - 1;
        }
    }
    qsort(v, nr, sizeof(*v), range_cmp);
    for (size_t i = 1; i < nr; i++) {
        if (v[i].io == v[m].io && v[i].start <= v[m].end + 1) {
            if (v[i].end > v[m].end)
                v[m].end = v[i].end;
        } else {
            v[++m] = v[i];
        }
    }
    *out = v;
    *nr_out = m + 1;
    return 0;
}

static int label_one(xenvf_flask *fl, const xenvf_bdf *bdf, const char *type,
                     const xenvf_flask_range *ranges, size_t nr, xenvf_err *err)
{
    char context[XENVF_FLASK_CONTEXT_MAX];
    char b[XENVF_BDF_STR_MAX] = "-";
    xenvf_flask_range *v = NULL;
    size_t n = 0;
    int rc;

    if (bdf)
        xenvf_bdf_format(bdf, b);
    rc = xenvf_flask_check_type(type, err);
    if (rc)
        goto out;
    snprintf(context, sizeof(context), XENVF_FLASK_CONTEXT_PREFIX "%s", type);
    rc = normalize_ranges(ranges, nr, &v, &n, err);
    if (rc)
        goto out;
    if (bdf) {
        uint32_t sbdf = xenvf_flask_sbdf(bdf);

        rc = relabel(fl, OBJ_DEVICE, sbdf, sbdf, context, err);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t first, last;

        range_units(&v[i], &first, &last);
        rc = relabel(fl, v[i].io ? OBJ_IOPORT : OBJ_IOMEM, first, last, context,
                     err);
        if (rc)
            goto out;
    }
    LOG(DEBUG, "%s: labelled %s (%zu ranges)", b, context, n);
out:
    if (rc)
        xenvf_err_prepend(err, "FLASK label %s %s: ", b, type ? type : "");
    free(v);
    return rc;
}

int xenvf_flask_label_device(xenvf_flask *fl, const xenvf_bdf *bdf,
                             const char *type, const xenvf_flask_range *ranges,
                             size_t nr, xenvf_err *err)
{
    int rc;

    rc = xenvf_flask_probe(fl, err);
    if (rc || !xenvf_flask_active(fl))
        return rc;
    return label_one(fl, bdf, type, ranges, nr, err);
}

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
    range_units(a, &a0, &a1);
    range_units(b, &b0, &b1);
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
    rc = normalize_ranges(ranges, nr, &r, &nr_r, err);
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
        for (size_t i = 3; i < ntok; i++, nr++) {
            if (parse_range(tok[i], &ranges[nr])) {
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

            range_units(&lb->ranges[j], &first, &last);
            sb_printf(&sb, "%s %#" PRIx64,
                      lb->ranges[j].io ? "ioportcon" : "iomemcon", first);
            if (last != first)
                sb_printf(&sb, "-%#" PRIx64, last);
            sb_printf(&sb, " %s%s\n", XENVF_FLASK_CONTEXT_PREFIX, lb->type);
        }
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

        rc = label_one(fl, lb->kind == XENVF_FLASK_KIND_MMCFG ? NULL : &lb->bdf,
                       lb->type, lb->ranges, lb->nr_ranges, err);
        if (rc)
            return rc;
    }
    return 0;
}
