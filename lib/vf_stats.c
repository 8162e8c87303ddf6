/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A NIC VF's counters in text (vf_stats.h): the xenstore value the PF agent
 * publishes and every reader parses. Numbers are read by text.c's parser.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <xenvf/text.h>
#include <xenvf/vf_stats.h>

const xenvf_vf_stat_def xenvf_vf_stat_defs[XENVF_NR_VF_STATS] = {
#define XENVF_VF_STAT_DEF(ID, name, help) [XENVF_VF_STAT_##ID] = {name, help},
    XENVF_VF_STATS(XENVF_VF_STAT_DEF)
#undef XENVF_VF_STAT_DEF
};

#define NONE "none"

static const char *const stat_names[XENVF_NR_VF_STATS] = {
#define XENVF_VF_STAT_NAME(ID, name, help) [XENVF_VF_STAT_##ID] = name,
    XENVF_VF_STATS(XENVF_VF_STAT_NAME)
#undef XENVF_VF_STAT_NAME
};

int xenvf_vf_stats_format(const xenvf_vf_stats *s,
                          char buf[XENVF_VF_STATS_STR_MAX], xenvf_err *err)
{
    if (s->status == XENVF_VF_STATS_NOT_GIVEN) {
        snprintf(buf, XENVF_VF_STATS_STR_MAX, NONE);
        return 0;
    }
    if (s->status != XENVF_VF_STATS_GIVEN || !s->mask)
        return xenvf_err_set(err, XENVF_EINVAL, "vf stats: nothing to say");
    /* 8 counters of at most 10 + 1 + 20 + 1 bytes: always fits */
    xenvf_counters_format(stat_names, XENVF_NR_VF_STATS, s->v, s->mask, buf,
                          XENVF_VF_STATS_STR_MAX);
    return 0;
}

int xenvf_vf_stats_parse(const char *text, size_t len, xenvf_vf_stats *out,
                         xenvf_err *err)
{
    xenvf_vf_stats s;
    uint32_t mask;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    if (len == strlen(NONE) && !memcmp(text, NONE, len)) {
        out->status = XENVF_VF_STATS_NOT_GIVEN;
        return 0;
    }
    rc = xenvf_counters_parse(text, len, stat_names, XENVF_NR_VF_STATS, s.v,
                              &mask, err);
    if (rc) {
        xenvf_err_prepend(err, "vf stats: ");
        return rc;
    }
    s.mask = mask;
    s.status = XENVF_VF_STATS_GIVEN;
    *out = s;
    return 0;
}

bool xenvf_vf_stats_equal(const xenvf_vf_stats *a, const xenvf_vf_stats *b)
{
    if (a->status != b->status || a->mask != b->mask)
        return false;
    for (int i = 0; i < XENVF_NR_VF_STATS; i++)
        if ((a->mask & (1u << i)) && a->v[i] != b->v[i])
            return false;
    return true;
}
