#!/bin/sh
# Scenario sriov: VFs of both emulated PFs, made by hand the way xenvfd will
# make them (NumVFs, NVMe secondary controllers online, pciback), passed to
# two PV guests: g1 holds a VF of PF0, g2 a VF of PF1 and one of PF0 (a
# guest with VFs of two PFs). Each guest reads what dom0 wrote through the
# PF's namespace and writes a token that dom0 reads back.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

NVF=2
PF0=$(pf_list | sed -n 1p) PF1=$(pf_list | sed -n 2p)
[ -n "$PF1" ] || { e2e_fail sriov-setup "need two PFs, have: $PF0"; exit 1; }

# make_vfs PF: NVF VFs with online secondaries; checks Xen saw each VF.
make_vfs() {
    _t0=$(now)
    if ! enable_vfs "$1" $NVF; then
        e2e_fail "sriov-vfs-$1" "could not enable $NVF VFs"; return 1
    fi
    e2e_time "vf-create-$1" "$(since "$_t0")"
    _c=$(pf_ctrl "$1")
    nvme list-secondary "/dev/$_c" | grep -iE 'SCID|State' | head -n 6
    _ok=1
    for _i in $(seq 0 $((NVF - 1))); do
        _vf=$(vf_bdf "$1" "$_i") || { _ok=0; continue; }
        xl dmesg | grep -q "PCI add virtual function ${_vf#0000:}" ||
            xl dmesg | grep -q "PCI add virtual function $_vf" || _ok=0
        secondary_online "$_c" $((_i + 1)) || { info "cntlid $((_i + 1)) not online"; _ok=0; }
    done
    check "sriov-vfs-$1" "VFs not all registered with Xen and online" test $_ok = 1
}

assignable() {
    _t0=$(now)
    for _vf in "$@"; do
        xl pci-assignable-add "$_vf" || return 1
    done
    e2e_time pci-assignable-add "$(since "$_t0")"
    xl pci-assignable-list
}

# verify_guest NAME VF...: the guest saw each VF and its namespace I/O
# matched: sector 0 names the PF, dom0's token read back, its own token
# written and read back by dom0 through the PF.
verify_guest() {
    _g=$1; shift
    for _vf in "$@"; do
        _pf=$(basename "$(readlink "$SYSPCI/$_vf/physfn")")
        _pfn=$(pf_index "$_pf")
        _okr=0 _okt=0 _okw=0
        for _l in $(guest_lines "$_g" READ | awk '{ print $2 }'); do
            case $_l in
                "sector0=QHOST-PF$_pfn-NS1") _okr=1 ;;
                "token=DOM0-PF$_pfn-$RUN") _okt=1 ;;
            esac
        done
        # the token this guest wrote through a VF of this PF
        _back=$(get_token "$(pf_ns "$_pf")" "$(token_mib "$_g")")
        case $_back in "GUEST-$_g-$RUN-"*) _okw=1 ;; esac
        info "$_g via $_vf: sector0 $_okr dom0-token $_okt guest-token $_okw ($_back)"
        check "sriov-io-$_g-$_vf" "guest $_g: VF $_vf I/O did not match (sector0 $_okr, dom0 token $_okt, guest token '$_back')" \
            test "$_okr$_okt$_okw" = 111
    done
}

pf_index() { [ "$1" = "$PF0" ] && echo 0 || echo 1; }
# where each guest writes its token: g1 and g2 share PF0's namespace
token_mib() { [ "$1" = g1 ] && echo 2 || echo 3; }

run_guests() {
    _cfg1=$(GUEST_EXTRA="e2e.token=GUEST-g1-$RUN e2e.token_mib=2" guest_cfg g1 nvme-io "pci = [ \"$VF00\" ]")
    _cfg2=$(GUEST_EXTRA="e2e.token=GUEST-g2-$RUN e2e.token_mib=3" guest_cfg g2 nvme-io "pci = [ \"$VF10\", \"$VF01\" ]")
    _t0=$(now)
    xl create "$_cfg1" || { e2e_fail sriov-create-g1 "xl create failed"; return 1; }
    e2e_time xl-create-pv-1vf "$(since "$_t0")"
    _t0=$(now)
    xl create "$_cfg2" || { e2e_fail sriov-create-g2 "xl create failed"; return 1; }
    e2e_time xl-create-pv-2vf "$(since "$_t0")"
    xl pci-list g1; xl pci-list g2
    _t0=$(now)
    wait_until 240 guest_gone g1
    wait_until 60 guest_gone g2
    e2e_time guests-run "$(since "$_t0")"
    stop_guest g1; stop_guest g2
    for _g in g1 g2; do
        guest_said "$_g" "^GUEST DONE" || e2e_fail "sriov-guest-$_g" "guest did not finish"
        for _k in nvme-ready first-io; do
            _v=$(guest_lines "$_g" TIME | awk -v k=$_k '$1 == k { print $2; exit }')
            [ -z "$_v" ] || e2e_time "guest-$_k" "$_v"
        done
        guest_lines "$_g" LSPCI
        guest_lines "$_g" MSIX
        guest_lines "$_g" IRQ
        guest_lines "$_g" DMESG | grep -iE 'msi|-114|polled' | head -n 5
    done
}

RUN=$(date +%s)
make_vfs "$PF0" && make_vfs "$PF1" || exit 1
for pf in "$PF0" "$PF1"; do
    put_token "$(pf_ns "$pf")" 1 "DOM0-PF$(pf_index "$pf")-$RUN"
done
VF00=$(vf_bdf "$PF0" 0) VF01=$(vf_bdf "$PF0" 1) VF10=$(vf_bdf "$PF1" 0)
assignable "$VF00" "$VF01" "$VF10" || { e2e_fail sriov-assignable "xl pci-assignable-add failed"; exit 1; }
run_guests
verify_guest g1 "$VF00"
verify_guest g2 "$VF10" "$VF01"
dump_guest g1; dump_guest g2
for vf in "$VF00" "$VF01" "$VF10"; do xl pci-assignable-remove -r "$vf"; done
# the VFs had no dom0 driver before (autoprobe was off when they appeared)
check sriov-vfs-released "VF still bound to pciback after pci-assignable-remove" \
    test "$(basename "$(readlink "$SYSPCI/$VF00/driver" 2>/dev/null)")" != pciback
