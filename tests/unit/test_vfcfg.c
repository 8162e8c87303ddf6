/*
 * vf= parsing (libxl-plugin/vfcfg.c): entries, and whole configs through
 * libxlutil exactly as xl create reads them (quoting, +=, command-line
 * key=value overrides); every malformed kind has its own message naming
 * the entry. Also the plugin's own config file (conf.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenvf/text.h>

#include "../../libxl-plugin/conf.h"
#include "../../libxl-plugin/vfcfg.h"
#include "../harness/check-main.h"

static xenvf_err err;

static int parse(const char *text, vfcfg_entry *e)
{
    vfcfg_entry_init(e);
    xenvf_err_init(&err);
    return vfcfg_parse_entry(text, 0, e, &err);
}

static int parse_cfg(const char *data, const char *extra, vfcfg *c)
{
    vfcfg_init(c);
    xenvf_err_init(&err);
    return vfcfg_parse_data("web1.cfg", data, strlen(data), extra, c, &err);
}

START_TEST(entry_with_every_key)
{
    vfcfg_entry e;
    char mac[18];

    ck_assert_int_eq(parse("pf=nvme0,index=3,mac=00:16:3e:00:00:01,vlan=10,"
                           "trust=1,spoofchk=off,rate=1000,function=nvme,"
                           "boot=1,timeout=2.5",
                           &e),
                     0);
    ck_assert_str_eq(e.pf_id, "nvme0");
    ck_assert(!e.pf_is_bdf);
    ck_assert_int_eq(e.index, 3);
    ck_assert(e.config.has_mac);
    xenvf_mac_format(e.config.mac, mac);
    ck_assert_str_eq(mac, "00:16:3e:00:00:01");
    ck_assert_int_eq(e.config.vlan, 10);
    ck_assert_int_eq(e.config.trust, 1);
    ck_assert_int_eq(e.config.spoofchk, 0);
    ck_assert_int_eq(e.config.rate_mbps, 1000);
    ck_assert_str_eq(e.function, "nvme");
    ck_assert_int_eq(e.config.boot, 1);
    ck_assert_int_eq(e.timeout_ms, 2500);
    vfcfg_entry_dispose(&e);
}
END_TEST

START_TEST(entry_defaults_and_forms)
{
    vfcfg_entry e;

    /* only pf=: everything else unset */
    ck_assert_int_eq(parse("pf=net0", &e), 0);
    ck_assert_int_eq(e.index, -1);
    ck_assert(!e.config.has_mac);
    ck_assert_int_eq(e.config.vlan, -1);
    ck_assert_int_eq(e.config.trust, -1);
    ck_assert_int_eq(e.config.rate_mbps, -1);
    ck_assert_str_eq(e.function, "");
    ck_assert_int_eq(e.config.boot, -1);
    ck_assert_int_eq(e.timeout_ms, -1);
    vfcfg_entry_dispose(&e);

    /* a PCI address, with and without segment; spaces around items */
    ck_assert_int_eq(parse(" pf = 0000:03:00.0 , index = 0 ", &e), 0);
    ck_assert(e.pf_is_bdf);
    ck_assert_str_eq(e.pf_id, "");
    ck_assert_uint_eq(e.pf_bdf.bus, 3);
    ck_assert_int_eq(e.index, 0);
    vfcfg_entry_dispose(&e);
    ck_assert_int_eq(parse("pf=81:00.1", &e), 0);
    ck_assert(e.pf_is_bdf);
    ck_assert_uint_eq(e.pf_bdf.bus, 0x81);
    ck_assert_uint_eq(e.pf_bdf.func, 1);
    vfcfg_entry_dispose(&e);

    /* limits that are still fine */
    ck_assert_int_eq(parse("pf=a,index=65534,vlan=4094,rate=0,boot=255,"
                           "timeout=0,trust=false,spoofchk=yes",
                           &e),
                     0);
    ck_assert_int_eq(e.timeout_ms, 0);
    vfcfg_entry_dispose(&e);
    ck_assert_int_eq(parse("pf=a,timeout=86400", &e), 0);
    ck_assert_int_eq(e.timeout_ms, 86400000);
    vfcfg_entry_dispose(&e);
}
END_TEST

