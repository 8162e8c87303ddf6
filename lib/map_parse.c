/* SPDX-License-Identifier: LGPL-2.1-only */
/* The VF map: parsing with libxml2 and the embedded RELAX NG schema. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <xenvf/file.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "map_internal.h"

/* Generated from lib/vfmap.rng by tools/embed-file (lib/lib.mk). */
extern const char xenvf_vfmap_rng[];
extern const size_t xenvf_vfmap_rng_len;

/* ---- libxml2 set-up ---------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t schema_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Compiled once, kept for the life of the process, shared read-only. */
static xmlRelaxNGPtr schema;

static void xml_init(void)
{
    xmlInitParser();
}

void map_capture_error(void *data, xml_error_ptr e)
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

void map_quiet_begin(xml_quiet *qt, xml_capture *cap)
{
    pthread_once(&xml_once, xml_init);
    qt->serror = xmlStructuredError;
    qt->sctx = xmlStructuredErrorContext;
    qt->gerror = xmlGenericError;
    qt->gctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(cap, map_capture_error);
    xmlSetGenericErrorFunc(NULL, generic_error_sink);
}

void map_quiet_end(const xml_quiet *qt)
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
        xmlRelaxNGSetParserStructuredErrors(pctxt, map_capture_error, &cap);
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
    rc = map_dup_string(&pf->id, v, cv->err);
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
    return map_dup_string(&pf->owner_name, v, cv->err);
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

/* One VF setting's attribute, by the table (vf_settings.h): absent leaves
 * it unset; its message names the line, the VF and the attribute. */
static int conv_setting(conv *cv, xmlNode *n, const char *where,
                        xenvf_vf_config *c, xenvf_setting set)
{
    const xenvf_setting_info *i = &xenvf_settings[set];
    const char *v = attr_get(n, i->name);
    xenvf_setting_value val;
    bool present = false;
    int on = -1, rc = 0;
    xenvf_err e;

    xenvf_err_init(&e);
    memset(&val, 0, sizeof(val));
    switch (i->kind) {
    case XENVF_KIND_MAC:
        if (v && (rc = xenvf_mac_parse(v, val.mac, &e)))
            return map_fail(cv->err, rc, cv->name, node_line(n), "%s: %s",
                            where, e.msg);
        present = v != NULL;
        break;
    case XENVF_KIND_TEXT:
        rc = attr_token(cv, n, where, i->name, false, i->max, FUNCTION_CHARS,
                        "A-Z a-z 0-9 _ . : + -", &v);
        val.text = v;
        val.len = v ? strlen(v) : 0;
        present = v != NULL;
        break;
    case XENVF_KIND_BOOL:
        rc = attr_on_off(cv, n, where, i->name, &on);
        val.num = (uint64_t)on;
        present = on >= 0;
        break;
    default:
        rc = attr_uint(cv, n, where, i->name, false, i->min, i->max, &val.num,
                       &present);
    }
    if (rc || !present)
        return rc;
    rc = xenvf_setting_store(c, set, &val, &e);
    if (rc)
        return map_fail(cv->err, rc, cv->name, node_line(n), "%s: %s", where,
                        e.msg);
    return 0;
}

static int conv_vf_attrs(conv *cv, xmlNode *n, const char *pfw,
                         xenvf_map_vf *vf, char *where, size_t where_sz)
{
    xenvf_vf_config *c = &vf->config;
    const char *v;
    uint64_t num;
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
    rc = map_dup_string(&vf->domain, v, cv->err);
    if (rc)
        return rc;

    xenvf_setting_for_each(set)
    {
        if ((rc = conv_setting(cv, n, where, c, set)))
            return rc;
    }
    v = attr_get(n, "guest-settable");
    if (v && (rc = xenvf_setting_mask_parse(v, ' ', &vf->guest_settable, &e)))
        return map_fail(cv->err, rc, cv->name, vf->line,
                        "%s: guest-settable: %s", where, e.msg);
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

    map_quiet_begin(&qt, &cap);
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
    xmlRelaxNGSetValidStructuredErrors(vctxt, map_capture_error, &cap);
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
    map_quiet_end(&qt);
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
