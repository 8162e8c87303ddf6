/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The trusted component (xenvfd --role=tcb, dom0): owns the VF map, is the
 * only writer of NumVFs, makes VFs assignable (pciback), hands them out
 * over the reservation socket, keeps active-VF counts from domain
 * lifetimes, and persists what it must to survive any restart.
 *
 *   tcb.c         the TCB's records, reconcile, publish
 *   tcb_map.c     watch the map file (inotify) and load it
 *   tcb_plan.c    pure planner
 *   tcb_apply.c   the sysfs steps
 *   tcb_domains.c domain lifetimes: @releaseDomain, rescans, FLR
 *   tcb_server.c  the reservation socket
 *   tcb_state.c   persistence under the state directory
 *   tcb_flask.c   XSM/FLASK labels that follow the published state
 */
#ifndef XENVFD_TCB_H
#define XENVFD_TCB_H

#include <xenvf/flask.h>
#include <xenvf/map.h>
#include <xenvf/model.h>
#include <xenvf/proto.h>
#include <xenvf/xs.h>

#include "tcb_plan.h"
#include "xenvfd.h"

/* One VF as the TCB records it. */
typedef struct tcb_vf {
    xenvf_vf_state state;
    uint32_t domid;      /* committed domain, XENVF_DOMID_NONE otherwise */
    char *domain;        /* holder's name while reserved/active/resetting */
    unsigned long conn;  /* reserving connection while RESERVED, else 0 */
    xenvf_vf_config req; /* settings asked for at reserve */
    char *old_driver;    /* bound before pciback, restored by no one yet */
    bool bdf_known;
    xenvf_bdf bdf;
    bool bound; /* bound to the assignable driver at the last look */
    /* libxl's PCI backend listed it for its holder (since this start) */
    bool seen_in_libxl;
    const char *flask_type; /* FLASK label applied, NULL: none yet */
} tcb_vf;

/* One PF of the map in force. */
typedef struct tcb_pf {
    char *id;
    xenvf_bdf bdf;
    bool present;
    /* the domain running its driver now: the map's owner, a name followed
     * to its domid (XENVF_DOMID_NONE while that domain is not running) */
    uint32_t owner_domid;
    unsigned total_vfs, num_vfs;
    size_t nr_vfs; /* TotalVFs entries once discovered */
    tcb_vf *vfs;
    /* an interrupted NumVFs change (persisted): the autoprobe to restore */
    bool intent;
    unsigned intent_from, intent_to;
    int intent_autoprobe;
    /* what xenstore holds now, for delta publishing */
    bool published;
    xenvf_pf pub;
    const char *flask_type; /* FLASK label applied, NULL: none yet */
    unsigned flask_irq;     /* its INTx, labelled with it (0: none) */
} tcb_pf;

typedef struct tcb_client tcb_client;

/* A domain whose guest-request nodes vf/0..nr-1/request the TCB watches. */
typedef struct tcb_req_watch {
    uint32_t domid;
    unsigned nr;
} tcb_req_watch;

#define TCB_TOKEN_REQUEST "xenvfd-guest-request"

typedef struct tcb {
    const xenvfd_config *cfg;
    xenvf_xs xs;
    xenvf_map map; /* the map in force (accepted) */
    size_t nr_pfs;
    tcb_pf *pfs; /* one per map PF, in map order */
    /* map file watch */
    int map_ino_fd;
    int map_dir_wd;
    /* reservation socket */
    int listen_fd;
    tcb_client *clients;
    unsigned long next_conn;
    xenvfd_devwatch dw;
    bool dw_on;
    bool state_loaded;          /* a state file existed at start */
    xenvf_flask flask;          /* probed at start; labels only when active */
    tcb_req_watch *req_watches; /* tcb_requests.c */
    size_t nr_req_watches;
} tcb;

/* tcb_requests.c: the guest's channel for VF settings. sync watches the
 * request node of every VF a domain holds (call after holders change);
 * event handles a watch event on one. */
void tcb_requests_sync(tcb *t);
void tcb_request_event(tcb *t, const char *path);

/* tcb.c: lifetime and reconcile */
void tcb_init(tcb *t, const xenvfd_config *cfg);
/* Connect, restore state, reconcile, start listening. */
int tcb_start(tcb *t, xenvf_err *err);
void tcb_dispose(tcb *t);
tcb_pf *tcb_find_pf(tcb *t, const char *id);
/* Load the map file and reconcile to it; a refused or broken map leaves
 * everything as it is and says why. rc is the refusal's. */
int tcb_reload(tcb *t, xenvf_err *err);
/* SIGHUP: rescan domains and hardware, reload the map. */
void tcb_rescan(tcb *t);
/* Publish one PF (delta against what was published). */
int tcb_publish(tcb *t, tcb_pf *pf, xenvf_err *err);
/* The model view of a PF, as published. */
int tcb_pf_model(tcb *t, const tcb_pf *pf, xenvf_pf *out, xenvf_err *err);
/* The map's settings for a VF, overlaid with what the holder asked for. */
int tcb_vf_config(tcb *t, const tcb_pf *pf, unsigned index,
                  xenvf_vf_config *out, xenvf_err *err);
