/*
 * The xenvf CLI's read commands against the real xenstored and a fake
 * sysfs tree: list (text, and JSON against expected files), show, status
 * with and without something answering on the TCB socket.
 */
#include "../harness/cli-env.h"
#include "../harness/check-main.h"

static yajl_val list_json(cli_run *r)
{
    cli(r, "list", "--json");
    ck_cli_status(r, 0);
    return json_parse(r->out);
}

/* Every field of every PF, against tests/data/cli/list.json: managed,
 * discovered and published (nvme0); managed and discovered, waiting for
 * xenvfd, nothing live invented (net0); discovered only (03:00.0). */
START_TEST(list_json_every_field)
{
    cli_run r;

    cli(&r, "list", "--json");
    ck_cli_status(&r, 0);
    /* every source was readable: not a word on stderr */
    ck_assert_str_eq(r.err, "");
    ck_json_expected(r.out, "list.json");
    cli_run_free(&r);
}
END_TEST

/* The TCB's view moves: list follows xenstore, not a cache. */
START_TEST(list_json_follows_xenstore)
{
    cli_run r;
    yajl_val doc, p;
    xenvf_err err;

    xenvf_err_init(&err);
    publish_nvme0(7);
    ck_assert_int_eq(
        xenvf_xs_set_pf_state(&cli_xs, "nvme0", XENVF_PF_DEGRADED, &err), 0);
    doc = list_json(&r);
    p = json_index(json_get(doc, "pfs"), 0);
    json_str_eq(p, "state", "degraded");
    json_int_eq(p, "free", 0);
    json_int_eq(p, "active", 2);
    yajl_tree_free(doc);
    cli_run_free(&r);

    /* the global --json works as well as the command's */
    ck_assert_int_eq(xenvf_xs_remove_pf(&cli_xs, "nvme0", &err), 0);
    cli(&r, "--json", "list");
    ck_cli_status(&r, 0);
    doc = json_parse(r.out);
    p = json_index(json_get(doc, "pfs"), 0);
    json_bool_eq(p, "published", false);
    json_str_eq(p, "state", NULL);
    yajl_tree_free(doc);
    cli_run_free(&r);
}
END_TEST

START_TEST(list_text_table)
{
    cli_run r;

    cli(&r, "list");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    ck_assert_str_eq(
        r.out,
        "PF     BDF           DRIVER     TOTALVFS  NUMVFS  FREE  RSVD  ACTIVE"
        "  STATE\n"
        "nvme0  0000:01:00.0  nvme              4       2     1     0       1"
        "  ready\n"
        "net0   0000:02:00.0  ixgbe             8    0->4     -     -       -"
        "  -\n"
        "-      0000:03:00.0  mlx5_core        16       0     -     -       -"
        "  -\n");
    cli_run_free(&r);
}
END_TEST

/* Sources that cannot be read are named, the rest is still shown. */
START_TEST(list_degrades_with_warnings)
{
    cli_run r;
    yajl_val doc, p;

    write_file(cli_map_path,
               "<vfmap xmlns=\"urn:xenvf:vfmap:1\"><pf/></vfmap>");
    ck_assert_int_eq(xsh_stop(cli_hs), 0);
    cli_hs = NULL;
    cli(&r, "list", "--json");
    ck_cli_status(&r, 0);
    ck_contains(r.err, "xenvf: warning: map ");
    ck_contains(r.err, "is not valid");
    ck_contains(r.err, "xenvf: warning: xenstore is not readable");
    doc = json_parse(r.out);
    ck_assert_uint_eq(YAJL_GET_ARRAY(json_get(doc, "pfs"))->len, 3);
    p = json_index(json_get(doc, "pfs"), 0);
    json_str_eq(p, "id", NULL);
    /* unknown is not "no": the map and xenstore could not say */
    ck_assert(YAJL_IS_NULL(json_get(p, "managed")));
    ck_assert(YAJL_IS_NULL(json_get(p, "published")));
    json_bool_eq(p, "present", true);
    json_int_eq(p, "totalvfs", 4);
    yajl_tree_free(doc);
    cli_run_free(&r);
}
END_TEST

/* Every VF of a PF with its settings (tests/data/cli/show-nvme0.json),
 * and by address the VFs the map wants that the PF does not have yet
 * (show-net0.json). */
START_TEST(show_json_every_vf)
{
    cli_run r;

    cli(&r, "show", "--json", "nvme0");
    ck_cli_status(&r, 0);
    ck_json_expected(r.out, "show-nvme0.json");
    cli_run_free(&r);

    cli(&r, "--json", "show", "02:00.0");
    ck_cli_status(&r, 0);
    ck_json_expected(r.out, "show-net0.json");
    cli_run_free(&r);
}
END_TEST

