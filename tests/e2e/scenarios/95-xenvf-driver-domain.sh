#!/bin/sh
# Scenario xenvf-driver-domain (issue 6 #7; issue 3's PF agent "wherever
# the PF driver runs"): dom0 keeps the TCB, nvme1's PF driver and xenvfd's
# PF agent run in a driver domain, and a guest gets a VF of that PF with
# vf= and the gate. Scenario driver-domain showed the steps by hand; here
# xenvfd does the SR-IOV work on both sides.
#  1. The TCB (dom0) applies a map with nvme1 at 2 VFs whose owner is the
#     driver domain dd2, by name (not running yet): NumVFs is written while
#     dom0's nvme drives the PF, then the TCB hands the PF over itself, as
#     scenario driver-domain does by hand: unbound from dom0's nvme, its
#     reset methods off, bound to pciback.
#  3. Driver domain dd2 is created with the PF; the TCB follows the name
#     to its domid, gives dd2 its PF's nodes (and binds the VFs the
#     handover re-created to pciback again).
#  4. In dd2, nvme drives the PF and `xenvfd --role=pf-agent --pf=nvme1`
#     (its domid from xenstore, the PF's address from pcifront's backend
#     nodes) brings the secondary controllers online and reports ready.
#  5. A guest with vf = [ "pf=nvme1" ] passes the gate and reads and writes
#     the PF's namespace through its VF.
#  6. dd2 is destroyed and created again (a new domid): the PF's state
#     goes back to unknown while it is down, and the TCB follows the name
#     to the new domain, whose agent reports ready: no map edit.
#  7. The map gives the PF back to dom0: the TCB takes it out of Xen's
#     quarantine (where dd2's destruction left it), returns it to dom0's
#     nvme with its reset methods, once dd2 is gone, and dom0's nvme reads
#     the PF's namespace.
#
# DD_SECLABEL, GUEST_SECLABEL: seclabel lines for dd2 and the guest, empty
# by default; the FLASK boot's flask-driver-domain sets them (and
# DD_BEFORE_CREATE, below).
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-driver-domain plugin || exit 1
DD_SECLABEL=${DD_SECLABEL:-}
GUEST_SECLABEL=${GUEST_SECLABEL:-}

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
    write_map 0 $NVF dd2
    xenvfd_start tcb
    check xenvf-dd-tcb-numvfs "the TCB did not set nvme1's NumVFs $NVF with its VFs bound to pciback" \
        wait_until 120 tcb_applied
    check xenvf-dd-handover "the TCB did not hand nvme1 to pciback for dd2 (driver $(pf_driver), reset_method '$(cat "$SYSPCI/$PF1/reset_method")')" \
        wait_until 60 handed_over
    e2e_fact "nvme1 ($PF1) handed to pciback by the TCB: NumVFs in dom0 $(numvfs "$PF1"), owner '$(xs_pf nvme1 owner)', state $(xs_pf nvme1 state)"
    check xenvf-dd-owner-down "/xenvf/pf/nvme1/owner is '$(xs_pf nvme1 owner)' before dd2 runs, not empty" \
        test -z "$(xs_pf nvme1 owner)"
}

pf_driver() { basename "$(readlink "$SYSPCI/$PF1/driver" 2>/dev/null)" 2>/dev/null; }
handed_over() { [ "$(pf_driver)" = pciback ] && [ -z "$(cat "$SYSPCI/$PF1/reset_method")" ]; }
owner_is() { [ "$(xs_pf nvme1 owner)" = "$1" ]; }

# start_driver_domain LABEL: dd2 with the PF, its agent ready
start_driver_domain() {
    _cfg=$(GUEST_EXTRA="qhost.stay=1 e2e.pf=nvme1" guest_cfg dd2 pf-agent "pci = [ \"$PF1\" ]" \
        ${DD_SECLABEL:+"seclabel = \"$DD_SECLABEL\""})
    _t0=$(now)
    xl create "$_cfg" || { e2e_fail "xenvf-dd-create$1" "xl create of driver domain dd2 failed"; return 1; }
    DD=$(xl domid dd2)
    e2e_time "dd-create$1" "$(since "$_t0")"
    check "xenvf-dd-owner$1" "/xenvf/pf/nvme1/owner is '$(xs_pf nvme1 owner)', not dd2's domid $DD" \
        wait_until 60 owner_is "$DD"
    if ! wait_until 180 pf_ready nvme1; then
        e2e_fail "xenvf-dd-agent-ready$1" "nvme1 is '$(xs_pf nvme1 state)', not ready, 180 s after dd2 started"
        guest_lines dd2 AGENT | tail -n 20; xenvfd_tail 20
        return 1
    fi
    e2e_time "dd-agent-ready$1" "$(since "$_t0")"
    e2e_pass "xenvf-dd-agent-ready$1"
    guest_lines dd2 AGENT
    # the owner change put the old agent's word back to unknown (lib/xs.c):
    # ready now can only be dd2's
    check "xenvf-dd-agent-in-dd2$1" "the PF agent in dd2 did not say it set nvme1 up" \
        wait_until 30 guest_said dd2 "^GUEST AGENT .*pf nvme1: .*-> ready"
    check "xenvf-dd-vfs-rebound$1" "nvme1's VFs are not all bound to pciback in dom0 after the handover" \
        wait_until 30 vfs_bound
    e2e_fact "nvme1 with its driver and PF agent in dd2 (domain $DD): xenvf list: $(xenvf_row nvme1)"
}

