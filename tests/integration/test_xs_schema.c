/*
 * The xenstore schema against Debian's real xenstored (under the test shim):
 * publishing, reading back, delta costs, permissions as a guest and as a
 * driver domain see them, and the blocking wait for a PF state.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include <xenvf/text.h>
#include <xenvf/xs.h>

#include "../harness/xs-harness.h"
#include "../harness/check-main.h"

static xs_harness *hs;
static xenvf_xs xs;
static xenvf_err err;

static void setup(void)
{
    ck_assert_int_eq(xsh_start(&hs), 0);
    xenvf_err_init(&err);
    ck_assert_msg(!xenvf_xs_open(&xs, &err), "%s", err.msg);
    ck_assert_msg(!xenvf_xs_setup_root(&xs, &err), "%s", err.msg);
}

static void teardown(void)
{
    xenvf_xs_dispose(&xs);
    xsh_stop(hs);
    hs = NULL;
}

/* nvme0 at 0000:01:00.0 with nr VFs at 01:00.1.., VF 1 held by domain 5. */
static void make_pf(xenvf_pf *pf, uint32_t owner, size_t nr)
{
    xenvf_pf_init(pf);
    ck_assert_int_eq(xenvf_pf_set_id(pf, "nvme0", NULL), 0);
    pf->bdf = (xenvf_bdf){.seg = 0, .bus = 1, .dev = 0, .func = 0};
    pf->owner_domid = owner;
    pf->total_vfs = 4;
    pf->num_vfs = (unsigned)nr;
    ck_assert_int_eq(xenvf_pf_resize_vfs(pf, nr, NULL), 0);
    for (size_t i = 0; i < nr; i++) {
        pf->vfs[i].bdf_known = true;
        pf->vfs[i].state = XENVF_VF_FREE;
        ck_assert_int_eq(xenvf_bdf_vf_address(&pf->bdf, 1, 1, (unsigned)i,
                                              &pf->vfs[i].bdf, NULL),
                         0);
    }
    if (nr > 1) {
        pf->vfs[1].state = XENVF_VF_ACTIVE;
        pf->vfs[1].domid = 5;
        pf->vfs[1].config.vlan = 10;
        ck_assert_int_eq(
            xenvf_mac_parse("00:16:3e:00:00:01", pf->vfs[1].config.mac, NULL),
            0);
        pf->vfs[1].config.has_mac = true;
    }
}

static void assert_pf_equal(const xenvf_pf *a, const xenvf_pf *b)
{
    ck_assert_str_eq(a->id, b->id);
    ck_assert(xenvf_bdf_equal(&a->bdf, &b->bdf));
    ck_assert_uint_eq(a->owner_domid, b->owner_domid);
    ck_assert_uint_eq(a->total_vfs, b->total_vfs);
    ck_assert_uint_eq(a->num_vfs, b->num_vfs);
    ck_assert_uint_eq(a->nr_vfs, b->nr_vfs);
    for (size_t i = 0; i < a->nr_vfs; i++) {
        const xenvf_vf *x = &a->vfs[i], *y = &b->vfs[i];
        ck_assert_uint_eq(x->index, y->index);
        ck_assert_int_eq(x->bdf_known, y->bdf_known);
        ck_assert(!x->bdf_known || xenvf_bdf_equal(&x->bdf, &y->bdf));
        ck_assert_int_eq(x->state, y->state);
        ck_assert_uint_eq(x->domid, y->domid);
        ck_assert_int_eq(x->config.has_mac, y->config.has_mac);
        ck_assert(!x->config.has_mac ||
                  !memcmp(x->config.mac, y->config.mac, 6));
        ck_assert_int_eq(x->config.vlan, y->config.vlan);
        ck_assert_int_eq(x->config.trust, y->config.trust);
        ck_assert_int_eq(x->config.rate_mbps, y->config.rate_mbps);
        ck_assert(xenvf_ns_list_equal(&x->config.ns, &y->config.ns));
    }
}

static void set_ns(xenvf_pf *pf, size_t vf, const char *list)
{
    xenvf_ns_list_dispose(&pf->vfs[vf].config.ns);
    if (list)
        ck_assert_int_eq(
            xenvf_ns_list_parse(list, &pf->vfs[vf].config.ns, NULL), 0);
}