START_TEST(show_text)
{
    cli_run r;

    /* what web1's xenvf-guest reported for its VF, with a terminal escape
     * a hostile guest could write: shown quoted */
    xs_put("/local/domain/5/xenvf/vf/0/pf", "nvme0");
    xs_put("/local/domain/5/xenvf/vf/0/index", "0");
    xs_put("/local/domain/5/xenvf/vf/0/status", "bound nvme\033[2J");
    cli(&r, "show", "nvme0");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "id                     : nvme0\n");
    ck_contains(r.out, "bdf                    : 0000:01:00.0\n");
    ck_contains(r.out, "state                  : ready\n");
    ck_contains(r.out, "vfs free/rsvd/active   : 1/0/1\n");
    ck_contains(r.out, "VF  BDF           STATE   DOMID  NAME  ASSIGNED  "
                       "SETTINGS              GUEST\n");
    ck_contains(r.out, " 0  0000:01:00.1  active      5  web1  web1      "
                       "function=nvme boot=1  bound nvme\\x1b[2J\n");
    ck_contains(r.out, " 1  0000:01:00.2  free        -  -     -         "
                       "                      -\n");
    cli_run_free(&r);

    cli(&r, "show", "0000:03:00.0");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "managed                : no");
    ck_contains(r.out, "state                  : - (not published");
    cli_run_free(&r);
}
END_TEST

/*
 * A NIC VF's counters as the PF agent publishes them (vf/<n>/stats): shown
 * with the domain holding the VF; a driver that gives none is said so,
 * never shown as zeros; a bad value is said unreadable, the rest shown.
 */
START_TEST(show_vf_counters)
{
    yajl_val root, vfs, c;
    cli_run r;

    cli(&r, "show", "nvme0");
    ck_cli_status(&r, 0);
    ck_assert_ptr_null(strstr(r.out, "VF counters")); /* none published */
    cli_run_free(&r);

    xs_put("/xenvf/pf/nvme0/vf/0/stats",
           "rx_packets=12 tx_packets=3 rx_bytes=1500 tx_bytes=252 "
           "broadcast=1 multicast=2 rx_dropped=0 tx_dropped=4");
    xs_put("/xenvf/pf/nvme0/vf/1/stats", "none");
    cli(&r, "show", "nvme0");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "\nVF counters (from the PF driver):\n"
                       "  vf 0 (web1, domid 5): rx_packets=12 tx_packets=3 "
                       "rx_bytes=1500 tx_bytes=252 broadcast=1 multicast=2 "
                       "rx_dropped=0 tx_dropped=4\n"
                       "  vf 1: not given by the driver\n");
    cli_run_free(&r);

    cli(&r, "show", "--json", "nvme0");
    ck_cli_status(&r, 0);
    root = json_parse(r.out);
    vfs = json_get(root, "vfs");
    c = json_get(json_index(vfs, 0), "counters");
    json_bool_eq(c, "given", true);
    json_int_eq(c, "rx_packets", 12);
    json_int_eq(c, "tx_dropped", 4);
    json_int_eq(json_index(vfs, 0), "domid", 5);
    c = json_get(json_index(vfs, 1), "counters");
    json_bool_eq(c, "given", false);
    json_str_eq(c, "reason", "not given by the driver");
    ck_assert_ptr_null(
        yajl_tree_get(c, (const char *[]){"rx_packets", NULL}, yajl_t_any));
    yajl_tree_free(root);
    cli_run_free(&r);

    /* written by a driver domain's agent: a bad value is not the PF's end */
    xs_put("/xenvf/pf/nvme0/vf/1/stats", "rx_packets=-1");
    cli(&r, "show", "nvme0");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "  vf 1: unreadable (a bad value in xenstore)\n");
    ck_contains(r.out, "  vf 0 (web1, domid 5): rx_packets=12 ");
    cli_run_free(&r);
}
END_TEST

START_TEST(show_errors)
{
    cli_run r;

    cli(&r, "show", "nvme9");
    ck_cli_status(&r, 1);
    ck_assert_str_eq(r.out, "");
    ck_contains(r.err, "xenvf: pf nvme9: no such PF");
    cli_run_free(&r);

    cli(&r, "show", "no such");
    ck_cli_status(&r, 2);
    ck_contains(r.err, "neither a PF id nor a PCI address");
    cli_run_free(&r);

    cli(&r, "show");
    ck_cli_status(&r, 2);
    cli_run_free(&r);

    cli(&r, "show", "nvme0", "net0");
    ck_cli_status(&r, 2);
    cli_run_free(&r);

    cli(&r, "frobnicate");
    ck_cli_status(&r, 2);
    ck_contains(r.err, "unknown command 'frobnicate'");
    cli_run_free(&r);

    cli(&r, "help", "show");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "Usage: xenvf [OPTIONS] show");
    cli_run_free(&r);
}
END_TEST

