/*
 * xenvfd (both roles, one process) against Debian's real xenstored and a
 * fake sysfs tree whose sriov_numvfs, bind, unbind, driver_override and
 * reset behave like the kernel's. Every test runs the real binary.
 */
#include <dirent.h>

#include <xenstore.h>

#include <xenvf/text.h>

#include "../harness/daemon-env.h"
#include "../harness/check-main.h"

static void setup(void)
{
    denv_setup();
}

static void teardown(void)
{
    denv_teardown();
}

/* Both PFs at 4 VFs, nvme0's VF 1 given to web2 by the map. */
static const char *const MAP_4_4 =
    MAP_PF0(4, "<vf index=\"1\" domain=\"web2\"/>") MAP_PF1(4, "");

/* VFs enabled before xenvfd, probed by the PF's driver (autoprobe on). */
static void preenable(const char *pf, const char *n)
{
    char dir[PATH_MAX + 64], *real;

    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", fakesysfs_root(E.fs),
             pf);
    real = realpath(dir, NULL);
    ck_assert_ptr_nonnull(real);
    ck_assert_int_gt(fakesysfs_kernel_store(fakesysfs_root(E.fs), real,
                                            "sriov_numvfs", n, strlen(n)),
                     0);
    free(real);
}

START_TEST(map_change_sets_numvfs_binds_and_publishes)
{
    char *v;

    preenable(PF1, "2");
    v = sysfs_driver("0000:02:00.1");
    ck_assert_str_eq(v, "igbfake");
    free(v);
    denv_write_map(MAP_PF0(4, "<vf index=\"1\" domain=\"web2\"/>")
                       MAP_PF1(2, ""));
    denv_start_ready();
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_numvfs"), 4);
    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_numvfs"), 2);
    ASSERT_XS("/xenvf/pf/nvme0/numvfs", "4");
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/bdf", "0000:01:00.1");
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/state", "free");
    ASSERT_XS("/xenvf/pf/nvme0/vf/4/state", "absent");
    ASSERT_XS("/xenvf/pf/net0/totalvfs", "8");
    for (int i = 1; i <= 4; i++) {
        char bdf[16];
        snprintf(bdf, sizeof(bdf), "0000:01:00.%d", i);
        v = sysfs_driver(bdf);
        ck_assert_str_eq(v, "pciback");
        free(v);
    }
    /* autoprobe given back after the binds */
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_drivers_autoprobe"), 1);
    /* existing VFs taken from their driver, which is remembered where
     * `xl pci-assignable-remove -r` looks for it */
    v = sysfs_driver("0000:02:00.2");
    ck_assert_str_eq(v, "pciback");
    free(v);
    ASSERT_XS("/libxl/pciback/0000-02-00-2/driver_path",
              "/sys/bus/pci/drivers/igbfake");
    /* the agent (same process, generic backend) reports ready */
    ASSERT_XS("/xenvf/pf/nvme0/state", "ready");

    /* an edit at idle: 4 -> 2 through 0, the rest published absent */
    denv_write_map(MAP_PF0(2, "") MAP_PF1(2, ""));
    ASSERT_XS("/xenvf/pf/nvme0/numvfs", "2");
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_numvfs"), 2);
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/state", "absent");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "free");
}
END_TEST

/* Wait (bounded) until a node does not exist. */
static bool xs_absent(const char *path, int ms)
{
    for (int waited = 0;; waited += 20) {
        char *v = NULL;

        ck_assert_int_eq(xenvf_xs_read(&E.xs, path, &v, NULL), 0);
        free(v);
        if (!v)
            return true;
        if (waited >= ms)
            return false;
        sleep_ms(20);
    }
}

#define NS_VF1 "/xenvf/pf/nvme0/vf/1/namespaces"
#define NS_VF2 "/xenvf/pf/nvme0/vf/2/namespaces"

/* The map's <namespace> elements reach the PF agent through xenstore: one
 * node per VF, ascending nsid, gone with the last namespace. */
START_TEST(map_namespaces_published)
{
    denv_write_map(MAP_PF0(4, "<vf index=\"1\" domain=\"web2\">"
                              "<namespace nsid=\"3\" size=\"1M\"/>"
                              "<namespace nsid=\"1\" size=\"64M\"/></vf>")
                       MAP_PF1(4, ""));
    denv_start_ready();
    ASSERT_XS(NS_VF1, "1:67108864 3:1048576");
    ck_assert(xs_absent(NS_VF2, 0));
    ck_assert(xs_absent("/xenvf/pf/net0/vf/1/namespaces", 0));

    /* edits: one VF's list shrinks, another VF gets one */
    denv_write_map(MAP_PF0(4, "<vf index=\"1\" domain=\"web2\">"
                              "<namespace nsid=\"1\" size=\"64M\"/></vf>"
                              "<vf index=\"2\">"
                              "<namespace nsid=\"5\" size=\"512\"/></vf>")
                       MAP_PF1(4, ""));
    ASSERT_XS(NS_VF2, "5:512");
    ASSERT_XS(NS_VF1, "1:67108864");

    /* removed from the map: the nodes go */
    denv_write_map(MAP_PF0(4, "<vf index=\"1\" domain=\"web2\"/>")
                       MAP_PF1(4, ""));
    if (!xs_absent(NS_VF1, 5000) || !xs_absent(NS_VF2, 5000)) {
        denv_print_log();
        ck_abort_msg("namespaces nodes left after the map dropped them");
    }
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "free");
    ck_assert(!log_has("NOT IMPLEMENTED"));
}
END_TEST

