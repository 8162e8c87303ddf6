# shellcheck shell=sh
# Helpers of the HVM scenarios (97-hvm, 98-hvm-migrate; issue 13's checks
# hvm-*, issue 15's migrate-hvm-*), sourced after /e2e/lib.sh. QEMU's TCG
# emulates AMD SVM with nested paging, and Debian's Xen has no shadow
# paging, so an HVM guest needs both in the vCPU model (virt_caps says hvm
# and hap). The device model is Debian's qemu-system-xen in dom0, only in an
# image made with E2E_HVM=1.

DM=/usr/libexec/xen-qemu-system-i386

# hvm_setup CHECK-PREFIX: Xen offers HVM with HAP and dom0 has the device
# model (else a KNOWN line with the reason, never a pass: false); the guest
# bzImage copied where hvm_cfg boots it from
hvm_setup() {
    _caps=$(xl info | sed -n 's/^virt_caps *: *//p')
    e2e_fact "$1: virt_caps: $_caps; xen_caps: $(xl info | sed -n 's/^xen_caps *: *//p')"
    case " $_caps " in
    *" hvm "*" hap "*) ;;
    *)
        e2e_known "$1-caps" "Xen offers no HVM with HAP here (virt_caps: $_caps)"
        return 1
        ;;
    esac
    if [ ! -x "$DM" ]; then
        e2e_known "$1-guest" "no device model in dom0's image ($DM): make the images with E2E_HVM=1"
        return 1
    fi
    [ -s /run/guest/vmlinuz ] || dd if=/e2e/guest/vmlinuz of=/run/guest/vmlinuz bs=1M 2>/dev/null
}

# hvm_cfg NAME JOB [CFG-LINE...]: an HVM guest booting the guest image's
# bzImage directly (QEMU's -kernel through libxl), console on ttyS0 into
# the file guest_log reads; HVM_EXTRA: more of the kernel's command line.
# The file is opened for appending: a migration's receiving device model
# opens it while the sender's still writes, and a plain "file:" serial
# would truncate it.
hvm_cfg() {
    _name=$1 _job=$2; shift 2
    mkdir -p "$CONSOLE_DIR"
    rm -f "$(guest_log "$_name")"
    {
        echo "name = \"$_name\""
        echo 'type = "hvm"'
        echo 'kernel = "/run/guest/vmlinuz"'
        echo "ramdisk = \"$GUEST_RAMDISK\""
        echo "cmdline = \"console=ttyS0 loglevel=6 qhost.job=$_job e2e.nvme_timeout=$GUEST_NVME_TIMEOUT ${HVM_EXTRA:-}\""
        echo "device_model_args_hvm = [ \"-chardev\", \"file,id=gcon,append=on,path=$(guest_log "$_name")\" ]"
        echo 'serial = "chardev:gcon"'
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

# hvm_evidence PREFIX NAME: where it stopped, as facts (docs/e2e.md keeps
# them)
hvm_evidence() {
    xl list "$2" 2>&1 | sed -n 2p | sed "s/^/E2E FACT $1: xl list: /"
    tr -d '\r' <"$(guest_log "$2")" 2>/dev/null |
        grep -E 'Oops|panic|RIP:|invalid opcode|general protection|Call Trace|^GUEST' | head -n 8 |
        sed "s/^/E2E FACT $1: console: /"
    tr -d '\r' <"$(guest_log "$2")" 2>/dev/null | tail -n 8 | sed "s/^/E2E FACT $1: console: /"
    tail -n 8 "/var/log/xen/qemu-dm-$2.log" 2>/dev/null | sed "s/^/E2E FACT $1: qemu-dm: /"
    xl dmesg | tail -n 12 | sed "s/^/E2E FACT $1: xen: /"
}
