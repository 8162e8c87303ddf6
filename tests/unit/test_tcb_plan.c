/* The TCB's planner (daemon/tcb_plan.c): pure decisions, no I/O. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/tcb_plan.h"
#include "../harness/check-main.h"

static xenvf_map want, have;
static tcb_plan plan;
static xenvf_err err;
static tcb_plan_vf vfs[8];
static tcb_plan_pf hw;

static void setup(void)
{
    xenvf_map_init(&want);
    xenvf_map_init(&have);
    tcb_plan_init(&plan);
    xenvf_err_init(&err);
    memset(vfs, 0, sizeof(vfs));
    for (int i = 0; i < 8; i++)
        vfs[i].domid = XENVF_DOMID_NONE;
    hw = (tcb_plan_pf){.id = "nvme0",
                       .present = true,
                       .total_vfs = 8,
                       .num_vfs = 0,
                       .nr_vfs = 8,
                       .vfs = vfs};
    xenvf_bdf_parse("0000:01:00.0", &hw.bdf, NULL);
}

static void teardown(void)
{
    xenvf_map_dispose(&want);
    xenvf_map_dispose(&have);
    tcb_plan_dispose(&plan);
}

static void map1(xenvf_map *m, unsigned numvfs, int held_index,
                 const char *holder)
{
    char vf[96] = "", xml[512];

    if (held_index >= 0)
        snprintf(vf, sizeof(vf), "<vf index=\"%d\" domain=\"%s\"/>", held_index,
                 holder);
    snprintf(xml, sizeof(xml),
             "<vfmap xmlns=\"urn:xenvf:vfmap:1\"><pf id=\"nvme0\" "
             "address=\"0000:01:00.0\" numvfs=\"%u\">%s</pf></vfmap>",
             numvfs, vf);
    ck_assert_int_eq(xenvf_map_parse_mem("t", xml, strlen(xml), m, &err), 0);
}

START_TEST(new_pf_sets_numvfs_then_binds)
{
    map1(&want, 3, -1, NULL);
    ck_assert_int_eq(tcb_plan_compute(&want, NULL, &hw, 1, false, &plan, &err),
                     0);
    ck_assert_uint_eq(plan.nr_steps, 4);
    ck_assert_int_eq(plan.steps[0].kind, TCB_STEP_SET_NUMVFS);
    ck_assert_uint_eq(plan.steps[0].from, 0);
    ck_assert_uint_eq(plan.steps[0].to, 3);
    ck_assert_int_eq(plan.steps[3].kind, TCB_STEP_BIND);
    ck_assert_uint_eq(plan.steps[3].vf, 2);
}
END_TEST

START_TEST(same_count_binds_only_unbound_free_vfs)
{
    map1(&want, 3, -1, NULL);
    map1(&have, 3, -1, NULL);
    hw.num_vfs = 3;
    vfs[0].bound = true;
    vfs[1].state = XENVF_VF_ACTIVE; /* held: never touched */
    vfs[1].holder = "web1";
    vfs[1].domid = 5;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     0);
    ck_assert_uint_eq(plan.nr_steps, 1);
    ck_assert_int_eq(plan.steps[0].kind, TCB_STEP_BIND);
    ck_assert_uint_eq(plan.steps[0].vf, 2);
}
END_TEST

START_TEST(numvfs_change_under_held_vf_refused)
{
    map1(&want, 2, -1, NULL);
    map1(&have, 3, -1, NULL);
    hw.num_vfs = 3;
    vfs[2].state = XENVF_VF_ACTIVE;
    vfs[2].holder = "web1";
    vfs[2].domid = 5;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     XENVF_EBUSY);
    ck_assert_str_eq(err.msg, "pf 'nvme0': NumVFs change 3 -> 2 is refused: "
                              "vf 2 is held by domain web1 (5)");
    ck_assert_uint_eq(plan.nr_steps, 0);
    /* a rescan skips the PF instead and says why */
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, true, &plan, &err),
                     0);
    ck_assert_uint_eq(plan.nr_skipped, 1);
    ck_assert_uint_eq(plan.nr_steps, 0);
}
END_TEST

/* Moving the PF's driver to a driver domain resets the PF under the
 * guests: refused while a VF is held, planned when none is. */
START_TEST(owner_change_under_held_vf_refused)
{
    const char *xml =
        "<vfmap xmlns=\"urn:xenvf:vfmap:1\"><pf id=\"nvme0\" "
        "address=\"0000:01:00.0\" numvfs=\"3\" owner=\"dd2\"/></vfmap>";

    ck_assert_int_eq(xenvf_map_parse_mem("t", xml, strlen(xml), &want, &err),
                     0);
    map1(&have, 3, -1, NULL);
    hw.num_vfs = 3;
    vfs[0].bound = vfs[1].bound = vfs[2].bound = true;
    vfs[2].state = XENVF_VF_ACTIVE;
    vfs[2].holder = "web1";
    vfs[2].domid = 5;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     XENVF_EBUSY);
    ck_assert_str_eq(err.msg, "pf 'nvme0': moving its driver to dd2 is "
                              "refused: vf 2 is held by domain web1 (5)");
    vfs[2].state = XENVF_VF_FREE;
    vfs[2].holder = NULL;
    vfs[2].domid = XENVF_DOMID_NONE;
    tcb_plan_dispose(&plan);
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     0);
}
END_TEST

