/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The VF map: parse (libxml2 + the embedded RELAX NG schema), check, format
 * and write atomically. docs/vfmap.md describes the format and the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlwriter.h>

#include <xenvf/file.h>
#include <xenvf/map.h>

/* Generated from lib/vfmap.rng by tools/embed-file (lib/lib.mk). */
extern const char xenvf_vfmap_rng[];
extern const size_t xenvf_vfmap_rng_len;

/* libxml2 2.12 made the error argument const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_ptr;
#else
typedef xmlErrorPtr xml_error_ptr;
#endif

#define ID_CHARS       XENVF_ID_CHARS
#define NAME_CHARS     XENVF_NAME_CHARS
#define FUNCTION_CHARS XENVF_FUNCTION_CHARS

/* ---- messages ---------------------------------------------------------- */

/* Messages are one line of printable ASCII, whatever the input held. */
static void msg_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

/*
 * Set err to "NAME:LINE: message" (or "NAME: message" without a line) and
 * return rc. Every error of this file goes through here.
 */
static int __attribute__((format(printf, 5, 6)))
map_fail(xenvf_err *err, int rc, const char *name, unsigned line,
         const char *fmt, ...)
{
    char body[XENVF_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return rc;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (!name)
        name = "<map>";
    if (line)
        xenvf_err_set(err, rc, "%s:%u: %s", name, line, body);
    else
        xenvf_err_set(err, rc, "%s: %s", name, body);
    msg_sanitize(err->msg);
    return rc;
}

/* A user-supplied value for a message: at most 32 bytes, then "...". */
typedef struct quoted {
    char s[40];
} quoted;

static quoted q(const char *v)
{
    quoted r;
    size_t n = strlen(v);

    if (n <= 32) {
        memcpy(r.s, v, n + 1);
    } else {
        memcpy(r.s, v, 32);
        memcpy(r.s + 32, "...", 4);
    }
    return r;
}

/* ---- structs ----------------------------------------------------------- */

void xenvf_map_ns_init(xenvf_map_ns *ns)
{
    memset(ns, 0, sizeof(*ns));
}

void xenvf_map_ns_dispose(xenvf_map_ns *ns)
{
    xenvf_map_ns_init(ns);
}

void xenvf_map_vf_init(xenvf_map_vf *vf)
{
    memset(vf, 0, sizeof(*vf));
    xenvf_vf_config_init(&vf->config);
}

void xenvf_map_vf_dispose(xenvf_map_vf *vf)
{
    free(vf->domain);
    xenvf_vf_config_dispose(&vf->config);
    for (size_t i = 0; i < vf->nr_ns; i++)
        xenvf_map_ns_dispose(&vf->ns[i]);
    free(vf->ns);
    xenvf_map_vf_init(vf);
}

void xenvf_map_pf_init(xenvf_map_pf *pf)
{
    memset(pf, 0, sizeof(*pf));
}

void xenvf_map_pf_dispose(xenvf_map_pf *pf)
{
    free(pf->id);
    free(pf->owner_name);
    for (size_t i = 0; i < pf->nr_vfs; i++)
        xenvf_map_vf_dispose(&pf->vfs[i]);
    free(pf->vfs);
    xenvf_map_pf_init(pf);
}

void xenvf_map_init(xenvf_map *map)
{
    memset(map, 0, sizeof(*map));
}

void xenvf_map_dispose(xenvf_map *map)
{
    free(map->name);
    for (size_t i = 0; i < map->nr_pfs; i++)
        xenvf_map_pf_dispose(&map->pfs[i]);
    free(map->pfs);
    xenvf_map_init(map);
}

/*
 * Grow *arr by one element of size sz; the caller inits the new slot. Exact
 * size every time: callers may have built the array themselves.
 */
static int array_grow(void **arr, size_t *nr, size_t sz, xenvf_err *err)
{
    void *p;

    if (*nr >= SIZE_MAX / sz - 1)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    p = reallocarray(*arr, *nr + 1, sz);
    if (!p)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    *arr = p;
    (*nr)++;
    return 0;
}

static bool token_valid(const char *s, size_t max, const char *chars)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= max && strspn(s, chars) == n;
}

static int dup_string(char **dst, const char *src, xenvf_err *err)
{
    char *copy = NULL;

    if (src && !(copy = strdup(src)))
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

int xenvf_map_vf_set_domain(xenvf_map_vf *vf, const char *domain,
                            xenvf_err *err)
{
    if (domain && !token_valid(domain, XENVF_MAP_NAME_MAX, NAME_CHARS))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad domain name '%s': use 1-%d of A-Z a-z 0-9 "
                             "_ . -",
                             q(domain).s, XENVF_MAP_NAME_MAX);
    return dup_string(&vf->domain, domain, err);
}

int xenvf_map_pf_set_owner_name(xenvf_map_pf *pf, const char *name,
                                xenvf_err *err)
{
    if (name && !token_valid(name, XENVF_MAP_NAME_MAX, NAME_CHARS))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad owner name '%s': use 1-%d of A-Z a-z 0-9 "
                             "_ . -",
                             q(name).s, XENVF_MAP_NAME_MAX);
    return dup_string(&pf->owner_name, name, err);
}

bool xenvf_map_pf_driver_domain(const xenvf_map_pf *pf)
{
    return pf->owner_name || pf->owner;
}

int xenvf_map_vf_add_ns(xenvf_map_vf *vf, xenvf_map_ns **out, xenvf_err *err)
{
    int rc = array_grow((void **)&vf->ns, &vf->nr_ns, sizeof(*vf->ns), err);

    if (rc)
        return rc;
    xenvf_map_ns_init(&vf->ns[vf->nr_ns - 1]);
    if (out)
        *out = &vf->ns[vf->nr_ns - 1];
    return 0;
}

int xenvf_map_pf_set_id(xenvf_map_pf *pf, const char *id, xenvf_err *err)
{
    if (!xenvf_id_valid(id))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "bad PF id '%s': use 1-%d of A-Z a-z 0-9 _ -",
                             q(id ? id : "").s, XENVF_ID_MAX);
    return dup_string(&pf->id, id, err);
}

int xenvf_map_pf_add_vf(xenvf_map_pf *pf, unsigned index, xenvf_map_vf **out,
                        xenvf_err *err)
{
    int rc = array_grow((void **)&pf->vfs, &pf->nr_vfs, sizeof(*pf->vfs), err);

    if (rc)
        return rc;
    xenvf_map_vf_init(&pf->vfs[pf->nr_vfs - 1]);
    pf->vfs[pf->nr_vfs - 1].index = index;
    if (out)
        *out = &pf->vfs[pf->nr_vfs - 1];
    return 0;
}

int xenvf_map_set_name(xenvf_map *map, const char *name, xenvf_err *err)
{
    return dup_string(&map->name, name, err);
}

int xenvf_map_add_pf(xenvf_map *map, xenvf_map_pf **out, xenvf_err *err)
{
    int rc =
        array_grow((void **)&map->pfs, &map->nr_pfs, sizeof(*map->pfs), err);

    if (rc)
        return rc;
    xenvf_map_pf_init(&map->pfs[map->nr_pfs - 1]);
    if (out)
        *out = &map->pfs[map->nr_pfs - 1];
    return 0;
}

static int vf_copy(xenvf_map_vf *dst, const xenvf_map_vf *src, xenvf_err *err)
{
    xenvf_map_ns *ns;
    int rc;

    dst->index = src->index;
    dst->line = src->line;
    rc = dup_string(&dst->domain, src->domain, err);
    if (rc)
        return rc;
    rc = xenvf_vf_config_copy(&dst->config, &src->config, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < src->nr_ns; k++) {
        rc = xenvf_map_vf_add_ns(dst, &ns, err);
        if (rc)
            return rc;
        *ns = src->ns[k];
    }
    return 0;
}