static char *node(const char *path)
{
    char *v = NULL;

    ck_assert_int_eq(xenvf_xs_read(&xs, path, &v, NULL), 0);
    return v;
}

#define NS2 "/xenvf/pf/nvme0/vf/2/namespaces"
#define NS3 "/xenvf/pf/nvme0/vf/3/namespaces"

/* One node per VF with namespaces; a change rewrites or removes only it. */
START_TEST(namespaces_node_published_by_delta)
{
    xenvf_pf prev, pf, back;
    unsigned long before;
    bool gone;
    char *v;

    make_pf(&prev, 0, 4);
    make_pf(&pf, 0, 4);
    set_ns(&prev, 2, "1:67108864 3:1048576");
    set_ns(&pf, 2, "1:67108864 3:1048576");
    ck_assert_msg(!xenvf_xs_publish_pf(&xs, &prev, NULL, &err), "%s", err.msg);
    ck_assert_str_eq(v = node(NS2), "1:67108864 3:1048576");
    free(v);
    ck_assert_ptr_null(node(NS3)); /* absent when a VF has none */

    before = xs.nr_requests;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err), 0);
    ck_assert_uint_eq(xs.nr_requests - before, 2);

    /* one VF's list edited: one write */
    set_ns(&pf, 2, "1:67108864 3:1048576 5:512");
    before = xs.nr_requests;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err), 0);
    ck_assert_uint_eq(xs.nr_requests - before, 2 + 1);
    ck_assert_str_eq(v = node(NS2), "1:67108864 3:1048576 5:512");
    free(v);

    /* a list for another VF: one write; VF 2's gone: one removal */
    set_ns(&prev, 2, "1:67108864 3:1048576 5:512");
    set_ns(&pf, 2, NULL);
    set_ns(&pf, 3, "7:1048576");
    before = xs.nr_requests;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err), 0);
    ck_assert_uint_eq(xs.nr_requests - before, 2 + 2);
    ck_assert_ptr_null(node(NS2));
    ck_assert_str_eq(v = node(NS3), "7:1048576");
    free(v);
    xenvf_pf_init(&back);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &back, &err), 0);
    assert_pf_equal(&pf, &back);

    /* the agent's view of a removal: the list is unset */
    set_ns(&back, 2, "1:512");
    ck_assert_int_eq(xenvf_xs_read_pf_node(&xs, NS2, &back, &gone, &err), 0);
    ck_assert(gone);
    ck_assert_uint_eq(back.vfs[2].config.ns.nr, 0);
    ck_assert_int_eq(xenvf_xs_read_pf_node(&xs, NS3, &back, &gone, &err), 0);
    ck_assert(!gone);
    ck_assert_uint_eq(back.vfs[3].config.ns.ns[0].nsid, 7);

    /* a restart's full publish drops a list the VF no longer has */
    set_ns(&pf, 3, NULL);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, NULL, &err), 0);
    ck_assert_ptr_null(node(NS3));

    /* what readers would refuse is never written */
    pf.vfs[3].config.ns.nr = 0;
    ck_assert_int_eq(xenvf_ns_list_add(&pf.vfs[3].config.ns, 4, 512, NULL), 0);
    ck_assert_int_eq(xenvf_ns_list_add(&pf.vfs[3].config.ns, 4, 512, NULL), 0);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err),
                     XENVF_ECONFLICT);
    ck_assert_msg(strstr(err.msg, "publish PF nvme0: vf 3: namespace list: "
                                  "entry 2: nsid 4 is listed twice"),
                  "%s", err.msg);
    ck_assert_ptr_null(node(NS3));

    xenvf_pf_dispose(&back);
    xenvf_pf_dispose(&prev);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(publish_and_read_back)
{
    xenvf_pf pf, back;
    char **ids;
    unsigned nr;

    make_pf(&pf, 0, 4);
    ck_assert_msg(!xenvf_xs_publish_pf(&xs, &pf, NULL, &err), "%s", err.msg);
    xenvf_pf_init(&back);
    ck_assert_msg(!xenvf_xs_read_pf(&xs, "nvme0", &back, &err), "%s", err.msg);
    assert_pf_equal(&pf, &back);
    /* the agent's node exists (as unknown) and the TCB never overwrote it */
    ck_assert_int_eq(back.state, XENVF_PF_UNKNOWN);
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, &err),
                     0);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, NULL, &err), 0);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &back, &err), 0);
    ck_assert_int_eq(back.state, XENVF_PF_READY);

    ck_assert_int_eq(xenvf_xs_list_pfs(&xs, &ids, &nr, &err), 0);
    ck_assert_uint_eq(nr, 1);
    ck_assert_str_eq(ids[0], "nvme0");
    free(ids[0]);
    free(ids);

    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme9", &back, &err), XENVF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nvme9"));
    xenvf_pf_dispose(&back);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(delta_publish_writes_only_changes)
{
    xenvf_pf prev, pf, back;
    unsigned long before;

    make_pf(&prev, 0, 4);
    make_pf(&pf, 0, 4);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &prev, NULL, &err), 0);

    /* nothing changed: a transaction start and end, no writes */
    before = xs.nr_requests;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err), 0);
    ck_assert_uint_eq(xs.nr_requests - before, 2);

    /* VF 2 taken by domain 9: its domain and state, and the PF's count */
    pf.vfs[2].domid = 9;
    pf.vfs[2].state = XENVF_VF_RESERVED;
    before = xs.nr_requests;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err), 0);
    ck_assert_uint_eq(xs.nr_requests - before, 2 + 3);

    /* VF 1's settings cleared: two node removals */
    xenvf_pf_dispose(&prev);
    make_pf(&prev, 0, 4);
    prev.vfs[2] = pf.vfs[2]; /* plain values: no owned memory */
    pf.vfs[1].config.has_mac = false;
    pf.vfs[1].config.vlan = -1;
    before = xs.nr_requests;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, &prev, &err), 0);
    ck_assert_uint_eq(xs.nr_requests - before, 2 + 2);

    xenvf_pf_init(&back);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &back, &err), 0);
    assert_pf_equal(&pf, &back);
    xenvf_pf_dispose(&back);
    xenvf_pf_dispose(&prev);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(full_publish_drops_stale_nodes)
{
    xenvf_pf big, small, back;

    /* a restart finds 4 VFs in xenstore but the PF now has 2, and VF 1
     * lost its settings: a full publish leaves no stale node */
    make_pf(&big, 0, 4);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &big, NULL, &err), 0);
    make_pf(&small, 0, 2);
    small.vfs[1].config.has_mac = false;
    small.vfs[1].config.vlan = -1;
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &small, NULL, &err), 0);
    xenvf_pf_init(&back);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &back, &err), 0);
    assert_pf_equal(&small, &back);

    /* and a delta from 2 VFs to 0 removes both VF directories */
    xenvf_pf_dispose(&big);
    make_pf(&big, 0, 0);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &big, &small, &err), 0);
    ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &back, &err), 0);
    ck_assert_uint_eq(back.nr_vfs, 0);
    xenvf_pf_dispose(&back);
    xenvf_pf_dispose(&small);
    xenvf_pf_dispose(&big);
}
END_TEST

