#!/bin/sh
# Scenario hvm (issue 13, checks hvm-*): does a Xen HVM guest run in the
# tier? QEMU's TCG emulates AMD SVM with nested paging, and Debian's Xen has
# no shadow paging, so an HVM guest needs both in the vCPU model (virt_caps
# says hvm and hap). The device model is Debian's qemu-system-xen in dom0
# (only in an image made with E2E_HVM=1: make e2e E2E_PLATFORM=trixie
# E2E_HVM=1 E2E_SCENARIOS="boot xenvf-gate hvm"). First an HVM guest with
# no device (direct kernel boot of the guest bzImage, its console on the
# emulated serial port, written to a file), then one with a VF of nvme0
# through vf= and the gate, doing I/O on it. What it cannot do is a KNOWN
# line with the reason, never a pass.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

DM=/usr/libexec/xen-qemu-system-i386
caps=$(xl info | sed -n 's/^virt_caps *: *//p')
e2e_fact "hvm: virt_caps: $caps; xen_caps: $(xl info | sed -n 's/^xen_caps *: *//p')"
case " $caps " in
*" hvm "*" hap "*) ;;
*)
    e2e_known hvm-caps "Xen offers no HVM with HAP here (virt_caps: $caps)"
    exit 0
    ;;
esac
if [ ! -x "$DM" ]; then
    e2e_known hvm-guest "no device model in dom0's image ($DM): make the images with E2E_HVM=1"
    exit 0
fi
dd if=/e2e/guest/vmlinuz of=/run/guest/vmlinuz bs=1M 2>/dev/null

# hvm_cfg NAME JOB [CFG-LINE...]: an HVM guest booting the guest image's
# bzImage directly (QEMU's -kernel through libxl), console on ttyS0 into
# the file guest_log reads
hvm_cfg() {
    _name=$1 _job=$2; shift 2
    mkdir -p "$CONSOLE_DIR"
    {
        echo "name = \"$_name\""
        echo 'type = "hvm"'
        echo 'kernel = "/run/guest/vmlinuz"'
        echo "ramdisk = \"$GUEST_RAMDISK\""
        echo "cmdline = \"console=ttyS0 loglevel=6 qhost.job=$_job e2e.nvme_timeout=$GUEST_NVME_TIMEOUT ${HVM_EXTRA:-}\""
        echo "serial = \"file:$(guest_log "$_name")\""
        echo 'vga = "none"'
        echo 'vnc = 0'
        echo 'sdl = 0'
        echo 'memory = 256'
        echo 'vcpus = 1'
        # QEMU's TCG reports a guest's RDTSCP as an RDTSC intercept
        # (helper_rdtscp calls helper_rdtsc's SVM check) and has no NRIP
        # save: with Xen's default TSC mode (RDTSC intercepted here) Xen
        # finds 0f 01 f9 where it expects 0f 31 ("Insn mismatch: Expected
        # opcode 0xf0031"), the kernel crashes and the domain reboots in a
        # loop (docs/e2e.md). native: Xen intercepts neither.
        echo 'tsc_mode = "native"'
        echo 'on_poweroff = "destroy"'
        echo 'on_reboot = "destroy"'
        echo 'on_crash = "preserve"'
        for _l in "$@"; do echo "$_l"; done
    } >"/tmp/$_name.cfg"
    echo "/tmp/$_name.cfg"
}

# said_or_gone NAME PATTERN: the guest said it, or it is gone (a guest that
# crashed is destroyed by on_reboot: no point waiting for it)
said_or_gone() { guest_said "$1" "$2" || guest_gone "$1"; }

