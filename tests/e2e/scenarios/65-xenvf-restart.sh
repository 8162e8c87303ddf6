#!/bin/sh
# Scenario xenvf-restart (issue 6, #4): xenvfd (both processes, the TCB and
# the PF agent) is killed with SIGKILL and started again while a guest
# holds a VF and does I/O on it (guest job io-loop). The restarted TCB must adopt what it finds and leave the PF
# alone: NumVFs untouched (the VFs' sysfs directories keep their inodes: no
# NumVFs write re-created them), no reset of the held VF, the guest's I/O
# goes on without an error, and the active count is right afterwards.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-restart plugin || exit 1

NVF=3
PF0=$(pf_list | sed -n 1p)
RUN=$(date +%s)
LOOP_SECS=70

# vf_inodes: the inode of every VF directory of PF0 (a NumVFs write
# removes and re-creates them)
vf_inodes() {
    for _l in "$SYSPCI/$PF0"/virtfn*; do ls -id "$(readlink -f "$_l")"; done | awk '{ print $1 }' | tr '\n' ' '
}
ticks() { guest_lines z1 TICK | wc -l; }

restart_under_io() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-z1-$RUN e2e.secs=$LOOP_SECS" guest_cfg z1 io-loop 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/z1.create.log 2>&1 ||
        { e2e_fail xenvf-restart "xl create failed"; cat /tmp/z1.create.log; return 1; }
    _idx=$(guest_vf_index z1)
    if ! wait_until 180 sh -c "grep -q '^GUEST TICK 3 ' $(guest_log z1)"; then
        e2e_fail xenvf-restart "z1 never got going with its I/O"; dump_guest z1; return 1
    fi
    _ino=$(vf_inodes) _nv=$(numvfs "$PF0") _ctl=$(pf_ctrl "$PF0")
    _before=$(ticks)
    _lines=$(wc -l <"$(xenvfd_log tcb)") _alines=$(wc -l <"$(xenvfd_log agent)")
    info "z1 holds nvme0#$_idx; $(xenvf_row nvme0); VF inodes $_ino; $_before ticks so far"
    _t0=$(now)
    xenvfd_kill tcb KILL
    xenvfd_kill agent KILL
    sleep 2
    xenvfd_start tcb
    xenvfd_start agent
    wait_until 60 pf_ready nvme0
    e2e_time xenvfd-restart "$(since "$_t0")"
    # a few more rounds of guest I/O after the restart
    wait_until 60 sh -c "test \$(grep -c '^GUEST TICK' $(guest_log z1)) -ge $((_before + 3))"
    echo "---- xenvfd logs since the restart"
    tail -n "+$((_lines + 1))" "$(xenvfd_log tcb)"
    tail -n "+$((_alines + 1))" "$(xenvfd_log agent)"
    check xenvf-restart-numvfs "NumVFs of $PF0 changed ($_nv -> $(numvfs "$PF0")) or its VFs were re-created" \
        test "$(numvfs "$PF0")" = "$_nv" -a "$(vf_inodes)" = "$_ino"
    check xenvf-restart-secondary "the secondary controller of z1's VF went offline" \
        secondary_online "$_ctl" $((_idx + 1))
    check xenvf-restart-no-reset "the restarted xenvfd reset a VF or the PF" \
        sh -c "! tail -n +$((_lines + 1)) $(xenvfd_log tcb) | grep -E 'NumVFs [0-9]+ ->|reset \\(FLR\\)|resetting its VFs'"
    check xenvf-restart-active "after the restart: $(xenvf_row nvme0), vf $_idx '$(vf_state nvme0 "$_idx")', not 1 active" \
        test "$(xs_pf nvme0 active)" = 1 -a "$(vf_state nvme0 "$_idx")" = active
    e2e_fact "xenvfd restarted under guest I/O: xenvf list nvme0: $(xenvf_row nvme0)"
    wait_until 120 guest_gone z1
    stop_guest z1
    guest_lines z1 LOOP
    check xenvf-restart-guest-io "the guest's I/O stopped or failed across the restart: $(guest_lines z1 LOOP | tail -n 1), ticks $(ticks) (before the kill $_before)" \
        guest_said z1 '^GUEST LOOP ok=[0-9]+ bad=0'
    check xenvf-restart-ticks-after "no guest I/O after the restart (ticks $(ticks), before $_before)" \
        test "$(ticks)" -gt "$((_before + 2))"
}

if ! xenvf_up $NVF; then
    e2e_fail xenvf-restart-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
restart_under_io || dump_guest z1
stop_guest z1
check xenvf-restart-vf-freed "after z1, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
