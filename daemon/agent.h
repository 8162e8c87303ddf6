/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The PF agent (xenvfd --role=pf-agent): runs where the PF driver runs (a
 * driver domain, or dom0), reads its PFs' records from xenstore (the TCB
 * writes them; the agent cannot see dom0's map from a driver domain), gives
 * each VF what the PF driver must give it, and publishes the PF's state.
 * It writes only /xenvf/pf/<id>/state of its own PFs, never config space.
 *
 * PF driver work sits behind a small backend interface, chosen per PF:
 *   generic  nothing per VF: ready when the PF driver is bound
 *   nvme     secondary controllers: flexible resources, online, namespaces
 *            (agent_nvme.c)
 *   net      VF MAC, VLAN, trust, spoofchk, rate via rtnetlink (agent_net.c)
 */
#ifndef XENVFD_AGENT_H
#define XENVFD_AGENT_H

#include <linux/nvme_ioctl.h>

#include <xenvf/pcifront.h>
#include <xenvf/model.h>
#include <xenvf/xs.h>

#include "xenvfd.h"

typedef struct agent agent;
typedef struct agent_pf agent_pf;

typedef struct agent_backend {
    const char *name;
    /* Give VF vf (index < NumVFs) its resources and settings. */
    int (*vf_setup)(agent *a, agent_pf *pf, const xenvf_vf *vf, xenvf_err *err);
} agent_backend;

struct agent_pf {
    char *id;
    xenvf_pf rec; /* the TCB's record, as read from xenstore */
    bool have_rec;
    bool gone;  /* not in sysfs */
    bool bound; /* the PF driver is bound */
    bool was_bound;
    xenvf_pf_state state; /* what the agent last wrote */
    bool state_written;
    const agent_backend *be;
    size_t nr_vfs;
    bool *dirty;              /* VF needs (re)setup */
    bool *ok;                 /* VF set up */
    xenvf_vf_config *applied; /* what was applied, to notice changes */
    /* NIC VF counters as last published (agent_net_publish_stats) */
    xenvf_vf_stats *stats_pub;
    size_t nr_stats_pub;
    bool stats_warned; /* a failure to read or publish them was logged */
};

struct agent {
    const xenvfd_config *cfg;
    uint32_t domid; /* --domid, or our xenstore "domid" node */
    xenvf_xs xs;
    size_t nr_pfs;
    agent_pf *pfs;
    bool all_pfs; /* serve every PF whose owner is us, as published */
    xenvfd_devwatch dw;
    bool dw_on;
    int stats_fd; /* timerfd of the NIC counters, -1 until a NIC PF */
    /* the retry of VFs a PF driver did not take (a degraded PF): a
     * one-shot timerfd, -1 until needed; the delay doubles from
     * AGENT_RETRY_MIN_S to AGENT_RETRY_MAX_S while nothing gets better */
    int retry_fd;
    unsigned retry_s;
    bool retry_pending;
};

#define AGENT_RETRY_MIN_S 2
#define AGENT_RETRY_MAX_S 60

void agent_init(agent *a, const xenvfd_config *cfg);
int agent_start(agent *a, xenvf_err *err);
void agent_dispose(agent *a);
/* SIGHUP: re-read every PF and set up every VF again. */
void agent_rescan(agent *a);

extern const agent_backend agent_backend_generic;
extern const agent_backend agent_backend_nvme;
extern const agent_backend agent_backend_net;

/* ---- NVMe (agent_nvme.c) ------------------------------------------------ */

/* Admin commands go through libxenvf's transport (xenvf/nvme.h: tests
 * replace it with xenvf_nvme_set_transport). */

/* One secondary controller, from Identify CNS 0x15. */
typedef struct agent_nvme_sec {
    uint16_t scid; /* controller id */
    bool online;
    uint16_t vfn; /* VF number, 1-based */
    uint16_t nvq, nvi;
} agent_nvme_sec;

/* Parse a 4096-byte Secondary Controller List into up to max entries. */
size_t agent_nvme_parse_seclist(const uint8_t *buf, agent_nvme_sec *out,
                                size_t max);
/* Bring VF vfn (1-based)'s secondary controller online with nvq/nvi
 * flexible resources, on an open controller fd; in_use forbids taking an
 * online controller offline. */
int agent_nvme_setup_vf(int fd, uint16_t vfn, unsigned nvq, unsigned nvi,
                        bool in_use, xenvf_err *err);
/* Give secondary controller scid the namespaces in l, through the PF's
 * controller fd: each must exist with at least its size, or is created when
 * the controller has Namespace Management; then it is attached ("already
 * attached" is success). Stops at the first failure. */
int agent_nvme_setup_ns(int fd, uint16_t scid, const xenvf_ns_list *l,
                        xenvf_err *err);
/* Detach from secondary controller scid every namespace `was` lists and
 * `now` does not ("not attached" is success); with held (the VF is passed
 * through to a domain) refuse instead, sending nothing. */
int agent_nvme_detach_dropped_ns(int fd, uint16_t scid,
                                 const xenvf_ns_list *was,
                                 const xenvf_ns_list *now, bool held,
                                 xenvf_err *err);

/* ---- NIC (agent_net.c) -------------------------------------------------- */

/* Apply a VF's settings to netdev ifname (the PF's). Unset values are left
 * alone. */
int agent_net_apply(const char *ifname, unsigned vf_index,
                    const xenvf_vf_config *c, xenvf_err *err);

struct nl_msg;
/* Does PF driver `driver` fill IFLA_VF_STATS (ndo_get_vf_stats)? The kernel
 * reports zeros there for a driver that does not. */
bool agent_net_driver_gives_vf_stats(const char *driver);
/*
 * The counters of VFs 0..nr-1 from an RTM_NEWLINK message of their PF (a
 * reply to RTEXT_FILTER_VF): out[i] is GIVEN with the counters the
 * message has when driver_gives, NOT_GIVEN when the VF is listed but its
 * driver gives none (or the message has no IFLA_VF_STATS for it), UNKNOWN
 * when the message does not list it. libnl decodes the message
 * (rtnl_link_vf_get_stat); the drops, which libnl 3.7 does not decode,
 * are read with libnl's attribute parser. Fuzzed (fuzz_vf_stats_nl).
 */
int agent_net_decode_vf_stats(struct nl_msg *msg, bool driver_gives,
                              xenvf_vf_stats *out, size_t nr, xenvf_err *err);
/*
 * Read back from an RTM_NEWLINK message of the PF (a reply to
 * RTEXT_FILTER_VF) each NIC setting c sets on VF vf_index: 0 when the
 * kernel reports every one as c has it, else XENVF_EIO naming the first
 * setting that did not stay set, the driver and what it reports (a VF
 * the message does not list: nothing can be read back). A VLAN not listed
 * reads as 0.
 */
int agent_net_check_vf(struct nl_msg *msg, unsigned vf_index,
                       const xenvf_vf_config *c, const char *driver,
                       xenvf_err *err);
/* The same, asked of the kernel for netdev ifname. */
int agent_net_read_vf_stats(const char *ifname, bool driver_gives,
                            xenvf_vf_stats *out, size_t nr, xenvf_err *err);
/* Publish the PF's VF counters (what changed) under its VFs' nodes; the
 * first call arms a timer that does it every cfg->stats_interval_s for
 * every NIC PF the agent serves. Failures are logged, once per PF. */
void agent_net_publish_stats(agent *a, agent_pf *pf);

#endif
