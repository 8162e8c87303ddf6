#!/bin/sh
# Scenario xenvf-switch (issue 15's switch: docs/migration.md). What is
# checked here is what the switch stands on; the switch itself is not
# built:
#  1. Debian's Xen cannot live-migrate any PV guest: xl migrate of a guest
#     with no device at all fails in Xen with EOPNOTSUPP (95) on log-dirty
#     mode (the hypervisor is built without CONFIG_SHADOW_PAGING).
#  2. The second path to a VF's own disk: namespace 2 (the map gives it
#     VF 0) attached also to the PF's own controller in dom0, read there,
#     offered to the guest as a PV disk (blkback, xvdb); what the guest
#     writes through one path it reads through the other (guest job
#     switch-probe). Then the PV disk and the PF's attachment undone.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-switch plugin || exit 1

NVF=3
RUN=$(date +%s)

no_logdirty() {
    xlv create "$(GUEST_EXTRA="qhost.stay=1" guest_cfg s0 hold)" >/tmp/s0.create.log 2>&1 ||
        { e2e_fail migrate-pv-setup "xl create s0 failed"; cat /tmp/s0.create.log; return 1; }
    wait_until 120 guest_said s0 "^GUEST HOLD"
    _d=$(xl domid s0) _t0=$(now)
    timeout 120 xl migrate -s "" s0 "xl migrate-receive" >/tmp/s0.migrate.log 2>&1
    _rc=$?
    e2e_time migrate-pv-no-device "$(since "$_t0")"
    grep -E "logdirty|error" /tmp/s0.migrate.log | tail -n 8
    e2e_fact "xl migrate of s0 (no device, PV) exited $_rc: $(grep -m 1 logdirty /tmp/s0.migrate.log); xen: $(xl info | awk '/^xen_version/ { print $3 }')"
    check migrate-pv-no-logdirty "xl migrate of s0 (no device) exited $_rc without Xen's EOPNOTSUPP on log-dirty" \
        sh -c "[ $_rc != 0 ] && grep -q 'Failed to enable logdirty: 95,' /tmp/s0.migrate.log"
    check migrate-pv-no-logdirty-runs "after it s0 is '$(xl domid s0)' ($(xl_state s0)), was $_d" \
        wait_until 60 sh -c "[ \"\$(xl domid s0)\" = $_d ] && ! xl domid s0--incoming >/dev/null 2>&1"
}

# ns2_dev CTRL: dom0's block device of namespace 2 on controller CTRL
ns2_dev() {
    for _b in /sys/class/nvme/"$1"/"$1"n* /sys/block/"$1"n*; do
        [ -e "$_b/nsid" ] && [ "$(cat "$_b/nsid")" = 2 ] && echo "/dev/${_b##*/}" && return 0
    done
    return 1
}

second_path() {
    _pf=$(pf_list | sed -n 1p) _ctrl=$(pf_ctrl "$(pf_list | sed -n 1p)")
    _cfg=$(GUEST_EXTRA="qhost.stay=1 e2e.token=S$RUN" guest_cfg s1 switch-probe 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/s1.create.log 2>&1 ||
        { e2e_fail migrate-path-setup "xl create s1 failed"; cat /tmp/s1.create.log; return 1; }
    _i=$(guest_vf_index s1)
    [ "$_i" = 0 ] || { e2e_fail migrate-path-setup "s1 got nvme0#$_i, not VF 0 (the one with namespace 2)"; return 1; }
    check migrate-path-vf-write "s1 did not write through its VF: $(guest_lines s1 SWITCH)" \
        wait_until 120 sh -c "grep -q '^GUEST SWITCH vf-wrote S$RUN-vf' $(guest_log s1)" || return 1
    _cntlid=$(nvme id-ctrl "/dev/$_ctrl" | awk '$1 == "cntlid" { print $3 }')
    _t0=$(now)
    nvme attach-ns "/dev/$_ctrl" -n 2 -c "$((_cntlid))"
    _rc=$?
    nvme ns-rescan "/dev/$_ctrl"
    wait_until 30 ns2_dev "$_ctrl" >/dev/null
    _dev=$(ns2_dev "$_ctrl")
    e2e_time migrate-path-attach "$(since "$_t0")"
    e2e_fact "namespace 2 attached to $_ctrl (cntlid $_cntlid, $_pf) exited $_rc: dom0 sees '$_dev'"
    _got=$([ -z "$_dev" ] || dd if="$_dev" bs=4096 count=1 skip=2048 iflag=direct 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9._-')
    check migrate-path-pf "dom0 does not read s1's VF write through the PF ($_ctrl namespace 2 '$_dev': '$_got')" \
        [ "$_got" = "S$RUN-vf" ] || return 1
    _t0=$(now)
    xl block-attach s1 "phy:$_dev,xvdb,w"
    e2e_time migrate-path-block-attach "$(since "$_t0")"
    check migrate-path-pv-read "s1 did not read its VF write through the PV disk: $(guest_lines s1 SWITCH | tr '\n' ' ')" \
        wait_until 120 sh -c "grep -q '^GUEST SWITCH pv-read S$RUN-vf' $(guest_log s1)"
    check migrate-path-vf-read "s1 did not read its PV disk write through the VF: $(guest_lines s1 SWITCH | tr '\n' ' ')" \
        wait_until 60 sh -c "grep -q '^GUEST SWITCH vf-read S$RUN-pv' $(guest_log s1)"
    check migrate-guest-dm-mod "the guest has no device-mapper: $(guest_lines s1 SWITCH | tr '\n' ' ')" \
        wait_until 30 sh -c "grep -q '^GUEST SWITCH dm-mod 1' $(guest_log s1)"
    xl block-detach s1 xvdb
    nvme detach-ns "/dev/$_ctrl" -n 2 -c "$((_cntlid))"
    nvme ns-rescan "/dev/$_ctrl"
    check migrate-path-undone "namespace 2 still on $_ctrl after the detach: '$(ns2_dev "$_ctrl")'" \
        wait_until 30 sh -c "! ls /sys/block/ | grep -qx '$(basename "$_dev")'"
}

if ! xenvf_up $NVF; then
    e2e_fail migrate-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
no_logdirty || dump_guest s0
stop_guest s0
second_path || dump_guest s1
stop_guest s1
check migrate-switch-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
