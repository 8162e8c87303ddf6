/*
 * make bench: the libxl plugin's costs, measured side by side on this
 * machine and printed with their ratios (not asserted):
 *
 * 1. Gate latency: from the write of `ready` to the point where the gate
 *    unpauses (its ready hook), against its floor: a bare libxenstore
 *    watcher on the same node, woken by the same change (probing -> ready,
 *    which xenvfd watches and reacts to as it would on a host), reading the
 *    value back, the least any correct waiter must do (a watch event
 *    carries no value). For scale, the same on a node nobody else watches,
 *    and the bare event. Goal: <= 1.1x the floor.
 * 2. Plugin cost at domain build: what the plugin adds to xl's parse of a
 *    config (it takes vf= from xl's own parse: no second parse), with no
 *    vf= and with 8 entries, against libxlutil's parse of the same file.
 *    Goal: <= 5%. Also the whole plugin path of a build with 8 entries
 *    (xenstore reads, reserve and commit with the TCB, guest nodes, plan)
 *    in absolute time, for scale: it is I/O to two daemons.
 * 3. 64 domains gated on one PF (64 processes, each its own connection as
 *    64 xl would have): from the write of `ready` until the last is
 *    released, against one. Goal: <= 2x.
 *
 * xenstored is Debian's real one under the test harness, the TCB the real
 * xenvfd on the fake sysfs tree (tests/harness/plugin-env.h).
 */
#include <inttypes.h>
#include <pthread.h>

#include "../../libxl-plugin/build.h"
#include "../../libxl-plugin/gate.h"
#include "../../libxl-plugin/log.h"
#include "../../libxl-plugin/reserve.h"
#include "../harness/plugin-env.h"

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int64_t median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    return v[n / 2];
}

static int64_t pct(int64_t *v, size_t n, int p)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    return v[(n - 1) * (size_t)p / 100];
}

static void die(const char *what)
{
    fprintf(stderr, "bench_plugin: %s\n", what);
    exit(1);
}

/* ---- 1. gate latency ---------------------------------------------------- */

#define LAT_ROUNDS 300
#define STATE_NODE "/xenvf/pf/nvme0/state"

/* The writer: on each command, note the time and write: 'r' the raw
 * node, 'g' the PF's state. */
struct writer {
    int go[2];
    int64_t t0;
    pthread_t thread;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct xs_handle *h = xs_open(0);
    char c;

    while (h && read(w->go[0], &c, 1) == 1 && c != 'q') {
        const char *path = c == 'r' ? "/bench/raw" : STATE_NODE;
        const char *value = c == 'r' ? "x" : "ready";

        w->t0 = now_ns();
        xs_write(h, XBT_NULL, path, value, strlen(value));
    }
    if (h)
        xs_close(h);
    return NULL;
}

static void writer_start(struct writer *w)
{
    if (pipe(w->go) || pthread_create(&w->thread, NULL, writer_main, w))
        die("writer");
}

static void writer_stop(struct writer *w)
{
    if (write(w->go[1], "q", 1) != 1)
        die("writer stop");
    pthread_join(w->thread, NULL);
    close(w->go[0]);
    close(w->go[1]);
}

static void go(struct writer *w, char what)
{
    if (write(w->go[1], &what, 1) != 1)
        die("go");
}

struct gate_bench {
    struct writer *w;
    int64_t t1;
};

static void gb_waiting(void *opaque, const gate_plan *p)
{
    go(((struct gate_bench *)opaque)->w, 'g');
}

static int gb_ready(void *opaque, const gate_plan *p, size_t last,
                    xenvf_err *err)
{
    ((struct gate_bench *)opaque)->t1 = now_ns(); /* here xl unpauses */
    return 0;
}

/* Each round measures the three side by side, so they share whatever the
 * machine is doing at the time. */
