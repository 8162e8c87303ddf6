/* The xenvfd test machine (see daemon-env.h). */
#include "daemon-env.h"

/* The one machine of a test process (Check forks a test per case). */
denv E;

void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void denv_write_map(const char *body)
{
    char tmp[PATH_MAX + 32];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.new", E.map);
    f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n%s</vfmap>\n", body);
    fclose(f);
    /* replaced by rename, as xenvf_map_write_file does */
    ck_assert_int_eq(rename(tmp, E.map), 0);
}

void denv_setup(void)
{
    const uint64_t bars[FAKESYSFS_NR_VF_BARS] = {0x4000};
    const char *tmp = getenv("TMPDIR");

    memset(&E, 0, sizeof(E));
    ck_assert_int_eq(xsh_start(&E.hs), 0);
    ck_assert_int_eq(fakesysfs_new(&E.fs), 0);
    ck_assert_int_eq(fakesysfs_add_driver(E.fs, "pciback", false), 0);
    ck_assert_int_eq(fakesysfs_add_pf(E.fs, PF0, 0x1b36, 0x0010, 0x010802, 8, 1,
                                      1, 0x0010, bars, "nvmefake"),
                     0);
    ck_assert_int_eq(fakesysfs_add_pf(E.fs, PF1, 0x8086, 0x1521, 0x020000, 8, 1,
                                      1, 0x1520, bars, "igbfake"),
                     0);
    snprintf(E.dir, sizeof(E.dir), "%s/xenvfd.XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(E.dir));
    snprintf(E.map, sizeof(E.map), "%s/xenvf.xml", E.dir);
    snprintf(E.state, sizeof(E.state), "%s/state", E.dir);
    snprintf(E.sock, sizeof(E.sock), "%s/tcb.sock", E.dir);
    snprintf(E.log, sizeof(E.log), "%s/xenvfd.log", E.dir);
    xenvf_xs_init(&E.xs);
    ck_assert_int_eq(xenvf_xs_open(&E.xs, NULL), 0);
}

void denv_print_log(void)
{
    char cmd[PATH_MAX + 64];

    snprintf(cmd, sizeof(cmd), "tail -n 40 %s >&2", E.log);
    fprintf(stderr, "--- xenvfd log ---\n");
    if (system(cmd) < 0)
        perror("tail");
}

void denv_start_role(const char *role, const char *fault)
{
    const char *build = getenv("XENVF_BUILD"), *wrap = getenv("XENVFD_WRAPPER");
    char exe[PATH_MAX], *so = fakesysfs_kernel_so();
    char a_map[PATH_MAX + 32], a_state[PATH_MAX + 32], a_sock[PATH_MAX + 32],
        a_sysfs[PATH_MAX + 32];

    ck_assert_msg(build, "XENVF_BUILD is not set (use tests/run-tests)");
    ck_assert_msg(so, "fakesysfs-kernel.so not found");
    snprintf(exe, sizeof(exe), "%s/daemon/xenvfd", build);
    snprintf(a_map, sizeof(a_map), "--map=%s", E.map);
    snprintf(a_state, sizeof(a_state), "--state-dir=%s", E.state);
    snprintf(a_sock, sizeof(a_sock), "--socket=%s", E.sock);
    snprintf(a_sysfs, sizeof(a_sysfs), "--sysfs=%s", fakesysfs_root(E.fs));
    E.pid = fork();
    ck_assert_int_ge(E.pid, 0);
    if (E.pid == 0) {
        char *argv[32], a_role[64];
        int n = 0, fd = open(E.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        char *w = wrap ? strdup(wrap) : NULL;

        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        setenv("LD_PRELOAD", so, 1);
        setenv(FAKESYSFS_ENV_ROOT, fakesysfs_root(E.fs), 1);
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
        if (fault)
            setenv("XENVF_FAULT", fault, 1);
        else
            unsetenv("XENVF_FAULT");
        for (char *tok = w ? strtok(w, " ") : NULL; tok && n < 16;
             tok = strtok(NULL, " "))
            argv[n++] = tok;
        argv[n++] = exe;
        snprintf(a_role, sizeof(a_role), "--role=%s", role);
        argv[n++] = a_role;
        argv[n++] = a_map;
        argv[n++] = a_state;
        argv[n++] = a_sock;
        argv[n++] = a_sysfs;
        argv[n++] = "--no-uevents";
        argv[n++] = "--vf-wait-ms=3000";
        argv[n++] = "--backend=generic";
        argv[n] = NULL;
        execvp(argv[0], argv);
        _exit(127);
    }
    free(so);
}

void denv_start(const char *fault)
{
    denv_start_role("both", fault);
}

int denv_wait_ready(void)
{
    for (int i = 0; i < 600; i++) {
        xenvf_client c;
        xenvf_request req;
        xenvf_response resp;
        int st, ok;

        if (waitpid(E.pid, &st, WNOHANG) == E.pid) {
            E.pid = 0;
            return st ? st : -1;
        }
        xenvf_client_init(&c);
        xenvf_request_init(&req);
        xenvf_response_init(&resp);
        ok = !xenvf_client_connect(&c, E.sock, NULL) &&
             !xenvf_client_call(&c, &req, &resp, 2000, NULL) && !resp.rc;
        xenvf_response_dispose(&resp);
        xenvf_client_dispose(&c);
        if (ok)
            return 0;
        sleep_ms(50);
    }
    denv_print_log();
    ck_abort_msg("xenvfd did not become ready");
    return -1;
}

void denv_start_ready(void)
{
    denv_start(NULL);
    if (denv_wait_ready()) {
        denv_print_log();
        ck_abort_msg("xenvfd died at start");
    }
}

int denv_stop(void)
{
    int st = 0;

    if (E.pid <= 0)
        return 0;
    kill(E.pid, SIGTERM);
    waitpid(E.pid, &st, 0);
    E.pid = 0;
    return st;
}

void denv_kill9(void)
{
    if (E.pid <= 0)
        return;
    kill(E.pid, SIGKILL);
    waitpid(E.pid, NULL, 0);
    E.pid = 0;
}

void denv_teardown(void)
{
    char cmd[PATH_MAX + 16];
    int st = denv_stop();

    if (st) {
        denv_print_log();
        fprintf(stderr, "xenvfd exit status %d\n", st);
    }
    xenvf_xs_dispose(&E.xs);
    fakesysfs_free(E.fs);
    xsh_stop(E.hs);
    if (!getenv("XSH_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", E.dir);
        if (system(cmd) < 0)
            perror("rm");
    }
    ck_assert_msg(st == 0, "xenvfd did not stop cleanly (status %d)", st);
}

char *xs_get(const char *path)
{
    char *v = NULL;

    ck_assert_int_eq(xenvf_xs_read(&E.xs, path, &v, NULL), 0);
    return v ? v : strdup("");
}

bool xs_wait(const char *path, const char *value, int ms)
{
    for (int waited = 0;; waited += 20) {
        char *v = xs_get(path);
        bool ok = !strcmp(v, value);

        free(v);
        if (ok)
            return true;
        if (waited >= ms)
            return false;
        sleep_ms(20);
    }
}

unsigned sysfs_uint(const char *bdf, const char *attr)
{
    xenvf_bdf b;
    uint64_t v = 0;

    ck_assert_int_eq(xenvf_bdf_parse(bdf, &b, NULL), 0);
    ck_assert_int_eq(
        xenvf_sysfs_read_uint(fakesysfs_root(E.fs), &b, attr, 65535, &v, NULL),
        0);
    return (unsigned)v;
}

char *sysfs_driver(const char *bdf)
{
    xenvf_bdf b;
    char *d = NULL;

    ck_assert_int_eq(xenvf_bdf_parse(bdf, &b, NULL), 0);
    xenvf_sysfs_read_driver(fakesysfs_root(E.fs), &b, &d, NULL);
    return d ? d : strdup("");
}

bool log_has(const char *needle)
{
    char line[4096];
    bool found = false;
    FILE *f = fopen(E.log, "r");

    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

bool log_wait(const char *needle, int ms)
{
    for (int w = 0; w <= ms; w += 20) {
        if (log_has(needle))
            return true;
        sleep_ms(20);
    }
    return false;
}

int call(xenvf_client *c, xenvf_request *req, xenvf_response *resp)
{
    xenvf_client own;
    int rc;

    xenvf_response_dispose(resp);
    if (!c) {
        xenvf_client_init(&own);
        ck_assert_int_eq(xenvf_client_connect(&own, E.sock, NULL), 0);
        c = &own;
    }
    rc = xenvf_client_call(c, req, resp, 5000, NULL);
    ck_assert_int_eq(rc, 0);
    if (c == &own)
        xenvf_client_dispose(&own);
    return resp->rc;
}

void req_reserve(xenvf_request *req, const char *domain, const char *pf,
                 int index)
{
    xenvf_vf_request *v;

    xenvf_request_dispose(req);
    req->op = XENVF_OP_RESERVE;
    req->domain = strdup(domain);
    v = xenvf_request_add_vf(req);
    v->pf = strdup(pf);
    v->index = index;
}

void req_add(xenvf_request *req, const char *pf, int index)
{
    xenvf_vf_request *v = xenvf_request_add_vf(req);

    v->pf = strdup(pf);
    v->index = index;
}

void req_commit(xenvf_request *req, const char *domain, uint32_t domid)
{
    xenvf_request_dispose(req);
    req->op = XENVF_OP_COMMIT;
    req->domain = strdup(domain);
    req->domid = domid;
}

void make_domain(unsigned domid, const char *name)
{
    char path[64];

    ck_assert_int_eq(xsh_domain_create(E.hs, domid, NULL), 0);
    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    ck_assert_int_eq(xenvf_xs_write(&E.xs, path, name, NULL), 0);
}

unsigned resets(const char *bdf)
{
    unsigned n = 0;

    ck_assert_int_eq(fakesysfs_reset_count(E.fs, bdf, &n), 0);
    return n;
}

ino_t dev_ino(const char *bdf)
{
    char p[PATH_MAX + 64];
    struct stat st;

    snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/", fakesysfs_root(E.fs), bdf);
    if (stat(p, &st))
        return 0;
    return st.st_ino;
}
