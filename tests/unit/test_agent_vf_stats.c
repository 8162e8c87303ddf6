/*
 * A NIC VF's counters from rtnetlink (agent_net_decode_vf_stats): RTM_NEWLINK
 * messages built with libnl the way the kernel's rtnl_fill_vfinfo lays them
 * out (IFLA_NUM_VF, IFLA_VFINFO_LIST of IFLA_VF_INFO with IFLA_VF_MAC and
 * IFLA_VF_STATS), decoded by the agent's code: the counters by index, the
 * drops libnl does not decode, a driver without ndo_get_vf_stats (whose
 * zeros are not counts), VFs the message does not list, malformed parts.
 * The read-back of a VF's settings (agent_net_check_vf) from messages laid
 * out the same way: every setting as asked, then each one not kept.
 * The kernel's own reply is read in test_agent_net (root, a netns).
 */
#include <arpa/inet.h>
#include <check.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "../../daemon/agent.h"
#include "../harness/check-main.h"

typedef struct vf_spec {
    unsigned index;
    bool stats;    /* IFLA_VF_STATS present */
    bool drops;    /* with RX_DROPPED/TX_DROPPED (Linux >= 5.x) */
    bool bad_drop; /* RX_DROPPED 4 bytes long */
    uint64_t base; /* counter k is base + k */
} vf_spec;

/* An RTM_NEWLINK of netdev "eth7" listing vfs[0..n). */
static struct nl_msg *link_msg(uint32_t num_vf, const vf_spec *vfs, size_t n)
{
    static const int attrs[] = {
        IFLA_VF_STATS_RX_PACKETS, IFLA_VF_STATS_TX_PACKETS,
        IFLA_VF_STATS_RX_BYTES,   IFLA_VF_STATS_TX_BYTES,
        IFLA_VF_STATS_BROADCAST,  IFLA_VF_STATS_MULTICAST,
        IFLA_VF_STATS_RX_DROPPED, IFLA_VF_STATS_TX_DROPPED,
    };
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 7};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
    struct nlattr *list;

    ck_assert_ptr_nonnull(msg);
    nlmsg_set_proto(msg, NETLINK_ROUTE);
    ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
    ck_assert_int_eq(nla_put_string(msg, IFLA_IFNAME, "eth7"), 0);
    ck_assert_int_eq(nla_put_u32(msg, IFLA_NUM_VF, num_vf), 0);
    if (!n)
        return msg;
    ck_assert_ptr_nonnull(list = nla_nest_start(msg, IFLA_VFINFO_LIST));
    for (size_t i = 0; i < n; i++) {
        struct ifla_vf_mac mac = {.vf = vfs[i].index};
        struct nlattr *info = nla_nest_start(msg, IFLA_VF_INFO), *st;

        ck_assert_ptr_nonnull(info);
        mac.mac[5] = (uint8_t)vfs[i].index;
        ck_assert_int_eq(nla_put(msg, IFLA_VF_MAC, sizeof(mac), &mac), 0);
        if (vfs[i].stats) {
            size_t nr = vfs[i].drops ? 8 : 6;

            ck_assert_ptr_nonnull(st = nla_nest_start(msg, IFLA_VF_STATS));
            for (size_t k = 0; k < nr; k++) {
                if (vfs[i].bad_drop && attrs[k] == IFLA_VF_STATS_RX_DROPPED) {
                    uint32_t short_value = 9;

                    ck_assert_int_eq(nla_put(msg, attrs[k], sizeof(short_value),
                                             &short_value),
                                     0);
                    continue;
                }
                ck_assert_int_eq(nla_put_u64(msg, attrs[k], vfs[i].base + k),
                                 0);
            }
            nla_nest_end(msg, st);
        }
        nla_nest_end(msg, info);
    }
    nla_nest_end(msg, list);
    return msg;
}

static void decode(struct nl_msg *msg, bool gives, xenvf_vf_stats *out,
                   size_t nr)
{
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_msg(!agent_net_decode_vf_stats(msg, gives, out, nr, &err), "%s",
                  err.msg);
    nlmsg_free(msg);
}

