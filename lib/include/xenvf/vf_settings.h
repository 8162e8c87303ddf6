/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The per-VF settings, defined once. Each line of XENVF_VF_SETTINGS is one
 * setting of xenvf_vf_config (model.h):
 *
 *   X(ID, name, field, kind, min, max, flags)
 *
 *   name   its name in every format: the map's attribute, the vf= key, the
 *          key in the TCB protocol and the TCB's state file, the xenstore
 *          leaf under /xenvf/pf/<id>/vf/<n>/ (and the guest's, see flags)
 *   field  its member of xenvf_vf_config
 *   kind   how it is read, written and compared (xenvf_setting_kind)
 *   min,   its range: the value for UINT and BOOL, the length for TEXT
 *   max
 *   flags  XENVF_SETTING_NIC: the PF agent's net backend applies it;
 *          XENVF_SETTING_GUEST: published to the guest that holds the VF
 *          under /local/domain/<domid>/xenvf/vf/<n>/
 *
 * Adding a setting is one line here plus what it means (the backend that
 * applies it). Not here: a VF's NVMe namespaces (a list, its own type and
 * parser in model.h; map elements, not an attribute) and vf='s timeout (how
 * long the gate waits: a property of the guest's build, not of the VF).
 *
 * The one rule for merging (xenvf_vf_config_overlay): what a domain's entry
 * sets wins over what the map sets for that VF, setting by setting.
 */
#ifndef XENVF_VF_SETTINGS_H
#define XENVF_VF_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/err.h>
#include <xenvf/model.h>

#define XENVF_RATE_MAX     4294967295ULL /* Mbit/s: a u32 in Linux */
#define XENVF_BOOT_MAX     65535
#define XENVF_FUNCTION_MAX 64

/* In the order the map's writer gives the attributes. */
#define XENVF_VF_SETTINGS(X)                                                   \
    X(FUNCTION, "function", function, TEXT, 1, XENVF_FUNCTION_MAX,             \
      XENVF_SETTING_GUEST)                                                     \
    X(BOOT, "boot", boot, UINT, 1, XENVF_BOOT_MAX, XENVF_SETTING_GUEST)        \
    X(MAC, "mac", mac, MAC, 0, 0, XENVF_SETTING_NIC | XENVF_SETTING_GUEST)     \
    X(VLAN, "vlan", vlan, UINT, 0, 4094, XENVF_SETTING_NIC)                    \
    X(TRUST, "trust", trust, BOOL, 0, 1, XENVF_SETTING_NIC)                    \
    X(SPOOFCHK, "spoofchk", spoofchk, BOOL, 0, 1, XENVF_SETTING_NIC)           \
    X(RATE, "rate", rate_mbps, UINT, 0, XENVF_RATE_MAX, XENVF_SETTING_NIC)

#define XENVF_SETTING_NIC   (1u << 0)
#define XENVF_SETTING_GUEST (1u << 1)

typedef enum xenvf_setting {
#define XENVF_SETTING_ENUM(ID, ...) XENVF_SETTING_##ID,
    XENVF_VF_SETTINGS(XENVF_SETTING_ENUM)
#undef XENVF_SETTING_ENUM
        XENVF_NR_SETTINGS
} xenvf_setting;

typedef enum xenvf_setting_kind {
    XENVF_KIND_MAC,  /* unicast, not zero: "xx:xx:xx:xx:xx:xx" */
    XENVF_KIND_UINT, /* decimal, min..max */
    XENVF_KIND_BOOL, /* 0/1; text also yes/no, on/off, true/false */
    XENVF_KIND_TEXT, /* min..max characters of XENVF_FUNCTION_CHARS */
} xenvf_setting_kind;

typedef struct xenvf_setting_info {
    const char *name;
    xenvf_setting_kind kind;
    uint64_t min, max;
    unsigned flags;
} xenvf_setting_info;

extern const xenvf_setting_info xenvf_settings[XENVF_NR_SETTINGS];

#define xenvf_setting_for_each(s)                                              \
    for (xenvf_setting s = (xenvf_setting)0; s < XENVF_NR_SETTINGS;            \
         s = (xenvf_setting)(s + 1))

/* The setting called name[0..len), or XENVF_NR_SETTINGS. */
xenvf_setting xenvf_setting_find(const char *name, size_t len);

/* One setting's value, on its way in or out. text is not owned: it points
 * into the parsed input or the config. */
typedef struct xenvf_setting_value {
    uint64_t num; /* UINT, BOOL */
    uint8_t mac[6];
    const char *text; /* TEXT: text[0..len) */
    size_t len;
} xenvf_setting_value;

bool xenvf_setting_is_set(const xenvf_vf_config *c, xenvf_setting s);
void xenvf_setting_unset(xenvf_vf_config *c, xenvf_setting s);
/* The value of a set setting. */
void xenvf_setting_get(const xenvf_vf_config *c, xenvf_setting s,
                       xenvf_setting_value *out);
/* Is v a valid value of s? Messages name the setting: "vlan 5000 is out of
 * range 0-4094", "mac 01:00:5e:00:00:01 is a multicast address ...". */
int xenvf_setting_check(xenvf_setting s, const xenvf_setting_value *v,
                        xenvf_err *err);
/* Check v, then store it (TEXT is copied). */
int xenvf_setting_store(xenvf_vf_config *c, xenvf_setting s,
                        const xenvf_setting_value *v, xenvf_err *err);

/*
 * The text form (xenstore leaves, vf= values): decimal, 0/1, the MAC, the
 * text itself. Parse reads text[0..len) (no NUL needed) into *out and
 * checks it; format gives NULL for an unset setting, and for TEXT the
 * config's own string.
 */
#define XENVF_SETTING_STR_MAX 24
int xenvf_setting_parse(xenvf_setting s, const char *text, size_t len,
                        xenvf_setting_value *out, xenvf_err *err);
const char *xenvf_setting_format(const xenvf_vf_config *c, xenvf_setting s,
                                 char buf[XENVF_SETTING_STR_MAX]);

/* The form people write (the map's attributes, `xenvf show`): as
 * xenvf_setting_format, but on/off for BOOL. */
const char *xenvf_setting_format_word(const xenvf_vf_config *c, xenvf_setting s,
                                      char buf[XENVF_SETTING_STR_MAX]);

/* Every setting and the namespaces equal. */
bool xenvf_vf_config_equal(const xenvf_vf_config *a, const xenvf_vf_config *b);
/* Only the settings with these flags. */
bool xenvf_vf_config_equal_in(const xenvf_vf_config *a,
                              const xenvf_vf_config *b, unsigned flags);
/* Does c set no setting at all? (namespaces aside) */
bool xenvf_vf_config_is_empty(const xenvf_vf_config *c);
/* Does c set any setting with these flags? */
bool xenvf_vf_config_has(const xenvf_vf_config *c, unsigned flags);
/* Every setting `over` sets replaces dst's (namespaces untouched). */
int xenvf_vf_config_overlay(xenvf_vf_config *dst, const xenvf_vf_config *over,
                            xenvf_err *err);
/* Is every set setting valid? (configs built in memory, not parsed) */
int xenvf_vf_config_check(const xenvf_vf_config *c, xenvf_err *err);

#endif
