/*
 * The PF agent's NVMe backend against a scripted controller: the Secondary
 * Controller List is parsed, and a VF gets offline / assign VI / assign VQ
 * / online (nvme virt-mgmt's sequence) only when it lacks resources; a
 * VF a domain holds is never taken offline, but an offline one is set up.
 * Namespaces: identify, create when missing (and allowed), refuse when too
 * small, attach; "already attached" is success; the ones the map took away
 * are detached first, never from a held VF. The real ioctl runs in the
 * QEMU tier only.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenvf/nvme.h>

#include "../../daemon/agent.h"
#include "../harness/check-main.h"

static uint8_t list[4096];
static uint32_t cmds[16][2]; /* cdw10, cdw11 of each virt-mgmt */
static int nr_cmds, nr_ident;

/* The scripted subsystem's namespaces (512-byte blocks) and what it was
 * asked, in order: every command but the secondary list and virt-mgmt. */
typedef struct fake_ns {
    uint32_t nsid;
    uint64_t blocks;
    bool attached; /* to the VF's controller */
} fake_ns;
static fake_ns nss[8];
static int nr_nss;
static bool ns_mgmt;       /* OACS bit 3 */
static uint32_t next_nsid; /* what a create allocates */
static int attach_status;  /* forced status of Namespace Attachment */
typedef struct op {
    uint8_t opcode;
    uint32_t nsid, cdw10;
    uint64_t nsze, ncap; /* create */
    uint8_t flbas;
    uint16_t nr_ids, id; /* attach */
} op;
static op ops[32];
static int nr_ops;

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static fake_ns *find_ns(uint32_t nsid)
{
    for (int i = 0; i < nr_nss; i++)
        if (nss[i].nsid == nsid)
            return &nss[i];
    return NULL;
}

/* Identify Namespace for an allocated NSID, or zeroes. */
static void identify_ns(uint8_t *buf, uint32_t nsid)
{
    fake_ns *ns = find_ns(nsid);

    if (!ns)
        return;
    for (int i = 0; i < 8; i++) {
        buf[i] = (uint8_t)(ns->blocks >> 8 * i);     /* NSZE */
        buf[8 + i] = (uint8_t)(ns->blocks >> 8 * i); /* NCAP */
    }
    buf[26] = 1;       /* FLBAS: format 1 */
    buf[128 + 2] = 12; /* format 0: 4 KiB */
    buf[132 + 2] = 9;  /* format 1: 512 bytes */
}

static int fake_ns_cmd(struct nvme_admin_cmd *cmd)
{
    uint8_t *buf = (uint8_t *)(uintptr_t)cmd->addr;
    op *o = &ops[nr_ops++];
    fake_ns *ns;

    ck_assert_int_lt(nr_ops, 32);
    *o = (op){.opcode = cmd->opcode, .nsid = cmd->nsid, .cdw10 = cmd->cdw10};
    if (cmd->opcode == 0x06) {
        ck_assert_uint_eq(cmd->data_len, 4096);
        memset(buf, 0, 4096);
        if ((cmd->cdw10 & 0xff) == 0x11)
            identify_ns(buf, cmd->nsid);
        else if ((cmd->cdw10 & 0xff) == 0x01)
            buf[256] = ns_mgmt ? 1u << 3 : 0; /* OACS */
        else if ((cmd->cdw10 & 0xff) == 0x00 && cmd->nsid == 0xffffffffu)
            buf[128 + 2] = 9; /* common formats: format 0 is 512 bytes */
        else
            ck_abort_msg("unexpected identify cns 0x%x", cmd->cdw10 & 0xff);
        return 0;
    }
    if (cmd->opcode == 0x0d) {
        if ((cmd->cdw10 & 0xf) == 1) { /* delete */
            ck_assert_ptr_nonnull(ns = find_ns(cmd->nsid));
            *ns = nss[--nr_nss];
            return 0;
        }
        ck_assert_uint_eq(cmd->cdw10 & 0xf, 0);
        ck_assert_uint_eq(cmd->data_len, 4096);
        o->nsze = get_le64(buf);
        o->ncap = get_le64(buf + 8);
        o->flbas = buf[26];
        nss[nr_nss++] = (fake_ns){.nsid = next_nsid, .blocks = o->nsze};
        cmd->result = next_nsid; /* dw0 */
        return 0;
    }
    ck_assert_uint_eq(cmd->opcode, 0x15);
    ck_assert_uint_eq(cmd->data_len, 4096);
    o->nr_ids = (uint16_t)(buf[0] | buf[1] << 8);
    o->id = (uint16_t)(buf[2] | buf[3] << 8);
    if (attach_status)
        return attach_status;
    ck_assert_ptr_nonnull(ns = find_ns(cmd->nsid));
    if ((cmd->cdw10 & 0xf) == 1) { /* detach */
        if (!ns->attached)
            return 0x411a; /* Namespace Not Attached, with DNR */
        ns->attached = false;
        return 0;
    }
    ck_assert_uint_eq(cmd->cdw10 & 0xf, 0);
    if (ns->attached)
        return 0x4118; /* as the kernel returns it: with Do Not Retry */
    ns->attached = true;
    return 0;
}

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

