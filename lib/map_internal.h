/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * What the VF map's files share (map.c, map_parse.c, map_check.c,
 * map_write.c); not part of the library's interface.
 */
#ifndef XENVF_MAP_INTERNAL_H
#define XENVF_MAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <xenvf/map.h>

/* libxml2 2.12 made the error argument const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_ptr;
#else
typedef xmlErrorPtr xml_error_ptr;
#endif

#define ID_CHARS       XENVF_ID_CHARS
#define NAME_CHARS     XENVF_NAME_CHARS
#define FUNCTION_CHARS XENVF_FUNCTION_CHARS

/*
 * Set err to "NAME:LINE: message" (or "NAME: message" without a line) and
 * return rc. Every error of the map goes through here.
 */
int map_fail(xenvf_err *err, int rc, const char *name, unsigned line,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A user-supplied value for a message: at most 32 bytes, then "...". */
typedef struct quoted {
    char s[40];
} quoted;

quoted q(const char *v);

/* The first libxml2 error of one operation, captured instead of printed. */
typedef struct xml_capture {
    bool set;
    unsigned line;
    xmlNode *node; /* element it is about, when libxml2 says */
    char msg[256];
    bool doctype; /* the SAX hook saw a DOCTYPE */
} xml_capture;

/*
 * libxml2 reports through thread-local handlers that default to stderr.
 * While we call it, route structured errors to a capture and swallow the
 * generic ones; restore the caller's handlers afterwards (xl may have its
 * own).
 */
typedef struct xml_quiet {
    xmlStructuredErrorFunc serror;
    void *sctx;
    xmlGenericErrorFunc gerror;
    void *gctx;
} xml_quiet;

void map_quiet_begin(xml_quiet *qt, xml_capture *cap);
void map_quiet_end(const xml_quiet *qt);
void map_capture_error(void *data, xml_error_ptr e);

int map_array_grow(void **arr, size_t *nr, size_t sz, xenvf_err *err);
bool map_token_valid(const char *s, size_t max, const char *chars);
int map_dup_string(char **dst, const char *src, xenvf_err *err);

#endif
