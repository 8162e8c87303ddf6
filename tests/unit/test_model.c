/* Unit tests for the model (lib/model.c): states, steps, value parsers,
 * init/dispose pairs. The expected step tables are transcribed from
 * docs/xenstore-paths.md, not from the code. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/model.h>
#include <xenvf/text.h>
#include "../harness/check-main.h"

#define NR_PF 6
#define NR_VF 6

static const char *const pf_names[NR_PF] = {
    "unknown", "probing", "ready", "degraded", "resetting", "failed",
};
static const char *const vf_names[NR_VF] = {
    "absent", "free", "reserved", "active", "resetting", "failed",
};

/* docs/xenstore-paths.md: "may become" columns */
static const bool pf_ok[NR_PF][NR_PF] = {
    /* to: unknown probing ready degraded resetting failed */
    [XENVF_PF_UNKNOWN] = {0, 1, 0, 0, 0, 1},
    [XENVF_PF_PROBING] = {0, 0, 1, 1, 0, 1},
    [XENVF_PF_READY] = {0, 1, 0, 1, 1, 1},
    [XENVF_PF_DEGRADED] = {0, 1, 1, 0, 1, 1},
    [XENVF_PF_RESETTING] = {0, 1, 0, 0, 0, 1},
    [XENVF_PF_FAILED] = {1, 1, 0, 0, 0, 0},
};

static const bool vf_ok[NR_VF][NR_VF] = {
    /* to: absent free reserved active resetting failed */
    [XENVF_VF_ABSENT] = {0, 1, 0, 0, 0, 1},
    [XENVF_VF_FREE] = {1, 0, 1, 0, 1, 1},
    [XENVF_VF_RESERVED] = {0, 1, 0, 1, 1, 1},
    [XENVF_VF_ACTIVE] = {0, 0, 0, 0, 1, 1},
    [XENVF_VF_RESETTING] = {0, 1, 0, 0, 0, 1},
    [XENVF_VF_FAILED] = {1, 0, 0, 0, 1, 0},
};

START_TEST(state_names_round_trip)
{
    xenvf_err err;

    xenvf_err_init(&err);
    for (int s = 0; s < NR_PF; s++) {
        xenvf_pf_state p = XENVF_PF_FAILED;
        ck_assert_str_eq(xenvf_pf_state_name((xenvf_pf_state)s), pf_names[s]);
        ck_assert_int_eq(xenvf_pf_state_parse(pf_names[s], &p, &err), 0);
        ck_assert_int_eq(p, s);
    }
    for (int s = 0; s < NR_VF; s++) {
        xenvf_vf_state v = XENVF_VF_FAILED;
        ck_assert_str_eq(xenvf_vf_state_name((xenvf_vf_state)s), vf_names[s]);
        ck_assert_int_eq(xenvf_vf_state_parse(vf_names[s], &v, &err), 0);
        ck_assert_int_eq(v, s);
    }
    ck_assert_str_eq(xenvf_pf_state_name((xenvf_pf_state)NR_PF), "invalid");
    ck_assert_str_eq(xenvf_pf_state_name((xenvf_pf_state)-1), "invalid");
    ck_assert_str_eq(xenvf_vf_state_name((xenvf_vf_state)99), "invalid");
}
END_TEST