static int fake_admin(void *ctx, int fd, unsigned long req,
                      struct nvme_admin_cmd *cmd)
{
    ck_assert_uint_eq(req, NVME_IOCTL_ADMIN_CMD);
    if (cmd->opcode != 0x1c && (cmd->opcode != 0x06 || cmd->cdw10 != 0x15))
        return fake_ns_cmd(cmd);
    if (cmd->opcode == 0x06) {
        ck_assert_uint_eq(cmd->cdw10 & 0xff, 0x15);
        ck_assert_uint_eq(cmd->data_len, 4096);
        memcpy((void *)(uintptr_t)cmd->addr, list, sizeof(list));
        nr_ident++;
        return 0;
    }
    ck_assert_uint_eq(cmd->opcode, 0x1c);
    ck_assert_int_lt(nr_cmds, 16);
    cmds[nr_cmds][0] = cmd->cdw10;
    cmds[nr_cmds][1] = cmd->cdw11;
    nr_cmds++;
    return 0;
}

static void setup(void)
{
    memset(list, 0, sizeof(list));
    list[0] = 3;
    entry(0, 0x41, 0, 1, 0, 0); /* VF 1: offline, nothing */
    entry(1, 0x42, 1, 2, 2, 1); /* VF 2: online, enough */
    entry(2, 0x43, 1, 3, 1, 1); /* VF 3: online, too few queues */
    nr_cmds = nr_ident = 0;
    memset(nss, 0, sizeof(nss));
    nr_nss = nr_ops = attach_status = 0;
    ns_mgmt = false;
    next_nsid = 0;
    xenvf_nvme_set_transport(fake_admin, NULL);
}

START_TEST(parses_secondary_list)
{
    agent_nvme_sec s[4];

    ck_assert_uint_eq(agent_nvme_parse_seclist(list, s, 4), 3);
    ck_assert_uint_eq(s[0].scid, 0x41);
    ck_assert(!s[0].online);
    ck_assert_uint_eq(s[1].vfn, 2);
    ck_assert(s[1].online);
    ck_assert_uint_eq(s[1].nvq, 2);
    ck_assert_uint_eq(s[1].nvi, 1);
}
END_TEST

START_TEST(short_controller_offline_assign_online)
{
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 3, 2, 1, false, NULL), 0);
    ck_assert_int_eq(nr_cmds, 4);
    ck_assert_uint_eq(cmds[0][0], 7u | 0x43u << 16);           /* offline */
    ck_assert_uint_eq(cmds[1][0], 8u | 1u << 8 | 0x43u << 16); /* VI */
    ck_assert_uint_eq(cmds[1][1], 1);
    ck_assert_uint_eq(cmds[2][0], 8u | 0u << 8 | 0x43u << 16); /* VQ */
    ck_assert_uint_eq(cmds[2][1], 2);
    ck_assert_uint_eq(cmds[3][0], 9u | 0x43u << 16); /* online */
}
END_TEST

/* the gate's case: a paused guest holds a VF whose controller is offline */
START_TEST(held_offline_controller_set_up)
{
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 1, 2, 1, true, NULL), 0);
    ck_assert_int_eq(nr_cmds, 3);
    ck_assert_uint_eq(cmds[0][0], 8u | 1u << 8 | 0x41u << 16); /* VI */
    ck_assert_uint_eq(cmds[1][0], 8u | 0u << 8 | 0x41u << 16); /* VQ */
    ck_assert_uint_eq(cmds[2][0], 9u | 0x41u << 16);           /* online */
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
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 3, 2, 1, true, &err), XENVF_EBUSY);
    ck_assert_int_eq(nr_cmds, 0);
    ck_assert_int_eq(agent_nvme_setup_vf(-1, 4, 2, 1, false, &err),
                     XENVF_ENOENT);
}
END_TEST

/* ---- namespaces ---------------------------------------------------------- */

static void ns_list(xenvf_ns_list *l, uint32_t nsid, uint64_t size)
{
    ck_assert_int_eq(xenvf_ns_list_add(l, nsid, size, NULL), 0);
}