static void bench_gate_latency(void)
{
    int64_t raw[LAT_ROUNDS], raw_read[LAT_ROUNDS], floor[LAT_ROUNDS],
        gate[LAT_ROUNDS];
    struct writer w;
    struct gate_bench gb = {.w = &w};
    /* one connection for every round: the gate unwatches each time */
    const gate_hooks hooks = {
        .waiting = gb_waiting, .ready = gb_ready, .opaque = &gb};
    struct xs_handle *h = xs_open(0);
    unsigned num, len;
    int64_t mr, mrr, mf, mg;
    xenvf_xs xs;

    if (!h || !xs_watch(h, "/bench/raw", "raw") || xenvf_xs_open(&xs, NULL))
        die("raw watch");
    free(xs_read_watch(h, &num)); /* the watch fires once when set */
    writer_start(&w);
    for (int i = 0; i < LAT_ROUNDS; i++) {
        gate_plan p;

        go(&w, 'r'); /* the bare event */
        free(xs_read_watch(h, &num));
        raw[i] = now_ns() - w.t0;
        go(&w, 'r'); /* the event, and the value read back */
        free(xs_read_watch(h, &num));
        free(xs_read(h, XBT_NULL, "/bench/raw", &len));
        raw_read[i] = now_ns() - w.t0;
        /* the floor: the gate's node and change, a bare watcher */
        if (xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_PROBING, NULL) ||
            !xs_watch(h, STATE_NODE, "state"))
            die("floor watch");
        free(xs_read_watch(h, &num)); /* fires once when set */
        go(&w, 'g');
        free(xs_read_watch(h, &num));
        free(xs_read(h, XBT_NULL, STATE_NODE, &len));
        floor[i] = now_ns() - w.t0;
        xs_unwatch(h, STATE_NODE, "state");
        gate_plan_init(&p); /* the gate, as xl runs it */
        gate_plan_add(&p, "nvme0", 10000, NULL);
        if (xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_PROBING, NULL) ||
            gate_wait(&xs, &p, -1, &hooks, NULL))
            die("gate");
        gate[i] = gb.t1 - w.t0;
        gate_plan_dispose(&p);
    }
    writer_stop(&w);
    xenvf_xs_dispose(&xs);
    xs_close(h);
    mr = median(raw, LAT_ROUNDS);
    mrr = median(raw_read, LAT_ROUNDS);
    mf = median(floor, LAT_ROUNDS);
    mg = median(gate, LAT_ROUNDS);
    printf("1. gate latency (write of ready -> unpause point), median of %d "
           "interleaved rounds, us:\n",
           LAT_ROUNDS);
    printf("   raw watch round trip (event)          %8.1f  (p90 %.1f)\n",
           (double)mr / 1e3, (double)pct(raw, LAT_ROUNDS, 90) / 1e3);
    printf("   raw watch round trip + read of value  %8.1f  (p90 %.1f)\n",
           (double)mrr / 1e3, (double)pct(raw_read, LAT_ROUNDS, 90) / 1e3);
    printf("   floor: PF state node, event + read    %8.1f  (p90 %.1f)\n",
           (double)mf / 1e3, (double)pct(floor, LAT_ROUNDS, 90) / 1e3);
    printf("   gate                                  %8.1f  (p90 %.1f)\n",
           (double)mg / 1e3, (double)pct(gate, LAT_ROUNDS, 90) / 1e3);
    printf("   ratio gate / floor            %.2fx   (goal <= 1.1x)\n",
           (double)mg / (double)mf);
    printf("   ratio gate / raw event + read %.2fx   gate / raw event %.2fx\n",
           (double)mg / (double)mrr, (double)mg / (double)mr);
}

/* ---- 2. plugin cost at domain build ---------------------------------------
 */

static const char base_cfg[] =
    "# a typical PV guest\n"
    "name = \"web1\"\n"
    "type = \"pv\"\n"
    "kernel = \"/boot/vmlinuz-6.1.0-13-amd64\"\n"
    "ramdisk = \"/boot/initrd.img-6.1.0-13-amd64\"\n"
    "extra = \"root=/dev/xvda1 ro console=hvc0 quiet\"\n"
    "memory = 2048\n"
    "maxmem = 4096\n"
    "vcpus = 2\n"
    "maxvcpus = 4\n"
    "cpus = \"2-3\"\n"
    "disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/vg0/web1-root',\n"
    "         'format=raw, vdev=xvdb, access=rw, target=/dev/vg0/web1-data' ]\n"
    "vif = [ 'mac=00:16:3e:00:00:10, bridge=xenbr0',\n"
    "        'mac=00:16:3e:00:00:11, bridge=xenbr1, rate=100Mb/s' ]\n"
    "on_poweroff = \"destroy\"\n"
    "on_reboot = \"restart\"\n"
    "on_crash = \"restart\"\n"
    "on_watchdog = \"destroy\"\n"
    "pci_permissive = 0\n"
    "vnc = 0\n"
    "serial = \"pty\"\n"
    "localtime = 0\n"
    "tsc_mode = \"default\"\n"
    "max_grant_frames = 64\n";

