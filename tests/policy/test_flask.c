/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libxenvf's FLASK module without a hypervisor: detection through a stand-in
 * for libxenctrl (no Xen, Xen without XSM, permissive, enforcing, refused),
 * "said once", relabelling, the real libxenctrl on a machine without Xen,
 * the MCFG table, label lists, and the labels of a VF map on a fake sysfs
 * tree: every PF and VF, nothing else, with the right types and BARs.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenvf/flask.h>
#include <xenvf/log.h>
#include <xenvf/map.h>

#include "../harness/fakesysfs.h"
#include "../harness/check-main.h"

/* ---- a stand-in hypervisor ------------------------------------------ */

#define MAX_CALLS 64

typedef struct stub {
    int open_errno; /* open fails with it, 0: succeeds */
    int enforce;    /* getenforce result when >= 0 */
    int enforce_errno;
    int add_errno[MAX_CALLS]; /* per add call (in order); 0: succeed */
    int del_errno[MAX_CALLS];
    int dequarantine_errno; /* 0: succeeds */
    unsigned nr_add, nr_del, nr_close;
    char calls[MAX_CALLS][128];
    unsigned nr_calls;
} stub;

static void record(stub *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void record(stub *s, const char *fmt, ...)
{
    va_list ap;

    ck_assert_uint_lt(s->nr_calls, MAX_CALLS);
    va_start(ap, fmt);
    vsnprintf(s->calls[s->nr_calls++], sizeof(s->calls[0]), fmt, ap);
    va_end(ap);
}

static int stub_result(int e)
{
    if (!e)
        return 0;
    errno = e;
    return -1;
}

static int stub_open(void *o)
{
    stub *s = o;

    record(s, "open");
    return stub_result(s->open_errno);
}

static void stub_close(void *o)
{
    ((stub *)o)->nr_close++;
}

static int stub_getenforce(void *o)
{
    stub *s = o;

    record(s, "getenforce");
    if (s->enforce_errno)
        return stub_result(s->enforce_errno);
    return s->enforce;
}

static int stub_add(stub *s)
{
    return stub_result(s->add_errno[s->nr_add++ % MAX_CALLS]);
}

static int stub_del(stub *s)
{
    return stub_result(s->del_errno[s->nr_del++ % MAX_CALLS]);
}

static int stub_add_device(void *o, uint32_t sbdf, const char *ctx)
{
    record(o, "add_device %#x %s", sbdf, ctx);
    return stub_add(o);
}

static int stub_del_device(void *o, uint32_t sbdf)
{
    record(o, "del_device %#x", sbdf);
    return stub_del(o);
}

static int stub_add_iomem(void *o, uint64_t a, uint64_t b, const char *ctx)
{
    record(o, "add_iomem %#" PRIx64 "-%#" PRIx64 " %s", a, b, ctx);
    return stub_add(o);
}

static int stub_del_iomem(void *o, uint64_t a, uint64_t b)
{
    record(o, "del_iomem %#" PRIx64 "-%#" PRIx64, a, b);
    return stub_del(o);
}

static int stub_add_ioport(void *o, uint64_t a, uint64_t b, const char *ctx)
{
    record(o, "add_ioport %#" PRIx64 "-%#" PRIx64 " %s", a, b, ctx);
    return stub_add(o);
}

static int stub_del_ioport(void *o, uint64_t a, uint64_t b)
{
    record(o, "del_ioport %#" PRIx64 "-%#" PRIx64, a, b);
    return stub_del(o);
}

static int stub_add_pirq(void *o, unsigned irq, const char *ctx)
{
    record(o, "add_pirq %u %s", irq, ctx);
    return stub_add(o);
}

static int stub_del_pirq(void *o, unsigned irq)
{
    record(o, "del_pirq %u", irq);
    return stub_del(o);
}

static int stub_dequarantine(void *o, uint32_t sbdf)
{
    stub *s = o;

    record(s, "dequarantine %#x", sbdf);
    return stub_result(s->dequarantine_errno);
}

static const xenvf_flask_ops stub_ops = {
    .open = stub_open,
    .close = stub_close,
    .getenforce = stub_getenforce,
    .add_device = stub_add_device,
    .del_device = stub_del_device,
    .add_iomem = stub_add_iomem,
    .del_iomem = stub_del_iomem,
    .add_ioport = stub_add_ioport,
    .del_ioport = stub_del_ioport,
    .add_pirq = stub_add_pirq,
    .del_pirq = stub_del_pirq,
    .dequarantine = stub_dequarantine,
};

/* ---- log capture ----------------------------------------------------- */

static unsigned nr_info;
static char last_info[512];

static void capture(void *opaque, xenvf_log_level level, const char *func,
                    const char *msg)
{
    if (level == XENVF_LOG_INFO) {
        nr_info++;
        snprintf(last_info, sizeof(last_info), "%s", msg);
    }
}

static void log_setup(void)
{
    nr_info = 0;
    last_info[0] = '\0';
    xenvf_log_set_sink(capture, NULL);
    xenvf_log_set_level(XENVF_LOG_INFO);
}

static const xenvf_bdf vf_bdf = {.seg = 0, .bus = 1, .dev = 0, .func = 2};

/* ---- detection ------------------------------------------------------- */

/* No hypervisor: said once, labelling is a successful no-op. */
START_TEST(test_no_xen)
{
    stub s = {.open_errno = ENOENT};
    xenvf_flask fl;
    xenvf_err err;

    log_setup();
    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(xenvf_flask_probe(&fl, &err), 0);
    ck_assert_int_eq(fl.state, XENVF_FLASK_NO_XEN);
    ck_assert(!xenvf_flask_active(&fl));
    ck_assert_uint_eq(nr_info, 1);
    ck_assert_ptr_nonnull(strstr(last_info, "no Xen"));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(
            xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_vf_t", NULL, 0, &err),
            0);
    ck_assert_uint_eq(nr_info, 1);
    ck_assert_uint_eq(s.nr_calls, 1); /* open, nothing else */
    xenvf_flask_dispose(&fl);
    ck_assert_uint_eq(s.nr_close, 0);
}
END_TEST

/* Xen without XSM answers ENOSYS: said once, no labels, no error. */
START_TEST(test_xsm_off)
{
    stub s = {.enforce_errno = ENOSYS};
    xenvf_flask fl;
    xenvf_err err;

    log_setup();
    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_vf_t", NULL, 0, &err), 0);
    ck_assert_int_eq(fl.state, XENVF_FLASK_OFF);
    ck_assert_str_eq(xenvf_flask_state_name(fl.state), "off");
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_vf_t", NULL, 0, &err), 0);
    ck_assert_uint_eq(nr_info, 1);
    ck_assert_ptr_nonnull(strstr(last_info, "no XSM/FLASK"));
    ck_assert_uint_eq(s.nr_calls, 2); /* open, getenforce */
    xenvf_flask_dispose(&fl);
    ck_assert_uint_eq(s.nr_close, 1);
    xenvf_flask_dispose(&fl); /* twice is harmless */
    ck_assert_uint_eq(s.nr_close, 1);
}
END_TEST

START_TEST(test_enforcing_labels)
{
    stub s = {.enforce = 1};
    xenvf_flask_range r[] = {
        {.io = false, .start = 0xfe000000, .end = 0xfe003fff},
        {.io = false, .start = 0xfe004000, .end = 0xfe00400f}, /* merges */
        {.io = true, .start = 0xe000, .end = 0xe01f},
    };
    xenvf_flask fl;
    xenvf_err err;

    log_setup();
    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_guest_vf_t", r, 3, &err),
        0);
    ck_assert_int_eq(fl.state, XENVF_FLASK_ENFORCING);
    ck_assert(xenvf_flask_active(&fl));
    ck_assert_uint_eq(s.nr_calls, 5);
    ck_assert_str_eq(s.calls[2],
                     "add_device 0x102 system_u:object_r:xenvf_guest_vf_t");
    ck_assert_str_eq(s.calls[3], "add_iomem 0xfe000-0xfe004 "
                                 "system_u:object_r:xenvf_guest_vf_t");
    ck_assert_str_eq(s.calls[4], "add_ioport 0xe000-0xe01f "
                                 "system_u:object_r:xenvf_guest_vf_t");
    xenvf_flask_dispose(&fl);
}
END_TEST

