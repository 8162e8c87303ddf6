#!/bin/sh
# Scenario flask-boot (issue 12; the FLASK boot only, make e2e
# E2E_XEN=flask): Xen was built from Debian's source with XSM/FLASK
# (xsm-policy/build-xen-flask) and booted with flask=enforcing and the
# project's policy as a boot module.
#  1. Xen says it enforces, `xl getenforce` says Enforcing, dom0 is dom0_t.
#  2. The policy Xen loaded is ours: it knows the xenvf types (the
#     xenvf_guest_t label is valid: `xl create -n` of a guest with it
#     checks the label with Xen).
#  3. The MMCFG label compiled into the policy
#     (tools/qemu-host/flask-labels.list) is the window dom0's ACPI MCFG
#     table describes.
#  4. The AVC denials of the boot (Xen, dom0, xenstored, ...) are counted.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

MMCFG_LABELLED=0xb0000000-0xbfffffff

xl dmesg | grep -iE 'flask|xsm|policy' | head -n 12
e2e_fact "Xen: $(xl info | sed -n 's/^xen_version *: //p') $(xl info | sed -n 's/^xen_changeset *: //p'), built $(xl info | sed -n 's/^cc_compile_date *: //p'); xl getenforce: $(xl getenforce 2>&1)"
check flask-xen-enforcing "Xen did not log that FLASK starts enforcing" \
    sh -c "xl dmesg | grep -qiE 'Flask: +Starting in enforcing mode'"
check flask-getenforce "xl getenforce says '$(xl getenforce 2>&1)'" flask_enforcing
xl list -Z
check flask-dom0-label "dom0's label is '$(domain_label Domain-0)'" \
    test "$(domain_label Domain-0)" = system_u:system_r:dom0_t

# The label of a guest type only our module declares: Xen's policy knows
# it or xl fails to turn it into a SID.
cfg=$(guest_cfg flabel hold "seclabel = \"$FLASK_GUEST_LABEL\"")
xl create -n "$cfg" >/tmp/flabel.log 2>&1
rc=$?
check flask-policy-xenvf "xl create -n with seclabel $FLASK_GUEST_LABEL exited $rc: $(grep -m 1 -i error /tmp/flabel.log)" \
    test $rc = 0
e2e_fact "policy loaded: $(xl dmesg | grep -m 1 -iE 'policy len|policy .*loaded' | sed 's/^(XEN) *//' | tr -d '\r')"

# MCFG (ACPI): a 44-byte header, then 16 bytes an entry: base (8 bytes,
# little-endian), segment (2), first bus, last bus. (busybox awk's %x is
# 32-bit signed: the shell's printf makes the hex.)
mcfg() {
    # shellcheck disable=SC2046 # two numbers, split on purpose
    set -- $(od -An -v -tu1 -j 44 -N 12 /sys/firmware/acpi/tables/MCFG |
        tr -s ' \n' '  ' |
        awk '{ b = 0; for (i = 8; i >= 1; i--) b = b * 256 + $i
               printf "%.0f %.0f\n", b + $11 * 1048576, b + ($12 + 1) * 1048576 - 1 }')
    [ $# = 2 ] && printf '0x%x-0x%x\n' "$1" "$2"
}
window=$(mcfg 2>/dev/null)
e2e_fact "ACPI MCFG window: ${window:-none}; labelled xenvf_mmcfg_t in the policy: $MMCFG_LABELLED"
check flask-mmcfg-label "the compiled-in MMCFG label ($MMCFG_LABELLED) is not the machine's window (${window:-no MCFG})" \
    test "$window" = "$MMCFG_LABELLED"

n=$(avc_count)
e2e_fact "AVC denials during the boot: $n"
avc_lines | head -n 10
check flask-boot-avc "$n AVC denials while Xen and dom0 booted: $(avc_lines | head -n 1)" test "$n" = 0