int xenvf_map_copy(xenvf_map *dst, const xenvf_map *src, xenvf_err *err)
{
    xenvf_map tmp;
    xenvf_map_pf *pf;
    xenvf_map_vf *vf;
    int rc;

    xenvf_map_init(&tmp);
    rc = xenvf_map_set_name(&tmp, src->name, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < src->nr_pfs; i++) {
        const xenvf_map_pf *s = &src->pfs[i];

        rc = xenvf_map_add_pf(&tmp, &pf, err);
        if (rc)
            goto out;
        rc = dup_string(&pf->id, s->id, err);
        if (rc)
            goto out;
        pf->address = s->address;
        pf->numvfs = s->numvfs;
        pf->owner = s->owner;
        rc = dup_string(&pf->owner_name, s->owner_name, err);
        if (rc)
            goto out;
        pf->line = s->line;
        for (size_t j = 0; j < s->nr_vfs; j++) {
            rc = xenvf_map_pf_add_vf(pf, s->vfs[j].index, &vf, err);
            if (rc)
                goto out;
            rc = vf_copy(vf, &s->vfs[j], err);
            if (rc)
                goto out;
        }
    }
    xenvf_map_dispose(dst);
    *dst = tmp;
    xenvf_map_init(&tmp);
out:
    xenvf_map_dispose(&tmp);
    return rc;
}

static bool str_equal(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool config_equal(const xenvf_vf_config *a, const xenvf_vf_config *b)
{
    return a->has_mac == b->has_mac &&
           (!a->has_mac || !memcmp(a->mac, b->mac, sizeof(a->mac))) &&
           a->vlan == b->vlan && a->trust == b->trust &&
           a->spoofchk == b->spoofchk && a->rate_mbps == b->rate_mbps &&
           str_equal(a->function, b->function) && a->boot == b->boot &&
           xenvf_ns_list_equal(&a->ns, &b->ns);
}

static bool vf_equal(const xenvf_map_vf *a, const xenvf_map_vf *b)
{
    if (a->index != b->index || !str_equal(a->domain, b->domain) ||
        !config_equal(&a->config, &b->config) || a->nr_ns != b->nr_ns)
        return false;
    for (size_t k = 0; k < a->nr_ns; k++)
        if (a->ns[k].nsid != b->ns[k].nsid || a->ns[k].size != b->ns[k].size)
            return false;
    return true;
}

bool xenvf_map_equal(const xenvf_map *a, const xenvf_map *b)
{
    if (a->nr_pfs != b->nr_pfs)
        return false;
    for (size_t i = 0; i < a->nr_pfs; i++) {
        const xenvf_map_pf *p = &a->pfs[i], *r = &b->pfs[i];

        if (!str_equal(p->id, r->id) ||
            !xenvf_bdf_equal(&p->address, &r->address) ||
            p->numvfs != r->numvfs || p->owner != r->owner ||
            !str_equal(p->owner_name, r->owner_name) || p->nr_vfs != r->nr_vfs)
            return false;
        for (size_t j = 0; j < p->nr_vfs; j++)
            if (!vf_equal(&p->vfs[j], &r->vfs[j]))
                return false;
    }
    return true;
}

/* ---- libxml2 set-up ---------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t schema_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Compiled once, kept for the life of the process, shared read-only. */
static xmlRelaxNGPtr schema;

static void xml_init(void)
{
    xmlInitParser();
}

/* The first libxml2 error of one operation, captured instead of printed. */
typedef struct xml_capture {
    bool set;
    unsigned line;
    xmlNode *node; /* element it is about, when libxml2 says */
    char msg[256];
    bool doctype; /* the SAX hook saw a DOCTYPE */
} xml_capture;

static void capture_error(void *data, xml_error_ptr e)
{
    xml_capture *cap = data;
    size_t n;

    if (!cap || cap->set || !e || e->level < XML_ERR_ERROR)
        return;
    cap->set = true;
    cap->node = e->node;
    cap->line = e->line > 0 ? (unsigned)e->line : 0;
    if (cap->node && cap->node->type == XML_ELEMENT_NODE) {
        long l = xmlGetLineNo(cap->node);
        if (l > 0)
            cap->line = (unsigned)l;
    } else {
        cap->node = NULL;
    }
    snprintf(cap->msg, sizeof(cap->msg), "%s",
             e->message ? e->message : "unknown libxml2 error");
    n = strlen(cap->msg);
    while (n > 0 && (cap->msg[n - 1] == '\n' || cap->msg[n - 1] == ' '))
        cap->msg[--n] = '\0';
    /* some messages run over two lines ("!\nBytes: 0xE9") */
    for (char *p = cap->msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

static void generic_error_sink(void *ctx, const char *msg, ...)
{
    /* Old-style libxml2 messages would go to stderr: drop them. */
}

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

static void quiet_begin(xml_quiet *qt, xml_capture *cap)
{
    pthread_once(&xml_once, xml_init);
    qt->serror = xmlStructuredError;
    qt->sctx = xmlStructuredErrorContext;
    qt->gerror = xmlGenericError;
    qt->gctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(cap, capture_error);
    xmlSetGenericErrorFunc(NULL, generic_error_sink);
}

static void quiet_end(const xml_quiet *qt)
{
    xmlSetStructuredErrorFunc(qt->sctx, qt->serror);
    xmlSetGenericErrorFunc(qt->gctx, qt->gerror);
}

/* Call between quiet_begin and quiet_end. */
static int schema_get(xmlRelaxNGPtr *out, xenvf_err *err)
{
    xmlRelaxNGParserCtxtPtr pctxt = NULL;
    xml_capture cap = {0};
    int rc = 0;

    pthread_mutex_lock(&schema_mutex);
    if (!schema) {
        pctxt = xmlRelaxNGNewMemParserCtxt(xenvf_vfmap_rng,
                                           (int)xenvf_vfmap_rng_len);
        if (!pctxt) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        xmlRelaxNGSetParserStructuredErrors(pctxt, capture_error, &cap);
        schema = xmlRelaxNGParse(pctxt);
        if (!schema) {
            rc = xenvf_err_set(err, XENVF_ESCHEMA,
                               "the built-in VF map schema does not compile: "
                               "line %u: %s",
                               cap.line, cap.set ? cap.msg : "unknown error");
            goto out;
        }
    }
    *out = schema;
out:
    if (pctxt)
        xmlRelaxNGFreeParserCtxt(pctxt);
    pthread_mutex_unlock(&schema_mutex);
    return rc;
}

/*
 * No DTD of any kind: stop the parser at the DOCTYPE, before an internal
 * subset can declare entities (XXE, billion laughs) or an external one is
 * fetched. These hooks replace libxml2's SAX2 defaults for our context only.
 */
static void sax_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                        const xmlChar *sys_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    xml_capture *cap = ctxt->_private;

    if (!cap->set) {
        cap->set = true;
        cap->doctype = true;
        cap->line = (unsigned)xmlSAX2GetLineNumber(ctx);
        if (sys_id || ext_id)
            snprintf(cap->msg, sizeof(cap->msg),
                     "DOCTYPE with an external DTD ('%s') is not allowed",
                     q((const char *)(sys_id ? sys_id : ext_id)).s);
        else
            snprintf(cap->msg, sizeof(cap->msg),
                     "DOCTYPE is not allowed: a VF map has no DTD and no "
                     "entities");
    }
    xmlStopParser(ctxt);
}

static xmlParserInputPtr sax_resolve(void *ctx, const xmlChar *public_id,
                                     const xmlChar *system_id)
{
    xmlStopParser(ctx);
    return NULL;
}

/* ---- converting the tree ----------------------------------------------- */

typedef struct conv {
    const char *name; /* for messages */
    xenvf_err *err;
} conv;

static unsigned node_line(xmlNode *n)
{
    long l = xmlGetLineNo(n);

    return l > 0 ? (unsigned)l : 0;
}

static bool is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           !strcmp((const char *)n->ns->href, XENVF_MAP_NS) &&
           !strcmp((const char *)n->name, name);
}

/* Attribute without a namespace; points into the tree. "" when empty. */
static const char *attr_get(xmlNode *n, const char *name)
{
    xmlAttr *a;

    for (a = n->properties; a; a = a->next) {
        if (a->ns || strcmp((const char *)a->name, name))
            continue;
        /* Without a DTD an attribute value is one text node, or none. */
        if (a->children && a->children->type == XML_TEXT_NODE &&
            !a->children->next && a->children->content)
            return (const char *)a->children->content;
        return "";
    }
    return NULL;
}

/*
 * Fetch attribute `attr`; *v = NULL when absent and optional. `where` is
 * the context for messages ("pf 'nvme0': vf 3").
 */
static int attr_fetch(conv *cv, xmlNode *n, const char *where, const char *attr,
                      bool required, const char **v)
{
    *v = attr_get(n, attr);
    if (!*v && required)
        return map_fail(cv->err, XENVF_ESCHEMA, cv->name, node_line(n),
                        "%s: missing required attribute '%s'", where, attr);
    return 0;
}

/* Decimal number in [min, max]: no sign, no leading zero, no overflow. */
static int attr_uint(conv *cv, xmlNode *n, const char *where, const char *attr,
                     bool required, uint64_t min, uint64_t max, uint64_t *out,
                     bool *present)
{
    const char *v;
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    if (present)
        *present = false;
    rc = attr_fetch(cv, n, where, attr, required, &v);
    if (rc || !v)
        return rc;
    if (!*v)
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: %s is empty", where, attr);
    if (v[0] == '-')
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: %s '%s' is negative", where, attr, q(v).s);
    if (v[0] == '0' && v[1] >= '0' && v[1] <= '9')
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: %s '%s' has a leading zero", where, attr, q(v).s);
    rc = xenvf_parse_uint(v, max, out, &e);
    if (rc)
        /* e.msg: "'x' is not a number" or "'x' is out of range (max N)" */
        return map_fail(cv->err, rc, cv->name, node_line(n), "%s: %s %s", where,
                        attr, e.msg);
    if (*out < min)
        return map_fail(cv->err, XENVF_ERANGE, cv->name, node_line(n),
                        "%s: %s %llu is below the minimum %llu", where, attr,
                        (unsigned long long)*out, (unsigned long long)min);
    if (present)
        *present = true;
    return 0;
}

/* A token from a fixed character set: ids, domain names, functions. */
static int attr_token(conv *cv, xmlNode *n, const char *where, const char *attr,
                      bool required, size_t max, const char *chars,
                      const char *chars_desc, const char **out)
{
    const char *v;
    size_t len;
    int rc;

    rc = attr_fetch(cv, n, where, attr, required, &v);
    *out = NULL;
    if (rc || !v)
        return rc;
    len = strlen(v);
    if (len == 0)
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: %s is empty", where, attr);
    if (len > max)
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: %s '%s' is too long (%zu bytes, max %zu)", where,
                        attr, q(v).s, len, max);
    if (strspn(v, chars) != len)
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: %s '%s' has characters outside %s", where, attr,
                        q(v).s, chars_desc);
    *out = v;
    return 0;
}

