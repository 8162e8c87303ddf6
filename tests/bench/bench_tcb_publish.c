/*
 * make bench: the TCB's reconcile and publish cost for 8 PFs x 256 VFs on
 * the fake sysfs tree against the real xenstored, in-process (the daemon's
 * own library). Prints xenstore requests (xenvf_xs.nr_requests) and times;
 * a change must cost O(PFs + changed VFs) requests, not a full rewrite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../daemon/tcb.h"
#include "../harness/fakesysfs.h"
#include "../harness/xs-harness.h"

#define NR_PFS 8
#define NR_VFS 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* mac: pf5's VF 7 gets a MAC; ns: and these <namespace> elements */
static void write_map(const char *path, int numvfs_pf3, bool mac,
                      const char *ns)
{
    char tmp[4200];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.new", path);
    f = fopen(tmp, "w");
    fprintf(f, "<vfmap xmlns=\"urn:xenvf:vfmap:1\">\n");
    for (int p = 0; p < NR_PFS; p++) {
        fprintf(f, "<pf id=\"pf%d\" address=\"0000:%02x:00.0\" numvfs=\"%d\">",
                p, 0x10 * (p + 1), p == 3 ? numvfs_pf3 : NR_VFS);
        if (mac && p == 5)
            fprintf(f, "<vf index=\"7\" mac=\"00:16:3e:00:00:07\">%s</vf>",
                    ns ? ns : "");
        fprintf(f, "</pf>\n");
    }
    fprintf(f, "</vfmap>\n");
    fclose(f);
    rename(tmp, path);
}

static void report(const char *what, unsigned long req, double secs,
                   unsigned long full)
{
    printf("%-44s %7lu requests %8.3f s", what, req, secs);
    if (full)
        printf("   %.4f of a full publish", (double)req / (double)full);
    printf("\n");
}

int main(int argc, char **argv)
{
    const uint64_t bars[FAKESYSFS_NR_VF_BARS] = {0x4000};
    char dir[] = "/tmp/xenvf-bench.XXXXXX", map[64], state[64], sock[64];
    xenvfd_config cfg;
    xs_harness *hs;
    fakesysfs *fs;
    xenvf_err err;
    tcb t;
    unsigned long r0, full;
    double t0;
    int rc;

    if ((rc = fakesysfs_kernel_reexec(argv))) {
        fprintf(stderr, "bench: fake kernel not loaded (%d)\n", rc);
        return 1;
    }
    xenvf_log_set_level(XENVF_LOG_WARN);
    xenvf_err_init(&err);
    if (xsh_start(&hs) || fakesysfs_new(&fs) ||
        fakesysfs_add_driver(fs, "pciback", false) || !mkdtemp(dir))
        return 1;
    for (int p = 0; p < NR_PFS; p++) {
        char bdf[16];
        snprintf(bdf, sizeof(bdf), "0000:%02x:00.0", 0x10 * (p + 1));
        if (fakesysfs_add_pf(fs, bdf, 0x8086, 0x1521, 0x020000, NR_VFS, 1, 1,
                             0x1520, bars, "igbfake"))
            return 1;
    }
    snprintf(map, sizeof(map), "%s/xenvf.xml", dir);
    snprintf(state, sizeof(state), "%s/state", dir);
    snprintf(sock, sizeof(sock), "%s/tcb.sock", dir);
    write_map(map, NR_VFS, false, NULL);
    xenvfd_config_init(&cfg);
    cfg.role_tcb = true;
    cfg.map_path = map;
    cfg.state_dir = state;
    cfg.socket_path = sock;
    cfg.sysfs_root = fakesysfs_root(fs);
    cfg.uevents = false;
    tcb_init(&t, &cfg);

    printf("xenvfd TCB: %d PFs x %d VFs, fake sysfs, real xenstored\n", NR_PFS,
           NR_VFS);
    t0 = now_s();
    if (tcb_start(&t, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    report("start: NumVFs 0->256 x8, bind 2048, publish", t.xs.nr_requests,
           now_s() - t0, 0);

    /* a full publish of every PF, for the ratios */
    r0 = t.xs.nr_requests;
    t0 = now_s();
    for (size_t i = 0; i < t.nr_pfs; i++) {
        t.pfs[i].published = false;
        tcb_publish(&t, &t.pfs[i], NULL);
    }
    full = t.xs.nr_requests - r0;
    report("full publish (every node, 8 PFs)", full, now_s() - t0, 0);

    r0 = t.xs.nr_requests;
    t0 = now_s();
    tcb_reload(&t, NULL);
    report("rescan, nothing changed", t.xs.nr_requests - r0, now_s() - t0,
           full);

    write_map(map, NR_VFS, true, NULL);
    r0 = t.xs.nr_requests;
    t0 = now_s();
    tcb_reload(&t, NULL);
    report("map edit: one VF's MAC", t.xs.nr_requests - r0, now_s() - t0, full);

    write_map(map, NR_VFS, true,
              "<namespace nsid=\"1\" size=\"64M\"/>"
              "<namespace nsid=\"2\" size=\"1G\"/>");
    r0 = t.xs.nr_requests;
    t0 = now_s();
    tcb_reload(&t, NULL);
    report("map edit: one VF's namespaces", t.xs.nr_requests - r0, now_s() - t0,
           full);

    write_map(map, 128, true, NULL);
    r0 = t.xs.nr_requests;
    t0 = now_s();
    tcb_reload(&t, NULL);
    report("map edit: pf3 NumVFs 256->128 (128 VFs)", t.xs.nr_requests - r0,
           now_s() - t0, full);

    /* one VF held and let go, as reserve/commit/release do */
    r0 = t.xs.nr_requests;
    t0 = now_s();
    t.pfs[0].vfs[3].state = XENVF_VF_ACTIVE;
    t.pfs[0].vfs[3].domid = 5;
    tcb_publish(&t, &t.pfs[0], NULL);
    report("one VF becomes active (publish)", t.xs.nr_requests - r0,
           now_s() - t0, full);

    tcb_dispose(&t);
    fakesysfs_free(fs);
    xsh_stop(hs);
    snprintf(map, sizeof(map), "rm -rf %s", dir);
    return system(map) ? 1 : 0;
}