START_TEST(test_permissive)
{
    stub s = {.enforce = 0};
    xenvf_flask fl;
    xenvf_err err;

    log_setup();
    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(xenvf_flask_probe(&fl, &err), 0);
    ck_assert_int_eq(fl.state, XENVF_FLASK_PERMISSIVE);
    ck_assert(xenvf_flask_active(&fl));
    xenvf_flask_dispose(&fl);
}
END_TEST

/* FLASK active but the query refused: an error, not "off". */
START_TEST(test_probe_refused)
{
    stub s = {.enforce_errno = EACCES};
    stub t = {.enforce_errno = EIO};
    xenvf_flask fl;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(xenvf_flask_probe(&fl, &err), XENVF_EPERM);
    ck_assert_int_eq(err.sys_errno, EACCES);
    xenvf_flask_dispose(&fl);
    xenvf_flask_init_ops(&fl, &stub_ops, &t);
    ck_assert_int_eq(xenvf_flask_probe(&fl, &err), XENVF_EIO);
    xenvf_flask_dispose(&fl);
}
END_TEST

/* A device labelled before is relabelled: del, then add again. */
START_TEST(test_relabel)
{
    stub s = {.enforce = 1, .add_errno = {EEXIST, 0, EEXIST}};
    xenvf_flask_range r = {.start = 0xfe000000, .end = 0xfe000fff};
    xenvf_flask fl;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    /* device: EEXIST, del, add; iomem: EEXIST, del fails ENOENT */
    s.del_errno[1] = ENOENT;
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_vf_t", &r, 1, &err),
        XENVF_ECONFLICT);
    ck_assert_str_eq(s.calls[3], "del_device 0x102");
    ck_assert_str_eq(s.calls[4],
                     "add_device 0x102 system_u:object_r:xenvf_vf_t");
    ck_assert_str_eq(s.calls[6], "del_iomem 0xfe000-0xfe000");
    ck_assert_ptr_nonnull(strstr(err.msg, "0000:01:00.2"));
    ck_assert_ptr_nonnull(strstr(err.msg, "overlap"));
    xenvf_flask_dispose(&fl);
}
END_TEST

