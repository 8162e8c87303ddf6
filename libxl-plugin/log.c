/* SPDX-License-Identifier: LGPL-2.1-only */
/* The plugin's log sink (see log.h). */
#include <stdio.h>
#include <time.h>

#include "log.h"

static void sink(void *opaque, xenvf_log_level level, const char *func,
                 const char *msg)
{
    static const char *const prefix[] = {"debug: ", "", "warning: ", "error: "};
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    /* one fprintf: the line stays whole if xl's threads log too */
    fprintf(stderr, "%s.%03ldZ xenvf: %s%s\n", stamp, ts.tv_nsec / 1000000,
            prefix[level], msg);
}

void xlp_log_setup(void)
{
    xenvf_log_set_sink(sink, NULL);
}

int64_t xlp_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
