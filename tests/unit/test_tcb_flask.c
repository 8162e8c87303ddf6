/*
 * The TCB's FLASK labels (daemon/tcb_flask.c) over a fake sysfs tree, with
 * the hypervisor calls played by a stub that records them: labels follow
 * the VFs' states, a driver domain's PF takes its INTx with it, only
 * changes reach the hypervisor, and nothing does when FLASK is off
 * (Debian's hypervisor).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenvf/sysfs.h>

#include "../../daemon/tcb.h"
#include "../harness/fakesysfs.h"
#include "../harness/xs-harness.h"
#include "../harness/check-main.h"

#define MAX_CALLS 64

typedef struct stub {
    int enforce_errno;      /* ENOSYS: Xen without XSM */
    const char *refuse;     /* add_device of a context containing it: EACCES */
    int dequarantine_errno; /* xc_deassign_device(DOMID_IO) fails with it */
    unsigned nr;
    char calls[MAX_CALLS][96];
} stub;

static void record(stub *s, const char *fmt, ...)
{
    va_list ap;

    ck_assert_uint_lt(s->nr, MAX_CALLS);
    va_start(ap, fmt);
    vsnprintf(s->calls[s->nr++], sizeof(s->calls[0]), fmt, ap);
    va_end(ap);
}

static int stub_open(void *o)
{
    (void)o;
    return 0;
}

static void stub_close(void *o)
{
    (void)o;
}

static int stub_getenforce(void *o)
{
    stub *s = o;

    if (s->enforce_errno) {
        errno = s->enforce_errno;
        return -1;
    }
    return 1;
}

static int stub_add_device(void *o, uint32_t sbdf, const char *ctx)
{
    stub *s = o;

    record(o, "add_device %#x %s", sbdf, ctx);
    if (s->refuse && strstr(ctx, s->refuse)) {
        errno = EACCES;
        return -1;
    }
    return 0;
}

static int stub_del_device(void *o, uint32_t sbdf)
{
    (void)o;
    (void)sbdf;
    return 0;
}

static int stub_add_range(void *o, uint64_t first, uint64_t last,
                          const char *ctx)
{
    (void)o;
    (void)first;
    (void)last;
    (void)ctx;
    return 0;
}

static int stub_del_range(void *o, uint64_t first, uint64_t last)
{
    (void)o;
    (void)first;
    (void)last;
    return 0;
}

static int stub_add_pirq(void *o, unsigned irq, const char *ctx)
{
    record(o, "add_pirq %u %s", irq, ctx);
    return 0;
}

static int stub_del_pirq(void *o, unsigned irq)
{
    record(o, "del_pirq %u", irq);
    return 0;
}

static int stub_dequarantine(void *o, uint32_t sbdf)
{
    stub *s = o;

    record(o, "dequarantine %#x", sbdf);
    if (s->dequarantine_errno) {
        errno = s->dequarantine_errno;
        return -1;
    }
    return 0;
}

static const xenvf_flask_ops stub_ops = {
    .open = stub_open,
    .close = stub_close,
    .getenforce = stub_getenforce,
    .add_device = stub_add_device,
    .del_device = stub_del_device,
    .add_iomem = stub_add_range,
    .del_iomem = stub_del_range,
    .add_ioport = stub_add_range,
    .del_ioport = stub_del_range,
    .add_pirq = stub_add_pirq,
    .del_pirq = stub_del_pirq,
    .dequarantine = stub_dequarantine,
};

static fakesysfs *fs;
static xenvfd_config cfg;
static tcb t;
static stub st;
static xenvf_err err;

/* An NVMe-like PF at 01:00.0 with 4 VFs, 2 enabled, as the TCB records it
 * after a probe: VFs 0-1 free, 2-3 absent. */
