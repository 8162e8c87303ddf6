/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The PF agent (agent.h). Event driven: a xenstore watch per PF subtree
 * (the TCB's record: NumVFs and VF settings) reads only the node that
 * changed, and device events (driver bound or unbound, PF gone) come from
 * devwatch. Each event marks VFs dirty; only dirty VFs are set up again.
 *
 *   PF gone                    -> failed
 *   driver not bound           -> probing (resetting if it was bound)
 *   bound, every VF set up     -> ready
 *   bound, some VF failed      -> degraded
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <xenvf/sysfs.h>
#include <xenvf/vf_settings.h>

#include "agent.h"

#define TOKEN_PREFIX "xenvfd-agent:"
#define TOKEN_ALL    "xenvfd-agent-pfs"

static int generic_vf_setup(agent *a, agent_pf *pf, const xenvf_vf *vf,
                            xenvf_err *err)
{
    return 0;
}

const agent_backend agent_backend_generic = {"generic", generic_vf_setup};

static void pf_dispose(agent_pf *pf)
{
    free(pf->id);
    xenvf_pf_dispose(&pf->rec);
    for (size_t i = 0; i < pf->nr_vfs; i++)
        xenvf_vf_config_dispose(&pf->applied[i]);
    free(pf->applied);
    free(pf->dirty);
    free(pf->ok);
    free(pf->stats_pub);
    memset(pf, 0, sizeof(*pf));
}

void agent_init(agent *a, const xenvfd_config *cfg)
{
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->stats_fd = -1;
    a->retry_fd = -1;
    xenvf_xs_init(&a->xs);
}

void agent_dispose(agent *a)
{
    if (a->dw_on)
        xenvfd_devwatch_dispose(&a->dw);
    if (a->stats_fd >= 0) {
        xenvfd_loop_del(a->stats_fd);
        close(a->stats_fd);
    }
    if (a->retry_fd >= 0) {
        xenvfd_loop_del(a->retry_fd);
        close(a->retry_fd);
    }
    if (a->xs.h) {
        int fd = xenvf_xs_fileno(&a->xs);
        if (fd >= 0)
            xenvfd_loop_del(fd);
    }
    for (size_t i = 0; i < a->nr_pfs; i++)
        pf_dispose(&a->pfs[i]);
    free(a->pfs);
    xenvf_xs_dispose(&a->xs);
    memset(a, 0, sizeof(*a));
}

static agent_pf *find_pf(agent *a, const char *id)
{
    for (size_t i = 0; i < a->nr_pfs; i++)
        if (!strcmp(a->pfs[i].id, id))
            return &a->pfs[i];
    return NULL;
}

static void mark_all(agent_pf *pf)
{
    for (size_t i = 0; i < pf->nr_vfs; i++)
        pf->dirty[i] = true;
}

static int size_vfs(agent_pf *pf, size_t nr)
{
    if (nr <= pf->nr_vfs)
        return 0;
    bool *d = reallocarray(pf->dirty, nr, sizeof(*d));
    if (!d)
        return XENVF_ENOMEM;
    pf->dirty = d;
    bool *o = reallocarray(pf->ok, nr, sizeof(*o));
    if (!o)
        return XENVF_ENOMEM;
    pf->ok = o;
    xenvf_vf_config *c = reallocarray(pf->applied, nr, sizeof(*c));
    if (!c)
        return XENVF_ENOMEM;
    pf->applied = c;
    for (size_t i = pf->nr_vfs; i < nr; i++) {
        pf->dirty[i] = true;
        pf->ok[i] = false;
        xenvf_vf_config_init(&pf->applied[i]);
    }
    pf->nr_vfs = nr;
    return 0;
}

static const agent_backend *pick_backend(agent *a, agent_pf *pf)
{
    const char *want = a->cfg->agent_backend;
    char *drv = NULL, *net = NULL;
    const agent_backend *be = &agent_backend_generic;

    if (!strcmp(want, "nvme"))
        return &agent_backend_nvme;
    if (!strcmp(want, "net"))
        return &agent_backend_net;
    if (!strcmp(want, "generic"))
        return &agent_backend_generic;
    xenvf_sysfs_read_driver(a->cfg->sysfs_root, &pf->rec.bdf, &drv, NULL);
    if (drv && !strcmp(drv, "nvme"))
        be = &agent_backend_nvme;
    else if (!xenvf_sysfs_dev_path(a->cfg->sysfs_root, &pf->rec.bdf, "net",
                                   &net, NULL) &&
             !access(net, F_OK))
        be = &agent_backend_net;
    free(drv);
    free(net);
    return be;
}

static void set_state(agent *a, agent_pf *pf, xenvf_pf_state to,
                      const char *why)
{
    xenvf_err err;

    if (pf->state_written && pf->state == to)
        return;
    xenvf_err_init(&err);
    /* an illegal step goes through probing (failed -> ready is not a
     * step: a PF comes back through probing) */
    if (pf->state_written && !xenvf_pf_state_step_ok(pf->state, to) &&
        to != XENVF_PF_PROBING &&
        xenvf_pf_state_step_ok(pf->state, XENVF_PF_PROBING))
        set_state(a, pf, XENVF_PF_PROBING, "on the way");
    if (xenvf_xs_set_pf_state(&a->xs, pf->id, to, &err)) {
        LOG(ERROR, "%s", err.msg);
        return;
    }
    xenvf_log(to == XENVF_PF_FAILED || to == XENVF_PF_DEGRADED ? XENVF_LOG_WARN
                                                               : XENVF_LOG_INFO,
              __func__, "pf %s: %s -> %s (%s)", pf->id,
              pf->state_written ? xenvf_pf_state_name(pf->state) : "(start)",
              xenvf_pf_state_name(to), why);
    pf->state = to;
    pf->state_written = true;
}

/* What the agent applies: the NIC settings and the namespaces. */
static bool applied_equal(const xenvf_vf_config *a, const xenvf_vf_config *b)
{
    return xenvf_vf_config_equal_in(a, b, XENVF_SETTING_NIC) &&
           xenvf_ns_list_equal(&a->ns, &b->ns);
}

static void evaluate(agent *a, agent_pf *pf);

/* ---- retrying what a PF driver did not take --------------------------------
 * A VF whose setup failed (a setting the driver refused or did not keep:
 * igb refuses a VF rate while the PF's link is down) leaves its PF
 * degraded. Nothing in xenstore or sysfs may change when the cause goes
 * away (the PF's link comes up), so the agent tries again on a timer,
 * backing off while nothing gets better. */

static void retry_tick(void *opaque, int fd, short revents)
{
    agent *a = opaque;
    uint64_t expirations;

    if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        LOG(WARN, "retry timer: %s", strerror(errno));
    a->retry_pending = false;
    for (size_t i = 0; i < a->nr_pfs; i++) {
        agent_pf *pf = &a->pfs[i];

        if (pf->have_rec && pf->bound && pf->state == XENVF_PF_DEGRADED) {
            LOG(INFO, "pf %s: degraded: setting its VFs up again", pf->id);
            evaluate(a, pf);
        }
    }
}

/* After pf's evaluation: arm the retry when it is degraded and none is
 * pending (each retry that finds a PF still degraded waits twice as long,
 * up to AGENT_RETRY_MAX_S; events in between do not push it back); start
 * from AGENT_RETRY_MIN_S again once no PF is degraded. */
static void retry_arm(agent *a, agent_pf *pf)
{
    struct itimerspec its = {{0, 0}, {0, 0}};
    bool degraded = false;

    for (size_t i = 0; i < a->nr_pfs; i++)
        degraded |= a->pfs[i].state == XENVF_PF_DEGRADED;
    if (!degraded)
        a->retry_s = 0;
    if (pf->state != XENVF_PF_DEGRADED || a->retry_pending)
        return;
    if (a->retry_fd < 0) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

        if (fd < 0 || xenvfd_loop_add(fd, POLLIN, retry_tick, a)) {
            LOG(WARN,
                "retry timer: %s: a degraded PF is set up again only "
                "on events",
                fd < 0 ? strerror(errno) : "cannot watch it");
            if (fd >= 0)
                close(fd);
            return;
        }
        a->retry_fd = fd;
    }
    a->retry_s = !a->retry_s                           ? AGENT_RETRY_MIN_S
                 : a->retry_s >= AGENT_RETRY_MAX_S / 2 ? AGENT_RETRY_MAX_S
                                                       : a->retry_s * 2;
    its.it_value.tv_sec = (time_t)a->retry_s;
    if (timerfd_settime(a->retry_fd, 0, &its, NULL) < 0) {
        LOG(WARN, "retry timer: %s", strerror(errno));
        return;
    }
    a->retry_pending = true;
    LOG(WARN, "pf %s: degraded: trying again in %u s", pf->id, a->retry_s);
}

