#!/bin/sh
# Scenario xenvf-guest (issue 14, checks guest-*): one guest, three VFs of
# nvme0 with the same vendor and device ID, described "nvme", "pci-stub"
# and a driver the guest does not have. xenvf-guest in the guest binds each
# as described and reports it in xenstore; the missing one stays unbound
# and the guest boots anyway; dom0 reads the reports, and `xenvf show`
# shows them.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-guest plugin || exit 1

NVF=3
G=g1

status_of() { xenstore-read "/local/domain/$1/xenvf/vf/$2/status" 2>/dev/null; }

if ! xenvf_up $NVF; then
    e2e_fail guest-setup "xenvfd did not bring nvme0 to $NVF ready VFs"
    xenvfd_tail 30
    exit 1
fi
cfg=$(GUEST_EXTRA="qhost.stay=1" guest_cfg $G xenvf-bind \
    'vf = [ "pf=nvme0,function=nvme", "pf=nvme0,function=pci-stub", "pf=nvme0,function=nosuchdrv:x" ]')
_t0=$(now)
if ! xlv create "$cfg" >/tmp/$G.create.log 2>&1; then
    e2e_fail guest-create "xl create with three described VFs failed"
    cat /tmp/$G.create.log
    exit 1
fi
e2e_time xl-create-3vf "$(since "$_t0")"
check guest-boots-anyway "the guest did not finish its job (one VF's driver is missing)" \
    wait_until 240 guest_said $G "GUEST DONE"
D=$(xl domid $G)
guest_lines $G BIND
guest_lines $G DRIVER
for _n in 0 1 2; do e2e_fact "vf[$_n] status: $(status_of "$D" $_n)"; done
check guest-bind-nvme "vf[0] says '$(status_of "$D" 0)', not 'bound nvme'" \
    test "$(status_of "$D" 0)" = "bound nvme"
check guest-bind-stub "vf[1] says '$(status_of "$D" 1)', not 'bound pci-stub'" \
    test "$(status_of "$D" 1)" = "bound pci-stub"
check guest-bind-missing "vf[2] does not say its driver is missing: '$(status_of "$D" 2)'" \
    sh -c "xenstore-read /local/domain/$D/xenvf/vf/2/status | grep -q \"no driver 'nosuchdrv'\""
_unbound=$(guest_lines $G DRIVER | grep -c ' none$')
check guest-missing-unbound "$_unbound of the guest's PCI functions are unbound, not 1 (the VF whose driver is missing)" \
    test "$_unbound" = 1
check guest-io "the VF bound to nvme did no I/O" guest_said $G "GUEST READ /dev/nvme"
xenvf show nvme0 | sed 's/^/  show: /'
check guest-show "xenvf show nvme0 does not show the guest's reports" \
    sh -c "xenvf show nvme0 | grep -q 'bound pci-stub'"
stop_guest $G
check guest-vfs-freed "after the guest, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
check guest-nodes-gone "the guest's xenvf nodes outlived it" \
    sh -c "! xenstore-read /local/domain/$D/xenvf/vf/0/pf"
