/*
 * xenvf-guest's binding (guest/bind.c) against Debian's real xenstored and
 * the fake kernel: dom0 publishes a guest's VF nodes and pciback's backend
 * nodes as they are on a real host; the guest's side finds each VF where
 * pcifront put it and binds it to the driver its function description
 * names, whatever the kernel's ID match did first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenstore.h>

#include <xenvf/switch.h>
#include <xenvf/sysfs.h>
#include <xenvf/xs.h>

#include "../../guest/guest.h"
#include "../harness/check-main.h"
#include "../harness/fakesysfs.h"
#include "../harness/xs-harness.h"

#define DOMID 5

static xs_harness *hs;
static xenvf_xs xs;
static fakesysfs *fs;
static xsh_guest *guest;
static xenvf_err err;

/* The guest reads its own relative paths: the test is dom0, so they are
 * made absolute as xenstored would for domain 5. */
static int guest_read(void *ctx, const char *path, char **out, xenvf_err *e)
{
    char abs[256];

    if (path[0] != '/') {
        snprintf(abs, sizeof(abs), "/local/domain/%d/%s", DOMID, path);
        path = abs;
    }
    return xenvf_xs_read(&xs, path, out, e);
}

static void put(const char *path, const char *value)
{
    ck_assert_msg(!xenvf_xs_write(&xs, path, value, &err), "%s", err.msg);
}

/* VF <local> of the guest: host address, function (NULL: none), boot
 * position (0: none). */
static void publish_boot(unsigned local, const char *host, const char *function,
                         unsigned boot)
{
    xenvf_guest_vf g;

    xenvf_guest_vf_init(&g);
    g.local_index = local;
    g.pf_id = strdup("nvme0");
    g.vf_index = local;
    ck_assert_int_eq(xenvf_bdf_parse(host, &g.bdf, NULL), 0);
    if (function)
        g.config.function = strdup(function);
    if (boot)
        g.config.boot = boot;
    ck_assert_msg(!xenvf_xs_publish_guest(&xs, DOMID, &g, 1, &err), "%s",
                  err.msg);
    xenvf_guest_vf_dispose(&g);
}

static void publish(unsigned local, const char *host, const char *function)
{
    publish_boot(local, host, function, 0);
}

static void setup(void)
{
    xenvf_err_init(&err);
    ck_assert_int_eq(xsh_start(&hs), 0);
    xenvf_xs_init(&xs);
    ck_assert_msg(!xenvf_xs_open(&xs, &err), "%s", err.msg);
    ck_assert_int_eq(xsh_domain_create(hs, DOMID, &guest), 0);
    ck_assert_int_eq(fakesysfs_new(&fs), 0);
    /* the guest's PCI bus: three VFs of one PF, the same IDs (pcifront's
     * vpci slots); the kernel's ID match gave the first to nvme already */
    ck_assert_int_eq(fakesysfs_add_driver(fs, "nvme", false), 0);
    ck_assert_int_eq(fakesysfs_add_driver(fs, "pci-stub", false), 0);
    ck_assert_int_eq(fakesysfs_add_device(fs, "0000:00:00.0", 0x1b36, 0x0011,
                                          0x010802, "nvme"),
                     0);
    ck_assert_int_eq(fakesysfs_add_device(fs, "0000:00:01.0", 0x1b36, 0x0011,
                                          0x010802, NULL),
                     0);
    ck_assert_int_eq(fakesysfs_add_device(fs, "0000:00:02.0", 0x1b36, 0x0011,
                                          0x010802, NULL),
                     0);
    /* pciback's nodes: host address and the guest's (two-digit function) */
    put("/local/domain/5/device/pci/0/backend",
        "/local/domain/0/backend/pci/5/0");
    put("/local/domain/0/backend/pci/5/0/num_devs", "3");
    put("/local/domain/0/backend/pci/5/0/dev-0", "0000:01:00.1");
    put("/local/domain/0/backend/pci/5/0/vdev-0", "0000:00:00.00");
    put("/local/domain/0/backend/pci/5/0/dev-1", "0000:01:00.2");
    put("/local/domain/0/backend/pci/5/0/vdev-1", "0000:00:01.00");
    put("/local/domain/0/backend/pci/5/0/dev-2", "0000:01:00.3");
    put("/local/domain/0/backend/pci/5/0/vdev-2", "0000:00:02.00");
}