/* Decide the PF's state, setting up the VFs that need it. */
static void evaluate(agent *a, agent_pf *pf)
{
    char *drv = NULL, why[128];
    unsigned ok = 0, bad = 0;
    xenvf_err err;

    if (!pf->have_rec)
        return;
    xenvf_err_init(&err);
    pf->gone =
        xenvf_sysfs_dev_exists(a->cfg->sysfs_root, &pf->rec.bdf, NULL) != 0;
    if (pf->gone) {
        set_state(a, pf, XENVF_PF_FAILED, "the PF is gone from sysfs");
        return;
    }
    xenvf_sysfs_read_driver(a->cfg->sysfs_root, &pf->rec.bdf, &drv, NULL);
    pf->bound = drv != NULL;
    free(drv);
    if (!pf->bound) {
        if (pf->was_bound)
            set_state(a, pf, XENVF_PF_RESETTING, "PF driver unbound");
        else
            set_state(a, pf, XENVF_PF_PROBING, "waiting for the PF driver");
        for (size_t i = 0; i < pf->nr_vfs; i++)
            pf->ok[i] = false;
        return;
    }
    if (!pf->was_bound) {
        /* (re)loaded driver: it has forgotten every VF setting */
        pf->was_bound = true;
        pf->be = pick_backend(a, pf);
        mark_all(pf);
        if (pf->state_written && pf->state != XENVF_PF_PROBING)
            set_state(a, pf, XENVF_PF_PROBING, "PF driver bound");
    }
    if (size_vfs(pf, pf->rec.nr_vfs)) {
        LOG(ERROR, "out of memory");
        return;
    }
    for (size_t i = 0; i < pf->rec.num_vfs && i < pf->rec.nr_vfs; i++) {
        const xenvf_vf *vf = &pf->rec.vfs[i];

        if (pf->ok[i] && !pf->dirty[i] &&
            applied_equal(&pf->applied[i], &vf->config)) {
            ok++;
            continue;
        }
        pf->dirty[i] = false;
        if (pf->be->vf_setup(a, pf, vf, &err)) {
            LOG(ERROR, "pf %s: vf %zu: %s", pf->id, i, err.msg);
            pf->ok[i] = false;
            bad++;
        } else {
            pf->ok[i] = true;
            xenvf_vf_config_dispose(&pf->applied[i]);
            xenvf_vf_config_copy(&pf->applied[i], &vf->config, NULL);
            ok++;
        }
    }
    snprintf(why, sizeof(why), "%s backend, %u of %u VF(s) set up",
             pf->be->name, ok, pf->rec.num_vfs);
    set_state(a, pf, bad ? XENVF_PF_DEGRADED : XENVF_PF_READY, why);
    retry_arm(a, pf);
    if (pf->be == &agent_backend_net)
        agent_net_publish_stats(a, pf);
}