START_TEST(state_parse_is_exact)
{
    static const char *const bad[] = {
        "",    "READY",  "Ready",   "ready ", " ready", "ready\n",
        "rea", "readyy", "invalid", "0",      "free",
    };
    xenvf_pf_state p = XENVF_PF_DEGRADED;
    xenvf_vf_state v = XENVF_VF_RESERVED;
    xenvf_err err;

    xenvf_err_init(&err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(xenvf_pf_state_parse(bad[i], &p, &err) == XENVF_EINVAL,
                      "PF state '%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "unknown PF state"));
    }
    ck_assert_int_eq(p, XENVF_PF_DEGRADED);
    ck_assert_int_eq(xenvf_vf_state_parse("ready", &v, &err), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_vf_state_parse("ACTIVE", &v, &err), XENVF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown VF state 'ACTIVE'"));
    ck_assert_int_eq(v, XENVF_VF_RESERVED);
    ck_assert_int_eq(xenvf_pf_state_parse(NULL, &p, &err), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_vf_state_parse(NULL, &v, NULL), XENVF_EINVAL);
}
END_TEST

START_TEST(pf_state_machine)
{
    xenvf_err err;

    xenvf_err_init(&err);
    for (int from = 0; from < NR_PF; from++) {
        for (int to = 0; to < NR_PF; to++) {
            bool ok = xenvf_pf_state_step_ok((xenvf_pf_state)from,
                                             (xenvf_pf_state)to);

            ck_assert_msg(ok == pf_ok[from][to], "PF %s -> %s: %d",
                          pf_names[from], pf_names[to], ok);
        }
        ck_assert(!xenvf_pf_state_step_ok((xenvf_pf_state)from,
                                          (xenvf_pf_state)NR_PF));
        ck_assert(!xenvf_pf_state_step_ok((xenvf_pf_state)NR_PF,
                                          (xenvf_pf_state)from));
    }
    ck_assert(!xenvf_pf_state_step_ok((xenvf_pf_state)-1, XENVF_PF_READY));
}
END_TEST

START_TEST(vf_state_machine)
{
    xenvf_err err;

    xenvf_err_init(&err);
    for (int from = 0; from < NR_VF; from++) {
        for (int to = 0; to < NR_VF; to++) {
            bool ok = xenvf_vf_state_step_ok((xenvf_vf_state)from,
                                             (xenvf_vf_state)to);

            ck_assert_msg(ok == vf_ok[from][to], "VF %s -> %s: %d",
                          vf_names[from], vf_names[to], ok);
        }
        ck_assert(!xenvf_vf_state_step_ok((xenvf_vf_state)from,
                                          (xenvf_vf_state)NR_VF));
        ck_assert(!xenvf_vf_state_step_ok((xenvf_vf_state)NR_VF,
                                          (xenvf_vf_state)from));
    }
    /* the rule that matters most */
    ck_assert(!xenvf_vf_state_step_ok(XENVF_VF_ACTIVE, XENVF_VF_FREE));
}
END_TEST

START_TEST(vf_lifecycle)
{
    xenvf_vf_state st = XENVF_VF_ABSENT;
    static const xenvf_vf_state path[] = {
        XENVF_VF_FREE,      XENVF_VF_RESERVED, XENVF_VF_ACTIVE,
        XENVF_VF_RESETTING, XENVF_VF_FREE,     XENVF_VF_ABSENT,
    };

    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        ck_assert(xenvf_vf_state_step_ok(st, path[i]));
        st = path[i];
    }
    ck_assert_int_eq(st, XENVF_VF_ABSENT);
}
END_TEST

START_TEST(parse_uint_edges)
{
    xenvf_err err;
    uint64_t v;

    xenvf_err_init(&err);
    ck_assert_int_eq(
        xenvf_parse_uint("18446744073709551615", UINT64_MAX, &v, &err), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(
        xenvf_parse_uint("18446744073709551616", UINT64_MAX, &v, &err),
        XENVF_ERANGE);
    ck_assert_int_eq(
        xenvf_parse_uint("18446744073709551620", UINT64_MAX, &v, &err),
        XENVF_ERANGE);
    ck_assert_int_eq(
        xenvf_parse_uint("99999999999999999999", UINT64_MAX, &v, &err),
        XENVF_ERANGE);
    ck_assert_int_eq(
        xenvf_parse_uint("184467440737095516150", UINT64_MAX, &v, &err),
        XENVF_ERANGE);
    ck_assert_int_eq(xenvf_parse_uint("000000000000000000000000000001",
                                      UINT64_MAX, &v, &err),
                     0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(xenvf_parse_uint("255", 255, &v, &err), 0);
    ck_assert_uint_eq(v, 255);
    ck_assert_int_eq(xenvf_parse_uint("256", 255, &v, &err), XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "max 255"));
    ck_assert_int_eq(xenvf_parse_uint("259", 255, &v, &err), XENVF_ERANGE);
    ck_assert_int_eq(xenvf_parse_uint("250", 255, &v, &err), 0);
    ck_assert_int_eq(xenvf_parse_uint("0", 0, &v, &err), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(xenvf_parse_uint("000", 0, &v, &err), 0);
    ck_assert_int_eq(xenvf_parse_uint("1", 0, &v, &err), XENVF_ERANGE);
    /* single digits above a small max, and after a leading digit */
    for (unsigned max = 0; max < 10; max++) {
        for (unsigned d = 0; d < 10; d++) {
            char s[3] = {(char)('0' + d), '\0', '\0'};
            int rc = xenvf_parse_uint(s, max, &v, &err);
            ck_assert_msg(rc == (d <= max ? 0 : XENVF_ERANGE),
                          "'%s' with max %u: %d", s, max, rc);
            s[0] = '1';
            s[1] = (char)('0' + d);
            ck_assert_int_eq(xenvf_parse_uint(s, max, &v, &err), XENVF_ERANGE);
        }
    }
    ck_assert_int_eq(xenvf_parse_uint("19", 19, &v, &err), 0);
    ck_assert_int_eq(xenvf_parse_uint("20", 19, &v, &err), XENVF_ERANGE);
    /* a failed parse leaves *out alone */
    v = 77;
    ck_assert_int_eq(xenvf_parse_uint("20", 19, &v, &err), XENVF_ERANGE);
    ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(parse_uint_syntax)
{
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "1a", "0x1", "1.0", "1e3", "١", "1\n",
    };
    xenvf_err err;
    uint64_t v = 5;

    xenvf_err_init(&err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(xenvf_parse_uint(bad[i], UINT64_MAX, &v, &err) ==
                          XENVF_EINVAL,
                      "'%s' accepted", bad[i]);
    ck_assert_int_eq(xenvf_parse_uint(NULL, UINT64_MAX, &v, &err),
                     XENVF_EINVAL);
    ck_assert_uint_eq(v, 5);
    ck_assert_int_eq(xenvf_parse_uint("x", 1, &v, NULL), XENVF_EINVAL);
}
END_TEST

START_TEST(mac_parse_edges)
{
    static const char *const bad[] = {
        "",
        "00:16:3e:00:00",
        "00:16:3e:00:00:01:02",
        "00-16-3e-00-00-01",
        "0:16:3e:00:00:01",
        "00:16:3e:00:00:1",
        "00:16:3e:00:00:0g",
        "00:16:3e:00:00: 1",
        "00:16:3e:00:00:+1",
        "00:16:3e:00:00:-1",
        " 00:16:3e:00:00:1",
        "00:16:3e:00:00:01 ",
        "00:16:3e:00:00:01\n",
        "0016.3e00.0001",
        "00163e000001",
        "00:16:3e::00:001",
        "0x:16:3e:00:00:01",
    };
    uint8_t mac[6] = {9, 9, 9, 9, 9, 9},
            want[6] = {0x00, 0x16, 0x3e, 0xab, 0xcd, 0xef};
    char buf[18];
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_mac_parse("00:16:3e:ab:cd:ef", mac, &err), 0);
    ck_assert_mem_eq(mac, want, 6);
    ck_assert_int_eq(xenvf_mac_parse("00:16:3E:AB:Cd:eF", mac, &err), 0);
    ck_assert_mem_eq(mac, want, 6);
    xenvf_mac_format(mac, buf);
    ck_assert_str_eq(buf, "00:16:3e:ab:cd:ef");
    /* locally administered unicast is fine; multicast and broadcast not */
    ck_assert_int_eq(xenvf_mac_parse("02:00:00:00:00:01", mac, &err), 0);
    ck_assert_int_eq(xenvf_mac_parse("01:00:5e:00:00:01", mac, &err),
                     XENVF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "multicast"));
    ck_assert_int_eq(xenvf_mac_parse("ff:ff:ff:ff:ff:ff", mac, &err),
                     XENVF_EINVAL);
    ck_assert_int_eq(xenvf_mac_parse("03:00:00:00:00:00", mac, &err),
                     XENVF_EINVAL);
    memcpy(mac, want, 6);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(xenvf_mac_parse(bad[i], mac, &err) == XENVF_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "bad MAC"));
    }
    ck_assert_mem_eq(mac, want, 6);
    ck_assert_int_eq(xenvf_mac_parse(NULL, mac, &err), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_mac_parse("zz", mac, NULL), XENVF_EINVAL);
}
END_TEST

