/*
 * SR-IOV discovery and the sysfs module against a fake sysfs tree, with the
 * kernel stand-in (fakesysfs-kernel.so) playing sriov_numvfs, bind and the
 * rest: main() re-execs this binary under it.
 *
 * The tree: three functions, as a host might have them.
 *   0000:03:00.0  NIC-like PF, 8086:1572, 64 VFs at offset 16 stride 1,
 *                 VF 8086:154c, VF BAR0 64-bit prefetchable 64 KiB and
 *                 VF BAR3 64-bit prefetchable 16 KiB; i40e, VFs take iavf
 *   0000:01:00.0  NVMe-like PF, QEMU 1b36:0010, 4 VFs at offset 1 stride 1,
 *                 VF BAR0 64-bit 16 KiB; nvme
 *   0000:00:02.0  display controller without SR-IOV
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenvf/sriov.h>
#include <xenvf/sysfs.h>

#include "../harness/fakesysfs.h"
#include "../harness/check-main.h"

#define NIC  "0000:03:00.0"
#define NVME "0000:01:00.0"
#define VGA  "0000:00:02.0"

static fakesysfs *fs;
static const char *root;
static xenvf_err err;

static xenvf_bdf bdf(const char *s)
{
    xenvf_bdf b;

    ck_assert_int_eq(xenvf_bdf_parse(s, &b, NULL), 0);
    return b;
}

static void ck_bdf(const xenvf_bdf *b, const char *want)
{
    char s[XENVF_BDF_STR_MAX];

    xenvf_bdf_format(b, s);
    ck_assert_str_eq(s, want);
}

static uint16_t get16(const uint8_t *c, unsigned off)
{
    return (uint16_t)(c[off] | c[off + 1] << 8);
}

static uint32_t get32(const uint8_t *c, unsigned off)
{
    return (uint32_t)get16(c, off) | (uint32_t)get16(c, off + 2) << 16;
}

/* The test's own walk of the extended capability list. */
static unsigned find_sriov(const uint8_t *cfg)
{
    unsigned pos = 0x100;

    for (int i = 0; i < 100 && pos >= 0x100; i++) {
        uint32_t h = get32(cfg, pos);
        if ((h & 0xffff) == 0x0010)
            return pos;
        pos = (h >> 20) & 0xffc;
    }
    return 0;
}

static void setup(void)
{
    fakesysfs_dev_spec nic, nvme;

    xenvf_err_init(&err);
    ck_assert_int_eq(fakesysfs_new(&fs), 0);
    root = fakesysfs_root(fs);

    fakesysfs_spec_init(&nic);
    nic.vendor = 0x8086;
    nic.device = 0x1572;
    nic.class_code = 0x020000;
    nic.revision = 0x02;
    nic.total_vfs = 64;
    nic.vf_offset = 16;
    nic.vf_stride = 1;
    nic.vf_device = 0x154c;
    nic.vf_bar_size[0] = 64 * 1024;
    nic.vf_bar_flags[0] = FAKESYSFS_BAR_64 | FAKESYSFS_BAR_PREFETCH;
    nic.vf_bar_size[3] = 16 * 1024;
    nic.vf_bar_flags[3] = FAKESYSFS_BAR_64 | FAKESYSFS_BAR_PREFETCH;
    nic.driver = "i40e";
    nic.vf_driver = "iavf";
    ck_assert_int_eq(fakesysfs_add(fs, NIC, &nic), 0);

    fakesysfs_spec_init(&nvme);
    nvme.vendor = 0x1b36;
    nvme.device = 0x0010;
    nvme.class_code = 0x010802;
    nvme.subsys_vendor = 0x1af4;
    nvme.subsys_device = 0x1100;
    nvme.total_vfs = 4;
    nvme.vf_offset = 1;
    nvme.vf_stride = 1;
    nvme.vf_device = 0x0010;
    nvme.vf_bar_size[0] = 16 * 1024;
    nvme.vf_bar_flags[0] = FAKESYSFS_BAR_64;
    nvme.driver = "nvme";
    ck_assert_int_eq(fakesysfs_add(fs, NVME, &nvme), 0);

    ck_assert_int_eq(
        fakesysfs_add_device(fs, VGA, 0x1234, 0x1111, 0x030000, "bochs-drm"),
        0);
    /* xen-pciback registers as "pciback" and has no sriov_configure */
    ck_assert_int_eq(fakesysfs_add_driver(fs, "pciback", false), 0);
}

static void teardown(void)
{
    fakesysfs_free(fs);
    fs = NULL;
}

static void need_kernel(void)
{
    ck_assert_msg(fakesysfs_kernel_active(),
                  "fakesysfs-kernel.so is not loaded (set "
                  "XENVF_FAKESYSFS_KERNEL or build it)");
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
    char path[512];
    struct stat st;
    va_list ap;
    int n;

    n = snprintf(path, sizeof(path), "%s/", root);
    va_start(ap, fmt);
    vsnprintf(path + n, sizeof(path) - (size_t)n, fmt, ap);
    va_end(ap);
    return lstat(path, &st) == 0;
}

static char *attr(const char *dev, const char *name)
{
    xenvf_bdf b = bdf(dev);
    char *s = NULL;

    ck_assert_msg(xenvf_sysfs_read_attr(root, &b, name, &s, &err) == 0, "%s",
                  err.msg);
    return s;
}

static void ck_attr(const char *dev, const char *name, const char *want)
{
    char *s = attr(dev, name);

    ck_assert_str_eq(s, want);
    free(s);
}

static void probe(const char *dev, xenvf_sriov_info *info)
{
    xenvf_bdf b = bdf(dev);

    ck_assert_msg(xenvf_sriov_probe(root, &b, info, &err) == 0, "%s", err.msg);
}