static const char vf8[] =
    "vf = [ 'pf=nvme0,function=nvme,boot=1', 'pf=nvme0,index=1,timeout=60',\n"
    "       'pf=nvme0,function=nvme', 'pf=nvme0',\n"
    "       'pf=net0,mac=00:16:3e:00:01:01,vlan=10,spoofchk=1',\n"
    "       'pf=net0,mac=00:16:3e:00:01:02,vlan=20,rate=1000',\n"
    "       'pf=net0,mac=00:16:3e:00:01:03,trust=1',\n"
    "       'pf=0000:02:00.0,mac=00:16:3e:00:01:04,function=ixgbevf' ]\n";

#define COST_BATCHES 200
#define COST_BATCH   50

static const xlp_ops no_ops; /* capture never calls libxl */

/* What the plugin adds to xl's parse, as interpose.c does it: take vf=
 * after xlu_cfg_readdata, then see each of xl's own xlu_cfg_get_long
 * results go by (parse_config_data makes about 60 such lookups of a PV
 * config: the pci_* ones are noted, the rest cost a compare). */
static void plugin_in_xl(xlp *p, const XLU_Config *cfg)
{
    static const char *const xl_longs[] = {
        "pci_msitranslate",
        "pci_power_mgmt",
        "pci_permissive",
        "pci_seize",
    };

    xlp_capture(p, cfg, "web1.cfg", true);
    for (int i = 0; i < 60; i++)
        xlp_note_long(p, cfg, i < 4 ? xl_longs[i] : "memory", 0);
}

/* ns per parse of data, by libxlutil alone (with_plugin false) or with
 * the plugin taking vf= from the result (what xl does with it loaded). */
static void parse_cost(const char *data, int64_t *alone, int64_t *with)
{
    const int len = (int)strlen(data);
    xlp p;

    xlp_init(&p, &no_ops);
    for (int b = 0; b < COST_BATCHES; b++) {
        for (int variant = 0; variant < 2; variant++) {
            int64_t t0 = now_ns();

            for (int i = 0; i < COST_BATCH; i++) {
                XLU_Config *cfg = xlu_cfg_init(stderr, "web1.cfg");

                if (xlu_cfg_readdata(cfg, data, len))
                    die("parse");
                if (variant)
                    plugin_in_xl(&p, cfg);
                xlu_cfg_destroy(cfg);
            }
            (variant ? with : alone)[b] = (now_ns() - t0) / COST_BATCH;
        }
    }
    if (p.cfg_rc)
        die(p.cfg_err.msg);
    xlp_dispose(&p);
}

static void all_vfs_free(void)
{
    static const char *const pfs[] = {"nvme0", "net0"};
    char path[64];

    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 4; i++) {
            snprintf(path, sizeof(path), "/xenvf/pf/%s/vf/%d/state", pfs[p], i);
            if (!xs_wait(path, "free", 5000))
                die("a VF did not come back");
        }
}

/* The whole build path with 8 entries, libxl faked: a domain that exists
 * in xenstored is "created" each time, then released again. */
static uint32_t bench_domid;

static int b_create(void *o, libxl_domain_config *d, uint32_t *domid)
{
    *domid = bench_domid;
    return 0;
}

static int b_ok(void *o, uint32_t domid)
{
    return 0;
}

static int b_store(void *o, uint32_t domid, const char *text)
{
    return 0;
}

static int b_load(void *o, uint32_t domid, char **text)
{
    *text = NULL;
    return 0;
}

static void b_remove(void *o, uint32_t domid)
{
}

static const xlp_ops bench_ops = {
    .create = b_create,
    .unpause = b_ok,
    .destroy = b_ok,
    .plan_store = b_store,
    .plan_load = b_load,
    .plan_remove = b_remove,
};

static int64_t build_cost(const char *conf_path, int rounds)
{
    int64_t t[64];
    char *all = NULL;
    xenvf_xs xs;

    if (asprintf(&all, "%s%s", base_cfg, vf8) < 0 || xenvf_xs_open(&xs, NULL))
        die("alloc");
    for (int i = 0; i < rounds && i < 64; i++) {
        libxl_domain_config d;
        XLU_Config *cfg = xlu_cfg_init(stderr, "web1.cfg");
        xenvf_err err;
        uint32_t domid;
        int lrc;
        xlp p;

        xlp_init(&p, &bench_ops);
        p.conf_path = conf_path;
        xlu_cfg_readdata(cfg, all, (int)strlen(all));
        xlp_capture(&p, cfg, "web1.cfg", false);
        xlu_cfg_destroy(cfg);
        libxl_domain_config_init(&d);
        libxl_domain_build_info_init_type(&d.b_info, LIBXL_DOMAIN_TYPE_PV);
        d.c_info.name = strdup("web1");
        t[i] = now_ns();
        if (xlp_create(&p, &d, &domid, &lrc, &err))
            die(err.msg);
        t[i] = now_ns() - t[i];
        /* give everything back (xenvfd resets them) for the next round */
        xenvf_xs_remove_guest(&xs, domid, NULL);
        if (resv_release_domid(&p.conf, domid, &err))
            die(err.msg);
        all_vfs_free();
        xlp_dispose(&p);
        libxl_domain_config_dispose(&d);
    }
    xenvf_xs_dispose(&xs);
    free(all);
    return median(t, (size_t)(rounds < 64 ? rounds : 64));
}

