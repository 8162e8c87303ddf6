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

static void watch_range(tcb *t, uint32_t domid, unsigned from, unsigned to,
                        bool on)
{
    char path[XENVF_XS_PATH_MAX];

    for (unsigned k = from; k < to; k++) {
        xenvf_xs_guest_path(path, domid, "/vf/%u/request", k);
        if (on)
            xenvf_xs_watch(&t->xs, path, TCB_TOKEN_REQUEST, NULL);
        else
            xenvf_xs_unwatch(&t->xs, path, TCB_TOKEN_REQUEST, NULL);
    }
}

/* The watch of domid in list, or NULL. */
static tcb_req_watch *find_watch(tcb_req_watch *list, size_t nr, uint32_t domid)
{
    for (size_t w = 0; w < nr; w++)
        if (list[w].domid == domid)
            return &list[w];
    return NULL;
}

void tcb_requests_sync(tcb *t)
{
    tcb_req_watch *want = NULL, *rw;
    size_t nr_want = 0;

    /* one pass: how many VFs each domain holds (its guest's vf/0..n-1) */
    for (size_t p = 0; p < t->nr_pfs; p++)
        for (size_t i = 0; i < t->pfs[p].nr_vfs; i++) {
            const tcb_vf *v = &t->pfs[p].vfs[i];

            if (v->state != XENVF_VF_ACTIVE)
                continue;
            if (!(rw = find_watch(want, nr_want, v->domid))) {
                rw = realloc(want, (nr_want + 1) * sizeof(*want));
                if (!rw) {
                    free(want);
                    return; /* next time */
                }
                want = rw;
                rw = &want[nr_want++];
                *rw = (tcb_req_watch){.domid = v->domid, .nr = 0};
            }
            rw->nr++;
        }
    /* then the difference with what is watched now */
    for (size_t w = 0; w < t->nr_req_watches; w++) {
        const tcb_req_watch *old = &t->req_watches[w];
        const tcb_req_watch *now = find_watch(want, nr_want, old->domid);

        if (!now || now->nr < old->nr)
            watch_range(t, old->domid, now ? now->nr : 0, old->nr, false);
    }
    for (size_t w = 0; w < nr_want; w++) {
        const tcb_req_watch *old =
            find_watch(t->req_watches, t->nr_req_watches, want[w].domid);

        if (!old || old->nr < want[w].nr)
            watch_range(t, want[w].domid, old ? old->nr : 0, want[w].nr, true);
    }
    free(t->req_watches);
    t->req_watches = want;
    t->nr_req_watches = nr_want;
}

/* Write the answer (dom0's node: the guest reads it) and log it. */
static void answer(tcb *t, uint32_t domid, unsigned local, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void answer(tcb *t, uint32_t domid, unsigned local, const char *fmt, ...)
{
    char path[XENVF_XS_PATH_MAX], text[XENVF_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    xenvf_xs_guest_path(path, domid, "/vf/%u/request-result", local);
    xenvf_xs_write(&t->xs, path, text, NULL);
    LOG(INFO, "domain %u vf[%u]: guest request: %s", domid, local, text);
}

static char *guest_leaf(tcb *t, uint32_t domid, unsigned local,
                        const char *leaf)
{
    char path[XENVF_XS_PATH_MAX], *v = NULL;

    xenvf_xs_guest_path(path, domid, "/vf/%u/%s", local, leaf);
    xenvf_xs_read(&t->xs, path, &v, NULL);
    return v;
}

/* The settings the guest is told about (its mac, ...) after a change. */
static void update_guest_nodes(tcb *t, uint32_t domid, unsigned local,
                               const xenvf_vf_config *c, unsigned mask)
{
    char path[XENVF_XS_PATH_MAX], val[XENVF_SETTING_STR_MAX];

    xenvf_setting_for_each(s)
    {
        const char *v = xenvf_setting_format(c, s, val);

        if (!(mask & XENVF_SETTING_BIT(s)) || !v ||
            !(xenvf_settings[s].flags & XENVF_SETTING_GUEST))
            continue;
        xenvf_xs_guest_path(path, domid, "/vf/%u/%s", local,
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
    uint32_t domid;
    unsigned local;
    const char *leaf;

    if (xenvf_xs_parse_guest_vf_path(path, &domid, &local, &leaf) &&
        !strcmp(leaf, "request"))
        handle(t, domid, local);
}
