/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * vf= in an xl domain config: the list of entries, each a comma-separated
 * key=value string (docs/vf-config.md is the reference):
 *
 *   vf = [ "pf=nvme0,index=1,function=nvme,boot=1", "pf=0000:03:00.0" ]
 *
 * Pure: no I/O, no libxl context. The list comes from a libxlutil config
 * (xl's own parse, or ours of the same bytes); each entry is checked
 * completely, and every kind of mistake has its own message naming the
 * entry: vf[1] "pf=nvme0,vlan=5000": vlan 5000 is out of range 0-4094.
 */
#ifndef XENVF_XL_VFCFG_H
#define XENVF_XL_VFCFG_H

#include <stdbool.h>
#include <stddef.h>

#include <libxlutil.h>

#include <xenvf/bdf.h>
#include <xenvf/err.h>
#include <xenvf/model.h>
#include <xenvf/proto.h>
#include <xenvf/vf_settings.h>

#define VFCFG_MAX_ENTRIES   XENVF_PROTO_MAX_VFS /* one reserve request */
#define VFCFG_ENTRY_MAX     512                 /* characters in one entry */
#define VFCFG_INDEX_MAX     65534
#define VFCFG_TIMEOUT_MAX_S 86400

/*
 * One entry of vf=. "Unset" settings are -1 as in xenvf_vf_config, whose
 * `function` stays NULL here: the entry owns no heap memory (it is parsed
 * inside xl for every config), vfcfg_entry_config() gives the full one.
 */
typedef struct vfcfg_entry {
    unsigned pos;                   /* its place in vf=: vf[pos] */
    char text[VFCFG_ENTRY_MAX + 1]; /* the entry as written (messages) */
    char pf_id[XENVF_ID_MAX + 1];   /* pf= as a map id; "" for an address */
    bool pf_is_bdf; /* pf= was a PCI address: resolved through xenstore */
    xenvf_bdf pf_bdf;
    int index; /* VF index in the PF; -1: any free */
    char function[XENVF_FUNCTION_MAX + 1]; /* "" when unset */
    xenvf_vf_config config;                /* mac, vlan, ..., boot */
    int timeout_ms; /* gate timeout; -1: the default (xenvf-plugin.conf) */
} vfcfg_entry;

void vfcfg_entry_init(vfcfg_entry *e);
void vfcfg_entry_dispose(vfcfg_entry *e);
/* The entry's settings as a xenvf_vf_config (dst init'ed by the caller;
 * function copied in). */
int vfcfg_entry_config(const vfcfg_entry *e, xenvf_vf_config *dst,
                       xenvf_err *err);

/* Everything the plugin takes from a domain config. */
typedef struct vfcfg {
    char *source; /* the config's name, as xl reports it (NULL: no vf=) */
    size_t nr;
    vfcfg_entry *entries;
    /* xl applies these config-wide keys to every pci= device; VFs are PCI
     * devices too, so they get the same (0/1, default 0). */
    int pci_msitranslate;
    int pci_power_mgmt;
    int pci_permissive;
    int pci_seize;
} vfcfg;

void vfcfg_init(vfcfg *c);
void vfcfg_dispose(vfcfg *c);

/*
 * Parse one entry (the text of vf[pos]) into *out (init'ed by the caller).
 * Errors read: vf[<pos>] "<text>": <what is wrong>.
 */
int vfcfg_parse_entry(const char *text, unsigned pos, vfcfg_entry *out,
                      xenvf_err *err);

/*
 * Take vf= from a parsed config: no vf= gives nr == 0. Checks every entry,
 * then the entries against each other (one VF, MAC or boot position used
 * twice). Errors start with "<source>: ". Only lookups in cfg: this is
 * what runs inside xl on every config.
 */
int vfcfg_from_xlu(const XLU_Config *cfg, const char *source, vfcfg *out,
                   xenvf_err *err);
/* The pci_* defaults, looked up in cfg (xl looks them up the same way). */
void vfcfg_pci_defaults(const XLU_Config *cfg, vfcfg *out);
/* Note one of xl's own lookups: key = value, if it is a pci_* default.
 * Returns whether it was one. */
bool vfcfg_note_pci_default(vfcfg *out, const char *key, long value);

/*
 * Parse config text the way xl create does (xl_vmcontrol.c): the file's
 * bytes, then each command-line key=value line (extra, may be NULL)
 * appended as "\n<extra>\n", one libxlutil parse, then vfcfg_from_xlu and
 * vfcfg_pci_defaults. So
 * `vf += [...]` and a command-line `vf=[...]` behave as they do in xl.
 */
int vfcfg_parse_data(const char *source, const char *data, size_t len,
                     const char *extra, vfcfg *out, xenvf_err *err);

/* "vf[1] \"pf=nvme0,vlan=5000\"": how messages name an entry. */
void vfcfg_entry_label(const vfcfg_entry *e, char *buf, size_t len);

#endif
