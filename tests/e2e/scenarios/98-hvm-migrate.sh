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
#     VF, which xenvfd resets and frees; the receiver leaves the domain
#     paused (migrate-receive -p) with the record of the move in its
#     xenstore directory; the xl that unpauses it then plugs VF 0 again
#     through the gate and asks the guest back. The
#     loop must see no failed read or write; the pauses are printed as
#     migrate-io-pause-out and -back.
#  3. An HVM guest on a VF that runs no xenvf-guest (job cmd: it reads its
#     VF's namespace 1 when dom0 asks): plain xl migrate is refused (Xen
#     will not put a domain with a passed-through device in log-dirty
#     mode), the guest keeps running with its VF; then with
#     XENVF_MIGRATE=unplug-and-go the sender unplugs the VF (xenvfd resets
#     and frees it), the domain moves, the receiver plugs the same VF index
#     again, and the guest reads its namespace through it again.
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
# arrived_paused NAME OLD: NAME is paused under another domain id, nothing
# left of the move
arrived_paused() {
    _d=$(xl domid "$1" 2>/dev/null) && [ "$_d" != "$2" ] &&
        case $(xl_state "$1") in *p*) true ;; *) false ;; esac &&
        ! xl domid "$1--incoming" >/dev/null 2>&1 && ! xl domid "$1--migratedaway" >/dev/null 2>&1
}
# migrated NAME OLD: NAME runs under another domain id, nothing left of the
# move (no NAME--incoming, no NAME--migratedaway)
migrated() {
    _d=$(xl domid "$1" 2>/dev/null) && [ "$_d" != "$2" ] && running "$1" &&
        ! xl domid "$1--incoming" >/dev/null 2>&1 && ! xl domid "$1--migratedaway" >/dev/null 2>&1
}

# migrate_ok NAME CHECK WHAT [XENVF_MIGRATE]: xl migrate NAME to localhost
# (its log /tmp/NAME.migrate.log), timed as CHECK; CHECK passes when xl
# exits 0, CHECK-runs when NAME then runs under another domain id
migrate_ok() {
    _old=$(xl domid "$1") _t0=$(now)
    migrate_local "$1" "/tmp/$1.migrate.log" "${4:-}"
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

# xenvfd's resets of nvme0's VF N (default 0) so far
vf0_resets() { grep -c "pf nvme0: vf ${1:-0} (.*) reset (FLR)" "$(xenvfd_log tcb)"; }

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

    # left paused at the destination (migrate-receive -p): the way back
    # waits for the xl that unpauses it, which finds what was moved in
    # the domain's xenstore directory
    _t0=$(now)
    migrate_local h1 /tmp/h1.migrate.log "" -p
    _rc=$?
    _t_mig=$(since "$_t0")
    grep -E 'xenvf|error|fail|logdirty' /tmp/h1.migrate.log | tail -n 20
    check migrate-hvm-switch "xl migrate h1 (HVM, its I/O moved, migrate-receive -p) exited $_rc: $(tail -n 3 /tmp/h1.migrate.log | tr '\n' ' ')" \
        sh -c "[ $_rc = 0 ]" || return 1
    check migrate-hvm-out "the sender did not say h1's I/O went to xvdb through the PF: $(grep -m 1 xenvf /tmp/h1.migrate.log)" \
        grep -q "nvme0#0: the guest's I/O is on the PV disk xvdb" /tmp/h1.migrate.log
    e2e_time migrate-io-pause-out "$(sed -n '/on the PV disk xvdb/p' /tmp/h1.migrate.log >/tmp/h1.out.log; paused_in /tmp/h1.out.log)"
    _new=$(xl domid h1)
    check migrate-hvm-switch-paused "after it h1 is '$_new' ($(xl_state h1)), was $_old: not paused under a new id" \
        arrived_paused h1 "$_old" || return 1
    check migrate-hvm-pending "h1 ($_new) has no record of what was moved for the xl that unpauses it: '$(xenstore-read "/local/domain/$_new/xenvf-iomove" 2>&1)'" \
        sh -c "xenstore-read /local/domain/$_new/xenvf-iomove | grep -q '^nvme0#0:2:xvdb:'"
    check migrate-hvm-source-reset "xenvfd did not reset nvme0#0 after the source domain $_old let it go: $(grep 'vf 0 ' "$(xenvfd_log tcb)" | tail -n 2)" \
        [ "$(vf0_resets)" -gt "$_resets" ]
    books "h1 migrated, paused: $_new"
    _t0=$(now)
    xlv unpause h1 >/tmp/h1.unpause.log 2>&1
    _rc=$?
    # the whole move: the migration, then the unpause with the way back
    _t_unp=$(since "$_t0")
    e2e_time migrate-hvm-unpause "$_t_unp"
    e2e_time migrate-hvm-switch "$(awk -v a="$_t_mig" -v b="$_t_unp" 'BEGIN { printf "%.2f", a + b }')"
    grep xenvf /tmp/h1.unpause.log | tail -n 8
    check migrate-hvm-switch-runs "after xl unpause ($_rc) h1 is '$(xl domid h1)' ($(xl_state h1)), was $_old" \
        wait_until 30 migrated h1 "$_old"
    check migrate-hvm-pending-gone "the record of what was moved outlived the way back: '$(xenstore-read "/local/domain/$_new/xenvf-iomove" 2>&1)'" \
        sh -c "! xenstore-read /local/domain/$_new/xenvf-iomove >/dev/null 2>&1"
    switch_back_checks migrate-hvm h1 /tmp/h1.unpause.log "$_ctrl"
    switch_loop_ok migrate-hvm-io h1
}