/* Every kind of mistake, and what its message must say. */
static const struct bad_entry {
    const char *text, *says;
} bad_entries[] = {
    {"", "is empty"},
    {"pf=nvme0,,index=1", "empty item"},
    {"pf=nvme0,index", "\"index\" is not key=value"},
    {"pf=nvme0,=1", "no key before '='"},
    {"pf=nvme0,colour=red", "unknown key \"colour\""},
    {"pf=nvme0,pf=net0", "pf is given twice"},
    {"pf=nvme0,mac=", "mac= has no value"},
    {"index=1", "has no pf="},
    {"pf=nvme#0", "pf \"nvme#0\" is neither a PF id"},
    {"pf=nvme0,index=one", "index \"one\" is not a decimal number"},
    {"pf=nvme0,index=65535", "index 65535 is out of range 0-65534"},
    {"pf=nvme0,mac=00:16:3e:00:00", "mac \"00:16:3e:00:00\" is not a MAC"},
    {"pf=nvme0,mac=01:16:3e:00:00:01", "is a multicast address"},
    {"pf=nvme0,vlan=ten", "vlan \"ten\" is not a decimal number"},
    {"pf=nvme0,vlan=5000", "vlan 5000 is out of range 0-4094"},
    {"pf=nvme0,trust=maybe", "trust \"maybe\" is not a boolean"},
    {"pf=nvme0,spoofchk=2", "spoofchk \"2\" is not a boolean"},
    {"pf=nvme0,rate=-1", "rate \"-1\" is not a decimal number"},
    {"pf=nvme0,rate=4294967296",
     "rate 4294967296 is out of range 0-4294967295"},
    {"pf=nvme0,mac=00:00:00:00:00:00",
     "mac 00:00:00:00:00:00 is not an address"},
    {"pf=nvme0,function=nv/me", "function: character '/' is not allowed"},
    {"pf=nvme0,function=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaa",
     "function is longer than 64"},
    {"pf=nvme0,boot=first", "boot \"first\" is not a decimal number"},
    {"pf=nvme0,boot=0", "boot 0 is out of range 1-65535"},
    {"pf=nvme0,boot=65536", "boot 65536 is out of range 1-65535"},
    {"pf=nvme0,timeout=soon", "timeout \"soon\" is not a number of seconds"},
    {"pf=nvme0,timeout=1.2345", "timeout \"1.2345\" is not a number"},
    {"pf=nvme0,timeout=86401", "timeout 86401 s is out of range 0-86400"},
};

START_TEST(every_mistake_has_its_own_message)
{
    const size_t nr = sizeof(bad_entries) / sizeof(bad_entries[0]);
    char msgs[sizeof(bad_entries) / sizeof(bad_entries[0])][XENVF_ERR_MSG_MAX];

    for (size_t i = 0; i < nr; i++) {
        vfcfg_entry e;
        char head[128];

        ck_assert_msg(parse(bad_entries[i].text, &e) != 0, "accepted '%s'",
                      bad_entries[i].text);
        /* it names the entry: vf[0] "<text>": ... */
        snprintf(head, sizeof(head), "vf[0] \"%.20s", bad_entries[i].text);
        ck_assert_msg(!strncmp(err.msg, head, strlen(head)),
                      "'%s' does not start with '%s'", err.msg, head);
        ck_assert_msg(strstr(err.msg, bad_entries[i].says), "'%s' lacks '%s'",
                      err.msg, bad_entries[i].says);
        snprintf(msgs[i], sizeof(msgs[i]), "%s", err.msg);
        vfcfg_entry_dispose(&e);
    }
    /* the part after the entry's name differs for every kind */
    for (size_t i = 0; i < nr; i++) {
        const char *a = strstr(msgs[i], "\": ") + 3;
        for (size_t j = 0; j < i; j++) {
            const char *b = strstr(msgs[j], "\": ") + 3;
            ck_assert_msg(strcmp(a, b), "same message for '%s' and '%s': %s",
                          bad_entries[i].text, bad_entries[j].text, a);
        }
    }
}
END_TEST

