/*
 * The transformation of a libxl_domain_config (libxl-plugin/pcidev.c):
 * reserved VFs become PCI devices the way xl makes pci= devices, beside the
 * user's own pci= devices; undone on failure; stripped again on reboot.
 * libxl's type functions need no context, so this is a plain unit test;
 * the JSON is what libxl would store for the domain.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../libxl-plugin/pcidev.h"
#include "../harness/check-main.h"

static xenvf_err err;

static const xenvf_bdf vf_a = {.seg = 0, .bus = 1, .dev = 0, .func = 2};
static const xenvf_bdf vf_b = {.seg = 1, .bus = 0x81, .dev = 3, .func = 1};
static const xenvf_bdf user = {.seg = 0, .bus = 5, .dev = 0, .func = 0};

/* A PV guest as xl builds it from `pci = [ '0000:05:00.0' ]`. */
static void make_config(libxl_domain_config *d, libxl_domain_type type,
                        bool with_user_pci)
{
    libxl_domain_config_init(d);
    libxl_domain_create_info_init(&d->c_info);
    d->c_info.type = type;
    libxl_domain_build_info_init_type(&d->b_info, type);
    d->c_info.name = strdup("web1");
    if (with_user_pci) {
        d->num_pcidevs = 1;
        d->pcidevs = calloc(1, sizeof(*d->pcidevs));
        libxl_device_pci_init(&d->pcidevs[0]);
        d->pcidevs[0].bus = user.bus;
        d->pcidevs[0].permissive = true;
    }
}

static void assert_dev(const libxl_device_pci *p, const xenvf_bdf *b)
{
    ck_assert_int_eq(p->domain, b->seg);
    ck_assert_uint_eq(p->bus, b->bus);
    ck_assert_uint_eq(p->dev, b->dev);
    ck_assert_uint_eq(p->func, b->func);
    ck_assert_uint_eq(p->vdevfn, 0); /* libxl picks the guest slot */
    ck_assert_ptr_null(p->name);
}

START_TEST(vfs_become_pci_devices)
{
    const xenvf_bdf vfs[] = {vf_a, vf_b};
    const pcidev_defaults defs = {.msitranslate = true, .seize = false};
    libxl_domain_config d;
    char *json;

    make_config(&d, LIBXL_DOMAIN_TYPE_PV, false);
    ck_assert(libxl_defbool_is_default(d.b_info.u.pv.e820_host));
    ck_assert_int_eq(pcidev_add(&d, vfs, 2, NULL, &defs, &err), 0);
    ck_assert_int_eq(d.num_pcidevs, 2);
    assert_dev(&d.pcidevs[0], &vf_a);
    assert_dev(&d.pcidevs[1], &vf_b);
    ck_assert(d.pcidevs[0].msitranslate);
    ck_assert(!d.pcidevs[0].permissive);
    ck_assert(!d.pcidevs[1].seize);
    /* as xl does for a PV guest with PCI devices */
    ck_assert(!libxl_defbool_is_default(d.b_info.u.pv.e820_host));
    ck_assert(libxl_defbool_val(d.b_info.u.pv.e820_host));
    /* kept in the stored config: an IOMMU context after the VFs are gone */
    ck_assert_int_eq(d.c_info.passthrough, LIBXL_PASSTHROUGH_ENABLED);

    json = libxl_domain_config_to_json(NULL, &d);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"pcidevs\""));
    ck_assert_ptr_nonnull(strstr(json, "\"bus\": 129"));
    ck_assert_ptr_nonnull(strstr(json, "\"msitranslate\": true"));
    free(json);
    libxl_domain_config_dispose(&d);
}
END_TEST

START_TEST(user_pci_devices_are_kept)
{
    const pcidev_defaults defs = {0};
    libxl_domain_config d;

    make_config(&d, LIBXL_DOMAIN_TYPE_PV, true);
    ck_assert_int_eq(pcidev_add(&d, &vf_a, 1, NULL, &defs, &err), 0);
    ck_assert_int_eq(d.num_pcidevs, 2);
    assert_dev(&d.pcidevs[0], &user);
    ck_assert(d.pcidevs[0].permissive);
    assert_dev(&d.pcidevs[1], &vf_a);

    /* a failed build undoes it: the user's device stays */
    pcidev_truncate(&d, 1);
    ck_assert_int_eq(d.num_pcidevs, 1);
    assert_dev(&d.pcidevs[0], &user);
    libxl_domain_config_dispose(&d);
}
END_TEST

