/*
 * The gate plan (libxl-plugin/gate.c): which PFs a domain waits for, with
 * which timeouts, stored with the domain between `xl create -p` and
 * `xl unpause`. The text is read back from a file: decoding refuses
 * anything it did not write.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../libxl-plugin/gate.h"
#include "../harness/check-main.h"

static xenvf_err err;

START_TEST(plan_round_trip)
{
    gate_plan p, back;
    char *text = NULL;

    gate_plan_init(&p);
    gate_plan_init(&back);
    p.domid = 7;
    p.domain = strdup("web1");
    ck_assert_int_eq(gate_plan_add(&p, "nvme0", 30000, &err), 0);
    ck_assert_int_eq(gate_plan_add(&p, "net0", -1, &err), 0);
    /* one PF for two entries: the shorter limit wins, -1 is no limit */
    ck_assert_int_eq(gate_plan_add(&p, "nvme0", 5000, &err), 0);
    ck_assert_int_eq(gate_plan_add(&p, "nvme0", 9000, &err), 0);
    ck_assert_int_eq(gate_plan_add(&p, "net0", 100, &err), 0);
    ck_assert_uint_eq(p.nr, 2);
    ck_assert_int_eq(gate_plan_encode(&p, &text, &err), 0);
    ck_assert_str_eq(text, "xenvf-gate 1\ndomain web1\ndomid 7\n"
                           "pf nvme0 5000\npf net0 100\n");
    ck_assert_int_eq(gate_plan_decode(text, strlen(text), &back, &err), 0);
    ck_assert_uint_eq(back.domid, 7);
    ck_assert_str_eq(back.domain, "web1");
    ck_assert_uint_eq(back.nr, 2);
    ck_assert_str_eq(back.pfs[1].pf_id, "net0");
    ck_assert_int_eq(back.pfs[0].timeout_ms, 5000);
    free(text);
    gate_plan_dispose(&p);
    gate_plan_dispose(&back);
}
END_TEST

START_TEST(bad_plans)
{
    static const char *const bad[] = {
        "",
        "xenvf-gate 2\ndomid 7\npf a 1\n",
        "xenvf-gate 1\npf a 1\n",              /* no domid */
        "xenvf-gate 1\ndomid 7\n",             /* no PF */
        "xenvf-gate 1\ndomid 7\npf a 1",       /* unterminated */
        "xenvf-gate 1\ndomid 70000\npf a 1\n", /* not a domid */
        "xenvf-gate 1\ndomid 7\ndomid 8\npf a 1\n",
        "xenvf-gate 1\ndomid 7\npf a/b 1\n", /* not a PF id */
        "xenvf-gate 1\ndomid 7\npf a -2\n",
        "xenvf-gate 1\ndomid 7\npf a\n",
        "xenvf-gate 1\ndomid 7\nreboot now\n",
    };
    gate_plan p;

    gate_plan_init(&p);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xenvf_err_init(&err);
        ck_assert_msg(gate_plan_decode(bad[i], strlen(bad[i]), &p, &err) != 0,
                      "accepted plan %zu", i);
        ck_assert_uint_eq(p.nr, 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "gate plan"));
    }
    ck_assert_int_ne(gate_plan_decode("xenvf-gate 1\0domid", 19, &p, &err), 0);
    gate_plan_dispose(&p);
}
END_TEST

static Suite *gate_plan_suite(void)
{
    Suite *s = suite_create("gate_plan");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, plan_round_trip);
    tcase_add_test(tc, bad_plans);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(gate_plan_suite)
