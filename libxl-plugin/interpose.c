/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The libxl and libxlutil entry points xl calls, interposed (LD_PRELOAD;
 * docs/plugin.md says why and how it is installed). Only glue lives here:
 * each function finds the real one (dlvsym, VERS_4.17.0), hands the work
 * to build.c with libxl behind xlp_ops, and maps the result back.
 *
 *   xlu_cfg_init      remember which file a config handle is for
 *   xlu_cfg_readdata  after xl's own parse of the domain config (file plus
 *                     command-line key=value lines): take vf= from it
 *   xlu_cfg_get_long  see xl's own pci_* defaults go by
 *   libxl_domain_create_new   reserve (vf= and pci= VFs), add the VFs,
 *                     create, commit, publish
 *   libxl_domain_create_restore   xl restore, migrate-receive: the saved
 *                     config's VFs reserved, committed, published, gated
 *   libxl_domain_unpause      the gate
 *   libxl_device_pci_add      xl pci-attach: no VF another domain holds
 *   libxl_domain_suspend      xl save and xl migrate of a domain still
 *                     holding VFs refused unless unplug-and-go or its I/O
 *                     is on the PV path (migrate.h)
 *   libxl_domain_resume       after a failed save or migration: what was
 *                     moved off the VFs goes back
 *   libxl_retrieve_domain_configuration   xl save, xl migrate: the
 *                     guest's I/O moved off its VFs before xl takes the
 *                     config, and for xl migrate with unplug-and-go the
 *                     other VFs unplugged (iomove.h); xl restore and
 *                     migrate-receive move it back after the unpause
 *
 * xl ignores libxl_domain_unpause's return value, so when the gate fails
 * inside xl the plugin ends xl itself, with status 1, after destroying the
 * domain and releasing its VFs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <libxlutil.h>

#include "build.h"
#include "flaskmsg.h"
#include "iomove.h"
#include "log.h"
#include "migrate.h"
#include "pcidev.h"

#define XL_SYMVER "VERS_4.17.0"
#define EXPORT    __attribute__((visibility("default")))

typedef int create_new_fn(libxl_ctx *ctx, libxl_domain_config *d_config,
                          uint32_t *domid, const libxl_asyncop_how *ao_how,
                          const libxl_asyncprogress_how *aop_console_how);
typedef int create_restore_fn(libxl_ctx *ctx, libxl_domain_config *d_config,
                              uint32_t *domid, int restore_fd, int send_back_fd,
                              const libxl_domain_restore_params *params,
                              const libxl_asyncop_how *ao_how,
                              const libxl_asyncprogress_how *aop_console_how);
typedef int unpause_fn(libxl_ctx *ctx, uint32_t domid,
                       const libxl_asyncop_how *ao_how);
typedef int pci_add_fn(libxl_ctx *ctx, uint32_t domid, libxl_device_pci *pci,
                       const libxl_asyncop_how *ao_how);
typedef int suspend_fn(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                       const libxl_asyncop_how *ao_how);
typedef int resume_fn(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                      const libxl_asyncop_how *ao_how);
typedef int retrieve_fn(libxl_ctx *ctx, uint32_t domid,
                        libxl_domain_config *d_config,
                        const libxl_asyncop_how *ao_how);
typedef XLU_Config *cfg_init_fn(FILE *report, const char *report_filename);
typedef int cfg_readdata_fn(XLU_Config *cfg, const char *data, int length);
typedef int cfg_get_long_fn(const XLU_Config *cfg, const char *n, long *value_r,
                            int dont_warn);

static struct {
    create_new_fn *create_new;
    create_restore_fn *create_restore;
    unpause_fn *unpause;
    pci_add_fn *pci_add;
    suspend_fn *suspend;
    resume_fn *resume;
    retrieve_fn *retrieve;
    cfg_init_fn *cfg_init;
    cfg_readdata_fn *cfg_readdata;
    cfg_get_long_fn *cfg_get_long;
} real;

/* What the libxl ops need during one interposed call (xl is one thread). */
static struct {
    libxl_ctx *ctx;
    const libxl_asyncprogress_how *console_how;
    const libxl_asyncop_how *ao_how;
    /* libxl_domain_create_restore's own arguments */
    int restore_fd, send_back_fd;
    const libxl_domain_restore_params *restore_params;
} call;

static xlp plugin;
static bool plugin_ready, in_xl;
/* what xl restore's saved config says was moved off VFs (iomove.h): moved
 * back once libxl_domain_unpause ran for that domain; and what xl save
 * moved, moved back if the save fails (the domain runs on) */
