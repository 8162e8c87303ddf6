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
#include <xenvf/switch.h>

#include "migrate.h"
#include "reserve.h"

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

/* "nvme0#1 nvme1#0" into held (capacity len): the VFs xenvfd's books give
 * domid, RESERVED or ACTIVE; *nr their number. nodisk ("" if none,
 * capacity XLP_VF_NAME_MAX): the first of them with no namespace, which
 * has no second path (a NIC VF, or storage the map gives no disk). */
static int held_vfs(xenvf_xs *xs, uint32_t domid, char *held, size_t len,
                    unsigned *nr, char nodisk[XLP_VF_NAME_MAX], xenvf_err *err)
{
    resv_held *books = NULL;
    size_t n = 0, o = 0;
    int rc;

    *nr = 0;
    held[0] = nodisk[0] = '\0';
    if ((rc = resv_held_vfs(xs, domid, &books, &n, err)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!books[i].nr_ns && !nodisk[0])
            snprintf(nodisk, XLP_VF_NAME_MAX, "%.40s#%u", books[i].pf,
                     books[i].index);
        if (o < len)
            o += (size_t)snprintf(held + o, len - o, "%s%s#%u", o ? " " : "",
                                  books[i].pf, books[i].index);
    }
    *nr = (unsigned)n;
    free(books);
    return 0;
}

/* Where the guest's storage I/O is, by its xenvf-guest's switch nodes
 * (vf/<n>/switch, xenvf/switch.h): *on_pv when every VF of the guest says
 * "pv"; else *first the first that does not (its path and text in
 * node/text: empty text when the guest does not serve the switch). */
static int guest_switch_states(xenvf_xs *xs, uint32_t domid, bool *on_pv,
                               char node[XENVF_XS_PATH_MAX],
                               char text[XENVF_SWITCH_STATE_MAX],
                               xenvf_err *err)
{
    char dir[XENVF_XS_PATH_MAX], **ents = NULL, *v;
    unsigned nr = 0;
    int rc;

    *on_pv = false;
    xenvf_xs_guest_path(dir, domid, "%s", "/vf");
    xenvf_xs_guest_path(node, domid, "/vf/0/%s", XENVF_SWITCH_NODE);
    text[0] = '\0';
    if ((rc = xenvf_xs_directory(xs, dir, &ents, &nr, err)))
        return rc;
    *on_pv = nr > 0;
    for (unsigned i = 0; i < nr && !rc && *on_pv; i++) {
        xenvf_switch_state st;

        v = NULL;
        xenvf_xs_guest_path(node, domid, "/vf/%.12s/%s", ents[i],
                            XENVF_SWITCH_NODE);
        if ((rc = xenvf_xs_read(xs, node, &v, err)))
            break;
        snprintf(text, XENVF_SWITCH_STATE_MAX, "%s", v ? v : "");
        *on_pv = !xenvf_switch_state_parse(v, &st, NULL) &&
                 st.kind == XENVF_SWITCH_ON && st.on == XENVF_PATH_PV;
        free(v);
    }
    free(ents);
    return rc;
}

/* The refusal of a domain holding VFs whose guest's I/O is not on the PV
 * path, err set; node and text: the first VF's switch node that is not
 * "pv", and what it says. */
