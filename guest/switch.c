/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The guest's side of the I/O switch (guest.h, xenvf/switch.h,
 * docs/migration.md): a device-mapper device over the VF's namespace,
 * moved to the PV disk dom0 offers before the domain leaves its VF and
 * back to a VF after. The device-mapper work is ops' (dm.c in a guest).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenvf/file.h>
#include <xenvf/switch.h>
#include <xenvf/sysfs.h>

#include "guest.h"

static const char *dev_dir(const guest_switch *s)
{
    return s->dev_dir ? s->dev_dir : "/dev";
}

static const char *sys_block(const guest_switch *s)
{
    return s->sys_block ? s->sys_block : "/sys/class/block";
}

/* The last part of a path: /dev/nvme0n2 -> nvme0n2 */
static const char *base(const char *path)
{
    const char *b = strrchr(path, '/');

    return b ? b + 1 : path;
}

/* dev's namespace wwid into s->wwid ("" when it has none) */
static void read_wwid(guest_switch *s, const char *dev)
{
    char path[GUEST_DEV_MAX + 64], *v = NULL;

    snprintf(path, sizeof(path), "%s/%s/wwid", sys_block(s), base(dev));
    s->wwid[0] = '\0';
    if (!xenvf_sysfs_read_file(path, &v, NULL))
        snprintf(s->wwid, sizeof(s->wwid), "%s", v);
    free(v);
}

/* The VF path now: an NVMe block device whose wwid is the one the switch
 * started on (after a move the VF's controller, and so its name, may be
 * another); without a wwid, the device it started on. */
static int find_vf_dev(guest_switch *s, char *out, size_t len)
{
    char path[GUEST_DEV_MAX + 64], *v;
    struct dirent *e;
    DIR *d;
    int found = 0;

    if (!s->wwid[0]) {
        snprintf(out, len, "%s", s->vf_dev);
        return access(out, F_OK) == 0;
    }
    if (!(d = opendir(sys_block(s))))
        return 0;
    while (!found && (e = readdir(d))) {
        if (strncmp(e->d_name, "nvme", 4))
            continue;
        v = NULL;
        if (snprintf(path, sizeof(path), "%s/%s/wwid", sys_block(s),
                     e->d_name) < (int)sizeof(path) &&
            !xenvf_sysfs_read_file(path, &v, NULL) && !strcmp(v, s->wwid)) {
            found =
                snprintf(out, len, "%s/%s", dev_dir(s), e->d_name) < (int)len &&
                access(out, F_OK) == 0;
        }
        free(v);
    }
    closedir(d);
    return found;
}

static int pv_dev(guest_switch *s, const char *vdev, char *out, size_t len)
{
    return snprintf(out, len, "%s/%s", dev_dir(s), vdev) < (int)len &&
           access(out, F_OK) == 0;
}

/* Wait (s->wait_ms) for the request's path to appear and answer a read:
 * blkfront and the nvme driver probe after dom0 attached the device, and
 * after a restore the VF's controller was reset under the guest's driver,
 * which must recover before I/O may go there again. */
static int target_dev(const guest_dm_ops *ops, guest_switch *s,
                      const xenvf_switch_request *r, char *out, size_t len)
{
    int64_t end = xenvf_now_ms() + s->wait_ms;

    for (;;) {
        if ((r->to == XENVF_PATH_PV ? pv_dev(s, r->vdev, out, len)
                                    : find_vf_dev(s, out, len)) &&
            !ops->probe(ops->ctx, out, NULL))
            return 1;
        if (xenvf_now_ms() >= end)
            return 0;
        usleep(50 * 1000);
    }
}

static int answer(xenvf_xs *xs, uint32_t domid, unsigned local,
                  const xenvf_switch_state *st, xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX], text[XENVF_SWITCH_STATE_MAX];

    xenvf_switch_state_format(st, text);
    xenvf_xs_guest_path(path, domid, "/vf/%u/" XENVF_SWITCH_NODE, local);
    return xenvf_xs_write(xs, path, text, err);
}

