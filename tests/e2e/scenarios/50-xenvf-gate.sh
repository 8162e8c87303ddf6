#!/bin/sh
# Scenario xenvf-gate (issue 6, #1 and #2). The first xenvf scenario, on a
# machine where xenvfd never ran: as at host boot, when xendomains may start
# guests before the PF agent is up.
#  1. The TCB alone (xenvfd --role=tcb) takes the PFs over from the VF map
#     (nvme0: 3 VFs, nvme1: none yet): it writes NumVFs, binds the VFs to
#     pciback and publishes them; nvme0's state stays "unknown": no PF agent
#     has spoken.
#  2. A guest whose entry says vf = [ "pf=nvme0,timeout=6" ]: xl fails with a
#     clear error naming the PF and leaves nothing behind (no domain, no
#     reservation, no guest nodes in xenstore).
#  3. A guest with vf = [ "pf=nvme0" ] (xl and its libxl plugin): it is built
#     with a VF and held paused, with no vCPU time, while xl waits.
#  4. The PF agent starts (xenvfd --role=pf-agent): it brings the VFs' NVMe
#     secondary controllers online and reports nvme0 ready; the gate lets
#     the guest run; the guest sees its VF and reads and writes the PF's
#     namespace through it.
#  5. When the guest is gone, the TCB resets its VF and frees it.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-gate plugin || exit 1

NVF=3
PF0=$(pf_list | sed -n 1p)
HOLD=8 # seconds the guest must stay paused while the PF is not ready
TMO=6  # the never-ready guest's gate timeout
RUN=$(date +%s)

# tcb_applied: the TCB set NumVFs, bound every VF to pciback, published.
tcb_applied() {
    [ "$(xs_pf nvme0 numvfs)" = $NVF ] && [ "$(xs_pf nvme1 numvfs)" = 0 ] || return 1
    _i=0
    while [ $_i -lt $NVF ]; do
        [ "$(basename "$(readlink "$SYSPCI/$(vf_bdf "$PF0" $_i)/driver" 2>/dev/null)")" = pciback ] ||
            return 1
        _i=$((_i + 1))
    done
}

tcb_takes_over() {
    if xenvfd_running tcb || [ -n "$(xs_pf nvme0 state)" ]; then
        e2e_fail xenvf-gate-setup "needs a machine where xenvfd never ran: run it first among the xenvf scenarios"
        return 1
    fi
    release_vfs_by_hand
    write_map $NVF 0
    _t0=$(now)
    xenvfd_start tcb
    if ! wait_until 120 tcb_applied; then
        e2e_fail xenvf-tcb-numvfs "the TCB did not set NumVFs $NVF with every VF bound to pciback in 120 s"
        xenvfd_tail 30; return 1
    fi
    e2e_time vf-create "$(since "$_t0")"
    e2e_pass xenvf-tcb-numvfs
    _ok=1
    for _i in $(seq 0 $((NVF - 1))); do
        xl dmesg | grep -q "PCI add virtual function $(vf_bdf "$PF0" "$_i")" || _ok=0
    done
    check xenvf-tcb-xen-registered "Xen did not log every VF of nvme0" test $_ok = 1
    e2e_fact "nvme0 with the TCB and no PF agent: state '$(xs_pf nvme0 state)', xenvf list: $(xenvf_row nvme0)"
    check xenvf-gate-not-ready "nvme0 is '$(xs_pf nvme0 state)' without a PF agent" pf_not_ready nvme0
}

never_ready() {
    _cfg=$(guest_cfg x2 nvme-io "vf = [ \"pf=nvme0,timeout=$TMO\" ]")
    _t0=$(now)
    xlv create "$_cfg" >/tmp/x2.create.log 2>&1
    _rc=$?
    e2e_time gate-timeout-to-exit "$(since "$_t0")"
    cat /tmp/x2.create.log
    e2e_fact "never-ready PF, xl says: $(grep -m 1 'error' /tmp/x2.create.log)"
    check xenvf-gate-timeout-exit "xl create exited 0 though the PF never became ready" \
        test "$_rc" != 0
    check xenvf-gate-timeout-message "xl did not say which PF was not ready and for how long" \
        grep -qE "PF nvme0 not ready after $TMO" /tmp/x2.create.log
    check xenvf-gate-timeout-no-domain "domain x2 left behind" guest_gone x2
    _row=$(xenvf_row nvme0)
    check xenvf-gate-timeout-vfs-free "nvme0's VFs not all free after the timeout: $_row" \
        test "${_row% *}" = "$NVF $NVF 0 0"
    check xenvf-gate-timeout-no-nodes "guest xenvf nodes left in xenstore: $(guest_nodes_left)" \
        test -z "$(guest_nodes_left)"
}

