/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * NIC PFs: a VF's MAC, port VLAN, trust, spoof checking and rate are set
 * on the PF's netdev through rtnetlink (IFLA_VFINFO_LIST), built by
 * libnl-route (rtnl_link_vf_*), not by hand. The kernel forgets them when
 * the PF driver reloads; the agent sets them again when it sees the driver
 * bound (agent.c). After each change every setting is read back
 * (agent_net_check_vf): a VF is set up only when the kernel reports it as
 * asked. Verified on Linux's igb with QEMU 10's 82576 (the QEMU tier's
 * scenario nic-vf); the fast tier has no netdev with VF settings (no
 * netdevsim or dummy on this kernel: test_agent_net uses lo).
 *
 * Per-VF counters (IFLA_VF_STATS) are read from the same netdev and
 * published under the VFs' nodes (agent_net_publish_stats), on a timer
 * only while the agent serves a NIC PF.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>

#include <xenvf/sysfs.h>
#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "agent.h"

int agent_net_apply(const char *ifname, unsigned vf_index,
                    const xenvf_vf_config *c, xenvf_err *err)
{
    struct nl_sock *sk = NULL;
    struct rtnl_link *link = NULL, *change = NULL;
    struct rtnl_link_vf *vf = NULL;
    struct nl_addr *addr = NULL;
    nl_vf_vlans_t *vlans = NULL;
    int rc = 0, e;

    if (!xenvf_vf_config_has(c, XENVF_SETTING_NIC))
        return 0;
    if (!(sk = nl_socket_alloc()) || !(change = rtnl_link_alloc()) ||
        !(vf = rtnl_link_vf_alloc())) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    if ((e = nl_connect(sk, NETLINK_ROUTE)) ||
        (e = rtnl_link_get_kernel(sk, 0, ifname, &link))) {
        rc = xenvf_err_set(err, XENVF_EIO, "netlink: %s: %s", ifname,
                           nl_geterror(e));
        goto out;
    }
    rtnl_link_vf_set_index(vf, vf_index);
    if (c->has_mac) {
        if (!(addr = nl_addr_build(AF_LLC, c->mac, 6))) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        rtnl_link_vf_set_addr(vf, addr);
    }
    if (c->vlan >= 0) {
        if (rtnl_link_vf_vlan_alloc(&vlans, 1)) {
            rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
            goto out;
        }
        vlans->vlans[0].vf_vlan = (uint32_t)c->vlan;
        vlans->vlans[0].vf_vlan_qos = 0;
        vlans->vlans[0].vf_vlan_proto = ETH_P_8021Q;
        rtnl_link_vf_set_vlans(vf, vlans);
    }
    if (c->trust >= 0)
        rtnl_link_vf_set_trust(vf, (uint32_t)c->trust);
    if (c->spoofchk >= 0)
        rtnl_link_vf_set_spoofchk(vf, (uint32_t)c->spoofchk);
    if (c->rate_mbps >= 0) {
        struct nl_vf_rate rate = {.api = RTNL_LINK_VF_RATE_API_NEW,
                                  .max_tx_rate = (uint32_t)c->rate_mbps};
        rtnl_link_vf_set_rate(vf, &rate);
    }
    if ((e = rtnl_link_vf_add(change, vf)) ||
        (e = rtnl_link_change(sk, link, change, 0)))
        rc = xenvf_err_set(err, XENVF_EIO, "netlink: %s vf %u: %s", ifname,
                           vf_index, nl_geterror(e));
out:
    if (vlans)
        rtnl_link_vf_vlan_put(vlans);
    nl_addr_put(addr);
    if (vf)
        rtnl_link_vf_put(vf);
    rtnl_link_put(change);
    rtnl_link_put(link);
    nl_socket_free(sk);
    return rc;
}

/* The PF's netdev: the first entry of <pf>/net/ */
static int pf_ifname(agent *a, agent_pf *pf, char *out, size_t len,
                     xenvf_err *err)
{
    char *dir = NULL;
    struct dirent *de;
    DIR *d;
    int rc;

    if ((rc = xenvf_sysfs_dev_path(a->cfg->sysfs_root, &pf->rec.bdf, "net",
                                   &dir, err)))
        return rc;
    d = opendir(dir);
    free(dir);
    if (!d)
        return xenvf_err_set(err, XENVF_ENOENT, "pf %s: no netdev", pf->id);
    rc = xenvf_err_set(err, XENVF_ENOENT, "pf %s: no netdev", pf->id);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(out, len, "%.*s", (int)(len - 1), de->d_name);
            rc = 0;
            if (err)
                xenvf_err_init(err);
            break;
        }
    closedir(d);
    return rc;
}

