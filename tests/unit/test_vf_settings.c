/* The VF settings table (vf_settings.h): every setting, in every format
 * the table drives, with its range; the merge rule; comparisons. A new
 * line in XENVF_VF_SETTINGS is covered here without a new test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/json.h>
#include <xenvf/map.h>
#include <xenvf/proto.h>
#include <xenvf/text.h>
#include <xenvf/vf_settings.h>
#include <xenvf/xs.h>
#include "../harness/check-main.h"

static xenvf_err err;

/* A valid value of each setting, as text, and one just out of range. */
static const char *good_text(xenvf_setting s, char buf[32])
{
    const xenvf_setting_info *i = &xenvf_settings[s];

    switch (i->kind) {
    case XENVF_KIND_MAC:
        return "02:16:3e:00:00:2a";
    case XENVF_KIND_TEXT:
        return "nvme.v2:a+b";
    case XENVF_KIND_BOOL:
        return "1";
    default:
        snprintf(buf, 32, "%llu", (unsigned long long)i->max);
        return buf;
    }
}

/* A config with every setting set to its good value. */
static void fill(xenvf_vf_config *c)
{
    char buf[32];
    xenvf_setting_value v;

    xenvf_setting_for_each(s)
    {
        const char *t = good_text(s, buf);

        ck_assert_msg(!xenvf_setting_parse(s, t, strlen(t), &v, &err), "%s",
                      err.msg);
        ck_assert_msg(!xenvf_setting_store(c, s, &v, &err), "%s", err.msg);
    }
}

START_TEST(names_are_unique_and_found)
{
    xenvf_setting_for_each(s)
    {
        const char *n = xenvf_settings[s].name;

        ck_assert_int_eq(xenvf_setting_find(n, strlen(n)), s);
        /* a prefix or a longer word is not the setting */
        ck_assert_int_eq(xenvf_setting_find(n, strlen(n) - 1),
                         XENVF_NR_SETTINGS);
        for (xenvf_setting t = (xenvf_setting)0; t < s; t++)
            ck_assert_str_ne(xenvf_settings[t].name, n);
    }
    ck_assert_int_eq(xenvf_setting_find("vlanx", 5), XENVF_NR_SETTINGS);
    ck_assert_int_eq(xenvf_setting_find("", 0), XENVF_NR_SETTINGS);
}
END_TEST

START_TEST(ranges_are_enforced_in_the_text_form)
{
    xenvf_setting_value v;
    char t[32];

    xenvf_setting_for_each(s)
    {
        const xenvf_setting_info *i = &xenvf_settings[s];

        if (i->kind != XENVF_KIND_UINT && i->kind != XENVF_KIND_BOOL)
            continue;
        snprintf(t, sizeof(t), "%llu", (unsigned long long)i->max + 1);
        ck_assert_msg(xenvf_setting_parse(s, t, strlen(t), &v, &err) != 0,
                      "%s=%s accepted", i->name, t);
        ck_assert_msg(!strncmp(err.msg, i->name, strlen(i->name)), "%s",
                      err.msg);
        if (i->min > 0) {
            snprintf(t, sizeof(t), "%llu", (unsigned long long)i->min - 1);
            ck_assert_int_ne(xenvf_setting_parse(s, t, strlen(t), &v, &err), 0);
        }
    }
    /* the limits the copies disagreed on: now the map's, everywhere */
    ck_assert_int_eq(xenvf_settings[XENVF_SETTING_RATE].max, 4294967295ULL);
    ck_assert_int_eq(xenvf_settings[XENVF_SETTING_BOOT].max, 65535);
    ck_assert_int_ne(xenvf_setting_parse(XENVF_SETTING_MAC, "00:00:00:00:00:00",
                                         17, &v, &err),
                     0);
    ck_assert_int_ne(
        xenvf_setting_parse(XENVF_SETTING_FUNCTION, "a b", 3, &v, &err), 0);
    ck_assert_int_ne(
        xenvf_setting_parse(XENVF_SETTING_FUNCTION, "", 0, &v, &err), 0);
}
END_TEST

/* Every setting set, through the map's writer and parser: the same. */
START_TEST(every_setting_through_the_map)
{
    xenvf_map m, back;
    xenvf_map_pf *pf;
    xenvf_map_vf *vf;
    char *text = NULL;
    size_t len;

    xenvf_map_init(&m);
    xenvf_map_init(&back);
    ck_assert_int_eq(xenvf_map_add_pf(&m, &pf, &err), 0);
    pf->id = strdup("nvme0");
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.0", &pf->address, NULL), 0);
    pf->numvfs = 2;
    ck_assert_int_eq(xenvf_map_pf_add_vf(pf, 1, &vf, &err), 0);
    ck_assert_int_eq(xenvf_map_vf_set_domain(vf, "web1", &err), 0);
    fill(&vf->config);
    ck_assert_msg(!xenvf_map_format(&m, &text, &len, &err), "%s", err.msg);
    ck_assert_msg(!xenvf_map_parse_mem("t", text, len, &back, &err), "%s\n%s",
                  err.msg, text);
    ck_assert(xenvf_vf_config_equal(&back.pfs[0].vfs[0].config, &vf->config));
    ck_assert_ptr_nonnull(strstr(text, "trust=\"on\""));
    free(text);
    xenvf_map_dispose(&m);
    xenvf_map_dispose(&back);
}
END_TEST