static void bench_build_cost(void)
{
    int64_t alone0[COST_BATCHES], with0[COST_BATCHES];
    int64_t alone8[COST_BATCHES], with8[COST_BATCHES];
    int64_t a0, w0, a8, w8, a0min, w0min, a8min, w8min, full;
    char *cfg8 = NULL, conf[PATH_MAX + 32];
    FILE *f;

    if (asprintf(&cfg8, "%s%s", base_cfg, vf8) < 0)
        die("alloc");
    parse_cost(base_cfg, alone0, with0);
    parse_cost(cfg8, alone8, with8);
    /* the least of many batches: the cost itself, without the machine's
     * other work (the medians are printed too) */
    a0 = median(alone0, COST_BATCHES);
    w0 = median(with0, COST_BATCHES);
    a8 = median(alone8, COST_BATCHES);
    w8 = median(with8, COST_BATCHES);
    a0min = alone0[0];
    w0min = with0[0];
    a8min = alone8[0];
    w8min = with8[0];

    /* the whole path: xenvfd, 8 VFs of two PFs, a live domain */
    snprintf(conf, sizeof(conf), "%s/plugin.conf", E.dir);
    if (!(f = fopen(conf, "w")))
        die("conf");
    fprintf(f, "tcb_socket = \"%s\"\n", E.sock);
    fclose(f);
    penv_set_state("nvme0", XENVF_PF_READY);
    penv_set_state("net0", XENVF_PF_READY);
    make_domain(9, "web1");
    bench_domid = 9;
    full = build_cost(conf, 40);

    printf("2. plugin cost at domain build (xl's parse of a %zu-line config), "
           "median ns per build:\n",
           (size_t)26);
    printf("                  libxlutil parse   with the plugin   the plugin "
           "adds   (goal <= 5%%)\n");
    printf("   no vf=     min %9" PRId64 " %17" PRId64 "   %+9.1f%%\n", a0min,
           w0min, 100.0 * (double)(w0min - a0min) / (double)a0min);
    printf("           median %9" PRId64 " %17" PRId64 "   %+9.1f%%\n", a0, w0,
           100.0 * (double)(w0 - a0) / (double)a0);
    printf("   8 entries  min %9" PRId64 " %17" PRId64 "   %+9.1f%%\n", a8min,
           w8min, 100.0 * (double)(w8min - a8min) / (double)a8min);
    printf("           median %9" PRId64 " %17" PRId64 "   %+9.1f%%\n", a8, w8,
           100.0 * (double)(w8 - a8) / (double)a8);
    printf("   whole plugin path of a build with 8 entries (xenstore, "
           "reserve+commit, 8 guest node sets): %.2f ms\n",
           (double)full / 1e6);
    free(cfg8);
}

/* ---- 3. many domains on one PF --------------------------------------------
 */

#define FAN_ROUNDS 7

struct fan_state {
    int fd;
    int64_t t1;
};

static void signal_ready(void *o, const gate_plan *gp)
{
    if (write(((struct fan_state *)o)->fd, "w", 1) != 1)
        _exit(3);
}

static int stamp(void *o, const gate_plan *gp, size_t last, xenvf_err *e)
{
    ((struct fan_state *)o)->t1 = now_ns(); /* here xl would unpause */
    return 0;
}

/* One xl: its own xenstore connection, its own gate. */
static void child(int ready_fd, int result_fd)
{
    struct fan_state s = {ready_fd, 0};
    const gate_hooks h = {.waiting = signal_ready,
                          .ready = stamp,
                          .opaque = &s,
                          .leave_watches = true};
    xenvf_xs xs;
    gate_plan p;

    gate_plan_init(&p);
    p.domid = (uint32_t)getpid();
    if (xenvf_xs_open(&xs, NULL) || gate_plan_add(&p, "nvme0", 30000, NULL) ||
        gate_wait(&xs, &p, -1, &h, NULL) ||
        write(result_fd, &s.t1, sizeof(s.t1)) != sizeof(s.t1))
        _exit(1);
    _exit(0);
}

/* The floor: a bare libxenstore waiter, woken by the event, reading the
 * value, as little as any waiter can do. */
