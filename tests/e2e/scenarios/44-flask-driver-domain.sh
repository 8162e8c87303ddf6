#!/bin/sh
# Scenario flask-driver-domain (issue 12; the FLASK boot only): the
# driver-domain topology enforcing. Scenario xenvf-driver-domain's story
# (95-xenvf-driver-domain.sh: the TCB hands nvme1 to the driver domain dd2,
# the PF agent runs in dd2, a guest with vf= of nvme1 does I/O, dd2 is
# restarted and followed, the PF goes back to dom0) with dd2 as
# xenvf_drv_t (its PF labelled xenvf_drv_pf_t by the TCB) and the guest as
# xenvf_guest_t; its checks are reported as flask-dd-*, and no AVC denial
# may appear while it runs.
#
# The TCB labels nvme1's INTx (its GSI) xenvf_drv_pf_t with the PF when
# the map gives it to dd2: libxl grants dd2 the PF's interrupt with the PF,
# and Xen checks dd2's use_iommu on the IRQ's label (unlabelled, irq_t, it
# was refused: the bug this scenario reported as known until the TCB
# labelled it). Checked: flask-dd-intx-labelled, and that no AVC names it.
#
# One known bug (docs/xsm.md), reported as E2E KNOWN while Xen logs its
# denial: xl pci-assignable-remove, which the story's clean-up uses, asks
# Xen to take the device out of quarantine (remove on domio_t): refused.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-driver-domain || exit 1

QUARANTINE_BUG='scontext=system_u:system_r:dom0_t tcontext=system_u:system_r:domio_t'

AVC0=$(avc_count)
DD_SECLABEL=$FLASK_DRV_LABEL GUEST_SECLABEL=$FLASK_GUEST_LABEL \
    sh /e2e/scenarios/95-xenvf-driver-domain.sh >/tmp/flask-dd.log 2>&1
new=$(avc_since "$AVC0")
printf '%s\n' "$new" | grep . | head -n 10
# the story's own lines, its checks renamed flask-dd-*
sed -E 's/^E2E (PASS|FAIL|KNOWN) xenvf-dd-/E2E \1 flask-dd-/; s/^E2E (PASS|FAIL) xenvf-driver-domain/E2E \1 flask-dd/' /tmp/flask-dd.log
intx=$(grep -m 1 'pf nvme1 labelled xenvf_drv_pf_t' "$(xenvfd_log tcb)" | sed 's/^.*pf nvme1 labelled/pf nvme1 labelled/')
e2e_fact "the TCB on nvme1 (the driver domain's PF): ${intx:-no label line}"
check flask-dd-intx-labelled "the TCB did not label nvme1's INTx xenvf_drv_pf_t: '${intx:-}'" \
    sh -c "printf '%s\n' \"\$1\" | grep -q 'its INTx (IRQ [0-9]*) too'" sh "$intx"
printf '%s\n' "$new" | grep -E "$QUARANTINE_BUG" | sort -u -t'{' -k2,2 | while read -r l; do
    e2e_fact "flask-driver-domain known-bug AVC: $(echo "$l" | sed 's/^(XEN) *//; s/^\[[^]]*\] *//')"
done
printf '%s\n' "$new" | grep -q "$QUARANTINE_BUG" &&
    e2e_known flask-dd-quarantine "xl pci-assignable-remove was refused (remove on domio_t): the policy does not allow quarantine yet (docs/xsm.md)"
other=$(printf '%s\n' "$new" | grep . | grep -vE "$QUARANTINE_BUG")
n=$(printf '%s\n' "$other" | grep -c .)
e2e_fact "AVC denials during the driver-domain story (dd2 as xenvf_drv_t, the guest as xenvf_guest_t): $(printf '%s\n' "$new" | grep -c .), of them not a known bug: $n"
check flask-dd-no-avc "$n AVC denials other than the known bug's: $(printf '%s\n' "$other" | head -n 1)" \
    test "$n" = 0
