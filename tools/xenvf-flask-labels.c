/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf-flask-labels: the XSM/FLASK labels of every PF and VF (docs/xsm.md).
 *
 *   xenvf-flask-labels --map /etc/xenvf/vfmap.xml --mcfg \
 *       /sys/firmware/acpi/tables/MCFG > labels.conf     policy fragment
 *   xenvf-flask-labels --map ... --format commands       flask-label-pci
 *   xenvf-flask-labels --map ... --apply                 label now
 *
 * Input: the VF map plus discovery (every PF of the map, VFs 0..numvfs-1,
 * their addresses and BARs from the SR-IOV capability), or a label list
 * (--list) for machines discovery cannot see. Both may be given.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/flask.h>
#include <xenvf/log.h>
#include <xenvf/map.h>
#include <xenvf/sysfs.h>

#define MAX_GUESTS 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xenvf-flask-labels [--map FILE [--sysfs ROOT]] "
            "[--list FILE]\n"
            "           [--mcfg FILE] [--format policy|commands] [--apply] "
            "[-o FILE]\n"
            "           [--pf-type T] [--drv-pf-type T] [--vf-type T]\n"
            "           [--guest-vf-type T] [--guest DOMAIN=TYPE]...\n"
            "\n"
            "  --map FILE       the VF map; PFs and VFs from it and discovery\n"
            "  --sysfs ROOT     sysfs root for discovery (default /sys)\n"
            "  --list FILE      label list: 'pf|vf BDF TYPE [mem:|io:"
            "0xA-0xB]...',\n"
            "                   'mmcfg - TYPE mem:0xA-0xB'\n"
            "  --mcfg FILE      label the MMCFG windows of this ACPI MCFG "
            "table\n"
            "                   (" XENVF_FLASK_MCFG_PATH ")\n"
            "  --format F       policy (pcidevicecon, iomemcon; default) or\n"
            "                   commands (flask-label-pci lines)\n"
            "  --apply          label through the hypervisor now (nothing to "
            "do\n"
            "                   without Xen or without XSM/FLASK)\n"
            "  --guest D=T      VFs held by map domain D get type T\n"
            "  types default to " XENVF_FLASK_PF_TYPE
            ", " XENVF_FLASK_DRV_PF_TYPE " (owner != 0),\n"
            "  " XENVF_FLASK_VF_TYPE " (free), " XENVF_FLASK_GUEST_VF_TYPE
            " (held), " XENVF_FLASK_MMCFG_TYPE "\n");
}

