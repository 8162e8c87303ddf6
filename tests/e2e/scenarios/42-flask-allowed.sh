#!/bin/sh
# Scenario flask-allowed (issue 12; the FLASK boot only): the xenvf story
# with FLASK enforcing, and not one AVC denial while it runs.
#  1. The TCB (xenvfd --role=tcb) takes the PFs over from the VF map: its
#     NumVFs writes reach Xen through dom0's read-only MMCFG mapping
#     (checked by xsm_pci_config_permission), Xen registers each VF
#     (resource plug), the TCB labels the PF xenvf_pf_t and each VF
#     xenvf_vf_t.
#  2. The PF agent sets the VFs up and reports ready.
#  3. A guest with seclabel xenvf_guest_t and vf = [ "pf=nvme0" ] gets its
#     VF (relabelled xenvf_guest_vf_t before libxl assigns it), passes the
#     gate and reads and writes the PF's namespace through it.
#  4. When it is gone, its VF is reset, free, and xenvf_vf_t again.
# Denials counted from `xl dmesg`: zero from step 1 to step 4.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-allowed || exit 1
have_xenvf flask-allowed plugin || exit 1

NVF=3
PF0=$(pf_list | sed -n 1p)
RUN=$(date +%s)
AVC0=$(avc_count)

tcb_applied() {
    [ "$(xs_pf nvme0 numvfs)" = $NVF ] || return 1
    _i=0
    while [ $_i -lt $NVF ]; do
        [ "$(basename "$(readlink "$SYSPCI/$(vf_bdf "$PF0" $_i)/driver" 2>/dev/null)")" = pciback ] ||
            return 1
        _i=$((_i + 1))
    done
}
tcb_said() { grep -q "$1" "$(xenvfd_log tcb)"; }
# labelled INDEX TYPE: the TCB's last label of nvme0's VF INDEX is TYPE.
labelled() {
    [ "$(grep "pf nvme0: vf $1 labelled" "$(xenvfd_log tcb)" | tail -n 1 | awk '{ print $NF }')" = "$2" ]
}
all_labelled() {
    _i=0
    while [ $_i -lt $NVF ]; do labelled $_i "$1" || return 1; _i=$((_i + 1)); done
}

tcb_takes_over() {
    if xenvfd_running tcb; then
        e2e_fail flask-tcb-setup "xenvfd already runs: flask-allowed must be the first xenvf scenario of its boot"
        return 1
    fi
    release_vfs_by_hand
    write_map $NVF 0
    _t0=$(now)
    xenvfd_start tcb
    if ! wait_until 120 tcb_applied; then
        e2e_fail flask-tcb-numvfs "the TCB did not set NumVFs $NVF with every VF bound to pciback in 120 s"
        xenvfd_tail 30; xl dmesg | tail -n 20; return 1
    fi
    e2e_time flask-vf-create "$(since "$_t0")"
    e2e_pass flask-tcb-numvfs
    grep -iE 'flask' "$(xenvfd_log tcb)" | head -n 5
    _ok=1
    for _i in $(seq 0 $((NVF - 1))); do
        xl dmesg | grep -q "PCI add virtual function $(vf_bdf "$PF0" "$_i")" || _ok=0
    done
    check flask-tcb-xen-registered "Xen did not register every VF of nvme0" test $_ok = 1
    check flask-tcb-labels "the TCB did not label every VF of nvme0 xenvf_vf_t" \
        wait_until 30 all_labelled xenvf_vf_t
    grep "labelled" "$(xenvfd_log tcb)" | head -n 8
}

agent_ready() {
    xenvfd_start agent
    check flask-agent-ready "nvme0 is '$(xs_pf nvme0 state)' 120 s after the PF agent started" \
        wait_until 120 pf_ready nvme0
}

guest_runs() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-fa1-$RUN e2e.token_mib=4" \
        guest_cfg fa1 nvme-io 'vf = [ "pf=nvme0" ]' "seclabel = \"$FLASK_GUEST_LABEL\"")
    cat "$_cfg"
    put_token "$(pf_ns "$PF0")" 1 "DOM0-PF0-$RUN"
    _t0=$(now)
    start_create fa1 "$_cfg"
    wait_until 120 guest_exists fa1
    _label=$(domain_label fa1)
    wait_until 60 guest_vf_index fa1
    _idx=$(guest_vf_index fa1)
    if ! wait_until 180 create_done fa1; then
        e2e_fail flask-guest-create "xl create of fa1 still running after 180 s"
        cat /tmp/fa1.create.log; return 1
    fi
    e2e_time flask-xl-create "$(since "$_t0")"
    cat /tmp/fa1.create.log
    check flask-guest-create "xl create of fa1 (seclabel xenvf_guest_t, vf=) exited $(create_rc fa1)" \
        test "$(create_rc fa1)" = 0 || return 1
    e2e_fact "fa1: label $_label, holds nvme0#$_idx ($(vf_bdf "$PF0" "$_idx"))"
    check flask-guest-label "fa1's label is '$_label'" test "$_label" = "$FLASK_GUEST_LABEL"
    check flask-guest-vf-relabelled "the TCB did not label fa1's VF nvme0#$_idx xenvf_guest_vf_t" \
        labelled "$_idx" xenvf_guest_vf_t
    wait_until 240 guest_gone fa1
    stop_guest fa1
    guest_lines fa1 READ
    _back=$(get_token "$(pf_ns "$PF0")" 4)
    _ok=0
    guest_said fa1 "^GUEST READ .* sector0=QHOST-PF0-NS1" &&
        guest_said fa1 "^GUEST READ .* token=DOM0-PF0-$RUN" &&
        case $_back in "GUEST-fa1-$RUN-"*) true ;; *) false ;; esac && _ok=1
    check flask-guest-io "fa1 did not read and write nvme0's namespace through its VF (read back '$_back')" \
        test $_ok = 1 || dump_guest fa1
    check flask-vf-freed "after fa1, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
        wait_until 60 pf_all_free nvme0 $NVF
    check flask-vf-label-back "fa1's VF nvme0#$_idx is not xenvf_vf_t again after it was freed" \
        wait_until 30 labelled "$_idx" xenvf_vf_t
}

tcb_takes_over && agent_ready && guest_runs
n=$(($(avc_count) - AVC0))
e2e_fact "AVC denials during the allowed story (TCB, PF agent, xenvf_guest_t guest with vf=): $n"
avc_since "$AVC0" | head -n 10
check flask-allowed-no-avc "$n AVC denials during the allowed story: $(avc_since "$AVC0" | head -n 1)" \
    test "$n" = 0