/* ---- per-VF counters ---------------------------------------------------- */

/*
 * The PF drivers whose ndo_get_vf_stats fills IFLA_VF_STATS (Linux 6.1 to
 * 6.12). For every other driver the kernel still sends IFLA_VF_STATS, with
 * zeros (rtnl_fill_vfinfo zeroes them and asks the driver only if it has
 * the hook): igb, the tier's NIC, is one. Those are not counts and are
 * never shown as counts.
 */
static const char *const drivers_with_vf_stats[] = {
    "mlx5_core", "mlx4_core", "i40e", "ice", "ionic", "liquidio",
};

bool agent_net_driver_gives_vf_stats(const char *driver)
{
    for (size_t i = 0;
         i < sizeof(drivers_with_vf_stats) / sizeof(drivers_with_vf_stats[0]);
         i++)
        if (driver && !strcmp(driver, drivers_with_vf_stats[i]))
            return true;
    return false;
}

/* The counters libnl decodes, by its names; -1: libnl has none. */
static const int libnl_stat[XENVF_NR_VF_STATS] = {
    [XENVF_VF_STAT_RX_PACKETS] = RTNL_LINK_VF_STATS_RX_PACKETS,
    [XENVF_VF_STAT_TX_PACKETS] = RTNL_LINK_VF_STATS_TX_PACKETS,
    [XENVF_VF_STAT_RX_BYTES] = RTNL_LINK_VF_STATS_RX_BYTES,
    [XENVF_VF_STAT_TX_BYTES] = RTNL_LINK_VF_STATS_TX_BYTES,
    [XENVF_VF_STAT_BROADCAST] = RTNL_LINK_VF_STATS_BROADCAST,
    [XENVF_VF_STAT_MULTICAST] = RTNL_LINK_VF_STATS_MULTICAST,
    [XENVF_VF_STAT_RX_DROPPED] = -1,
    [XENVF_VF_STAT_TX_DROPPED] = -1,
};

static void got_link(struct nl_object *obj, void *arg)
{
    struct rtnl_link **link = arg;

    if (*link || strcmp(nl_object_get_type(obj), "route/link"))
        return;
    nl_object_get(obj);
    *link = (struct rtnl_link *)obj;
}

/*
 * The drops libnl 3.7 does not decode (IFLA_VF_STATS_RX_DROPPED and
 * _TX_DROPPED), for the VFs libnl listed: walked with libnl's attribute
 * parser, whose policies check every length before a value is read.
 */
static void decode_drops(struct nl_msg *msg, xenvf_vf_stats *out, size_t nr)
{
    static struct nla_policy vf_pol[IFLA_VF_MAX + 1] = {
        [IFLA_VF_MAC] = {.minlen = sizeof(struct ifla_vf_mac)},
        [IFLA_VF_STATS] = {.type = NLA_NESTED},
    };
    static struct nla_policy st_pol[IFLA_VF_STATS_MAX + 1] = {
        [IFLA_VF_STATS_RX_DROPPED] = {.type = NLA_U64},
        [IFLA_VF_STATS_TX_DROPPED] = {.type = NLA_U64},
    };
    static const struct {
        int attr;
        xenvf_vf_stat stat;
    } drops[] = {
        {IFLA_VF_STATS_RX_DROPPED, XENVF_VF_STAT_RX_DROPPED},
        {IFLA_VF_STATS_TX_DROPPED, XENVF_VF_STAT_TX_DROPPED},
    };
    struct nlattr *list, *info;
    int rem;

    list = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct ifinfomsg),
                           IFLA_VFINFO_LIST);
    if (!list)
        return;
    nla_for_each_nested(info, list, rem)
    {
        struct nlattr *t[IFLA_VF_MAX + 1], *st[IFLA_VF_STATS_MAX + 1];
        const struct ifla_vf_mac *mac;

        if (nla_type(info) != IFLA_VF_INFO ||
            nla_parse_nested(t, IFLA_VF_MAX, info, vf_pol) < 0 ||
            !t[IFLA_VF_MAC] || !t[IFLA_VF_STATS] ||
            nla_parse_nested(st, IFLA_VF_STATS_MAX, t[IFLA_VF_STATS], st_pol) <
                0)
            continue;
        mac = nla_data(t[IFLA_VF_MAC]);
        if (mac->vf >= nr || out[mac->vf].status == XENVF_VF_STATS_UNKNOWN)
            continue;
        for (size_t d = 0; d < sizeof(drops) / sizeof(drops[0]); d++) {
            if (!st[drops[d].attr])
                continue;
            out[mac->vf].v[drops[d].stat] = nla_get_u64(st[drops[d].attr]);
            out[mac->vf].mask |= 1u << drops[d].stat;
        }
    }
}

