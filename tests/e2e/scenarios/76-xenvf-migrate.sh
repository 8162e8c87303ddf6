#!/bin/sh
# Scenario xenvf-migrate (issue 15: docs/migration.md): a guest that does
# not serve the I/O switch (its xenvf-guest moving its storage I/O to a PF
# path before the move and back after: scenarios xenvf-switch and
# hvm-migrate):
#  1. xl save of a guest doing I/O on its VF (guest job io-loop): refused
#     by the plugin with its message, the same domain runs on, holds its
#     VF, its I/O goes on.
#  2. xl migrate to localhost (the receiver run locally, with the plugin),
#     with and without XENVF_MIGRATE=unplug-and-go (which unplugs nothing
#     here: no PV domain live-migrates on Debian's Xen): the plugin says why it
#     fails and detaches nothing; Xen refuses log-dirty mode; the same
#     domain runs on with its VF and its I/O, the receiver leaves nothing.
#     (The plugin does not stop it itself: a receiving xl whose stream
#     ends before its header dies with SIGSEGV on Xen 4.17.)
#  3. The io-loop ends with no failed read or write.
#  4. XENVF_MIGRATE=unplug-and-go xl save, then xl restore, of a guest
#     holding a VF: the save goes on (the plugin says what is lost), the VF
#     is reset and freed while the guest is saved, the restore reserves a
#     VF again through xenvfd and gates it.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-migrate plugin || exit 1

NVF=3
RUN=$(date +%s)
LOOP_SECS=100

held_by() { [ "$(vf_state nvme0 "$1")" = active ] && [ "$(xs_pf nvme0 "vf/$1/domain")" = "$2" ]; }
vf_free() { [ "$(vf_state nvme0 "$1")" = free ]; }
ticks() { guest_lines m1 TICK | wc -l; }
running() { case $(xl_state "$1") in *r* | *b*) true ;; *) false ;; esac; }
# still NAME DOMID VF: the same domain runs, holds its VF, nothing incoming
still() {
    [ "$(xl domid "$1")" = "$2" ] && running "$1" && held_by "$3" "$2" &&
        ! xl domid "$1--incoming" >/dev/null 2>&1
}
# more_ticks N: the guest's I/O went on past N rounds
more_ticks() { wait_until 60 sh -c "test \$(grep -c '^GUEST TICK' $(guest_log m1)) -ge $(($1 + 2))"; }

refuse_under_io() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-m1-$RUN e2e.secs=$LOOP_SECS" guest_cfg m1 io-loop 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/m1.create.log 2>&1 ||
        { e2e_fail migrate-setup "xl create m1 failed"; cat /tmp/m1.create.log; return 1; }
    M1=$(xl domid m1) I1=$(guest_vf_index m1)
    if ! wait_until 180 sh -c "grep -q '^GUEST TICK 3 ' $(guest_log m1)"; then
        e2e_fail migrate-setup "m1 never got going with its I/O"; dump_guest m1; return 1
    fi
    books "m1 ($M1) doing I/O on nvme0#$I1"

    _n=$(ticks) _t0=$(now)
    xlv save m1 /tmp/m1.save >/tmp/m1.save.log 2>&1
    _rc=$?
    e2e_time migrate-refuse-save "$(since "$_t0")"
    rm -f /tmp/m1.save
    cat /tmp/m1.save.log
    e2e_fact "xl save m1 exited $_rc: $(grep -m 1 'xenvf: error' /tmp/m1.save.log)"
    check migrate-refuse-save "xl save m1 exited $_rc or the plugin did not say why" \
        sh -c "[ $_rc != 0 ] && grep -q 'xl save of domain $M1 with its VF nvme0#$I1: refused, the domain keeps running' /tmp/m1.save.log"
    check migrate-refuse-save-keeps-vf "after the refused save: m1 is '$(xl domid m1)' ($(xl_state m1)), was $M1; $(vf_line "$I1")" \
        still m1 "$M1" "$I1"
    check migrate-refuse-save-io "m1's I/O did not go on after the refused save (ticks $(ticks), were $_n)" \
        more_ticks "$_n"

    for _mode in "" unplug-and-go; do
        _n=$(ticks) _t0=$(now) _c=migrate-live${_mode:+-unplug}
        migrate_local m1 /tmp/m1.migrate.log "$_mode"
        _rc=$?
        e2e_time "$_c" "$(since "$_t0")"
        grep -E "xenvf|migrat|error" /tmp/m1.migrate.log | tail -n 20
        e2e_fact "XENVF_MIGRATE='$_mode' xl migrate m1 localhost exited $_rc: $(grep -m 1 'xenvf: error' /tmp/m1.migrate.log); Xen: $(grep -m 1 'logdirty' /tmp/m1.migrate.log)"
        check "$_c-fails" "XENVF_MIGRATE='$_mode' xl migrate m1 exited $_rc, or the plugin did not say why it fails" \
            sh -c "[ $_rc != 0 ] && grep -q 'xl migrate of domain $M1 with its VF nvme0#$I1: this fails, and the domain keeps running' /tmp/m1.migrate.log"
        check "$_c-keeps-vf" "after it: m1 is '$(xl domid m1)' ($(xl_state m1)), was $M1; $(vf_line 0) $(vf_line 1) $(vf_line 2); domains: $(xl list | tail -n +2 | awk '{ print $1 }' | tr '\n' ' ')" \
            wait_until 60 still m1 "$M1" "$I1"
        check "$_c-books" "after it the books are not m1's VF alone: $(xenvf_row nvme0)" \
            wait_until 60 sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme0/active)\" = 1 ]"
        check "$_c-not-detached" "the VF of m1 was taken from it (the TCB says it left)" \
            sh -c "! grep -q 'vf $I1 left domain m1' $(xenvfd_log tcb)"
        # a PV domain here cannot live-migrate at all (no shadow paging):
        # unplug-and-go leaves its VF alone, and says so
        [ -z "$_mode" ] ||
            check "$_c-pv-kept" "the plugin did not say it leaves m1's VF (a PV domain, no shadow paging): $(grep -m 2 xenvf /tmp/m1.migrate.log)" \
                grep -q "xl migrate of domain $M1: unplug-and-go not done: a PV domain" /tmp/m1.migrate.log
        check "$_c-io" "m1's I/O did not go on after it (ticks $(ticks), were $_n)" \
            more_ticks "$_n"
    done

    books "after the refusals"

    wait_until $((LOOP_SECS + 60)) guest_said m1 '^GUEST LOOP ok='
    guest_lines m1 LOOP
    check migrate-refuse-guest-io "m1's I/O failed or stopped across the refusals: $(guest_lines m1 LOOP | tail -n 1)" \
        guest_said m1 '^GUEST LOOP ok=[0-9]+ bad=0'
}

