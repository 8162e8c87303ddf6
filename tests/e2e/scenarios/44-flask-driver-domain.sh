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
# Two known bugs (docs/xsm.md), reported as E2E KNOWN while Xen logs their
# denials, and as failures once it does not:
#  - the PF's legacy interrupt (INTx) is not labelled, so Xen refuses it to
#    dd2 (use_iommu on irq_t) and dd2 cannot be created;
#  - xl pci-assignable-remove, which the story's clean-up uses, asks Xen to
#    take the device out of quarantine (remove on domio_t): refused.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-driver-domain || exit 1

IRQ_BUG='scontext=system_u:system_r:xenvf_drv_t tcontext=system_u:object_r:irq_t'
QUARANTINE_BUG='scontext=system_u:system_r:dom0_t tcontext=system_u:system_r:domio_t'

AVC0=$(avc_count)
DD_SECLABEL=$FLASK_DRV_LABEL GUEST_SECLABEL=$FLASK_GUEST_LABEL \
    sh /e2e/scenarios/95-xenvf-driver-domain.sh >/tmp/flask-dd.log 2>&1
new=$(avc_since "$AVC0")
printf '%s\n' "$new" | grep . | head -n 10
irq_bug=0
! printf '%s\n' "$new" | grep -q "$IRQ_BUG" || irq_bug=1
# the story's own lines, its checks renamed flask-dd-*; with the IRQ bug
# seen, its failures are that bug's
sed -E 's/^E2E (PASS|FAIL|KNOWN) xenvf-dd-/E2E \1 flask-dd-/; s/^E2E (PASS|FAIL) xenvf-driver-domain/E2E \1 flask-dd/' /tmp/flask-dd.log |
    if [ $irq_bug = 1 ]; then
        sed -E 's/^E2E FAIL (flask-dd[^:]*): /E2E KNOWN \1: (the PF'"'"'s INTx is unlabelled irq_t: Xen refuses it to xenvf_drv_t, docs\/xsm.md) /'
    else
        cat
    fi
printf '%s\n' "$new" | grep -E "$IRQ_BUG|$QUARANTINE_BUG" | sort -u -t'{' -k2,2 | while read -r l; do
    e2e_fact "flask-driver-domain known-bug AVC: $(echo "$l" | sed 's/^(XEN) *//; s/^\[[^]]*\] *//')"
done
[ $irq_bug = 0 ] || e2e_known flask-dd-irq "Xen refused dd2 its PF's interrupt (use_iommu on irq_t): the PF's INTx is not labelled (docs/xsm.md)"
printf '%s\n' "$new" | grep -q "$QUARANTINE_BUG" &&
    e2e_known flask-dd-quarantine "xl pci-assignable-remove was refused (remove on domio_t): the policy does not allow quarantine yet (docs/xsm.md)"
other=$(printf '%s\n' "$new" | grep . | grep -vE "$IRQ_BUG|$QUARANTINE_BUG")
n=$(printf '%s\n' "$other" | grep -c .)
e2e_fact "AVC denials during the driver-domain story (dd2 as xenvf_drv_t, the guest as xenvf_guest_t): $(printf '%s\n' "$new" | grep -c .), of them not a known bug: $n"
check flask-dd-no-avc "$n AVC denials other than the known bugs': $(printf '%s\n' "$other" | head -n 1)" \
    test "$n" = 0