START_TEST(id_validation)
{
    char longest[XENVF_ID_MAX + 2];

    ck_assert(xenvf_id_valid("nvme0"));
    ck_assert(xenvf_id_valid("a"));
    ck_assert(xenvf_id_valid("net_0-A"));
    ck_assert(xenvf_id_valid("_-"));
    memset(longest, 'x', XENVF_ID_MAX);
    longest[XENVF_ID_MAX] = '\0';
    ck_assert(xenvf_id_valid(longest));
    longest[XENVF_ID_MAX] = 'x';
    longest[XENVF_ID_MAX + 1] = '\0';
    ck_assert(!xenvf_id_valid(longest));
    ck_assert(!xenvf_id_valid(""));
    ck_assert(!xenvf_id_valid(NULL));
    ck_assert(!xenvf_id_valid("a b"));
    ck_assert(!xenvf_id_valid("a/b"));
    ck_assert(!xenvf_id_valid("net.0"));
    ck_assert(!xenvf_id_valid("nvme0\n"));
    ck_assert(!xenvf_id_valid("n\xc3\xa9"));
    ck_assert(!xenvf_id_valid("@x"));
}
END_TEST

START_TEST(vf_config_init_copy_dispose)
{
    xenvf_vf_config a, b;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_vf_config_init(&a);
    ck_assert(!a.has_mac);
    ck_assert_int_eq(a.vlan, -1);
    ck_assert_int_eq(a.trust, -1);
    ck_assert_int_eq(a.spoofchk, -1);
    ck_assert_int_eq(a.rate_mbps, -1);
    ck_assert_ptr_null(a.function);
    ck_assert_int_eq(a.boot, -1);
    a.function = strdup("nvme");
    a.vlan = 10;
    xenvf_vf_config_init(&b);
    b.function = strdup("old");
    ck_assert_int_eq(xenvf_vf_config_copy(&b, &a, &err), 0);
    ck_assert_int_eq(b.vlan, 10);
    ck_assert_str_eq(b.function, "nvme");
    ck_assert_ptr_ne(b.function, a.function); /* deep copy */
    xenvf_vf_config_dispose(&a);
    ck_assert_ptr_null(a.function);
    ck_assert_int_eq(a.vlan, -1);
    xenvf_vf_config_dispose(&a); /* twice is harmless */
    ck_assert_str_eq(b.function, "nvme");
    xenvf_vf_config_dispose(&b);
}
END_TEST

