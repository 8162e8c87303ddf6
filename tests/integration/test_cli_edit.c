/*
 * The xenvf CLI's map edits against the real xenstored and a fake sysfs
 * tree: assign, release and set-numvfs change the map as asked, refuse bad
 * edits with the map left byte for byte as it was, and hold the map's lock
 * across read-modify-write.
 */
#include "../harness/cli-env.h"
#include "../harness/check-main.h"

/* Parse the map file as xenvfd would. */
static void load_map(xenvf_map *m)
{
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_map_init(m);
    ck_assert_msg(!xenvf_map_parse_file(cli_map_path, m, &err), "%s", err.msg);
}

static const char *vf_domain(const xenvf_map *m, const char *pf, unsigned i)
{
    const xenvf_map_pf *p = xenvf_map_find_pf(m, pf);
    const xenvf_map_vf *v;

    ck_assert_ptr_nonnull(p);
    v = xenvf_map_find_vf(p, i);
    return v ? v->domain : NULL;
}

/* Run a refused edit: its exit status and message, and the map file
 * byte-identical to what it was. */
#define ck_refused(status_want, msg_want, ...)                                 \
    do {                                                                       \
        char *before_ = read_file(cli_map_path), *after_;                      \
        cli_run r_;                                                            \
                                                                               \
        cli(&r_, __VA_ARGS__);                                                 \
        ck_cli_status(&r_, status_want);                                       \
        ck_contains(r_.err, msg_want);                                         \
        after_ = read_file(cli_map_path);                                      \
        ck_assert_msg((!before_ && !after_) ||                                 \
                          (before_ && after_ && !strcmp(before_, after_)),     \
                      "the map changed:\n%s", after_ ? after_ : "(gone)");     \
        free(before_);                                                         \
        free(after_);                                                          \
        cli_run_free(&r_);                                                     \
    } while (0)

START_TEST(assign_first_free_and_given_index)
{
    xenvf_map m;
    cli_run r;

    cli(&r, "assign", "nvme0", "web2");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "pf nvme0: vf 1 assigned to web2\n");
    /* nothing runs the TCB here: the edit stands, and we are told */
    ck_contains(r.err, "xenvf: warning: the map is saved, but xenvfd does "
                       "not answer");
    cli_run_free(&r);
    load_map(&m);
    ck_assert_str_eq(vf_domain(&m, "nvme0", 0), "web1");
    ck_assert_str_eq(vf_domain(&m, "nvme0", 1), "web2");
    xenvf_map_dispose(&m);

    /* by address and index; the PF has no VFs yet, the map wants 4 */
    cli(&r, "assign", "0000:02:00.0#3", "web3");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "pf net0: vf 3 assigned to web3\n");
    cli_run_free(&r);
    load_map(&m);
    ck_assert_str_eq(vf_domain(&m, "net0", 3), "web3");
    ck_assert_str_eq(vf_domain(&m, "net0", 1), "web1");
    xenvf_map_dispose(&m);

    /* again: nothing to do, nothing written */
    char *before = read_file(cli_map_path), *after;
    cli(&r, "assign", "net0#3", "web3");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "already assigned to web3");
    after = read_file(cli_map_path);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    cli_run_free(&r);
}
END_TEST

START_TEST(assign_refusals_leave_the_map_alone)
{
    ck_refused(1, "xenvf: pf nvme0: vf 7 does not exist (NumVFs 2)\n", "assign",
               "nvme0#7", "web2");
    ck_refused(1,
               "xenvf: pf nvme0: vf 0 is assigned to web1 (release it "
               "first: 'xenvf release nvme0#0')",
               "assign", "nvme0#0", "web2");
    ck_refused(1, "xenvf: pf nvme9: no such PF in the map", "assign", "nvme9",
               "web2");
    ck_refused(1, "xenvf: pf 0000:03:00.0: not managed", "assign",
               "0000:03:00.0", "web2");
    ck_refused(2, "not a guest name", "assign", "nvme0", "bad name");
    ck_refused(2, "VF index 'x' is not a number", "assign", "nvme0#x", "web2");
    ck_refused(2, "VF index '-1' is not a number", "assign", "nvme0#-1",
               "web2");
    ck_refused(2, "expected PF[#INDEX] DOMAIN", "assign", "nvme0");
    ck_refused(2, "--json is for list", "assign", "--json", "nvme0", "web2");

    /* xenstore shows vf 1 used by domain 6 although the map has it free:
     * neither the given index nor "the first free" may take it */
    publish_nvme0(6);
    xs_put("/local/domain/6/name", "web6");
    ck_refused(1, "xenvf: pf nvme0: vf 1 is in use by domain 6 (web6)",
               "assign", "nvme0#1", "web2");
    ck_refused(1, "xenvf: pf nvme0: no free vf: all 2 are assigned or in use",
               "assign", "nvme0", "web2");
}
END_TEST

/* A map that is not valid is not edited: the administrator fixes it. */
START_TEST(edits_refuse_an_invalid_map)
{
    write_file(cli_map_path, "<vfmap xmlns=\"urn:xenvf:vfmap:1\">"
                             "<pf id=\"a\" address=\"01:00.0\" numvfs=\"1\">"
                             "<vf index=\"3\"/></pf></vfmap>");
    ck_refused(1, "the map is not valid, fix it first", "assign", "a", "web2");
    ck_refused(1, "the map is not valid, fix it first", "set-numvfs", "a", "2");
    ck_refused(1, "the map is not valid, fix it first", "release", "web1");
    ck_assert_int_eq(unlink(cli_map_path), 0);
    ck_refused(1, "does not exist", "assign", "nvme0", "web2");
}
END_TEST

START_TEST(release_vf_and_domain)
{
    xenvf_map m;
    cli_run r;
    const xenvf_map_vf *v;

    /* vf 0 keeps its function; its boot order goes with the guest. The
     * guest is still running with it: warned, not refused. */
    cli(&r, "release", "nvme0#0");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "pf nvme0: vf 0 released (was assigned to web1; "
                            "boot order 1 dropped)\n");
    ck_contains(r.err, "xenvf: warning: pf nvme0: vf 0 is still in use by "
                       "domain 5 (web1)");
    cli_run_free(&r);
    load_map(&m);
    v = xenvf_map_find_vf(xenvf_map_find_pf(&m, "nvme0"), 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_null(v->domain);
    ck_assert_str_eq(v->config.function, "nvme");
    ck_assert_int_eq(v->config.boot, -1);
    ck_assert_str_eq(vf_domain(&m, "net0", 1), "web1");
    xenvf_map_dispose(&m);

    ck_refused(1, "xenvf: pf nvme0: vf 0 is not assigned to any domain",
               "release", "nvme0#0");
    ck_refused(1, "xenvf: pf nvme0: vf 5 does not exist (NumVFs 2)", "release",
               "nvme0#5");
    ck_refused(1, "xenvf: domain web9: the map assigns no VF to it", "release",
               "web9");
    ck_refused(1, "(for a VF of pf nvme0, say nvme0#INDEX)", "release",
               "nvme0");
    ck_refused(2, "is neither PF#INDEX nor a guest name", "release", "a b");

    /* every VF of a guest, on every PF; settings stay with the VF */
    cli(&r, "assign", "nvme0#1", "web1");
    ck_cli_status(&r, 0);
    cli_run_free(&r);
    cli(&r, "release", "web1");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "pf nvme0: vf 1 released (was assigned to web1)\n");
    ck_contains(r.out, "pf net0: vf 1 released (was assigned to web1)\n");
    cli_run_free(&r);
    load_map(&m);
    /* nothing left on nvme0 vf 1: the element is gone */
    ck_assert_ptr_null(xenvf_map_find_vf(xenvf_map_find_pf(&m, "nvme0"), 1));
    v = xenvf_map_find_vf(xenvf_map_find_pf(&m, "net0"), 1);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_null(v->domain);
    ck_assert_int_eq(v->config.vlan, 10);
    xenvf_map_dispose(&m);
}
END_TEST

