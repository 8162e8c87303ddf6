/*
 * The PF agent's NIC backend against the running kernel's rtnetlink, in a
 * private network namespace that main() unshares (root needed: without it
 * every test fails, saying why; nothing is skipped).
 *
 * No netdev this kernel can make implements VF settings (no netdevsim, no
 * dummy; lo, veth, bridge, ifb, macvlan, vxlan and tun have no
 * ndo_set_vf_*), so the settings go to lo. rtnetlink parses each
 * IFLA_VF_INFO against ifla_vf_policy and checks its VF number before it
 * asks the driver (net/core/rtnetlink.c: do_setlink ->
 * nla_parse_nested_deprecated(ifla_vf_policy) -> do_setvfinfo), and only
 * then answers EOPNOTSUPP; a malformed message gets ERANGE or EINVAL, which
 * malformed_vf_info_refused_before_the_driver shows. What a driver does
 * with an accepted setting is not checked here.
 *
 * libnl sends and reads through sendmsg() and recvmsg(); the definitions
 * below come before libc's for it (the executable is searched first). They
 * copy each request and the kernel's errno, then make the real system
 * call, so the tests decode the message the backend built and read the
 * kernel's own answer, not only libnl's rendering of it.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "../../daemon/agent.h"
#include "../harness/check-main.h"

/* ---- what crosses the netlink socket ------------------------------------- */

#define MAX_SENT 8
static struct {
    uint8_t buf[4096];
    size_t len;
} sent[MAX_SENT];
static int nr_sent;      /* netlink messages sent */
static int kernel_error; /* the last NLMSG_ERROR with an error, as errno */

static bool is_netlink(int fd)
{
    int domain = 0;
    socklen_t len = sizeof(domain);

    return !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) &&
           domain == AF_NETLINK;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (is_netlink(fd)) {
        if (nr_sent < MAX_SENT) {
            size_t n = 0;

            for (size_t i = 0; i < msg->msg_iovlen; i++) {
                size_t l = msg->msg_iov[i].iov_len;

                if (l > sizeof(sent[0].buf) - n)
                    l = sizeof(sent[0].buf) - n;
                memcpy(sent[nr_sent].buf + n, msg->msg_iov[i].iov_base, l);
                n += l;
            }
            sent[nr_sent].len = n;
        }
        nr_sent++;
    }
    return syscall(SYS_sendmsg, fd, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    ssize_t n = syscall(SYS_recvmsg, fd, msg, flags);

    if (n > 0 && !(flags & MSG_PEEK) && msg->msg_iovlen && is_netlink(fd)) {
        const struct nlmsghdr *h = msg->msg_iov[0].iov_base;
        int len = (int)((size_t)n < msg->msg_iov[0].iov_len
                            ? (size_t)n
                            : msg->msg_iov[0].iov_len);

        for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            const struct nlmsgerr *e = NLMSG_DATA(h);

            if (h->nlmsg_type == NLMSG_ERROR &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error)
                kernel_error = -e->error;
        }
    }
    return n;
}

/* ---- the cases ----------------------------------------------------------- */

static const uint8_t MAC[6] = {0x02, 0x16, 0x3e, 0x00, 0x00, 0x2a};

typedef struct net_case {
    const char *name;
    unsigned vf;
    bool has_mac;
    int vlan, trust, spoofchk;
    int64_t rate_mbps;
} net_case;

/* trust and spoofchk take 0 and 1 in turn, so swapping them shows */
static const net_case cases[] = {
    {"mac", 0, true, -1, -1, -1, -1},      /* IFLA_VF_MAC */
    {"vlan", 1, false, 100, -1, -1, -1},   /* IFLA_VF_VLAN */
    {"trust", 2, false, -1, 1, -1, -1},    /* IFLA_VF_TRUST */
    {"spoofchk", 3, false, -1, -1, 0, -1}, /* IFLA_VF_SPOOFCHK */
    {"rate", 7, false, -1, -1, -1, 2500},  /* IFLA_VF_RATE */
    {"all", 5, true, 4094, 0, 1, 10000},   /* the five in one IFLA_VF_INFO */
};