/* ---- namespace lists (the /xenvf/pf/<id>/vf/<n>/namespaces value) ------ */

START_TEST(ns_list_round_trip)
{
    static const char *const good[] = {
        "1:512", "1:67108864 3:1048576",
        "4294967294:18446744073709551104", /* the largest of both */
    };
    char buf[XENVF_NS_LIST_STR_MAX], big[XENVF_NS_LIST_STR_MAX];
    xenvf_ns_list l, back;
    xenvf_err err;
    size_t n = 0;

    xenvf_ns_list_init(&l);
    xenvf_ns_list_init(&back);
    xenvf_err_init(&err);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(!xenvf_ns_list_parse(good[i], &l, &err), "%s: %s",
                      good[i], err.msg);
        ck_assert_int_eq(xenvf_ns_list_format(&l, buf, &err), 0);
        ck_assert_str_eq(buf, good[i]);
        ck_assert_int_eq(xenvf_ns_list_parse(buf, &back, &err), 0);
        ck_assert(xenvf_ns_list_equal(&l, &back));
    }
    ck_assert_uint_eq(l.nr, 1);
    ck_assert_uint_eq(l.ns[0].nsid, 4294967294u);
    ck_assert_uint_eq(l.ns[0].size, 18446744073709551104u);
    ck_assert_int_eq(xenvf_ns_list_parse("1:67108864 3:1048576", &l, &err), 0);
    ck_assert_uint_eq(l.nr, 2);
    ck_assert_uint_eq(l.ns[1].nsid, 3);
    ck_assert_uint_eq(l.ns[1].size, 1048576);

    /* the longest list fits the buffer exactly */
    xenvf_ns_list_dispose(&l);
    for (uint32_t k = 0; k < XENVF_NS_MAX; k++) {
        ck_assert_int_eq(xenvf_ns_list_add(&l, 4294967294u - XENVF_NS_MAX + k,
                                           18446744073709551104u, &err),
                         0);
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%u:%s", k ? " " : "",
                              4294967294u - XENVF_NS_MAX + k,
                              "18446744073709551104");
    }
    ck_assert_uint_eq(n, XENVF_NS_LIST_STR_MAX - 1);
    ck_assert_int_eq(xenvf_ns_list_format(&l, buf, &err), 0);
    ck_assert_str_eq(buf, big);
    ck_assert_int_eq(xenvf_ns_list_parse(big, &back, &err), 0);
    ck_assert(xenvf_ns_list_equal(&l, &back));

    /* copy is deep, equal compares values, dispose twice is harmless */
    ck_assert_int_eq(xenvf_ns_list_copy(&back, &l, &err), 0);
    ck_assert_ptr_ne(back.ns, l.ns);
    ck_assert(xenvf_ns_list_equal(&l, &back));
    back.ns[5].size += 512;
    ck_assert(!xenvf_ns_list_equal(&l, &back));
    xenvf_ns_list_dispose(&l);
    xenvf_ns_list_dispose(&l);
    ck_assert_uint_eq(l.nr, 0);
    ck_assert_ptr_null(l.ns);
    xenvf_ns_list_dispose(&back);
}
END_TEST

