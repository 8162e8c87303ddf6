/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libFuzzer target for the VF map parser: any input either fails with a
 * message, or parses, and then format -> parse must give back the same map
 * and format must be stable. Anything else (a crash, a leak, a sanitizer
 * report, a round trip that differs) is a bug: abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/map.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xenvf_map m1, m2;
    xenvf_err err;
    char *t1 = NULL, *t2 = NULL;
    size_t l1, l2;

    xenvf_map_init(&m1);
    xenvf_map_init(&m2);
    xenvf_err_init(&err);
    if (xenvf_map_parse_mem("fuzz", data, size, &m1, &err)) {
        /* every failure says what and where */
        if (!err.rc || strncmp(err.msg, "fuzz:", 5))
            abort();
        goto out;
    }
    if (xenvf_map_format(&m1, &t1, &l1, &err))
        abort();
    if (xenvf_map_parse_mem("fuzz-again", t1, l1, &m2, &err))
        abort();
    if (!xenvf_map_equal(&m1, &m2))
        abort();
    if (xenvf_map_format(&m2, &t2, &l2, &err))
        abort();
    if (l1 != l2 || memcmp(t1, t2, l1))
        abort();
out:
    free(t1);
    free(t2);
    xenvf_map_dispose(&m1);
    xenvf_map_dispose(&m2);
    return 0;
}
