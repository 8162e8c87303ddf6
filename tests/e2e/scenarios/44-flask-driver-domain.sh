#!/bin/sh
# Scenario flask-driver-domain (issue 12; the FLASK boot only): the
# driver-domain topology enforcing. Scenario xenvf-driver-domain's story
# (95-xenvf-driver-domain.sh: the TCB hands nvme1 to the driver domain dd2,
# the PF agent runs in dd2, a guest with vf= of nvme1 does I/O, dd2 is
# restarted and followed, the PF goes back to dom0) with dd2 as
# xenvf_drv_t (its PF labelled xenvf_drv_pf_t by the TCB) and the guest as
# xenvf_guest_t; its checks are reported as flask-dd-*, and no AVC denial
# may appear while it runs but the one asked for: before dd2 starts,
# another driver domain dd3 is given dd2's PF, refused as the tier's
# second driver-domain type xenvf_drv2_t (flask-dd-other-type-*), let
# through as dd2's own type (flask-dd-other-same-type-allowed: one type is
# one subject to FLASK).
#
# The TCB labels nvme1's INTx (its GSI) xenvf_drv_pf_t with the PF when
# the map gives it to dd2: libxl grants dd2 the PF's interrupt with the PF,
# and Xen checks dd2's use_iommu on the IRQ's label (unlabelled, irq_t, it
# was refused: the bug this scenario reported as known until the TCB
# labelled it). Checked: flask-dd-intx-labelled, and that no AVC names it.
#
# The story's clean-up may use xl pci-assignable-remove (take the PF out of
# quarantine, remove on domio_t): the policy allows it now (it was a known
# denial), so it is held to no AVC like the rest.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-driver-domain || exit 1

# The denial this boot must show: another driver domain given dd2's PF.
OTHER_DENIAL='scontext=system_u:system_r:xenvf_drv2_t tcontext=system_u:object_r:xenvf_drv_pf_t'

# other_driver_domain: run by the story once nvme1 is handed over and
# labelled xenvf_drv_pf_t for dd2, before dd2 runs: a driver domain dd3
# (plain xl, pci = [ nvme1 ]) of the tier's second driver-domain type
# (xenvf_drv2_t, tests/e2e/e2e.mk) must be refused by FLASK; one of dd2's
# own type xenvf_drv_t is let through: FLASK separates types, not domains
# (docs/xsm.md).
other_driver_domain() {
    _n0=$(avc_count)
    _cfg=$(GUEST_EXTRA="qhost.stay=1" guest_cfg dd3 hold "pci = [ \"$PF1\" ]" \
        "seclabel = \"system_u:system_r:xenvf_drv2_t\"")
    if xl create "$_cfg" >/tmp/dd3.create.log 2>&1; then
        e2e_fail flask-dd-other-type-refused "dd3 (xenvf_drv2_t) was given dd2's PF nvme1"
    else
        _avc=$(avc_since "$_n0" | grep -E "$OTHER_DENIAL" | head -n 1)
        e2e_fact "flask-dd-other-type: xl said '$(grep -m 1 -iE 'not permitted|denied|failed' /tmp/dd3.create.log)'; AVC: $(echo "$_avc" | sed 's/^(XEN) *//; s/^\[[^]]*\] *//')"
        check flask-dd-other-type-refused "dd3 (xenvf_drv2_t) refused nvme1 without an AVC naming xenvf_drv2_t and xenvf_drv_pf_t" \
            test -n "$_avc"
    fi
    check flask-dd-other-type-nothing-left "dd3 still exists after its refused create" \
        wait_until 30 guest_gone dd3
    stop_guest dd3
    _n1=$(avc_count)
    _cfg=$(GUEST_EXTRA="qhost.stay=1" guest_cfg dd3 hold "pci = [ \"$PF1\" ]" \
        "seclabel = \"$FLASK_DRV_LABEL\"")
    if xl create "$_cfg" >/tmp/dd3.create.log 2>&1; then
        e2e_fact "dd3 as xenvf_drv_t (dd2's type) was given dd2's PF nvme1: domain $(xl domid dd3 2>/dev/null), $(avc_since "$_n1" | grep -c .) AVC"
        check flask-dd-other-same-type-allowed "dd3 as xenvf_drv_t was given nvme1 but Xen logged: $(avc_since "$_n1" | head -n 1)" \
            test "$(avc_since "$_n1" | grep -c .)" = 0
    else
        cat /tmp/dd3.create.log
        e2e_fail flask-dd-other-same-type-allowed "dd3 as xenvf_drv_t was refused nvme1: $(avc_since "$_n1" | head -n 1)"
    fi
    xl destroy dd3 >/dev/null 2>&1
    wait_until 60 guest_gone dd3
    check flask-dd-other-pf-back "after dd3, nvme1 is not in pciback with its reset methods off (driver $(pf_driver))" \
        wait_until 30 handed_over
}

AVC0=$(avc_count)
# sourced in a subshell, so that it runs other_driver_domain
# shellcheck disable=SC2034 # read by the sourced story
(DD_SECLABEL=$FLASK_DRV_LABEL GUEST_SECLABEL=$FLASK_GUEST_LABEL \
    DD_BEFORE_CREATE=other_driver_domain
    . /e2e/scenarios/95-xenvf-driver-domain.sh) >/tmp/flask-dd.log 2>&1
new=$(avc_since "$AVC0")
printf '%s\n' "$new" | grep . | head -n 10
# the story's own lines, its checks renamed flask-dd-*
sed -E 's/^E2E (PASS|FAIL|KNOWN) xenvf-dd-/E2E \1 flask-dd-/; s/^E2E (PASS|FAIL) xenvf-driver-domain/E2E \1 flask-dd/' /tmp/flask-dd.log
intx=$(grep -m 1 'pf nvme1 labelled xenvf_drv_pf_t' "$(xenvfd_log tcb)" | sed 's/^.*pf nvme1 labelled/pf nvme1 labelled/')
e2e_fact "the TCB on nvme1 (the driver domain's PF): ${intx:-no label line}"
check flask-dd-intx-labelled "the TCB did not label nvme1's INTx xenvf_drv_pf_t: '${intx:-}'" \
    sh -c "printf '%s\n' \"\$1\" | grep -q 'its INTx (IRQ [0-9]*) too'" sh "$intx"
other=$(printf '%s\n' "$new" | grep . | grep -vE "$OTHER_DENIAL")
n=$(printf '%s\n' "$other" | grep -c .)
e2e_fact "AVC denials during the driver-domain story (dd2 as xenvf_drv_t, the guest as xenvf_guest_t): $(printf '%s\n' "$new" | grep -c .), of them not dd3's refusal: $n"
check flask-dd-no-avc "$n AVC denials other than dd3's: $(printf '%s\n' "$other" | head -n 1)" \
    test "$n" = 0
