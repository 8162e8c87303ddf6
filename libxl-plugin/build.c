/* SPDX-License-Identifier: LGPL-2.1-only */
/* The plugin's steps around libxl's create and unpause (see build.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/file.h>
#include <xenvf/xs.h>

#include "build.h"
#include "log.h"
#include "pcidev.h"
#include "reserve.h"

/* ---- step times ------------------------------------------------------------
 *
 * What each step of a build took, logged as one line when the build is done
 * (docs/plugin.md#performance; the QEMU tier's benchmark reads it):
 *   domain web1 (7): build steps in ms: check 0.4, resolve 1.2, reserve 3.1,
 *   libxl 2101.5, commit 2.0, guest-nodes 4.2, plan 0.3 (the plugin's own
 *   11.2)
 */
#define STEPS_MAX  12
#define STEP_LIBXL "libxl"

typedef struct steps {
    int64_t mark_us;
    size_t nr;
    const char *name[STEPS_MAX];
    int64_t us[STEPS_MAX];
} steps;

static void steps_start(steps *s)
{
    s->nr = 0;
    s->mark_us = xenvf_now_us();
}

/* The time since the last mark goes to step name (a repeated name adds). */
static void step_done(steps *s, const char *name)
{
    int64_t now = xenvf_now_us();
    size_t i = 0;

    while (i < s->nr && strcmp(s->name[i], name))
        i++;
    if (i == s->nr && s->nr < STEPS_MAX) {
        s->name[s->nr] = name;
        s->us[s->nr++] = 0;
    }
    if (i < s->nr)
        s->us[i] += now - s->mark_us;
    s->mark_us = now;
}

static void steps_log(const steps *s, const char *what, const char *name,
                      uint32_t domid)
{
    char line[512];
    size_t o = 0;
    int64_t own = 0;

    line[0] = '\0';
    for (size_t i = 0; i < s->nr && o < sizeof(line); i++) {
        o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s %.1f",
                              i ? ", " : "", s->name[i],
                              (double)s->us[i] / 1000.0);
        if (strcmp(s->name[i], STEP_LIBXL))
            own += s->us[i];
    }
    LOG(INFO, "domain %s (%u): %s steps in ms: %s (the plugin's own %.1f)",
        name ? name : "?", domid, what, line, (double)own / 1000.0);
}

void xlp_init(xlp *p, const xlp_ops *ops)
{
    memset(p, 0, sizeof(*p));
    p->ops = *ops;
    plugin_conf_init(&p->conf);
    vfcfg_init(&p->cfg);
    xenvf_err_init(&p->cfg_err);
    p->cancel_fd = -1;
}

static void dom_dispose(xlp_dom *d)
{
    for (size_t i = 0; i < d->nr; i++)
        free(d->pf_ids[i]);
    free(d->pf_ids);
    free(d->indexes);
    free(d->bdfs);
    free(d->name);
    memset(d, 0, sizeof(*d));
}

void xlp_dispose(xlp *p)
{
    for (size_t i = 0; i < p->nr_doms; i++)
        dom_dispose(&p->doms[i]);
    free(p->doms);
    vfcfg_dispose(&p->cfg);
    plugin_conf_dispose(&p->conf);
    p->doms = NULL;
    p->nr_doms = 0;
    p->have_cfg = false;
}

void xlp_capture(xlp *p, const XLU_Config *cfg, const char *source,
                 bool xl_reports_pci)
{
    xenvf_err_init(&p->cfg_err);
    p->cfg_rc = vfcfg_from_xlu(cfg, source, &p->cfg, &p->cfg_err);
    p->have_cfg = true;
    p->cfg_handle = cfg;
    if (!p->cfg_rc && p->cfg.nr && !xl_reports_pci)
        vfcfg_pci_defaults(cfg, &p->cfg);
}

void xlp_note_long(xlp *p, const XLU_Config *cfg, const char *key, long value)
{
    /* only the config whose vf= is kept, and only when it has one */
    if (cfg == p->cfg_handle && p->cfg.nr)
        vfcfg_note_pci_default(&p->cfg, key, value);
}

static xlp_dom *find_dom(const xlp *p, const char *name)
{
    for (size_t i = 0; name && i < p->nr_doms; i++)
        if (!strcmp(p->doms[i].name, name))
            return &p->doms[i];
    return NULL;
}

bool xlp_has_work(const xlp *p, const libxl_domain_config *d)
{
    if (p->have_cfg && (p->cfg_rc || p->cfg.nr))
        return true;
    return find_dom(p, d->c_info.name) != NULL;
}

static int load_conf(xlp *p, xenvf_err *err)
{
    int rc;

    if (p->conf_loaded)
        return 0;
    if ((rc = plugin_conf_load(&p->conf, p->conf_path, err)))
        return rc;
    p->conf_loaded = true;
    return 0;
}

/* Give back what domid held (holding nothing already is fine). */
static void release_vfs(xlp *p, uint32_t domid)
{
    xenvf_err e;

    xenvf_err_init(&e);
    if (resv_release_domid(&p->conf, domid, &e))
        LOG(WARN,
            "domain %u: %s (xenvfd releases them when it sees the "
            "domain die)",
            domid, e.msg);
}

/* Undo a build: nodes, plan, domain, VFs. Each step is tried even if an
 * earlier one failed; what could not be undone is logged. */
