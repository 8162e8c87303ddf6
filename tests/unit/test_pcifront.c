/*
 * A driver domain finds its PF, a guest its VFs, where pcifront put them:
 * pciback's backend nodes pair the host address (dev-N) with the local one
 * (vdev-N, vpci mode); without vdev-N (passthrough mode) the addresses are
 * the same. Nodes come from a table standing in for xenstore; the real
 * nodes are read in the QEMU tier's driver-domain scenario.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/pcifront.h>
#include "../harness/check-main.h"

#define BE "/local/domain/0/backend/pci/7/0"

static const char *const *nodes; /* path, value, ..., NULL */
static int reads;

static int table_read(void *ctx, const char *path, char **out, xenvf_err *err)
{
    (void)ctx;
    (void)err;
    reads++;
    for (const char *const *n = nodes; n[0]; n += 2)
        if (!strcmp(n[0], path)) {
            *out = strdup(n[1]);
            return 0;
        }
    *out = NULL;
    return 0;
}

static int lookup(const char *host, char *local_out)
{
    xenvf_bdf h, l;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_bdf_parse(host, &h, NULL), 0);
    rc = xenvf_pcifront_local_bdf(table_read, NULL, &h, &l, &err);
    if (!rc)
        xenvf_bdf_format(&l, local_out);
    else
        strcpy(local_out, err.msg);
    return rc;
}

static const char *const VPCI[] = {
    "device/pci/0/backend",
    BE,
    BE "/num_devs",
    "2",
    BE "/dev-0",
    "0000:01:00.1",
    BE "/vdev-0",
    "0000:00:00.0",
    BE "/dev-1",
    "0000:02:00.0",
    BE "/vdev-1",
    "0000:00:01.00", /* pciback's own spelling */
    NULL,
};

START_TEST(vpci_mode_translates)
{
    char out[256];

    nodes = VPCI;
    ck_assert_int_eq(lookup("0000:02:00.0", out), 0);
    ck_assert_str_eq(out, "0000:00:01.0");
    ck_assert_int_eq(lookup("0000:01:00.1", out), 0);
    ck_assert_str_eq(out, "0000:00:00.0");
}
END_TEST

START_TEST(passthrough_mode_keeps_the_address)
{
    static const char *const PT[] = {
        "device/pci/0/backend", BE,   BE "/num_devs", "1", BE "/dev-0",
        "0000:02:00.0",         NULL,
    };
    char out[256];

    nodes = PT;
    ck_assert_int_eq(lookup("0000:02:00.0", out), 0);
    ck_assert_str_eq(out, "0000:02:00.0");
}
END_TEST

START_TEST(not_passed_through_is_named)
{
    static const char *const NONE[] = {NULL};
    char out[256];

    nodes = VPCI;
    ck_assert_int_eq(lookup("0000:03:00.0", out), XENVF_ENOENT);
    ck_assert_msg(strstr(out, "0000:03:00.0 is not passed through") &&
                      strstr(out, BE),
                  "%s", out);
    nodes = NONE;
    ck_assert_int_eq(lookup("0000:02:00.0", out), XENVF_ENOENT);
    ck_assert_msg(strstr(out, "no PCI frontend"), "%s", out);
}
END_TEST

START_TEST(bad_backend_nodes_are_errors)
{
    static const char *const BADNUM[] = {
        "device/pci/0/backend", BE, BE "/num_devs", "two", NULL,
    };
    static const char *const BADV[] = {
        "device/pci/0/backend", BE,           BE "/num_devs", "1",  BE "/dev-0",
        "0000:02:00.0",         BE "/vdev-0", "00:zz",        NULL,
    };
    char out[256];

    nodes = BADNUM;
    ck_assert_int_eq(lookup("0000:02:00.0", out), XENVF_EIO);
    ck_assert_msg(strstr(out, BE "/num_devs"), "%s", out);
    nodes = BADV;
    ck_assert_int_ne(lookup("0000:02:00.0", out), 0);
    ck_assert_msg(strstr(out, BE "/vdev-0"), "%s", out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pcifront");
    TCase *tc = tcase_create("pcifront");

    tcase_add_test(tc, vpci_mode_translates);
    tcase_add_test(tc, passthrough_mode_keeps_the_address);
    tcase_add_test(tc, not_passed_through_is_named);
    tcase_add_test(tc, bad_backend_nodes_are_errors);
    suite_add_tcase(s, tc);
    return xenvf_check_run(s);
}
