/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * NVMe admin commands on a PF's controller (xenvf/nvme.h). Verified only in
 * the QEMU tier (QEMU's nvme with sriov_max_vfs); the unit tests check the
 * commands against a scripted controller (xenvf_nvme_set_transport) and
 * the sysfs lookups against a fake sysfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <xenvf/log.h>
#include <xenvf/nvme.h>
#include <xenvf/sysfs.h>

#define NVME_ADMIN_IDENTIFY  0x06
#define NVME_ADMIN_NS_ATTACH 0x15
#define CNS_CTRL             0x01
#define ID_CTRL_CNTLID       78 /* Identify Controller: CNTLID, 2 bytes */
#define NS_ATTACH            0
#define NS_DETACH            1

/* The ioctl's status is the CQE's status field: DNR, More and CRD above
 * the Status Code Type and Status Code that name the problem. */
#define SC_MASK                0x7ff
#define SC_NS_ALREADY_ATTACHED 0x118
#define SC_NS_NOT_ATTACHED     0x11a

static int ioctl_admin(void *ctx, int fd, unsigned long req,
                       struct nvme_admin_cmd *cmd)
{
    int r = cmd ? ioctl(fd, req, cmd) : ioctl(fd, req);

    (void)ctx;
    return r < 0 ? -errno : r;
}

static xenvf_nvme_admin_fn *admin_fn = ioctl_admin;
static void *admin_ctx;

void xenvf_nvme_set_transport(xenvf_nvme_admin_fn *fn, void *ctx)
{
    admin_fn = fn ? fn : ioctl_admin;
    admin_ctx = ctx;
}

static const struct {
    unsigned sc;
    const char *name;
} status_names[] = {
    {0x001, "Invalid Command Opcode"},
    {0x002, "Invalid Field in Command"},
    {0x00b, "Invalid Namespace or Format"},
    {0x115, "Namespace Insufficient Capacity"},
    {0x116, "Namespace Identifier Unavailable"},
    {0x118, "Namespace Already Attached"},
    {0x119, "Namespace Is Private"},
    {0x11a, "Namespace Not Attached"},
    {0x11c, "Controller List Invalid"},
};

int xenvf_nvme_admin_sc(int fd, struct nvme_admin_cmd *cmd, const char *what,
                        unsigned *sc, xenvf_err *err)
{
    int r = admin_fn(admin_ctx, fd, NVME_IOCTL_ADMIN_CMD, cmd);

    *sc = r > 0 ? (unsigned)r & SC_MASK : 0;
    if (r < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, -r, "nvme %s", what);
    return 0;
}

int xenvf_nvme_status_err(unsigned sc, const char *what, xenvf_err *err)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (status_names[i].sc == sc)
            return xenvf_err_set(err, XENVF_EIO,
                                 "nvme %s: NVMe status 0x%x (%s)", what, sc,
                                 status_names[i].name);
    return xenvf_err_set(err, XENVF_EIO, "nvme %s: NVMe status 0x%x", what, sc);
}

int xenvf_nvme_admin(int fd, struct nvme_admin_cmd *cmd, const char *what,
                     xenvf_err *err)
{
    unsigned sc;
    int rc = xenvf_nvme_admin_sc(fd, cmd, what, &sc, err);

    return rc ? rc : sc ? xenvf_nvme_status_err(sc, what, err) : 0;
}

/* The two directions of Namespace Attachment, by its select field. */
static const struct {
    const char *what, *to, *done;
    unsigned already; /* the status that says it is so already */
} attachment[] = {
    [NS_ATTACH] = {"namespace attach", "to", "attached to",
                   SC_NS_ALREADY_ATTACHED},
    [NS_DETACH] = {"namespace detach", "from", "detached from",
                   SC_NS_NOT_ATTACHED},
};

int xenvf_nvme_ns_attachment(int fd, bool attach, uint32_t nsid,
                             uint16_t cntlid, uint8_t *buf, xenvf_err *err)
{
    unsigned sel = attach ? NS_ATTACH : NS_DETACH;
    struct nvme_admin_cmd cmd = {.opcode = NVME_ADMIN_NS_ATTACH,
                                 .nsid = nsid,
                                 .cdw10 = sel,
                                 .addr = (uint64_t)(uintptr_t)buf,
                                 .data_len = XENVF_NVME_ID_SIZE};
    const char *what = attachment[sel].what;
    unsigned sc;
    int rc;

    /* a Controller List: the number of ids, then the ids (16 bits each) */
    memset(buf, 0, XENVF_NVME_ID_SIZE);
    buf[0] = 1;
    buf[2] = cntlid & 0xff;
    buf[3] = cntlid >> 8;
    if ((rc = xenvf_nvme_admin_sc(fd, &cmd, what, &sc, err)))
        return rc;
    if (sc == attachment[sel].already)
        return 0;
    if (sc) {
        xenvf_nvme_status_err(sc, what, err);
        xenvf_err_prepend(err, "namespace %u %s controller %u: ", nsid,
                          attachment[sel].to, cntlid);
        return XENVF_EIO;
    }
    LOG(INFO, "nvme: namespace %u %s controller %u", nsid, attachment[sel].done,
        cntlid);
    return 0;
}