static void teardown(xlp *p, xenvf_xs *xs, uint32_t domid, const char *name)
{
    xenvf_err e;
    int lrc;

    xenvf_err_init(&e);
    if (xs->h && xenvf_xs_remove_guest(xs, domid, &e))
        LOG(WARN, "domain %u: %s", domid, e.msg);
    p->ops.plan_remove(p->ops.opaque, domid);
    if ((lrc = p->ops.destroy(p->ops.opaque, domid)))
        LOG(ERROR,
            "could not destroy domain %u (libxl rc %d): destroy it "
            "with xl destroy %u",
            domid, lrc, domid);
    release_vfs(p, domid);
    LOG(INFO, "destroyed domain %u (%s) and released its VFs", domid,
        name ? name : "?");
}

/* Forget what a domain of that name had, and remember what it has now. */
static int remember(xlp *p, const char *name, uint32_t domid, char *const *ids,
                    const resv *r)
{
    xlp_dom d = {0}, *grown, *old = find_dom(p, name);

    if (!(d.name = strdup(name)) ||
        !(d.pf_ids = calloc(r->nr ? r->nr : 1, sizeof(*d.pf_ids))) ||
        !(d.indexes = calloc(r->nr ? r->nr : 1, sizeof(*d.indexes))) ||
        !(d.bdfs = calloc(r->nr ? r->nr : 1, sizeof(*d.bdfs))))
        goto nomem;
    d.domid = domid;
    for (; d.nr < r->nr; d.nr++) {
        if (!(d.pf_ids[d.nr] = strdup(ids[d.nr])))
            goto nomem;
        d.indexes[d.nr] = (int)r->grants[d.nr].index;
        d.bdfs[d.nr] = r->grants[d.nr].bdf;
    }
    if (old) {
        dom_dispose(old);
        *old = d;
        return 0;
    }
    if (!(grown = realloc(p->doms, sizeof(*grown) * (p->nr_doms + 1))))
        goto nomem;
    p->doms = grown;
    p->doms[p->nr_doms++] = d;
    return 0;
nomem:
    dom_dispose(&d);
    return XENVF_ENOMEM;
}

static void forget(xlp *p, const char *name)
{
    xlp_dom *d = find_dom(p, name);

    if (!d)
        return;
    dom_dispose(d);
    *d = p->doms[--p->nr_doms];
}

/*
 * Reserve, and on a reboot wait for the VFs the domain had: the old domain
 * has just died and xenvfd may still be resetting them. Their xenstore
 * nodes change when it is done (a watch, no polling); after reboot_wait,
 * entries without index= take any free VF instead.
 */
static int reserve_vfs(xlp *p, xenvf_xs *xs, resv *r, const char *name,
                       const vfcfg *cfg, char *const *ids, const int *pins,
                       const xlp_dom *prev, xenvf_err *err)
{
    const int64_t deadline = xenvf_now_ms() + p->conf.reboot_wait_ms;
    char path[XENVF_XS_PATH_MAX], token[64];
    size_t watched = 0;
    bool pinned = false;
    int rc;

    rc = resv_reserve(r, &p->conf, name, cfg, ids, pins, err);
    if (rc != XENVF_EBUSY || !prev)
        return rc;
    LOG(INFO, "%s; waiting up to %.3f s for the VFs domain %s had", err->msg,
        (double)p->conf.reboot_wait_ms / 1000.0, name);
    for (; watched < prev->nr; watched++) {
        xenvf_xs_pf_path(path, prev->pf_ids[watched], "/vf/%d",
                         prev->indexes[watched]);
        snprintf(token, sizeof(token), "xenvf-reboot-%zu", watched);
        if ((rc = xenvf_xs_watch(xs, path, token, err)))
            goto out;
    }
    rc = XENVF_EBUSY;
    while (rc == XENVF_EBUSY) {
        int64_t left = deadline - xenvf_now_ms();
        char *ev_path = NULL, *ev_token = NULL;
        xenvf_err e;

        xenvf_err_init(&e);
        if (left <= 0)
            break;
        rc = xenvf_xs_wait_event(xs, (int)left, &ev_path, &ev_token, &e);
        free(ev_path);
        free(ev_token);
        if (rc == XENVF_ETIMEDOUT) {
            rc = XENVF_EBUSY;
            break;
        }
        if (rc) {
            *err = e;
            goto out;
        }
        rc = resv_reserve(r, &p->conf, name, cfg, ids, pins, err);
    }
    for (size_t i = 0; pins && i < cfg->nr; i++)
        pinned |= pins[i] >= 0;
    if (rc == XENVF_EBUSY && pinned) {
        LOG(INFO, "the VFs domain %s had are still busy: taking free ones",
            name);
        rc = resv_reserve(r, &p->conf, name, cfg, ids, NULL, err);
    }
out:
    for (size_t i = 0; i < watched; i++) {
        xenvf_xs_pf_path(path, prev->pf_ids[i], "/vf/%d", prev->indexes[i]);
        snprintf(token, sizeof(token), "xenvf-reboot-%zu", i);
        xenvf_xs_unwatch(xs, path, token, NULL);
    }
    return rc;
}

/* One VF as its guest learns it: vf/<local>, PF pf_id's VF vf_index at
 * bdf, with config (g init'ed; dispose it either way). */
