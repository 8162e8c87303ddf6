/* SPDX-License-Identifier: LGPL-2.1-only */
/* VF reservation through xenvfd (see reserve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reserve.h"

void resv_init(resv *r)
{
    memset(r, 0, sizeof(*r));
    xenvf_client_init(&r->client);
}

void resv_dispose(resv *r)
{
    xenvf_client_dispose(&r->client);
    for (size_t i = 0; i < r->nr; i++) {
        free(r->grants[i].pf);
        xenvf_vf_config_dispose(&r->grants[i].config);
    }
    free(r->grants);
    free(r->domain);
    resv_init(r);
}

void resv_free_ids(char **ids, size_t nr)
{
    for (size_t i = 0; ids && i < nr; i++)
        free(ids[i]);
    free(ids);
}

/* ---- resolving PFs -------------------------------------------------------
 */

/* "nvme0, net0" or "nvme0 at 0000:01:00.0, ...": what the message offers. */
static void known_pfs(xenvf_xs *xs, bool with_bdf, char *buf, size_t len)
{
    char **ids = NULL;
    unsigned nr = 0;
    size_t o = 0;

    buf[0] = '\0';
    if (xenvf_xs_list_pfs(xs, &ids, &nr, NULL) || !nr) {
        snprintf(buf, len, "none are published");
        goto out;
    }
    o += (size_t)snprintf(buf, len, "known: ");
    for (unsigned i = 0; i < nr && o + 40 < len; i++) {
        char bdf[XENVF_BDF_STR_MAX] = "";
        xenvf_pf pf;

        xenvf_pf_init(&pf);
        if (with_bdf && !xenvf_xs_read_pf_head(xs, ids[i], &pf, NULL))
            xenvf_bdf_format(&pf.bdf, bdf);
        o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s", i ? ", " : "",
                              ids[i], *bdf ? " at " : "", bdf);
        xenvf_pf_dispose(&pf);
    }
out:
    for (unsigned i = 0; i < nr; i++)
        free(ids[i]);
    free(ids);
}

/* Walk the published PFs, each read by `read` (its head, or the whole of
 * it), until `match` says yes: then *pf_out is that PF (the caller
 * disposes of it); XENVF_ENOENT when none matches. A PF unpublished
 * meanwhile is skipped. */
typedef int pf_read_fn(xenvf_xs *xs, const char *id, xenvf_pf *out,
                       xenvf_err *err);
typedef bool pf_match_fn(const xenvf_pf *pf, const xenvf_bdf *bdf,
                         size_t *index);

static int find_published(xenvf_xs *xs, pf_read_fn *read, pf_match_fn *match,
                          const xenvf_bdf *bdf, xenvf_pf *pf_out, size_t *index,
                          xenvf_err *err)
{
    char **ids = NULL;
    unsigned nr = 0;
    int rc;

    if ((rc = xenvf_xs_list_pfs(xs, &ids, &nr, err)))
        return rc;
    rc = XENVF_ENOENT;
    for (unsigned p = 0; p < nr && rc == XENVF_ENOENT; p++) {
        xenvf_pf_init(pf_out);
        if (!read(xs, ids[p], pf_out, NULL) && match(pf_out, bdf, index))
            rc = 0;
        else
            xenvf_pf_dispose(pf_out);
    }
    for (unsigned p = 0; p < nr; p++)
        free(ids[p]);
    free(ids);
    return rc;
}

static bool pf_at(const xenvf_pf *pf, const xenvf_bdf *bdf, size_t *index)
{
    return xenvf_bdf_equal(&pf->bdf, bdf);
}

static bool has_vf_at(const xenvf_pf *pf, const xenvf_bdf *bdf, size_t *index)
{
    for (size_t i = 0; i < pf->nr_vfs; i++)
        if (pf->vfs[i].bdf_known && xenvf_bdf_equal(&pf->vfs[i].bdf, bdf)) {
            *index = i;
            return true;
        }
    return false;
}

