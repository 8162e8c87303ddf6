#!/bin/sh
# Scenario xenvf-reboot (issue 6, #3): a guest created with vf= reboots.
# xl's daemon re-creates the domain; the plugin gives it the same VF again
# and the gate applies again (both visible in xl's log of the guest); the
# rebooted guest sees its VF and does I/O on it (guest job reboot-io); when
# it is gone for good the VF is free again.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-reboot plugin || exit 1

NVF=3
PF0=$(pf_list | sed -n 1p)
RUN=$(date +%s)
XL_LOG=/var/log/xen/xl-x3.log

# the plugin's "vf[0]: PF nvme0 VF I at BDF" lines, one per build
vf_lines() { grep -h -o 'vf\[0\]: PF nvme0 VF [0-9]* at [0-9a-f:.]*' /tmp/x3.create.log "$XL_LOG" 2>/dev/null; }
builds() { grep -c 'paused until PF nvme0 is ready' /tmp/x3.create.log "$XL_LOG" 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }'; }
gates() { grep -c 'PF nvme0 ready after' /tmp/x3.create.log "$XL_LOG" 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }'; }

reboot_guest() {
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-x3-$RUN" guest_cfg x3 reboot-io 'vf = [ "pf=nvme0" ]')
    rm -f "$XL_LOG"
    _t0=$(now)
    xlv create "$_cfg" >/tmp/x3.create.log 2>&1 ||
        { e2e_fail xenvf-reboot "xl create failed"; cat /tmp/x3.create.log; return 1; }
    _d1=$(xl domid x3)
    e2e_time xl-create-vf "$(since "$_t0")"
    if ! wait_until 240 guest_said x3 '^GUEST BOOT 2'; then
        e2e_fail xenvf-reboot "x3 did not come back from its reboot with its VF"
        dump_guest x3; cat "$XL_LOG"; return 1
    fi
    _d2=$(xl domid x3)
    wait_until 120 guest_gone x3
    e2e_time guest-two-boots "$(since "$_t0")"
    stop_guest x3
    echo "---- xl create"; cat /tmp/x3.create.log
    echo "---- $XL_LOG"; cat "$XL_LOG"
    guest_lines x3 BOOT
    info "domids: $_d1 then $_d2; builds $(builds), gates $(gates)"
    vf_lines
    check xenvf-reboot-new-domain "x3 was not re-created as a new domain ($_d1, $_d2)" \
        test -n "$_d2" -a "$_d1" != "$_d2"
    check xenvf-reboot-same-vf "the rebooted x3 did not get the same VF: $(vf_lines | tr '\n' ' ')" \
        test "$(vf_lines | wc -l)" -ge 2 -a "$(vf_lines | sort -u | wc -l)" = 1
    check xenvf-reboot-gate "the gate did not apply to both boots (builds $(builds), gates $(gates))" \
        test "$(builds)" -ge 2 -a "$(gates)" -ge 2
    _back=$(get_token "$(pf_ns "$PF0")" 7)
    check xenvf-reboot-io "x3's second boot did not write through its VF (read back '$_back')" \
        test "$_back" = "GUEST-x3-$RUN-BOOT2"
}

if ! xenvf_up $NVF; then
    e2e_fail xenvf-reboot-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
reboot_guest || dump_guest x3
stop_guest x3
check xenvf-reboot-vf-freed "after x3, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