static int guest_vf_set(xenvf_guest_vf *g, unsigned local, const char *pf_id,
                        unsigned vf_index, const xenvf_bdf *bdf,
                        const xenvf_vf_config *config, xenvf_err *err)
{
    g->local_index = local;
    g->vf_index = vf_index;
    g->bdf = *bdf;
    if (!(g->pf_id = strdup(pf_id)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    return xenvf_vf_config_copy(&g->config, config, err);
}

/* What the guest's helper and firmware read: one node set per VF, all in
 * one transaction. */
static int publish_guest(xenvf_xs *xs, uint32_t domid, char *const *ids,
                         const resv *r, xenvf_err *err)
{
    xenvf_guest_vf *g = calloc(r->nr ? r->nr : 1, sizeof(*g));
    int rc = 0;

    if (!g)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->nr; i++)
        xenvf_guest_vf_init(&g[i]);
    /* the effective settings, as xenvfd granted them (the map's with the
     * entry's over them), not the entry alone */
    for (size_t i = 0; i < r->nr && !rc; i++)
        rc = guest_vf_set(&g[i], (unsigned)i, ids[i], r->grants[i].index,
                          &r->grants[i].bdf, &r->grants[i].config, err);
    if (!rc)
        rc = xenvf_xs_publish_guest(xs, domid, g, r->nr, err);
    for (size_t i = 0; i < r->nr; i++)
        xenvf_guest_vf_dispose(&g[i]);
    free(g);
    return rc;
}

static int store_plan(xlp *p, const char *name, uint32_t domid,
                      char *const *ids, xenvf_err *err)
{
    gate_plan plan;
    char *text = NULL;
    int rc, lrc;

    gate_plan_init(&plan);
    plan.domid = domid;
    if (!(plan.domain = strdup(name))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->cfg.nr; i++) {
        int t = p->cfg.entries[i].timeout_ms;

        if ((rc = gate_plan_add(&plan, ids[i],
                                t >= 0 ? t : p->conf.gate_timeout_ms, err)))
            goto out;
    }
    if ((rc = gate_plan_encode(&plan, &text, err)))
        goto out;
    if ((lrc = p->ops.plan_store(p->ops.opaque, domid, text)))
        rc = xenvf_err_set(err, XENVF_EIO,
                           "could not store the gate plan of domain %u "
                           "(libxl rc %d)",
                           domid, lrc);
out:
    free(text);
    gate_plan_dispose(&plan);
    return rc;
}

static void list_pfs(char *const *ids, size_t nr, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < nr && o + 40 < len; i++) {
        bool dup = false;

        for (size_t j = 0; j < i; j++)
            dup |= !strcmp(ids[i], ids[j]);
        if (!dup)
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
                                  ids[i]);
    }
}

/* ---- PCI devices libxl is given directly -------------------------------- */

/*
 * The config's PCI devices that are VFs xenvf manages, as vf= entries
 * naming each VF ("pf=nvme0,index=1", pinned) or only its PF (any free
 * VF); *at_out[k] is entry k's place in d->pcidevs; source names the
 * config in messages.
 */
