/*
 * The PF agent's NVMe backend against a scripted controller: the Secondary
 * Controller List is parsed, and a VF gets offline / assign VI / assign VQ
 * / online (nvme virt-mgmt's sequence) only when it lacks resources, never
 * while a domain holds it. The real ioctl runs in the QEMU tier only.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/agent.h"

static uint8_t list[4096];
static uint32_t cmds[16][2]; /* cdw10, cdw11 of each virt-mgmt */
static int nr_cmds, nr_ident;

static void entry(int i, uint16_t scid, int online, uint16_t vfn, uint16_t nvq,
                  uint16_t nvi)
{
    uint8_t *e = list + 32 + 32 * i;

    e[0] = scid & 0xff;
    e[1] = scid >> 8;
    e[4] = (uint8_t)online;
    e[8] = (uint8_t)vfn;
    e[10] = (uint8_t)nvq;
    e[12] = (uint8_t)nvi;
}

static int fake_admin(void *ctx, int fd, struct nvme_admin_cmd *cmd)
{
    if (cmd->opcode == 0x06) {
        ck_assert_uint_eq(cmd->cdw10 & 0xff, 0x15);
        ck_assert_uint_eq(cmd->data_len, 4096);
        memcpy((void *)(uintptr_t)cmd->addr, list, sizeof(list));
        nr_ident++;
        return 0;
    }
    ck_assert_uint_eq(cmd->opcode, 0x1c);
    cmds[nr_cmds][0] = cmd->cdw10;
    cmds[nr_cmds][1] = cmd->cdw11;
    nr_cmds++;
    return 0;
}

static void setup(void)
{
    memset(list, 0, sizeof(list));
    list[0] = 2;
    entry(0, 0x41, 0, 1, 0, 0); /* VF 1: offline, nothing */
    entry(1, 0x42, 1, 2, 2, 1); /* VF 2: online, enough */
    nr_cmds = nr_ident = 0;
    agent_nvme_set_transport(fake_admin, NULL);
}

START_TEST(parses_secondary_list)
{
    agent_nvme_sec s[4];

    ck_assert_uint_eq(agent_nvme_parse_seclist(list, s, 4), 2);
    ck_assert_uint_eq(s[0].scid, 0x41);
    ck_assert(!s[0].online);
    ck_assert_uint_eq(s[1].vfn, 2);
    ck_assert(s[1].online);
    ck_assert_uint_eq(s[1].nvq, 2);
    ck_assert_uint_eq(s[1].nvi, 1);
}
END_TEST

START_TEST(offline_assign_online)
{
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 1, 2, 1, false, NULL), 0);
    ck_assert_int_eq(nr_cmds, 4);
    ck_assert_uint_eq(cmds[0][0], 7u | 0x41u << 16);           /* offline */
    ck_assert_uint_eq(cmds[1][0], 8u | 1u << 8 | 0x41u << 16); /* VI */
    ck_assert_uint_eq(cmds[1][1], 1);
    ck_assert_uint_eq(cmds[2][0], 8u | 0u << 8 | 0x41u << 16); /* VQ */
    ck_assert_uint_eq(cmds[2][1], 2);
    ck_assert_uint_eq(cmds[3][0], 9u | 0x41u << 16); /* online */
}
END_TEST

START_TEST(ready_controller_left_alone)
{
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 2, 2, 1, false, NULL), 0);
    ck_assert_int_eq(nr_ident, 1);
    ck_assert_int_eq(nr_cmds, 0);
}
END_TEST

START_TEST(held_vf_never_offlined)
{
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 2, 4, 1, true, &err), XENVF_EBUSY);
    ck_assert_int_eq(nr_cmds, 0);
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 3, 2, 1, false, &err),
                     XENVF_ENOENT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent_nvme");
    TCase *tc = tcase_create("nvme");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, parses_secondary_list);
    tcase_add_test(tc, offline_assign_online);
    tcase_add_test(tc, ready_controller_left_alone);
    tcase_add_test(tc, held_vf_never_offlined);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
