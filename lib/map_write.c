/* SPDX-License-Identifier: LGPL-2.1-only */
/* The VF map: the canonical format, the lock, and the atomic write. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include <xenvf/file.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "map_internal.h"

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
    char buf[128];
    int rc = 0;

    W(xmlTextWriterStartElement(w, BAD_CAST "vf"));
    W(write_attr(w, "index", "%u", vf->index));
    if (vf->domain)
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "domain",
                                      BAD_CAST vf->domain));
    xenvf_setting_for_each(set)
    {
        const char *v = xenvf_setting_format_word(c, set, buf);

        if (v)
            W(xmlTextWriterWriteAttribute(w, BAD_CAST xenvf_settings[set].name,
                                          BAD_CAST v));
    }
    if (vf->guest_settable) {
        xenvf_setting_mask_format(vf->guest_settable, ' ', buf, sizeof(buf));
        W(xmlTextWriterWriteAttribute(w, BAD_CAST "guest-settable",
                                      BAD_CAST buf));
    }
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
    map_quiet_begin(&qt, &cap);
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
    map_quiet_end(&qt);
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