static int attr_on_off(conv *cv, xmlNode *n, const char *where,
                       const char *attr, int *out)
{
    const char *v = attr_get(n, attr);

    if (!v)
        return 0;
    if (!strcmp(v, "on") || !strcmp(v, "off")) {
        *out = !strcmp(v, "on");
        return 0;
    }
    return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                    "%s: %s '%s' must be 'on' or 'off'", where, attr, q(v).s);
}

/* "64M": bytes, or a number with K M G T (powers of 1024). */
static int attr_size(conv *cv, xmlNode *n, const char *where, uint64_t *out)
{
    static const char units[] = "KMGT";
    char digits[32];
    const char *v, *u;
    unsigned shift = 0;
    uint64_t num;
    size_t len;
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    rc = attr_fetch(cv, n, where, "size", true, &v);
    if (rc)
        return rc;
    len = strlen(v);
    if (len > 0 && (u = strchr(units, v[len - 1])) && *u) {
        shift = 10 * (unsigned)(u - units + 1);
        len--;
    }
    if (len == 0 || len >= sizeof(digits) || strspn(v, "0123456789") != len ||
        v[0] == '0')
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: size '%s' is not a size (bytes, or a number "
                        "with K, M, G or T)",
                        where, q(v).s);
    memcpy(digits, v, len);
    digits[len] = '\0';
    rc = xenvf_parse_uint(digits, UINT64_MAX >> shift, &num, &e);
    if (rc)
        return map_fail(cv->err, XENVF_ERANGE, cv->name, node_line(n),
                        "%s: size '%s' does not fit in 64 bits", where, q(v).s);
    num <<= shift;
    if (num % XENVF_MAP_NS_SIZE_ALIGN)
        return map_fail(cv->err, XENVF_EINVAL, cv->name, node_line(n),
                        "%s: size '%s' is not a multiple of %u bytes", where,
                        q(v).s, XENVF_MAP_NS_SIZE_ALIGN);
    *out = num;
    return 0;
}

static bool is_element(const xmlNode *n)
{
    return n && n->type == XML_ELEMENT_NODE;
}

/* "pf 'nvme0'" when the id is usable, else "pf". */
static void pf_where(xmlNode *n, char *buf, size_t sz)
{
    const char *id = is_element(n) ? attr_get(n, "id") : NULL;

    if (xenvf_id_valid(id))
        snprintf(buf, sz, "pf '%s'", id);
    else
        snprintf(buf, sz, "pf");
}

static int conv_pf_attrs(conv *cv, xmlNode *n, xenvf_map_pf *pf)
{
    char where[64];
    const char *v;
    uint64_t num;
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    pf->line = node_line(n);
    rc = attr_token(cv, n, "pf", "id", true, XENVF_ID_MAX, ID_CHARS,
                    "A-Z a-z 0-9 _ -", &v);
    if (rc)
        return rc;
    rc = dup_string(&pf->id, v, cv->err);
    if (rc)
        return rc;
    snprintf(where, sizeof(where), "pf '%s'", pf->id);

    rc = attr_fetch(cv, n, where, "address", true, &v);
    if (rc)
        return rc;
    rc = xenvf_bdf_parse(v, &pf->address, &e);
    if (rc)
        return map_fail(cv->err, rc, cv->name, pf->line, "%s: %s", where,
                        e.msg);

    rc = attr_uint(cv, n, where, "numvfs", true, 0, XENVF_MAP_NUMVFS_MAX, &num,
                   NULL);
    if (rc)
        return rc;
    pf->numvfs = (unsigned)num;

    /* a domain name, or (deprecated) a domid: all digits */
    rc = attr_fetch(cv, n, where, "owner", false, &v);
    if (rc || !v)
        return rc;
    if (*v && strspn(v, "0123456789") == strlen(v)) {
        rc = attr_uint(cv, n, where, "owner", false, 0, XENVF_MAP_DOMID_MAX,
                       &num, NULL);
        if (!rc)
            pf->owner = (uint32_t)num;
        return rc;
    }
    rc = attr_token(cv, n, where, "owner", false, XENVF_MAP_NAME_MAX,
                    NAME_CHARS, "A-Z a-z 0-9 _ . -", &v);
    if (rc)
        return rc;
    /* dom0 by its name is dom0 */
    if (!strcmp(v, XENVF_DOM0_NAME))
        return 0;
    return dup_string(&pf->owner_name, v, cv->err);
}

static int conv_ns(conv *cv, xmlNode *n, const char *vf_where, xenvf_map_ns *ns)
{
    char where[128];
    uint64_t num;
    int rc;

    ns->line = node_line(n);
    snprintf(where, sizeof(where), "%s: namespace", vf_where);
    rc = attr_uint(cv, n, where, "nsid", true, 1, XENVF_MAP_NSID_MAX, &num,
                   NULL);
    if (rc)
        return rc;
    ns->nsid = (uint32_t)num;
    snprintf(where, sizeof(where), "%s: namespace %u", vf_where, ns->nsid);
    return attr_size(cv, n, where, &ns->size);
}

