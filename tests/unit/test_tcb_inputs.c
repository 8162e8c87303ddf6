/*
 * What xenvfd reads that it did not write this run: kernel uevents and its
 * own state file from a previous run. Damaged input is refused with a
 * message naming what is wrong; good input is read exactly.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/tcb.h"
#include "../harness/check-main.h"

static xenvfd_config cfg;
static tcb t;
static xenvf_err err;

/* The map in force: nvme0 at 0000:01:00.0, 4 VF records. */
static void setup(void)
{
    tcb_pf *pf;

    xenvf_err_init(&err);
    xenvfd_config_init(&cfg);
    tcb_init(&t, &cfg);
    t.nr_pfs = 1;
    t.pfs = calloc(1, sizeof(*t.pfs));
    pf = &t.pfs[0];
    pf->id = strdup("nvme0");
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.0", &pf->bdf, NULL), 0);
    pf->nr_vfs = 4;
    pf->vfs = calloc(4, sizeof(*pf->vfs));
    for (size_t i = 0; i < 4; i++) {
        pf->vfs[i].domid = XENVF_DOMID_NONE;
        xenvf_vf_config_init(&pf->vfs[i].req);
    }
}

static void teardown(void)
{
    tcb_dispose(&t);
}

#define STATE_HEAD                                                             \
    "{\"version\":1,\"pfs\":[{\"id\":\"nvme0\",\"bdf\":\"0000:01:00.0\","      \
    "\"vfs\":["
#define STATE_TAIL "]}]}"

START_TEST(state_file_is_read_exactly)
{
    const char *text = STATE_HEAD
        "{\"index\":1,\"state\":\"active\",\"domain\":\"web1\",\"domid\":7,"
        "\"driver\":\"nvme\",\"vlan\":10,\"trust\":1}" STATE_TAIL;
    const tcb_vf *v = &t.pfs[0].vfs[1];

    ck_assert_msg(!tcb_state_load_text(&t, "state.json", text, &err), "%s",
                  err.msg);
    ck_assert_int_eq(v->state, XENVF_VF_ACTIVE);
    ck_assert_str_eq(v->domain, "web1");
    ck_assert_uint_eq(v->domid, 7);
    ck_assert_str_eq(v->old_driver, "nvme");
    ck_assert_int_eq(v->req.vlan, 10);
    ck_assert_int_eq(v->req.trust, 1);
    ck_assert_int_eq(v->req.spoofchk, -1);
}
END_TEST

START_TEST(damaged_state_file_is_refused)
{
    static const struct {
        const char *vfs, *want;
    } bad[] = {
        {"{\"index\":1,\"vlan\":5000}",
         "pf nvme0 vf 1: vlan: 5000 is out of range 0-4094"},
        {"{\"index\":1,\"domid\":32752}", "pf nvme0 vf 1: a value is out"},
        {"{\"index\":1,\"trust\":2}", "pf nvme0 vf 1: trust 2 is not 0 or 1"},
        {"{\"index\":1,\"rate\":-5}",
         "pf nvme0 vf 1: rate: -5 is out of range 0-4294967295"},
        {"{\"index\":1,\"boot\":0}",
         "pf nvme0 vf 1: boot: 0 is out of range 1-65535"},
        {"{\"index\":1,\"function\":\"a/b\"}",
         "pf nvme0 vf 1: function: character '/' is not allowed"},
        {"{\"index\":65535}", "pf nvme0: bad vf index"},
        {"{\"index\":1,\"state\":\"dancing\"}", "pf nvme0 vf 1: bad state"},
        {"{\"index\":1,\"domain\":\"a\",\"domid\":3},"
         "{\"index\":1,\"domain\":\"b\",\"domid\":4}",
         "pf nvme0 vf 1: listed twice"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];

        teardown();
        setup();
        snprintf(text, sizeof(text), "%s%s%s", STATE_HEAD, bad[i].vfs,
                 STATE_TAIL);
        ck_assert_msg(tcb_state_load_text(&t, "state.json", text, &err) != 0,
                      "accepted: %s", bad[i].vfs);
        ck_assert_msg(strstr(err.msg, bad[i].want), "%s -> %s", bad[i].vfs,
                      err.msg);
    }
    ck_assert_int_ne(
        tcb_state_load_text(&t, "state.json", "{\"version\":", &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "state.json"));
    ck_assert_int_ne(
        tcb_state_load_text(&t, "state.json", "{\"version\":2}", &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown format"));
}
END_TEST

/* A datagram as the kernel sends it: NUL after every field. */
#define UEVENT(...) __VA_ARGS__, sizeof(__VA_ARGS__) - 1

START_TEST(uevents)
{
    const char *action, *slot;

    ck_assert(xenvfd_uevent_parse(
        UEVENT("add@/devices/pci0000:00/0000:01:00.1\0ACTION=add\0"
               "SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:01:00.1\0SEQNUM=9\0"),
        &action, &slot));
    ck_assert_str_eq(action, "add");
    ck_assert_str_eq(slot, "0000:01:00.1");
    ck_assert(
        xenvfd_uevent_parse(UEVENT("unbind@/x\0ACTION=unbind\0SUBSYSTEM=pci\0"
                                   "PCI_SLOT_NAME=0000:01:00.0\0"),
                            &action, &slot));
    ck_assert_str_eq(action, "unbind");
    /* not PCI, an action we do not follow, a field missing */
    ck_assert(!xenvfd_uevent_parse(
        UEVENT("add@/x\0ACTION=add\0SUBSYSTEM=net\0PCI_SLOT_NAME=a\0"), &action,
        &slot));
    ck_assert(!xenvfd_uevent_parse(
        UEVENT("change@/x\0ACTION=change\0SUBSYSTEM=pci\0PCI_SLOT_NAME=a\0"),
        &action, &slot));
    ck_assert(!xenvfd_uevent_parse(
        UEVENT("add@/x\0ACTION=add\0SUBSYSTEM=pci\0"), &action, &slot));
    /* the last field cut short (no NUL) is not read */
    ck_assert(!xenvfd_uevent_parse("ACTION=add\0SUBSYSTEM=pci\0PCI_SLOT_NAME=0",
                                   40, &action, &slot));
}
END_TEST

static Suite *inputs_suite(void)
{
    Suite *s = suite_create("tcb_inputs");
    TCase *tc = tcase_create("inputs");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, state_file_is_read_exactly);
    tcase_add_test(tc, damaged_state_file_is_refused);
    tcase_add_test(tc, uevents);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(inputs_suite)