START_TEST(reserve_commit_release)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    denv_write_map(MAP_4_4);
    denv_start_ready();

    /* any free VF of nvme0 for web1: 0 (1 is web2's in the map) */
    req_reserve(&req, "web1", "nvme0", -1);
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    ck_assert_uint_eq(resp.nr_vfs, 1);
    ck_assert_uint_eq(resp.vfs[0].index, 0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "reserved");
    ASSERT_XS("/xenvf/pf/nvme0/active", "1");

    /* map holders are respected */
    req_reserve(&req, "web1", "nvme0", 1);
    ck_assert_int_eq(call(NULL, &req, &resp), XENVF_ECONFLICT);
    ck_assert_msg(strstr(resp.error, "web2"), "%s", resp.error);
    /* all or nothing: a bad second entry leaves the first free */
    req_reserve(&req, "web3", "nvme0", 2);
    req_add(&req, "nvme0", 7);
    ck_assert_int_eq(call(NULL, &req, &resp), XENVF_ERANGE);
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/state", "free");
    /* a held VF is refused, naming the holder */
    req_reserve(&req, "web3", "nvme0", 0);
    ck_assert_int_eq(call(NULL, &req, &resp), XENVF_EBUSY);
    ck_assert_msg(strstr(resp.error, "web1"), "%s", resp.error);
    /* web2 asking for any gets the VF the map gives it */
    req_reserve(&req, "web2", "nvme0", -1);
    ck_assert_int_eq(call(NULL, &req, &resp), 0); /* and drops it: closed */
    ck_assert_uint_eq(resp.vfs[0].index, 1);

    /* commit: only to a domain that exists */
    req_commit(&req, "web1", 5);
    ck_assert_int_eq(call(&c, &req, &resp), XENVF_ENOENT);
    make_domain(5, "web1");
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "active");
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/domain", "5");
    xenvf_client_dispose(&c); /* committed: closing keeps it */
    sleep_ms(100);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "active");

    /* release: FLR, then free */
    xenvf_request_dispose(&req);
    req.op = XENVF_OP_RELEASE;
    req.domain = strdup("web1");
    ck_assert_int_eq(call(NULL, &req, &resp), 0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "free");
    ck_assert_uint_eq(resets("0000:01:00.1"), 1);
    ck_assert_int_eq(call(NULL, &req, &resp), XENVF_ENOENT);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

/* One source for what a guest sees (issue 11): the grant carries the map's
 * settings for the VF with the request's over them, setting by setting, and
 * /xenvf says the same, function and boot included; once released, the
 * VF's nodes are the map's again. */
START_TEST(grant_carries_effective_settings)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;
    char mac[18];

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    denv_write_map(MAP_PF0(4, "<vf index=\"1\" domain=\"web2\" "
                              "function=\"nvme-map\" boot=\"2\" "
                              "mac=\"00:16:3e:00:00:21\" vlan=\"7\"/>")
                       MAP_PF1(4, ""));
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/function", "nvme-map");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/boot", "2");

    req_reserve(&req, "web2", "nvme0", 1);
    req.vfs[0].config.vlan = 9;
    req.vfs[0].config.function = strdup("nvme");
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    ck_assert_uint_eq(resp.nr_vfs, 1);
    ck_assert_str_eq(resp.vfs[0].config.function, "nvme"); /* entry's */
    ck_assert_int_eq(resp.vfs[0].config.vlan, 9);          /* entry's */
    ck_assert_int_eq(resp.vfs[0].config.boot, 2);          /* map's */
    ck_assert(resp.vfs[0].config.has_mac);                 /* map's */
    xenvf_mac_format(resp.vfs[0].config.mac, mac);
    ck_assert_str_eq(mac, "00:16:3e:00:00:21");
    ck_assert_int_eq(resp.vfs[0].config.trust, -1); /* nobody's */
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/function", "nvme");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "9");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/boot", "2");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/mac", "00:16:3e:00:00:21");

    xenvf_client_dispose(&c); /* uncommitted: released */
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/state", "free");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/function", "nvme-map");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "7");
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

/* The guest's channel (docs/guest.md): a guest asks for settings of its
 * own VF in its request node; the TCB takes what the map's guest-settable
 * allows, publishes it for the PF agent, tells the guest, and refuses the
 * rest with the reason, changing nothing. Another guest cannot even write
 * the node (the real xenstored's permissions). */