static void teardown(void)
{
    xsh_guest_close(guest);
    guest = NULL;
    xenvf_xs_dispose(&xs);
    if (hs)
        xsh_stop(hs);
    hs = NULL;
    fakesysfs_free(fs);
    fs = NULL;
}

static char *status_of(unsigned local)
{
    char path[96], *v = NULL;

    snprintf(path, sizeof(path), "/local/domain/%d/xenvf/vf/%u/status", DOMID,
             local);
    ck_assert_int_eq(xenvf_xs_read(&xs, path, &v, NULL), 0);
    return v;
}

static char *driver_of(const char *bdf)
{
    xenvf_bdf b;
    char *d = NULL;

    ck_assert_int_eq(xenvf_bdf_parse(bdf, &b, NULL), 0);
    ck_assert_int_eq(xenvf_sysfs_read_driver(fakesysfs_root(fs), &b, &d, NULL),
                     0);
    return d;
}

/* The driver bound to bdf is want ("" for none). */
static void assert_driver(const char *bdf, const char *want)
{
    char *d = driver_of(bdf);

    ck_assert_msg(!strcmp(d ? d : "", want), "%s: driver %s, want %s", bdf,
                  d ? d : "none", *want ? want : "none");
    free(d);
}

/* Same vendor and device ID, three descriptions: each VF ends up as its
 * description says, one the kernel had already claimed included, and a
 * description naming a driver the guest lacks leaves its VF unbound with a
 * status that says so. dom0 reads it all back. */
START_TEST(each_vf_bound_as_described)
{
    guest_opts o = {.sysfs_root = fakesysfs_root(fs),
                    .modprobe = "false", /* no module loads here */
                    .read = guest_read};
    unsigned bound, failed;
    char *st;

    ck_assert_msg(fakesysfs_kernel_active(), "fakesysfs-kernel.so not loaded");
    publish(0, "0000:01:00.1", "pci-stub");
    publish(1, "0000:01:00.2", "nvme");
    publish(2, "0000:01:00.3", "fpga_mgr:bitstream-7");
    ck_assert_msg(!guest_bind_all(&o, &xs, DOMID, &bound, &failed, &err), "%s",
                  err.msg);
    ck_assert_uint_eq(bound, 2);
    ck_assert_uint_eq(failed, 1);
    assert_driver("0000:00:00.0", "pci-stub"); /* taken from nvme */
    assert_driver("0000:00:01.0", "nvme");
    assert_driver("0000:00:02.0", "");
    ck_assert_str_eq(st = status_of(0), "bound pci-stub");
    free(st);
    ck_assert_str_eq(st = status_of(1), "bound nvme");
    free(st);
    st = status_of(2);
    ck_assert_msg(strstr(st, "no driver 'fpga_mgr'") &&
                      strstr(st, "0000:00:02.0 left unbound"),
                  "%s", st);
    free(st);
    /* dom0's reader finds each by PF and index */
    ck_assert_int_eq(
        xenvf_xs_read_guest_status(&xs, DOMID, "nvme0", 1, &st, &err), 0);
    ck_assert_str_eq(st, "bound nvme");
    free(st);

    /* again: nothing changes, nothing is unbound on the way */
    ck_assert_int_eq(guest_bind_all(&o, &xs, DOMID, &bound, &failed, &err), 0);
    ck_assert_uint_eq(bound, 2);
    assert_driver("0000:00:00.0", "pci-stub");
}
END_TEST

