/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Logging: one line per event, with a timestamp and the function that logged.
 * The sink defaults to stderr; daemons and the libxl plugin install their own
 * (syslog, xentoollog) with xenvf_log_set_sink().
 */
#ifndef XENVF_LOG_H
#define XENVF_LOG_H

#include <stdarg.h>

typedef enum xenvf_log_level {
    XENVF_LOG_DEBUG,
    XENVF_LOG_INFO,
    XENVF_LOG_WARN,
    XENVF_LOG_ERROR,
} xenvf_log_level;

typedef void xenvf_log_sink(void *opaque, xenvf_log_level level,
                            const char *func, const char *msg);

void xenvf_log_set_sink(xenvf_log_sink *sink, void *opaque);
void xenvf_log_set_level(xenvf_log_level min_level);
void xenvf_logv(xenvf_log_level level, const char *func, const char *fmt,
                va_list ap) __attribute__((format(printf, 3, 0)));
void xenvf_log(xenvf_log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The time at the head of every log line, UTC to the millisecond:
 * "2026-11-22T04:01:28.123Z". */
#define XENVF_LOG_STAMP_MAX 32
void xenvf_log_timestamp(char buf[XENVF_LOG_STAMP_MAX]);

/* LOG(INFO, "PF %s ready", id): carries the calling function. */
#define LOG(lvl, ...) xenvf_log(XENVF_LOG_##lvl, __func__, __VA_ARGS__)

#endif
