/*
 * Shared by the xenvf CLI's integration tests (test_cli_*.c): a machine
 * made of Debian's real xenstored (xs-harness), a fake sysfs tree with
 * three SR-IOV PFs (fakesysfs) and a VF map in a private directory, and
 * helpers to run the CLI binary as a child and look at what it did.
 *
 * The machine, as the fixture builds it:
 *
 *   0000:00:1f.0  a plain function (no SR-IOV)
 *   0000:01:00.0  nvme,      TotalVFs 4, NumVFs 2 (VFs 01:00.1, 01:00.2)
 *   0000:02:00.0  ixgbe,     TotalVFs 8, NumVFs 0
 *   0000:03:00.0  mlx5_core, TotalVFs 16, not in the map
 *
 *   map: nvme0 = 01:00.0 numvfs 2, vf 0 -> web1 (function nvme, boot 1)
 *        net0  = 02:00.0 numvfs 4, vf 1 -> web1 (mac, vlan 10)
 *   xenstore: nvme0 published, state ready, vf 0 active in domain 5
 *             (named web1), vf 1 free; net0 not published.
 *
 * Define TEST_CLI_NO_FIXTURE before including it for the runner alone
 * (test_cli_daemon.c runs the CLI against the real xenvfd's fixture); then
 * point cli_map, cli_sysfs and cli_sock at the machine.
 */
#ifndef TEST_CLI_COMMON_H
#define TEST_CLI_COMMON_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <yajl/yajl_tree.h>

#include <xenvf/map.h>
#include <xenvf/xs.h>

#include "../harness/fakesysfs.h"
#include "../harness/xs-harness.h"

#define UNUSED         __attribute__((unused))
#define CLI_TIMEOUT_MS 20000

/* What the CLI is pointed at (--map, --sysfs, --socket). */
static const char *cli_map, *cli_sysfs, *cli_sock;

#ifndef TEST_CLI_NO_FIXTURE
static xs_harness *hs;
static xenvf_xs xs;
static fakesysfs *fs;
static char tmpdir[PATH_MAX - 64];
static char map_path[PATH_MAX];
static char sock_path[PATH_MAX];

static const char fixture_map[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
    "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"2\">\n"
    "    <vf index=\"0\" domain=\"web1\" function=\"nvme\" boot=\"1\"/>\n"
    "  </pf>\n"
    "  <pf id=\"net0\" address=\"0000:02:00.0\" numvfs=\"4\">\n"
    "    <vf index=\"1\" domain=\"web1\" mac=\"02:16:3e:00:00:01\" "
    "vlan=\"10\"/>\n"
    "  </pf>\n"
    "</vfmap>\n";

#endif /* TEST_CLI_NO_FIXTURE */

/* ---- files ------------------------------------------------------------ */

UNUSED static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_msg(f, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* The whole file, NUL-terminated; NULL if it does not exist. */
UNUSED static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;

    if (!f) {
        ck_assert_int_eq(errno, ENOENT);
        return NULL;
    }
    FILE *m = open_memstream(&buf, &len);
    int c;

    ck_assert_ptr_nonnull(m);
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(m);
    fclose(f);
    return buf;
}

/* ---- the machine ------------------------------------------------------ */

#ifndef TEST_CLI_NO_FIXTURE

static void enable_vfs(const char *bdf, const char *n)
{
    char dir[PATH_MAX], *real;

    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", fakesysfs_root(fs),
             bdf);
    real = realpath(dir, NULL);
    ck_assert_ptr_nonnull(real);
    ck_assert_int_eq(fakesysfs_kernel_store(fakesysfs_root(fs), real,
                                            "sriov_numvfs", n, strlen(n)),
                     (ssize_t)strlen(n));
    free(real);
}

static void make_sysfs(void)
{
    const uint64_t bars[FAKESYSFS_NR_VF_BARS] = {0x4000};

    ck_assert_int_eq(fakesysfs_new(&fs), 0);
    ck_assert_int_eq(fakesysfs_add_device(fs, "0000:00:1f.0", 0x8086, 0x2918,
                                          0x060100, NULL),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(fs, "0000:01:00.0", 0x1b36, 0x0010,
                                      0x010802, 4, 1, 1, 0x0011, bars, "nvme"),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(fs, "0000:02:00.0", 0x8086, 0x10fb,
                                      0x020000, 8, 0x80, 2, 0x10ed, bars,
                                      "ixgbe"),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(fs, "0000:03:00.0", 0x15b3, 0x1017,
                                      0x020000, 16, 1, 1, 0x1018, bars,
                                      "mlx5_core"),
                     0);
    enable_vfs("0000:01:00.0", "2");
}