typedef struct moved_list {
    xlp_moved *v;
    size_t nr;
    uint32_t domid;
    bool *attached; /* moved_in: the PF paths this xl attached for it */
} moved_list;
static moved_list moved_in, moved_out;

static void moved_list_clear(moved_list *l)
{
    free(l->v);
    free(l->attached);
    *l = (moved_list){.domid = XLP_NO_DOMID};
}
static const XLU_Config *last_cfg; /* compared, never dereferenced */
static char *last_source;

/* ---- libxl behind xlp_ops -------------------------------------------------
 */

static int op_create(void *opaque, libxl_domain_config *d, uint32_t *domid)
{
    return real.create_new(call.ctx, d, domid, NULL, call.console_how);
}

static int op_restore(void *opaque, libxl_domain_config *d, uint32_t *domid)
{
    return real.create_restore(call.ctx, d, domid, call.restore_fd,
                               call.send_back_fd, call.restore_params, NULL,
                               call.console_how);
}

static int op_unpause(void *opaque, uint32_t domid)
{
    return real.unpause(call.ctx, domid, call.ao_how);
}

static int op_destroy(void *opaque, uint32_t domid)
{
    return libxl_domain_destroy(call.ctx, domid, NULL);
}

static int op_plan_store(void *opaque, uint32_t domid, const char *text)
{
    return libxl_userdata_store(call.ctx, domid, XLP_PLAN_KEY,
                                (const uint8_t *)text, (int)strlen(text));
}

static int op_plan_load(void *opaque, uint32_t domid, char **text_out)
{
    uint8_t *data = NULL;
    int len = 0, rc;

    *text_out = NULL;
    rc = libxl_userdata_retrieve(call.ctx, domid, XLP_PLAN_KEY, &data, &len);
    if (rc && libxl_domain_info(call.ctx, NULL, domid) == ERROR_DOMAIN_NOTFOUND)
        return 0; /* no such domain: libxl's own unpause will say so */
    if (rc || !data || len <= 0) {
        free(data);
        return rc;
    }
    *text_out = strndup((const char *)data, (size_t)len);
    free(data);
    return *text_out ? 0 : ERROR_NOMEM;
}

static void op_plan_remove(void *opaque, uint32_t domid)
{
    libxl_userdata_unlink(call.ctx, domid, XLP_PLAN_KEY);
}

/* Ctrl-C (or xendomains' TERM) while the gate waits must not leave a
 * paused domain holding VFs: the signal only wakes the wait, which then
 * destroys the domain and releases them. */
static int cancel_pipe[2] = {-1, -1};
static struct sigaction old_actions[3];
static const int cancel_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void on_cancel_signal(int sig)
{
    int saved = errno;
    ssize_t r = write(cancel_pipe[1], "x", 1);

    (void)r;
    errno = saved;
}

static void op_wait_begin(void *opaque)
{
    struct sigaction sa;

    char stale[16];

    if (cancel_pipe[0] < 0 && pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK))
        return; /* no cancel: the signals keep their default effect */
    while (read(cancel_pipe[0], stale, sizeof(stale)) > 0)
        ; /* a signal of an earlier wait must not end this one */
    plugin.cancel_fd = cancel_pipe[0];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_cancel_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(cancel_signals[i], &sa, &old_actions[i]);
}

static void op_wait_end(void *opaque)
{
    if (plugin.cancel_fd < 0)
        return;
    for (int i = 0; i < 3; i++)
        sigaction(cancel_signals[i], &old_actions[i], NULL);
    plugin.cancel_fd = -1;
}

static const xlp_ops libxl_ops = {
    .create = op_create,
    .restore = op_restore,
    .unpause = op_unpause,
    .destroy = op_destroy,
    .plan_store = op_plan_store,
    .plan_load = op_plan_load,
    .plan_remove = op_plan_remove,
    .wait_begin = op_wait_begin,
    .wait_end = op_wait_end,
};

/* ---- finding the real functions -------------------------------------------
 */

static void *next_symbol(const char *name)
{
    void *sym = dlvsym(RTLD_NEXT, name, XL_SYMVER);

    if (!sym)
        sym = dlsym(RTLD_NEXT, name); /* an unversioned build of libxl */
    if (!sym) {
        /* nothing sensible to call: say so rather than crash later */
        fprintf(stderr, "xenvf: %s@" XL_SYMVER " not found: %s\n", name,
                dlerror());
        abort();
    }
    return sym;
}