static int managed_pcidevs(xenvf_xs *xs, const libxl_domain_config *d,
                           bool pinned, const char *source, vfcfg *out,
                           int **at_out, xenvf_err *err)
{
    int *at = calloc(d->num_pcidevs ? (size_t)d->num_pcidevs : 1, sizeof(*at));
    int rc = 0;

    vfcfg_init(out);
    if (!at ||
        !(out->entries = calloc(d->num_pcidevs ? (size_t)d->num_pcidevs : 1,
                                sizeof(*out->entries))) ||
        !(out->source = strdup(source))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (int k = 0; k < d->num_pcidevs && !rc; k++) {
        char text[XENVF_ID_MAX + 32];
        xenvf_bdf bdf;
        xenvf_pf pf;
        size_t i;

        xenvf_pf_init(&pf);
        pcidev_bdf(&d->pcidevs[k], &bdf);
        rc = resv_find_vf(xs, &bdf, &pf, &i, err);
        if (rc == XENVF_ENOENT) {
            rc = 0;
            continue;
        }
        if (!rc) {
            if (pinned)
                snprintf(text, sizeof(text), "pf=%s,index=%zu", pf.id, i);
            else
                snprintf(text, sizeof(text), "pf=%s", pf.id);
            vfcfg_entry_init(&out->entries[out->nr]);
            rc = vfcfg_parse_entry(text, (unsigned)out->nr,
                                   &out->entries[out->nr], err);
        }
        if (!rc)
            at[out->nr++] = k;
        xenvf_pf_dispose(&pf);
    }
out:
    if (rc) {
        vfcfg_dispose(out);
        free(at);
        at = NULL;
    }
    *at_out = at;
    return rc;
}

/*
 * bdf goes to domain domid (XLP_NO_DOMID: the one a create builds) through
 * libxl itself: a pci= line, xl pci-attach. libxl resets a device before
 * it assigns it, so a VF xenvf manages must not be in another live
 * domain's hands, nor reserved for a build in progress. Anything else is
 * not ours to say; xenvfd counts the VF as the domain's once libxl's
 * backend lists it.
 */
static int check_direct_vf(xenvf_xs *xs, uint32_t domid, const char *what,
                           const xenvf_bdf *bdf, xenvf_err *err)
{
    char text[XENVF_BDF_STR_MAX], target[32];
    const xenvf_vf *v;
    bool alive = true;
    xenvf_pf pf;
    size_t i;
    int rc;

    xenvf_pf_init(&pf);
    xenvf_bdf_format(bdf, text);
    rc = resv_find_vf(xs, bdf, &pf, &i, err);
    if (rc == XENVF_ENOENT) {
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    v = &pf.vfs[i];
    if (domid == XLP_NO_DOMID)
        snprintf(target, sizeof(target), "the new domain");
    else
        snprintf(target, sizeof(target), "domain %u", domid);
    if (v->domid != XENVF_DOMID_NONE && v->domid != domid &&
        xenvf_xs_domain_introduced(xs, v->domid, &alive, NULL))
        alive = true; /* cannot tell: as if alive */
    if (v->state == XENVF_VF_FREE ||
        (v->domid != XENVF_DOMID_NONE && (v->domid == domid || !alive))) {
        LOG(INFO, "%s: %s is PF %s VF %zu (%s): xenvfd counts it as %s's", what,
            text, pf.id, i, xenvf_vf_state_name(v->state), target);
        goto out;
    }
    if (v->domid != XENVF_DOMID_NONE)
        rc = xenvf_err_set(err, XENVF_EBUSY,
                           "%s: %s is PF %s VF %zu, held by domain %u (%s): "
                           "not giving it to %s (libxl would reset it under "
                           "its holder)",
                           what, text, pf.id, i, v->domid,
                           xenvf_vf_state_name(v->state), target);
    else
        rc = xenvf_err_set(err, XENVF_EBUSY,
                           "%s: %s is PF %s VF %zu, which is %s: not giving "
                           "it to %s (only a free VF, or one the domain "
                           "holds, can be)",
                           what, text, pf.id, i, xenvf_vf_state_name(v->state),
                           target);
out:
    xenvf_pf_dispose(&pf);
    return rc;
}

/* The config's own PCI devices (pci=; on a reboot also the VFs the plugin
 * added last time, whose holder is the dead domain), on the build's own
 * xenstore connection (opened here if it is not yet). */
static int check_config_pcidevs(xenvf_xs *xs, const libxl_domain_config *d,
                                xenvf_err *err)
{
    int rc = 0;

    if (!d->num_pcidevs)
        return 0;
    if (!xs->h)
        rc = xenvf_xs_open(xs, err);
    for (int k = 0; k < d->num_pcidevs && !rc; k++) {
        xenvf_bdf bdf;

        pcidev_bdf(&d->pcidevs[k], &bdf);
        rc = check_direct_vf(xs, XLP_NO_DOMID, "pci=", &bdf, err);
    }
    return rc;
}

/*
 * The config's pci= devices that are VFs xenvf manages go through xenvfd
 * before libxl assigns them, as vf= ones do: reserved for the domain by
 * name, pinned to the VF named (xenvfd labels it for the guest at the
 * reservation, before the assignment FLASK checks, and its books name
 * the holder at once), committed to the domid once built. Each was
 * checked by check_config_pcidevs: free, or its holder dead (a reboot:
 * xenvfd may still be resetting it, so a busy VF is waited for as vf=
 * waits for the VFs a rebooting domain had). No managed VF: xenvfd is
 * not asked and r->nr is 0.
 */
static int reserve_config_pcidevs(xlp *p, xenvf_xs *xs, resv *r,
                                  const char *name,
                                  const libxl_domain_config *d, xenvf_err *err)
{
    xlp_dom busy = {0};
    char **ids = NULL;
    int *at = NULL;
    vfcfg cfg;
    int rc;

    vfcfg_init(&cfg);
    if (!d->num_pcidevs)
        return 0;
    if (!xs->h && (rc = xenvf_xs_open(xs, err)))
        goto out;
    if ((rc = managed_pcidevs(xs, d, true, "pci=", &cfg, &at, err)) || !cfg.nr)
        goto out;
    if (!name) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "the domain has no name");
        goto out;
    }
    if ((rc = load_conf(p, err)) || (rc = resv_resolve(xs, &cfg, &ids, err)))
        goto out;
    if (!(busy.indexes = calloc(cfg.nr, sizeof(*busy.indexes)))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfg.nr; i++)
        busy.indexes[i] = cfg.entries[i].index;
    busy.pf_ids = ids;
    busy.nr = cfg.nr;
    LOG(INFO, "reserving %zu VF%s of pci= for domain %s from xenvfd", cfg.nr,
        cfg.nr > 1 ? "s" : "", name);
    rc = reserve_vfs(p, xs, r, name, &cfg, ids, NULL, &busy, err);
    for (size_t i = 0; !rc && i < r->nr; i++) {
        char text[XENVF_BDF_STR_MAX];

        xenvf_bdf_format(&r->grants[i].bdf, text);
        LOG(INFO, "pci=: %s is PF %s VF %u, reserved for domain %s", text,
            r->grants[i].pf, r->grants[i].index, name);
    }
out:
    free(busy.indexes);
    if (ids)
        resv_free_ids(ids, cfg.nr);
    vfcfg_dispose(&cfg);
    free(at);
    return rc;
}

/* A vf= entry naming, with index=, a VF that pci= lists too: one VF
 * cannot be given twice. */
static int vf_also_in_pci(const xlp *p, char *const *ids, const resv *direct,
                          xenvf_err *err)
{
    for (size_t i = 0; i < p->cfg.nr; i++) {
        const vfcfg_entry *e = &p->cfg.entries[i];

        for (size_t k = 0; e->index >= 0 && k < direct->nr; k++) {
            char label[512], text[XENVF_BDF_STR_MAX];

            if (strcmp(direct->grants[k].pf, ids[i]) ||
                direct->grants[k].index != (unsigned)e->index)
                continue;
            vfcfg_entry_label(e, label, sizeof(label));
            xenvf_bdf_format(&direct->grants[k].bdf, text);
            return xenvf_err_set(err, XENVF_ECONFLICT,
                                 "%s: %s: PF %s VF %d is %s, which pci= "
                                 "lists too: name it once",
                                 p->cfg.source, label, ids[i], e->index, text);
        }
    }
    return 0;
}

/* The pci= VFs direct holds are domid's from now on. */
static int commit_direct(xlp *p, resv *direct, uint32_t domid, xenvf_err *err)
{
    int rc;

    if (!direct->nr)
        return 0;
    if (!(rc = resv_commit_send(direct, &p->conf, domid, err)))
        rc = resv_commit_wait(direct, &p->conf, err);
    return rc;
}

/* libxl builds a domain with no vf= (its pci= VFs, if any, reserved in
 * direct): the VFs are committed to it. *created: there is a domain to
 * tear down if this failed; libxl's own failure is *libxl_rc alone. */