# evidence NAME: where it stopped, as facts (docs/e2e.md keeps them)
evidence() {
    xl list "$1" 2>&1 | sed -n 2p | sed 's/^/E2E FACT hvm: xl list: /'
    tr -d '\r' <"$(guest_log "$1")" 2>/dev/null |
        grep -E 'Oops|panic|RIP:|invalid opcode|general protection|Call Trace|^GUEST' | head -n 8 |
        sed 's/^/E2E FACT hvm: console: /'
    tr -d '\r' <"$(guest_log "$1")" 2>/dev/null | tail -n 8 | sed 's/^/E2E FACT hvm: console: /'
    tail -n 8 "/var/log/xen/qemu-dm-$1.log" 2>/dev/null | sed 's/^/E2E FACT hvm: qemu-dm: /'
    xl dmesg | tail -n 12 | sed 's/^/E2E FACT hvm: xen: /'
}

G=h1
cfg=$(hvm_cfg $G "")
_t0=$(now)
if ! xl create "$cfg" >/tmp/$G.create.log 2>&1; then
    e2e_fail hvm-create "xl create of an HVM guest failed"
    sed 's/^/E2E FACT hvm: xl: /' /tmp/$G.create.log | tail -n 15
    evidence $G
    exit 1
fi
e2e_time xl-create-hvm "$(since "$_t0")"
e2e_pass hvm-create
wait_until 300 said_or_gone $G "^GUEST UP"
if ! check hvm-boot "the HVM guest's init did not start within 300 s" \
    guest_said $G "^GUEST UP"; then
    evidence $G
    stop_guest $G
    exit 1
fi
e2e_time hvm-guest-up "$(since "$_t0")"
guest_lines $G UP
wait_until 120 guest_gone $G || stop_guest $G

have_xenvf hvm-vf plugin || exit 1
# 3 VFs on nvme0 as the other xenvf scenarios leave it, so hvm may follow
# them (after xenvf-gate) or run alone
NVF=3
if ! xenvf_up $NVF; then
    e2e_fail hvm-vf-setup "xenvfd did not bring nvme0 to $NVF ready VFs"
    xenvfd_tail 30
    exit 1
fi
G=h2 RUN=$(date +%s) PF0=$(pf_list | sed -n 1p)
# dom0 writes a token through the PF at 1 MiB of the shared namespace, the
# guest reads it through its VF and writes its own at 4 MiB, read back here
put_token "$(pf_ns "$PF0")" 1 "DOM0-HVM-$RUN"
cfg=$(HVM_EXTRA="e2e.token=GUEST-$G-$RUN e2e.token_mib=4" hvm_cfg $G nvme-io 'vf = [ "pf=nvme0" ]')
_t0=$(now)
if ! xlv create "$cfg" >/tmp/$G.create.log 2>&1; then
    e2e_fail hvm-vf-create "xl create of an HVM guest with vf= failed"
    sed 's/^/E2E FACT hvm: xl: /' /tmp/$G.create.log | tail -n 15
    evidence $G
    exit 1
fi
e2e_time xl-create-hvm-vf "$(since "$_t0")"
e2e_pass hvm-vf-create
wait_until 300 said_or_gone $G "^GUEST (WROTE|DONE)"
_read=$(since "$_t0")
wait_until 120 guest_gone $G
stop_guest $G
guest_lines $G READ
guest_lines $G WROTE
_back=$(get_token "$(pf_ns "$PF0")" 4)
_ok=0
guest_said $G "^GUEST READ .* sector0=QHOST-PF0-NS1" &&
    guest_said $G "^GUEST READ .* token=DOM0-HVM-$RUN" &&
    case $_back in "GUEST-$G-$RUN-"*) true ;; *) false ;; esac && _ok=1
if check hvm-vf-io "the HVM guest did not read and write nvme0's namespace through its VF (read back '$_back')" \
    test $_ok = 1; then
    e2e_time hvm-vf-create-to-io "$_read"
    e2e_fact "hvm: the guest's MSI-X: $(guest_lines $G MSIX | head -n 1)"
else
    evidence $G
fi
check hvm-vf-freed "after the HVM guest, nvme0 is '$(xenvf_row nvme0)', not its VF free" \
    wait_until 60 pf_all_free nvme0 $NVF