/* nvme0 as the TCB publishes it; vf1_domid XENVF_DOMID_NONE: vf 1 free. */
UNUSED static void publish_nvme0(uint32_t vf1_domid)
{
    xenvf_pf pf;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_pf_set_id(&pf, "nvme0", NULL), 0);
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.0", &pf.bdf, NULL), 0);
    pf.owner_domid = 0;
    pf.total_vfs = 4;
    pf.num_vfs = 2;
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 2, NULL), 0);
    for (unsigned i = 0; i < 2; i++) {
        pf.vfs[i].bdf_known = true;
        ck_assert_int_eq(
            xenvf_bdf_vf_address(&pf.bdf, 1, 1, i, &pf.vfs[i].bdf, NULL), 0);
        pf.vfs[i].state = XENVF_VF_FREE;
    }
    pf.vfs[0].state = XENVF_VF_ACTIVE;
    pf.vfs[0].domid = 5;
    if (vf1_domid != XENVF_DOMID_NONE) {
        pf.vfs[1].state = XENVF_VF_ACTIVE;
        pf.vfs[1].domid = vf1_domid;
    }
    ck_assert_msg(!xenvf_xs_publish_pf(&xs, &pf, NULL, &err), "%s", err.msg);
    xenvf_pf_dispose(&pf);
}

UNUSED static void xs_put(const char *path, const char *value)
{
    ck_assert_msg(xs_write(xs.h, XBT_NULL, path, value, strlen(value)),
                  "write %s: %s", path, strerror(errno));
}