static int create_direct(xlp *p, libxl_domain_config *d, resv *direct,
                         uint32_t *domid, int *libxl_rc, bool *created,
                         xenvf_err *err)
{
    *libxl_rc = p->ops.create(p->ops.opaque, d, domid);
    if (*libxl_rc) {
        *domid = XLP_NO_DOMID;
        return 0; /* the reservation goes back when its line closes */
    }
    *created = true;
    return commit_direct(p, direct, *domid, err);
}

/* libxl has built the domain with its VFs: commit them to the domid,
 * publish the guest's nodes, store the gate plan, remember it for a
 * reboot. The caller tears the domain down if this fails. */
static int adopt_built(xlp *p, xenvf_xs *xs, resv *r, const char *name,
                       uint32_t domid, char *const *ids, steps *st,
                       xenvf_err *err)
{
    char pfs[256];
    int rc;

    /* xenvfd records the commit (its state file, then xenstore) while the
     * guest's nodes and the plan are written: the guest stays paused until
     * both are done, and a failed commit tears it all down */
    if ((rc = resv_commit_send(r, &p->conf, domid, err)))
        return rc;
    step_done(st, "commit");
    if (!(rc = publish_guest(xs, domid, ids, r, err))) {
        step_done(st, "guest-nodes");
        rc = store_plan(p, name, domid, ids, err);
        step_done(st, "plan");
    }
    if (rc) {
        /* the answer first, so that the teardown's release comes after
         * the commit in xenvfd's eyes */
        resv_commit_wait(r, &p->conf, NULL);
        return rc;
    }
    if ((rc = resv_commit_wait(r, &p->conf, err)))
        return rc;
    step_done(st, "commit");
    if ((rc = remember(p, name, domid, ids, r)))
        return xenvf_err_set(err, rc, "out of memory");
    list_pfs(ids, p->cfg.nr, pfs, sizeof(pfs));
    LOG(INFO,
        "domain %s is domain %u with %zu VF%s, paused until PF %s %s "
        "ready",
        name, domid, r->nr, r->nr > 1 ? "s" : "", pfs,
        strchr(pfs, ',') ? "are" : "is");
    return 0;
}

/* libxl builds the domain (a create, or a restore) with the VFs r holds,
 * which then become the domain's. *created: there is a domain to tear
 * down if this failed. */
static int build_and_adopt(xlp *p, xenvf_xs *xs, resv *r, const char *name,
                           char *const *ids, libxl_domain_config *d,
                           bool restore, uint32_t *domid, int *libxl_rc,
                           bool *created, steps *st, xenvf_err *err)
{
    int rc;

    *libxl_rc = restore ? p->ops.restore(p->ops.opaque, d, domid)
                        : p->ops.create(p->ops.opaque, d, domid);
    step_done(st, STEP_LIBXL);
    if (*libxl_rc) {
        *domid = XLP_NO_DOMID;
        return xenvf_err_set(err, XENVF_EIO,
                             "libxl could not %s domain %s (rc %d); its VFs "
                             "go back to xenvfd",
                             restore ? "restore" : "build", name, *libxl_rc);
    }
    *created = true;
    if ((rc = adopt_built(p, xs, r, name, *domid, ids, st, err)))
        return rc;
    steps_log(st, restore ? "restore" : "build", name, *domid);
    return 0;
}

