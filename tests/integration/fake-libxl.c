/*
 * fake-libxl.so: the few libxl calls that need a hypervisor, faked, so the
 * REAL xl (/usr/lib/xen-<release>/bin/xl) runs `xl create` and `xl unpause`
 * with the plugin on a machine without Xen:
 *
 *   LD_PRELOAD="libxenvf-xl.so fake-libxl.so" xl create -e web1.cfg ...
 *
 * The plugin comes first and finds these (dlvsym(RTLD_NEXT)) where it
 * would find libxenlight's; libxl's pure type functions (init, dispose,
 * JSON) still come from the real libxenlight. Domains are state in
 * $FAKE_LIBXL_DIR (so a later `xl unpause` process sees them), their
 * /local/domain/<domid> is made in the real xenstored the test runs
 * ($XENSTORED_PATH), and every call is logged to $FAKE_LIBXL_DIR/calls.
 * The test introduces domains 5.. to xenstored beforehand: "creating" one
 * takes the next. Used by tests/integration/test_xl_plugin.c only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>

#define EXPORT __attribute__((visibility("default")))

static libxl_ctx *const fake_ctx = (libxl_ctx *)"fake libxl ctx";

static void state_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void state_path(char *buf, size_t len, const char *fmt, ...)
{
    const char *dir = getenv("FAKE_LIBXL_DIR");
    va_list ap;
    int n = snprintf(buf, len, "%s/", dir ? dir : "/tmp");

    va_start(ap, fmt);
    vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    va_end(ap);
}

static void logcall(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logcall(const char *fmt, ...)
{
    char path[512];
    va_list ap;
    FILE *f;

    state_path(path, sizeof(path), "calls");
    if (!(f = fopen(path, "a")))
        return;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static int read_int(const char *name, int dflt)
{
    char path[512];
    FILE *f;
    int v = dflt;

    state_path(path, sizeof(path), "%s", name);
    if ((f = fopen(path, "r"))) {
        if (fscanf(f, "%d", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

static void write_int(const char *name, int v)
{
    char path[512];
    FILE *f;

    state_path(path, sizeof(path), "%s", name);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "%d\n", v);
        fclose(f);
    }
}

/* ---- context and host ------------------------------------------------------
 */

EXPORT int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags,
                           xentoollog_logger *lg)
{
    *pctx = fake_ctx;
    return 0;
}

EXPORT int libxl_ctx_free(libxl_ctx *ctx)
{
    return 0;
}

EXPORT void libxl_childproc_setmode(libxl_ctx *ctx,
                                    const libxl_childproc_hooks *hooks,
                                    void *user)
{
}

EXPORT const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx)
{
    /* dom0_mem= on the command line: xl does not autoballoon */
    static libxl_version_info info = {
        .xen_version_major = 4,
        .xen_version_minor = 17,
        .commandline = "dom0_mem=1024M",
    };
    return &info;
}

EXPORT int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *physinfo)
{
    physinfo->nr_cpus = 2;
    physinfo->max_cpu_id = 1;
    return 0;
}

EXPORT int libxl_cpu_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *cpumap,
                                  int max_cpus)
{
    cpumap->size = 1;
    cpumap->map = calloc(1, 1);
    return cpumap->map ? 0 : ERROR_NOMEM;
}

EXPORT int libxl_read_file_contents(libxl_ctx *ctx, const char *filename,
                                    void **data_r, int *datalen_r)
{
    FILE *f = fopen(filename, "r");
    char *data = NULL;
    size_t len = 0;
    struct stat st;

    if (!f)
        return errno;
    if (fstat(fileno(f), &st) || !(data = malloc((size_t)st.st_size + 1)) ||
        (len = fread(data, 1, (size_t)st.st_size, f)) != (size_t)st.st_size) {
        fclose(f);
        free(data);
        return EIO;
    }
    fclose(f);
    *data_r = data;
    if (datalen_r)
        *datalen_r = (int)len;
    return 0;
}

/* ---- domains ----------------------------------------------------------------
 */

/* What libxl records when it gives domid a PCI device (libxl_nodes.h):
 * its holder, then the domain's PCI backend entry number n. */
