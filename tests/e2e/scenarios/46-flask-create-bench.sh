#!/bin/sh
# Scenario flask-create-bench (issue 12; the FLASK boot only): what FLASK
# costs at domain build. The vf= create of scenario xenvf-cost (the same
# guest, `xl create` with the plugin of vf = [ "pf=nvme0,index=1" ] on a
# ready PF, timed from the call to xl's exit) with the guest as
# xenvf_guest_t, 5 rounds (E2E_COST_ROUNDS), each an `E2E TIME
# flask-create-bench-round` line, destroyed and its VF free again before
# the next. `make bench` (tests/e2e/bench-stages) sets their median against
# the vf= rounds of the last non-FLASK run's xenvf-cost: two boots. Not
# asserted on time; checked: every round built its guest with VF 1 (as
# xenvf-cost: VF 0 has the namespace the PF agent attaches and detaches
# with each holder), and no
# AVC denial during the rounds.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_flask flask-create-bench || exit 1
have_xenvf flask-create-bench plugin || exit 1

NVF=3
ROUNDS=${E2E_COST_ROUNDS:-5}
vf1_free() { [ "$(vf_state nvme0 1)" = free ]; }

# xenvfd up first: after flask-driver-domain, bringing it up cleans the
# PFs by hand (xl pci-assignable-remove)
if ! xenvf_up $NVF; then
    e2e_fail flask-create-bench-setup "xenvfd not up with nvme0 ready at $NVF VFs"
    xenvfd_tail 30; exit 1
fi
n0=$(avc_count)
_r=1 _ok=1 times=
while [ $_r -le "$ROUNDS" ] && [ $_ok = 1 ]; do
    _cfg=$(guest_cfg cost-vf hold 'vf = [ "pf=nvme0,index=1" ]' "seclabel = \"$FLASK_GUEST_LABEL\"")
    _t0=$(now)
    if ! xlv create "$_cfg" >/tmp/cost-vf.create.log 2>&1; then
        cat /tmp/cost-vf.create.log
        grep -E 'label|flask|reserved|nvme0: vf 1' "$(xenvfd_log tcb)" | tail -n 30
        e2e_fail flask-create-bench "round $_r: xl create with vf= (xenvf_guest_t) failed"
        _ok=0; break
    fi
    _s=$(since "$_t0")
    e2e_time flask-create-bench-round "$_s"
    times="$times $_s"
    _domid=$(xl domid cost-vf 2>/dev/null)
    if [ -z "$_domid" ] || [ "$(xs_pf nvme0 vf/1/domain)" != "$_domid" ]; then
        e2e_fail flask-create-bench "round $_r: VF 1 held by '$(xs_pf nvme0 vf/1/domain)', the guest is domain '$_domid'"
        _ok=0
    fi
    xl destroy cost-vf >/dev/null 2>&1
    wait_until 60 vf1_free ||
        { e2e_fail flask-create-bench "round $_r: VF 1 not free 60 s after the destroy ($(vf_state nvme0 1))"; _ok=0; }
    _r=$((_r + 1))
done
stop_guest cost-vf
[ $_ok = 0 ] || e2e_pass flask-create-bench
e2e_fact "xl create with vf= as xenvf_guest_t on the FLASK boot, rounds:$times s"
check flask-create-bench-no-avc "AVC denials during the rounds: $(avc_since "$n0" | head -n 1)" \
    test "$(avc_since "$n0" | grep -c .)" = 0
