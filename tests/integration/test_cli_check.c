/*
 * xenvf check [MAP] on the CLI fixture's machine (test_cli_common.h): the
 * schema, the rules and the devices, with the located message xenvfd
 * gives (the library's, compared with what xenvf_map_parse_file says
 * in-process), exit 0 for a valid map and 1 for an invalid one.
 */
#include "../harness/cli-env.h"
#include "../harness/check-main.h"

/* A map in the fixture's directory; the path is static. */
static const char *put_map(const char *name, const char *text)
{
    static char path[PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/%s", cli_dir, name);
    write_file(path, text);
    return path;
}

/* What the library (and so xenvfd) says of this map, prefixed as the CLI
 * prints it. */
static char *library_says(const char *path)
{
    xenvf_map map;
    xenvf_err err;
    char *want = NULL;

    xenvf_map_init(&map);
    xenvf_err_init(&err);
    ck_assert_int_ne(xenvf_map_parse_file(path, &map, &err), 0);
    ck_assert_int_ge(asprintf(&want, "xenvf: %s\n", err.msg), 0);
    xenvf_map_dispose(&map);
    return want;
}

START_TEST(valid_map_and_devices)
{
    cli_run r;

    cli(&r, "check");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.err, "");
    ck_contains(r.out, cli_map_path);
    ck_contains(r.out, ": valid, 2 PFs, 2 VFs assigned; devices: ok, "
                       "3 SR-IOV PFs in sysfs\n");
    cli_run_free(&r);

    /* -q: the exit status alone */
    cli(&r, "check", "-q");
    ck_cli_status(&r, 0);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, "");
    cli_run_free(&r);
}
END_TEST

/* MAP names another file than --map; --map's file is not read. */
START_TEST(map_argument)
{
    const char *p = put_map("other.xml", "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
                                         "  <pf id=\"mlx0\" "
                                         "address=\"0000:03:00.0\" "
                                         "numvfs=\"16\"/>\n"
                                         "</vfmap>\n");
    cli_run r;

    write_file(cli_map_path, "not a map");
    cli(&r, "check", p);
    ck_cli_status(&r, 0);
    ck_contains(r.out, "other.xml: valid, 1 PF, 0 VFs assigned; devices: ok");
    cli_run_free(&r);
}
END_TEST

/* Not XML, the schema, the rules: exit 1 with the library's message, the
 * file and the line, and nothing on stdout. */
START_TEST(invalid_maps_located)
{
    static const struct {
        const char *text, *line, *what;
    } cases[] = {
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n<pf id=\"a\"\n", ":", ""},
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
         "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"2\">\n"
         "    <bogus/>\n"
         "  </pf>\n"
         "</vfmap>\n",
         ":3:", ""},
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
         "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"2\">\n"
         "    <vf index=\"0\" domain=\"a\"/>\n"
         "    <vf index=\"2\" domain=\"b\"/>\n"
         "  </pf>\n"
         "</vfmap>\n",
         ":4:", "pf 'nvme0'"},
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
         "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"2\"/>\n"
         "  <pf id=\"nvme0\" address=\"0000:02:00.0\" numvfs=\"2\"/>\n"
         "</vfmap>\n",
         ":3:", "nvme0"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = put_map("bad.xml", cases[i].text);
        char *want = library_says(p);
        cli_run r;

        cli(&r, "check", p);
        ck_cli_status(&r, 1);
        ck_assert_str_eq(r.out, "");
        /* word for word what xenvfd logs after "map ... refused: " */
        ck_assert_str_eq(r.err, want);
        ck_contains(r.err, "bad.xml");
        ck_contains(r.err, cases[i].line);
        ck_contains(r.err, cases[i].what);
        free(want);
        cli_run_free(&r);
    }
}
END_TEST

/* The devices: numvfs past TotalVFs, a VF past TotalVFs, a PF this
 * machine does not have; --no-hardware leaves them out. */
