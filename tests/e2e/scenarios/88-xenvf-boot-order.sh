#!/bin/sh
# Scenario xenvf-boot-order (issue 14 part 2, checks guest-boot-*), with the
# tier's own guest image (guest-init runs the same xenvf-boot as
# initramfs-tools' scripts/xenvf, scenario xenvf-boot) and the root file
# system on nvme0's VF 0's namespace (boot-lib.sh):
#   1. boot position 1 is VF 1, which sees only the shared namespace 1 (no
#      file system), position 2 is VF 0: the first is logged and reported
#      as not booted, the second boots (root chosen by its label);
#   2. the only boot VF has no root: one NO ROOT line, its status, a halt.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
# shellcheck source=boot-lib.sh
. /e2e/scenarios/boot-lib.sh
have_xenvf guest-boot-setup plugin || exit 1
boot_setup || exit 1
install_rootfs || exit 1

# ---- 1: boot position 1 has no root file system, position 2 boots ---------
G=gboot2
if boot_guest $G 'vf = [ "pf=nvme0,index=1,boot=1", "pf=nvme0,index=0,boot=2" ]' \
    "xenvf.root=LABEL=xenvf-root"; then
    D=$(xl domid $G)
    check guest-boot-second "$G's / is '$(guest_lines $G ROOT)', not namespace 2 (ext4) with marker $MARKER as pid 1's" \
        root_ok $G
    e2e_fact "$G vf[0] (boot=1) status: $(status_of "$D" 0)"
    e2e_fact "$G vf[1] (boot=2) status: $(status_of "$D" 1)"
    check guest-boot-first-skipped "vf[0] (boot=1, VF 1) status is '$(status_of "$D" 0)', not 'boot: not booted ... no root file system'" \
        sh -c "xenstore-read /local/domain/$D/xenvf/vf/0/status | grep -q '^boot: not booted.*no root file system'"
    check guest-boot-second-status "vf[1] (boot=2, VF 0) status is '$(status_of "$D" 1)', not 'boot: / is ...'" \
        sh -c "xenstore-read /local/domain/$D/xenvf/vf/1/status | grep -q '^boot: / is /dev/nvme'"
    _l1=$(console_line $G 'xenvf-boot: vf\[0\]: boot: not booted')
    _l2=$(console_line $G 'xenvf-boot: vf\[1\]: boot: / is')
    check guest-boot-order "the console does not show boot position 1 tried (line ${_l1:-none}) before position 2 booted (line ${_l2:-none})" \
        test "${_l1:-0}" -gt 0 -a "${_l2:-0}" -gt "${_l1:-0}"
    [ "$(guest_lines $G ROOT)" ] || dump_guest $G
fi
stop_guest $G
check guest-boot-second-freed "after $G, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF

# ---- 2: no boot VF has a root file system: one clear line, a halt ---------
# (on_poweroff preserve: the halted domain keeps its nodes for dom0 to read)
G=gboot3
_cfg=$(GUEST_EXTRA="boot=xenvf rootfstype=ext4" guest_cfg $G none 'vf = [ "pf=nvme0,index=1,boot=1" ]')
sed -i 's/^on_poweroff = .*/on_poweroff = "preserve"/' "$_cfg"
_t0=$(now)
if xlv create "$_cfg" >/tmp/$G.create.log 2>&1; then
    check guest-boot-none-halts "$G neither said NO ROOT nor halted in 240 s (state '$(xl_state $G)')" \
        wait_until 240 sh -c "xl list $G 2>/dev/null | awk 'NR == 2 { exit \$5 !~ /s/ }'"
    e2e_time boot-from-vf-none "$(since "$_t0")"
    D=$(xl domid $G)
    _line=$(tr -d '\r' <"$(guest_log $G)" | grep 'xenvf-boot: NO ROOT' | head -n 1)
    e2e_fact "$G: $_line"
    check guest-boot-none-message "$G's console has no 'xenvf-boot: NO ROOT' line naming vf[0]" \
        sh -c "tr -d '\r' <$(guest_log $G) | grep -q 'xenvf-boot: NO ROOT: no boot VF has a root file system.*vf\[0\] boot=1: no root file system'"
    check guest-boot-none-status "vf[0] status is '$(status_of "$D" 0)', not 'boot: not booted ...'" \
        sh -c "xenstore-read /local/domain/$D/xenvf/vf/0/status | grep -q '^boot: not booted.*no root file system'"
    [ -n "$_line" ] || dump_guest $G
else
    e2e_fail guest-boot-create "xl create of $G failed"
    cat /tmp/$G.create.log
fi
stop_guest $G
check guest-boot-none-freed "after $G, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