/* Xen 4.17 keeps one more entry for a device each time the same label is
 * added again (a TCB restart does): a relabel drops them one by one until
 * its own add goes through. */
START_TEST(test_relabel_duplicate_entries)
{
    stub s = {.enforce = 1, .add_errno = {EEXIST, EEXIST, 0}};
    xenvf_flask fl;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_msg(!xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_guest_vf_t",
                                            NULL, 0, &err),
                  "%s", err.msg);
    ck_assert_uint_eq(s.nr_calls, 7);
    ck_assert_str_eq(s.calls[3], "del_device 0x102");
    ck_assert_str_eq(s.calls[5], "del_device 0x102");
    ck_assert_str_eq(s.calls[6],
                     "add_device 0x102 system_u:object_r:xenvf_guest_vf_t");
    xenvf_flask_dispose(&fl);
}
END_TEST

/* A PF's INTx: labelled (an old label replaced), dropped (none there is
 * fine), a refusal named; nothing asked with FLASK off. */
START_TEST(test_label_irq)
{
    stub s = {.enforce = 1, .add_errno = {EEXIST, 0, EACCES}};
    xenvf_flask fl;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_msg(!xenvf_flask_label_irq(&fl, 23, "xenvf_drv_pf_t", &err), "%s",
                  err.msg);
    ck_assert_str_eq(s.calls[2],
                     "add_pirq 23 system_u:object_r:xenvf_drv_pf_t");
    ck_assert_str_eq(s.calls[3], "del_pirq 23");
    ck_assert_str_eq(s.calls[4],
                     "add_pirq 23 system_u:object_r:xenvf_drv_pf_t");
    ck_assert_int_eq(xenvf_flask_label_irq(&fl, 23, "xenvf_drv_pf_t", &err),
                     XENVF_EPERM);
    ck_assert_ptr_nonnull(strstr(err.msg, "IRQ 23"));
    s.del_errno[1] = ENOENT;
    ck_assert_int_eq(xenvf_flask_label_irq(&fl, 23, NULL, &err), 0);
    ck_assert_str_eq(s.calls[s.nr_calls - 1], "del_pirq 23");
    ck_assert_int_eq(xenvf_flask_label_irq(&fl, 23, "bad type", &err),
                     XENVF_EINVAL);
    xenvf_flask_dispose(&fl);

    s = (stub){.enforce_errno = ENOSYS};
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(xenvf_flask_label_irq(&fl, 23, "xenvf_drv_pf_t", &err), 0);
    ck_assert_uint_eq(s.nr_calls, 2); /* open, getenforce */
    xenvf_flask_dispose(&fl);
}
END_TEST

START_TEST(test_label_refused_and_bad_type)
{
    stub s = {.enforce = 1, .add_errno = {EACCES}};
    xenvf_flask fl;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &s);
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_vf_t", NULL, 0, &err),
        XENVF_EPERM);
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "bad:type", NULL, 0, &err),
        XENVF_EINVAL);
    ck_assert_int_eq(xenvf_flask_check_type("0abc", NULL), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_flask_check_type("", NULL), XENVF_EINVAL);
    ck_assert_int_eq(xenvf_flask_check_type("xenvf_vf_t", NULL), 0);
    xenvf_flask_dispose(&fl);
}
END_TEST

/*
 * The real libxenctrl. CI machines and this one have no hypervisor: the
 * probe must say "no Xen" and carry on. Under Xen it must still succeed.
 */
START_TEST(test_libxenctrl)
{
    xenvf_flask fl;
    xenvf_err err;

    log_setup();
    xenvf_err_init(&err);
    xenvf_flask_init(&fl);
    ck_assert_int_eq(xenvf_flask_probe(&fl, &err), 0);
    if (access("/proc/xen", F_OK) && access("/dev/xen/privcmd", F_OK))
        ck_assert_int_eq(fl.state, XENVF_FLASK_NO_XEN);
    else
        ck_assert_int_ne(fl.state, XENVF_FLASK_UNPROBED);
    ck_assert_uint_eq(nr_info, 1);
    ck_assert_int_eq(
        xenvf_flask_label_device(&fl, &vf_bdf, "xenvf_vf_t", NULL, 0, &err), 0);
    ck_assert_uint_eq(nr_info, 1);
    xenvf_flask_dispose(&fl);
    xenvf_flask_dispose(&fl);
}
END_TEST

