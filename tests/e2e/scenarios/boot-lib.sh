# shellcheck shell=sh
# Helpers of the boot-from-a-VF scenarios (87-xenvf-boot;
# issue 14 part 2, checks guest-boot-*), sourced after /e2e/lib.sh: the root
# file system image (mk-boot-rootfs) written onto the namespace the VF map
# gives nvme0's VF 0, and a guest that boots from its VFs.

NVF=3
IMG=/e2e/guest/bootroot.img
MARKER=$(cat /e2e/guest/bootroot.marker 2>/dev/null)

status_of() { xenstore-read "/local/domain/$1/xenvf/vf/$2/status" 2>/dev/null; }
# console_line NAME PATTERN: the number of the first console line matching
console_line() { grep -n -m 1 -E "$2" "$(guest_log "$1")" 2>/dev/null | cut -d: -f1; }

# boot_setup: the images are there, xenvfd runs with nvme0 at NVF VFs
boot_setup() {
    if [ ! -s "$IMG" ] || [ -z "$MARKER" ] || [ ! -s /e2e/guest/initrd-itr ]; then
        e2e_fail guest-boot-setup "no root file system image or initramfs-tools image in the share ($IMG, /e2e/guest/initrd-itr: make e2e-images)"
        return 1
    fi
    if ! xenvf_up $NVF; then
        e2e_fail guest-boot-setup "xenvfd did not bring nvme0 to $NVF ready VFs"
        xenvfd_tail 30
        return 1
    fi
}

# install_rootfs: the image onto namespace 2 through the PF: attached to
# the PF's own controller for the copy (QEMU's namespaces are shared), read
# back, detached again
install_rootfs() {
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
        return 1
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
}

# boot_guest NAME VF-LINE EXTRA [RAMDISK]: create it (no disk, no root=),
# wait for its root's init to speak; E2E TIME boot-from-vf-NAME
boot_guest() {
    _cfg=$(GUEST_EXTRA="boot=xenvf rootfstype=ext4 qhost.stay=1 $3" guest_cfg "$1" none "$2")
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
    if ! wait_until 300 guest_said "$1" "GUEST (ROOT|BOOT-VF no root)|xenvf-boot: NO ROOT"; then
        e2e_fail guest-boot-create "$1 said neither where its root is nor that it has none in 300 s"
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