START_TEST(ns_list_rejects)
{
    static const struct {
        const char *s;
        int rc;
        const char *want;
    } bad[] = {
        {"", XENVF_EINVAL, "namespace list: empty"},
        {"1", XENVF_EINVAL, "entry 1 '1': expected NSID:BYTES"},
        {"x:512", XENVF_EINVAL, "entry 1: nsid: 'x' is not a number"},
        {"1:5l2", XENVF_EINVAL, "entry 1: size: '5l2' is not a number"},
        {"1:", XENVF_EINVAL, "entry 1: size: empty number"},
        {"-1:512", XENVF_EINVAL, "entry 1: nsid: '-1' is not a number"},
        {"4294967296:512", XENVF_ERANGE, "entry 1: nsid: '4294967296' is out"},
        {"1:18446744073709551616", XENVF_ERANGE, "entry 1: size: "},
        {"0:512", XENVF_ERANGE, "entry 1: nsid 0 is reserved by NVMe"},
        {"1:512 4294967295:512", XENVF_ERANGE,
         "entry 2: nsid 4294967295 is reserved by NVMe (use 1-4294967294)"},
        {"1:0", XENVF_EINVAL,
         "entry 1: namespace 1: size 0 is not a positive multiple of 512"},
        {"1:512 2:1000", XENVF_EINVAL,
         "entry 2: namespace 2: size 1000 is not a positive multiple"},
        {"3:512 3:1024", XENVF_ECONFLICT, "entry 2: nsid 3 is listed twice"},
        {"3:512 2:512", XENVF_EINVAL,
         "entry 2: nsid 2 after 3: not in ascending order"},
        {"1:512  2:512", XENVF_EINVAL, "entry 2: stray space at offset 6"},
        {"1:512 ", XENVF_EINVAL, "trailing space at offset 5"},
        {" 1:512", XENVF_EINVAL, "entry 1 '': expected NSID:BYTES"},
        {"1:512\t2:512", XENVF_EINVAL, "entry 1: size: '512\t2:512' is not"},
        {"1:512,2:512", XENVF_EINVAL, "size: '512,2:512' is not a number"},
        {"11111111111111111111111111111111111111:512", XENVF_EINVAL,
         "entry 1 '11111111111111111111111111111111': expected"},
    };
    char many[XENVF_NS_LIST_STR_MAX + 64], buf[XENVF_NS_LIST_STR_MAX];
    xenvf_ns_list l, keep;
    xenvf_err err;
    size_t n = 0;

    xenvf_ns_list_init(&l);
    xenvf_ns_list_init(&keep);
    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_ns_list_parse("9:512", &keep, &err), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;

        xenvf_err_init(&err);
        rc = xenvf_ns_list_parse(bad[i].s, &keep, &err);
        ck_assert_msg(rc == bad[i].rc, "'%s' gave %s: %s", bad[i].s,
                      xenvf_rc_name(rc), err.msg);
        ck_assert_msg(strstr(err.msg, bad[i].want), "'%s' gave '%s'", bad[i].s,
                      err.msg);
        ck_assert_msg(!strncmp(err.msg, "namespace list: ", 16), "%s", err.msg);
        /* a refused value leaves the list as it was */
        ck_assert_uint_eq(keep.nr, 1);
        ck_assert_uint_eq(keep.ns[0].nsid, 9);
    }
    ck_assert_int_eq(xenvf_ns_list_parse(NULL, &keep, &err), XENVF_EINVAL);

    /* 65 entries: too many, before the 65th is even stored */
    for (unsigned k = 1; k <= XENVF_NS_MAX + 1; k++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s%u:512",
                              k > 1 ? " " : "", k);
    ck_assert_int_eq(xenvf_ns_list_parse(many, &keep, &err), XENVF_ERANGE);
    ck_assert_msg(strstr(err.msg, "entry 65: more than 64 namespaces"), "%s",
                  err.msg);

    /* the writer applies the same rules: what it formats, readers accept */
    for (unsigned k = 1; k <= XENVF_NS_MAX + 1; k++)
        ck_assert_int_eq(xenvf_ns_list_add(&l, k, 512, &err), 0);
    ck_assert_int_eq(xenvf_ns_list_format(&l, buf, &err), XENVF_ERANGE);
    ck_assert_str_eq(buf, "");
    ck_assert_msg(strstr(err.msg, "namespace list: entry 65: more than 64"),
                  "%s", err.msg);
    xenvf_ns_list_dispose(&l);
    ck_assert_int_eq(xenvf_ns_list_add(&l, 2, 512, &err), 0);
    ck_assert_int_eq(xenvf_ns_list_add(&l, 1, 512, &err), 0);
    ck_assert_int_eq(xenvf_ns_list_format(&l, buf, &err), XENVF_EINVAL);
    ck_assert_msg(strstr(err.msg, "not in ascending order"), "%s", err.msg);
    l.ns[1].nsid = 2;
    ck_assert_int_eq(xenvf_ns_list_check(&l, &err), XENVF_ECONFLICT);
    l.ns[1] = (xenvf_ns){.nsid = 0xffffffffu, .size = 512};
    ck_assert_int_eq(xenvf_ns_list_check(&l, &err), XENVF_ERANGE);
    l.ns[1] = (xenvf_ns){.nsid = 3, .size = 513};
    ck_assert_int_eq(xenvf_ns_list_check(&l, &err), XENVF_EINVAL);
    l.ns[1].size = 1024;
    ck_assert_int_eq(xenvf_ns_list_check(&l, &err), 0);
    xenvf_ns_list_dispose(&l);
    xenvf_ns_list_dispose(&keep);
}
END_TEST