/* mlx5-like: every counter, by VF index, whatever the order of the list */
START_TEST(counters_by_vf_index)
{
    const vf_spec vfs[] = {
        {.index = 1, .stats = true, .drops = true, .base = 1000},
        {.index = 0, .stats = true, .drops = true, .base = 5000000000ULL},
    };
    xenvf_vf_stats out[2];

    decode(link_msg(2, vfs, 2), true, out, 2);
    ck_assert_int_eq(out[0].status, XENVF_VF_STATS_GIVEN);
    ck_assert_int_eq(out[1].status, XENVF_VF_STATS_GIVEN);
    ck_assert_uint_eq(out[0].mask, (1u << XENVF_NR_VF_STATS) - 1);
    ck_assert_uint_eq(out[1].mask, (1u << XENVF_NR_VF_STATS) - 1);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_RX_PACKETS], 5000000000ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_TX_PACKETS], 5000000001ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_RX_BYTES], 5000000002ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_TX_BYTES], 5000000003ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_BROADCAST], 5000000004ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_MULTICAST], 5000000005ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_RX_DROPPED], 5000000006ULL);
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_TX_DROPPED], 5000000007ULL);
    ck_assert_uint_eq(out[1].v[XENVF_VF_STAT_RX_PACKETS], 1000);
    ck_assert_uint_eq(out[1].v[XENVF_VF_STAT_TX_DROPPED], 1007);
}
END_TEST

/* igb: no ndo_get_vf_stats, the kernel sends zeros: not counts */
START_TEST(driver_without_vf_stats_gives_none)
{
    const vf_spec vfs[] = {
        {.index = 0, .stats = true, .drops = true, .base = 0},
        {.index = 1, .stats = true, .drops = true, .base = 0},
    };
    xenvf_vf_stats out[2];

    decode(link_msg(2, vfs, 2), false, out, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(out[i].status, XENVF_VF_STATS_NOT_GIVEN);
        ck_assert_uint_eq(out[i].mask, 0);
    }
    ck_assert(!agent_net_driver_gives_vf_stats("igb"));
    ck_assert(!agent_net_driver_gives_vf_stats(NULL));
    ck_assert(agent_net_driver_gives_vf_stats("mlx5_core"));
    ck_assert(agent_net_driver_gives_vf_stats("i40e"));
}
END_TEST

/* no IFLA_VF_STATS (RTEXT_FILTER_SKIP_STATS, or a kernel before 4.2): a
 * listed VF without counters; no drops (a kernel before them): six */
START_TEST(missing_stats_and_drops)
{
    const vf_spec vfs[] = {
        {.index = 0, .stats = false},
        {.index = 1, .stats = true, .drops = false, .base = 10},
    };
    xenvf_vf_stats out[2];

    decode(link_msg(2, vfs, 2), true, out, 2);
    ck_assert_int_eq(out[0].status, XENVF_VF_STATS_NOT_GIVEN);
    ck_assert_int_eq(out[1].status, XENVF_VF_STATS_GIVEN);
    ck_assert_uint_eq(out[1].mask, (1u << XENVF_VF_STAT_RX_DROPPED) - 1);
    ck_assert_uint_eq(out[1].v[XENVF_VF_STAT_MULTICAST], 15);
}
END_TEST

/* VFs the message does not list stay unknown; no list at all: all */
START_TEST(unlisted_vfs_unknown)
{
    const vf_spec vfs[] = {{.index = 0, .stats = true, .base = 1}};
    xenvf_vf_stats out[3];

    decode(link_msg(3, vfs, 1), true, out, 3);
    ck_assert_int_eq(out[0].status, XENVF_VF_STATS_GIVEN);
    ck_assert_int_eq(out[1].status, XENVF_VF_STATS_UNKNOWN);
    ck_assert_int_eq(out[2].status, XENVF_VF_STATS_UNKNOWN);
    decode(link_msg(0, NULL, 0), true, out, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[i].status, XENVF_VF_STATS_UNKNOWN);
}
END_TEST

/* a drop of the wrong size is not read (libnl's policy checks it); the
 * rest of the VF's counters are */