START_TEST(a_vf_also_in_pci_is_a_conflict)
{
    const xenvf_bdf vfs[] = {vf_a, user};
    const char *const names[] = {"vf[0]", "vf[1]"};
    const pcidev_defaults defs = {0};
    libxl_domain_config d;

    make_config(&d, LIBXL_DOMAIN_TYPE_PV, true);
    xenvf_err_init(&err);
    ck_assert_int_eq(pcidev_add(&d, vfs, 2, names, &defs, &err),
                     XENVF_ECONFLICT);
    ck_assert_str_eq(err.msg, "0000:05:00.0 of vf[1] is also in pci=");
    ck_assert_int_eq(d.num_pcidevs, 1); /* untouched */
    ck_assert(libxl_defbool_is_default(d.b_info.u.pv.e820_host));
    ck_assert_int_eq(d.c_info.passthrough, LIBXL_PASSTHROUGH_DEFAULT);
    libxl_domain_config_dispose(&d);
}
END_TEST

START_TEST(hvm_gets_the_rdm_policy)
{
    const pcidev_defaults defs = {0};
    libxl_domain_config d;

    make_config(&d, LIBXL_DOMAIN_TYPE_HVM, false);
    d.b_info.u.hvm.rdm.policy = LIBXL_RDM_RESERVE_POLICY_STRICT;
    d.c_info.passthrough = LIBXL_PASSTHROUGH_SYNC_PT; /* the admin's */
    ck_assert_int_eq(pcidev_add(&d, &vf_a, 1, NULL, &defs, &err), 0);
    ck_assert_int_eq(d.pcidevs[0].rdm_policy, LIBXL_RDM_RESERVE_POLICY_STRICT);
    ck_assert_int_eq(d.c_info.passthrough, LIBXL_PASSTHROUGH_SYNC_PT);
    libxl_domain_config_dispose(&d);
}
END_TEST

START_TEST(reboot_strips_the_old_vfs)
{
    const xenvf_bdf vfs[] = {vf_a, vf_b};
    const pcidev_defaults defs = {0};
    libxl_domain_config d;

    /* what libxl hands back on reboot: user device + last time's VFs */
    make_config(&d, LIBXL_DOMAIN_TYPE_PV, true);
    ck_assert_int_eq(pcidev_add(&d, vfs, 2, NULL, &defs, &err), 0);
    ck_assert_uint_eq(pcidev_strip(&d, vfs, 2), 2);
    ck_assert_int_eq(d.num_pcidevs, 1);
    assert_dev(&d.pcidevs[0], &user);
    /* and they go back in once, not twice */
    ck_assert_int_eq(pcidev_add(&d, vfs, 2, NULL, &defs, &err), 0);
    ck_assert_int_eq(d.num_pcidevs, 3);
    ck_assert_uint_eq(pcidev_strip(&d, &user, 1), 1);
    ck_assert_uint_eq(pcidev_strip(&d, vfs, 2), 2);
    ck_assert_int_eq(d.num_pcidevs, 0);
    ck_assert_ptr_null(d.pcidevs);
    ck_assert_uint_eq(pcidev_strip(&d, vfs, 2), 0);
    libxl_domain_config_dispose(&d);
}
END_TEST

START_TEST(nothing_to_add)
{
    const pcidev_defaults defs = {0};
    libxl_domain_config d;

    make_config(&d, LIBXL_DOMAIN_TYPE_PV, false);
    ck_assert_int_eq(pcidev_add(&d, NULL, 0, NULL, &defs, &err), 0);
    ck_assert_int_eq(d.num_pcidevs, 0);
    ck_assert(libxl_defbool_is_default(d.b_info.u.pv.e820_host));
    libxl_domain_config_dispose(&d);
}
END_TEST

static Suite *pcidev_suite(void)
{
    Suite *s = suite_create("pcidev");
    TCase *tc = tcase_create("transform");

    tcase_add_test(tc, vfs_become_pci_devices);
    tcase_add_test(tc, user_pci_devices_are_kept);
    tcase_add_test(tc, a_vf_also_in_pci_is_a_conflict);
    tcase_add_test(tc, hvm_gets_the_rdm_policy);
    tcase_add_test(tc, reboot_strips_the_old_vfs);
    tcase_add_test(tc, nothing_to_add);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(pcidev_suite)
