/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xl save and xl migrate of a domain holding VFs: refused unless the
 * administrator asks for unplug-and-go (migrate.h, docs/migration.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/log.h>
#include <xenvf/model.h>

#include "migrate.h"

int xlp_migrate_mode_parse(const char *text, xlp_migrate_mode *out,
                           xenvf_err *err)
{
    if (!text || !*text) {
        *out = XLP_MIGRATE_REFUSE;
        return 0;
    }
    if (!strcmp(text, "unplug-and-go")) {
        *out = XLP_MIGRATE_UNPLUG_AND_GO;
        return 0;
    }
    return xenvf_err_set(err, XENVF_EINVAL,
                         XLP_MIGRATE_ENV "='%.40s': unknown (known: "
                                         "unplug-and-go, or unset)",
                         text);
}

int xlp_migrate_switch_path(char buf[XENVF_XS_PATH_MAX], uint32_t domid)
{
    return xenvf_xs_guest_path(buf, domid, "%s", "/migrate/switch");
}

/* "nvme0#1 nvme1#0" into held (capacity len): the VFs xenvfd's books give
 * domid, RESERVED or ACTIVE; *nr their number. */
static int held_vfs(xenvf_xs *xs, uint32_t domid, char *held, size_t len,
                    unsigned *nr, xenvf_err *err)
{
    char **ids = NULL;
    unsigned nr_ids = 0;
    size_t o = 0;
    int rc;

    *nr = 0;
    held[0] = '\0';
    rc = xenvf_xs_list_pfs(xs, &ids, &nr_ids, err);
    if (rc == XENVF_ENOENT) /* no xenvfd here: nothing of ours to hold */
        return 0;
    if (rc)
        return rc;
    for (unsigned k = 0; k < nr_ids && !rc; k++) {
        xenvf_pf pf;

        xenvf_pf_init(&pf);
        rc = xenvf_xs_read_pf(xs, ids[k], &pf, err);
        if (rc == XENVF_ENOENT) /* unpublished meanwhile */
            rc = 0;
        for (size_t i = 0; !rc && i < pf.nr_vfs; i++) {
            const xenvf_vf *v = &pf.vfs[i];

            if (v->domid != domid ||
                (v->state != XENVF_VF_RESERVED && v->state != XENVF_VF_ACTIVE))
                continue;
            (*nr)++;
            if (o < len)
                o += (size_t)snprintf(held + o, len - o, "%s%s#%u",
                                      o ? " " : "", pf.id, v->index);
        }
        xenvf_pf_dispose(&pf);
    }
    for (unsigned k = 0; k < nr_ids; k++)
        free(ids[k]);
    free(ids);
    return rc;
}

/* The refusal of a domain holding VFs, err set; offer: what the guest
 * wrote at path (NULL: nothing). */
static int refuse(const char *what, uint32_t domid, unsigned nr,
                  const char *held, const char *path, const char *offer,
                  xenvf_err *err)
{
    const char *s = nr > 1 ? "s" : "";

    if (offer)
        return xenvf_err_set(
            err, XENVF_ENOTSUP,
            "%s of domain %u with its VF%s %s: the guest offers xenvf's I/O "
            "switch (%s = '%.40s'), but this plugin cannot drive it: the "
            "switch is not built (issue 15); refused, the domain keeps "
            "running with its VF%s (" XLP_MIGRATE_ENV
            "=unplug-and-go saves it anyway)",
            what, domid, s, held, path, offer, s);
    return xenvf_err_set(
        err, XENVF_EBUSY,
        "%s of domain %u with its VF%s %s: refused, the domain keeps running "
        "with its VF%s. Xen cannot copy a VF's state, and the guest does not "
        "run xenvf's migration component (no %s) to move its I/O off the VF "
        "first. " XLP_MIGRATE_ENV "=unplug-and-go in xl's environment saves "
        "it anyway: the VF is taken away, I/O on it errors until xl restore "
        "gives the guest a VF again",
        what, domid, s, held, s, path);
}

int xlp_suspend_check(xenvf_xs *xs, uint32_t domid, bool live,
                      const char *mode_text, xenvf_err *err)
{
    const char *what = live ? "xl migrate" : "xl save";
    char held[256], why[XENVF_ERR_MSG_MAX], path[XENVF_XS_PATH_MAX],
        *offer = NULL;
    xlp_migrate_mode mode = XLP_MIGRATE_REFUSE;
    unsigned nr;
    int rc;

    if ((rc = held_vfs(xs, domid, held, sizeof(held), &nr, err))) {
        snprintf(why, sizeof(why), "%s", err->msg);
        return live ? 0
                    : xenvf_err_set(err, rc,
                                    "%s of domain %u: cannot read xenvfd's "
                                    "books (%s): refused, the domain keeps "
                                    "running",
                                    what, domid, why);
    }
    if (!nr)
        return 0;
    if (live) {
        /* not stopped here: see migrate.h */
        LOG(ERROR,
            "%s of domain %u with its VF%s %s: this fails, and the domain "
            "keeps running with its VF%s: the guest's I/O cannot move off "
            "the VF (issue 15's switch is not built), and Xen refuses "
            "log-dirty mode to a domain with a passed-through device (also "
            "after the VF is detached, so unplug-and-go cannot help)",
            what, domid, nr > 1 ? "s" : "", held, nr > 1 ? "s" : "");
        return 0;
    }
    if ((rc = xlp_migrate_mode_parse(mode_text, &mode, err))) {
        snprintf(why, sizeof(why), "%s", err->msg);
        return xenvf_err_set(err, rc, "%s of domain %u: %s", what, domid, why);
    }
    if (mode == XLP_MIGRATE_REFUSE) {
        xlp_migrate_switch_path(path, domid);
        if (!(rc = xenvf_xs_read(xs, path, &offer, err)))
            rc = refuse(what, domid, nr, held, path, offer, err);
        free(offer);
        return rc;
    }
    LOG(WARN,
        "%s of domain %u with its VF%s %s: unplug-and-go (" XLP_MIGRATE_ENV
        "): reset and freed with the saved domain, I/O on %s errors in the "
        "guest until xl restore gives it a VF again",
        what, domid, nr > 1 ? "s" : "", held, nr > 1 ? "them" : "it");
    return 0;
}

int xlp_suspend(uint32_t domid, bool live, const char *mode_text,
                xenvf_err *err)
{
    char why[XENVF_ERR_MSG_MAX];
    xenvf_xs xs;
    int rc;

    xenvf_xs_init(&xs);
    if (!(rc = xenvf_xs_open(&xs, err))) {
        rc = xlp_suspend_check(&xs, domid, live, mode_text, err);
    } else {
        snprintf(why, sizeof(why), "%s", err->msg);
        rc = xenvf_err_set(err, rc,
                           "%s of domain %u: xenstore: %s: refused, the "
                           "domain keeps running",
                           live ? "xl migrate" : "xl save", domid, why);
    }
    if (rc)
        LOG(ERROR, "%s", err->msg);
    xenvf_xs_dispose(&xs);
    return rc;
}
