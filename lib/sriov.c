/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * SR-IOV discovery (docs/discovery.md). Small single-purpose steps around
 * one capability, as QEMU's pcie_sriov.c is organised: open a libpci
 * session on <root>/bus/pci, read a function's config space once into a
 * buffer that libpci then answers every read from, decode the SR-IOV
 * capability, then add what only the kernel knows from sysfs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include <xenvf/log.h>
#include <xenvf/sriov.h>
#include <xenvf/sysfs.h>

#define CFG_SPACE_EXP  4096 /* PCIe extended configuration space */
#define CFG_SPACE_PCI  256  /* conventional PCI */
#define CFG_SPACE_USER 64   /* what sysfs gives a non-root reader */
#define SRIOV_CAP_SIZE 0x40 /* the capability's registers, PCIe 9.3.3 */

/* ---- libpci session ------------------------------------------------ */

/*
 * libpci reports fatal errors (no such directory, out of memory) through
 * a->error, which must not return: its default prints and exit()s, which a
 * library cannot allow. Ours longjmp()s back to the guard around the libpci
 * calls. What libpci had allocated at that moment may leak; those paths are
 * a broken sysfs root or OOM, never the normal course.
 */
static __thread jmp_buf *pci_fatal_jmp;
static __thread char pci_fatal_msg[256];

static void pci_on_error(char *msg, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));
static void pci_on_error(char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vsnprintf(pci_fatal_msg, sizeof(pci_fatal_msg), msg, ap);
    va_end(ap);
    if (pci_fatal_jmp)
        longjmp(*pci_fatal_jmp, 1);
    /* every libpci call is made inside pci_guarded() */
    abort();
}

static void pci_on_warning(char *msg, ...)
    __attribute__((format(printf, 1, 2)));
static void pci_on_warning(char *msg, ...)
{
    va_list ap;

    /* e.g. "Cannot open .../config" for a device that just vanished: the
     * caller sees the failed read and decides */
    va_start(ap, msg);
    xenvf_logv(XENVF_LOG_DEBUG, "libpci", msg, ap);
    va_end(ap);
}

static void pci_on_debug(char *msg, ...) __attribute__((format(printf, 1, 2)));
static void pci_on_debug(char *msg, ...)
{
}

/* What a discovery call works on; lives outside the guarded frame so that
 * it survives a longjmp and the caller can clean it up. */
typedef struct disc {
    const char *root;
    struct pci_access *pacc;
    struct pci_dev *dev; /* probe: from pci_get_dev, ours to free */
    const xenvf_bdf *only;
    uint8_t *cfg; /* CFG_SPACE_EXP bytes: one device's config space */
    xenvf_sriov_info *list;
    size_t nr, cap;
} disc;

static void disc_init(disc *d, const char *root)
{
    memset(d, 0, sizeof(*d));
    d->root = root && *root ? root : XENVF_SYSFS_ROOT;
}

static void disc_dispose(disc *d)
{
    if (d->dev)
        pci_free_dev(d->dev);
    if (d->pacc)
        pci_cleanup(d->pacc);
    free(d->cfg);
    xenvf_sriov_info_list_free(d->list, d->nr);
    disc_init(d, d->root);
}

/* Run fn with libpci's fatal errors turned into XENVF_EIO. */
static int pci_guarded(disc *d, int (*fn)(disc *, xenvf_err *), xenvf_err *err)
{
    jmp_buf jb;
    jmp_buf *outer = pci_fatal_jmp;

    if (setjmp(jb)) {
        pci_fatal_jmp = outer;
        return xenvf_err_set(err, XENVF_EIO, "libpci (%s/bus/pci): %s", d->root,
                             pci_fatal_msg);
    }
    pci_fatal_jmp = &jb;
    int rc = fn(d, err);
    pci_fatal_jmp = outer;
    return rc;
}

/* A fresh session per call: libpci caches the device list and config
 * reads, and a new pci_access costs two small allocations (measured in
 * docs/discovery.md), so nothing stale can be seen. */