static int watch_pf(agent *a, agent_pf *pf, xenvf_err *err)
{
    char path[XENVF_XS_PATH_MAX], token[64];

    xenvf_xs_pf_path(path, pf->id, "%s", "");
    snprintf(token, sizeof(token), TOKEN_PREFIX "%s", pf->id);
    return xenvf_xs_watch(&a->xs, path, token, err);
}

static int add_pf(agent *a, const char *id, xenvf_err *err)
{
    agent_pf *n;
    int rc;

    if (find_pf(a, id))
        return 0;
    if (!(n = reallocarray(a->pfs, a->nr_pfs + 1, sizeof(*n))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    a->pfs = n;
    n = &a->pfs[a->nr_pfs];
    memset(n, 0, sizeof(*n));
    xenvf_pf_init(&n->rec);
    if (!(n->id = strdup(id)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    a->nr_pfs++;
    LOG(INFO, "agent: serving pf %s", id);
    /* the watch fires once at once: the first read happens there */
    if ((rc = watch_pf(a, n, err)))
        return rc;
    return 0;
}

static int xs_read_cb(void *ctx, const char *path, char **value_out,
                      xenvf_err *err)
{
    return xenvf_xs_read(&((agent *)ctx)->xs, path, value_out, err);
}

/* The record carries the host address; a driver domain's agent works on
 * the PF where pcifront put it (lib/pcifront.c). */
static int localize(agent *a, agent_pf *pf, xenvf_err *err)
{
    char host[XENVF_BDF_STR_MAX], here[XENVF_BDF_STR_MAX];
    xenvf_bdf local;
    int rc;

    if (a->domid == 0)
        return 0;
    rc = xenvf_pcifront_local_bdf(xs_read_cb, a, &pf->rec.bdf, &local, err);
    if (rc)
        xenvf_err_prepend(err, "pf %s: ", pf->id);
    if (rc || xenvf_bdf_equal(&local, &pf->rec.bdf))
        return rc;
    xenvf_bdf_format(&pf->rec.bdf, host);
    xenvf_bdf_format(&local, here);
    LOG(INFO, "pf %s: host address %s is %s in this domain", pf->id, host,
        here);
    pf->rec.bdf = local;
    return 0;
}

/* Re-read the whole record (first event, or after a removal). */
static void read_record(agent *a, agent_pf *pf)
{
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = xenvf_xs_read_pf(&a->xs, pf->id, &pf->rec, &err);
    if (rc == XENVF_ENOENT) {
        if (pf->have_rec)
            LOG(WARN, "pf %s: no longer published", pf->id);
        pf->have_rec = false;
        return;
    }
    if (!rc)
        rc = localize(a, pf, &err);
    if (rc) {
        LOG(ERROR, "%s", err.msg);
        return;
    }
    if (!pf->have_rec && a->dw_on)
        xenvfd_devwatch_add(&a->dw, &pf->rec.bdf, NULL);
    pf->have_rec = true;
    if (!pf->state_written) {
        /* after a restart, continue from what this agent said before */
        xenvf_pf_state st;
        if (!xenvf_xs_get_pf_state(&a->xs, pf->id, &st, NULL) &&
            st != XENVF_PF_UNKNOWN) {
            pf->state = st;
            pf->state_written = true;
        }
    }
    if (size_vfs(pf, pf->rec.nr_vfs) == 0)
        mark_all(pf);
}

static bool owned(agent *a, const char *id)
{
    char path[XENVF_XS_PATH_MAX], *v = NULL;
    uint32_t owner = 0;

    xenvf_xs_pf_path(path, id, "/owner");
    if (xenvf_xs_read(&a->xs, path, &v, NULL) || !v)
        return false;
    xenvf_xs_parse_domid(v, &owner, NULL);
    free(v);
    return owner == a->domid;
}

static void scan_all(agent *a)
{
    char **ids = NULL;
    unsigned nr = 0;
    xenvf_err err;

    xenvf_err_init(&err);
    if (xenvf_xs_list_pfs(&a->xs, &ids, &nr, &err)) {
        LOG(ERROR, "%s", err.msg);
        return;
    }
    for (unsigned i = 0; i < nr; i++) {
        if (owned(a, ids[i]) && add_pf(a, ids[i], &err))
            LOG(ERROR, "%s", err.msg);
        free(ids[i]);
    }
    free(ids);
}

static void on_pf_event(agent *a, agent_pf *pf, const char *path)
{
    char base[XENVF_XS_PATH_MAX];
    size_t n = (size_t)xenvf_xs_pf_path(base, pf->id, "%s", "");
    const char *rel = path + n;
    bool gone = false;
    unsigned long vf;
    xenvf_err err;
    unsigned old_num = pf->rec.num_vfs;

    xenvf_err_init(&err);
    if (strncmp(path, base, n) || (*rel && *rel != '/'))
        return;
    if (!pf->have_rec || !*rel) {
        read_record(a, pf);
    } else if (!strcmp(rel, "/state")) {
        return; /* ours */
    } else if (xenvf_xs_read_pf_node(&a->xs, path, &pf->rec, &gone, &err) ||
               (!strcmp(rel, "/bdf") && localize(a, pf, &err))) {
        LOG(ERROR, "%s", err.msg);
        return;
    } else if (gone && !strncmp(rel, "/vf/", 4) && !strchr(rel + 4, '/')) {
        return; /* a VF node removed: NumVFs says which exist */
    } else if (!strncmp(rel, "/vf/", 4) && sscanf(rel + 4, "%lu", &vf) == 1) {
        if (size_vfs(pf, pf->rec.nr_vfs) == 0 && vf < pf->nr_vfs)
            pf->dirty[vf] = true;
    } else if (!strcmp(rel, "/numvfs") && pf->rec.num_vfs != old_num) {
        LOG(INFO, "pf %s: NumVFs %u -> %u", pf->id, old_num, pf->rec.num_vfs);
        if (size_vfs(pf, pf->rec.nr_vfs) == 0)
            mark_all(pf); /* new VFs are new secondary controllers */
    }
    evaluate(a, pf);
}

static void xs_event(void *opaque, int fd, short revents)
{
    agent *a = opaque;
    xenvf_err err;

    xenvf_err_init(&err);
    for (;;) {
        char *path = NULL, *token = NULL;
        agent_pf *pf;

        if (xenvf_xs_next_event(&a->xs, &path, &token, &err)) {
            LOG(ERROR, "%s", err.msg);
            return;
        }
        if (!path)
            return;
        if (!strcmp(token, TOKEN_ALL)) {
            /* only /xenvf/pf itself or a PF appearing: VF churn is the
             * per-PF watches' business */
            const char *rel = path + strlen(XENVF_XS_PFS);
            if (!*rel || (rel[0] == '/' && !strchr(rel + 1, '/') &&
                          !find_pf(a, rel + 1)))
                scan_all(a);
        } else if (!strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) &&
                   (pf = find_pf(a, token + strlen(TOKEN_PREFIX)))) {
            on_pf_event(a, pf, path);
        }
        free(path);
        free(token);
    }
}

static void dev_event(void *opaque, const char *bdf, const char *action)
{
    agent *a = opaque;
    xenvf_bdf b;

    if (xenvf_bdf_parse(bdf, &b, NULL))
        return;
    for (size_t i = 0; i < a->nr_pfs; i++) {
        agent_pf *pf = &a->pfs[i];

        if (!pf->have_rec || !xenvf_bdf_equal(&pf->rec.bdf, &b))
            continue;
        if (!strcmp(action, "remove"))
            LOG(ERROR, "pf %s (%s) vanished", pf->id, bdf);
        else if (!strcmp(action, "bind") || !strcmp(action, "add"))
            pf->was_bound = false; /* set everything up again */
        if (!strcmp(action, "add") && a->dw_on)
            xenvfd_devwatch_add(&a->dw, &b, NULL);
        evaluate(a, pf);
    }
}

void agent_rescan(agent *a)
{
    LOG(INFO, "agent: rescan");
    if (a->all_pfs)
        scan_all(a);
    for (size_t i = 0; i < a->nr_pfs; i++) {
        read_record(a, &a->pfs[i]);
        a->pfs[i].was_bound = false;
        evaluate(a, &a->pfs[i]);
    }
}

/* Without --domid: the "domid" node of our own domain (relative path),
 * which the toolstack writes for every domain; absent (a bare dom0): 0. */
static int own_domid(agent *a, xenvf_err *err)
{
    char *v = NULL;
    int rc;

    a->domid = a->cfg->agent_domid;
    if (a->cfg->agent_domid_given)
        return 0;
    if ((rc = xenvf_xs_read(&a->xs, "domid", &v, err)))
        return rc;
    if (v && (rc = xenvf_xs_parse_domid(v, &a->domid, err)))
        xenvf_err_prepend(err, "our xenstore node 'domid' ('%s'): ", v);
    free(v);
    return rc;
}

int agent_start(agent *a, xenvf_err *err)
{
    int rc;

    if ((rc = xenvf_xs_open(&a->xs, err)))
        return rc;
    if ((rc = own_domid(a, err)))
        return rc;
    if ((rc = xenvfd_devwatch_init(&a->dw, a->cfg->sysfs_root, a->cfg->uevents,
                                   dev_event, a, err)))
        return rc;
    a->dw_on = true;
    if ((rc = xenvfd_loop_add(xenvf_xs_fileno(&a->xs), POLLIN, xs_event, a)))
        return rc;
    if (a->cfg->nr_agent_pfs) {
        for (size_t i = 0; i < a->cfg->nr_agent_pfs; i++)
            if ((rc = add_pf(a, a->cfg->agent_pfs[i], err)))
                return rc;
    } else {
        /* dom0 can list /xenvf/pf; a driver domain names its PFs (--pf) */
        a->all_pfs = true;
        if ((rc = xenvf_xs_watch(&a->xs, XENVF_XS_PFS, TOKEN_ALL, err))) {
            xenvf_err_prepend(err, "a driver domain must name its PFs "
                                   "(--pf): ");
            return rc;
        }
    }
    LOG(INFO, "pf-agent ready (domain %u, backend %s)", a->domid,
        a->cfg->agent_backend);
    return 0;
}
