#!/bin/sh
# Scenario xenvf-switch (issue 15's switch: docs/migration.md).
#  1. Debian's Xen cannot live-migrate any PV guest: xl migrate of a guest
#     with no device at all fails in Xen with EOPNOTSUPP (95) on log-dirty
#     mode (the hypervisor is built without CONFIG_SHADOW_PAGING).
#  2. The switch under I/O, xl save and xl restore: a guest (job switch-io)
#     does I/O on /dev/mapper/xenvf-vf0, which its xenvf-guest keeps over
#     its VF's own disk (namespace 2, VF 0's in the map). dom0 (this
#     scenario, by hand: the plugin does not drive it yet) attaches
#     namespace 2 to the PF's own controller, offers it to the guest as
#     xvdb (blkback) and asks the guest to switch (switch-request "pv
#     xvdb"); the guest's I/O goes on through the PF. xl pci-detach of
#     its VF (xenvfd resets and frees it), xl save and xl restore, xl
#     pci-attach of the VF again (the books follow); dom0
#     asks the guest back to the VF ("vf"), detaches xvdb and the PF's
#     namespace. The loop must see no failed read or write; the pauses
#     (the guest's suspend to resume) are printed as
#     migrate-io-pause-out and -back.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-switch plugin || exit 1

NVF=3
RUN=$(date +%s)
# the guest's I/O loop runs until dom0 stops it after the way back (at
# most this long)
LOOP_SECS=400

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