START_TEST(malformed_drop_is_left_out)
{
    const vf_spec vfs[] = {
        {.index = 0, .stats = true, .drops = true, .bad_drop = true, .base = 3},
    };
    xenvf_vf_stats out[1];

    decode(link_msg(1, vfs, 1), true, out, 1);
    ck_assert_int_eq(out[0].status, XENVF_VF_STATS_GIVEN);
    ck_assert(!(out[0].mask & (1u << XENVF_VF_STAT_RX_DROPPED)));
    ck_assert_uint_eq(out[0].v[XENVF_VF_STAT_RX_PACKETS], 3);
}
END_TEST

/* a message that is not a link, or too short for one: an error */
START_TEST(not_a_link)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWADDR, 0);
    xenvf_vf_stats out[1];
    xenvf_err err;

    xenvf_err_init(&err);
    nlmsg_set_proto(msg, NETLINK_ROUTE);
    ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
    ck_assert_int_eq(agent_net_decode_vf_stats(msg, true, out, 1, &err),
                     XENVF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a link"));
    nlmsg_free(msg);

    msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
    nlmsg_set_proto(msg, NETLINK_ROUTE);
    ck_assert_int_eq(agent_net_decode_vf_stats(msg, true, out, 1, &err),
                     XENVF_EINVAL);
    ck_assert_int_eq(out[0].status, XENVF_VF_STATS_UNKNOWN);
    nlmsg_free(msg);
}
END_TEST

/* what the agent publishes, back through the one parser readers use */
START_TEST(published_text_round_trips)
{
    const vf_spec vfs[] = {{.index = 0,
                            .stats = true,
                            .drops = true,
                            .base = 18446744073709551600ULL}};
    char text[XENVF_VF_STATS_STR_MAX];
    xenvf_vf_stats out[1], back;
    xenvf_err err;

    xenvf_err_init(&err);
    decode(link_msg(1, vfs, 1), true, out, 1);
    ck_assert_int_eq(xenvf_vf_stats_format(&out[0], text, &err), 0);
    ck_assert_str_eq(text, "rx_packets=18446744073709551600 "
                           "tx_packets=18446744073709551601 "
                           "rx_bytes=18446744073709551602 "
                           "tx_bytes=18446744073709551603 "
                           "broadcast=18446744073709551604 "
                           "multicast=18446744073709551605 "
                           "rx_dropped=18446744073709551606 "
                           "tx_dropped=18446744073709551607");
    ck_assert_int_eq(xenvf_vf_stats_parse(text, strlen(text), &back, &err), 0);
    ck_assert(xenvf_vf_stats_equal(&back, &out[0]));
    out[0].status = XENVF_VF_STATS_NOT_GIVEN;
    ck_assert_int_eq(xenvf_vf_stats_format(&out[0], text, &err), 0);
    ck_assert_str_eq(text, "none");
}
END_TEST

/* ---- read-back of the settings (agent_net_check_vf) ---------------------- */

typedef struct vf_set {
    uint8_t mac5;      /* the MAC is 00:16:3e:00:00:mac5 */
    uint32_t vlan;     /* IFLA_VF_VLAN (0: none) */
    bool vlan_list;    /* and IFLA_VF_VLAN_LIST, as Linux >= 4.9 sends */
    uint32_t trust;    /* IFLA_VF_TRUST */
    uint32_t spoofchk; /* IFLA_VF_SPOOFCHK */
    uint32_t rate;     /* IFLA_VF_RATE max_tx_rate */
    bool no_trust;     /* IFLA_VF_TRUST left out */
} vf_set;

/* An RTM_NEWLINK listing VF 1 with settings as rtnl_fill_vfinfo lays
 * them out. */
