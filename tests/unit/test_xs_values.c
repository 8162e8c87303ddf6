/* Unit tests for the xenstore value parsers (no xenstored needed). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/xs.h>
#include "../harness/check-main.h"

START_TEST(domid_values)
{
    xenvf_err err;
    uint32_t d;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_xs_parse_domid("", &d, &err), 0);
    ck_assert_uint_eq(d, XENVF_DOMID_NONE);
    ck_assert_int_eq(xenvf_xs_parse_domid("0", &d, &err), 0);
    ck_assert_uint_eq(d, 0);
    ck_assert_int_eq(xenvf_xs_parse_domid("32751", &d, &err), 0);
    ck_assert_uint_eq(d, 32751);
    /* DOMID_FIRST_RESERVED (0x7ff0) and beyond are not guests */
    ck_assert_int_eq(xenvf_xs_parse_domid("32752", &d, &err), XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "domain id"));
    ck_assert_int_eq(xenvf_xs_parse_domid("-1", &d, &err), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_xs_parse_domid("7 ", &d, &err), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_xs_parse_domid("99999999999999999999999", &d, &err),
                     XENVF_ERANGE);
}
END_TEST

START_TEST(pf_nodes_build_the_model)
{
    static const char *const nodes[][2] = {
        {"bdf", "0000:01:00.0"},
        {"owner", "3"},
        {"totalvfs", "4"},
        {"numvfs", "2"},
        {"active", "1"},
        {"state", "ready"},
        {"vf/1/bdf", "0000:01:00.2"},
        {"vf/1/domain", "7"},
        {"vf/1/state", "active"},
        {"vf/1/mac", "00:16:3e:00:00:01"},
        {"vf/1/vlan", "10"},
        {"vf/1/trust", "1"},
        {"vf/1/spoofchk", "0"},
        {"vf/1/rate", "1000"},
        {"vf/1/namespaces", "1:67108864 3:1048576"},
        {"vf/0/bdf", ""},
        {"vf/0/domain", ""},
        {"vf/0/state", "free"},
        {"some-future-leaf", "x"},
    };
    xenvf_pf pf;
    xenvf_err err;

    xenvf_pf_init(&pf);
    xenvf_err_init(&err);
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
        ck_assert_msg(
            !xenvf_xs_apply_pf_node(&pf, nodes[i][0], nodes[i][1], &err),
            "%s=%s: %s", nodes[i][0], nodes[i][1], err.msg);
    ck_assert_uint_eq(pf.bdf.bus, 1);
    ck_assert_uint_eq(pf.owner_domid, 3);
    ck_assert_uint_eq(pf.total_vfs, 4);
    ck_assert_uint_eq(pf.num_vfs, 2);
    ck_assert_int_eq(pf.state, XENVF_PF_READY);
    ck_assert_uint_eq(pf.nr_vfs, 2);
    ck_assert(!pf.vfs[0].bdf_known);
    ck_assert_uint_eq(pf.vfs[0].domid, XENVF_DOMID_NONE);
    ck_assert_int_eq(pf.vfs[0].state, XENVF_VF_FREE);
    ck_assert(pf.vfs[1].bdf_known);
    ck_assert_uint_eq(pf.vfs[1].bdf.func, 2);
    ck_assert_uint_eq(pf.vfs[1].domid, 7);
    ck_assert_int_eq(pf.vfs[1].state, XENVF_VF_ACTIVE);
    ck_assert(pf.vfs[1].config.has_mac);
    ck_assert_uint_eq(pf.vfs[1].config.mac[5], 1);
    ck_assert_int_eq(pf.vfs[1].config.vlan, 10);
    ck_assert_int_eq(pf.vfs[1].config.trust, 1);
    ck_assert_int_eq(pf.vfs[1].config.spoofchk, 0);
    ck_assert_int_eq(pf.vfs[1].config.rate_mbps, 1000);
    ck_assert_uint_eq(pf.vfs[1].config.ns.nr, 2);
    ck_assert_uint_eq(pf.vfs[1].config.ns.ns[0].nsid, 1);
    ck_assert_uint_eq(pf.vfs[1].config.ns.ns[0].size, 67108864);
    ck_assert_uint_eq(pf.vfs[1].config.ns.ns[1].nsid, 3);
    ck_assert_uint_eq(pf.vfs[0].config.ns.nr, 0);
    ck_assert_uint_eq(xenvf_pf_active_vfs(&pf), 1);
    xenvf_pf_dispose(&pf);
}
END_TEST

