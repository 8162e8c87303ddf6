/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The VF map: round trips of every good map, one located and distinct error
 * for every bad map, the rules on hand-built maps, the hardware check,
 * lookups, and the atomic write under its lock.
 *
 * Data: $XENVF_SRCDIR/tests/data/maps/{good,bad}/ (set by tests/run-tests).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenvf/map.h>
#include <xenvf/text.h>
#include "../harness/check-main.h"

/* ---- helpers ----------------------------------------------------------- */

static char data_dir[4096];

static void setup_data_dir(void)
{
    const char *src = getenv("XENVF_SRCDIR");

    snprintf(data_dir, sizeof(data_dir), "%s/tests/data/maps",
             src && *src ? src : ".");
}

static char *data_path(const char *sub, const char *name)
{
    char *p;

    ck_assert_int_ge(asprintf(&p, "%s/%s/%s", data_dir, sub, name), 0);
    return p;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_msg(f, "open %s: %s", path, strerror(errno));
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static void write_all_file(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    ck_assert_msg(f, "create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the *.xml files in data_dir/sub. */
static size_t list_xml(const char *sub, char ***out)
{
    char dir[4200];
    struct dirent *de;
    char **names = NULL, **grown;
    size_t n = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/%s", data_dir, sub);
    d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s (XENVF_SRCDIR set?)", dir,
                  strerror(errno));
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);

        if (l < 5 || strcmp(de->d_name + l - 4, ".xml"))
            continue;
        grown = realloc(names, (n + 1) * sizeof(*names));
        ck_assert_ptr_nonnull(grown);
        names = grown;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    *out = names;
    return n;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The line of "NAME:LINE: ...", or 0 when the message has none. */
static unsigned msg_line(const char *msg, const char *name)
{
    size_t l = strlen(name);

    ck_assert_msg(!strncmp(msg, name, l) && msg[l] == ':',
                  "message does not start with '%s:': %s", name, msg);
    if (msg[l + 1] < '0' || msg[l + 1] > '9')
        return 0;
    return (unsigned)strtoul(msg + l + 1, NULL, 10);
}

/* A scratch directory, removed with everything in it by tmpdir_remove. */
static void tmpdir_make(char *dir, size_t sz)
{
    const char *t = getenv("TMPDIR");

    snprintf(dir, sz, "%s/xenvf-map-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void tmpdir_remove(const char *dir)
{
    struct dirent *de;
    char p[4400];
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (unlink(p) < 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Entries of dir whose name contains ".tmp." (leftover temp files). */
static int count_temps(const char *dir)
{
    struct dirent *de;
    int n = 0;
    DIR *d = opendir(dir);

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        n += strstr(de->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* Field by field, so a failure says which field. */
static void assert_maps_equal(const xenvf_map *a, const xenvf_map *b,
                              const char *what)
{
    ck_assert_msg(a->nr_pfs == b->nr_pfs, "%s: nr_pfs %zu != %zu", what,
                  a->nr_pfs, b->nr_pfs);
    for (size_t i = 0; i < a->nr_pfs; i++) {
        const xenvf_map_pf *p = &a->pfs[i], *r = &b->pfs[i];

        ck_assert_str_eq(p->id, r->id);
        ck_assert_msg(xenvf_bdf_equal(&p->address, &r->address),
                      "%s: pf %s address", what, p->id);
        ck_assert_uint_eq(p->numvfs, r->numvfs);
        ck_assert_uint_eq(p->owner, r->owner);
        ck_assert_pstr_eq(p->owner_name, r->owner_name);
        ck_assert_uint_eq(p->nr_vfs, r->nr_vfs);
        for (size_t j = 0; j < p->nr_vfs; j++) {
            const xenvf_map_vf *v = &p->vfs[j], *w = &r->vfs[j];
            const xenvf_vf_config *c = &v->config, *d = &w->config;

            ck_assert_uint_eq(v->index, w->index);
            ck_assert_pstr_eq(v->domain, w->domain);
            ck_assert_int_eq(c->has_mac, d->has_mac);
            ck_assert_mem_eq(c->mac, d->mac, 6);
            ck_assert_int_eq(c->vlan, d->vlan);
            ck_assert_int_eq(c->trust, d->trust);
            ck_assert_int_eq(c->spoofchk, d->spoofchk);
            ck_assert_int_eq(c->rate_mbps, d->rate_mbps);
            ck_assert_pstr_eq(c->function, d->function);
            ck_assert_int_eq(c->boot, d->boot);
            ck_assert_uint_eq(v->nr_ns, w->nr_ns);
            for (size_t k = 0; k < v->nr_ns; k++) {
                ck_assert_uint_eq(v->ns[k].nsid, w->ns[k].nsid);
                ck_assert_uint_eq(v->ns[k].size, w->ns[k].size);
            }
        }
    }
    ck_assert_msg(xenvf_map_equal(a, b), "%s: xenvf_map_equal", what);
}

static void parse_ok(const char *path, xenvf_map *map)
{
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = xenvf_map_parse_file(path, map, &err);
    ck_assert_msg(rc == 0, "%s: %s (%s)", path, err.msg, xenvf_rc_name(rc));
}

static void parse_good(const char *name, xenvf_map *map)
{
    char *p = data_path("good", name);

    parse_ok(p, map);
    free(p);
}

/* ---- good maps --------------------------------------------------------- */

/* owner by name (a driver domain), dom0 by its name, a domid (deprecated) */
START_TEST(test_owner_names)
{
    xenvf_map m;

    xenvf_map_init(&m);
    parse_good("owner-names.xml", &m);
    ck_assert_uint_eq(m.nr_pfs, 3);
    ck_assert_str_eq(m.pfs[0].owner_name, "dd-storage.1");
    ck_assert_uint_eq(m.pfs[0].owner, 0);
    ck_assert(xenvf_map_pf_driver_domain(&m.pfs[0]));
    ck_assert_ptr_null(m.pfs[1].owner_name);
    ck_assert_uint_eq(m.pfs[1].owner, 0);
    ck_assert(!xenvf_map_pf_driver_domain(&m.pfs[1]));
    ck_assert_ptr_null(m.pfs[2].owner_name);
    ck_assert_uint_eq(m.pfs[2].owner, 7);
    ck_assert(xenvf_map_pf_driver_domain(&m.pfs[2]));
    ck_assert_int_eq(xenvf_map_pf_set_owner_name(&m.pfs[1], "dd 3", NULL),
                     XENVF_EINVAL);
    xenvf_map_dispose(&m);
}
END_TEST

/* parse -> format -> parse is the identity, and formatting is stable. */
START_TEST(test_round_trip)
{
    char **names;
    size_t n = list_xml("good", &names);

    ck_assert_uint_ge(n, 3);
    for (size_t i = 0; i < n; i++) {
        xenvf_map m1, m2;
        xenvf_err err;
        char *t1, *t2, *p = data_path("good", names[i]);
        size_t l1, l2;

        xenvf_map_init(&m1);
        xenvf_map_init(&m2);
        xenvf_err_init(&err);
        parse_ok(p, &m1);
        ck_assert_int_eq(xenvf_map_format(&m1, &t1, &l1, &err), 0);
        ck_assert_uint_eq(strlen(t1), l1);
        ck_assert_msg(xenvf_map_parse_mem("pass2", t1, l1, &m2, &err) == 0,
                      "%s: formatted text does not parse: %s", names[i],
                      err.msg);
        assert_maps_equal(&m1, &m2, names[i]);
        ck_assert_int_eq(xenvf_map_format(&m2, &t2, &l2, &err), 0);
        ck_assert_msg(l1 == l2 && !memcmp(t1, t2, l1),
                      "%s: second format differs:\n%s\n---\n%s", names[i], t1,
                      t2);
        free(t1);
        free(t2);
        free(p);
        xenvf_map_dispose(&m1);
        xenvf_map_dispose(&m2);
    }
    free_names(names, n);
}
END_TEST

START_TEST(test_example_content)
{
    xenvf_map m;
    const xenvf_map_pf *pf;
    const xenvf_map_vf *vf;
    char addr[XENVF_BDF_STR_MAX], mac[18];

    xenvf_map_init(&m);
    parse_good("example.xml", &m);
    ck_assert_uint_eq(m.nr_pfs, 2);
    ck_assert_ptr_nonnull(strstr(m.name, "example.xml"));

    pf = &m.pfs[0];
    ck_assert_str_eq(pf->id, "nvme0");
    xenvf_bdf_format(&pf->address, addr);
    ck_assert_str_eq(addr, "0000:01:00.0");
    ck_assert_uint_eq(pf->numvfs, 2);
    ck_assert_uint_eq(pf->owner, 0);
    ck_assert_uint_eq(pf->line, 5);
    ck_assert_uint_eq(pf->nr_vfs, 2);
    vf = &pf->vfs[0];
    ck_assert_uint_eq(vf->index, 0);
    ck_assert_str_eq(vf->domain, "web1");
    ck_assert_str_eq(vf->config.function, "nvme");
    ck_assert_int_eq(vf->config.boot, 1);
    ck_assert_int_eq(vf->config.vlan, -1);
    ck_assert_int_eq(vf->config.trust, -1);
    ck_assert_int_eq(vf->config.rate_mbps, -1);
    ck_assert(!vf->config.has_mac);
    ck_assert_uint_eq(vf->nr_ns, 1);
    ck_assert_uint_eq(vf->ns[0].nsid, 1);
    ck_assert_uint_eq(vf->ns[0].size, 64ull << 20);
    ck_assert_uint_eq(vf->line, 7);
    ck_assert_ptr_null(pf->vfs[1].domain);
    ck_assert_int_eq(pf->vfs[1].config.boot, -1);

    pf = &m.pfs[1];
    ck_assert_str_eq(pf->id, "net0");
    ck_assert_uint_eq(pf->numvfs, 8);
    vf = &pf->vfs[0];
    ck_assert_uint_eq(vf->index, 3);
    ck_assert(vf->config.has_mac);
    xenvf_mac_format(vf->config.mac, mac);
    ck_assert_str_eq(mac, "00:16:3e:00:00:01");
    ck_assert_int_eq(vf->config.vlan, 10);
    ck_assert_int_eq(vf->config.trust, 0);
    ck_assert_int_eq(vf->config.spoofchk, 1);
    ck_assert_int_eq(vf->config.rate_mbps, 1000);
    ck_assert_ptr_null(vf->config.function);
    xenvf_map_dispose(&m);
    xenvf_map_dispose(&m); /* twice is harmless */
}
END_TEST

static const char tiny_canonical[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
    "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"1\">\n"
    "    <vf index=\"0\" domain=\"web1\"/>\n"
    "  </pf>\n"
    "</vfmap>\n";

START_TEST(test_canonical_text)
{
    xenvf_map m;
    xenvf_err err;
    char *t;
    size_t l;

    xenvf_map_init(&m);
    xenvf_err_init(&err);
    parse_good("tiny.xml", &m);
    ck_assert_int_eq(xenvf_map_format(&m, &t, &l, &err), 0);
    ck_assert_str_eq(t, tiny_canonical);
    free(t);
    xenvf_map_dispose(&m);

    /* an empty map is legal and tiny */
    ck_assert_int_eq(xenvf_map_format(&m, &t, &l, &err), 0);
    ck_assert_str_eq(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<vfmap xmlns=\"urn:xenvf:vfmap:1\"/>\n");
    free(t);
}
END_TEST

/* Every other legal spelling reads as the canonical one. */
START_TEST(test_spellings)
{
    xenvf_map m;
    const xenvf_map_pf *pf;
    const xenvf_map_vf *vf;
    char addr[XENVF_BDF_STR_MAX];

    xenvf_map_init(&m);
    parse_good("spellings.xml", &m);
    ck_assert_uint_eq(m.nr_pfs, 2);
    pf = &m.pfs[0];
    ck_assert_str_eq(pf->id, "Storage_A-1");
    xenvf_bdf_format(&pf->address, addr);
    ck_assert_str_eq(addr, "0000:0a:1f.7");
    /* VFs sorted by index, namespaces by nsid, sizes in bytes */
    ck_assert_uint_eq(pf->nr_vfs, 3);
    ck_assert_uint_eq(pf->vfs[0].index, 0);
    ck_assert_uint_eq(pf->vfs[0].line, 14); /* a start tag over 4 lines */
    ck_assert_uint_eq(pf->vfs[1].index, 1);
    vf = &pf->vfs[2];
    ck_assert_uint_eq(vf->index, 3);
    ck_assert_uint_eq(vf->nr_ns, 3);
    ck_assert_uint_eq(vf->ns[0].nsid, 2);
    ck_assert_uint_eq(vf->ns[0].size, 512);
    ck_assert_uint_eq(vf->ns[1].nsid, 7);
    ck_assert_uint_eq(vf->ns[1].size, 1ull << 30);
    ck_assert_uint_eq(vf->ns[2].nsid, 10);
    ck_assert_uint_eq(vf->ns[2].size, 3ull << 20);
    pf = &m.pfs[1];
    ck_assert_uint_eq(pf->address.seg, 1);
    ck_assert_uint_eq(pf->numvfs, 65535);
    ck_assert_uint_eq(pf->owner, 32751);
    ck_assert_uint_eq(pf->vfs[1].index, 65534);
    ck_assert_str_eq(pf->vfs[1].domain, "Domain-0");
    ck_assert_uint_eq(pf->vfs[1].config.mac[1], 0xab);
    ck_assert_int_eq(pf->vfs[1].config.rate_mbps, 0);
    ck_assert_int_eq(pf->vfs[0].config.rate_mbps, 4294967295LL);
    xenvf_map_dispose(&m);
}
END_TEST

START_TEST(test_lookups)
{
    xenvf_map m;
    xenvf_map_pf *pf;
    xenvf_bdf bdf;
    xenvf_err err;

    xenvf_map_init(&m);
    xenvf_err_init(&err);
    parse_good("big.xml", &m);
    ck_assert_uint_eq(m.nr_pfs, 8);

    pf = xenvf_map_find_pf(&m, "net2");
    ck_assert_ptr_nonnull(pf);
    ck_assert_uint_eq(pf->address.bus, 0x16);
    ck_assert_ptr_null(xenvf_map_find_pf(&m, "net9"));
    ck_assert_ptr_null(xenvf_map_find_pf(&m, NULL));

    ck_assert_int_eq(xenvf_bdf_parse("13:00.0", &bdf, NULL), 0);
    ck_assert_ptr_eq(xenvf_map_find_pf_by_address(&m, &bdf),
                     xenvf_map_find_pf(&m, "nvme3"));
    ck_assert_int_eq(xenvf_bdf_parse("0001:13:00.0", &bdf, NULL), 0);
    ck_assert_ptr_null(xenvf_map_find_pf_by_address(&m, &bdf));

    pf = xenvf_map_find_pf(&m, "nvme0");
    ck_assert_uint_eq(xenvf_map_find_vf(pf, 5)->index, 5);
    ck_assert_str_eq(xenvf_map_find_vf(pf, 5)->domain, "guest5");
    ck_assert_ptr_null(xenvf_map_find_vf(pf, 40)); /* < numvfs, unlisted */

    xenvf_map_dispose(&m);
}
END_TEST

START_TEST(test_copy_equal)
{
    xenvf_map a, b;
    xenvf_err err;

    xenvf_map_init(&a);
    xenvf_map_init(&b);
    xenvf_err_init(&err);
    parse_good("big.xml", &a);
    ck_assert_int_eq(xenvf_map_copy(&b, &a, &err), 0);
    assert_maps_equal(&a, &b, "copy");
    b.pfs[7].vfs[31].config.vlan = 7;
    ck_assert(!xenvf_map_equal(&a, &b));
    b.pfs[7].vfs[31].config.vlan = a.pfs[7].vfs[31].config.vlan;
    ck_assert(xenvf_map_equal(&a, &b));
    ck_assert_int_eq(xenvf_map_vf_set_domain(&b.pfs[0].vfs[3], "x", &err), 0);
    ck_assert(!xenvf_map_equal(&a, &b));
    /* copying over a map replaces it */
    ck_assert_int_eq(xenvf_map_copy(&b, &a, &err), 0);
    ck_assert(xenvf_map_equal(&a, &b));
    xenvf_map_dispose(&a);
    xenvf_map_dispose(&b);
}
END_TEST

/* A map built in code: what the daemon does on assign. */
static void build_small(xenvf_map *m)
{
    xenvf_map_pf *pf;
    xenvf_map_vf *vf;
    xenvf_map_ns *ns;
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_int_eq(xenvf_map_add_pf(m, &pf, &err), 0);
    ck_assert_int_eq(xenvf_map_pf_set_id(pf, "nvme0", &err), 0);
    ck_assert_int_eq(xenvf_bdf_parse("01:00.0", &pf->address, &err), 0);
    pf->numvfs = 4;
    ck_assert_int_eq(xenvf_map_pf_add_vf(pf, 2, &vf, &err), 0);
    ck_assert_int_eq(xenvf_map_vf_set_domain(vf, "web1", &err), 0);
    vf->config.boot = 1;
    ck_assert_int_eq(xenvf_map_vf_add_ns(vf, &ns, &err), 0);
    ns->nsid = 3;
    ns->size = 1ull << 40;
    ck_assert_int_eq(xenvf_map_pf_add_vf(pf, 0, &vf, &err), 0);
    ck_assert_int_eq(xenvf_map_add_pf(m, &pf, &err), 0);
    ck_assert_int_eq(xenvf_map_pf_set_id(pf, "net0", &err), 0);
    ck_assert_int_eq(xenvf_bdf_parse("03:00.1", &pf->address, &err), 0);
    pf->numvfs = 8;
    pf->owner = 5;
    ck_assert_int_eq(xenvf_map_pf_add_vf(pf, 7, &vf, &err), 0);
    ck_assert_int_eq(xenvf_mac_parse("02:00:00:00:00:07", vf->config.mac, &err),
                     0);
    vf->config.has_mac = true;
    vf->config.vlan = 0;
    vf->config.trust = 1;
    vf->config.spoofchk = 0;
    vf->config.rate_mbps = 25000;
    vf->config.function = strdup("mlx5_core");
}

START_TEST(test_build_in_code)
{
    static const char expect[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
        "  <pf id=\"nvme0\" address=\"0000:01:00.0\" numvfs=\"4\">\n"
        "    <vf index=\"0\"/>\n"
        "    <vf index=\"2\" domain=\"web1\" boot=\"1\">\n"
        "      <namespace nsid=\"3\" size=\"1T\"/>\n"
        "    </vf>\n"
        "  </pf>\n"
        "  <pf id=\"net0\" address=\"0000:03:00.1\" numvfs=\"8\" owner=\"5\">\n"
        "    <vf index=\"7\" function=\"mlx5_core\" mac=\"02:00:00:00:00:07\" "
        "vlan=\"0\" trust=\"on\" spoofchk=\"off\" rate=\"25000\"/>\n"
        "  </pf>\n"
        "</vfmap>\n";
    xenvf_map m, back;
    xenvf_err err;
    char *t;
    size_t l;

    xenvf_map_init(&m);
    xenvf_map_init(&back);
    xenvf_err_init(&err);
    build_small(&m);
    ck_assert_int_eq(xenvf_map_check(&m, &err), 0);
    ck_assert_int_eq(xenvf_map_format(&m, &t, &l, &err), 0);
    ck_assert_str_eq(t, expect);
    ck_assert_int_eq(xenvf_map_parse_mem(NULL, t, l, &back, &err), 0);
    ck_assert_str_eq(back.name, "<memory>");
    /* parsing sorted the VFs the code appended out of order */
    ck_assert_uint_eq(back.pfs[0].vfs[0].index, 0);
    ck_assert_uint_eq(back.pfs[0].vfs[1].index, 2);
    free(t);
    xenvf_map_dispose(&m);
    xenvf_map_dispose(&back);
}
END_TEST

/* The rules hold for hand-built maps too, and format refuses to break them. */
typedef struct rule_case {
    const char *what;
    void (*spoil)(xenvf_map *m);
    int rc;
    const char *needle;
} rule_case;

static void spoil_index(xenvf_map *m)
{
    m->pfs[0].vfs[0].index = 4;
}
static void spoil_vlan(xenvf_map *m)
{
    m->pfs[1].vfs[0].config.vlan = 4095;
}
static void spoil_mac(xenvf_map *m)
{
    m->pfs[1].vfs[0].config.mac[0] = 1;
}
static void spoil_trust(xenvf_map *m)
{
    m->pfs[1].vfs[0].config.trust = 2;
}
static void spoil_rate(xenvf_map *m)
{
    m->pfs[1].vfs[0].config.rate_mbps = 1LL << 40;
}
static void spoil_boot(xenvf_map *m)
{
    m->pfs[0].vfs[0].config.boot = 70000;
}
static void spoil_numvfs(xenvf_map *m)
{
    m->pfs[0].numvfs = 70000;
}
static void spoil_owner(xenvf_map *m)
{
    m->pfs[1].owner = 0x7ff0;
}
static void spoil_id(xenvf_map *m)
{
    m->pfs[1].id[0] = ' ';
}
static void spoil_same_id(xenvf_map *m)
{
    strcpy(m->pfs[1].id, "nvme");
    m->pfs[0].id[4] = '\0';
}
static void spoil_address(xenvf_map *m)
{
    m->pfs[1].address = m->pfs[0].address;
}
static void spoil_function(xenvf_map *m)
{
    m->pfs[1].vfs[0].config.function[0] = '<';
}
static void spoil_nsid(xenvf_map *m)
{
    m->pfs[0].vfs[0].ns[0].nsid = 0;
}
static void spoil_size(xenvf_map *m)
{
    m->pfs[0].vfs[0].ns[0].size = 100;
}
static void spoil_dup_vf(xenvf_map *m)
{
    m->pfs[0].vfs[1].index = 2;
}
static void spoil_two_holders(xenvf_map *m)
{
    m->pfs[0].vfs[1].index = 2;
    m->pfs[0].vfs[1].domain = strdup("web2");
}
static void spoil_free_boot(xenvf_map *m)
{
    m->pfs[0].vfs[1].config.boot = 3;
}

static const rule_case rule_cases[] = {
    {"index", spoil_index, XENVF_ERANGE, "vf index 4 >= numvfs 4"},
    {"vlan", spoil_vlan, XENVF_ERANGE, "vlan 4095 is out of range 0-4094"},
    {"mac", spoil_mac, XENVF_EINVAL,
     "mac 01:00:00:00:00:07 is a multicast address"},
    {"trust", spoil_trust, XENVF_EINVAL, "trust 2 is not 0 or 1"},
    {"rate", spoil_rate, XENVF_ERANGE,
     "rate 1099511627776 is out of range 0-4294967295"},
    {"boot", spoil_boot, XENVF_ERANGE, "boot 70000 is out of range 1-65535"},
    {"numvfs", spoil_numvfs, XENVF_ERANGE, "numvfs 70000 is above 65535"},
    {"owner", spoil_owner, XENVF_ERANGE, "owner domid 32752 is reserved"},
    {"id", spoil_id, XENVF_EINVAL, "pf #1: bad id"},
    {"same id", spoil_same_id, XENVF_ECONFLICT, "pf id 'nvme' is used twice"},
    {"address", spoil_address, XENVF_ECONFLICT, "is already used by pf"},
    {"function", spoil_function, XENVF_EINVAL,
     "function: character '<' is not allowed"},
    {"nsid", spoil_nsid, XENVF_ERANGE, "nsid 0 is not in 1-4294967294"},
    {"size", spoil_size, XENVF_EINVAL, "size 100 is not a positive multiple"},
    {"dup vf", spoil_dup_vf, XENVF_ECONFLICT, "vf index 2 is listed twice"},
    {"holders", spoil_two_holders, XENVF_ECONFLICT, "held by two domains"},
    {"free boot", spoil_free_boot, XENVF_ECONFLICT, "that no domain holds"},
};

START_TEST(test_rules_in_code)
{
    const rule_case *c = &rule_cases[_i];
    xenvf_map m;
    xenvf_err err;
    char *t = (char *)"unchanged";
    size_t l;

    xenvf_map_init(&m);
    xenvf_err_init(&err);
    build_small(&m);
    ck_assert_int_eq(xenvf_map_check(&m, &err), 0);
    c->spoil(&m);
    ck_assert_msg(xenvf_map_check(&m, &err) == c->rc, "%s: rc %s, msg %s",
                  c->what, xenvf_rc_name(err.rc), err.msg);
    ck_assert_msg(strstr(err.msg, c->needle), "%s: '%s' not in '%s'", c->what,
                  c->needle, err.msg);
    /* no map name, no line: just the message */
    ck_assert_msg(!strncmp(err.msg, "<map>: ", 7), "%s", err.msg);
    ck_assert_int_eq(xenvf_map_format(&m, &t, &l, &err), c->rc);
    ck_assert_ptr_null(t);
    xenvf_map_dispose(&m);
}
END_TEST

/* ---- bad maps ---------------------------------------------------------- */

typedef struct bad_case {
    const char *file; /* in tests/data/maps/bad/, or generated */
    int rc;
    const char *needle; /* a substring of the message */
    unsigned line;      /* from the "NAME:LINE:" prefix */
    bool hw;            /* parses; fails xenvf_map_check_hw */
    int same_as;        /* > 0: one problem, two files; same message */
} bad_case;

/* Designated initializers: -Wextra wants every field otherwise. */
#define BAD(f, r, n, l, ...)                                                   \
    {                                                                          \
        .file = (f), .rc = (r), .needle = (n), .line = (l), __VA_ARGS__        \
    }

static const bad_case bad_cases[] = {
    /* XML */
    BAD("empty.xml", XENVF_EINVAL, "the file is empty", 1),
    BAD("binary.xml", XENVF_EINVAL, "binary data (a NUL byte at offset 7)", 1),
    BAD("not-xml.xml", XENVF_EINVAL, "Start tag expected", 1),
    BAD("unclosed-tag.xml", XENVF_EINVAL, "tag mismatch: vf line 4 and pf", 5),
    BAD("truncated.xml", XENVF_EINVAL, "Premature end of data in tag pf", 5),
    BAD("two-roots.xml", XENVF_EINVAL, "Extra content at the end", 3),
    BAD("duplicate-attribute.xml", XENVF_EINVAL, "Attribute id redefined", 3),
    BAD("bad-utf8.xml", XENVF_EINVAL, "Input is not proper UTF-8", 4),
    BAD("undefined-entity.xml", XENVF_EINVAL, "Entity 'web' not defined", 4),
    BAD("xxe.xml", XENVF_EINVAL, "DOCTYPE is not allowed", 2, .same_as = 1),
    BAD("billion-laughs.xml", XENVF_EINVAL, "DOCTYPE is not allowed", 2,
        .same_as = 1),
    BAD("external-dtd.xml", XENVF_EINVAL,
        "DOCTYPE with an external DTD ('http://attacker.example/", 2),
    /* schema */
    BAD("wrong-root.xml", XENVF_ESCHEMA, "Expecting element vfmap, got vfmaps",
        2),
    BAD("wrong-namespace.xml", XENVF_ESCHEMA,
        "Element vfmap has wrong namespace: expecting urn:xenvf:vfmap:1", 2),
    BAD("no-namespace.xml", XENVF_ESCHEMA, "Expecting a namespace", 2),
    BAD("missing-address.xml", XENVF_ESCHEMA,
        "pf 'nvme0': missing required attribute 'address'", 3),
    BAD("unknown-attribute.xml", XENVF_ESCHEMA,
        "Invalid attribute colour for element vf", 4),
    BAD("unknown-element.xml", XENVF_ESCHEMA, "Did not expect element disk", 5),
    BAD("text-content.xml", XENVF_ESCHEMA, "Did not expect text in element pf",
        3),
    BAD("huge-id (generated)", XENVF_EINVAL,
        "pf: id 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too long (1048576 "
        "bytes, max 32)",
        3),
    BAD("overflow-numvfs.xml", XENVF_ERANGE,
        "pf 'nvme0': numvfs '99999999999999999999' is out of range (max 65535)",
        3),
    BAD("negative-index.xml", XENVF_EINVAL, "vf: index '-1' is negative", 4),
    BAD("leading-zero.xml", XENVF_EINVAL, "index '07' has a leading zero", 4),
    BAD("owner-reserved.xml", XENVF_ERANGE,
        "owner '32752' is out of range (max 32751)", 3),
    BAD("bad-bdf.xml", XENVF_ERANGE, "'0000:01:20.0': device must be 00-1f", 3),
    BAD("bad-bdf-syntax.xml", XENVF_EINVAL, "bad PCI address '0000:01:00'", 3),
    BAD("bad-mac.xml", XENVF_EINVAL, "vf 0: bad MAC '00:16:3e:00:00'", 4),
    BAD("multicast-mac.xml", XENVF_EINVAL, "is a multicast address", 4),
    BAD("zero-mac.xml", XENVF_EINVAL, "mac 00:00:00:00:00:00 is not an address",
        4),
    BAD("vlan-4095.xml", XENVF_ERANGE,
        "vf 0: vlan '4095' is out of range (max 4094)", 4),
    BAD("rate-overflow.xml", XENVF_ERANGE,
        "rate '9999999999' is out of range (max 4294967295)", 4),
    BAD("trust-yes.xml", XENVF_EINVAL, "trust 'yes' must be 'on' or 'off'", 4),
    BAD("boot-zero.xml", XENVF_ERANGE, "boot 0 is below the minimum 1", 4),
    BAD("bad-owner-name.xml", XENVF_EINVAL,
        "pf 'nvme0': owner 'dd 2' has characters outside A-Z a-z 0-9 _ . -", 3),
    BAD("bad-domain-name.xml", XENVF_EINVAL,
        "domain 'web 1' has characters outside", 4),
    BAD("namespace-unaligned.xml", XENVF_EINVAL,
        "namespace 1: size '1000' is not a multiple of 512", 5),
    BAD("namespace-overflow.xml", XENVF_ERANGE,
        "size '17179869184T' does not fit in 64 bits", 5),
    /* semantics */
    BAD("duplicate-vf.xml", XENVF_ECONFLICT,
        "pf 'nvme0': vf index 1 is listed twice (first at line 4)", 6),
    BAD("vf-two-domains.xml", XENVF_ECONFLICT,
        "vf 2 is held by two domains, 'web1' (line 4) and 'web2'", 6),
    BAD("index-ge-numvfs.xml", XENVF_ERANGE, "vf index 2 >= numvfs 2", 5),
    BAD("duplicate-pf-id.xml", XENVF_ECONFLICT,
        "pf id 'nvme0' is used twice (first at line 3)", 5),
    BAD("duplicate-address.xml", XENVF_ECONFLICT,
        "pf 'nvme1': address 0000:01:00.0 is already used by pf 'nvme0'", 5),
    BAD("duplicate-mac.xml", XENVF_ECONFLICT,
        "MAC 02:16:3e:00:00:01 is already used by pf 'net0' vf 0 (line 4)", 7),
    BAD("namespace-too-many.xml", XENVF_ERANGE,
        "pf 'nvme0': vf 0: more than 64 namespaces", 69),
    BAD("duplicate-namespace.xml", XENVF_ECONFLICT,
        "namespace nsid 1 is declared twice (first at line 5)", 8),
    BAD("boot-twice.xml", XENVF_ECONFLICT,
        "domain 'web1': boot order 1 is given to two VFs", 7),
    BAD("boot-free-vf.xml", XENVF_ECONFLICT,
        "boot order 1 on a VF that no domain holds", 4),
    /* hardware */
    BAD("unknown-pf.xml", XENVF_ENOENT,
        "pf 'ghost': unknown PF: 0000:42:00.0 is not a discovered SR-IOV", 5,
        .hw = true),
    BAD("index-ge-totalvfs.xml", XENVF_ERANGE, "vf index 5 >= TotalVFs 4", 6,
        .hw = true),
    BAD("numvfs-gt-totalvfs.xml", XENVF_ERANGE,
        "numvfs 8 is more than the device's TotalVFs 4", 4, .hw = true),
};

#define NR_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

/* What discovery found on the test machine. */
static void test_hw(xenvf_pf hw[3])
{
    static const char *const addr[] = {"0000:01:00.0", "0000:03:00.0",
                                       "0000:04:00.0"};
    static const unsigned total[] = {4, 8, 8};

    for (int i = 0; i < 3; i++) {
        xenvf_pf_init(&hw[i]);
        ck_assert_int_eq(xenvf_bdf_parse(addr[i], &hw[i].bdf, NULL), 0);
        hw[i].total_vfs = total[i];
    }
}

/* Write the 1 MB id map into dir; returns its path. */
static char *gen_huge_id(const char *dir)
{
    const size_t n = 1u << 20;
    char *path, *buf;
    size_t len = 0;

    ck_assert_int_ge(asprintf(&path, "%s/huge-id.xml", dir), 0);
    buf = malloc(n + 256);
    ck_assert_ptr_nonnull(buf);
    len += (size_t)sprintf(buf, "<?xml version=\"1.0\"?>\n"
                                "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n"
                                "  <pf id=\"");
    memset(buf + len, 'a', n);
    len += n;
    len += (size_t)sprintf(buf + len, "\" address=\"0000:01:00.0\" "
                                      "numvfs=\"2\"/>\n</vfmap>\n");
    write_all_file(path, buf, len);
    free(buf);
    return path;
}

/*
 * Run one bad case: parse (and check against test_hw() for hw cases) with
 * stderr captured. Returns rc; err holds the message, *path the name used.
 */
static int run_bad(const bad_case *c, const char *tmp, char **path,
                   xenvf_err *err, char *noise, size_t noise_sz)
{
    xenvf_map m;
    xenvf_pf hw[3];
    int saved, fd, rc;
    ssize_t got;
    char stderr_path[4200];

    xenvf_map_init(&m);
    xenvf_err_init(err);
    *path = strstr(c->file, "(generated)") ? gen_huge_id(tmp)
                                           : data_path("bad", c->file);
    /* libxml2 must not talk to stderr behind our back */
    snprintf(stderr_path, sizeof(stderr_path), "%s/stderr", tmp);
    fd = open(stderr_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    rc = xenvf_map_parse_file(*path, &m, err);
    if (c->hw && rc == 0) {
        test_hw(hw);
        rc = xenvf_map_check_hw(&m, hw, 3, err);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    got = pread(fd, noise, noise_sz - 1, 0);
    noise[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(stderr_path);
    xenvf_map_dispose(&m);
    return rc;
}

START_TEST(test_bad_map)
{
    const bad_case *c = &bad_cases[_i];
    char tmp[4096], noise[512], *path;
    xenvf_err err;
    int rc;

    tmpdir_make(tmp, sizeof(tmp));
    rc = run_bad(c, tmp, &path, &err, noise, sizeof(noise));
    ck_assert_msg(rc == c->rc, "%s: rc %s, want %s: %s", c->file,
                  xenvf_rc_name(rc), xenvf_rc_name(c->rc), err.msg);
    ck_assert_int_eq(err.rc, rc);
    ck_assert_msg(strstr(err.msg, c->needle), "%s: '%s' not in '%s'", c->file,
                  c->needle, err.msg);
    ck_assert_msg(msg_line(err.msg, path) == c->line,
                  "%s: line %u, want %u: %s", c->file, msg_line(err.msg, path),
                  c->line, err.msg);
    ck_assert_msg(!noise[0], "%s: libxml2 wrote to stderr: %s", c->file, noise);
    /* one line of printable text */
    for (const char *p = err.msg; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "%s: unprintable: %s", c->file,
                      err.msg);
    free(path);
    tmpdir_remove(tmp);
}
END_TEST

/* Every file in bad/ is in the table, so none is silently untested. */
START_TEST(test_bad_files_covered)
{
    char **names;
    size_t n = list_xml("bad", &names);

    ck_assert_uint_ge(n, 20);
    for (size_t i = 0; i < n; i++) {
        bool found = false;

        for (size_t k = 0; k < NR_BAD && !found; k++)
            found = !strcmp(bad_cases[k].file, names[i]);
        ck_assert_msg(found, "bad/%s has no entry in bad_cases[]", names[i]);
    }
    free_names(names, n);
}
END_TEST

/*
 * The message without its "NAME:LINE: " prefix, digits as '#', and quoted
 * values as 'Q': what is left is the kind of problem.
 */
static void msg_shape(const char *msg, const char *path, char *out, size_t sz)
{
    const char *p = msg + strlen(path) + 1;
    size_t o = 0;

    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == ':')
        p++;
    while (*p && o + 2 < sz) {
        if (*p >= '0' && *p <= '9') {
            while (*p >= '0' && *p <= '9')
                p++;
            out[o++] = '#';
        } else if (*p == '\'') {
            const char *e = strchr(p + 1, '\'');

            p = e ? e + 1 : p + 1;
            out[o++] = 'Q';
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

START_TEST(test_bad_messages_distinct)
{
    static char shape[NR_BAD][XENVF_ERR_MSG_MAX];
    char tmp[4096], noise[512], *path;
    xenvf_err err;

    tmpdir_make(tmp, sizeof(tmp));
    for (size_t i = 0; i < NR_BAD; i++) {
        ck_assert_int_eq(
            run_bad(&bad_cases[i], tmp, &path, &err, noise, sizeof(noise)),
            bad_cases[i].rc);
        msg_shape(err.msg, path, shape[i], sizeof(shape[i]));
        free(path);
    }
    for (size_t i = 0; i < NR_BAD; i++)
        for (size_t k = i + 1; k < NR_BAD; k++) {
            if (bad_cases[i].same_as &&
                bad_cases[i].same_as == bad_cases[k].same_as)
                continue;
            ck_assert_msg(strcmp(shape[i], shape[k]),
                          "%s and %s give the same kind of message: %s",
                          bad_cases[i].file, bad_cases[k].file, shape[i]);
        }
    tmpdir_remove(tmp);
}
END_TEST

START_TEST(test_bad_inputs_misc)
{
    char tmp[4096], path[4200];
    xenvf_map m;
    xenvf_err err;
    char *big;
    const size_t big_len = XENVF_MAP_MAX_BYTES + 1;

    xenvf_map_init(&m);
    xenvf_err_init(&err);
    tmpdir_make(tmp, sizeof(tmp));

    snprintf(path, sizeof(path), "%s/missing.xml", tmp);
    ck_assert_int_eq(xenvf_map_parse_file(path, &m, &err), XENVF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot open"));

    ck_assert_int_eq(xenvf_map_parse_file(tmp, &m, &err), XENVF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));

    /* too large, from memory and from a file: refused before parsing */
    big = malloc(big_len);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', big_len);
    ck_assert_int_eq(xenvf_map_parse_mem("big", big, big_len, &m, &err),
                     XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "big: too large"));
    snprintf(path, sizeof(path), "%s/big.xml", tmp);
    write_all_file(path, big, big_len);
    ck_assert_int_eq(xenvf_map_parse_file(path, &m, &err), XENVF_ERANGE);
    free(big);

    /* whitespace only */
    ck_assert_int_eq(xenvf_map_parse_mem("ws", " \n\n", 3, &m, &err),
                     XENVF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "ws:3: not well-formed XML"));

    /* a failed parse leaves the map empty, even if it held something */
    parse_good("tiny.xml", &m);
    ck_assert_uint_eq(m.nr_pfs, 1);
    ck_assert_int_eq(xenvf_map_parse_mem("x", "<x/>", 4, &m, &err),
                     XENVF_ESCHEMA);
    ck_assert_uint_eq(m.nr_pfs, 0);
    ck_assert_ptr_null(m.name);

    /* a NULL err is allowed */
    ck_assert_int_eq(xenvf_map_parse_mem("x", "<x/>", 4, &m, NULL),
                     XENVF_ESCHEMA);
    tmpdir_remove(tmp);
    xenvf_map_dispose(&m);
}
END_TEST

/* ---- atomic write ------------------------------------------------------ */

typedef struct wfix {
    char dir[4096];
    char path[4200];
} wfix;

static void wfix_setup(wfix *f, const char *initial)
{
    tmpdir_make(f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/vfmap.xml", f->dir);
    if (initial)
        write_all_file(f->path, initial, strlen(initial));
}

START_TEST(test_write_bad_map_leaves_file)
{
    static const char original[] = "<!-- hand-edited, keep me -->\n"
                                   "<vfmap xmlns=\"urn:xenvf:vfmap:1\"/>\n";
    xenvf_map m;
    xenvf_err err;
    char *now;
    size_t len;
    wfix f;

    xenvf_map_init(&m);
    xenvf_err_init(&err);
    wfix_setup(&f, original);
    parse_good("example.xml", &m);
    m.pfs[0].vfs[1].index = 2; /* >= numvfs */
    ck_assert_int_eq(xenvf_map_write_file(f.path, &m, &err), XENVF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "vf index 2 >= numvfs 2"));
    now = read_all(f.path, &len);
    ck_assert_uint_eq(len, strlen(original));
    ck_assert_mem_eq(now, original, len);
    free(now);
    ck_assert_int_eq(count_temps(f.dir), 0);

    /* a rename that fails (the target is a directory): no temp left */
    unlink(f.path);
    ck_assert_int_eq(mkdir(f.path, 0755), 0);
    m.pfs[0].vfs[1].index = 1;
    ck_assert_int_eq(xenvf_map_write_file(f.path, &m, &err), XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot rename"));
    ck_assert_int_eq(count_temps(f.dir), 0);
    rmdir(f.path);

    /* a directory that does not exist */
    snprintf(f.path, sizeof(f.path), "%s/no/such/dir/vfmap.xml", f.dir);
    ck_assert_int_eq(xenvf_map_write_file(f.path, &m, &err), XENVF_EIO);
    xenvf_map_dispose(&m);
    tmpdir_remove(f.dir);
}
END_TEST

START_TEST(test_write_replaces)
{
    xenvf_map m, back;
    xenvf_err err;
    struct stat before, after;
    char *text, *now, stale[4300];
    size_t len, now_len;
    wfix f;

    xenvf_map_init(&m);
    xenvf_map_init(&back);
    xenvf_err_init(&err);
    wfix_setup(&f, "old\n");
    ck_assert_int_eq(chmod(f.path, 0640), 0);
    ck_assert_int_eq(stat(f.path, &before), 0);
    /* a temp file of a writer that crashed */
    snprintf(stale, sizeof(stale), "%s.tmp.AbC123", f.path);
    write_all_file(stale, "junk", 4);

    parse_good("big.xml", &m);
    ck_assert_int_eq(xenvf_map_write_file(f.path, &m, &err), 0);
    ck_assert_int_eq(stat(f.path, &after), 0);
    ck_assert_uint_ne(before.st_ino, after.st_ino); /* renamed, not rewritten */
    ck_assert_uint_eq(after.st_mode & 07777, 0640);
    ck_assert_int_eq(count_temps(f.dir), 0);

    ck_assert_int_eq(xenvf_map_format(&m, &text, &len, &err), 0);
    now = read_all(f.path, &now_len);
    ck_assert_uint_eq(now_len, len);
    ck_assert_mem_eq(now, text, len);
    parse_ok(f.path, &back);
    assert_maps_equal(&m, &back, "written");
    free(now);
    free(text);

    /* a new file gets 0644 */
    unlink(f.path);
    ck_assert_int_eq(xenvf_map_write_file(f.path, &m, &err), 0);
    ck_assert_int_eq(stat(f.path, &after), 0);
    ck_assert_uint_eq(after.st_mode & 07777, 0644);
    xenvf_map_dispose(&m);
    xenvf_map_dispose(&back);
    tmpdir_remove(f.dir);
}
END_TEST

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A writer in a child must wait for the lock the parent holds. */
START_TEST(test_lock_serializes)
{
    xenvf_map a, b, now;
    xenvf_map_lock lock;
    xenvf_err err;
    int status;
    pid_t pid;
    wfix f;

    xenvf_map_init(&a);
    xenvf_map_init(&b);
    xenvf_map_init(&now);
    xenvf_map_lock_init(&lock);
    xenvf_err_init(&err);
    wfix_setup(&f, NULL);
    parse_good("tiny.xml", &a);
    parse_good("example.xml", &b);
    ck_assert_int_eq(xenvf_map_write_file(f.path, &a, &err), 0);

    ck_assert_int_eq(xenvf_map_lock_acquire(&lock, f.path, true, &err), 0);
    ck_assert_int_eq(xenvf_map_lock_acquire(&lock, f.path, true, &err),
                     XENVF_EBUSY);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        xenvf_map_lock other;

        xenvf_map_lock_init(&other);
        /* without waiting: refused */
        if (xenvf_map_lock_acquire(&other, f.path, false, &err) != XENVF_EBUSY)
            _exit(2);
        _exit(xenvf_map_write_file(f.path, &b, &err) ? 3 : 0);
    }
    sleep_ms(300);
    /* the child is still blocked and the file is still a */
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);
    parse_ok(f.path, &now);
    ck_assert(xenvf_map_equal(&now, &a));
    /* our own write while holding the lock */
    ck_assert_int_eq(xenvf_map_write_file_locked(f.path, &a, &lock, &err), 0);
    xenvf_map_lock_dispose(&lock);

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    parse_ok(f.path, &now);
    ck_assert(xenvf_map_equal(&now, &b));

    /* _locked insists on a held lock */
    ck_assert_int_eq(xenvf_map_write_file_locked(f.path, &a, &lock, &err),
                     XENVF_EINVAL);
    xenvf_map_dispose(&a);
    xenvf_map_dispose(&b);
    xenvf_map_dispose(&now);
    tmpdir_remove(f.dir);
}
END_TEST

/*
 * Two writers hammer the file while the parent reads it: every read sees
 * one whole map, never a mix or a partial file.
 */
START_TEST(test_concurrent_writers)
{
    enum { ROUNDS = 25 };
    xenvf_map maps[2], now;
    xenvf_err err;
    pid_t pids[2];
    int status, reads = 0;
    wfix f;

    xenvf_map_init(&maps[0]);
    xenvf_map_init(&maps[1]);
    xenvf_map_init(&now);
    xenvf_err_init(&err);
    wfix_setup(&f, NULL);
    parse_good("big.xml", &maps[0]);
    parse_good("example.xml", &maps[1]);
    ck_assert_int_eq(xenvf_map_write_file(f.path, &maps[1], &err), 0);

    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0) {
            for (int r = 0; r < ROUNDS; r++)
                if (xenvf_map_write_file(f.path, &maps[w], &err))
                    _exit(1);
            _exit(0);
        }
    }
    for (;;) {
        bool done = true;

        for (int w = 0; w < 2; w++) {
            if (pids[w] > 0 && waitpid(pids[w], &status, WNOHANG) == pids[w]) {
                ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                pids[w] = 0;
            }
            done &= pids[w] == 0;
        }
        parse_ok(f.path, &now);
        ck_assert(xenvf_map_equal(&now, &maps[0]) ||
                  xenvf_map_equal(&now, &maps[1]));
        reads++;
        if (done)
            break;
    }
    ck_assert_int_gt(reads, 1);
    ck_assert_int_eq(count_temps(f.dir), 0);
    xenvf_map_dispose(&maps[0]);
    xenvf_map_dispose(&maps[1]);
    xenvf_map_dispose(&now);
    tmpdir_remove(f.dir);
}
END_TEST

/* ---- main -------------------------------------------------------------- */

static Suite *map_suite(void)
{
    Suite *s = suite_create("map");
    TCase *tc;

    tc = tcase_create("good");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_owner_names);
    tcase_add_test(tc, test_example_content);
    tcase_add_test(tc, test_canonical_text);
    tcase_add_test(tc, test_spellings);
    tcase_add_test(tc, test_lookups);
    tcase_add_test(tc, test_copy_equal);
    tcase_add_test(tc, test_build_in_code);
    tcase_add_loop_test(tc, test_rules_in_code, 0,
                        sizeof(rule_cases) / sizeof(rule_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("bad");
    tcase_add_loop_test(tc, test_bad_map, 0, NR_BAD);
    tcase_add_test(tc, test_bad_files_covered);
    tcase_add_test(tc, test_bad_messages_distinct);
    tcase_add_test(tc, test_bad_inputs_misc);
    suite_add_tcase(s, tc);

    tc = tcase_create("write");
    /* fsync latency is the disk's: do not hold these to Check's 4 s */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_write_bad_map_leaves_file);
    tcase_add_test(tc, test_write_replaces);
    tcase_add_test(tc, test_lock_serializes);
    tcase_add_test(tc, test_concurrent_writers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{

    setup_data_dir();
    return xenvf_check_run(map_suite());
}