START_TEST(held_vf_given_to_another_domain_refused)
{
    map1(&want, 3, 1, "web2");
    map1(&have, 3, -1, NULL);
    hw.num_vfs = 3;
    vfs[1].state = XENVF_VF_RESERVED;
    vfs[1].holder = "web1";
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     XENVF_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "web1 (reserved)"));
}
END_TEST

START_TEST(past_totalvfs_and_unknown_pf_refused)
{
    map1(&want, 9, -1, NULL);
    ck_assert_int_eq(tcb_plan_compute(&want, NULL, &hw, 1, false, &plan, &err),
                     XENVF_ERANGE);
    xenvf_map_dispose(&want);
    map1(&want, 1, -1, NULL);
    hw.present = false;
    ck_assert_int_eq(tcb_plan_compute(&want, NULL, &hw, 1, false, &plan, &err),
                     XENVF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown PF"));
    /* a PF of the map in force that vanished is not refused: failed */
    map1(&have, 1, -1, NULL);
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     0);
    ck_assert_int_eq(plan.steps[0].kind, TCB_STEP_PF_MISSING);
}
END_TEST

START_TEST(dropping_a_pf_with_held_vfs_refused)
{
    ck_assert_int_eq(xenvf_map_parse_mem("t",
                                         "<vfmap xmlns=\"urn:xenvf:vfmap:1\"/>",
                                         34, &want, &err),
                     0);
    map1(&have, 3, -1, NULL);
    hw.num_vfs = 3;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     0);
    ck_assert_int_eq(plan.steps[0].kind, TCB_STEP_DROP_PF);
    vfs[0].state = XENVF_VF_ACTIVE;
    vfs[0].holder = "web1";
    vfs[0].domid = 3;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     XENVF_EBUSY);
}
END_TEST

/* map_ns: nvme0 at 2 VFs, VF 1 with the namespaces in `ns` ("" none). */
static void map_ns(xenvf_map *m, const char *ns)
{
    char xml[512];

    snprintf(xml, sizeof(xml),
             "<vfmap xmlns=\"urn:xenvf:vfmap:1\"><pf id=\"nvme0\" "
             "address=\"0000:01:00.0\" numvfs=\"2\"><vf index=\"1\">%s</vf>"
             "</pf></vfmap>",
             ns);
    ck_assert_int_eq(xenvf_map_parse_mem("t", xml, strlen(xml), m, &err), 0);
}

/* a held VF keeps its disks; a free one may lose them, and anyone may get
 * more */
START_TEST(namespace_taken_from_held_vf_refused)
{
    map_ns(&have, "<namespace nsid=\"2\" size=\"32M\"/>"
                  "<namespace nsid=\"5\" size=\"1M\"/>");
    map_ns(&want, "<namespace nsid=\"2\" size=\"32M\"/>");
    hw.num_vfs = 2;
    vfs[0].bound = vfs[1].bound = true;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     0);
    ck_assert_uint_eq(plan.nr_steps, 0);
    vfs[1].state = XENVF_VF_ACTIVE;
    vfs[1].holder = "db1";
    vfs[1].domid = 7;
    ck_assert_int_eq(tcb_plan_compute(&want, &have, &hw, 1, false, &plan, &err),
                     XENVF_EBUSY);
    ck_assert_str_eq(err.msg, "pf 'nvme0': taking namespace 5 away from vf 1 "
                              "is refused: it is held by domain db1 (7)");
    /* adding one to a held VF is fine (the PF agent attaches it) */
    ck_assert_int_eq(tcb_plan_compute(&have, &want, &hw, 1, false, &plan, &err),
                     0);
}
END_TEST

START_TEST(interrupted_reset_is_finished)
{
    map1(&want, 2, -1, NULL);
    hw.num_vfs = 2;
    vfs[0].bound = vfs[1].bound = true;
    vfs[1].state = XENVF_VF_RESETTING;
    ck_assert_int_eq(tcb_plan_compute(&want, &want, &hw, 1, true, &plan, &err),
                     0);
    ck_assert_uint_eq(plan.nr_steps, 1);
    ck_assert_int_eq(plan.steps[0].kind, TCB_STEP_RESET);
    ck_assert_str_eq(tcb_step_name(plan.steps[0].kind), "reset");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcb_plan");
    TCase *tc = tcase_create("plan");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, new_pf_sets_numvfs_then_binds);
    tcase_add_test(tc, same_count_binds_only_unbound_free_vfs);
    tcase_add_test(tc, numvfs_change_under_held_vf_refused);
    tcase_add_test(tc, owner_change_under_held_vf_refused);
    tcase_add_test(tc, held_vf_given_to_another_domain_refused);
    tcase_add_test(tc, past_totalvfs_and_unknown_pf_refused);
    tcase_add_test(tc, dropping_a_pf_with_held_vfs_refused);
    tcase_add_test(tc, namespace_taken_from_held_vf_refused);
    tcase_add_test(tc, interrupted_reset_is_finished);
    suite_add_tcase(s, tc);
    return xenvf_check_run(s);
}
