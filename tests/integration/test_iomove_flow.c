/*
 * The plugin's move of a guest's I/O around xl save and xl restore
 * (libxl-plugin/iomove.c), every path, against the real xenstored: the
 * books (xenvfd's PF record: nvme0's VF 0 held by domain 5, namespace 2)
 * and the guest's nodes are written here, a thread plays the guest's
 * xenvf-guest (answering switch-request in switch as told), the PF's
 * controller is scripted (xenvf_nvme_set_transport) over a sysfs tree
 * made here, and libxl is a table of recording fakes. The QEMU tier runs
 * the way through on real Xen (scenario xenvf-switch); this checks the
 * undo paths it cannot provoke.
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenstore.h>
#include <xenvf/model.h>
#include <xenvf/nvme.h>

#include "../../libxl-plugin/iomove.h"
#include "../harness/check-main.h"
#include "../harness/xs-harness.h"

#define DOMID 5
#define SW    "/local/domain/5/xenvf/vf/0/switch"
#define REQ   "/local/domain/5/xenvf/vf/0/switch-request"

static xs_harness *hs;
static xenvf_xs xs;
static xenvf_err err;
static char root[40], calls[2048];
static xlp_iomove_env env;
static int fail_disk_add, fail_pci_remove;
static char nvme_log[512]; /* "attach 2 to 0; rescan; detach ..." */

/* What the guest answers: to "pv ...", to "vf" (NULL: nothing). */
static const char *answer_pv, *answer_vf;
static pthread_t guest;
static volatile int guest_stop;

static void note(char *log, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(char *log, size_t len, const char *fmt, ...)
{
    size_t o = strlen(log);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(log + o, len - o, fmt, ap);
    va_end(ap);
}

static int fake_disk_add(void *o, uint32_t domid, const char *target,
                         const char *vdev)
{
    (void)o;
    ck_assert_uint_eq(domid, DOMID);
    note(calls, sizeof(calls), "disk_add %s %s; ", target, vdev);
    return fail_disk_add ? -3 : 0;
}

static int fake_disk_remove(void *o, uint32_t domid, const char *vdev)
{
    (void)o;
    (void)domid;
    note(calls, sizeof(calls), "disk_remove %s; ", vdev);
    return 0;
}

/* xl pci-attach's way: the plugin then writes the guest's nodes */
static int fake_pci_add(void *o, uint32_t domid, const xenvf_bdf *bdf)
{
    char text[XENVF_BDF_STR_MAX];
    xenvf_guest_vf g;

    (void)o;
    xenvf_bdf_format(bdf, text);
    note(calls, sizeof(calls), "pci_add %s; ", text);
    xenvf_guest_vf_init(&g);
    g.pf_id = strdup("nvme0");
    g.bdf = *bdf;
    ck_assert_int_eq(xenvf_xs_publish_guest(&xs, domid, &g, 1, NULL), 0);
    xenvf_guest_vf_dispose(&g);
    /* the guest says where its I/O is once it has nodes again */
    ck_assert_int_eq(xenvf_xs_write(&xs, SW, "pv", NULL), 0);
    return 0;
}

/* fail_pci_remove: the nth call fails (1: the first); else xenvfd's
 * part too: the VF reset and free in the books */
static int fake_pci_remove(void *o, uint32_t domid, const xenvf_bdf *bdf)
{
    char text[XENVF_BDF_STR_MAX];
    xenvf_pf pf;

    (void)o;
    (void)domid;
    xenvf_bdf_format(bdf, text);
    note(calls, sizeof(calls), "pci_remove %s; ", text);
    if (fail_pci_remove && !--fail_pci_remove)
        return -3;
    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &pf, NULL), 0);
    for (unsigned i = 0; i < pf.nr_vfs; i++)
        if (xenvf_bdf_equal(&pf.vfs[i].bdf, bdf)) {
            pf.vfs[i].state = XENVF_VF_FREE;
            pf.vfs[i].domid = XENVF_DOMID_NONE;
        }
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, NULL, NULL), 0);
    xenvf_pf_dispose(&pf);
    return 0;
}