/* An empty owner: the PF's driver domain is not running, nobody's PF. */
START_TEST(empty_owner_is_nobody)
{
    xenvf_pf pf;

    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_xs_apply_pf_node(&pf, "owner", "", NULL), 0);
    ck_assert_uint_eq(pf.owner_domid, XENVF_DOMID_NONE);
    ck_assert_int_eq(xenvf_xs_apply_pf_node(&pf, "owner", "5", NULL), 0);
    ck_assert_uint_eq(pf.owner_domid, 5);
    xenvf_pf_dispose(&pf);
}
END_TEST

/* A guest's VF nodes: built and taken apart by the schema, nothing else. */
START_TEST(guest_vf_paths)
{
    char path[XENVF_XS_PATH_MAX];
    const char *leaf;
    uint32_t domid;
    unsigned local;

    xenvf_xs_guest_path(path, 7, "/vf/%u/%s", 2, "request");
    ck_assert_str_eq(path, "/local/domain/7/xenvf/vf/2/request");
    ck_assert(xenvf_xs_parse_guest_vf_path(path, &domid, &local, &leaf));
    ck_assert_uint_eq(domid, 7);
    ck_assert_uint_eq(local, 2);
    ck_assert_str_eq(leaf, "request");
    ck_assert(!xenvf_xs_parse_guest_vf_path("/local/domain/7/xenvf/vf/2",
                                            &domid, &local, &leaf));
    ck_assert(!xenvf_xs_parse_guest_vf_path("/local/domain/7/xenvf/vf/2/",
                                            &domid, &local, &leaf));
    ck_assert(!xenvf_xs_parse_guest_vf_path("/local/domain/7/xenvf/vf/2/a/b",
                                            &domid, &local, &leaf));
    ck_assert(!xenvf_xs_parse_guest_vf_path("/local/domain/7/device/vf/2/a",
                                            &domid, &local, &leaf));
}
END_TEST

START_TEST(bad_pf_nodes_are_named)
{
    static const struct {
        const char *node, *value, *want;
    } bad[] = {
        {"state", "readyish", "state: unknown PF state"},
        {"owner", "x", "owner: domain id"},
        {"bdf", "01:00", "bdf: bad PCI address"},
        {"numvfs", "65536", "numvfs: '65536' is out of range"},
        {"vf/x/state", "free", "vf/x/state: 'x' is not a number"},
        {"vf/65535/state", "free", "out of range"},
        {"vf/0/state", "gone", "vf/0/state: unknown VF state"},
        {"vf/0/vlan", "4095", "vf/0/vlan: vlan 4095 is out of range 0-4094"},
        {"vf/0/trust", "2", "vf/0/trust"},
        {"vf/0/mac", "01:00:00:00:00:00", "multicast"},
        {"vf/0/domain", "x", "vf/0/domain: domain id"},
        {"vf/0/namespaces", "3:512 1:512",
         "vf/0/namespaces: namespace list: entry 2: nsid 1 after 3"},
        {"vf/0/namespaces", "", "vf/0/namespaces: namespace list: empty"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xenvf_pf pf;
        xenvf_err err;

        xenvf_pf_init(&pf);
        xenvf_err_init(&err);
        ck_assert_msg(
            xenvf_xs_apply_pf_node(&pf, bad[i].node, bad[i].value, &err),
            "%s=%s was accepted", bad[i].node, bad[i].value);
        ck_assert_msg(strstr(err.msg, bad[i].want), "%s=%s gave '%s'",
                      bad[i].node, bad[i].value, err.msg);
        xenvf_pf_dispose(&pf);
    }
}
END_TEST

static Suite *xs_values_suite(void)
{
    Suite *s = suite_create("xs_values");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, domid_values);
    tcase_add_test(tc, guest_vf_paths);
    tcase_add_test(tc, pf_nodes_build_the_model);
    tcase_add_test(tc, empty_owner_is_nobody);
    tcase_add_test(tc, bad_pf_nodes_are_named);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(xs_values_suite)