/* The same kinds, other spellings: still refused, same wording. */
START_TEST(variants_of_the_same_mistakes)
{
    static const struct bad_entry more[] = {
        {"pf=nvme0,", "empty item"},
        {",pf=nvme0", "empty item"},
        {"   ", "is empty"},
        {"pf=0000:03:00.9", "pf \"0000:03:00.9\" is neither"},
        {"pf=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "is neither a PF id"},
        {"pf=nvme0,index=99999999999999999999999", "is out of range 0-65534"},
        {"pf=nvme0,index=+1", "is not a decimal number"},
        {"pf=nvme0,vlan=0x10", "is not a decimal number"},
        {"pf=nvme0,timeout=.5", "is not a number of seconds"},
        {"pf=nvme0,timeout=1.", "is not a number of seconds"},
        {"pf=nvme0,PF=net0", "unknown key \"PF\""},
    };

    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        vfcfg_entry e;

        ck_assert_msg(parse(more[i].text, &e) != 0, "accepted '%s'",
                      more[i].text);
        ck_assert_msg(strstr(err.msg, more[i].says), "'%s' lacks '%s'", err.msg,
                      more[i].says);
        vfcfg_entry_dispose(&e);
    }
}
END_TEST

START_TEST(the_issue_example)
{
    vfcfg_entry e;

    vfcfg_entry_init(&e);
    xenvf_err_init(&err);
    ck_assert_int_ne(vfcfg_parse_entry("pf=nvme0,vlan=5000", 1, &e, &err), 0);
    ck_assert_str_eq(err.msg, "vf[1] \"pf=nvme0,vlan=5000\": vlan 5000 is out "
                              "of range 0-4094");
    vfcfg_entry_dispose(&e);
}
END_TEST