static void config_of(const net_case *c, xenvf_vf_config *cfg)
{
    xenvf_vf_config_init(cfg);
    cfg->has_mac = c->has_mac;
    if (c->has_mac)
        memcpy(cfg->mac, MAC, sizeof(MAC));
    cfg->vlan = c->vlan;
    cfg->trust = c->trust;
    cfg->spoofchk = c->spoofchk;
    cfg->rate_mbps = c->rate_mbps;
}

/* The data of attribute type in vt, which must be exactly size bytes; NULL
 * when it is absent. */
static const void *vf_attr(struct nlattr **vt, int type, size_t size)
{
    if (!vt[type])
        return NULL;
    ck_assert_msg((size_t)nla_len(vt[type]) == size,
                  "IFLA_VF attribute %d: %d bytes, not %zu", type,
                  nla_len(vt[type]), size);
    return nla_data(vt[type]);
}

/* The requests: the lookup of ifindex by name first, then the change (libnl
 * sends RTM_NEWLINK, and RTM_SETLINK again when that is refused with
 * EOPNOTSUPP); each change carries one IFLA_VF_INFO, the same. The last one
 * is parsed into vt. The backend then reads the link back (RTM_GETLINK):
 * those come last and are not changes. */
static void decode_change(int ifindex, struct nlattr **vt)
{
    struct nlattr *tb[IFLA_MAX + 1], *vfi;
    struct nlmsghdr *h = (struct nlmsghdr *)sent[0].buf;
    int rem, n = 0, nr_changes = nr_sent;

    ck_assert_int_ge(nr_sent, 2);
    ck_assert_int_le(nr_sent, MAX_SENT);
    ck_assert_uint_eq(h->nlmsg_type, RTM_GETLINK);
    while (nr_changes > 2 &&
           ((struct nlmsghdr *)sent[nr_changes - 1].buf)->nlmsg_type ==
               RTM_GETLINK)
        nr_changes--;
    for (int i = 1; i < nr_changes; i++) {
        h = (struct nlmsghdr *)sent[i].buf;
        ck_assert(h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_SETLINK);
        ck_assert_uint_eq(sent[i].len, sent[1].len);
        ck_assert(!memcmp(nlmsg_data(h), nlmsg_data((void *)sent[1].buf),
                          sent[i].len - NLMSG_HDRLEN));
    }
    ck_assert_int_eq(((struct ifinfomsg *)nlmsg_data(h))->ifi_index, ifindex);
    ck_assert_int_eq(
        nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL), 0);
    ck_assert_ptr_nonnull(tb[IFLA_VFINFO_LIST]);
    nla_for_each_nested(vfi, tb[IFLA_VFINFO_LIST], rem)
    {
        ck_assert_int_eq(nla_type(vfi), IFLA_VF_INFO);
        ck_assert_int_eq(nla_parse_nested(vt, IFLA_VF_MAX, vfi, NULL), 0);
        n++;
    }
    ck_assert_int_eq(n, 1);
}

