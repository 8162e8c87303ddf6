/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf-flask-op OP...: issue FLASK's own hypercall (__HYPERVISOR_xsm_op,
 * through /dev/xen/privcmd, no libxenctrl) from the domain it runs in, and
 * say what Xen answered. The QEMU tier's guests run it (scenario
 * flask-deny-relabel): relabelling and policy changes are the TCB's alone
 * (docs/xsm.md), so from any other domain each must be refused by FLASK,
 * with an AVC line in Xen's log. Built static: the guest image has no
 * libxenctrl.
 *
 *   getenforce          FLASK_GETENFORCE: no permission asked, so it
 *                       shows whether the hypercall reaches FLASK at all
 *   setenforce          FLASK_SETENFORCE 0 (switch enforcing off)
 *   load                FLASK_LOAD of a 64-byte "policy" (refused before
 *                       Xen reads it)
 *   add-device SBDF SID FLASK_ADD_OCONTEXT: label PCI device SBDF (hex)
 *   relabel-self SID    FLASK_RELABEL_DOMAIN of DOMID_SELF to SID
 *
 * One line per OP on stdout: "FLASKOP <op> rc=<n> <errno name>". Exit
 * status: 0 when every OP but getenforce was refused with EACCES (FLASK's
 * answer), 1 when one was allowed or refused otherwise, 2 on a usage or
 * setup error.
 */
#define __XEN_TOOLS__ 1
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/sys/privcmd.h>
#include <xen/xsm/flask_op.h>

#define OCON_DEVICE 4 /* libxenctrl's xc_flask.c: PCI devices */

static int xsm_op(int fd, xen_flask_op_t *op)
{
    privcmd_hypercall_t call = {
        .op = __HYPERVISOR_xsm_op,
        .arg = {(uint64_t)(uintptr_t)op},
    };

    op->interface_version = XEN_FLASK_INTERFACE_VERSION;
    return ioctl(fd, IOCTL_PRIVCMD_HYPERCALL, &call);
}

static int parse_u32(const char *s, int base, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, base);
    if (errno || end == s || *end || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: xenvf-flask-op getenforce | setenforce | load | "
                    "add-device SBDF SID | relabel-self SID ...\n");
}

int main(int argc, char **argv)
{
    static char policy[64] = "not a policy";
    int fd, rc, e, status = 0;

    if (argc < 2) {
        usage();
        return 2;
    }
    fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "xenvf-flask-op: /dev/xen/privcmd: %s\n",
                strerror(errno));
        return 2;
    }
    /* the hypercall reads its argument from this process's memory */
    if (mlockall(MCL_CURRENT))
        fprintf(stderr, "xenvf-flask-op: mlockall: %s (going on)\n",
                strerror(errno));
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        xen_flask_op_t op;
        uint32_t a = 0, b = 0;

        memset(&op, 0, sizeof(op));
        if (!strcmp(name, "getenforce")) {
            op.cmd = FLASK_GETENFORCE;
        } else if (!strcmp(name, "setenforce")) {
            op.cmd = FLASK_SETENFORCE;
            op.u.enforce.enforcing = 0;
        } else if (!strcmp(name, "load")) {
            op.cmd = FLASK_LOAD;
            set_xen_guest_handle(op.u.load.buffer, policy);
            op.u.load.size = sizeof(policy);
        } else if (!strcmp(name, "add-device") && i + 2 < argc &&
                   !parse_u32(argv[i + 1], 16, &a) &&
                   !parse_u32(argv[i + 2], 0, &b)) {
            op.cmd = FLASK_ADD_OCONTEXT;
            op.u.ocontext.ocon = OCON_DEVICE;
            op.u.ocontext.sid = b;
            op.u.ocontext.low = op.u.ocontext.high = a;
            i += 2;
        } else if (!strcmp(name, "relabel-self") && i + 1 < argc &&
                   !parse_u32(argv[i + 1], 0, &b)) {
            op.cmd = FLASK_RELABEL_DOMAIN;
            op.u.relabel.domid = DOMID_SELF;
            op.u.relabel.sid = b;
            i += 1;
        } else {
            usage();
            status = 2;
            break;
        }
        rc = xsm_op(fd, &op);
        e = rc < 0 ? errno : 0;
        printf("FLASKOP %s rc=%d %s\n", name, rc,
               e ? strerrorname_np(e) : "allowed");
        fflush(stdout);
        if (e != EACCES && op.cmd != FLASK_GETENFORCE)
            status = 1;
    }
    close(fd);
    return status;
}
