/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf-guest: run in a guest (from its initramfs, or as a service) to bind
 * every VF the guest holds to the driver its function description names
 * and say so in xenstore (guest.h, docs/guest.md).
 *
 *   xenvf-guest [OPTIONS] bind     once; exit 1 if a VF is not as described
 *   xenvf-guest [OPTIONS] watch    bind, then again on every change
 *   xenvf-guest [OPTIONS] request N SETTINGS   ask dom0 for settings of
 *                                  vf[N] ("vlan=5,mac=..."); print the answer
 *   xenvf-guest [OPTIONS] boot-list   the boot VFs in boot order, one line
 *                                  each: BOOT LOCAL HOST-BDF GUEST-BDF|-
 *   xenvf-guest [OPTIONS] report N TEXT   write vf[N]'s status (the boot
 *                                  initramfs says there why a VF did not
 *                                  boot)
 *   xenvf-guest [OPTIONS] switch N DEV    keep /dev/mapper/xenvf-vfN over
 *                                  DEV (vf[N]'s namespace) and move it
 *                                  between the VF and the PV disk on
 *                                  dom0's requests (docs/migration.md)
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/switch.h>
#include <xenvf/text.h>

#include "guest.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = sig;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xenvf-guest [--sysfs ROOT] [--modprobe PROG] [--domid N] "
            "bind|watch|boot-list|request|report|switch\n"
            "  bind   bind each VF this guest holds to the driver its "
            "function\n"
            "         description names, report it in xenstore "
            "(vf/<n>/status)\n"
            "  watch  bind, then again whenever dom0 or pcifront changes "
            "something\n"
            "  request N SETTINGS  ask dom0 to change vf[N]'s settings, e.g.\n"
            "         'vlan=5,mac=02:16:3e:00:00:01'; prints dom0's answer, "
            "exit 0 if applied\n"
            "  boot-list  the VFs with a boot position, in boot order: "
            "BOOT LOCAL\n"
            "         HOST-BDF GUEST-BDF (- while pcifront does not show "
            "it)\n"
            "  report N TEXT  write TEXT to vf[N]'s status node\n"
            "  switch N DEV  keep /dev/mapper/xenvf-vfN over DEV (vf[N]'s "
            "namespace),\n"
            "         moved to the PV disk and back on dom0's requests\n"
            "  --modprobe ''  never load modules\n");
}

static int xs_read_cb(void *ctx, const char *path, char **value_out,
                      xenvf_err *err)
{
    return xenvf_xs_read(ctx, path, value_out, err);
}

/* Our domid: the "domid" node of our own domain (a relative path). */
static int own_domid(xenvf_xs *xs, uint32_t *out, xenvf_err *err)
{
    char *v = NULL;
    uint64_t n;
    int rc = xenvf_xs_read(xs, "domid", &v, err);

    if (!rc && (!v || xenvf_parse_uint(v, 0x7fef, &n, err)))
        rc = v ? XENVF_EINVAL
               : xenvf_err_set(err, XENVF_ENOENT,
                               "this domain has no domid "
                               "node: not a Xen guest?");
    if (!rc)
        *out = (uint32_t)n;
    free(v);
    return rc;
}

static int bind_once(const guest_opts *o, xenvf_xs *xs, uint32_t domid)
{
    unsigned bound, failed;
    xenvf_err err;

    xenvf_err_init(&err);
    if (guest_bind_all(o, xs, domid, &bound, &failed, &err)) {
        fprintf(stderr, "xenvf-guest: %s\n", err.msg);
        return 1;
    }
    printf("xenvf-guest: %u VF(s) as described, %u not (see "
           "/local/domain/%u/xenvf/vf/*/status)\n",
           bound, failed, domid);
    fflush(stdout);
    return failed ? 1 : 0;
}

/* Bind again whenever our VF nodes or our PCI frontend change, except for
 * our own status writes. */
static int watch(const guest_opts *o, xenvf_xs *xs, uint32_t domid)
{
    char vfs[XENVF_XS_PATH_MAX], front[64];
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    xenvf_xs_guest_path(vfs, domid, "%s", "");
    snprintf(front, sizeof(front), "/local/domain/%u/device/pci", domid);
    if (xenvf_xs_watch(xs, vfs, "vfs", &err) ||
        xenvf_xs_watch(xs, front, "pcifront", &err)) {
        fprintf(stderr, "xenvf-guest: %s\n", err.msg);
        return 1;
    }
    bind_once(o, xs, domid);
    while (!stop) {
        char *path = NULL, *token = NULL;
        const char *leaf = "";
        uint32_t d;
        unsigned k;

        rc = xenvf_xs_wait_event(xs, 1000, &path, &token, &err);
        if (!rc &&
            !(path && xenvf_xs_parse_guest_vf_path(path, &d, &k, &leaf) &&
              !strcmp(leaf, "status")))
            bind_once(o, xs, domid);
        free(path);
        free(token);
        if (rc && rc != XENVF_ETIMEDOUT) {
            fprintf(stderr, "xenvf-guest: %s\n", err.msg);
            return 1;
        }
    }
    return 0;
}