/* A driver domain's PF out of Xen's quarantine (xl pci-assignable-remove):
 * asked with the PF's SBDF on any Xen (FLASK or not); not in the
 * quarantine (ENODEV) and no Xen are no-ops; a refusal is an error with
 * the PF and the call in it. */
START_TEST(test_dequarantine)
{
    static const xenvf_bdf pf = {.seg = 0, .bus = 2, .dev = 0, .func = 0};
    stub off = {.enforce_errno = ENOSYS}, gone = {.dequarantine_errno = ENODEV};
    stub no_xen = {.open_errno = ENOENT},
         refused = {.dequarantine_errno = EPERM};
    stub broken = {.dequarantine_errno = EINVAL};
    xenvf_flask fl;
    xenvf_err err;
    bool done = true;

    log_setup();
    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &off);
    ck_assert_int_eq(xenvf_xen_dequarantine(&fl, &pf, &done, &err), 0);
    ck_assert(done);
    ck_assert_uint_eq(off.nr_calls, 3);
    ck_assert_str_eq(off.calls[2], "dequarantine 0x200");
    xenvf_flask_dispose(&fl);

    xenvf_flask_init_ops(&fl, &stub_ops, &gone);
    ck_assert_int_eq(xenvf_xen_dequarantine(&fl, &pf, &done, &err), 0);
    ck_assert(!done);
    ck_assert_str_eq(gone.calls[gone.nr_calls - 1], "dequarantine 0x200");
    xenvf_flask_dispose(&fl);

    done = true;
    xenvf_flask_init_ops(&fl, &stub_ops, &no_xen);
    ck_assert_int_eq(xenvf_xen_dequarantine(&fl, &pf, &done, &err), 0);
    ck_assert(!done);
    ck_assert_uint_eq(no_xen.nr_calls, 1); /* open only */
    xenvf_flask_dispose(&fl);

    xenvf_flask_init_ops(&fl, &stub_ops, &refused);
    ck_assert_int_eq(xenvf_xen_dequarantine(&fl, &pf, &done, &err),
                     XENVF_EPERM);
    ck_assert(!done);
    ck_assert_msg(strstr(err.msg, "0000:02:00.0") &&
                      strstr(err.msg, "xc_deassign_device DOMID_IO"),
                  "%s", err.msg);
    xenvf_flask_dispose(&fl);

    xenvf_err_init(&err);
    xenvf_flask_init_ops(&fl, &stub_ops, &broken);
    ck_assert_int_eq(xenvf_xen_dequarantine(&fl, &pf, &done, &err), XENVF_EIO);
    xenvf_flask_dispose(&fl);
}
END_TEST

/* ---- MCFG ------------------------------------------------------------ */

static size_t make_mcfg(uint8_t *t, unsigned nr)
{
    size_t len = 44 + 16 * nr;
    uint8_t sum = 0;

    memset(t, 0, len);
    memcpy(t, "MCFG", 4);
    t[4] = len & 0xff;
    t[5] = len >> 8;
    for (unsigned i = 0; i < nr; i++) {
        uint8_t *e = t + 44 + 16 * i;
        uint64_t base = 0xb0000000ULL + 0x100000000ULL * i;

        for (int b = 0; b < 8; b++)
            e[b] = base >> (8 * b);
        e[8] = i; /* segment */
        e[10] = i ? 0x10 : 0;
        e[11] = i ? 0x1f : 0xff;
    }
    for (size_t i = 0; i < len; i++)
        sum += t[i];
    t[9] = -sum;
    return len;
}