static void pci_nodes(struct xs_handle *xs, uint32_t domid, int n,
                      const libxl_device_pci *pci)
{
    char path[128], val[32];

    snprintf(path, sizeof(path), "/libxl/pciback/%04x-%02x-%02x-%x/domid",
             pci->domain, pci->bus, pci->dev, pci->func);
    snprintf(val, sizeof(val), "%u", domid);
    xs_write(xs, XBT_NULL, path, val, strlen(val));
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/dev-%d",
             domid, n);
    snprintf(val, sizeof(val), "%04x:%02x:%02x.%x", pci->domain, pci->bus,
             pci->dev, pci->func);
    xs_write(xs, XBT_NULL, path, val, strlen(val));
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/num_devs",
             domid);
    snprintf(val, sizeof(val), "%d", n + 1);
    xs_write(xs, XBT_NULL, path, val, strlen(val));
}

static void remove_pci_nodes(struct xs_handle *xs, uint32_t domid)
{
    char path[128], *val;

    for (int n = 0; n < 256; n++) {
        unsigned dom, bus, dev, fn;

        snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/dev-%d",
                 domid, n);
        if (!(val = xs_read(xs, XBT_NULL, path, NULL)))
            break;
        if (sscanf(val, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4) {
            snprintf(path, sizeof(path),
                     "/libxl/pciback/%04x-%02x-%02x-%x/domid", dom, bus, dev,
                     fn);
            xs_rm(xs, XBT_NULL, path);
        }
        free(val);
    }
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u", domid);
    xs_rm(xs, XBT_NULL, path);
}

/* A domain "built": the next domid, its home in xenstore, its PCI
 * devices' nodes, a log line. */
static int fake_build(const char *what, libxl_domain_config *d, uint32_t *domid)
{
    struct xs_permissions perm;
    const char *preload = getenv("LD_PRELOAD");
    char path[64], devs[512] = "";
    struct xs_handle *xs;
    size_t o = 0;
    int id;

    for (int i = 0; i < d->num_pcidevs && o + 48 < sizeof(devs); i++)
        o += (size_t)snprintf(
            devs + o, sizeof(devs) - o, " %04x:%02x:%02x.%x%s",
            d->pcidevs[i].domain, d->pcidevs[i].bus, d->pcidevs[i].dev,
            d->pcidevs[i].func, d->pcidevs[i].permissive ? "+permissive" : "");
    if (read_int("fail-create", 0)) {
        logcall("%s-failed %s pcidevs:%s", what, d->c_info.name, devs);
        return ERROR_FAIL;
    }
    id = read_int("next-domid", 5);
    write_int("next-domid", id + 1);
    /* libxl makes the domain's home in xenstore, owned by the domain */
    snprintf(path, sizeof(path), "/local/domain/%d", id);
    if (!(xs = xs_open(0)))
        return ERROR_FAIL;
    perm = (struct xs_permissions){.id = (unsigned)id, .perms = XS_PERM_NONE};
    xs_mkdir(xs, XBT_NULL, path);
    xs_set_permissions(xs, XBT_NULL, path, &perm, 1);
    snprintf(path, sizeof(path), "/local/domain/%d/name", id);
    xs_write(xs, XBT_NULL, path, d->c_info.name, strlen(d->c_info.name));
    for (int i = 0; i < d->num_pcidevs; i++)
        pci_nodes(xs, (uint32_t)id, i, &d->pcidevs[i]);
    xs_close(xs);
    *domid = (uint32_t)id;
    logcall("%s %d %s pcidevs:%s preload:%s passthrough:%s", what, id,
            d->c_info.name, devs, preload ? preload : "",
            libxl_passthrough_to_string(d->c_info.passthrough));
    return 0;
}

EXPORT int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d,
                                   uint32_t *domid,
                                   const libxl_asyncop_how *ao_how,
                                   const libxl_asyncprogress_how *aop)
{
    return fake_build("create", d, domid);
}

EXPORT int libxl_domain_create_restore(
    libxl_ctx *ctx, libxl_domain_config *d, uint32_t *domid, int restore_fd,
    int send_back_fd, const libxl_domain_restore_params *params,
    const libxl_asyncop_how *ao_how, const libxl_asyncprogress_how *aop)
{
    return fake_build("restore", d, domid);
}