unplug_and_go_save() {
    xlv create "$(GUEST_EXTRA="qhost.stay=1" guest_cfg m2 hold 'vf = [ "pf=nvme0" ]')" >/tmp/m2.create.log 2>&1 ||
        { e2e_fail migrate-unplug-save "xl create m2 failed"; cat /tmp/m2.create.log; return 1; }
    M2=$(xl domid m2) I2=$(guest_vf_index m2)
    wait_until 120 guest_said m2 "^GUEST HOLD"
    books "m2 ($M2) holds nvme0#$I2"
    _t0=$(now)
    env LD_PRELOAD="$XENVF_PLUGIN" XENVF_MIGRATE=unplug-and-go xl save m2 /tmp/m2.save >/tmp/m2.save.log 2>&1
    _rc=$?
    e2e_time migrate-unplug-save "$(since "$_t0")"
    cat /tmp/m2.save.log
    check migrate-unplug-save "XENVF_MIGRATE=unplug-and-go xl save m2 exited $_rc or the plugin did not say what is lost" \
        sh -c "[ $_rc = 0 ] && grep -q 'xl save of domain $M2 with its VF nvme0#$I2: unplug-and-go' /tmp/m2.save.log"
    check migrate-unplug-save-vf-free "nvme0#$I2 is '$(vf_line "$I2")' while m2 is saved, not free" \
        wait_until 60 vf_free "$I2"
    books "m2 saved"
    _t0=$(now)
    xlv restore /tmp/m2.save >/tmp/m2.restore.log 2>&1
    _rc=$?
    e2e_time migrate-unplug-restore "$(since "$_t0")"
    rm -f /tmp/m2.save
    cat /tmp/m2.restore.log
    M2=$(xl domid m2)
    check migrate-unplug-restore "xl restore of m2 exited $_rc or was not reserved and gated by the plugin" \
        sh -c "[ $_rc = 0 ] && grep -q 'restoring domain m2: reserving the 1 VF it had from xenvfd' /tmp/m2.restore.log"
    check migrate-unplug-restore-books "nvme0#$I2 is '$(vf_line "$I2")' after the restore, not m2's ($M2)" \
        wait_until 30 held_by "$I2" "$M2"
    books "m2 restored as $M2"
}

if ! xenvf_up $NVF; then
    e2e_fail migrate-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
refuse_under_io || dump_guest m1
stop_guest m1
unplug_and_go_save || dump_guest m2
stop_guest m2
check migrate-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
books "end"