static void setup(void)
{
    const uint64_t bars[FAKESYSFS_NR_VF_BARS] = {16384};
    xenvf_bdf pf_bdf;
    tcb_pf *pf;

    ck_assert_int_eq(fakesysfs_new(&fs), 0);
    ck_assert_int_eq(fakesysfs_add_pf(fs, "0000:01:00.0", 0x1b36, 0x0010,
                                      0x010802, 4, 1, 1, 0x0010, bars, "nvme"),
                     0);
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.0", &pf_bdf, NULL), 0);
    xenvf_err_init(&err);
    ck_assert_msg(!xenvf_sysfs_set_numvfs(fakesysfs_root(fs), &pf_bdf, 2, &err),
                  "%s", err.msg);

    xenvfd_config_init(&cfg);
    cfg.sysfs_root = fakesysfs_root(fs);
    tcb_init(&t, &cfg);
    xenvf_flask_dispose(&t.flask);
    memset(&st, 0, sizeof(st));
    xenvf_flask_init_ops(&t.flask, &stub_ops, &st);

    t.nr_pfs = 1;
    t.pfs = calloc(1, sizeof(*t.pfs));
    pf = &t.pfs[0];
    pf->id = strdup("nvme0");
    pf->bdf = pf_bdf;
    pf->present = true;
    pf->total_vfs = 4;
    pf->num_vfs = 2;
    pf->nr_vfs = 4;
    pf->vfs = calloc(4, sizeof(*pf->vfs));
    for (unsigned i = 0; i < 4; i++) {
        pf->vfs[i].domid = XENVF_DOMID_NONE;
        pf->vfs[i].state = i < 2 ? XENVF_VF_FREE : XENVF_VF_ABSENT;
        pf->vfs[i].bdf_known = i < 2;
        xenvf_bdf_vf_address(&pf_bdf, 1, 1, i, &pf->vfs[i].bdf, NULL);
    }
}

static void teardown(void)
{
    tcb_dispose(&t);
    fakesysfs_free(fs);
}

/* How many add_device calls since call number `from` name `what`. */
static unsigned count(unsigned from, const char *what)
{
    unsigned n = 0;

    for (unsigned i = from; i < st.nr; i++)
        n += strstr(st.calls[i], what) != NULL;
    return n;
}

START_TEST(labels_follow_vf_states)
{
    tcb_pf *pf = &t.pfs[0];
    unsigned mark;

    tcb_flask_start(&t);
    ck_assert(xenvf_flask_active(&t.flask));
    ck_assert_msg(!tcb_flask_sync(&t, pf, &err), "%s", err.msg);
    ck_assert_uint_eq(count(0, "add_device 0x100 system_u:object_r:xenvf_pf_t"),
                      1);
    ck_assert_uint_eq(count(0, "add_device 0x101 system_u:object_r:xenvf_vf_t"),
                      1);
    ck_assert_uint_eq(count(0, "add_device 0x102 system_u:object_r:xenvf_vf_t"),
                      1);
    ck_assert_uint_eq(count(0, "add_device 0x103"), 0); /* absent */
    ck_assert_uint_eq(count(0, "add_device"), 3);

    /* nothing changed: the hypervisor is not asked again */
    mark = st.nr;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(st.nr, mark);

    /* VF 1 reserved for a guest: only it is relabelled */
    pf->vfs[1].state = XENVF_VF_RESERVED;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(count(mark, "add_device"), 1);
    ck_assert_uint_eq(
        count(mark, "add_device 0x102 system_u:object_r:xenvf_guest_vf_t"), 1);
    /* active keeps the guest label; back in the pool, the pool label */
    mark = st.nr;
    pf->vfs[1].state = XENVF_VF_ACTIVE;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(st.nr, mark);
    pf->vfs[1].state = XENVF_VF_RESETTING;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(
        count(mark, "add_device 0x102 system_u:object_r:xenvf_vf_t"), 1);

    /* a VF that vanishes and comes back is labelled again */
    mark = st.nr;
    pf->vfs[0].state = XENVF_VF_ABSENT;
    pf->vfs[0].bdf_known = false;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    pf->vfs[0].state = XENVF_VF_FREE;
    pf->vfs[0].bdf_known = true;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(
        count(mark, "add_device 0x101 system_u:object_r:xenvf_vf_t"), 1);
}
END_TEST

/* The map gives nvme0 to a driver domain: the PF is xenvf_drv_pf_t and
 * so is its INTx (sysfs irq: the GSI in dom0), which libxl grants the
 * driver domain with the PF; back in dom0, the IRQ's label is dropped. A
 * dom0 PF's INTx is never labelled. */
static void map_owner(const char *owner)
{
    char xml[512];
    int n;

    n = snprintf(xml, sizeof(xml),
                 "<?xml version=\"1.0\"?>\n"
                 "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
                 "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"2\" "
                 "owner=\"%s\"/>\n</vfmap>\n",
                 owner);
    xenvf_map_dispose(&t.map);
    xenvf_map_init(&t.map);
    ck_assert_msg(!xenvf_map_parse_mem("map", xml, (size_t)n, &t.map, &err),
                  "%s", err.msg);
}

