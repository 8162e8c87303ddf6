/*
 * xenvf metrics on the CLI fixture's machine (test_cli_common.h): the
 * samples for a published, an unpublished and an unmanaged PF and their
 * VFs; `promtool check metrics` (Debian's prometheus package) on the real
 * output; --output replacing a file atomically; a blind source.
 */
#include "../harness/cli-env.h"
#include "../harness/check-main.h"

/* promtool check metrics on text: its exit status, its words in *said. */
static int promtool(const char *text, char **said)
{
    char in[PATH_MAX + 64], out[PATH_MAX + 64], cmd[3 * PATH_MAX];
    int st;

    snprintf(in, sizeof(in), "%s/promtool.in", cli_dir);
    snprintf(out, sizeof(out), "%s/promtool.out", cli_dir);
    write_file(in, text);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s' 2>&1", in,
             out);
    st = system(cmd);
    *said = read_file(out);
    ck_assert_ptr_nonnull(*said);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 127,
                  "promtool is not installed (make deps): %s", *said);
    return WEXITSTATUS(st);
}

static void promtool_ok(const char *text)
{
    char *said;
    int rc = promtool(text, &said);

    ck_assert_msg(rc == 0 && !*said, "promtool check metrics: exit %d:\n%s\n%s",
                  rc, said, text);
    free(said);
}

/* Keep what a test saw in the build tree, for the docs' samples. */
static void keep_sample(const char *name, const char *text)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/tests/integration/%s",
             getenv("XENVF_BUILD"), name);
    write_file(path, text);
}

START_TEST(samples_of_the_machine)
{
    cli_run r;

    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    promtool_ok(r.out);
    keep_sample("metrics-sample.prom", r.out);

    ck_contains(r.out, "# TYPE xenvf_pf_vfs gauge\n");
    ck_contains(r.out, "xenvf_source_up{source=\"map\"} 1\n");
    ck_contains(r.out, "xenvf_source_up{source=\"sysfs\"} 1\n");
    ck_contains(r.out, "xenvf_source_up{source=\"xenstore\"} 1\n");
    ck_contains(r.out, "xenvf_tcb_up 0\n"); /* nothing on the socket */
    ck_contains(r.out, "xenvf_map_valid 1\n");
    /* nvme0: managed, published, ready, 1 free and 1 active */
    ck_contains(r.out, "xenvf_pf_info{pf=\"nvme0\",pci_addr=\"0000:01:00.0\","
                       "driver=\"nvme\"} 1\n");
    ck_contains(r.out, "xenvf_pf_state{pf=\"nvme0\",pci_addr=\"0000:01:00.0\","
                       "state=\"ready\"} 1\n");
    ck_contains(r.out, "xenvf_pf_state{pf=\"nvme0\",pci_addr=\"0000:01:00.0\","
                       "state=\"failed\"} 0\n");
    ck_contains(r.out, "xenvf_pf_total_vfs{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\"} 4\n");
    ck_contains(r.out, "xenvf_pf_num_vfs{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\"} 2\n");
    ck_contains(r.out, "xenvf_pf_vfs{pf=\"nvme0\",pci_addr=\"0000:01:00.0\","
                       "state=\"free\"} 1\n");
    ck_contains(r.out, "xenvf_pf_vfs{pf=\"nvme0\",pci_addr=\"0000:01:00.0\","
                       "state=\"active\"} 1\n");
    ck_contains(r.out, "xenvf_pf_vfs{pf=\"nvme0\",pci_addr=\"0000:01:00.0\","
                       "state=\"reserved\"} 0\n");
    /* its VFs: the holder by name and domid, the map's assignment */
    ck_contains(r.out, "xenvf_vf_state{pf=\"nvme0\",vf=\"0\",pci_addr="
                       "\"0000:01:00.1\",state=\"active\"} 1\n");
    ck_contains(r.out, "xenvf_vf_state{pf=\"nvme0\",vf=\"1\",pci_addr="
                       "\"0000:01:00.2\",state=\"free\"} 1\n");
    ck_contains(r.out, "xenvf_vf_holder_info{pf=\"nvme0\",vf=\"0\",pci_addr="
                       "\"0000:01:00.1\",domain=\"web1\",domid=\"5\"} 1\n");
    ck_contains(r.out, "xenvf_vf_assigned_info{pf=\"nvme0\",vf=\"0\","
                       "pci_addr=\"0000:01:00.1\",domain=\"web1\"} 1\n");
    ck_assert_ptr_null(strstr(r.out, "xenvf_vf_holder_info{pf=\"nvme0\","
                                     "vf=\"1\""));
    /* net0: managed, not published: nothing live invented */
    ck_contains(r.out, "xenvf_pf_published{pf=\"net0\",pci_addr="
                       "\"0000:02:00.0\"} 0\n");
    ck_contains(r.out, "xenvf_pf_map_num_vfs{pf=\"net0\",pci_addr="
                       "\"0000:02:00.0\"} 4\n");
    ck_assert_ptr_null(strstr(r.out, "xenvf_pf_state{pf=\"net0\""));
    ck_assert_ptr_null(strstr(r.out, "xenvf_pf_vfs{pf=\"net0\""));
    /* mlx5: an SR-IOV PF nobody manages */
    ck_contains(r.out, "xenvf_pf_managed{pf=\"\",pci_addr=\"0000:03:00.0\"} "
                       "0\n");
    ck_contains(r.out, "xenvf_pf_total_vfs{pf=\"\",pci_addr="
                       "\"0000:03:00.0\"} 16\n");
    cli_run_free(&r);
}
END_TEST