int agent_net_decode_vf_stats(struct nl_msg *msg, bool driver_gives,
                              xenvf_vf_stats *out, size_t nr, xenvf_err *err)
{
    struct rtnl_link *link = NULL;
    uint32_t num = 0;
    int rc = 0, e;

    memset(out, 0, nr * sizeof(*out));
    e = nl_msg_parse(msg, got_link, &link);
    if (e < 0 || !link) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "netlink: not a link: %s",
                           e < 0 ? nl_geterror(e) : "no link in the message");
        goto out;
    }
    if (rtnl_link_get_num_vf(link, &num) < 0 || !rtnl_link_has_vf_list(link))
        goto out; /* no VF listed: nothing known of any */
    for (size_t i = 0; i < nr; i++) {
        struct rtnl_link_vf *vf = rtnl_link_vf_get(link, (uint32_t)i);
        uint32_t idx;

        if (!vf)
            continue;
        if (rtnl_link_vf_get_index(vf, &idx) < 0 || idx != i) {
            rtnl_link_vf_put(vf); /* an entry without IFLA_VF_MAC */
            continue;
        }
        out[i].status = XENVF_VF_STATS_NOT_GIVEN;
        for (int s = 0; s < XENVF_NR_VF_STATS; s++) {
            uint64_t v;

            if (libnl_stat[s] < 0 ||
                rtnl_link_vf_get_stat(vf, (rtnl_link_vf_stats_t)libnl_stat[s],
                                      &v) < 0)
                continue;
            out[i].v[s] = v;
            out[i].mask |= 1u << s;
        }
        rtnl_link_vf_put(vf);
    }
    decode_drops(msg, out, nr);
    for (size_t i = 0; i < nr; i++) {
        if (out[i].status == XENVF_VF_STATS_UNKNOWN)
            continue;
        if (driver_gives && out[i].mask) {
            out[i].status = XENVF_VF_STATS_GIVEN;
        } else { /* zeros the kernel made up, or nothing: not counts */
            memset(&out[i], 0, sizeof(out[i]));
            out[i].status = XENVF_VF_STATS_NOT_GIVEN;
        }
    }
out:
    rtnl_link_put(link);
    return rc;
}

/* NL_CB_VALID: keep a copy of the reply (its attributes are read twice). */
static int keep_reply(struct nl_msg *msg, void *arg)
{
    struct nl_msg **keep = arg;

    if (*keep || nlmsg_hdr(msg)->nlmsg_type != RTM_NEWLINK)
        return NL_OK;
    *keep = nlmsg_convert(nlmsg_hdr(msg));
    if (*keep)
        nlmsg_set_proto(*keep, NETLINK_ROUTE);
    return NL_OK;
}

/* The netdev's RTM_NEWLINK with its VF list (sent only when asked for:
 * RTEXT_FILTER_VF), as the kernel sends it. */