static int conv_vf_attrs(conv *cv, xmlNode *n, const char *pfw,
                         xenvf_map_vf *vf, char *where, size_t where_sz)
{
    xenvf_vf_config *c = &vf->config;
    const char *v;
    uint64_t num;
    bool present;
    xenvf_err e;
    int rc;

    xenvf_err_init(&e);
    vf->line = node_line(n);
    snprintf(where, where_sz, "%s: vf", pfw);
    rc = attr_uint(cv, n, where, "index", true, 0, XENVF_MAP_NUMVFS_MAX - 1,
                   &num, NULL);
    if (rc)
        return rc;
    vf->index = (unsigned)num;
    snprintf(where, where_sz, "%s: vf %u", pfw, vf->index);

    rc = attr_token(cv, n, where, "domain", false, XENVF_MAP_NAME_MAX,
                    NAME_CHARS, "A-Z a-z 0-9 _ . -", &v);
    if (rc)
        return rc;
    rc = dup_string(&vf->domain, v, cv->err);
    if (rc)
        return rc;

    rc = attr_token(cv, n, where, "function", false, XENVF_MAP_FUNCTION_MAX,
                    FUNCTION_CHARS, "A-Z a-z 0-9 _ . : + -", &v);
    if (rc)
        return rc;
    rc = dup_string(&c->function, v, cv->err);
    if (rc)
        return rc;

    rc = attr_uint(cv, n, where, "boot", false, 1, XENVF_MAP_BOOT_MAX, &num,
                   &present);
    if (rc)
        return rc;
    c->boot = present ? (int)num : 0;

    v = attr_get(n, "mac");
    if (v) {
        rc = xenvf_mac_parse(v, c->mac, &e);
        if (rc)
            return map_fail(cv->err, rc, cv->name, vf->line, "%s: %s", where,
                            e.msg);
        if (!(c->mac[0] | c->mac[1] | c->mac[2] | c->mac[3] | c->mac[4] |
              c->mac[5]))
            return map_fail(cv->err, XENVF_EINVAL, cv->name, vf->line,
                            "%s: MAC 00:00:00:00:00:00 is not an address",
                            where);
        c->has_mac = true;
    }

    rc = attr_uint(cv, n, where, "vlan", false, 0, 4094, &num, &present);
    if (rc)
        return rc;
    c->vlan = present ? (int)num : -1;

    rc = attr_on_off(cv, n, where, "trust", &c->trust);
    if (rc)
        return rc;
    rc = attr_on_off(cv, n, where, "spoofchk", &c->spoofchk);
    if (rc)
        return rc;

    rc = attr_uint(cv, n, where, "rate", false, 0, XENVF_MAP_RATE_MAX, &num,
                   &present);
    if (rc)
        return rc;
    c->rate_mbps = present ? (int64_t)num : -1;
    return 0;
}

static int conv_vf(conv *cv, xmlNode *n, const char *pfw, xenvf_map_vf *vf)
{
    char where[96];
    xenvf_map_ns *ns;
    int rc;

    rc = conv_vf_attrs(cv, n, pfw, vf, where, sizeof(where));
    if (rc)
        return rc;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (!is_elem(c, "namespace"))
            continue;
        rc = xenvf_map_vf_add_ns(vf, &ns, cv->err);
        if (rc)
            return rc;
        rc = conv_ns(cv, c, where, ns);
        if (rc)
            return rc;
    }
    return 0;
}

static int conv_map(conv *cv, xmlNode *root, xenvf_map *map)
{
    xenvf_map_pf *pf;
    xenvf_map_vf *vf;
    char pfw[64];
    int rc;

    if (!is_elem(root, "vfmap"))
        return map_fail(cv->err, XENVF_ESCHEMA, cv->name, node_line(root),
                        "the root element is not a VF map");
    for (xmlNode *p = root->children; p; p = p->next) {
        if (!is_elem(p, "pf"))
            continue;
        rc = xenvf_map_add_pf(map, &pf, cv->err);
        if (rc)
            return rc;
        rc = conv_pf_attrs(cv, p, pf);
        if (rc)
            return rc;
        snprintf(pfw, sizeof(pfw), "pf '%s'", pf->id);
        for (xmlNode *v = p->children; v; v = v->next) {
            if (!is_elem(v, "vf"))
                continue;
            rc = xenvf_map_pf_add_vf(pf, 0, &vf, cv->err);
            if (rc)
                return rc;
            rc = conv_vf(cv, v, pfw, vf);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/*
 * libxml2's RELAX NG messages are vague ("Element pf failed to validate
 * attributes"). Run our own conversion on the element the validator
 * rejected: when it finds the problem its message is precise. Returns 0 if
 * it found nothing, and the caller falls back to libxml2's words.
 */
static int schema_explain(conv *cv, xmlNode *n)
{
    xenvf_map_pf pf;
    xenvf_map_vf vf;
    xenvf_map_ns ns;
    char pfw[64], where[96];
    int rc = 0;

    xenvf_map_pf_init(&pf);
    xenvf_map_vf_init(&vf);
    xenvf_map_ns_init(&ns);
    if (!n)
        goto out;
    if (is_elem(n, "pf")) {
        rc = conv_pf_attrs(cv, n, &pf);
    } else if (is_elem(n, "vf")) {
        pf_where(n->parent, pfw, sizeof(pfw));
        rc = conv_vf_attrs(cv, n, pfw, &vf, where, sizeof(where));
    } else if (is_elem(n, "namespace") && is_element(n->parent)) {
        /* n->parent may be the document node, which is no xmlNode */
        pf_where(n->parent->parent, pfw, sizeof(pfw));
        rc = conv_vf_attrs(cv, n->parent, pfw, &vf, where, sizeof(where));
        if (!rc)
            rc = conv_ns(cv, n, where, &ns);
    }
out:
    xenvf_map_ns_dispose(&ns);
    xenvf_map_vf_dispose(&vf);
    xenvf_map_pf_dispose(&pf);
    return rc;
}

/* ---- semantic checks --------------------------------------------------- */

/* One thing that must be unique, for the duplicate finders below. */
typedef struct dup_item {
    const char *s; /* string key, or NULL */
    uint64_t k;    /* numeric key */
    size_t pf, vf, ns;
    size_t pos; /* map order, ties broken by it */
} dup_item;

static int dup_cmp(const void *va, const void *vb)
{
    const dup_item *a = va, *b = vb;
    int c = (a->s && b->s) ? strcmp(a->s, b->s) : 0;

    if (c)
        return c;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool dup_same(const dup_item *a, const dup_item *b)
{
    return a->k == b->k && (!a->s || !b->s || !strcmp(a->s, b->s));
}

/*
 * Sort and find the repeated key whose second occurrence comes first in map
 * order: *first is that key's first occurrence, *again the repeat.
 */
static bool dup_find(dup_item *it, size_t n, size_t *first, size_t *again)
{
    size_t best = SIZE_MAX, g = 0;

    qsort(it, n, sizeof(*it), dup_cmp);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && dup_same(&it[g], &it[i]))
            continue;
        if (i - g > 1 && (best == SIZE_MAX || it[g + 1].pos < it[best].pos)) {
            best = g + 1;
            *first = g;
        }
        g = i;
    }
    *again = best;
    return best != SIZE_MAX;
}

static uint64_t bdf_key(const xenvf_bdf *b)
{
    return (uint64_t)b->seg << 16 | xenvf_bdf_rid(b);
}

#define MAP_FAIL(map, err, rc, line, ...)                                      \
    map_fail(err, rc, (map)->name, line, __VA_ARGS__)

static int check_config(const xenvf_map *map, const xenvf_map_pf *pf,
                        const xenvf_map_vf *vf, xenvf_err *err)
{
    const xenvf_vf_config *c = &vf->config;
    const uint8_t *m = c->mac;
    unsigned l = vf->line;

    if (vf->domain && !token_valid(vf->domain, XENVF_MAP_NAME_MAX, NAME_CHARS))
        return MAP_FAIL(map, err, XENVF_EINVAL, l,
                        "pf '%s': vf %u: bad domain name '%s'", pf->id,
                        vf->index, q(vf->domain).s);
    if (c->function &&
        !token_valid(c->function, XENVF_MAP_FUNCTION_MAX, FUNCTION_CHARS))
        return MAP_FAIL(map, err, XENVF_EINVAL, l,
                        "pf '%s': vf %u: bad function '%s'", pf->id, vf->index,
                        q(c->function).s);
    if (c->boot < 0 || c->boot > XENVF_MAP_BOOT_MAX)
        return MAP_FAIL(map, err, XENVF_ERANGE, l,
                        "pf '%s': vf %u: boot order %d is not in 1-%d", pf->id,
                        vf->index, c->boot, XENVF_MAP_BOOT_MAX);
    if (c->boot && !vf->domain)
        return MAP_FAIL(map, err, XENVF_ECONFLICT, l,
                        "pf '%s': vf %u: boot order %d on a VF that no "
                        "domain holds",
                        pf->id, vf->index, c->boot);
    if (c->has_mac &&
        ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])))
        return MAP_FAIL(map, err, XENVF_EINVAL, l,
                        "pf '%s': vf %u: MAC is multicast or zero", pf->id,
                        vf->index);
    if (c->vlan < -1 || c->vlan > 4094)
        return MAP_FAIL(map, err, XENVF_ERANGE, l,
                        "pf '%s': vf %u: vlan %d is not in 0-4094", pf->id,
                        vf->index, c->vlan);
    if (c->trust < -1 || c->trust > 1 || c->spoofchk < -1 || c->spoofchk > 1)
        return MAP_FAIL(map, err, XENVF_EINVAL, l,
                        "pf '%s': vf %u: trust and spoofchk must be -1, 0 "
                        "or 1",
                        pf->id, vf->index);
    if (c->rate_mbps < -1 || c->rate_mbps > XENVF_MAP_RATE_MAX)
        return MAP_FAIL(map, err, XENVF_ERANGE, l,
                        "pf '%s': vf %u: rate %lld is not in 0-%lld", pf->id,
                        vf->index, (long long)c->rate_mbps,
                        (long long)XENVF_MAP_RATE_MAX);
    for (size_t k = 0; k < vf->nr_ns; k++) {
        const xenvf_map_ns *ns = &vf->ns[k];

        if (k == XENVF_MAP_NS_PER_VF_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, ns->line,
                            "pf '%s': vf %u: more than %d namespaces", pf->id,
                            vf->index, XENVF_MAP_NS_PER_VF_MAX);
        if (ns->nsid == 0 || ns->nsid > XENVF_MAP_NSID_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, ns->line,
                            "pf '%s': vf %u: nsid %u is not in 1-%u", pf->id,
                            vf->index, ns->nsid, XENVF_MAP_NSID_MAX);
        if (ns->size == 0 || ns->size % XENVF_MAP_NS_SIZE_ALIGN)
            return MAP_FAIL(map, err, XENVF_EINVAL, ns->line,
                            "pf '%s': vf %u: namespace %u: size %llu is not "
                            "a positive multiple of %u",
                            pf->id, vf->index, ns->nsid,
                            (unsigned long long)ns->size,
                            XENVF_MAP_NS_SIZE_ALIGN);
    }
    return 0;
}