int xlp_create(xlp *p, libxl_domain_config *d, uint32_t *domid, int *libxl_rc,
               xenvf_err *err)
{
    const char *name = d->c_info.name;
    char **ids = NULL, **labels = NULL, text[XENVF_BDF_STR_MAX];
    int *pins = NULL, old_pcidevs = -1;
    xenvf_bdf *bdfs = NULL;
    bool created = false;
    pcidev_defaults defs;
    const xlp_dom *prev;
    resv r, direct;
    xenvf_xs xs;
    steps st;
    int rc;

    *libxl_rc = 0;
    xenvf_xs_init(&xs);
    resv_init(&r);
    resv_init(&direct);
    steps_start(&st);
    *domid = XLP_NO_DOMID;
    if (!xlp_has_work(p, d)) {
        if (!(rc = check_config_pcidevs(&xs, d, err)) &&
            !(rc = reserve_config_pcidevs(p, &xs, &direct, name, d, err)))
            rc = create_direct(p, d, &direct, domid, libxl_rc, &created, err);
        goto out;
    }
    if (!name) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "the domain has no name");
        goto out;
    }
    if ((rc = load_conf(p, err)))
        goto out;
    prev = find_dom(p, name);
    if (prev) {
        xenvf_err e;

        xenvf_err_init(&e);
        /* libxl hands back the config it stored, with last time's VFs */
        pcidev_strip(d, prev->bdfs, prev->nr);
        LOG(INFO,
            "domain %s reboots (it was domain %u): applying its VFs "
            "again",
            name, prev->domid);
        if (resv_release_domid(&p->conf, prev->domid, &e))
            LOG(WARN, "%s", e.msg);
    }
    /* pci= (the VFs added last time are stripped: they are the plugin's) */
    if ((rc = check_config_pcidevs(&xs, d, err)))
        goto out;
    step_done(&st, "check");
    if (p->cfg_rc) {
        if (err)
            *err = p->cfg_err;
        rc = p->cfg_rc;
        goto out;
    }
    if ((rc = reserve_config_pcidevs(p, &xs, &direct, name, d, err)))
        goto out;
    if (direct.nr)
        step_done(&st, "reserve-pci");
    if (!p->cfg.nr) { /* vf= gone (xl config-update) */
        forget(p, name);
        rc = create_direct(p, d, &direct, domid, libxl_rc, &created, err);
        goto out;
    }
    if ((!xs.h && (rc = xenvf_xs_open(&xs, err))) ||
        (rc = resv_resolve(&xs, &p->cfg, &ids, err)) ||
        (rc = vf_also_in_pci(p, ids, &direct, err)))
        goto out;
    step_done(&st, "resolve");
    pins = calloc(p->cfg.nr, sizeof(*pins));
    bdfs = calloc(p->cfg.nr, sizeof(*bdfs));
    labels = calloc(p->cfg.nr, sizeof(*labels));
    if (!pins || !bdfs || !labels) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->cfg.nr; i++) {
        /* the VF it had, for an entry that lets xenvfd choose */
        pins[i] = -1;
        if (prev && i < prev->nr && p->cfg.entries[i].index < 0 &&
            !strcmp(prev->pf_ids[i], ids[i]))
            pins[i] = prev->indexes[i];
    }
    LOG(INFO, "reserving %zu VF%s for domain %s from xenvfd", p->cfg.nr,
        p->cfg.nr > 1 ? "s" : "", name);
    if ((rc = reserve_vfs(p, &xs, &r, name, &p->cfg, ids, pins, prev, err)))
        goto out;
    step_done(&st, "reserve");
    for (size_t i = 0; i < r.nr; i++) {
        bdfs[i] = r.grants[i].bdf;
        xenvf_bdf_format(&bdfs[i], text);
        if (asprintf(&labels[i], "vf[%zu]", i) < 0) {
            labels[i] = NULL;
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        LOG(INFO, "vf[%zu]: PF %s VF %u at %s", i, r.grants[i].pf,
            r.grants[i].index, text);
    }
    defs = (pcidev_defaults){
        .msitranslate = p->cfg.pci_msitranslate,
        .power_mgmt = p->cfg.pci_power_mgmt,
        .permissive = p->cfg.pci_permissive,
        .seize = p->cfg.pci_seize,
    };
    old_pcidevs = d->num_pcidevs;
    if ((rc = pcidev_add(d, bdfs, r.nr, (const char *const *)labels, &defs,
                         err))) {
        old_pcidevs = -1; /* pcidev_add left d as it was */
        xenvf_err_prepend(err, "%s: ", p->cfg.source);
        goto out;
    }

    step_done(&st, "reserve");
    rc = build_and_adopt(p, &xs, &r, name, ids, d, false, domid, libxl_rc,
                         &created, &st, err);
    if (!rc)
        rc = commit_direct(p, &direct, *domid, err);
out:
    if (rc && created)
        xenvf_err_prepend(err, "domain %s (%u): ", name, *domid);
    if (rc) /* the cause first, then what was undone */
        LOG(ERROR, "%s", err->msg);
    if (rc && created) {
        teardown(p, &xs, *domid, name);
        *domid = XLP_NO_DOMID;
    }
    if (rc && old_pcidevs >= 0)
        pcidev_truncate(d, old_pcidevs);
    resv_dispose(&r); /* uncommitted VFs go back when the line closes */
    resv_dispose(&direct);
    xenvf_xs_dispose(&xs);
    resv_free_ids(ids, p->cfg.nr);
    for (size_t i = 0; labels && i < p->cfg.nr; i++)
        free(labels[i]);
    free(labels);
    free(pins);
    free(bdfs);
    return rc;
}

/* ---- restore ------------------------------------------------------------- */

/* xl migrate-receive builds the incoming domain as "<name>--incoming" and
 * renames it once it runs (xl_migrate.c): the VFs are the guest's. */
#define XL_INCOMING_SUFFIX "--incoming"
#define SAVED_CONFIG       "the saved domain config"

static char *guest_name(const char *name)
{
    size_t n = strlen(name), s = strlen(XL_INCOMING_SUFFIX);

    if (n > s && !strcmp(name + n - s, XL_INCOMING_SUFFIX))
        return strndup(name, n - s);
    return strdup(name);
}

/* The plugin's vf= for this build is the saved config's managed VFs. */
static void take_cfg(xlp *p, vfcfg *cfg)
{
    vfcfg_dispose(&p->cfg);
    p->cfg = *cfg;
    vfcfg_init(cfg);
    p->have_cfg = true;
    p->cfg_rc = 0;
    p->cfg_handle = NULL;
}