START_TEST(vf_config_copies_namespaces)
{
    xenvf_vf_config a, b;

    xenvf_vf_config_init(&a);
    xenvf_vf_config_init(&b);
    ck_assert_uint_eq(a.ns.nr, 0);
    ck_assert_int_eq(xenvf_ns_list_parse("1:512 2:1024", &a.ns, NULL), 0);
    ck_assert_int_eq(xenvf_ns_list_parse("7:512", &b.ns, NULL), 0);
    ck_assert_int_eq(xenvf_vf_config_copy(&b, &a, NULL), 0);
    ck_assert_ptr_ne(b.ns.ns, a.ns.ns); /* deep */
    ck_assert(xenvf_ns_list_equal(&a.ns, &b.ns));
    xenvf_vf_config_dispose(&a);
    ck_assert_uint_eq(a.ns.nr, 0);
    ck_assert_ptr_null(a.ns.ns);
    ck_assert_uint_eq(b.ns.ns[1].size, 1024);
    xenvf_vf_config_dispose(&b);
}
END_TEST

START_TEST(pf_init_resize_dispose)
{
    xenvf_pf pf;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_pf_init(&pf);
    ck_assert_ptr_null(pf.id);
    ck_assert_ptr_null(pf.vfs);
    ck_assert_uint_eq(pf.nr_vfs, 0);
    ck_assert_int_eq(pf.state, XENVF_PF_UNKNOWN);

    ck_assert_int_eq(xenvf_pf_set_id(&pf, "nvme0", &err), 0);
    ck_assert_str_eq(pf.id, "nvme0");
    ck_assert_int_eq(xenvf_pf_set_id(&pf, "bad id", &err), XENVF_EINVAL);
    ck_assert_str_eq(pf.id, "nvme0"); /* unchanged */
    ck_assert_int_eq(xenvf_pf_set_id(&pf, NULL, &err), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_pf_set_id(&pf, "net1", &err), 0);
    ck_assert_str_eq(pf.id, "net1");

    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 4, &err), 0);
    ck_assert_uint_eq(pf.nr_vfs, 4);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_uint_eq(pf.vfs[i].index, i);
        ck_assert_int_eq(pf.vfs[i].state, XENVF_VF_ABSENT);
        ck_assert_uint_eq(pf.vfs[i].domid, XENVF_DOMID_NONE);
        ck_assert(!pf.vfs[i].bdf_known);
        ck_assert_int_eq(pf.vfs[i].config.vlan, -1);
    }
    /* owned strings in VFs that a shrink drops: freed (ASan/valgrind) */
    pf.vfs[3].config.function = strdup("gone");
    pf.vfs[1].config.function = strdup("kept");
    pf.vfs[1].state = XENVF_VF_ACTIVE;
    pf.vfs[2].state = XENVF_VF_RESERVED;
    pf.vfs[0].state = XENVF_VF_FREE;
    ck_assert_uint_eq(xenvf_pf_active_vfs(&pf), 2);
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 2, &err), 0);
    ck_assert_uint_eq(pf.nr_vfs, 2);
    ck_assert_str_eq(pf.vfs[1].config.function, "kept");
    ck_assert_uint_eq(xenvf_pf_active_vfs(&pf), 1);
    /* growing keeps what is there */
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 64, &err), 0);
    ck_assert_str_eq(pf.vfs[1].config.function, "kept");
    ck_assert_int_eq(pf.vfs[1].state, XENVF_VF_ACTIVE);
    ck_assert_uint_eq(pf.vfs[63].index, 63);
    ck_assert_int_eq(pf.vfs[2].state, XENVF_VF_ABSENT);
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 0, &err), 0);
    ck_assert_ptr_null(pf.vfs);
    ck_assert_uint_eq(xenvf_pf_active_vfs(&pf), 0);
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 3, &err), 0);
    pf.vfs[0].config.function = strdup("x");
    xenvf_pf_dispose(&pf);
    ck_assert_ptr_null(pf.id);
    ck_assert_ptr_null(pf.vfs);
    ck_assert_uint_eq(pf.nr_vfs, 0);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(vf_init_dispose)
{
    xenvf_vf vf;

    xenvf_vf_init(&vf);
    ck_assert_int_eq(vf.state, XENVF_VF_ABSENT);
    ck_assert_uint_eq(vf.domid, XENVF_DOMID_NONE);
    vf.config.function = strdup("f");
    vf.index = 3;
    xenvf_vf_dispose(&vf);
    ck_assert_ptr_null(vf.config.function);
    ck_assert_uint_eq(vf.index, 0);
    xenvf_vf_dispose(&vf);
}
END_TEST

