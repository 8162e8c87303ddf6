/*
 * The plugin's domain build and unpause (libxl-plugin/build.c) without a
 * hypervisor: libxl is a fake behind xlp_ops (it "creates" a domain by
 * introducing it to the real xenstored and making /local/domain/<domid>,
 * as libxl does); xenstore is Debian's real xenstored and the TCB the real
 * xenvfd on the fake sysfs tree (plugin-env.h); the test plays the PF
 * agent.
 *
 * What is shown: a config without vf= is passed through untouched; vf=
 * becomes reserved, committed VFs as PCI devices, guest nodes and a gate
 * plan; the gate holds the unpause until the PF is ready, and a timeout or
 * a failed PF destroys the domain and releases its VFs; a failure at any
 * step of the build leaves nothing behind; `xl create -p` then `xl unpause`
 * (another process) goes through the gate; a reboot gets the same VFs back
 * (waiting for them if xenvfd is still resetting them) and the gate again;
 * pci= of a VF xenvf manages is reserved for the domain before libxl
 * assigns it, with or without vf=, and committed once built.
 */
#include <pthread.h>

#include <xenvf/file.h>
#include "../../libxl-plugin/build.h"
#include "../../libxl-plugin/log.h"
#include "../harness/plugin-env.h"
#include "../harness/check-main.h"

#define MAX_DOMS 64

static struct xs_handle *raw; /* dom0, for looking at nodes */
static xenvf_err err;
static char conf_path[PATH_MAX + 32], logbuf[16384];

/* ---- a fake libxl ----------------------------------------------------------
 */

static struct fake {
    uint32_t next_domid;
    int fail_create, fail_plan_store;
    bool no_introduce; /* a domain xenstored never heard of */
    unsigned nr_create, nr_unpause, nr_destroy;
    uint32_t last_unpaused;
    int create_saw;      /* d->num_pcidevs when create ran */
    const char *vf_node; /* a node under /xenvf/pf: its value at create */
    char vf_node_at_create[64];
    xenvf_bdf saw[8];
    bool alive[MAX_DOMS];
    xsh_guest *guest[MAX_DOMS];
    char *plan[MAX_DOMS];
    void (*on_waiting)(void);
} fake;

static int fake_create(void *opaque, libxl_domain_config *d, uint32_t *domid)
{
    struct xs_permissions perm;
    char path[64];
    uint32_t id;

    fake.nr_create++;
    fake.create_saw = d->num_pcidevs;
    for (int i = 0; i < d->num_pcidevs && i < 8; i++)
        fake.saw[i] = (xenvf_bdf){.seg = (uint16_t)d->pcidevs[i].domain,
                                  .bus = d->pcidevs[i].bus,
                                  .dev = d->pcidevs[i].dev,
                                  .func = d->pcidevs[i].func};
    if (fake.vf_node) {
        char *v;

        snprintf(path, sizeof(path), "/xenvf/pf/%s", fake.vf_node);
        v = xs_read(raw, XBT_NULL, path, NULL);
        snprintf(fake.vf_node_at_create, sizeof(fake.vf_node_at_create), "%s",
                 v ? v : "(none)");
        free(v);
    }
    if (fake.fail_create)
        return fake.fail_create;
    id = fake.next_domid++;
    if (fake.no_introduce) /* exists, never introduced to xenstored */
        ck_assert_int_eq(xsh_domain_add(E.hs, id), 0);
    else
        ck_assert_int_eq(xsh_domain_create(E.hs, id, &fake.guest[id]), 0);
    /* libxl makes the domain's home, owned by the domain, and names it */
    snprintf(path, sizeof(path), "/local/domain/%u", id);
    ck_assert(xs_mkdir(raw, XBT_NULL, path));
    perm = (struct xs_permissions){.id = id, .perms = XS_PERM_NONE};
    ck_assert(xs_set_permissions(raw, XBT_NULL, path, &perm, 1));
    snprintf(path, sizeof(path), "/local/domain/%u/name", id);
    ck_assert(
        xs_write(raw, XBT_NULL, path, d->c_info.name, strlen(d->c_info.name)));
    fake.alive[id] = true;
    *domid = id;
    return 0;
}

static int fake_destroy(void *opaque, uint32_t domid)
{
    char path[64];

    fake.nr_destroy++;
    if (domid >= MAX_DOMS || !fake.alive[domid])
        return ERROR_INVAL;
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    xs_rm(raw, XBT_NULL, path); /* as libxl's destroy does */
    if (fake.guest[domid]) {    /* @releaseDomain: xenvfd resets its VFs */
        xsh_guest_close(fake.guest[domid]);
        fake.guest[domid] = NULL;
        ck_assert_int_eq(xsh_domain_kill(E.hs, domid), 0);
    }
    fake.alive[domid] = false;
    free(fake.plan[domid]); /* libxl removes the domain's userdata */
    fake.plan[domid] = NULL;
    return 0;
}