START_TEST(guest_requests_settings)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;
    xenvf_guest_vf g;
    xsh_guest *g5 = NULL, *g6 = NULL;
    char *v;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    denv_write_map(MAP_PF0(4, "<vf index=\"1\" domain=\"web2\" vlan=\"3\" "
                              "guest-settable=\"mac vlan\"/>") MAP_PF1(4, ""));
    denv_start_ready();
    ck_assert_int_eq(xsh_domain_create(E.hs, 5, &g5), 0);
    ck_assert_int_eq(
        xenvf_xs_write(&E.xs, "/local/domain/5/name", "web2", NULL), 0);
    ck_assert_int_eq(xsh_domain_create(E.hs, 6, &g6), 0);
    req_reserve(&req, "web2", "nvme0", 1);
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    req_commit(&req, "web2", 5);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    /* what the plugin publishes for the guest */
    xenvf_guest_vf_init(&g);
    g.pf_id = strdup("nvme0");
    g.vf_index = 1;
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.2", &g.bdf, NULL), 0);
    ck_assert_int_eq(xenvf_xs_publish_guest(&E.xs, 5, &g, 1, NULL), 0);
    xenvf_guest_vf_dispose(&g);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "3");

    ck_assert_int_eq(xsh_guest_write(g5, "/local/domain/5/xenvf/vf/0/request",
                                     "vlan=7,mac=02:16:3e:00:00:07"),
                     0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "7");
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/mac", "02:16:3e:00:00:07");
    ASSERT_XS("/local/domain/5/xenvf/vf/0/request-result",
              "applied: mac=02:16:3e:00:00:07,vlan=7 (pf nvme0 vf 1)");
    ASSERT_XS("/local/domain/5/xenvf/vf/0/mac", "02:16:3e:00:00:07");

    /* refused: a setting the map does not allow, a bad value, nonsense */
    ck_assert_int_eq(
        xsh_guest_write(g5, "/local/domain/5/xenvf/vf/0/request", "trust=on"),
        0);
    ASSERT_XS("/local/domain/5/xenvf/vf/0/request-result",
              "refused: the map does not let this domain change trust on pf "
              "nvme0 vf 1 (guest-settable: mac vlan)");
    ck_assert_int_eq(
        xsh_guest_write(g5, "/local/domain/5/xenvf/vf/0/request", "vlan=5000"),
        0);
    ASSERT_XS("/local/domain/5/xenvf/vf/0/request-result",
              "refused: vlan 5000 is out of range 0-4094");
    ck_assert_int_eq(
        xsh_guest_write(g5, "/local/domain/5/xenvf/vf/0/request", "colour=red"),
        0);
    v = NULL;
    for (int i = 0; i < 100 && !(v && strstr(v, "unknown setting")); i++) {
        free(v);
        sleep_ms(50);
        v = xs_get("/local/domain/5/xenvf/vf/0/request-result");
    }
    ck_assert_msg(strstr(v, "refused: unknown setting \"colour\""), "%s", v);
    free(v);
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "7"); /* nothing changed */
    /* the guest may not answer itself, another guest may not ask */
    ck_assert_int_eq(
        xsh_guest_write(g5, "/local/domain/5/xenvf/vf/0/request-result",
                        "applied"),
        EACCES);
    ck_assert_int_eq(
        xsh_guest_write(g6, "/local/domain/5/xenvf/vf/0/request", "vlan=9"),
        EACCES);
    /* xenvf-guest's own `request` waits for the answer (run here as dom0,
     * which may write the node too) */
    {
        char cmd[PATH_MAX + 96], out[512] = "";
        FILE *p;
        int st;

        snprintf(cmd, sizeof(cmd),
                 "'%s/guest/xenvf-guest' --domid 5 request 0 vlan=8 2>&1",
                 getenv("XENVF_BUILD"));
        ck_assert_ptr_nonnull(p = popen(cmd, "r"));
        ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
        st = pclose(p);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
        ck_assert_str_eq(out, "applied: vlan=8 (pf nvme0 vf 1)\n");
        ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "8");
    }
    /* kept across a restart: it is the holder's setting now */
    ck_assert_int_eq(denv_stop(), 0);
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/vf/1/vlan", "8");
    xenvf_client_dispose(&c);
    xsh_guest_close(g5);
    xsh_guest_close(g6);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

START_TEST(connection_drop_releases_uncommitted)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    denv_write_map(MAP_4_4);
    denv_start_ready();
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, "web1", "net0", 2);
    req_add(&req, "nvme0", 3);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    ASSERT_XS("/xenvf/pf/net0/vf/2/state", "reserved");
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/state", "reserved");
    xenvf_client_dispose(&c); /* xl died before commit */
    ASSERT_XS("/xenvf/pf/net0/vf/2/state", "free");
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/state", "free");
    ck_assert_uint_eq(resets("0000:02:00.3"), 0); /* never ran: no FLR */
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