static int refuse(const char *what, uint32_t domid, unsigned nr,
                  const char *held, const char *node, const char *text,
                  xenvf_err *err)
{
    const char *s = nr > 1 ? "s" : "";

    if (*text)
        return xenvf_err_set(
            err, XENVF_ENOTSUP,
            "%s of domain %u with its VF%s %s: the guest serves xenvf's I/O "
            "switch (%s = '%.60s') but its I/O is not on the PV path, and "
            "xl save moves it there itself only without a config file of "
            "its own, without -c, and for VFs with one namespace each "
            "(docs/migration.md); refused, the domain keeps running with its "
            "VF%s (" XLP_MIGRATE_ENV "=unplug-and-go saves it anyway)",
            what, domid, s, held, node, text, s);
    return xenvf_err_set(
        err, XENVF_EBUSY,
        "%s of domain %u with its VF%s %s: refused, the domain keeps running "
        "with its VF%s. Xen cannot copy a VF's state, and the guest does not "
        "run xenvf's I/O switch (%s is empty) to move its I/O off the VF "
        "first. " XLP_MIGRATE_ENV "=unplug-and-go in xl's environment saves "
        "it anyway: the VF is taken away, I/O on it errors until xl restore "
        "gives the guest a VF again",
        what, domid, s, held, s, node);
}

/* The refusal of a domain holding a VF the switch cannot serve. */
static int refuse_nodisk(const char *what, uint32_t domid, unsigned nr,
                         const char *held, const char *nodisk, xenvf_err *err)
{
    const char *s = nr > 1 ? "s" : "";

    return xenvf_err_set(
        err, XENVF_ENOTSUP,
        "%s of domain %u with its VF%s %s: refused, the domain keeps running "
        "with its VF%s. %s has no disk in the VF map (a NIC VF, or a storage "
        "VF without a namespace): xenvf's I/O switch moves a disk's I/O to "
        "the PF and back, and there is no second path for it. " XLP_MIGRATE_ENV
        "=unplug-and-go in xl's environment saves it anyway: "
        "the VF is taken away, I/O on it errors until xl restore gives the "
        "guest a VF again",
        what, domid, s, held, s, nodisk);
}

int xlp_suspend_check(xenvf_xs *xs, uint32_t domid, bool live,
                      const char *mode_text, xenvf_err *err)
{
    const char *what = live ? "xl migrate" : "xl save";
    char held[256], why[XENVF_ERR_MSG_MAX], node[XENVF_XS_PATH_MAX],
        text[XENVF_SWITCH_STATE_MAX], nodisk[XLP_VF_NAME_MAX];
    xlp_migrate_mode mode = XLP_MIGRATE_REFUSE;
    bool on_pv;
    unsigned nr;
    int rc;

    if ((rc = held_vfs(xs, domid, held, sizeof(held), &nr, nodisk, err))) {
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
            "keeps running with its VF%s: Xen refuses log-dirty mode to a "
            "domain with a passed-through device, and xl migrate moves the "
            "I/O off it first only for a guest that serves xenvf's I/O "
            "switch, without a config file of its own, and for VFs with one "
            "namespace each; " XLP_MIGRATE_ENV "=unplug-and-go in xl's "
            "environment unplugs the others first, and plugs them again at "
            "the destination (and a hypervisor built without shadow paging, "
            "Debian's, live-migrates no PV domain at all: docs/migration.md)",
            what, domid, nr > 1 ? "s" : "", held, nr > 1 ? "s" : "");
        return 0;
    }
    if ((rc = xlp_migrate_mode_parse(mode_text, &mode, err))) {
        snprintf(why, sizeof(why), "%s", err->msg);
        return xenvf_err_set(err, rc, "%s of domain %u: %s", what, domid, why);
    }
    if (mode == XLP_MIGRATE_REFUSE) {
        if (nodisk[0])
            return refuse_nodisk(what, domid, nr, held, nodisk, err);
        if ((rc = guest_switch_states(xs, domid, &on_pv, node, text, err)))
            return rc;
        if (!on_pv)
            return refuse(what, domid, nr, held, node, text, err);
        LOG(INFO,
            "%s of domain %u with its VF%s %s: the guest's I/O is on the PV "
            "path (its xenvf-guest's switch says '%s'): the VF%s reset and "
            "freed with the saved domain; after xl restore the guest waits "
            "for switch-request 'vf' to go back to one",
            what, domid, nr > 1 ? "s" : "", held, text,
            nr > 1 ? "s are" : " is");
        return 0;
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