/* No xenvfd: the documented exit status 3, and the socket named. */
START_TEST(status_without_tcb)
{
    cli_run r;
    yajl_val doc, t, m;

    cli(&r, "status");
    ck_cli_status(&r, 3);
    ck_contains(r.out, "xenvfd (tcb)           : NOT REACHABLE: ");
    ck_contains(r.out, cli_sock_path);
    ck_contains(r.out, "map state              : valid, 2 PFs, 2 VFs "
                       "assigned\n");
    ck_contains(r.out, "hardware check         : ok, 3 SR-IOV PFs in sysfs\n");
    ck_contains(r.out, "pf nvme0               : ready, 1 of 2 VFs in use\n");
    ck_contains(r.out, "pf net0                : not published");
    cli_run_free(&r);

    cli(&r, "status", "--json");
    ck_cli_status(&r, 3);
    doc = json_parse(r.out);
    t = json_get(doc, "tcb");
    json_bool_eq(t, "reachable", false);
    json_str_eq(t, "socket", cli_sock_path);
    ck_assert(YAJL_IS_STRING(json_get(t, "error")));
    json_bool_eq(json_get(doc, "xenstore"), "readable", true);
    m = json_get(doc, "map");
    json_bool_eq(m, "present", true);
    json_bool_eq(m, "valid", true);
    json_str_eq(m, "hardware_check", "ok");
    json_int_eq(m, "pfs", 2);
    ck_assert_uint_eq(YAJL_GET_ARRAY(json_get(doc, "pfs"))->len, 2);
    json_int_eq(doc, "exit", 3);
    yajl_tree_free(doc);
    cli_run_free(&r);
}
END_TEST

START_TEST(status_with_answering_tcb)
{
    fake_tcb t;
    cli_run r;
    yajl_val doc;

    fake_tcb_start(&t, TCB_ANSWER);
    cli(&r, "status");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "xenvfd (tcb)           : up (");
    cli_run_free(&r);

    /* a map that breaks its rules: 1, and the reason */
    write_file(cli_map_path, "<vfmap xmlns=\"urn:xenvf:vfmap:1\">"
                             "<pf id=\"a\" address=\"01:00.0\" numvfs=\"1\">"
                             "<vf index=\"3\"/></pf></vfmap>");
    cli(&r, "status");
    ck_cli_status(&r, 1);
    ck_contains(r.out, "map state              : INVALID: ");
    cli_run_free(&r);

    /* valid, but not for this machine: TotalVFs is 4 */
    write_file(cli_map_path, "<vfmap xmlns=\"urn:xenvf:vfmap:1\">"
                             "<pf id=\"a\" address=\"01:00.0\" numvfs=\"5\"/>"
                             "</vfmap>");
    cli(&r, "--json", "status");
    ck_cli_status(&r, 1);
    doc = json_parse(r.out);
    json_bool_eq(json_get(doc, "tcb"), "reachable", true);
    json_bool_eq(json_get(doc, "map"), "valid", false);
    json_str_eq(json_get(doc, "map"), "hardware_check", "failed");
    ck_contains(json_get_str(json_get(doc, "map"), "error"), "TotalVFs 4");
    yajl_tree_free(doc);
    cli_run_free(&r);

    /* no map at all: nothing managed yet, which is fine */
    ck_assert_int_eq(unlink(cli_map_path), 0);
    cli(&r, "status");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "map state              : absent");
    cli_run_free(&r);
    fake_tcb_stop(&t);
}
END_TEST

/* Something listens but never answers: unreachable too, within bounds. */
START_TEST(status_with_silent_tcb)
{
    fake_tcb t;
    cli_run r;
    int64_t t0;

    fake_tcb_start(&t, TCB_SILENT);
    t0 = now_ms();
    cli(&r, "status");
    ck_cli_status(&r, 3);
    ck_contains(r.out, "did not answer");
    ck_assert_int_lt(now_ms() - t0, 10000);
    cli_run_free(&r);
    fake_tcb_stop(&t);
}
END_TEST

static Suite *cli_read_suite(void)
{
    Suite *s = suite_create("cli_read");
    TCase *tc = tcase_create("xenvf_read");

    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, list_json_every_field);
    tcase_add_test(tc, list_json_follows_xenstore);
    tcase_add_test(tc, list_text_table);
    tcase_add_test(tc, list_degrades_with_warnings);
    tcase_add_test(tc, show_json_every_vf);
    tcase_add_test(tc, show_text);
    tcase_add_test(tc, show_vf_counters);
    tcase_add_test(tc, show_errors);
    tcase_add_test(tc, status_without_tcb);
    tcase_add_test(tc, status_with_answering_tcb);
    tcase_add_test(tc, status_with_silent_tcb);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(cli_read_suite)