static void setup(void)
{
    if (plugin_ready)
        return;
    real.create_new = (create_new_fn *)next_symbol("libxl_domain_create_new");
    real.create_restore =
        (create_restore_fn *)next_symbol("libxl_domain_create_restore");
    real.unpause = (unpause_fn *)next_symbol("libxl_domain_unpause");
    real.pci_add = (pci_add_fn *)next_symbol("libxl_device_pci_add");
    real.suspend = (suspend_fn *)next_symbol("libxl_domain_suspend");
    real.resume = (resume_fn *)next_symbol("libxl_domain_resume");
    real.retrieve =
        (retrieve_fn *)next_symbol("libxl_retrieve_domain_configuration");
    real.cfg_init = (cfg_init_fn *)next_symbol("xlu_cfg_init");
    real.cfg_readdata = (cfg_readdata_fn *)next_symbol("xlu_cfg_readdata");
    real.cfg_get_long = (cfg_get_long_fn *)next_symbol("xlu_cfg_get_long");
    xlp_log_setup();
    xlp_init(&plugin, &libxl_ops);
    plugin_ready = true;
}

static int to_libxl_rc(int rc)
{
    switch (rc) {
    case XENVF_EINVAL:
    case XENVF_ERANGE:
    case XENVF_ECONFLICT:
        return ERROR_INVAL;
    case XENVF_ENOMEM:
        return ERROR_NOMEM;
    default:
        return ERROR_FAIL;
    }
}

/* ---- xl save and xl restore move the guest's I/O (iomove.h) -------------
 */

static int iomove_disk_add(void *opaque, uint32_t domid, const char *target,
                           const char *vdev)
{
    libxl_device_disk disk;
    int rc;

    libxl_device_disk_init(&disk);
    disk.pdev_path = strdup(target);
    disk.vdev = strdup(vdev);
    disk.backend = LIBXL_DISK_BACKEND_PHY;
    disk.format = LIBXL_DISK_FORMAT_RAW;
    disk.readwrite = 1;
    rc = disk.pdev_path && disk.vdev
             ? libxl_device_disk_add(opaque, domid, &disk, NULL)
             : ERROR_NOMEM;
    libxl_device_disk_dispose(&disk);
    return rc;
}

static int iomove_disk_remove(void *opaque, uint32_t domid, const char *vdev)
{
    libxl_device_disk disk;
    int rc;

    libxl_device_disk_init(&disk);
    rc = libxl_vdev_to_device_disk(opaque, domid, vdev, &disk);
    if (!rc)
        rc = libxl_device_disk_remove(opaque, domid, &disk, NULL);
    libxl_device_disk_dispose(&disk);
    return rc;
}

typedef int pci_op_fn(libxl_ctx *ctx, uint32_t domid, libxl_device_pci *pci,
                      const libxl_asyncop_how *ao_how);

static int iomove_pci(libxl_ctx *ctx, uint32_t domid, const xenvf_bdf *bdf,
                      pci_op_fn *op)
{
    libxl_device_pci pci;
    int rc;

    libxl_device_pci_init(&pci);
    pcidev_set_bdf(&pci, bdf);
    rc = op(ctx, domid, &pci, NULL);
    libxl_device_pci_dispose(&pci);
    return rc;
}

/* through the interposed libxl_device_pci_add: checked, nodes published */
static int iomove_pci_add(void *opaque, uint32_t domid, const xenvf_bdf *bdf)
{
    return iomove_pci(opaque, domid, bdf, libxl_device_pci_add);
}

static int iomove_pci_remove(void *opaque, uint32_t domid, const xenvf_bdf *bdf)
{
    return iomove_pci(opaque, domid, bdf, libxl_device_pci_remove);
}

static void iomove_ops(xlp_iomove_ops *ops, libxl_ctx *ctx)
{
    *ops = (xlp_iomove_ops){.disk_add = iomove_disk_add,
                            .disk_remove = iomove_disk_remove,
                            .pci_add = iomove_pci_add,
                            .pci_remove = iomove_pci_remove,
                            .opaque = ctx};
}

/* What xl is running, when it takes a domain's config from libxl to
 * suspend it: "xl [opts] save [opts] DOMAIN FILE" without -c (which leaves
 * the domain running), FILE copied into file; or "xl [opts] migrate ...". */
typedef enum xl_suspending { XL_OTHER, XL_SAVE, XL_MIGRATE } xl_suspending;

