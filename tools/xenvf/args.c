/* SPDX-License-Identifier: LGPL-2.1-only */
/* Command-line arguments: PF[#INDEX], numbers, guest names. */
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>

#include "xenvf.h"

int xv_parse_number(const char *cmd, const char *what, const char *s,
                    uint64_t max, uint64_t *out)
{
    xenvf_err err;

    xenvf_err_init(&err);
    if (xenvf_parse_uint(s, max, out, &err)) {
        return xv_usage_error(cmd, "%s: %s '%s' is not a number from 0 to %llu",
                              cmd, what, s, (unsigned long long)max);
    }
    return 0;
}

int xv_parse_pf_index(const char *cmd, const char *arg, char **pf, long *index)
{
    const char *hash = strchr(arg, '#');
    uint64_t v = 0;
    int rc;

    *pf = NULL;
    *index = -1;
    if (hash == arg || (hash && !hash[1]) || !*arg)
        return xv_usage_error(cmd, "%s: '%s' is not PF or PF#INDEX", cmd, arg);
    /* the largest index a 16-bit TotalVFs allows */
    if (hash && (rc = xv_parse_number(cmd, "VF index", hash + 1,
                                      XENVF_MAP_NUMVFS_MAX - 1, &v)))
        return rc;
    *pf = hash ? strndup(arg, (size_t)(hash - arg)) : strdup(arg);
    if (!*pf) {
        xv_error("out of memory");
        return XV_EXIT_ERROR;
    }
    if (hash)
        *index = (long)v;
    return 0;
}

bool xv_domain_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > XENVF_MAP_NAME_MAX)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") == n;
}
