/*
 * xenvf watch against the real xenstored: a line per change as the TCB
 * and a PF agent write, JSON lines, a clean exit on SIGTERM and SIGINT,
 * and no wakeups while nothing changes (it blocks on the watch).
 */
#include <dirent.h>

#include "../harness/cli-env.h"
#include "../harness/check-main.h"

typedef struct watcher {
    pid_t pid;
    int out, err;
    char *pending_out, *pending_err;
} watcher;

/* Start `xenvf -v [--json] watch [PF]` and wait until it says it watches:
 * from then on every change is reported. */
static void watch_start(watcher *w, bool json, const char *pf)
{
    char *line;

    memset(w, 0, sizeof(*w));
    if (json)
        w->pid = cli_spawn(&w->out, &w->err, "-v", "--json", "watch", pf);
    else
        w->pid = cli_spawn(&w->out, &w->err, "-v", "watch", pf);
    for (;;) {
        line = read_line(w->err, &w->pending_err, 10000);
        ck_assert_msg(line, "xenvf watch did not start");
        if (strstr(line, "xenvf: watching /xenvf")) {
            free(line);
            return;
        }
        free(line);
    }
}

/* The next stdout line that contains want (earlier ones are skipped). */
static char *watch_expect(watcher *w, const char *want)
{
    for (;;) {
        char *line = read_line(w->out, &w->pending_out, 5000);

        ck_assert_msg(line, "no line with '%s' from xenvf watch", want);
        if (strstr(line, want))
            return line;
        free(line);
    }
}

/* Signal it; it must exit 0 promptly, having said nothing on stderr. */
static void watch_stop(watcher *w, int sig)
{
    cli_run r;

    ck_assert_int_eq(kill(w->pid, sig), 0);
    cli_collect(w->pid, w->out, w->err, &r);
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    cli_run_free(&r);
    free(w->pending_out);
    free(w->pending_err);
}

START_TEST(watch_prints_each_change)
{
    xenvf_err err;
    watcher w;
    char *line;

    xenvf_err_init(&err);
    watch_start(&w, false, NULL);

    /* the PF agent says the PF is resetting */
    ck_assert_int_eq(
        xenvf_xs_set_pf_state(&cli_xs, "nvme0", XENVF_PF_RESETTING, &err), 0);
    line = watch_expect(&w, "pf nvme0: state: ready -> resetting");
    /* "2026-11-22T04:01:28.123Z pf nvme0: ..." */
    ck_assert_uint_gt(strlen(line), 25);
    ck_assert_int_eq(line[4], '-');
    ck_assert_int_eq(line[10], 'T');
    ck_assert_int_eq(line[23], 'Z');
    ck_assert_int_eq(line[24], ' ');
    free(line);

    /* the TCB hands vf 1 to domain 6 */
    publish_nvme0(6);
    free(watch_expect(&w, "pf nvme0 vf 1: domain: \"\" -> 6"));

    /* a new PF appears, then goes */
    xs_put("/xenvf/pf/net0/state", "probing");
    free(watch_expect(&w, "pf net0: state = probing"));
    ck_assert_int_eq(xenvf_xs_remove_pf(&cli_xs, "net0", &err), 0);
    free(watch_expect(&w, "pf net0: removed"));

    watch_stop(&w, SIGTERM);
}
END_TEST

START_TEST(watch_json_lines_one_pf)
{
    xenvf_err err;
    watcher w;
    char *line;
    yajl_val ev;

    xenvf_err_init(&err);
    watch_start(&w, true, "nvme0");
    /* another PF is not ours to report */
    xs_put("/xenvf/pf/net0/state", "probing");
    ck_assert_int_eq(
        xenvf_xs_set_pf_state(&cli_xs, "nvme0", XENVF_PF_DEGRADED, &err), 0);
    line = watch_expect(&w, "\"event\"");
    ev = json_parse(line);
    json_str_eq(ev, "path", "/xenvf/pf/nvme0/state");
    json_str_eq(ev, "pf", "nvme0");
    json_int_eq(ev, "vf", -1);
    json_str_eq(ev, "node", "state");
    json_str_eq(ev, "event", "changed");
    json_str_eq(ev, "old", "ready");
    json_str_eq(ev, "value", "degraded");
    ck_assert_uint_eq(strlen(json_get_str(ev, "time")), 24);
    yajl_tree_free(ev);
    free(line);

    publish_nvme0(6);
    for (;;) {
        line = watch_expect(&w, "\"event\"");
        ev = json_parse(line);
        free(line);
        if (!strcmp(json_get_str(ev, "node"), "state") &&
            YAJL_IS_INTEGER(json_get(ev, "vf"))) {
            json_int_eq(ev, "vf", 1);
            json_str_eq(ev, "old", "free");
            json_str_eq(ev, "value", "active");
            yajl_tree_free(ev);
            break;
        }
        json_str_eq(ev, "pf", "nvme0");
        yajl_tree_free(ev);
    }
    watch_stop(&w, SIGINT);
}
END_TEST

/* Voluntary context switches of every thread of pid. */
static unsigned long switches(pid_t pid)
{
    char path[300], line[128];
    unsigned long total = 0, n;
    struct dirent *de;
    DIR *d;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    d = opendir(path);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid,
                 de->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "voluntary_ctxt_switches: %lu", &n) == 1)
                total += n;
        fclose(f);
    }
    closedir(d);
    return total;
}

/* Idle, it sleeps on the watch: no timer, no polling loop. */
START_TEST(watch_idles_without_wakeups)
{
    watcher w;
    unsigned long before, after;

    watch_start(&w, false, NULL);
    usleep(200 * 1000);
    before = switches(w.pid);
    usleep(1000 * 1000);
    after = switches(w.pid);
    ck_assert_msg(after - before <= 1, "%lu wakeups in 1 s of idle",
                  after - before);
    watch_stop(&w, SIGTERM);
}
END_TEST

/* xenstored goes away under it: libxenstore does not wake a watcher when
 * its connection breaks (xenvf(1), BUGS), but SIGTERM still ends it. */
START_TEST(watch_stops_after_xenstored_died)
{
    watcher w;

    watch_start(&w, false, NULL);
    xenvf_xs_dispose(&cli_xs);
    ck_assert_int_eq(xsh_stop(cli_hs), 0);
    cli_hs = NULL;
    usleep(200 * 1000);
    watch_stop(&w, SIGTERM);
}
END_TEST

START_TEST(watch_without_xenstore)
{
    cli_run r;

    ck_assert_int_eq(xsh_stop(cli_hs), 0);
    cli_hs = NULL;
    cli(&r, "watch");
    ck_cli_status(&r, 1);
    ck_contains(r.err, "xenvf: cannot connect to xenstore");
    cli_run_free(&r);

    cli(&r, "watch", "0000:01:00.0");
    ck_cli_status(&r, 2);
    cli_run_free(&r);
}
END_TEST

static Suite *cli_watch_suite(void)
{
    Suite *s = suite_create("cli_watch");
    TCase *tc = tcase_create("xenvf_watch");

    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, watch_prints_each_change);
    tcase_add_test(tc, watch_json_lines_one_pf);
    tcase_add_test(tc, watch_idles_without_wakeups);
    tcase_add_test(tc, watch_stops_after_xenstored_died);
    tcase_add_test(tc, watch_without_xenstore);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(cli_watch_suite)