static const xlp_iomove_ops ops = {.disk_add = fake_disk_add,
                                   .disk_remove = fake_disk_remove,
                                   .pci_add = fake_pci_add,
                                   .pci_remove = fake_pci_remove};

static void put(const char *rel, const char *text);

/* The disk behind namespace 2 as the kernel names it (its wwid): the one
 * the guest was saved with, or (another host) another. */
#define WWID "nvme.1b36-73657269616c-6d6f64656c-00000002"
static const char *disk_wwid;

/* The kernel's block device of namespace nsid on nvme0 comes (the
 * namespace attached to the PF's controller and rescanned) or goes. */
static void ns_block(uint32_t nsid, bool there)
{
    char cmd[200], rel[64], text[16];

    if (there) {
        snprintf(rel, sizeof(rel), "class/nvme/nvme0/nvme0n%u/nsid", nsid);
        snprintf(text, sizeof(text), "%u\n", nsid);
        put(rel, text);
        snprintf(rel, sizeof(rel), "block/nvme0n%u/wwid", nsid);
        put(rel, disk_wwid);
        return;
    }
    snprintf(cmd, sizeof(cmd),
             "rm -rf %s/class/nvme/nvme0/nvme0n%u %s/block/nvme0n%u", root,
             nsid, root, nsid);
    ck_assert_int_eq(system(cmd), 0);
}

/* the PF's controller: CNTLID 0, attachments and rescans noted, the
 * namespace's block device there after an attachment, gone after a
 * detachment */
static int controller(void *ctx, int fd, unsigned long req,
                      struct nvme_admin_cmd *cmd)
{
    char n[32];

    (void)ctx;
    (void)fd;
    if (req == (unsigned long)NVME_IOCTL_RESCAN) {
        note(nvme_log, sizeof(nvme_log), "rescan; ");
        return 0;
    }
    if (cmd->opcode == 0x06) {
        memset((void *)(uintptr_t)cmd->addr, 0, cmd->data_len);
        return 0;
    }
    ck_assert_uint_eq(cmd->opcode, 0x15);
    snprintf(n, sizeof(n), "%u", cmd->nsid);
    note(nvme_log, sizeof(nvme_log), "%s %s; ",
         cmd->cdw10 ? "detach" : "attach", n);
    ns_block(cmd->nsid, !cmd->cdw10);
    return 0;
}

/* The guest: answers each new switch-request once, as told. */
static void *play_guest(void *arg)
{
    struct xs_handle *h = xs_open(0);
    char *last = NULL;

    (void)arg;
    while (h && !guest_stop) {
        unsigned len;
        char *req = xs_read(h, XBT_NULL, REQ, &len);

        if (req && (!last || strcmp(req, last))) {
            const char *a = !strncmp(req, "pv", 2) ? answer_pv : answer_vf;

            if (a)
                xs_write(h, XBT_NULL, SW, a, (unsigned)strlen(a));
            free(last);
            last = req;
        } else {
            free(req);
        }
        usleep(20000);
    }
    free(last);
    if (h)
        xs_close(h);
    return NULL;
}

static void put(const char *rel, const char *text)
{
    char path[256], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (slash = strchr(path + strlen(root) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    if (!text) {
        mkdir(path, 0755);
        return;
    }
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

/* nvme0 at 01:00.0 (held by `owner`), VF 0 at 01:00.1 held by domain 5
 * (or free) with namespace 2 */
static void books(uint32_t owner, bool held)
{
    xenvf_pf pf;

    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_pf_set_id(&pf, "nvme0", NULL), 0);
    pf.bdf = (xenvf_bdf){.seg = 0, .bus = 1, .dev = 0, .func = 0};
    pf.owner_domid = owner;
    pf.total_vfs = pf.num_vfs = 1;
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 1, NULL), 0);
    pf.vfs[0].bdf_known = true;
    pf.vfs[0].bdf = (xenvf_bdf){.seg = 0, .bus = 1, .dev = 0, .func = 1};
    pf.vfs[0].state = held ? XENVF_VF_ACTIVE : XENVF_VF_FREE;
    pf.vfs[0].domid = held ? DOMID : XENVF_DOMID_NONE;
    ck_assert_int_eq(xenvf_ns_list_add(&pf.vfs[0].config.ns, 2, 1 << 20, NULL),
                     0);
    ck_assert_msg(!xenvf_xs_publish_pf(&xs, &pf, NULL, &err), "%s", err.msg);
    xenvf_pf_dispose(&pf);
}