static xl_suspending xl_command(char *file, size_t len)
{
    char buf[4096], *a, *end, *pos[2];
    int npos = 0;
    ssize_t n;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    file[0] = '\0';
    if (fd < 0)
        return XL_OTHER;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return XL_OTHER;
    buf[n] = '\0';
    end = buf + n;
    for (a = buf + strlen(buf) + 1; a < end && a[0] == '-'; a += strlen(a) + 1)
        ;
    if (a < end && !strcmp(a, "migrate"))
        return XL_MIGRATE;
    if (a >= end || strcmp(a, "save"))
        return XL_OTHER;
    for (a += strlen(a) + 1; a < end; a += strlen(a) + 1) {
        if (a[0] == '-' && strchr(a + 1, 'c'))
            return XL_OTHER;
        if (a[0] != '-' && npos < 2)
            pos[npos++] = a;
    }
    if (npos < 2)
        return XL_OTHER;
    snprintf(file, len, "%s", pos[1]);
    return XL_SAVE;
}

/* Can xl create file? Checked before the move: xl opens it only after
 * taking the config, and exits if it cannot, with the I/O moved. */
static bool can_write(const char *file)
{
    char dir[PATH_MAX], *slash;

    snprintf(dir, sizeof(dir), "%s", file);
    slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return !access(dir, W_OK | X_OK) &&
           (access(file, F_OK) || !access(file, W_OK));
}

/* key=value into a libxl_key_value_list (char *[]: key, value, ..., NULL) */
static int kv_add(libxl_key_value_list *l, const char *key, const char *value)
{
    size_t n = 0;
    char **grown;

    while (*l && (*l)[n])
        n += 2;
    if (!(grown = realloc(*l, (n + 3) * sizeof(char *))))
        return ERROR_NOMEM;
    *l = grown;
    grown[n] = strdup(key);
    grown[n + 1] = strdup(value);
    grown[n + 2] = NULL;
    return grown[n] && grown[n + 1] ? 0 : ERROR_NOMEM;
}

/* The value of key taken out of the list (malloc'ed), or NULL. */
static char *kv_take(libxl_key_value_list l, const char *key)
{
    char *value = NULL;
    size_t n = 0, i;

    while (l && l[n])
        n += 2;
    for (i = 0; i < n && strcmp(l[i], key); i += 2)
        ;
    if (i >= n)
        return NULL;
    value = l[i + 1];
    free(l[i]);
    memmove(&l[i], &l[i + 2], (n - i - 1) * sizeof(char *));
    return value;
}

/* Is domid a PV domain on a hypervisor without shadow paging, which PV
 * log-dirty mode needs (Debian's: docs/migration.md)? Its live migration
 * fails in Xen whatever the plugin does: unplug-and-go would take its VFs
 * for nothing. */
static bool pv_without_shadow(libxl_ctx *ctx, uint32_t domid)
{
    libxl_physinfo phys;
    libxl_dominfo info;
    bool pv = false, shadow = true;

    libxl_dominfo_init(&info);
    if (!libxl_domain_info(ctx, &info, domid))
        pv = info.domain_type == LIBXL_DOMAIN_TYPE_PV;
    libxl_dominfo_dispose(&info);
    libxl_physinfo_init(&phys);
    if (!libxl_get_physinfo(ctx, &phys))
        shadow = phys.cap_shadow;
    libxl_physinfo_dispose(&phys);
    return pv && !shadow;
}

/* xl save and xl migrate: move the I/O first, then the config as it is
 * after the move, with what was moved for xl restore or migrate-receive. */
