/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf: the administrator's command line (docs/xenvf.md, xenvf(1)).
 *
 * Three sources describe the machine and the CLI merges them (view.c):
 * the VF map (what the administrator wants), SR-IOV discovery through
 * sysfs (what the hardware has) and xenstore /xenvf (what the TCB and the
 * PF agents say is live). Read commands show them; edit commands change
 * only the map, under its lock, and leave applying it to xenvfd.
 */
#ifndef XENVF_CLI_H
#define XENVF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <yajl/yajl_gen.h>

#include <xenvf/err.h>
#include <xenvf/map.h>
#include <xenvf/sriov.h>
#include <xenvf/xs.h>

/* Exit codes (documented in xenvf(1)). */
enum {
    XV_EXIT_OK = 0,
    XV_EXIT_ERROR = 1, /* the command failed or was refused: nothing changed */
    XV_EXIT_USAGE = 2, /* bad command line */
    XV_EXIT_TCB = 3,   /* status: xenvfd (tcb) is not reachable */
};

#define XV_MAP_DEFAULT "/etc/xen/xenvf.xml"
/* How long status waits for the TCB to answer a ping. */
#define XV_PING_TIMEOUT_MS 2000

/* Global options, from the command line. */
typedef struct xv_ctx {
    const char *map_path;
    const char *sysfs_root;  /* NULL: /sys */
    const char *socket_path; /* NULL: $XENVF_TCB_SOCKET or the default */
    bool json;
    int verbose;
} xv_ctx;

/* ---- messages (main.c) ---------------------------------------------- */

/* "xenvf: <msg>" on stderr: what failed, naming the object. */
void xv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "xenvf: warning: <msg>" on stderr. */
void xv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message, then "see 'xenvf help CMD'". Returns
 * XV_EXIT_USAGE. */
