/* Unit tests for PCI addresses and SR-IOV routing-ID math (lib/bdf.c). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/bdf.h>
#include "../harness/check-main.h"

static xenvf_bdf mk(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t func)
{
    xenvf_bdf b = {.seg = seg, .bus = bus, .dev = dev, .func = func};

    return b;
}

static void ck_fields(const xenvf_bdf *b, unsigned seg, unsigned bus,
                      unsigned dev, unsigned func)
{
    ck_assert_uint_eq(b->seg, seg);
    ck_assert_uint_eq(b->bus, bus);
    ck_assert_uint_eq(b->dev, dev);
    ck_assert_uint_eq(b->func, func);
}

START_TEST(parse_canonical)
{
    xenvf_err err;
    xenvf_bdf b;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_bdf_parse("0000:03:00.0", &b, &err), 0);
    ck_fields(&b, 0, 3, 0, 0);
    ck_assert_int_eq(xenvf_bdf_parse("ffff:ff:1f.7", &b, &err), 0);
    ck_fields(&b, 0xffff, 0xff, 0x1f, 7);
    ck_assert_int_eq(xenvf_bdf_parse("00Ab:0A:1F.7", &b, &err), 0);
    ck_fields(&b, 0xab, 0x0a, 0x1f, 7);
    /* short form: segment 0 */
    ck_assert_int_eq(xenvf_bdf_parse("81:10.3", &b, &err), 0);
    ck_fields(&b, 0, 0x81, 0x10, 3);
    ck_assert_int_eq(err.rc, 0);
}
END_TEST

START_TEST(parse_rejects_bad_syntax)
{
    static const char *const bad[] = {
        "",
        "0",
        "0000:03:00",
        "0000:03:00.",
        "0000:03:00.0 ",
        " 0000:03:00.0",
        "00000:03:00.0",
        "000:03:00.0",
        "0000:3:00.0",
        "0000:03:0.0",
        "0000:03:00:0",
        "0000.03.00.0",
        "0000:03.00:0",
        "g000:03:00.0",
        "0000:03:00.00",
        "+000:03:00.0",
        "-000:03:00.0",
        "0x00:03:00.0",
        "0000:03:00.0\n",
        "03:00.0.0",
        "3:00.0",
        "03:00:0",
        "0000:03:00\0.0",
    };
    xenvf_err err;
    xenvf_bdf b = mk(1, 2, 3, 4);

    xenvf_err_init(&err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(xenvf_bdf_parse(bad[i], &b, &err) == XENVF_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_int_eq(err.rc, XENVF_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "bad PCI address"));
    }
    /* a failed parse leaves *out alone */
    ck_fields(&b, 1, 2, 3, 4);
    ck_assert_int_eq(xenvf_bdf_parse(NULL, &b, &err), XENVF_EINVAL);
    /* err may be NULL */
    ck_assert_int_eq(xenvf_bdf_parse("x", &b, NULL), XENVF_EINVAL);
    /* the message quotes the input */
    xenvf_bdf_parse("0000:zz:00.0", &b, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "'0000:zz:00.0'"));
}
END_TEST

START_TEST(parse_range_errors)
{
    xenvf_err err;
    xenvf_bdf b;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_bdf_parse("0000:00:20.0", &b, &err), XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "0000:00:20.0"));
    ck_assert_int_eq(xenvf_bdf_parse("0000:00:ff.0", &b, &err), XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_parse("0000:00:00.8", &b, &err), XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_parse("0000:00:00.f", &b, &err), XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_parse("00:20.0", &b, &err), XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_parse("0000:00:1f.7", &b, &err), 0);
}
END_TEST

START_TEST(format_both_spellings)
{
    char s[XENVF_BDF_STR_MAX], x[XENVF_BDF_XS_MAX];
    xenvf_bdf b = mk(0xab, 0x0a, 0x1f, 7), back;

    xenvf_bdf_format(&b, s);
    ck_assert_str_eq(s, "00ab:0a:1f.7");
    xenvf_bdf_format_xs(&b, x);
    ck_assert_str_eq(x, "00ab-0a-1f-7");
    b = mk(0, 3, 0, 0);
    xenvf_bdf_format(&b, s);
    ck_assert_str_eq(s, "0000:03:00.0");
    /* round trip over every routing ID of two segments */
    for (unsigned seg = 0; seg <= 0xffff; seg += 0xffff) {
        for (unsigned rid = 0; rid <= 0xffff; rid++) {
            xenvf_bdf_from_rid((uint16_t)seg, (uint16_t)rid, &b);
            xenvf_bdf_format(&b, s);
            ck_assert_int_eq(xenvf_bdf_parse(s, &back, NULL), 0);
            ck_assert(xenvf_bdf_equal(&b, &back));
            xenvf_bdf_format_xs(&b, x);
            s[4] = s[7] = s[10] = '-'; /* the same, in libxl's spelling */
            ck_assert_str_eq(x, s);
            ck_assert_uint_eq(xenvf_bdf_rid(&b), rid);
        }
    }
}
END_TEST