static void assert_identify_ns(int i, uint32_t nsid)
{
    ck_assert_uint_eq(ops[i].opcode, 0x06);
    ck_assert_uint_eq(ops[i].cdw10, 0x11);
    ck_assert_uint_eq(ops[i].nsid, nsid);
}

static void assert_attach(int i, uint32_t nsid, uint16_t scid)
{
    ck_assert_uint_eq(ops[i].opcode, 0x15);
    ck_assert_uint_eq(ops[i].cdw10 & 0xf, 0); /* attach */
    ck_assert_uint_eq(ops[i].nsid, nsid);
    ck_assert_uint_eq(ops[i].nr_ids, 1);
    ck_assert_uint_eq(ops[i].id, scid);
}

/* existing namespaces of the right size, or larger, are only attached */
START_TEST(ns_exists_attached)
{
    xenvf_ns_list l;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_err_init(&err);
    nss[nr_nss++] = (fake_ns){.nsid = 1, .blocks = 131072}; /* 64 MiB */
    nss[nr_nss++] = (fake_ns){.nsid = 7, .blocks = 4096};   /* 2 MiB */
    ns_list(&l, 1, 64 << 20);
    ns_list(&l, 7, 1 << 20); /* at least: more is fine */
    ck_assert_msg(!agent_nvme_setup_ns(-1, 0x141, &l, &err), "%s", err.msg);
    ck_assert_int_eq(nr_ops, 4);
    assert_identify_ns(0, 1);
    assert_attach(1, 1, 0x141);
    assert_identify_ns(2, 7);
    assert_attach(3, 7, 0x141);
    ck_assert(nss[0].attached && nss[1].attached);
    xenvf_ns_list_dispose(&l);
}
END_TEST

/* a restart: NVMe's "Namespace Already Attached" (0x118, with DNR) is
 * success, and nothing else is sent */
START_TEST(ns_already_attached_is_success)
{
    xenvf_ns_list l;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_err_init(&err);
    nss[nr_nss++] = (fake_ns){.nsid = 1, .blocks = 131072, .attached = true};
    ns_list(&l, 1, 64 << 20);
    ck_assert_msg(!agent_nvme_setup_ns(-1, 0x41, &l, &err), "%s", err.msg);
    ck_assert_int_eq(nr_ops, 2);
    assert_identify_ns(0, 1);
    assert_attach(1, 1, 0x41);
    /* any other attach failure is one */
    attach_status = 0x411c;
    ck_assert_int_eq(agent_nvme_setup_ns(-1, 0x41, &l, &err), XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "namespace 1 to controller 65") &&
                      strstr(err.msg, "0x11c (Controller List Invalid)"),
                  "%s", err.msg);
    xenvf_ns_list_dispose(&l);
}
END_TEST

/* missing, Namespace Management: created with FLBAS 0 (512-byte blocks
 * here), NSZE = NCAP = size / block, then attached */
START_TEST(ns_missing_created_then_attached)
{
    xenvf_ns_list l;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_err_init(&err);
    ns_mgmt = true;
    next_nsid = 3;
    ns_list(&l, 3, 1 << 20);
    ck_assert_msg(!agent_nvme_setup_ns(-1, 0x42, &l, &err), "%s", err.msg);
    ck_assert_int_eq(nr_ops, 5);
    assert_identify_ns(0, 3);
    ck_assert_uint_eq(ops[1].opcode, 0x06); /* controller: OACS */
    ck_assert_uint_eq(ops[1].cdw10, 0x01);
    ck_assert_uint_eq(ops[2].opcode, 0x06); /* common formats */
    ck_assert_uint_eq(ops[2].cdw10, 0x00);
    ck_assert_uint_eq(ops[2].nsid, 0xffffffffu);
    ck_assert_uint_eq(ops[3].opcode, 0x0d);
    ck_assert_uint_eq(ops[3].cdw10 & 0xf, 0); /* create */
    ck_assert_uint_eq(ops[3].nsid, 0);
    ck_assert_uint_eq(ops[3].nsze, 2048);
    ck_assert_uint_eq(ops[3].ncap, 2048);
    ck_assert_uint_eq(ops[3].flbas, 0);
    assert_attach(4, 3, 0x42);
    ck_assert(find_ns(3) && find_ns(3)->attached);
    xenvf_ns_list_dispose(&l);
}
END_TEST

/* the controller picks NSIDs: one other than the map's is deleted again,
 * and nothing is attached */
