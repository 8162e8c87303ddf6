/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The map file: watched with inotify on its directory (writers replace it
 * by rename, which a watch on the file itself would lose), loaded and
 * checked with libxenvf (schema, then the semantic rules); the rules that
 * need the hardware and the TCB's records are the planner's.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "tcb.h"

int tcb_map_load(tcb *t, xenvf_map *out, xenvf_err *err)
{
    if (access(t->cfg->map_path, F_OK) && errno == ENOENT)
        return xenvf_err_set(err, XENVF_ENOENT, "no map at %s",
                             t->cfg->map_path);
    return xenvf_map_parse_file(t->cfg->map_path, out, err);
}

static void map_event(void *opaque, int fd, short revents)
{
    tcb *t = opaque;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    char copy[PATH_MAX];
    const char *base;
    bool changed = false;

    snprintf(copy, sizeof(copy), "%s", t->cfg->map_path);
    base = basename(copy);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            p += sizeof(*ev) + ev->len;
            if (ev->len && !strcmp(ev->name, base))
                changed = true;
        }
    }
    if (changed) {
        LOG(INFO, "map %s changed", t->cfg->map_path);
        tcb_reload(t, NULL);
    }
}

int tcb_map_watch_start(tcb *t, xenvf_err *err)
{
    char copy[PATH_MAX];
    int rc;

    snprintf(copy, sizeof(copy), "%s", t->cfg->map_path);
    t->map_ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->map_ino_fd < 0)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "inotify_init1");
    /* close-after-write (an editor) and rename-into-place (an atomic
     * writer such as xenvf_map_write_file), and removal */
    t->map_dir_wd = inotify_add_watch(t->map_ino_fd, dirname(copy),
                                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
                                          IN_MOVED_FROM);
    if (t->map_dir_wd < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno,
                                 "watch the directory of %s", t->cfg->map_path);
        tcb_map_watch_stop(t);
        return rc;
    }
    return xenvfd_loop_add(t->map_ino_fd, POLLIN, map_event, t);
}

void tcb_map_watch_stop(tcb *t)
{
    if (t->map_ino_fd >= 0) {
        xenvfd_loop_del(t->map_ino_fd);
        close(t->map_ino_fd);
    }
    t->map_ino_fd = t->map_dir_wd = -1;
}
