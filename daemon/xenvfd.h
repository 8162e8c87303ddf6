/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvfd: shared pieces of both roles (docs/xenvfd.md). The event loop is
 * one poll() over the descriptors the roles register: no timers, so an idle
 * daemon sleeps until a map edit, a xenstore watch, a client, a device
 * event or a signal wakes it (the one timer: a PF agent serving a NIC PF
 * reads its VFs' counters every stats_interval_s, a timerfd).
 */
#ifndef XENVFD_H
#define XENVFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/log.h>

#define XENVFD_MAP_PATH    "/etc/xen/xenvf.xml"
#define XENVFD_STATE_DIR   "/var/lib/xenvf"
#define XENVFD_BIND_DRIVER "pciback" /* /sys/bus/pci/drivers/pciback */
#define XENVFD_FAULT_ENV   "XENVF_FAULT"

/* Everything a deployment or a test may move is a flag (main.c). */
typedef struct xenvfd_config {
    bool role_tcb, role_agent;
    const char *map_path;      /* the VF map the TCB owns */
    const char *state_dir;     /* the TCB's persistent state */
    const char *socket_path;   /* the reservation socket */
    const char *sysfs_root;    /* "/sys", or a fake tree in tests */
    const char *dev_dir;       /* where NVMe controllers' nodes are: "/dev" */
    const char *bind_driver;   /* what VFs are made assignable with */
    int vf_wait_ms;            /* bound on waiting for new VFs to appear */
    unsigned nvme_vq, nvme_vi; /* flexible resources per NVMe VF */
    const char *agent_backend; /* "auto", "generic", "nvme", "net" */
    char **agent_pfs;          /* PF ids the agent serves; NULL: all */
    size_t nr_agent_pfs;
    uint32_t agent_domid;      /* the agent's own domid (0 in dom0) */
    bool agent_domid_given;    /* --domid; else read from xenstore ("domid") */
    bool uevents;              /* listen to kernel uevents */
    unsigned stats_interval_s; /* NIC VF counters every N s; 0: never */
} xenvfd_config;

void xenvfd_config_init(xenvfd_config *cfg);

/* ---- the event loop (loop.c) ------------------------------------------ */

typedef void xenvfd_fd_cb(void *opaque, int fd, short revents);

/* Watch fd for events; cb runs from xenvfd_loop_run. One entry per fd. */
int xenvfd_loop_add(int fd, short events, xenvfd_fd_cb *cb, void *opaque);
void xenvfd_loop_del(int fd);
void xenvfd_loop_set_events(int fd, short events);
/* Run until xenvfd_loop_stop; returns its code. */
int xenvfd_loop_run(void);
void xenvfd_loop_stop(int code);

/* ---- fault injection (fault.c) ----------------------------------------- */

/*
 * XENVF_FAULT=<step>[@<n>] makes the process SIGKILL itself the n-th time
 * (default 1st) it passes the named point, as kill -9 would: tests use it
 * to show a restart converges from every step. Unset: a string compare.
 */
void xenvfd_fault_point(const char *step);
/* Every point's name, NULL-terminated: tests iterate over it. */
extern const char *const xenvfd_fault_points[];

/* ---- device events (devwatch.c) ---------------------------------------- */

/*
 * PCI device arrival, removal and driver (un)binding. Two sources: kernel
 * uevents (NETLINK_KOBJECT_UEVENT: the real kernel) and inotify on the
 * tree (a fake sysfs tree, where nothing sends uevents; real sysfs sends
 * no inotify events, so both can be on). Callbacks get the BDF as text and
 * "add", "remove", "bind" or "unbind".
 */
typedef void xenvfd_dev_cb(void *opaque, const char *bdf, const char *action);

typedef struct xenvfd_devwatch {
    const char *root;
    int ino_fd;     /* inotify: bus/pci/devices and watched device dirs */
    int devices_wd; /* the bus/pci/devices directory */
    int uev_fd;     /* uevent socket, -1 when off */
    size_t nr_devs;
    struct devwatch_dev *devs;
    xenvfd_dev_cb *cb;
    void *opaque;
} xenvfd_devwatch;

/* Parse one kernel uevent datagram (buf[0..len), NUL-separated fields):
 * true for a PCI add/remove/bind/unbind, with *action and *slot pointing
 * into buf. Pure, fuzzed (tests/fuzz/fuzz_uevent.c). */
bool xenvfd_uevent_parse(const char *buf, size_t len, const char **action,
                         const char **slot);

int xenvfd_devwatch_init(xenvfd_devwatch *dw, const char *root, bool uevents,
                         xenvfd_dev_cb *cb, void *opaque, xenvf_err *err);
/* Also report driver changes of this device (its own directory). */
int xenvfd_devwatch_add(xenvfd_devwatch *dw, const xenvf_bdf *bdf,
                        xenvf_err *err);
void xenvfd_devwatch_dispose(xenvfd_devwatch *dw);

#endif