/* Values one element at a time, in map order. */
static int check_values(const xenvf_map *map, xenvf_err *err)
{
    for (size_t i = 0; i < map->nr_pfs; i++) {
        const xenvf_map_pf *pf = &map->pfs[i];
        int rc;

        if (!xenvf_id_valid(pf->id))
            return MAP_FAIL(map, err, XENVF_EINVAL, pf->line,
                            "pf #%zu: bad id '%s'", i,
                            q(pf->id ? pf->id : "").s);
        if (pf->address.dev > 31 || pf->address.func > 7)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': address has device > 1f or function "
                            "> 7",
                            pf->id);
        if (pf->numvfs > XENVF_MAP_NUMVFS_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': numvfs %u is above %u", pf->id,
                            pf->numvfs, XENVF_MAP_NUMVFS_MAX);
        if (pf->owner > XENVF_MAP_DOMID_MAX)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': owner domid %u is reserved or invalid",
                            pf->id, pf->owner);
        for (size_t j = 0; j < pf->nr_vfs; j++) {
            const xenvf_map_vf *vf = &pf->vfs[j];

            if (vf->index >= pf->numvfs)
                return MAP_FAIL(map, err, XENVF_ERANGE, vf->line,
                                "pf '%s': vf index %u >= numvfs %u", pf->id,
                                vf->index, pf->numvfs);
            rc = check_config(map, pf, vf, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int check_pf_dups(const xenvf_map *map, dup_item *it, xenvf_err *err)
{
    size_t a, b, n = map->nr_pfs;
    char addr[XENVF_BDF_STR_MAX];

    for (size_t i = 0; i < n; i++)
        it[i] = (dup_item){.s = map->pfs[i].id, .pf = i, .pos = i};
    if (dup_find(it, n, &a, &b))
        return MAP_FAIL(map, err, XENVF_ECONFLICT, map->pfs[it[b].pf].line,
                        "pf id '%s' is used twice (first at line %u)",
                        map->pfs[it[b].pf].id, map->pfs[it[a].pf].line);
    for (size_t i = 0; i < n; i++)
        it[i] =
            (dup_item){.k = bdf_key(&map->pfs[i].address), .pf = i, .pos = i};
    if (dup_find(it, n, &a, &b)) {
        const xenvf_map_pf *p1 = &map->pfs[it[a].pf], *p2 = &map->pfs[it[b].pf];

        xenvf_bdf_format(&p2->address, addr);
        return MAP_FAIL(
            map, err, XENVF_ECONFLICT, p2->line,
            "pf '%s': address %s is already used by pf '%s' (line %u)", p2->id,
            addr, p1->id, p1->line);
    }
    return 0;
}

/*
 * The same (pf, index) twice. Two different holders is the worse problem
 * and gets its own message; otherwise it is a plain duplicate.
 */
static const xenvf_map_vf *item_vf(const xenvf_map *map, const dup_item *it)
{
    return &map->pfs[it->pf].vfs[it->vf];
}

static int check_vf_dups(const xenvf_map *map, dup_item *it, size_t n,
                         xenvf_err *err)
{
    size_t best = SIZE_MAX, best_first = 0;
    bool best_two = false;
    const xenvf_map_pf *pf;
    const xenvf_map_vf *v1, *v2;

    qsort(it, n, sizeof(*it), dup_cmp);
    for (size_t g = 0, i = 1; i <= n; i++) {
        size_t holder = SIZE_MAX, first = g, rep = g + 1;
        bool two = false;

        if (i < n && dup_same(&it[g], &it[i]))
            continue;
        if (i - g < 2) {
            g = i;
            continue;
        }
        /* the group's first holder, and the first entry naming another */
        for (size_t j = g; j < i && !two; j++) {
            const char *d = item_vf(map, &it[j])->domain;

            if (!d)
                continue;
            if (holder == SIZE_MAX) {
                holder = j;
            } else if (strcmp(d, item_vf(map, &it[holder])->domain)) {
                two = true;
                first = holder;
                rep = j;
            }
        }
        if (best == SIZE_MAX || (two && !best_two) ||
            (two == best_two && it[rep].pos < it[best].pos)) {
            best = rep;
            best_first = first;
            best_two = two;
        }
        g = i;
    }
    if (best == SIZE_MAX)
        return 0;
    pf = &map->pfs[it[best].pf];
    v1 = &pf->vfs[it[best_first].vf];
    v2 = &pf->vfs[it[best].vf];
    if (best_two)
        return MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                        "pf '%s': vf %u is held by two domains, '%s' (line "
                        "%u) and '%s'",
                        pf->id, v2->index, v1->domain, v1->line, v2->domain);
    return MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                    "pf '%s': vf index %u is listed twice (first at line %u)",
                    pf->id, v2->index, v1->line);
}