/* The guest may write its VFs' status and nothing else of them. */
START_TEST(guest_writes_status_only)
{
    char *v = NULL;

    publish(0, "0000:01:00.1", "nvme");
    ck_assert_int_eq(xsh_guest_write(guest, "/local/domain/5/xenvf/vf/0/status",
                                     "bound nvme"),
                     0);
    ck_assert_int_eq(xsh_guest_write(guest,
                                     "/local/domain/5/xenvf/vf/0/function",
                                     "vfio-pci"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_write(guest, "/local/domain/5/xenvf/vf/0/bdf",
                                     "0000:09:00.0"),
                     EACCES);
    ck_assert_int_eq(
        xsh_guest_read(guest, "/local/domain/5/xenvf/vf/0/function", &v), 0);
    ck_assert_str_eq(v, "nvme");
    free(v);
}
END_TEST

/* Without a description the kernel's choice stands; a VF that is not
 * passed through (no pciback pair) is named, not guessed. */
START_TEST(no_description_and_not_passed_through)
{
    guest_opts o = {.sysfs_root = fakesysfs_root(fs), .read = guest_read};
    char status[GUEST_STATUS_MAX];
    guest_vf vf;

    guest_vf_init(&vf);
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.1", &vf.host, NULL), 0);
    ck_assert_int_eq(guest_bind_vf(&o, &vf, status, sizeof(status)), 0);
    ck_assert_str_eq(status,
                     "no function description: 0000:00:00.0 is bound to nvme");
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.7", &vf.host, NULL), 0);
    vf.function = strdup("nvme");
    ck_assert_int_eq(guest_bind_vf(&o, &vf, status, sizeof(status)),
                     XENVF_ENOENT);
    ck_assert_msg(strstr(status, "0000:01:00.7 is not passed through"), "%s",
                  status);
    guest_vf_dispose(&vf);
}
END_TEST

/* The boot list: the VFs with a boot position, in boot order, each with
 * its address in the guest, "-" for one pcifront does not show (yet); a
 * boot node dom0 wrote wrong is an error naming the VF. */
START_TEST(boot_list_in_boot_order)
{
    guest_opts o = {.sysfs_root = fakesysfs_root(fs), .read = guest_read};
    char line[GUEST_BOOT_LINE_MAX];
    guest_boot *list;
    size_t nr;

    publish_boot(0, "0000:01:00.1", "nvme", 2);
    publish_boot(1, "0000:01:00.2", NULL, 0);
    publish_boot(2, "0000:01:00.3", NULL, 1);
    publish_boot(3, "0000:01:00.4", "nvme", 3); /* not in pciback's nodes */
    ck_assert_msg(!guest_boot_list(&o, &xs, DOMID, &list, &nr, &err), "%s",
                  err.msg);
    ck_assert_uint_eq(nr, 3);
    guest_boot_format(&list[0], line, sizeof(line));
    ck_assert_str_eq(line, "1 2 0000:01:00.3 0000:00:02.0");
    guest_boot_format(&list[1], line, sizeof(line));
    ck_assert_str_eq(line, "2 0 0000:01:00.1 0000:00:00.0");
    guest_boot_format(&list[2], line, sizeof(line));
    ck_assert_str_eq(line, "3 3 0000:01:00.4 -");
    free(list);

    put("/local/domain/5/xenvf/vf/2/boot", "0");
    ck_assert_int_eq(guest_boot_list(&o, &xs, DOMID, &list, &nr, &err),
                     XENVF_ERANGE);
    ck_assert_msg(strstr(err.msg, "vf/2: boot 0 is out of range"), "%s",
                  err.msg);
    ck_assert_ptr_null(list);
}
END_TEST

/* No boot position anywhere: an empty list, not an error. */
START_TEST(boot_list_empty)
{
    guest_opts o = {.sysfs_root = fakesysfs_root(fs), .read = guest_read};
    guest_boot *list;
    size_t nr = 7;

    publish(0, "0000:01:00.1", "nvme");
    ck_assert_int_eq(guest_boot_list(&o, &xs, DOMID, &list, &nr, &err), 0);
    ck_assert_uint_eq(nr, 0);
    ck_assert_ptr_null(list);
}
END_TEST

START_TEST(function_names_a_driver)
{
    char d[64];

    ck_assert_int_eq(guest_function_driver("nvme", d, sizeof(d), NULL), 0);
    ck_assert_str_eq(d, "nvme");
    ck_assert_int_eq(guest_function_driver("vfio-pci:dpdk", d, sizeof(d), NULL),
                     0);
    ck_assert_str_eq(d, "vfio-pci");
    ck_assert_int_eq(guest_function_driver(":x", d, sizeof(d), &err),
                     XENVF_EINVAL);
    ck_assert_int_eq(guest_function_driver("a.b", d, sizeof(d), &err),
                     XENVF_EINVAL);
}
END_TEST

/* ---- the I/O switch (guest/switch.c) against the real xenstored, with
 * device-mapper ops that record what they were asked: block devices are
 * files of a temporary /dev, their wwids a temporary /sys/class/block. */

static struct {
    char name[32], dev[256];
    uint64_t sectors;
    unsigned creates, swaps;
    int fail_swap;
    char unreadable[32]; /* a device whose reads fail */
} dm;

static int fake_size(void *ctx, const char *dev, uint64_t *sectors,
                     xenvf_err *e)
{
    struct stat st;

    (void)ctx;
    if (stat(dev, &st))
        return xenvf_err_set(e, XENVF_ENOENT, "%s: cannot open it", dev);
    *sectors = (uint64_t)st.st_size / 512;
    return 0;
}

static int fake_probe(void *ctx, const char *dev, xenvf_err *e)
{
    (void)ctx;
    if (dm.unreadable[0] && strstr(dev, dm.unreadable))
        return xenvf_err_set(e, XENVF_EIO, "%s: a read failed", dev);
    return access(dev, R_OK) ? XENVF_ENOENT : 0;
}

static int fake_create(void *ctx, const char *name, const char *dev,
                       uint64_t sectors, xenvf_err *e)
{
    (void)ctx;
    (void)e;
    snprintf(dm.name, sizeof(dm.name), "%s", name);
    snprintf(dm.dev, sizeof(dm.dev), "%s", dev);
    dm.sectors = sectors;
    dm.creates++;
    return 0;
}

static int fake_swap(void *ctx, const char *name, const char *dev,
                     uint64_t sectors, long *paused_us, xenvf_err *e)
{
    (void)ctx;
    if (dm.fail_swap)
        return xenvf_err_set(e, XENVF_EIO,
                             "device-mapper suspend of %s "
                             "failed",
                             name);
    ck_assert_str_eq(name, dm.name);
    ck_assert_uint_eq(sectors, dm.sectors);
    snprintf(dm.dev, sizeof(dm.dev), "%s", dev);
    dm.swaps++;
    *paused_us = 42;
    return 0;
}

static const guest_dm_ops fake_dm = {.size = fake_size,
                                     .probe = fake_probe,
                                     .create = fake_create,
                                     .swap = fake_swap};

static char sw_root[64];

/* a block device NAME of KIB KiB in the fake /dev, with wwid (NULL: none) */
static void blockdev(const char *name, unsigned kib, const char *wwid)
{
    char p[256];
    int fd;

    snprintf(p, sizeof(p), "%s/dev/%s", sw_root, name);
    fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)kib * 1024), 0);
    close(fd);
    if (!wwid)
        return;
    snprintf(p, sizeof(p), "%s/sys/%s", sw_root, name);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/sys/%s/wwid", sw_root, name);
    fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, wwid, strlen(wwid)), (ssize_t)strlen(wwid));
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
}