int xv_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An unknown option at argv[optind - 1] (getopt's optopt set): usage. */
int xv_bad_option(const char *cmd, const char *arg);
/* Parse the options of a command that has none but --help (and --json
 * when json_ok: the read commands). Returns -1 to go on (*first_arg set),
 * or an exit code. */
int xv_parse_common(xv_ctx *ctx, const char *cmd, bool json_ok, int argc,
                    char **argv, int *first_arg);
/* Print a command's help to f. */
void xv_help_command(const char *cmd, FILE *f);

/* ---- commands ------------------------------------------------------- */

int xv_cmd_list(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_show(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_assign(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_release(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_set_numvfs(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_status(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_watch(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_check(xv_ctx *ctx, int argc, char **argv);
int xv_cmd_metrics(xv_ctx *ctx, int argc, char **argv);

/* Ping xenvfd (tcb) on its socket (cmd_status.c): 0 when it answered. */
int xv_tcb_ping(const xv_ctx *ctx, int timeout_ms, xenvf_err *err);
/* The socket path the client uses: --socket, $XENVF_TCB_SOCKET, default. */
const char *xv_tcb_socket(const xv_ctx *ctx);

/* ---- the merged view (view.c) --------------------------------------- */

/* One VF as the three sources see it. */
typedef struct xv_vf {
    unsigned index;
    bool bdf_known;
    xenvf_bdf bdf;
    const xenvf_map_vf *map_vf; /* listed in the map, or NULL */
    const xenvf_vf *xs_vf;      /* published in xenstore, or NULL */
    bool exists;                /* index < NumVFs now (hardware or xs) */
    const char *holder_name;    /* /local/domain/<domid>/name, or NULL */
    char *guest_status; /* what the holder's xenvf-guest said, or NULL */
} xv_vf;

/* One PF: a row of `xenvf list`. Pointers point into the view. */
typedef struct xv_pf {
    const char *id; /* map id, else xenstore id, else NULL (unmanaged) */
    xenvf_bdf bdf;
    const xenvf_map_pf *map_pf;           /* NULL: not in the map */
    const xenvf_sriov_info *hw;           /* NULL: not discovered */
    const xenvf_pf *xs_pf;                /* NULL: not published */
    long totalvfs, numvfs;                /* -1: unknown */
    long map_numvfs;                      /* -1: not in the map */
    long nr_free, nr_reserved, nr_active; /* from xenstore; -1: unknown */
    long nr_assigned;                     /* VFs the map gives to domains; -1 */
    size_t nr_vfs;
    xv_vf *vfs; /* filled by xv_view_vfs() */
} xv_pf;

typedef struct xv_domname {
    uint32_t domid;
    char *name; /* NULL: none in xenstore */
} xv_domname;

typedef struct xv_view {
    /* the map */
    xenvf_map map;
    bool map_present;    /* the file exists */
    bool map_ok;         /* parsed and checked */
    xenvf_err map_err;   /* why not, when present and not ok */
    bool map_hw_checked; /* map_ok and discovery worked */
    int map_hw_rc;       /* xenvf_map_check_hw's verdict */
    xenvf_err map_hw_err;
    /* discovery */
    xenvf_sriov_info *hw;
    size_t nr_hw;
    bool hw_ok;
    xenvf_err hw_err;
    /* xenstore */
    xenvf_xs xs;
    bool xs_ok;
    xenvf_err xs_err;
    xenvf_pf *xs_pfs;
    size_t nr_xs_pfs;
    xv_domname *names;
    size_t nr_names;
    /* what could be read only in part (a PF xenstore has bad values for) */
    char **warnings;
    size_t nr_warnings;
    /* merged, sorted by BDF */
    xv_pf *pfs;
    size_t nr_pfs;
} xv_view;

void xv_view_init(xv_view *v);
void xv_view_dispose(xv_view *v);
/*
 * Read every source and merge. A source that cannot be read is recorded
 * (map_ok, hw_ok, xs_ok and their errors), never fatal: the caller decides
 * whether to warn. Fails only on ENOMEM.
 */
int xv_view_load(xv_view *v, const xv_ctx *ctx, xenvf_err *err);
/* xv_view_init and xv_view_load for a command: on failure the error is
 * printed and XV_EXIT_ERROR returned (the view is still disposable). */
int xv_view_open(xv_view *v, const xv_ctx *ctx);
/* Say on stderr which sources could not be read (list, show). */
void xv_view_warn(const xv_view *v, const xv_ctx *ctx);
/* Fill pf->vfs: every VF below the largest of NumVFs now, the map's
 * numvfs and what xenstore has. */
int xv_view_vfs(xv_view *v, xv_pf *pf, xenvf_err *err);
/* Find a PF by map/xenstore id or BDF text; NULL if none. */
xv_pf *xv_view_find(const xv_view *v, const char *spec);
/* The name of a domain from xenstore, cached; NULL if it has none. */
const char *xv_view_domain_name(xv_view *v, uint32_t domid);

/* The map against discovered PFs as xenvfd checks it (every PF present,
 * numvfs and VF indexes within what the kernel accepts):
 * xenvf_map_check_hw with sriov_totalvfs as TotalVFs. */
int xv_map_check_hw(const xenvf_map *map, const xenvf_sriov_info *found,
                    size_t nr_found, xenvf_err *err);

/* Is this VF held by a domain according to xenstore (reserved/active)? */
bool xv_vf_in_use(const xenvf_vf *xs_vf);

/* ---- map edits (mapedit.c) ------------------------------------------ */

/* A locked map being edited, with what the checks need. */
typedef struct xv_edit {
    const xv_ctx *ctx;
    xenvf_map_lock lock;
    xenvf_map map;
    bool map_new; /* the file does not exist yet */
    xv_view live; /* hardware and xenstore, for checks and warnings */
} xv_edit;

void xv_edit_init(xv_edit *e, const xv_ctx *ctx);
void xv_edit_dispose(xv_edit *e);
/* Take the map's lock (saying so if another writer holds it), parse the
 * map and read hardware and xenstore. allow_new: a missing map file is an
 * empty map (else an error). Prints its own errors; returns an exit code. */
int xv_edit_begin(xv_edit *e, bool allow_new);
/* Find a PF of the map by id or BDF text, or print why not (naming what
 * the other sources know of it) and return NULL. */
xenvf_map_pf *xv_edit_find_pf(xv_edit *e, const char *spec);
/* Check the edited PF against the hardware (where discovery works) and
 * write the map atomically under the lock. Returns an exit code. */
int xv_edit_commit(xv_edit *e, const xenvf_map_pf *edited);
/* The live view of a map PF (xenstore + hardware), or NULL. */
const xv_pf *xv_edit_live_pf(const xv_edit *e, const xenvf_map_pf *pf);
/* After a successful edit: warn if no TCB answers, since nothing applies
 * the map until one does. */
void xv_edit_tcb_hint(const xv_edit *e);

/* ---- arguments (args.c) --------------------------------------------- */

/* Split "PF#INDEX": *pf is malloc'ed, *index -1 when there is no '#'.
 * Returns 0, or an exit code after printing why. */
int xv_parse_pf_index(const char *cmd, const char *arg, char **pf, long *index);
/* A strict decimal in [0, max]; 0, or XV_EXIT_USAGE after saying why. */
int xv_parse_number(const char *cmd, const char *what, const char *s,
                    uint64_t max, uint64_t *out);
/* Is s a valid guest name for the map ([A-Za-z0-9_.-]{1,64})? */
bool xv_domain_name_valid(const char *s);
/* A copy of s fit for a terminal or JSON: bytes outside printable ASCII
 * become '?'. Never NULL for non-NULL s (aborts on ENOMEM). */
char *xv_clean(const char *s);

/* ---- output (output.c) ---------------------------------------------- */

/* A text table: left-aligned columns unless marked numeric, two spaces
 * apart, the header in capitals (as `xl list`). */
typedef struct xv_table {
    size_t nr_cols;
    const char *const *heads;
    const bool *right; /* right-align this column */
    size_t nr_rows, cap_rows;
    char **cells; /* nr_rows * nr_cols, malloc'ed strings */
    size_t cur;   /* cells filled in the current row */
} xv_table;

void xv_table_init(xv_table *t, size_t nr_cols, const char *const *heads,
                   const bool *right);
void xv_table_dispose(xv_table *t);
/* Add the next cell of the current row (a new row starts when the last
 * one is full). Aborts on ENOMEM: a CLI has nothing better to do. */
void xv_table_cell(xv_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xv_table_print(const xv_table *t, FILE *f);

/* "key                    : value" lines, as `xl info` prints them. */
void xv_kv(FILE *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* yajl generator with a sticky error and NULL-aware helpers. */
typedef struct xv_json {
    yajl_gen g;
    bool failed;
} xv_json;

/* pretty: indented (list, show, status); else one line (watch). */
void xv_json_init(xv_json *j, bool pretty);
void xv_json_dispose(xv_json *j);
void xv_json_key(xv_json *j, const char *key);
void xv_json_str(xv_json *j, const char *key, const char *v); /* NULL: null */
void xv_json_int(xv_json *j, const char *key, long long v);
void xv_json_int_or_null(xv_json *j, const char *key, long long v); /* <0 */
void xv_json_bool(xv_json *j, const char *key, bool v);
void xv_json_null(xv_json *j, const char *key);
void xv_json_open_map(xv_json *j, const char *key); /* key NULL: none */
void xv_json_close_map(xv_json *j);
void xv_json_open_array(xv_json *j, const char *key);
void xv_json_close_array(xv_json *j);
/* Write the document and a newline to f; returns an exit code. */
int xv_json_flush(xv_json *j, FILE *f);

/* One PF as a JSON object (list entries; show adds "vfs"). managed,
 * present and published are null when the view could not read the map,
 * sysfs or xenstore: unknown, not false. */
void xv_json_pf(xv_json *j, const xv_view *v, const xv_pf *pf, bool with_vfs);

/* Text helpers shared by list and show. */
const char *xv_pf_state_text(const xv_pf *pf); /* "ready", "-" */
/* The domid running the PF's driver now: what xenstore says (the TCB
 * follows a named owner), else the map's domid; -1: nobody or unknown. */
long xv_pf_owner_domid(const xv_pf *pf);
/* The driver domain the map names, or NULL. */
const char *xv_pf_owner_name(const xv_pf *pf);
/* A VF's settings as "mac=.. vlan=.. function=.. boot=.. ns=1:64M"; "" if
 * none. Writes into buf. */
const char *xv_vf_settings_text(const xv_vf *vf, char *buf, size_t size);
/* A NIC VF's traffic counters as the PF agent published them, for `xenvf
 * show`: "rx_packets=12 ...", "not given by the driver", "unreadable", or
 * NULL when nothing was published (not a NIC VF, no agent yet). */
const char *xv_vf_counters_text(const xv_vf *vf,
                                char buf[XENVF_VF_STATS_STR_MAX]);

#endif