START_TEST(err_helpers)
{
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_err_set(&err, XENVF_EINVAL, "bad %d", 7),
                     XENVF_EINVAL);
    ck_assert_str_eq(err.msg, "bad 7");
    xenvf_err_prepend(&err, "pf %s: ", "nvme0");
    ck_assert_str_eq(err.msg, "pf nvme0: bad 7");
    ck_assert_int_eq(xenvf_err_set_errno(&err, XENVF_EIO, 2, "open x"),
                     XENVF_EIO);
    ck_assert_int_eq(err.sys_errno, 2);
    ck_assert_str_eq(err.msg, "open x: No such file or directory");
    ck_assert_str_eq(xenvf_rc_name(XENVF_ENOTSUP), "ENOTSUP");
    ck_assert_str_eq(xenvf_rc_name(12345), "EUNKNOWN");
    xenvf_err_dispose(&err);
    ck_assert_int_eq(err.rc, 0);
    ck_assert_str_eq(err.msg, "");
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc;

    tc = tcase_create("states");
    tcase_add_test(tc, state_names_round_trip);
    tcase_add_test(tc, state_parse_is_exact);
    tcase_add_test(tc, pf_state_machine);
    tcase_add_test(tc, vf_state_machine);
    tcase_add_test(tc, vf_lifecycle);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, parse_uint_edges);
    tcase_add_test(tc, parse_uint_syntax);
    tcase_add_test(tc, mac_parse_edges);
    tcase_add_test(tc, id_validation);
    tcase_add_test(tc, err_helpers);
    tcase_add_test(tc, ns_list_round_trip);
    tcase_add_test(tc, ns_list_rejects);
    suite_add_tcase(s, tc);

    tc = tcase_create("structs");
    tcase_add_test(tc, vf_config_init_copy_dispose);
    tcase_add_test(tc, vf_config_copies_namespaces);
    tcase_add_test(tc, pf_init_resize_dispose);
    tcase_add_test(tc, vf_init_dispose);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(model_suite)
