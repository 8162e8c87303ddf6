#!/bin/sh
# Scenario xenvf-boot (issue 14 part 2, checks guest-boot-*): PV guests with
# no disk and no root= that boot from their VFs. dom0 writes a small root
# file system (mk-boot-rootfs: busybox, a marker) onto the namespace the
# VF map gives nvme0's VF 0 (namespace 2), through the PF (boot-lib.sh).
#   1. the initramfs made by initramfs-tools with xenvf-guest's hook
#      (mk-itr-initramfs: its init sources scripts/xenvf, whose mountroot,
#      xenvf-boot, finds the root on the boot VFs' namespaces), a guest
#      with vf = [ "pf=nvme0,index=1,boot=1", "pf=nvme0,index=0,boot=2" ]
#      and boot=xenvf: boot position 1 is VF 1, which sees only the shared
#      namespace 1 (no file system): logged and reported as not booted;
#      position 2 is VF 0, which boots (root chosen by its label), and the
#      root's /sbin/init says, as pid 1, that / is namespace 2 with the
#      image's marker; the guest has no virtual disk;
#   2. the tier's own guest image (guest-init runs the same xenvf-boot):
#      the only boot VF has no root: one NO ROOT line, its status, a halt.
# (One scenario, one setup: xenvf-boot and xenvf-boot-order were two, each
# with the same setup and root copy; CI's 60-minute budget.)
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
# shellcheck source=boot-lib.sh
. /e2e/scenarios/boot-lib.sh
have_xenvf guest-boot-setup plugin || exit 1
ITR=/run/guest/initrd-itr
boot_setup || exit 1
dd if=/e2e/guest/initrd-itr of=$ITR bs=1M 2>/dev/null
install_rootfs || exit 1

# ---- 1: initramfs-tools; boot position 1 has no root, position 2 boots ---
G=gboot2
if boot_guest $G 'vf = [ "pf=nvme0,index=1,boot=1", "pf=nvme0,index=0,boot=2" ]' \
    "xenvf.root=LABEL=xenvf-root" $ITR; then
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
    _disks=$(xl block-list $G 2>/dev/null | tail -n +2 | grep -c .)
    check guest-boot-vf-no-disk "$G has $_disks virtual disk(s), not none" test "$_disks" = 0
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
