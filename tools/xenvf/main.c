/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf: global options, the command table, help and messages. Each
 * command lives in its own cmd_*.c and returns an exit code (xenvf.h).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/log.h>
#include <xenvf/proto.h>

#include "xenvf.h"

#ifndef XENVF_VERSION
#define XENVF_VERSION "unknown"
#endif

typedef struct xv_command {
    const char *name;
    int (*fn)(xv_ctx *ctx, int argc, char **argv);
    const char *synopsis;
    const char *summary;
    const char *help; /* the rest of `xenvf help CMD` */
} xv_command;

static const xv_command commands[] = {
    {"list", xv_cmd_list, "list [--json]",
     "every SR-IOV PF: its map id, VF counts and state",
     "One line per SR-IOV physical function, managed by the map or not (PF\n"
     "\"-\"). NUMVFS is what the PF has now; \"2->4\" means the map wants 4\n"
     "and xenvfd has not applied it yet. FREE, RSVD and ACTIVE count VFs by\n"
     "the state xenvfd publishes in xenstore; \"-\" where it has published\n"
     "nothing. A source that cannot be read (map, sysfs, xenstore) is named\n"
     "in a warning and left out.\n"},
    {"show", xv_cmd_show, "show [--json] PF", "one PF and every VF it has",
     "Everything known about one PF, then one line per VF: its address, the\n"
     "state xenvfd publishes, the domain holding it now (DOMID, NAME), the\n"
     "domain the map assigns it to (ASSIGNED) and its settings.\n"},
    {"assign", xv_cmd_assign, "assign PF[#INDEX] DOMAIN",
     "assign a VF to a guest in the map",
     "Gives VF INDEX of PF, or the lowest VF that no domain holds, to the\n"
     "guest named DOMAIN, by editing the map. xenvfd applies the map; the\n"
     "guest gets the VF from a vf=[\"pf=PF\"] entry of its config. Refused,\n"
     "with the map unchanged, if the VF does not exist, the map gives it to\n"
     "another domain, or xenstore shows another domain using it.\n"},
    {"release", xv_cmd_release, "release PF#INDEX | DOMAIN",
     "take a VF, or every VF of a guest, back in the map",
     "Removes the assignment of VF INDEX of PF, or of every VF the map gives\n"
     "to DOMAIN, by editing the map (a boot order goes with it). A VF that a\n"
     "running domain still uses stays with it until the domain is gone; you\n"
     "are warned.\n"},
    {"set-numvfs", xv_cmd_set_numvfs,
     "set-numvfs [--force] [--id ID [--owner NAME]] PF N",
     "set how many VFs a PF has, in the map",
     "Sets the number of VFs of PF in the map; xenvfd applies it by writing\n"
     "sriov_numvfs. Refused if a VF at or past N is assigned in the map, if N\n"
     "is more than the device's TotalVFs, or if xenstore shows VFs of the PF\n"
     "in use (xenvfd cannot change NumVFs then). Options:\n"
     "  -f, --force        write the map even though VFs are in use; xenvfd\n"
     "                     applies it once they are released\n"
     "  -i, --id ID        PF is a PCI address the map does not have yet: add\n"
     "                     it under this id (the map is created if needed)\n"
     "  -o, --owner NAME   with --id: the driver domain running the PF driver\n"
     "                     (default 0, dom0)\n"},
    {"status", xv_cmd_status, "status [--json]",
     "is xenvfd up, is the map valid, each PF's state",
     "Pings xenvfd (tcb) on its socket, checks the map (schema, rules and\n"
     "hardware) and prints the state of every PF. Exit status 3 when xenvfd\n"
     "does not answer, 1 when the map is invalid or xenstore unreadable.\n"},
    {"watch", xv_cmd_watch, "watch [--json] [PF]",
     "print each change under /xenvf in xenstore as it happens",
     "Blocks on a xenstore watch on /xenvf (or /xenvf/pf/PF) and prints one\n"
     "line per change, with a UTC timestamp: the object, the node, the old\n"
     "and the new value. --json prints one JSON object per line. Runs until\n"
     "interrupted (SIGINT, SIGTERM: exit status 0).\n"},
    {"check", xv_cmd_check, "check [-q] [-n | -H] [MAP]",
     "validate a VF map (default: --map's) before xenvfd applies it",
     "Checks MAP (default: the --map file) as xenvfd will: the schema, the\n"
     "rules (unique ids and addresses, VF indexes below numvfs, ...), then,\n"
     "where this machine has SR-IOV PFs, the devices (every PF present,\n"
     "numvfs and VF indexes within TotalVFs). A problem is printed with its\n"
     "file and line, as xenvfd logs it. Nothing is written; xenstore and\n"
     "xenvfd are not asked. Exit status 0 valid, 1 invalid. Options:\n"
     "  -q, --quiet        print nothing when the map is valid\n"
     "  -n, --no-hardware  the schema and the rules only\n"
     "  -H, --hardware     fail when the devices cannot be checked (no\n"
     "                     SR-IOV PF found, discovery failed)\n"},
    {"metrics", xv_cmd_metrics, "metrics [-o FILE]",
     "Prometheus metrics (node_exporter textfile format)",
     "Prints every PF's and VF's state, counts and holders in the\n"
     "Prometheus text format (xenvf_* metrics). With -o, --output FILE the\n"
     "text replaces FILE atomically (a temp file beside it, renamed over\n"
     "it), as node_exporter's textfile collector expects; xenvf-metrics.timer\n"
     "runs it. A source that cannot be read is reported by\n"
     "xenvf_source_up{source=...} 0, not as an error.\n"},
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *const global_help =
    "Options:\n"
    "  -m, --map PATH     the VF map (default " XV_MAP_DEFAULT ")\n"
    "  -s, --sysfs ROOT   sysfs root for SR-IOV discovery (default /sys)\n"
    "  -S, --socket PATH  xenvfd's socket (default $" XENVF_TCB_SOCKET_ENV ",\n"
    "                     else " XENVF_TCB_SOCKET ")\n"
    "  -j, --json         JSON output (list, show, status, watch)\n"
    "  -v, --verbose      also print the library's debug messages\n"
    "  -h, --help         this text\n"
    "  -V, --version      print the version\n"
    "\n"
    "PF is a PF id of the map (nvme0) or a PCI address (0000:01:00.0).\n"
    "Exit status: 0 success, 1 error (a refused edit changes nothing;\n"
    "check: the map is invalid),\n"
    "2 bad command line, 3 (status) xenvfd is not reachable.\n";

/* ---- messages --------------------------------------------------------- */

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    char *s = NULL, *c;

    if (vasprintf(&s, fmt, ap) < 0) {
        fputs("xenvf: out of memory\n", stderr);
        return;
    }
    c = xv_clean(s);
    fflush(stdout); /* keep the order of what a terminal shows */
    fprintf(stderr, "xenvf: %s%s\n", prefix, c);
    free(c);
    free(s);
}

