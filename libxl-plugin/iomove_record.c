/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The saved config's record of what xl save or xl migrate moved off a
 * guest's VFs (iomove.h). Its own file so that its fuzz target links the
 * parser alone.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>

#include "iomove.h"

int xlp_moved_format(const xlp_moved *v, size_t nr, char **out, xenvf_err *err)
{
    size_t len = nr * (sizeof(v->pf) + sizeof(v->wwid) + 40) + 1, o = 0;
    char *s = malloc(len);

    if (!s)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    s[0] = '\0';
    for (size_t i = 0; i < nr; i++)
        if (v[i].unplugged)
            o += (size_t)snprintf(s + o, len - o, "%s%s#%u", i ? " " : "",
                                  v[i].pf, v[i].index);
        else
            o += (size_t)snprintf(s + o, len - o, "%s%s#%u:%u:%s:%s",
                                  i ? " " : "", v[i].pf, v[i].index, v[i].nsid,
                                  v[i].vdev, v[i].wwid);
    *out = s;
    return 0;
}

/* One "PF#INDEX:NSID:VDEV:WWID" (or "PF#INDEX": unplugged) of n bytes at
 * t into *m. */
static int moved_parse_one(const char *t, size_t n, xlp_moved *m,
                           xenvf_err *err)
{
    char item[256], *hash, *c1, *c2 = NULL, *c3 = NULL, *end;
    unsigned long index, nsid;
    xenvf_switch_request req;
    char pv[XENVF_SWITCH_REQUEST_MAX];

    memset(m, 0, sizeof(*m));
    if (n >= sizeof(item))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "an entry of %zu bytes: too long", n);
    memcpy(item, t, n);
    item[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)item[i]) && !strchr("#:_.-", item[i])) {
            char shown[64];

            xenvf_quote_n(item, n, shown, sizeof(shown));
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "%s: byte %zu is not a letter, a digit or "
                                 "one of #:_.-",
                                 shown, i);
        }
    hash = strchr(item, '#');
    c1 = hash ? strchr(hash, ':') : NULL;
    m->unplugged = hash && !c1;
    if (!hash ||
        (c1 && (!(c2 = strchr(c1 + 1, ':')) || !(c3 = strchr(c2 + 1, ':')))))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "'%s': not PF#INDEX:NSID:VDEV:WWID (moved to the "
                             "PF path) or PF#INDEX (unplugged)",
                             item);
    *hash = '\0';
    if (!*item || hash - item >= (long)sizeof(m->pf))
        return xenvf_err_set(err, XENVF_EINVAL, "'%s': bad PF id", item);
    if (c1)
        *c1 = *c2 = *c3 = '\0';
    if (!isdigit((unsigned char)hash[1]) ||
        (index = strtoul(hash + 1, &end, 10)) > 0xffff || *end)
        return xenvf_err_set(err, XENVF_EINVAL, "%s: bad VF index '%s'", item,
                             hash + 1);
    memcpy(m->pf, item, (size_t)(hash - item) + 1); /* with its NUL */
    m->index = (unsigned)index;
    if (m->unplugged)
        return 0;
    if (!isdigit((unsigned char)c1[1]) ||
        (nsid = strtoul(c1 + 1, &end, 10)) < 1 || nsid > 0xfffffffeul || *end)
        return xenvf_err_set(err, XENVF_EINVAL, "%s#%lu: bad namespace '%s'",
                             item, index, c1 + 1);
    /* the vdev is what the guest is asked to move to: the same rules */
    snprintf(pv, sizeof(pv), "pv %.20s", c2 + 1);
    if (xenvf_switch_request_parse(pv, &req, NULL) || strlen(c2 + 1) > 20)
        return xenvf_err_set(err, XENVF_EINVAL, "%s#%lu: bad PV disk '%.20s'",
                             item, index, c2 + 1);
    if (!c3[1] || strchr(c3 + 1, ':') || strchr(c3 + 1, '#') ||
        strlen(c3 + 1) >= sizeof(m->wwid))
        return xenvf_err_set(err, XENVF_EINVAL, "%s#%lu: bad wwid '%.40s'",
                             item, index, c3 + 1);
    memcpy(m->wwid, c3 + 1, strlen(c3 + 1) + 1);
    m->nsid = (uint32_t)nsid;
    snprintf(m->vdev, sizeof(m->vdev), "%s", req.vdev);
    return 0;
}

int xlp_moved_parse(const char *text, xlp_moved **out, size_t *nr,
                    xenvf_err *err)
{
    xlp_moved *v = NULL;
    size_t n = 0;
    int rc = 0;

    *out = NULL;
    *nr = 0;
    while (text && *text && !rc) {
        size_t len = strcspn(text, " ");
        xlp_moved *grown;

        if (!len) {
            text++;
            continue;
        }
        if (n >= 64) {
            rc = xenvf_err_set(err, XENVF_EINVAL, "more than 64 VFs");
            break;
        }
        if (!(grown = realloc(v, (n + 1) * sizeof(*v)))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            break;
        }
        v = grown;
        rc = moved_parse_one(text, len, &v[n], err);
        if (!rc)
            n++;
        text += len;
    }
    if (!rc && !n)
        rc = xenvf_err_set(err, XENVF_EINVAL, "no VF listed");
    if (rc) {
        free(v);
        xenvf_err_prepend(err, XLP_IOMOVE_KEY ": ");
        return rc;
    }
    *out = v;
    *nr = n;
    return 0;
}
