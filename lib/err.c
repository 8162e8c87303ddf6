/* SPDX-License-Identifier: LGPL-2.1-only */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <xenvf/err.h>

void xenvf_err_init(xenvf_err *err)
{
    err->rc = 0;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}

void xenvf_err_dispose(xenvf_err *err)
{
    xenvf_err_init(err);
}

static void err_vset(xenvf_err *err, int rc, int errnum, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

static void err_vset(xenvf_err *err, int rc, int errnum, const char *fmt,
                     va_list ap)
{
    int n;

    err->rc = rc;
    err->sys_errno = errnum;
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    if (errnum && n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
}

int xenvf_err_set(xenvf_err *err, int rc, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return rc;
    va_start(ap, fmt);
    err_vset(err, rc, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int xenvf_err_set_errno(xenvf_err *err, int rc, int errnum, const char *fmt,
                        ...)
{
    va_list ap;

    if (!err)
        return rc;
    va_start(ap, fmt);
    err_vset(err, rc, errnum, fmt, ap);
    va_end(ap);
    return rc;
}

void xenvf_err_prepend(xenvf_err *err, const char *fmt, ...)
{
    char old[XENVF_ERR_MSG_MAX];
    va_list ap;
    int n;

    if (!err)
        return;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n, "%s", old);
}

const char *xenvf_rc_name(int rc)
{
    switch (rc) {
    case XENVF_OK:
        return "OK";
    case XENVF_EINVAL:
        return "EINVAL";
    case XENVF_ENOMEM:
        return "ENOMEM";
    case XENVF_EIO:
        return "EIO";
    case XENVF_ENOENT:
        return "ENOENT";
    case XENVF_EBUSY:
        return "EBUSY";
    case XENVF_EPERM:
        return "EPERM";
    case XENVF_EXS:
        return "EXS";
    case XENVF_ETIMEDOUT:
        return "ETIMEDOUT";
    case XENVF_ESCHEMA:
        return "ESCHEMA";
    case XENVF_ECONFLICT:
        return "ECONFLICT";
    case XENVF_ERANGE:
        return "ERANGE";
    case XENVF_ENOTSUP:
        return "ENOTSUP";
    }
    return "EUNKNOWN";
}