START_TEST(ns_created_with_other_nsid_fails)
{
    xenvf_ns_list l;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_err_init(&err);
    ns_mgmt = true;
    next_nsid = 2;
    ns_list(&l, 3, 1 << 20);
    ck_assert_int_eq(agent_nvme_setup_ns(-1, 0x42, &l, &err), XENVF_ECONFLICT);
    ck_assert_msg(strstr(err.msg, "namespace 3: the controller created it as "
                                  "nsid 2") &&
                      strstr(err.msg, "nsid 2 deleted again"),
                  "%s", err.msg);
    ck_assert_int_eq(nr_ops, 5);
    ck_assert_uint_eq(ops[3].opcode, 0x0d);
    ck_assert_uint_eq(ops[4].opcode, 0x0d);
    ck_assert_uint_eq(ops[4].cdw10 & 0xf, 1); /* delete */
    ck_assert_uint_eq(ops[4].nsid, 2);
    ck_assert_int_eq(nr_nss, 0);
    xenvf_ns_list_dispose(&l);
}
END_TEST

/* missing, no Namespace Management: a clear error, no create, no attach */
START_TEST(ns_missing_without_mgmt_fails)
{
    xenvf_ns_list l;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_err_init(&err);
    ns_list(&l, 3, 1 << 20);
    ck_assert_int_eq(agent_nvme_setup_ns(-1, 0x42, &l, &err), XENVF_ENOTSUP);
    ck_assert_msg(strstr(err.msg, "namespace 3 does not exist and the "
                                  "controller cannot create namespaces (no "
                                  "Namespace Management, OACS bit 3)"),
                  "%s", err.msg);
    ck_assert_int_eq(nr_ops, 2);
    assert_identify_ns(0, 3);
    ck_assert_uint_eq(ops[1].cdw10, 0x01);
    xenvf_ns_list_dispose(&l);
}
END_TEST

/* smaller than the map asks: refused, naming both sizes; the list stops */
START_TEST(ns_too_small_fails)
{
    xenvf_ns_list l;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_err_init(&err);
    nss[nr_nss++] = (fake_ns){.nsid = 1, .blocks = 65536}; /* 32 MiB */
    nss[nr_nss++] = (fake_ns){.nsid = 2, .blocks = 65536};
    ns_list(&l, 1, 64 << 20);
    ns_list(&l, 2, 1 << 20);
    ck_assert_int_eq(agent_nvme_setup_ns(-1, 0x41, &l, &err), XENVF_ERANGE);
    ck_assert_msg(strstr(err.msg, "namespace 1 holds 33554432 bytes, less "
                                  "than the 67108864 the map asks for"),
                  "%s", err.msg);
    ck_assert_int_eq(nr_ops, 1);
    ck_assert(!nss[0].attached && !nss[1].attached);
    xenvf_ns_list_dispose(&l);
}
END_TEST

/* ---- the backend: a VF's controller online, then its namespaces ---------- */

static char tmp[256];

/* <tmp>/sys/bus/pci/devices/0000:01:00.0/nvme/nvme0 and <tmp>/dev/nvme0 */
static void fake_controller_node(xenvfd_config *cfg, char *sys, char *dev)
{
    char p[1024];
    FILE *f;

    /* short: paths below it must fit */
    snprintf(tmp, sizeof(tmp), "%.200s/nvme-ns.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(p, sizeof(p),
             "mkdir -p %s/sys/bus/pci/devices/0000:01:00.0/nvme/nvme0 "
             "%s/dev",
             tmp, tmp);
    ck_assert_int_eq(system(p), 0);
    snprintf(p, sizeof(p), "%s/dev/nvme0", tmp);
    ck_assert_ptr_nonnull(f = fopen(p, "w"));
    fclose(f);
    snprintf(sys, PATH_MAX, "%s/sys", tmp);
    snprintf(dev, PATH_MAX, "%s/dev", tmp);
    xenvfd_config_init(cfg);
    cfg->sysfs_root = sys;
    cfg->dev_dir = dev;
    cfg->nvme_vq = 2;
    cfg->nvme_vi = 1;
}

