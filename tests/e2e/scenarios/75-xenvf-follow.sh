#!/bin/sh
# Scenario xenvf-follow (issue 10): VFs follow their domains through the
# libxl paths an administrator takes besides xl create, and xenvfd's books
# (`xenvf list`, /xenvf/pf/*/vf/*) say the truth after each:
#  1. xl destroy from another shell while xl create waits at the gate: xl
#     create ends at once, says so, exits non-zero; the VF is free.
#  2. xl pci-detach of a running guest's VF: the TCB resets it and frees it.
#  3. xl pci-attach of that free VF to the guest: the TCB counts it as the
#     guest's (adopted from libxl's PCI backend).
#  4. xl pci-attach of a VF another guest holds: refused before libxl
#     touches it (libxl resets a device before assigning it), the holder
#     keeps it, unreset.
#  5. xl save, then xl restore: the VF is free while the guest is saved;
#     the restore reserves it through xenvfd before libxl restores the
#     guest, and the gate applies (the plugin says so), so it is the
#     restored domain's once it is back.
#  6. xl migrate to localhost (the receiver run locally, with the plugin):
#     the source holds its VF, so the receiving plugin reserves another VF
#     of nvme0 for the incoming domain. Xen refuses log-dirty mode to a
#     domain with a passed-through device, so the migration fails: the
#     guest keeps running on its VF, the receiver's VF goes back, nothing
#     is left (were it to succeed: the new domain's VF in the books, the
#     source's freed).
#  7. A guest crashes: with on_crash="preserve" the crashed domain keeps
#     its VF until it is destroyed; with on_crash="restart" xl builds it
#     again and the new domain holds the same VF.
# Each step's books are printed as E2E FACT lines (before and after).
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-follow plugin || exit 1

NVF=3
RUN=$(date +%s)

vf_bdf_of() { xs_pf nvme0 "vf/$1/bdf"; }
vf_holder() { xs_pf nvme0 "vf/$1/domain"; }
held_by() { [ "$(vf_state nvme0 "$1")" = active ] && [ "$(vf_holder "$1")" = "$2" ]; }
vf_free() { [ "$(vf_state nvme0 "$1")" = free ]; }
tcb_said() { grep -q "$1" "$(xenvfd_log tcb)"; }
# a guest that holds its VF without driving it (tests/e2e/guest/hold)
hold_guest() { GUEST_EXTRA="qhost.stay=1" guest_cfg "$1" hold "$2"; }

destroy_while_gated() {
    xenvfd_kill agent TERM
    xenstore-write /xenvf/pf/nvme0/state probing
    books "gated, before"
    start_create f0 "$(guest_cfg f0 nvme-io 'vf = [ "pf=nvme0" ]')"
    if ! wait_until 90 grep -q "waiting for PF nvme0" /tmp/f0.create.log; then
        e2e_fail follow-destroy-gated "xl create of f0 never waited at the gate"
        cat /tmp/f0.create.log; return 1
    fi
    _idx=$(guest_vf_index f0)
    _t0=$(now)
    xl destroy f0
    e2e_time follow-destroy-gated-destroy "$(since "$_t0")"
    _t1=$(now)
    wait_until 60 create_done f0
    e2e_time follow-destroy-gated-exit-after-destroy "$(since "$_t1")"
    cat /tmp/f0.create.log
    e2e_fact "destroyed while gated, xl create says: $(grep -m 1 'destroyed after' /tmp/f0.create.log)"
    check follow-destroy-gated "xl create did not end at once with a message after f0 was destroyed (rc $(create_rc f0))" \
        sh -c "[ \"\$(cat /tmp/f0.create.rc)\" != 0 ] && grep -q 'the domain was destroyed after' /tmp/f0.create.log"
    check follow-destroy-gated-vf-free "nvme0#$_idx is '$(vf_state nvme0 "$_idx")' after f0 was destroyed" \
        wait_until 60 vf_free "$_idx"
    books "gated, after"
    xenvfd_start agent
    wait_until 60 pf_ready nvme0
}

pci_detach() {
    xlv create "$(hold_guest f1 'vf = [ "pf=nvme0" ]')" >/tmp/f1.create.log 2>&1 ||
        { e2e_fail follow-pci-detach "xl create f1 failed"; cat /tmp/f1.create.log; return 1; }
    F1=$(xl domid f1) I1=$(guest_vf_index f1)
    B1=$(vf_bdf_of "$I1")
    wait_until 120 guest_said f1 "^GUEST HOLD"
    books "f1 ($F1) running with nvme0#$I1 ($B1), before pci-detach"
    _t0=$(now)
    timeout 120 xl pci-detach f1 "$B1"
    _rc=$?
    e2e_time follow-pci-detach "$(since "$_t0")"
    e2e_fact "xl pci-detach f1 $B1 exited $_rc; xl pci-list f1: $(xl pci-list f1 | tail -n +2 | tr '\n' ' ')"
    check follow-pci-detach "nvme0#$I1 is '$(vf_line "$I1")' after xl pci-detach f1, not free" \
        wait_until 60 vf_free "$I1"
    check follow-pci-detach-reset "the TCB did not say it reset nvme0#$I1 after the detach" \
        tcb_said "vf $I1 left domain f1"
    books "after pci-detach"
}