static int get_link_with_vfs(const char *ifname, struct nl_msg **reply_out,
                             xenvf_err *err)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    struct nl_sock *sk = NULL;
    struct nl_msg *req = NULL, *reply = NULL;
    int rc = 0, e;

    sk = nl_socket_alloc();
    req = nlmsg_alloc_simple(RTM_GETLINK, 0);
    if (!sk || !req) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    e = nlmsg_append(req, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
    if (!e)
        e = nla_put_string(req, IFLA_IFNAME, ifname);
    if (!e)
        e = nla_put_u32(req, IFLA_EXT_MASK, RTEXT_FILTER_VF);
    if (!e)
        e = nl_connect(sk, NETLINK_ROUTE);
    if (!e)
        e = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, keep_reply,
                                &reply);
    if (!e && (e = nl_send_auto(sk, req)) > 0)
        e = 0;
    if (!e && (e = nl_recvmsgs_default(sk)) > 0)
        e = 0;
    if (!e)
        e = nl_wait_for_ack(sk);
    if (e < 0) {
        rc = xenvf_err_set(err, XENVF_EIO, "netlink: %s: %s", ifname,
                           nl_geterror(e));
        goto out;
    }
    if (!reply) {
        rc = xenvf_err_set(err, XENVF_EIO, "netlink: %s: no link in the reply",
                           ifname);
        goto out;
    }
    *reply_out = reply;
    reply = NULL;
out:
    nlmsg_free(reply);
    nlmsg_free(req);
    nl_socket_free(sk);
    return rc;
}

int agent_net_read_vf_stats(const char *ifname, bool driver_gives,
                            xenvf_vf_stats *out, size_t nr, xenvf_err *err)
{
    struct nl_msg *reply = NULL;
    int rc;

    if ((rc = get_link_with_vfs(ifname, &reply, err)))
        return rc;
    rc = agent_net_decode_vf_stats(reply, driver_gives, out, nr, err);
    if (rc)
        xenvf_err_prepend(err, "%s: ", ifname);
    nlmsg_free(reply);
    return rc;
}

/* ---- read-back ------------------------------------------------------------
 */

/* The VLAN the kernel reports for VF vf_index in msg: 0 when it lists
 * none. Read from the message itself with length-checking policies:
 * libnl 3.7's rtnl_link_vf_get_vlans writes through a NULL list for an
 * IFLA_VF_VLAN_LIST without entries (found by fuzz_vf_stats_nl). */
static uint32_t vf_vlan_of(struct nl_msg *msg, unsigned vf_index)
{
    static struct nla_policy vf_pol[IFLA_VF_MAX + 1] = {
        [IFLA_VF_MAC] = {.minlen = sizeof(struct ifla_vf_mac)},
        [IFLA_VF_VLAN] = {.minlen = sizeof(struct ifla_vf_vlan)},
        [IFLA_VF_VLAN_LIST] = {.type = NLA_NESTED},
    };
    struct nlattr *list, *info, *vl;
    int rem, rem2;

    list = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct ifinfomsg),
                           IFLA_VFINFO_LIST);
    if (!list)
        return 0;
    nla_for_each_nested(info, list, rem)
    {
        struct nlattr *t[IFLA_VF_MAX + 1];

        if (nla_type(info) != IFLA_VF_INFO ||
            nla_parse_nested(t, IFLA_VF_MAX, info, vf_pol) < 0 ||
            !t[IFLA_VF_MAC] ||
            ((const struct ifla_vf_mac *)nla_data(t[IFLA_VF_MAC]))->vf !=
                vf_index)
            continue;
        if (t[IFLA_VF_VLAN])
            return ((const struct ifla_vf_vlan *)nla_data(t[IFLA_VF_VLAN]))
                ->vlan;
        if (t[IFLA_VF_VLAN_LIST])
            nla_for_each_nested(vl, t[IFLA_VF_VLAN_LIST], rem2)
            {
                if (nla_type(vl) == IFLA_VF_VLAN_INFO &&
                    nla_len(vl) >= (int)sizeof(struct ifla_vf_vlan_info))
                    return ((const struct ifla_vf_vlan_info *)nla_data(vl))
                        ->vlan;
            }
        return 0;
    }
    return 0;
}

/* An on/off setting (want: 0/1, or < 0 when not asked for) read back
 * through its libnl getter. */
static int check_flag(struct rtnl_link_vf *vf, unsigned vf_index,
                      const char *name,
                      int (*get)(struct rtnl_link_vf *, uint32_t *),
                      int64_t want, const char *drv, xenvf_err *err)
{
    uint32_t v;

    if (want < 0 || (get(vf, &v) == 0 && (v != 0) == (want != 0)))
        return 0;
    return xenvf_err_set(err, XENVF_EIO,
                         "vf %u: %s %s did not stay set: driver %s "
                         "does not report it so",
                         vf_index, name, want ? "on" : "off", drv);
}