int xlp_restore(xlp *p, libxl_domain_config *d, uint32_t *domid, int *libxl_rc,
                xenvf_err *err)
{
    char **ids = NULL, *name = NULL, text[XENVF_BDF_STR_MAX];
    bool created = false, incoming;
    vfcfg cfg;
    int *at = NULL;
    xenvf_xs xs;
    steps st;
    resv r;
    int rc;

    *libxl_rc = 0;
    *domid = XLP_NO_DOMID;
    steps_start(&st);
    xenvf_xs_init(&xs);
    resv_init(&r);
    vfcfg_init(&cfg);
    if (!d->num_pcidevs) {
        *libxl_rc = p->ops.restore(p->ops.opaque, d, domid);
        return 0;
    }
    if (!d->c_info.name || !(name = guest_name(d->c_info.name))) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "the domain has no name");
        goto out;
    }
    incoming = strcmp(name, d->c_info.name) != 0;
    if ((rc = load_conf(p, err)) || (rc = xenvf_xs_open(&xs, err)) ||
        (rc = managed_pcidevs(&xs, d, true, SAVED_CONFIG, &cfg, &at, err)))
        goto out;
    if (!cfg.nr) { /* no VF of ours */
        forget(p, name);
        *libxl_rc = p->ops.restore(p->ops.opaque, d, domid);
        goto out;
    }
    if (p->have_cfg && p->cfg.nr)
        LOG(WARN,
            "%s: vf= is not applied on restore: the saved domain's "
            "VFs are",
            p->cfg.source ? p->cfg.source : "config");
    take_cfg(p, &cfg);
    if ((rc = resv_resolve(&xs, &p->cfg, &ids, err)))
        goto out;
    step_done(&st, "resolve");
    LOG(INFO, "restoring domain %s: reserving the %zu VF%s it had from xenvfd",
        name, p->cfg.nr, p->cfg.nr > 1 ? "s" : "");
    rc = resv_reserve(&r, &p->conf, name, &p->cfg, ids, NULL, err);
    if (rc == XENVF_EBUSY && incoming) {
        /* the source of the migration still holds them: other VFs of
         * the same PFs, put in place of the saved ones */
        LOG(INFO, "%s; the incoming domain takes other VFs of the same PF",
            err->msg);
        resv_free_ids(ids, p->cfg.nr);
        ids = NULL;
        free(at);
        if ((rc = managed_pcidevs(&xs, d, false, SAVED_CONFIG, &cfg, &at, err)))
            goto out;
        take_cfg(p, &cfg);
        if ((rc = resv_resolve(&xs, &p->cfg, &ids, err)))
            goto out;
        rc = resv_reserve(&r, &p->conf, name, &p->cfg, ids, NULL, err);
    }
    if (rc) {
        xenvf_err_prepend(err, "cannot restore domain %s: ", name);
        goto out;
    }
    for (size_t k = 0; k < r.nr; k++) {
        libxl_device_pci *pci = &d->pcidevs[at[k]];

        xenvf_bdf_format(&r.grants[k].bdf, text);
        LOG(INFO, "PF %s VF %u at %s", r.grants[k].pf, r.grants[k].index, text);
        pci->domain = r.grants[k].bdf.seg;
        pci->bus = r.grants[k].bdf.bus;
        pci->dev = r.grants[k].bdf.dev;
        pci->func = r.grants[k].bdf.func;
    }
    step_done(&st, "reserve");
    rc = build_and_adopt(p, &xs, &r, name, ids, d, true, domid, libxl_rc,
                         &created, &st, err);
out:
    if (rc && created)
        xenvf_err_prepend(err, "domain %s (%u): ", name, *domid);
    if (rc)
        LOG(ERROR, "%s", err->msg);
    if (rc && created) {
        teardown(p, &xs, *domid, name);
        *domid = XLP_NO_DOMID;
    }
    resv_dispose(&r);
    xenvf_xs_dispose(&xs);
    if (ids)
        resv_free_ids(ids, p->cfg.nr);
    vfcfg_dispose(&cfg);
    free(at);
    free(name);
    return rc;
}

/* ---- unpause --------------------------------------------------------------
 */

struct unpause_ctx {
    xlp *p;
    xenvf_xs *xs;
    steps *st;
    int libxl_rc;
};

static bool gate_domain_alive(void *opaque, uint32_t domid)
{
    struct unpause_ctx *u = opaque;
    bool alive = true;
    xenvf_err e;

    xenvf_err_init(&e);
    if (xenvf_xs_domain_introduced(u->xs, domid, &alive, &e))
        LOG(WARN, "domain %u: %s (assumed alive)", domid, e.msg);
    return alive;
}

static void gate_waiting(void *opaque, const gate_plan *gp)
{
    struct unpause_ctx *u = opaque;

    if (u->p->ops.gate_waiting)
        u->p->ops.gate_waiting(u->p->ops.opaque, gp);
}

static int gate_ready(void *opaque, const gate_plan *gp, size_t last,
                      xenvf_err *err)
{
    struct unpause_ctx *u = opaque;

    if (gp->nr > 1)
        LOG(INFO,
            "PF %s ready after %.3f s (all %zu PFs are), unpausing "
            "domain %u",
            gp->pfs[last].pf_id, (double)gp->elapsed_ms / 1000.0, gp->nr,
            gp->domid);
    else
        LOG(INFO, "PF %s ready after %.3f s, unpausing domain %u",
            gp->pfs[last].pf_id, (double)gp->elapsed_ms / 1000.0, gp->domid);
    step_done(u->st, "gate");
    u->libxl_rc = u->p->ops.unpause(u->p->ops.opaque, gp->domid);
    step_done(u->st, STEP_LIBXL);
    if (u->libxl_rc)
        return xenvf_err_set(err, XENVF_EIO,
                             "libxl could not unpause domain %u (rc %d)",
                             gp->domid, u->libxl_rc);
    return 0;
}

/* How the wait ended, for its counters. */
static xenvf_gate_result gate_result(const gate_plan *gp, int rc, int libxl_rc)
{
    if (!rc)
        return XENVF_GATE_READY;
    if (libxl_rc)
        return XENVF_GATE_ERROR;
    switch (rc) {
    case XENVF_ETIMEDOUT:
        return XENVF_GATE_TIMEOUT;
    case XENVF_ENOENT:
        return XENVF_GATE_DESTROYED;
    case XENVF_EIO: /* a PF failed, or the wait was interrupted */
        return gp->pfs[gp->culprit].state == XENVF_PF_FAILED
                   ? XENVF_GATE_FAILED
                   : XENVF_GATE_CANCELLED;
    default:
        return XENVF_GATE_ERROR;
    }
}

/*
 * The wait counted for xenvf metrics (/xenvf/stats/gate, xs.h): once on
 * each PF of the plan, with the whole wait's outcome and duration. A
 * count that cannot be written is a warning: it never changes what
 * happens to the domain.
 */
