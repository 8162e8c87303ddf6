#!/bin/sh
# Scenario flask-deny (issue 12; the FLASK boot only): attempts that Xen
# without XSM lets through and the policy refuses, each with the AVC line
# Xen logged, and nothing left behind.
#  1. A guest of Xen's domU_t (no seclabel) with vf = [ "pf=nvme0" ]: xenvfd
#     reserves a VF for it and labels it xenvf_guest_vf_t, Xen refuses the
#     assignment (domU_t may not use it), xl fails; no domain, no xenvf
#     nodes, every VF free again in xenvfd's books.
#  2. The same guest with pci = [ VF ] (a VF xenvfd manages; xl with the
#     plugin, which reserves it through xenvfd first, so it is labelled
#     xenvf_guest_vf_t as for vf=): refused the same way, nothing left.
#  3. A guest of type xenvf_guest_t (the type that may hold VFs) given a PF
#     with pci = [ PF ] by xl without the plugin: Xen refuses (a PF is
#     xenvf_pf_t, dom0's alone). Not denials: `xl pci-assignable-add` of
#     the PF (quarantine, DOMID_IO) before and `-remove` after, no AVC.
#  4. A driver-domain type (xenvf_drv_t) given a free VF with pci=: refused.
#  5. A guest of type xenvf_guest_t given one page of the MMCFG window
#     (extended configuration space: where NumVFs lives) with iomem=:
#     refused (xenvf_mmcfg_t, dom0's alone).
#  6. Not a denial: the VF-holding guest type given a free VF with pci=
#     (xl with the plugin) gets it, with no AVC: the plugin reserves it
#     through xenvfd first, so the TCB labels it for the guest before
#     libxl assigns it.
# Xen's AVC line for each is printed as an E2E FACT; where xl runs with the
# plugin (1, 2), xl also says in words that FLASK refused it and what to fix.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-deny || exit 1
have_xenvf flask-deny plugin || exit 1

NVF=3
PF0=$(pf_list | sed -n 1p)
PF1=$(pf_list | sed -n 2p)
MMCFG_PAGE=b0000 # the first frame of the labelled MMCFG window

nothing_left() {
    guest_gone "$1" && [ -z "$(guest_nodes_left)" ] && pf_all_free nvme0 $NVF
}

# refused NAME CHECK AVC-PATTERN PLUGIN CFG: `xl create CFG` (with the
# xenvf plugin when PLUGIN is "plugin", as the installed xl does; plain xl
# when "plain") must fail with a new AVC denial matching AVC-PATTERN and
# leave nothing behind: checks CHECK-refused, CHECK-avc,
# CHECK-nothing-left. The AVC lines and xl's words go out as facts.
refused() {
    _g=$1 _c=$2 _pat=$3 _pre=
    [ "$4" != plugin ] || _pre=$XENVF_PLUGIN
    _n0=$(avc_count)
    _t0=$(now)
    timeout 240 env LD_PRELOAD="$_pre" xl create "$5" >"/tmp/$_g.create.log" 2>&1
    _rc=$?
    e2e_time "$_c" "$(since "$_t0")"
    cat "/tmp/$_g.create.log"
    _new=$(avc_since "$_n0")
    printf '%s\n' "$_new" | head -n 5
    e2e_fact "$_c: xl exited $_rc: $(grep -iE 'error|fail|denied|refus' "/tmp/$_g.create.log" | head -n 3 | tr '\n' '|' | cut -c1-400)"
    printf '%s\n' "$_new" | grep . | head -n 3 | while read -r _l; do
        e2e_fact "$_c AVC: $(echo "$_l" | sed 's/^(XEN) *//; s/^\[[^]]*\] *//')"
    done
    check "$_c-refused" "xl exited $_rc: not refused" test "$_rc" != 0
    check "$_c-avc" "no new AVC denial matching '$_pat' (new: $(printf '%s' "$_new" | head -n 1))" \
        sh -c "printf '%s\n' \"\$1\" | grep -qE \"\$2\"" sh "$_new" "$_pat"
    if [ "$4" = plugin ]; then
        # the plugin explains the refusal (libxl-plugin/flaskmsg.c)
        e2e_fact "$_c: the plugin says: $(grep -m 1 "FLASK policy refused" "/tmp/$_g.create.log" | sed 's/^[^ ]* xenvf: error: //' | cut -c1-400)"
        check "$_c-message" "xl (with the plugin) did not say that FLASK refused it" \
            grep -q "Xen's FLASK policy refused this: a domain of type" "/tmp/$_g.create.log"
    fi
    check "$_c-nothing-left" "left behind: domain $(guest_exists "$_g" && echo "$_g") nodes '$(guest_nodes_left)' nvme0 '$(xenvf_row nvme0)'" \
        wait_until 60 nothing_left "$_g"
    books "$_c, after"
    stop_guest "$_g"
}