/* The IFLA_VF_INFO holds exactly c's settings, each for VF c->vf. */
static void check_vf_info(const net_case *c, int ifindex)
{
    struct nlattr *vt[IFLA_VF_MAX + 1];
    const struct ifla_vf_mac *mac;
    const struct ifla_vf_vlan *vlan;
    const struct ifla_vf_trust *trust;
    const struct ifla_vf_spoofchk *spoofchk;
    const struct ifla_vf_rate *rate;
    int nr = 0;

    decode_change(ifindex, vt);
    for (int t = 1; t <= IFLA_VF_MAX; t++)
        nr += vt[t] != NULL;
    ck_assert_int_eq(nr, c->has_mac + (c->vlan >= 0) + (c->trust >= 0) +
                             (c->spoofchk >= 0) + (c->rate_mbps >= 0));
    if ((mac = vf_attr(vt, IFLA_VF_MAC, sizeof(*mac)))) {
        ck_assert(c->has_mac);
        ck_assert_uint_eq(mac->vf, c->vf);
        ck_assert(!memcmp(mac->mac, MAC, sizeof(MAC)));
    }
    /* one 802.1Q VLAN: the plain attribute, not IFLA_VF_VLAN_LIST */
    if ((vlan = vf_attr(vt, IFLA_VF_VLAN, sizeof(*vlan)))) {
        ck_assert_uint_eq(vlan->vf, c->vf);
        ck_assert_uint_eq(vlan->vlan, (unsigned)c->vlan);
        ck_assert_uint_eq(vlan->qos, 0);
    }
    if ((trust = vf_attr(vt, IFLA_VF_TRUST, sizeof(*trust)))) {
        ck_assert_uint_eq(trust->vf, c->vf);
        ck_assert_uint_eq(trust->setting, (unsigned)c->trust);
    }
    if ((spoofchk = vf_attr(vt, IFLA_VF_SPOOFCHK, sizeof(*spoofchk)))) {
        ck_assert_uint_eq(spoofchk->vf, c->vf);
        ck_assert_uint_eq(spoofchk->setting, (unsigned)c->spoofchk);
    }
    /* the max rate, in the new attribute (not IFLA_VF_TX_RATE) */
    if ((rate = vf_attr(vt, IFLA_VF_RATE, sizeof(*rate)))) {
        ck_assert_uint_eq(rate->vf, c->vf);
        ck_assert_uint_eq(rate->min_tx_rate, 0);
        ck_assert_uint_eq(rate->max_tx_rate, (uint64_t)c->rate_mbps);
    }
    ck_assert_int_eq(!!mac + !!vlan + !!trust + !!spoofchk + !!rate, nr);
}

/* ---- tests --------------------------------------------------------------- */

static int netns_errno = -1; /* unshare(CLONE_NEWNET) in main() */

static void setup(void)
{
    ck_assert_msg(!netns_errno,
                  "unshare(CLONE_NEWNET): %s: this test needs root "
                  "(CAP_SYS_ADMIN) for a private network namespace",
                  strerror(netns_errno));
    nr_sent = 0;
    kernel_error = 0;
}

/* the namespace is new: lo alone, so nothing here touches the host's */
START_TEST(private_netns_holds_only_lo)
{
    struct if_nameindex *l = if_nameindex();

    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l[0].if_name, "lo");
    ck_assert_ptr_null(l[1].if_name);
    if_freenameindex(l);
}
END_TEST

/* Each setting, and all together: the kernel accepts the message's form
 * and the VF number and the driver (lo's) refuses with EOPNOTSUPP. */
START_TEST(setting_passes_policy_refused_by_driver)
{
    const net_case *c = &cases[_i];
    xenvf_vf_config cfg;
    xenvf_err err;
    char want[64];

    config_of(c, &cfg);
    xenvf_err_init(&err);
    ck_assert_int_eq(agent_net_apply("lo", c->vf, &cfg, &err), XENVF_EIO);
    snprintf(want, sizeof(want), "netlink: lo vf %u: ", c->vf);
    ck_assert_msg(strstr(err.msg, want) &&
                      strstr(err.msg, "Operation not supported"),
                  "%s: %s", c->name, err.msg);
    ck_assert_msg(kernel_error == EOPNOTSUPP,
                  "%s: the kernel answered %s (%d), not EOPNOTSUPP", c->name,
                  strerror(kernel_error), kernel_error);
    check_vf_info(c, (int)if_nametoindex("lo"));
    xenvf_vf_config_dispose(&cfg);
}
END_TEST

/* An RTM_SETLINK to lo: IFLA_VFINFO_LIST { nest_type { IFLA_VF_MAC of len
 * bytes for VF vf } }. The kernel's errno, 0 if it accepted it. */