EXPORT int libxl_retrieve_domain_configuration(libxl_ctx *ctx, uint32_t domid,
                                               libxl_domain_config *d_config,
                                               const libxl_asyncop_how *ao_how)
{
    xlp_migrate_mode mode = XLP_MIGRATE_REFUSE;
    xlp_iomove_ops ops;
    xlp_iomove_env env;
    xlp_moved *v = NULL;
    size_t nr = 0;
    char *text = NULL, file[PATH_MAX];
    xl_suspending cmd;
    const char *what;
    xenvf_err err;
    xenvf_xs xs;
    int rc;

    setup();
    /* xl save -c leaves the domain running: its I/O stays where it is
     * (xlp_suspend_check decides) */
    if (!in_xl || ao_how || (cmd = xl_command(file, sizeof(file))) == XL_OTHER)
        return real.retrieve(ctx, domid, d_config, ao_how);
    what = cmd == XL_SAVE ? "xl save" : "xl migrate";
    if (cmd == XL_SAVE && !can_write(file)) {
        LOG(ERROR,
            "xl save of domain %u: cannot write %s: the guest's I/O is not "
            "moved, and xl will not save",
            domid, file);
        return real.retrieve(ctx, domid, d_config, ao_how);
    }
    xenvf_err_init(&err);
    /* xl save's unplug-and-go keeps the VFs in the saved domain; a live
     * migration must unplug them first (iomove.h) */
    if (cmd == XL_MIGRATE &&
        xlp_migrate_mode_parse(getenv(XLP_MIGRATE_ENV), &mode, &err)) {
        LOG(ERROR,
            "%s of domain %u: %s: nothing moved, the domain keeps "
            "running",
            what, domid, err.msg);
        return ERROR_INVAL;
    }
    if (mode == XLP_MIGRATE_UNPLUG_AND_GO && pv_without_shadow(ctx, domid)) {
        LOG(WARN,
            "xl migrate of domain %u: unplug-and-go not done: a PV domain, "
            "and this hypervisor has no shadow paging, which PV live "
            "migration needs (docs/migration.md); its VFs stay",
            domid);
        mode = XLP_MIGRATE_REFUSE;
    }
    xenvf_xs_init(&xs);
    xlp_iomove_env_default(&env);
    iomove_ops(&ops, ctx);
    if (!(rc = xenvf_xs_open(&xs, &err)))
        rc = xlp_iomove_out(&xs, &ops, &env, domid,
                            mode == XLP_MIGRATE_UNPLUG_AND_GO, &v, &nr, &err);
    xenvf_xs_dispose(&xs);
    if (rc) {
        LOG(ERROR,
            "%s of domain %u: moving its I/O off its VFs failed, "
            "everything undone, the domain keeps running with its VFs: %s",
            what, domid, err.msg);
        return ERROR_FAIL;
    }
    rc = real.retrieve(ctx, domid, d_config, ao_how);
    if (!rc && nr &&
        !(rc = xlp_moved_format(v, nr, &text, &err) ? ERROR_NOMEM : 0))
        rc = kv_add(&d_config->c_info.xsdata, XLP_IOMOVE_KEY, text);
    if (rc && nr)
        LOG(ERROR,
            "%s of domain %u: its VFs are unplugged (its I/O on its PV "
            "disks where the switch served), but libxl gave no config: xl "
            "pci-attach them and ask the guest back (docs/migration.md)",
            what, domid);
    free(text);
    moved_list_clear(&moved_out);
    moved_out.v = v;
    moved_out.nr = nr;
    moved_out.domid = domid;
    return rc;
}

/* xl restore of a config that says what was moved: the PF paths there
 * (each PV disk's target set to its block device here; a VF unplugged has
 * none), the list kept for the unpause. */
static int iomove_restoring(libxl_domain_config *d)
{
    char *text = kv_take(d->c_info.xsdata, XLP_IOMOVE_KEY);
    char(*dev)[XLP_IOMOVE_DEV_MAX] = NULL;
    bool *attached = NULL;
    xlp_iomove_env env;
    xlp_moved *v = NULL;
    size_t nr = 0;
    xenvf_err err;
    xenvf_xs xs;
    int rc;

    if (!text)
        return 0;
    xenvf_err_init(&err);
    xenvf_xs_init(&xs);
    xlp_iomove_env_default(&env);
    if (!(rc = xlp_moved_parse(text, &v, &nr, &err)) &&
        !(rc = (dev = calloc(nr, sizeof(*dev))) &&
                       (attached = calloc(nr, sizeof(*attached)))
                   ? 0
                   : xenvf_err_set(&err, XENVF_ENOMEM, "out of memory")) &&
        !(rc = xenvf_xs_open(&xs, &err)) &&
        !(rc = xlp_iomove_paths(&xs, &env, v, nr, dev, attached, &err))) {
        for (size_t i = 0; !rc && i < nr; i++)
            for (int k = 0; k < d->num_disks && !rc; k++) {
                libxl_device_disk *disk = &d->disks[k];

                if (v[i].unplugged || !disk->vdev ||
                    strcmp(disk->vdev, v[i].vdev))
                    continue;
                free(disk->pdev_path);
                if (!(disk->pdev_path = strdup(dev[i])))
                    rc = xenvf_err_set(&err, XENVF_ENOMEM, "out of memory");
            }
        if (rc)
            xlp_iomove_paths_release(&xs, &env, v, nr, attached);
    }
    xenvf_xs_dispose(&xs);
    free(dev);
    free(text);
    if (rc) {
        LOG(ERROR,
            "xl restore: the guest's I/O was moved off its VFs at the save, "
            "and cannot be given its PF path: %s",
            err.msg);
        free(v);
        free(attached);
        return ERROR_FAIL;
    }
    moved_list_clear(&moved_in);
    moved_in.v = v;
    moved_in.nr = nr;
    moved_in.attached = attached;
    moved_in.domid = XLP_NO_DOMID;
    return 0;
}

