# shellcheck shell=sh
# Helpers for end-to-end scenarios; sourced inside dom0 (busybox sh) by
# /e2e/run before each scenario. Results are lines on stdout:
#   E2E PASS name
#   E2E FAIL name: why
#   E2E TIME stage seconds
#   E2E FACT text            (a finding worth keeping in docs/e2e.md)
# which /e2e/run copies to the console and to /e2e/results/e2e.txt.

E2E=${E2E:-/e2e}
# /e2e/run copies the guest image from the share to tmpfs once
GUEST_KERNEL=/run/guest/vmlinux
GUEST_RAMDISK=/run/guest/initrd
CONSOLE_DIR=/var/log/xen/console
# polled completions need short NVMe timeouts in the guests (docs/e2e.md)
GUEST_NVME_TIMEOUT=${GUEST_NVME_TIMEOUT:-1}

e2e_pass() { echo "E2E PASS $1"; }
e2e_fail() { _n=$1; shift; echo "E2E FAIL $_n: $*"; }
e2e_time() { echo "E2E TIME $1 $2"; }
e2e_fact() { echo "E2E FACT $*"; }
info() { echo "  $*"; }

# check NAME WHY CMD...: PASS if CMD succeeds, else FAIL with WHY.
check() {
    _n=$1 _w=$2; shift 2
    if "$@"; then e2e_pass "$_n"; else e2e_fail "$_n" "$_w"; return 1; fi
}

now() { cut -d' ' -f1 /proc/uptime; }
# since T0: seconds elapsed since an earlier $(now), two decimals.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# wait_until SECONDS CMD...: poll CMD every 0.2 s; false once SECONDS of
# uptime have passed (wall time: under a loaded TCG each poll is slow).
wait_until() {
    _end=$(awk -v s="$1" -v n="$(now)" 'BEGIN { print n + s }'); shift
    until "$@" >/dev/null 2>&1; do
        awk -v e="$_end" -v n="$(now)" 'BEGIN { exit !(n < e) }' || return 1
        sleep 0.2
    done
}

# ---- guests ----------------------------------------------------------------

# guest_cfg NAME JOB [CFG-LINE...]: a PV guest config in /tmp/NAME.cfg that
# boots the test guest image and runs guest job JOB (tests/e2e/guest/).
guest_cfg() {
    _name=$1 _job=$2; shift 2
    {
        echo "name = \"$_name\""
        echo 'type = "pv"'
        echo "kernel = \"$GUEST_KERNEL\""
        echo "ramdisk = \"$GUEST_RAMDISK\""
        echo "extra = \"console=hvc0 loglevel=6 qhost.job=$_job e2e.nvme_timeout=$GUEST_NVME_TIMEOUT ${GUEST_EXTRA:-}\""
        echo 'memory = 256'
        echo 'vcpus = 1'
        echo 'on_poweroff = "destroy"'
        echo 'on_crash = "destroy"'
        for _l in "$@"; do echo "$_l"; done
    } >"/tmp/$_name.cfg"
    echo "/tmp/$_name.cfg"
}

guest_log() { echo "$CONSOLE_DIR/guest-$1.log"; }
guest_exists() { xl domid "$1" >/dev/null 2>&1; }
guest_gone() { ! guest_exists "$1"; }
# guest_said NAME PATTERN: the guest's console has a line matching PATTERN.
guest_said() { grep -qE "$2" "$(guest_log "$1")" 2>/dev/null; }
# guest_lines NAME PREFIX: its "GUEST PREFIX ..." lines, prefix removed.
guest_lines() {
    sed -n "s/^GUEST $2 //p" "$(guest_log "$1")" 2>/dev/null | tr -d '\r'
}

# stop_guest NAME: destroy if still there; never fails.
stop_guest() { ! guest_exists "$1" || xl destroy "$1" >/dev/null 2>&1 || true; }

# dump_guest NAME: its console, for the scenario's log on failure.
dump_guest() {
    echo "---- console of guest $1"
    tr -d '\r' <"$(guest_log "$1")" 2>/dev/null | tail -n 60
}

# ---- SR-IOV NVMe (QEMU's emulated controllers) -------------------------------

SYSPCI=/sys/bus/pci/devices

