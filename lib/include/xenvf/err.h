/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Error reporting for libxenvf.
 *
 * Every fallible function returns an int rc: 0 on success or a negative
 * XENVF_E* code, and fills an optional xenvf_err with a message that names
 * what is wrong and where ("map.xml:12: pf 'nvme0': vf index 7 >= TotalVFs 4").
 * Callers add context on the way up with xenvf_err_prepend(), the way QEMU's
 * error_prepend() does, so the final message reads from the outside in.
 */
#ifndef XENVF_ERR_H
#define XENVF_ERR_H

#include <stddef.h>

#define XENVF_ERR_MSG_MAX 1024

enum xenvf_rc {
    XENVF_OK = 0,
    XENVF_EINVAL = -1, /* bad input: syntax, value out of range */
    XENVF_ENOMEM = -2,
    XENVF_EIO = -3,    /* a file or sysfs read/write failed */
    XENVF_ENOENT = -4, /* the named object does not exist */
    XENVF_EBUSY = -5,  /* in use: VFs exist, VF held, lock taken */
    XENVF_EPERM = -6,  /* refused by xenstore or the kernel */
    XENVF_EXS = -7,    /* xenstore transport failure */
    XENVF_ETIMEDOUT = -8,
    XENVF_ESCHEMA = -9,    /* the map breaks its RELAX NG schema */
    XENVF_ECONFLICT = -10, /* consistent syntax, contradictory meaning */
    XENVF_ERANGE = -11,    /* a number overflows its field */
    XENVF_ENOTSUP = -12,   /* the hardware or platform lacks a feature */
};

typedef struct xenvf_err {
    int rc;                      /* the XENVF_E* code, 0 when clear */
    int sys_errno;               /* errno behind it, 0 if none */
    char msg[XENVF_ERR_MSG_MAX]; /* human-readable, never ends in '\n' */
} xenvf_err;

void xenvf_err_init(xenvf_err *err);
void xenvf_err_dispose(xenvf_err *err);

/* Set err (may be NULL) and return rc, so callers can write
 *   return xenvf_err_set(err, XENVF_EINVAL, "bad BDF '%s'", s);          */
int xenvf_err_set(xenvf_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like xenvf_err_set, appending ": strerror(errnum)" and keeping errnum. */
int xenvf_err_set_errno(xenvf_err *err, int rc, int errnum, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Prefix the message with context ("pf nvme0: " + old message). */
void xenvf_err_prepend(xenvf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Stable name of an rc, e.g. "EINVAL"; for logs and --json output. */
const char *xenvf_rc_name(int rc);

#endif
