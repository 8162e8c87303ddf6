#!/bin/sh
# Scenario xenvf-map (issue 6, #5): a map edit at idle adds VFs. xenvfd
# (the TCB and the PF agent, both in dom0) manages nvme0 with 3 VFs and
# nvme1 with none (as scenario xenvf-gate leaves them); `xenvf set-numvfs
# nvme1 2` edits the map; the TCB writes NumVFs and binds the new VFs to
# pciback, the PF agent brings their NVMe secondary controllers online
# (virtualization management) and reports the PF ready, and `xenvf list`
# agrees with sysfs and xenstore; nvme0 is untouched. (Changing a count
# that is not 0 is scenario xenvf-numvfs-change.) Then nvme0's VF 0 loses
# its namespace 2 in the map and the PF agent detaches it; given back, it
# is attached again.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-map || exit 1

PF0=$(pf_list | sed -n 1p) PF1=$(pf_list | sed -n 2p)

# check_pf ID PF N: sysfs, Xen, the NVMe controller and the CLI all say
# that PF has N VFs, each bound to pciback with its secondary online.
check_pf() {
    _id=$1 _pf=$2 _n=$3 _ok=1 _c=$(pf_ctrl "$2")
    [ "$(numvfs "$_pf")" = "$_n" ] || { info "$_pf: sysfs NumVFs $(numvfs "$_pf")"; _ok=0; }
    _i=0
    while [ $_i -lt "$_n" ]; do
        _vf=$(vf_bdf "$_pf" $_i)
        _drv=$(basename "$(readlink "$SYSPCI/$_vf/driver" 2>/dev/null)")
        [ "$_drv" = pciback ] || { info "$_vf: driver '$_drv'"; _ok=0; }
        xl dmesg | grep -q "PCI add virtual function ${_vf}" ||
            { info "$_vf: Xen did not log its registration"; _ok=0; }
        secondary_online "$_c" $((_i + 1)) ||
            { info "$_c: secondary controller $((_i + 1)) not online"; _ok=0; }
        _i=$((_i + 1))
    done
    _row=$(xenvf_row "$_id")
    info "xenvf list $_id: $_row (numvfs free rsvd active state)"
    [ "$_row" = "$_n $_n 0 0 ready" ] || _ok=0
    check "xenvf-map-$_id-$_n" "$_id ($_pf) is not at $_n VFs everywhere (xenvf list: $_row)" \
        test $_ok = 1
}

# check_vf_disk: the map gives nvme0's VF 0 namespace 2 (lib.sh write_map):
# the TCB published it and the PF agent attached it to VF 0's secondary
# controller (cntlid 1) and to nothing else, on the real (emulated) NVMe
ns2_ctrls() {
    nvme list-ctrl "/dev/$(pf_ctrl "$PF0")" --namespace-id=2 2>/dev/null |
        sed -n 's/^\[ *[0-9]*\]: *//p' | tr '\n' ' '
}
check_vf_disk() {
    _node=$(xenstore-read /xenvf/pf/nvme0/vf/0/namespaces 2>/dev/null)
    check xenvf-map-namespace-node "/xenvf/pf/nvme0/vf/0/namespaces is '$_node', not '2:33554432'" \
        test "$_node" = 2:33554432
    e2e_fact "namespace 2 of nvme0 is attached to controller(s): $(ns2_ctrls)"
    check xenvf-map-namespace-attached "namespace 2 of nvme0 is attached to '$(ns2_ctrls)', not VF 0's controller 0x1 alone" \
        test "$(ns2_ctrls)" = "0x1 "
}

ns2_none() { [ -z "$(ns2_ctrls)" ]; }
ns2_vf0() { [ "$(ns2_ctrls)" = "0x1 " ]; }

# The map in force (the CLI's edit of it), with and without the namespace.
set_map() { cp "$1" "$XENVF_MAP.tmp" && mv "$XENVF_MAP.tmp" "$XENVF_MAP"; }
namespace_dropped_and_back() {
    cp "$XENVF_MAP" /tmp/map.with-ns
    sed 's|<namespace [^>]*/>||' /tmp/map.with-ns >/tmp/map.without-ns
    set_map /tmp/map.without-ns
    check xenvf-map-namespace-detached "namespace 2 of nvme0 is still attached to '$(ns2_ctrls)' 60 s after the map took it from VF 0" \
        wait_until 60 ns2_none
    set_map /tmp/map.with-ns
    check xenvf-map-namespace-reattached "namespace 2 of nvme0 is attached to '$(ns2_ctrls)', not VF 0's controller 0x1 alone, 60 s after the map gave it back" \
        wait_until 60 ns2_vf0
    xenvfd_tail 6
}

edit_at_idle() {
    _t0=$(now)
    xenvf set-numvfs nvme1 2 ||
        { e2e_fail xenvf-map-edit "xenvf set-numvfs nvme1 2 refused"; return 1; }
    if ! wait_until 120 pf_settled nvme1 2; then
        e2e_fail xenvf-map-edit "nvme1 not ready with 2 VFs within 120 s"
        xenvfd_tail 30; return 1
    fi
    e2e_time vf-add-at-idle "$(since "$_t0")"
    check_pf nvme1 "$PF1" 2
    check_pf nvme0 "$PF0" 3
    check_vf_disk
    xenvf list
    xenvf list --json
    xenvfd_tail 12
}

if ! xenvf_up 3 || [ "$(xs_pf nvme1 numvfs)" != 0 ]; then
    e2e_fail xenvf-map-setup "needs xenvfd with nvme0 at 3 ready VFs and nvme1 at 0"; xenvfd_tail 30; exit 1
fi
edit_at_idle && namespace_dropped_and_back
