#!/bin/sh
# Scenario xenvf-two-guests (issue 6, #6): two guests, each with its own VF
# of nvme0 (vf = [ "pf=nvme0" ]: xenvfd picks a free one), both doing I/O
# on the PF's namespace at once; a third guest asks for the VF the first
# holds (index=) and is refused with a clear error naming the entry, and
# leaves nothing behind: no domain, no reservation, no guest nodes.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-two-guests plugin || exit 1

NVF=3
PF0=$(pf_list | sed -n 1p)
RUN=$(date +%s)

# create_one NAME MIB: a guest with any free VF of nvme0, writing its
# token at MIB MiB of the namespace
create_one() {
    _c=$(GUEST_EXTRA="e2e.token=GUEST-$1-$RUN e2e.token_mib=$2" guest_cfg "$1" nvme-io 'vf = [ "pf=nvme0" ]')
    _t0=$(now)
    xlv create "$_c" >"/tmp/$1.create.log" 2>&1 ||
        { e2e_fail xenvf-two-create "xl create $1 failed"; cat "/tmp/$1.create.log"; return 1; }
    e2e_time "xl-create-vf-$1" "$(since "$_t0")"
    cat "/tmp/$1.create.log"
}

create_two() {
    create_one y1 9 && create_one y2 10 || return 1
    I1=$(guest_vf_index y1) I2=$(guest_vf_index y2)
    info "y1 holds nvme0#$I1, y2 holds nvme0#$I2; xenvf list: $(xenvf_row nvme0)"
    check xenvf-two-distinct "y1 and y2 did not get two distinct VFs ($I1, $I2)" \
        test -n "$I1" -a -n "$I2" -a "$I1" != "$I2"
}

refuse_taken() {
    _c3=$(guest_cfg y3 nvme-io "vf = [ \"pf=nvme0,index=$I1\" ]")
    xlv create "$_c3" >/tmp/y3.create.log 2>&1
    _rc=$?
    cat /tmp/y3.create.log
    e2e_fact "a VF held by another guest, xl says: $(grep -m 1 -iE 'error|held|busy' /tmp/y3.create.log)"
    check xenvf-two-refused "xl create of y3 with y1's VF exited 0" test "$_rc" != 0
    check xenvf-two-refused-message "xl's error does not name the entry and the holder" \
        grep -qE "vf\[0\].*(y1|held)" /tmp/y3.create.log
    check xenvf-two-refused-no-domain "domain y3 left behind" guest_gone y3
    _row=$(xenvf_row nvme0)
    check xenvf-two-refused-no-reservation "after the refusal nvme0 is '$_row', not 1 free 0 reserved 2 active" \
        test "${_row% *}" = "$NVF 1 0 2"
    check xenvf-two-refused-holders "y1 no longer holds nvme0#$I1" test "$(guest_vf_index y1)" = "$I1"
}

both_did_io() {
    wait_until 240 guest_gone y1
    wait_until 120 guest_gone y2
    stop_guest y1; stop_guest y2
    for _g in y1 y2; do
        _mib=9; [ $_g = y1 ] || _mib=10
        _back=$(get_token "$(pf_ns "$PF0")" $_mib)
        guest_lines $_g READ
        check "xenvf-two-io-$_g" "$_g did not write through its VF (read back '$_back')" \
            test "${_back#GUEST-"$_g"-"$RUN"-}" != "$_back"
    done
}

if ! xenvf_up $NVF; then
    e2e_fail xenvf-two-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
if create_two; then
    refuse_taken
    both_did_io
fi
stop_guest y1; stop_guest y2; stop_guest y3
check xenvf-two-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