/* the guest's vf/0 for nvme0#0, its switch saying `says` */
static void guest_nodes(const char *says)
{
    xenvf_guest_vf g;

    xenvf_guest_vf_init(&g);
    g.pf_id = strdup("nvme0");
    g.bdf = (xenvf_bdf){.seg = 0, .bus = 1, .dev = 0, .func = 1};
    ck_assert_int_eq(xenvf_xs_publish_guest(&xs, DOMID, &g, 1, NULL), 0);
    xenvf_guest_vf_dispose(&g);
    ck_assert_int_eq(xenvf_xs_write(&xs, SW, says, NULL), 0);
}

/* A second VF domain 5 holds: nvme0#1 at 01:00.2 with namespace nsid (0:
 * none, as a NIC VF has), and the guest's nodes for both VFs, its vf/0
 * switch saying `says0` and vf/1's nothing. */
static void second_vf(uint32_t nsid, const char *says0)
{
    xenvf_guest_vf g[2];
    xenvf_pf pf;

    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &pf, NULL), 0);
    ck_assert_int_eq(xenvf_pf_resize_vfs(&pf, 2, NULL), 0);
    pf.total_vfs = pf.num_vfs = 2;
    pf.vfs[1].bdf_known = true;
    pf.vfs[1].bdf = (xenvf_bdf){.seg = 0, .bus = 1, .dev = 0, .func = 2};
    pf.vfs[1].state = XENVF_VF_ACTIVE;
    pf.vfs[1].domid = DOMID;
    if (nsid)
        ck_assert_int_eq(
            xenvf_ns_list_add(&pf.vfs[1].config.ns, nsid, 1 << 20, NULL), 0);
    ck_assert_msg(!xenvf_xs_publish_pf(&xs, &pf, NULL, &err), "%s", err.msg);
    xenvf_pf_dispose(&pf);
    for (int i = 0; i < 2; i++) {
        xenvf_guest_vf_init(&g[i]);
        g[i].pf_id = strdup("nvme0");
        g[i].bdf = (xenvf_bdf){.seg = 0, .bus = 1, .dev = 0, .func = 1 + i};
    }
    ck_assert_int_eq(xenvf_xs_publish_guest(&xs, DOMID, g, 2, NULL), 0);
    for (int i = 0; i < 2; i++)
        xenvf_guest_vf_dispose(&g[i]);
    ck_assert_int_eq(xenvf_xs_write(&xs, SW, says0, NULL), 0);
}

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/xenvf-iomove-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    put("bus/pci/devices/0000:01:00.0/nvme/nvme0", NULL);
    put("class/nvme/nvme0", NULL);
    put("nvme0", "");
    disk_wwid = WWID "\n";
    ck_assert_int_eq(xsh_start(&hs), 0);
    xenvf_err_init(&err);
    xenvf_xs_init(&xs);
    ck_assert_msg(!xenvf_xs_open(&xs, &err), "%s", err.msg);
    ck_assert_msg(!xenvf_xs_setup_root(&xs, &err), "%s", err.msg);
    xlp_iomove_env_default(&env);
    env.sysfs_root = env.dev_dir = root;
    env.answer_ms = 2000;
    calls[0] = nvme_log[0] = '\0';
    fail_disk_add = fail_pci_remove = 0;
    answer_pv = "pv paused=0.012345";
    answer_vf = "vf paused=0.002000";
    xenvf_nvme_set_transport(controller, NULL);
    guest_stop = 0;
    ck_assert_int_eq(pthread_create(&guest, NULL, play_guest, NULL), 0);
}

static void teardown(void)
{
    char cmd[160];

    guest_stop = 1;
    pthread_join(guest, NULL);
    xenvf_nvme_set_transport(NULL, NULL);
    xenvf_xs_dispose(&xs);
    xsh_stop(hs);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    ck_assert_int_eq(system(cmd), 0);
}