gate_holds() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-x1-$RUN e2e.token_mib=4" \
        guest_cfg x1 nvme-io 'vf = [ "pf=nvme0" ]')
    cat "$_cfg"
    put_token "$(pf_ns "$PF0")" 1 "DOM0-PF0-$RUN"
    _t0=$(now)
    start_create x1 "$_cfg"
    if ! wait_until 60 guest_exists x1; then
        e2e_fail xenvf-create "no domain x1 after 60 s"; cat /tmp/x1.create.log; return 1
    fi
    e2e_time xl-create-to-built "$(since "$_t0")"
    sleep "$HOLD"
    _idx=$(guest_vf_index x1)
    xl list x1
    _still=0
    domain_paused x1 && create_running x1 && _still=1
    e2e_fact "while nvme0 is '$(xs_pf nvme0 state)': x1 (nvme0#$_idx) state $(xl_state x1), vCPU time $(xl_cpu_time x1) s, ${HOLD} s after it was built"
    if ! check xenvf-gate-holds "x1 not paused with zero vCPU time while its PF is not ready" \
        test $_still = 1; then
        cat /tmp/x1.create.log; return 1
    fi
    check xenvf-vf-active "nvme0#$_idx is '$(vf_state nvme0 "$_idx")', not active, while x1 is built" \
        test "$(vf_state nvme0 "$_idx")" = active
}

gate_releases() {
    _t0=$(now)
    xenvfd_start agent
    if ! wait_until 120 create_done x1; then
        e2e_fail xenvf-gate-release "xl create still waiting 120 s after the PF agent started"
        cat /tmp/x1.create.log; xenvfd_tail 30
        cancel_gated
        return 1
    fi
    e2e_time gate-release "$(since "$_t0")"
    _rc=$(create_rc x1)
    cat /tmp/x1.create.log
    _gw=$(sed -n 's/.*PF nvme0 ready after \([0-9.]*\) s.*/\1/p' /tmp/x1.create.log | head -n 1)
    [ -z "$_gw" ] || e2e_time gate-wait "$_gw"
    check xenvf-create "xl create exited $_rc" test "$_rc" = 0 || return 1
    agent_set_up
    check xenvf-gate-releases "x1 did not run after its PF was ready" \
        wait_until 30 domain_unpaused x1
}

# agent_set_up: the agent reports nvme0 ready with every secondary online
agent_set_up() {
    wait_until 60 pf_ready nvme0
    check xenvf-agent-ready "nvme0 is '$(xs_pf nvme0 state)' with the agent running" pf_ready nvme0
    _c=$(pf_ctrl "$PF0") _ok=1
    for _i in $(seq 1 $NVF); do secondary_online "$_c" "$_i" || _ok=0; done
    check xenvf-agent-secondaries "not every secondary controller of nvme0 is online" test $_ok = 1
}

# cancel_gated: SIGTERM to the xl waiting at the gate (what Ctrl-C does):
# the plugin destroys the domain and gives its VF back, which the TCB
# resets; then the agent sets the free VF up and the PF is ready.
cancel_gated() {
    kill -TERM "$(create_pid x1)"
    wait_until 60 create_done x1
    cat /tmp/x1.create.log
    check xenvf-gate-cancel "xl create, interrupted at the gate, exited $(create_rc x1) and left domain x1 or its nodes behind" \
        cancel_left_nothing
    agent_set_up
}

cancel_left_nothing() { [ "$(create_rc x1)" != 0 ] && guest_gone x1 && [ -z "$(guest_nodes_left)" ]; }

guest_io() {
    wait_until 240 guest_gone x1
    stop_guest x1
    for _k in nvme-ready first-io; do
        _v=$(guest_time x1 "$_k")
        [ -z "$_v" ] || e2e_time "guest-$_k" "$_v"
    done
    guest_lines x1 LSPCI
    guest_lines x1 READ
    _back=$(get_token "$(pf_ns "$PF0")" 4)
    _ok=0
    guest_said x1 "^GUEST READ .* sector0=QHOST-PF0-NS1" &&
        guest_said x1 "^GUEST READ .* token=DOM0-PF0-$RUN" &&
        case $_back in "GUEST-x1-$RUN-"*) true ;; *) false ;; esac && _ok=1
    check xenvf-guest-io "x1 did not read and write nvme0's namespace through its VF (read back '$_back')" \
        test $_ok = 1 || dump_guest x1
    # the map gives VF 0 (and no other) namespace 2 as its own disk
    _disk=$(guest_lines x1 VFDISK | tr '\n' ' ')
    e2e_fact "x1 holds nvme0#$_idx; its own disks: ${_disk:-none}"
    if [ "$_idx" = 0 ]; then
        check xenvf-guest-vf-disk "x1 holds VF 0 but does not see its namespace 2: '$_disk'" \
            guest_said x1 "^GUEST VFDISK .* sector0=QHOST-PF0-NS2"
    else
        check xenvf-guest-no-vf-disk "x1 holds VF $_idx but sees VF 0's namespace 2: '$_disk'" \
            test -z "$_disk"
    fi
}

tcb_takes_over || exit 1
never_ready
if gate_holds && gate_releases; then
    guest_io
fi
stop_guest x1
check xenvf-vf-freed "after x1, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