START_TEST(test_mcfg)
{
    uint8_t t[128];
    size_t len = make_mcfg(t, 2);
    xenvf_flask_mcfg *m = NULL;
    xenvf_flask_range r;
    size_t nr = 0;

    ck_assert_int_eq(xenvf_flask_parse_mcfg(t, len, &m, &nr, NULL), 0);
    ck_assert_uint_eq(nr, 2);
    ck_assert_uint_eq(m[0].base, 0xb0000000);
    xenvf_flask_mcfg_range(&m[0], &r);
    ck_assert_uint_eq(r.start, 0xb0000000);
    ck_assert_uint_eq(r.end, 0xbfffffff);
    ck_assert_uint_eq(m[1].seg, 1);
    xenvf_flask_mcfg_range(&m[1], &r);
    ck_assert_uint_eq(r.start, 0x1b0000000ULL + (0x10 << 20));
    ck_assert_uint_eq(r.end, 0x1b0000000ULL + (0x20 << 20) - 1);
    free(m);

    /* bad checksum, truncated, wrong signature, end bus < start bus */
    t[50] ^= 1;
    ck_assert_int_eq(xenvf_flask_parse_mcfg(t, len, &m, &nr, NULL),
                     XENVF_EINVAL);
    len = make_mcfg(t, 2);
    ck_assert_int_eq(xenvf_flask_parse_mcfg(t, len - 1, &m, &nr, NULL),
                     XENVF_EINVAL);
    t[0] = 'X';
    ck_assert_int_eq(xenvf_flask_parse_mcfg(t, len, &m, &nr, NULL),
                     XENVF_EINVAL);
    len = make_mcfg(t, 1);
    t[44 + 10] = 5;
    t[44 + 11] = 4;
    t[9] = 0;
    {
        uint8_t sum = 0;

        for (size_t i = 0; i < len; i++)
            sum += t[i];
        t[9] = -sum;
    }
    ck_assert_int_eq(xenvf_flask_parse_mcfg(t, len, &m, &nr, NULL),
                     XENVF_EINVAL);
    ck_assert_ptr_null(m);

    /* a window past the 52-bit physical address space, or one that would
     * wrap around 2^64 (found by fuzz_flask), is refused */
    {
        static const uint64_t bases[] = {0xfffffffffff00000ULL,
                                         (1ULL << 52) - (1ULL << 20)};
        xenvf_err err;

        for (size_t b = 0; b < 2; b++) {
            uint8_t sum = 0;

            len = make_mcfg(t, 1);
            for (int k = 0; k < 8; k++)
                t[44 + k] = bases[b] >> (8 * k);
            t[44 + 11] = 0x1; /* two buses: 2 MiB */
            t[9] = 0;
            for (size_t i = 0; i < len; i++)
                sum += t[i];
            t[9] = -sum;
            xenvf_err_init(&err);
            ck_assert_int_eq(xenvf_flask_parse_mcfg(t, len, &m, &nr, &err),
                             XENVF_EINVAL);
            ck_assert_ptr_nonnull(
                strstr(err.msg, "leaves the physical address space"));
            ck_assert_ptr_null(m);
        }
    }
}
END_TEST

/* ---- label lists ------------------------------------------------------ */

START_TEST(test_list)
{
    static const char text[] =
        "# a comment\n"
        "\n"
        "pf 0000:01:00.0 xenvf_pf_t mem:0xfe000000-0xfe003fff # inline\n"
        "vf 01:00.1 xenvf_vf_t mem:0xfd000000-0xfd003fff\n"
        "vf 0001:02:00.4 xenvf_guest_vf_t\n"
        "mmcfg - xenvf_mmcfg_t mem:0xb0000000-0xbfffffff\n"
        "pf 0000:03:00.0 xenvf_drv_pf_t irq:23 mem:0xfc000000-0xfc00ffff\n"
        "pf 0000:04:00.0 xenvf_drv_pf_t irq:23\n";
    xenvf_flask_labels l;
    xenvf_err err;
    char *out = NULL;
    const char *p;

    xenvf_err_init(&err);
    xenvf_flask_labels_init(&l);
    ck_assert_int_eq(xenvf_flask_labels_parse_list("t", text, &l, &err), 0);
    ck_assert_uint_eq(l.nr, 6);
    ck_assert_int_eq(l.v[2].bdf.seg, 1);
    ck_assert_uint_eq(l.v[0].irq, 0);
    ck_assert_uint_eq(l.v[4].irq, 23);
    ck_assert_uint_eq(l.v[4].nr_ranges, 1);
    ck_assert_int_eq(xenvf_flask_labels_format_policy(&l, &out, &err), 0);
    ck_assert_ptr_nonnull(
        strstr(out, "\npcidevicecon 0x100 system_u:object_r:xenvf_pf_t\n"));
    ck_assert_ptr_nonnull(strstr(
        out, "\niomemcon 0xfe000-0xfe003 system_u:object_r:xenvf_pf_t\n"));
    ck_assert_ptr_nonnull(strstr(out,
                                 "\npcidevicecon 0x10204 system_u:object_r:"
                                 "xenvf_guest_vf_t\n"));
    ck_assert_ptr_nonnull(strstr(
        out, "\niomemcon 0xb0000-0xbffff system_u:object_r:xenvf_mmcfg_t\n"));
    /* the driver domain's PFs' INTx, one pirqcon for the shared line */
    p = strstr(out, "\npirqcon 23 system_u:object_r:xenvf_drv_pf_t\n");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(strstr(p + 2, "pirqcon"));
    free(out);
    ck_assert_int_eq(xenvf_flask_labels_format_commands(&l, &out, &err), 0);
    /* VFs before PFs */
    ck_assert_ptr_nonnull(strstr(out, "flask-label-pci 0000:01:00.1 "
                                      "system_u:object_r:xenvf_vf_t\n"));
    ck_assert(strstr(out, "flask-label-pci 0001:02:00.4") <
              strstr(out, "flask-label-pci 0000:01:00.0"));
    free(out);
    xenvf_flask_labels_dispose(&l);
    xenvf_flask_labels_dispose(&l);
}
END_TEST

