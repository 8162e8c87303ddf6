/*
 * xenvfd restarts: kill -9 at every step of a reconcile (XENVF_FAULT), then
 * a restart converges with no assignment lost and no NumVFs write or reset
 * on a PF whose VFs are held. "No NumVFs write" is shown through the fake
 * kernel: a write of 0 destroys the VF directories, so a held PF's VF
 * directories keep their inodes, and no VF has a reset it should not.
 */
#include "../harness/daemon-env.h"
#include "../harness/check-main.h"

static const char *const VF0[] = {"0000:01:00.1", "0000:01:00.2",
                                  "0000:01:00.3", "0000:01:00.4"};

static void setup(void)
{
    denv_setup();
}

static void teardown(void)
{
    denv_teardown();
}

static void hold(const char *pf, int index, unsigned domid, const char *name,
                 bool expect_ok)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    xenvf_client_init(&c);
    make_domain(domid, name);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, name, pf, index);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    req_commit(&req, name, domid);
    if (expect_ok)
        ck_assert_int_eq(call(&c, &req, &resp), 0);
    else /* the daemon dies under the call */
        ck_assert_int_ne(xenvf_client_call(&c, &req, &resp, 5000, NULL), 0);
    xenvf_client_dispose(&c);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}

static void snapshot(ino_t ino[4])
{
    for (int i = 0; i < 4; i++)
        ino[i] = dev_ino(VF0[i]);
}

/* nvme0 untouched: same VF directories, no reset, vf 1 still web5's. */
static void assert_held_pf_untouched(const ino_t ino[4])
{
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(dev_ino(VF0[i]) == ino[i],
                      "%s was re-created: NumVFs was written", VF0[i]);
        ck_assert_uint_eq(resets(VF0[i]), 0);
    }
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_numvfs"), 4);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "active");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/domain", "5");
    ASSERT_XS("/xenvf/pf/nvme0/active", "1");
}

START_TEST(restart_with_active_vfs_writes_nothing)
{
    char path[PATH_MAX + 32];
    ino_t ino[4];

    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    denv_start_ready();
    hold("nvme0", 1, 5, "web5", true);
    snapshot(ino);
    denv_kill9();
    denv_start_ready();
    assert_held_pf_untouched(ino);
    ck_assert(log_has("reconciled 2 PF(s)"));

    /* even with the state file gone: the published nodes are adopted */
    denv_kill9();
    snprintf(path, sizeof(path), "%s/tcb-state.json", E.state);
    ck_assert_int_eq(unlink(path), 0);
    denv_start_ready();
    assert_held_pf_untouched(ino);
    ck_assert(log_has("adopted"));

    /* and the domain's death is still noticed afterwards */
    ck_assert_int_eq(xsh_domain_kill(E.hs, 5), 0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "free");
    ck_assert_uint_eq(resets(VF0[1]), 1);
}
END_TEST

/* Start with XENVF_FAULT=step: it must die by SIGKILL. */
static void start_and_die(const char *step)
{
    int st;

    denv_start(step);
    st = denv_wait_ready();
    if (st == 0) {
        denv_print_log();
        ck_abort_msg("fault point '%s' was never reached", step);
    }
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "step %s: status %d", step, st);
}

static void converged_net0(unsigned n)
{
    char path[64], bdf[16], *d;

    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_numvfs"), n);
    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_drivers_autoprobe"), 1);
    snprintf(path, sizeof(path), "%u", n);
    ASSERT_XS("/xenvf/pf/net0/numvfs", path);
    for (unsigned i = 0; i < n; i++) {
        snprintf(bdf, sizeof(bdf), "0000:02:00.%u", i + 1);
        d = sysfs_driver(bdf);
        ck_assert_msg(!strcmp(d, "pciback"), "%s bound to '%s'", bdf, d);
        free(d);
        snprintf(path, sizeof(path), "/xenvf/pf/net0/vf/%u/state", i);
        ASSERT_XS(path, "free");
    }
    ASSERT_XS("/xenvf/pf/net0/state", "ready");
}

/* net0 2 -> 4 (through 0) while nvme0 has an active VF. */
static const char *const CHANGE_STEPS[] = {
    "intent",      "autoprobe-off", "vfs-unbound",
    "numvfs-zero", "numvfs-set",    "vfs-wait",
    "override",    "override@3",    "autoprobe-restore",
    "bind",        "bind@3",        "state-done",
    "publish",     "publish@3",
};

START_TEST(kill9_at_every_step_converges)
{
    const char *step = CHANGE_STEPS[_i];
    ino_t ino[4];

    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    denv_start_ready();
    hold("nvme0", 1, 5, "web5", true);
    snapshot(ino);
    ck_assert_int_eq(denv_stop(), 0);

    denv_write_map(MAP_PF0(4, "") MAP_PF1(4, ""));
    start_and_die(step);
    assert_held_pf_untouched(ino); /* even half way */
    denv_start_ready();
    converged_net0(4);
    assert_held_pf_untouched(ino);
}
END_TEST

