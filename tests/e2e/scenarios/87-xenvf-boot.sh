#!/bin/sh
# Scenario xenvf-boot (issue 14 part 2, checks guest-boot-*): a PV guest
# with no disk and no root= boots from its VF. dom0 writes a small root file
# system (mk-boot-rootfs: busybox, a marker) onto the namespace the VF map
# gives nvme0's VF 0 (namespace 2), through the PF: attached to the PF's
# own controller for the copy, detached again. Then:
#   1. vf = [ "pf=nvme0,index=0,boot=1" ] and boot=xenvf, with an
#      initramfs made by initramfs-tools with xenvf-guest's hook
#      (mk-itr-initramfs): its init sources scripts/xenvf, whose mountroot
#      (xenvf-boot) finds the root on VF 0's namespaces; its /sbin/init
#      says, as pid 1, that / is namespace 2 with the image's marker;
#   2. the tier's own guest image (guest-init runs the same xenvf-boot):
#      boot position 1 is VF 1, which sees only the shared namespace 1 (no
#      file system), position 2 is VF 0: the first is logged and reported
#      as not booted, the second boots (root chosen by its label);
#   3. the only boot VF has no root: one NO ROOT line, its status, a halt.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf guest-boot-setup plugin || exit 1

NVF=3
IMG=/e2e/guest/bootroot.img
MARKER=$(cat /e2e/guest/bootroot.marker 2>/dev/null)
ITR=/run/guest/initrd-itr

status_of() { xenstore-read "/local/domain/$1/xenvf/vf/$2/status" 2>/dev/null; }
# console_line NAME PATTERN: the number of the first console line matching
console_line() { grep -n -m 1 -E "$2" "$(guest_log "$1")" 2>/dev/null | cut -d: -f1; }

if [ ! -s "$IMG" ] || [ -z "$MARKER" ] || [ ! -s /e2e/guest/initrd-itr ]; then
    e2e_fail guest-boot-setup "no root file system image or initramfs-tools image in the share ($IMG, /e2e/guest/initrd-itr: make e2e-images)"
    exit 1
fi
dd if=/e2e/guest/initrd-itr of=$ITR bs=1M 2>/dev/null
if ! xenvf_up $NVF; then
    e2e_fail guest-boot-setup "xenvfd did not bring nvme0 to $NVF ready VFs"
    xenvfd_tail 30
    exit 1
fi