static const struct {
    const char *text, *msg;
    int rc;
} bad_lists[] = {
    {"pf 0000:01:00.0\n", "t:1: expected", XENVF_EINVAL},
    {"\n\nxf 0000:01:00.0 t\n", "t:3: kind", XENVF_EINVAL},
    {"pf 0000:01:00.9 t\n", "t:1:", XENVF_ERANGE},
    {"pf 0000:01:00.0 bad-type\n", "t:1: bad FLASK type", XENVF_EINVAL},
    {"pf 0000:01:00.0 t mem:0x10-0x1\n", "t:1: bad range", XENVF_EINVAL},
    {"pf 0000:01:00.0 t mem:10-0x11\n", "t:1: bad range", XENVF_EINVAL},
    {"pf 0000:01:00.0 t port:0x1-0x2\n", "t:1: bad range", XENVF_EINVAL},
    {"mmcfg 0000:01:00.0 t mem:0x1-0x2\n", "t:1: mmcfg", XENVF_EINVAL},
    {"pf 0000:01:00.0 t\nvf 01:00.0 u\n", "t:2: same device as t:1",
     XENVF_ECONFLICT},
    {"pf 0000:01:00.0 t mem:0x1000-0x1fff\nvf 0000:01:00.1 u "
     "mem:0x1800-0x18ff\n",
     "overlap t:1", XENVF_ECONFLICT},
    {"vf 0000:01:00.1 t irq:23\n", "t:1: bad 'irq:23'", XENVF_EINVAL},
    {"pf 0000:01:00.0 t irq:0\n", "t:1: bad 'irq:0'", XENVF_EINVAL},
    {"pf 0000:01:00.0 t irq:65536\n", "t:1: bad 'irq:65536'", XENVF_EINVAL},
    {"pf 0000:01:00.0 t irq:2x\n", "t:1: bad 'irq:2x'", XENVF_EINVAL},
    {"pf 0000:01:00.0 t irq:5 irq:5\n", "t:1: bad 'irq:5'", XENVF_EINVAL},
    {"mmcfg - t irq:5 mem:0x1-0x2\n", "t:1: bad 'irq:5'", XENVF_EINVAL},
    {"pf 0000:01:00.0 t irq:7\npf 0000:02:00.0 u irq:7\n",
     "t:2: IRQ 7 is t:1's too, labelled t", XENVF_ECONFLICT},
};

START_TEST(test_bad_list)
{
    xenvf_flask_labels l;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_flask_labels_init(&l);
    ck_assert_int_eq(
        xenvf_flask_labels_parse_list("t", bad_lists[_i].text, &l, &err),
        bad_lists[_i].rc);
    ck_assert_msg(strstr(err.msg, bad_lists[_i].msg), "'%s' lacks '%s'",
                  err.msg, bad_lists[_i].msg);
    xenvf_flask_labels_dispose(&l);
}
END_TEST

/* ---- labels of a map on a fake sysfs tree ----------------------------- */

/* Device BDF's sysfs irq (read-only, as sysfs's) is TEXT. */
static void write_irq(fakesysfs *fs, const char *bdf, const char *text)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/irq",
             fakesysfs_root(fs), bdf);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static const char test_map[] =
    "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
    "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"3\">\n"
    "    <vf index=\"0\" domain=\"web1\"/>\n"
    "    <vf index=\"2\" domain=\"db1\"/>\n"
    "  </pf>\n"
    "  <pf id=\"net0\" address=\"0000:03:00.0\" numvfs=\"2\" owner=\"5\">\n"
    "    <vf index=\"1\" domain=\"web1\"/>\n"
    "  </pf>\n"
    "</vfmap>\n";

/* What the map must give: PF ids, addresses and types. Every PF's VFs sit
 * at RID(PF) + offset + i * stride. */
static const struct {
    const char *bdf, *type, *what;
} want[] = {
    {"0000:01:00.0", "xenvf_pf_t", "pf nvme0"},
    {"0000:01:00.4", "xenvf_guest_vf_t", "vf nvme0/0"}, /* web1 */
    {"0000:01:00.6", "xenvf_vf_t", "vf nvme0/1"},       /* free */
    {"0000:01:01.0", "db_vf_t", "vf nvme0/2"},          /* db1 */
    {"0000:03:00.0", "xenvf_drv_pf_t", "pf net0"},      /* owner 5 */
    {"0000:03:00.1", "xenvf_vf_t", "vf net0/0"},
    {"0000:03:00.2", "xenvf_guest_vf_t", "vf net0/1"},
};