int guest_switch_start(const guest_dm_ops *ops, guest_switch *s, xenvf_xs *xs,
                       uint32_t domid, unsigned local, const char *dev,
                       xenvf_err *err)
{
    xenvf_switch_state st = {
        .kind = XENVF_SWITCH_ON, .on = XENVF_PATH_VF, .paused_us = -1};
    int rc;

    s->local = local;
    snprintf(s->name, sizeof(s->name), "xenvf-vf%u", local);
    if (strlen(dev) >= sizeof(s->vf_dev))
        return xenvf_err_set(err, XENVF_EINVAL, "%.40s...: name too long", dev);
    snprintf(s->vf_dev, sizeof(s->vf_dev), "%s", dev);
    read_wwid(s, dev);
    if ((rc = ops->size(ops->ctx, dev, &s->sectors, err)) ||
        (rc = ops->create(ops->ctx, s->name, dev, s->sectors, err))) {
        xenvf_err_prepend(err, "vf[%u]: %s over %s: ", local, s->name, dev);
        return rc;
    }
    s->on = XENVF_PATH_VF;
    return answer(xs, domid, local, &st, err);
}

int guest_switch_announce(guest_switch *s, xenvf_xs *xs, uint32_t domid,
                          xenvf_err *err)
{
    xenvf_switch_state st = {
        .kind = XENVF_SWITCH_ON, .on = (xenvf_io_path)s->on, .paused_us = -1};

    return answer(xs, domid, s->local, &st, err);
}

int guest_switch_handle(const guest_dm_ops *ops, guest_switch *s, xenvf_xs *xs,
                        uint32_t domid, const char *request, xenvf_err *err)
{
    xenvf_switch_state st = {.kind = XENVF_SWITCH_ERROR, .paused_us = -1};
    xenvf_switch_request r;
    char dev[GUEST_DEV_MAX];
    uint64_t sectors;
    xenvf_err why;

    xenvf_err_init(&why);
    if (xenvf_switch_request_parse(request, &r, &why))
        goto refuse;
    if ((int)r.to == s->on &&
        (r.to == XENVF_PATH_PV ? !strcmp(r.vdev, s->vdev)
                               : access(s->vf_dev, F_OK) == 0)) {
        st.kind = XENVF_SWITCH_ON; /* there already */
        st.on = r.to;
        return answer(xs, domid, s->local, &st, err);
    }
    if (!target_dev(ops, s, &r, dev, sizeof(dev))) {
        xenvf_err_set(&why, XENVF_ENOENT,
                      r.to == XENVF_PATH_PV
                          ? "no readable PV disk %s after %d ms"
                          : "the VF's namespace (%s) was not back and "
                            "readable in %d ms",
                      r.to == XENVF_PATH_PV ? r.vdev
                      : s->wwid[0]          ? s->wwid
                                            : s->vf_dev,
                      s->wait_ms);
        goto refuse;
    }
    if (ops->size(ops->ctx, dev, &sectors, &why))
        goto refuse;
    if (sectors < s->sectors) {
        xenvf_err_set(&why, XENVF_EINVAL, "%s has %llu sectors, %s needs %llu",
                      dev, (unsigned long long)sectors, s->name,
                      (unsigned long long)s->sectors);
        goto refuse;
    }
    if (ops->swap(ops->ctx, s->name, dev, s->sectors, &st.paused_us, &why))
        goto refuse;
    s->on = (int)r.to;
    if (r.to == XENVF_PATH_VF)
        snprintf(s->vf_dev, sizeof(s->vf_dev), "%s", dev);
    else
        memcpy(s->vdev, r.vdev, sizeof(s->vdev));
    st.kind = XENVF_SWITCH_ON;
    st.on = r.to;
    return answer(xs, domid, s->local, &st, err);
refuse:
    st.paused_us = -1;
    snprintf(st.msg, sizeof(st.msg), "%s: %.180s; its I/O stays on the %s path",
             s->name, why.msg, s->on == XENVF_PATH_PV ? "PV" : "VF");
    return answer(xs, domid, s->local, &st, err);
}
