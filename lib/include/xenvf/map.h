/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The VF map: one XML file that says which PF has which VFs and which domain
 * holds each (docs/vfmap.md is the reference, lib/vfmap.rng the schema).
 *
 *   <vfmap xmlns="urn:xenvf:vfmap:1">
 *     <pf id="nvme0" address="0000:01:00.0" numvfs="2">
 *       <vf index="0" domain="web1" function="nvme" boot="1">
 *         <namespace nsid="1" size="64M"/>
 *       </vf>
 *     </pf>
 *   </vfmap>
 *
 * Parsing is: XML (libxml2, no network, no DTD, no entities, size limits),
 * the embedded RELAX NG schema, conversion with strict number parsing, then
 * the semantic rules the schema cannot express (xenvf_map_check). Every
 * error names the map, the line and the problem:
 *   "maps/bad.xml:7: pf 'nvme0': vf index 2 is listed twice (first at line 5)"
 *
 * Structs follow the libxl pattern: init puts them in a valid empty state,
 * dispose frees what they own and re-inits, so dispose twice is harmless.
 */
#ifndef XENVF_MAP_H
#define XENVF_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/model.h>

#define XENVF_MAP_NS "urn:xenvf:vfmap:1"
/* Larger input is refused before libxml2 sees it. */
#define XENVF_MAP_MAX_BYTES     (16u * 1024 * 1024)
#define XENVF_MAP_NAME_MAX      64    /* domain names: [A-Za-z0-9_.-]{1,64} */
#define XENVF_MAP_FUNCTION_MAX  64    /* function: [A-Za-z0-9_.:+-]{1,64} */
#define XENVF_MAP_NUMVFS_MAX    65535 /* TotalVFs is a 16-bit register */
#define XENVF_MAP_DOMID_MAX     XENVF_DOMID_MAX
#define XENVF_MAP_BOOT_MAX      65535
#define XENVF_MAP_RATE_MAX      4294967295LL        /* Mbit/s: a u32 in Linux */
#define XENVF_MAP_NSID_MAX      XENVF_NSID_MAX      /* 0, ~0: NVMe's */
#define XENVF_MAP_NS_SIZE_ALIGN XENVF_NS_SIZE_ALIGN /* the smallest LBA */
#define XENVF_MAP_NS_PER_VF_MAX XENVF_NS_MAX        /* as published */

/* An NVMe namespace (virtual disk) to create and attach to a storage VF. */
typedef struct xenvf_map_ns {
    uint32_t nsid; /* 1..XENVF_MAP_NSID_MAX, unique within the PF */
    uint64_t size; /* bytes, > 0, a multiple of XENVF_MAP_NS_SIZE_ALIGN */
    unsigned line; /* source line, 0 when built in memory */
} xenvf_map_ns;

void xenvf_map_ns_init(xenvf_map_ns *ns);
void xenvf_map_ns_dispose(xenvf_map_ns *ns);

typedef struct xenvf_map_vf {
    unsigned index;         /* 0-based VF number, < the PF's numvfs */
    char *domain;           /* holder's guest name; NULL: the free pool */
    xenvf_vf_config config; /* mac, vlan, trust, spoofchk, rate, ... */
    /* settings the holder may change from the guest: bit 1 << setting
     * (vf_settings.h); 0: none (the default) */
    unsigned guest_settable;
    size_t nr_ns;
    xenvf_map_ns *ns; /* parsed maps: ascending nsid */
    unsigned line;
} xenvf_map_vf;

void xenvf_map_vf_init(xenvf_map_vf *vf);
void xenvf_map_vf_dispose(xenvf_map_vf *vf);
/* Set (validated copy) or clear (NULL) the holder. */
int xenvf_map_vf_set_domain(xenvf_map_vf *vf, const char *domain,
                            xenvf_err *err);
/* Append an init'ed namespace; *out stays valid until the next append. */
int xenvf_map_vf_add_ns(xenvf_map_vf *vf, xenvf_map_ns **out, xenvf_err *err);

typedef struct xenvf_map_pf {
    char *id;          /* [A-Za-z0-9_-]{1,32}, unique within the map */
    xenvf_bdf address; /* unique within the map */
    unsigned numvfs;   /* NumVFs the TCB sets, 0..65535 */
    /* Who runs the PF driver: a driver domain by name (owner_name, stable
     * across its restarts), or a domid (owner; 0 = dom0, the default;
     * a non-zero domid is deprecated: it changes when the domain is
     * re-created). owner is 0 whenever owner_name is set. */
    char *owner_name;
    uint32_t owner;
    size_t nr_vfs;
    xenvf_map_vf *vfs; /* listed VFs; parsed maps: ascending index */
    unsigned line;
} xenvf_map_pf;

void xenvf_map_pf_init(xenvf_map_pf *pf);
void xenvf_map_pf_dispose(xenvf_map_pf *pf);
int xenvf_map_pf_set_id(xenvf_map_pf *pf, const char *id, xenvf_err *err);
/* Set (validated copy) or clear (NULL) the owner's name. */
int xenvf_map_pf_set_owner_name(xenvf_map_pf *pf, const char *name,
                                xenvf_err *err);