int xenvf_nvme_cntlid(int fd, uint16_t *cntlid, xenvf_err *err)
{
    uint8_t *buf = aligned_alloc(4096, XENVF_NVME_ID_SIZE);
    struct nvme_admin_cmd cmd = {.opcode = NVME_ADMIN_IDENTIFY,
                                 .cdw10 = CNS_CTRL,
                                 .data_len = XENVF_NVME_ID_SIZE};
    int rc;

    if (!buf)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    memset(buf, 0, XENVF_NVME_ID_SIZE);
    cmd.addr = (uint64_t)(uintptr_t)buf;
    rc = xenvf_nvme_admin(fd, &cmd, "identify controller", err);
    if (!rc)
        *cntlid =
            (uint16_t)(buf[ID_CTRL_CNTLID] | buf[ID_CTRL_CNTLID + 1] << 8);
    free(buf);
    return rc;
}

int xenvf_nvme_open(const char *sysfs_root, const char *dev_dir,
                    const xenvf_bdf *bdf, char name[XENVF_NVME_NAME_MAX],
                    xenvf_err *err)
{
    char *dir = NULL, path[PATH_MAX] = "", bdf_text[XENVF_BDF_STR_MAX];
    struct dirent *de;
    DIR *d;
    int rc, fd;

    xenvf_bdf_format(bdf, bdf_text);
    if ((rc = xenvf_sysfs_dev_path(sysfs_root, bdf, "nvme", &dir, err)))
        return -rc;
    d = opendir(dir);
    free(dir);
    if (!d)
        return -xenvf_err_set_errno(err, XENVF_ENOENT, errno,
                                    "%s: no NVMe controller", bdf_text);
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "nvme", 4) &&
            strlen(de->d_name) < XENVF_NVME_NAME_MAX) {
            snprintf(path, sizeof(path), "%s/%s", dev_dir, de->d_name);
            if (name)
                snprintf(name, XENVF_NVME_NAME_MAX, "%s", de->d_name);
            break;
        }
    closedir(d);
    if (!path[0])
        return -xenvf_err_set(err, XENVF_ENOENT, "%s: no NVMe controller",
                              bdf_text);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -xenvf_err_set_errno(err, XENVF_EIO, errno, "open %s", path);
    return fd;
}

/* "nvme0c1n2" (a hidden multipath path) -> "nvme0n2" (its head) */
static void head_name(const char *path_name, char name[XENVF_NVME_NAME_MAX])
{
    const char *c = strchr(path_name + 4, 'c'), *n = strrchr(path_name, 'n');

    if (c && n && n > c)
        snprintf(name, XENVF_NVME_NAME_MAX, "%.*s%s", (int)(c - path_name),
                 path_name, n);
    else
        snprintf(name, XENVF_NVME_NAME_MAX, "%s", path_name);
}

int xenvf_nvme_ns_block(const char *sysfs_root, const char *ctrl, uint32_t nsid,
                        char name[XENVF_NVME_NAME_MAX], xenvf_err *err)
{
    char dir[PATH_MAX - 64], attr[PATH_MAX], *text = NULL;
    const char *root = sysfs_root ? sysfs_root : "/sys";
    struct dirent *de;
    DIR *d;
    int rc = XENVF_ENOENT;

    snprintf(dir, sizeof(dir), "%s/class/nvme/%s", root, ctrl);
    if (!(d = opendir(dir)))
        return xenvf_err_set_errno(err, XENVF_ENOENT, errno, "%s", dir);
    /* a namespace of the controller: nvme<i>n<j> or nvme<i>c<k>n<j> */
    while (rc == XENVF_ENOENT && (de = readdir(d))) {
        unsigned long v;
        char *end;

        if (strncmp(de->d_name, "nvme", 4) || !strchr(de->d_name + 4, 'n') ||
            strlen(de->d_name) >= XENVF_NVME_NAME_MAX)
            continue;
        snprintf(attr, sizeof(attr), "%s/%s/nsid", dir, de->d_name);
        if (xenvf_sysfs_read_file(attr, &text, NULL))
            continue;
        errno = 0;
        v = strtoul(text, &end, 10);
        if (!errno && end != text && v == nsid) {
            head_name(de->d_name, name);
            rc = 0;
        }
        free(text);
        text = NULL;
    }
    closedir(d);
    if (rc)
        return xenvf_err_set(err, XENVF_ENOENT,
                             "no block device of namespace %u on %s", nsid,
                             ctrl);
    return 0;
}

int xenvf_nvme_ns_wwid(const char *sysfs_root, const char *name,
                       char wwid[XENVF_NVME_WWID_MAX], xenvf_err *err)
{
    char path[PATH_MAX], *text = NULL;
    size_t n;
    int rc;

    snprintf(path, sizeof(path), "%s/block/%s/wwid",
             sysfs_root ? sysfs_root : "/sys", name);
    if ((rc = xenvf_sysfs_read_file(path, &text, err)))
        return rc;
    n = strcspn(text, " \n");
    if (!n || n >= XENVF_NVME_WWID_MAX)
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: %s wwid", path,
                           n ? "too long a" : "an empty");
    else if (strspn(text, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") < n)
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: a wwid of odd bytes: '%.*s'",
                           path, (int)n, text);
    else
        snprintf(wwid, XENVF_NVME_WWID_MAX, "%.*s", (int)n, text);
    free(text);
    return rc;
}

int xenvf_nvme_rescan(int fd, xenvf_err *err)
{
    int r = admin_fn(admin_ctx, fd, NVME_IOCTL_RESCAN, NULL);

    if (r < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, -r, "nvme ns-rescan");
    return 0;
}
