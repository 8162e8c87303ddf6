/* SPDX-License-Identifier: LGPL-2.1-only */
/* The plugin's log sink (see log.h). */
#include <stdio.h>

#include <xenvf/file.h>
#include "log.h"

static void sink(void *opaque, xenvf_log_level level, const char *func,
                 const char *msg)
{
    static const char *const prefix[] = {"debug: ", "", "warning: ", "error: "};
    char stamp[XENVF_LOG_STAMP_MAX];

    xenvf_log_timestamp(stamp);
    /* one fprintf: the line stays whole if xl's threads log too */
    fprintf(stderr, "%s xenvf: %s%s\n", stamp, prefix[level], msg);
}

void xlp_log_setup(void)
{
    xenvf_log_set_sink(sink, NULL);
}