void tcb_vf_clear_holder(tcb_vf *vf);
/* The one place a VF's state changes (loading the state file aside). A
 * step of the model's state machine (lib/model.c) is taken and logged at
 * debug level; any other is refused and logged as the bug it is. */
bool tcb_vf_step(tcb_pf *pf, size_t index, xenvf_vf_state to);
/* A state the machine has no step to, taken because what is there says
 * so (a repair, an undo): logged with why. A legal step is just taken. */
void tcb_vf_recover(tcb_pf *pf, size_t index, xenvf_vf_state to,
                    const char *why);
/* A device event from devwatch. */
void tcb_device_event(void *opaque, const char *bdf, const char *action);

/* tcb_map.c */
int tcb_map_watch_start(tcb *t, xenvf_err *err);
void tcb_map_watch_stop(tcb *t);
/* Parse and check the map file; XENVF_ENOENT when there is none. */
int tcb_map_load(tcb *t, xenvf_map *out, xenvf_err *err);

/* tcb_apply.c */
int tcb_apply_plan(tcb *t, const tcb_plan *plan);
int tcb_apply_numvfs(tcb *t, tcb_pf *pf, unsigned from, unsigned to,
                     xenvf_err *err);
int tcb_apply_bind(tcb *t, tcb_pf *pf, unsigned index, xenvf_err *err);
/* FLR of a VF whose domain is gone, then free: persisted around it. */
int tcb_apply_reset(tcb *t, tcb_pf *pf, unsigned index, xenvf_err *err);
/* Re-read a PF's hardware: presence, TotalVFs, NumVFs, VF addresses. */
int tcb_probe_pf(tcb *t, tcb_pf *pf, xenvf_err *err);
/* The PF's driver where the map's owner says: a PF whose driver runs in a
 * driver domain is handed to the assignable driver once NumVFs is set (as
 * xl pci-assignable-add would, with its reset methods off), one whose
 * owner is dom0 again is given back to the driver it had. Logs what it
 * does or why it cannot yet. */
void tcb_apply_owner(tcb *t, tcb_pf *pf);
/* Is VF index bound to the assignable driver now? */
bool tcb_vf_bound(tcb *t, const tcb_pf *pf, unsigned index);

/* tcb_domains.c */
int tcb_domains_start(tcb *t, xenvf_err *err);
/* Every held VF whose domain is gone: reset and free. */
void tcb_domains_check(tcb *t);
/* Startup: VFs that domains hold per xenstore but the state file lacks,
 * then a repair. */
void tcb_domains_adopt(tcb *t);
/* The books against libxl's PCI nodes (libxl_nodes.h): a VF libxl gave a
 * live domain is that domain's (adopted); a VF a live domain held and
 * libxl took back (pci-detach) is reset and free. One log line for each
 * difference. */
void tcb_domains_repair(tcb *t);
/* Release everything domain (name or domid) holds; *nr_out how many. */
int tcb_release_domain(tcb *t, const char *name, uint32_t domid,
                       unsigned *nr_out, xenvf_err *err);
void tcb_xs_event(void *opaque, int fd, short revents);
/* Follow each map owner given by name to the domid it runs as now; a PF
 * whose owner changed is published (its state goes back to unknown).
 * publish: publish the PFs that changed here (false: the caller will). */
void tcb_owners_resolve(tcb *t, bool publish);

/* tcb_server.c */
int tcb_server_start(tcb *t, xenvf_err *err);
void tcb_server_stop(tcb *t);
/* Reserve every VF req asks for, for connection conn, or none: each
 * picked, taken, labelled for its guest (a label FLASK refuses undoes the
 * reservation, its message naming the device and the label), published;
 * resp gets the grants. */
int tcb_reserve(tcb *t, unsigned long conn, const xenvf_request *req,
                xenvf_response *resp, xenvf_err *err);

/* tcb_state.c */
/* Persist every record atomically (temp, fsync, rename, fsync dir). */
int tcb_state_save(tcb *t, xenvf_err *err);
/* Restore records into t's PFs; XENVF_ENOENT when there is no state. */
int tcb_state_load(tcb *t, xenvf_err *err);
/* The same from the file's text (path names it in messages); fuzzed. */
int tcb_state_load_text(tcb *t, const char *path, const char *text,
                        xenvf_err *err);
/* The map in force, kept in the state directory. */
int tcb_state_save_map(tcb *t, xenvf_err *err);
int tcb_state_load_map(tcb *t, xenvf_map *out, xenvf_err *err);

/* tcb_flask.c */
/* Ask the hypervisor once whether FLASK is active (said once in the log). */
void tcb_flask_start(tcb *t);
/* Give the PF and each of its VFs the label its published state calls for
 * (a held VF the guest VF type, a free one the pool type); only changes
 * reach the hypervisor, and nothing does unless FLASK is active. */
int tcb_flask_sync(tcb *t, tcb_pf *pf, xenvf_err *err);

#endif
