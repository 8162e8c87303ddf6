/*
 * libxenvf's NVMe helpers (lib/nvme.c) without a controller: the admin
 * commands against a scripted one (xenvf_nvme_set_transport), the sysfs
 * lookups (a PF's controller, a namespace's block device, with and without
 * native multipath's hidden path devices) against a tree made here.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenvf/nvme.h>

#include "../harness/check-main.h"

static char root[PATH_MAX];
static xenvf_err err;
static int answer;        /* what the scripted controller says */
static int rescan_answer; /* and to a rescan */
static struct nvme_admin_cmd last;
static uint8_t last_data[16];

static int scripted(void *ctx, int fd, unsigned long req,
                    struct nvme_admin_cmd *cmd)
{
    (void)ctx;
    (void)fd;
    if (req == (unsigned long)NVME_IOCTL_RESCAN)
        return cmd ? -EINVAL : rescan_answer;
    last = *cmd;
    if (cmd->opcode == 0x06 && cmd->cdw10 == 1) { /* Identify Controller */
        uint8_t *id = (uint8_t *)(uintptr_t)cmd->addr;

        id[78] = 0x34;
        id[79] = 0x12;
    } else if (cmd->addr) {
        memcpy(last_data, (void *)(uintptr_t)cmd->addr, sizeof(last_data));
    }
    return answer;
}

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX * 2], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (slash = strchr(path + strlen(root) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    if (text) {
        ck_assert_ptr_nonnull(f = fopen(path, "w"));
        fputs(text, f);
        fclose(f);
    } else {
        mkdir(path, 0755);
    }
}

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/xenvf-nvme-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    xenvf_err_init(&err);
    answer = rescan_answer = 0;
    memset(&last, 0, sizeof(last));
    xenvf_nvme_set_transport(scripted, NULL);
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    ck_assert_int_eq(system(cmd), 0);
    xenvf_nvme_set_transport(NULL, NULL);
}

START_TEST(cntlid_from_identify_controller)
{
    uint16_t id = 0;

    ck_assert_int_eq(xenvf_nvme_cntlid(3, &id, &err), 0);
    ck_assert_uint_eq(last.opcode, 0x06);
    ck_assert_uint_eq(last.cdw10, 1);
    ck_assert_uint_eq(id, 0x1234);
}
END_TEST

START_TEST(attachment_sends_a_controller_list)
{
    uint8_t *buf = aligned_alloc(4096, XENVF_NVME_ID_SIZE);

    ck_assert_int_eq(xenvf_nvme_ns_attachment(3, true, 2, 0x102, buf, &err), 0);
    ck_assert_uint_eq(last.opcode, 0x15);
    ck_assert_uint_eq(last.nsid, 2);
    ck_assert_uint_eq(last.cdw10, 0); /* attach */
    ck_assert_uint_eq(last_data[0], 1);
    ck_assert_uint_eq(last_data[2], 0x02);
    ck_assert_uint_eq(last_data[3], 0x01);
    ck_assert_int_eq(xenvf_nvme_ns_attachment(3, false, 2, 0, buf, &err), 0);
    ck_assert_uint_eq(last.cdw10, 1); /* detach */
    free(buf);
}
END_TEST

START_TEST(attachment_already_so_is_success_else_named)
{
    uint8_t *buf = aligned_alloc(4096, XENVF_NVME_ID_SIZE);

    answer = 0x4118; /* DNR + Namespace Already Attached */
    ck_assert_int_eq(xenvf_nvme_ns_attachment(3, true, 2, 0, buf, &err), 0);
    answer = 0x411a; /* Namespace Not Attached */
    ck_assert_int_eq(xenvf_nvme_ns_attachment(3, false, 2, 0, buf, &err), 0);
    answer = 0x4119;
    ck_assert_int_eq(xenvf_nvme_ns_attachment(3, true, 2, 7, buf, &err),
                     XENVF_EIO);
    ck_assert_str_eq(err.msg, "namespace 2 to controller 7: nvme namespace "
                              "attach: NVMe status 0x119 (Namespace Is "
                              "Private)");
    answer = -5;
    ck_assert_int_eq(xenvf_nvme_ns_attachment(3, true, 2, 7, buf, &err),
                     XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "nvme namespace attach"), "%s", err.msg);
    free(buf);
}
END_TEST

