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
