/*
 * The xenvf CLI with the real xenvfd (--role=both) behind it, on the real
 * xenstored and the fake sysfs kernel (the daemon tests' fixture,
 * daemon-env.h): status sees the TCB up; the map edits the CLI
 * makes are what xenvfd applies; show and list report what it publishes;
 * watch follows a domain's VF through release and reset.
 */
#include "../harness/cli-env.h"
#include "../harness/daemon-env.h"
#include "../harness/check-main.h"

static void setup(void)
{
    denv_setup();
    denv_write_map(MAP_PF0(0, ""));
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/numvfs", "0");
    cli_map = E.map;
    cli_sysfs = fakesysfs_root(E.fs);
    cli_sock = E.sock;
}

static void teardown(void)
{
    denv_teardown();
}

/* How many lines of xenvfd's log contain needle. */
static unsigned log_count(const char *needle)
{
    char line[4096];
    unsigned n = 0;
    FILE *f = fopen(E.log, "r");

    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* Wait (bounded) until xenvfd has put one more map in force than before. */
static void wait_map_in_force(unsigned before)
{
    for (int w = 0; w < 5000 && log_count("in force") <= before; w += 20)
        sleep_ms(20);
    if (log_count("in force") <= before) {
        denv_print_log();
        ck_abort_msg("xenvfd did not put the edited map in force");
    }
}

START_TEST(status_sees_the_tcb)
{
    cli_run r;
    yajl_val doc;

    ASSERT_XS("/xenvf/pf/nvme0/state", "ready");
    cli(&r, "status");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "xenvfd (tcb)           : up (");
    ck_contains(r.out, "pf nvme0               : ready, 0 of 0 VFs in use\n");
    cli_run_free(&r);

    cli(&r, "--json", "status");
    ck_cli_status(&r, 0);
    doc = json_parse(r.out);
    json_bool_eq(json_get(doc, "tcb"), "reachable", true);
    json_str_eq(json_get(doc, "tcb"), "error", NULL);
    json_str_eq(json_index(json_get(doc, "pfs"), 0), "state", "ready");
    json_int_eq(doc, "exit", 0);
    yajl_tree_free(doc);
    cli_run_free(&r);

    /* stopped: the documented 3 */
    ck_assert_int_eq(denv_stop(), 0);
    cli(&r, "status");
    ck_cli_status(&r, 3);
    cli_run_free(&r);
    denv_start_ready();
}
END_TEST

/* The whole loop: the CLI edits, xenvfd applies, the CLI reports. */
START_TEST(edits_applied_by_xenvfd)
{
    xenvf_client c;
    xenvf_request req;
    xenvf_response resp;
    cli_run r;
    yajl_val doc, v;
    unsigned in_force;

    cli(&r, "set-numvfs", "nvme0", "2");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "pf nvme0: numvfs 0 -> 2 in the map\n");
    ck_assert_str_eq(r.err, ""); /* xenvfd answered: no warning */
    cli_run_free(&r);
    ASSERT_XS("/xenvf/pf/nvme0/numvfs", "2");
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_numvfs"), 2);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "free");

    in_force = log_count("in force");
    cli(&r, "assign", "nvme0#1", "web1");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    cli_run_free(&r);
    wait_map_in_force(in_force);

    /* what the plugin does at xl create: any VF of nvme0 for web1 gets the
     * one the map gives web1 */
    make_domain(5, "web1");
    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    /* reservations belong to their connection until committed */
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, "web1", "nvme0", -1);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    ck_assert_uint_eq(resp.nr_vfs, 1);
    ck_assert_uint_eq(resp.vfs[0].index, 1);
    req_commit(&req, "web1", 5);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    xenvf_client_dispose(&c);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "active");

    cli(&r, "show", "--json", "nvme0");
    ck_cli_status(&r, 0);
    doc = json_parse(r.out);
    json_int_eq(doc, "numvfs", 2);
    json_int_eq(doc, "active", 1);
    v = json_index(json_get(doc, "vfs"), 1);
    json_str_eq(v, "state", "active");
    json_int_eq(v, "domid", 5);
    json_str_eq(v, "name", "web1");
    json_str_eq(v, "assigned", "web1");
    json_str_eq(v, "bdf", "0000:01:00.2");
    yajl_tree_free(doc);
    cli_run_free(&r);

    /* xenvfd would refuse a NumVFs change now: so does the CLI, early */
    cli(&r, "set-numvfs", "nvme0", "4");
    ck_cli_status(&r, 1);
    ck_contains(r.err, "1 VF is in use (vf 1 by domain 5 (web1))");
    cli_run_free(&r);
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_numvfs"), 2);

    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

/* A guest dies: xenvfd resets its VF and frees it; watch shows each step. */
START_TEST(watch_follows_release_and_reset)
{
    xenvf_client c;
    xenvf_request req;
    xenvf_response resp;
    cli_run r;
    char *line, *pending = NULL, *pending_err = NULL;
    int o, e;
    pid_t pid;
    bool freed = false;

    denv_write_map(MAP_PF0(2, ""));
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "free");
    make_domain(7, "web7");
    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, "web7", "nvme0", 0);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    req_commit(&req, "web7", 7);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    xenvf_client_dispose(&c);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "active");

    pid = cli_spawn(&o, &e, "-v", "watch", "nvme0");
    line = read_line(e, &pending_err, 10000);
    ck_assert_ptr_nonnull(line);
    ck_contains(line, "xenvf: watching /xenvf/pf/nvme0");
    free(line);

    ck_assert_int_eq(xsh_domain_kill(E.hs, 7), 0);
    while (!freed && (line = read_line(o, &pending, 10000))) {
        ck_contains(line, "pf nvme0");
        freed =
            strstr(line, "pf nvme0 vf 0: state: ") && strstr(line, "-> free");
        free(line);
    }
    ck_assert_msg(freed, "watch never said vf 0 became free");
    ck_assert_uint_ge(resets("0000:01:00.1"), 1);

    kill(pid, SIGTERM);
    cli_collect(pid, o, e, &r);
    ck_cli_status(&r, 0);
    cli_run_free(&r);
    free(pending);
    free(pending_err);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

static Suite *cli_daemon_suite(void)
{
    Suite *s = suite_create("cli_daemon");
    TCase *tc = tcase_create("xenvf_with_xenvfd");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, status_sees_the_tcb);
    tcase_add_test(tc, edits_applied_by_xenvfd);
    tcase_add_test(tc, watch_follows_release_and_reset);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(cli_daemon_suite)