/* ... through the TCB protocol, a request and a grant ... */
START_TEST(every_setting_through_the_protocol)
{
    xenvf_request r, rb;
    xenvf_response g, gb;
    xenvf_vf_request *v;
    xenvf_vf_grant *vg;
    char *json = NULL;

    xenvf_request_init(&r);
    xenvf_request_init(&rb);
    r.op = XENVF_OP_RESERVE;
    r.domain = strdup("web1");
    v = xenvf_request_add_vf(&r);
    v->pf = strdup("nvme0");
    fill(&v->config);
    ck_assert_int_eq(xenvf_request_encode(&r, &json, &err), 0);
    ck_assert_msg(!xenvf_request_decode(json, strlen(json), &rb, &err), "%s",
                  err.msg);
    ck_assert(xenvf_vf_config_equal(&rb.vfs[0].config, &v->config));
    free(json);

    xenvf_response_init(&g);
    xenvf_response_init(&gb);
    vg = xenvf_response_add_vf(&g);
    vg->pf = strdup("nvme0");
    vg->index = 1;
    fill(&vg->config);
    ck_assert_int_eq(xenvf_response_encode(&g, &json, &err), 0);
    ck_assert_msg(!xenvf_response_decode(json, strlen(json), &gb, &err), "%s",
                  err.msg);
    ck_assert(xenvf_vf_config_equal(&gb.vfs[0].config, &vg->config));
    free(json);
    xenvf_request_dispose(&r);
    xenvf_request_dispose(&rb);
    xenvf_response_dispose(&g);
    xenvf_response_dispose(&gb);
}
END_TEST

/* ... and through the xenstore leaves the TCB publishes (their text). */
START_TEST(every_setting_through_xenstore_leaves)
{
    xenvf_vf_config c;
    xenvf_pf pf;
    char rel[64], buf[XENVF_SETTING_STR_MAX];

    xenvf_vf_config_init(&c);
    xenvf_pf_init(&pf);
    fill(&c);
    xenvf_setting_for_each(s)
    {
        snprintf(rel, sizeof(rel), "vf/1/%s", xenvf_settings[s].name);
        ck_assert_msg(!xenvf_xs_apply_pf_node(
                          &pf, rel, xenvf_setting_format(&c, s, buf), &err),
                      "%s", err.msg);
    }
    ck_assert(xenvf_vf_config_equal(&pf.vfs[1].config, &c));
    xenvf_vf_config_dispose(&c);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(overlay_is_setting_by_setting)
{
    xenvf_vf_config map, entry;

    xenvf_vf_config_init(&map);
    xenvf_vf_config_init(&entry);
    fill(&map);
    entry.vlan = 3;
    entry.function = strdup("vfio-pci");
    ck_assert_int_eq(xenvf_vf_config_overlay(&map, &entry, &err), 0);
    ck_assert_int_eq(map.vlan, 3);
    ck_assert_str_eq(map.function, "vfio-pci");
    ck_assert_int_eq(map.boot, 65535); /* the map's, kept */
    ck_assert(map.has_mac);            /* the map's, kept */
    ck_assert(!xenvf_vf_config_equal(&map, &entry));
    ck_assert(xenvf_vf_config_equal_in(&map, &map, XENVF_SETTING_NIC));
    entry.vlan = 4;
    ck_assert(!xenvf_vf_config_equal_in(&map, &entry, XENVF_SETTING_NIC));
    ck_assert(!xenvf_vf_config_is_empty(&entry));
    ck_assert(xenvf_vf_config_has(&entry, XENVF_SETTING_GUEST));
    xenvf_vf_config_dispose(&entry);
    ck_assert(xenvf_vf_config_is_empty(&entry));
    ck_assert(!xenvf_vf_config_has(&entry, XENVF_SETTING_NIC));
    xenvf_vf_config_dispose(&map);
}
END_TEST

static Suite *vf_settings_suite(void)
{
    Suite *s = suite_create("vf_settings");
    TCase *tc = tcase_create("table");

    tcase_add_test(tc, names_are_unique_and_found);
    tcase_add_test(tc, ranges_are_enforced_in_the_text_form);
    tcase_add_test(tc, every_setting_through_the_map);
    tcase_add_test(tc, every_setting_through_the_protocol);
    tcase_add_test(tc, every_setting_through_xenstore_leaves);
    tcase_add_test(tc, overlay_is_setting_by_setting);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(vf_settings_suite)
