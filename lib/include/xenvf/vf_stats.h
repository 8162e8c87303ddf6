/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A NIC VF's traffic counters, as its PF driver gives them through
 * rtnetlink (IFLA_VF_STATS), defined once: each line of XENVF_VF_STATS is
 * one counter,
 *
 *   X(ID, name, help)
 *
 *   name  its key in the xenstore value (below), its member in `xenvf show
 *         --json` and, with xenvf_vf_ before and _total after, its metric
 *   help  what it counts (the metric's HELP, `xenvf show`'s label)
 *
 * The PF agent publishes them per VF at /xenvf/pf/<id>/vf/<n>/stats
 * (docs/xenstore-paths.md) as one line, "rx_packets=12 tx_packets=3 ...",
 * only the counters the driver gave, or "none" when the driver gives no
 * per-VF counters (Linux's igb: no ndo_get_vf_stats, and the kernel then
 * reports zeros, which must not be shown as counts).
 */
#ifndef XENVF_VF_STATS_H
#define XENVF_VF_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenvf/err.h>

#define XENVF_VF_STATS(X)                                                      \
    X(RX_PACKETS, "rx_packets", "Packets the VF received")                     \
    X(TX_PACKETS, "tx_packets", "Packets the VF sent")                         \
    X(RX_BYTES, "rx_bytes", "Bytes the VF received")                           \
    X(TX_BYTES, "tx_bytes", "Bytes the VF sent")                               \
    X(BROADCAST, "broadcast", "Broadcast packets the VF received")             \
    X(MULTICAST, "multicast", "Multicast packets the VF received")             \
    X(RX_DROPPED, "rx_dropped", "Packets to the VF the PF dropped")            \
    X(TX_DROPPED, "tx_dropped", "Packets from the VF the PF dropped")

typedef enum xenvf_vf_stat {
#define XENVF_VF_STAT_ENUM(ID, ...) XENVF_VF_STAT_##ID,
    XENVF_VF_STATS(XENVF_VF_STAT_ENUM)
#undef XENVF_VF_STAT_ENUM
        XENVF_NR_VF_STATS
} xenvf_vf_stat;

typedef struct xenvf_vf_stat_def {
    const char *name;
    const char *help;
} xenvf_vf_stat_def;

extern const xenvf_vf_stat_def xenvf_vf_stat_defs[XENVF_NR_VF_STATS];

typedef enum xenvf_vf_stats_status {
    XENVF_VF_STATS_UNKNOWN,   /* nothing published (not a NIC, no agent) */
    XENVF_VF_STATS_NOT_GIVEN, /* the driver gives no per-VF counters */
    XENVF_VF_STATS_GIVEN,
    XENVF_VF_STATS_BAD, /* published, but not a value xenvf_vf_stats_parse
                           accepts (readers say so and go on) */
} xenvf_vf_stats_status;

typedef struct xenvf_vf_stats {
    xenvf_vf_stats_status status;
    unsigned mask; /* the counters given: bit (1u << xenvf_vf_stat) */
    uint64_t v[XENVF_NR_VF_STATS];
} xenvf_vf_stats;

/* "none", or "name=value" of each counter given, space-separated. */
#define XENVF_VF_STATS_STR_MAX 320
int xenvf_vf_stats_format(const xenvf_vf_stats *s,
                          char buf[XENVF_VF_STATS_STR_MAX], xenvf_err *err);
/* The value back; strict: a name twice, an unknown name, a bad number or
 * an empty value is an error (and *out is left UNKNOWN). */
int xenvf_vf_stats_parse(const char *text, size_t len, xenvf_vf_stats *out,
                         xenvf_err *err);
bool xenvf_vf_stats_equal(const xenvf_vf_stats *a, const xenvf_vf_stats *b);

#endif
