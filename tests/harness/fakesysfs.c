/*
 * fakesysfs: the fake sysfs tree and the kernel's store functions behind
 * its writable attributes. See fakesysfs.h and docs/discovery.md.
 *
 * This file depends on libc only: it is linked into libharness.a and also
 * compiled, unsanitized, into fakesysfs-kernel.so.
 *
 * Contents are replaced by writing a dot-named temporary file and renaming
 * it into place (readers see old or new, never half), except `config`,
 * which is patched in place like the registers it stands for. Dot-named
 * files are the harness's own: the preload never plays the kernel for them.
 */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakesysfs.h"

struct fakesysfs {
    char *root;
    bool owned;
    pid_t owner;            /* the process that made it */
    struct fakesysfs *next; /* trees this process still owns */
};

/* Trees not freed by exit() are removed then, by the process that made
 * them only (a forked test child exits with its parent's list). */
static fakesysfs *owned_trees;
static bool leftovers_hooked;

static int rm_rf(const char *path);

static void remove_leftovers(void)
{
    if (getenv("FAKESYSFS_KEEP"))
        return;
    for (fakesysfs *fs = owned_trees; fs; fs = fs->next)
        if (fs->owner == getpid())
            rm_rf(fs->root);
}

#define DEFAULT_RESET_METHODS "flr bus" /* what a PCIe function offers */
#define STATE_DIR             ".fakesysfs"
#define PAGE_SIZE_            4096

/* PCI registers we build and parse (pci_regs.h values). */
#define CFG_VENDOR        0x00
#define CFG_DEVICE        0x02
#define CFG_COMMAND       0x04
#define CFG_STATUS        0x06
#define CFG_REVISION      0x08
#define CFG_CLASS_PROG    0x09
#define CFG_BAR0          0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID     0x2e
#define CFG_CAP_PTR       0x34
#define CFG_INT_PIN       0x3d
#define CAP_PM_POS        0x40
#define CAP_MSIX_POS      0x50
#define CAP_EXP_POS       0x70
#define ECAP_ID_AER       0x0001
#define ECAP_ID_ARI       0x000e
#define ECAP_ID_SRIOV     0x0010
#define IOV_CAP           0x04
#define IOV_CTRL          0x08
#define IOV_CTRL_VFE      0x0001
#define IOV_CTRL_MSE      0x0008
#define IOV_INITIAL       0x0c
#define IOV_TOTAL         0x0e
#define IOV_NUM           0x10
#define IOV_OFFSET        0x14
#define IOV_STRIDE        0x16
#define IOV_DID           0x1a
#define IOV_SUPPS         0x1c
#define IOV_SYSPS         0x20
#define IOV_BAR           0x24
#define IOV_SIZE          0x40

/* Kernel resource flags (include/linux/ioport.h). */
#define RES_MEM       0x00000200ULL
#define RES_PREFETCH  0x00002000ULL
#define RES_SIZEALIGN 0x00040000ULL
#define RES_MEM_64    0x00100000ULL

#define NR_RES_LINES 13 /* 6 BARs, ROM, 6 IOV windows (CONFIG_PCI_IOV) */
#define PF_BAR0_SIZE 0x100000ULL

typedef struct res_line {
    uint64_t start, end, flags;
} res_line;

/* ---- small helpers ------------------------------------------------- */