static void count_gate_wait(xenvf_xs *xs, const gate_plan *gp, int rc,
                            int libxl_rc)
{
    xenvf_gate_result r = gate_result(gp, rc, libxl_rc);
    xenvf_err e;

    xenvf_err_init(&e);
    for (size_t i = 0; i < gp->nr; i++)
        if (xenvf_xs_count_gate_wait(xs, gp->pfs[i].pf_id, r, gp->elapsed_ms,
                                     &e))
            LOG(WARN, "domain %u: %s", gp->domid, e.msg);
}

int xlp_unpause(xlp *p, uint32_t domid, int *libxl_rc, xenvf_err *err)
{
    xenvf_xs xs;
    steps st;
    struct unpause_ctx u = {.p = p, .xs = &xs, .st = &st};
    const gate_hooks hooks = {
        .waiting = gate_waiting,
        .ready = gate_ready,
        .domain_alive = gate_domain_alive,
        .opaque = &u,
        .leave_watches = true, /* xs is this wait's own connection */
    };
    char *text = NULL;
    bool logged = false;
    gate_plan plan;
    int rc, lrc;

    *libxl_rc = 0;
    gate_plan_init(&plan);
    xenvf_xs_init(&xs);
    steps_start(&st);
    if ((lrc = p->ops.plan_load(p->ops.opaque, domid, &text))) {
        /* fail closed: a VF domain must not run past its gate */
        rc = xenvf_err_set(err, XENVF_EIO,
                           "cannot read the gate plan of domain %u (libxl "
                           "rc %d): not unpausing it",
                           domid, lrc);
        goto out;
    }
    if (!text) { /* not a domain with VFs, or its gate is passed */
        *libxl_rc = p->ops.unpause(p->ops.opaque, domid);
        rc = 0;
        goto out;
    }
    if ((rc = gate_plan_decode(text, strlen(text), &plan, err)) ||
        (plan.domid != domid &&
         (rc = xenvf_err_set(err, XENVF_EINVAL, "the plan is for domain %u",
                             plan.domid)))) {
        xenvf_err_prepend(err, "domain %u: not unpausing it: ", domid);
        goto out;
    }
    if ((rc = load_conf(p, err)) || (rc = xenvf_xs_open(&xs, err)))
        goto out;
    step_done(&st, "plan");
    if (p->ops.wait_begin)
        p->ops.wait_begin(p->ops.opaque);
    rc = gate_wait(&xs, &plan, p->cancel_fd, &hooks, err);
    if (p->ops.wait_end)
        p->ops.wait_end(p->ops.opaque);
    *libxl_rc = u.libxl_rc;
    count_gate_wait(&xs, &plan, rc, u.libxl_rc);
    step_done(&st, "count");
    if (!rc) {
        p->ops.plan_remove(p->ops.opaque, domid); /* the gate is passed */
        step_done(&st, "plan");
        steps_log(&st, "unpause", plan.domain, domid);
        goto out;
    }
    if (u.libxl_rc)
        goto out; /* libxl's unpause failed: its problem, not the PFs' */
    xenvf_err_prepend(err, "domain %s (%u): ", plan.domain ? plan.domain : "?",
                      domid);
    LOG(ERROR, "%s", err->msg);
    logged = true;
    if (rc == XENVF_ENOENT) {
        /* destroyed by someone else: nothing of it is left to undo but
         * its VFs, which xenvfd frees on its death too */
        release_vfs(p, domid);
        goto out;
    }
    teardown(p, &xs, domid, plan.domain);
out:
    if (rc && !logged)
        LOG(ERROR, "%s", err->msg);
    xenvf_xs_dispose(&xs);
    gate_plan_dispose(&plan);
    free(text);
    return rc;
}

void xlp_pci_attached(uint32_t domid, const xenvf_bdf *bdf)
{
    char text[XENVF_BDF_STR_MAX];
    xenvf_guest_vf g;
    unsigned unused;
    xenvf_xs xs;
    xenvf_err err;
    xenvf_pf pf;
    int rc, local = -1;
    size_t i;

    xenvf_xs_init(&xs);
    xenvf_pf_init(&pf);
    xenvf_guest_vf_init(&g);
    xenvf_err_init(&err);
    xenvf_bdf_format(bdf, text);
    if ((rc = xenvf_xs_open(&xs, &err)) ||
        (rc = resv_find_vf(&xs, bdf, &pf, &i, &err)))
        goto out; /* ENOENT: not a VF of ours */
    rc = xenvf_xs_find_guest_vf(&xs, domid, pf.id, (unsigned)i, &local, &unused,
                                &err);
    if (rc || local >= 0)
        goto out; /* attached again: what its guest wrote there stays */
    if (!(rc = guest_vf_set(&g, unused, pf.id, (unsigned)i, bdf,
                            &pf.vfs[i].config, &err)))
        rc = xenvf_xs_publish_guest(&xs, domid, &g, 1, &err);
    if (!rc)
        LOG(INFO, "pci-attach: %s is PF %s VF %zu: domain %u's vf[%u]", text,
            pf.id, i, domid, unused);
out:
    if (rc && rc != XENVF_ENOENT)
        LOG(WARN,
            "pci-attach: %s: the guest's nodes for it (its helper, its I/O "
            "switch): %s",
            text, err.msg);
    xenvf_guest_vf_dispose(&g);
    xenvf_pf_dispose(&pf);
    xenvf_xs_dispose(&xs);
}

int xlp_pci_attach(xlp *p, uint32_t domid, const xenvf_bdf *bdf, xenvf_err *err)
{
    xenvf_xs xs;
    int rc;

    xenvf_xs_init(&xs);
    if (!(rc = xenvf_xs_open(&xs, err)))
        rc = check_direct_vf(&xs, domid, "pci-attach", bdf, err);
    if (rc)
        LOG(ERROR, "%s", err->msg);
    xenvf_xs_dispose(&xs);
    return rc;
}