/*
 * The counters the gate and the TCB keep (/xenvf/stats), counted through
 * the library calls the plugin and xenvfd make, against the real
 * xenstored: a histogram and counters promtool accepts, with the values
 * counted. (test_xl_plugin and test_tcb_daemon check that the plugin and
 * xenvfd count.)
 */
START_TEST(gate_and_reconcile_counters)
{
    const xenvf_reconcile_stats rs = {
        .runs = 1, .failed_steps = 2, .skipped = 1, .sum_ms = 1500};
    xenvf_err e;
    cli_run r;

    xenvf_err_init(&e);
    /* before anything counted: no series at all */
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_assert_ptr_null(strstr(r.out, "xenvf_gate_"));
    ck_assert_ptr_null(strstr(r.out, "xenvf_reconcile_"));
    cli_run_free(&r);

    ck_assert_int_eq(
        xenvf_xs_count_gate_wait(&cli_xs, "nvme0", XENVF_GATE_READY, 40, &e),
        0);
    ck_assert_int_eq(
        xenvf_xs_count_gate_wait(&cli_xs, "nvme0", XENVF_GATE_READY, 2400, &e),
        0);
    ck_assert_int_eq(xenvf_xs_count_gate_wait(&cli_xs, "nvme0",
                                              XENVF_GATE_TIMEOUT, 120001, &e),
                     0);
    ck_assert_int_eq(xenvf_xs_count_reconcile(&cli_xs, &rs, &e), 0);
    ck_assert_int_eq(xenvf_xs_count_reconcile(&cli_xs, &rs, &e), 0);
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    promtool_ok(r.out);
    keep_sample("metrics-counters-sample.prom", r.out);
    ck_contains(r.out, "# TYPE xenvf_gate_waits_total counter\n");
    ck_contains(r.out, "xenvf_gate_waits_total{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\",result=\"ready\"} 2\n");
    ck_contains(r.out, "xenvf_gate_waits_total{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\",result=\"timeout\"} 1\n");
    ck_contains(r.out, "xenvf_gate_waits_total{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\",result=\"failed\"} 0\n");
    ck_contains(r.out, "# TYPE xenvf_gate_wait_seconds histogram\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_bucket{pf=\"nvme0\","
                       "pci_addr=\"0000:01:00.0\",le=\"0.100\"} 1\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_bucket{pf=\"nvme0\","
                       "pci_addr=\"0000:01:00.0\",le=\"2.500\"} 2\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_bucket{pf=\"nvme0\","
                       "pci_addr=\"0000:01:00.0\",le=\"120.000\"} 2\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_bucket{pf=\"nvme0\","
                       "pci_addr=\"0000:01:00.0\",le=\"300.000\"} 3\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_bucket{pf=\"nvme0\","
                       "pci_addr=\"0000:01:00.0\",le=\"+Inf\"} 3\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_sum{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\"} 122.441\n");
    ck_contains(r.out, "xenvf_gate_wait_seconds_count{pf=\"nvme0\",pci_addr="
                       "\"0000:01:00.0\"} 3\n");
    ck_contains(r.out, "# TYPE xenvf_reconcile_duration_seconds summary\n");
    ck_contains(r.out, "xenvf_reconcile_duration_seconds_sum 3.000\n");
    ck_contains(r.out, "xenvf_reconcile_duration_seconds_count 2\n");
    ck_contains(r.out, "xenvf_reconcile_errors_total{kind=\"refused\"} 0\n");
    ck_contains(r.out, "xenvf_reconcile_errors_total{kind=\"failed_step\"} "
                       "4\n");
    ck_contains(r.out, "xenvf_reconcile_errors_total{kind=\"skipped\"} 2\n");
    cli_run_free(&r);

    /* a counter node someone broke: left out, said on stderr, exit 0 */
    xs_put("/xenvf/stats/reconcile", "runs=many");
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_contains(r.err, "/xenvf/stats/reconcile: ");
    ck_assert_ptr_null(strstr(r.out, "xenvf_reconcile_"));
    ck_contains(r.out, "xenvf_gate_waits_total{");
    promtool_ok(r.out);
    cli_run_free(&r);
}
END_TEST

/* A NIC VF's counters: a counter series for each the driver gives, with
 * the holder; a driver without them gives a 0 in xenvf_vf_counters_given
 * and no counter series (never zeros). */