static int setlink_vf_mac(int nest_type, uint32_t vf, size_t len)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC,
                            .ifi_index = (int)if_nametoindex("lo")};
    struct ifla_vf_mac mac = {.vf = vf};
    struct nlattr *list, *info;
    struct nl_sock *sk;
    struct nl_msg *msg;
    int e;

    memcpy(mac.mac, MAC, sizeof(MAC));
    ck_assert_ptr_nonnull(sk = nl_socket_alloc());
    ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
    ck_assert_ptr_nonnull(msg = nlmsg_alloc_simple(RTM_SETLINK, 0));
    ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
    ck_assert_ptr_nonnull(list = nla_nest_start(msg, IFLA_VFINFO_LIST));
    ck_assert_ptr_nonnull(info = nla_nest_start(msg, nest_type));
    ck_assert_int_eq(nla_put(msg, IFLA_VF_MAC, (int)len, &mac), 0);
    ck_assert_int_eq(nla_nest_end(msg, info), 0);
    ck_assert_int_eq(nla_nest_end(msg, list), 0);
    kernel_error = 0;
    ck_assert_int_ge(nl_send_auto(sk, msg), 0);
    e = nl_wait_for_ack(sk);
    nlmsg_free(msg);
    nl_socket_free(sk);
    ck_assert_int_eq(e < 0, kernel_error != 0);
    return kernel_error;
}

/* The same kernel tells a malformed VF message from a driver without VF
 * support: only the well-formed one reaches the driver. */
START_TEST(malformed_vf_info_refused_before_the_driver)
{
    static const struct {
        const char *what;
        int nest_type;
        uint32_t vf;
        size_t len;
        int want;
    } m[] = {
        {"well formed (the control)", IFLA_VF_INFO, 0,
         sizeof(struct ifla_vf_mac), EOPNOTSUPP},
        /* ifla_vf_policy's minimum length (lib/nlattr.c validate_nla) */
        {"IFLA_VF_MAC 4 bytes short", IFLA_VF_INFO, 0,
         sizeof(struct ifla_vf_mac) - 4, ERANGE},
        /* do_setvfinfo, before ndo_set_vf_mac */
        {"VF number INT_MAX", IFLA_VF_INFO, INT_MAX, sizeof(struct ifla_vf_mac),
         EINVAL},
        /* do_setlink: every entry of the list must be an IFLA_VF_INFO */
        {"IFLA_VF_INFO + 1 in the list", IFLA_VF_INFO + 1, 0,
         sizeof(struct ifla_vf_mac), EINVAL},
    };

    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        int got = setlink_vf_mac(m[i].nest_type, m[i].vf, m[i].len);

        ck_assert_msg(got == m[i].want, "%s: the kernel answered %s (%d)",
                      m[i].what, got ? strerror(got) : "success", got);
    }
}
END_TEST

/* No setting: not one message, not even the lookup of the netdev (this one
 * does not exist; one setting and the lookup fails). */
START_TEST(unset_config_sends_nothing)
{
    xenvf_vf_config cfg;
    xenvf_err err;

    xenvf_vf_config_init(&cfg);
    xenvf_err_init(&err);
    ck_assert_int_eq(agent_net_apply("xenvf-none0", 0, &cfg, &err), 0);
    ck_assert_int_eq(nr_sent, 0);

    cfg.trust = 1;
    ck_assert_int_eq(agent_net_apply("xenvf-none0", 0, &cfg, &err), XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "netlink: xenvf-none0: "), "%s", err.msg);
    ck_assert_int_eq(nr_sent, 1);
    ck_assert_uint_eq(((struct nlmsghdr *)sent[0].buf)->nlmsg_type,
                      RTM_GETLINK);
    ck_assert_int_eq(kernel_error, ENODEV);
}
END_TEST

static char tmp[256];
#define PF_NET "sys/bus/pci/devices/0000:01:00.0/net" /* below tmp */

/* mkdir -p <tmp>/rel */
static void mkdir_p(const char *rel)
{
    char p[PATH_MAX], *s;

    snprintf(p, sizeof(p), "%s/%s", tmp, rel);
    for (s = p + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        ck_assert(!mkdir(p, 0755) || errno == EEXIST);
        *s = '/';
    }
    ck_assert(!mkdir(p, 0755) || errno == EEXIST);
}

/* The backend: the PF's netdev is the entry under <pf>/net/ in sysfs (a
 * fake tree here, naming lo), then agent_net_apply on it. */
