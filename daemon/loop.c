/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The event loop: one poll() over every registered descriptor, no timeout.
 * Callbacks may add and remove entries (the socket server does, per
 * client); removal only marks the entry, so the array being walked never
 * moves under them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/file.h>
#include <xenvf/proto.h>

#include "xenvfd.h"

typedef struct loop_ent {
    int fd; /* -1: removed */
    short events;
    xenvfd_fd_cb *cb;
    void *opaque;
} loop_ent;

static loop_ent *ents;
static size_t nr_ents, cap_ents;
static bool stopping;
static int stop_code;

int xenvfd_loop_add(int fd, short events, xenvfd_fd_cb *cb, void *opaque)
{
    if (nr_ents == cap_ents) {
        size_t cap = cap_ents ? cap_ents * 2 : 16;
        loop_ent *n = reallocarray(ents, cap, sizeof(*n));

        if (!n)
            return XENVF_ENOMEM;
        ents = n;
        cap_ents = cap;
    }
    ents[nr_ents++] = (loop_ent){fd, events, cb, opaque};
    return 0;
}

void xenvfd_loop_del(int fd)
{
    for (size_t i = 0; i < nr_ents; i++)
        if (ents[i].fd == fd)
            ents[i].fd = -1;
}

void xenvfd_loop_set_events(int fd, short events)
{
    for (size_t i = 0; i < nr_ents; i++)
        if (ents[i].fd == fd)
            ents[i].events = events;
}

void xenvfd_loop_stop(int code)
{
    stopping = true;
    stop_code = code;
}

static void compact(void)
{
    size_t j = 0;

    for (size_t i = 0; i < nr_ents; i++)
        if (ents[i].fd >= 0)
            ents[j++] = ents[i];
    nr_ents = j;
}

int xenvfd_loop_run(void)
{
    struct pollfd *pfds = NULL;
    size_t cap = 0;

    while (!stopping) {
        size_t n;
        int r;

        compact();
        n = nr_ents;
        if (n > cap) {
            struct pollfd *p = reallocarray(pfds, n, sizeof(*p));
            if (!p) {
                LOG(ERROR, "out of memory");
                stop_code = 1;
                break;
            }
            pfds = p;
            cap = n;
        }
        for (size_t i = 0; i < n; i++)
            pfds[i] =
                (struct pollfd){.fd = ents[i].fd, .events = ents[i].events};
        r = poll(pfds, n, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            LOG(ERROR, "poll: %m");
            stop_code = 1;
            break;
        }
        for (size_t i = 0; i < n && !stopping; i++) {
            /* an earlier callback may have removed or replaced this fd */
            if (!pfds[i].revents || ents[i].fd != pfds[i].fd)
                continue;
            ents[i].cb(ents[i].opaque, pfds[i].fd, pfds[i].revents);
        }
    }
    free(pfds);
    free(ents);
    ents = NULL;
    nr_ents = cap_ents = 0;
    return stop_code;
}

/* Defaults of every flag (main.c parses them; tests and benchmarks
 * start from here too). */
void xenvfd_config_init(xenvfd_config *cfg)
{
    const char *sock = getenv(XENVF_TCB_SOCKET_ENV);

    memset(cfg, 0, sizeof(*cfg));
    cfg->map_path = XENVFD_MAP_PATH;
    cfg->state_dir = XENVFD_STATE_DIR;
    cfg->socket_path = sock && *sock ? sock : XENVF_TCB_SOCKET;
    cfg->sysfs_root = NULL;
    cfg->dev_dir = "/dev";
    cfg->bind_driver = XENVFD_BIND_DRIVER;
    cfg->vf_wait_ms = 10000;
    cfg->nvme_vq = 2;
    cfg->nvme_vi = 1;
    cfg->agent_backend = "auto";
    cfg->uevents = true;
    cfg->stats_interval_s = 15; /* xenvf-metrics.timer's period */
}
