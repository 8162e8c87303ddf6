/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * NIC PFs: a VF's MAC, port VLAN, trust, spoof checking and rate are set
 * on the PF's netdev through rtnetlink (IFLA_VFINFO_LIST), built by
 * libnl-route (rtnl_link_vf_*), not by hand. The kernel forgets them when
 * the PF driver reloads; the agent sets them again when it sees the driver
 * bound (agent.c).
 *
 * Not verified against a real netdev here: this kernel has neither
 * netdevsim nor dummy, and QEMU 7.2 (the QEMU tier) has no SR-IOV NIC.
 */
#include <dirent.h>
#include <linux/if_ether.h>
#include <stdlib.h>
#include <stdio.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>

#include <xenvf/sysfs.h>
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

static int net_vf_setup(agent *a, agent_pf *pf, const xenvf_vf *vf,
                        xenvf_err *err)
{
    char ifname[64];
    int rc;

    if (!xenvf_vf_config_has(&vf->config, XENVF_SETTING_NIC))
        return 0;
    if ((rc = pf_ifname(a, pf, ifname, sizeof(ifname), err)))
        return rc;
    return agent_net_apply(ifname, vf->index, &vf->config, err);
}

const agent_backend agent_backend_net = {"net", net_vf_setup};