if ! xenvf_up $NVF; then
    e2e_fail flask-deny-setup "xenvfd not up with nvme0 ready at $NVF VFs"
    xenvfd_tail 30; exit 1
fi
books "before the denials"

# 1. domU_t with vf=
refused fd1 flask-deny-domu-vf \
    'denied +\{ use_iommu \}.*scontext=system_u:system_r:domU_t.*tcontext=system_u:object_r:xenvf_guest_vf_t' \
    plugin "$(guest_cfg fd1 hold 'vf = [ "pf=nvme0" ]')"

# 2. domU_t with pci= of a VF xenvfd manages (the plugin reserves it)
VF2=$(vf_bdf "$PF0" 2)
refused fd2 flask-deny-domu-pci \
    'denied +\{ use_iommu \}.*scontext=system_u:system_r:domU_t.*tcontext=system_u:object_r:xenvf_(guest_)?vf_t' \
    plugin "$(guest_cfg fd2 hold "pci = [ \"$VF2\" ]")"

# 4. the driver-domain type with a free VF, xl without the plugin
refused fd4 flask-deny-drv-vf \
    'denied +\{ use_iommu \}.*scontext=system_u:system_r:xenvf_drv_t.*tcontext=system_u:object_r:xenvf_vf_t' \
    plain "$(guest_cfg fd4 hold "pci = [ \"$VF2\" ]" "seclabel = \"$FLASK_DRV_LABEL\"")"

# 5. a VF-holding guest type with a page of the MMCFG window
refused fd5 flask-deny-guest-mmcfg \
    'denied +\{ [a-z_ ]+ \}.*scontext=system_u:system_r:(dom0|xenvf_guest)_t.*tcontext=system_u:object_r:xenvf_mmcfg_t' \
    plain "$(guest_cfg fd5 hold "iomem = [ \"$MMCFG_PAGE,1\" ]" "seclabel = \"$FLASK_GUEST_LABEL\"")"

# 3. a guest type with a PF: nvme1 (xenvfd labels it xenvf_pf_t; no VFs)
# made assignable for the attempt with `xl pci-assignable-add`, which also
# quarantines it (assigns it to DOMID_IO: the policy lets the toolstack do
# that, domio_t use_iommu on PF and VF labels, docs/xsm.md), and given back
# to dom0's nvme with `xl pci-assignable-remove -r`: both checked, without
# an AVC line.
# quarantine_step CHECK WHAT XL-ARGS...: xl must succeed with no new AVC
quarantine_step() {
    _c=$1 _w=$2; shift 2
    _n0=$(avc_count)
    xl "$@" >"/tmp/$_c.log" 2>&1
    _rc=$?
    cat "/tmp/$_c.log"
    _new=$(avc_since "$_n0")
    e2e_fact "$_c: xl $* exited $_rc, $(printf '%s\n' "$_new" | grep -c .) AVC $(printf '%s\n' "$_new" | head -n 1 | sed 's/^(XEN) *//; s/^\[[^]]*\] *//')"
    check "$_c" "$_w: xl $* exited $_rc, AVC: $(printf '%s\n' "$_new" | head -n 1)" \
        test "$_rc" = 0 -a -z "$_new"
}
if quarantine_step flask-deny-quarantine-add "the toolstack could not quarantine $PF1" \
    pci-assignable-add "$PF1"; then
    check flask-deny-quarantine-listed "$PF1 is not in xl pci-assignable-list: $(xl pci-assignable-list 2>&1 | tr '\n' ' ')" \
        sh -c "xl pci-assignable-list | grep -q '$PF1'"
    refused fd3 flask-deny-guest-pf \
        'denied +\{ use_iommu \}.*scontext=system_u:system_r:xenvf_guest_t.*tcontext=system_u:object_r:xenvf_pf_t' \
        plain "$(guest_cfg fd3 hold "pci = [ \"$PF1\" ]" "seclabel = \"$FLASK_GUEST_LABEL\"")"
    quarantine_step flask-deny-quarantine-remove "the toolstack could not take $PF1 out of quarantine" \
        pci-assignable-remove -r "$PF1"
    check flask-deny-pf-back "$PF1 is not dom0's nvme again" \
        wait_until 30 sh -c "test -e $SYSPCI/$PF1/nvme"