static int numvfs(const char *dev, unsigned n)
{
    xenvf_bdf b = bdf(dev);

    xenvf_err_init(&err);
    return xenvf_sysfs_set_numvfs(root, &b, n, &err);
}

/* ---- discovery from config space ------------------------------------ */

START_TEST(scan_lists_exactly_the_pfs)
{
    xenvf_sriov_info *list = NULL;
    size_t nr = 99;

    ck_assert_msg(xenvf_sriov_scan(root, &list, &nr, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(nr, 2);
    /* sorted by BDF; the display controller has no SR-IOV */
    ck_bdf(&list[0].bdf, NVME);
    ck_bdf(&list[1].bdf, NIC);
    ck_assert_uint_eq(list[0].total_vfs, 4);
    ck_assert_uint_eq(list[1].total_vfs, 64);
    xenvf_sriov_info_list_free(list, nr);
}
END_TEST

START_TEST(nic_fields_are_the_config_bytes)
{
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    xenvf_sriov_info info;
    unsigned pos;
    uint64_t bar0, bar3;

    xenvf_sriov_info_init(&info);
    probe(NIC, &info);
    ck_assert_int_eq(fakesysfs_read_config(fs, NIC, cfg), 0);
    pos = find_sriov(cfg);
    ck_assert_uint_eq(pos, FAKESYSFS_SRIOV_POS);

    ck_bdf(&info.bdf, NIC);
    ck_assert_uint_eq(info.vendor_id, 0x8086);
    ck_assert_uint_eq(info.vendor_id, get16(cfg, 0x00));
    ck_assert_uint_eq(info.device_id, 0x1572);
    ck_assert_uint_eq(info.device_id, get16(cfg, 0x02));
    ck_assert_uint_eq(info.class_code, 0x020000);
    ck_assert_uint_eq(info.class_code, get32(cfg, 0x08) >> 8);
    ck_assert_uint_eq(info.cap_offset, pos);
    ck_assert_uint_eq(info.sriov_cap, get32(cfg, pos + 0x04));
    ck_assert_uint_eq(info.sriov_ctrl, 0);
    ck_assert_uint_eq(info.sriov_ctrl, get16(cfg, pos + 0x08));
    ck_assert_uint_eq(info.initial_vfs, 64);
    ck_assert_uint_eq(info.initial_vfs, get16(cfg, pos + 0x0c));
    ck_assert_uint_eq(info.total_vfs, 64);
    ck_assert_uint_eq(info.total_vfs, get16(cfg, pos + 0x0e));
    ck_assert_uint_eq(info.num_vfs, 0);
    ck_assert_uint_eq(info.num_vfs, get16(cfg, pos + 0x10));
    ck_assert_uint_eq(info.func_dep_link, cfg[pos + 0x12]);
    ck_assert_uint_eq(info.vf_offset, 16);
    ck_assert_uint_eq(info.vf_offset, get16(cfg, pos + 0x14));
    ck_assert_uint_eq(info.vf_stride, 1);
    ck_assert_uint_eq(info.vf_stride, get16(cfg, pos + 0x16));
    ck_assert_uint_eq(info.vf_device_id, 0x154c);
    ck_assert_uint_eq(info.vf_device_id, get16(cfg, pos + 0x1a));
    ck_assert_uint_eq(info.supported_page_sizes, 0x553);
    ck_assert_uint_eq(info.supported_page_sizes, get32(cfg, pos + 0x1c));
    ck_assert_uint_eq(info.system_page_size, 1);
    ck_assert_uint_eq(info.system_page_size, get32(cfg, pos + 0x20));

    /* VF BARs: 0 and 3 are 64-bit prefetchable; 1 and 4 their upper
     * halves; 2 and 5 unused */
    bar0 = (get32(cfg, pos + 0x24) & ~0xfu) | (uint64_t)get32(cfg, pos + 0x28)
                                                  << 32;
    bar3 = (get32(cfg, pos + 0x30) & ~0xfu) | (uint64_t)get32(cfg, pos + 0x34)
                                                  << 32;
    ck_assert_uint_eq(get32(cfg, pos + 0x24) & 0xf, 0xc);
    ck_assert(info.vf_bar_sizes_known);
    ck_assert(info.vf_bars[0].present);
    ck_assert(info.vf_bars[0].is_64);
    ck_assert(info.vf_bars[0].prefetch);
    ck_assert_uint_eq(info.vf_bars[0].base, bar0);
    ck_assert_uint_ne(bar0, 0);
    ck_assert_uint_eq(info.vf_bars[0].size, 64 * 1024);
    ck_assert(!info.vf_bars[1].present);
    ck_assert(!info.vf_bars[2].present);
    ck_assert_uint_eq(info.vf_bars[2].size, 0);
    ck_assert(info.vf_bars[3].present);
    ck_assert(info.vf_bars[3].is_64);
    ck_assert(info.vf_bars[3].prefetch);
    ck_assert_uint_eq(info.vf_bars[3].base, bar3);
    ck_assert_uint_eq(info.vf_bars[3].size, 16 * 1024);
    ck_assert(!info.vf_bars[4].present);
    ck_assert(!info.vf_bars[5].present);

    /* from sysfs */
    ck_assert_uint_eq(info.max_vfs, 64);
    ck_assert_str_eq(info.driver, "i40e");
    ck_assert_int_eq(info.drivers_autoprobe, 1);
    ck_assert_uint_eq(info.nr_vfs, 0);
    ck_assert_ptr_null(info.vf_bdfs);
    xenvf_sriov_info_dispose(&info);
    /* dispose leaves it re-initialised: twice is harmless */
    xenvf_sriov_info_dispose(&info);
    ck_assert_ptr_null(info.driver);
}
END_TEST

START_TEST(nvme_fields_are_the_config_bytes)
{
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    xenvf_sriov_info info;
    unsigned pos;

    xenvf_sriov_info_init(&info);
    probe(NVME, &info);
    ck_assert_int_eq(fakesysfs_read_config(fs, NVME, cfg), 0);
    pos = find_sriov(cfg);
    ck_assert_uint_eq(info.cap_offset, pos);
    ck_assert_uint_eq(info.vendor_id, 0x1b36);
    ck_assert_uint_eq(info.device_id, 0x0010);
    ck_assert_uint_eq(info.class_code, 0x010802);
    ck_assert_uint_eq(info.total_vfs, 4);
    ck_assert_uint_eq(info.initial_vfs, 4);
    ck_assert_uint_eq(info.num_vfs, 0);
    ck_assert_uint_eq(info.vf_offset, 1);
    ck_assert_uint_eq(info.vf_stride, 1);
    ck_assert_uint_eq(info.vf_device_id, 0x0010);
    ck_assert_uint_eq(info.vf_device_id, get16(cfg, pos + 0x1a));
    ck_assert(info.vf_bars[0].present);
    ck_assert(info.vf_bars[0].is_64);
    ck_assert(!info.vf_bars[0].prefetch);
    ck_assert_uint_eq(info.vf_bars[0].size, 16 * 1024);
    ck_assert_uint_eq(info.vf_bars[0].base, (get32(cfg, pos + 0x24) & ~0xfu) |
                                                (uint64_t)get32(cfg, pos + 0x28)
                                                    << 32);
    for (int i = 1; i < XENVF_SRIOV_NR_BARS; i++)
        ck_assert(!info.vf_bars[i].present);
    ck_assert_str_eq(info.driver, "nvme");
    ck_assert_int_eq(info.drivers_autoprobe, 1);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(probe_absent_or_without_sriov)
{
    xenvf_sriov_info info;
    xenvf_bdf b;

    xenvf_sriov_info_init(&info);
    b = bdf(VGA);
    ck_assert_int_eq(xenvf_sriov_probe(root, &b, &info, &err), XENVF_ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err.msg, VGA));
    b = bdf("0000:05:00.0");
    ck_assert_int_eq(xenvf_sriov_probe(root, &b, &info, &err), XENVF_ENOENT);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "0000:05:00.0"));
    /* a root that is no sysfs at all */
    b = bdf(NIC);
    ck_assert_int_eq(xenvf_sriov_probe("/nonexistent", &b, &info, &err),
                     XENVF_ENOENT);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(scan_of_a_missing_root_fails_cleanly)
{
    xenvf_sriov_info *list = NULL;
    size_t nr = 0;

    /* libpci's fatal error comes back as an error, not exit() */
    ck_assert_int_eq(xenvf_sriov_scan("/nonexistent", &list, &nr, &err),
                     XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent"));
    ck_assert_ptr_null(list);
}
END_TEST

START_TEST(vf_bdfs_before_vfs_exist)
{
    xenvf_sriov_info nic, nvme;
    xenvf_bdf b;

    xenvf_sriov_info_init(&nic);
    xenvf_sriov_info_init(&nvme);
    probe(NIC, &nic);
    probe(NVME, &nvme);
    /* RID 0x300 + 16 + i */
    ck_assert_int_eq(xenvf_sriov_vf_bdf(&nic, 0, &b, &err), 0);
    ck_bdf(&b, "0000:03:02.0");
    ck_assert_int_eq(xenvf_sriov_vf_bdf(&nic, 7, &b, &err), 0);
    ck_bdf(&b, "0000:03:02.7");
    ck_assert_int_eq(xenvf_sriov_vf_bdf(&nic, 8, &b, &err), 0);
    ck_bdf(&b, "0000:03:03.0");
    ck_assert_int_eq(xenvf_sriov_vf_bdf(&nic, 63, &b, &err), 0);
    ck_bdf(&b, "0000:03:09.7");
    ck_assert_int_eq(xenvf_sriov_vf_bdf(&nic, 64, &b, &err), XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "TotalVFs 64"));
    for (unsigned i = 0; i < 4; i++) {
        char want[16];
        snprintf(want, sizeof(want), "0000:01:00.%u", i + 1);
        ck_assert_int_eq(xenvf_sriov_vf_bdf(&nvme, i, &b, &err), 0);
        ck_bdf(&b, want);
    }
    ck_assert_int_eq(xenvf_sriov_vf_bdf(&nvme, 4, &b, &err), XENVF_ERANGE);
    xenvf_sriov_info_dispose(&nic);
    xenvf_sriov_info_dispose(&nvme);
}
END_TEST

START_TEST(broken_capability_chains)
{
    xenvf_sriov_info info;
    uint8_t loop[4] = {0x01, 0x00, 0x02, 0x10}; /* AER, next = 0x100 */
    uint8_t bar5[4] = {0x0c, 0, 0, 0};          /* 64-bit in the last slot */
    xenvf_bdf b = bdf(NVME);

    xenvf_sriov_info_init(&info);
    /* a VF BAR that claims 64 bits where no upper half fits: 32-bit */
    ck_assert_int_eq(fakesysfs_write_config(fs, NVME,
                                            FAKESYSFS_SRIOV_POS + 0x24 + 20,
                                            bar5, sizeof(bar5)),
                     0);
    probe(NVME, &info);
    ck_assert(info.vf_bars[5].present);
    ck_assert(!info.vf_bars[5].is_64);
    ck_assert(info.vf_bars[5].prefetch);
    /* an extended capability that points at itself: libpci stops, the
     * SR-IOV capability behind it is unreachable */
    ck_assert_int_eq(
        fakesysfs_write_config(fs, NVME, FAKESYSFS_AER_POS, loop, sizeof(loop)),
        0);
    ck_assert_int_eq(xenvf_sriov_probe(root, &b, &info, &err), XENVF_ENOTSUP);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

/* ---- the kernel stand-in and the writes ------------------------------ */

START_TEST(enable_creates_vfs)
{
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    xenvf_sriov_info info, pred;
    xenvf_sysfs_resource res[XENVF_SYSFS_RES_MAX];
    size_t nres;

    need_kernel();
    xenvf_sriov_info_init(&info);
    xenvf_sriov_info_init(&pred);
    probe(NIC, &pred);
    ck_assert_msg(numvfs(NIC, 8) == 0, "%s", err.msg);
    ck_attr(NIC, "sriov_numvfs", "8");
    probe(NIC, &info);
    ck_assert_uint_eq(info.num_vfs, 8);
    /* VF Enable and VF MSE, as the kernel programs them */
    ck_assert_uint_eq(info.sriov_ctrl & 0x9, 0x9);
    ck_assert_uint_eq(info.nr_vfs, 8);
    for (unsigned i = 0; i < 8; i++) {
        xenvf_bdf want, pf;
        char name[16], *drv = NULL;

        /* the links agree with the arithmetic */
        ck_assert_int_eq(xenvf_sriov_vf_bdf(&pred, i, &want, &err), 0);
        ck_assert(xenvf_bdf_equal(&info.vf_bdfs[i], &want));
        ck_assert_int_eq(xenvf_sysfs_read_virtfn(root, &info.bdf, i, &pf, &err),
                         0);
        ck_assert(xenvf_bdf_equal(&pf, &want));
        ck_assert_int_eq(xenvf_sysfs_read_physfn(root, &want, &pf, &err), 0);
        ck_bdf(&pf, NIC);
        xenvf_bdf_format(&want, name);
        ck_assert(exists("bus/pci/devices/%s", name));
        ck_attr(name, "vendor", "0x8086");
        ck_attr(name, "device", "0x154c");
        ck_assert_int_eq(fakesysfs_read_config(fs, name, cfg), 0);
        ck_assert_uint_eq(get16(cfg, 0), 0x8086);
        ck_assert_uint_eq(get16(cfg, 2), 0x154c);
        ck_assert_uint_eq(find_sriov(cfg), 0);
        /* autoprobe is on: the VF driver took it */
        ck_assert_int_eq(xenvf_sysfs_read_driver(root, &want, &drv, &err), 0);
        ck_assert_str_eq(drv, "iavf");
        free(drv);
        /* VF i's BAR0 is slice i of the PF's VF BAR0 window */
        ck_assert_int_eq(
            xenvf_sysfs_read_resources(root, &want, res, &nres, &err), 0);
        ck_assert_uint_eq(nres, 13);
        ck_assert_uint_eq(res[0].start, info.vf_bars[0].base + i * 65536);
        ck_assert_uint_eq(xenvf_sysfs_resource_size(&res[0]), 65536);
        ck_assert_uint_eq(res[3].start, info.vf_bars[3].base + i * 16384);
    }
    ck_assert(!exists("bus/pci/devices/%s", "0000:03:03.0"));
    ck_assert(!exists("bus/pci/devices/" NIC "/%s", "virtfn8"));
    xenvf_sriov_info_dispose(&info);
    xenvf_sriov_info_dispose(&pred);
}
END_TEST

START_TEST(ebusy_changes_nothing)
{
    xenvf_sriov_info info;

    need_kernel();
    xenvf_sriov_info_init(&info);
    ck_assert_int_eq(numvfs(NIC, 8), 0);
    ck_assert_int_eq(numvfs(NIC, 4), XENVF_EBUSY);
    ck_assert_int_eq(err.sys_errno, EBUSY);
    ck_assert_ptr_nonnull(strstr(err.msg, "sriov_numvfs"));
    probe(NIC, &info);
    ck_assert_uint_eq(info.num_vfs, 8);
    ck_assert(exists("bus/pci/devices/" NIC "/%s", "virtfn7"));
    ck_attr(NIC, "sriov_numvfs", "8");
    /* the way round it: through 0 */
    ck_assert_int_eq(numvfs(NIC, 0), 0);
    ck_assert_int_eq(numvfs(NIC, 4), 0);
    probe(NIC, &info);
    ck_assert_uint_eq(info.num_vfs, 4);
    ck_assert(exists("bus/pci/devices/" NIC "/%s", "virtfn3"));
    ck_assert(!exists("bus/pci/devices/" NIC "/%s", "virtfn4"));
    ck_assert(!exists("bus/pci/devices/%s", "0000:03:02.4"));
    /* the same value again is no change at all */
    ck_assert_int_eq(numvfs(NIC, 4), 0);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(erange_past_totalvfs)
{
    xenvf_sriov_info info;

    need_kernel();
    xenvf_sriov_info_init(&info);
    ck_assert_int_eq(numvfs(NVME, 5), XENVF_ERANGE);
    ck_assert_int_eq(err.sys_errno, ERANGE);
    ck_assert_int_eq(numvfs(NIC, 65), XENVF_ERANGE);
    probe(NVME, &info);
    ck_assert_uint_eq(info.num_vfs, 0);
    ck_assert(!exists("bus/pci/devices/" NVME "/%s", "virtfn0"));
    ck_assert(!exists("bus/pci/devices/%s", "0000:01:00.1"));
    ck_assert_int_eq(numvfs(NVME, 4), 0);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

/* Nothing half made: a failure part way undoes what was done. */
START_TEST(enable_is_all_or_nothing)
{
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    char path[512];

    need_kernel();
    /* another function where VF 2 would go: refused before anything */
    ck_assert_int_eq(
        fakesysfs_add_device(fs, "0000:01:00.3", 0x1234, 1, 0x058000, NULL), 0);
    ck_assert_int_eq(numvfs(NVME, 4), XENVF_EIO);
    ck_assert_int_eq(err.sys_errno, EEXIST);
    ck_assert(!exists("bus/pci/devices/%s", "0000:01:00.1"));
    ck_assert_int_eq(fakesysfs_remove_device(fs, "0000:01:00.3"), 0);
    /* VF 2's directory cannot be written (a directory where its config
     * goes): VFs 0 and 1 were made, and must be gone again */
    snprintf(path, sizeof(path), "%s/devices/pci0000:00/0000:01:00.3", root);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    strcat(path, "/config");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(numvfs(NVME, 4), XENVF_EIO);
    ck_assert(!exists("bus/pci/devices/%s", "0000:01:00.1"));
    ck_assert(!exists("bus/pci/devices/%s", "0000:01:00.2"));
    ck_assert(!exists("devices/pci0000:00/%s", "0000:01:00.1"));
    ck_assert(!exists("bus/pci/devices/" NVME "/%s", "virtfn0"));
    ck_assert(!exists("bus/pci/devices/" NVME "/%s", "virtfn1"));
    ck_assert_int_eq(fakesysfs_read_config(fs, NVME, cfg), 0);
    ck_assert_uint_eq(get16(cfg, FAKESYSFS_SRIOV_POS + 0x10), 0);
    ck_assert_uint_eq(get16(cfg, FAKESYSFS_SRIOV_POS + 0x08) & 0x9, 0);
    ck_attr(NVME, "sriov_numvfs", "0");
    /* the blocker went with the unwinding: now it works */
    ck_assert_msg(numvfs(NVME, 4) == 0, "%s", err.msg);
    ck_assert(exists("bus/pci/devices/%s", "0000:01:00.4"));
}
END_TEST

START_TEST(einval_for_non_numbers)
{
    static const char *const bad[] = {"abc", "-1",    "4x",    " 4",
                                      "4 ",  "70000", "4\n\n", "0x"};
    xenvf_bdf nvme = bdf(NVME);
    uint64_t v;

    need_kernel();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(xenvf_sysfs_write_attr(root, &nvme, "sriov_numvfs",
                                             bad[i], &err) == XENVF_EINVAL,
                      "'%s' was accepted", bad[i]);
        ck_assert_int_eq(err.sys_errno, EINVAL);
    }
    ck_assert(!exists("bus/pci/devices/" NVME "/%s", "virtfn0"));
    /* what kstrtou16(s, 0) does take: a newline, "+", hex, octal */
    ck_assert_int_eq(
        xenvf_sysfs_write_attr(root, &nvme, "sriov_numvfs", "2\n", &err), 0);
    ck_assert_int_eq(
        xenvf_sysfs_read_uint(root, &nvme, "sriov_numvfs", 4, &v, &err), 0);
    ck_assert_uint_eq(v, 2);
    ck_assert_int_eq(
        xenvf_sysfs_write_attr(root, &nvme, "sriov_numvfs", "+0", &err), 0);
    ck_assert_int_eq(
        xenvf_sysfs_write_attr(root, &nvme, "sriov_numvfs", "0x3", &err), 0);
    ck_assert_int_eq(
        xenvf_sysfs_read_uint(root, &nvme, "sriov_numvfs", 4, &v, &err), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(
        xenvf_sysfs_write_attr(root, &nvme, "sriov_numvfs", "00", &err), 0);
    ck_assert_int_eq(
        xenvf_sysfs_write_attr(root, &nvme, "sriov_numvfs", "04", &err), 0);
    ck_attr(NVME, "sriov_numvfs", "4");
}
END_TEST

START_TEST(zero_removes_every_vf)
{
    uint8_t cfg[FAKESYSFS_CONFIG_SIZE];
    xenvf_sriov_info info;
    char name[16];

    need_kernel();
    xenvf_sriov_info_init(&info);
    ck_assert_int_eq(numvfs(NIC, 64), 0);
    ck_assert(exists("bus/pci/devices/%s", "0000:03:09.7"));
    ck_assert(exists("bus/pci/drivers/iavf/%s", "0000:03:09.7"));
    ck_assert_int_eq(numvfs(NIC, 0), 0);
    for (unsigned i = 0; i < 64; i++) {
        snprintf(name, sizeof(name), "virtfn%u", i);
        ck_assert(!exists("bus/pci/devices/" NIC "/%s", name));
        snprintf(name, sizeof(name), "0000:03:%02x.%u", 2 + i / 8, i % 8);
        ck_assert(!exists("bus/pci/devices/%s", name));
        ck_assert(!exists("devices/pci0000:00/%s", name));
        ck_assert(!exists("bus/pci/drivers/iavf/%s", name));
    }
    ck_attr(NIC, "sriov_numvfs", "0");
    ck_assert_int_eq(fakesysfs_read_config(fs, NIC, cfg), 0);
    ck_assert_uint_eq(get16(cfg, FAKESYSFS_SRIOV_POS + 0x10), 0);
    ck_assert_uint_eq(get16(cfg, FAKESYSFS_SRIOV_POS + 0x08) & 0x9, 0);
    probe(NIC, &info);
    ck_assert_uint_eq(info.num_vfs, 0);
    ck_assert_uint_eq(info.nr_vfs, 0);
    /* and back */
    ck_assert_int_eq(numvfs(NIC, 2), 0);
    ck_assert(exists("bus/pci/devices/%s", "0000:03:02.1"));
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(autoprobe_off_and_binding)
{
    xenvf_bdf nvme = bdf(NVME), vf1 = bdf("0000:01:00.1"),
              vf2 = bdf("0000:01:00.2");
    xenvf_sriov_info info;
    char *drv = NULL;

    need_kernel();
    xenvf_sriov_info_init(&info);
    ck_assert_int_eq(xenvf_sysfs_set_autoprobe(root, &nvme, false, &err), 0);
    ck_attr(NVME, "sriov_drivers_autoprobe", "0");
    probe(NVME, &info);
    ck_assert_int_eq(info.drivers_autoprobe, 0);
    ck_assert_int_eq(numvfs(NVME, 2), 0);
    /* no probe of the new VFs */
    ck_assert_int_eq(xenvf_sysfs_read_driver(root, &vf1, &drv, &err), 0);
    ck_assert_ptr_null(drv);
    /* design.md 4: every VF bind is ENODEV while autoprobe is 0 */
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf1, "pciback", &err),
                     XENVF_EPERM);
    ck_assert_int_eq(err.sys_errno, ENODEV);
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf1, "nvme", &err),
                     XENVF_EPERM);
    /* ... unless driver_override names the driver (pci_device_can_probe) */
    ck_assert_int_eq(
        xenvf_sysfs_set_driver_override(root, &vf1, "pciback", &err), 0);
    ck_attr("0000:01:00.1", "driver_override", "pciback");
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf1, "nvme", &err),
                     XENVF_EPERM); /* override names another driver */
    ck_assert_msg(xenvf_sysfs_driver_bind(root, &vf1, "pciback", &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(xenvf_sysfs_read_driver(root, &vf1, &drv, &err), 0);
    ck_assert_str_eq(drv, "pciback");
    free(drv);
    ck_assert(exists("bus/pci/drivers/pciback/%s", "0000:01:00.1"));
    /* bound already: EBUSY */
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf1, "pciback", &err),
                     XENVF_EBUSY);
    /* the other VF: autoprobe back to 1, then the bind works */
    ck_assert_int_eq(xenvf_sysfs_set_autoprobe(root, &nvme, true, &err), 0);
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf2, "pciback", &err), 0);
    /* unbind, twice: the second finds nothing to do */
    ck_assert_int_eq(xenvf_sysfs_driver_unbind(root, &vf2, &err), 0);
    ck_assert_int_eq(xenvf_sysfs_read_driver(root, &vf2, &drv, &err), 0);
    ck_assert_ptr_null(drv);
    ck_assert(!exists("bus/pci/drivers/pciback/%s", "0000:01:00.2"));
    ck_assert_int_eq(xenvf_sysfs_driver_unbind(root, &vf2, &err), 0);
    /* clearing the override */
    ck_assert_int_eq(xenvf_sysfs_set_driver_override(root, &vf1, NULL, &err),
                     0);
    ck_attr("0000:01:00.1", "driver_override", "(null)");
    /* kstrtobool: "on"/"off", y/n; anything else EINVAL */
    ck_assert_int_eq(xenvf_sysfs_write_attr(
                         root, &nvme, "sriov_drivers_autoprobe", "off", &err),
                     0);
    ck_attr(NVME, "sriov_drivers_autoprobe", "0");
    ck_assert_int_eq(xenvf_sysfs_write_attr(
                         root, &nvme, "sriov_drivers_autoprobe", "maybe", &err),
                     XENVF_EINVAL);
    /* a driver that does not exist, a device that does not exist */
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf2, "nosuch", &err),
                     XENVF_ENOENT);
    vf2 = bdf("0000:01:00.4");
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &vf2, "pciback", &err),
                     XENVF_ENOENT);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(numvfs_needs_a_pf_driver_with_sriov_configure)
{
    xenvf_bdf nvme = bdf(NVME), vga = bdf(VGA);
    xenvf_sriov_info info;

    need_kernel();
    xenvf_sriov_info_init(&info);
    ck_assert_int_eq(xenvf_sysfs_driver_unbind(root, &nvme, &err), 0);
    probe(NVME, &info);
    ck_assert_ptr_null(info.driver);
    ck_assert_int_eq(numvfs(NVME, 2), XENVF_ENOTSUP);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    /* pciback has no sriov_configure */
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &nvme, "pciback", &err), 0);
    ck_assert_int_eq(numvfs(NVME, 2), XENVF_ENOTSUP);
    ck_assert_int_eq(xenvf_sysfs_driver_unbind(root, &nvme, &err), 0);
    ck_assert_int_eq(xenvf_sysfs_driver_bind(root, &nvme, "nvme", &err), 0);
    ck_assert_int_eq(numvfs(NVME, 2), 0);
    /* a PF driver leaving on unbind leaves its VFs (the kernel warns) */
    ck_assert_int_eq(xenvf_sysfs_driver_unbind(root, &nvme, &err), 0);
    ck_assert(exists("bus/pci/devices/%s", "0000:01:00.2"));
    /* a function without SR-IOV has no sriov_numvfs */
    ck_assert_int_eq(xenvf_sysfs_set_numvfs(root, &vga, 1, &err), XENVF_ENOENT);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(kernfs_permissions)
{
    xenvf_bdf vga = bdf(VGA);
    char path[512], *s = NULL;

    need_kernel();
    /* read-only attribute: EACCES for root too */
    ck_assert_int_eq(xenvf_sysfs_write_attr(root, &vga, "vendor", "0x1", &err),
                     XENVF_EPERM);
    ck_assert_int_eq(err.sys_errno, EACCES);
    ck_attr(VGA, "vendor", "0x1234");
    /* write-only attribute */
    snprintf(path, sizeof(path), "%s/bus/pci/drivers/pciback/bind", root);
    ck_assert_int_eq(xenvf_sysfs_read_file(path, &s, &err), XENVF_EPERM);
    /* sysfs cannot create files */
    ck_assert_int_eq(xenvf_sysfs_write_attr(root, &vga, "newfile", "1", &err),
                     XENVF_ENOENT);
}
END_TEST

