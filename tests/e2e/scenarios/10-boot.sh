#!/bin/sh
# Scenario boot: Xen and dom0 are up, the toolstack answers, and the
# hypervisor can do passthrough (libxl refuses PCI devices without an IOMMU).
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

t0=$(now)
check boot-xl-list "xl list does not answer" xl list
e2e_time xl-list "$(since "$t0")"
e2e_time dom0-uptime-at-xl "$(now)"

caps=$(xl info | sed -n 's/^virt_caps *: //p')
info "virt_caps: $caps"
e2e_fact "virt_caps: $caps"
case " $caps " in
*" pv_directio "*) e2e_pass boot-pv-directio ;;
*) e2e_fail boot-pv-directio "virt_caps lacks pv_directio: $caps" ;;
esac
xl dmesg | grep -E "Intel VT-d|Interrupt remapping|I/O virtualisation" | head -n 5

pfs=$(pf_list | tr '\n' ' ')
info "SR-IOV NVMe PFs: $pfs"
check boot-sriov-pfs "expected 2 SR-IOV NVMe PFs, found: $pfs" \
    test "$(pf_list | wc -l)" -eq 2
for pf in $(pf_list); do
    info "$pf: totalvfs $(cat "$SYSPCI/$pf/sriov_totalvfs") ctrl $(pf_ctrl "$pf") ns $(pf_ns "$pf")"
done

# What the emulated NVMe controller offers for namespaces (docs/e2e.md):
# OACS as it advertises it (bit 3: Namespace Management), and its answer to
# a Namespace Management create of size 0 (a controller that implements
# the command refuses the field, one that does not the opcode; nothing is
# created either way).
pf=$(pf_list | head -n 1)
c=/dev/$(pf_ctrl "$pf")
e2e_fact "$pf: OACS $(nvme id-ctrl "$c" | sed -n 's/^oacs *: *//p'); nvme create-ns --nsze=0: $(nvme create-ns "$c" --nsze=0 --ncap=0 --flbas=0 2>&1 | head -n 1)"
