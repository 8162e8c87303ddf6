#!/bin/sh
# Scenario hvm-migrate (issue 15: docs/migration.md, checks migrate-hvm-*):
# xl migrate to localhost of an HVM guest doing I/O on its storage VF, on a
# Xen that live-migrates HVM guests (HAP log-dirty; only in images made
# with E2E_HVM=1: make e2e E2E_PLATFORM=trixie E2E_HVM=1
# E2E_SCENARIOS="boot hvm-migrate").
#  1. An HVM guest with no device migrates: what the tier's Xen can do
#     before the VF is in the picture.
#  2. An HVM guest (job switch-io) doing I/O on /dev/mapper/xenvf-vf0 over
#     its VF's namespace 2 migrates with the plugin on both sides: the
#     sender moves the I/O to the PF path (xvdb, blkback) and unplugs the
#     VF, which xenvfd resets and frees; the receiver, once the domain runs
#     there, plugs VF 0 again through the gate and asks the guest back. The
#     loop must see no failed read or write; the pauses are printed as
#     migrate-io-pause-out and -back.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
# shellcheck source=hvm-lib.sh
. /e2e/scenarios/hvm-lib.sh
hvm_setup migrate-hvm || exit 0
have_xenvf migrate-hvm plugin || exit 1

NVF=3
RUN=$(date +%s)
LOOP_SECS=400 # the I/O loop's cap: dom0 stops it after the way back

running() { case $(xl_state "$1") in *r* | *b*) true ;; *) false ;; esac; }
# migrated NAME OLD: NAME runs under another domain id, nothing left of the
# move (no NAME--incoming, no NAME--migratedaway)
migrated() {
    _d=$(xl domid "$1" 2>/dev/null) && [ "$_d" != "$2" ] && running "$1" &&
        ! xl domid "$1--incoming" >/dev/null 2>&1 && ! xl domid "$1--migratedaway" >/dev/null 2>&1
}

# migrate_ok NAME CHECK WHAT: xl migrate NAME to localhost (its log
# /tmp/NAME.migrate.log), timed as CHECK; CHECK passes when xl exits 0,
# CHECK-runs when NAME then runs under another domain id
migrate_ok() {
    _old=$(xl domid "$1") _t0=$(now)
    migrate_local "$1" "/tmp/$1.migrate.log"
    _rc=$?
    e2e_time "$2" "$(since "$_t0")"
    grep -E 'xenvf|error|fail|logdirty' "/tmp/$1.migrate.log" | tail -n 20
    check "$2" "xl migrate $1 ($3) exited $_rc: $(tail -n 3 "/tmp/$1.migrate.log" | tr '\n' ' ')" \
        sh -c "[ $_rc = 0 ]" || return 1
    check "$2-runs" "after it $1 is '$(xl domid "$1")' ($(xl_state "$1")), was $_old" \
        wait_until 30 migrated "$1" "$_old"
}

# 1. no device: does HVM live migration work here at all?
plain() {
    xl create "$(HVM_EXTRA="qhost.stay=1" hvm_cfg h0 hold)" >/tmp/h0.create.log 2>&1 ||
        { e2e_fail migrate-hvm-setup "xl create h0 failed: $(tail -n 3 /tmp/h0.create.log)"; return 1; }
    check migrate-hvm-setup "h0 did not come up" wait_until 300 said_or_gone h0 "^GUEST HOLD" || return 1
    migrate_ok h0 migrate-hvm-plain "HVM, no device"
}

# xenvfd's resets of nvme0's VF 0 so far
vf0_resets() { grep -c 'pf nvme0: vf 0 (.*) reset (FLR)' "$(xenvfd_log tcb)"; }

# 2. the switch around xl migrate
switch_migrate() {
    _ctrl=$(pf_ctrl "$(pf_list | sed -n 1p)")
    _cfg=$(HVM_EXTRA="e2e.token=H$RUN e2e.secs=$LOOP_SECS" hvm_cfg h1 switch-io 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/h1.create.log 2>&1 ||
        { e2e_fail migrate-hvm-switch-setup "xl create h1 failed: $(tail -n 3 /tmp/h1.create.log)"; return 1; }
    [ "$(guest_vf_index h1)" = 0 ] ||
        { e2e_fail migrate-hvm-switch-setup "h1 got nvme0#$(guest_vf_index h1), not VF 0 (the one with namespace 2)"; return 1; }
    check migrate-hvm-switch-guest "h1's xenvf-guest does not serve the switch or its I/O did not start: $(guest_lines h1 SWITCH | tail -n 2)" \
        wait_until 300 sh -c "grep -q '^GUEST TICK 3 ok' $(guest_log h1)" || return 1
    guest_lines h1 SWITCH
    _old=$(xl domid h1)
    books "h1 ($_old) on nvme0#0"
    pv_disk_setup
    _resets=$(vf0_resets)

    migrate_ok h1 migrate-hvm-switch "HVM, its I/O moved" || return 1
    check migrate-hvm-out "the sender did not say h1's I/O went to xvdb through the PF: $(grep -m 1 xenvf /tmp/h1.migrate.log)" \
        grep -q "nvme0#0: the guest's I/O is on the PV disk xvdb" /tmp/h1.migrate.log
    e2e_time migrate-io-pause-out "$(sed -n '/on the PV disk xvdb/p' /tmp/h1.migrate.log >/tmp/h1.out.log; paused_in /tmp/h1.out.log)"
    _new=$(xl domid h1)
    check migrate-hvm-source-reset "xenvfd did not reset nvme0#0 after the source domain $_old let it go: $(grep 'vf 0 ' "$(xenvfd_log tcb)" | tail -n 2)" \
        [ "$(vf0_resets)" -gt "$_resets" ]
    books "h1 migrated: $_new"
    switch_back_checks migrate-hvm h1 /tmp/h1.migrate.log "$_ctrl"
    switch_loop_ok migrate-hvm-io h1
}

plain || hvm_evidence migrate-hvm h0
stop_guest h0
if ! xenvf_up $NVF; then
    e2e_fail migrate-hvm-vf-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
switch_migrate || { hvm_evidence migrate-hvm h1; dump_guest h1; }
stop_guest h1
check migrate-hvm-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