START_TEST(vf_counters)
{
    cli_run r;

    xs_put("/xenvf/pf/nvme0/vf/0/stats",
           "rx_packets=12 tx_packets=3 rx_bytes=1500 tx_bytes=252 "
           "broadcast=1 multicast=2");
    xs_put("/xenvf/pf/nvme0/vf/1/stats", "none");
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    promtool_ok(r.out);
    keep_sample("metrics-vf-counters-sample.prom", r.out);
    ck_contains(r.out, "# TYPE xenvf_vf_rx_packets_total counter\n");
    ck_contains(r.out, "xenvf_vf_rx_packets_total{pf=\"nvme0\",vf=\"0\","
                       "pci_addr=\"0000:01:00.1\",domain=\"web1\","
                       "domid=\"5\"} 12\n");
    ck_contains(r.out, "xenvf_vf_tx_bytes_total{pf=\"nvme0\",vf=\"0\","
                       "pci_addr=\"0000:01:00.1\",domain=\"web1\","
                       "domid=\"5\"} 252\n");
    ck_contains(r.out, "xenvf_vf_counters_given{pf=\"nvme0\",vf=\"0\","
                       "pci_addr=\"0000:01:00.1\"} 1\n");
    ck_contains(r.out, "xenvf_vf_counters_given{pf=\"nvme0\",vf=\"1\","
                       "pci_addr=\"0000:01:00.2\"} 0\n");
    /* the driver gave no drops here; VF 1 none at all */
    ck_assert_ptr_null(strstr(r.out, "xenvf_vf_rx_dropped_total"));
    ck_assert_ptr_null(strstr(r.out, "_total{pf=\"nvme0\",vf=\"1\""));
    cli_run_free(&r);
}
END_TEST

/* A holder whose xenstore name needs escaping, and promtool still
 * passes. */
START_TEST(label_values_escaped)
{
    cli_run r;

    xs_put("/local/domain/5/name", "we\"b\\1");
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "domain=\"we\\\"b\\\\1\"");
    promtool_ok(r.out);
    cli_run_free(&r);
}
END_TEST

/* --output: the same text in a file, replaced atomically (no temp file
 * left beside it), readable by the collector. */
START_TEST(output_file_replaced)
{
    char path[PATH_MAX + 64], cmd[2 * PATH_MAX];
    cli_run r, o;
    struct stat st;
    char *text;

    snprintf(path, sizeof(path), "%s/xenvf.prom", cli_dir);
    write_file(path, "stale\n");
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    cli(&o, "metrics", "--output", path);
    ck_cli_status(&o, 0);
    ck_assert_str_eq(o.out, "");
    ck_assert_str_eq(o.err, "");
    text = read_file(path);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, r.out);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0644);
    snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -q 'xenvf.prom.'", cli_dir);
    ck_assert_int_ne(system(cmd), 0);
    free(text);
    cli_run_free(&o);

    /* a directory that is not there: exit 1, naming it */
    cli(&o, "metrics", "-o", "/nonexistent-dir/xenvf.prom");
    ck_cli_status(&o, 1);
    ck_contains(o.err, "/nonexistent-dir");
    cli_run_free(&o);
    cli_run_free(&r);
}
END_TEST

/* xenstored gone, the map broken: still exit 0, with the sources down. */
START_TEST(blind_sources)
{
    cli_run r;

    write_file(cli_map_path, "<vfmap");
    xenvf_xs_dispose(&cli_xs);
    xsh_stop(cli_hs);
    cli_hs = NULL;
    cli(&r, "metrics");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "xenvf_source_up{source=\"map\"} 0\n");
    ck_contains(r.out, "xenvf_source_up{source=\"xenstore\"} 0\n");
    ck_contains(r.out, "xenvf_map_present 1\n");
    ck_contains(r.out, "xenvf_map_valid 0\n");
    promtool_ok(r.out);
    cli_run_free(&r);
}
END_TEST

START_TEST(usage)
{
    cli_run r;

    cli(&r, "metrics", "extra");
    ck_cli_status(&r, 2);
    cli_run_free(&r);
    cli(&r, "metrics", "--output");
    ck_cli_status(&r, 2);
    ck_contains(r.err, "needs an argument");
    cli_run_free(&r);
    cli(&r, "metrics", "--json");
    ck_cli_status(&r, 2);
    cli_run_free(&r);
}
END_TEST

/* The example alerting rules of the docs are rules promtool accepts. */
START_TEST(example_rules)
{
    char cmd[2 * PATH_MAX];
    const char *src = getenv("XENVF_SRCDIR");

    ck_assert_ptr_nonnull(src);
    snprintf(cmd, sizeof(cmd),
             "promtool check rules '%s/docs/examples/xenvf-alerts.yml' "
             ">/dev/null",
             src);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *cli_metrics_suite(void)
{
    Suite *s = suite_create("cli_metrics");
    TCase *tc = tcase_create("xenvf_metrics");

    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, samples_of_the_machine);
    tcase_add_test(tc, gate_and_reconcile_counters);
    tcase_add_test(tc, vf_counters);
    tcase_add_test(tc, label_values_escaped);
    tcase_add_test(tc, output_file_replaced);
    tcase_add_test(tc, blind_sources);
    tcase_add_test(tc, usage);
    tcase_add_test(tc, example_rules);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(cli_metrics_suite)