void xv_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void xv_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

int xv_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'xenvf help%s%s' for more information.\n",
            cmd ? " " : "", cmd ? cmd : "");
    return XV_EXIT_USAGE;
}

int xv_bad_option(const char *cmd, const char *arg)
{
    const char *sep = cmd ? ": " : "";

    /* a short option, maybe in a bundle (-jx): getopt names the letter */
    if (optopt)
        return xv_usage_error(cmd, "%s%sunknown option '-%c'", cmd ? cmd : "",
                              sep, optopt);
    return xv_usage_error(cmd, "%s%sunknown option '%s'", cmd ? cmd : "", sep,
                          arg);
}

static void log_sink(void *opaque, xenvf_log_level level, const char *func,
                     const char *msg)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    const int verbose = *(const int *)opaque;

    if (verbose)
        fprintf(stderr, "xenvf: %s: %s: %s\n", names[level], func, msg);
    else
        fprintf(stderr, "xenvf: %s: %s\n", names[level], msg);
}

/* ---- help ------------------------------------------------------------- */

static const xv_command *find_command(const char *name)
{
    for (size_t i = 0; i < NR_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void help_all(FILE *f)
{
    fputs("Usage: xenvf [OPTIONS] COMMAND [ARGS]\n"
          "\n"
          "SR-IOV virtual functions for Xen guests: see the PFs and VFs, and\n"
          "edit the VF map that xenvfd applies.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < NR_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-12s %s\n\n", "help", "this text, or a command's");
    fputs(global_help, f);
}

void xv_help_command(const char *cmd, FILE *f)
{
    const xv_command *c = find_command(cmd);

    if (!c) {
        help_all(f);
        return;
    }
    /* the summary as a sentence, then the details */
    fprintf(f, "Usage: xenvf [OPTIONS] %s\n\n%c%s.\n\n%s\n", c->synopsis,
            toupper((unsigned char)c->summary[0]), c->summary + 1, c->help);
    fputs("Global options: see 'xenvf help'.\n", f);
}

int xv_parse_common(xv_ctx *ctx, const char *cmd, bool json_ok, int argc,
                    char **argv, int *first_arg)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 0; /* glibc: start over, for this command's argv */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            ctx->json = true;
            break;
        case 'h':
            xv_help_command(cmd, stdout);
            return XV_EXIT_OK;
        default:
            return xv_bad_option(cmd, argv[optind - 1]);
        }
    }
    if (ctx->json && !json_ok)
        return xv_usage_error(cmd,
                              "%s: --json is for list, show, status and "
                              "watch",
                              cmd);
    *first_arg = optind;
    return -1;
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"map", required_argument, NULL, 'm'},
        {"sysfs", required_argument, NULL, 's'},
        {"socket", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    xv_ctx ctx = {.map_path = XV_MAP_DEFAULT};
    const xv_command *cmd;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:m:s:S:jvhV", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            ctx.map_path = optarg;
            break;
        case 's':
            ctx.sysfs_root = optarg;
            break;
        case 'S':
            ctx.socket_path = optarg;
            break;
        case 'j':
            ctx.json = true;
            break;
        case 'v':
            ctx.verbose++;
            break;
        case 'h':
            help_all(stdout);
            return XV_EXIT_OK;
        case 'V':
            printf("xenvf %s\n", XENVF_VERSION);
            return XV_EXIT_OK;
        case ':':
            return xv_usage_error(NULL, "option '%s' needs an argument",
                                  argv[optind - 1]);
        default:
            return xv_bad_option(NULL, argv[optind - 1]);
        }
    }
    if (!*ctx.map_path)
        return xv_usage_error(NULL, "--map: empty path");

    xenvf_log_set_sink(log_sink, &ctx.verbose);
    xenvf_log_set_level(ctx.verbose ? XENVF_LOG_DEBUG : XENVF_LOG_WARN);

    if (optind >= argc)
        return xv_usage_error(NULL, "no command given");
    if (!strcmp(argv[optind], "help")) {
        if (optind + 2 < argc)
            return xv_usage_error("help", "help: too many arguments");
        if (optind + 1 < argc && !find_command(argv[optind + 1]))
            return xv_usage_error(NULL, "help: unknown command '%s'",
                                  argv[optind + 1]);
        if (optind + 1 < argc)
            xv_help_command(argv[optind + 1], stdout);
        else
            help_all(stdout);
        return XV_EXIT_OK;
    }
    cmd = find_command(argv[optind]);
    if (!cmd)
        return xv_usage_error(NULL, "unknown command '%s'", argv[optind]);
    return cmd->fn(&ctx, argc - optind, argv + optind);
}