/* The PF agent's state survives a TCB restart (a full publish, same
 * owner), but not a new owner: its agent has not spoken yet. */
START_TEST(new_owner_resets_state)
{
    xenvf_pf dom0, dd;
    xenvf_pf_state st;

    make_pf(&dom0, 0, 2);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &dom0, NULL, &err), 0);
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, &err),
                     0);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &dom0, NULL, &err), 0);
    ck_assert_int_eq(xenvf_xs_get_pf_state(&xs, "nvme0", &st, &err), 0);
    ck_assert_int_eq(st, XENVF_PF_READY);

    make_pf(&dd, 7, 2);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &dd, &dom0, &err), 0);
    ck_assert_int_eq(xenvf_xs_get_pf_state(&xs, "nvme0", &st, &err), 0);
    ck_assert_int_eq(st, XENVF_PF_UNKNOWN);

    /* and a TCB that starts with the other owner in its map (no prev) */
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, &err),
                     0);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &dom0, NULL, &err), 0);
    ck_assert_int_eq(xenvf_xs_get_pf_state(&xs, "nvme0", &st, &err), 0);
    ck_assert_int_eq(st, XENVF_PF_UNKNOWN);
    xenvf_pf_dispose(&dd);
    xenvf_pf_dispose(&dom0);
}
END_TEST

