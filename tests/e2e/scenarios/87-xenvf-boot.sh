#!/bin/sh
# Scenario xenvf-boot (issue 14 part 2, checks guest-boot-*): a PV guest
# with no disk and no root= boots from its VF. dom0 writes a small root file
# system (mk-boot-rootfs: busybox, a marker) onto the namespace the VF map
# gives nvme0's VF 0 (namespace 2), through the PF (boot-lib.sh). Then a
# guest with only vf = [ "pf=nvme0,index=0,boot=1" ] and boot=xenvf, with
# an initramfs made by initramfs-tools with xenvf-guest's hook
# (mk-itr-initramfs): its init sources scripts/xenvf, whose mountroot
# (xenvf-boot) finds the root on VF 0's namespaces; its /sbin/init says,
# as pid 1, that / is namespace 2 with the image's marker.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
# shellcheck source=boot-lib.sh
. /e2e/scenarios/boot-lib.sh
have_xenvf guest-boot-setup plugin || exit 1
ITR=/run/guest/initrd-itr
boot_setup || exit 1
dd if=/e2e/guest/initrd-itr of=$ITR bs=1M 2>/dev/null
install_rootfs || exit 1

# ---- 1: one boot VF ------------------------------------------------------
G=gboot1
if boot_guest $G 'vf = [ "pf=nvme0,index=0,boot=1" ]' "" $ITR; then
    D=$(xl domid $G)
    check guest-boot-vf "$G's / is '$(guest_lines $G ROOT)', not namespace 2 (ext4) with marker $MARKER as pid 1's" \
        root_ok $G
    e2e_fact "$G vf[0] status: $(status_of "$D" 0)"
    check guest-boot-vf-status "vf[0] status is '$(status_of "$D" 0)', not 'boot: / is ...'" \
        sh -c "xenstore-read /local/domain/$D/xenvf/vf/0/status | grep -q '^boot: / is /dev/nvme'"
    _disks=$(xl block-list $G 2>/dev/null | tail -n +2 | grep -c .)
    check guest-boot-vf-no-disk "$G has $_disks virtual disk(s), not none" test "$_disks" = 0
    [ "$(guest_lines $G ROOT)" ] || dump_guest $G
fi
stop_guest $G
check guest-boot-vf-freed "after $G, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF

