/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The guest's channel for VF settings (docs/guest.md): a guest writes
 * "vlan=5,mac=..." into /local/domain/<domid>/xenvf/vf/<n>/request, the one
 * node of its VF besides `status` it may write; the TCB checks it against
 * what the map lets that VF's holder change (`guest-settable`), takes it
 * into the holder's settings (persisted, published: the PF agent applies
 * them) and answers in vf/<n>/request-result, which only dom0 writes.
 *
 * One watch per held VF's request node (not the guest's whole directory:
 * a guest writing its other nodes in a loop must not wake the TCB).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "tcb.h"
#include "xenvfd.h"

#define GUEST_VF "/local/domain/%u/xenvf/vf/%u"

/* How many VFs domid holds (ACTIVE): its guest's vf/0.. vf/<n-1>. */
static unsigned held_by(const tcb *t, uint32_t domid)
{
    unsigned n = 0;

    for (size_t p = 0; p < t->nr_pfs; p++)
        for (size_t i = 0; i < t->pfs[p].nr_vfs; i++)
            n += t->pfs[p].vfs[i].state == XENVF_VF_ACTIVE &&
                 t->pfs[p].vfs[i].domid == domid;
    return n;
}

static void watch_range(tcb *t, uint32_t domid, unsigned from, unsigned to,
                        bool on)
{
    char path[96];

    for (unsigned k = from; k < to; k++) {
        snprintf(path, sizeof(path), GUEST_VF "/request", domid, k);
        if (on)
            xenvf_xs_watch(&t->xs, path, TCB_TOKEN_REQUEST, NULL);
        else
            xenvf_xs_unwatch(&t->xs, path, TCB_TOKEN_REQUEST, NULL);
    }
}

void tcb_requests_sync(tcb *t)
{
    /* drop or shrink what no longer holds as many VFs */
    for (size_t w = 0; w < t->nr_req_watches;) {
        tcb_req_watch *rw = &t->req_watches[w];
        unsigned now = held_by(t, rw->domid);

        if (now < rw->nr)
            watch_range(t, rw->domid, now, rw->nr, false);
        rw->nr = now < rw->nr ? now : rw->nr;
        if (!rw->nr)
            *rw = t->req_watches[--t->nr_req_watches];
        else
            w++;
    }
    /* add the domains and VFs not watched yet */
    for (size_t p = 0; p < t->nr_pfs; p++)
        for (size_t i = 0; i < t->pfs[p].nr_vfs; i++) {
            const tcb_vf *v = &t->pfs[p].vfs[i];
            tcb_req_watch *rw = NULL;
            unsigned now;

            if (v->state != XENVF_VF_ACTIVE)
                continue;
            for (size_t w = 0; w < t->nr_req_watches && !rw; w++)
                if (t->req_watches[w].domid == v->domid)
                    rw = &t->req_watches[w];
            now = held_by(t, v->domid);
            if (!rw) {
                tcb_req_watch *n = realloc(
                    t->req_watches, (t->nr_req_watches + 1) * sizeof(*n));
                if (!n)
                    return; /* next time */
                t->req_watches = n;
                rw = &n[t->nr_req_watches++];
                *rw = (tcb_req_watch){.domid = v->domid, .nr = 0};
            }
            if (now > rw->nr) {
                watch_range(t, v->domid, rw->nr, now, true);
                rw->nr = now;
            }
        }
}

/* Write the answer (dom0's node: the guest reads it) and log it. */
static void answer(tcb *t, uint32_t domid, unsigned local, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void answer(tcb *t, uint32_t domid, unsigned local, const char *fmt, ...)
{
    char path[96], text[XENVF_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), GUEST_VF "/request-result", domid, local);
    xenvf_xs_write(&t->xs, path, text, NULL);
    LOG(INFO, "domain %u vf[%u]: guest request: %s", domid, local, text);
}

static char *guest_leaf(tcb *t, uint32_t domid, unsigned local,
                        const char *leaf)
{
    char path[96], *v = NULL;

    snprintf(path, sizeof(path), GUEST_VF "/%s", domid, local, leaf);
    xenvf_xs_read(&t->xs, path, &v, NULL);
    return v;
}

/* The settings the guest is told about (its mac, ...) after a change. */
static void update_guest_nodes(tcb *t, uint32_t domid, unsigned local,
                               const xenvf_vf_config *c, unsigned mask)
{
    char path[128], val[XENVF_SETTING_STR_MAX];

    xenvf_setting_for_each(s)
    {
        const char *v = xenvf_setting_format(c, s, val);

        if (!(mask & XENVF_SETTING_BIT(s)) || !v ||
            !(xenvf_settings[s].flags & XENVF_SETTING_GUEST))
            continue;
        snprintf(path, sizeof(path), GUEST_VF "/%s", domid, local,
                 xenvf_settings[s].name);
        xenvf_xs_write(&t->xs, path, v, NULL);
    }
}

static void handle(tcb *t, uint32_t domid, unsigned local)
{
    char *text = guest_leaf(t, domid, local, "request");
    char *pf_id = guest_leaf(t, domid, local, "pf");
    char *index = guest_leaf(t, domid, local, "index");
    char allowed_text[128], done[XENVF_REQUEST_MAX + 64];
    const xenvf_map_pf *mp;
    const xenvf_map_vf *mv;
    xenvf_vf_config want;
    unsigned mask = 0, allowed;
    tcb_pf *pf;
    tcb_vf *v = NULL;
    uint64_t idx = 0;
    xenvf_err err;

    xenvf_err_init(&err);
    xenvf_vf_config_init(&want);
    if (!text || !*text)
        goto out; /* created empty, or cleared */
    pf = pf_id ? tcb_find_pf(t, pf_id) : NULL;
    if (pf && index && !xenvf_parse_uint(index, UINT16_MAX, &idx, NULL) &&
        idx < pf->nr_vfs)
        v = &pf->vfs[idx];
    if (!v || v->state != XENVF_VF_ACTIVE || v->domid != domid) {
        answer(t, domid, local, "refused: vf[%u] is not a VF this domain holds",
               local);
        goto out;
    }
    if (xenvf_vf_config_parse_request(text, &want, &mask, &err)) {
        answer(t, domid, local, "refused: %s", err.msg);
        goto out;
    }
    mp = xenvf_map_find_pf(&t->map, pf->id);
    mv = mp ? xenvf_map_find_vf(mp, (unsigned)idx) : NULL;
    allowed = mv ? mv->guest_settable : 0;
    if (mask & ~allowed) {
        char no[128];

        xenvf_setting_mask_format(mask & ~allowed, ' ', no, sizeof(no));
        xenvf_setting_mask_format(allowed, ' ', allowed_text,
                                  sizeof(allowed_text));
        answer(t, domid, local,
               "refused: the map does not let this domain change %s on pf %s "
               "vf %u (guest-settable: %s)",
               no, pf->id, (unsigned)idx, allowed ? allowed_text : "nothing");
        goto out;
    }
    if (xenvf_vf_config_overlay(&v->req, &want, &err) ||
        tcb_state_save(t, &err)) {
        answer(t, domid, local, "failed: %s", err.msg);
        goto out;
    }
    tcb_publish(t, pf, NULL);
    update_guest_nodes(t, domid, local, &want, mask);
    xenvf_vf_config_format_request(&want, mask, done, sizeof(done));
    answer(t, domid, local, "applied: %s (pf %s vf %u)", done, pf->id,
           (unsigned)idx);
out:
    xenvf_vf_config_dispose(&want);
    free(text);
    free(pf_id);
    free(index);
}

void tcb_request_event(tcb *t, const char *path)
{
    unsigned domid, local;
    int end = 0;

    if (sscanf(path, "/local/domain/%u/xenvf/vf/%u/request%n", &domid, &local,
               &end) != 2 ||
        path[end])
        return;
    handle(t, domid, local);
}