static void put16(uint8_t *c, unsigned off, uint16_t v)
{
    c[off] = (uint8_t)v;
    c[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *c, unsigned off, uint32_t v)
{
    put16(c, off, (uint16_t)v);
    put16(c, off + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *c, unsigned off)
{
    return (uint16_t)(c[off] | c[off + 1] << 8);
}

static uint32_t get32(const uint8_t *c, unsigned off)
{
    return (uint32_t)get16(c, off) | (uint32_t)get16(c, off + 2) << 16;
}

static int parse_bdf(const char *s, unsigned *seg, unsigned *bus, unsigned *dev,
                     unsigned *fn)
{
    char tail;

    if (!s || strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
        return EINVAL;
    for (int i = 0; i < 12; i++)
        if (i != 4 && i != 7 && i != 10 && !isxdigit((unsigned char)s[i]))
            return EINVAL;
    if (sscanf(s, "%4x:%2x:%2x.%1x%c", seg, bus, dev, fn, &tail) != 4 ||
        *dev > 31 || *fn > 7)
        return EINVAL;
    return 0;
}

static unsigned bdf_rid(unsigned bus, unsigned dev, unsigned fn)
{
    return bus << 8 | dev << 3 | fn;
}

static void rid_name(unsigned seg, unsigned rid, char out[16])
{
    snprintf(out, 16, "%04x:%02x:%02x.%x", seg & 0xffff, (rid >> 8) & 0xff,
             (rid >> 3) & 0x1f, rid & 7);
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Replace <dir>/<name> with data, mode as given (atomic for readers). */
static int put_file(const char *dir, const char *name, const void *data,
                    size_t len, mode_t mode)
{
    char *tmp = xasprintf("%s/.tmp.%s.%ld", dir, name, (long)getpid());
    char *dst = xasprintf("%s/%s", dir, name);
    int fd = -1, e = 0;

    if (!tmp || !dst) {
        e = ENOMEM;
        goto out;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = errno;
        goto out;
    }
    e = write_all(fd, data, len);
    if (!e && fchmod(fd, mode) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    fd = -1;
    if (!e && rename(tmp, dst) < 0)
        e = errno;
    if (e)
        unlink(tmp);
out:
    free(tmp);
    free(dst);
    return e;
}

static int put_str(const char *dir, const char *name, mode_t mode,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put_str(const char *dir, const char *name, mode_t mode,
                   const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n, e;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ENOMEM;
    e = put_file(dir, name, s, (size_t)n, mode);
    free(s);
    return e;
}

/* Read a small file into buf (NUL-terminated); returns 0 or errno. */
static int get_file(const char *path, char *buf, size_t size, size_t *len)
{
    size_t n = 0;
    int fd, e = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return e;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char *p = strdup(path);
    int e = 0;

    if (!p)
        return ENOMEM;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            e = errno;
        *s = '/';
        if (e)
            break;
    }
    if (!e && mkdir(p, mode) < 0 && errno != EEXIST)
        e = errno;
    free(p);
    return e;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    return remove(path) < 0 ? errno : 0;
}

static int rm_rf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : errno;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the tree ------------------------------------------------------ */

typedef struct tree {
    const char *root;
    int lock_fd;
} tree;

static int tree_lock(tree *t, const char *root)
{
    char *path = xasprintf("%s/" STATE_DIR "/lock", root);

    t->root = root;
    t->lock_fd = -1;
    if (!path)
        return ENOMEM;
    t->lock_fd = open(path, O_RDWR | O_CLOEXEC);
    free(path);
    if (t->lock_fd < 0)
        return errno;
    while (flock(t->lock_fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(t->lock_fd);
            t->lock_fd = -1;
            return e;
        }
    }
    return 0;
}

static void tree_unlock(tree *t)
{
    if (t->lock_fd >= 0)
        close(t->lock_fd);
    t->lock_fd = -1;
}

/* <root>/bus/pci/devices/<bdf>[/<attr>] */
static char *dev_path(const tree *t, const char *bdf, const char *attr)
{
    if (attr)
        return xasprintf("%s/bus/pci/devices/%s/%s", t->root, bdf, attr);
    return xasprintf("%s/bus/pci/devices/%s", t->root, bdf);
}

static bool dev_exists(const tree *t, const char *bdf)
{
    char *p = dev_path(t, bdf, NULL);
    struct stat st;
    bool ok = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);

    free(p);
    return ok;
}

/* The real directory of a device (resolving the bus link), malloc'd. */
static char *dev_realdir(const tree *t, const char *bdf)
{
    char *p = dev_path(t, bdf, NULL), *r;

    if (!p)
        return NULL;
    r = realpath(p, NULL);
    free(p);
    return r;
}

/* "../" once per component of dir below root: a link from dir to root. */
static char *up_to_root(const tree *t, const char *dir)
{
    size_t rl = strlen(t->root);
    const char *rel = dir + rl;
    size_t depth = 0;
    char *s;

    if (strncmp(dir, t->root, rl) || (*rel && *rel != '/'))
        return NULL;
    for (const char *p = rel; *p; p++)
        if (*p == '/')
            depth++;
    s = malloc(depth * 3 + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < depth; i++)
        memcpy(s + i * 3, "../", 3);
    s[depth * 3] = '\0';
    return s;
}

/* Make link at <dir>/<name> pointing at target, replacing any. */
static int put_link(const char *dir, const char *name, const char *target)
{
    char *p = xasprintf("%s/%s", dir, name);
    int e = 0;

    if (!p)
        return ENOMEM;
    unlink(p);
    if (symlink(target, p) < 0)
        e = errno;
    free(p);
    return e;
}

static int del_link(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    int e = 0;

    if (!p)
        return ENOMEM;
    if (unlink(p) < 0 && errno != ENOENT)
        e = errno;
    free(p);
    return e;
}

static int read_attr(const tree *t, const char *bdf, const char *attr,
                     char *buf, size_t size)
{
    char *p = dev_path(t, bdf, attr);
    int e;

    if (!p)
        return ENOMEM;
    e = get_file(p, buf, size, NULL);
    free(p);
    return e;
}

static int write_attr(const tree *t, const char *bdf, const char *attr,
                      mode_t mode, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int write_attr(const tree *t, const char *bdf, const char *attr,
                      mode_t mode, const char *fmt, ...)
{
    char *dir = dev_realdir(t, bdf), *s = NULL;
    va_list ap;
    int n, e;

    if (!dir)
        return errno ? errno : ENOMEM;
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    e = n < 0 ? ENOMEM : put_file(dir, attr, s, (size_t)n, mode);
    free(s);
    free(dir);
    return e;
}

/* Last component of a link under the device dir, into out. */
static int read_link_name(const tree *t, const char *bdf, const char *link,
                          char *out, size_t size)
{
    char *p = dev_path(t, bdf, link), target[PATH_MAX], *base;
    ssize_t n;

    if (!p)
        return ENOMEM;
    n = readlink(p, target, sizeof(target) - 1);
    free(p);
    if (n < 0)
        return errno;
    target[n] = '\0';
    base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (strlen(base) >= size)
        return ENAMETOOLONG;
    strcpy(out, base);
    return 0;
}

static int config_io(const tree *t, const char *bdf, unsigned off, void *buf,
                     size_t len, bool write)
{
    char *p = dev_path(t, bdf, "config");
    ssize_t n;
    int fd, e = 0;

    if (!p)
        return ENOMEM;
    if (off > FAKESYSFS_CONFIG_SIZE || len > FAKESYSFS_CONFIG_SIZE - off) {
        free(p);
        return EINVAL;
    }
    fd = open(p, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    free(p);
    if (fd < 0)
        return errno;
    n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
    if (n < 0)
        e = errno;
    else if ((size_t)n != len)
        e = EIO;
    close(fd);
    return e;
}

/* The position of extended capability id, 0 if none. A loop or a pointer
 * below 0x100 ends the walk, as in the kernel's pci_find_next_ext_capability.
 */
static unsigned find_ext_cap(const uint8_t *cfg, uint16_t id)
{
    unsigned pos = 0x100;

    for (int ttl = (FAKESYSFS_CONFIG_SIZE - 0x100) / 8; ttl > 0; ttl--) {
        uint32_t h = get32(cfg, pos);
        if (h == 0 || h == 0xffffffff)
            return 0;
        if ((h & 0xffff) == id)
            return pos;
        pos = (h >> 20) & 0xffc;
        if (pos < 0x100 || pos > FAKESYSFS_CONFIG_SIZE - 4)
            return 0;
    }
    return 0;
}

#define RES_FMT "0x%016llx 0x%016llx 0x%016llx\n"

static int put_resource(const char *dir, const res_line *res)
{
    char buf[NR_RES_LINES * 60], *p = buf;

    for (int i = 0; i < NR_RES_LINES; i++)
        p += sprintf(p, RES_FMT, (unsigned long long)res[i].start,
                     (unsigned long long)res[i].end,
                     (unsigned long long)res[i].flags);
    return put_file(dir, "resource", buf, (size_t)(p - buf), 0444);
}

static int read_resource(const tree *t, const char *bdf, res_line *res)
{
    char buf[2048], *line, *save = NULL;
    int e, i = 0;

    memset(res, 0, sizeof(*res) * NR_RES_LINES);
    e = read_attr(t, bdf, "resource", buf, sizeof(buf));
    if (e)
        return e;
    for (line = strtok_r(buf, "\n", &save); line && i < NR_RES_LINES;
         line = strtok_r(NULL, "\n", &save), i++) {
        unsigned long long s, en, f;
        if (sscanf(line, "%llx %llx %llx", &s, &en, &f) != 3)
            return EINVAL;
        res[i].start = s;
        res[i].end = en;
        res[i].flags = f;
    }
    return 0;
}

static uint64_t res_flags(unsigned barflags)
{
    uint64_t f = RES_MEM | RES_SIZEALIGN;

    if (barflags & FAKESYSFS_BAR_64)
        f |= RES_MEM_64 | 0x4;
    if (barflags & FAKESYSFS_BAR_PREFETCH)
        f |= RES_PREFETCH | 0x8;
    return f;
}

/* ---- drivers ------------------------------------------------------- */

static int driver_meta(const tree *t, const char *name, bool *sriov_cfg)
{
    char *p = xasprintf("%s/" STATE_DIR "/drivers/%s", t->root, name);
    char buf[64];
    int e;

    if (!p)
        return ENOMEM;
    e = get_file(p, buf, sizeof(buf), NULL);
    free(p);
    /* a driver made outside the harness: a PF driver */
    *sriov_cfg = e ? true : strstr(buf, "sriov_configure=1") != NULL;
    return 0;
}

static bool name_ok(const char *name)
{
    return name && *name && name[0] != '.' && !strchr(name, '/') &&
           strlen(name) < 64;
}

static int ensure_driver(const tree *t, const char *name, int sriov_cfg)
{
    char *dir = xasprintf("%s/bus/pci/drivers/%s", t->root, name);
    char *meta = xasprintf("%s/" STATE_DIR "/drivers", t->root);
    struct stat st;
    int e = 0;

    if (!dir || !meta) {
        e = ENOMEM;
        goto out;
    }
    if (!name_ok(name)) {
        e = EINVAL;
        goto out;
    }
    if (stat(dir, &st) == 0 && sriov_cfg < 0)
        goto out;
    e = mkdir_p(dir, 0755);
    if (!e)
        e = put_file(dir, "bind", "", 0, 0200);
    if (!e)
        e = put_file(dir, "unbind", "", 0, 0200);
    if (!e)
        e = put_str(meta, name, 0644, "sriov_configure=%d\n", sriov_cfg != 0);
out:
    free(dir);
    free(meta);
    return e;
}

/* Link device and driver both ways (the kernel's driver_bound()). */
static int attach(const tree *t, const char *bdf, const char *driver)
{
    char *dir = dev_realdir(t, bdf), *up = NULL, *target = NULL, *ddir = NULL;
    int e;

    e = ensure_driver(t, driver, -1);
    if (e)
        goto out;
    if (!dir || !(up = up_to_root(t, dir))) {
        e = dir ? EINVAL : ENOENT;
        goto out;
    }
    target = xasprintf("%sbus/pci/drivers/%s", up, driver);
    ddir = xasprintf("%s/bus/pci/drivers/%s", t->root, driver);
    if (!target || !ddir) {
        e = ENOMEM;
        goto out;
    }
    e = put_link(dir, "driver", target);
    free(target);
    target = xasprintf("../../../..%s", dir + strlen(t->root));
    if (!e && !target)
        e = ENOMEM;
    if (!e)
        e = put_link(ddir, bdf, target);
out:
    free(dir);
    free(up);
    free(target);
    free(ddir);
    return e;
}

static int detach(const tree *t, const char *bdf)
{
    char drv[128], *dir = dev_realdir(t, bdf), *ddir = NULL;
    int e;

    if (!dir)
        return ENOENT;
    e = read_link_name(t, bdf, "driver", drv, sizeof(drv));
    if (e == ENOENT) {
        e = 0;
        goto out;
    }
    if (e)
        goto out;
    ddir = xasprintf("%s/bus/pci/drivers/%s", t->root, drv);
    if (!ddir) {
        e = ENOMEM;
        goto out;
    }
    e = del_link(ddir, bdf);
    if (!e)
        e = del_link(dir, "driver");
out:
    free(dir);
    free(ddir);
    return e;
}

/* ---- devices ------------------------------------------------------- */

/* Everything a device directory holds, computed before it is written. */
typedef struct devinfo {
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    res_line res[NR_RES_LINES];
    const fakesysfs_dev_spec *spec; /* PF only */
    const char *physfn;             /* VF only */
} devinfo;

static void build_header(uint8_t *cfg, uint16_t vendor, uint16_t device,
                         uint32_t class_code, uint8_t rev, uint16_t svid,
                         uint16_t sdid, bool vf)
{
    memset(cfg, 0, FAKESYSFS_CONFIG_SIZE);
    put16(cfg, CFG_VENDOR, vendor);
    put16(cfg, CFG_DEVICE, device);
    /* a VF's Memory Space Enable is read-only 0: the PF's VF MSE rules */
    put16(cfg, CFG_COMMAND, vf ? 0x0000 : 0x0006);
    put16(cfg, CFG_STATUS, 0x0010); /* capabilities list */
    cfg[CFG_REVISION] = rev;
    cfg[CFG_CLASS_PROG] = (uint8_t)class_code;
    cfg[CFG_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
    cfg[CFG_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
    put16(cfg, CFG_SUBSYS_VENDOR, svid);
    put16(cfg, CFG_SUBSYS_ID, sdid);
    cfg[CFG_CAP_PTR] = CAP_PM_POS;
    cfg[CFG_INT_PIN] = vf ? 0 : 1;
    /* power management, then MSI-X (16 vectors in BAR0), then PCIe */
    cfg[CAP_PM_POS] = 0x01;
    cfg[CAP_PM_POS + 1] = CAP_MSIX_POS;
    put16(cfg, CAP_PM_POS + 2, 0x0003);
    cfg[CAP_MSIX_POS] = 0x11;
    cfg[CAP_MSIX_POS + 1] = CAP_EXP_POS;
    put16(cfg, CAP_MSIX_POS + 2, 15);
    put32(cfg, CAP_MSIX_POS + 4, 0x2000);
    put32(cfg, CAP_MSIX_POS + 8, 0x3000);
    /* PCIe capability v2, endpoint; Device Capabilities: FLR */
    cfg[CAP_EXP_POS] = 0x10;
    cfg[CAP_EXP_POS + 1] = 0;
    put16(cfg, CAP_EXP_POS + 2, 0x0002);
    put32(cfg, CAP_EXP_POS + 4, 0x10008000);
    /* AER, the usual first extended capability */
    put32(cfg, FAKESYSFS_AER_POS, ECAP_ID_AER | 2u << 16);
}

static bool pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static int check_spec(const fakesysfs_dev_spec *s)
{
    unsigned pos = s->sriov_pos ? s->sriov_pos : FAKESYSFS_SRIOV_POS;

    if (s->driver && !name_ok(s->driver))
        return EINVAL;
    if (s->vf_driver && !name_ok(s->vf_driver))
        return EINVAL;
    if (!s->total_vfs)
        return 0;
    if (pos < FAKESYSFS_ARI_POS + 8 || pos % 4 ||
        pos > FAKESYSFS_CONFIG_SIZE - IOV_SIZE || !s->vf_offset ||
        (s->total_vfs > 1 && !s->vf_stride) || s->initial_vfs > s->total_vfs)
        return EINVAL;
    for (int i = 0; i < FAKESYSFS_NR_VF_BARS; i++) {
        if (!s->vf_bar_size[i])
            continue;
        /* at least a page: VF BARs are aligned to the system page size */
        if (!pow2(s->vf_bar_size[i]) || s->vf_bar_size[i] < 4096)
            return EINVAL;
        if (s->vf_bar_flags[i] & FAKESYSFS_BAR_64) {
            if (i == FAKESYSFS_NR_VF_BARS - 1 || s->vf_bar_size[i + 1])
                return EINVAL;
            i++;
        } else if (s->vf_bar_size[i] * s->total_vfs > 0x40000000ULL) {
            return EINVAL; /* a 32-bit window must fit below 4 GiB */
        }
    }
    return 0;
}

/*
 * Addresses: each function gets a 256 MiB slot of 64-bit space by routing
 * ID (PF BAR0, then the VF BAR windows, each aligned to its per-VF size),
 * and 32-bit VF windows a 2 MiB-stepped base below 4 GiB. Windows larger
 * than a slot overlap a neighbour's; nothing here decodes addresses.
 */
static void build_pf(devinfo *di, unsigned seg, unsigned rid,
                     const fakesysfs_dev_spec *s)
{
    uint64_t base =
        0x4000000000ULL + ((uint64_t)seg << 44) + ((uint64_t)rid << 28);
    uint64_t cur = base + PF_BAR0_SIZE;
    uint64_t cur32 = 0xc0000000ULL + ((uint64_t)(rid & 0xff) << 21);
    unsigned pos = s->sriov_pos ? s->sriov_pos : FAKESYSFS_SRIOV_POS;
    uint8_t *c = di->cfg;

    build_header(c, s->vendor, s->device, s->class_code, s->revision,
                 s->subsys_vendor ? s->subsys_vendor : s->vendor,
                 s->subsys_device ? s->subsys_device : s->device, false);
    put32(c, CFG_BAR0, (uint32_t)base | 0x4);
    put32(c, CFG_BAR0 + 4, (uint32_t)(base >> 32));
    memset(di->res, 0, sizeof(di->res));
    di->res[0].start = base;
    di->res[0].end = base + PF_BAR0_SIZE - 1;
    di->res[0].flags = res_flags(FAKESYSFS_BAR_64);
    if (!s->total_vfs)
        return;
    put32(c, FAKESYSFS_AER_POS,
          ECAP_ID_AER | 2u << 16 | FAKESYSFS_ARI_POS << 20);
    put32(c, FAKESYSFS_ARI_POS, ECAP_ID_ARI | 1u << 16 | pos << 20);
    put32(c, pos, ECAP_ID_SRIOV | 1u << 16);
    put16(c, pos + IOV_INITIAL, s->initial_vfs ? s->initial_vfs : s->total_vfs);
    put16(c, pos + IOV_TOTAL, s->total_vfs);
    put16(c, pos + IOV_OFFSET, s->vf_offset);
    put16(c, pos + IOV_STRIDE, s->vf_stride);
    put16(c, pos + IOV_DID, s->vf_device);
    put32(c, pos + IOV_SUPPS,
          s->supported_page_sizes ? s->supported_page_sizes : 0x553);
    put32(c, pos + IOV_SYSPS, 0x1);
    for (int i = 0; i < FAKESYSFS_NR_VF_BARS; i++) {
        uint64_t size = s->vf_bar_size[i], win, at;
        unsigned fl = s->vf_bar_flags[i];
        uint32_t lo;

        if (!size)
            continue;
        win = size * s->total_vfs;
        if (fl & FAKESYSFS_BAR_64) {
            at = align_up(cur, size);
            cur = at + win;
        } else {
            at = align_up(cur32, size);
            cur32 = at + win;
        }
        lo = (uint32_t)at | (fl & FAKESYSFS_BAR_64 ? 0x4 : 0) |
             (fl & FAKESYSFS_BAR_PREFETCH ? 0x8 : 0);
        put32(c, pos + IOV_BAR + 4 * i, lo);
        di->res[7 + i].start = at;
        di->res[7 + i].end = at + win - 1;
        di->res[7 + i].flags = res_flags(fl);
        if (fl & FAKESYSFS_BAR_64)
            put32(c, pos + IOV_BAR + 4 * ++i, (uint32_t)(at >> 32));
    }
}

/* Write a device directory, its bus link and its driver link. */
static int create_device(const tree *t, const char *dir, const char *bdf,
                         const devinfo *di, const char *driver)
{
    const uint8_t *c = di->cfg;
    const fakesysfs_dev_spec *s = di->spec;
    uint32_t cls = (uint32_t)c[CFG_CLASS_PROG + 2] << 16 |
                   (uint32_t)c[CFG_CLASS_PROG + 1] << 8 | c[CFG_CLASS_PROG];
    char *up = NULL, *link = NULL, *busdir = NULL;
    int e;

    e = mkdir_p(dir, 0755);
    if (e)
        return e;
    if (!(up = up_to_root(t, dir)))
        return EINVAL;
    e = put_file(dir, "config", c, FAKESYSFS_CONFIG_SIZE, 0644);
    if (!e)
        e = put_str(dir, "vendor", 0444, "0x%04x\n", get16(c, CFG_VENDOR));
    if (!e)
        e = put_str(dir, "device", 0444, "0x%04x\n", get16(c, CFG_DEVICE));
    if (!e)
        e = put_str(dir, "class", 0444, "0x%06x\n", cls);
    if (!e)
        e = put_str(dir, "revision", 0444, "0x%02x\n", c[CFG_REVISION]);
    if (!e)
        e = put_str(dir, "subsystem_vendor", 0444, "0x%04x\n",
                    get16(c, CFG_SUBSYS_VENDOR));
    if (!e)
        e = put_str(dir, "subsystem_device", 0444, "0x%04x\n",
                    get16(c, CFG_SUBSYS_ID));
    if (!e)
        e = put_str(dir, "modalias", 0444,
                    "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
                    get16(c, CFG_VENDOR), get16(c, CFG_DEVICE),
                    get16(c, CFG_SUBSYS_VENDOR), get16(c, CFG_SUBSYS_ID),
                    cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
    if (!e)
        e = put_resource(dir, di->res);
    if (!e)
        e = put_str(dir, "irq", 0444, "0\n");
    if (!e)
        e = put_str(dir, "enable", 0644, "%d\n", driver ? 1 : 0);
    if (!e)
        e = put_str(dir, "numa_node", 0644, "-1\n");
    if (!e)
        e = put_str(dir, "driver_override", 0644, "(null)\n");
    if (!e)
        e = put_file(dir, "reset", "", 0, 0200);
    if (!e)
        e = put_str(dir, "reset_method", 0644, "%s\n", DEFAULT_RESET_METHODS);
    if (!e)
        e = put_file(dir, "remove", "", 0, 0200);
    if (!e && (link = xasprintf("%sbus/pci", up)))
        e = put_link(dir, "subsystem", link);
    else if (!e)
        e = ENOMEM;
    if (!e && s && s->total_vfs) {
        unsigned pos = find_ext_cap(c, ECAP_ID_SRIOV);
        e = put_str(dir, "sriov_totalvfs", 0444, "%u\n",
                    get16(c, pos + IOV_TOTAL));
        if (!e)
            e = put_str(dir, "sriov_numvfs", 0644, "0\n");
        if (!e)
            e = put_str(dir, "sriov_offset", 0444, "%u\n",
                        get16(c, pos + IOV_OFFSET));
        if (!e)
            e = put_str(dir, "sriov_stride", 0444, "%u\n",
                        get16(c, pos + IOV_STRIDE));
        /* the kernel prints this one without 0x */
        if (!e)
            e = put_str(dir, "sriov_vf_device", 0444, "%x\n",
                        get16(c, pos + IOV_DID));
        if (!e)
            e = put_str(dir, "sriov_drivers_autoprobe", 0644, "%d\n",
                        s->autoprobe_off ? 0 : 1);
        if (!e)
            e = put_str(dir, "sriov_vf_total_msix", 0444, "0\n");
    }
    if (!e && di->physfn) {
        free(link);
        link = xasprintf("../%s", di->physfn);
        e = link ? put_link(dir, "physfn", link) : ENOMEM;
    }
    if (!e) {
        free(link);
        link = xasprintf("../../..%s", dir + strlen(t->root));
        busdir = xasprintf("%s/bus/pci/devices", t->root);
        e = link && busdir ? put_link(busdir, bdf, link) : ENOMEM;
    }
    if (!e && driver)
        e = attach(t, bdf, driver);
    free(up);
    free(link);
    free(busdir);
    return e;
}

/* Remove a device: driver links, bus link, directory. */
static int destroy_device(const tree *t, const char *bdf)
{
    char *dir = dev_realdir(t, bdf), *busdir;
    int e;

    if (!dir)
        return errno == ENOENT ? ENOENT : errno ? errno : ENOMEM;
    e = detach(t, bdf);
    busdir = xasprintf("%s/bus/pci/devices", t->root);
    if (!e)
        e = busdir ? del_link(busdir, bdf) : ENOMEM;
    if (!e)
        e = rm_rf(dir);
    free(busdir);
    free(dir);
    return e;
}

/* ---- SR-IOV: what pci_enable_sriov / pci_disable_sriov do ------------ */

typedef struct pfinfo {
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    unsigned pos, seg, rid;
    uint16_t total, num, offset, stride, vf_did;
} pfinfo;

static int pf_read(const tree *t, const char *bdf, pfinfo *pf)
{
    unsigned bus, dev, fn;
    int e;

    if (parse_bdf(bdf, &pf->seg, &bus, &dev, &fn))
        return ENODEV;
    pf->rid = bdf_rid(bus, dev, fn);
    e = config_io(t, bdf, 0, pf->cfg, sizeof(pf->cfg), false);
    if (e)
        return e;
    pf->pos = find_ext_cap(pf->cfg, ECAP_ID_SRIOV);
    if (!pf->pos || pf->pos > FAKESYSFS_CONFIG_SIZE - IOV_SIZE)
        return ENODEV;
    pf->total = get16(pf->cfg, pf->pos + IOV_TOTAL);
    pf->num = get16(pf->cfg, pf->pos + IOV_NUM);
    pf->offset = get16(pf->cfg, pf->pos + IOV_OFFSET);
    pf->stride = get16(pf->cfg, pf->pos + IOV_STRIDE);
    pf->vf_did = get16(pf->cfg, pf->pos + IOV_DID);
    return 0;
}

/* NumVFs and VF Enable | VF MSE in the PF's config space, as the kernel's
 * sriov_enable()/sriov_disable() program them. */
static int pf_set_numvfs_reg(const tree *t, const char *bdf, pfinfo *pf,
                             uint16_t n)
{
    uint8_t regs[IOV_NUM + 2 - IOV_CTRL];
    uint16_t ctrl = get16(pf->cfg, pf->pos + IOV_CTRL);

    ctrl = n ? ctrl | IOV_CTRL_VFE | IOV_CTRL_MSE
             : ctrl & ~(IOV_CTRL_VFE | IOV_CTRL_MSE);
    memcpy(regs, pf->cfg + pf->pos + IOV_CTRL, sizeof(regs));
    put16(regs, 0, ctrl);
    put16(regs, IOV_NUM - IOV_CTRL, n);
    memcpy(pf->cfg + pf->pos + IOV_CTRL, regs, sizeof(regs));
    return config_io(t, bdf, pf->pos + IOV_CTRL, regs, sizeof(regs), true);
}

static int vf_driver(const tree *t, const char *pf, char *out, size_t size)
{
    char *p = xasprintf("%s/" STATE_DIR "/vf_driver/%s", t->root, pf);
    size_t n = 0;
    int e;

    if (!p)
        return ENOMEM;
    e = get_file(p, out, size, &n);
    free(p);
    if (!e && n && out[n - 1] == '\n')
        out[n - 1] = '\0';
    if (e == ENOENT || (!e && !*out))
        e = read_link_name(t, pf, "driver", out, size);
    return e;
}

static int remove_vfs(const tree *t, const char *pf, pfinfo *info)
{
    char *pfdir = dev_realdir(t, pf);
    int e = 0;

    if (!pfdir)
        return ENOENT;
    /* virtfn links are the truth; NumVFs may have been poked by a test */
    for (unsigned i = 0; i < 0x10000; i++) {
        char link[32], vf[64];
        snprintf(link, sizeof(link), "virtfn%u", i);
        if (read_link_name(t, pf, link, vf, sizeof(vf))) {
            if (i >= info->num)
                break;
            continue;
        }
        e = destroy_device(t, vf);
        if (e == ENOENT)
            e = 0;
        if (!e)
            e = del_link(pfdir, link);
        if (e)
            break;
    }
    if (!e)
        e = pf_set_numvfs_reg(t, pf, info, 0);
    if (!e)
        e = put_str(pfdir, "sriov_numvfs", 0644, "0\n");
    free(pfdir);
    return e;
}

static int create_vf(const tree *t, const char *pfdir, const char *pf,
                     const pfinfo *info, const res_line *pfres, unsigned i,
                     const char *vf)
{
    const uint8_t *p = info->cfg;
    char *dir = NULL, link[32], target[80];
    devinfo *di = calloc(1, sizeof(*di));
    int e = ENOMEM;

    if (!di)
        goto out;
    build_header(di->cfg, get16(p, CFG_VENDOR), info->vf_did,
                 (uint32_t)p[CFG_CLASS_PROG + 2] << 16 |
                     (uint32_t)p[CFG_CLASS_PROG + 1] << 8 | p[CFG_CLASS_PROG],
                 p[CFG_REVISION], get16(p, CFG_SUBSYS_VENDOR),
                 get16(p, CFG_SUBSYS_ID), true);
    /* VF i's BARs: slice i of each window the PF's VF BAR describes */
    for (int b = 0; b < FAKESYSFS_NR_VF_BARS; b++) {
        const res_line *w = &pfres[7 + b];
        uint64_t size;
        if (w->end <= w->start || !info->total)
            continue;
        size = (w->end - w->start + 1) / info->total;
        di->res[b].start = w->start + size * i;
        di->res[b].end = di->res[b].start + size - 1;
        di->res[b].flags = w->flags;
    }
    di->physfn = pf;
    dir = xasprintf("%.*s/%s", (int)(strrchr(pfdir, '/') - pfdir), pfdir, vf);
    if (!dir)
        goto out;
    e = create_device(t, dir, vf, di, NULL);
    if (!e) {
        snprintf(link, sizeof(link), "virtfn%u", i);
        snprintf(target, sizeof(target), "../%s", vf);
        e = put_link(pfdir, link, target);
    }
    if (e) {
        /* leave nothing half made behind */
        destroy_device(t, vf);
        rm_rf(dir);
    }
out:
    free(di);
    free(dir);
    return e;
}

static int enable_vfs(const tree *t, const char *pf, pfinfo *info, uint16_t n)
{
    res_line pfres[NR_RES_LINES];
    char *pfdir = dev_realdir(t, pf), drv[128], ap[16];
    unsigned made = 0;
    int e;

    if (!pfdir)
        return ENODEV;
    e = read_resource(t, pf, pfres);
    if (e)
        goto out;
    /* sriov_init() refuses such a capability; never enabled then */
    if (!info->offset || (info->total > 1 && !info->stride)) {
        e = EIO;
        goto out;
    }
    /* the last VF's bus must exist below the PF's bridge (ENOMEM) */
    if (info->rid + info->offset + (uint32_t)info->stride * (n - 1) > 0xffff) {
        e = ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        char vf[16];
        rid_name(info->seg, info->rid + info->offset + info->stride * i, vf);
        /* fake only: a real bus cannot hold a function there already */
        if (dev_exists(t, vf)) {
            e = EEXIST;
            goto out;
        }
    }
    e = pf_set_numvfs_reg(t, pf, info, n);
    for (; !e && made < n; made++) {
        char vf[16];
        rid_name(info->seg, info->rid + info->offset + info->stride * made, vf);
        e = create_vf(t, pfdir, pf, info, pfres, made, vf);
    }
    if (e) {
        /* all or nothing, as sriov_add_vfs() unwinds */
        info->num = n;
        remove_vfs(t, pf, info);
        goto out;
    }
    e = put_str(pfdir, "sriov_numvfs", 0644, "%u\n", n);
    if (e)
        goto out;
    /* new VFs are probed now if autoprobe is on; a failed probe leaves the
     * VF unbound but does not fail the write */
    if (!read_attr(t, pf, "sriov_drivers_autoprobe", ap, sizeof(ap)) &&
        ap[0] == '1' && !vf_driver(t, pf, drv, sizeof(drv))) {
        for (unsigned i = 0; i < n; i++) {
            char vf[16];
            rid_name(info->seg, info->rid + info->offset + info->stride * i,
                     vf);
            attach(t, vf, drv);
        }
    }
out:
    free(pfdir);
    return e;
}

/* ---- the stores ---------------------------------------------------- */

/* kstrtoull(s, 0, ...) plus the one trailing newline sysfs allows. */
static int kstrtoull0(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    unsigned base = 10;
    int digits = 0;

    if (*s == '+')
        s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        isxdigit((unsigned char)s[2])) {
        base = 16;
        s += 2;
    } else if (s[0] == '0') {
        base = 8;
    }
    for (; *s; s++, digits++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            break;
        if (d >= base)
            break;
        if (v > (~0ULL - d) / base)
            return -ERANGE;
        v = v * base + d;
    }
    if (!digits)
        return -EINVAL;
    if (*s == '\n')
        s++;
    if (*s)
        return -EINVAL;
    *out = v;
    return 0;
}

/* kstrtobool: the first character decides (and "on"/"off"). */
static int kstrtobool_(const char *s, bool *out)
{
    switch (s[0]) {
    case 'y':
    case 'Y':
    case 't':
    case 'T':
    case '1':
        *out = true;
        return 0;
    case 'n':
    case 'N':
    case 'f':
    case 'F':
    case '0':
        *out = false;
        return 0;
    case 'o':
    case 'O':
        if (s[1] == 'n' || s[1] == 'N') {
            *out = true;
            return 0;
        }
        if (s[1] == 'f' || s[1] == 'F') {
            *out = false;
            return 0;
        }
        break;
    }
    return -EINVAL;
}

/* sysfs_streq(a, b): equal but for one trailing newline on either. */
static bool sysfs_streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    if (*a == *b)
        return true;
    if (*a == '\n' && !a[1] && !*b)
        return true;
    return *b == '\n' && !b[1] && !*a;
}

/* bus_find_device_by_name(): the name of an existing device, or false. */
static bool find_device(const tree *t, const char *buf, char name[16])
{
    if (strcspn(buf, "\n") != 12)
        return false;
    memcpy(name, buf, 12);
    name[12] = '\0';
    if (!sysfs_streq(buf, name) || strchr(name, '/') || name[0] == '.')
        return false;
    return dev_exists(t, name);
}

/* pci_vfs_assigned(): xen-pciback marks every device it holds
 * PCI_DEV_FLAGS_ASSIGNED (pcistub_seize), and PF drivers' sriov_configure
 * (pci_sriov_configure_simple, nvme, ixgbe, ...) refuse any change while a
 * VF is so marked. */
static bool vfs_assigned(const tree *t, const char *pf, const pfinfo *info)
{
    for (unsigned i = 0; i < info->num; i++) {
        char link[32], vf[64], drv[128];
        snprintf(link, sizeof(link), "virtfn%u", i);
        if (!read_link_name(t, pf, link, vf, sizeof(vf)) &&
            !read_link_name(t, vf, "driver", drv, sizeof(drv)) &&
            !strcmp(drv, "pciback"))
            return true;
    }
    return false;
}

/* sriov_numvfs_store() (drivers/pci/iov.c, Linux 6.1). */
static ssize_t store_numvfs(const tree *t, const char *pf, const char *buf,
                            size_t count)
{
    unsigned long long v;
    pfinfo *info = calloc(1, sizeof(*info));
    char drv[128];
    bool sriov_cfg = false;
    ssize_t ret = (ssize_t)count;
    int e;

    if (!info)
        return -ENOMEM;
    if (kstrtoull0(buf, &v) || v > 0xffff) {
        ret = -EINVAL;
        goto out;
    }
    e = pf_read(t, pf, info);
    if (e) {
        ret = -e;
        goto out;
    }
    if (v > info->total) {
        ret = -ERANGE;
        goto out;
    }
    if (v == info->num)
        goto out;
    e = read_link_name(t, pf, "driver", drv, sizeof(drv));
    if (!e)
        e = driver_meta(t, drv, &sriov_cfg);
    if (e || !sriov_cfg) {
        /* "driver doesn't support SRIOV configuration via sysfs" */
        ret = -ENOENT;
        goto out;
    }
    if (vfs_assigned(t, pf, info)) {
        /* "Cannot modify SR-IOV while VFs are assigned" */
        ret = -EPERM;
        goto out;
    }
    if (v == 0) {
        e = remove_vfs(t, pf, info);
    } else if (info->num) {
        ret = -EBUSY;
        goto out;
    } else {
        e = enable_vfs(t, pf, info, (uint16_t)v);
    }
    if (e)
        ret = -e;
out:
    free(info);
    return ret;
}

/* sriov_drivers_autoprobe_store() */
static ssize_t store_autoprobe(const tree *t, const char *dev, const char *buf,
                               size_t count)
{
    bool on;
    int e;

    if (kstrtobool_(buf, &on))
        return -EINVAL;
    e = write_attr(t, dev, "sriov_drivers_autoprobe", 0644, "%d\n", on);
    return e ? -e : (ssize_t)count;
}

/* driver_override_store() -> driver_set_override() */
static ssize_t store_override(const tree *t, const char *dev, const char *buf,
                              size_t count)
{
    size_t len;
    int e;

    if (count >= PAGE_SIZE_ - 1)
        return -EINVAL;
    len = strlen(buf); /* up to a NUL, as python sends them */
    len = strcspn(buf, "\n") < len ? strcspn(buf, "\n") : len;
    if (len)
        e = write_attr(t, dev, "driver_override", 0644, "%.*s\n", (int)len,
                       buf);
    else
        e = write_attr(t, dev, "driver_override", 0644, "(null)\n");
    return e ? -e : (ssize_t)count;
}

/* reset_method_store(): "" (an empty line) turns every method off,
 * "default" gives the device's back, else a list of known methods. */
static ssize_t store_reset_method(const tree *t, const char *dev,
                                  const char *buf, size_t count)
{
    static const char *const known[] = {
        "device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus"};
    size_t len = strcspn(buf, "\n");
    char list[256];
    int e;

    if (len >= sizeof(list))
        return -EINVAL;
    memcpy(list, buf, len);
    list[len] = '\0';
    if (!strcmp(list, "default")) {
        snprintf(list, sizeof(list), "%s", DEFAULT_RESET_METHODS);
    } else {
        char copy[256], *save = NULL;

        memcpy(copy, list, len + 1);
        for (char *w = strtok_r(copy, " ", &save); w;
             w = strtok_r(NULL, " ", &save)) {
            bool ok = false;

            for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
                ok |= !strcmp(w, known[i]);
            if (!ok)
                return -EINVAL;
        }
    }
    e = *list ? write_attr(t, dev, "reset_method", 0644, "%s\n", list)
              : write_attr(t, dev, "reset_method", 0644, "%s", "");
    return e ? -e : (ssize_t)count;
}

/* reset_store(): "1" resets; we log it. */
static ssize_t store_reset(const tree *t, const char *dev, const char *buf,
                           size_t count)
{
    unsigned long long v;
    char *p;
    int fd, e = 0;

    if (kstrtoull0(buf, &v) || v != 1)
        return -EINVAL;
    p = xasprintf("%s/" STATE_DIR "/resets", t->root);
    if (!p)
        return -ENOMEM;
    fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    free(p);
    if (fd < 0)
        return -errno;
    e = dprintf(fd, "%s\n", dev) < 0 ? EIO : 0;
    close(fd);
    return e ? -e : (ssize_t)count;
}

static int unplug(const tree *t, const char *dev);

/* remove_store(): a non-zero number removes the device. */
static ssize_t store_remove(const tree *t, const char *dev, const char *buf,
                            size_t count)
{
    unsigned long long v;
    int e;

    if (kstrtoull0(buf, &v))
        return -EINVAL;
    if (!v)
        return (ssize_t)count;
    e = unplug(t, dev);
    return e ? -e : (ssize_t)count;
}

/* Is dev a VF whose PF has autoprobe off (pci_device_can_probe() false)? */
static bool vf_probe_blocked(const tree *t, const char *dev)
{
    char pf[64], v[16], ovr[128];

    if (read_link_name(t, dev, "physfn", pf, sizeof(pf)))
        return false;
    if (!read_attr(t, dev, "driver_override", ovr, sizeof(ovr)) &&
        strcmp(ovr, "(null)\n"))
        return false;
    return !read_attr(t, pf, "sriov_drivers_autoprobe", v, sizeof(v)) &&
           v[0] == '0';
}

/* bind_store() (drivers/base/bus.c) with pci_bus_match()/pci_device_probe():
 * every fake driver matches every device unless driver_override names
 * another. */
static ssize_t store_bind(const tree *t, const char *driver, const char *buf,
                          size_t count)
{
    char dev[16], ovr[128], cur[128];
    size_t n;
    int e;

    if (!find_device(t, buf, dev))
        return -ENODEV;
    if (!read_attr(t, dev, "driver_override", ovr, sizeof(ovr)) &&
        strcmp(ovr, "(null)\n")) {
        n = strcspn(ovr, "\n");
        if (strlen(driver) != n || strncmp(ovr, driver, n))
            return -ENODEV;
    }
    if (!read_link_name(t, dev, "driver", cur, sizeof(cur)))
        return -EBUSY;
    if (vf_probe_blocked(t, dev))
        return -ENODEV;
    e = attach(t, dev, driver);
    return e ? -e : (ssize_t)count;
}

/* unbind_store(): only from the driver that holds it. A PF driver that
 * leaves SR-IOV enabled on remove leaves the VFs (the kernel warns). */
/* xen-pciback's bus notifier (pci_stub.c, pci_stub_notifier): when a PF's
 * driver is unbound, pciback releases every VF of that PF it holds. */
static void pciback_lets_go_of_vfs(const tree *t, const char *pf)
{
    for (unsigned i = 0; i < 0x10000; i++) {
        char link[32], vf[64], drv[128];

        snprintf(link, sizeof(link), "virtfn%u", i);
        if (read_link_name(t, pf, link, vf, sizeof(vf)))
            break;
        if (!read_link_name(t, vf, "driver", drv, sizeof(drv)) &&
            !strcmp(drv, "pciback"))
            detach(t, vf);
    }
}

static ssize_t store_unbind(const tree *t, const char *driver, const char *buf,
                            size_t count)
{
    char dev[16], cur[128];
    int e;

    if (!find_device(t, buf, dev) ||
        read_link_name(t, dev, "driver", cur, sizeof(cur)) ||
        strcmp(cur, driver))
        return -ENODEV;
    e = detach(t, dev);
    if (!e)
        pciback_lets_go_of_vfs(t, dev);
    return e ? -e : (ssize_t)count;
}

static int unplug(const tree *t, const char *dev)
{
    char pf[64];
    pfinfo *info;
    int e;

    if (!dev_exists(t, dev))
        return ENOENT;
    info = calloc(1, sizeof(*info));
    if (!info)
        return ENOMEM;
    /* a PF takes its VFs along */
    if (!pf_read(t, dev, info)) {
        e = remove_vfs(t, dev, info);
        if (e)
            goto out;
    }
    /* a VF alone: drop the PF's link to it */
    if (!read_link_name(t, dev, "physfn", pf, sizeof(pf))) {
        char *pfdir = dev_realdir(t, pf);
        for (unsigned i = 0; pfdir && i < 0x10000; i++) {
            char link[32], vf[64];
            snprintf(link, sizeof(link), "virtfn%u", i);
            if (read_link_name(t, pf, link, vf, sizeof(vf)))
                break;
            if (!strcmp(vf, dev)) {
                del_link(pfdir, link);
                break;
            }
        }
        free(pfdir);
    }
    e = destroy_device(t, dev);
out:
    free(info);
    return e;
}

bool fakesysfs_kernel_is_store(const char *attr)
{
    static const char *const stores[] = {
        "sriov_numvfs",
        "sriov_drivers_autoprobe",
        "driver_override",
        "reset",
        "reset_method",
        "remove",
        "bind",
        "unbind",
    };

    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
        if (!strcmp(attr, stores[i]))
            return true;
    return false;
}

ssize_t fakesysfs_kernel_store(const char *root, const char *dir,
                               const char *attr, const char *buf, size_t len)
{
    size_t rl = strlen(root);
    const char *base = strrchr(dir, '/');
    char *copy = NULL, *drivers = NULL;
    tree t;
    ssize_t ret;
    int e;

    if (!len)
        return 0;
    /* kernfs hands a store at most one page, NUL-terminated */
    if (len > PAGE_SIZE_)
        len = PAGE_SIZE_;
    if (!base || strncmp(dir, root, rl) || dir[rl] != '/')
        return -EIO;
    base++;
    copy = malloc(len + 1);
    drivers = xasprintf("%s/bus/pci/drivers", root);
    if (!copy || !drivers) {
        free(copy);
        free(drivers);
        return -ENOMEM;
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';
    e = tree_lock(&t, root);
    if (e) {
        ret = -e;
        goto out;
    }
    if (!strncmp(dir, drivers, strlen(drivers)) &&
        dir + strlen(drivers) == base - 1) {
        if (!strcmp(attr, "bind"))
            ret = store_bind(&t, base, copy, len);
        else if (!strcmp(attr, "unbind"))
            ret = store_unbind(&t, base, copy, len);
        else
            ret = -EIO;
    } else if (!dev_exists(&t, base)) {
        ret = -ENODEV;
    } else if (!strcmp(attr, "sriov_numvfs")) {
        ret = store_numvfs(&t, base, copy, len);
    } else if (!strcmp(attr, "sriov_drivers_autoprobe")) {
        ret = store_autoprobe(&t, base, copy, len);
    } else if (!strcmp(attr, "driver_override")) {
        ret = store_override(&t, base, copy, len);
    } else if (!strcmp(attr, "reset")) {
        ret = store_reset(&t, base, copy, len);
    } else if (!strcmp(attr, "reset_method")) {
        ret = store_reset_method(&t, base, copy, len);
    } else if (!strcmp(attr, "remove")) {
        ret = store_remove(&t, base, copy, len);
    } else {
        ret = -EIO;
    }
    tree_unlock(&t);
out:
    free(copy);
    free(drivers);
    return ret;
}

char *fakesysfs_find_root(const char *dir)
{
    char *p = strdup(dir);
    struct stat st;

    while (p && *p) {
        char *s = xasprintf("%s/" STATE_DIR, p), *slash;
        bool found = s && stat(s, &st) == 0 && S_ISDIR(st.st_mode);
        free(s);
        if (found)
            return p;
        slash = strrchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
    free(p);
    return NULL;
}

/* ---- builder API --------------------------------------------------- */

void fakesysfs_spec_init(fakesysfs_dev_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
}

static int make_skeleton(const char *root)
{
    static const char *const dirs[] = {
        "devices",
        "bus/pci/devices",
        "bus/pci/drivers",
        STATE_DIR "/drivers",
        STATE_DIR "/vf_driver",
    };
    char *p;
    int e = 0;

    for (size_t i = 0; !e && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        p = xasprintf("%s/%s", root, dirs[i]);
        e = p ? mkdir_p(p, 0755) : ENOMEM;
        free(p);
    }
    p = xasprintf("%s/" STATE_DIR, root);
    if (!e)
        e = p ? put_file(p, "lock", "", 0, 0644) : ENOMEM;
    free(p);
    p = xasprintf("%s/bus/pci", root);
    if (!e)
        e = p ? put_str(p, "drivers_autoprobe", 0644, "1\n") : ENOMEM;
    free(p);
    return e;
}

/* Where trees go: $TMPDIR, else /dev/shm (a tree is thousands of small
 * files and links: tmpfs makes them 10-50x faster than a busy ext4), else
 * /tmp. */
static const char *tree_parent(void)
{
    const char *tmp = getenv("TMPDIR");
    struct stat st;

    if (tmp && *tmp)
        return tmp;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

int fakesysfs_new(fakesysfs **out)
{
    const char *tmp = tree_parent();
    fakesysfs *fs = calloc(1, sizeof(*fs));
    char *tpl = NULL, *root = NULL;
    int e = ENOMEM;

    if (!fs)
        return ENOMEM;
    tpl = xasprintf("%s/xenvf-fakesysfs-XXXXXX", tmp);
    if (!tpl)
        goto out;
    if (!mkdtemp(tpl) || !(root = realpath(tpl, NULL))) {
        e = errno;
        goto out;
    }
    e = make_skeleton(root);
    if (e) {
        rm_rf(root);
        goto out;
    }
    fs->root = root;
    fs->owned = true;
    fs->owner = getpid();
    if (!leftovers_hooked)
        leftovers_hooked = atexit(remove_leftovers) == 0;
    fs->next = owned_trees;
    owned_trees = fs;
    root = NULL;
    *out = fs;
    fs = NULL;
out:
    free(tpl);
    free(root);
    free(fs);
    return e;
}

int fakesysfs_attach(const char *root, fakesysfs **out)
{
    fakesysfs *fs;
    char *r = realpath(root, NULL), *found;

    if (!r)
        return errno;
    found = fakesysfs_find_root(r);
    if (!found || strcmp(found, r)) {
        free(found);
        free(r);
        return ENOENT;
    }
    free(found);
    fs = calloc(1, sizeof(*fs));
    if (!fs) {
        free(r);
        return ENOMEM;
    }
    fs->root = r;
    *out = fs;
    return 0;
}

const char *fakesysfs_root(const fakesysfs *fs)
{
    return fs->root;
}

void fakesysfs_free(fakesysfs *fs)
{
    if (!fs)
        return;
    for (fakesysfs **p = &owned_trees; *p; p = &(*p)->next) {
        if (*p == fs) {
            *p = fs->next;
            break;
        }
    }
    if (fs->owned && !getenv("FAKESYSFS_KEEP"))
        rm_rf(fs->root);
    free(fs->root);
    free(fs);
}

int fakesysfs_add_driver(fakesysfs *fs, const char *name, bool sriov_configure)
{
    tree t;
    int e = tree_lock(&t, fs->root);

    if (e)
        return e;
    e = ensure_driver(&t, name, sriov_configure);
    tree_unlock(&t);
    return e;
}

int fakesysfs_add(fakesysfs *fs, const char *bdf,
                  const fakesysfs_dev_spec *spec)
{
    unsigned seg, bus, dev, fn;
    devinfo *di = NULL;
    char *dir = NULL, *meta = NULL;
    tree t;
    int e;

    if (parse_bdf(bdf, &seg, &bus, &dev, &fn) || check_spec(spec))
        return EINVAL;
    e = tree_lock(&t, fs->root);
    if (e)
        return e;
    if (dev_exists(&t, bdf)) {
        e = EEXIST;
        goto out;
    }
    di = calloc(1, sizeof(*di));
    dir = xasprintf("%s/devices/pci%04x:00/%s", fs->root, seg, bdf);
    meta = xasprintf("%s/" STATE_DIR "/vf_driver", fs->root);
    if (!di || !dir || !meta) {
        e = ENOMEM;
        goto out;
    }
    build_pf(di, seg, bdf_rid(bus, dev, fn), spec);
    di->spec = spec;
    if (spec->driver)
        e = ensure_driver(&t, spec->driver, -1);
    if (!e && spec->total_vfs && spec->vf_driver)
        e = put_str(meta, bdf, 0644, "%s\n", spec->vf_driver);
    if (!e)
        e = create_device(&t, dir, bdf, di, spec->driver);
    if (e)
        destroy_device(&t, bdf);
out:
    tree_unlock(&t);
    free(di);
    free(dir);
    free(meta);
    return e;
}

int fakesysfs_add_device(fakesysfs *fs, const char *bdf, uint16_t vendor,
                         uint16_t device, uint32_t class_code,
                         const char *driver)
{
    fakesysfs_dev_spec s;

    fakesysfs_spec_init(&s);
    s.vendor = vendor;
    s.device = device;
    s.class_code = class_code;
    s.driver = driver;
    return fakesysfs_add(fs, bdf, &s);
}

int fakesysfs_add_pf(fakesysfs *fs, const char *bdf, uint16_t vendor,
                     uint16_t device, uint32_t class_code, uint16_t total_vfs,
                     uint16_t vf_offset, uint16_t vf_stride, uint16_t vf_device,
                     const uint64_t vf_bar_size[FAKESYSFS_NR_VF_BARS],
                     const char *driver)
{
    fakesysfs_dev_spec s;

    fakesysfs_spec_init(&s);
    s.vendor = vendor;
    s.device = device;
    s.class_code = class_code;
    s.total_vfs = total_vfs;
    s.vf_offset = vf_offset;
    s.vf_stride = vf_stride;
    s.vf_device = vf_device;
    if (vf_bar_size)
        memcpy(s.vf_bar_size, vf_bar_size, sizeof(s.vf_bar_size));
    s.driver = driver;
    return fakesysfs_add(fs, bdf, &s);
}

int fakesysfs_remove_device(fakesysfs *fs, const char *bdf)
{
    tree t;
    int e = tree_lock(&t, fs->root);

    if (e)
        return e;
    e = unplug(&t, bdf);
    tree_unlock(&t);
    return e;
}

int fakesysfs_read_config(fakesysfs *fs, const char *bdf,
                          uint8_t buf[FAKESYSFS_CONFIG_SIZE])
{
    tree t = {.root = fs->root, .lock_fd = -1};

    return config_io(&t, bdf, 0, buf, FAKESYSFS_CONFIG_SIZE, false);
}

int fakesysfs_write_config(fakesysfs *fs, const char *bdf, unsigned offset,
                           const void *data, size_t len)
{
    tree t;
    int e = tree_lock(&t, fs->root);

    if (e)
        return e;
    e = config_io(&t, bdf, offset, (void *)data, len, true);
    tree_unlock(&t);
    return e;
}

int fakesysfs_reset_count(fakesysfs *fs, const char *bdf, unsigned *out)
{
    char *p = xasprintf("%s/" STATE_DIR "/resets", fs->root);
    char line[64];
    FILE *f;

    *out = 0;
    if (!p)
        return ENOMEM;
    f = fopen(p, "re");
    free(p);
    if (!f)
        return errno == ENOENT ? 0 : errno;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, bdf, 12) && line[12] == '\n')
            (*out)++;
    fclose(f);
    return 0;
}

/* ---- running under the stand-in ------------------------------------ */

bool fakesysfs_kernel_active(void)
{
    return dlsym(RTLD_DEFAULT, "fakesysfs_kernel_loaded") != NULL;
}

char *fakesysfs_kernel_so(void)
{
    const char *env = getenv(FAKESYSFS_ENV_SO);
    char exe[PATH_MAX], *p, *so;
    ssize_t n;

    if (env && *env)
        return access(env, R_OK) == 0 ? strdup(env) : NULL;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return NULL;
    exe[n] = '\0';
    /* <build>/tests/<tier>/<binary> -> <build>/tests/harness/ */
    for (int i = 0; i < 2; i++) {
        p = strrchr(exe, '/');
        if (!p)
            return NULL;
        *p = '\0';
    }
    so = xasprintf("%s/harness/fakesysfs-kernel.so", exe);
    if (so && access(so, R_OK)) {
        free(so);
        so = NULL;
    }
    return so;
}

int fakesysfs_kernel_reexec(char **argv)
{
    const char *tmp = tree_parent(), *pre = getenv("LD_PRELOAD");
    const char *asan = getenv("ASAN_OPTIONS");
    char *so, *preload, *asan_opts, *root, exe[PATH_MAX];
    ssize_t n;

    if (fakesysfs_kernel_active())
        return 0;
    if (getenv("FAKESYSFS_REEXECED"))
        return ELIBACC;
    so = fakesysfs_kernel_so();
    if (!so)
        return ENOENT;
    /* ":" as valgrind writes it: it edits LD_PRELOAD on exec by ":" */
    preload = pre && *pre ? xasprintf("%s:%s", pre, so) : strdup(so);
    asan_opts = asan && *asan ? xasprintf("%s:verify_asan_link_order=0", asan)
                              : strdup("verify_asan_link_order=0");
    root = realpath(tmp, NULL);
    if (preload && asan_opts && root) {
        setenv("LD_PRELOAD", preload, 1);
        setenv("ASAN_OPTIONS", asan_opts, 1);
        if (!getenv(FAKESYSFS_ENV_ROOT))
            setenv(FAKESYSFS_ENV_ROOT, root, 1);
        setenv(FAKESYSFS_ENV_SO, so, 1);
        setenv("FAKESYSFS_REEXECED", "1", 1);
        /* by name, not /proc/self/exe: under valgrind that is valgrind */
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
            exe[n] = '\0';
            execv(exe, argv);
        }
    }
    free(so);
    free(preload);
    free(asan_opts);
    free(root);
    return errno ? errno : ENOMEM;
}