static struct nl_msg *settings_msg(const vf_set *v)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 7};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
    struct ifla_vf_mac mac = {.vf = 1,
                              .mac = {0x00, 0x16, 0x3e, 0, 0, v->mac5}};
    struct ifla_vf_vlan vlan = {.vf = 1, .vlan = v->vlan};
    struct ifla_vf_trust trust = {.vf = 1, .setting = v->trust};
    struct ifla_vf_spoofchk spoof = {.vf = 1, .setting = v->spoofchk};
    struct ifla_vf_rate rate = {.vf = 1, .max_tx_rate = v->rate};
    struct ifla_vf_tx_rate txr = {.vf = 1, .rate = v->rate};
    struct nlattr *list, *info;

    ck_assert_ptr_nonnull(msg);
    nlmsg_set_proto(msg, NETLINK_ROUTE);
    ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
    ck_assert_int_eq(nla_put_string(msg, IFLA_IFNAME, "eth7"), 0);
    ck_assert_int_eq(nla_put_u32(msg, IFLA_NUM_VF, 2), 0);
    ck_assert_ptr_nonnull(list = nla_nest_start(msg, IFLA_VFINFO_LIST));
    ck_assert_ptr_nonnull(info = nla_nest_start(msg, IFLA_VF_INFO));
    ck_assert_int_eq(nla_put(msg, IFLA_VF_MAC, sizeof(mac), &mac), 0);
    ck_assert_int_eq(nla_put(msg, IFLA_VF_VLAN, sizeof(vlan), &vlan), 0);
    if (v->vlan_list) {
        struct ifla_vf_vlan_info vi = {
            .vf = 1, .vlan = v->vlan, .vlan_proto = htons(0x8100)};
        struct nlattr *vl = nla_nest_start(msg, IFLA_VF_VLAN_LIST);

        ck_assert_ptr_nonnull(vl);
        ck_assert_int_eq(nla_put(msg, IFLA_VF_VLAN_INFO, sizeof(vi), &vi), 0);
        nla_nest_end(msg, vl);
    }
    ck_assert_int_eq(nla_put(msg, IFLA_VF_TX_RATE, sizeof(txr), &txr), 0);
    ck_assert_int_eq(nla_put(msg, IFLA_VF_RATE, sizeof(rate), &rate), 0);
    ck_assert_int_eq(nla_put(msg, IFLA_VF_SPOOFCHK, sizeof(spoof), &spoof), 0);
    if (!v->no_trust)
        ck_assert_int_eq(nla_put(msg, IFLA_VF_TRUST, sizeof(trust), &trust), 0);
    nla_nest_end(msg, info);
    nla_nest_end(msg, list);
    return msg;
}

/* What the agent asked for: mac ...:05, vlan 5, trust off, spoofchk on,
 * rate 100 (the QEMU tier's ga). */
static void asked(xenvf_vf_config *c)
{
    static const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0, 0, 5};

    xenvf_vf_config_init(c);
    c->has_mac = true;
    memcpy(c->mac, mac, 6);
    c->vlan = 5;
    c->trust = 0;
    c->spoofchk = 1;
    c->rate_mbps = 100;
}

/* check: agent_net_check_vf on VF 1 of v's message; its message, or "" */
static int check_vf(const vf_set *v, const xenvf_vf_config *c, char *why)
{
    struct nl_msg *msg = settings_msg(v);
    xenvf_err err;
    int rc;

    xenvf_err_init(&err);
    rc = agent_net_check_vf(msg, 1, c, "igb", &err);
    strcpy(why, rc ? err.msg : "");
    nlmsg_free(msg);
    return rc;
}

/* What the driver reports when it kept every setting asked() asks for. */
static const vf_set kept = {
    .mac5 = 5, .vlan = 5, .vlan_list = true, .spoofchk = 1, .rate = 100};

/* Each setting the driver did not keep, named with the driver; NULL:
 * refused, whatever the words. */
enum { NOT_MAC, NOT_VLAN, NOT_TRUST, NO_TRUST, NOT_SPOOFCHK, NOT_RATE };
static const struct {
    int what;
    const char *why;
} not_kept[] = {
    {NOT_MAC, "vf 1: mac 00:16:3e:00:00:05 did not stay set: driver igb "
              "reports 00:16:3e:00:00:06"},
    {NOT_VLAN, "vf 1: vlan 5 did not stay set: driver igb reports 0"},
    {NOT_TRUST,
     "vf 1: trust off did not stay set: driver igb does not report it so"},
    {NO_TRUST, NULL}, /* a kernel that does not report trust */
    {NOT_SPOOFCHK,
     "vf 1: spoofchk on did not stay set: driver igb does not report it so"},
    {NOT_RATE, "vf 1: rate 100 did not stay set: driver igb reports 0"},
};