START_TEST(set_numvfs_edits_and_refusals)
{
    xenvf_map m;
    cli_run r;

    cli(&r, "set-numvfs", "net0", "8");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "pf net0: numvfs 4 -> 8 in the map\n");
    cli_run_free(&r);
    load_map(&m);
    ck_assert_uint_eq(xenvf_map_find_pf(&m, "net0")->numvfs, 8);
    xenvf_map_dispose(&m);

    ck_refused(1, "pf 'net0': numvfs 9 is more than the device's TotalVFs 8",
               "set-numvfs", "net0", "9");
    ck_refused(1,
               "xenvf: pf net0: vf 1 is assigned to web1: release it "
               "first ('xenvf release net0#1')",
               "set-numvfs", "net0", "1");
    ck_refused(2, "N '1x' is not a number", "set-numvfs", "net0", "1x");
    ck_refused(2, "N '65536' is not a number", "set-numvfs", "net0", "65536");
    ck_refused(2, "expected PF N", "set-numvfs", "net0");
    ck_refused(2, "--owner goes with --id", "set-numvfs", "--owner", "1",
               "net0", "2");

    /* nvme0 has vf 0 in use by domain 5: xenvfd could not change NumVFs */
    ck_refused(1,
               "xenvf: pf nvme0: 1 VF is in use (vf 0 by domain 5 "
               "(web1)): xenvfd cannot change NumVFs",
               "set-numvfs", "nvme0", "3");
    cli(&r, "set-numvfs", "--force", "nvme0", "3");
    ck_cli_status(&r, 0);
    ck_contains(r.err, "xenvf: warning: pf nvme0: 1 VF is in use");
    cli_run_free(&r);
    load_map(&m);
    ck_assert_uint_eq(xenvf_map_find_pf(&m, "nvme0")->numvfs, 3);
    xenvf_map_dispose(&m);
    /* back to what the PF has now: no change of NumVFs, no refusal */
    cli(&r, "set-numvfs", "nvme0", "2");
    ck_cli_status(&r, 0);
    cli_run_free(&r);

    cli(&r, "set-numvfs", "nvme0", "2");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "pf nvme0: numvfs is already 2\n");
    cli_run_free(&r);
}
END_TEST

START_TEST(set_numvfs_adds_a_pf)
{
    xenvf_map m;
    cli_run r;
    const xenvf_map_pf *p;

    ck_refused(1,
               "xenvf: pf 0000:03:00.0: not managed: 0000:03:00.0 is not "
               "in the map",
               "set-numvfs", "0000:03:00.0", "4");
    ck_refused(1, "numvfs 17 is more than the device's TotalVFs 16",
               "set-numvfs", "--id", "mlx0", "0000:03:00.0", "17");
    ck_refused(1, "unknown PF: 0000:09:00.0 is not a discovered SR-IOV",
               "set-numvfs", "--id", "x", "0000:09:00.0", "1");
    ck_refused(1, "the id is already used by the PF at 0000:01:00.0",
               "set-numvfs", "--id", "nvme0", "0000:03:00.0", "1");
    ck_refused(1, "the map already has it as pf nvme0", "set-numvfs", "--id",
               "other", "0000:01:00.0", "1");
    ck_refused(2, "with --id, PF must be a PCI address", "set-numvfs", "--id",
               "mlx0", "net0", "1");
    ck_refused(2, "--id 'a b' is not a PF id", "set-numvfs", "--id", "a b",
               "0000:03:00.0", "1");

    cli(&r, "set-numvfs", "--id", "mlx0", "--owner", "3", "0000:03:00.0", "4");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out,
                     "pf mlx0: added to the map at 0000:03:00.0 with numvfs "
                     "4\n");
    cli_run_free(&r);
    load_map(&m);
    ck_assert_uint_eq(m.nr_pfs, 3);
    p = xenvf_map_find_pf(&m, "mlx0");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->numvfs, 4);
    ck_assert_uint_eq(p->owner, 3);
    xenvf_map_dispose(&m);
    /* its driver domain by name is another owner than domid 3 */
    ck_refused(1, "the map already has it with another owner", "set-numvfs",
               "--id", "mlx0", "--owner", "dd2", "0000:03:00.0", "4");

    /* no map at all yet: the first PF creates it */
    ck_assert_int_eq(unlink(cli_map_path), 0);
    ck_refused(1, "does not exist: no PF is managed yet", "set-numvfs", "nvme0",
               "1");
    cli(&r, "set-numvfs", "--id", "nvme0", "0000:01:00.0", "2");
    ck_cli_status(&r, 0);
    cli_run_free(&r);
    load_map(&m);
    ck_assert_uint_eq(m.nr_pfs, 1);
    ck_assert_str_eq(m.pfs[0].id, "nvme0");
    xenvf_map_dispose(&m);
}
END_TEST