# The tier's dom0 has none of Xen's hotplug scripts (/etc/xen/scripts is
# empty): the one blkback needs for phy: is what Xen's "block" script does
# for a block device, said in a few lines (xl block-attach ...,script=).
BLOCK_SCRIPT=/tmp/xenvf-block-phy
cat >$BLOCK_SCRIPT <<'EOS'
#!/bin/sh
[ "$1" = add ] || exit 0
_dev=$(xenstore-read "$XENBUS_PATH/params") || exit 1
_mm=$(cat "/sys/class/block/${_dev##*/}/dev") || exit 1
xenstore-write "$XENBUS_PATH/physical-device" "$(printf '%x:%x' "${_mm%%:*}" "${_mm##*:}")" \
    "$XENBUS_PATH/physical-device-path" "$_dev" "$XENBUS_PATH/hotplug-status" connected
EOS
chmod 755 $BLOCK_SCRIPT

# ns2_dev CTRL: dom0's block device of namespace 2 on controller CTRL
ns2_dev() {
    for _b in /sys/block/"$1"n*; do
        [ -e "$_b/nsid" ] && [ "$(cat "$_b/nsid")" = 2 ] && echo "/dev/${_b##*/}" && return 0
    done
    return 1
}
ticks() { guest_lines s1 TICK | wc -l; }
more_ticks() { wait_until 90 sh -c "test \$(grep -c '^GUEST TICK' $(guest_log s1)) -ge $(($1 + 2))"; }
sw_node() { echo "/local/domain/$(xl domid s1)/xenvf/vf/0/$1"; }
# ask TEXT: write the switch request, wait (120 s) for the guest's answer
ask() {
    xenstore-write "$(sw_node switch)" "" # the answer to wait for is new
    xenstore-write "$(sw_node switch-request)" "$1"
    wait_until 120 sh -c "xenstore-read $(sw_node switch) 2>/dev/null | grep -q ."
    ANSWER=$(xenstore-read "$(sw_node switch)" 2>/dev/null)
}
paused() { echo "$ANSWER" | sed -n 's/^.* paused=//p'; }

switch_io() {
    _ctrl=$(pf_ctrl "$(pf_list | sed -n 1p)")
    _cfg=$(GUEST_EXTRA="e2e.token=W$RUN e2e.secs=$LOOP_SECS" guest_cfg s1 switch-io 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/s1.create.log 2>&1 ||
        { e2e_fail migrate-switch-setup "xl create s1 failed"; cat /tmp/s1.create.log; return 1; }
    [ "$(guest_vf_index s1)" = 0 ] ||
        { e2e_fail migrate-switch-setup "s1 got nvme0#$(guest_vf_index s1), not VF 0 (the one with namespace 2)"; return 1; }
    check migrate-switch-guest "s1's xenvf-guest does not serve the switch or its I/O did not start: $(guest_lines s1 SWITCH | tail -n 2)" \
        wait_until 180 sh -c "grep -q '^GUEST TICK 3 ok' $(guest_log s1)" || return 1
    guest_lines s1 SWITCH
    check migrate-switch-offered "vf/0/switch is '$(xenstore-read "$(sw_node switch)")', not vf" \
        [ "$(xenstore-read "$(sw_node switch)")" = vf ] || return 1
    books "s1 ($(xl domid s1)) on nvme0#0"

    # the PF path: namespace 2 on the PF's own controller, xvdb on it
    _cntlid=$(nvme id-ctrl "/dev/$_ctrl" | awk '$1 == "cntlid" { print $3 }')
    _t0=$(now)
    nvme attach-ns "/dev/$_ctrl" -n 2 -c "$((_cntlid))"
    nvme ns-rescan "/dev/$_ctrl"
    wait_until 30 ns2_dev "$_ctrl" >/dev/null
    _dev=$(ns2_dev "$_ctrl")
    e2e_time migrate-path-attach "$(since "$_t0")"
    e2e_fact "namespace 2 attached to $_ctrl (cntlid $_cntlid): dom0 sees '$_dev'"
    check migrate-path-pf "namespace 2 did not appear on $_ctrl" [ -n "$_dev" ] || return 1
    modprobe xen-blkback # not among dom0-init's modules
    _t0=$(now)
    xl block-attach s1 "format=raw,vdev=xvdb,access=w,script=$BLOCK_SCRIPT,target=$_dev"
    e2e_time migrate-path-block-attach "$(since "$_t0")"

    # out: the guest's I/O to the PF path
    _n=$(ticks) _t0=$(now)
    ask "pv xvdb"
    e2e_time migrate-switch-out "$(since "$_t0")"
    e2e_fact "switch-request 'pv xvdb': the guest answered '$ANSWER'"
    check migrate-switch-out "s1 did not move its I/O to xvdb: '$ANSWER'" \
        sh -c "echo '$ANSWER' | grep -q '^pv paused='" || return 1
    e2e_time migrate-io-pause-out "$(paused)"
    check migrate-switch-out-io "s1's I/O did not go on through the PF (ticks $(ticks), were $_n)" more_ticks "$_n"

    # the VF hot-unplugged (the method: the guest's driver lets it go
    # cleanly; a guest whose nvme driver kept a VF reset under it across
    # save and restore locked up its vCPU in the tier), then xl save and
    # xl restore of a domain without VFs, then a VF hot-plugged again
    _pf=$(pf_list | sed -n 1p)
    _bdf=$(vf_bdf "$_pf" 0)
    _t0=$(now)
    timeout 120 xl pci-detach s1 "$_bdf"
    e2e_time migrate-switch-unplug "$(since "$_t0")"
    check migrate-switch-vf-free "nvme0#0 is '$(vf_line 0)' after xl pci-detach, not free (reset)" \
        wait_until 60 sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/state)\" = free ]"
    _t0=$(now)
    xlv save s1 /tmp/s1.save >/tmp/s1.save.log 2>&1
    _rc=$?
    e2e_time migrate-switch-save "$(since "$_t0")"
    check migrate-switch-save "xl save s1 exited $_rc: $(tail -n 3 /tmp/s1.save.log)" [ $_rc = 0 ] || return 1
    books "s1 saved"
    _t0=$(now)
    xlv restore /tmp/s1.save >/tmp/s1.restore.log 2>&1
    _rc=$?
    e2e_time migrate-switch-restore "$(since "$_t0")"
    rm -f /tmp/s1.save
    check migrate-switch-restore "xl restore s1 exited $_rc: $(tail -n 3 /tmp/s1.restore.log)" [ $_rc = 0 ] || return 1
    _n=$(ticks)
    check migrate-switch-restored-io "s1's I/O did not go on after the restore (ticks $(ticks), were $_n)" more_ticks "$_n"
    _t0=$(now)
    xlv pci-attach s1 "$_bdf" >/tmp/s1.attach.log 2>&1
    _rc=$?
    e2e_time migrate-switch-plug "$(since "$_t0")"
    cat /tmp/s1.attach.log
    check migrate-switch-plug "xl pci-attach s1 $_bdf exited $_rc, or nvme0#0 is '$(vf_line 0)', not s1's" \
        wait_until 30 sh -c "[ $_rc = 0 ] && [ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/domain)\" = $(xl domid s1) ]"
    books "s1 restored as $(xl domid s1), its VF plugged"
    # the restored domain had no VF, so no xenvf nodes: its guest says
    # where its I/O is once xenvfd has made them for the plugged VF
    check migrate-switch-restored-pv "the restored s1 does not say its I/O is on the PV path: vf/0/switch '$(xenstore-read "$(sw_node switch)" 2>/dev/null)'" \
        wait_until 60 sh -c "[ \"\$(xenstore-read $(sw_node switch) 2>/dev/null)\" = pv ]"
    guest_lines s1 SWITCH | tail -n 4

    # back: the guest's I/O to its VF again
    # (the guest waits up to 30 s for its VF's namespace to be back and
    # readable: its nvme driver recovers from the reset under it; asked
    # again while it says it is not)
    _t0=$(now) _k=0
    while ask vf && [ $_k -lt 3 ] && echo "$ANSWER" | grep -q '^error: .*was not back and readable'; do
        _k=$((_k + 1))
        e2e_fact "switch-request 'vf' $_k: '$ANSWER', asking again"
    done
    e2e_time migrate-switch-back "$(since "$_t0")"
    e2e_fact "switch-request 'vf': the guest answered '$ANSWER'"
    check migrate-switch-back "s1 did not move its I/O back to its VF: '$ANSWER'" \
        sh -c "echo '$ANSWER' | grep -q '^vf paused='"
    e2e_time migrate-io-pause-back "$(paused)"
    _n=$(ticks)
    check migrate-switch-back-io "s1's I/O did not go on on its VF (ticks $(ticks), were $_n)" more_ticks "$_n"
    guest_lines s1 SWITCH
    xl block-detach s1 xvdb
    nvme detach-ns "/dev/$_ctrl" -n 2 -c "$((_cntlid))"
    nvme ns-rescan "/dev/$_ctrl"
    check migrate-path-undone "namespace 2 still on $_ctrl after the detach: '$(ns2_dev "$_ctrl")'" \
        wait_until 30 sh -c "! ls /sys/block/ | grep -qx '$(basename "$_dev")'"
    check migrate-switch-books "after the move: $(vf_line 0), nvme0 $(xenvf_row nvme0), s1 is $(xl domid s1)" \
        sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/domain)\" = $(xl domid s1) ] && [ \"\$(xenstore-read /xenvf/pf/nvme0/active)\" = 1 ]"
    xenstore-write "/local/domain/$(xl domid s1)/data/e2e-stop" 1
    wait_until 60 guest_said s1 '^GUEST LOOP ok='
    guest_lines s1 LOOP
    check migrate-switch-io "s1's I/O failed across the switch and the move: $(guest_lines s1 LOOP | tail -n 1)" \
        guest_said s1 '^GUEST LOOP ok=[0-9]+ bad=0'
}

if ! xenvf_up $NVF; then
    e2e_fail migrate-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
no_logdirty || dump_guest s0
stop_guest s0
switch_io || dump_guest s1
stop_guest s1
check migrate-switch-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