/*
 * The counters' request against the real kernel: lo has no VFs, so the
 * reply (RTEXT_FILTER_VF asked, the ACK read) lists none and every VF
 * stays unknown (nothing is published); a netdev that is not there is an
 * error naming it. The decoding itself: test_agent_vf_stats.
 */
START_TEST(vf_counters_asked_of_the_kernel)
{
    xenvf_vf_stats out[2];
    xenvf_err err;

    xenvf_err_init(&err);
    ck_assert_msg(!agent_net_read_vf_stats("lo", true, out, 2, &err), "%s",
                  err.msg);
    ck_assert_int_eq(out[0].status, XENVF_VF_STATS_UNKNOWN);
    ck_assert_int_eq(out[1].status, XENVF_VF_STATS_UNKNOWN);
    ck_assert_int_eq(agent_net_read_vf_stats("xenvf-none0", true, out, 2, &err),
                     XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "xenvf-none0"));
}
END_TEST

START_TEST(backend_applies_to_the_pf_netdev)
{
    char sys[PATH_MAX], p[PATH_MAX];
    const net_case c = {"backend", 2, false, -1, -1, 1, -1};
    xenvfd_config cfg;
    agent a = {0};
    agent_pf pf = {0};
    xenvf_vf vf;
    xenvf_err err;

    snprintf(tmp, sizeof(tmp), "%.200s/net-agent.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    mkdir_p(PF_NET "/lo");
    snprintf(sys, sizeof(sys), "%s/sys", tmp);
    xenvfd_config_init(&cfg);
    cfg.sysfs_root = sys;
    a.cfg = &cfg;
    xenvf_pf_init(&pf.rec);
    ck_assert_int_eq(xenvf_bdf_parse("0000:01:00.0", &pf.rec.bdf, NULL), 0);
    pf.id = "eth0";
    xenvf_vf_init(&vf);
    vf.index = c.vf;
    vf.config.spoofchk = c.spoofchk;
    xenvf_err_init(&err);

    ck_assert_int_eq(agent_backend_net.vf_setup(&a, &pf, &vf, &err), XENVF_EIO);
    ck_assert_msg(strstr(err.msg, "netlink: lo vf 2: Operation not supported"),
                  "%s", err.msg);
    ck_assert_int_eq(kernel_error, EOPNOTSUPP);
    check_vf_info(&c, (int)if_nametoindex("lo"));

    /* nothing set: nothing sent */
    nr_sent = 0;
    vf.config.spoofchk = -1;
    ck_assert_int_eq(agent_backend_net.vf_setup(&a, &pf, &vf, &err), 0);
    ck_assert_int_eq(nr_sent, 0);

    /* no netdev under the PF (no driver bound): said, nothing sent */
    snprintf(p, sizeof(p), "%s/" PF_NET "/lo", tmp);
    ck_assert_int_eq(rmdir(p), 0);
    vf.config.spoofchk = 1;
    ck_assert_int_eq(agent_backend_net.vf_setup(&a, &pf, &vf, &err),
                     XENVF_ENOENT);
    ck_assert_msg(strstr(err.msg, "pf eth0: no netdev"), "%s", err.msg);
    ck_assert_int_eq(nr_sent, 0);

    xenvf_vf_dispose(&vf);
    xenvf_pf_dispose(&pf.rec);
    snprintf(p, sizeof(p), "rm -rf %s", tmp);
    ck_assert_int_eq(system(p), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent_net");
    TCase *tc = tcase_create("net");

    netns_errno = unshare(CLONE_NEWNET) ? errno : 0;
    if (netns_errno)
        fprintf(stderr,
                "test_agent_net: unshare(CLONE_NEWNET): %s: needs root; "
                "every test fails\n",
                strerror(netns_errno));
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, private_netns_holds_only_lo);
    tcase_add_loop_test(tc, setting_passes_policy_refused_by_driver, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, malformed_vf_info_refused_before_the_driver);
    tcase_add_test(tc, unset_config_sends_nothing);
    tcase_add_test(tc, vf_counters_asked_of_the_kernel);
    tcase_add_test(tc, backend_applies_to_the_pf_netdev);
    suite_add_tcase(s, tc);
    return xenvf_check_run(s);
}