# pf_list: BDFs of the SR-IOV capable NVMe PFs, in bus order.
pf_list() {
    for _d in "$SYSPCI"/*; do
        [ -e "$_d/sriov_totalvfs" ] || continue
        [ "$(cat "$_d/class")" = 0x010802 ] && echo "${_d##*/}"
    done | sort
}

# pf_ctrl PF: the nvme character device name of PF's controller (nvme0).
pf_ctrl() {
    for _c in "$SYSPCI/$1"/nvme/nvme*; do
        [ -e "$_c" ] && echo "${_c##*/}" && return 0
    done
    return 1
}
# pf_ns PF: its first namespace block device (/dev/nvme0n1).
pf_ns() { _c=$(pf_ctrl "$1") && [ -n "$_c" ] && echo "/dev/${_c}n1"; }
# vf_bdf PF INDEX: BDF of the PF's VF INDEX (0-based).
vf_bdf() { _l=$(readlink "$SYSPCI/$1/virtfn$2") && echo "${_l##*/}"; }
numvfs() { cat "$SYSPCI/$1/sriov_numvfs"; }

# online_secondary CTRL CNTLID VQ VI: give the secondary controller CNTLID
# (VF n has cntlid n here) flexible queue (VQ) and interrupt (VI) resources
# and bring it online: NVMe virtualization management (act 7 offline, 8
# assign, 9 online; rt 0 VQ, 1 VI). This is the PF driver's work that the
# PF agent will own.
online_secondary() {
    nvme virt-mgmt "/dev/$1" -c "$2" -a 7 >/dev/null &&
        nvme virt-mgmt "/dev/$1" -c "$2" -r 1 -a 8 -n "$4" >/dev/null &&
        nvme virt-mgmt "/dev/$1" -c "$2" -r 0 -a 8 -n "$3" >/dev/null &&
        nvme virt-mgmt "/dev/$1" -c "$2" -r 0 -a 9 -n 0 >/dev/null
}

# secondary_online CTRL CNTLID: list-secondary reports it online.
secondary_online() {
    nvme list-secondary "/dev/$1" 2>/dev/null |
        awk -v id="$(printf '0x%04x' "$2")" '
            /Secondary Controller Identifier/ { cur = $NF }
            /Secondary Controller State/ && cur == id { print $NF }' |
        grep -q '(Online)'
}

# enable_vfs PF N: N VFs with their secondary controllers online, bindable.
# While sriov_drivers_autoprobe is 0 the kernel refuses every bind of a VF
# with ENODEV (pciback too), so it goes back to 1 once resources are set;
# with 0 during creation, dom0's nvme driver does not probe a VF whose
# controller is still offline.
enable_vfs() {
    _pf=$1 _n=$2 _c=$(pf_ctrl "$1")
    [ -n "$_c" ] || { info "$_pf has no nvme controller in dom0"; return 1; }
    echo 0 >"$SYSPCI/$_pf/sriov_drivers_autoprobe"
    echo "$_n" >"$SYSPCI/$_pf/sriov_numvfs" || return 1
    _i=1
    while [ $_i -le "$_n" ]; do
        online_secondary "$_c" $_i 2 1 || { info "virt-mgmt on $_c cntlid $_i failed"; return 1; }
        _i=$((_i + 1))
    done
    echo 1 >"$SYSPCI/$_pf/sriov_drivers_autoprobe"
}

# disable_vfs PF: NumVFs back to 0.
disable_vfs() { echo 0 >"$SYSPCI/$1/sriov_numvfs"; }

# ---- O_DIRECT block I/O (busybox dd) -----------------------------------------

# put_token DEV MIB TOKEN: TOKEN at MIB MiB of DEV, bypassing the page cache.
put_token() {
    { printf '%s\n' "$3"; dd if=/dev/zero bs=4096 count=1 2>/dev/null; } |
        dd of="$1" bs=4096 count=1 seek=$(($2 * 256)) iflag=fullblock \
            oflag=direct conv=notrunc 2>/dev/null
}
# get_token DEV MIB: the first line at MIB MiB of DEV, read with O_DIRECT.
get_token() {
    dd if="$1" bs=4096 count=1 skip=$(($2 * 256)) iflag=direct 2>/dev/null |
        head -n 1 | tr -cd 'A-Za-z0-9._-'
}