/* The build of a restore whose config said what was moved failed: the
 * PF paths this xl attached for it go again. */
static void iomove_build_failed(void)
{
    xlp_iomove_env env;
    xenvf_err err;
    xenvf_xs xs;

    if (!moved_in.nr || moved_in.domid != XLP_NO_DOMID)
        return;
    xenvf_err_init(&err);
    xenvf_xs_init(&xs);
    xlp_iomove_env_default(&env);
    if (xenvf_xs_open(&xs, &err))
        LOG(ERROR, "the failed restore's PF paths stay attached: %s", err.msg);
    else
        xlp_iomove_paths_release(&xs, &env, moved_in.v, moved_in.nr,
                                 moved_in.attached);
    xenvf_xs_dispose(&xs);
    moved_list_clear(&moved_in);
}

/* What a restore moved off VFs also waits in the domain's own xenstore
 * directory (dom0's to write, gone with the domain) until the way back:
 * an xl restore -p or migrate -p leaves the domain paused and exits, and
 * the xl that unpauses it later finds it there. */
static void pending_path(char path[XENVF_XS_PATH_MAX], uint32_t domid)
{
    snprintf(path, XENVF_XS_PATH_MAX, "/local/domain/%u/%s", domid,
             XLP_IOMOVE_KEY);
}

/* xl restore or migrate-receive built domid from a config that says what
 * was moved (moved_in): kept for its unpause, here and in xenstore. */
static void iomove_restored(uint32_t domid)
{
    char path[XENVF_XS_PATH_MAX], *text = NULL;
    xenvf_err err;
    xenvf_xs xs;

    moved_in.domid = domid;
    xenvf_err_init(&err);
    xenvf_xs_init(&xs);
    pending_path(path, domid);
    if (xlp_moved_format(moved_in.v, moved_in.nr, &text, &err) ||
        xenvf_xs_open(&xs, &err) || xenvf_xs_write(&xs, path, text, &err))
        LOG(ERROR,
            "domain %u: what was moved off its VFs is not kept in %s (%s): "
            "only this xl can move it back, when it unpauses the domain",
            domid, path, err.msg);
    xenvf_xs_dispose(&xs);
    free(text);
}

/* The I/O of domid back on VFs, if list holds its moves (emptied), or if
 * an earlier xl restore -p left them in xenstore for it (moved_in); the
 * xenstore copy goes either way. */
static void iomove_back(libxl_ctx *ctx, uint32_t domid, moved_list *list)
{
    char path[XENVF_XS_PATH_MAX], *text = NULL;
    bool ours = list->nr && list->domid == domid;
    xlp_iomove_ops ops;
    xlp_iomove_env env;
    xenvf_err err;
    xenvf_xs xs;

    xenvf_err_init(&err);
    xenvf_xs_init(&xs);
    pending_path(path, domid);
    if (xenvf_xs_open(&xs, &err)) {
        if (ours)
            LOG(ERROR, "domain %u's I/O back to VFs: %s", domid, err.msg);
        goto out;
    }
    if (list == &moved_in && xenvf_xs_read(&xs, path, &text, NULL))
        text = NULL;
    if (!ours && !text)
        goto out;
    if (!ours) {
        moved_list_clear(list);
        list->domid = domid;
        if (xlp_moved_parse(text, &list->v, &list->nr, &err))
            LOG(ERROR, "domain %u: %s: %s", domid, path, err.msg);
    }
    xlp_iomove_env_default(&env);
    iomove_ops(&ops, ctx);
    if (list->nr &&
        !xlp_iomove_back(&xs, &ops, &env, domid, list->v, list->nr, &err))
        LOG(INFO, "domain %u's I/O is on its VFs again", domid);
    if (text && xenvf_xs_remove(&xs, path, &err))
        LOG(ERROR, "domain %u: %s", domid, err.msg);
    moved_list_clear(list);
out:
    free(text);
    xenvf_xs_dispose(&xs);
}

/* ---- the entry points ---------------------------------------------------- */

EXPORT XLU_Config *xlu_cfg_init(FILE *report, const char *report_filename)
{
    XLU_Config *cfg;

    setup();
    cfg = real.cfg_init(report, report_filename);
    if (cfg) {
        free(last_source);
        last_source = report_filename ? strdup(report_filename) : NULL;
        last_cfg = cfg;
    }
    return cfg;
}