int agent_net_check_vf(struct nl_msg *msg, unsigned vf_index,
                       const xenvf_vf_config *c, const char *driver,
                       xenvf_err *err)
{
    struct rtnl_link *link = NULL;
    struct rtnl_link_vf *vf = NULL;
    struct nl_addr *addr = NULL; /* the VF's own: no reference taken */
    char got[64], want[64];
    const char *drv = driver ? driver : "(unknown)";
    uint32_t v;
    int rc = 0, e;

    e = nl_msg_parse(msg, got_link, &link);
    if (e < 0 || !link) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "netlink: not a link: %s",
                           e < 0 ? nl_geterror(e) : "no link in the message");
        goto out;
    }
    /* libnl 3.7's rtnl_link_vf_get reads a NULL list when the message
     * has IFLA_NUM_VF but no IFLA_VFINFO_LIST (found by fuzz_vf_stats_nl) */
    if (rtnl_link_get_num_vf(link, &v) == 0 && rtnl_link_has_vf_list(link))
        vf = rtnl_link_vf_get(link, vf_index);
    if (!vf || rtnl_link_vf_get_index(vf, &v) < 0 || v != vf_index) {
        rc = xenvf_err_set(err, XENVF_EIO,
                           "vf %u: driver %s does not list it: no setting of "
                           "it can be read back",
                           vf_index, drv);
        goto out;
    }
    if (c->has_mac) {
        const uint8_t *b = NULL;

        if (rtnl_link_vf_get_addr(vf, &addr) == 0 && addr &&
            nl_addr_get_len(addr) == 6)
            b = nl_addr_get_binary_addr(addr);
        if (!b || memcmp(b, c->mac, 6)) {
            xenvf_mac_format(c->mac, want);
            if (b)
                xenvf_mac_format(b, got);
            rc = xenvf_err_set(err, XENVF_EIO,
                               "vf %u: mac %s did not stay set: driver %s "
                               "reports %s",
                               vf_index, want, drv, b ? got : "none");
            goto out;
        }
    }
    if (c->vlan >= 0 && (v = vf_vlan_of(msg, vf_index)) != (uint32_t)c->vlan) {
        rc =
            xenvf_err_set(err, XENVF_EIO,
                          "vf %u: vlan %" PRId64 " did not stay set: driver %s "
                          "reports %" PRIu32,
                          vf_index, c->vlan, drv, v);
        goto out;
    }
    if ((rc = check_flag(vf, vf_index, "trust", rtnl_link_vf_get_trust,
                         c->trust, drv, err)) ||
        (rc = check_flag(vf, vf_index, "spoofchk", rtnl_link_vf_get_spoofchk,
                         c->spoofchk, drv, err)))
        goto out;
    if (c->rate_mbps >= 0) {
        struct nl_vf_rate r = {0};

        /* libnl leaves a rate of 0 (no limit) out: none reads as 0 */
        if (rtnl_link_vf_get_rate(vf, &r) < 0)
            v = 0;
        else
            v = r.api == RTNL_LINK_VF_RATE_API_NEW ? r.max_tx_rate : r.rate;
        if (v != (uint32_t)c->rate_mbps) {
            rc = xenvf_err_set(err, XENVF_EIO,
                               "vf %u: rate %lld did not stay set: driver %s "
                               "reports %" PRIu32,
                               vf_index, (long long)c->rate_mbps, drv, v);
            goto out;
        }
    }
out:
    if (vf)
        rtnl_link_vf_put(vf);
    rtnl_link_put(link);
    return rc;
}

static void stats_tick(void *opaque, int fd, short revents)
{
    agent *a = opaque;
    uint64_t expirations;

    if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        LOG(WARN, "stats timer: %s", strerror(errno));
    for (size_t i = 0; i < a->nr_pfs; i++) {
        agent_pf *pf = &a->pfs[i];

        if (pf->have_rec && pf->bound && pf->be == &agent_backend_net)
            agent_net_publish_stats(a, pf);
    }
}

/* The timer of the counters: armed at the first NIC PF, never before (an
 * agent without one never wakes up for them). */
