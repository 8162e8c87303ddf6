/* SPDX-License-Identifier: LGPL-2.1-only */
/* FLASK refusals in words (see flaskmsg.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

#include <xenvf/flask.h>

#include "flaskmsg.h"
#include "log.h"

#define AVC_DENIED  "avc:  denied"
#define RING_MAX    (1u << 20) /* the tail of the console that is read */
#define EXPLAIN_MAX 3          /* denials explained after one build */

/* The console's tail, NUL-terminated (NULL if it cannot be read). */
static char *read_console(xc_interface *xch)
{
    unsigned int n = RING_MAX;
    char *buf = malloc(RING_MAX + 1);

    if (!buf)
        return NULL;
    if (xc_readconsolering(xch, buf, &n, 0, 0, NULL)) {
        free(buf);
        return NULL;
    }
    buf[n < RING_MAX ? n : RING_MAX] = '\0';
    return buf;
}

static unsigned long count_denied(const char *ring)
{
    unsigned long n = 0;

    for (const char *p = ring; (p = strstr(p, AVC_DENIED)); p++)
        n++;
    return n;
}

void xlp_flask_watch_begin(xlp_flask_watch *w)
{
    xc_interface *xch = xenvf_xc_open();
    char *ring;

    memset(w, 0, sizeof(*w));
    if (!xch)
        return;
    if (xc_flask_getenforce(xch) == 1 && (ring = read_console(xch))) {
        w->on = true;
        w->denied = count_denied(ring);
        free(ring);
    }
    xc_interface_close(xch);
}

/* field LINE KEY: the value after "KEY=" up to the next blank, in out. */
static bool field(const char *line, const char *key, char *out, size_t len)
{
    const char *p = line;
    size_t klen = strlen(key), n;

    while ((p = strstr(p, key))) {
        if ((p == line || p[-1] == ' ') && p[klen] == '=') {
            p += klen + 1;
            n = strcspn(p, " \t\r\n");
            if (n >= len)
                n = len - 1;
            memcpy(out, p, n);
            out[n] = '\0';
            return n > 0;
        }
        p += klen;
    }
    return false;
}

/* The type of a context "user:role:type". */
static const char *type_of(const char *context)
{
    const char *t = strrchr(context, ':');

    return t ? t + 1 : context;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && !strcmp(s + n - m, tail);
}

/* What to change, by the label that was refused. */
static const char *advice(const char *target)
{
    if (!strcmp(target, "xenvf_mmcfg_t"))
        return "that is the MMCFG window, every device's extended "
               "configuration space: no domain but dom0 may have any of it; "
               "take it out of iomem=";
    if (!strcmp(target, "xenvf_pf_t"))
        return "that PF's driver runs in dom0, so only dom0 may use it; to "
               "give it to a driver domain, make that domain the PF's owner "
               "in the VF map (the PF becomes xenvf_drv_pf_t) and start it "
               "with seclabel = \"system_u:system_r:xenvf_drv_t\"";
    if (ends_with(target, "_pf_t"))
        return "PFs go to their driver domain only: start it with the "
               "driver-domain type of that PF's label (seclabel = "
               "\"system_u:system_r:xenvf_drv_t\")";
    if (ends_with(target, "vf_t"))
        return "VFs go to guests of a VF-holding type only: add seclabel = "
               "\"system_u:system_r:xenvf_guest_t\" (or the guest type of "
               "that VF's label) to the domain's config";
    if (!strcmp(target, "device_t") || !strcmp(target, "iomem_t"))
        return "the device or memory is not labelled, so only dom0 may use "
               "it: label it first (xenvfd labels the VFs it manages; "
               "xenvf-flask-labels --apply)";
    if (!strcmp(target, "domio_t"))
        return "this policy does not let the toolstack quarantine devices "
               "(xl pci-assignable-add): bind the device to pciback through "
               "sysfs, or let xenvfd manage it";
    return "check the domain's seclabel and the device's label against the "
           "policy";
}

bool xlp_flask_describe(const char *line, char *buf, size_t len)
{
    char perm[64] = "", scon[128], tcon[128], what[96] = "";
    const char *p = strstr(line, AVC_DENIED), *b, *e;
    char range[48], dev[32];

    if (!p || !(b = strchr(p, '{')) || !(e = strchr(b, '}')) ||
        !field(p, "scontext", scon, sizeof(scon)) ||
        !field(p, "tcontext", tcon, sizeof(tcon)))
        return false;
    b++;
    while (*b == ' ')
        b++;
    if (e > b) {
        size_t n = (size_t)(e - b);

        if (n >= sizeof(perm))
            n = sizeof(perm) - 1;
        memcpy(perm, b, n);
        perm[n] = '\0';
        while (n && perm[n - 1] == ' ')
            perm[--n] = '\0';
    }
    if (field(p, "range", range, sizeof(range)))
        snprintf(what, sizeof(what), " I/O memory frames %s", range);
    else if (field(p, "device", dev, sizeof(dev)))
        snprintf(what, sizeof(what), " device %s", dev);
    snprintf(buf, len,
             "Xen's FLASK policy refused this: a domain of type %s may not "
             "%s%s labelled %s; %s (docs/xsm.md)",
             type_of(scon), perm, what, type_of(tcon), advice(type_of(tcon)));
    return true;
}

void xlp_flask_watch_explain(const xlp_flask_watch *w)
{
    xc_interface *xch;
    char *ring, *p, *nl, msg[768];
    unsigned long n, skip;

    if (!w->on || !(xch = xenvf_xc_open()))
        return;
    ring = read_console(xch);
    xc_interface_close(xch);
    if (!ring)
        return;
    n = count_denied(ring);
    /* none new (or the ring wrapped, and which are new is unknown) */
    if (n <= w->denied) {
        free(ring);
        return;
    }
    skip = w->denied;
    if (n > skip + EXPLAIN_MAX)
        skip = n - EXPLAIN_MAX;
    for (p = ring; (p = strstr(p, AVC_DENIED)); p = nl ? nl : p + 1) {
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        if (skip) {
            skip--;
            continue;
        }
        if (xlp_flask_describe(p, msg, sizeof(msg))) {
            LOG(ERROR, "%s", msg);
            LOG(ERROR, "Xen: %s", p);
        }
        if (!nl)
            break;
    }
    free(ring);
}