static void setup(void)
{
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xsh_start(&hs), 0);
    ck_assert_msg(!xenvf_xs_open(&xs, &err), "%s", err.msg);
    ck_assert_msg(!xenvf_xs_setup_root(&xs, &err), "%s", err.msg);
    make_sysfs();

    snprintf(tmpdir, sizeof(tmpdir), "%s/xenvf-cli.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(map_path, sizeof(map_path), "%s/xenvf.xml", tmpdir);
    snprintf(sock_path, sizeof(sock_path), "%s/tcb.sock", tmpdir);
    write_file(map_path, fixture_map);
    cli_map = map_path;
    cli_sysfs = fakesysfs_root(fs);
    cli_sock = sock_path;

    publish_nvme0(XENVF_DOMID_NONE);
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, &err),
                     0);
    xs_put("/local/domain/5/name", "web1");
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];

    xenvf_xs_dispose(&xs);
    if (hs)
        xsh_stop(hs);
    hs = NULL;
    fakesysfs_free(fs);
    fs = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (tmpdir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

#endif /* TEST_CLI_NO_FIXTURE */

/* ---- running the CLI -------------------------------------------------- */

typedef struct cli_run {
    int status; /* exit status; 128 + signal if killed */
    char *out, *err;
} cli_run;

static void cli_run_free(cli_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

static const char *cli_path(void)
{
    static char path[PATH_MAX];
    const char *b = getenv("XENVF_BUILD");

    ck_assert_msg(b, "XENVF_BUILD is not set (run through tests/run-tests)");
    snprintf(path, sizeof(path), "%s/tools/xenvf/xenvf", b);
    return path;
}

/* argv for the CLI: the global options naming the fixture, then args. */
static char **cli_argv(const char *first, va_list ap)
{
    static char *argv[64];
    int n = 0;

    argv[n++] = (char *)cli_path();
    argv[n++] = "--map";
    argv[n++] = (char *)cli_map;
    argv[n++] = "--sysfs";
    argv[n++] = (char *)cli_sysfs;
    argv[n++] = "--socket";
    argv[n++] = (char *)cli_sock;
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        ck_assert_int_lt(n, 63);
        argv[n++] = (char *)a;
    }
    argv[n] = NULL;
    return argv;
}

/* Start the CLI with pipes on stdout and stderr. */
static pid_t cli_spawn_v(int *out_fd, int *err_fd, const char *first,
                         va_list ap)
{
    char **argv = cli_argv(first, ap);
    int o[2], e[2];
    pid_t pid;

    ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(e, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    *out_fd = o[0];
    *err_fd = e[0];
    return pid;
}

UNUSED static pid_t cli_spawn_(int *out_fd, int *err_fd, const char *first, ...)
{
    va_list ap;
    pid_t pid;

    va_start(ap, first);
    pid = cli_spawn_v(out_fd, err_fd, first, ap);
    va_end(ap);
    return pid;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read both pipes to EOF, then reap: the result of a finished run. */
static void cli_collect(pid_t pid, int out_fd, int err_fd, cli_run *r)
{
    FILE *mo, *me;
    size_t lo = 0, le = 0;
    int64_t deadline = now_ms() + CLI_TIMEOUT_MS;
    int open_fds = 2, st;

    memset(r, 0, sizeof(*r));
    mo = open_memstream(&r->out, &lo);
    me = open_memstream(&r->err, &le);
    ck_assert(mo && me);
    while (open_fds) {
        struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN},
                              {.fd = err_fd, .events = POLLIN}};
        char buf[4096];
        int left = (int)(deadline - now_ms());

        if (left <= 0) {
            kill(pid, SIGKILL);
            ck_abort_msg("xenvf did not finish within %d ms", CLI_TIMEOUT_MS);
        }
        if (poll(p, 2, left) < 0 && errno != EINTR)
            ck_abort_msg("poll: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            ssize_t n;

            if (p[i].fd < 0 || !p[i].revents)
                continue;
            n = read(p[i].fd, buf, sizeof(buf));
            if (n > 0) {
                fwrite(buf, 1, (size_t)n, i ? me : mo);
            } else if (n == 0 || errno != EINTR) {
                close(p[i].fd);
                if (i)
                    err_fd = -1;
                else
                    out_fd = -1;
                open_fds--;
            }
        }
    }
    fclose(mo);
    fclose(me);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the CLI to completion. */
UNUSED static void cli_(cli_run *r, const char *first, ...)
{
    va_list ap;
    int o, e;
    pid_t pid;

    va_start(ap, first);
    pid = cli_spawn_v(&o, &e, first, ap);
    va_end(ap);
    cli_collect(pid, o, e, r);
}

/* cli(&r, "list", "--json"): the arguments, without a terminating NULL. */
#define cli(r, ...)          cli_(r, __VA_ARGS__, (const char *)NULL)
#define cli_spawn(o, e, ...) cli_spawn_(o, e, __VA_ARGS__, (const char *)NULL)

/* Assert the exit status, showing what the CLI said when it is wrong. */
#define ck_cli_status(r, want)                                                 \
    ck_assert_msg((r)->status == (want),                                       \
                  "exit %d, wanted %d\nstdout:\n%s\nstderr:\n%s", (r)->status, \
                  (want), (r)->out, (r)->err)

#define ck_contains(hay, needle)                                               \
    ck_assert_msg(strstr((hay), (needle)), "'%s' not in:\n%s", (needle), (hay))

/* Read a line from fd within timeout_ms; NULL at EOF or timeout. Bytes
 * past the line stay in *pending. */
UNUSED static char *read_line(int fd, char **pending, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        char *nl = *pending ? strchr(*pending, '\n') : NULL, buf[4096], *line;
        size_t have = *pending ? strlen(*pending) : 0;
        ssize_t n;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left;

        if (nl) {
            line = strndup(*pending, (size_t)(nl - *pending));
            memmove(*pending, nl + 1, strlen(nl + 1) + 1);
            return line;
        }
        left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
            return NULL;
        *pending = realloc(*pending, have + (size_t)n + 1);
        ck_assert_ptr_nonnull(*pending);
        memcpy(*pending + have, buf, (size_t)n);
        (*pending)[have + (size_t)n] = '\0';
    }
}

/* ---- JSON ------------------------------------------------------------- */

UNUSED static yajl_val json_parse(const char *text)
{
    char errbuf[256];
    yajl_val v = yajl_tree_parse(text, errbuf, sizeof(errbuf));

    ck_assert_msg(v, "not JSON (%s):\n%s", errbuf, text);
    return v;
}

UNUSED static yajl_val json_get(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v;

    ck_assert_msg(YAJL_IS_OBJECT(obj), "not an object looking for %s", key);
    v = yajl_tree_get(obj, path, yajl_t_any);
    ck_assert_msg(v, "no key '%s'", key);
    return v;
}

/* A string member, asserted to be one. */
UNUSED static const char *json_get_str(yajl_val obj, const char *key)
{
    yajl_val v = json_get(obj, key);

    ck_assert_msg(YAJL_IS_STRING(v), "%s: not a string", key);
    return v->u.string;
}

UNUSED static void json_str_eq(yajl_val obj, const char *key, const char *want)
{
    yajl_val v = json_get(obj, key);

    if (!want) {
        ck_assert_msg(YAJL_IS_NULL(v), "%s: wanted null", key);
        return;
    }
    ck_assert_msg(YAJL_IS_STRING(v), "%s: not a string", key);
    ck_assert_str_eq(YAJL_GET_STRING(v), want);
}

/* want < 0: null */
UNUSED static void json_int_eq(yajl_val obj, const char *key, long long want)
{
    yajl_val v = json_get(obj, key);

    if (want < 0) {
        ck_assert_msg(YAJL_IS_NULL(v), "%s: wanted null", key);
        return;
    }
    ck_assert_msg(YAJL_IS_INTEGER(v), "%s: not an integer", key);
    ck_assert_msg(YAJL_GET_INTEGER(v) == want, "%s: %lld, wanted %lld", key,
                  YAJL_GET_INTEGER(v), want);
}

UNUSED static void json_bool_eq(yajl_val obj, const char *key, bool want)
{
    yajl_val v = json_get(obj, key);

    ck_assert_msg(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v), "%s: not a bool", key);
    ck_assert_msg(YAJL_IS_TRUE(v) == want, "%s: wanted %s", key,
                  want ? "true" : "false");
}