static int fake_unpause(void *opaque, uint32_t domid)
{
    fake.nr_unpause++;
    fake.last_unpaused = domid;
    return domid < MAX_DOMS && fake.alive[domid] ? 0 : ERROR_INVAL;
}

static int fake_plan_store(void *opaque, uint32_t domid, const char *text)
{
    if (fake.fail_plan_store)
        return fake.fail_plan_store;
    free(fake.plan[domid]);
    fake.plan[domid] = strdup(text);
    return 0;
}

static int fake_plan_load(void *opaque, uint32_t domid, char **text_out)
{
    *text_out =
        domid < MAX_DOMS && fake.plan[domid] ? strdup(fake.plan[domid]) : NULL;
    return 0;
}

static void fake_plan_remove(void *opaque, uint32_t domid)
{
    free(fake.plan[domid]);
    fake.plan[domid] = NULL;
}

static void fake_gate_waiting(void *opaque, const gate_plan *p)
{
    if (fake.on_waiting)
        fake.on_waiting();
}

static const xlp_ops fake_ops = {
    .create = fake_create,
    .unpause = fake_unpause,
    .destroy = fake_destroy,
    .plan_store = fake_plan_store,
    .plan_load = fake_plan_load,
    .plan_remove = fake_plan_remove,
    .gate_waiting = fake_gate_waiting,
};

/* ---- fixture --------------------------------------------------------------
 */

