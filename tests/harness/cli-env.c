/* The xenvf CLI's test machine (see cli-env.h). */
#include "cli-env.h"

const char *cli_map, *cli_sysfs, *cli_sock;
xs_harness *cli_hs;
xenvf_xs cli_xs;
fakesysfs *cli_fs;
char cli_dir[PATH_MAX - 64];
char cli_map_path[PATH_MAX];
char cli_sock_path[PATH_MAX];
const char fixture_map[] =
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

void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_msg(f, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

char *read_file(const char *path)
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

void enable_vfs(const char *bdf, const char *n)
{
    char dir[PATH_MAX], *real;

    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", fakesysfs_root(cli_fs),
             bdf);
    real = realpath(dir, NULL);
    ck_assert_ptr_nonnull(real);
    ck_assert_int_eq(fakesysfs_kernel_store(fakesysfs_root(cli_fs), real,
                                            "sriov_numvfs", n, strlen(n)),
                     (ssize_t)strlen(n));
    free(real);
}

void make_sysfs(void)
{
    const uint64_t bars[FAKESYSFS_NR_VF_BARS] = {0x4000};

    ck_assert_int_eq(fakesysfs_new(&cli_fs), 0);
    ck_assert_int_eq(fakesysfs_add_device(cli_fs, "0000:00:1f.0", 0x8086,
                                          0x2918, 0x060100, NULL),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(cli_fs, "0000:01:00.0", 0x1b36, 0x0010,
                                      0x010802, 4, 1, 1, 0x0011, bars, "nvme"),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(cli_fs, "0000:02:00.0", 0x8086, 0x10fb,
                                      0x020000, 8, 0x80, 2, 0x10ed, bars,
                                      "ixgbe"),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(cli_fs, "0000:03:00.0", 0x15b3, 0x1017,
                                      0x020000, 16, 1, 1, 0x1018, bars,
                                      "mlx5_core"),
                     0);
    enable_vfs("0000:01:00.0", "2");
}

void publish_nvme0(uint32_t vf1_domid)
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
    /* its effective settings, as xenvfd publishes them: the map's */
    pf.vfs[0].config.function = strdup("nvme");
    pf.vfs[0].config.boot = 1;
    if (vf1_domid != XENVF_DOMID_NONE) {
        pf.vfs[1].state = XENVF_VF_ACTIVE;
        pf.vfs[1].domid = vf1_domid;
    }
    ck_assert_msg(!xenvf_xs_publish_pf(&cli_xs, &pf, NULL, &err), "%s",
                  err.msg);
    xenvf_pf_dispose(&pf);
}

void xs_put(const char *path, const char *value)
{
    ck_assert_msg(xs_write(cli_xs.h, XBT_NULL, path, value, strlen(value)),
                  "write %s: %s", path, strerror(errno));
}

void cli_setup(void)
{
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xsh_start(&cli_hs), 0);
    ck_assert_msg(!xenvf_xs_open(&cli_xs, &err), "%s", err.msg);
    ck_assert_msg(!xenvf_xs_setup_root(&cli_xs, &err), "%s", err.msg);
    make_sysfs();

    snprintf(cli_dir, sizeof(cli_dir), "%s/xenvf-cli.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(cli_dir));
    snprintf(cli_map_path, sizeof(cli_map_path), "%s/xenvf.xml", cli_dir);
    snprintf(cli_sock_path, sizeof(cli_sock_path), "%s/tcb.sock", cli_dir);
    write_file(cli_map_path, fixture_map);
    cli_map = cli_map_path;
    cli_sysfs = fakesysfs_root(cli_fs);
    cli_sock = cli_sock_path;

    publish_nvme0(XENVF_DOMID_NONE);
    ck_assert_int_eq(
        xenvf_xs_set_pf_state(&cli_xs, "nvme0", XENVF_PF_READY, &err), 0);
    xs_put("/local/domain/5/name", "web1");
}

void cli_teardown(void)
{
    char cmd[PATH_MAX + 16];

    xenvf_xs_dispose(&cli_xs);
    if (cli_hs)
        xsh_stop(cli_hs);
    cli_hs = NULL;
    fakesysfs_free(cli_fs);
    cli_fs = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cli_dir);
    if (cli_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", cli_dir);
}