static int out(xlp_moved **v, size_t *nr)
{
    return xlp_iomove_out(&xs, &ops, &env, DOMID, false, v, nr, &err);
}

/* the same with XENVF_MIGRATE=unplug-and-go (xl migrate) */
static int out_unplug(xlp_moved **v, size_t *nr)
{
    return xlp_iomove_out(&xs, &ops, &env, DOMID, true, v, nr, &err);
}

START_TEST(moves_out_and_records_it)
{
    xlp_moved *v = NULL;
    size_t nr = 0;
    char dev[256];

    books(0, true);
    guest_nodes("vf");
    ck_assert_msg(!out(&v, &nr), "%s", err.msg);
    ck_assert_uint_eq(nr, 1);
    ck_assert_str_eq(v[0].pf, "nvme0");
    ck_assert_uint_eq(v[0].nsid, 2);
    ck_assert_str_eq(v[0].vdev, "xvdb");
    ck_assert_str_eq(v[0].wwid, WWID);
    snprintf(dev, sizeof(dev),
             "disk_add %s/nvme0n2 xvdb; pci_remove "
             "0000:01:00.1; ",
             root);
    ck_assert_str_eq(calls, dev);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; ");
    free(v);
}
END_TEST

/* The move out fails with rc, err saying `says`: nothing recorded, the
 * namespace attached and detached again from the PF. */
static void out_undone(int rc, const char *says)
{
    xlp_moved *v = NULL;
    size_t nr = 9;

    books(0, true);
    guest_nodes("vf");
    ck_assert_int_eq(out(&v, &nr), rc);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(nr, 0);
    ck_assert_msg(strstr(err.msg, says), "%s", err.msg);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; detach 2; rescan; ");
}

/* the guest says no: back to its VF, the disk and the PF path undone,
 * the VF still plugged */
START_TEST(a_guest_error_is_undone)
{
    char want[256];

    answer_pv = "error: xenvf-vf0: no PV disk xvdb after 30 s; its I/O "
                "stays on the VF path";
    out_undone(XENVF_EIO, "nvme0#0: the guest answered 'error: xenvf-vf0: no "
                          "PV disk xvdb");
    snprintf(want, sizeof(want), "disk_add %s/nvme0n2 xvdb; disk_remove xvdb; ",
             root);
    ck_assert_str_eq(calls, want);
}
END_TEST

/* no answer at all: the same undo after the wait */
START_TEST(a_silent_guest_times_out_and_is_undone)
{
    answer_pv = answer_vf = NULL;
    env.answer_ms = 300;
    out_undone(XENVF_ETIMEDOUT, "the guest did not answer");
    ck_assert_msg(strstr(calls, "disk_remove xvdb"), "%s", calls);
    ck_assert_msg(!strstr(calls, "pci_remove"), "%s", calls);
}
END_TEST

START_TEST(a_disk_libxl_refuses_is_undone)
{
    fail_disk_add = 1;
    out_undone(XENVF_EIO, "libxl could not add");
    ck_assert_msg(!strstr(calls, "disk_remove") && !strstr(calls, "pci_"), "%s",
                  calls);
}
END_TEST

/* the unplug fails: the guest goes back to the VF it still has */
START_TEST(an_unplug_libxl_refuses_is_undone)
{
    fail_pci_remove = 1;
    out_undone(XENVF_EIO, "nvme0#0: libxl could not unplug it");
    ck_assert_msg(strstr(calls, "pci_remove 0000:01:00.1; disk_remove xvdb"),
                  "%s", calls);
}
END_TEST

/* nothing to move: xlp_suspend_check decides (migrate.h) */
START_TEST(nothing_moved_without_the_switch_or_on_pv)
{
    const char *says[] = {"", "pv", "error: earlier"};
    xlp_moved *v = NULL;
    size_t nr = 9;

    books(0, true);
    for (size_t i = 0; i < 3; i++) {
        guest_nodes(says[i]);
        ck_assert_msg(!out(&v, &nr), "%s", err.msg);
        ck_assert_uint_eq(nr, 0);
    }
    ck_assert_str_eq(calls, "");
    ck_assert_str_eq(nvme_log, "");
}
END_TEST