/* Is the PF's driver meant to run in a domain other than dom0? */
bool xenvf_map_pf_driver_domain(const xenvf_map_pf *pf);
/* Append an init'ed VF with this index; *out stays valid until the next
 * append. Index range and duplicates are xenvf_map_check's business. */
int xenvf_map_pf_add_vf(xenvf_map_pf *pf, unsigned index, xenvf_map_vf **out,
                        xenvf_err *err);

typedef struct xenvf_map {
    char *name; /* used in messages (the file name); may be NULL */
    size_t nr_pfs;
    xenvf_map_pf *pfs; /* map order: as written in the file */
} xenvf_map;

void xenvf_map_init(xenvf_map *map);
void xenvf_map_dispose(xenvf_map *map);
int xenvf_map_set_name(xenvf_map *map, const char *name, xenvf_err *err);
/* Append an init'ed PF; *out stays valid until the next append. */
int xenvf_map_add_pf(xenvf_map *map, xenvf_map_pf **out, xenvf_err *err);
int xenvf_map_copy(xenvf_map *dst, const xenvf_map *src, xenvf_err *err);
/* Same content, element by element in order; names and lines not compared. */
bool xenvf_map_equal(const xenvf_map *a, const xenvf_map *b);

/*
 * Parse a map. `map` must be init'ed; on success its old content is
 * replaced, on failure it is left empty. `name` is used in messages (NULL:
 * "<memory>"). Errors: XENVF_EINVAL (not well-formed XML, a DOCTYPE, a bad
 * value), XENVF_ESCHEMA (structure), XENVF_ERANGE (a number out of range),
 * XENVF_ECONFLICT (duplicates, two holders), XENVF_ENOENT / XENVF_EIO (file).
 */
int xenvf_map_parse_mem(const char *name, const void *buf, size_t len,
                        xenvf_map *map, xenvf_err *err);
int xenvf_map_parse_file(const char *path, xenvf_map *map, xenvf_err *err);

/*
 * The rules the schema cannot express, on a parsed or hand-built map: value
 * ranges, VF index < numvfs, unique PF ids, addresses, VF indexes, MACs,
 * NSIDs within a PF, boot orders within a domain, boot only on held VFs.
 */
int xenvf_map_check(const xenvf_map *map, xenvf_err *err);

/*
 * Check the map against discovered SR-IOV PFs (hw[i].bdf, hw[i].total_vfs;
 * hw[i].id is not used): every map PF must be one of them (XENVF_ENOENT,
 * "unknown PF"), every VF index < TotalVFs and numvfs <= TotalVFs
 * (XENVF_ERANGE).
 */
int xenvf_map_check_hw(const xenvf_map *map, const xenvf_pf *hw, size_t nr_hw,
                       xenvf_err *err);

/*
 * Serialize: checked first, then canonical and stable (fixed attribute order,
 * defaults and unset values omitted, VFs by index, namespaces by nsid, PFs in
 * map order, two-space indent, UTF-8). *out is malloc'ed and NUL-terminated.
 */
int xenvf_map_format(const xenvf_map *map, char **out, size_t *len,
                     xenvf_err *err);

/*
 * The writer lock: flock(LOCK_EX) on "<path>.lock" next to the map; the lock
 * file is created on demand and never removed. Hold it across a read, modify,
 * write cycle so that two writers cannot lose each other's updates. With
 * wait false a held lock fails at once with XENVF_EBUSY.
 */
typedef struct xenvf_map_lock {
    int fd; /* -1 when not held */
} xenvf_map_lock;

void xenvf_map_lock_init(xenvf_map_lock *lock);
/* Releases the lock if held. */
void xenvf_map_lock_dispose(xenvf_map_lock *lock);
int xenvf_map_lock_acquire(xenvf_map_lock *lock, const char *path, bool wait,
                           xenvf_err *err);

/*
 * Replace the map file atomically: check and format the map, re-parse the
 * text against the schema, write "<path>.tmp.XXXXXX" in the same directory,
 * fsync it, rename it over path, fsync the directory. A new file gets mode
 * 0644, a replaced one keeps its mode. On error before the rename the old
 * file is untouched and no temp file remains. xenvf_map_write_file takes and
 * drops the lock itself; the _locked variant expects the caller to hold it.
 * Readers need no lock: they see the old file or the new one, never a mix.
 */
int xenvf_map_write_file(const char *path, const xenvf_map *map,
                         xenvf_err *err);
int xenvf_map_write_file_locked(const char *path, const xenvf_map *map,
                                const xenvf_map_lock *lock, xenvf_err *err);

/* ---- lookups --------------------------------------------------------- */

xenvf_map_pf *xenvf_map_find_pf(const xenvf_map *map, const char *id);
xenvf_map_pf *xenvf_map_find_pf_by_address(const xenvf_map *map,
                                           const xenvf_bdf *address);
/* The listed VF with this index, or NULL (an unlisted VF < numvfs exists,
 * is free and has default settings). */
xenvf_map_vf *xenvf_map_find_vf(const xenvf_map_pf *pf, unsigned index);

#endif
