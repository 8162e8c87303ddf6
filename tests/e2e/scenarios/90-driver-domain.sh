#!/bin/sh
# Scenario driver-domain: design.md section 6. Linux's pciback has no
# sriov_configure, so NumVFs cannot change while pciback holds the PF. Does
# "enable the VFs in dom0 first, then hand the PF to a driver domain" work,
# and what becomes of the VFs? Steps, each observed and reported (E2E FACT):
#   1. VFs enabled in dom0 on the last PF, one VF made assignable;
#   2. the PF unbound from dom0's nvme driver (the kernel warns and leaves
#      SR-IOV enabled), its reset methods disabled (sysfs reset_method ""):
#      pciback resets a device it seizes, and a PF's FLR clears VF Enable,
#      which took the VFs away in an earlier version of this scenario;
#      then bound to pciback (xl pci-assignable-add);
#   3. a driver domain created with the PF: does it see it, its SR-IOV
#      capability, run nvme on it, bring the secondary controllers online
#      again (the PF agent's work: the PF controller's reset took them
#      offline), and is it refused a NumVFs change?
#   4. meanwhile a guest with a VF of that PF: does its I/O work?
#   5. the PF back to dom0.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

PF=$(pf_list | tail -n 1)
[ -n "$PF" ] || { e2e_fail dd-setup "no SR-IOV PF"; exit 1; }
RUN=$(date +%s)

# vendor BDF: the vendor ID its config space answers (ffff: nobody there)
vendor() { od -An -tx2 -N2 "$SYSPCI/$1/config" | tr -d ' '; }

# 1. VFs first, while dom0's nvme driver owns the PF.
prepare_vfs() {
    [ "$(numvfs "$PF")" -gt 0 ] || enable_vfs "$PF" 2 || return 1
    VF=$(vf_bdf "$PF" 0) VF1=$(vf_bdf "$PF" 1)
    xl pci-assignable-list | grep -q "$VF" || xl pci-assignable-add "$VF"
    put_token "$(pf_ns "$PF")" 1 "DOM0-DD-$RUN"
    info "$PF numvfs $(numvfs "$PF"); VFs $VF $VF1"
    e2e_fact "VF $VF config space vendor ID while dom0's nvme owns the PF (a working VF): $(vendor "$VF")"
}

# 2. The PF leaves dom0's driver and goes to pciback, VFs still enabled.
release_pf() {
    dmesg -c >/dev/null
    echo "$PF" >/sys/bus/pci/drivers/nvme/unbind
    _warn=$(dmesg | grep -i 'SR-IOV' | head -n 1)
    e2e_fact "unbinding the PF from nvme with VFs enabled: '${_warn#*] }'; numvfs stays $(numvfs "$PF"); VF vendor ID $(vendor "$VF")"
    RESET_METHODS=$(cat "$SYSPCI/$PF/reset_method" 2>/dev/null)
    echo "" >"$SYSPCI/$PF/reset_method" || return 1
    e2e_fact "PF reset methods were '$RESET_METHODS', now '$(cat "$SYSPCI/$PF/reset_method")'"
    _t0=$(now)
    xl pci-assignable-add "$PF" || return 1
    e2e_time pf-assignable-add "$(since "$_t0")"
    e2e_fact "PF bound to pciback: numvfs in dom0 $(numvfs "$PF"); VF vendor ID now $(vendor "$VF"); PF $(lspci -vvv -s "$PF" | grep -oE 'IOVCtl: Enable[+-]' | head -n 1)"
    dmesg | grep -iE 'pciback|reset|iov|flr' | head -n 10
}