START_TEST(block_device_of_a_namespace)
{
    char name[XENVF_NVME_NAME_MAX];

    put("class/nvme/nvme0/nvme0n1/nsid", "1\n");
    put("class/nvme/nvme0/nvme0n12/nsid", "12\n");
    put("class/nvme/nvme0/power", NULL);
    ck_assert_int_eq(xenvf_nvme_ns_block(root, "nvme0", 12, name, &err), 0);
    ck_assert_str_eq(name, "nvme0n12");
    ck_assert_int_eq(xenvf_nvme_ns_block(root, "nvme0", 2, name, &err),
                     XENVF_ENOENT);
    ck_assert_str_eq(err.msg, "no block device of namespace 2 on nvme0");
    ck_assert_int_eq(xenvf_nvme_ns_block(root, "nvme9", 2, name, &err),
                     XENVF_ENOENT);
}
END_TEST

/* native multipath: the controller lists its hidden path device, the
 * block device to use is the namespace head */
START_TEST(block_device_of_a_multipath_namespace)
{
    char name[XENVF_NVME_NAME_MAX];

    put("class/nvme/nvme1/nvme3c1n2/nsid", "2\n");
    ck_assert_int_eq(xenvf_nvme_ns_block(root, "nvme1", 2, name, &err), 0);
    ck_assert_str_eq(name, "nvme3n2");
}
END_TEST

/* the disk's identity as the kernel says it, and what is not one */
START_TEST(wwid_of_a_namespace)
{
    char wwid[XENVF_NVME_WWID_MAX], long_one[XENVF_NVME_WWID_MAX + 8];

    put("block/nvme0n2/wwid", "eui.0011223344556677\n");
    ck_assert_int_eq(xenvf_nvme_ns_wwid(root, "nvme0n2", wwid, &err), 0);
    ck_assert_str_eq(wwid, "eui.0011223344556677");
    put("block/nvme0n3/wwid", "\n");
    ck_assert_int_eq(xenvf_nvme_ns_wwid(root, "nvme0n3", wwid, &err),
                     XENVF_EINVAL);
    ck_assert_msg(strstr(err.msg, "nvme0n3/wwid: an empty wwid"), "%s",
                  err.msg);
    memset(long_one, 'a', sizeof(long_one) - 1);
    long_one[sizeof(long_one) - 1] = '\0';
    put("block/nvme0n4/wwid", long_one);
    ck_assert_int_eq(xenvf_nvme_ns_wwid(root, "nvme0n4", wwid, &err),
                     XENVF_EINVAL);
    ck_assert_msg(strstr(err.msg, "too long a wwid"), "%s", err.msg);
    put("block/nvme0n5/wwid", "eui.00:11\n");
    ck_assert_int_eq(xenvf_nvme_ns_wwid(root, "nvme0n5", wwid, &err),
                     XENVF_EINVAL);
    ck_assert_msg(strstr(err.msg, "nvme0n5/wwid: a wwid of odd bytes: "
                                  "'eui.00:11'"),
                  "%s", err.msg);
    ck_assert_int_ne(xenvf_nvme_ns_wwid(root, "nvme0n9", wwid, &err), 0);
}
END_TEST

START_TEST(controller_of_a_pf)
{
    const xenvf_bdf pf = {.seg = 0, .bus = 1, .dev = 0, .func = 0};
    char name[XENVF_NVME_NAME_MAX], dev[PATH_MAX + 8];
    int fd;

    ck_assert_int_eq(xenvf_nvme_open(root, root, &pf, name, &err),
                     -XENVF_ENOENT);
    put("bus/pci/devices/0000:01:00.0/nvme/nvme4", NULL);
    snprintf(dev, sizeof(dev), "%s/nvme4", root);
    ck_assert_int_eq(xenvf_nvme_open(root, root, &pf, name, &err),
                     -XENVF_EIO); /* no node yet */
    close(open(dev, O_CREAT | O_WRONLY, 0600));
    fd = xenvf_nvme_open(root, root, &pf, name, &err);
    ck_assert_int_ge(fd, 0);
    ck_assert_str_eq(name, "nvme4");
    close(fd);
}
END_TEST

START_TEST(rescan_through_the_transport)
{
    ck_assert_int_eq(xenvf_nvme_rescan(3, &err), 0);
    rescan_answer = -ENODEV;
    ck_assert_int_eq(xenvf_nvme_rescan(3, &err), XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "nvme ns-rescan"), "%s", err.msg);
}
END_TEST

static Suite *nvme_suite(void)
{
    Suite *s = suite_create("nvme");
    TCase *tc = tcase_create("helpers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cntlid_from_identify_controller);
    tcase_add_test(tc, attachment_sends_a_controller_list);
    tcase_add_test(tc, attachment_already_so_is_success_else_named);
    tcase_add_test(tc, block_device_of_a_namespace);
    tcase_add_test(tc, block_device_of_a_multipath_namespace);
    tcase_add_test(tc, wwid_of_a_namespace);
    tcase_add_test(tc, controller_of_a_pf);
    tcase_add_test(tc, rescan_through_the_transport);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(nvme_suite)