static int read_file(const char *path, char **out, size_t *len, xenvf_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    *out = NULL;
    if (!f)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "%s", path);
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap = (cap + 4096) * 2);

            if (!b) {
                rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
                goto out;
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, 4096, f);

        n += got;
        if (got < 4096)
            break;
    }
    if (ferror(f)) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s", path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int add_mcfg(const char *path, const char *type,
                    xenvf_flask_labels *labels, xenvf_err *err)
{
    xenvf_flask_mcfg *m = NULL;
    char *buf = NULL;
    size_t len = 0, nr = 0;
    int rc;

    rc = read_file(path, &buf, &len, err);
    if (rc)
        goto out;
    rc = xenvf_flask_parse_mcfg(buf, len, &m, &nr, err);
    if (rc) {
        xenvf_err_prepend(err, "%s: ", path);
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        xenvf_flask_range r;
        char what[64];

        xenvf_flask_mcfg_range(&m[i], &r);
        snprintf(what, sizeof(what), "mmcfg segment %04x buses %02x-%02x",
                 m[i].seg, m[i].start_bus, m[i].end_bus);
        rc = xenvf_flask_labels_add(labels, XENVF_FLASK_KIND_MMCFG, NULL, type,
                                    &r, 1, what, err);
        if (rc)
            goto out;
    }
out:
    free(m);
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    enum {
        OPT_MAP = 256,
        OPT_SYSFS,
        OPT_LIST,
        OPT_MCFG,
        OPT_FORMAT,
        OPT_APPLY,
        OPT_PF,
        OPT_DRV_PF,
        OPT_VF,
        OPT_GUEST_VF,
        OPT_GUEST
    };
    static const struct option opts[] = {
        {"map", required_argument, NULL, OPT_MAP},
        {"sysfs", required_argument, NULL, OPT_SYSFS},
        {"list", required_argument, NULL, OPT_LIST},
        {"mcfg", required_argument, NULL, OPT_MCFG},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"apply", no_argument, NULL, OPT_APPLY},
        {"pf-type", required_argument, NULL, OPT_PF},
        {"drv-pf-type", required_argument, NULL, OPT_DRV_PF},
        {"vf-type", required_argument, NULL, OPT_VF},
        {"guest-vf-type", required_argument, NULL, OPT_GUEST_VF},
        {"guest", required_argument, NULL, OPT_GUEST},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *map_path = NULL, *sysfs = NULL, *list_path = NULL;
    const char *mcfg = NULL, *format = "policy", *out_path = NULL;
    xenvf_flask_guest_type guests[MAX_GUESTS];
    xenvf_flask_types types = {.guests = guests};
    xenvf_flask_labels labels;
    xenvf_flask fl;
    xenvf_map map;
    xenvf_err err;
    char *text = NULL, *list = NULL;
    size_t len;
    bool apply = false, ok = false;
    FILE *f = NULL;
    int c, rc = 0;

    xenvf_flask_labels_init(&labels);
    xenvf_flask_init(&fl);
    xenvf_map_init(&map);
    xenvf_err_init(&err);

    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_MAP:
            map_path = optarg;
            break;
        case OPT_SYSFS:
            sysfs = optarg;
            break;
        case OPT_LIST:
            list_path = optarg;
            break;
        case OPT_MCFG:
            mcfg = optarg;
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_APPLY:
            apply = true;
            break;
        case OPT_PF:
            types.pf = optarg;
            break;
        case OPT_DRV_PF:
            types.drv_pf = optarg;
            break;
        case OPT_VF:
            types.vf = optarg;
            break;
        case OPT_GUEST_VF:
            types.guest_vf = optarg;
            break;
        case OPT_GUEST: {
            char *eq = strchr(optarg, '=');

            if (!eq || eq == optarg || types.nr_guests == MAX_GUESTS) {
                fprintf(stderr,
                        "xenvf-flask-labels: --guest wants "
                        "DOMAIN=TYPE (at most %d)\n",
                        MAX_GUESTS);
                rc = 2;
                goto out;
            }
            *eq = '\0';
            guests[types.nr_guests].domain = optarg;
            guests[types.nr_guests++].type = eq + 1;
            break;
        }
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            goto out;
        default:
            usage(stderr);
            rc = 2;
            goto out;
        }
    }
    if (optind != argc || (!map_path && !list_path && !mcfg) ||
        (strcmp(format, "policy") && strcmp(format, "commands"))) {
        usage(stderr);
        rc = 2;
        goto out;
    }

    if (map_path) {
        if (xenvf_map_parse_file(map_path, &map, &err) ||
            xenvf_map_check(&map, &err) ||
            xenvf_flask_labels_from_map(&map, sysfs, &types, &labels, &err))
            goto fail;
    }
    if (list_path) {
        if (read_file(list_path, &list, &len, &err) ||
            xenvf_flask_labels_parse_list(list_path, list, &labels, &err))
            goto fail;
    }
    if (mcfg && add_mcfg(mcfg, XENVF_FLASK_MMCFG_TYPE, &labels, &err))
        goto fail;

    if (apply) {
        if (xenvf_flask_labels_apply(&fl, &labels, &err))
            goto fail;
        goto out;
    }
    if (!strcmp(format, "policy")
            ? xenvf_flask_labels_format_policy(&labels, &text, &err)
            : xenvf_flask_labels_format_commands(&labels, &text, &err))
        goto fail;
    if (!out_path) {
        ok = fputs(text, stdout) != EOF && fflush(stdout) == 0;
    } else if ((f = fopen(out_path, "w"))) {
        ok = fputs(text, f) != EOF;
        ok = fclose(f) == 0 && ok;
    }
    if (ok)
        goto out;
    xenvf_err_set_errno(&err, XENVF_EIO, errno, "%s",
                        out_path ? out_path : "stdout");

fail:
    fprintf(stderr, "xenvf-flask-labels: %s\n", err.msg);
    rc = 1;
out:
    free(text);
    free(list);
    xenvf_map_dispose(&map);
    xenvf_flask_dispose(&fl);
    xenvf_flask_labels_dispose(&labels);
    xenvf_err_dispose(&err);
    return rc;
}