START_TEST(devices_checked)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
         "  <pf id=\"net0\" address=\"0000:02:00.0\" numvfs=\"9\"/>\n"
         "</vfmap>\n",
         ":2: pf 'net0': numvfs 9 is more than the device's TotalVFs 8\n"},
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
         "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"6\">\n"
         "    <vf index=\"5\" domain=\"web1\"/>\n"
         "  </pf>\n"
         "</vfmap>\n",
         ":3: pf 'nvme0': vf index 5 >= TotalVFs 4\n"},
        {"<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
         "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"2\"/>\n"
         "  <pf id=\"x\" address=\"0000:09:00.0\" numvfs=\"1\"/>\n"
         "</vfmap>\n",
         ":3: pf 'x': unknown PF: 0000:09:00.0 is not a discovered SR-IOV "
         "physical function\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = put_map("hw.xml", cases[i].text);
        cli_run r;

        cli(&r, "check", p);
        ck_cli_status(&r, 1);
        ck_assert_str_eq(r.out, "");
        ck_contains(r.err, "xenvf: ");
        ck_contains(r.err, cases[i].msg);
        cli_run_free(&r);

        cli(&r, "check", "--no-hardware", p);
        ck_cli_status(&r, 0);
        ck_contains(r.out, "devices: not checked (--no-hardware)");
        cli_run_free(&r);
    }
}
END_TEST

/* A machine without SR-IOV PFs (a build host): the devices are skipped
 * unless --hardware insists. */
START_TEST(no_devices_here)
{
    char empty[PATH_MAX + 64], cmd[2 * PATH_MAX];
    cli_run r;

    snprintf(empty, sizeof(empty), "%s/nosys", cli_dir);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/bus/pci/devices'", empty);
    ck_assert_int_eq(system(cmd), 0);
    cli_sysfs = empty;

    cli(&r, "check");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "devices: not checked: no SR-IOV PF in");
    ck_contains(r.out, "(--hardware to insist)");
    cli_run_free(&r);

    cli(&r, "check", "--hardware");
    ck_cli_status(&r, 1);
    ck_contains(r.err, "unknown PF: 0000:01:00.0");
    cli_run_free(&r);

    /* sysfs that is not there at all: discovery fails */
    snprintf(empty, sizeof(empty), "%s/nothing-here", cli_dir);
    cli(&r, "check");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "devices: not checked: SR-IOV discovery failed");
    cli_run_free(&r);
    cli(&r, "check", "-H");
    ck_cli_status(&r, 1);
    ck_contains(r.err, "the devices cannot be checked");
    cli_run_free(&r);
}
END_TEST

START_TEST(no_map_and_usage)
{
    char missing[PATH_MAX + 64];
    cli_run r;

    snprintf(missing, sizeof(missing), "%s/none.xml", cli_dir);
    cli(&r, "check", missing);
    ck_cli_status(&r, 1);
    ck_contains(r.err, "xenvf: no map at ");
    ck_contains(r.err, "none.xml");
    cli_run_free(&r);

    cli(&r, "check", "a.xml", "b.xml");
    ck_cli_status(&r, 2);
    ck_contains(r.err, "unexpected argument 'b.xml'");
    cli_run_free(&r);

    cli(&r, "check", "--bogus");
    ck_cli_status(&r, 2);
    cli_run_free(&r);

    cli(&r, "check", "--json");
    ck_cli_status(&r, 2);
    cli_run_free(&r);

    cli(&r, "help", "check");
    ck_cli_status(&r, 0);
    ck_contains(r.out, "Usage: xenvf [OPTIONS] check");
    cli_run_free(&r);
}
END_TEST

static Suite *cli_check_suite(void)
{
    Suite *s = suite_create("cli_check");
    TCase *tc = tcase_create("xenvf_check");

    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, valid_map_and_devices);
    tcase_add_test(tc, map_argument);
    tcase_add_test(tc, invalid_maps_located);
    tcase_add_test(tc, devices_checked);
    tcase_add_test(tc, no_devices_here);
    tcase_add_test(tc, no_map_and_usage);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(cli_check_suite)
