/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The library's JSON chores on top of yajl, one copy for every user (the
 * TCB protocol, the TCB's state file): keys and values into a generator,
 * the generator's text out, and typed lookups in a parsed tree.
 */
#ifndef XENVF_JSON_H
#define XENVF_JSON_H

#include <stddef.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include <xenvf/err.h>
#include <xenvf/vf_settings.h>

void xenvf_json_str(yajl_gen g, const char *s);
void xenvf_json_kv_str(yajl_gen g, const char *key, const char *value);
void xenvf_json_kv_int(yajl_gen g, const char *key, long long value);
/* The generator's text as a C string (*len_out may be NULL). */
int xenvf_json_finish(yajl_gen g, char **out, size_t *len_out, xenvf_err *err);

/* obj[key] as an integer, or dflt when absent or not an integer. */
long long xenvf_json_get_int(yajl_val obj, const char *key, long long dflt);
/* obj[key] as a string, or NULL. */
const char *xenvf_json_get_str(yajl_val obj, const char *key);

/*
 * Field checkers: `what` names the field for the message ("vfs[1].vlan").
 * want_str takes 1..max bytes from `allowed` (NULL: any printable ASCII)
 * and replaces *out.
 */
int xenvf_json_want_int(yajl_val v, const char *what, long long min,
                        long long max, long long *out, xenvf_err *err);
int xenvf_json_want_bool(yajl_val v, const char *what, int *out,
                         xenvf_err *err);
int xenvf_json_want_str(yajl_val v, const char *what, size_t max,
                        const char *allowed, char **out, xenvf_err *err);

/* A VF's settings as keys of the open object: every one that is set, by its
 * name (vf_settings.h); MAC and TEXT as strings, UINT as numbers, BOOL as
 * true/false. The TCB protocol and the TCB's state file both use it. */
void xenvf_json_put_vf_config(yajl_gen g, const xenvf_vf_config *c);
/* The value v of setting s into c, checked as the table says; messages
 * name it as "<where>.<name>" ("" where: just the name). */
int xenvf_json_get_vf_setting(xenvf_vf_config *c, xenvf_setting s, yajl_val v,
                              const char *where, xenvf_err *err);

#endif
