/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The model: physical functions, virtual functions, who holds them, and the
 * states each may be in. Every struct has an init/dispose pair (libxl style):
 * init puts it in a valid empty state, dispose frees what it owns and leaves
 * it re-initialised, so dispose twice is harmless.
 *
 * A VF's identity is (PF id, VF index), never a bare BDF: VF addresses are
 * derived from the PF's SR-IOV capability and move when NumVFs changes.
 */
#ifndef XENVF_MODEL_H
#define XENVF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/vf_stats.h>

#define XENVF_DOMID_NONE UINT32_MAX
#define XENVF_DOMID_MAX                                                        \
    0x7fefu /* DOMID_FIRST_RESERVED - 1: the last real domid */
#define XENVF_DOM0_NAME "Domain-0" /* what xl calls dom0 */
#define XENVF_ID_MAX    32 /* PF ids: [A-Za-z0-9_-]{1,32}, safe in xenstore */

/* PF lifecycle, published by the PF agent at /xenvf/pf/<id>/state. */
typedef enum xenvf_pf_state {
    XENVF_PF_UNKNOWN = 0, /* nobody has said anything yet */
    XENVF_PF_PROBING,     /* driver binding, VF resources being set up */
    XENVF_PF_READY,       /* driver bound, every configured VF has resources */
    XENVF_PF_DEGRADED,    /* usable, but some VFs lack resources */
    XENVF_PF_RESETTING,   /* PF reset or driver reload in progress */
    XENVF_PF_FAILED,      /* gone or broken; its VFs are unusable */
} xenvf_pf_state;

/* VF lifecycle, published by the TCB at /xenvf/pf/<id>/vf/<n>/state. */
typedef enum xenvf_vf_state {
    XENVF_VF_ABSENT = 0, /* index >= NumVFs: no such function right now */
    XENVF_VF_FREE,       /* exists, bound to pciback, held by nobody */
    XENVF_VF_RESERVED,   /* promised to a domain that is being built */
    XENVF_VF_ACTIVE,     /* passed through to a live domain */
    XENVF_VF_RESETTING,  /* its domain died: FLR before it is free again */
    XENVF_VF_FAILED,     /* reset failed or PF failed */
} xenvf_vf_state;

const char *xenvf_pf_state_name(xenvf_pf_state s);
const char *xenvf_vf_state_name(xenvf_vf_state s);
/* Parse the names above exactly (they are xenstore values). */
int xenvf_pf_state_parse(const char *s, xenvf_pf_state *out, xenvf_err *err);
int xenvf_vf_state_parse(const char *s, xenvf_vf_state *out, xenvf_err *err);

/* The state machines: is from -> to a legal step? (docs/architecture.md) */
bool xenvf_pf_state_step_ok(xenvf_pf_state from, xenvf_pf_state to);
bool xenvf_vf_state_step_ok(xenvf_vf_state from, xenvf_vf_state to);

/* NVMe namespaces of a storage VF: what the TCB publishes at
 * /xenvf/pf/<id>/vf/<n>/namespaces for the PF agent, which creates and
 * attaches them. */
#define XENVF_NS_MAX        64          /* per VF: bounds the node's value */
#define XENVF_NSID_MAX      0xfffffffeu /* 0 and ~0 are reserved by NVMe */
#define XENVF_NS_SIZE_ALIGN 512         /* the smallest NVMe LBA */
/* "NSID:BYTES" pairs, space-separated: at most 10 + 1 + 20 + 1 each. */
#define XENVF_NS_LIST_STR_MAX (XENVF_NS_MAX * 32)

typedef struct xenvf_ns {
    uint32_t nsid; /* 1..XENVF_NSID_MAX */
    uint64_t size; /* bytes: the least the namespace must hold */
} xenvf_ns;

typedef struct xenvf_ns_list {
    size_t nr;
    xenvf_ns *ns; /* ascending nsid when valid */
} xenvf_ns_list;

void xenvf_ns_list_init(xenvf_ns_list *l);
void xenvf_ns_list_dispose(xenvf_ns_list *l);
int xenvf_ns_list_copy(xenvf_ns_list *dst, const xenvf_ns_list *src,
                       xenvf_err *err);
/* Append one entry, unchecked (xenvf_ns_list_check says if it is valid). */
int xenvf_ns_list_add(xenvf_ns_list *l, uint32_t nsid, uint64_t size,
                      xenvf_err *err);