static void remove_tmp(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(backend_sets_up_controller_then_namespaces)
{
    char sys[PATH_MAX], dev[PATH_MAX];
    xenvf_vf_config applied;
    xenvfd_config cfg;
    agent a = {0};
    agent_pf pf = {0};
    xenvf_vf vf;
    xenvf_err err;

    fake_controller_node(&cfg, sys, dev);
    a.cfg = &cfg;
    xenvf_pf_init(&pf.rec);
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.0", &pf.rec.bdf, NULL), 0);
    pf.id = "nvme0";
    pf.nr_vfs = 1;
    xenvf_vf_config_init(&applied);
    pf.applied = &applied;
    xenvf_vf_init(&vf);
    vf.index = 0; /* VF 1: controller 0x41, offline */
    vf.state = XENVF_VF_FREE;
    ns_list(&vf.config.ns, 3, 1 << 20);
    xenvf_err_init(&err);

    /* online first (three virt-mgmt), then the namespace is attached */
    nss[nr_nss++] = (fake_ns){.nsid = 3, .blocks = 2048};
    ck_assert_msg(!agent_backend_nvme.vf_setup(&a, &pf, &vf, &err), "%s",
                  err.msg);
    ck_assert_int_eq(nr_cmds, 3);
    ck_assert_uint_eq(cmds[2][0], 9u | 0x41u << 16); /* online */
    ck_assert_int_eq(nr_ops, 2);
    assert_attach(1, 3, 0x41);

    /* a failure names the PF, the VF and the namespace */
    ns_list(&vf.config.ns, 4, 1 << 20);
    ck_assert_int_eq(agent_backend_nvme.vf_setup(&a, &pf, &vf, &err),
                     XENVF_ENOTSUP);
    ck_assert_msg(strstr(err.msg, "pf nvme0 vf 0: namespace 4 does not exist"),
                  "%s", err.msg);

    /* what was set up: namespace 3; the map then drops it */
    xenvf_ns_list_dispose(&vf.config.ns);
    ns_list(&applied.ns, 3, 1 << 20);
    nr_ops = nr_cmds = 0;
    ck_assert_msg(!agent_backend_nvme.vf_setup(&a, &pf, &vf, &err), "%s",
                  err.msg);
    ck_assert_int_eq(nr_ops, 1);
    ck_assert_uint_eq(ops[0].opcode, 0x15);
    ck_assert_uint_eq(ops[0].cdw10, 1); /* detach */
    ck_assert_uint_eq(ops[0].nsid, 3);
    ck_assert_uint_eq(ops[0].id, 0x41);
    ck_assert(!nss[0].attached);

    /* again (a restart, or a retry): "not attached" is success */
    nr_ops = nr_cmds = 0;
    ck_assert_msg(!agent_backend_nvme.vf_setup(&a, &pf, &vf, &err), "%s",
                  err.msg);
    ck_assert_int_eq(nr_ops, 1);

    /* a VF a domain holds keeps its disk: refused, nothing sent */
    nss[0].attached = true;
    vf.state = XENVF_VF_ACTIVE;
    nr_ops = nr_cmds = 0;
    ck_assert_int_eq(agent_backend_nvme.vf_setup(&a, &pf, &vf, &err),
                     XENVF_EBUSY);
    ck_assert_msg(strstr(err.msg, "pf nvme0 vf 0: namespace 3 left the map "
                                  "while a domain holds the VF"),
                  "%s", err.msg);
    ck_assert_int_eq(nr_ops, 0);
    ck_assert(nss[0].attached);

    /* reserved, not passed through yet: no guest uses the disk */
    vf.state = XENVF_VF_RESERVED;
    nr_ops = nr_cmds = 0;
    ck_assert_msg(!agent_backend_nvme.vf_setup(&a, &pf, &vf, &err), "%s",
                  err.msg);
    ck_assert(!nss[0].attached);

    /* a detach the controller refuses names the namespace and controller */
    vf.state = XENVF_VF_FREE;
    attach_status = 0x410b;
    nr_ops = nr_cmds = 0;
    ck_assert_int_eq(agent_backend_nvme.vf_setup(&a, &pf, &vf, &err),
                     XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "namespace 3 from controller 65: nvme "
                                  "namespace detach: NVMe status 0x10b"),
                  "%s", err.msg);

    xenvf_vf_dispose(&vf);
    xenvf_vf_config_dispose(&applied);
    xenvf_pf_dispose(&pf.rec);
    remove_tmp();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent_nvme");
    TCase *tc = tcase_create("nvme");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, parses_secondary_list);
    tcase_add_test(tc, short_controller_offline_assign_online);
    tcase_add_test(tc, held_offline_controller_set_up);
    tcase_add_test(tc, ready_controller_left_alone);
    tcase_add_test(tc, held_vf_never_offlined);
    tcase_add_test(tc, ns_exists_attached);
    tcase_add_test(tc, ns_already_attached_is_success);
    tcase_add_test(tc, ns_missing_created_then_attached);
    tcase_add_test(tc, ns_created_with_other_nsid_fails);
    tcase_add_test(tc, ns_missing_without_mgmt_fails);
    tcase_add_test(tc, ns_too_small_fails);
    tcase_add_test(tc, backend_sets_up_controller_then_namespaces);
    suite_add_tcase(s, tc);
    return xenvf_check_run(s);
}