static void unblockdev(const char *name)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/dev/%s", sw_root, name);
    unlink(p);
    snprintf(p, sizeof(p), "%s/sys/%s/wwid", sw_root, name);
    unlink(p);
    snprintf(p, sizeof(p), "%s/sys/%s", sw_root, name);
    rmdir(p);
}

static char *switch_of(unsigned local)
{
    char path[96], *v = NULL;

    snprintf(path, sizeof(path), "/local/domain/%d/xenvf/vf/%u/switch", DOMID,
             local);
    ck_assert_int_eq(xenvf_xs_read(&xs, path, &v, NULL), 0);
    ck_assert_ptr_nonnull(v);
    return v;
}

static void ck_switch(unsigned local, const char *want)
{
    char *v = switch_of(local);

    ck_assert_msg(!strncmp(v, want, strlen(want)), "switch '%s', not '%s...'",
                  v, want);
    free(v);
}

static void handle(guest_switch *s, const char *request)
{
    ck_assert_msg(!guest_switch_handle(&fake_dm, s, &xs, DOMID, request, &err),
                  "%s", err.msg);
}

/* The guest writes `switch`, dom0 `switch-request`; the guest's device
 * moves to the PV disk and back to the VF's namespace, found again by its
 * wwid under another name; what cannot be done is answered with why, and
 * the I/O stays where it was. */