pci_attach_free() {
    books "before pci-attach of a free VF"
    xlv pci-attach f1 "$B1" >/tmp/f1.attach.log 2>&1
    _rc=$?
    cat /tmp/f1.attach.log
    check follow-pci-attach-free "xl pci-attach f1 $B1 (a free VF) exited $_rc" test "$_rc" = 0 || return 1
    check follow-pci-attach-free-books "nvme0#$I1 is '$(vf_line "$I1")', not active for f1 ($F1)" \
        wait_until 30 held_by "$I1" "$F1"
    books "after pci-attach of a free VF"
}

pci_attach_held() {
    xlv create "$(hold_guest f2 'vf = [ "pf=nvme0" ]')" >/tmp/f2.create.log 2>&1 ||
        { e2e_fail follow-pci-attach-held "xl create f2 failed"; cat /tmp/f2.create.log; return 1; }
    F2=$(xl domid f2) I2=$(guest_vf_index f2)
    B2=$(vf_bdf_of "$I2")
    _resets=$(grep -c "vf $I2 ($B2) reset" "$(xenvfd_log tcb)")
    books "f2 ($F2) holds nvme0#$I2, before f1 asks for it"
    xlv pci-attach f1 "$B2" >/tmp/f1.attach2.log 2>&1
    _rc=$?
    cat /tmp/f1.attach2.log
    e2e_fact "pci-attach of f2's VF to f1, xl says: $(grep -m 1 'held by' /tmp/f1.attach2.log)"
    check follow-pci-attach-held "xl pci-attach f1 $B2 (f2's VF) exited 0 or said nothing of its holder" \
        sh -c "[ $_rc != 0 ] && grep -q 'held by domain $F2' /tmp/f1.attach2.log"
    check follow-pci-attach-held-books "nvme0#$I2 is '$(vf_line "$I2")' after the refusal, not f2's" \
        held_by "$I2" "$F2"
    check follow-pci-attach-held-no-reset "nvme0#$I2 was reset under f2" \
        test "$(grep -c "vf $I2 ($B2) reset" "$(xenvfd_log tcb)")" = "$_resets"
    books "after the refused pci-attach"
    stop_guest f2
    wait_until 60 vf_free "$I2"
}

save_restore() {
    books "before xl save f1"
    _t0=$(now)
    xl save f1 /tmp/f1.save >/tmp/f1.save.log 2>&1
    _rc=$?
    e2e_time follow-save "$(since "$_t0")"
    cat /tmp/f1.save.log
    check follow-save "xl save f1 exited $_rc" test "$_rc" = 0 || return 1
    check follow-save-vf-free "nvme0#$I1 is '$(vf_line "$I1")' while f1 is saved, not free" \
        wait_until 60 vf_free "$I1"
    books "f1 saved"
    _t0=$(now)
    xlv restore /tmp/f1.save >/tmp/f1.restore.log 2>&1
    _rc=$?
    e2e_time follow-restore "$(since "$_t0")"
    cat /tmp/f1.restore.log
    rm -f /tmp/f1.save
    check follow-restore "xl restore exited $_rc" test "$_rc" = 0 || return 1
    F1=$(xl domid f1)
    check follow-restore-books "nvme0#$I1 is '$(vf_line "$I1")' after the restore, not active for f1 ($F1)" \
        wait_until 30 held_by "$I1" "$F1"
    check follow-restore-reserved "the plugin did not reserve f1's VF through xenvfd before the restore" \
        grep -q "restoring domain f1: reserving the 1 VF it had from xenvfd" /tmp/f1.restore.log
    check follow-restore-gated "the restored f1 did not pass the gate" \
        grep -q "PF nvme0 ready after .*unpausing domain $F1" /tmp/f1.restore.log
    books "f1 restored as $F1"
}