static void capture(void *opaque, xenvf_log_level level, const char *func,
                    const char *msg)
{
    size_t n = strlen(logbuf);

    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static void set_state(const char *id, xenvf_pf_state state)
{
    penv_set_state(id, state);
}

/* The gate's count of waits on pf that ended as r (/xenvf/stats). */
static uint64_t gate_waits(const char *pf, xenvf_gate_result r)
{
    xenvf_gate_stats st;

    ck_assert_int_eq(xenvf_xs_read_gate_stats(&E.xs, pf, &st, NULL), 0);
    return st.waits[r];
}

static void write_conf(const char *extra)
{
    penv_write_conf(conf_path, sizeof(conf_path), extra);
}

static void setup(void)
{
    penv_setup();
    ck_assert_ptr_nonnull(raw = xs_open(0));
    write_conf(NULL);
    memset(&fake, 0, sizeof(fake));
    fake.next_domid = 5;
    logbuf[0] = '\0';
    xenvf_log_set_sink(capture, NULL);
    xenvf_err_init(&err);
}

static void teardown(void)
{
    xenvf_log_set_sink(NULL, NULL);
    for (int i = 0; i < MAX_DOMS; i++) {
        xsh_guest_close(fake.guest[i]);
        free(fake.plan[i]);
    }
    xs_close(raw);
    penv_teardown();
}

/* ---- helpers ---------------------------------------------------------------
 */

static void plugin_init(xlp *p)
{
    xlp_init(p, &fake_ops);
    p->conf_path = conf_path;
}

/* What the interposed xlu_cfg_readdata does inside xl. */
static void xl_parses(xlp *p, const char *text, const char *extra)
{
    vfcfg scratch;
    XLU_Config *cfg = xlu_cfg_init(stderr, "web1.cfg");
    char *all = NULL;

    ck_assert_int_ge(asprintf(&all, "%s%s%s%s", text, extra ? "\n" : "",
                              extra ? extra : "", extra ? "\n" : ""),
                     0);
    ck_assert_int_eq(xlu_cfg_readdata(cfg, all, (int)strlen(all)), 0);
    xlp_capture(p, cfg, "web1.cfg", false); /* no xl here to report */
    xlu_cfg_destroy(cfg);
    free(all);
    (void)scratch;
}

static void make_domain_config(libxl_domain_config *d)
{
    libxl_domain_config_init(d);
    libxl_domain_create_info_init(&d->c_info);
    d->c_info.type = LIBXL_DOMAIN_TYPE_PV;
    libxl_domain_build_info_init_type(&d->b_info, LIBXL_DOMAIN_TYPE_PV);
    d->c_info.name = strdup("web1");
}

/* /local/domain/<domid>/xenvf<rel>, as dom0 reads it; NULL if absent. */
static char *node(uint32_t domid, const char *rel)
{
    char path[128];
    unsigned len;

    snprintf(path, sizeof(path), "/local/domain/%u/xenvf%s", domid, rel);
    return xs_read(raw, XBT_NULL, path, &len);
}

static bool guest_nodes_exist(uint32_t domid)
{
    char *v = node(domid, "");

    free(v);
    return v != NULL;
}

static unsigned alive_domains(void)
{
    unsigned n = 0;

    for (int i = 0; i < MAX_DOMS; i++)
        n += fake.alive[i];
    return n;
}

/* Nothing left behind: no VF held, no domain, no guest node, no plan. */
static void assert_nothing_left(uint32_t domid, unsigned others_held)
{
    ck_assert_uint_eq(penv_held_settles_to(others_held), others_held);
    ck_assert_uint_eq(alive_domains(), 0);
    if (domid < MAX_DOMS) {
        ck_assert(!guest_nodes_exist(domid));
        ck_assert_ptr_null(fake.plan[domid]);
    }
}

/* ---- tests -----------------------------------------------------------------
 */

START_TEST(no_vf_is_left_alone)
{
    libxl_domain_config d;
    uint32_t domid = 0;
    int lrc;
    xlp p;

    plugin_init(&p);
    xl_parses(&p, "name='web1'\nmemory=512\npci=['05:00.0']\n", NULL);
    make_domain_config(&d);
    ck_assert(!xlp_has_work(&p, &d));
    ck_assert_int_eq(xlp_create(&p, &d, &domid, &lrc, &err), 0);
    ck_assert_int_eq(lrc, 0);
    ck_assert_uint_eq(domid, 5);
    ck_assert_int_eq(d.num_pcidevs, 0);
    ck_assert_uint_eq(penv_nr_held(), 0);
    ck_assert(!log_has("reserved for"));
    ck_assert(!guest_nodes_exist(domid));
    ck_assert_ptr_null(fake.plan[domid]);
    /* and unpause is libxl's at once */
    ck_assert_int_eq(xlp_unpause(&p, domid, &lrc, &err), 0);
    ck_assert_uint_eq(fake.nr_unpause, 1);
    ck_assert_str_eq(logbuf, "");
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

START_TEST(vfs_are_reserved_added_committed_and_published)
{
    libxl_domain_config d;
    uint32_t domid;
    char *v;
    int lrc;
    xlp p;

    plugin_init(&p);
    xl_parses(&p,
              "name='web1'\n"
              "vf = [ 'pf=nvme0,function=nvme,boot=1',\n"
              "       'pf=0000:02:00.0,mac=00:16:3e:00:00:01,timeout=7' ]\n",
              NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    ck_assert_uint_eq(domid, 5);
    /* libxl saw them as PCI devices */
    ck_assert_int_eq(fake.create_saw, 2);
    ck_assert_uint_eq(fake.saw[0].bus, 1);
    ck_assert_uint_eq(fake.saw[0].func, 1);
    ck_assert_uint_eq(fake.saw[1].bus, 2);
    ck_assert(libxl_defbool_val(d.b_info.u.pv.e820_host));
    /* xenvfd holds them for domain 5 */
    ck_assert_int_eq(penv_holder("nvme0", 0), 5);
    ck_assert_int_eq(penv_holder("net0", 0), 5);
    ck_assert(log_has("domain web1 is domid 5: 2 VF(s) active"));
    /* the guest's nodes, readable by the guest itself */
    ck_assert_str_eq(v = node(5, "/vf/0/function"), "nvme");
    free(v);
    ck_assert_str_eq(v = node(5, "/vf/0/boot"), "1");
    free(v);
    ck_assert_str_eq(v = node(5, "/vf/1/pf"), "net0");
    free(v);
    ck_assert_int_eq(xsh_guest_read(fake.guest[5], "xenvf/vf/1/mac", &v), 0);
    ck_assert_str_eq(v, "00:16:3e:00:00:01");
    free(v);
    ck_assert_int_eq(xsh_guest_write(fake.guest[5], "xenvf/vf/1/mac", "x"),
                     EACCES);
    /* the gate plan: the entry's own timeout, or the default */
    ck_assert_ptr_nonnull(fake.plan[5]);
    ck_assert_ptr_nonnull(strstr(fake.plan[5], "pf nvme0 5000\n"));
    ck_assert_ptr_nonnull(strstr(fake.plan[5], "pf net0 7000\n"));
    ck_assert_uint_eq(fake.nr_unpause, 0); /* libxl built it paused */

    /* PFs ready: unpaused at once, and the gate is passed for good */
    ck_assert_int_eq(xlp_unpause(&p, 5, &lrc, &err), 0);
    ck_assert_uint_eq(fake.nr_unpause, 1);
    ck_assert_ptr_null(fake.plan[5]);
    ck_assert_ptr_nonnull(strstr(logbuf, "reserving 2 VFs for domain web1"));
    ck_assert_ptr_nonnull(
        strstr(logbuf, "vf[1]: PF net0 VF 0 at 0000:02:00.1"));
    ck_assert_ptr_nonnull(strstr(logbuf, "domain web1 is domain 5 with 2 VFs, "
                                         "paused until PF nvme0, net0 are "
                                         "ready"));
    ck_assert_ptr_nonnull(strstr(logbuf, "(all 2 PFs are), unpausing domain "
                                         "5"));
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

static void nvme0_ready_soon(void)
{
    /* the PF agent finishes while the gate sleeps */
    set_state("nvme0", XENVF_PF_READY);
}

/* The guest is told the effective settings: a function, boot order and
 * MAC the map gives its VF reach its nodes, and an entry's own function
 * wins over the map's (issue 11: they were the entry's alone). */
START_TEST(map_settings_reach_the_guest)
{
    libxl_domain_config d;
    uint32_t domid;
    char *v;
    int lrc;
    xlp p;

    denv_write_map(MAP_PF0(4, "<vf index=\"2\" domain=\"web1\" "
                              "function=\"nvme-map\" boot=\"3\" "
                              "mac=\"00:16:3e:00:00:32\"/>")
                       MAP_PF1(4, "<vf index=\"1\" domain=\"web1\" "
                                  "function=\"igbvf\"/>"));
    ASSERT_XS("/xenvf/pf/nvme0/vf/2/boot", "3");
    ASSERT_XS("/xenvf/pf/net0/vf/1/function", "igbvf");
    plugin_init(&p);
    xl_parses(
        &p,
        "name='web1'\n"
        "vf = [ 'pf=nvme0,index=2', 'pf=net0,index=1,function=vfio-pci' ]\n",
        NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    ck_assert_str_eq(v = node(domid, "/vf/0/function"), "nvme-map");
    free(v);
    ck_assert_str_eq(v = node(domid, "/vf/0/boot"), "3");
    free(v);
    ck_assert_str_eq(v = node(domid, "/vf/0/mac"), "00:16:3e:00:00:32");
    free(v);
    ck_assert_str_eq(v = node(domid, "/vf/1/function"), "vfio-pci");
    free(v);
    ck_assert_ptr_null(v = node(domid, "/vf/1/boot"));
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

START_TEST(the_gate_holds_until_ready)
{
    libxl_domain_config d;
    uint32_t domid;
    int lrc;
    xlp p;

    set_state("nvme0", XENVF_PF_PROBING);
    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    fake.on_waiting = nvme0_ready_soon;
    ck_assert_uint_eq(gate_waits("nvme0", XENVF_GATE_READY), 0);
    ck_assert_msg(!xlp_unpause(&p, domid, &lrc, &err), "%s", err.msg);
    ck_assert_uint_eq(fake.nr_unpause, 1);
    /* counted for xenvf metrics: one wait, ready, its time in the sum */
    {
        xenvf_gate_stats st;

        ck_assert_int_eq(xenvf_xs_read_gate_stats(&E.xs, "nvme0", &st, NULL),
                         0);
        ck_assert_uint_eq(st.waits[XENVF_GATE_READY], 1);
        ck_assert_uint_eq(st.waits[XENVF_GATE_TIMEOUT], 0);
        ck_assert_uint_eq(st.le[XENVF_GATE_NR_BUCKETS - 1], 1);
    }
    ck_assert_ptr_nonnull(strstr(logbuf, "waiting for PF nvme0 (state "
                                         "probing)"));
    ck_assert_ptr_nonnull(strstr(logbuf, ", unpausing domain 5"));
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

START_TEST(timeout_destroys_and_releases)
{
    libxl_domain_config d;
    uint32_t domid;
    int lrc;
    xlp p;

    set_state("nvme0", XENVF_PF_PROBING);
    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0,timeout=0.2', 'pf=net0' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    ck_assert_uint_eq(penv_nr_held(), 2);
    ck_assert_int_eq(xlp_unpause(&p, domid, &lrc, &err), XENVF_ETIMEDOUT);
    ck_assert_str_eq(err.msg, "domain web1 (5): PF nvme0 not ready after "
                              "0.200 s (last state: probing)");
    /* counted on both PFs of the wait, as a timeout, at >= 0.2 s */
    ck_assert_uint_eq(gate_waits("nvme0", XENVF_GATE_TIMEOUT), 1);
    ck_assert_uint_eq(gate_waits("net0", XENVF_GATE_TIMEOUT), 1);
    ck_assert_uint_eq(gate_waits("nvme0", XENVF_GATE_READY), 0);
    {
        xenvf_gate_stats st;

        ck_assert_int_eq(xenvf_xs_read_gate_stats(&E.xs, "nvme0", &st, NULL),
                         0);
        ck_assert_uint_ge(st.sum_ms, 200);
        ck_assert_uint_eq(st.le[0], 0); /* not within 0.1 s */
    }
    ck_assert_uint_eq(fake.nr_unpause, 0);
    ck_assert_uint_eq(fake.nr_destroy, 1);
    assert_nothing_left(domid, 0);
    ck_assert_ptr_nonnull(strstr(logbuf, "destroyed domain 5 (web1) and "
                                         "released its VFs"));
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

static void nvme0_fails(void)
{
    set_state("nvme0", XENVF_PF_FAILED);
}

START_TEST(failed_pf_destroys_and_releases)
{
    libxl_domain_config d;
    uint32_t domid;
    int lrc;
    xlp p;

    set_state("nvme0", XENVF_PF_PROBING);
    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    fake.on_waiting = nvme0_fails;
    ck_assert_int_eq(xlp_unpause(&p, domid, &lrc, &err), XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "domain web1 (5): PF nvme0 failed"));
    ck_assert_uint_eq(gate_waits("nvme0", XENVF_GATE_FAILED), 1);
    ck_assert_uint_eq(gate_waits("nvme0", XENVF_GATE_CANCELLED), 0);
    assert_nothing_left(domid, 0);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

/* `xl create -p`, later `xl unpause` in another process: all the second
 * plugin knows comes from the plan stored with the domain. */
START_TEST(create_paused_then_unpause_elsewhere)
{
    libxl_domain_config d;
    uint32_t domid;
    int lrc;
    xlp creator, unpauser;

    set_state("nvme0", XENVF_PF_PROBING);
    plugin_init(&creator);
    xl_parses(&creator, "vf = [ 'pf=nvme0,timeout=30' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&creator, &d, &domid, &lrc, &err), "%s", err.msg);
    xlp_dispose(&creator); /* that xl has exited */
    libxl_domain_config_dispose(&d);

    plugin_init(&unpauser); /* xl unpause 5: parsed no config at all */
    fake.on_waiting = nvme0_ready_soon;
    ck_assert_msg(!xlp_unpause(&unpauser, domid, &lrc, &err), "%s", err.msg);
    ck_assert_uint_eq(fake.nr_unpause, 1);
    ck_assert_ptr_nonnull(strstr(logbuf, "waiting for PF nvme0"));
    /* a second unpause (after xl pause) is not gated again */
    fake.on_waiting = NULL;
    set_state("nvme0", XENVF_PF_RESETTING);
    ck_assert_int_eq(xlp_unpause(&unpauser, domid, &lrc, &err), 0);
    ck_assert_uint_eq(fake.nr_unpause, 2);
    xlp_dispose(&unpauser);
}
END_TEST

/* A failure at each step of create leaves nothing behind. */
enum step_fault {
    F_SYNTAX,
    F_UNKNOWN_PF,
    F_INDEX_PAST_TOTALVFS,
    F_TCB_DOWN,
    F_TCB_REFUSES,
    F_PCI_CONFLICT,
    F_LIBXL_CREATE,
    F_COMMIT,
    F_PLAN_STORE,
    NR_FAULTS,
};

static const struct {
    const char *vf, *says;
    bool reserved, reaches_create;
} faults[NR_FAULTS] = {
    [F_SYNTAX] = {"'pf=nvme0', 'pf=net0,vlan=5000'",
                  "web1.cfg: vf[1] \"pf=net0,vlan=5000\": vlan 5000 is out",
                  false, false},
    [F_UNKNOWN_PF] = {"'pf=nvme0', 'pf=nvme9'",
                      "web1.cfg: vf[1] \"pf=nvme9\": no PF nvme9 is published "
                      "in xenstore (known: net0, nvme0)",
                      false, false},
    [F_INDEX_PAST_TOTALVFS] = {"'pf=nvme0,index=9'",
                               "vf[0] \"pf=nvme0,index=9\": index 9 is past "
                               "the last VF of PF nvme0 (TotalVFs 8)",
                               false, false},
    [F_TCB_DOWN] = {"'pf=nvme0'", "cannot reach xenvfd (tcb) at", false, false},
    [F_TCB_REFUSES] = {"'pf=nvme0', 'pf=net0,index=1'",
                       "web1.cfg: vf[1] \"pf=net0,index=1\": xenvfd refused "
                       "it: vfs[1]: pf net0 vf 1 is held by domain web2 (9)",
                       false, false},
    [F_PCI_CONFLICT] = {"'pf=nvme0,index=0'",
                        "web1.cfg: vf[0] \"pf=nvme0,index=0\": PF nvme0 VF 0 "
                        "is 0000:01:00.1, which pci= lists too: name it once",
                        true, false},
    [F_LIBXL_CREATE] = {"'pf=nvme0', 'pf=net0'",
                        "libxl could not build domain web1 (rc -3)", true,
                        true},
    [F_COMMIT] = {"'pf=nvme0'",
                  "domain web1 (5): xenvfd refused to commit the VFs of "
                  "domain web1 to 5: commit web1: domain 5 does not exist",
                  true, true},
    [F_PLAN_STORE] = {"'pf=nvme0'",
                      "domain web1 (5): could not store the gate plan", true,
                      true},
};

/* Another domain, web2 (9), holds net0's VF 1. */
static void web2_holds_net0_vf1(void)
{
    xenvf_request req;
    xenvf_response resp;
    xenvf_client c;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    make_domain(9, "web2");
    penv_hold(&c, "web2", "net0", 1);
    req_commit(&req, "web2", 9);
    ck_assert_int_eq(call(&c, &req, &resp), 0);
    xenvf_client_dispose(&c);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}

START_TEST(a_failure_at_any_step_leaves_nothing)
{
    const enum step_fault f = (enum step_fault)_i;
    libxl_domain_config d;
    uint32_t domid = 0;
    char cfg[256];
    int lrc, rc;
    xlp p;

    if (f == F_TCB_DOWN)
        write_conf("tcb_socket = \"/nonexistent/tcb.sock\"\n");
    if (f == F_TCB_REFUSES)
        web2_holds_net0_vf1();
    plugin_init(&p);
    snprintf(cfg, sizeof(cfg), "vf = [ %s ]\n", faults[f].vf);
    xl_parses(&p, cfg, NULL);
    make_domain_config(&d);
    if (f == F_PCI_CONFLICT) { /* the user also listed the VF in pci= */
        d.num_pcidevs = 1;
        d.pcidevs = calloc(1, sizeof(*d.pcidevs));
        libxl_device_pci_init(&d.pcidevs[0]);
        d.pcidevs[0].bus = 1;
        d.pcidevs[0].func = 1;
    }
    fake.no_introduce = f == F_COMMIT; /* xenvfd refuses the commit */
    fake.fail_create = f == F_LIBXL_CREATE ? ERROR_FAIL : 0;
    fake.fail_plan_store = f == F_PLAN_STORE ? ERROR_FAIL : 0;

    rc = xlp_create(&p, &d, &domid, &lrc, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err.msg, faults[f].says), "'%s' lacks '%s'", err.msg,
                  faults[f].says);
    ck_assert_int_eq(log_has("reserved for web1 ("), faults[f].reserved);
    ck_assert_uint_eq(fake.nr_create > 0, faults[f].reaches_create);
    ck_assert_int_eq(lrc, f == F_LIBXL_CREATE ? ERROR_FAIL : 0);
    if (f != F_LIBXL_CREATE) /* there, libxl's own domid stands */
        ck_assert_uint_eq(domid, XLP_NO_DOMID);
    /* the config is as xl made it */
    ck_assert_int_eq(d.num_pcidevs, f == F_PCI_CONFLICT ? 1 : 0);
    assert_nothing_left(5, f == F_TCB_REFUSES ? 1 : 0);
    ck_assert_uint_eq(fake.nr_unpause, 0);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

/* The config's pci= = [ VF ]: one device, 0000:01:00.<func>. */
static void pci_vf(libxl_domain_config *d, unsigned func)
{
    d->num_pcidevs = 1;
    d->pcidevs = calloc(1, sizeof(*d->pcidevs));
    libxl_device_pci_init(&d->pcidevs[0]);
    d->pcidevs[0].bus = 1;
    d->pcidevs[0].func = func;
}

/* web1 with pci = [ 0000:01:00.<func> ] and no vf=, as xl parsed it. */
static void pci_only_guest(xlp *p, libxl_domain_config *d, unsigned func)
{
    plugin_init(p);
    xl_parses(p, "name='web1'\nmemory=512\n", NULL);
    make_domain_config(d);
    pci_vf(d, func);
}

/* pci= of a VF xenvf manages, without vf=: reserved for the domain by
 * name before libxl assigns it (xenvfd labels it for the guest then: a
 * FLASK host checks the label at the assignment), committed to the
 * domid once built; a failed build gives it back. */
START_TEST(pci_vf_is_reserved_before_libxl_assigns_it)
{
    libxl_domain_config d;
    uint32_t domid;
    int lrc;
    xlp p;

    pci_only_guest(&p, &d, 2); /* nvme0 VF 1 */
    ck_assert(!xlp_has_work(&p, &d));
    fake.vf_node = "nvme0/vf/1/state";
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(lrc, 0);
    ck_assert_uint_eq(domid, 5);
    ck_assert_str_eq(fake.vf_node_at_create, "reserved");
    ck_assert(log_has("pf nvme0: vf 1 reserved for web1 (connection"));
    ck_assert_int_eq(penv_holder("nvme0", 1), 5);
    ck_assert(log_has("domain web1 is domid 5: 1 VF(s) active"));
    ck_assert_int_eq(d.num_pcidevs, 1); /* the config is xl's */
    ck_assert_ptr_nonnull(strstr(logbuf, "pci=: 0000:01:00.2 is PF nvme0 VF "
                                         "1, reserved for domain web1"));
    ck_assert_ptr_null(fake.plan[5]); /* no vf=: no gate */
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);

    /* libxl fails: the VF goes back, nothing is held */
    pci_only_guest(&p, &d, 3); /* nvme0 VF 2 */
    fake.vf_node = "nvme0/vf/2/state";
    fake.fail_create = ERROR_FAIL;
    ck_assert_int_eq(xlp_create(&p, &d, &domid, &lrc, &err), 0);
    ck_assert_int_eq(lrc, ERROR_FAIL);
    ck_assert_uint_eq(domid, XLP_NO_DOMID);
    ck_assert_str_eq(fake.vf_node_at_create, "reserved");
    ck_assert_uint_eq(penv_held_settles_to(1), 1); /* web1's VF 1 only */
    ck_assert_int_eq(penv_holder("nvme0", 2), -1);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

/* pci= and vf= together: the pci= VF is reserved first, vf= takes
 * another; both are the domain's; another domain's VF in pci= is refused
 * before anything is reserved. */
START_TEST(pci_vf_and_vf_entries_together)
{
    libxl_domain_config d;
    xenvf_client other;
    uint32_t domid;
    int lrc;
    xlp p;

    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    pci_vf(&d, 1); /* nvme0 VF 0, which vf= would have taken */
    fake.vf_node = "nvme0/vf/0/state";
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    ck_assert_str_eq(fake.vf_node_at_create, "reserved");
    ck_assert_int_eq(fake.create_saw, 2);
    ck_assert_uint_eq(fake.saw[0].func, 1);
    ck_assert_uint_eq(fake.saw[1].func, 2); /* vf= got VF 1 */
    ck_assert_int_eq(penv_holder("nvme0", 0), (long)domid);
    ck_assert_int_eq(penv_holder("nvme0", 1), (long)domid);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);

    /* VF 2 is web9's: refused with its holder named, nothing reserved */
    penv_hold(&other, "web9", "nvme0", 2);
    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    d.c_info.name[0] = 'x'; /* "xeb1": another domain */
    pci_vf(&d, 3);
    fake.nr_create = 0;
    ck_assert_int_ne(xlp_create(&p, &d, &domid, &lrc, &err), 0);
    ck_assert_msg(strstr(err.msg, "pci=: 0000:01:00.3 is PF nvme0 VF 2, which "
                                  "is reserved: not giving it to the new "
                                  "domain"),
                  "%s", err.msg);
    ck_assert_uint_eq(fake.nr_create, 0);
    ck_assert(!log_has("reserved for xeb1"));
    xenvf_client_dispose(&other);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

/* Reboot: xl builds again in the same process, handing back the config
 * libxl stored (with last time's VFs in it). */
START_TEST(reboot_gets_the_same_vfs_and_the_gate)
{
    libxl_domain_config d;
    uint32_t first, second;
    xenvf_client intruder;
    int lrc;
    xlp p;

    /* VF 0 taken at first boot: web1 gets VF 1 */
    penv_hold(&intruder, "intruder", "nvme0", 0);
    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &first, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(penv_holder("nvme0", 1), first);
    ck_assert_int_eq(xlp_unpause(&p, first, &lrc, &err), 0);
    xenvf_client_dispose(&intruder);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "free");

    /* the guest reboots: xl destroys it, then creates and unpauses */
    ck_assert_int_eq(fake_destroy(NULL, first), 0);
    set_state("nvme0", XENVF_PF_RESETTING);
    ck_assert_int_eq(d.num_pcidevs, 1);
    ck_assert_msg(!xlp_create(&p, &d, &second, &lrc, &err), "%s", err.msg);
    ck_assert_uint_ne(second, first);
    ck_assert_int_eq(d.num_pcidevs, 1); /* stripped and added: not twice */
    ck_assert_uint_eq(d.pcidevs[0].func, 2);
    /* the same VF, though VF 0 is free now */
    ck_assert_int_eq(penv_holder("nvme0", 1), second);
    ck_assert_int_eq(penv_holder("nvme0", 0), -1);
    ck_assert_ptr_nonnull(strstr(logbuf, "domain web1 reboots (it was domain "
                                         "5)"));
    /* and the gate again */
    fake.on_waiting = nvme0_ready_soon;
    ck_assert_msg(!xlp_unpause(&p, second, &lrc, &err), "%s", err.msg);
    ck_assert_uint_eq(fake.last_unpaused, second);
    ck_assert_ptr_nonnull(strstr(logbuf, "waiting for PF nvme0 (state "
                                         "resetting)"));
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

/* A pci= guest reboots: xl destroys it (xenvfd resets its VF) and builds
 * it again from the config libxl stored, pci= and all, at once: the VF,
 * its holder dead, is reserved for the new domain (waited for while
 * xenvfd resets it) and committed to it. */
START_TEST(pci_vf_guest_reboots)
{
    libxl_domain_config d;
    uint32_t first, second;
    int lrc;
    xlp p;

    pci_only_guest(&p, &d, 2); /* nvme0 VF 1 */
    ck_assert_msg(!xlp_create(&p, &d, &first, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(penv_holder("nvme0", 1), (long)first);
    ck_assert_int_eq(fake_destroy(NULL, first), 0);
    fake.vf_node = "nvme0/vf/1/state";
    ck_assert_msg(!xlp_create(&p, &d, &second, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(lrc, 0);
    ck_assert_uint_ne(second, first);
    ck_assert_str_eq(fake.vf_node_at_create, "reserved");
    ck_assert_int_eq(penv_holder("nvme0", 1), (long)second);
    ck_assert_int_eq(d.num_pcidevs, 1);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

/* Someone holds the VF web1 had when it reboots (in real life: xenvfd
 * still resetting it after the old domain's death), and lets go 0.3 s
 * later: the plugin waits on the VF's xenstore nodes and gets it. */
static xenvf_client late;

static void *let_go_later(void *arg)
{
    sleep_ms(300);
    xenvf_client_dispose(&late);
    return NULL;
}

START_TEST(reboot_waits_for_its_vf)
{
    libxl_domain_config d;
    uint32_t first, second;
    pthread_t t;
    int64_t t0;
    int lrc;
    xlp p;

    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &first, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(penv_holder("nvme0", 0), first);
    ck_assert_int_eq(fake_destroy(NULL, first), 0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "free"); /* reset, released */

    penv_hold(&late, "intruder", "nvme0", 0);
    ck_assert_int_eq(pthread_create(&t, NULL, let_go_later, NULL), 0);
    t0 = xenvf_now_ms();
    ck_assert_msg(!xlp_create(&p, &d, &second, &lrc, &err), "%s", err.msg);
    pthread_join(t, NULL);
    ck_assert_int_ge(xenvf_now_ms() - t0, 290);
    ck_assert_int_eq(penv_holder("nvme0", 0), second);
    ck_assert_ptr_nonnull(strstr(logbuf, "waiting up to 2.000 s for the VFs "
                                         "domain web1 had"));
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

START_TEST(reboot_takes_another_vf_after_reboot_wait)
{
    libxl_domain_config d;
    uint32_t first, second;
    xenvf_client intruder;
    int lrc;
    xlp p;

    write_conf(
        "reboot_wait = \"0.3\"\n"); /* quoted: libxlutil has no decimals */
    plugin_init(&p);
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", NULL);
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &first, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(penv_holder("nvme0", 0), first);
    ck_assert_int_eq(fake_destroy(NULL, first), 0);
    ASSERT_XS("/xenvf/pf/nvme0/vf/0/state", "free");
    /* VF 0 will not come back in time */
    penv_hold(&intruder, "intruder", "nvme0", 0);
    ck_assert_msg(!xlp_create(&p, &d, &second, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(penv_holder("nvme0", 1), second);
    ck_assert_ptr_nonnull(strstr(logbuf, "still busy: taking free ones"));
    xenvf_client_dispose(&intruder);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

START_TEST(command_line_vf_override)
{
    libxl_domain_config d;
    uint32_t domid;
    int lrc;
    xlp p;

    plugin_init(&p);
    /* xl create web1.cfg 'vf=["pf=net0,index=1"]' */
    xl_parses(&p, "vf = [ 'pf=nvme0' ]\n", "vf=[\"pf=net0,index=1\"]");
    make_domain_config(&d);
    ck_assert_msg(!xlp_create(&p, &d, &domid, &lrc, &err), "%s", err.msg);
    ck_assert_int_eq(penv_holder("net0", 1), domid);
    ck_assert_uint_eq(penv_nr_held(), 1);
    libxl_domain_config_dispose(&d);
    xlp_dispose(&p);
}
END_TEST

static Suite *build_suite(void)
{
    Suite *s = suite_create("plugin_build");
    TCase *tc = tcase_create("build");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, no_vf_is_left_alone);
    tcase_add_test(tc, vfs_are_reserved_added_committed_and_published);
    tcase_add_test(tc, map_settings_reach_the_guest);
    tcase_add_test(tc, the_gate_holds_until_ready);
    tcase_add_test(tc, timeout_destroys_and_releases);
    tcase_add_test(tc, failed_pf_destroys_and_releases);
    tcase_add_test(tc, create_paused_then_unpause_elsewhere);
    tcase_add_loop_test(tc, a_failure_at_any_step_leaves_nothing, 0, NR_FAULTS);
    tcase_add_test(tc, pci_vf_is_reserved_before_libxl_assigns_it);
    tcase_add_test(tc, pci_vf_and_vf_entries_together);
    tcase_add_test(tc, pci_vf_guest_reboots);
    tcase_add_test(tc, reboot_gets_the_same_vfs_and_the_gate);
    tcase_add_test(tc, reboot_waits_for_its_vf);
    tcase_add_test(tc, reboot_takes_another_vf_after_reboot_wait);
    tcase_add_test(tc, command_line_vf_override);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(build_suite)