START_TEST(switch_moves_between_paths)
{
    guest_switch s = {.wait_ms = 100};
    char p[256], dev[256], *v;

    publish(0, "0000:01:00.1", "nvme");
    ck_switch(0, ""); /* there, empty: no component yet */
    put("/local/domain/5/xenvf/vf/0/switch-request", "vf");
    ck_assert_int_eq(
        xsh_guest_write(guest, "/local/domain/5/xenvf/vf/0/switch-request",
                        "pv xvda"),
        EACCES);
    ck_assert_int_eq(
        xsh_guest_write(guest, "/local/domain/5/xenvf/vf/0/switch", "vf"), 0);

    snprintf(sw_root, sizeof(sw_root), "/tmp/test-switch-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(sw_root));
    snprintf(p, sizeof(p), "%s/dev", sw_root);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    s.dev_dir = strdup(p);
    snprintf(p, sizeof(p), "%s/sys", sw_root);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    s.sys_block = strdup(p);
    blockdev("nvme0n2", 64, "uuid.8a1c");
    blockdev("nvme0n1", 64, "uuid.0001"); /* another namespace */
    memset(&dm, 0, sizeof(dm));

    snprintf(dev, sizeof(dev), "%s/dev/nvme0n2", sw_root);
    ck_assert_msg(!guest_switch_start(&fake_dm, &s, &xs, DOMID, 0, dev, &err),
                  "%s", err.msg);
    ck_assert_str_eq(dm.name, "xenvf-vf0");
    ck_assert_str_eq(dm.dev, dev);
    ck_assert_uint_eq(dm.sectors, 128);
    ck_switch(0, "vf");

    /* no PV disk yet, then one too small: nothing moves */
    handle(&s, "pv xvdb");
    ck_switch(0, "error: xenvf-vf0: no readable PV disk xvdb after 100 ms; "
                 "its I/O stays on the VF path");
    blockdev("xvdb", 32, NULL);
    handle(&s, "pv xvdb");
    v = switch_of(0);
    ck_assert_msg(!strncmp(v, "error: xenvf-vf0: ", 18) &&
                      strstr(v, "xvdb has 64 sectors, xenvf-vf0 needs 128"),
                  "%s", v);
    free(v);
    ck_assert_uint_eq(dm.swaps, 0);
    /* a request that is not one */
    handle(&s, "pv ../sda");
    ck_switch(0, "error: xenvf-vf0: switch request 'pv ../sda'");

    blockdev("xvdb", 64, NULL);
    handle(&s, "pv xvdb");
    ck_switch(0, "pv paused=0.000042");
    snprintf(p, sizeof(p), "%s/dev/xvdb", sw_root);
    ck_assert_str_eq(dm.dev, p);
    ck_assert_int_eq(s.on, XENVF_PATH_PV);
    /* restored as another domain: dom0 made the node anew, the guest says
     * where its I/O is */
    put("/local/domain/5/xenvf/vf/0/switch", "");
    ck_assert_int_eq(guest_switch_announce(&s, &xs, DOMID, &err), 0);
    ck_switch(0, "pv");

    /* the domain moved: its VF's namespace is nvme1n2 now */
    unblockdev("nvme0n2");
    handle(&s, "vf");
    ck_switch(0, "error: xenvf-vf0: the VF's namespace (uuid.8a1c) was not "
                 "back and readable in 100 ms; its I/O stays on the PV path");
    /* back, but its driver still recovering: reads fail */
    blockdev("nvme1n2", 64, "uuid.8a1c");
    snprintf(dm.unreadable, sizeof(dm.unreadable), "nvme1n2");
    handle(&s, "vf");
    ck_switch(0, "error: xenvf-vf0: the VF's namespace (uuid.8a1c) was not "
                 "back and readable");
    ck_assert_uint_eq(dm.swaps, 1);
    dm.unreadable[0] = '\0';
    dm.fail_swap = 1;
    handle(&s, "vf");
    ck_switch(0, "error: xenvf-vf0: device-mapper suspend of xenvf-vf0 "
                 "failed; its I/O stays on the PV path");
    ck_assert_int_eq(s.on, XENVF_PATH_PV);
    dm.fail_swap = 0;
    handle(&s, "vf");
    ck_switch(0, "vf paused=0.000042");
    snprintf(p, sizeof(p), "%s/dev/nvme1n2", sw_root);
    ck_assert_str_eq(dm.dev, p);
    ck_assert_uint_eq(dm.swaps, 2);
    ck_assert_uint_eq(dm.creates, 1);

    unblockdev("nvme1n2");
    unblockdev("nvme0n1");
    unblockdev("xvdb");
    rmdir(s.dev_dir);
    rmdir(s.sys_block);
    rmdir(sw_root);
    free((char *)s.dev_dir);
    free((char *)s.sys_block);
}
END_TEST

static Suite *guest_suite(void)
{
    Suite *s = suite_create("guest");
    TCase *tc = tcase_create("bind");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, each_vf_bound_as_described);
    tcase_add_test(tc, guest_writes_status_only);
    tcase_add_test(tc, no_description_and_not_passed_through);
    tcase_add_test(tc, function_names_a_driver);
    tcase_add_test(tc, boot_list_in_boot_order);
    tcase_add_test(tc, boot_list_empty);
    tcase_add_test(tc, switch_moves_between_paths);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN_FAKE_KERNEL(guest_suite)