/* xl killed after libxl built the domain and passed the VF through, but
 * before commit: the VF is held by that domain, not freed. */
START_TEST(connection_drop_after_passthrough_adopts)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    denv_write_map(MAP_4_4);
    denv_start_ready();
    xenvf_client_init(&c);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, "web9", "nvme0", 3);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    /* what libxl leaves once it has attached 0000:01:00.4 to domain 9 */
    make_domain(9, "web9");
    ck_assert_int_eq(xenvf_xs_write(&E.xs,
                                    "/local/domain/0/backend/pci/9/0/num_devs",
                                    "1", NULL),
                     0);
    ck_assert_int_eq(xenvf_xs_write(&E.xs,
                                    "/local/domain/0/backend/pci/9/0/dev-0",
                                    "0000:01:00.4", NULL),
                     0);
    xenvf_client_dispose(&c); /* xl killed before commit */
    ck_assert(log_wait("adopted as held by domain web9 (9)", 5000));
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/state", "active");
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/domain", "9");
    ck_assert_uint_eq(resets("0000:01:00.4"), 0);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

/* Commit VF `index` of pf to domain domid/name. */
static void hold(const char *pf, int index, unsigned domid, const char *name)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    xenvf_client_init(&c);
    make_domain(domid, name);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, name, pf, index);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    req_commit(&req, name, domid);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    xenvf_client_dispose(&c);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}

START_TEST(release_domain_resets_and_frees)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold("net0", 1, 7, "web7");
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "active");
    ASSERT_XS("/xenvf/pf/net0/active", "1");
    ck_assert_int_eq(xsh_domain_kill(E.hs, 7), 0); /* @releaseDomain */
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "free");
    ASSERT_XS("/xenvf/pf/net0/vf/1/domain", "");
    ASSERT_XS("/xenvf/pf/net0/active", "0");
    ck_assert_uint_eq(resets("0000:02:00.2"), 1);
    ck_assert(log_has("reset (FLR)"));
}
END_TEST

/* ---- the books against libxl's PCI nodes (tcb_domains_repair) ---------- */

static void xs_put(const char *path, const char *value)
{
    ck_assert_int_eq(xenvf_xs_write(&E.xs, path, value, NULL), 0);
}

/* What libxl writes when it gives domid the device (libxl_pci.c): its
 * record of the holder first, then the backend's entry. */
static void libxl_attach(unsigned domid, const char *bdf, const char *xsbdf)
{
    char path[128], v[16];

    snprintf(path, sizeof(path), "/libxl/pciback/%s/domid", xsbdf);
    snprintf(v, sizeof(v), "%u", domid);
    xs_put(path, v);
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/dev-0",
             domid);
    xs_put(path, bdf);
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/num_devs",
             domid);
    xs_put(path, "1");
}

/* xl pci-detach: the backend's entry goes, the directory stays with
 * num_devs 0; libxl's record of the holder goes last. */
static void libxl_detach_backend(unsigned domid)
{
    char path[128];

    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/dev-0",
             domid);
    ck_assert(xs_rm(E.xs.h, XBT_NULL, path));
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/num_devs",
             domid);
    xs_put(path, "0");
}

static void libxl_forget(const char *xsbdf)
{
    char path[128];

    snprintf(path, sizeof(path), "/libxl/pciback/%s/domid", xsbdf);
    ck_assert(xs_rm(E.xs.h, XBT_NULL, path));
}

/* Reserve, let libxl pass it through, commit: an xl create with vf=. */
static void hold_passed_through(const char *pf, int index, unsigned domid,
                                const char *name, const char *bdf,
                                const char *xsbdf)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    xenvf_client_init(&c);
    make_domain(domid, name);
    ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
    req_reserve(&req, name, pf, index);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    libxl_attach(domid, bdf, xsbdf);
    req_commit(&req, name, domid);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    xenvf_client_dispose(&c);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}

/* xl pci-detach of a running guest's VF: reset and free once libxl has
 * finished, not before. */
START_TEST(pci_detach_resets_and_frees)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold_passed_through("net0", 1, 7, "web7", "0000:02:00.2", "0000-02-00-2");
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "active");
    libxl_detach_backend(7);
    sleep_ms(300); /* libxl is still removing it: its record says 7 */
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "active");
    ck_assert_uint_eq(resets("0000:02:00.2"), 0);
    libxl_forget("0000-02-00-2");
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "free");
    ASSERT_XS("/xenvf/pf/net0/vf/1/domain", "");
    ASSERT_XS("/xenvf/pf/net0/active", "0");
    ck_assert_uint_eq(resets("0000:02:00.2"), 1);
    ck_assert(log_has("vf 1 left domain web7 (7) (xl pci-detach)"));
    /* the domain's later death changes nothing more */
    ck_assert_int_eq(xsh_domain_kill(E.hs, 7), 0);
    sleep_ms(300);
    ck_assert_uint_eq(resets("0000:02:00.2"), 1);
}
END_TEST

