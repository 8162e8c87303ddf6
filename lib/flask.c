/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * XSM/FLASK at run time: detection and labelling of PFs and VFs through
 * libxenctrl (docs/xsm.md). The MMCFG window from ACPI and the labels of a
 * machine as a policy fragment are flask_labels.c.
 */
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

#include "flask_internal.h"

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

xc_interface *xenvf_xc_open(void)
{
    return xc_interface_open(&xtl_to_log, &xtl_to_log, 0);
}

static int xc_ops_open(void *opaque)
{
    xenvf_flask *fl = opaque;

    fl->xch = xenvf_xc_open();
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

static int xc_ops_add_pirq(void *opaque, unsigned irq, const char *context)
{
    char buf[XENVF_FLASK_CONTEXT_MAX];

    snprintf(buf, sizeof(buf), "%s", context);
    return xc_flask_add_pirq(xch_of(opaque), irq, buf);
}

static int xc_ops_del_pirq(void *opaque, unsigned irq)
{
    return xc_flask_del_pirq(xch_of(opaque), irq);
}

static int xc_ops_dequarantine(void *opaque, uint32_t sbdf)
{
    return xc_deassign_device(xch_of(opaque), DOMID_IO, sbdf);
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
    .add_pirq = xc_ops_add_pirq,
    .del_pirq = xc_ops_del_pirq,
    .dequarantine = xc_ops_dequarantine,
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

int xenvf_xen_dequarantine(xenvf_flask *fl, const xenvf_bdf *bdf, bool *done,
                           xenvf_err *err)
{
    char b[XENVF_BDF_STR_MAX];
    int rc, e;

    *done = false;
    if ((rc = xenvf_flask_probe(fl, err)))
        return rc;
    if (fl->state == XENVF_FLASK_NO_XEN)
        return 0;
    if (!fl->ops->dequarantine(fl->opaque, xenvf_flask_sbdf(bdf))) {
        *done = true;
        return 0;
    }
    e = errno;
    if (e == ENODEV) /* not in dom_io: Xen has it as dom0's already */
        return 0;
    xenvf_bdf_format(bdf, b);
    return xenvf_err_set_errno(
        err, e == EPERM || e == EACCES ? XENVF_EPERM : XENVF_EIO, e,
        "%s: taking it out of Xen's quarantine "
        "(xc_deassign_device DOMID_IO)",
        b);
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
void flask_range_units(const xenvf_flask_range *r, uint64_t *first,
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

int xenvf_flask_device_irq(const char *sysfs_root, const xenvf_bdf *bdf,
                           unsigned *irq, xenvf_err *err)
{
    uint64_t v = 0;
    int rc;

    *irq = 0;
    rc = xenvf_sysfs_read_uint(sysfs_root, bdf, "irq", UINT32_MAX, &v, err);
    if (rc == XENVF_ENOENT) /* no such attribute: no INTx */
        return 0;
    if (rc)
        return rc;
    *irq = (unsigned)v;
    return 0;
}

/* What a label is put on. */
typedef enum flask_obj {
    OBJ_DEVICE,
    OBJ_IOMEM,
    OBJ_IOPORT,
    OBJ_PIRQ,
} flask_obj;

static const char *const obj_names[] = {"device", "I/O memory frames",
                                        "I/O ports", "IRQ"};

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
    case OBJ_PIRQ:
        return fl->ops->add_pirq(fl->opaque, (unsigned)first, context);
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
    case OBJ_PIRQ:
        return fl->ops->del_pirq(fl->opaque, (unsigned)first);
    }
    errno = EINVAL;
    return -1;
}

/*
 * Xen answers EEXIST when the object already has another label (the same
 * label is fine): drop the old one and add again. A range whose old entry
 * is not the same range cannot be dropped (ENOENT): that is a conflict.
 * A device or an IRQ can have several entries: Xen 4.17 adds one more when
 * the same label is added again (security_ocontext_add, OCON_DEVICE and
 * OCON_PIRQ: its "same label" check only ends the search), which a TCB
 * restart does, and deletes one per call. Each is dropped in turn (at most
 * RELABEL_TRIES); ranges cannot be duplicated that way.
 */
#define RELABEL_TRIES 64

static int relabel(xenvf_flask *fl, flask_obj obj, uint64_t first,
                   uint64_t last, const char *context, xenvf_err *err)
{
    const int tries = obj == OBJ_DEVICE || obj == OBJ_PIRQ ? RELABEL_TRIES : 1;
    int e;

    if (!obj_add(fl, obj, first, last, context))
        return 0;
    e = errno;
    for (int i = 0; e == EEXIST && i < tries; i++) {
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
int flask_normalize_ranges(const xenvf_flask_range *in, size_t nr,
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

int flask_label_one(xenvf_flask *fl, const xenvf_bdf *bdf, const char *type,
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
    rc = flask_normalize_ranges(ranges, nr, &v, &n, err);
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

        flask_range_units(&v[i], &first, &last);
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
    return flask_label_one(fl, bdf, type, ranges, nr, err);
}

int xenvf_flask_label_irq(xenvf_flask *fl, unsigned irq, const char *type,
                          xenvf_err *err)
{
    char context[XENVF_FLASK_CONTEXT_MAX];
    int rc, e;

    rc = xenvf_flask_probe(fl, err);
    if (rc || !xenvf_flask_active(fl))
        return rc;
    if (!type) {
        if (!obj_del(fl, OBJ_PIRQ, irq, irq) || errno == ENOENT)
            return 0;
        e = errno;
        return xenvf_err_set_errno(
            err, e == EACCES || e == EPERM ? XENVF_EPERM : XENVF_EIO, e,
            "FLASK: drop the label of IRQ %u", irq);
    }
    if ((rc = xenvf_flask_check_type(type, err)))
        return rc;
    snprintf(context, sizeof(context), XENVF_FLASK_CONTEXT_PREFIX "%s", type);
    rc = relabel(fl, OBJ_PIRQ, irq, irq, context, err);
    if (rc)
        xenvf_err_prepend(err, "FLASK label IRQ %u %s: ", irq, type);
    return rc;
}