/* The check: domain 5 reads its own nodes, and is refused writing
 * PF state or reading another guest's nodes. */
/* A domain's VFs published together: each VF's nodes readable by the
 * guest (they take the directory's permissions), its own status writable,
 * the rest not; nothing of it for another guest. */
START_TEST(guest_nodes_of_several_vfs)
{
    xenvf_guest_vf gv[2];
    xsh_guest *g5, *g6;
    char *v = NULL, **ents = NULL;
    unsigned nr = 0;
    xenvf_pf pf;

    make_pf(&pf, 0, 4);
    ck_assert_int_eq(xsh_domain_create(hs, 5, &g5), 0);
    ck_assert_int_eq(xsh_domain_create(hs, 6, &g6), 0);
    for (unsigned i = 0; i < 2; i++) {
        xenvf_guest_vf_init(&gv[i]);
        gv[i].local_index = i;
        gv[i].pf_id = strdup("nvme0");
        gv[i].vf_index = i + 1;
        gv[i].bdf = pf.vfs[i + 1].bdf;
    }
    gv[1].config.function = strdup("pci-stub");
    ck_assert_msg(!xenvf_xs_publish_guest(&xs, 5, gv, 2, &err), "%s", err.msg);

    ck_assert_int_eq(xsh_guest_directory(g5, "xenvf/vf", &ents, &nr), 0);
    ck_assert_uint_eq(nr, 2);
    free(ents);
    ck_assert_int_eq(xsh_guest_read(g5, "xenvf/vf/1/index", &v), 0);
    ck_assert_str_eq(v, "2");
    free(v);
    ck_assert_int_eq(xsh_guest_read(g5, "xenvf/vf/1/function", &v), 0);
    ck_assert_str_eq(v, "pci-stub");
    free(v);
    ck_assert_int_eq(xsh_guest_read(g5, "xenvf/vf/0/function", &v), ENOENT);
    ck_assert_int_eq(xsh_guest_write(g5, "xenvf/vf/1/bdf", "x"), EACCES);
    ck_assert_int_eq(xsh_guest_write(g5, "xenvf/vf/1/new", "x"), EACCES);
    ck_assert_int_eq(xsh_guest_write(g5, "xenvf/vf/1/status", "bound"), 0);
    ck_assert_int_eq(xsh_guest_write(g5, "xenvf/vf/0/request", "mac=x"), 0);
    ck_assert_int_eq(xsh_guest_read(g6, "/local/domain/5/xenvf/vf/1/index", &v),
                     EACCES);
    ck_assert_int_eq(
        xsh_guest_directory(g6, "/local/domain/5/xenvf/vf", &ents, &nr),
        EACCES);
    /* a bad entry publishes nothing */
    free(gv[1].pf_id);
    gv[1].pf_id = strdup("bad id");
    ck_assert_int_eq(xenvf_xs_publish_guest(&xs, 6, gv, 2, &err), XENVF_EINVAL);
    ck_assert_ptr_null(
        xs_read(xs.h, XBT_NULL, "/local/domain/6/xenvf", &(unsigned){0}));
    for (unsigned i = 0; i < 2; i++)
        xenvf_guest_vf_dispose(&gv[i]);
    xsh_guest_close(g5);
    xsh_guest_close(g6);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(guest_sees_only_its_own_nodes)
{
    xsh_guest *g5, *g6;
    xenvf_guest_vf gv;
    xenvf_pf pf;
    char *v = NULL;

    make_pf(&pf, 0, 4);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, NULL, &err), 0);
    ck_assert_int_eq(xsh_domain_create(hs, 5, &g5), 0);
    ck_assert_int_eq(xsh_domain_create(hs, 6, &g6), 0);

    xenvf_guest_vf_init(&gv);
    gv.pf_id = strdup("nvme0");
    gv.vf_index = 1;
    gv.bdf = pf.vfs[1].bdf;
    gv.config.function = strdup("nvme");
    gv.config.boot = 1;
    ck_assert_msg(!xenvf_xs_publish_guest(&xs, 5, &gv, 1, &err), "%s", err.msg);
    gv.vf_index = 2;
    gv.bdf = pf.vfs[2].bdf;
    ck_assert_int_eq(xenvf_xs_publish_guest(&xs, 6, &gv, 1, &err), 0);

    /* its own nodes: readable, also by relative path, not writable */
    ck_assert_int_eq(
        xsh_guest_read(g5, "/local/domain/5/xenvf/vf/0/function", &v), 0);
    ck_assert_str_eq(v, "nvme");
    free(v);
    ck_assert_int_eq(xsh_guest_read(g5, "xenvf/vf/0/bdf", &v), 0);
    ck_assert_str_eq(v, "0000:01:00.2");
    free(v);
    ck_assert_int_eq(xsh_guest_read(g5, "xenvf/vf/0/boot", &v), 0);
    ck_assert_str_eq(v, "1");
    free(v);
    ck_assert_int_eq(xsh_guest_write(g5, "xenvf/vf/0/function", "evil"),
                     EACCES);

    /* PF state: neither written nor read by a guest */
    ck_assert_int_eq(xsh_guest_write(g5, "/xenvf/pf/nvme0/state", "ready"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_read(g5, "/xenvf/pf/nvme0/state", &v), EACCES);
    ck_assert_int_eq(xsh_guest_read(g5, "/xenvf/pf/nvme0/vf/1/domain", &v),
                     EACCES);
    /* another guest's nodes */
    ck_assert_int_eq(
        xsh_guest_read(g5, "/local/domain/6/xenvf/vf/0/function", &v), EACCES);
    ck_assert_int_eq(xsh_guest_read(g6, "/local/domain/6/xenvf/vf/0/bdf", &v),
                     0);
    ck_assert_str_eq(v, "0000:01:00.3");
    free(v);

    /* dom0 still reads everything; nothing the guest tried changed */
    xenvf_pf_state st;
    ck_assert_int_eq(xenvf_xs_get_pf_state(&xs, "nvme0", &st, &err), 0);
    ck_assert_int_eq(st, XENVF_PF_UNKNOWN);

    /* removed: gone for dom0; the guest gets EACCES, as xenstored does not
     * tell a domain whether a node it may not read the parent of exists */
    ck_assert_int_eq(xenvf_xs_remove_guest(&xs, 5, &err), 0);
    ck_assert_ptr_null(
        xs_read(xs.h, XBT_NULL, "/local/domain/5/xenvf", &(unsigned){0}));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(xsh_guest_read(g5, "xenvf/vf/0/function", &v), EACCES);
    v = xs_read(xs.h, XBT_NULL, "/local/domain/6/xenvf/vf/0/function",
                &(unsigned){0});
    ck_assert_ptr_nonnull(v); /* the other guest's nodes stay */
    free(v);
    xenvf_guest_vf_dispose(&gv);
    xsh_guest_close(g5);
    xsh_guest_close(g6);
    xenvf_pf_dispose(&pf);
}
END_TEST

