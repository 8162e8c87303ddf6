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

int xenvf_vf_stats_format(const xenvf_vf_stats *s,
                          char buf[XENVF_VF_STATS_STR_MAX], xenvf_err *err)
{
    size_t n = 0;

    if (s->status == XENVF_VF_STATS_NOT_GIVEN) {
        snprintf(buf, XENVF_VF_STATS_STR_MAX, NONE);
        return 0;
    }
    if (s->status != XENVF_VF_STATS_GIVEN || !s->mask)
        return xenvf_err_set(err, XENVF_EINVAL, "vf stats: nothing to say");
    buf[0] = '\0';
    for (int i = 0; i < XENVF_NR_VF_STATS; i++) {
        if (!(s->mask & (1u << i)))
            continue;
        /* 8 counters of at most 10 + 1 + 20 + 1 bytes: always fits */
        n += (size_t)snprintf(buf + n, XENVF_VF_STATS_STR_MAX - n,
                              "%s%s=%" PRIu64, n ? " " : "",
                              xenvf_vf_stat_defs[i].name, s->v[i]);
    }
    return 0;
}

static int find_stat(const char *name, size_t len)
{
    for (int i = 0; i < XENVF_NR_VF_STATS; i++)
        if (strlen(xenvf_vf_stat_defs[i].name) == len &&
            !memcmp(xenvf_vf_stat_defs[i].name, name, len))
            return i;
    return -1;
}

int xenvf_vf_stats_parse(const char *text, size_t len, xenvf_vf_stats *out,
                         xenvf_err *err)
{
    char q[XENVF_QUOTE_MAX];
    xenvf_vf_stats s;
    size_t at = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    if (len == strlen(NONE) && !memcmp(text, NONE, len)) {
        out->status = XENVF_VF_STATS_NOT_GIVEN;
        return 0;
    }
    if (!len)
        return xenvf_err_set(err, XENVF_EINVAL, "vf stats: empty");
    while (at < len) {
        const char *word = text + at, *sp = memchr(word, ' ', len - at);
        size_t wlen = sp ? (size_t)(sp - word) : len - at;
        const char *eq = memchr(word, '=', wlen);
        int i = eq ? find_stat(word, (size_t)(eq - word)) : -1;

        if (i < 0 || (s.mask & (1u << i))) {
            xenvf_quote_n(word, eq ? (size_t)(eq - word) : wlen, q, sizeof(q));
            return xenvf_err_set(err, XENVF_EINVAL,
                                 i < 0 ? "vf stats: unknown counter \"%s\""
                                       : "vf stats: \"%s\" twice",
                                 q);
        }
        rc = xenvf_parse_dec(xenvf_vf_stat_defs[i].name, eq + 1,
                             wlen - (size_t)(eq + 1 - word), 0, UINT64_MAX,
                             &s.v[i], err);
        if (rc) {
            xenvf_err_prepend(err, "vf stats: ");
            return rc;
        }
        s.mask |= 1u << i;
        at += wlen;
        if (sp && ++at == len) /* a trailing space */
            return xenvf_err_set(err, XENVF_EINVAL, "vf stats: trailing space");
    }
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