int xenvf_map_check(const xenvf_map *map, xenvf_err *err)
{
    size_t nr_vfs = 0, nr_ns = 0, n, a, b, pos;
    dup_item *it = NULL;
    char mac[18];
    int rc;

    rc = check_values(map, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < map->nr_pfs; i++) {
        nr_vfs += map->pfs[i].nr_vfs;
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++)
            nr_ns += map->pfs[i].vfs[j].nr_ns;
    }
    n = map->nr_pfs;
    if (nr_vfs > n)
        n = nr_vfs;
    if (nr_ns > n)
        n = nr_ns;
    it = calloc(n ? n : 1, sizeof(*it));
    if (!it) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }

    rc = check_pf_dups(map, it, err);
    if (rc)
        goto out;

    /* VF index, by (pf, index) */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++)
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++, pos++)
            it[pos] =
                (dup_item){.k = (uint64_t)i << 32 | map->pfs[i].vfs[j].index,
                           .pf = i,
                           .vf = j,
                           .pos = pos};
    rc = check_vf_dups(map, it, nr_vfs, err);
    if (rc)
        goto out;

    /* NSIDs are per NVMe subsystem: unique within a PF */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++)
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++)
            for (size_t k = 0; k < map->pfs[i].vfs[j].nr_ns; k++, pos++)
                it[pos] = (dup_item){.k = (uint64_t)i << 32 |
                                          map->pfs[i].vfs[j].ns[k].nsid,
                                     .pf = i,
                                     .vf = j,
                                     .ns = k,
                                     .pos = pos};
    if (dup_find(it, nr_ns, &a, &b)) {
        const xenvf_map_pf *pf = &map->pfs[it[b].pf];
        const xenvf_map_ns *n1 = &pf->vfs[it[a].vf].ns[it[a].ns];
        const xenvf_map_ns *n2 = &pf->vfs[it[b].vf].ns[it[b].ns];

        rc = MAP_FAIL(map, err, XENVF_ECONFLICT, n2->line,
                      "pf '%s': namespace nsid %u is declared twice (first "
                      "at line %u)",
                      pf->id, n2->nsid, n1->line);
        goto out;
    }

    /* MACs, across the whole map: one station, one address */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++) {
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++) {
            const xenvf_vf_config *c = &map->pfs[i].vfs[j].config;
            uint64_t k = 0;

            if (!c->has_mac)
                continue;
            for (int m = 0; m < 6; m++)
                k = k << 8 | c->mac[m];
            it[pos] = (dup_item){.k = k, .pf = i, .vf = j, .pos = pos};
            pos++;
        }
    }
    if (dup_find(it, pos, &a, &b)) {
        const xenvf_map_pf *p1 = &map->pfs[it[a].pf], *p2 = &map->pfs[it[b].pf];
        const xenvf_map_vf *v1 = &p1->vfs[it[a].vf], *v2 = &p2->vfs[it[b].vf];

        xenvf_mac_format(v2->config.mac, mac);
        rc = MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                      "pf '%s': vf %u: MAC %s is already used by pf '%s' "
                      "vf %u (line %u)",
                      p2->id, v2->index, mac, p1->id, v1->index, v1->line);
        goto out;
    }

    /* boot orders, per domain: the guest's boot list must be a list */
    pos = 0;
    for (size_t i = 0; i < map->nr_pfs; i++) {
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++) {
            const xenvf_map_vf *vf = &map->pfs[i].vfs[j];

            if (!vf->domain || !vf->config.boot)
                continue;
            it[pos] = (dup_item){.s = vf->domain,
                                 .k = (uint64_t)vf->config.boot,
                                 .pf = i,
                                 .vf = j,
                                 .pos = pos};
            pos++;
        }
    }
    if (dup_find(it, pos, &a, &b)) {
        const xenvf_map_pf *p1 = &map->pfs[it[a].pf], *p2 = &map->pfs[it[b].pf];
        const xenvf_map_vf *v1 = &p1->vfs[it[a].vf], *v2 = &p2->vfs[it[b].vf];

        rc = MAP_FAIL(map, err, XENVF_ECONFLICT, v2->line,
                      "domain '%s': boot order %d is given to two VFs, pf "
                      "'%s' vf %u (line %u) and pf '%s' vf %u",
                      v2->domain, v2->config.boot, p1->id, v1->index, v1->line,
                      p2->id, v2->index);
        goto out;
    }
    rc = 0;
out:
    free(it);
    return rc;
}

int xenvf_map_check_hw(const xenvf_map *map, const xenvf_pf *hw, size_t nr_hw,
                       xenvf_err *err)
{
    char addr[XENVF_BDF_STR_MAX];

    for (size_t i = 0; i < map->nr_pfs; i++) {
        const xenvf_map_pf *pf = &map->pfs[i];
        const xenvf_pf *h = NULL;

        for (size_t k = 0; k < nr_hw && !h; k++)
            if (xenvf_bdf_equal(&hw[k].bdf, &pf->address))
                h = &hw[k];
        if (!h) {
            xenvf_bdf_format(&pf->address, addr);
            return MAP_FAIL(map, err, XENVF_ENOENT, pf->line,
                            "pf '%s': unknown PF: %s is not a discovered "
                            "SR-IOV physical function",
                            pf->id, addr);
        }
        /* A VF that can never exist on this device is the more specific
         * problem, so it is reported before numvfs. */
        for (size_t j = 0; j < pf->nr_vfs; j++)
            if (pf->vfs[j].index >= h->total_vfs)
                return MAP_FAIL(map, err, XENVF_ERANGE, pf->vfs[j].line,
                                "pf '%s': vf index %u >= TotalVFs %u", pf->id,
                                pf->vfs[j].index, h->total_vfs);
        if (pf->numvfs > h->total_vfs)
            return MAP_FAIL(map, err, XENVF_ERANGE, pf->line,
                            "pf '%s': numvfs %u is more than the device's "
                            "TotalVFs %u",
                            pf->id, pf->numvfs, h->total_vfs);
    }
    return 0;
}

/* ---- parsing ----------------------------------------------------------- */

static int vf_index_cmp(const void *a, const void *b)
{
    const xenvf_map_vf *x = a, *y = b;

    return (x->index > y->index) - (x->index < y->index);
}

static int ns_cmp(const void *a, const void *b)
{
    const xenvf_map_ns *x = a, *y = b;

    return (x->nsid > y->nsid) - (x->nsid < y->nsid);
}

/* Canonical order; keys are unique once xenvf_map_check passed. */
static void map_sort(xenvf_map *map)
{
    for (size_t i = 0; i < map->nr_pfs; i++) {
        xenvf_map_pf *pf = &map->pfs[i];

        if (pf->nr_vfs > 1)
            qsort(pf->vfs, pf->nr_vfs, sizeof(*pf->vfs), vf_index_cmp);
        for (size_t j = 0; j < pf->nr_vfs; j++)
            if (pf->vfs[j].nr_ns > 1)
                qsort(pf->vfs[j].ns, pf->vfs[j].nr_ns, sizeof(xenvf_map_ns),
                      ns_cmp);
    }
}

/* Problems worth a clearer word than libxml2's, before it sees the bytes. */
static int precheck(const char *name, const char *buf, size_t len,
                    xenvf_err *err)
{
    const char *nul;
    unsigned line = 1;

    if (len == 0)
        return map_fail(err, XENVF_EINVAL, name, 1, "the file is empty");
    if (len > XENVF_MAP_MAX_BYTES)
        return map_fail(err, XENVF_ERANGE, name, 0,
                        "too large (%zu bytes, max %u)", len,
                        XENVF_MAP_MAX_BYTES);
    nul = memchr(buf, '\0', len);
    if (nul) {
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        return map_fail(err, XENVF_EINVAL, name, line,
                        "binary data (a NUL byte at offset %zu): not an XML "
                        "file",
                        (size_t)(nul - buf));
    }
    return 0;
}