/* xl pci-attach (or a restore) without the plugin: a free VF libxl gives
 * a live domain is that domain's. */
START_TEST(pci_attach_without_plugin_is_adopted)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    make_domain(8, "web8");
    libxl_attach(8, "0000:02:00.3", "0000-02-00-3");
    ASSERT_XS("/xenvf/pf/net0/vf/2/state", "active");
    ASSERT_XS("/xenvf/pf/net0/vf/2/domain", "8");
    ASSERT_XS("/xenvf/pf/net0/active", "1");
    ck_assert(log_has("vf 2 adopted as held by domain web8 (8): libxl's PCI "
                      "backend lists it (the books said free)"));
    /* free -> active is no step of the state machine: a logged recovery */
    ck_assert(log_has("pf net0: vf 2: free -> active, outside the state "
                      "machine: adopted from what libxl shows"));
    ck_assert_uint_eq(resets("0000:02:00.3"), 0);
    /* a reserve for anyone else is refused now */
    {
        xenvf_request req;
        xenvf_response resp;
        xenvf_client c;

        xenvf_request_init(&req);
        xenvf_response_init(&resp);
        xenvf_client_init(&c);
        ck_assert_int_eq(xenvf_client_connect(&c, E.sock, NULL), 0);
        req_reserve(&req, "web9", "net0", 2);
        ck_assert_int_eq(xenvf_client_call(&c, &req, &resp, 5000, NULL), 0);
        ck_assert_int_eq(resp.rc, XENVF_EBUSY);
        xenvf_client_dispose(&c);
        xenvf_request_dispose(&req);
        xenvf_response_dispose(&resp);
    }
    /* and its death frees it, with a reset */
    ck_assert_int_eq(xsh_domain_kill(E.hs, 8), 0);
    ASSERT_XS("/xenvf/pf/net0/vf/2/state", "free");
    ck_assert_uint_eq(resets("0000:02:00.3"), 1);
}
END_TEST

/* A VF whose holder died while another domain got it from libxl (a save
 * and a restore, seen together): handed over, never reset under the new
 * holder. */
START_TEST(vf_of_dead_domain_in_live_backend_moves)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold_passed_through("net0", 0, 5, "web5", "0000:02:00.1", "0000-02-00-1");
    ASSERT_XS("/xenvf/pf/net0/vf/0/state", "active");
    denv_kill9(); /* so that both changes are seen at once */
    ck_assert_int_eq(xsh_domain_kill(E.hs, 5), 0);
    make_domain(6, "web5");
    libxl_attach(6, "0000:02:00.1", "0000-02-00-1");
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/net0/vf/0/domain", "6");
    ASSERT_XS("/xenvf/pf/net0/vf/0/state", "active");
    ck_assert_uint_eq(resets("0000:02:00.1"), 0);
    ck_assert(log_has("its holder web5 (5) is gone"));
}
END_TEST

/* Two live domains' hands, per the books and per libxl: said, not
 * "repaired" by taking the VF from either. */
START_TEST(vf_in_two_live_domains_is_reported)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold_passed_through("net0", 3, 5, "web5", "0000:02:00.4", "0000-02-00-4");
    make_domain(6, "web6");
    libxl_attach(6, "0000:02:00.4", "0000-02-00-4");
    ck_assert(log_wait("two domains must not share a VF", 5000));
    ASSERT_XS("/xenvf/pf/net0/vf/3/domain", "5");
    ck_assert_uint_eq(resets("0000:02:00.4"), 0);
}
END_TEST

/* pci-detach while xenvfd was down: the restart frees it. */
START_TEST(pci_detach_while_down_is_found_at_start)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold_passed_through("net0", 1, 7, "web7", "0000:02:00.2", "0000-02-00-2");
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "active");
    denv_kill9();
    libxl_detach_backend(7);
    libxl_forget("0000-02-00-2");
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "free");
    ck_assert_uint_eq(resets("0000:02:00.2"), 1);
}
END_TEST

/* ---- driver domains by name -------------------------------------------- */

/* A domain as libxl makes one: its name first, then XS_INTRODUCE (which
 * fires @introduceDomain). */
static void start_domain(unsigned domid, const char *name)
{
    char path[64];

    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    xs_put(path, name);
    ck_assert_int_eq(xsh_domain_create(E.hs, domid, NULL), 0);
}

/* The map names net0's driver domain: the TCB follows the name to each
 * domid it runs as, and nobody serves the PF while it is down. */
