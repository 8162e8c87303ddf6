/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The switch's device-mapper work with libdevmapper (guest.h): a linear
 * table over one block device; a move loads the new table, suspends (the
 * kernel lets the requests in flight complete and holds new ones),
 * resumes on the new table. Guests have no udev in their initramfs:
 * /dev/mapper/<name> is made here (no udev sync; by hand if libdevmapper
 * left it to udev).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libdevmapper.h>

#include <xenvf/file.h>

#include "guest.h"

static int size(void *ctx, const char *dev, uint64_t *sectors, xenvf_err *err)
{
    uint64_t bytes = 0;
    int fd = open(dev, O_RDONLY | O_CLOEXEC), ok;

    (void)ctx;
    if (fd < 0)
        return xenvf_err_set(err, XENVF_ENOENT, "%s: cannot open it", dev);
    ok = ioctl(fd, BLKGETSIZE64, &bytes) == 0;
    close(fd);
    if (!ok || !bytes)
        return xenvf_err_set(err, XENVF_EIO, "%s: no size (BLKGETSIZE64)", dev);
    *sectors = bytes / 512;
    return 0;
}

static int probe(void *ctx, const char *dev, xenvf_err *err)
{
    void *buf = NULL;
    int fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC), ok;

    (void)ctx;
    if (fd < 0)
        return xenvf_err_set(err, XENVF_ENOENT, "%s: cannot open it", dev);
    ok = !posix_memalign(&buf, 4096, 4096) && pread(fd, buf, 4096, 0) == 4096;
    free(buf);
    close(fd);
    return ok ? 0 : xenvf_err_set(err, XENVF_EIO, "%s: a read failed", dev);
}

/* One device-mapper ioctl on name: type, with a linear table of sectors
 * over dev when dev is given. */
static int dm_run(int type, const char *what, const char *name, const char *dev,
                  uint64_t sectors, xenvf_err *err)
{
    struct dm_task *t = dm_task_create(type);
    char params[GUEST_DEV_MAX + 8];
    int ok;

    if (!t)
        return xenvf_err_set(err, XENVF_ENOMEM, "%s %s: no dm task", what,
                             name);
    snprintf(params, sizeof(params), "%s 0", dev ? dev : "");
    ok = dm_task_set_name(t, name) &&
         (!dev || dm_task_add_target(t, 0, sectors, "linear", params)) &&
         dm_task_run(t);
    dm_task_destroy(t);
    if (!ok)
        return xenvf_err_set(err, XENVF_EIO,
                             "device-mapper %s of %s%s%s failed (dm-mod "
                             "loaded?)",
                             what, name, dev ? " onto " : "", dev ? dev : "");
    return 0;
}

/* /dev/mapper/<name> made by hand when libdevmapper did not (it leaves
 * that to udev when it thinks udev runs; guests' initramfs have none). */
static int ensure_node(const char *name, xenvf_err *err)
{
    char path[GUEST_DEV_MAX];
    struct dm_task *t;
    struct dm_info info;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dm_dir(), name);
    if (access(path, F_OK) == 0)
        return 0;
    if (!(t = dm_task_create(DM_DEVICE_INFO)))
        return xenvf_err_set(err, XENVF_ENOMEM, "info %s: no dm task", name);
    ok = dm_task_set_name(t, name) && dm_task_run(t) &&
         dm_task_get_info(t, &info) && info.exists;
    dm_task_destroy(t);
    if (!ok)
        return xenvf_err_set(err, XENVF_EIO, "device-mapper info of %s failed",
                             name);
    if ((mkdir(dm_dir(), 0755) && errno != EEXIST) ||
        mknod(path, S_IFBLK | 0600,
              makedev((unsigned)info.major, (unsigned)info.minor)))
        return xenvf_err_set(err, XENVF_EIO, "%s: cannot make it: %s", path,
                             strerror(errno));
    return 0;
}

static int create(void *ctx, const char *name, const char *dev,
                  uint64_t sectors, xenvf_err *err)
{
    int rc;

    (void)ctx;
    dm_udev_set_sync_support(0);
    rc = dm_run(DM_DEVICE_CREATE, "create", name, dev, sectors, err);
    /* /dev/mapper/<name> now, not when the library is released */
    if (!rc)
        dm_task_update_nodes();
    return rc ? rc : ensure_node(name, err);
}

static int swap(void *ctx, const char *name, const char *dev, uint64_t sectors,
                long *paused_us, xenvf_err *err)
{
    int64_t t0;
    int rc;

    (void)ctx;
    dm_udev_set_sync_support(0);
    if ((rc = dm_run(DM_DEVICE_RELOAD, "table load", name, dev, sectors, err)))
        return rc;
    t0 = xenvf_now_us();
    if ((rc = dm_run(DM_DEVICE_SUSPEND, "suspend", name, NULL, 0, err))) {
        dm_run(DM_DEVICE_CLEAR, "table clear", name, NULL, 0, NULL);
        return rc;
    }
    rc = dm_run(DM_DEVICE_RESUME, "resume", name, NULL, 0, err);
    *paused_us = (long)(xenvf_now_us() - t0);
    return rc;
}

const guest_dm_ops guest_dm_libdevmapper = {
    .size = size, .probe = probe, .create = create, .swap = swap};