int xenvf_map_parse_mem(const char *name, const void *buf, size_t len,
                        xenvf_map *map, xenvf_err *err)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlRelaxNGValidCtxtPtr vctxt = NULL;
    xmlRelaxNGPtr rng = NULL;
    xmlDocPtr doc = NULL;
    xml_capture cap = {0};
    xml_quiet qt;
    xenvf_map tmp;
    conv cv;
    int rc, v;

    xenvf_map_init(&tmp);
    xenvf_map_dispose(map);
    if (!name)
        name = "<memory>";
    cv.name = name;
    cv.err = err;
    rc = precheck(name, buf, len, err);
    if (rc)
        return rc;

    quiet_begin(&qt, &cap);
    rc = schema_get(&rng, err);
    if (rc)
        goto out;

    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    ctxt->_private = &cap;
    ctxt->sax->internalSubset = sax_doctype;
    ctxt->sax->externalSubset = sax_doctype;
    ctxt->sax->resolveEntity = sax_resolve;
    /* Not XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE: entities
     * stay unexpanded, nothing is loaded, libxml2's size limits hold. */
    doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_BIG_LINES);
    if (cap.doctype) {
        rc = map_fail(err, XENVF_EINVAL, name, cap.line, "%s", cap.msg);
        goto out;
    }
    if (!doc || cap.set) {
        rc = map_fail(err, XENVF_EINVAL, name, cap.line,
                      "not well-formed XML: %s",
                      cap.set ? cap.msg : "libxml2 gave no document");
        goto out;
    }
    if (!xmlDocGetRootElement(doc)) {
        rc = map_fail(err, XENVF_EINVAL, name, 0, "no root element");
        goto out;
    }

    vctxt = xmlRelaxNGNewValidCtxt(rng);
    if (!vctxt) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    xmlRelaxNGSetValidStructuredErrors(vctxt, capture_error, &cap);
    v = xmlRelaxNGValidateDoc(vctxt, doc);
    if (v != 0) {
        rc = schema_explain(&cv, cap.node);
        if (!rc)
            rc = map_fail(err, XENVF_ESCHEMA, name, cap.line,
                          "does not match the VF map schema: %s",
                          cap.set ? cap.msg : "validation failed");
        goto out;
    }

    rc = xenvf_map_set_name(&tmp, name, err);
    if (rc)
        goto out;
    rc = conv_map(&cv, xmlDocGetRootElement(doc), &tmp);
    if (rc)
        goto out;
    rc = xenvf_map_check(&tmp, err);
    if (rc)
        goto out;
    map_sort(&tmp);
    *map = tmp;
    xenvf_map_init(&tmp);
out:
    if (vctxt)
        xmlRelaxNGFreeValidCtxt(vctxt);
    if (doc)
        xmlFreeDoc(doc);
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    quiet_end(&qt);
    xenvf_map_dispose(&tmp);
    return rc;
}

int xenvf_map_parse_file(const char *path, xenvf_map *map, xenvf_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    xenvf_map_dispose(map);
    rc = xenvf_file_read(path, XENVF_MAP_MAX_BYTES, &buf, &len, err);
    if (rc)
        goto out;
    rc = xenvf_map_parse_mem(path, buf, len, map, err);
out:
    free(buf);
    return rc;
}

/* ---- formatting -------------------------------------------------------- */

/* Largest unit that divides exactly: 67108864 -> "64M". */
static void size_format(uint64_t size, char buf[32])
{
    static const char units[] = "KMGT";

    for (int u = 3; u >= 0; u--) {
        unsigned shift = 10 * (unsigned)(u + 1);

        if (size && (size & ((UINT64_C(1) << shift) - 1)) == 0) {
            snprintf(buf, 32, "%llu%c", (unsigned long long)(size >> shift),
                     units[u]);
            return;
        }
    }
    snprintf(buf, 32, "%llu", (unsigned long long)size);
}

static int vf_ptr_cmp(const void *a, const void *b)
{
    const xenvf_map_vf *x = *(const xenvf_map_vf *const *)a;
    const xenvf_map_vf *y = *(const xenvf_map_vf *const *)b;

    return (x->index > y->index) - (x->index < y->index);
}

static int ns_ptr_cmp(const void *a, const void *b)
{
    const xenvf_map_ns *x = *(const xenvf_map_ns *const *)a;
    const xenvf_map_ns *y = *(const xenvf_map_ns *const *)b;

    return (x->nsid > y->nsid) - (x->nsid < y->nsid);
}

/* Every xmlTextWriter call returns < 0 on failure, which is memory. */
#define W(call)                                                                \
    do {                                                                       \
        if ((call) < 0) {                                                      \
            rc = xenvf_err_set(err, XENVF_ENOMEM,                              \
                               "out of memory formatting "                     \
                               "the VF map");                                  \
            goto out;                                                          \
        }                                                                      \
    } while (0)

static int __attribute__((format(printf, 3, 4)))
write_attr(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
{
    char v[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST v);
}

static int format_vf(xmlTextWriterPtr w, const xenvf_map_vf *vf, xenvf_err *err)
{
    const xenvf_vf_config *c = &vf->config;
    const xenvf_map_ns **ns = NULL;
    char buf[32];
    int rc = 0;

    W(xmlTextWriterStartElement(w, BAD_CAST "vf"));
    W(write_attr(w, "index", "%u", vf->index));
    if (vf->domain)
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "domain",
                                      BAD_CAST vf->domain));
    if (c->function)
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "function",
                                      BAD_CAST c->function));
    if (c->boot)
        W(write_attr(w, "boot", "%d", c->boot));
    if (c->has_mac) {
        xenvf_mac_format(c->mac, buf);
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "mac", BAD_CAST buf));
    }
    if (c->vlan >= 0)
        W(write_attr(w, "vlan", "%d", c->vlan));
    if (c->trust >= 0)
        W(write_attr(w, "trust", "%s", c->trust ? "on" : "off"));
    if (c->spoofchk >= 0)
        W(write_attr(w, "spoofchk", "%s", c->spoofchk ? "on" : "off"));
    if (c->rate_mbps >= 0)
        W(write_attr(w, "rate", "%lld", (long long)c->rate_mbps));
    if (vf->nr_ns) {
        ns = calloc(vf->nr_ns, sizeof(*ns));
        if (!ns) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < vf->nr_ns; k++)
            ns[k] = &vf->ns[k];
        qsort(ns, vf->nr_ns, sizeof(*ns), ns_ptr_cmp);
    }
    for (size_t k = 0; k < vf->nr_ns; k++) {
        W(xmlTextWriterStartElement(w, BAD_CAST "namespace"));
        W(write_attr(w, "nsid", "%u", ns[k]->nsid));
        size_format(ns[k]->size, buf);
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "size", BAD_CAST buf));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
out:
    free(ns);
    return rc;
}

static int format_pf(xmlTextWriterPtr w, const xenvf_map_pf *pf, xenvf_err *err)
{
    const xenvf_map_vf **vfs = NULL;
    char addr[XENVF_BDF_STR_MAX];
    int rc = 0;

    W(xmlTextWriterStartElement(w, BAD_CAST "pf"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "id", BAD_CAST pf->id));
    xenvf_bdf_format(&pf->address, addr);
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "address", BAD_CAST addr));
    W(write_attr(w, "numvfs", "%u", pf->numvfs));
    if (pf->owner_name)
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "owner",
                                      BAD_CAST pf->owner_name));
    else if (pf->owner)
        W(write_attr(w, "owner", "%u", pf->owner));
    if (pf->nr_vfs) {
        vfs = calloc(pf->nr_vfs, sizeof(*vfs));
        if (!vfs) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t j = 0; j < pf->nr_vfs; j++)
            vfs[j] = &pf->vfs[j];
        qsort(vfs, pf->nr_vfs, sizeof(*vfs), vf_ptr_cmp);
    }
    for (size_t j = 0; j < pf->nr_vfs; j++) {
        rc = format_vf(w, vfs[j], err);
        if (rc)
            goto out;
    }
    W(xmlTextWriterEndElement(w));