static vf_set kept_but(int what)
{
    vf_set v = kept;

    switch (what) {
    case NOT_MAC:
        v.mac5 = 6;
        break;
    case NOT_VLAN:
        v.vlan = 0;
        break;
    case NOT_TRUST:
        v.trust = 1;
        break;
    case NO_TRUST:
        v.no_trust = true;
        break;
    case NOT_SPOOFCHK:
        v.spoofchk = 0;
        break;
    case NOT_RATE:
        v.rate = 0;
        break;
    }
    return v;
}

START_TEST(read_back_every_setting)
{
    vf_set v = kept;
    xenvf_vf_config c;
    char why[XENVF_ERR_MSG_MAX];

    asked(&c);
    ck_assert_msg(check_vf(&v, &c, why) == 0, "%s", why);
    v.vlan_list = false; /* IFLA_VF_VLAN alone */
    ck_assert_msg(check_vf(&v, &c, why) == 0, "%s", why);
    for (size_t i = 0; i < sizeof(not_kept) / sizeof(not_kept[0]); i++) {
        v = kept_but(not_kept[i].what);
        ck_assert_int_eq(check_vf(&v, &c, why), XENVF_EIO);
        if (not_kept[i].why)
            ck_assert_str_eq(why, not_kept[i].why);
    }
    /* unset settings are not read back: only the MAC asked for */
    xenvf_vf_config_init(&c);
    c.has_mac = true;
    memcpy(c.mac, (const uint8_t[]){0x00, 0x16, 0x3e, 0, 0, 5}, 6);
    v = kept_but(NOT_TRUST);
    v.vlan = 9;
    v.rate = 0;
    ck_assert_msg(check_vf(&v, &c, why) == 0, "%s", why);
    /* vlan 0 and rate 0 asked for: none listed reads as 0 */
    xenvf_vf_config_init(&c);
    c.vlan = 0;
    c.rate_mbps = 0;
    v = kept_but(NOT_VLAN);
    v.rate = 0;
    ck_assert_msg(check_vf(&v, &c, why) == 0, "%s", why);
}
END_TEST

START_TEST(read_back_unlisted_vf)
{
    struct nl_msg *msg = settings_msg(&(vf_set){.mac5 = 5});
    xenvf_vf_config c;
    xenvf_err err;

    asked(&c);
    xenvf_err_init(&err);
    ck_assert_int_eq(agent_net_check_vf(msg, 0, &c, "igb", &err), XENVF_EIO);
    ck_assert_str_eq(err.msg, "vf 0: driver igb does not list it: no setting "
                              "of it can be read back");
    nlmsg_free(msg);

    /* IFLA_NUM_VF without a VF list (libnl 3.7 crashed on it: fuzzing) */
    msg = link_msg(2, NULL, 0);
    xenvf_err_init(&err);
    ck_assert_int_eq(agent_net_check_vf(msg, 1, &c, "igb", &err), XENVF_EIO);
    ck_assert_str_eq(err.msg, "vf 1: driver igb does not list it: no setting "
                              "of it can be read back");
    nlmsg_free(msg);
}
END_TEST

static Suite *vf_stats_suite(void)
{
    Suite *s = suite_create("agent_vf_stats");
    TCase *tc = tcase_create("decode");

    tcase_add_test(tc, counters_by_vf_index);
    tcase_add_test(tc, driver_without_vf_stats_gives_none);
    tcase_add_test(tc, missing_stats_and_drops);
    tcase_add_test(tc, unlisted_vfs_unknown);
    tcase_add_test(tc, malformed_drop_is_left_out);
    tcase_add_test(tc, not_a_link);
    tcase_add_test(tc, published_text_round_trips);
    suite_add_tcase(s, tc);
    tc = tcase_create("read_back");
    tcase_add_test(tc, read_back_every_setting);
    tcase_add_test(tc, read_back_unlisted_vf);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(vf_stats_suite)
