/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Device events for both roles. The real kernel announces PCI devices and
 * driver (un)binding as uevents (NETLINK_KOBJECT_UEVENT, multicast group
 * 1): read here by hand, the format is NUL-separated "KEY=value" lines and
 * libudev would add a dependency for 30 lines. A fake sysfs tree sends no
 * uevents, but it is made of real files, so inotify on bus/pci/devices
 * (links come and go) and on a device's directory (its "driver" link)
 * shows the same things. Real sysfs sends no inotify events, so having
 * both on never reports a change twice.
 */
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xenvf/sysfs.h>

#include "xenvfd.h"

struct devwatch_dev {
    int wd;
    char bdf[XENVF_BDF_STR_MAX];
};

static void dw_report(xenvfd_devwatch *dw, const char *bdf, const char *act)
{
    xenvf_bdf b;

    /* only PCI addresses: the tree holds other names (drivers, ...) */
    if (xenvf_bdf_parse(bdf, &b, NULL))
        return;
    LOG(DEBUG, "device %s: %s", bdf, act);
    dw->cb(dw->opaque, bdf, act);
}

static void dw_inotify(void *opaque, int fd, short revents)
{
    xenvfd_devwatch *dw = opaque;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n <= 0)
            return;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            p += sizeof(*ev) + ev->len;
            if (ev->wd == dw->devices_wd && ev->len) {
                if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                    dw_report(dw, ev->name, "add");
                else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
                    dw_report(dw, ev->name, "remove");
                continue;
            }
            for (size_t i = 0; i < dw->nr_devs; i++) {
                struct devwatch_dev *d = &dw->devs[i];

                if (d->wd != ev->wd)
                    continue;
                if (ev->mask & IN_IGNORED) {
                    d->wd = -1; /* the directory is gone */
                } else if (ev->len && !strcmp(ev->name, "driver")) {
                    dw_report(dw, d->bdf,
                              ev->mask & IN_CREATE ? "bind" : "unbind");
                }
            }
        }
    }
}

bool xenvfd_uevent_parse(const char *buf, size_t len, const char **action,
                         const char **slot)
{
    const char *subsys = NULL, *end = buf + len;

    *action = *slot = NULL;
    /* "action@devpath\0KEY=value\0...": fields end at a NUL or at len */
    for (const char *p = buf; p < end; p += strnlen(p, end - p) + 1) {
        size_t n = strnlen(p, end - p);

        if (p + n == end)
            break; /* a last field without its NUL is cut short: ignore */
        if (!strncmp(p, "ACTION=", 7))
            *action = p + 7;
        else if (!strncmp(p, "SUBSYSTEM=", 10))
            subsys = p + 10;
        else if (!strncmp(p, "PCI_SLOT_NAME=", 14))
            *slot = p + 14;
    }
    return *action && subsys && *slot && !strcmp(subsys, "pci") &&
           (!strcmp(*action, "add") || !strcmp(*action, "remove") ||
            !strcmp(*action, "bind") || !strcmp(*action, "unbind"));
}

/* Kernel uevents: one datagram each. */
static void dw_uevent(void *opaque, int fd, short revents)
{
    xenvfd_devwatch *dw = opaque;
    char buf[8192];

    for (;;) {
        struct sockaddr_nl sa;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh = {.msg_name = &sa,
                            .msg_namelen = sizeof(sa),
                            .msg_iov = &iov,
                            .msg_iovlen = 1};
        const char *action, *slot;
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

        if (n <= 0)
            return;
        if (sa.nl_pid != 0)
            continue; /* only the kernel's, not a forger's */
        if (xenvfd_uevent_parse(buf, (size_t)n, &action, &slot))
            dw_report(dw, slot, action);
    }
}

int xenvfd_devwatch_init(xenvfd_devwatch *dw, const char *root, bool uevents,
                         xenvfd_dev_cb *cb, void *opaque, xenvf_err *err)
{
    char path[PATH_MAX];
    int rc;

    *dw = (xenvfd_devwatch){.root = root ? root : XENVF_SYSFS_ROOT,
                            .ino_fd = -1,
                            .devices_wd = -1,
                            .uev_fd = -1,
                            .cb = cb,
                            .opaque = opaque};
    dw->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (dw->ino_fd < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "inotify_init1");
    snprintf(path, sizeof(path), "%s/bus/pci/devices", dw->root);
    dw->devices_wd = inotify_add_watch(
        dw->ino_fd, path, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM);
    if (dw->devices_wd < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "inotify on %s", path);
        goto fail;
    }
    if ((rc = xenvfd_loop_add(dw->ino_fd, POLLIN, dw_inotify, dw)))
        goto fail;
    if (uevents) {
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};

        dw->uev_fd =
            socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   NETLINK_KOBJECT_UEVENT);
        if (dw->uev_fd < 0 ||
            bind(dw->uev_fd, (struct sockaddr *)&sa, sizeof(sa))) {
            /* not fatal: hot-unplug is then seen at the next rescan */
            LOG(WARN, "no kernel uevents (%m): device removal is noticed "
                      "at the next rescan (SIGHUP) only");
            if (dw->uev_fd >= 0)
                close(dw->uev_fd);
            dw->uev_fd = -1;
        } else if ((rc = xenvfd_loop_add(dw->uev_fd, POLLIN, dw_uevent, dw))) {
            goto fail;
        }
    }
    return 0;
fail:
    xenvfd_devwatch_dispose(dw);
    return rc;
}

int xenvfd_devwatch_add(xenvfd_devwatch *dw, const xenvf_bdf *bdf,
                        xenvf_err *err)
{
    char *path = NULL, *real = NULL;
    struct devwatch_dev *d;
    int rc;

    if ((rc = xenvf_sysfs_dev_path(dw->root, bdf, NULL, &path, err)))
        return rc;
    real = realpath(path, NULL);
    free(path);
    if (!real)
        return xenvf_err_set_errno(err, XENVF_ENOENT, errno, "realpath");
    d = reallocarray(dw->devs, dw->nr_devs + 1, sizeof(*d));
    if (!d) {
        free(real);
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    }
    dw->devs = d;
    d = &dw->devs[dw->nr_devs];
    d->wd = inotify_add_watch(dw->ino_fd, real, IN_CREATE | IN_DELETE);
    free(real);
    if (d->wd < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "inotify_add_watch");
    xenvf_bdf_format(bdf, d->bdf);
    dw->nr_devs++;
    return 0;
}

void xenvfd_devwatch_dispose(xenvfd_devwatch *dw)
{
    if (dw->ino_fd >= 0) {
        xenvfd_loop_del(dw->ino_fd);
        close(dw->ino_fd);
    }
    if (dw->uev_fd >= 0) {
        xenvfd_loop_del(dw->uev_fd);
        close(dw->uev_fd);
    }
    free(dw->devs);
    dw->ino_fd = dw->uev_fd = -1;
    dw->devs = NULL;
    dw->nr_devs = 0;
}
