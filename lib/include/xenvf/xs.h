/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The xenstore schema: where xenvf publishes PF and VF state, with which
 * permissions, and blocking watch helpers. docs/xenstore-paths.md is the
 * reference for every node.
 *
 *   /xenvf/pf/<id>/{state,owner,bdf,totalvfs,numvfs,active}
 *   /xenvf/pf/<id>/vf/<n>/{bdf,domain,state,mac,vlan,trust,spoofchk,rate,
 *                          namespaces,stats}
 *   /xenvf/stats/{gate/<pf>,reconcile}/...
 *   /local/domain/<domid>/xenvf/vf/<local>/{pf,index,bdf,function,boot,mac}
 *
 * Permissions: everything under /xenvf/pf/<id> is owned by dom0 and hidden
 * from other domains, except that the PF's owner (its driver domain) may
 * read the subtree and write `state` and its VFs' `stats`. A guest may read
 * its own /local/domain/<domid>/xenvf subtree and nothing else of ours.
 */
#ifndef XENVF_XS_H
#define XENVF_XS_H

#include <stdbool.h>
#include <stdint.h>

#include <xenvf/err.h>
#include <xenvf/model.h>

struct xs_handle;

#define XENVF_XS_ROOT     "/xenvf"
#define XENVF_XS_PFS      XENVF_XS_ROOT "/pf" /* one directory per PF */
#define XENVF_XS_PATH_MAX 256

/* The path of a PF's node: /xenvf/pf/<id> followed by what fmt adds (""
 * for the PF itself, "/state", "/vf/%u"); returns its length. */
