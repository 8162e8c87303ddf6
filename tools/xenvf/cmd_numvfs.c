/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf set-numvfs [--force] [--id ID [--owner NAME]] PF N: how many VFs a
 * PF has, in the map. xenvfd makes the change (through 0, all or nothing)
 * and refuses it while any VF of the PF is in use, so we refuse that
 * early too, unless --force asks for the map to say it anyway.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenvf.h"

/* VFs of the PF that xenstore shows in use, as "vf 0 (domain 5 (web1))". */
static unsigned in_use(xv_edit *e, const xv_pf *live, char *buf, size_t size)
{
    unsigned n = 0;
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; live && live->xs_pf && i < live->xs_pf->nr_vfs; i++) {
        const xenvf_vf *x = &live->xs_pf->vfs[i];
        const char *name;

        if (!xv_vf_in_use(x))
            continue;
        name = xv_view_domain_name(&e->live, x->domid);
        if (len < size)
            len += (size_t)snprintf(
                buf + len, size - len, "%svf %zu by domain %u%s%s%s",
                n ? ", " : "", i, x->domid, name ? " (" : "", name ? name : "",
                name ? ")" : "");
        n++;
    }
    return n;
}

/* A lower count must not cut off VFs the map still says something about. */
static int check_lower(const xenvf_map_pf *pf, unsigned n)
{
    for (size_t j = 0; j < pf->nr_vfs; j++) {
        const xenvf_map_vf *vf = &pf->vfs[j];

        if (vf->index < n)
            continue;
        if (vf->domain)
            xv_error("pf %s: vf %u is assigned to %s: release it first "
                     "('xenvf release %s#%u')",
                     pf->id, vf->index, vf->domain, pf->id, vf->index);
        else
            xv_error("pf %s: vf %u has settings in the map (line %u) and "
                     "would not exist with NumVFs %u: remove them from the "
                     "map first",
                     pf->id, vf->index, vf->line, n);
        return XV_EXIT_ERROR;
    }
    return XV_EXIT_OK;
}

