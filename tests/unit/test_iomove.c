/*
 * What xl save writes into the saved config about the I/O it moved off
 * the guest's VFs, and what xl restore reads back (libxl-plugin/iomove.c,
 * the XLP_IOMOVE_KEY entry): a round trip, and bad text refused naming
 * what is wrong.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../libxl-plugin/iomove.h"
#include "../harness/check-main.h"

static xenvf_err err;

START_TEST(round_trip)
{
    const xlp_moved in[3] = {
        {"nvme0", 0, 2, "xvdb", "eui.0011223344556677", false},
        {"nvme1", 3, 17, "xvdc", "nvme.1b36-7365-00000011", false},
        {.pf = "net0", .index = 12, .unplugged = true}};
    xlp_moved *out = NULL;
    char *text = NULL;
    size_t nr = 0;

    xenvf_err_init(&err);
    ck_assert_int_eq(xlp_moved_format(in, 3, &text, &err), 0);
    ck_assert_str_eq(text, "nvme0#0:2:xvdb:eui.0011223344556677 "
                           "nvme1#3:17:xvdc:nvme.1b36-7365-00000011 net0#12");
    ck_assert_int_eq(xlp_moved_parse(text, &out, &nr, &err), 0);
    ck_assert_uint_eq(nr, 3);
    ck_assert(!out[0].unplugged && !out[1].unplugged);
    ck_assert_int_eq(memcmp(&out[2], &in[2], sizeof(in[2])), 0);
    ck_assert_str_eq(out[1].pf, "nvme1");
    ck_assert_uint_eq(out[1].index, 3);
    ck_assert_uint_eq(out[1].nsid, 17);
    ck_assert_str_eq(out[1].vdev, "xvdc");
    ck_assert_str_eq(out[1].wwid, "nvme.1b36-7365-00000011");
    ck_assert_int_eq(memcmp(&out[0], &in[0], sizeof(in[0])), 0);
    free(out);
    free(text);
}
END_TEST

static void refused(const char *text, const char *says)
{
    xlp_moved *out = (xlp_moved *)&err; /* must be reset */
    size_t nr = 7;

    xenvf_err_init(&err);
    ck_assert_int_eq(xlp_moved_parse(text, &out, &nr, &err), XENVF_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(nr, 0);
    ck_assert_msg(strstr(err.msg, says), "'%s': '%s' lacks '%s'", text, err.msg,
                  says);
    ck_assert_msg(!strncmp(err.msg, XLP_IOMOVE_KEY ": ", 14), "%s", err.msg);
}

START_TEST(bad_text_is_refused_by_name)
{
    refused("", "no VF listed");
    refused("   ", "no VF listed");
    refused("nvme0#0:2:xvdb", "not PF#INDEX:NSID:VDEV:WWID");
    refused("nvme0:2:xvdb:eui.1", "not PF#INDEX:NSID:VDEV:WWID");
    refused("#0:2:xvdb:eui.1", "bad PF id");
    refused("nv/me#0:2:xvdb:eui.1",
            "byte 2 is not a letter, a digit or one of");
    refused("nvme0#0:2:xv\ndb:eui.1",
            "nvme0#0:2:xv\\x0adb:eui.1: byte 12 is not");
    refused("nvme0#x:2:xvdb:eui.1", "bad VF index 'x'");
    refused("nvme0#70000:2:xvdb:eui.1", "bad VF index '70000'");
    refused("nvme0#0:0:xvdb:eui.1", "bad namespace '0'");
    refused("nvme0#0:-1:xvdb:eui.1", "bad namespace '-1'");
    refused("nvme0#0:2::eui.1", "bad PV disk ''");
    refused("nvme0#0:2:Xvdb:eui.1", "bad PV disk 'Xvdb'");
    refused("nvme0#0:2:xvdb:eui.1 nvme1#1:3:xv db:eui.2",
            "not PF#INDEX:NSID:VDEV:WWID");
    refused("nvme0#0:2:xvdb:", "bad wwid ''");
    refused("nvme0#0:2:xvdb:eui.1:9", "bad wwid 'eui.1:9'");
    refused("nvme0#0:2:xvdb:eui#1", "bad wwid 'eui#1'");
    /* a VF unplugged (unplug-and-go): PF#INDEX alone */
    refused("net0", "not PF#INDEX:NSID:VDEV:WWID (moved to the PF path) or "
                    "PF#INDEX (unplugged)");
    refused("net0#", "net0: bad VF index ''");
    refused("net0#1#2", "net0: bad VF index '1#2'");
    refused("#1", "bad PF id");
}
END_TEST

static Suite *iomove_suite(void)
{
    Suite *s = suite_create("iomove");
    TCase *tc = tcase_create("saved config");

    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bad_text_is_refused_by_name);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(iomove_suite)