/* A VF's number on the command line (vf/<n>), said when it is bad. */
static int vf_number(const char *text, unsigned *out)
{
    uint64_t n;

    if (xenvf_parse_uint(text, 63, &n, NULL)) {
        fprintf(stderr, "xenvf-guest: bad VF number '%s'\n", text);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* Write vf[local]'s request and wait (up to 30 s) for dom0's answer: the
 * TCB writes request-result once per request, so its watch event is the
 * answer even when the text is the same as last time. */
static int request(xenvf_xs *xs, uint32_t domid, const char *local,
                   const char *settings)
{
    char path[XENVF_XS_PATH_MAX], res[XENVF_XS_PATH_MAX],
        *path_ev = NULL, *token = NULL, *answer = NULL;
    unsigned n;
    xenvf_err err;
    int rc = 1, got = 0;

    xenvf_err_init(&err);
    if (vf_number(local, &n))
        return 2;
    xenvf_xs_guest_path(path, domid, "/vf/%u/request", n);
    xenvf_xs_guest_path(res, domid, "/vf/%u/request-result", n);
    if (xenvf_xs_watch(xs, res, "result", &err))
        goto fail;
    /* the watch's first event says only that it is set */
    if (xenvf_xs_wait_event(xs, 5000, &path_ev, &token, &err))
        goto fail;
    free(path_ev);
    free(token);
    if (xenvf_xs_write(xs, path, settings, &err))
        goto fail;
    while (!got) {
        path_ev = token = NULL;
        if (xenvf_xs_wait_event(xs, 30000, &path_ev, &token, &err))
            goto fail;
        got = path_ev && !strcmp(path_ev, res);
        free(path_ev);
        free(token);
    }
    if (xenvf_xs_read(xs, res, &answer, &err))
        goto fail;
    printf("%s\n", answer ? answer : "");
    rc = answer && !strncmp(answer, "applied", 7) ? 0 : 1;
    free(answer);
    return rc;
fail:
    fprintf(stderr, "xenvf-guest: vf[%s]: %s\n", local, err.msg);
    return 1;
}

static int boot_list(const guest_opts *o, xenvf_xs *xs, uint32_t domid)
{
    char line[GUEST_BOOT_LINE_MAX];
    guest_boot *list;
    xenvf_err err;
    size_t nr;

    xenvf_err_init(&err);
    if (guest_boot_list(o, xs, domid, &list, &nr, &err)) {
        fprintf(stderr, "xenvf-guest: boot list: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < nr; i++) {
        guest_boot_format(&list[i], line, sizeof(line));
        printf("%s\n", line);
    }
    free(list);
    return fflush(stdout) ? 1 : 0;
}

/* vf[local]'s status, written by the guest (the one node it may write). */
static int report(xenvf_xs *xs, uint32_t domid, const char *local,
                  const char *text)
{
    xenvf_err err;
    unsigned n;

    xenvf_err_init(&err);
    if (vf_number(local, &n))
        return 2;
    if (strlen(text) >= GUEST_STATUS_MAX) {
        fprintf(stderr, "xenvf-guest: vf[%s]: a status is at most %d bytes\n",
                local, GUEST_STATUS_MAX - 1);
        return 2;
    }
    if (guest_report(xs, domid, n, text, &err)) {
        fprintf(stderr, "xenvf-guest: vf[%s]: %s\n", local, err.msg);
        return 1;
    }
    return 0;
}

/* Serve vf[local]'s I/O switch until a signal: the dm device over dev,
 * then dom0's requests as they come (each write of switch-request is one;
 * one seen twice moves nothing). After xl restore the domain has another
 * id: its own id is read again every second, the watch follows it (its
 * first event reads the request that may be there) and the state is said
 * again under it (switch), every second until that works: the restored
 * domain has no VF, so no nodes of xenvfd's, until dom0 plugs one. fixed:
 * the id came from --domid. */
static int serve_switch(xenvf_xs *xs, uint32_t domid, bool fixed,
                        const char *local, const char *dev)
{
    guest_switch s = {.wait_ms = 30000};
    char req[XENVF_XS_PATH_MAX], *path = NULL, *token = NULL, *text;
    bool announce = false, told = false;
    xenvf_err err;
    uint32_t now;
    unsigned n;
    int rc;

    xenvf_err_init(&err);
    if (vf_number(local, &n))
        return 2;
    xenvf_xs_guest_path(req, domid, "/vf/%u/" XENVF_SWITCH_REQUEST_NODE, n);
    if (guest_switch_start(&guest_dm_libdevmapper, &s, xs, domid, n, dev,
                           &err) ||
        xenvf_xs_watch(xs, req, "switch", &err))
        goto fail;
    printf("xenvf-guest: vf[%u]: /dev/mapper/%s over %s, serving the "
           "switch\n",
           n, s.name, dev);
    fflush(stdout);
    while (!stop) {
        rc = xenvf_xs_wait_event(xs, 1000, &path, &token, &err);
        free(path);
        free(token);
        path = token = NULL;
        if (rc && rc != XENVF_ETIMEDOUT)
            goto fail;
        if (!fixed && !own_domid(xs, &now, &err) && now != domid) {
            xenvf_xs_unwatch(xs, req, "switch", NULL);
            printf("xenvf-guest: vf[%u]: now domain %u (was %u)\n", n, now,
                   domid);
            fflush(stdout);
            domid = now;
            xenvf_xs_guest_path(req, domid, "/vf/%u/" XENVF_SWITCH_REQUEST_NODE,
                                n);
            if (xenvf_xs_watch(xs, req, "switch", &err))
                goto fail;
            announce = true;
            told = false;
        }
        if (announce) {
            if (!guest_switch_announce(&s, xs, domid, &err)) {
                printf("xenvf-guest: vf[%u]: said under domain %u: I/O on "
                       "the %s path\n",
                       n, domid, s.on == XENVF_PATH_PV ? "PV" : "VF");
                announce = false;
            } else if (!told) {
                printf("xenvf-guest: vf[%u]: cannot say where the I/O is "
                       "yet (%s): again every second\n",
                       n, err.msg);
                told = true;
            }
            fflush(stdout);
        }
        if (rc == XENVF_ETIMEDOUT)
            continue;
        text = NULL;
        if (xenvf_xs_read(xs, req, &text, &err))
            goto fail;
        rc = 0;
        if (text && *text) {
            rc = guest_switch_handle(&guest_dm_libdevmapper, &s, xs, domid,
                                     text, &err);
            printf("xenvf-guest: vf[%u]: '%s': I/O on the %s path\n", n, text,
                   s.on == XENVF_PATH_PV ? "PV" : "VF");
            fflush(stdout);
        }
        free(text);
        if (rc)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "xenvf-guest: vf[%s]: %s\n", local, err.msg);
    return 1;
}

/* Each command and how many words follow it. */
static const struct {
    const char *name;
    int args;
} commands[] = {
    {"bind", 0},    {"watch", 0},  {"boot-list", 0},
    {"request", 2}, {"report", 2}, {"switch", 2},
};

static bool known_command(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (optind < argc && !strcmp(argv[optind], commands[i].name))
            return argc - optind - 1 == commands[i].args;
    return false;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"sysfs", required_argument, NULL, 's'},
        {"modprobe", required_argument, NULL, 'm'},
        {"domid", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    guest_opts o = {.modprobe = "modprobe", .read = xs_read_cb};
    uint32_t domid = XENVF_DOMID_NONE;
    xenvf_xs xs;
    xenvf_err err;
    uint64_t n;
    bool fixed;
    int c, rc = 2;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.sysfs_root = optarg;
            break;
        case 'm':
            o.modprobe = *optarg ? optarg : NULL;
            break;
        case 'd':
            if (xenvf_parse_uint(optarg, 0x7fef, &n, NULL)) {
                fprintf(stderr, "xenvf-guest: bad --domid '%s'\n", optarg);
                return 2;
            }
            domid = (uint32_t)n;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!known_command(argc, argv)) {
        usage(stderr);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    xenvf_xs_init(&xs);
    xenvf_err_init(&err);
    fixed = domid != XENVF_DOMID_NONE;
    if (xenvf_xs_open(&xs, &err) || (!fixed && own_domid(&xs, &domid, &err))) {
        fprintf(stderr, "xenvf-guest: %s\n", err.msg);
        goto out;
    }
    o.read_ctx = &xs;
    if (!strcmp(argv[optind], "request"))
        rc = request(&xs, domid, argv[optind + 1], argv[optind + 2]);
    else if (!strcmp(argv[optind], "report"))
        rc = report(&xs, domid, argv[optind + 1], argv[optind + 2]);
    else if (!strcmp(argv[optind], "switch"))
        rc =
            serve_switch(&xs, domid, fixed, argv[optind + 1], argv[optind + 2]);
    else if (!strcmp(argv[optind], "boot-list"))
        rc = boot_list(&o, &xs, domid);
    else if (!strcmp(argv[optind], "bind"))
        rc = bind_once(&o, &xs, domid);
    else
        rc = watch(&o, &xs, domid);
out:
    xenvf_xs_dispose(&xs);
    return rc;
}
