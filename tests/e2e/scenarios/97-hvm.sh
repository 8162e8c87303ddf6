#!/bin/sh
# Scenario hvm (issue 13, checks hvm-*): does a Xen HVM guest run in the
# tier (hvm-lib.sh says what it takes; only in images made with E2E_HVM=1:
# make e2e E2E_PLATFORM=trixie E2E_HVM=1 E2E_SCENARIOS="boot hvm")? First
# an HVM guest with no device (direct kernel boot of the guest bzImage, its
# console on the emulated serial port, written to a file), then one with a
# VF of nvme0 through vf= and the gate, doing I/O on it. What it cannot do
# is a KNOWN line with the reason, never a pass.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh

# shellcheck source=hvm-lib.sh
. /e2e/scenarios/hvm-lib.sh
hvm_setup hvm || exit 0
evidence() { hvm_evidence hvm "$1"; }

G=h1
cfg=$(hvm_cfg $G "")
_t0=$(now)
if ! xl create "$cfg" >/tmp/$G.create.log 2>&1; then
    e2e_fail hvm-create "xl create of an HVM guest failed"
    sed 's/^/E2E FACT hvm: xl: /' /tmp/$G.create.log | tail -n 15
    evidence $G
    exit 1
fi
e2e_time xl-create-hvm "$(since "$_t0")"
e2e_pass hvm-create
wait_until 300 said_or_gone $G "^GUEST UP"
if ! check hvm-boot "the HVM guest's init did not start within 300 s" \
    guest_said $G "^GUEST UP"; then
    evidence $G
    stop_guest $G
    exit 1
fi
e2e_time hvm-guest-up "$(since "$_t0")"
guest_lines $G UP
wait_until 120 guest_gone $G || stop_guest $G

have_xenvf hvm-vf plugin || exit 1
# 3 VFs on nvme0 as the other xenvf scenarios leave it, so hvm may follow
# them (after xenvf-gate) or run alone
NVF=3
if ! xenvf_up $NVF; then
    e2e_fail hvm-vf-setup "xenvfd did not bring nvme0 to $NVF ready VFs"
    xenvfd_tail 30
    exit 1
fi
G=h2 RUN=$(date +%s) PF0=$(pf_list | sed -n 1p)
# dom0 writes a token through the PF at 1 MiB of the shared namespace, the
# guest reads it through its VF and writes its own at 4 MiB, read back here
put_token "$(pf_ns "$PF0")" 1 "DOM0-HVM-$RUN"
cfg=$(HVM_EXTRA="e2e.token=GUEST-$G-$RUN e2e.token_mib=4" hvm_cfg $G nvme-io 'vf = [ "pf=nvme0" ]')
_t0=$(now)
if ! xlv create "$cfg" >/tmp/$G.create.log 2>&1; then
    e2e_fail hvm-vf-create "xl create of an HVM guest with vf= failed"
    sed 's/^/E2E FACT hvm: xl: /' /tmp/$G.create.log | tail -n 15
    evidence $G
    exit 1
fi
e2e_time xl-create-hvm-vf "$(since "$_t0")"
e2e_pass hvm-vf-create
wait_until 300 said_or_gone $G "^GUEST (WROTE|DONE)"
_read=$(since "$_t0")
wait_until 120 guest_gone $G
stop_guest $G
guest_lines $G READ
guest_lines $G WROTE
_back=$(get_token "$(pf_ns "$PF0")" 4)
_ok=0
guest_said $G "^GUEST READ .* sector0=QHOST-PF0-NS1" &&
    guest_said $G "^GUEST READ .* token=DOM0-HVM-$RUN" &&
    case $_back in "GUEST-$G-$RUN-"*) true ;; *) false ;; esac && _ok=1
if check hvm-vf-io "the HVM guest did not read and write nvme0's namespace through its VF (read back '$_back')" \
    test $_ok = 1; then
    e2e_time hvm-vf-create-to-io "$_read"
    e2e_fact "hvm: the guest's MSI-X: $(guest_lines $G MSIX | head -n 1)"
else
    evidence $G
fi
check hvm-vf-freed "after the HVM guest, nvme0 is '$(xenvf_row nvme0)', not its VF free" \
    wait_until 60 pf_all_free nvme0 $NVF