START_TEST(a_driver_domain_pf_is_refused_by_name)
{
    xlp_moved *v = NULL;
    size_t nr = 0;

    books(3, true);
    guest_nodes("vf");
    ck_assert_int_eq(out(&v, &nr), XENVF_ENOTSUP);
    ck_assert_msg(strstr(err.msg, "nvme0#0: its PF is in driver domain 3"),
                  "%s", err.msg);
    ck_assert_str_eq(calls, "");
}
END_TEST

/* unplug-and-go (xl migrate): a guest without xenvf-guest's switch loses
 * its VF for the move, recorded as unplugged, no PF path made */
START_TEST(unplug_and_go_unplugs_a_guest_without_the_switch)
{
    xlp_moved *v = NULL;
    size_t nr = 0;

    books(0, true);
    guest_nodes("");
    ck_assert_msg(!out_unplug(&v, &nr), "%s", err.msg);
    ck_assert_uint_eq(nr, 1);
    ck_assert(v[0].unplugged);
    ck_assert_str_eq(v[0].pf, "nvme0");
    ck_assert_uint_eq(v[0].index, 0);
    ck_assert_str_eq(calls, "pci_remove 0000:01:00.1; ");
    ck_assert_str_eq(nvme_log, "");
    free(v);
}
END_TEST

/* a guest with a storage VF the switch serves and a VF without a disk:
 * without unplug-and-go nothing moves (xlp_suspend_check explains); with
 * it the storage I/O goes to the PF path and both VFs are unplugged */
START_TEST(unplug_and_go_switches_what_it_can)
{
    xlp_moved *v = NULL;
    size_t nr = 9;
    char want[256];

    books(0, true);
    second_vf(0, "vf");
    ck_assert_msg(!out(&v, &nr), "%s", err.msg);
    ck_assert_uint_eq(nr, 0);
    ck_assert_str_eq(calls, "");
    ck_assert_msg(!out_unplug(&v, &nr), "%s", err.msg);
    ck_assert_uint_eq(nr, 2);
    ck_assert(!v[0].unplugged);
    ck_assert_str_eq(v[0].vdev, "xvdb");
    ck_assert(v[1].unplugged);
    ck_assert_uint_eq(v[1].index, 1);
    snprintf(want, sizeof(want),
             "disk_add %s/nvme0n2 xvdb; pci_remove 0000:01:00.1; "
             "pci_remove 0000:01:00.2; ",
             root);
    ck_assert_str_eq(calls, want);
    free(v);
}
END_TEST

/* the second unplug fails: the first VF, unplugged already, is plugged
 * again and its guest asked back; its PV disk and PF path go */
START_TEST(an_unplug_failure_plugs_back_what_went)
{
    xlp_moved *v = NULL;
    size_t nr = 9;
    char want[256];

    books(0, true);
    second_vf(0, "vf");
    fail_pci_remove = 2;
    ck_assert_int_eq(out_unplug(&v, &nr), XENVF_EIO);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(nr, 0);
    ck_assert_msg(strstr(err.msg, "nvme0#1: libxl could not unplug it"), "%s",
                  err.msg);
    snprintf(want, sizeof(want),
             "disk_add %s/nvme0n2 xvdb; pci_remove 0000:01:00.1; "
             "pci_remove 0000:01:00.2; pci_add 0000:01:00.1; "
             "disk_remove xvdb; ",
             root);
    ck_assert_str_eq(calls, want);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; detach 2; rescan; ");
}
END_TEST

/* a PF in a driver domain has no PF path: unplug-and-go unplugs its VF
 * instead of refusing */
START_TEST(unplug_and_go_unplugs_a_driver_domain_vf)
{
    xlp_moved *v = NULL;
    size_t nr = 0;

    books(3, true);
    guest_nodes("vf");
    ck_assert_msg(!out_unplug(&v, &nr), "%s", err.msg);
    ck_assert_uint_eq(nr, 1);
    ck_assert(v[0].unplugged);
    ck_assert_str_eq(calls, "pci_remove 0000:01:00.1; ");
    free(v);
}
END_TEST