/* A driver domain owns the PF: it reads the PF's record and writes only
 * its state; a guest still sees nothing. */
START_TEST(driver_domain_writes_only_state)
{
    xsh_guest *dd, *g5;
    xenvf_pf pf;
    char *v = NULL;
    xenvf_pf_state st;

    ck_assert_int_eq(xsh_domain_create(hs, 3, &dd), 0);
    ck_assert_int_eq(xsh_domain_create(hs, 5, &g5), 0);
    make_pf(&pf, 3, 4);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &pf, NULL, &err), 0);

    ck_assert_int_eq(xsh_guest_read(dd, "/xenvf/pf/nvme0/vf/1/mac", &v), 0);
    ck_assert_str_eq(v, "00:16:3e:00:00:01");
    free(v);
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme0/state", "ready"), 0);
    ck_assert_int_eq(xenvf_xs_get_pf_state(&xs, "nvme0", &st, &err), 0);
    ck_assert_int_eq(st, XENVF_PF_READY);
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme0/numvfs", "64"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme0/vf/1/domain", "3"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme1/state", "ready"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_read(g5, "/xenvf/pf/nvme0/state", &v), EACCES);
    ck_assert_int_eq(xsh_guest_write(g5, "/xenvf/pf/nvme0/state", "failed"),
                     EACCES);
    /* and its VFs' counters (vf/<n>/stats), which readers in dom0 read */
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme0/vf/1/stats",
                                     "rx_packets=7 tx_packets=8"),
                     0);
    ck_assert_int_eq(xsh_guest_write(g5, "/xenvf/pf/nvme0/vf/1/stats", "none"),
                     EACCES);
    {
        xenvf_pf back;

        xenvf_pf_init(&back);
        ck_assert_int_eq(xenvf_xs_read_pf(&xs, "nvme0", &back, &err), 0);
        ck_assert_int_eq(back.vfs[1].stats.status, XENVF_VF_STATS_GIVEN);
        ck_assert_uint_eq(back.vfs[1].stats.v[XENVF_VF_STAT_TX_PACKETS], 8);
        /* not written yet: nothing known, not an error */
        ck_assert_int_eq(back.vfs[0].stats.status, XENVF_VF_STATS_UNKNOWN);
        xenvf_pf_dispose(&back);
    }

    /* the PF moves to dom0: the old driver domain loses its rights */
    xenvf_pf moved;
    make_pf(&moved, 0, 4);
    ck_assert_int_eq(xenvf_xs_publish_pf(&xs, &moved, &pf, &err), 0);
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme0/state", "failed"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_read(dd, "/xenvf/pf/nvme0/vf/1/mac", &v),
                     EACCES);
    ck_assert_int_eq(xsh_guest_write(dd, "/xenvf/pf/nvme0/vf/1/stats", "none"),
                     EACCES);
    /* what the old owner's agent said is stale: dom0's has not spoken */
    ck_assert_int_eq(xenvf_xs_get_pf_state(&xs, "nvme0", &st, &err), 0);
    ck_assert_int_eq(st, XENVF_PF_UNKNOWN);

    xenvf_pf_dispose(&moved);
    xsh_guest_close(dd);
    xsh_guest_close(g5);
    xenvf_pf_dispose(&pf);
}
END_TEST