EXPORT int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid,
                                const libxl_asyncop_how *ao_how)
{
    logcall("unpause %u", domid);
    return 0;
}

EXPORT int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid,
                                const libxl_asyncop_how *ao_how)
{
    char path[512];
    struct xs_handle *xs = xs_open(0);

    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    if (xs) {
        xs_rm(xs, XBT_NULL, path);
        /* libxl removes each PCI device, then the backend */
        remove_pci_nodes(xs, domid);
        xs_close(xs);
    }
    state_path(path, sizeof(path), "userdata-%u-xenvf-gate", domid);
    unlink(path);
    logcall("destroy %u", domid);
    return 0;
}

/* xl save and xl migrate: the stream is a line; xl destroys the domain
 * (save) or waits for the receiver (migrate) after it. */
EXPORT int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd,
                                int flags, const libxl_asyncop_how *ao_how)
{
    static const char stream[] = "fake libxl save stream\n";

    logcall("suspend %u flags %d", domid, flags);
    return write(fd, stream, sizeof(stream) - 1) < 0 ? ERROR_FAIL : 0;
}

/* xl after a failed suspend: the domain runs on */
EXPORT int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid,
                               int suspend_cancel,
                               const libxl_asyncop_how *ao_how)
{
    logcall("resume %u", domid);
    return 0;
}

EXPORT int libxl_domain_qualifier_to_domid(libxl_ctx *ctx, const char *name,
                                           uint32_t *domid)
{
    char *end;

    *domid = (uint32_t)strtoul(name, &end, 10);
    return *end ? ERROR_INVAL : 0;
}

EXPORT int libxl_domain_info(libxl_ctx *ctx, libxl_dominfo *info_r,
                             uint32_t domid)
{
    return 0; /* every domain the test asks about exists */
}

EXPORT char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid)
{
    return strdup("web1");
}

/* xl pci-attach: what libxl records once the device is the domain's
 * (libxl_nodes.h): its holder, then the domain's PCI backend entry. */
EXPORT int libxl_device_pci_add(libxl_ctx *ctx, uint32_t domid,
                                libxl_device_pci *pci,
                                const libxl_asyncop_how *ao_how)
{
    char path[128], *num;
    struct xs_handle *xs = xs_open(0);
    int n;

    if (!xs)
        return ERROR_FAIL;
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/num_devs",
             domid);
    num = xs_read(xs, XBT_NULL, path, NULL);
    n = num ? atoi(num) : 0;
    free(num);
    pci_nodes(xs, domid, n, pci);
    xs_close(xs);
    logcall("pci-add %u %04x:%02x:%02x.%x", domid, pci->domain, pci->bus,
            pci->dev, pci->func);
    return 0;
}

/* ---- userdata: files, as libxl keeps them -----------------------------------
 */

EXPORT int libxl_userdata_store(libxl_ctx *ctx, uint32_t domid,
                                const char *userdata_userid,
                                const uint8_t *data, int datalen)
{
    char path[512];
    FILE *f;

    state_path(path, sizeof(path), "userdata-%u-%s", domid, userdata_userid);
    if (read_int("fail-userdata", 0) || !(f = fopen(path, "w")))
        return ERROR_FAIL;
    fwrite(data, 1, (size_t)datalen, f);
    fclose(f);
    return 0;
}

EXPORT int libxl_userdata_retrieve(libxl_ctx *ctx, uint32_t domid,
                                   const char *userdata_userid,
                                   uint8_t **data_r, int *datalen_r)
{
    char path[512];
    void *data = NULL;
    int len = 0;

    state_path(path, sizeof(path), "userdata-%u-%s", domid, userdata_userid);
    if (access(path, F_OK)) {
        *data_r = NULL;
        *datalen_r = 0;
        return 0;
    }
    if (libxl_read_file_contents(ctx, path, &data, &len))
        return ERROR_FAIL;
    *data_r = data;
    *datalen_r = len;
    return 0;
}

EXPORT int libxl_userdata_unlink(libxl_ctx *ctx, uint32_t domid,
                                 const char *userdata_userid)
{
    char path[512];

    state_path(path, sizeof(path), "userdata-%u-%s", domid, userdata_userid);
    unlink(path);
    return 0;
}