static const xlp_moved moved = {"nvme0", 0, 2, "xvdb", WWID, false};
static const xlp_moved unplugged = {
    .pf = "nvme0", .index = 1, .unplugged = true};

/* before the restored domain's build: the PF path there, its device */
START_TEST(restore_finds_the_pf_path)
{
    char dev[1][XLP_IOMOVE_DEV_MAX], want[XLP_IOMOVE_DEV_MAX];
    bool attached[1];

    books(0, false);
    ck_assert_msg(!xlp_iomove_paths(&xs, &env, &moved, 1, dev, attached, &err),
                  "%s", err.msg);
    snprintf(want, sizeof(want), "%s/nvme0n2", root);
    ck_assert_str_eq(dev[0], want);
    ck_assert(attached[0]);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; ");
    /* the build fails after it: what it attached goes */
    xlp_iomove_paths_release(&xs, &env, &moved, 1, attached);
    ck_assert(!attached[0]);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; detach 2; rescan; ");
}
END_TEST

/* xl restore where the PF path is there already (the save's, on the same
 * host): nothing attached, nothing to undo */
START_TEST(restore_uses_the_pf_path_there)
{
    char dev[1][XLP_IOMOVE_DEV_MAX];
    bool attached[1];

    books(0, false);
    ns_block(2, true);
    ck_assert_msg(!xlp_iomove_paths(&xs, &env, &moved, 1, dev, attached, &err),
                  "%s", err.msg);
    ck_assert(!attached[0]);
    xlp_iomove_paths_release(&xs, &env, &moved, 1, attached);
    ck_assert_str_eq(nvme_log, "");
}
END_TEST

/* xl restore (or migrate-receive) on a host where the PF's namespace 2 is
 * another disk: refused by name, and the namespace attached for it
 * detached again */
START_TEST(restore_refuses_another_disk)
{
    char dev[1][XLP_IOMOVE_DEV_MAX];
    bool attached[1];

    books(0, false);
    disk_wwid = "eui.00000000000000aa";
    ck_assert_int_eq(
        xlp_iomove_paths(&xs, &env, &moved, 1, dev, attached, &err),
        XENVF_EINVAL);
    ck_assert_msg(strstr(err.msg, "nvme0#0: namespace 2 of nvme0 here is the "
                                  "disk eui.00000000000000aa, but the guest "
                                  "was saved on " WWID ": not the same disk"),
                  "%s", err.msg);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; detach 2; rescan; ");
}
END_TEST

/* a VF unplugged at the move has no PF path at the restore */
START_TEST(restore_makes_no_path_for_a_vf_unplugged)
{
    const xlp_moved both[2] = {unplugged, moved};
    char dev[2][XLP_IOMOVE_DEV_MAX], want[XLP_IOMOVE_DEV_MAX];
    bool attached[2];

    books(0, false);
    second_vf(0, "");
    ck_assert_msg(!xlp_iomove_paths(&xs, &env, both, 2, dev, attached, &err),
                  "%s", err.msg);
    ck_assert_str_eq(dev[0], "");
    snprintf(want, sizeof(want), "%s/nvme0n2", root);
    ck_assert_str_eq(dev[1], want);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; ");
}
END_TEST

/* two VFs moved, the second's disk another one here: refused, and the
 * first's PF path, attached for this restore, detached again too */
START_TEST(restore_refused_detaches_every_path_it_made)
{
    const xlp_moved three[3] = {
        unplugged, moved, {"nvme0", 1, 3, "xvdc", "eui.00000000000000bb", 0}};
    char dev[3][XLP_IOMOVE_DEV_MAX];
    bool attached[3];

    books(0, false);
    second_vf(3, "");
    ck_assert_int_eq(xlp_iomove_paths(&xs, &env, three, 3, dev, attached, &err),
                     XENVF_EINVAL);
    ck_assert_msg(strstr(err.msg, "nvme0#1: namespace 3 of nvme0 here is the "
                                  "disk " WWID ", but the guest was saved on "
                                  "eui.00000000000000bb"),
                  "%s", err.msg);
    ck_assert_str_eq(nvme_log, "attach 2; rescan; attach 3; rescan; "
                               "detach 3; rescan; detach 2; rescan; ");
}
END_TEST