int xenvf_xs_pf_path(char buf[XENVF_XS_PATH_MAX], const char *pf_id,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The path of what a guest learns: /local/domain/<domid>/xenvf followed by
 * what fmt adds ("" , "/vf", "/vf/%u/status"); returns its length. */
int xenvf_xs_guest_path(char buf[XENVF_XS_PATH_MAX], uint32_t domid,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Is path a node of a guest's VF, /local/domain/<domid>/xenvf/vf/<n>/<leaf>?
 * Then its parts (*leaf points into path). */
bool xenvf_xs_parse_guest_vf_path(const char *path, uint32_t *domid,
                                  unsigned *local, const char **leaf);

/* A xenstore connection plus a count of the requests made through it
 * (benchmarks and tests use it to show publishing costs O(changes)). */
typedef struct xenvf_xs {
    struct xs_handle *h;
    unsigned long nr_requests;
} xenvf_xs;

void xenvf_xs_init(xenvf_xs *xs);
/* Connect (xs_open: the socket in dom0, or /dev/xen/xenbus in a domU). */
int xenvf_xs_open(xenvf_xs *xs, xenvf_err *err);
/* Close and re-init; harmless on a closed handle. */
void xenvf_xs_dispose(xenvf_xs *xs);

/* Create /xenvf and /xenvf/pf owned by dom0, hidden from every domain. */
int xenvf_xs_setup_root(xenvf_xs *xs, xenvf_err *err);

/*
 * Publish a PF and its VFs in one transaction. With prev == NULL every node
 * is written and its permissions set (first publish, or a restart); with
 * prev (what was last published for this PF) only changed nodes are
 * written, and VF nodes past pf->nr_vfs are removed.
 */
int xenvf_xs_publish_pf(xenvf_xs *xs, const xenvf_pf *pf, const xenvf_pf *prev,
                        xenvf_err *err);
int xenvf_xs_remove_pf(xenvf_xs *xs, const char *pf_id, xenvf_err *err);
/* The PF agent's write: only `state`. Refused (XENVF_EPERM) for others. */
int xenvf_xs_set_pf_state(xenvf_xs *xs, const char *pf_id, xenvf_pf_state state,
                          xenvf_err *err);
int xenvf_xs_get_pf_state(xenvf_xs *xs, const char *pf_id, xenvf_pf_state *out,
                          xenvf_err *err);
/* One of a published PF's own leaves ("totalvfs", "bdf", ...) into *out
 * (init'ed by the caller): one request. XENVF_ENOENT when it is not
 * published. */
int xenvf_xs_read_pf_leaf(xenvf_xs *xs, const char *pf_id, const char *leaf,
                          xenvf_pf *out, xenvf_err *err);
/* Read a published PF back into *out (init'ed by the caller). */
int xenvf_xs_read_pf(xenvf_xs *xs, const char *pf_id, xenvf_pf *out,
                     xenvf_err *err);
/* Only the PF's own nodes (state, owner, bdf, totalvfs, numvfs), not its
 * VFs: O(1) requests however many VFs it has. XENVF_ENOENT when absent. */
int xenvf_xs_read_pf_head(xenvf_xs *xs, const char *pf_id, xenvf_pf *out,
                          xenvf_err *err);
/* The ids under /xenvf/pf, sorted; free each and the array. */
int xenvf_xs_list_pfs(xenvf_xs *xs, char ***ids_out, unsigned *nr_out,
                      xenvf_err *err);

/* Any node, for readers such as the CLI: *value_out is NULL (and rc 0)
 * when the node does not exist; free() it. */
int xenvf_xs_read(xenvf_xs *xs, const char *path, char **value_out,
                  xenvf_err *err);
/* A directory's children: *ents_out is NULL and *nr_out 0 when the node
 * does not exist; *ents_out is one allocation: free() it once. */
int xenvf_xs_directory(xenvf_xs *xs, const char *path, char ***ents_out,
                       unsigned *nr_out, xenvf_err *err);

/* What a guest learns about one of its VFs. */
typedef struct xenvf_guest_vf {
    unsigned local_index; /* 0.. in the order of the guest's vf= list */
    char *pf_id;
    unsigned vf_index;
    xenvf_bdf bdf;
    xenvf_vf_config config; /* function, boot, mac are published */
} xenvf_guest_vf;

void xenvf_guest_vf_init(xenvf_guest_vf *g);
void xenvf_guest_vf_dispose(xenvf_guest_vf *g);
/* Publish a new domain's VFs under /local/domain/<domid>/xenvf, all in
 * one transaction. */
int xenvf_xs_publish_guest(xenvf_xs *xs, uint32_t domid,
                           const xenvf_guest_vf *vfs, size_t nr,
                           xenvf_err *err);
int xenvf_xs_remove_guest(xenvf_xs *xs, uint32_t domid, xenvf_err *err);
/* The most vf/<n> entries a domain's nodes have (n below this). */
#define XENVF_GUEST_VFS_MAX 256
/* Which vf/<n> of domid's nodes is PF pf_id's VF vf_index: *local (-1
 * when none is), and *unused the lowest n that none has (where another
 * goes; XENVF_ERANGE when every n is taken). */
int xenvf_xs_find_guest_vf(xenvf_xs *xs, uint32_t domid, const char *pf_id,
                           unsigned vf_index, int *local, unsigned *unused,
                           xenvf_err *err);
/* What the guest's xenvf-guest reported for PF pf_id's VF vf_index, which
 * domid holds (its vf/<n>/status): *out NULL when the guest has no such
 * node or said nothing yet. Guest-written: quote it before showing it. */
int xenvf_xs_read_guest_status(xenvf_xs *xs, uint32_t domid, const char *pf_id,
                               unsigned vf_index, char **out, xenvf_err *err);

/* Generic watch helpers: add/remove a watch, and wait for the next event
 * (path and token are malloc'ed; free them). */
int xenvf_xs_watch(xenvf_xs *xs, const char *path, const char *token,
                   xenvf_err *err);
int xenvf_xs_unwatch(xenvf_xs *xs, const char *path, const char *token,
                     xenvf_err *err);
int xenvf_xs_wait_event(xenvf_xs *xs, int timeout_ms, char **path_out,
                        char **token_out, xenvf_err *err);
/* The descriptor that becomes readable when a watch event is queued, for
 * callers that poll(2) it together with their own (a signalfd); drain with
 * xenvf_xs_wait_event(xs, 0, ...) until it says XENVF_ETIMEDOUT. -1 when
 * not connected. */
int xenvf_xs_fileno(xenvf_xs *xs);

/* Pure value parsers (what a monitoring tool reads back), fuzzed. */
/* Domain node value: "" (held by nobody) or a decimal domid <
 * DOMID_FIRST_RESERVED. */
int xenvf_xs_parse_domid(const char *s, uint32_t *out, xenvf_err *err);
/* Apply one node of /xenvf/pf/<id> (leaf "state", "numvfs", ...) or of a
 * VF ("vf/<n>/<leaf>") to *pf; VFs are added as their indexes appear.
 * Unknown leaves are ignored (forward compatibility). */
int xenvf_xs_apply_pf_node(xenvf_pf *pf, const char *rel_path,
                           const char *value, xenvf_err *err);

/* ---- generic helpers: the daemon's event loop and rescans --------------- */

/* The next pending watch event without blocking: 0 with *path_out NULL when
 * none is queued (path and token are malloc'ed; free them). */
int xenvf_xs_next_event(xenvf_xs *xs, char **path_out, char **token_out,
                        xenvf_err *err);
int xenvf_xs_write(xenvf_xs *xs, const char *path, const char *value,
                   xenvf_err *err);
/* A node and everything under it; one that does not exist is no error. */
int xenvf_xs_remove(xenvf_xs *xs, const char *path, xenvf_err *err);
/*
 * /xenvf/handover/<pf id>: the driver dom0 had on a PF the TCB handed to
 * the assignable driver for its driver domain (dom0 only). It lives as
 * long as that binding (xenstore, like the binding, does not survive a
 * host restart): the TCB gives a PF back only if it handed it over.
 * Reading a missing note gives *driver_out NULL.
 */
int xenvf_xs_note_handover(xenvf_xs *xs, const char *pf_id, const char *driver,
                           xenvf_err *err);
int xenvf_xs_read_handover(xenvf_xs *xs, const char *pf_id, char **driver_out,
                           xenvf_err *err);
int xenvf_xs_forget_handover(xenvf_xs *xs, const char *pf_id, xenvf_err *err);

/* Does xenstored still know domain domid (XS_IS_DOMAIN_INTRODUCED)? A
 * destroyed domain is not; a shut-down one that is not yet destroyed is. */
int xenvf_xs_domain_introduced(xenvf_xs *xs, uint32_t domid, bool *out,
                               xenvf_err *err);
/*
 * Read one node under /xenvf/pf/<pf->id> (a watch event's path) and apply
 * it to *pf (xenvf_xs_apply_pf_node): O(1) requests per event instead of
 * re-reading the PF. *gone is set when the node does not exist (removed);
 * a removed VF setting (mac, vlan, ..., namespaces) is unset in *pf.
 */
int xenvf_xs_read_pf_node(xenvf_xs *xs, const char *path, xenvf_pf *pf,
                          bool *gone, xenvf_err *err);

/* A NIC VF's counters (vf_stats.h), by the PF agent: written to
 * /xenvf/pf/<id>/vf/<n>/stats. The agent in dom0 may; one in a driver
 * domain may where the TCB gave it the node (xenstore-paths.md). */
int xenvf_xs_publish_vf_stats(xenvf_xs *xs, const char *pf_id, unsigned index,
                              const xenvf_vf_stats *s, xenvf_err *err);

/* ---- /xenvf/stats: counters for xenvf metrics ---------------------------
 *
 * Kept by the component that sees the event, in xenstore so that a reader
 * (xenvf metrics) needs nothing but dom0's xenstore: the gate's waits by
 * the libxl plugin inside each xl (a process that lives for one command),
 * the reconciles by the TCB. Every count is added inside a transaction
 * (concurrent xl processes do not lose counts) and never reset by the
 * writer: a restarted xenvfd goes on from the values there; xenstored's
 * restart (a host boot) is the counters' reset.
 *
 *   /xenvf/stats/gate/<pf>/{ready,timeout,failed,cancelled,destroyed,
 *                           error,sum_ms,le_<ms>...}
 *   /xenvf/stats/reconcile/{runs,refused,failed_steps,skipped,sum_ms}
 */
#define XENVF_XS_STATS XENVF_XS_ROOT "/stats"

/* How a gate wait ended (gate_wait's outcome), one counter each. */
typedef enum xenvf_gate_result {
    XENVF_GATE_READY,     /* every PF ready: the domain was unpaused */
    XENVF_GATE_TIMEOUT,   /* a PF not ready by its deadline */
    XENVF_GATE_FAILED,    /* a PF went failed */
    XENVF_GATE_CANCELLED, /* xl was interrupted */
    XENVF_GATE_DESTROYED, /* the domain was destroyed while it waited */
    XENVF_GATE_ERROR,     /* xenstore or libxl failed */
    XENVF_GATE_NR_RESULTS,
} xenvf_gate_result;

const char *xenvf_gate_result_name(xenvf_gate_result r);

/* The upper bounds of the wait-duration histogram's buckets, in ms. */
#define XENVF_GATE_NR_BUCKETS 10
extern const unsigned xenvf_gate_bucket_ms[XENVF_GATE_NR_BUCKETS];

typedef struct xenvf_gate_stats {
    uint64_t waits[XENVF_GATE_NR_RESULTS];
    uint64_t sum_ms;                    /* the waits' durations added up */
    uint64_t le[XENVF_GATE_NR_BUCKETS]; /* waits of <= xenvf_gate_bucket_ms */
} xenvf_gate_stats;

/* One gate wait on pf_id that ended as r after elapsed_ms. */
int xenvf_xs_count_gate_wait(xenvf_xs *xs, const char *pf_id,
                             xenvf_gate_result r, int64_t elapsed_ms,
                             xenvf_err *err);
/* The PFs that have gate counters (sorted; free each and the array), and
 * one PF's counters (zeros for nodes that are not there). */
int xenvf_xs_list_gate_stats(xenvf_xs *xs, char ***ids_out, unsigned *nr_out,
                             xenvf_err *err);
int xenvf_xs_read_gate_stats(xenvf_xs *xs, const char *pf_id,
                             xenvf_gate_stats *out, xenvf_err *err);

typedef struct xenvf_reconcile_stats {
    uint64_t runs;         /* reconciles attempted */
    uint64_t refused;      /* ended with an error: nothing applied */
    uint64_t failed_steps; /* steps (NumVFs, bind, reset) that failed */
    uint64_t skipped;      /* conflicts a rescan left as they were */
    uint64_t sum_ms;       /* the reconciles' durations added up */
} xenvf_reconcile_stats;

/* Add *delta to the TCB's reconcile counters. */
int xenvf_xs_count_reconcile(xenvf_xs *xs, const xenvf_reconcile_stats *delta,
                             xenvf_err *err);
/* *present false (and zeros) when no TCB ever counted here. */
int xenvf_xs_read_reconcile_stats(xenvf_xs *xs, xenvf_reconcile_stats *out,
                                  bool *present, xenvf_err *err);

#endif
