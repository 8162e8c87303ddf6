#!/bin/sh
# Scenario xenvf-numvfs-change: the map changes the NumVFs of a PF whose
# VFs exist and are bound to pciback (nvme1: 2 -> 1, through 0, all free).
# Found by this tier: xen-pciback marks every device it holds
# PCI_DEV_FLAGS_ASSIGNED, and the kernel refuses to disable SR-IOV while any
# VF is assigned (pci_sriov_configure_simple: EPERM), so the TCB unbinds the
# VFs before it writes NumVFs 0 (docs/xenvfd.md, "A NumVFs change").
# Last of the xenvf scenarios: it stops xenvfd afterwards.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-numvfs-change || exit 1

PF1=$(pf_list | sed -n 2p)

# the TCB applied the edit, or logged why it could not write NumVFs
settled_or_refused() {
    pf_settled nvme1 1 || tail -n "+$((_lines + 1))" "$(xenvfd_log tcb)" | grep -q 'sriov_numvfs'
}

change_count() {
    if ! xenvfd_running tcb || [ "$(xs_pf nvme1 numvfs)" != 2 ]; then
        e2e_fail xenvf-numvfs-change "needs xenvfd with nvme1 at 2 VFs (scenario xenvf-map first)"
        return 1
    fi
    _lines=$(wc -l <"$(xenvfd_log tcb)")
    _t0=$(now)
    xenvf set-numvfs nvme1 1 ||
        { e2e_fail xenvf-numvfs-change "xenvf set-numvfs nvme1 1 refused"; return 1; }
    wait_until 60 settled_or_refused
    if pf_settled nvme1 1; then
        e2e_time vf-count-change "$(since "$_t0")"
        check xenvf-numvfs-change "sysfs NumVFs of $PF1 is $(numvfs "$PF1"), not 1" \
            test "$(numvfs "$PF1")" = 1
        return 0
    fi
    _err=$(tail -n "+$((_lines + 1))" "$(xenvfd_log tcb)" | grep -m 1 'sriov_numvfs')
    tail -n "+$((_lines + 1))" "$(xenvfd_log tcb)"
    e2e_fail xenvf-numvfs-change "nvme1 not at 1 VF after the edit (NumVFs $(numvfs "$PF1")): ${_err:-no error logged}"
    e2e_fact "after the refused change: nvme1 NumVFs $(numvfs "$PF1"), autoprobe $(cat "$SYSPCI/$PF1/sriov_drivers_autoprobe"), xenvf list: $(xenvf_row nvme1)"
}

change_count
# leave the machine to the hand-made scenarios that follow
xenvfd_kill agent TERM
xenvfd_kill tcb TERM
