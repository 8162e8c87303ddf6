/* SPDX-License-Identifier: LGPL-2.1-only */
#include <stdio.h>
#include <time.h>

#include <xenvf/log.h>

static xenvf_log_sink *log_sink;
static void *log_opaque;
static xenvf_log_level log_min = XENVF_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void xenvf_log_set_sink(xenvf_log_sink *sink, void *opaque)
{
    log_sink = sink;
    log_opaque = opaque;
}

void xenvf_log_set_level(xenvf_log_level min_level)
{
    log_min = min_level;
}

void xenvf_log_timestamp(char buf[XENVF_LOG_STAMP_MAX])
{
    struct timespec ts;
    struct tm tm;
    char s[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, XENVF_LOG_STAMP_MAX, "%s.%03dZ", s,
             (int)(ts.tv_nsec / 1000000));
}

/* Default sink: "2026-11-22T04:01:28.123Z xenvf info: func: msg". */
static void log_to_stderr(xenvf_log_level level, const char *func,
                          const char *msg)
{
    char stamp[XENVF_LOG_STAMP_MAX];

    xenvf_log_timestamp(stamp);
    fprintf(stderr, "%s xenvf %s: %s: %s\n", stamp, level_names[level], func,
            msg);
}

void xenvf_logv(xenvf_log_level level, const char *func, const char *fmt,
                va_list ap)
{
    char msg[2048];

    if (level < log_min)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_sink)
        log_sink(log_opaque, level, func, msg);
    else
        log_to_stderr(level, func, msg);
}

void xenvf_log(xenvf_log_level level, const char *func, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    xenvf_logv(level, func, fmt, ap);
    va_end(ap);
}