EXPORT int xlu_cfg_readdata(XLU_Config *cfg, const char *data, int length)
{
    int rc;

    setup();
    rc = real.cfg_readdata(cfg, data, length);
    /* xl reads its global xl.conf first and the domain config last before
     * it builds: the last config parsed is the one being built */
    if (!rc)
        xlp_capture(&plugin, cfg,
                    cfg == last_cfg && last_source ? last_source : "config",
                    true);
    return rc;
}

/* xl looks up pci_msitranslate, pci_power_mgmt, pci_permissive and
 * pci_seize itself right after the parse: the VFs get exactly its values,
 * with no second lookup. */
EXPORT int xlu_cfg_get_long(const XLU_Config *cfg, const char *n, long *value_r,
                            int dont_warn)
{
    int rc;

    setup();
    rc = real.cfg_get_long(cfg, n, value_r, dont_warn);
    if (!rc)
        xlp_note_long(&plugin, cfg, n, *value_r);
    return rc;
}

static int create_new(libxl_ctx *ctx, libxl_domain_config *d_config,
                      uint32_t *domid, const libxl_asyncop_how *ao_how,
                      const libxl_asyncprogress_how *aop_console_how)
{
    xenvf_err err;
    int rc, lrc;

    /* no pci= and no vf=, or another toolstack's asynchronous build
     * (xenvfd's repair counts the VFs libxl gives it); pci= alone goes
     * through build.c: its managed VFs are reserved first */
    if (!xlp_has_work(&plugin, d_config) && (!d_config->num_pcidevs || ao_how))
        return real.create_new(ctx, d_config, domid, ao_how, aop_console_how);
    if (ao_how) {
        /* xl creates synchronously; committing needs the domid at once */
        LOG(ERROR, "vf= needs a synchronous libxl_domain_create_new");
        return ERROR_INVAL;
    }
    xenvf_err_init(&err);
    call.ctx = ctx;
    call.console_how = aop_console_how;
    rc = xlp_create(&plugin, d_config, domid, &lrc, &err);
    call.ctx = NULL;
    if (rc) /* build.c has said why */
        return lrc ? lrc : to_libxl_rc(rc);
    return lrc;
}

EXPORT int
libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config,
                        uint32_t *domid, const libxl_asyncop_how *ao_how,
                        const libxl_asyncprogress_how *aop_console_how)
{
    xlp_flask_watch flask;
    int rc;

    setup();
    /* a build FLASK refuses fails with EPERM alone: say why (flaskmsg.h) */
    if (!ao_how)
        xlp_flask_watch_begin(&flask);
    rc = create_new(ctx, d_config, domid, ao_how, aop_console_how);
    if (rc && !ao_how)
        xlp_flask_watch_explain(&flask);
    return rc;
}

EXPORT int
libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config,
                            uint32_t *domid, int restore_fd, int send_back_fd,
                            const libxl_domain_restore_params *params,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how)
{
    xenvf_err err;
    int rc, lrc;

    setup();
    if (!ao_how && iomove_restoring(d_config))
        return ERROR_FAIL;
    if (ao_how || !d_config->num_pcidevs) {
        rc = real.create_restore(ctx, d_config, domid, restore_fd, send_back_fd,
                                 params, ao_how, aop_console_how);
        if (rc)
            iomove_build_failed();
        else if (moved_in.nr)
            iomove_restored(*domid);
        return rc;
    }
    xenvf_err_init(&err);
    call.ctx = ctx;
    call.console_how = aop_console_how;
    call.restore_fd = restore_fd;
    call.send_back_fd = send_back_fd;
    call.restore_params = params;
    rc = xlp_restore(&plugin, d_config, domid, &lrc, &err);
    call.ctx = NULL;
    call.restore_params = NULL;
    if (rc || lrc)
        iomove_build_failed();
    if (rc)
        return lrc ? lrc : to_libxl_rc(rc);
    if (!lrc && moved_in.nr)
        iomove_restored(*domid);
    return lrc;
}

EXPORT int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid,
                                const libxl_asyncop_how *ao_how)
{
    xenvf_err err;
    int rc, lrc;

    setup();
    xenvf_err_init(&err);
    call.ctx = ctx;
    call.ao_how = ao_how;
    rc = xlp_unpause(&plugin, domid, &lrc, &err);
    call.ctx = NULL;
    call.ao_how = NULL;
    if (!rc && !lrc)
        iomove_back(ctx, domid, &moved_in);
    if (!rc)
        return lrc;
    if (lrc)
        return lrc;
    /* xl would carry on (and say success) as if the domain ran */
    if (in_xl)
        exit(EXIT_FAILURE);
    return to_libxl_rc(rc);
}