# 3. The driver domain.
start_driver_domain() {
    _cfg=$(GUEST_EXTRA="qhost.stay=1" guest_cfg dd driver "pci = [ \"$PF\" ]")
    _t0=$(now)
    xl create "$_cfg" || { e2e_fail dd-create "xl create of the driver domain failed"; return 1; }
    e2e_time dd-create "$(since "$_t0")"
    if ! wait_until 240 guest_said dd '^GUEST READY'; then
        e2e_fail dd-ready "driver domain did not report"; dump_guest dd; return 1
    fi
    e2e_time dd-ready "$(since "$_t0")"
    guest_lines dd PF
    guest_lines dd SRIOVCAP | head -n 4
    guest_lines dd SECONDARY | head -n 6
    guest_lines dd NUMVFS-WRITE
    guest_lines dd DMESG | grep -iE 'iov|sriov' | head -n 8
    check dd-sees-pf "driver domain does not see the PF" guest_said dd "^GUEST PF .*class=0x010802"
    check dd-nvme-on-pf "driver domain's nvme driver did not bring up the PF" \
        guest_said dd "^GUEST NVME .*nvme0n1"
    check dd-numvfs-refused "the driver domain changed NumVFs" \
        guest_said dd "^GUEST NUMVFS-WRITE .* refused"
    e2e_fact "driver domain sees the PF as: $(guest_lines dd PF | head -n 1)"
    e2e_fact "driver domain NumVFs write: $(guest_lines dd NUMVFS-WRITE | head -n 1)"
    e2e_fact "driver domain secondary controllers: $(guest_lines dd SECONDARY | tr '\n' ' ' | cut -c1-200)"
}

# 4. A guest using a VF while the PF is in the driver domain. (A VF's
# Vendor ID register may read ffff by the SR-IOV spec, so only I/O tells.)
vf_guest() {
    # the handover re-creates the VF's Linux device (Xen logs "PCI remove
    # device" then "PCI add virtual function"): it is pciback's again only
    # if someone makes it assignable
    e2e_fact "VF $VF after the handover: driver '$(basename "$(readlink "$SYSPCI/$VF/driver" 2>/dev/null)")'; Xen: $(xl dmesg | grep -E "PCI (add virtual function|remove device) $VF" | tail -n 2 | sed 's/.*\] //' | tr '\n' ';')"
    [ "$(basename "$(readlink "$SYSPCI/$VF/driver" 2>/dev/null)")" = pciback ] ||
        xl pci-assignable-add "$VF"
    check dd-secondary-online "the driver domain did not bring VF 1's secondary controller online" \
        guest_said dd "^GUEST ONLINE 1 ok" || return 1
    _cfg=$(GUEST_EXTRA="e2e.token=GUEST-vg-$RUN e2e.token_mib=4" guest_cfg vg nvme-io "pci = [ \"$VF\" ]")
    xl create "$_cfg" || { e2e_fail dd-vf-guest "xl create of the VF guest failed"; return 1; }
    wait_until 240 guest_gone vg
    stop_guest vg
    guest_lines vg READ
    _r=$(guest_lines vg READ | grep -c "token=DOM0-DD-$RUN")
    e2e_fact "guest I/O on a VF while its PF is in a driver domain: $(guest_lines vg READ | tr '\n' ' ')"
    check dd-vf-io "guest could not read through the VF while the PF is in the driver domain" test "$_r" -ge 1
}

# 5. Back to dom0.
restore_pf() {
    stop_guest dd
    wait_until 30 guest_gone dd
    xl pci-assignable-remove -r "$PF"
    echo default >"$SYSPCI/$PF/reset_method"
    [ -e "$SYSPCI/$PF/driver" ] || echo "$PF" >/sys/bus/pci/drivers/nvme/bind
    wait_until 60 test -n "$(pf_ctrl "$PF")"
    e2e_fact "PF back in dom0: driver $(basename "$(readlink "$SYSPCI/$PF/driver")"), numvfs $(numvfs "$PF")"
}

prepare_vfs || { e2e_fail dd-vfs "could not prepare VFs on $PF"; exit 1; }
release_pf || { e2e_fail dd-pf-pciback "could not give the PF to pciback"; exit 1; }
if start_driver_domain; then
    vf_guest
fi
dump_guest dd
restore_pf
