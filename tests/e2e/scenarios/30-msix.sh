#!/bin/sh
# Scenario msix: the evidence for why a 6.1 PV guest's NVMe driver cannot
# use MSI-X on a passed-through VF (docs/e2e.md has the code walk). With
# pciback's dynamic debug on (function names), one guest boots the nvme
# driver on a VF; the scenario checks the chain of events:
#   guest: enable MSI-X (1 vector)           -> dom0: xen_pcibk_enable_msix ok
#   guest: pci_free_irq_vectors()            -> dom0: xen_pcibk_disable_msi (!)
#          (the guest asks to disable MSI, not MSI-X: msix_enabled is
#           already 0 when arch/x86/pci/xen.c picks the operation)
#   guest: enable MSI-X (N vectors)          -> dom0: -EALREADY (its pci_dev
#          still has msix_enabled: no disable_msix came), no MSI-X[n] reply
#   guest: "Xen PCI frontend error: -114", nvme falls back to polling.
# Then the same with the toolstack's knobs (permissive=1, msitranslate=1),
# which cannot help: the wrong operation is chosen inside the guest kernel.
# The checks assert the bug as it is: if a kernel fixes it, they fail and
# docs/e2e.md must be updated.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

PF=$(pf_list | head -n 1)
[ "$(numvfs "$PF")" -gt 0 ] || enable_vfs "$PF" 2 ||
    { e2e_fail msix-setup "could not enable VFs on $PF"; exit 1; }
VF=$(vf_bdf "$PF" 0)
xl pci-assignable-list | grep -q "$VF" || xl pci-assignable-add "$VF"
echo 'module xen_pciback +pf' >/sys/kernel/debug/dynamic_debug/control

# run_guest NAME PCI-SPEC: boot a guest on the VF until its nvme driver has
# settled; prints dom0's pciback log lines of that boot.
run_guest() {
    dmesg -c >/dev/null
    _cfg=$(GUEST_EXTRA="qhost.stay=1" guest_cfg "$1" nvme-io "pci = [ \"$2\" ]")
    xl create "$_cfg" >/dev/null || return 1
    wait_until 240 guest_said "$1" '^GUEST DONE'
    DOM0_VIEW=$(lspci -vv -s "$VF" | grep 'MSI-X:' | tr -s ' \t' '  ')
    GUEST_VIEW=$(guest_lines "$1" MSIX | head -n 1)
    stop_guest "$1"
    wait_until 30 guest_gone "$1"
    dmesg | grep -E 'xen_pcibk_(en|dis)able_msi' |
        sed 's/^\[[^]]*\] //' | tee "/tmp/$1.ops"
}

# ops NAME: the pciback operations, in order, as one line: the function
# (the request the guest made) and, for enable_msix, its MSI-X[n] replies
ops() {
    sed -n 's/.*MSI-X\[\([0-9]*\)\]: \([0-9-]*\).*/+MSI-X[\1]=\2/p
            s/^\(xen_pcibk_[a-z_]*\):.*/\1/p' "/tmp/$1.ops" |
        sed 's/xen_pcibk_//' | tr '\n' ' '
}

check_chain() {
    _g=$1
    _ops=$(ops "$_g")
    e2e_fact "$_g: pciback operations seen in dom0: $_ops"
    e2e_fact "$_g: VF MSI-X register seen by dom0 while the guest runs: $DOM0_VIEW; by the guest: $GUEST_VIEW"
    e2e_fact "$_g: guest says: $(guest_lines "$_g" DMESG | grep -E '114|enable msix|physical IRQ' | head -n 3 | sed 's/^\[[^]]*\] //' | tr '\n' ';')"
    # granted, torn down with the MSI operation, refused (no MSI-X[n] reply)
    case $_ops in
        *"enable_msix +MSI-X[0]="*" disable_msi enable_msix disable_msix"*) _seq=1 ;;
        *) _seq=0 ;;
    esac
    check "msix-$_g-wrong-disable-op" "expected enable_msix +MSI-X[0] disable_msi enable_msix; saw: $_ops" test $_seq = 1
    check "msix-$_g-ealready" "guest did not report -114" guest_said "$_g" 'Xen PCI frontend error: -114'
    check "msix-$_g-polled-io" "guest I/O did not complete polled" guest_said "$_g" '^GUEST READ .*sector0=QHOST-PF0-NS1'
}

run_guest mx "$VF" && check_chain mx
run_guest mxp "$VF,permissive=1,msitranslate=1" && check_chain mxp
dump_guest mx