EXPORT int libxl_device_pci_add(libxl_ctx *ctx, uint32_t domid,
                                libxl_device_pci *pci,
                                const libxl_asyncop_how *ao_how)
{
    xenvf_bdf bdf;
    xenvf_err err;
    int rc;

    setup();
    xenvf_err_init(&err);
    pcidev_bdf(pci, &bdf);
    /* a device named by pci->name has no address yet: libxl's own */
    if (!pci->name && xlp_pci_attach(&plugin, domid, &bdf, &err))
        return ERROR_FAIL;
    rc = real.pci_add(ctx, domid, pci, ao_how);
    /* done when it returns (xl's way; an async caller's is not yet) */
    if (!rc && !pci->name && !ao_how)
        xlp_pci_attached(domid, &bdf);
    return rc;
}

/* xl save (flags 0) and xl migrate (LIBXL_SUSPEND_LIVE): xl resumes the
 * domain when this fails, so a refused domain keeps running (migrate.h).
 * What libxl_retrieve_domain_configuration moved goes back once xl has
 * resumed it (the guest must run to answer), or here when the guest never
 * suspended (ERROR_GUEST_TIMEDOUT: xl migrate exits without a resume). */
EXPORT int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd,
                                int flags, const libxl_asyncop_how *ao_how)
{
    xenvf_err err;
    int rc;

    setup();
    xenvf_err_init(&err);
    if (xlp_suspend(domid, flags & LIBXL_SUSPEND_LIVE, getenv(XLP_MIGRATE_ENV),
                    &err))
        rc = ERROR_FAIL;
    else
        rc = real.suspend(ctx, domid, fd, flags, ao_how);
    if (rc == ERROR_GUEST_TIMEDOUT && moved_out.nr &&
        moved_out.domid == domid) {
        LOG(ERROR,
            "libxl says domain %u did not suspend (it runs on, and xl will "
            "not resume it): its I/O goes back to its VFs",
            domid);
        iomove_back(ctx, domid, &moved_out);
    }
    return rc;
}

/* xl resumes a domain whose save or migration failed: what was moved off
 * its VFs for it goes back now that the guest runs again. */
EXPORT int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid,
                               int suspend_cancel,
                               const libxl_asyncop_how *ao_how)
{
    int rc;

    setup();
    rc = real.resume(ctx, domid, suspend_cancel, ao_how);
    if (!ao_how && moved_out.nr && moved_out.domid == domid) {
        LOG(ERROR,
            "the save or migration of domain %u failed and xl resumed it "
            "(%s): its I/O goes back to its VFs",
            domid, rc ? "libxl said it was not suspended" : "resumed");
        iomove_back(ctx, domid, &moved_out);
    }
    return rc;
}

/* ---- loading --------------------------------------------------------------
 */

/* Children of xl (hotplug scripts, qemu, the save helper) do not need the
 * plugin: xl takes it out of LD_PRELOAD as soon as it is loaded, keeping
 * any other preloads. Only xl: a wrapper on the way to it (Debian's
 * /usr/sbin/xl is a shell script, so is valgrind) must pass it on. */
static void drop_self_from_preload(void)
{
    const char *env = getenv("LD_PRELOAD");
    char *copy, *tok, *save = NULL, *out;
    size_t o = 0;
    Dl_info self;

    if (!env || !dladdr((void *)drop_self_from_preload, &self) ||
        !self.dli_fname)
        return;
    copy = strdup(env);
    out = calloc(1, strlen(env) + 1);
    if (!copy || !out)
        goto out;
    for (tok = strtok_r(copy, ": ", &save); tok;
         tok = strtok_r(NULL, ": ", &save)) {
        const char *base = strrchr(tok, '/');

        base = base ? base + 1 : tok;
        if (!strcmp(tok, self.dli_fname) || !strcmp(base, "libxenvf-xl.so"))
            continue;
        o += (size_t)sprintf(out + o, "%s%s", o ? ":" : "", tok);
    }
    if (o)
        setenv("LD_PRELOAD", out, 1);
    else
        unsetenv("LD_PRELOAD");
out:
    free(copy);
    free(out);
}

__attribute__((constructor)) static void plugin_load(void)
{
    /* xl, or xl.xenvf-orig behind the installed wrapper */
    in_xl = !strncmp(program_invocation_short_name, "xl", 2);
    if (in_xl)
        drop_self_from_preload();
}
