/* SPDX-License-Identifier: LGPL-2.1-only */
/* Binding a guest's VFs to the drivers their descriptions name (guest.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenvf/model.h>
#include <xenvf/sysfs.h>
#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "guest.h"

#define MAX_VFS 64 /* XENVF_PROTO_MAX_VFS: no guest has more */

void guest_vf_init(guest_vf *v)
{
    memset(v, 0, sizeof(*v));
}

void guest_vf_dispose(guest_vf *v)
{
    free(v->pf);
    free(v->function);
    guest_vf_init(v);
}

void guest_vfs_free(guest_vf *vfs, size_t nr)
{
    for (size_t i = 0; i < nr; i++)
        guest_vf_dispose(&vfs[i]);
    free(vfs);
}

/* vf/<local>/<leaf> of this guest; *out NULL when absent. */
static int read_leaf(xenvf_xs *xs, uint32_t domid, unsigned local,
                     const char *leaf, char **out, xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX];

    xenvf_xs_guest_path(path, domid, "/vf/%u/%s", local, leaf);
    return xenvf_xs_read(xs, path, out, err);
}

static int read_vf(xenvf_xs *xs, uint32_t domid, unsigned local, guest_vf *v,
                   xenvf_err *err)
{
    char *bdf = NULL, *index = NULL, *boot = NULL;
    xenvf_setting_value bv;
    uint64_t n;
    int rc;

    v->local = local;
    if ((rc = read_leaf(xs, domid, local, "pf", &v->pf, err)) ||
        (rc = read_leaf(xs, domid, local, "index", &index, err)) ||
        (rc = read_leaf(xs, domid, local, "bdf", &bdf, err)) ||
        (rc = read_leaf(xs, domid, local, "function", &v->function, err)) ||
        (rc = read_leaf(xs, domid, local,
                        xenvf_settings[XENVF_SETTING_BOOT].name, &boot, err)))
        goto out;
    if (!v->pf || !index || !bdf) {
        rc = xenvf_err_set(err, XENVF_EIO,
                           "vf/%u: pf, index or bdf missing (dom0 is still "
                           "writing it?)",
                           local);
        goto out;
    }
    /* boot: the settings table's own rule (1-65535), absent when unset */
    if ((rc = xenvf_parse_uint(index, UINT16_MAX, &n, err)) ||
        (rc = xenvf_bdf_parse(bdf, &v->host, err)) ||
        (boot && (rc = xenvf_setting_parse(XENVF_SETTING_BOOT, boot,
                                           strlen(boot), &bv, err)))) {
        xenvf_err_prepend(err, "vf/%u: ", local);
        goto out;
    }
    v->index = (unsigned)n;
    v->boot = boot ? (unsigned)bv.num : 0;
out:
    free(bdf);
    free(index);
    free(boot);
    return rc;
}

int guest_list_vfs(xenvf_xs *xs, uint32_t domid, guest_vf **out, size_t *nr,
                   xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX], **ents = NULL;
    unsigned nr_ents = 0;
    guest_vf *vfs = NULL;
    size_t k = 0;
    int rc;

    *out = NULL;
    *nr = 0;
    xenvf_xs_guest_path(path, domid, "/vf");
    if ((rc = xenvf_xs_directory(xs, path, &ents, &nr_ents, err)))
        return rc;
    if (nr_ents && !(vfs = calloc(nr_ents, sizeof(*vfs)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < nr_ents; i++) {
        uint64_t local;

        if (xenvf_parse_uint(ents[i], MAX_VFS - 1, &local, NULL))
            continue; /* not ours to read */
        guest_vf_init(&vfs[k]);
        if ((rc = read_vf(xs, domid, (unsigned)local, &vfs[k], err))) {
            guest_vf_dispose(&vfs[k]);
            goto out;
        }
        k++;
    }
out:
    free(ents);
    if (rc) {
        guest_vfs_free(vfs, k);
        return rc;
    }
    *out = vfs;
    *nr = k;
    return 0;
}

int guest_function_driver(const char *function, char *driver, size_t len,
                          xenvf_err *err)
{
    size_t n = strcspn(function, ":");

    /* a kernel driver name: what XENVF_ID_CHARS allows, as module names */
    if (n == 0 || n >= len || strspn(function, XENVF_ID_CHARS) < n)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "function '%.64s' does not start with a driver "
                             "name",
                             function);
    memcpy(driver, function, n);
    driver[n] = '\0';
    return 0;
}

/* Does the kernel have this PCI driver (built in, or its module loaded)? */
static bool have_driver(const char *root, const char *driver)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", root ? root : "/sys",
             driver);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* `modprobe DRIVER`: its exit status, or -1 if it could not run. */