static void write_irq(const char *text)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:00.0/irq",
             fakesysfs_root(fs));
    ck_assert_int_eq(chmod(path, 0644), 0); /* read-only, as sysfs's */
    ck_assert_int_eq(truncate(path, 0), 0);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

START_TEST(driver_domain_pf_takes_its_intx)
{
    tcb_pf *pf = &t.pfs[0];
    unsigned mark;

    write_irq("23\n");
    tcb_flask_start(&t);
    /* dom0's PF: its INTx is left alone */
    map_owner("Domain-0");
    ck_assert_msg(!tcb_flask_sync(&t, pf, &err), "%s", err.msg);
    ck_assert_uint_eq(count(0, "add_device 0x100 system_u:object_r:xenvf_pf_t"),
                      1);
    ck_assert_uint_eq(count(0, "pirq"), 0);

    /* handed to a driver domain: relabelled, its IRQ 23 with it */
    mark = st.nr;
    map_owner("dd2");
    ck_assert_msg(!tcb_flask_sync(&t, pf, &err), "%s", err.msg);
    ck_assert_uint_eq(
        count(mark, "add_device 0x100 system_u:object_r:xenvf_drv_pf_t"), 1);
    ck_assert_uint_eq(
        count(mark, "add_pirq 23 system_u:object_r:xenvf_drv_pf_t"), 1);
    ck_assert_uint_eq(pf->flask_irq, 23);
    /* nothing changed: nothing asked */
    mark = st.nr;
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(st.nr, mark);

    /* back to dom0: the IRQ is Xen's irq_t again */
    map_owner("Domain-0");
    ck_assert_int_eq(tcb_flask_sync(&t, pf, &err), 0);
    ck_assert_uint_eq(count(mark, "del_pirq 23"), 1);
    ck_assert_uint_eq(count(mark, "add_pirq"), 0);
    ck_assert_uint_eq(pf->flask_irq, 0);

    /* a PF without INTx (irq 0): no IRQ label */
    mark = st.nr;
    write_irq("0\n");
    map_owner("dd2");
    ck_assert_msg(!tcb_flask_sync(&t, pf, &err), "%s", err.msg);
    ck_assert_uint_eq(count(mark, "pirq"), 0);
}
END_TEST

START_TEST(flask_off_labels_nothing)
{
    st.enforce_errno = ENOSYS;
    tcb_flask_start(&t);
    ck_assert(!xenvf_flask_active(&t.flask));
    t.pfs[0].vfs[1].state = XENVF_VF_RESERVED;
    ck_assert_int_eq(tcb_flask_sync(&t, &t.pfs[0], &err), 0);
    ck_assert_uint_eq(st.nr, 0);
}
END_TEST

/* reserve VF `index` of nvme0 (-1: any) for domain web1, as the plugin
 * asks */
static int reserve(int index, xenvf_response *resp)
{
    xenvf_request req;
    xenvf_vf_request *r;
    int rc;

    xenvf_request_init(&req);
    req.op = XENVF_OP_RESERVE;
    req.domain = strdup("web1");
    ck_assert_ptr_nonnull(r = xenvf_request_add_vf(&req));
    r->pf = strdup("nvme0");
    r->index = index;
    xenvf_err_init(&err);
    rc = tcb_reserve(&t, 7, &req, resp, &err);
    xenvf_request_dispose(&req);
    return rc;
}

/* A reservation whose VF FLASK refuses to relabel for its guest is refused
 * there, by name (the device and the label), and holds nothing: the
 * hypervisor would refuse the assignment later, less clearly. */