UNUSED static yajl_val json_index(yajl_val arr, size_t i)
{
    ck_assert(YAJL_IS_ARRAY(arr));
    ck_assert_uint_lt(i, YAJL_GET_ARRAY(arr)->len);
    return YAJL_GET_ARRAY(arr)->values[i];
}

/* ---- a stand-in for xenvfd's socket ----------------------------------- */

typedef enum { TCB_ANSWER, TCB_SILENT } tcb_mode;

typedef struct fake_tcb {
    int fd;
    tcb_mode mode;
    pthread_t thread;
} fake_tcb;

static void *fake_tcb_main(void *arg)
{
    fake_tcb *t = arg;

    for (;;) {
        int c = accept(t->fd, NULL, NULL);
        char buf[4096];
        ssize_t n;

        if (c < 0)
            return NULL;
        /* one request line, then one answer (or none) */
        while ((n = read(c, buf, sizeof(buf))) > 0)
            if (memchr(buf, '\n', (size_t)n))
                break;
        if (t->mode == TCB_ANSWER)
            (void)!write(c, "{\"ok\":true}\n", 12);
        else
            while (read(c, buf, sizeof(buf)) > 0)
                ; /* hold the line until the client gives up */
        close(c);
    }
}

/* Listen on cli_sock and answer pings (or never answer). Enough of the
 * protocol for `status`; the real xenvfd is tested in its own tests. */
UNUSED static void fake_tcb_start(fake_tcb *t, tcb_mode mode)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    t->mode = mode;
    t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(t->fd, 0);
    ck_assert_uint_lt(strlen(cli_sock), sizeof(sa.sun_path));
    strcpy(sa.sun_path, cli_sock);
    ck_assert_int_eq(bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(t->fd, 8), 0);
    ck_assert_int_eq(pthread_create(&t->thread, NULL, fake_tcb_main, t), 0);
}

UNUSED static void fake_tcb_stop(fake_tcb *t)
{
    shutdown(t->fd, SHUT_RDWR);
    close(t->fd);
    pthread_join(t->thread, NULL);
    unlink(cli_sock);
}

#endif