# 3. unplug-and-go
# what the guest reads at sector 0 of its VF's namespace 1 (the PF's name)
# shellcheck disable=SC2016 # expanded by the guest's sh
READ_NS1='. /qhost/jobs/lib.sh; load_nvme; wait_namespaces; read_at "$(namespaces | head -n 1)" 0'
# kept NAME DOMID INDEX: NAME still runs as DOMID with nvme0#INDEX, and the
# failed migration left no NAME--incoming
kept() {
    [ "$(xl domid "$1" 2>/dev/null)" = "$2" ] && running "$1" &&
        ! xl domid "$1--incoming" >/dev/null 2>&1 && [ "$(guest_vf_index "$1")" = "$3" ]
}
reads() { [ "$(gexec "$1" "$READ_NS1")" = "$2" ]; }
# held_by NAME INDEX: xenvfd's books and NAME's own nodes give it nvme0#INDEX
held_by() {
    [ "$(xenstore-read "/xenvf/pf/nvme0/vf/$2/domain" 2>/dev/null)" = "$(xl domid "$1")" ] &&
        [ "$(guest_vf_index "$1")" = "$2" ]
}

unplug_and_go() {
    _cfg=$(HVM_EXTRA="qhost.stay=1" hvm_cfg h2 cmd 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/h2.create.log 2>&1 ||
        { e2e_fail migrate-hvm-unplug-setup "xl create h2 failed: $(tail -n 3 /tmp/h2.create.log)"; return 1; }
    _i=$(guest_vf_index h2) _old=$(xl domid h2)
    check migrate-hvm-unplug-setup "h2 did not come up serving" \
        wait_until 300 said_or_gone h2 "^GUEST SERVING" || return 1
    _name=$(gexec h2 "$READ_NS1")
    check migrate-hvm-unplug-reads "h2 read '$_name' from its VF nvme0#$_i's namespace 1, not the PF's name" \
        sh -c "[ -n '$_name' ] && [ '$_name' != '(no' ]" || return 1
    books "h2 ($_old) on nvme0#$_i"

    migrate_local h2 /tmp/h2.refused.log
    _rc=$?
    grep -E 'xenvf|logdirty|fail' /tmp/h2.refused.log | tail -n 8
    check migrate-hvm-refused "xl migrate h2 (a VF, no xenvf-guest, no unplug-and-go) exited $_rc, or the plugin did not say why: $(grep -m 1 xenvf /tmp/h2.refused.log)" \
        sh -c "[ $_rc != 0 ] && grep -q 'with its VF nvme0#$_i: this fails' /tmp/h2.refused.log"
    check migrate-hvm-refused-kept "after it h2 is '$(xl domid h2)' ($(xl_state h2)) with VF '$(guest_vf_index h2)', not $_old running with nvme0#$_i" \
        wait_until 60 kept h2 "$_old" "$_i" || return 1
    check migrate-hvm-refused-reads "h2 does not read '$_name' through its VF after the refusal (its console: GUEST OUT)" \
        reads h2 "$_name"

    _resets=$(vf0_resets "$_i")
    migrate_ok h2 migrate-hvm-unplug "HVM, unplug-and-go" unplug-and-go || return 1
    check migrate-hvm-unplug-said "the sender did not say it unplugged nvme0#$_i: $(grep -m 1 xenvf /tmp/h2.migrate.log)" \
        grep -q "nvme0#$_i: unplug-and-go (XENVF_MIGRATE): unplugged" /tmp/h2.migrate.log
    check migrate-hvm-unplug-source-reset "xenvfd did not reset nvme0#$_i after the source domain $_old let it go" \
        [ "$(vf0_resets "$_i")" -gt "$_resets" ]
    check migrate-hvm-unplug-back "the receiver did not plug nvme0#$_i into h2 ($(xl domid h2)) again: VF '$(guest_vf_index h2)', books '$(vf_line "$_i")'; $(grep xenvf /tmp/h2.migrate.log | tail -n 2)" \
        sh -c "grep -q 'nvme0#$_i: plugged again (unplug-and-go)' /tmp/h2.migrate.log" &&
        check migrate-hvm-unplug-books "h2 ($(xl domid h2)) is not nvme0#$_i's holder in the books and its nodes: $(vf_line "$_i"), VF '$(guest_vf_index h2)'" \
            held_by h2 "$_i"
    books "h2 migrated: $(xl domid h2)"
    check migrate-hvm-unplug-reads-again "h2 does not read '$_name' through nvme0#$_i after the move (its console: GUEST OUT)" \
        wait_until 90 reads h2 "$_name"
}

plain || hvm_evidence migrate-hvm h0
stop_guest h0
if ! xenvf_up $NVF; then
    e2e_fail migrate-hvm-vf-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
switch_migrate || { hvm_evidence migrate-hvm h1; dump_guest h1; }
stop_guest h1
unplug_and_go || { hvm_evidence migrate-hvm h2; dump_guest h2; }
stop_guest h2
check migrate-hvm-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
