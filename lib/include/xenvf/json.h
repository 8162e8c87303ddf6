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

void xenvf_json_str(yajl_gen g, const char *s);
void xenvf_json_kv_str(yajl_gen g, const char *key, const char *value);
void xenvf_json_kv_int(yajl_gen g, const char *key, long long value);
/* The generator's text as a C string (*len_out may be NULL). */
int xenvf_json_finish(yajl_gen g, char **out, size_t *len_out, xenvf_err *err);

/* obj[key] as an integer, or dflt when absent or not an integer. */
long long xenvf_json_get_int(yajl_val obj, const char *key, long long dflt);
/* obj[key] as a string, or NULL. */
const char *xenvf_json_get_str(yajl_val obj, const char *key);

#endif