START_TEST(messages_are_escaped_and_cut)
{
    vfcfg_entry e;
    char text[800];

    ck_assert_int_ne(parse("pf=nvme0,colour=\x1b[31mred", &e), 0);
    ck_assert_ptr_null(strchr(err.msg, '\x1b'));
    ck_assert_ptr_nonnull(strstr(err.msg, "\\x1b"));
    vfcfg_entry_dispose(&e);

    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    memcpy(text, "pf=", 3);
    ck_assert_int_ne(parse(text, &e), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than 512"));
    ck_assert_ptr_nonnull(strstr(err.msg, "...\""));
    ck_assert_uint_lt(strlen(err.msg), 200);
    vfcfg_entry_dispose(&e);
}
END_TEST

/* ---- whole configs, through libxlutil ---------------------------------- */

static const char base_cfg[] = "name = \"web1\"\n"
                               "type = \"pv\"\n"
                               "memory = 512\n"
                               "pci = [ '0000:05:00.0' ]\n";

START_TEST(config_without_vf)
{
    vfcfg c;

    ck_assert_int_eq(parse_cfg(base_cfg, NULL, &c), 0);
    ck_assert_uint_eq(c.nr, 0);
    ck_assert_ptr_null(c.source); /* nothing kept: one lookup, no more */
    vfcfg_dispose(&c);
    /* an empty list is no vf= either */
    ck_assert_int_eq(parse_cfg("vf = [ ]\n", NULL, &c), 0);
    ck_assert_uint_eq(c.nr, 0);
    vfcfg_dispose(&c);
}
END_TEST

START_TEST(config_quoting_and_append)
{
    vfcfg c;
    const char *cfg = "vf = [ 'pf=nvme0,index=1', \"pf=net0,vlan=7\", ]\n"
                      "memory = 512\n"
                      "vf += [ \"pf=0000:03:00.0\" ]\n";

    ck_assert_msg(parse_cfg(cfg, NULL, &c) == 0, "%s", err.msg);
    ck_assert_uint_eq(c.nr, 3);
    ck_assert_str_eq(c.entries[0].pf_id, "nvme0");
    ck_assert_int_eq(c.entries[0].index, 1);
    ck_assert_str_eq(c.entries[1].pf_id, "net0");
    ck_assert_int_eq(c.entries[1].config.vlan, 7);
    ck_assert(c.entries[2].pf_is_bdf);
    ck_assert_uint_eq(c.entries[2].pos, 2);
    ck_assert_str_eq(c.entries[1].text, "pf=net0,vlan=7");
    vfcfg_dispose(&c);
}
END_TEST

START_TEST(command_line_overrides)
{
    const char *cfg = "vf = [ 'pf=nvme0' ]\n";
    vfcfg c;

    /* xl create web1.cfg 'vf=["pf=net0"]' replaces */
    ck_assert_int_eq(parse_cfg(cfg, "vf=[\"pf=net0\"]\n", &c), 0);
    ck_assert_uint_eq(c.nr, 1);
    ck_assert_str_eq(c.entries[0].pf_id, "net0");
    vfcfg_dispose(&c);
    /* xl create web1.cfg 'vf+=["pf=net0"]' 'pci_seize=1' appends */
    ck_assert_int_eq(parse_cfg(cfg, "vf+=[\"pf=net0\"]\npci_seize=1\n", &c), 0);
    ck_assert_uint_eq(c.nr, 2);
    ck_assert_str_eq(c.entries[0].pf_id, "nvme0");
    ck_assert_str_eq(c.entries[1].pf_id, "net0");
    ck_assert_int_eq(c.pci_seize, 1);
    vfcfg_dispose(&c);
    /* vf= only on the command line (xl create /dev/null 'vf=[...]') */
    ck_assert_int_eq(parse_cfg("", "vf=['pf=nvme0,boot=1']\n", &c), 0);
    ck_assert_uint_eq(c.nr, 1);
    ck_assert_int_eq(c.entries[0].config.boot, 1);
    vfcfg_dispose(&c);
}
END_TEST

START_TEST(config_pci_defaults)
{
    vfcfg c;

    ck_assert_int_eq(parse_cfg("vf=['pf=a']\npci_msitranslate=1\n"
                               "pci_power_mgmt=1\npci_permissive=1\n",
                               NULL, &c),
                     0);
    ck_assert_int_eq(c.pci_msitranslate, 1);
    ck_assert_int_eq(c.pci_power_mgmt, 1);
    ck_assert_int_eq(c.pci_permissive, 1);
    ck_assert_int_eq(c.pci_seize, 0);
    vfcfg_dispose(&c);
}
END_TEST

static const struct bad_cfg {
    const char *data, *says;
} bad_cfgs[] = {
    {"vf = \"pf=nvme0\"\n", "web1.cfg: vf= must be a list of strings"},
    {"vf = [ 'pf=a', [ 'pf=b' ] ]\n", "web1.cfg: vf[1] is not a string"},
    {"vf = [ 'pf=a', 'pf=b,vlan=5000' ]\n",
     "web1.cfg: vf[1] \"pf=b,vlan=5000\": vlan 5000 is out of range"},
    {"vf = [ 'pf=a,index=1', 'pf=a,index=1' ]\n",
     "web1.cfg: vf[1] \"pf=a,index=1\": the same VF as vf[0]"},
    {"vf = [ 'pf=a,mac=00:16:3e:00:00:01', 'pf=b,mac=00:16:3E:00:00:01' ]\n",
     "mac 00:16:3e:00:00:01 is also vf[0]'s"},
    {"vf = [ 'pf=a,boot=1', 'pf=b', 'pf=c,boot=1' ]\n",
     "vf[2] \"pf=c,boot=1\": boot position 1 is also vf[0]'s"},
    {"vf = [ 'pf=a' \n", "web1.cfg: config does not parse"},
};

START_TEST(bad_configs)
{
    for (size_t i = 0; i < sizeof(bad_cfgs) / sizeof(bad_cfgs[0]); i++) {
        vfcfg c;

        ck_assert_msg(parse_cfg(bad_cfgs[i].data, NULL, &c) != 0, "accepted %s",
                      bad_cfgs[i].data);
        ck_assert_msg(strstr(err.msg, bad_cfgs[i].says), "'%s' lacks '%s'",
                      err.msg, bad_cfgs[i].says);
        vfcfg_dispose(&c);
    }
}
END_TEST

START_TEST(too_many_entries)
{
    char cfg[8192];
    size_t o;
    vfcfg c;

    o = (size_t)snprintf(cfg, sizeof(cfg), "vf = [ ");
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(cfg + o, sizeof(cfg) - o, "'pf=a', ");
    snprintf(cfg + o, sizeof(cfg) - o, "]\n");
    ck_assert_int_ne(parse_cfg(cfg, NULL, &c), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "vf= has 65 entries; at most 64"));
    vfcfg_dispose(&c);
}
END_TEST

