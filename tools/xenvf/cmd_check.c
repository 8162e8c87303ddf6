/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf check [MAP]: validate a VF map before xenvfd sees it, as `visudo
 * -c` or `nginx -t` do. The schema and the semantic rules first
 * (xenvf_map_parse_file, which ends with xenvf_map_check), then, where
 * this machine has SR-IOV PFs, the devices (xenvf_map_check_hw against
 * discovery, as `status` and the TCB check them). The messages are the
 * library's located ones, the same xenvfd logs when it refuses a map.
 * Nothing is written and neither xenstore nor xenvfd is asked.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "xenvf.h"

typedef enum {
    HW_AUTO, /* check the devices when discovery finds SR-IOV PFs */
    HW_NEVER,
    HW_ALWAYS,
} hw_mode;

typedef struct check_opts {
    const char *path;
    hw_mode hw;
    bool quiet;
} check_opts;

static int parse_args(xv_ctx *ctx, int argc, char **argv, check_opts *o)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"no-hardware", no_argument, NULL, 'n'},
        {"hardware", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+qnHh", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            o->quiet = true;
            break;
        case 'n':
            o->hw = HW_NEVER;
            break;
        case 'H':
            o->hw = HW_ALWAYS;
            break;
        case 'h':
            xv_help_command("check", stdout);
            return XV_EXIT_OK;
        default:
            return xv_bad_option("check", argv[optind - 1]);
        }
    }
    if (ctx->json)
        return xv_usage_error("check",
                              "check: --json is for list, show, status, "
                              "watch");
    o->path = ctx->map_path;
    if (optind < argc)
        o->path = argv[optind++];
    if (optind < argc)
        return xv_usage_error("check", "check: unexpected argument '%s'",
                              argv[optind]);
    if (!*o->path)
        return xv_usage_error("check", "check: empty map path");
    return -1;
}

static size_t nr_assigned(const xenvf_map *map)
{
    size_t n = 0;

    for (size_t i = 0; i < map->nr_pfs; i++)
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++)
            n += map->pfs[i].vfs[j].domain != NULL;
    return n;
}

/*
 * The devices: *verdict is what to print after "devices: ". Returns
 * XV_EXIT_OK (checked and fine, or skipped in HW_AUTO) or XV_EXIT_ERROR
 * after printing why.
 */
static int check_devices(const xv_ctx *ctx, const check_opts *o,
                         const xenvf_map *map, char *verdict, size_t size)
{
    xenvf_sriov_info *hw = NULL;
    size_t nr_hw = 0;
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    if (o->hw == HW_NEVER) {
        snprintf(verdict, size, "not checked (--no-hardware)");
        return XV_EXIT_OK;
    }
    if (xenvf_sriov_scan(ctx->sysfs_root, &hw, &nr_hw, &err)) {
        if (o->hw == HW_ALWAYS) {
            xv_error("%s: the devices cannot be checked: SR-IOV discovery "
                     "failed: %s",
                     o->path, err.msg);
            rc = XV_EXIT_ERROR;
            goto out;
        }
        snprintf(verdict, size, "not checked: SR-IOV discovery failed: %s",
                 err.msg);
        rc = XV_EXIT_OK;
        goto out;
    }
    /* A machine with no SR-IOV PF at all is not the host the map is for
     * (a build or staging machine): say so rather than fail every PF. */
    if (!nr_hw && map->nr_pfs && o->hw == HW_AUTO) {
        snprintf(verdict, size,
                 "not checked: no SR-IOV PF in %s/bus/pci "
                 "(--hardware to insist)",
                 ctx->sysfs_root ? ctx->sysfs_root : "/sys");
        rc = XV_EXIT_OK;
        goto out;
    }
    if (xv_map_check_hw(map, hw, nr_hw, &err)) {
        xv_error("%s", err.msg);
        rc = XV_EXIT_ERROR;
        goto out;
    }
    snprintf(verdict, size, "ok, %zu SR-IOV PF%s in sysfs", nr_hw,
             nr_hw == 1 ? "" : "s");
    rc = XV_EXIT_OK;
out:
    xenvf_sriov_info_list_free(hw, nr_hw);
    return rc;
}

int xv_cmd_check(xv_ctx *ctx, int argc, char **argv)
{
    check_opts o = {.hw = HW_AUTO};
    xenvf_map map;
    xenvf_err err;
    struct stat st;
    char verdict[XENVF_ERR_MSG_MAX + 128];
    size_t assigned;
    int rc;

    if ((rc = parse_args(ctx, argc, argv, &o)) >= 0)
        return rc;

    xenvf_map_init(&map);
    xenvf_err_init(&err);
    if (stat(o.path, &st) < 0 && errno == ENOENT) {
        xv_error("no map at %s", o.path);
        rc = XV_EXIT_ERROR;
        goto out;
    }
    /* the schema, then the rules (xenvf_map_check): one located message */
    if (xenvf_map_parse_file(o.path, &map, &err)) {
        xv_error("%s", err.msg);
        rc = XV_EXIT_ERROR;
        goto out;
    }
    rc = check_devices(ctx, &o, &map, verdict, sizeof(verdict));
    if (rc)
        goto out;
    if (!o.quiet) {
        assigned = nr_assigned(&map);
        printf("%s: valid, %zu PF%s, %zu VF%s assigned; devices: %s\n", o.path,
               map.nr_pfs, map.nr_pfs == 1 ? "" : "s", assigned,
               assigned == 1 ? "" : "s", verdict);
    }
    rc = fflush(stdout) ? XV_EXIT_ERROR : XV_EXIT_OK;
out:
    xenvf_map_dispose(&map);
    return rc;
}