static void raw_child(int ready_fd, int result_fd)
{
    struct xs_handle *h = xs_open(0);
    unsigned num, len;
    int64_t t1;

    if (!h || !xs_watch(h, "/xenvf/pf/nvme0/state", "raw"))
        _exit(2);
    free(xs_read_watch(h, &num)); /* the watch fires once when set */
    if (write(ready_fd, "w", 1) != 1)
        _exit(3);
    for (;;) {
        char *v;

        free(xs_read_watch(h, &num));
        v = xs_read(h, XBT_NULL, "/xenvf/pf/nvme0/state", &len);
        if (v && !strcmp(v, "ready")) {
            free(v);
            break;
        }
        free(v);
    }
    t1 = now_ns();
    if (write(result_fd, &t1, sizeof(t1)) != sizeof(t1))
        _exit(1);
    _exit(0);
}

/* Time from the write of ready until the last of n waiters is released. */
static int64_t fan_out(xenvf_xs *xs, int n, bool raw)
{
    int ready[2], result[2];
    int64_t t0, last = 0, t1;
    pid_t kids[64];
    char c;

    if (pipe(ready) || pipe(result))
        die("pipe");
    xenvf_xs_set_pf_state(xs, "nvme0", XENVF_PF_PROBING, NULL);
    for (int i = 0; i < n && i < 64; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            die("fork");
        if (kids[i] == 0 && raw)
            raw_child(ready[1], result[1]);
        if (kids[i] == 0)
            child(ready[1], result[1]);
    }
    for (int i = 0; i < n; i++)
        if (read(ready[0], &c, 1) != 1)
            die("ready");
    t0 = now_ns();
    xenvf_xs_set_pf_state(xs, "nvme0", XENVF_PF_READY, NULL);
    for (int i = 0; i < n; i++) {
        if (read(result[0], &t1, sizeof(t1)) != sizeof(t1))
            die("result");
        if (t1 - t0 > last)
            last = t1 - t0;
    }
    for (int i = 0; i < n && i < 64; i++) /* not xenstored, not xenvfd */
        waitpid(kids[i], NULL, 0);
    close(ready[0]);
    close(ready[1]);
    close(result[0]);
    close(result[1]);
    return last;
}

static void bench_fan_out(void)
{
    int64_t one[FAN_ROUNDS], many[FAN_ROUNDS], raw1[FAN_ROUNDS],
        raw64[FAN_ROUNDS], m1, m64, r1, r64;
    xenvf_xs xs;

    if (xenvf_xs_open(&xs, NULL))
        die("xs");
    for (int r = 0; r < FAN_ROUNDS; r++) {
        raw1[r] = fan_out(&xs, 1, true);
        one[r] = fan_out(&xs, 1, false);
        raw64[r] = fan_out(&xs, 64, true);
        many[r] = fan_out(&xs, 64, false);
    }
    m1 = median(one, FAN_ROUNDS);
    m64 = median(many, FAN_ROUNDS);
    r1 = median(raw1, FAN_ROUNDS);
    r64 = median(raw64, FAN_ROUNDS);
    printf("3. domains gated on one PF: write of ready -> last released, "
           "median of %d, us:\n",
           FAN_ROUNDS);
    printf("                 gate   raw watcher (event + read)\n");
    printf("   1 domain   %9.1f   %9.1f\n", (double)m1 / 1e3, (double)r1 / 1e3);
    printf("   64 domains %9.1f   %9.1f   (gate: %.1f us per domain)\n",
           (double)m64 / 1e3, (double)r64 / 1e3, (double)m64 / 64e3);
    printf("   ratio 64 / 1   gate %.1fx   raw %.1fx   (goal <= 2x)\n",
           (double)m64 / (double)m1, (double)r64 / (double)r1);
    printf("   gate / raw at 64: %.2fx\n", (double)m64 / (double)r64);
    xenvf_xs_dispose(&xs);
}

/* The environment (plugin-env.h) is Check's: one unforked test runs it
 * all, so Check's asserts have a runner to report to. */
START_TEST(plugin_costs)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    xenvf_log_set_level(XENVF_LOG_WARN); /* the gate's lines, not timed */
    penv_setup(); /* xenstored, the fake tree, xenvfd as the TCB */
    printf("plugin_bench: libxl plugin costs (%ld CPUs; real xenstored under "
           "the test shim, real xenvfd)\n",
           cpus);
    bench_gate_latency();
    bench_build_cost();
    bench_fan_out();
    fflush(stdout);
    penv_teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plugin_bench");
    TCase *tc = tcase_create("costs");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, plugin_costs);
    tcase_set_timeout(tc, 600);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