static void stats_timer_start(agent *a)
{
    struct itimerspec its = {{0, 0}, {0, 0}};
    int fd;

    if (a->stats_fd >= 0 || !a->cfg->stats_interval_s)
        return;
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) {
        LOG(WARN, "stats timer: %s: NIC counters only on events",
            strerror(errno));
        return;
    }
    its.it_interval.tv_sec = (time_t)a->cfg->stats_interval_s;
    its.it_value = its.it_interval;
    if (timerfd_settime(fd, 0, &its, NULL) < 0 ||
        xenvfd_loop_add(fd, POLLIN, stats_tick, a)) {
        LOG(WARN, "stats timer: cannot arm it: NIC counters only on events");
        close(fd);
        return;
    }
    a->stats_fd = fd;
}

/* The PF's netdev: the first entry of <pf>/net/ */
static int pf_ifname(agent *a, agent_pf *pf, char *out, size_t len,
                     xenvf_err *err);

void agent_net_publish_stats(agent *a, agent_pf *pf)
{
    size_t n =
        pf->rec.num_vfs < pf->rec.nr_vfs ? pf->rec.num_vfs : pf->rec.nr_vfs;
    xenvf_vf_stats *now = NULL;
    char ifname[64], *drv = NULL;
    xenvf_err err;
    int rc;

    stats_timer_start(a);
    xenvf_err_init(&err);
    if (!n)
        return;
    if (!(now = calloc(n, sizeof(*now)))) {
        rc = xenvf_err_set(&err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    rc = pf_ifname(a, pf, ifname, sizeof(ifname), &err);
    if (rc)
        goto out;
    xenvf_sysfs_read_driver(a->cfg->sysfs_root, &pf->rec.bdf, &drv, NULL);
    rc = agent_net_read_vf_stats(ifname, agent_net_driver_gives_vf_stats(drv),
                                 now, n, &err);
    if (rc)
        goto out;
    for (size_t i = 0; i < n && !rc; i++) {
        if (now[i].status == XENVF_VF_STATS_UNKNOWN ||
            (i < pf->nr_stats_pub &&
             xenvf_vf_stats_equal(&pf->stats_pub[i], &now[i])))
            continue;
        rc = xenvf_xs_publish_vf_stats(&a->xs, pf->id, (unsigned)i, &now[i],
                                       &err);
    }
    if (rc)
        goto out;
    free(pf->stats_pub);
    pf->stats_pub = now;
    pf->nr_stats_pub = n;
    now = NULL;
    if (pf->stats_warned)
        LOG(INFO, "pf %s: VF counters published again", pf->id);
    pf->stats_warned = false;
out:
    if (rc && !pf->stats_warned) {
        LOG(WARN, "pf %s: VF counters not published: %s", pf->id, err.msg);
        pf->stats_warned = true;
    }
    free(drv);
    free(now);
}

/* Apply, then read every setting back: a VF is set up only when the
 * kernel reports each one as asked (a driver may take a message and keep
 * nothing, or fail half way through it). */
static int net_vf_setup(agent *a, agent_pf *pf, const xenvf_vf *vf,
                        xenvf_err *err)
{
    struct nl_msg *reply = NULL;
    char ifname[64], *drv = NULL;
    int rc;

    if (!xenvf_vf_config_has(&vf->config, XENVF_SETTING_NIC))
        return 0;
    if ((rc = pf_ifname(a, pf, ifname, sizeof(ifname), err)))
        return rc;
    xenvf_sysfs_read_driver(a->cfg->sysfs_root, &pf->rec.bdf, &drv, NULL);
    rc = agent_net_apply(ifname, vf->index, &vf->config, err);
    if (rc) {
        /* the kernel's errno does not say which setting: the read-back
         * names the first one the driver did not keep */
        xenvf_err why;

        xenvf_err_init(&why);
        if (!get_link_with_vfs(ifname, &reply, &why) &&
            agent_net_check_vf(reply, vf->index, &vf->config, drv, &why)) {
            char was[sizeof(err->msg)];

            snprintf(was, sizeof(was), "%s", err->msg);
            xenvf_err_set(err, rc, "%s (%s)", was, why.msg);
        }
        xenvf_err_prepend(err, "driver %s: ", drv ? drv : "(unknown)");
    }
    if (!rc)
        rc = get_link_with_vfs(ifname, &reply, err);
    if (!rc)
        rc = agent_net_check_vf(reply, vf->index, &vf->config, drv, err);
    if (rc)
        xenvf_err_prepend(err, "%s: ", ifname);
    nlmsg_free(reply);
    free(drv);
    return rc;
}

const agent_backend agent_backend_net = {"net", net_vf_setup};