int xv_cmd_set_numvfs(xv_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"id", required_argument, NULL, 'i'},
        {"owner", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *id = NULL, *owner_arg = NULL, *pf_arg;
    uint64_t n, owner = 0;
    const char *owner_name = NULL;
    bool force = false;
    xv_edit e;
    xenvf_map_pf *pf;
    const xv_pf *live;
    xenvf_bdf bdf;
    xenvf_err err;
    char users[512], b[XENVF_BDF_STR_MAX];
    unsigned old, nr_used;
    int c, rc;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:fi:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            force = true;
            break;
        case 'i':
            id = optarg;
            break;
        case 'o':
            owner_arg = optarg;
            break;
        case 'h':
            xv_help_command("set-numvfs", stdout);
            return XV_EXIT_OK;
        case ':':
            return xv_usage_error("set-numvfs",
                                  "set-numvfs: option '%s' needs an argument",
                                  argv[optind - 1]);
        default:
            return xv_bad_option("set-numvfs", argv[optind - 1]);
        }
    }
    if (ctx->json)
        return xv_usage_error("set-numvfs",
                              "set-numvfs: --json is for list, show, status "
                              "and watch");
    if (argc - optind != 2)
        return xv_usage_error("set-numvfs",
                              "set-numvfs: expected PF N, got %d argument%s",
                              argc - optind, argc - optind == 1 ? "" : "s");
    pf_arg = argv[optind];
    if ((rc = xv_parse_number("set-numvfs", "N", argv[optind + 1],
                              XENVF_MAP_NUMVFS_MAX, &n)))
        return rc;
    if (id && !xenvf_id_valid(id))
        return xv_usage_error("set-numvfs",
                              "set-numvfs: --id '%s' is not a PF id "
                              "([A-Za-z0-9_-], at most %d)",
                              id, XENVF_ID_MAX);
    if (owner_arg && !id)
        return xv_usage_error("set-numvfs",
                              "set-numvfs: --owner goes with --id (it is set "
                              "when a PF is added)");
    /* a driver domain's name; digits: a domid (deprecated, as in the map) */
    if (owner_arg && strspn(owner_arg, "0123456789") == strlen(owner_arg) &&
        (rc = xv_parse_number("set-numvfs", "--owner", owner_arg,
                              XENVF_MAP_DOMID_MAX, &owner)))
        return rc;
    if (owner_arg && strspn(owner_arg, "0123456789") != strlen(owner_arg))
        owner_name = owner_arg;
    if (id && xenvf_bdf_parse(pf_arg, &bdf, NULL))
        return xv_usage_error("set-numvfs",
                              "set-numvfs: with --id, PF must be a PCI address "
                              "(ssss:bb:dd.f), not '%s'",
                              pf_arg);
    if (!id && !xenvf_id_valid(pf_arg) && xenvf_bdf_parse(pf_arg, &bdf, NULL))
        return xv_usage_error("set-numvfs",
                              "set-numvfs: '%s' is neither a PF id nor a PCI "
                              "address",
                              pf_arg);

    xenvf_err_init(&err);
    xv_edit_init(&e, ctx);
    rc = XV_EXIT_ERROR;
    if (xv_edit_begin(&e, id != NULL))
        goto out;

    if (id) {
        pf = xenvf_map_find_pf_by_address(&e.map, &bdf);
        if (pf && strcmp(pf->id, id)) {
            xv_error("pf %s: the map already has it as pf %s", pf_arg, pf->id);
            goto out;
        }
        if (pf && owner_arg &&
            (pf->owner != owner ||
             !(owner_name
                   ? pf->owner_name && !strcmp(pf->owner_name, owner_name)
                   : !pf->owner_name))) {
            xv_error("pf %s: the map already has it with another owner; edit "
                     "the map to move the PF to another driver domain",
                     pf->id);
            goto out;
        }
        if (!pf && xenvf_map_find_pf(&e.map, id)) {
            xenvf_bdf_format(&xenvf_map_find_pf(&e.map, id)->address, b);
            xv_error("pf %s: the id is already used by the PF at %s", id, b);
            goto out;
        }
        if (!pf) {
            if (xenvf_map_add_pf(&e.map, &pf, &err) ||
                xenvf_map_pf_set_id(pf, id, &err)) {
                xv_error("pf %s: %s", id, err.msg);
                goto out;
            }
            pf->address = bdf;
            pf->owner = (uint32_t)owner;
            if (owner_name &&
                xenvf_map_pf_set_owner_name(pf, owner_name, &err)) {
                xv_error("pf %s: %s", id, err.msg);
                goto out;
            }
            pf->numvfs = (unsigned)n;
            if ((rc = xv_edit_commit(&e, pf)))
                goto out;
            xenvf_bdf_format(&bdf, b);
            printf("pf %s: added to the map at %s with numvfs %u\n", id, b,
                   pf->numvfs);
            xv_edit_tcb_hint(&e);
            goto out;
        }
    } else if (!(pf = xv_edit_find_pf(&e, pf_arg))) {
        goto out;
    }

    old = pf->numvfs;
    if (n == old) {
        printf("pf %s: numvfs is already %u\n", pf->id, old);
        rc = XV_EXIT_OK;
        goto out;
    }
    if (n < old && check_lower(pf, (unsigned)n))
        goto out;
    live = xv_edit_live_pf(&e, pf);
    nr_used = in_use(&e, live, users, sizeof(users));
    /* a count xenvfd already runs with needs no change of NumVFs */
    if (nr_used && !(live->numvfs >= 0 && (uint64_t)live->numvfs == n)) {
        if (!force) {
            xv_error("pf %s: %u VF%s in use (%s): xenvfd cannot change "
                     "NumVFs while VFs are in use; shut those domains down "
                     "first, or use --force to write the map anyway",
                     pf->id, nr_used, nr_used == 1 ? " is" : "s are", users);
            goto out;
        }
        xv_warn("pf %s: %u VF%s in use (%s): xenvfd applies numvfs %u only "
                "once they are released",
                pf->id, nr_used, nr_used == 1 ? " is" : "s are", users,
                (unsigned)n);
    }
    pf->numvfs = (unsigned)n;
    if ((rc = xv_edit_commit(&e, pf)))
        goto out;
    printf("pf %s: numvfs %u -> %u in the map\n", pf->id, old, pf->numvfs);
    xv_edit_tcb_hint(&e);
out:
    xv_edit_dispose(&e);
    return rc;
}