/* ---- xenvf-plugin.conf -------------------------------------------------- */

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/xenvf-conf-XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(plugin_conf_file)
{
    plugin_conf c;
    char *path;

    plugin_conf_init(&c);
    ck_assert_int_eq(plugin_conf_load(&c, "/nonexistent/xenvf.conf", &err), 0);
    ck_assert_int_eq(c.gate_timeout_ms, 120000);
    ck_assert_ptr_null(c.tcb_socket);

    path = write_tmp("# comment\ngate_timeout = 45\ntcb_timeout = \"2.5\"\n"
                     "reboot_wait = 0\ntcb_socket = \"/tmp/tcb.sock\"\n");
    ck_assert_int_eq(plugin_conf_load(&c, path, &err), 0);
    ck_assert_int_eq(c.gate_timeout_ms, 45000);
    ck_assert_int_eq(c.tcb_timeout_ms, 2500);
    ck_assert_int_eq(c.reboot_wait_ms, 0);
    ck_assert_str_eq(c.tcb_socket, "/tmp/tcb.sock");
    unlink(path);
    free(path);

    path = write_tmp("gate_timeout = \"forever\"\n");
    ck_assert_int_ne(plugin_conf_load(&c, path, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_ptr_nonnull(strstr(err.msg, "gate_timeout \"forever\""));
    unlink(path);
    free(path);

    /* libxlutil's own syntax error (it also prints where, as for xl) */
    path = write_tmp("gate_timeout = forever\n");
    ck_assert_int_ne(plugin_conf_load(&c, path, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not parse"));
    unlink(path);
    free(path);
    plugin_conf_dispose(&c);
}
END_TEST

static Suite *vfcfg_suite(void)
{
    Suite *s = suite_create("vfcfg");
    TCase *tc = tcase_create("entries");
    TCase *cfg = tcase_create("configs");

    tcase_add_test(tc, entry_with_every_key);
    tcase_add_test(tc, entry_defaults_and_forms);
    tcase_add_test(tc, every_mistake_has_its_own_message);
    tcase_add_test(tc, variants_of_the_same_mistakes);
    tcase_add_test(tc, the_issue_example);
    tcase_add_test(tc, messages_are_escaped_and_cut);
    suite_add_tcase(s, tc);
    tcase_add_test(cfg, config_without_vf);
    tcase_add_test(cfg, config_quoting_and_append);
    tcase_add_test(cfg, command_line_overrides);
    tcase_add_test(cfg, config_pci_defaults);
    tcase_add_test(cfg, bad_configs);
    tcase_add_test(cfg, too_many_entries);
    tcase_add_test(cfg, plugin_conf_file);
    suite_add_tcase(s, cfg);
    return s;
}

XENVF_CHECK_MAIN(vfcfg_suite)