/* The id of the PF published with this address; XENVF_ENOENT if none. */
static int find_by_bdf(xenvf_xs *xs, const xenvf_bdf *bdf, char **id_out,
                       xenvf_err *err)
{
    xenvf_pf pf;
    int rc;

    *id_out = NULL;
    rc = find_published(xs, xenvf_xs_read_pf_head, pf_at, bdf, &pf, NULL, err);
    if (!rc) {
        *id_out = pf.id;
        pf.id = NULL;
        xenvf_pf_dispose(&pf);
    }
    return rc;
}

static int resolve_one(xenvf_xs *xs, const vfcfg_entry *e, char **id_out,
                       xenvf_err *err)
{
    char known[512], bdf[XENVF_BDF_STR_MAX];
    xenvf_pf pf;
    int rc;

    xenvf_pf_init(&pf);
    if (e->pf_is_bdf) {
        rc = find_by_bdf(xs, &e->pf_bdf, id_out, err);
        if (rc == XENVF_ENOENT) {
            xenvf_bdf_format(&e->pf_bdf, bdf);
            known_pfs(xs, true, known, sizeof(known));
            rc = xenvf_err_set(err, XENVF_ENOENT,
                               "no PF at %s is published in xenstore (%s)", bdf,
                               known);
        }
        if (rc)
            goto out;
    } else if (!(*id_out = strdup(e->pf_id))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    /* what can be told of the entry before xenvfd is asked: one read */
    rc = xenvf_xs_read_pf_leaf(xs, *id_out, "totalvfs", &pf, err);
    if (rc == XENVF_ENOENT) {
        known_pfs(xs, false, known, sizeof(known));
        rc = xenvf_err_set(err, XENVF_ENOENT,
                           "no PF %s is published in xenstore (%s)", *id_out,
                           known);
    }
    if (rc)
        goto out;
    if (e->index >= 0 && pf.total_vfs && (unsigned)e->index >= pf.total_vfs) {
        rc = xenvf_err_set(err, XENVF_ERANGE,
                           "index %d is past the last VF of PF %s "
                           "(TotalVFs %u)",
                           e->index, *id_out, pf.total_vfs);
        goto out;
    }
    rc = 0;
out:
    xenvf_pf_dispose(&pf);
    return rc;
}

int resv_resolve(xenvf_xs *xs, const vfcfg *cfg, char ***ids_out,
                 xenvf_err *err)
{
    char label[512], **ids;
    size_t i = 0;
    int rc = 0;

    *ids_out = NULL;
    if (!(ids = calloc(cfg->nr ? cfg->nr : 1, sizeof(*ids))))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (; i < cfg->nr && !rc; i++) {
        const vfcfg_entry *e = &cfg->entries[i];

        rc = resolve_one(xs, e, &ids[i], err);
        /* an id and an address may name one PF: compare now */
        for (size_t j = 0; !rc && j < i; j++) {
            if (e->index >= 0 && e->index == cfg->entries[j].index &&
                !strcmp(ids[i], ids[j]))
                rc = xenvf_err_set(err, XENVF_ECONFLICT,
                                   "the same VF as vf[%zu] (PF %s index %d)", j,
                                   ids[i], e->index);
        }
        if (rc) {
            vfcfg_entry_label(e, label, sizeof(label));
            xenvf_err_prepend(err, "%s: %s: ", cfg->source, label);
        }
    }
    if (rc) {
        resv_free_ids(ids, cfg->nr);
        return rc;
    }
    *ids_out = ids;
    return 0;
}

/* ---- talking to xenvfd ----------------------------------------------------
 */

static int connect_tcb(xenvf_client *c, const plugin_conf *conf, xenvf_err *err)
{
    if (c->fd >= 0)
        return 0;
    return xenvf_client_connect(c, conf->tcb_socket, err);
}

/* Which entry does xenvfd's refusal talk about? "vfs[N]..." says it; a
 * message about "pf <id>" does when only one entry uses that PF. */
static const vfcfg_entry *blamed_entry(const char *msg, const vfcfg *cfg,
                                       char *const *ids)
{
    const vfcfg_entry *found = NULL;
    unsigned n;
    int used;

    if (sscanf(msg, "vfs[%u]%n", &n, &used) == 1 && used > 0 && n < cfg->nr)
        return &cfg->entries[n];
    if (strncmp(msg, "pf ", 3))
        return NULL;
    for (size_t i = 0; i < cfg->nr; i++) {
        size_t len = strlen(ids[i]);

        if (strncmp(msg + 3, ids[i], len) ||
            (msg[3 + len] != ':' && msg[3 + len] != ' '))
            continue;
        if (found)
            return NULL; /* two entries use that PF: cannot tell which */
        found = &cfg->entries[i];
    }
    return found;
}

static int refused(const xenvf_response *resp, const char *what,
                   const vfcfg *cfg, char *const *ids, xenvf_err *err)
{
    const char *msg = resp->error ? resp->error : "no reason given";
    const vfcfg_entry *e = cfg ? blamed_entry(msg, cfg, ids) : NULL;
    char label[512];

    if (!e)
        return xenvf_err_set(err, resp->rc, "xenvfd refused to %s: %s", what,
                             msg);
    vfcfg_entry_label(e, label, sizeof(label));
    return xenvf_err_set(err, resp->rc, "%s: %s: xenvfd refused it: %s",
                         cfg->source, label, msg);
}

int resv_reserve(resv *r, const plugin_conf *conf, const char *domain,
                 const vfcfg *cfg, char *const *ids, const int *pins,
                 xenvf_err *err)
{
    xenvf_request req;
    xenvf_response resp;
    char what[128];
    int rc;

    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    snprintf(what, sizeof(what), "reserve VFs for domain %.64s", domain);
    if (!r->domain && !(r->domain = strdup(domain))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    req.op = XENVF_OP_RESERVE;
    if (!(req.domain = strdup(domain))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfg->nr; i++) {
        const vfcfg_entry *e = &cfg->entries[i];
        xenvf_vf_request *v = xenvf_request_add_vf(&req);

        if (!v || !(v->pf = strdup(ids[i]))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        v->index = e->index >= 0 ? e->index : pins ? pins[i] : -1;
        if ((rc = vfcfg_entry_config(e, &v->config, err)))
            goto out;
    }
    if ((rc = connect_tcb(&r->client, conf, err)) ||
        (rc = xenvf_client_call(&r->client, &req, &resp, conf->tcb_timeout_ms,
                                err)))
        goto out;
    if (resp.rc) {
        rc = refused(&resp, what, cfg, ids, err);
        goto out;
    }
    if (resp.nr_vfs != cfg->nr) {
        rc = xenvf_err_set(err, XENVF_EIO,
                           "xenvfd granted %zu VFs for %zu entries",
                           resp.nr_vfs, cfg->nr);
        goto out;
    }
    for (size_t i = 0; i < cfg->nr; i++) {
        if (strcmp(resp.vfs[i].pf, ids[i]) ||
            (req.vfs[i].index >= 0 &&
             resp.vfs[i].index != (unsigned)req.vfs[i].index)) {
            rc = xenvf_err_set(err, XENVF_EIO,
                               "xenvfd granted PF %s VF %u for vf[%zu], "
                               "which asked for PF %s",
                               resp.vfs[i].pf, resp.vfs[i].index, i, ids[i]);
            goto out;
        }
    }
    /* the grants are ours now: steal them from the response */
    r->grants = resp.vfs;
    r->nr = resp.nr_vfs;
    resp.vfs = NULL;
    resp.nr_vfs = 0;
    rc = 0;
out:
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
    return rc;
}

int resv_commit_send(resv *r, const plugin_conf *conf, uint32_t domid,
                     xenvf_err *err)
{
    xenvf_request req;
    int rc;

    xenvf_request_init(&req);
    req.op = XENVF_OP_COMMIT;
    req.domid = domid;
    if (!r->domain || !(req.domain = strdup(r->domain)))
        rc = xenvf_err_set(err, XENVF_EINVAL, "commit without a reservation");
    else
        rc = xenvf_client_send(&r->client, &req, conf->tcb_timeout_ms, err);
    if (!rc)
        r->domid = domid;
    xenvf_request_dispose(&req);
    return rc;
}

int resv_commit_wait(resv *r, const plugin_conf *conf, xenvf_err *err)
{
    xenvf_response resp;
    char what[128];
    int rc;

    xenvf_response_init(&resp);
    snprintf(what, sizeof(what), "commit the VFs of domain %.64s to %u",
             r->domain ? r->domain : "?", r->domid);
    if ((rc = xenvf_client_receive(&r->client, XENVF_OP_COMMIT, &resp,
                                   conf->tcb_timeout_ms, err)))
        goto out;
    if (resp.rc) {
        rc = refused(&resp, what, NULL, NULL, err);
        goto out;
    }
    r->committed = true;
    rc = 0;
out:
    xenvf_response_dispose(&resp);
    return rc;
}

int resv_release_domid(const plugin_conf *conf, uint32_t domid, xenvf_err *err)
{
    xenvf_client c;
    xenvf_request req;
    xenvf_response resp;
    char what[64];
    int rc;

    xenvf_client_init(&c);
    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    req.op = XENVF_OP_RELEASE;
    req.domid = domid;
    snprintf(what, sizeof(what), "release the VFs of domain %u", domid);
    if ((rc = connect_tcb(&c, conf, err)) ||
        (rc = xenvf_client_call(&c, &req, &resp, conf->tcb_timeout_ms, err)))
        goto out;
    /* holding nothing (xenvfd saw the domain die first) is the goal too */
    rc = resp.rc && resp.rc != XENVF_ENOENT
             ? refused(&resp, what, NULL, NULL, err)
             : 0;
out:
    xenvf_client_dispose(&c);
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
    return rc;
}

int resv_held_vfs(xenvf_xs *xs, uint32_t domid, resv_held **out, size_t *nr,
                  xenvf_err *err)
{
    char **ids = NULL;
    unsigned nr_ids = 0;
    resv_held *h = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    *nr = 0;
    rc = xenvf_xs_list_pfs(xs, &ids, &nr_ids, err);
    if (rc == XENVF_ENOENT) /* no xenvfd here: nothing of ours to hold */
        return 0;
    for (unsigned k = 0; k < nr_ids && !rc; k++) {
        xenvf_pf pf;

        xenvf_pf_init(&pf);
        rc = xenvf_xs_read_pf(xs, ids[k], &pf, err);
        if (rc == XENVF_ENOENT) /* unpublished meanwhile */
            rc = 0;
        for (size_t i = 0; !rc && i < pf.nr_vfs; i++) {
            const xenvf_vf *v = &pf.vfs[i];
            resv_held *grown, *e;

            if (v->domid != domid ||
                (v->state != XENVF_VF_RESERVED && v->state != XENVF_VF_ACTIVE))
                continue;
            if (!(grown = realloc(h, (n + 1) * sizeof(*h)))) {
                rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
                break;
            }
            h = grown;
            e = &h[n++];
            memset(e, 0, sizeof(*e));
            snprintf(e->pf, sizeof(e->pf), "%s", pf.id);
            e->index = v->index;
            e->pf_bdf = pf.bdf;
            e->vf_bdf = v->bdf;
            e->pf_owner = pf.owner_domid;
            e->nr_ns = v->config.ns.nr;
            e->nsid = e->nr_ns ? v->config.ns.ns[0].nsid : 0;
        }
        xenvf_pf_dispose(&pf);
    }
    for (unsigned k = 0; k < nr_ids; k++)
        free(ids[k]);
    free(ids);
    if (rc) {
        free(h);
        return rc;
    }
    *out = h;
    *nr = n;
    return 0;
}

int resv_find_vf(xenvf_xs *xs, const xenvf_bdf *bdf, xenvf_pf *pf_out,
                 size_t *index, xenvf_err *err)
{
    int rc = find_published(xs, xenvf_xs_read_pf, has_vf_at, bdf, pf_out, index,
                            err);

    if (rc == XENVF_ENOENT)
        xenvf_err_set(err, rc, "not a VF xenvf manages");
    return rc;
}
