/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvfd: flags, roles, logging, signals, and the event loop. No daemon(3)
 * fork and no pid file: it runs in the foreground, under systemd
 * (Type=simple), a busybox init or a test alike.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include <xenvf/proto.h>
#include <xenvf/text.h>

#include "agent.h"
#include "tcb.h"

#define MAX_AGENT_PFS 64

static tcb the_tcb;
static agent the_agent;
static bool have_tcb, have_agent;

static void syslog_sink(void *opaque, xenvf_log_level level, const char *func,
                        const char *msg)
{
    static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};

    syslog(prio[level], "%s: %s", func, msg);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: xenvfd --role=tcb|pf-agent|both [options]\n"
        "  --map=PATH          VF map (tcb; default " XENVFD_MAP_PATH ")\n"
        "  --state-dir=DIR     persistent state (tcb; default " XENVFD_STATE_DIR
        ")\n"
        "  --socket=PATH       reservation socket (tcb; default "
        "$" XENVF_TCB_SOCKET_ENV " or " XENVF_TCB_SOCKET ")\n"
        "  --sysfs=DIR         sysfs root (default /sys)\n"
        "  --dev=DIR           device nodes (pf-agent; default /dev)\n"
        "  --bind-driver=NAME  driver that makes VFs assignable "
        "(default " XENVFD_BIND_DRIVER ")\n"
        "  --vf-wait-ms=N      bound on waiting for new VFs (10000)\n"
        "  --pf=ID             a PF this agent serves (repeat; default: "
        "every PF\n"
        "                      published with owner = --domid)\n"
        "  --domid=N           the agent's own domain id (default: its\n"
        "                      xenstore 'domid' node, else 0)\n"
        "  --backend=NAME      auto|generic|nvme|net (pf-agent)\n"
        "  --nvme-vq=N --nvme-vi=N   flexible resources per NVMe VF "
        "(2, 1)\n"
        "  --stats-interval=N  publish NIC VF counters every N s (pf-agent;\n"
        "                      15; 0: never)\n"
        "  --no-uevents        do not listen to kernel uevents\n"
        "  --log=stderr|syslog --debug\n");
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    uint64_t v;

    if (xenvf_parse_uint(s, max, &v, NULL))
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_args(int argc, char **argv, xenvfd_config *cfg,
                      bool *use_syslog)
{
    static char *pfs[MAX_AGENT_PFS];
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"map", required_argument, NULL, 'm'},
        {"state-dir", required_argument, NULL, 's'},
        {"socket", required_argument, NULL, 'S'},
        {"sysfs", required_argument, NULL, 'y'},
        {"dev", required_argument, NULL, 'D'},
        {"bind-driver", required_argument, NULL, 'b'},
        {"vf-wait-ms", required_argument, NULL, 'w'},
        {"pf", required_argument, NULL, 'p'},
        {"domid", required_argument, NULL, 'i'},
        {"backend", required_argument, NULL, 'B'},
        {"nvme-vq", required_argument, NULL, 'q'},
        {"nvme-vi", required_argument, NULL, 'v'},
        {"no-uevents", no_argument, NULL, 'U'},
        {"stats-interval", required_argument, NULL, 'I'},
        {"log", required_argument, NULL, 'l'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned u;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            cfg->role_tcb = strstr(optarg, "tcb") || !strcmp(optarg, "both");
            cfg->role_agent =
                strstr(optarg, "agent") || !strcmp(optarg, "both");
            if (!cfg->role_tcb && !cfg->role_agent) {
                fprintf(stderr, "xenvfd: unknown role '%s'\n", optarg);
                return -1;
            }
            break;
        case 'm':
            cfg->map_path = optarg;
            break;
        case 's':
            cfg->state_dir = optarg;
            break;
        case 'S':
            cfg->socket_path = optarg;
            break;
        case 'y':
            cfg->sysfs_root = optarg;
            break;
        case 'D':
            cfg->dev_dir = optarg;
            break;
        case 'b':
            cfg->bind_driver = optarg;
            break;
        case 'w':
            if (parse_uint(optarg, 3600000, &u))
                goto bad;
            cfg->vf_wait_ms = (int)u;
            break;
        case 'I':
            if (parse_uint(optarg, 86400, &cfg->stats_interval_s))
                goto bad;
            break;
        case 'p':
            if (!xenvf_id_valid(optarg) || cfg->nr_agent_pfs >= MAX_AGENT_PFS)
                goto bad;
            pfs[cfg->nr_agent_pfs++] = optarg;
            cfg->agent_pfs = pfs;
            break;
        case 'i':
            if (parse_uint(optarg, 0x7fef, &u))
                goto bad;
            cfg->agent_domid = u;
            cfg->agent_domid_given = true;
            break;
        case 'B':
            if (strcmp(optarg, "auto") && strcmp(optarg, "generic") &&
                strcmp(optarg, "nvme") && strcmp(optarg, "net"))
                goto bad;
            cfg->agent_backend = optarg;
            break;
        case 'q':
            if (parse_uint(optarg, 65535, &cfg->nvme_vq))
                goto bad;
            break;
        case 'v':
            if (parse_uint(optarg, 65535, &cfg->nvme_vi))
                goto bad;
            break;
        case 'U':
            cfg->uevents = false;
            break;
        case 'l':
            if (strcmp(optarg, "stderr") && strcmp(optarg, "syslog"))
                goto bad;
            *use_syslog = !strcmp(optarg, "syslog");
            break;
        case 'd':
            xenvf_log_set_level(XENVF_LOG_DEBUG);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "xenvfd: bad value '%s'\n", optarg);
        return -1;
    }
    if (optind < argc || (!cfg->role_tcb && !cfg->role_agent)) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static void signal_event(void *opaque, int fd, short revents)
{
    struct signalfd_siginfo si;

    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            if (have_tcb)
                tcb_rescan(&the_tcb);
            if (have_agent)
                agent_rescan(&the_agent);
        } else {
            LOG(INFO, "signal %u: stopping", si.ssi_signo);
            xenvfd_loop_stop(0);
        }
    }
}