bool xenvf_ns_list_equal(const xenvf_ns_list *a, const xenvf_ns_list *b);
/* The rules of the published list: at most XENVF_NS_MAX entries, nsid in
 * 1..XENVF_NSID_MAX, strictly ascending (so no duplicates), size > 0 and a
 * multiple of XENVF_NS_SIZE_ALIGN. Messages name the entry (1-based). */
int xenvf_ns_list_check(const xenvf_ns_list *l, xenvf_err *err);
/*
 * The xenstore value "1:67108864 3:1048576" <-> a list. Parse is strict
 * (decimal, single spaces, no empty list: an absent node means none) and
 * applies xenvf_ns_list_check; *out is replaced only on success. Format
 * checks first, so the writer never publishes what the reader refuses.
 */
int xenvf_ns_list_parse(const char *s, xenvf_ns_list *out, xenvf_err *err);
int xenvf_ns_list_format(const xenvf_ns_list *l,
                         char buf[XENVF_NS_LIST_STR_MAX], xenvf_err *err);

/*
 * Per-VF settings, from the map or a vf= entry: one field per line of
 * XENVF_VF_SETTINGS (vf_settings.h, which defines their names, ranges and
 * every format). Unset: has_mac false, numbers -1, function NULL.
 */
typedef struct xenvf_vf_config {
    bool has_mac;
    uint8_t mac[6];
    int64_t vlan;      /* 0..4094 */
    int64_t trust;     /* 0/1 */
    int64_t spoofchk;  /* 0/1 */
    int64_t rate_mbps; /* max tx rate, Mbit/s */
    char *function;    /* function description: which driver the guest loads */
    int64_t boot;      /* boot order, 1 first */
    /* NVMe namespaces; the TCB fills them from the map's <namespace>
     * elements (a map VF keeps those in xenvf_map_vf.ns, with lines) */
    xenvf_ns_list ns;
} xenvf_vf_config;

void xenvf_vf_config_init(xenvf_vf_config *c);
void xenvf_vf_config_dispose(xenvf_vf_config *c);
int xenvf_vf_config_copy(xenvf_vf_config *dst, const xenvf_vf_config *src,
                         xenvf_err *err);

/* The characters of the names xenvf keeps and passes on, one rule for the
 * map, the TCB protocol and vf=; each is safe as a xenstore node name. */
#define XENVF_ID_CHARS                                                         \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define XENVF_NAME_CHARS     XENVF_ID_CHARS "."   /* domain names */
#define XENVF_FUNCTION_CHARS XENVF_ID_CHARS ".:+" /* function descriptions */

/* A PF/VF id: [A-Za-z0-9_-]{1,XENVF_ID_MAX}. */
bool xenvf_id_valid(const char *id);

typedef struct xenvf_vf {
    unsigned index; /* 0-based VF number within its PF */
    bool bdf_known; /* false while the VF does not exist */
    xenvf_bdf bdf;
    xenvf_vf_state state;
    uint32_t domid; /* XENVF_DOMID_NONE when held by nobody */
    xenvf_vf_config config;
    xenvf_vf_stats stats; /* a NIC VF's counters, as the PF agent publishes */
} xenvf_vf;

void xenvf_vf_init(xenvf_vf *vf);
void xenvf_vf_dispose(xenvf_vf *vf);

typedef struct xenvf_pf {
    char *id; /* map id, e.g. "nvme0" */
    xenvf_bdf bdf;
    xenvf_pf_state state;
    uint32_t owner_domid; /* domain that runs the PF driver (0 = dom0) */
    unsigned total_vfs;
    unsigned num_vfs;
    size_t nr_vfs; /* entries in vfs[], index order */
    xenvf_vf *vfs;
} xenvf_pf;

void xenvf_pf_init(xenvf_pf *pf);
void xenvf_pf_dispose(xenvf_pf *pf);
/* Set the id (validated) and size vfs[] to nr entries, each init'ed with
 * index = position. Existing VFs past nr are disposed. */
int xenvf_pf_set_id(xenvf_pf *pf, const char *id, xenvf_err *err);
int xenvf_pf_resize_vfs(xenvf_pf *pf, size_t nr, xenvf_err *err);
/* VFs held by a domain (RESERVED or ACTIVE). */
unsigned xenvf_pf_active_vfs(const xenvf_pf *pf);

#endif