void cli_run_free(cli_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

const char *cli_path(void)
{
    static char path[PATH_MAX];
    const char *b = getenv("XENVF_BUILD");

    ck_assert_msg(b, "XENVF_BUILD is not set (run through tests/run-tests)");
    snprintf(path, sizeof(path), "%s/tools/xenvf/xenvf", b);
    return path;
}

char **cli_argv(const char *first, va_list ap)
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

pid_t cli_spawn_v(int *out_fd, int *err_fd, const char *first, va_list ap)
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

pid_t cli_spawn_(int *out_fd, int *err_fd, const char *first, ...)
{
    va_list ap;
    pid_t pid;

    va_start(ap, first);
    pid = cli_spawn_v(out_fd, err_fd, first, ap);
    va_end(ap);
    return pid;
}

int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_collect(pid_t pid, int out_fd, int err_fd, cli_run *r)
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

void cli_(cli_run *r, const char *first, ...)
{
    va_list ap;
    int o, e;
    pid_t pid;

    va_start(ap, first);
    pid = cli_spawn_v(&o, &e, first, ap);
    va_end(ap);
    cli_collect(pid, o, e, r);
}

char *read_line(int fd, char **pending, int timeout_ms)
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

yajl_val json_parse(const char *text)
{
    char errbuf[256];
    yajl_val v = yajl_tree_parse(text, errbuf, sizeof(errbuf));

    ck_assert_msg(v, "not JSON (%s):\n%s", errbuf, text);
    return v;
}

/* The first place a and b differ, as a path ("pfs[0].state"), into
 * where; false when they are the same (object keys in any order). */
static bool json_differs(yajl_val a, yajl_val b, char *where, size_t len)
{
    size_t n = strlen(where);

    if (!a || !b || a->type != b->type)
        return true;
    switch (a->type) {
    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) != 0;
    case yajl_t_number:
        return strcmp(a->u.number.r, b->u.number.r) != 0;
    case yajl_t_array:
        for (size_t i = 0; i < a->u.array.len && i < b->u.array.len; i++) {
            snprintf(where + n, len - n, "[%zu]", i);
            if (json_differs(a->u.array.values[i], b->u.array.values[i], where,
                             len))
                return true;
        }
        where[n] = '\0';
        return a->u.array.len != b->u.array.len;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            return true;
        for (size_t i = 0; i < a->u.object.len; i++) {
            const char *path[] = {a->u.object.keys[i], NULL};

            snprintf(where + n, len - n, "%s%s", n ? "." : "",
                     a->u.object.keys[i]);
            if (json_differs(a->u.object.values[i],
                             yajl_tree_get(b, path, yajl_t_any), where, len))
                return true;
        }
        where[n] = '\0';
        return false;
    default: /* true, false, null: the type says it all */
        return false;
    }
}

void ck_json_expected(const char *text, const char *name)
{
    const char *src = getenv("XENVF_SRCDIR");
    char path[PATH_MAX], where[256] = "";
    char *want_text;
    yajl_val got = json_parse(text), want;

    ck_assert_msg(src, "XENVF_SRCDIR is not set (run through tests/run-tests)");
    snprintf(path, sizeof(path), "%s/tests/data/cli/%s", src, name);
    if (getenv("XENVF_BLESS")) /* a maintainer's new expectation */
        write_file(path, text);
    want_text = read_file(path);
    ck_assert_msg(want_text, "%s: no such file (XENVF_BLESS=1 writes it)",
                  path);
    want = json_parse(want_text);
    ck_assert_msg(!json_differs(want, got, where, sizeof(where)),
                  "the output differs from %s at '%s':\n%s", path,
                  where[0] ? where : "(top)", text);
    yajl_tree_free(want);
    yajl_tree_free(got);
    free(want_text);
}

yajl_val json_get(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v;

    ck_assert_msg(YAJL_IS_OBJECT(obj), "not an object looking for %s", key);
    v = yajl_tree_get(obj, path, yajl_t_any);
    ck_assert_msg(v, "no key '%s'", key);
    return v;
}

const char *json_get_str(yajl_val obj, const char *key)
{
    yajl_val v = json_get(obj, key);

    ck_assert_msg(YAJL_IS_STRING(v), "%s: not a string", key);
    return v->u.string;
}

void json_str_eq(yajl_val obj, const char *key, const char *want)
{
    yajl_val v = json_get(obj, key);

    if (!want) {
        ck_assert_msg(YAJL_IS_NULL(v), "%s: wanted null", key);
        return;
    }
    ck_assert_msg(YAJL_IS_STRING(v), "%s: not a string", key);
    ck_assert_str_eq(YAJL_GET_STRING(v), want);
}

void json_int_eq(yajl_val obj, const char *key, long long want)
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

void json_bool_eq(yajl_val obj, const char *key, bool want)
{
    yajl_val v = json_get(obj, key);

    ck_assert_msg(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v), "%s: not a bool", key);
    ck_assert_msg(YAJL_IS_TRUE(v) == want, "%s: wanted %s", key,
                  want ? "true" : "false");
}

yajl_val json_index(yajl_val arr, size_t i)
{
    ck_assert(YAJL_IS_ARRAY(arr));
    ck_assert_uint_lt(i, YAJL_GET_ARRAY(arr)->len);
    return YAJL_GET_ARRAY(arr)->values[i];
}

void *fake_tcb_main(void *arg)
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

void fake_tcb_start(fake_tcb *t, tcb_mode mode)
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

void fake_tcb_stop(fake_tcb *t)
{
    shutdown(t->fd, SHUT_RDWR);
    close(t->fd);
    pthread_join(t->thread, NULL);
    unlink(cli_sock);
}
