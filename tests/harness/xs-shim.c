/*
 * xs-shim.so: LD_PRELOADed into Debian's C xenstored 4.17 so that it runs
 * without a hypervisor. It defines the libxenctrl, libxenevtchn and
 * libxengnttab calls xenstored imports (the preload wins symbol lookup, the
 * real libraries stay loaded but unused) and redirects its open() of
 * /proc/xen/xsd_port and /proc/xen/xsd_kva. The "hypervisor" is a set of
 * files in $XENSTORED_RUNDIR shared with the test process; names and port
 * numbers are in xs-harness.h, the design in docs/testing-xenstored.md.
 *
 * Never built with sanitizers: xenstored is not instrumented.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xen/grant_table.h>

#include "xs-harness.h"

#define PAGE 4096

/* The handles are opaque to xenstored: any non-NULL pointer will do. */
struct xc_interface_core {
    int unused;
};
struct xengntdev_handle {
    int unused;
};
struct xenevtchn_handle {
    int fd; /* <dir>/evtchn, read end */
};

/* Bound ports: port_fd[port] is the fd of <dir>/dom<N>.evt plus one. */
#define NR_PORTS (XSH_PORT_BASE + DOMID_FIRST_RESERVED)
static int port_fd[NR_PORTS];

static const char *rundir(void)
{
    const char *d = getenv("XENSTORED_RUNDIR");

    if (!d)
        errno = ENOENT;
    return d;
}

/* Open a FIFO in the run directory, creating it if the harness has not. */
static int open_fifo(const char *path)
{
    if (mkfifo(path, 0600) && errno != EEXIST)
        return -1;
    /* O_RDWR: never blocks, never sees POLLHUP when a peer goes away. */
    return openat(AT_FDCWD, path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

static int domain_alive(uint32_t domid)
{
    char path[PATH_MAX];
    const char *d = rundir();

    if (domid == 0)
        return 1;
    if (!d)
        return 0;
    snprintf(path, sizeof(path), XSH_FMT_ALIVE, d, domid);
    return access(path, F_OK) == 0;
}

int open(const char *path, int flags, ...)
{
    char buf[PATH_MAX];
    const char *d;
    mode_t mode = 0;
    va_list ap;

    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    /* xenbus_evtchn() and xenbus_map(): dom0's port and ring page. */
    if (!strncmp(path, XSH_PROC_XEN, strlen(XSH_PROC_XEN))) {
        d = rundir();
        if (!d)
            return -1;
        snprintf(buf, sizeof(buf), "%s/%s", d, path + strlen(XSH_PROC_XEN));
        path = buf;
    }
    /* openat is not interposed: no dlsym(RTLD_NEXT) needed. */
    return openat(AT_FDCWD, path, flags, mode);
}

xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    if (!rundir())
        return NULL;
    return calloc(1, sizeof(struct xc_interface_core));
}

int xc_interface_close(xc_interface *xch)
{
    free(xch);
    return 0;
}

#if XENVF_XEN_VERSION >= 418
/* Xen 4.18 on: one domain by its domid, -1/ESRCH when there is none. */
int xc_domain_getinfo_single(xc_interface *xch, uint32_t domid,
                             xc_domaininfo_t *info)
{
    if (domid >= DOMID_FIRST_RESERVED || !domain_alive(domid)) {
        errno = ESRCH;
        return -1;
    }
    memset(info, 0, sizeof(*info));
    info->domain = (domid_t)domid;
    info->flags = XEN_DOMINF_running;
    info->nr_online_vcpus = 1;
    return 0;
}
#else
/*
 * xenstored asks for one domain at a time and checks the domid it gets, so
 * only that domain is reported (Xen would return the next one up).
 */
int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
                      unsigned int max_doms, xc_dominfo_t *info)
{
    if (!max_doms || first_domid >= DOMID_FIRST_RESERVED ||
        !domain_alive(first_domid))
        return 0;
    memset(info, 0, sizeof(*info));
    info->domid = first_domid;
    info->running = 1;
    info->max_vcpu_id = 0;
    info->nr_online_vcpus = 1;
    return 1;
}
#endif

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
                                 unsigned open_flags)
{
    return calloc(1, sizeof(struct xengntdev_handle));
}

int xengnttab_close(xengnttab_handle *xgt)
{
    free(xgt);
    return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
    return 0;
}

/* The one grant xenstored maps: the domain's ring page, <dir>/dom<N>.ring. */
void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid,
                              uint32_t ref, int prot)
{
    char path[PATH_MAX];
    const char *d = rundir();
    void *p;
    int fd, err;

    if (!d)
        return NULL;
    if (ref != GNTTAB_RESERVED_XENSTORE || !domain_alive(domid)) {
        errno = EINVAL;
        return NULL;
    }
    snprintf(path, sizeof(path), XSH_FMT_RING, d, domid);
    fd = openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    p = mmap(NULL, PAGE, prot, MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    errno = err;
    return p == MAP_FAILED ? NULL : p;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
    return munmap(start_address, (size_t)count * PAGE);
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
                                 unsigned int flags)
{
    char path[PATH_MAX];
    const char *d = rundir();
    xenevtchn_handle *xce;

    if (!d)
        return NULL;
    xce = calloc(1, sizeof(*xce));
    if (!xce)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", d, XSH_FILE_EVTCHN);
    xce->fd = open_fifo(path);
    if (xce->fd < 0) {
        free(xce);
        return NULL;
    }
    return xce;
}

/* Only used by live update, which the harness does not do. */
xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd,
                                   unsigned open_flags)
{
    xenevtchn_handle *xce = calloc(1, sizeof(*xce));

    if (xce)
        xce->fd = fd;
    return xce;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    return xce->fd;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce,
                                              unsigned int virq)
{
    if (virq != VIRQ_DOM_EXC) {
        errno = EINVAL;
        return -1;
    }
    return XSH_VIRQ_PORT;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
                                                     uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    char path[PATH_MAX];
    const char *d = rundir();
    evtchn_port_t port = XSH_PORT_BASE + domid;
    int fd;

    if (!d)
        return -1;
    if (domid >= DOMID_FIRST_RESERVED || !domain_alive(domid)) {
        errno = ESRCH;
        return -1;
    }
    if (port_fd[port]) {
        errno = EBUSY;
        return -1;
    }
    snprintf(path, sizeof(path), XSH_FMT_EVT, d, domid);
    fd = open_fifo(path);
    if (fd < 0)
        return -1;
    port_fd[port] = fd + 1;
    return port;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    if (port == XSH_VIRQ_PORT)
        return 0;
    if (port >= NR_PORTS || !port_fd[port]) {
        errno = EINVAL;
        return -1;
    }
    close(port_fd[port] - 1);
    port_fd[port] = 0;
    return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    char c = 0;

    if (port >= NR_PORTS || !port_fd[port]) {
        errno = EINVAL;
        return -1;
    }
    /* A full FIFO already holds a wakeup for the guest. */
    if (write(port_fd[port] - 1, &c, 1) < 0 && errno != EAGAIN)
        return -1;
    return 0;
}

/* Called when the evtchn fd polls readable: one port per 4-byte write. */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    uint32_t port;
    ssize_t n = read(xce->fd, &port, sizeof(port));

    if (n != sizeof(port)) {
        if (n >= 0)
            errno = EIO;
        return -1;
    }
    return port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    return 0;
}