# Xen refuses log-dirty mode, so live migration, to a domain with a device
# passed through ("xc: error: Failed to enable logdirty: 22"): the
# migration must fail cleanly, the guest keep running on its VF, and the
# receiver's reservation go back (issue 15 moves the I/O off the VF first).
migrate_localhost() {
    _old=$(xl domid f1)
    books "before xl migrate f1 localhost"
    _t0=$(now)
    migrate_local f1 /tmp/f1.migrate.log
    _rc=$?
    e2e_time follow-migrate "$(since "$_t0")"
    grep -E "xenvf|migrat|error" /tmp/f1.migrate.log | tail -n 20
    e2e_fact "xl migrate f1 localhost exited $_rc; the receiver's plugin: $(grep -m 1 'takes other VFs' /tmp/f1.migrate.log); Xen: $(grep -m 1 'logdirty' /tmp/f1.migrate.log)"
    check follow-migrate-receiver-reserved "the receiving plugin did not reserve another VF of nvme0 for the incoming f1" \
        grep -q "the incoming domain takes other VFs of the same PF" /tmp/f1.migrate.log
    if [ "$_rc" = 0 ]; then
        _new=$(xl domid f1)
        _i=$(for _k in 0 1 2; do held_by "$_k" "$_new" && echo "$_k"; done | head -n 1)
        check follow-migrate-books "f1's new domain $_new holds no VF of nvme0: $(vf_line 0) $(vf_line 1) $(vf_line 2)" \
            test -n "$_new" -a "$_new" != "$_old" -a -n "$_i"
        check follow-migrate-source-freed "the source's nvme0#$I1 is '$(vf_line "$I1")', not free" \
            wait_until 60 vf_free "$I1"
    else
        check follow-migrate-refused-cleanly "after the failed migration: f1 is '$(xl domid f1)' (was $_old), $(vf_line 0) $(vf_line 1) $(vf_line 2)" \
            wait_until 60 sh -c "[ \"\$(xl domid f1)\" = $_old ] && ! xl domid f1--incoming >/dev/null 2>&1"
        check follow-migrate-books "after the failed migration the books are not f1's VF alone: $(vf_line 0) $(vf_line 1) $(vf_line 2)" \
            wait_until 60 sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme0/active)\" = 1 ]"
        check follow-migrate-keeps-vf "f1 ($_old) no longer holds nvme0#$I1: $(vf_line "$I1")" held_by "$I1" "$_old"
    fi
    books "after xl migrate"
}

crashed() { case $(xl_state "$1") in *c*) true ;; *) false ;; esac; }

crash_preserve() {
    expect_guest_crash c3
    xlv create "$(GUEST_EXTRA="e2e.token=C3-$RUN" guest_cfg c3 crash-once 'vf = [ "pf=nvme0" ]' 'on_crash = "preserve"')" \
        >/tmp/c3.create.log 2>&1 ||
        { e2e_fail follow-crash-preserve "xl create c3 failed"; cat /tmp/c3.create.log; return 1; }
    C3=$(xl domid c3) C3VF=$(guest_vf_index c3)
    if ! wait_until 180 crashed c3; then
        e2e_fail follow-crash-preserve "c3 did not crash: $(xl list c3 | tail -n 1)"; dump_guest c3; return 1
    fi
    books "c3 ($C3) crashed, preserved"
    check follow-crash-preserve "the crashed, preserved c3 ($C3) does not hold nvme0#$C3VF: $(vf_line "$C3VF")" \
        held_by "$C3VF" "$C3"
    xl destroy c3
    check follow-crash-preserve-freed "nvme0#$C3VF is '$(vf_line "$C3VF")' after the crashed c3 was destroyed" \
        wait_until 60 vf_free "$C3VF"
}

crash_restart() {
    expect_guest_crash c4
    # no -e: xl stays to follow the domain, as for a reboot
    xlv create "$(GUEST_EXTRA="e2e.token=C4-$RUN qhost.stay=1" guest_cfg c4 crash-once 'vf = [ "pf=nvme0" ]' 'on_crash = "restart"')" \
        >/tmp/c4.create.log 2>&1 ||
        { e2e_fail follow-crash-restart "xl create c4 failed"; cat /tmp/c4.create.log; return 1; }
    C4=$(xl domid c4) C4VF=$(guest_vf_index c4)
    if ! wait_until 240 guest_said c4 "^GUEST BOOT 2"; then
        e2e_fail follow-crash-restart "c4 did not come back after its crash"; dump_guest c4; return 1
    fi
    C4NEW=$(xl domid c4)
    books "c4 crashed as $C4 and was restarted as $C4NEW"
    check follow-crash-restart "the restarted c4 ($C4NEW, was $C4) does not have nvme0#$C4VF again: its nodes say $(guest_vf_index c4)" \
        test "$C4NEW" != "$C4" -a "$(guest_vf_index c4)" = "$C4VF"
    check follow-crash-restart-books "nvme0#$C4VF is '$(vf_line "$C4VF")', not active for c4's new domain $C4NEW" \
        wait_until 30 held_by "$C4VF" "$C4NEW"
    stop_guest c4
}

if ! xenvf_up $NVF; then
    e2e_fail follow-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
destroy_while_gated
if pci_detach; then
    pci_attach_free && pci_attach_held
    save_restore && migrate_localhost
fi
stop_guest f0; stop_guest f1; stop_guest f2
crash_preserve
crash_restart
stop_guest c3; stop_guest c4
check follow-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
books "end"