/* VFs a driver had before: the unbind step. */
START_TEST(kill9_at_unbind_converges)
{
    char dir[PATH_MAX + 64], *real;

    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", fakesysfs_root(E.fs),
             PF1);
    real = realpath(dir, NULL);
    ck_assert_int_gt(fakesysfs_kernel_store(fakesysfs_root(E.fs), real,
                                            "sriov_numvfs", "3", 1),
                     0);
    free(real);
    denv_write_map(MAP_PF0(4, "") MAP_PF1(3, ""));
    start_and_die("unbind@2");
    denv_start_ready();
    converged_net0(3);
    ASSERT_XS("/libxl/pciback/0000-02-00-3/driver_path",
              "/sys/bus/pci/drivers/igbfake");
}
END_TEST

START_TEST(kill9_after_commit_keeps_it)
{
    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    denv_start("commit");
    ck_assert_int_eq(denv_wait_ready(), 0);
    hold("nvme0", 2, 5, "web5", false); /* dies after persisting */
    waitpid(E.pid, NULL, 0);
    E.pid = 0;
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/state", "active");
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/domain", "5");
    ck_assert_uint_eq(resets(VF0[2]), 0);
}
END_TEST

START_TEST(kill9_during_reset_finishes_it)
{
    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    denv_start("flr");
    ck_assert_int_eq(denv_wait_ready(), 0);
    hold("nvme0", 3, 5, "web5", true);
    ck_assert_int_eq(xsh_domain_kill(E.hs, 5), 0);
    waitpid(E.pid, NULL, 0); /* died between the reset and "free" */
    E.pid = 0;
    ck_assert_uint_eq(resets(VF0[3]), 1);
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/state", "free");
    ASSERT_XS("/xenvf/pf/nvme0/active", "0");
    ck_assert_uint_ge(resets(VF0[3]), 1);
}
END_TEST

/* kill -9 half way through handing a driver domain's PF over, and half
 * way through giving it back: the restart finishes each. */
START_TEST(kill9_in_pf_handover_converges)
{
    char *drv, *before = sysfs_driver(PF1);

    denv_write_map(MAP_PF0(4, "") MAP_PF1_OWNER(2, "dd2", ""));
    start_and_die("handover");
    drv = sysfs_driver(PF1);
    ck_assert_str_eq(drv, ""); /* unbound, not yet bound to pciback */
    free(drv);
    denv_start_ready();
    ck_assert(log_wait("pf net0: handed to pciback", 5000));
    drv = sysfs_driver(PF1);
    ck_assert_str_eq(drv, "pciback");
    free(drv);
    ck_assert_int_eq(denv_stop(), 0);

    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    start_and_die("give-back");
    denv_start_ready();
    ck_assert(log_wait("pf net0: given back to dom0's", 5000));
    drv = sysfs_driver(PF1);
    ck_assert_str_eq(drv, before);
    free(drv);
    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_numvfs"), 2);
    free(before);
}
END_TEST

/* kill -9 right after the repair adopted a VF libxl gave a domain: the
 * restart adopts it again. */
START_TEST(kill9_after_adopt_converges)
{
    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    denv_start("adopt");
    ck_assert_int_eq(denv_wait_ready(), 0);
    make_domain(6, "web6");
    ck_assert_int_eq(xenvf_xs_write(&E.xs,
                                    "/local/domain/0/backend/pci/6/0/dev-0",
                                    "0000:01:00.3", NULL),
                     0);
    ck_assert_int_eq(xenvf_xs_write(&E.xs,
                                    "/local/domain/0/backend/pci/6/0/num_devs",
                                    "1", NULL),
                     0);
    waitpid(E.pid, NULL, 0); /* died after adopting, before persisting */
    E.pid = 0;
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/state", "active");
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/domain", "6");
    ck_assert_uint_eq(resets(VF0[2]), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcb_restart");
    TCase *tc = tcase_create("restart");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, restart_with_active_vfs_writes_nothing);
    tcase_add_loop_test(tc, kill9_at_every_step_converges, 0,
                        sizeof(CHANGE_STEPS) / sizeof(CHANGE_STEPS[0]));
    tcase_add_test(tc, kill9_at_unbind_converges);
    tcase_add_test(tc, kill9_after_commit_keeps_it);
    tcase_add_test(tc, kill9_during_reset_finishes_it);
    tcase_add_test(tc, kill9_in_pf_handover_converges);
    tcase_add_test(tc, kill9_after_adopt_converges);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(suite)