START_TEST(release_domain_fires_and_drops_nodes)
{
    xsh_guest *g5;
    char *path = NULL, *token = NULL;

    ck_assert_int_eq(xsh_domain_create(hs, 5, &g5), 0);
    ck_assert_int_eq(xenvf_xs_watch(&xs, "@releaseDomain", "rel", &err), 0);
    /* xenstored fires a new watch once at once */
    ck_assert_int_eq(xenvf_xs_wait_event(&xs, 5000, &path, &token, &err), 0);
    free(path);
    free(token);
    path = token = NULL;
    ck_assert_int_eq(xsh_domain_kill(hs, 5), 0);
    ck_assert_msg(!xenvf_xs_wait_event(&xs, 5000, &path, &token, &err), "%s",
                  err.msg);
    ck_assert_str_eq(path, "@releaseDomain");
    ck_assert_str_eq(token, "rel");
    free(path);
    free(token);
    xsh_guest_close(g5);
}
END_TEST

static Suite *xs_schema_suite(void)
{
    Suite *s = suite_create("xs_schema");
    TCase *tc = tcase_create("real_xenstored");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, publish_and_read_back);
    tcase_add_test(tc, delta_publish_writes_only_changes);
    tcase_add_test(tc, full_publish_drops_stale_nodes);
    tcase_add_test(tc, new_owner_resets_state);
    tcase_add_test(tc, namespaces_node_published_by_delta);
    tcase_add_test(tc, guest_sees_only_its_own_nodes);
    tcase_add_test(tc, guest_nodes_of_several_vfs);
    tcase_add_test(tc, driver_domain_writes_only_state);
    tcase_add_test(tc, release_domain_fires_and_drops_nodes);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(xs_schema_suite)