/* A writer holding the map's lock makes an edit wait, not lose data. */
START_TEST(edit_waits_for_the_lock)
{
    xenvf_map_lock lock;
    xenvf_map m;
    cli_run r;
    char *line, *pending = NULL, *text;
    int o, e, st;
    pid_t pid;

    xenvf_map_lock_init(&lock);
    ck_assert_int_eq(xenvf_map_lock_acquire(&lock, cli_map_path, false, NULL),
                     0);
    pid = cli_spawn(&o, &e, "assign", "nvme0", "web2");
    /* it says it waits, and does */
    line = read_line(e, &pending, 10000);
    ck_assert_ptr_nonnull(line);
    ck_contains(line, "xenvf: warning: waiting for the lock on");
    usleep(100 * 1000);
    ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
    text = read_file(cli_map_path);
    ck_assert_str_eq(text, fixture_map); /* nothing written meanwhile */
    free(text);
    xenvf_map_lock_dispose(&lock);
    cli_collect(pid, o, e, &r);
    ck_cli_status(&r, 0);
    free(line);
    free(pending);
    cli_run_free(&r);
    load_map(&m);
    ck_assert_str_eq(vf_domain(&m, "nvme0", 1), "web2");
    xenvf_map_dispose(&m);
}
END_TEST

/* Edits at once: each sees the other's result (no lost update). */
START_TEST(concurrent_assigns_take_distinct_vfs)
{
    enum { N = 4 };
    int o[N], e[N];
    pid_t pid[N];
    cli_run r;
    xenvf_map m;
    char names[N][8];
    bool seen[N] = {false};
    int ok = 0;

    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "g%d", i);
        pid[i] = cli_spawn(&o[i], &e[i], "assign", "net0", names[i]);
    }
    for (int i = 0; i < N; i++) {
        cli_collect(pid[i], o[i], e[i], &r);
        if (r.status == 0)
            ok++;
        else
            ck_contains(r.err, "xenvf: pf net0: no free vf");
        cli_run_free(&r);
    }
    /* net0 has 4 VFs, vf 1 already web1's: three got one, one was told */
    load_map(&m);
    for (unsigned i = 0; i < 4; i++) {
        const char *d = vf_domain(&m, "net0", i);

        ck_assert_ptr_nonnull(d);
        if (d[0] == 'g')
            seen[d[1] - '0'] = true;
    }
    xenvf_map_dispose(&m);
    ck_assert_int_eq(ok, 3);
    ck_assert_int_eq(seen[0] + seen[1] + seen[2] + seen[3], 3);
}
END_TEST

static Suite *cli_edit_suite(void)
{
    Suite *s = suite_create("cli_edit");
    TCase *tc = tcase_create("xenvf_edit");

    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, assign_first_free_and_given_index);
    tcase_add_test(tc, assign_refusals_leave_the_map_alone);
    tcase_add_test(tc, edits_refuse_an_invalid_map);
    tcase_add_test(tc, release_vf_and_domain);
    tcase_add_test(tc, set_numvfs_edits_and_refusals);
    tcase_add_test(tc, set_numvfs_adds_a_pf);
    tcase_add_test(tc, edit_waits_for_the_lock);
    tcase_add_test(tc, concurrent_assigns_take_distinct_vfs);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(cli_edit_suite)