int main(int argc, char **argv)
{
    xenvfd_config cfg;
    bool use_syslog = false;
    xenvf_err err;
    sigset_t mask;
    int sfd = -1, rc = 1;

    xenvfd_config_init(&cfg);
    xenvf_err_init(&err);
    if (parse_args(argc, argv, &cfg, &use_syslog))
        return 2;
    if (use_syslog) {
        openlog("xenvfd", LOG_PID, LOG_DAEMON);
        xenvf_log_set_sink(syslog_sink, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0 || xenvfd_loop_add(sfd, POLLIN, signal_event, NULL)) {
        LOG(ERROR, "signalfd: %m");
        goto out;
    }
    LOG(INFO, "xenvfd starting: role %s%s%s", cfg.role_tcb ? "tcb" : "",
        cfg.role_tcb && cfg.role_agent ? "+" : "",
        cfg.role_agent ? "pf-agent" : "");
    if (cfg.role_tcb) {
        tcb_init(&the_tcb, &cfg);
        have_tcb = true;
        if (tcb_start(&the_tcb, &err)) {
            LOG(ERROR, "tcb: %s", err.msg);
            goto out;
        }
    }
    if (cfg.role_agent) {
        agent_init(&the_agent, &cfg);
        have_agent = true;
        if (agent_start(&the_agent, &err)) {
            LOG(ERROR, "pf-agent: %s", err.msg);
            goto out;
        }
    }
    rc = xenvfd_loop_run();
    LOG(INFO, "xenvfd stopped");
out:
    if (have_agent)
        agent_dispose(&the_agent);
    if (have_tcb)
        tcb_dispose(&the_tcb);
    if (sfd >= 0)
        close(sfd);
    return rc;
}
