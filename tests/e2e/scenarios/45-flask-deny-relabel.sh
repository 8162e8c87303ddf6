#!/bin/sh
# Scenario flask-deny-relabel (issue 12; the FLASK boot only): relabelling
# and policy changes from a domain that is not the TCB. A guest of each
# confined type that talks to Xen (xenvf_guest_t, the VF holder, and
# xenvf_drv_t, the driver domain) issues FLASK's own hypercall itself
# (guest job flask-op: xenvf-flask-op, tests/e2e/flask-op.c, raw xsm_op
# through /dev/xen/privcmd): switch enforcing off, load a policy, label
# the first PF (add_ocontext), relabel itself as dom0. Xen without XSM has
# no such operations; with this policy each must be refused (checked), and
# be FLASK's refusal: EACCES with an AVC line naming the guest's type and
# the permission (checked); Xen must still be enforcing afterwards.
# Linux's privcmd refuses every hypercall from a domU before Xen sees it
# (EPERM, XSA-482's restriction: docs/xsm.md) unless loaded with
# unrestricted=1: the job asks once as Debian loads it (checked: EPERM and
# the kernel's "blocking all hypercalls"), then reloads it unrestricted.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-deny-relabel || exit 1

PF0=$(pf_list | sed -n 1p)
# FLASK numbers a device seg << 16 | bus << 8 | devfn
IFS=:. read -r _s _b _d _f <<EOF_BDF
$PF0
EOF_BDF
sbdf=$(printf '%x' $((0x$_s << 16 | 0x$_b << 8 | 0x$_d << 3 | _f)))

# said_ends LINE WORDS: the guest's answer LINE ends with WORDS
said_ends() { printf '%s\n' "$1" | grep -q " $2\$"; }
# kernel_refused ANSWER KERNEL-LINE: privcmd refused it in the guest
kernel_refused() { said_ends "$1" 'rc=-1 EPERM' && printf '%s\n' "$2" | grep -q 'blocking all hypercalls'; }
# flask_refused ANSWER AVC: FLASK refused it (EACCES) and logged it
flask_refused() { said_ends "$1" 'rc=-1 EACCES' && [ -n "$2" ]; }

# tries NAME TYPE: a guest NAME labelled TYPE runs the four operations;
# checks flask-deny-relabel-TYPE-{ran,OP-refused,OP-avc}.
tries() {
    _g=$1 _t=$2 _c=flask-deny-relabel-${2%_t}
    _n0=$(avc_count)
    _cfg=$(GUEST_EXTRA="e2e.sbdf=$sbdf" guest_cfg "$_g" flask-op \
        "seclabel = \"system_u:system_r:$_t\"")
    if ! xl create "$_cfg" >"/tmp/$_g.create.log" 2>&1; then
        cat "/tmp/$_g.create.log"
        e2e_fail "$_c-ran" "xl create of $_g ($_t) failed"
        return 1
    fi
    check "$_c-ran" "guest $_g ($_t) did not run the operations within 120 s" \
        wait_until 120 guest_said "$_g" 'FLASKOP-DONE' || { dump_guest "$_g"; return 1; }
    wait_until 60 guest_gone "$_g"
    guest_lines "$_g" FLASKOP
    guest_lines "$_g" FLASKOP | grep -q ' rc=' || dump_guest "$_g"
    _new=$(avc_since "$_n0")
    printf '%s\n' "$_new" | grep . | head -n 8
    # as Debian loads privcmd in a domU: refused by the guest's kernel
    _rget=$(guest_lines "$_g" FLASKOP-RESTRICTED | grep "^getenforce " | head -n 1)
    _rker=$(guest_lines "$_g" FLASKOP-KERNEL | grep "^restricted " | head -n 1)
    e2e_fact "$_c: restricted privcmd: getenforce '$_rget'; kernel: '${_rker#restricted }'"
    check "$_c-privcmd-restricted" "with privcmd as loaded, getenforce said '$_rget', the kernel '$_rker' (expected EPERM, 'blocking all hypercalls')" \
        kernel_refused "$_rget" "$_rker"
    # unrestricted=1: getenforce asks no permission, so its answer says
    # the hypercall reaches FLASK (1: enforcing)
    _get=$(guest_lines "$_g" FLASKOP | grep "^getenforce " | head -n 1)
    e2e_fact "$_c: getenforce from the guest (privcmd unrestricted): '$_get'"
    check "$_c-reaches-flask" "getenforce from $_t said '$_get', not enforcing (rc=1)" \
        said_ends "$_get" 'rc=1 allowed'
    for _op in setenforce:setenforce load:load_policy add-device:add_ocontext relabel-self:relabelself; do
        _o=${_op%%:*} _p=${_op#*:}
        _said=$(guest_lines "$_g" FLASKOP | grep "^$_o " | head -n 1)
        _avc=$(printf '%s\n' "$_new" | grep -E "denied +\{ $_p \}.*scontext=system_u:system_r:$_t " | head -n 1)
        e2e_fact "$_c-$_o: guest said '$_said'; AVC: $(echo "$_avc" | sed 's/^(XEN) *//; s/^\[[^]]*\] *//')"
        # refused at all: a guest that could do it fails here
        check "$_c-$_o-refused" "$_t's $_o: '$_said', not refused" \
            sh -c "printf '%s\n' \"\$1\" | grep -q ' rc=-1 E[A-Z]*\$'" sh "$_said"
        # refused by FLASK: EACCES and its AVC line
        check "$_c-$_o-avc" "$_t's $_o: '$_said', AVC '$_avc': not FLASK's refusal (EACCES with its AVC line)" \
            flask_refused "$_said" "$_avc"
    done
    stop_guest "$_g"
}

tries frl1 xenvf_guest_t
tries frl2 xenvf_drv_t
check flask-deny-relabel-still-enforcing "xl getenforce says '$(xl getenforce 2>&1)'" flask_enforcing
