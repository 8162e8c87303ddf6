/* Unit tests for the I/O switch's handshake values (lib/switch.c). */
#include <check.h>
#include <string.h>

#include <xenvf/switch.h>
#include "../harness/check-main.h"

START_TEST(requests)
{
    char buf[XENVF_SWITCH_REQUEST_MAX];
    xenvf_switch_request r;
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_switch_request_parse("pv xvdb", &r, &err), 0);
    ck_assert_int_eq(r.to, XENVF_PATH_PV);
    ck_assert_str_eq(r.vdev, "xvdb");
    xenvf_switch_request_format(&r, buf);
    ck_assert_str_eq(buf, "pv xvdb");
    ck_assert_int_eq(xenvf_switch_request_parse("vf", &r, &err), 0);
    ck_assert_int_eq(r.to, XENVF_PATH_VF);
    xenvf_switch_request_format(&r, buf);
    ck_assert_str_eq(buf, "vf");
    /* the longest name that fits, and one past it */
    ck_assert_int_eq(xenvf_switch_request_parse("pv xvdabcdefghijkl", &r, &err),
                     0);
    ck_assert_int_eq(
        xenvf_switch_request_parse("pv xvdabcdefghijklm", &r, &err),
        XENVF_EINVAL);
    static const char *const bad[] = {
        "",          "pv",       "pv ",     "pv  xvdb", "pv xvdb ",
        "pv ../sda", "pv 1xvdb", "pv xvdB", "vf x",     "vf ",
        "VF",        "pvxvdb",   "vfx",     "pv xvd/b", "pv xvdb\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        r.to = XENVF_PATH_PV;
        ck_assert_msg(xenvf_switch_request_parse(bad[i], &r, &err) ==
                          XENVF_EINVAL,
                      "'%s' parsed", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "switch request"));
    }
    ck_assert_int_eq(xenvf_switch_request_parse(NULL, &r, &err), XENVF_EINVAL);
}
END_TEST

START_TEST(states)
{
    char buf[XENVF_SWITCH_STATE_MAX];
    xenvf_switch_state s;
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_switch_state_parse("", &s, &err), 0);
    ck_assert_int_eq(s.kind, XENVF_SWITCH_NONE);
    ck_assert_int_eq(xenvf_switch_state_parse(NULL, &s, &err), 0);
    ck_assert_int_eq(s.kind, XENVF_SWITCH_NONE);
    ck_assert_int_eq(xenvf_switch_state_parse("vf", &s, &err), 0);
    ck_assert_int_eq(s.kind, XENVF_SWITCH_ON);
    ck_assert_int_eq(s.on, XENVF_PATH_VF);
    ck_assert_int_eq(s.paused_us, -1);
    xenvf_switch_state_format(&s, buf);
    ck_assert_str_eq(buf, "vf");
    ck_assert_int_eq(xenvf_switch_state_parse("pv paused=0.012345", &s, &err),
                     0);
    ck_assert_int_eq(s.on, XENVF_PATH_PV);
    ck_assert_int_eq(s.paused_us, 12345);
    xenvf_switch_state_format(&s, buf);
    ck_assert_str_eq(buf, "pv paused=0.012345");
    ck_assert_int_eq(xenvf_switch_state_parse("vf paused=2.000001", &s, &err),
                     0);
    ck_assert_int_eq(s.paused_us, 2000001);
    ck_assert_int_eq(
        xenvf_switch_state_parse("error: no PV disk xvdb", &s, &err), 0);
    ck_assert_int_eq(s.kind, XENVF_SWITCH_ERROR);
    ck_assert_str_eq(s.msg, "no PV disk xvdb");
    xenvf_switch_state_format(&s, buf);
    ck_assert_str_eq(buf, "error: no PV disk xvdb");
    static const char *const bad[] = {
        "on",
        "vf paused=",
        "vf paused=1",
        "vf paused=.1",
        "pv paused=1.12",
        "pv paused=1.1234567",
        "pv paused=-1.000000",
        "pv paused=1.-00001",
        "vf  paused=1.000000",
        "vf paused=3601.000000",
        "error:",
        "pv x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(xenvf_switch_state_parse(bad[i], &s, &err) ==
                          XENVF_EINVAL,
                      "'%s' parsed", bad[i]);
}
END_TEST

static Suite *switch_suite(void)
{
    Suite *s = suite_create("switch");
    TCase *tc = tcase_create("handshake");

    tcase_add_test(tc, requests);
    tcase_add_test(tc, states);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(switch_suite)