/* A PF with 64-bit VF BARs (the fake tree puts those at distinct
 * addresses per PF). */
static int add_pf64(fakesysfs *fs, const char *bdf, uint16_t total,
                    uint16_t offset, uint16_t stride, const uint64_t size[6])
{
    fakesysfs_dev_spec spec;

    fakesysfs_spec_init(&spec);
    spec.vendor = 0x1b36;
    spec.device = 0x0010;
    spec.class_code = 0x010802;
    spec.driver = "nvme";
    spec.total_vfs = total;
    spec.vf_offset = offset;
    spec.vf_stride = stride;
    spec.vf_device = 0x0010;
    memcpy(spec.vf_bar_size, size, sizeof(spec.vf_bar_size));
    for (int i = 0; i < 6; i++)
        spec.vf_bar_flags[i] = size[i] ? FAKESYSFS_BAR_64 : 0;
    return fakesysfs_add(fs, bdf, &spec);
}

START_TEST(test_map_labels)
{
    static const uint64_t bars0[6] = {0x4000, 0, 0x1000};
    static const uint64_t bars1[6] = {0x10000};
    static const xenvf_flask_guest_type guests[] = {{"db1", "db_vf_t"}};
    xenvf_flask_types types = {.nr_guests = 1, .guests = guests};
    xenvf_flask_labels l;
    fakesysfs *fs = NULL;
    xenvf_map map;
    xenvf_err err;
    char *out = NULL, *p;
    unsigned nr_dev = 0;

    xenvf_err_init(&err);
    xenvf_map_init(&map);
    xenvf_flask_labels_init(&l);
    ck_assert_int_eq(fakesysfs_new(&fs), 0);
    ck_assert_int_eq(add_pf64(fs, "0000:01:00.0", 8, 4, 2, bars0), 0);
    ck_assert_int_eq(add_pf64(fs, "0000:03:00.0", 4, 1, 1, bars1), 0);
    /* A device the map does not name must get no label. */
    ck_assert_int_eq(fakesysfs_add_device(fs, "0000:05:00.0", 0x8086, 0x100e,
                                          0x020000, NULL),
                     0);
    /* net0, the driver domain's PF, has INTx 23; nvme0 (dom0's) 22 */
    write_irq(fs, "0000:03:00.0", "23\n");
    write_irq(fs, "0000:01:00.0", "22\n");
    ck_assert_int_eq(
        xenvf_map_parse_mem("m", test_map, strlen(test_map), &map, &err), 0);
    ck_assert_msg(xenvf_flask_labels_from_map(&map, fakesysfs_root(fs), &types,
                                              &l, &err) == 0,
                  "%s", err.msg);

    /* every PF and VF of the map, in order, nothing else */
    ck_assert_uint_eq(l.nr, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < l.nr; i++) {
        char b[XENVF_BDF_STR_MAX];

        xenvf_bdf_format(&l.v[i].bdf, b);
        ck_assert_str_eq(b, want[i].bdf);
        ck_assert_str_eq(l.v[i].type, want[i].type);
        ck_assert_str_eq(l.v[i].what, want[i].what);
    }
    /* A PF keeps its own BAR only, not its VF BAR windows. */
    ck_assert_uint_eq(l.v[0].nr_ranges, 1);
    /* VF i has its slice of each VF BAR: nvme VFs two BARs, net VFs one. */
    ck_assert_uint_eq(l.v[1].nr_ranges, 2);
    ck_assert_uint_eq(l.v[2].ranges[0].start - l.v[1].ranges[0].start, 0x4000);
    ck_assert_uint_eq(l.v[2].ranges[0].end - l.v[2].ranges[0].start, 0x3fff);
    ck_assert_uint_eq(l.v[3].ranges[1].start - l.v[2].ranges[1].start, 0x1000);
    ck_assert_uint_eq(l.v[6].nr_ranges, 1);
    ck_assert_uint_eq(l.v[6].ranges[0].end - l.v[6].ranges[0].start, 0xffff);

    /* The fragment: one pcidevicecon per PF and VF. */
    ck_assert_int_eq(xenvf_flask_labels_format_policy(&l, &out, &err), 0);
    for (p = out; (p = strstr(p, "\npcidevicecon ")); p++)
        nr_dev++;
    ck_assert_uint_eq(nr_dev, sizeof(want) / sizeof(want[0]));
    ck_assert_ptr_nonnull(
        strstr(out, "pcidevicecon 0x108 system_u:object_r:db_vf_t\n"));
    ck_assert_ptr_null(strstr(out, "pcidevicecon 0x500 "));
    /* the driver domain's PF's INTx, as the TCB labels it at run time;
     * a dom0 PF's stays irq_t */
    ck_assert_uint_eq(l.v[4].irq, 23);
    ck_assert_uint_eq(l.v[0].irq, 0);
    p = strstr(out, "\npirqcon 23 system_u:object_r:xenvf_drv_pf_t\n");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(strstr(out, "pirqcon 22"));
    free(out);

    /* A VF index past TotalVFs is an error naming the PF. */
    xenvf_flask_labels_dispose(&l);
    map.pfs[1].numvfs = 5;
    ck_assert_int_eq(
        xenvf_flask_labels_from_map(&map, fakesysfs_root(fs), NULL, &l, &err),
        XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "pf net0"));

    xenvf_flask_labels_dispose(&l);
    xenvf_map_dispose(&map);
    fakesysfs_free(fs);
}
END_TEST