# ---- the root file system onto VF 0's namespace, through the PF ----------
PF0=$(pf_list | sed -n 1p)
C=$(pf_ctrl "$PF0")
CNTLID=$(nvme id-ctrl "/dev/$C" 2>/dev/null | awk -F: '$1 ~ /^cntlid/ { gsub(/ /, "", $2); print $2 }')
ns2_ctrls() {
    nvme list-ctrl "/dev/$C" --namespace-id=2 2>/dev/null |
        sed -n 's/^\[ *[0-9]*\]: *//p' | tr '\n' ' '
}
# pf_ns2: the block device of namespace 2 on the PF's own controller
# (its path nvmeXcYn2 under multipath, the disk nvmeXn2 either way)
pf_ns2() {
    for _p in /sys/class/nvme/"$C"/nvme*n*; do
        [ -e "$_p" ] || continue
        _n=${_p##*/}
        case $_n in *c*n*) _n=${_n%%c*}n${_n##*n} ;; esac
        [ "$(cat "/sys/block/$_n/nsid" 2>/dev/null)" = 2 ] && [ -b "/dev/$_n" ] &&
            echo "/dev/$_n" && return 0
    done
    return 1
}
before=$(ns2_ctrls)
e2e_fact "namespace 2 of nvme0 before the copy is attached to: ${before:-nothing}; the PF is controller $CNTLID"
_t0=$(now)
nvme attach-ns "/dev/$C" --namespace-id=2 --controllers="$CNTLID" >/tmp/boot-attach.log 2>&1
nvme ns-rescan "/dev/$C" >/dev/null 2>&1
if ! wait_until 30 pf_ns2; then
    e2e_fail guest-boot-rootfs-written "namespace 2 did not appear on the PF's controller $C after attach-ns ($(cat /tmp/boot-attach.log))"
    exit 1
fi
DEV=$(pf_ns2)
dd if="$IMG" of="$DEV" bs=1M oflag=direct conv=fsync 2>/tmp/boot-dd.log
_size=$(wc -c <"$IMG")
check guest-boot-rootfs-written "the image read back through the PF ($DEV) differs from $IMG" \
    sh -c "dd if=$DEV bs=1M count=$((_size / 1048576)) iflag=direct 2>/dev/null | cmp -s - $IMG"
nvme detach-ns "/dev/$C" --namespace-id=2 --controllers="$CNTLID" >/dev/null 2>&1
nvme ns-rescan "/dev/$C" >/dev/null 2>&1
check guest-boot-rootfs-pf-detached "namespace 2 is attached to '$(ns2_ctrls)' after the copy, not '$before' as before" \
    wait_until 20 sh -c "[ \"\$(nvme list-ctrl /dev/$C --namespace-id=2 2>/dev/null | sed -n 's/^\[ *[0-9]*\]: *//p' | tr '\n' ' ')\" = \"$before\" ]"
e2e_time boot-rootfs-copy "$(since "$_t0")"

# boot_guest NAME VF-LINE EXTRA [RAMDISK]: create it (no disk, no root=),
# wait for its root's init to speak; E2E TIME boot-from-vf-NAME
boot_guest() {
    _cfg=$(GUEST_EXTRA="boot=xenvf qhost.stay=1 $3" guest_cfg "$1" none "$2")
    if [ -n "${4:-}" ]; then
        # initramfs-tools' modprobe (kmod) takes nvme's short timeouts
        # from the kernel command line (polled completions, docs/e2e.md)
        sed -i "s|^ramdisk = .*|ramdisk = \"$4\"|; s|^extra = \"|extra = \"nvme_core.admin_timeout=$GUEST_NVME_TIMEOUT nvme_core.io_timeout=$GUEST_NVME_TIMEOUT |" "$_cfg"
    fi
    grep -E '^(ramdisk|extra|vf)' "$_cfg" | sed 's/^/  cfg: /'
    _t0=$(now)
    if ! xlv create "$_cfg" >"/tmp/$1.create.log" 2>&1; then
        e2e_fail guest-boot-create "xl create of $1 failed"
        cat "/tmp/$1.create.log"
        return 1
    fi
    if ! wait_until 240 guest_said "$1" "GUEST (ROOT|BOOT-VF no root)|xenvf-boot: NO ROOT"; then
        e2e_fail guest-boot-create "$1 said neither where its root is nor that it has none in 240 s"
        dump_guest "$1"
        return 1
    fi
    e2e_time "boot-from-vf-$1" "$(since "$_t0")"
    guest_lines "$1" ROOT | sed 's/^/  root: /'
    tr -d '\r' <"$(guest_log "$1")" | grep 'xenvf-boot:' | sed 's/^/  /'
}
# root_ok NAME: its init runs as pid 1 from namespace 2, ext4, the image's marker
root_ok() {
    _r=$(guest_lines "$1" ROOT)
    case $_r in
        *" type=ext4 "*" nsid=2 marker=$MARKER pid=1") return 0 ;;
    esac
    return 1
}

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

# ---- 2: boot position 1 has no root file system, position 2 boots ---------
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

# ---- 3: no boot VF has a root file system: one clear line, a halt ---------
# (on_poweroff preserve: the halted domain keeps its nodes for dom0 to read)
G=gboot3
_cfg=$(GUEST_EXTRA="boot=xenvf" guest_cfg $G none 'vf = [ "pf=nvme0,index=1,boot=1" ]')
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