START_TEST(owner_by_name_follows_the_domain)
{
    denv_write_map(MAP_PF0(4, "") MAP_PF1_OWNER(4, "dd2", ""));
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/net0/owner", "");
    ASSERT_XS("/xenvf/pf/net0/state", "unknown");
    ck_assert(log_has("pf net0: its driver domain dd2 is not running"));
    ASSERT_XS("/xenvf/pf/nvme0/owner", "0");

    start_domain(9, "dd2");
    ASSERT_XS("/xenvf/pf/net0/owner", "9");
    ck_assert(log_wait("pf net0: its driver domain dd2 is domain 9", 5000));
    /* its agent says ready; the domain dies: unknown again, nobody's */
    xs_put("/xenvf/pf/net0/state", "ready");
    ck_assert_int_eq(xsh_domain_kill(E.hs, 9), 0);
    ASSERT_XS("/xenvf/pf/net0/owner", "");
    ASSERT_XS("/xenvf/pf/net0/state", "unknown");
    /* it comes back as another domid: followed, with no map edit */
    start_domain(10, "dd2");
    ASSERT_XS("/xenvf/pf/net0/owner", "10");
    ASSERT_XS("/xenvf/pf/net0/state", "unknown");
}
END_TEST

static char *sysfs_attr(const char *bdf, const char *attr)
{
    char p[PATH_MAX + 64];
    FILE *f;
    char buf[128] = "";

    snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/%s", fakesysfs_root(E.fs),
             bdf, attr);
    if ((f = fopen(p, "r"))) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

static void assert_vfs_on_pciback(void)
{
    static const char *const vfs[] = {"0000:02:00.1", "0000:02:00.2"};

    for (int i = 0; i < 2; i++) {
        char *d = sysfs_driver(vfs[i]);

        ck_assert_msg(!strcmp(d, "pciback"), "%s is on '%s', not pciback",
                      vfs[i], d);
        free(d);
    }
}

/* The TCB hands a driver domain's PF to pciback once NumVFs is set (reset
 * methods off, its old driver noted where libxl looks), and gives it back
 * to dom0's driver when the map's owner is dom0 again. */
START_TEST(driver_domain_pf_handed_over_and_back)
{
    char *drv, *rm, *before = sysfs_driver(PF1);

    denv_write_map(MAP_PF0(4, "") MAP_PF1_OWNER(2, "dd2", ""));
    denv_start_ready();
    ck_assert(
        log_wait("pf net0: handed to pciback for its driver domain dd2", 5000));
    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_numvfs"), 2);
    drv = sysfs_driver(PF1);
    ck_assert_str_eq(drv, "pciback");
    free(drv);
    rm = sysfs_attr(PF1, "reset_method");
    ck_assert_str_eq(rm, "");
    free(rm);
    /* pciback let go of the VFs when the PF's driver was unbound: bound
     * again */
    assert_vfs_on_pciback();
    {
        char path[96], want[128];

        snprintf(path, sizeof(path), "/libxl/pciback/%s/driver_path", PF1_XS);
        snprintf(want, sizeof(want), "/sys/bus/pci/drivers/%s", before);
        ASSERT_XS(path, want);
    }
    /* NumVFs cannot change while the driver domain's driver holds it */
    denv_write_map(MAP_PF0(4, "") MAP_PF1_OWNER(3, "dd2", ""));
    ck_assert(
        log_wait("NumVFs 2 -> 3 refused: the PF is bound to pciback", 5000));
    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_numvfs"), 2);
    /* dom0's again: given back, reset methods back */
    denv_write_map(MAP_PF0(4, "") MAP_PF1(2, ""));
    ck_assert(log_wait("pf net0: given back to dom0's", 5000));
    /* Xen asked first (no hypervisor here: nothing in its quarantine) */
    ck_assert(log_has("pf net0: nothing to take out of Xen's quarantine"));
    drv = sysfs_driver(PF1);
    ck_assert_str_eq(drv, before);
    free(drv);
    rm = sysfs_attr(PF1, "reset_method");
    ck_assert_str_eq(rm, "flr bus");
    free(rm);
    assert_vfs_on_pciback();
    free(before);
}
END_TEST

/* A domid in owner still works, with a warning. */
START_TEST(owner_domid_is_deprecated)
{
    denv_write_map(MAP_PF0(4, "") MAP_PF1_OWNER(4, "7", ""));
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/net0/owner", "7");
    ck_assert(log_has("pf net0: owner=\"7\" names a domid"));
}
END_TEST

START_TEST(conflicting_map_edit_is_refused)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold("nvme0", 2, 5, "web1");

    /* NumVFs change under an active VF */
    denv_write_map(MAP_PF0(3, "") MAP_PF1(4, ""));
    ck_assert(log_wait("NumVFs change 4 -> 3 is refused: vf 2 is held by "
                       "domain web1 (5)",
                       5000));
    /* counted for xenvf metrics: the start's reconciles went through,
     * this one was refused */
    {
        xenvf_reconcile_stats st;
        bool present;

        ck_assert_int_eq(
            xenvf_xs_read_reconcile_stats(&E.xs, &st, &present, NULL), 0);
        ck_assert(present);
        ck_assert_uint_eq(st.refused, 1);
        ck_assert_uint_ge(st.runs, 2);
        ck_assert_uint_eq(st.failed_steps, 0);
    }
    /* the VF given to another domain */
    denv_write_map(MAP_PF0(4, "<vf index=\"2\" domain=\"web9\"/>")
                       MAP_PF1(4, ""));
    ck_assert(log_wait("vf 2 is held by domain web1 (5); the map gives it to "
                       "'web9'",
                       5000));
    /* past TotalVFs, an unknown PF */
    denv_write_map(MAP_PF0(4, "") MAP_PF1(9, ""));
    ck_assert(log_wait("numvfs 9 is more than TotalVFs 8", 5000));
    denv_write_map(MAP_PF0(4, "") MAP_PF1(
        4, "") "  <pf id=\"nic9\" address=\"0000:09:00.0\" "
               "numvfs=\"1\"/>\n");
    ck_assert(log_wait("unknown PF", 5000));
    /* a VF in two domains never gets past the parser */
    denv_write_map(MAP_PF0(4, "<vf index=\"0\" domain=\"a\"/>"
                              "<vf index=\"0\" domain=\"b\"/>") MAP_PF1(4, ""));
    ck_assert(log_wait("refused", 5000));

    /* running state untouched */
    ck_assert_uint_eq(sysfs_uint(PF0, "sriov_numvfs"), 4);
    ASSERT_XS("/xenvf/pf/nvme0/numvfs", "4");
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/state", "active");
    ck_assert(!xs_wait("/xenvf/pf/nic9/numvfs", "1", 100));
    ck_assert_uint_eq(resets("0000:01:00.3"), 0);

    /* and a good edit afterwards goes through */
    denv_write_map(MAP_PF0(4, "") MAP_PF1(6, ""));
    ASSERT_XS("/xenvf/pf/net0/numvfs", "6");
}
END_TEST

/* A held VF keeps its disks: the map may add a namespace to it but not take
 * one away; once the VF is free it may. */
START_TEST(namespace_taken_from_held_vf_is_refused)
{
#define NS_2   "<namespace nsid=\"2\" size=\"1M\"/>"
#define NS_2_4 NS_2 "<namespace nsid=\"4\" size=\"1M\"/>"
    denv_write_map(MAP_PF0(4, "<vf index=\"2\">" NS_2 "</vf>") MAP_PF1(4, ""));
    denv_start_ready();
    ASSERT_XS(NS_VF2, "2:1048576");
    hold("nvme0", 2, 5, "web1");

    denv_write_map(MAP_PF0(4, "<vf index=\"2\">" NS_2_4 "</vf>")
                       MAP_PF1(4, ""));
    ASSERT_XS(NS_VF2, "2:1048576 4:1048576");
    denv_write_map(MAP_PF0(4, "<vf index=\"2\">" NS_2 "</vf>") MAP_PF1(4, ""));
    ck_assert(log_wait("pf 'nvme0': taking namespace 4 away from vf 2 is "
                       "refused: it is held by domain web1 (5)",
                       5000));
    ck_assert(!xs_wait(NS_VF2, "2:1048576", 200));
    ASSERT_XS(NS_VF2, "2:1048576 4:1048576");

    ck_assert_int_eq(xsh_domain_kill(E.hs, 5), 0); /* @releaseDomain */
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/state", "free");
    denv_write_map(MAP_PF0(4, "<vf index=\"2\">" NS_2 "</vf>") MAP_PF1(4, ""));
    ASSERT_XS(NS_VF2, "2:1048576");
#undef NS_2
#undef NS_2_4
}
END_TEST