static int session_open(disc *d, xenvf_err *err)
{
    char *busdir = NULL;

    if (asprintf(&busdir, "%s/bus/pci", d->root) < 0)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    d->pacc = pci_alloc();
    d->pacc->error = pci_on_error;
    d->pacc->warning = pci_on_warning;
    d->pacc->debug = pci_on_debug;
    d->pacc->method = PCI_ACCESS_SYS_BUS_PCI;
    /* identity comes from config space, not the vendor/device files */
    d->pacc->buscentric = 1;
    if (pci_set_param(d->pacc, "sysfs.path", busdir)) {
        free(busdir);
        return xenvf_err_set(err, XENVF_ENOTSUP,
                             "libpci has no sysfs.path parameter");
    }
    free(busdir);
    pci_init(d->pacc);
    if (!d->cfg && !(d->cfg = malloc(CFG_SPACE_EXP)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    return 0;
}

/* ---- one function -------------------------------------------------- */

static void dev_bdf(const struct pci_dev *pd, xenvf_bdf *bdf)
{
    bdf->seg = (uint16_t)pd->domain;
    bdf->bus = pd->bus;
    bdf->dev = pd->dev;
    bdf->func = pd->func;
}

/*
 * Read the whole config space in one go and make libpci answer from it,
 * so the capability walk and every register come from one snapshot.
 * Returns the length read (4096, 256 or 64), 0 if nothing could be read.
 */
static int config_snapshot(struct pci_dev *pd, uint8_t *cfg)
{
    static const int sizes[] = {CFG_SPACE_EXP, CFG_SPACE_PCI, CFG_SPACE_USER};

    pci_setup_cache(pd, NULL, 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (pci_read_block(pd, 0, cfg, sizes[i])) {
            pci_setup_cache(pd, cfg, sizes[i]);
            return sizes[i];
        }
    }
    return 0;
}

static void decode_vf_bars(struct pci_dev *pd, unsigned pos,
                           xenvf_sriov_info *info)
{
    uint32_t reg[XENVF_SRIOV_NR_BARS];

    for (int i = 0; i < XENVF_SRIOV_NR_BARS; i++)
        reg[i] = pci_read_long(pd, pos + PCI_IOV_BAR_BASE + 4 * i);
    for (int i = 0; i < XENVF_SRIOV_NR_BARS; i++) {
        xenvf_sriov_bar *b = &info->vf_bars[i];
        uint32_t lo = reg[i];

        /* VF BARs are memory BARs (bit 0 is read-only 0) */
        b->is_64 = (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
                       PCI_BASE_ADDRESS_MEM_TYPE_64 &&
                   i + 1 < XENVF_SRIOV_NR_BARS;
        b->prefetch = !!(lo & PCI_BASE_ADDRESS_MEM_PREFETCH);
        b->base = lo & PCI_BASE_ADDRESS_MEM_MASK;
        /* type bits are read-only, so a 64-bit or prefetchable BAR shows
         * even unassigned; a 32-bit one needs the kernel's window */
        b->present = lo != 0;
        if (b->is_64)
            b->base |= (uint64_t)reg[++i] << 32;
    }
}

/*
 * Decode the SR-IOV capability of pd into info. XENVF_ENOTSUP without one,
 * XENVF_EPERM if only the unprivileged 64 bytes are readable.
 */
static int read_sriov_cap(disc *d, struct pci_dev *pd, xenvf_sriov_info *info,
                          xenvf_err *err)
{
    char b[XENVF_BDF_STR_MAX];
    struct pci_cap *cap;
    unsigned pos;
    int len;

    dev_bdf(pd, &info->bdf);
    xenvf_bdf_format(&info->bdf, b);
    len = config_snapshot(pd, d->cfg);
    if (len == 0) {
        if (xenvf_sysfs_dev_exists(d->root, &info->bdf, NULL) == XENVF_ENOENT)
            return xenvf_err_set(err, XENVF_ENOENT, "PCI device %s is gone", b);
        return xenvf_err_set(err, XENVF_EIO, "%s: cannot read its config space",
                             b);
    }
    if (len == CFG_SPACE_USER)
        return xenvf_err_set(err, XENVF_EPERM,
                             "%s: only 64 bytes of config space readable: "
                             "discovery needs root",
                             b);
    info->vendor_id = pci_read_word(pd, PCI_VENDOR_ID);
    info->device_id = pci_read_word(pd, PCI_DEVICE_ID);
    info->class_code = (uint32_t)pci_read_word(pd, PCI_CLASS_DEVICE) << 8 |
                       pci_read_byte(pd, PCI_CLASS_PROG);
    if (info->vendor_id == 0xffff)
        return xenvf_err_set(err, XENVF_ENOENT,
                             "%s: config space reads all ones (gone?)", b);
    cap = pci_find_cap(pd, PCI_EXT_CAP_ID_SRIOV, PCI_CAP_EXTENDED);
    if (!cap)
        return xenvf_err_set(err, XENVF_ENOTSUP, "%s has no SR-IOV capability",
                             b);
    pos = cap->addr;
    if (pos < CFG_SPACE_PCI || pos + SRIOV_CAP_SIZE > (unsigned)len)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s: SR-IOV capability at 0x%x overruns config "
                             "space",
                             b, pos);
    info->cap_offset = (uint16_t)pos;
    info->sriov_cap = pci_read_long(pd, pos + PCI_IOV_CAP);
    info->sriov_ctrl = pci_read_word(pd, pos + PCI_IOV_CTRL);
    info->initial_vfs = pci_read_word(pd, pos + PCI_IOV_INITIALVF);
    info->total_vfs = pci_read_word(pd, pos + PCI_IOV_TOTALVF);
    info->num_vfs = pci_read_word(pd, pos + PCI_IOV_NUMVF);
    info->func_dep_link = pci_read_byte(pd, pos + PCI_IOV_FDL);
    info->vf_offset = pci_read_word(pd, pos + PCI_IOV_OFFSET);
    info->vf_stride = pci_read_word(pd, pos + PCI_IOV_STRIDE);
    info->vf_device_id = pci_read_word(pd, pos + PCI_IOV_DID);
    info->supported_page_sizes = pci_read_long(pd, pos + PCI_IOV_SUPPS);
    info->system_page_size = pci_read_long(pd, pos + PCI_IOV_SYSPS);
    decode_vf_bars(pd, pos, info);
    return 0;
}

/* Probe one function: the part that needs libpci. */
static int probe_one_pci(disc *d, xenvf_err *err)
{
    const xenvf_bdf *b = d->only;
    int rc;

    rc = session_open(d, err);
    if (rc)
        return rc;
    d->dev = pci_get_dev(d->pacc, b->seg, b->bus, b->dev, b->func);
    rc = read_sriov_cap(d, d->dev, &d->list[0], err);
    pci_setup_cache(d->dev, NULL, 0);
    return rc;
}

static int list_grow(disc *d, xenvf_err *err)
{
    xenvf_sriov_info *l;
    size_t cap = d->cap ? d->cap * 2 : 8;

    if (d->nr < d->cap)
        return 0;
    l = reallocarray(d->list, cap, sizeof(*l));
    if (!l)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    d->list = l;
    d->cap = cap;
    return 0;
}

/* Scan: every function libpci lists, SR-IOV PFs kept. */
static int scan_pci(disc *d, xenvf_err *err)
{
    int rc;

    rc = session_open(d, err);
    if (rc)
        return rc;
    pci_scan_bus(d->pacc);
    for (struct pci_dev *pd = d->pacc->devices; pd; pd = pd->next) {
        xenvf_sriov_info *info;
        xenvf_bdf b, pf;

        if (pd->domain < 0 || pd->domain > 0xffff) {
            LOG(WARN, "PCI domain %x does not fit 16 bits: skipped",
                pd->domain);
            continue;
        }
        /* a VF never has the capability (PCIe 9.3.3): one readlink instead
         * of a 4 KiB config read, thousands of times on a big host */
        dev_bdf(pd, &b);
        if (!xenvf_sysfs_read_physfn(d->root, &b, &pf, NULL))
            continue;
        rc = list_grow(d, err);
        if (rc)
            return rc;
        info = &d->list[d->nr];
        xenvf_sriov_info_init(info);
        rc = read_sriov_cap(d, pd, info, err);
        pci_setup_cache(pd, NULL, 0);
        if (rc == XENVF_ENOTSUP || rc == XENVF_ENOENT) {
            /* not a PF, or hot-unplugged since the directory was read */
            xenvf_sriov_info_dispose(info);
            if (err)
                xenvf_err_init(err);
            continue;
        }
        if (rc) {
            xenvf_sriov_info_dispose(info);
            return rc;
        }
        d->nr++;
    }
    return 0;
}

/* ---- what sysfs adds ----------------------------------------------- */

/*
 * Per-VF BAR sizes. Sizing a BAR means writing all-ones to it, which we
 * never do to a live device; the kernel did it at enumeration and shows
 * each VF BAR's window (per-VF size * TotalVFs) in `resource` lines 7..12.
 */
static int read_vf_bar_sizes(const char *root, xenvf_sriov_info *info,
                             xenvf_err *err)
{
    xenvf_sysfs_resource res[XENVF_SYSFS_RES_MAX];
    size_t nr = 0;
    int rc;

    rc = xenvf_sysfs_read_resources(root, &info->bdf, res, &nr, err);
    if (rc)
        return rc;
    if (nr < XENVF_SYSFS_RES_IOV + XENVF_SRIOV_NR_BARS || !info->total_vfs)
        return 0; /* no CONFIG_PCI_IOV: sizes stay unknown */
    info->vf_bar_sizes_known = true;
    for (int i = 0; i < XENVF_SRIOV_NR_BARS; i++) {
        xenvf_sriov_bar *b = &info->vf_bars[i];
        uint64_t window =
            xenvf_sysfs_resource_size(&res[XENVF_SYSFS_RES_IOV + i]);

        if (window && window % info->total_vfs == 0) {
            b->size = window / info->total_vfs;
            b->present = true;
        } else if (window) {
            LOG(WARN, "VF BAR %d window 0x%llx is not a multiple of %u", i,
                (unsigned long long)window, info->total_vfs);
        }
        if (b->is_64)
            i++;
    }
    return 0;
}

static int read_sysfs_view(const char *root, xenvf_sriov_info *info,
                           xenvf_err *err)
{
    uint64_t v;
    int rc;

    rc = xenvf_sysfs_read_driver(root, &info->bdf, &info->driver, err);
    if (rc)
        return rc;
    rc = xenvf_sysfs_read_uint(root, &info->bdf, "sriov_drivers_autoprobe", 1,
                               &v, err);
    if (rc && rc != XENVF_ENOENT)
        return rc;
    info->drivers_autoprobe = rc ? -1 : (int)v;
    rc = xenvf_sysfs_read_uint(root, &info->bdf, "sriov_totalvfs", UINT16_MAX,
                               &v, err);
    if (rc && rc != XENVF_ENOENT)
        return rc;
    info->max_vfs = rc ? info->total_vfs : (uint16_t)v;
    rc = read_vf_bar_sizes(root, info, err);
    if (rc)
        return rc;
    if (!info->num_vfs)
        return 0;
    info->vf_bdfs = calloc(info->num_vfs, sizeof(*info->vf_bdfs));
    if (!info->vf_bdfs)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    info->nr_vfs = info->num_vfs;
    for (unsigned i = 0; i < info->nr_vfs; i++) {
        if (!xenvf_sysfs_read_virtfn(root, &info->bdf, i, &info->vf_bdfs[i],
                                     NULL))
            continue;
        /* no link (yet, or gone): the capability says where it is */
        rc = xenvf_bdf_vf_address(&info->bdf, info->vf_offset, info->vf_stride,
                                  i, &info->vf_bdfs[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

static int info_cmp(const void *a, const void *b)
{
    return xenvf_bdf_compare(&((const xenvf_sriov_info *)a)->bdf,
                             &((const xenvf_sriov_info *)b)->bdf);
}

/* ---- API ----------------------------------------------------------- */

void xenvf_sriov_info_init(xenvf_sriov_info *info)
{
    memset(info, 0, sizeof(*info));
    info->drivers_autoprobe = -1;
}

void xenvf_sriov_info_dispose(xenvf_sriov_info *info)
{
    free(info->driver);
    free(info->vf_bdfs);
    xenvf_sriov_info_init(info);
}

void xenvf_sriov_info_list_free(xenvf_sriov_info *list, size_t nr)
{
    for (size_t i = 0; i < nr; i++)
        xenvf_sriov_info_dispose(&list[i]);
    free(list);
}

int xenvf_sriov_scan(const char *sysfs_root, xenvf_sriov_info **out, size_t *nr,
                     xenvf_err *err)
{
    disc d;
    size_t kept = 0;
    int rc;

    disc_init(&d, sysfs_root);
    rc = pci_guarded(&d, scan_pci, err);
    if (rc)
        goto out;
    /* libpci is done: close its files before reading sysfs */
    pci_cleanup(d.pacc);
    d.pacc = NULL;
    for (size_t i = 0; i < d.nr; i++) {
        rc = read_sysfs_view(d.root, &d.list[i], err);
        if (rc == XENVF_ENOENT) {
            /* unplugged between the config read and now */
            xenvf_sriov_info_dispose(&d.list[i]);
            if (err)
                xenvf_err_init(err);
            continue;
        }
        if (rc) {
            char b[XENVF_BDF_STR_MAX];
            xenvf_bdf_format(&d.list[i].bdf, b);
            xenvf_err_prepend(err, "PF %s: ", b);
            goto out;
        }
        d.list[kept++] = d.list[i];
        if (kept - 1 != i)
            xenvf_sriov_info_init(&d.list[i]);
    }
    d.nr = kept;
    if (kept)
        qsort(d.list, kept, sizeof(*d.list), info_cmp);
    *out = d.list;
    *nr = kept;
    d.list = NULL;
    d.nr = 0;
out:
    disc_dispose(&d);
    return rc;
}

int xenvf_sriov_probe(const char *sysfs_root, const xenvf_bdf *pf,
                      xenvf_sriov_info *out, xenvf_err *err)
{
    disc d;
    int rc;

    disc_init(&d, sysfs_root);
    xenvf_sriov_info_dispose(out);
    rc = xenvf_sysfs_dev_exists(d.root, pf, err);
    if (rc)
        goto out;
    d.only = pf;
    d.list = out;
    rc = pci_guarded(&d, probe_one_pci, err);
    d.list = NULL;
    if (rc)
        goto out;
    rc = read_sysfs_view(d.root, out, err);
out:
    if (rc)
        xenvf_sriov_info_dispose(out);
    disc_dispose(&d);
    return rc;
}

int xenvf_sriov_vf_bdf(const xenvf_sriov_info *info, unsigned index,
                       xenvf_bdf *out, xenvf_err *err)
{
    char b[XENVF_BDF_STR_MAX];

    if (index >= info->total_vfs) {
        xenvf_bdf_format(&info->bdf, b);
        return xenvf_err_set(err, XENVF_ERANGE,
                             "PF %s: VF index %u >= TotalVFs %u", b, index,
                             info->total_vfs);
    }
    if (index < info->nr_vfs) {
        *out = info->vf_bdfs[index];
        return 0;
    }
    return xenvf_bdf_vf_address(&info->bdf, info->vf_offset, info->vf_stride,
                                index, out, err);
}