out:
    free(vfs);
    return rc;
}

int xenvf_map_format(const xenvf_map *map, char **out, size_t *len,
                     xenvf_err *err)
{
    xmlBufferPtr xbuf = NULL;
    xmlTextWriterPtr w = NULL;
    xml_capture cap = {0};
    xml_quiet qt;
    char *text;
    int rc;

    *out = NULL;
    *len = 0;
    rc = xenvf_map_check(map, err);
    if (rc)
        return rc;
    quiet_begin(&qt, &cap);
    xbuf = xmlBufferCreate();
    if (!xbuf || !(w = xmlNewTextWriterMemory(xbuf, 0))) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    W(xmlTextWriterSetIndent(w, 1));
    W(xmlTextWriterSetIndentString(w, BAD_CAST "  "));
    W(xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL));
    W(xmlTextWriterStartElement(w, BAD_CAST "vfmap"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns", BAD_CAST XENVF_MAP_NS));
    for (size_t i = 0; i < map->nr_pfs; i++) {
        rc = format_pf(w, &map->pfs[i], err);
        if (rc)
            goto out;
    }
    W(xmlTextWriterEndDocument(w));
    xmlFreeTextWriter(w); /* flushes into xbuf */
    w = NULL;
    text = malloc((size_t)xmlBufferLength(xbuf) + 1);
    if (!text) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(text, xmlBufferContent(xbuf), (size_t)xmlBufferLength(xbuf));
    text[xmlBufferLength(xbuf)] = '\0';
    *out = text;
    *len = (size_t)xmlBufferLength(xbuf);
out:
    if (w)
        xmlFreeTextWriter(w);
    if (xbuf)
        xmlBufferFree(xbuf);
    quiet_end(&qt);
    return rc;
}

#undef W

/* ---- atomic write ------------------------------------------------------ */

void xenvf_map_lock_init(xenvf_map_lock *lock)
{
    lock->fd = -1;
}

void xenvf_map_lock_dispose(xenvf_map_lock *lock)
{
    if (lock->fd >= 0) {
        /* Unlock explicitly: a forked child may share the description. */
        flock(lock->fd, LOCK_UN);
        close(lock->fd);
    }
    xenvf_map_lock_init(lock);
}

int xenvf_map_lock_acquire(xenvf_map_lock *lock, const char *path, bool wait,
                           xenvf_err *err)
{
    char *lpath = NULL;
    int fd = -1, rc;

    if (lock->fd >= 0)
        return xenvf_err_set(err, XENVF_EBUSY, "%s: lock already held", path);
    if (asprintf(&lpath, "%s.lock", path) < 0) {
        lpath = NULL;
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    fd =
        open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: cannot open",
                                 lpath);
        goto out;
    }
    while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            rc = xenvf_err_set(err, XENVF_EBUSY,
                               "%s: another writer holds the lock", lpath);
        else
            rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: flock", lpath);
        goto out;
    }
    lock->fd = fd;
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(lpath);
    return rc;
}

/* Check, format, and re-read the text through the whole parser: what is
 * written is exactly what was validated. */
static int map_prepare(const char *path, const xenvf_map *map, char **text,
                       size_t *len, xenvf_err *err)
{
    xenvf_map back;
    int rc;

    xenvf_map_init(&back);
    rc = xenvf_map_format(map, text, len, err);
    if (rc)
        goto out;
    rc = xenvf_map_parse_mem(path, *text, *len, &back, err);
    if (rc) {
        xenvf_err_prepend(err, "internal error, formatted map is invalid: ");
        goto out;
    }
out:
    if (rc) {
        free(*text);
        *text = NULL;
    }
    xenvf_map_dispose(&back);
    return rc;
}

int xenvf_map_write_file_locked(const char *path, const xenvf_map *map,
                                const xenvf_map_lock *lock, xenvf_err *err)
{
    char *text = NULL;
    size_t len;
    int rc;

    if (!lock || lock->fd < 0)
        return xenvf_err_set(err, XENVF_EINVAL,
                             "%s: writing without holding the map lock", path);
    rc = map_prepare(path, map, &text, &len, err);
    if (rc)
        goto out;
    rc = xenvf_file_replace(path, text, len, -1, err);
out:
    free(text);
    return rc;
}

int xenvf_map_write_file(const char *path, const xenvf_map *map, xenvf_err *err)
{
    xenvf_map_lock lock;
    char *text = NULL;
    size_t len;
    int rc;

    xenvf_map_lock_init(&lock);
    /* Validate before taking the lock: a bad map never waits for it. */
    rc = map_prepare(path, map, &text, &len, err);
    if (rc)
        goto out;
    rc = xenvf_map_lock_acquire(&lock, path, true, err);
    if (rc)
        goto out;
    rc = xenvf_file_replace(path, text, len, -1, err);
out:
    xenvf_map_lock_dispose(&lock);
    free(text);
    return rc;
}

/* ---- lookups ----------------------------------------------------------- */

xenvf_map_pf *xenvf_map_find_pf(const xenvf_map *map, const char *id)
{
    for (size_t i = 0; id && i < map->nr_pfs; i++)
        if (map->pfs[i].id && !strcmp(map->pfs[i].id, id))
            return &map->pfs[i];
    return NULL;
}

xenvf_map_pf *xenvf_map_find_pf_by_address(const xenvf_map *map,
                                           const xenvf_bdf *address)
{
    for (size_t i = 0; i < map->nr_pfs; i++)
        if (xenvf_bdf_equal(&map->pfs[i].address, address))
            return &map->pfs[i];
    return NULL;
}

xenvf_map_vf *xenvf_map_find_vf(const xenvf_map_pf *pf, unsigned index)
{
    for (size_t j = 0; j < pf->nr_vfs; j++)
        if (pf->vfs[j].index == index)
            return &pf->vfs[j];
    return NULL;
}

int xenvf_map_first_free_vf(const xenvf_map_pf *pf, unsigned *index,
                            xenvf_err *err)
{
    unsigned char *held;

    if (pf->numvfs == 0)
        return xenvf_err_set(err, XENVF_ENOENT, "pf '%s': numvfs is 0",
                             pf->id ? pf->id : "?");
    held = calloc(pf->numvfs, 1);
    if (!held)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t j = 0; j < pf->nr_vfs; j++)
        if (pf->vfs[j].domain && pf->vfs[j].index < pf->numvfs)
            held[pf->vfs[j].index] = 1;
    for (unsigned i = 0; i < pf->numvfs; i++) {
        if (!held[i]) {
            free(held);
            *index = i;
            return 0;
        }
    }
    free(held);
    return xenvf_err_set(err, XENVF_ENOENT,
                         "pf '%s': all %u VFs are held by domains",
                         pf->id ? pf->id : "?", pf->numvfs);
}

int xenvf_map_domain_vfs(const xenvf_map *map, const char *domain,
                         xenvf_map_ref **refs, size_t *nr, xenvf_err *err)
{
    xenvf_map_ref *r = NULL;
    size_t n = 0, k = 0;

    *refs = NULL;
    *nr = 0;
    for (size_t i = 0; domain && i < map->nr_pfs; i++)
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++)
            n += str_equal(map->pfs[i].vfs[j].domain, domain);
    if (!n)
        return 0;
    r = calloc(n, sizeof(*r));
    if (!r)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (size_t i = 0; i < map->nr_pfs; i++) {
        for (size_t j = 0; j < map->pfs[i].nr_vfs; j++) {
            if (!str_equal(map->pfs[i].vfs[j].domain, domain))
                continue;
            r[k].pf = &map->pfs[i];
            r[k].vf = &map->pfs[i].vfs[j];
            k++;
        }
    }
    *refs = r;
    *nr = n;
    return 0;
}