START_TEST(vanished_pf_goes_failed)
{
    xenvf_request req;
    xenvf_response resp;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    denv_write_map(MAP_4_4);
    denv_start_ready();
    hold("net0", 0, 6, "web6");
    ASSERT_XS("/xenvf/pf/net0/state", "ready");
    ck_assert_int_eq(fakesysfs_remove_device(E.fs, PF1), 0);
    ASSERT_XS("/xenvf/pf/net0/state", "failed");
    ASSERT_XS("/xenvf/pf/net0/vf/0/state", "failed");
    ASSERT_XS("/xenvf/pf/net0/vf/1/state", "failed");
    ck_assert(log_wait("vanished", 2000));
    /* the assignment is not forgotten, and the other PF goes on */
    ASSERT_XS("/xenvf/pf/net0/vf/0/domain", "6");
    ASSERT_XS("/xenvf/pf/nvme0/state", "ready");
    req_reserve(&req, "web8", "net0", -1);
    ck_assert_int_eq(call(NULL, &req, &resp), XENVF_EBUSY);
    req_reserve(&req, "web8", "nvme0", -1);
    ck_assert_int_eq(call(NULL, &req, &resp), 0);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
END_TEST

START_TEST(agent_follows_pf_driver)
{
    denv_write_map(MAP_4_4);
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/net0/state", "ready");
    /* the PF driver reloads (the fake kernel's unbind and bind stores):
     * resetting, then ready again with every VF set up again */
    {
        char dir[PATH_MAX + 64], *real;
        snprintf(dir, sizeof(dir), "%s/bus/pci/drivers/igbfake",
                 fakesysfs_root(E.fs));
        real = realpath(dir, NULL);
        ck_assert_int_gt(fakesysfs_kernel_store(fakesysfs_root(E.fs), real,
                                                "unbind", PF1, strlen(PF1)),
                         0);
        ASSERT_XS("/xenvf/pf/net0/state", "resetting");
        ck_assert_int_gt(fakesysfs_kernel_store(fakesysfs_root(E.fs), real,
                                                "bind", PF1, strlen(PF1)),
                         0);
        free(real);
    }
    ASSERT_XS("/xenvf/pf/net0/state", "ready");
    ck_assert(log_has("probing -> ready") || log_has("resetting -> probing"));
}
END_TEST

/* A NumVFs write the kernel refuses (the PF's driver has no
 * sriov_configure: -ENOENT) is a failed step, counted for xenvf metrics. */
START_TEST(failed_numvfs_write_is_counted)
{
    char dir[PATH_MAX + 64], *real;
    xenvf_reconcile_stats st;
    bool present = false;

    ck_assert_int_eq(fakesysfs_add_driver(E.fs, "nosriovfake", false), 0);
    snprintf(dir, sizeof(dir), "%s/bus/pci/drivers/igbfake",
             fakesysfs_root(E.fs));
    ck_assert_ptr_nonnull(real = realpath(dir, NULL));
    ck_assert_int_gt(fakesysfs_kernel_store(fakesysfs_root(E.fs), real,
                                            "unbind", PF1, strlen(PF1)),
                     0);
    free(real);
    snprintf(dir, sizeof(dir), "%s/bus/pci/drivers/nosriovfake",
             fakesysfs_root(E.fs));
    ck_assert_ptr_nonnull(real = realpath(dir, NULL));
    ck_assert_int_gt(fakesysfs_kernel_store(fakesysfs_root(E.fs), real, "bind",
                                            PF1, strlen(PF1)),
                     0);
    free(real);

    denv_write_map(MAP_4_4);
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/nvme0/numvfs", "4");
    ck_assert_uint_eq(sysfs_uint(PF1, "sriov_numvfs"), 0);
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(
            xenvf_xs_read_reconcile_stats(&E.xs, &st, &present, NULL), 0);
        if (present && st.failed_steps)
            break;
        usleep(50 * 1000);
    }
    ck_assert(present);
    ck_assert_uint_ge(st.failed_steps, 1);
    ck_assert_uint_eq(st.refused, 0);
}
END_TEST

/* Voluntary context switches (wakeups) of every thread of pid. */
static unsigned long ctxt_switches(pid_t pid)
{
    char path[300], line[256];
    unsigned long sum = 0, v;
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    d = opendir(path);
    while (d && (de = readdir(d))) {
        FILE *f;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid,
                 de->d_name);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
            if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1)
                sum += v;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return sum;
}

START_TEST(idle_daemon_makes_no_wakeups)
{
    unsigned long before, after;

    if (getenv("XENVFD_WRAPPER"))
        return; /* a tool's own threads wake up */
    denv_write_map(MAP_4_4);
    denv_start_ready();
    ASSERT_XS("/xenvf/pf/net0/state", "ready");
    sleep_ms(300); /* let the last watch events drain */
    before = ctxt_switches(E.pid);
    sleep_ms(2000);
    after = ctxt_switches(E.pid);
    ck_assert_msg(after == before, "%lu wakeups in 2 s of idle",
                  after - before);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcb_daemon");
    TCase *tc = tcase_create("xenvfd");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, map_change_sets_numvfs_binds_and_publishes);
    tcase_add_test(tc, map_namespaces_published);
    tcase_add_test(tc, reserve_commit_release);
    tcase_add_test(tc, grant_carries_effective_settings);
    tcase_add_test(tc, guest_requests_settings);
    tcase_add_test(tc, connection_drop_releases_uncommitted);
    tcase_add_test(tc, connection_drop_after_passthrough_adopts);
    tcase_add_test(tc, release_domain_resets_and_frees);
    tcase_add_test(tc, pci_detach_resets_and_frees);
    tcase_add_test(tc, pci_attach_without_plugin_is_adopted);
    tcase_add_test(tc, vf_of_dead_domain_in_live_backend_moves);
    tcase_add_test(tc, vf_in_two_live_domains_is_reported);
    tcase_add_test(tc, pci_detach_while_down_is_found_at_start);
    tcase_add_test(tc, owner_by_name_follows_the_domain);
    tcase_add_test(tc, owner_domid_is_deprecated);
    tcase_add_test(tc, driver_domain_pf_handed_over_and_back);
    tcase_add_test(tc, conflicting_map_edit_is_refused);
    tcase_add_test(tc, namespace_taken_from_held_vf_is_refused);
    tcase_add_test(tc, vanished_pf_goes_failed);
    tcase_add_test(tc, failed_numvfs_write_is_counted);
    tcase_add_test(tc, agent_follows_pf_driver);
    tcase_add_test(tc, idle_daemon_makes_no_wakeups);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(suite)