/*
 * The same through xenvf-flask-labels (--map, --sysfs, --guest): its policy
 * fragment has one pcidevicecon per PF and VF of the map, and no other.
 */
START_TEST(test_tool_map)
{
    static const uint64_t bars0[6] = {0x4000, 0, 0x1000};
    static const uint64_t bars1[6] = {0x10000};
    const char *build = getenv("XENVF_BUILD");
    char tool[4096], map_path[4096], cmd[16384], line[512];
    unsigned seen[sizeof(want) / sizeof(want[0])] = {0};
    unsigned nr_dev = 0, nr_pirq = 0;
    fakesysfs *fs = NULL;
    FILE *f;

    snprintf(tool, sizeof(tool), "%s/tools/xenvf-flask-labels",
             build && *build ? build : "build");
    ck_assert_msg(access(tool, X_OK) == 0, "%s not built", tool);
    ck_assert_int_eq(fakesysfs_new(&fs), 0);
    ck_assert_int_eq(add_pf64(fs, "0000:01:00.0", 8, 4, 2, bars0), 0);
    ck_assert_int_eq(add_pf64(fs, "0000:03:00.0", 4, 1, 1, bars1), 0);
    write_irq(fs, "0000:03:00.0", "23\n");
    snprintf(map_path, sizeof(map_path), "%s/map.xml", fakesysfs_root(fs));
    f = fopen(map_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(test_map, f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof(cmd),
             "'%s' --map '%s' --sysfs '%s' --guest db1=db_vf_t", tool, map_path,
             fakesysfs_root(fs));
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        unsigned sbdf;
        char ctx[128];
        bool known = false;

        if (!strcmp(line, "pirqcon 23 system_u:object_r:xenvf_drv_pf_t\n"))
            nr_pirq++;
        if (sscanf(line, "pcidevicecon %x %127s", &sbdf, ctx) != 2)
            continue;
        nr_dev++;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            xenvf_bdf b;
            char want_ctx[128];

            ck_assert_int_eq(xenvf_bdf_parse(want[i].bdf, &b, NULL), 0);
            snprintf(want_ctx, sizeof(want_ctx), "system_u:object_r:%s",
                     want[i].type);
            if (xenvf_flask_sbdf(&b) == sbdf) {
                ck_assert_str_eq(ctx, want_ctx);
                seen[i]++;
                known = true;
            }
        }
        ck_assert_msg(known, "label for a device not in the map: %s", line);
    }
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_uint_eq(nr_dev, sizeof(want) / sizeof(want[0]));
    ck_assert_uint_eq(nr_pirq, 1);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(seen[i] == 1, "%s labelled %u times", want[i].bdf,
                      seen[i]);
    fakesysfs_free(fs);
}
END_TEST

static Suite *flask_suite(void)
{
    Suite *s = suite_create("flask");
    TCase *tc = tcase_create("runtime");

    tcase_add_test(tc, test_no_xen);
    tcase_add_test(tc, test_xsm_off);
    tcase_add_test(tc, test_enforcing_labels);
    tcase_add_test(tc, test_permissive);
    tcase_add_test(tc, test_probe_refused);
    tcase_add_test(tc, test_relabel);
    tcase_add_test(tc, test_label_irq);
    tcase_add_test(tc, test_relabel_duplicate_entries);
    tcase_add_test(tc, test_label_refused_and_bad_type);
    tcase_add_test(tc, test_libxenctrl);
    tcase_add_test(tc, test_dequarantine);
    suite_add_tcase(s, tc);

    tc = tcase_create("labels");
    tcase_add_test(tc, test_mcfg);
    tcase_add_test(tc, test_list);
    tcase_add_loop_test(tc, test_bad_list, 0,
                        sizeof(bad_lists) / sizeof(bad_lists[0]));
    tcase_add_test(tc, test_map_labels);
    tcase_add_test(tc, test_tool_map);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    xenvf_log_set_sink(capture, NULL);
    return xenvf_check_run(flask_suite());
}