START_TEST(refused_relabel_stops_the_reservation)
{
    tcb_pf *pf = &t.pfs[0];
    xs_harness *h = NULL;
    xenvf_response resp;

    ck_assert_int_eq(xsh_start(&h), 0);
    ck_assert_msg(!xenvf_xs_open(&t.xs, &err), "%s", err.msg);
    map_owner("Domain-0");
    tcb_flask_start(&t);
    ck_assert_msg(!tcb_flask_sync(&t, pf, &err), "%s", err.msg);

    st.refuse = "xenvf_guest_vf_t";
    xenvf_response_init(&resp);
    ck_assert_int_ne(reserve(1, &resp), 0);
    ck_assert_msg(strstr(err.msg, "domain web1: no VF reserved") &&
                      strstr(err.msg, "0000:01:00.2") &&
                      strstr(err.msg, "xenvf_guest_vf_t"),
                  "%s", err.msg);
    xenvf_response_dispose(&resp);
    /* nothing held; the VF is in the pool, labelled for it again */
    for (unsigned i = 0; i < 2; i++) {
        ck_assert_int_eq(pf->vfs[i].state, XENVF_VF_FREE);
        ck_assert_ptr_null(pf->vfs[i].domain);
    }
    ck_assert_str_eq(pf->vfs[1].flask_type, XENVF_FLASK_VF_TYPE);
    ck_assert_str_eq(st.calls[st.nr - 1],
                     "add_device 0x102 system_u:object_r:xenvf_vf_t");

    /* the control: the same reservation goes through when FLASK allows */
    st.refuse = NULL;
    xenvf_response_init(&resp);
    ck_assert_msg(reserve(1, &resp) == 0, "%s", err.msg);
    ck_assert_int_eq(pf->vfs[1].state, XENVF_VF_RESERVED);
    ck_assert_str_eq(pf->vfs[1].flask_type, XENVF_FLASK_GUEST_VF_TYPE);
    xenvf_response_dispose(&resp);

    xenvf_xs_dispose(&t.xs);
    ck_assert_int_eq(xsh_stop(h), 0);
}
END_TEST

static char *pf_driver(void)
{
    char *drv = NULL;

    ck_assert_int_eq(
        xenvf_sysfs_read_driver(cfg.sysfs_root, &t.pfs[0].bdf, &drv, NULL), 0);
    return drv;
}

/* Handed to pciback for a driver domain, the PF is given back to dom0's
 * driver only once Xen has it out of its quarantine (what `xl
 * pci-assignable-remove` asks): refused there, nothing else is done (the
 * PF stays on pciback, the handover noted) and the next reconcile tries
 * again. */
START_TEST(give_back_takes_the_pf_out_of_quarantine)
{
    tcb_pf *pf = &t.pfs[0];
    xs_harness *h = NULL;
    char *drv, *noted = NULL;

    ck_assert_int_eq(xsh_start(&h), 0);
    ck_assert_msg(!xenvf_xs_open(&t.xs, &err), "%s", err.msg);
    ck_assert_int_eq(fakesysfs_add_driver(fs, "pciback", false), 0);
    tcb_flask_start(&t);
    map_owner("dd2");
    tcb_apply_owner(&t, pf);
    ck_assert_str_eq(drv = pf_driver(), "pciback");
    free(drv);
    ck_assert_uint_eq(count(0, "dequarantine"), 0);

    /* dom0's again, Xen refuses: still on pciback, still to give back */
    map_owner("Domain-0");
    st.dequarantine_errno = EPERM;
    tcb_apply_owner(&t, pf);
    ck_assert_str_eq(st.calls[st.nr - 1], "dequarantine 0x100");
    ck_assert_str_eq(drv = pf_driver(), "pciback");
    free(drv);
    ck_assert_int_eq(xenvf_xs_read_handover(&t.xs, "nvme0", &noted, &err), 0);
    ck_assert_str_eq(noted, "nvme");
    free(noted);

    /* Xen agrees: dom0's nvme has it, the handover forgotten */
    st.dequarantine_errno = 0;
    tcb_apply_owner(&t, pf);
    ck_assert_uint_eq(count(0, "dequarantine 0x100"), 2);
    ck_assert_str_eq(drv = pf_driver(), "nvme");
    free(drv);
    noted = NULL;
    ck_assert_int_eq(xenvf_xs_read_handover(&t.xs, "nvme0", &noted, &err), 0);
    ck_assert_ptr_null(noted);

    xenvf_xs_dispose(&t.xs);
    ck_assert_int_eq(xsh_stop(h), 0);
}
END_TEST

static Suite *tcb_flask_suite(void)
{
    Suite *s = suite_create("tcb_flask");
    TCase *tc = tcase_create("labels");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, labels_follow_vf_states);
    tcase_add_test(tc, driver_domain_pf_takes_its_intx);
    tcase_add_test(tc, flask_off_labels_nothing);
    tcase_add_test(tc, refused_relabel_stops_the_reservation);
    tcase_add_test(tc, give_back_takes_the_pf_out_of_quarantine);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN_FAKE_KERNEL(tcb_flask_suite)