restart_driver_domain() {
    _old=$DD
    dump_guest dd2 >/dev/null 2>&1
    xl destroy dd2
    check xenvf-dd-down-owner "while dd2 is down, nvme1's owner is '$(xs_pf nvme1 owner)' and state '$(xs_pf nvme1 state)', not empty and unknown" \
        wait_until 60 sh -c "[ -z \"\$(xenstore-read /xenvf/pf/nvme1/owner)\" ] && [ \"\$(xenstore-read /xenvf/pf/nvme1/state)\" = unknown ]"
    e2e_fact "dd2 ($_old) destroyed: nvme1 NumVFs in dom0 $(numvfs "$PF1"), driver $(pf_driver), xenvf list: $(xenvf_row nvme1)"
    start_driver_domain -again || return 1
    check xenvf-dd-new-domid "dd2 came back as the same domid $DD" test "$DD" != "$_old"
}

guest_on_dd_pf() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-w1-$RUN e2e.token_mib=4" guest_cfg w1 nvme-io 'vf = [ "pf=nvme1" ]' \
        ${GUEST_SECLABEL:+"seclabel = \"$GUEST_SECLABEL\""})
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

# dom0's nvme drives the PF with its reset methods back, and reads a
# block of its namespace (O_DIRECT: the device, not the page cache)
given_back() {
    [ "$(pf_driver)" = nvme ] && [ -n "$(cat "$SYSPCI/$PF1/reset_method")" ] &&
        _ns=$(pf_ns "$PF1") && [ -b "$_ns" ] &&
        dd if="$_ns" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null
}

give_back() {
    stop_guest w1
    dump_guest dd2 >/dev/null 2>&1
    stop_guest dd2
    wait_until 30 guest_gone dd2
    write_map 0 $NVF
    _t0=$(now)
    # dom0's nvme must get the PF working, not only be bound: a controller
    # whose namespace answers an O_DIRECT read (a PF left in Xen's
    # quarantine binds, then fails Identify Controller 60 s later)
    if check xenvf-dd-given-back "the TCB did not give nvme1 back to a working dom0 nvme (driver $(pf_driver), reset_method '$(cat "$SYSPCI/$PF1/reset_method")', controller '$(pf_ctrl "$PF1")', namespace $(pf_ns "$PF1" || echo none) unreadable)" \
        wait_until 90 given_back; then
        e2e_time dd-given-back "$(since "$_t0")"
    else
        dmesg | grep -E "DMAR|map irq|nvme1" | tail -n 8
    fi
    xenvfd_kill tcb TERM
    if [ "$(pf_driver)" != nvme ]; then # by hand, as before the TCB did it
        xl pci-assignable-remove -r "$PF1" >/dev/null 2>&1
        echo default >"$SYSPCI/$PF1/reset_method"
        [ -e "$SYSPCI/$PF1/driver" ] || echo "$PF1" >/sys/bus/pci/drivers/nvme/bind
    fi
    wait_until 60 test -n "$(pf_ctrl "$PF1")"
    e2e_fact "nvme1 back in dom0: driver $(pf_driver), NumVFs $(numvfs "$PF1"), reset_method '$(cat "$SYSPCI/$PF1/reset_method")'"
}

# DD_BEFORE_CREATE: the name of a function of the caller's (the FLASK
# boot's flask-driver-domain, which sources this file), run once the PF is
# handed over for dd2 and before dd2 runs; its checks are its own.
if tcb_alone && { [ -z "${DD_BEFORE_CREATE:-}" ] || "$DD_BEFORE_CREATE" || true; } &&
    start_driver_domain ""; then
    guest_on_dd_pf
    restart_driver_domain
fi
give_back