else
    e2e_fail flask-deny-guest-pf "could not make $PF1 assignable"
    # back to dom0's nvme whatever xl left
    echo "$PF1" >/sys/bus/pci/drivers/pciback/unbind 2>/dev/null
    echo "$PF1" >/sys/bus/pci/drivers/pciback/remove_slot 2>/dev/null
    echo "$PF1" >/sys/bus/pci/drivers/nvme/bind 2>/dev/null
fi

# 6. Not a denial: the VF-holding guest type with pci= of a managed VF
# (xl with the plugin), which Xen without FLASK allows too. The plugin
# reserves it through xenvfd before libxl assigns it, as for vf=, so the
# TCB labels it xenvf_guest_vf_t first and xenvfd's books name its holder
# from the start: created, no new AVC, the VF the guest's in the books.
# (Was a known bug: the VF was counted only after libxl assigned it,
# still xenvf_vf_t, and Xen refused it.)
VF1=$(vf_bdf "$PF0" 1)
n0=$(avc_count)
cfg=$(GUEST_EXTRA="qhost.stay=1" guest_cfg fp1 hold "pci = [ \"$VF1\" ]" "seclabel = \"$FLASK_GUEST_LABEL\"")
timeout 240 env LD_PRELOAD="$XENVF_PLUGIN" xl create "$cfg" >/tmp/fp1.create.log 2>&1
rc=$?
cat /tmp/fp1.create.log
avc_since "$n0" | head -n 3
fp1_id=$(xl domid fp1 2>/dev/null)
e2e_fact "xenvf_guest_t with pci = [ $VF1 ] (the plugin): xl exited $rc, domain ${fp1_id:-none}, new AVC lines $(avc_since "$n0" | grep -c .); $(grep -m 1 'pci=: .* reserved for domain' /tmp/fp1.create.log | sed 's/^[^ ]* xenvf: //')"
books "xenvf_guest_t with pci= of nvme0#1"
check flask-guest-pci-vf "a xenvf_guest_t guest given a free VF with pci= (the plugin) was refused: xl exited $rc; $(avc_since "$n0" | head -n 1)" \
    test "$rc" = 0
check flask-guest-pci-vf-reserved "the plugin did not reserve $VF1 through xenvfd before the build" \
    grep -q "pci=: $VF1 is PF nvme0 VF 1, reserved for domain fp1" /tmp/fp1.create.log
check flask-guest-pci-vf-label "the TCB did not label nvme0#1 xenvf_guest_vf_t" \
    sh -c "grep 'pf nvme0: vf 1 labelled' '$(xenvfd_log tcb)' | tail -n 1 | grep -q 'xenvf_guest_vf_t\$'"
check flask-guest-pci-vf-books "nvme0#1 is not fp1's (${fp1_id:-none}) in xenvfd's books: $(vf_line 1)" \
    test -n "$fp1_id" -a "$(vf_state nvme0 1)" = active -a "$(xs_pf nvme0 vf/1/domain)" = "$fp1_id"
check flask-guest-pci-vf-no-avc "new AVC denials: $(avc_since "$n0" | head -n 1)" \
    test "$(avc_since "$n0" | grep -c .)" = 0
stop_guest fp1
check flask-guest-pci-vf-freed "nvme0's VFs are not all free after fp1 was destroyed" \
    wait_until 60 pf_all_free nvme0 $NVF