START_TEST(rid_math)
{
    xenvf_bdf b = mk(0, 3, 0, 0);

    ck_assert_uint_eq(xenvf_bdf_rid(&b), 0x300);
    b = mk(0, 0xff, 0x1f, 7);
    ck_assert_uint_eq(xenvf_bdf_rid(&b), 0xffff);
    b = mk(0x1234, 0x01, 0x02, 3);
    ck_assert_uint_eq(xenvf_bdf_rid(&b), 0x0113);
    xenvf_bdf_from_rid(0x1234, 0x0113, &b);
    ck_fields(&b, 0x1234, 1, 2, 3);
    xenvf_bdf_from_rid(0, 0, &b);
    ck_fields(&b, 0, 0, 0, 0);
}
END_TEST

START_TEST(compare_and_equal)
{
    xenvf_bdf a = mk(0, 3, 0, 0), b = mk(0, 3, 0, 1), c = mk(1, 0, 0, 0),
              d = mk(0, 2, 31, 7);

    ck_assert_int_eq(xenvf_bdf_compare(&a, &a), 0);
    ck_assert(xenvf_bdf_equal(&a, &a));
    ck_assert_int_lt(xenvf_bdf_compare(&a, &b), 0);
    ck_assert_int_gt(xenvf_bdf_compare(&b, &a), 0);
    /* segment first */
    ck_assert_int_lt(xenvf_bdf_compare(&a, &c), 0);
    ck_assert_int_gt(xenvf_bdf_compare(&c, &b), 0);
    /* then bus, device, function as one number */
    ck_assert_int_lt(xenvf_bdf_compare(&d, &a), 0);
    ck_assert(!xenvf_bdf_equal(&a, &b));
}
END_TEST

START_TEST(vf_addresses)
{
    xenvf_bdf pf = mk(0, 3, 0, 0), vf;
    xenvf_err err;

    xenvf_err_init(&err);
    /* an X710-like PF: offset 16, stride 1 */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 16, 1, 0, &vf, &err), 0);
    ck_fields(&vf, 0, 3, 2, 0);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 16, 1, 63, &vf, &err), 0);
    ck_fields(&vf, 0, 3, 9, 7);
    /* QEMU NVMe: offset 1, stride 1 */
    pf = mk(0, 1, 0, 0);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 1, 3, &vf, &err), 0);
    ck_fields(&vf, 0, 1, 0, 4);
    /* stride 2, and crossing into the next bus */
    pf = mk(0x10, 0x05, 0x1f, 0);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 4, 2, 3, &vf, &err), 0);
    ck_fields(&vf, 0x10, 0x06, 0x00, 2);
    /* the segment is the PF's */
    ck_assert_uint_eq(vf.seg, 0x10);
    /* stride 0 is fine for VF 0 only */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 0, 0, &vf, &err), 0);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 0, 1, &vf, &err),
                     XENVF_ERANGE);
    /* offset 0 is never valid: VF 0 would be the PF */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0, 1, 0, &vf, &err),
                     XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "0010:05:1f.0"));
}
END_TEST

START_TEST(vf_address_overflow)
{
    xenvf_bdf pf = mk(0, 0xff, 0, 0), vf = mk(9, 9, 9, 1);
    xenvf_err err;

    xenvf_err_init(&err);
    /* the last routing ID of the segment is reachable, the next is not */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0xff, 1, 0, &vf, &err), 0);
    ck_fields(&vf, 0, 0xff, 0x1f, 7);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0xff, 1, 1, &vf, &err),
                     XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0x100, 1, 0, &vf, &err),
                     XENVF_ERANGE);
    pf = mk(0, 0, 0, 0);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0xffff, 0, 0, &vf, &err), 0);
    ck_fields(&vf, 0, 0xff, 0x1f, 7);
    /* no wrap-around in 16 or 32 bits */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0xffff, 0xffff, 1, &vf, &err),
                     XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 0xffff, UINT_MAX, &vf, &err),
                     XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 1, 0xffff, &vf, &err),
                     XENVF_ERANGE);
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 1, 0xfffe, &vf, &err), 0);
    ck_fields(&vf, 0, 0xff, 0x1f, 7);
    /* 0x10000 * 0x10000 wraps 32 bits to 0: must not */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 1, 0xffff, 0x10001, &vf, &err),
                     XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "no valid routing ID"));
    /* err may be NULL */
    ck_assert_int_eq(xenvf_bdf_vf_address(&pf, 0, 0, 0, &vf, NULL),
                     XENVF_ERANGE);
}
END_TEST

static Suite *bdf_suite(void)
{
    Suite *s = suite_create("bdf");
    TCase *tc = tcase_create("bdf");

    tcase_add_test(tc, parse_canonical);
    tcase_add_test(tc, parse_rejects_bad_syntax);
    tcase_add_test(tc, parse_range_errors);
    tcase_add_test(tc, format_both_spellings);
    tcase_add_test(tc, rid_math);
    tcase_add_test(tc, compare_and_equal);
    tcase_add_test(tc, vf_addresses);
    tcase_add_test(tc, vf_address_overflow);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(bdf_suite)