static int run_modprobe(const char *modprobe, const char *driver)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp(modprobe, modprobe, "-q", driver, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int guest_bind_vf(const guest_opts *o, const guest_vf *vf, char *status,
                  size_t len)
{
    char want[64], where[XENVF_BDF_STR_MAX], *cur = NULL;
    const char *root = o->sysfs_root;
    xenvf_bdf local;
    xenvf_err err;
    int rc, mp;

    xenvf_err_init(&err);
    if ((rc = xenvf_pcifront_local_bdf(o->read, o->read_ctx, &vf->host, &local,
                                       &err))) {
        snprintf(status, len, "error: %s", err.msg);
        return rc;
    }
    xenvf_bdf_format(&local, where);
    if ((rc = xenvf_sysfs_read_driver(root, &local, &cur, &err))) {
        snprintf(status, len, "error: %s: %s", where, err.msg);
        return rc;
    }
    if (!vf->function) {
        snprintf(status, len, "no function description: %s%s", where,
                 cur ? " is bound to " : " is unbound");
        if (cur)
            snprintf(status + strlen(status), len - strlen(status), "%s", cur);
        free(cur);
        return 0;
    }
    if ((rc = guest_function_driver(vf->function, want, sizeof(want), &err))) {
        snprintf(status, len, "error: %s", err.msg);
        goto out;
    }
    if (cur && !strcmp(cur, want)) {
        snprintf(status, len, "bound %s", want);
        goto out;
    }
    /* the override first: from here on no other driver may take it */
    if ((rc = xenvf_sysfs_set_driver_override(root, &local, want, &err)) ||
        (cur && (rc = xenvf_sysfs_driver_unbind(root, &local, &err)))) {
        snprintf(status, len, "error: %s: %s", where, err.msg);
        goto out;
    }
    if (!have_driver(root, want) && o->modprobe &&
        (mp = run_modprobe(o->modprobe, want)) != 0 &&
        !have_driver(root, want)) {
        snprintf(status, len,
                 "error: no driver '%s' in this guest (%s %s: %s %d); %s "
                 "left unbound",
                 want, o->modprobe, want, mp < 0 ? "could not run" : "exit", mp,
                 where);
        rc = XENVF_ENOENT;
        goto out;
    }
    if (!have_driver(root, want)) {
        snprintf(status, len,
                 "error: no driver '%s' in this guest; %s left "
                 "unbound",
                 want, where);
        rc = XENVF_ENOENT;
        goto out;
    }
    /* loading the module may have bound it already (its override names
     * that driver): then the kernel says EBUSY, and the check below tells */
    rc = xenvf_sysfs_driver_bind(root, &local, want, &err);
    if (rc && rc != XENVF_EBUSY) {
        snprintf(status, len, "error: %s refused %s: %s", want, where, err.msg);
        goto out;
    }
    free(cur);
    cur = NULL;
    if ((rc = xenvf_sysfs_read_driver(root, &local, &cur, &err)) || !cur ||
        strcmp(cur, want)) {
        snprintf(status, len, "error: %s did not take %s (bound: %s)", want,
                 where, cur ? cur : "none");
        rc = rc ? rc : XENVF_EIO;
        goto out;
    }
    snprintf(status, len, "bound %s", want);
out:
    free(cur);
    return rc;
}

/* The override alone, for every described VF before any is bound: loading
 * one VF's driver must not let it take another VF of the same IDs. Best
 * effort: guest_bind_vf says what went wrong. */
static void claim_vf(const guest_opts *o, const guest_vf *vf)
{
    char want[64];
    xenvf_bdf local;

    if (!vf->function ||
        guest_function_driver(vf->function, want, sizeof(want), NULL) ||
        xenvf_pcifront_local_bdf(o->read, o->read_ctx, &vf->host, &local, NULL))
        return;
    xenvf_sysfs_set_driver_override(o->sysfs_root, &local, want, NULL);
}

int guest_report(xenvf_xs *xs, uint32_t domid, unsigned local,
                 const char *status, xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX];

    xenvf_xs_guest_path(path, domid, "/vf/%u/status", local);
    return xenvf_xs_write(xs, path, status, err);
}

int guest_bind_all(const guest_opts *o, xenvf_xs *xs, uint32_t domid,
                   unsigned *bound, unsigned *failed, xenvf_err *err)
{
    char status[GUEST_STATUS_MAX];
    guest_vf *vfs;
    size_t nr;
    int rc;

    *bound = *failed = 0;
    if ((rc = guest_list_vfs(xs, domid, &vfs, &nr, err)))
        return rc;
    for (size_t i = 0; i < nr; i++)
        claim_vf(o, &vfs[i]);
    for (size_t i = 0; i < nr && !rc; i++) {
        if (guest_bind_vf(o, &vfs[i], status, sizeof(status)))
            ++*failed;
        else
            ++*bound;
        rc = guest_report(xs, domid, vfs[i].local, status, err);
    }
    guest_vfs_free(vfs, nr);
    return rc;
}