/* after the receive: a VF unplugged is only plugged again */
START_TEST(a_vf_unplugged_is_plugged_back)
{
    const xlp_moved vf0 = {.pf = "nvme0", .index = 0, .unplugged = true};

    books(0, false);
    ck_assert_msg(!xlp_iomove_back(&xs, &ops, &env, DOMID, &vf0, 1, &err), "%s",
                  err.msg);
    ck_assert_str_eq(calls, "pci_add 0000:01:00.1; ");
    ck_assert_str_eq(nvme_log, "");
}
END_TEST

/* after xl restore: the VF plugged, the guest says pv, is asked back */
START_TEST(moves_back)
{
    books(0, false);
    answer_vf = "vf paused=0.002000";
    ck_assert_msg(!xlp_iomove_back(&xs, &ops, &env, DOMID, &moved, 1, &err),
                  "%s", err.msg);
    ck_assert_str_eq(calls, "pci_add 0000:01:00.1; disk_remove xvdb; ");
    ck_assert_str_eq(nvme_log, "detach 2; rescan; "); /* attached at restore */
}
END_TEST

/* the VF went to another domain meanwhile: said, nothing plugged, the
 * guest stays on its PV disk */
START_TEST(back_refused_when_the_vf_is_taken)
{
    xenvf_pf pf;

    books(0, false);
    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &pf, NULL), 0);
    pf.vfs[0].state = XENVF_VF_ACTIVE;
    pf.vfs[0].domid = 9;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, NULL, NULL), 0);
    xenvf_pf_dispose(&pf);
    ck_assert_int_eq(xlp_iomove_back(&xs, &ops, &env, DOMID, &moved, 1, &err),
                     XENVF_EBUSY);
    ck_assert_msg(strstr(err.msg, "nvme0#0: the VF is active (domain 9), not "
                                  "free"),
                  "%s", err.msg);
    ck_assert_str_eq(calls, "");
}
END_TEST

/* the guest answers an error to "vf": said; its PV disk stays */
START_TEST(back_error_keeps_the_pv_disk)
{
    books(0, false);
    answer_vf = "error: xenvf-vf0: no VF namespace; its I/O stays on the PV "
                "path";
    ck_assert_int_eq(xlp_iomove_back(&xs, &ops, &env, DOMID, &moved, 1, &err),
                     XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "the guest answered 'error: xenvf-vf0: no "
                                  "VF namespace"),
                  "%s", err.msg);
    ck_assert_str_eq(calls, "pci_add 0000:01:00.1; ");
}
END_TEST

static Suite *iomove_suite(void)
{
    Suite *s = suite_create("iomove");
    TCase *tc = tcase_create("paths");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, moves_out_and_records_it);
    tcase_add_test(tc, a_guest_error_is_undone);
    tcase_add_test(tc, a_silent_guest_times_out_and_is_undone);
    tcase_add_test(tc, a_disk_libxl_refuses_is_undone);
    tcase_add_test(tc, an_unplug_libxl_refuses_is_undone);
    tcase_add_test(tc, nothing_moved_without_the_switch_or_on_pv);
    tcase_add_test(tc, a_driver_domain_pf_is_refused_by_name);
    tcase_add_test(tc, unplug_and_go_unplugs_a_guest_without_the_switch);
    tcase_add_test(tc, unplug_and_go_switches_what_it_can);
    tcase_add_test(tc, an_unplug_failure_plugs_back_what_went);
    tcase_add_test(tc, unplug_and_go_unplugs_a_driver_domain_vf);
    tcase_add_test(tc, restore_finds_the_pf_path);
    tcase_add_test(tc, restore_uses_the_pf_path_there);
    tcase_add_test(tc, restore_refuses_another_disk);
    tcase_add_test(tc, restore_makes_no_path_for_a_vf_unplugged);
    tcase_add_test(tc, restore_refused_detaches_every_path_it_made);
    tcase_add_test(tc, a_vf_unplugged_is_plugged_back);
    tcase_add_test(tc, moves_back);
    tcase_add_test(tc, back_refused_when_the_vf_is_taken);
    tcase_add_test(tc, back_error_keeps_the_pv_disk);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(iomove_suite)
