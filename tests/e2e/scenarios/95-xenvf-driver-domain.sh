#!/bin/sh
# Scenario xenvf-driver-domain (issue 6 #7; issue 3's PF agent "wherever
# the PF driver runs"): dom0 keeps the TCB, nvme1's PF driver and xenvfd's
# PF agent run in a driver domain, and a guest gets a VF of that PF with
# vf= and the gate. Scenario driver-domain showed the steps by hand; here
# xenvfd does the SR-IOV work on both sides.
#  1. The TCB (dom0) applies a map with nvme1 at 2 VFs, its driver in dom0:
#     NumVFs is written while dom0's nvme drives the PF.
#  2. The PF is handed over as in scenario driver-domain: unbound from
#     dom0's nvme, its reset methods disabled, bound to pciback.
#  3. Driver domain dd2 gets the PF; the map says nvme1's owner is dd2, so
#     the TCB gives dd2 its PF's nodes (and binds the VFs the handover
#     re-created to pciback again).
#  4. In dd2, nvme drives the PF and `xenvfd --role=pf-agent --pf=nvme1`
#     (its domid from xenstore, the PF's address from pcifront's backend
#     nodes) brings the secondary controllers online and reports ready.
#  5. A guest with vf = [ "pf=nvme1" ] passes the gate and reads and writes
#     the PF's namespace through its VF.
#  6. Guest, driver domain and PF back as they were.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-driver-domain plugin || exit 1

PF1=$(pf_list | sed -n 2p)
RUN=$(date +%s)
NVF=2

vfs_bound() {
    for _i in $(seq 0 $((NVF - 1))); do
        [ "$(basename "$(readlink "$SYSPCI/$(vf_bdf "$PF1" "$_i")/driver" 2>/dev/null)")" = pciback ] ||
            return 1
    done
}
tcb_applied() { [ "$(xs_pf nvme1 numvfs)" = $NVF ] && vfs_bound; }

tcb_alone() {
    xenvfd_kill agent TERM
    xenvfd_kill tcb TERM
    release_vfs_by_hand
    rm -rf "${XENVF_STATE_DIR:?}"/*
    write_map 0 $NVF
    xenvfd_start tcb
    check xenvf-dd-tcb-numvfs "the TCB did not set nvme1's NumVFs $NVF with its VFs bound to pciback" \
        wait_until 120 tcb_applied
}

hand_over() {
    echo "$PF1" >/sys/bus/pci/drivers/nvme/unbind || return 1
    echo "" >"$SYSPCI/$PF1/reset_method" || return 1
    xl pci-assignable-add "$PF1" || return 1
    e2e_fact "nvme1 ($PF1) handed to pciback: NumVFs in dom0 $(numvfs "$PF1")"
}

start_driver_domain() {
    _cfg=$(GUEST_EXTRA="qhost.stay=1 e2e.pf=nvme1" guest_cfg dd2 pf-agent "pci = [ \"$PF1\" ]")
    _t0=$(now)
    xl create "$_cfg" || { e2e_fail xenvf-dd-create "xl create of driver domain dd2 failed"; return 1; }
    DD=$(xl domid dd2)
    write_map 0 $NVF "$DD"
    e2e_time dd-create "$(since "$_t0")"
    check xenvf-dd-owner "/xenvf/pf/nvme1/owner is '$(xs_pf nvme1 owner)', not dd2's domid $DD" \
        wait_until 60 sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme1/owner)\" = $DD ]"
    if ! wait_until 180 pf_ready nvme1; then
        e2e_fail xenvf-dd-agent-ready "nvme1 is '$(xs_pf nvme1 state)', not ready, 180 s after dd2 started"
        guest_lines dd2 AGENT | tail -n 20; xenvfd_tail 20
        return 1
    fi
    e2e_time dd-agent-ready "$(since "$_t0")"
    e2e_pass xenvf-dd-agent-ready
    guest_lines dd2 AGENT
    # the owner change put the old agent's word back to unknown (lib/xs.c):
    # ready now can only be dd2's
    check xenvf-dd-agent-in-dd2 "the PF agent in dd2 did not say it set nvme1 up" \
        wait_until 30 guest_said dd2 "^GUEST AGENT .*pf nvme1: .*-> ready"
    check xenvf-dd-vfs-rebound "nvme1's VFs are not all bound to pciback in dom0 after the handover" \
        wait_until 30 vfs_bound
    e2e_fact "nvme1 with its driver and PF agent in dd2 (domain $DD): xenvf list: $(xenvf_row nvme1)"
}

guest_on_dd_pf() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-w1-$RUN e2e.token_mib=4" guest_cfg w1 nvme-io 'vf = [ "pf=nvme1" ]')
    _t0=$(now)
    if ! xlv create "$_cfg" >/tmp/w1.create.log 2>&1; then
        e2e_fail xenvf-dd-guest-create "xl create with vf=pf=nvme1 failed"; cat /tmp/w1.create.log; return 1
    fi
    e2e_time xl-create-vf-dd "$(since "$_t0")"
    cat /tmp/w1.create.log
    wait_until 240 guest_gone w1
    stop_guest w1
    guest_lines w1 READ
    guest_lines w1 WROTE
    check xenvf-dd-guest-io "w1 did not read and write nvme1's namespace through its VF while the PF is in dd2" \
        guest_said w1 "^GUEST WROTE .*GUEST-w1-$RUN" || dump_guest w1
    check xenvf-dd-guest-pf "w1 did not see nvme1's namespace (sector 0)" \
        guest_said w1 "^GUEST READ .* sector0=QHOST-PF1-NS1"
    check xenvf-dd-vf-freed "after w1, nvme1 is '$(xenvf_row nvme1)', not $NVF VFs free and ready" \
        wait_until 60 pf_all_free nvme1 $NVF
}

give_back() {
    stop_guest w1
    dump_guest dd2 >/dev/null 2>&1
    stop_guest dd2
    wait_until 30 guest_gone dd2
    xenvfd_kill tcb TERM
    xl pci-assignable-remove -r "$PF1" >/dev/null 2>&1
    echo default >"$SYSPCI/$PF1/reset_method"
    [ -e "$SYSPCI/$PF1/driver" ] || echo "$PF1" >/sys/bus/pci/drivers/nvme/bind
    wait_until 60 test -n "$(pf_ctrl "$PF1")"
    e2e_fact "nvme1 back in dom0: driver $(basename "$(readlink "$SYSPCI/$PF1/driver")"), NumVFs $(numvfs "$PF1")"
}

if tcb_alone && hand_over && start_driver_domain; then
    guest_on_dd_pf
fi
give_back