START_TEST(reset_is_logged)
{
    xenvf_bdf vf = bdf("0000:01:00.1");
    unsigned n = 9;

    need_kernel();
    ck_assert_int_eq(numvfs(NVME, 1), 0);
    ck_assert_msg(xenvf_sysfs_reset(root, &vf, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(xenvf_sysfs_reset(root, &vf, &err), 0);
    ck_assert_int_eq(fakesysfs_reset_count(fs, "0000:01:00.1", &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(fakesysfs_reset_count(fs, NVME, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(xenvf_sysfs_write_attr(root, &vf, "reset", "2", &err),
                     XENVF_EINVAL);
}
END_TEST

/* Another process, not ours, writing through plain libc calls. */
static int run_sh(const char *script)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

START_TEST(other_processes_see_the_kernel)
{
    char script[1024];
    xenvf_sriov_info info;

    need_kernel();
    if (access("/bin/dd", X_OK))
        return;
    xenvf_sriov_info_init(&info);
    /* dd opens (O_TRUNC, ignored) and write()s like any program */
    snprintf(script, sizeof(script),
             "printf 3 | dd of=%s/bus/pci/devices/" NVME
             "/sriov_numvfs status=none",
             root);
    ck_assert_int_eq(run_sh(script), 0);
    probe(NVME, &info);
    ck_assert_uint_eq(info.num_vfs, 3);
    snprintf(script, sizeof(script),
             "printf 2 | dd of=%s/bus/pci/devices/" NVME
             "/sriov_numvfs status=none 2>/dev/null",
             root);
    ck_assert_int_ne(run_sh(script), 0); /* EBUSY */
    probe(NVME, &info);
    ck_assert_uint_eq(info.num_vfs, 3);
    xenvf_sriov_info_dispose(&info);
}
END_TEST

START_TEST(stdio_writes_too)
{
    char path[512];
    FILE *f;

    need_kernel();
    snprintf(path, sizeof(path), "%s/bus/pci/devices/" NVME "/sriov_numvfs",
             root);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "2\n");
    ck_assert_int_eq(fclose(f), 0);
    ck_attr(NVME, "sriov_numvfs", "2");
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "9");
    errno = 0;
    ck_assert_int_eq(fclose(f), EOF);
    ck_assert_int_eq(errno, ERANGE);
    ck_attr(NVME, "sriov_numvfs", "2");
}
END_TEST

START_TEST(repeated_scans_see_changes)
{
    xenvf_sriov_info *list = NULL;
    size_t nr = 0;

    need_kernel();
    for (unsigned n = 0; n <= 4; n++) {
        ck_assert_int_eq(numvfs(NVME, 0), 0);
        ck_assert_int_eq(numvfs(NVME, n), 0);
        ck_assert_int_eq(xenvf_sriov_scan(root, &list, &nr, &err), 0);
        ck_assert_uint_eq(nr, 2);
        ck_assert_uint_eq(list[0].num_vfs, n);
        ck_assert_uint_eq(list[0].nr_vfs, n);
        xenvf_sriov_info_list_free(list, nr);
    }
}
END_TEST

/* ---- hot-unplug --------------------------------------------------------- */

START_TEST(pf_vanishes)
{
    xenvf_sriov_info *list = NULL, info;
    xenvf_bdf b = bdf(NVME);
    size_t nr = 0;

    xenvf_sriov_info_init(&info);
    ck_assert_int_eq(fakesysfs_remove_device(fs, NVME), 0);
    ck_assert_int_eq(fakesysfs_remove_device(fs, NVME), ENOENT);
    ck_assert_int_eq(xenvf_sriov_probe(root, &b, &info, &err), XENVF_ENOENT);
    ck_assert_int_eq(xenvf_sriov_scan(root, &list, &nr, &err), 0);
    ck_assert_uint_eq(nr, 1);
    ck_bdf(&list[0].bdf, NIC);
    xenvf_sriov_info_list_free(list, nr);
    ck_assert(!exists("bus/pci/drivers/nvme/%s", NVME));
}
END_TEST

START_TEST(pf_with_vfs_vanishes)
{
    xenvf_sriov_info *list = NULL;
    size_t nr = 0;

    need_kernel();
    ck_assert_int_eq(numvfs(NIC, 16), 0);
    ck_assert_int_eq(fakesysfs_remove_device(fs, NIC), 0);
    ck_assert(!exists("bus/pci/devices/%s", "0000:03:02.0"));
    ck_assert(!exists("bus/pci/drivers/iavf/%s", "0000:03:02.0"));
    ck_assert_int_eq(xenvf_sriov_scan(root, &list, &nr, &err), 0);
    ck_assert_uint_eq(nr, 1);
    ck_bdf(&list[0].bdf, NVME);
    xenvf_sriov_info_list_free(list, nr);
}
END_TEST

START_TEST(remove_attribute)
{
    xenvf_bdf vf = bdf("0000:01:00.2"), nvme = bdf(NVME);

    need_kernel();
    ck_assert_int_eq(numvfs(NVME, 3), 0);
    /* a VF removed through sysfs: the PF's link to it goes too */
    ck_assert_int_eq(xenvf_sysfs_write_attr(root, &vf, "remove", "1", &err), 0);
    ck_assert(!exists("bus/pci/devices/%s", "0000:01:00.2"));
    ck_assert(!exists("bus/pci/devices/" NVME "/%s", "virtfn1"));
    ck_assert_int_eq(xenvf_sysfs_write_attr(root, &nvme, "remove", "1", &err),
                     0);
    ck_assert_int_eq(xenvf_sysfs_dev_exists(root, &nvme, &err), XENVF_ENOENT);
    ck_assert(!exists("bus/pci/devices/%s", "0000:01:00.1"));
}
END_TEST

/* ---- the sysfs module's parsing ---------------------------------------- */

START_TEST(strict_attribute_parsing)
{
    uint64_t v;

    ck_assert_int_eq(xenvf_sysfs_parse_hex("0x1b36", 0xffff, &v, &err), 0);
    ck_assert_uint_eq(v, 0x1b36);
    ck_assert_int_eq(xenvf_sysfs_parse_hex("154c", 0xffff, &v, &err), 0);
    ck_assert_uint_eq(v, 0x154c);
    ck_assert_int_eq(xenvf_sysfs_parse_hex("0X0A", 0xffff, &v, &err), 0);
    ck_assert_uint_eq(v, 10);
    ck_assert_int_eq(xenvf_sysfs_parse_hex("0x10000", 0xffff, &v, &err),
                     XENVF_ERANGE);
    ck_assert_int_eq(
        xenvf_sysfs_parse_hex("0x10000000000000000", UINT64_MAX, &v, &err),
        XENVF_ERANGE);
    ck_assert_int_eq(
        xenvf_sysfs_parse_hex("ffffffffffffffff", UINT64_MAX, &v, &err), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    static const char *const bad[] = {"",   "0x", "x1",   "1g",   " 1",
                                      "1 ", "-1", "0x-1", "0x 1", "1\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(xenvf_sysfs_parse_hex(bad[i], UINT64_MAX, &v, &err) ==
                          XENVF_EINVAL,
                      "'%s' accepted", bad[i]);
    ck_assert_int_eq(xenvf_sysfs_parse_hex(NULL, 1, &v, &err), XENVF_EINVAL);
}
END_TEST

START_TEST(reading_attributes)
{
    xenvf_bdf nic = bdf(NIC), vga = bdf(VGA);
    uint64_t v;
    char *s = NULL;

    ck_assert_int_eq(
        xenvf_sysfs_read_uint(root, &nic, "sriov_totalvfs", 0xffff, &v, &err),
        0);
    ck_assert_uint_eq(v, 64);
    ck_assert_int_eq(
        xenvf_sysfs_read_uint(root, &nic, "sriov_offset", 0xffff, &v, &err), 0);
    ck_assert_uint_eq(v, 16);
    /* a decimal where hex is: strict */
    ck_assert_int_eq(
        xenvf_sysfs_read_uint(root, &nic, "vendor", UINT64_MAX, &v, &err),
        XENVF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "vendor"));
    /* numa_node is "-1" */
    ck_assert_int_eq(
        xenvf_sysfs_read_uint(root, &vga, "numa_node", UINT64_MAX, &v, &err),
        XENVF_EINVAL);
    ck_assert_int_eq(
        xenvf_sysfs_read_attr(root, &vga, "sriov_totalvfs", &s, &err),
        XENVF_ENOENT);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, VGA "/sriov_totalvfs"));
    ck_assert_int_eq(xenvf_sysfs_read_link(root, &vga, "physfn", &s, &err),
                     XENVF_ENOENT);
    ck_assert_int_eq(xenvf_sysfs_read_link(root, &vga, "driver", &s, &err), 0);
    ck_assert_str_eq(s, "bochs-drm");
    free(s);
}
END_TEST

static Suite *sriov_suite(void)
{
    Suite *s = suite_create("sriov");
    TCase *tc;

    tc = tcase_create("discovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, scan_lists_exactly_the_pfs);
    tcase_add_test(tc, nic_fields_are_the_config_bytes);
    tcase_add_test(tc, nvme_fields_are_the_config_bytes);
    tcase_add_test(tc, probe_absent_or_without_sriov);
    tcase_add_test(tc, scan_of_a_missing_root_fails_cleanly);
    tcase_add_test(tc, vf_bdfs_before_vfs_exist);
    tcase_add_test(tc, broken_capability_chains);
    tcase_add_test(tc, strict_attribute_parsing);
    tcase_add_test(tc, reading_attributes);
    suite_add_tcase(s, tc);

    tc = tcase_create("kernel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, enable_creates_vfs);
    tcase_add_test(tc, ebusy_changes_nothing);
    tcase_add_test(tc, erange_past_totalvfs);
    tcase_add_test(tc, enable_is_all_or_nothing);
    tcase_add_test(tc, einval_for_non_numbers);
    tcase_add_test(tc, zero_removes_every_vf);
    tcase_add_test(tc, autoprobe_off_and_binding);
    tcase_add_test(tc, numvfs_needs_a_pf_driver_with_sriov_configure);
    tcase_add_test(tc, kernfs_permissions);
    tcase_add_test(tc, reset_is_logged);
    tcase_add_test(tc, other_processes_see_the_kernel);
    tcase_add_test(tc, stdio_writes_too);
    tcase_add_test(tc, repeated_scans_see_changes);
    suite_add_tcase(s, tc);

    tc = tcase_create("hotplug");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pf_vanishes);
    tcase_add_test(tc, pf_with_vfs_vanishes);
    tcase_add_test(tc, remove_attribute);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN_FAKE_KERNEL(sriov_suite)
