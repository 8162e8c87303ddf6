# shellcheck shell=sh
# Helpers for end-to-end scenarios; sourced inside dom0 (busybox sh) by
# /e2e/run before each scenario. Results are lines on stdout:
#   E2E PASS name
#   E2E FAIL name: why
#   E2E TIME stage seconds
#   E2E FACT text            (a finding worth keeping in docs/e2e.md)
#   E2E KNOWN name: why      (fails because of a known bug, docs/e2e.md)
#   E2E SKIP name: why       (cannot run on this machine, e.g. no igb in
#                             QEMU 7.2; run-e2e lists it, never a pass)
# which /e2e/run copies to the console and to /e2e/results/e2e.txt.

E2E=${E2E:-/e2e}
# /e2e/run copies the guest image from the share to tmpfs once
GUEST_KERNEL=/run/guest/vmlinux
GUEST_RAMDISK=/run/guest/initrd
CONSOLE_DIR=/var/log/xen/console
# polled completions need short NVMe timeouts in the guests (docs/e2e.md)
GUEST_NVME_TIMEOUT=${GUEST_NVME_TIMEOUT:-1}

# expect_guest_crash NAME: the scenario crashes guest NAME on purpose, so
# the runner's crash check (dom0/run) does not count its kernel panic.
EXPECTED_CRASHES=/run/e2e-expected-crashes
expect_guest_crash() { mkdir -p "$EXPECTED_CRASHES" && : >"$EXPECTED_CRASHES/$1"; }

e2e_pass() { echo "E2E PASS $1"; }
e2e_fail() { _n=$1; shift; echo "E2E FAIL $_n: $*"; }
e2e_time() { echo "E2E TIME $1 $2"; }
e2e_fact() { echo "E2E FACT $*"; }
# e2e_known NAME WHY: a check that fails because of a known, documented bug
# of the code under test; run-e2e lists these apart (not as passes).
e2e_known() { _n=$1; shift; echo "E2E KNOWN $_n: $*"; }
# e2e_skip NAME WHY: the scenario cannot run on this machine (not a pass).
e2e_skip() { _n=$1; shift; echo "E2E SKIP $_n: $*"; }
info() { echo "  $*"; }

# check NAME WHY CMD...: PASS if CMD succeeds, else FAIL with WHY.
check() {
    _n=$1 _w=$2; shift 2
    if "$@"; then e2e_pass "$_n"; else e2e_fail "$_n" "$_w"; return 1; fi
}

now() { cut -d' ' -f1 /proc/uptime; }
# since T0: seconds elapsed since an earlier $(now), two decimals.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# wait_until SECONDS CMD...: poll CMD every 0.2 s; false once SECONDS of
# uptime have passed (wall time: under a loaded TCG each poll is slow).
wait_until() {
    _end=$(awk -v s="$1" -v n="$(now)" 'BEGIN { print n + s }'); shift
    until "$@" >/dev/null 2>&1; do
        awk -v e="$_end" -v n="$(now)" 'BEGIN { exit !(n < e) }' || return 1
        sleep 0.2
    done
}

# ---- guests ----------------------------------------------------------------

# guest_cfg NAME JOB [CFG-LINE...]: a PV guest config in /tmp/NAME.cfg that
# boots the test guest image and runs guest job JOB (tests/e2e/guest/).
guest_cfg() {
    _name=$1 _job=$2; shift 2
    {
        echo "name = \"$_name\""
        echo 'type = "pv"'
        echo "kernel = \"$GUEST_KERNEL\""
        echo "ramdisk = \"$GUEST_RAMDISK\""
        echo "extra = \"console=hvc0 loglevel=6 qhost.job=$_job e2e.nvme_timeout=$GUEST_NVME_TIMEOUT ${GUEST_EXTRA:-}\""
        echo 'memory = 256'
        echo 'vcpus = 1'
        echo 'on_poweroff = "destroy"'
        echo 'on_crash = "destroy"'
        for _l in "$@"; do echo "$_l"; done
    } >"/tmp/$_name.cfg"
    echo "/tmp/$_name.cfg"
}

guest_log() { echo "$CONSOLE_DIR/guest-$1.log"; }
guest_exists() { xl domid "$1" >/dev/null 2>&1; }
guest_gone() { ! guest_exists "$1"; }
# guest_said NAME PATTERN: the guest's console has a line matching PATTERN.
guest_said() { grep -qE "$2" "$(guest_log "$1")" 2>/dev/null; }
# guest_lines NAME PREFIX: its "GUEST PREFIX ..." lines, prefix removed.
guest_lines() {
    sed -n "s/^GUEST $2 //p" "$(guest_log "$1")" 2>/dev/null | tr -d '\r'
}

# stop_guest NAME: destroy if still there; never fails.
stop_guest() { ! guest_exists "$1" || xl destroy "$1" >/dev/null 2>&1 || true; }

# dump_guest NAME: its console, for the scenario's log on failure.
dump_guest() {
    echo "---- console of guest $1"
    tr -d '\r' <"$(guest_log "$1")" 2>/dev/null | tail -n 60
}

# ---- SR-IOV NVMe (QEMU's emulated controllers) -------------------------------

SYSPCI=/sys/bus/pci/devices

# pf_list: BDFs of the SR-IOV capable NVMe PFs, in bus order.
pf_list() {
    for _d in "$SYSPCI"/*; do
        [ -e "$_d/sriov_totalvfs" ] || continue
        [ "$(cat "$_d/class")" = 0x010802 ] && echo "${_d##*/}"
    done | sort
}

# pf_ctrl PF: the nvme character device name of PF's controller (nvme0).
pf_ctrl() {
    for _c in "$SYSPCI/$1"/nvme/nvme*; do
        [ -e "$_c" ] && echo "${_c##*/}" && return 0
    done
    return 1
}
# pf_ns PF: its first namespace block device (/dev/nvme0n1).
pf_ns() { _c=$(pf_ctrl "$1") && [ -n "$_c" ] && echo "/dev/${_c}n1"; }
# vf_bdf PF INDEX: BDF of the PF's VF INDEX (0-based).
vf_bdf() { _l=$(readlink "$SYSPCI/$1/virtfn$2") && echo "${_l##*/}"; }
numvfs() { cat "$SYSPCI/$1/sriov_numvfs"; }

# online_secondary CTRL CNTLID VQ VI: give the secondary controller CNTLID
# (VF n has cntlid n here) flexible queue (VQ) and interrupt (VI) resources
# and bring it online: NVMe virtualization management (act 7 offline, 8
# assign, 9 online; rt 0 VQ, 1 VI). This is the PF driver's work that the
# PF agent will own.
online_secondary() {
    nvme virt-mgmt "/dev/$1" -c "$2" -a 7 >/dev/null &&
        nvme virt-mgmt "/dev/$1" -c "$2" -r 1 -a 8 -n "$4" >/dev/null &&
        nvme virt-mgmt "/dev/$1" -c "$2" -r 0 -a 8 -n "$3" >/dev/null &&
        nvme virt-mgmt "/dev/$1" -c "$2" -r 0 -a 9 -n 0 >/dev/null
}

# secondary_online CTRL CNTLID: list-secondary reports it online.
secondary_online() {
    nvme list-secondary "/dev/$1" 2>/dev/null |
        awk -v id="$(printf '0x%04x' "$2")" '
            /Secondary Controller Identifier/ { cur = $NF }
            /Secondary Controller State/ && cur == id { print $NF }' |
        grep -q '(Online)'
}

# enable_vfs PF N: N VFs with their secondary controllers online, bindable.
# While sriov_drivers_autoprobe is 0 the kernel refuses every bind of a VF
# with ENODEV (pciback too), so it goes back to 1 once resources are set;
# with 0 during creation, dom0's nvme driver does not probe a VF whose
# controller is still offline.
enable_vfs() {
    _pf=$1 _n=$2 _c=$(pf_ctrl "$1")
    [ -n "$_c" ] || { info "$_pf has no nvme controller in dom0"; return 1; }
    echo 0 >"$SYSPCI/$_pf/sriov_drivers_autoprobe"
    echo "$_n" >"$SYSPCI/$_pf/sriov_numvfs" || return 1
    _i=1
    while [ $_i -le "$_n" ]; do
        online_secondary "$_c" $_i 2 1 || { info "virt-mgmt on $_c cntlid $_i failed"; return 1; }
        _i=$((_i + 1))
    done
    echo 1 >"$SYSPCI/$_pf/sriov_drivers_autoprobe"
}

# disable_vfs PF: NumVFs back to 0.
disable_vfs() { echo 0 >"$SYSPCI/$1/sriov_numvfs"; }

# ---- the SR-IOV NIC (QEMU 10's igb, an 82576; run-host --nic) -------------

# ip: iproute2's, always. The scenarios run under busybox's sh (dom0/run's
# busybox timeout starts its own sh applet), which prefers its applets to
# PATH, and busybox's ip has no `vf` in `ip link` nor `ip neigh replace`.
ip() { /bin/ip "$@"; }

# nic_pf: the BDF of the igb PF (82576, 8086:10c9), empty when absent.
nic_pf() {
    for _d in "$SYSPCI"/*; do
        [ "$(cat "$_d/vendor" 2>/dev/null)" = 0x8086 ] &&
            [ "$(cat "$_d/device" 2>/dev/null)" = 0x10c9 ] &&
            [ -e "$_d/sriov_totalvfs" ] && echo "${_d##*/}" && return 0
    done
    return 1
}
# nic_ifname PF: the PF's netdev (the first entry of its net/), if bound.
nic_ifname() {
    for _n in "$SYSPCI/$1"/net/*; do
        [ -e "$_n" ] && echo "${_n##*/}" && return 0
    done
    return 1
}
# have_nic NAME: true when this machine has the igb PF. Otherwise, when
# run-host said why it added none (qhost.nic=none:..., QEMU 7.2), SKIP NAME
# with that reason and false; when it says it added one that dom0 cannot
# find, FAIL NAME.
have_nic() {
    _why=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^qhost\.nic=//p')
    if [ "$_why" = igb ]; then
        nic_pf >/dev/null && return 0
        e2e_fail "$1" "run-host added an igb PF but dom0 has no 8086:10c9 with SR-IOV"
        lspci -nn
        return 1
    fi
    e2e_skip "$1" "no SR-IOV NIC in this machine: ${_why:-run-host said nothing (qhost.nic=)}"
    return 1
}

# ---- O_DIRECT block I/O (busybox dd) -----------------------------------------

# put_token DEV MIB TOKEN: TOKEN at MIB MiB of DEV, bypassing the page cache.
put_token() {
    { printf '%s\n' "$3"; dd if=/dev/zero bs=4096 count=1 2>/dev/null; } |
        dd of="$1" bs=4096 count=1 seek=$(($2 * 256)) iflag=fullblock \
            oflag=direct conv=notrunc 2>/dev/null
}
# get_token DEV MIB: the first line at MIB MiB of DEV, read with O_DIRECT.
get_token() {
    dd if="$1" bs=4096 count=1 skip=$(($2 * 256)) iflag=direct 2>/dev/null |
        head -n 1 | tr -cd 'A-Za-z0-9._-'
}

# ---- xenvf: the project's daemon, CLI and libxl plugin in dom0 ---------------
# The image carries them at their installed paths (E2E_DOM0_OVERLAY, e2e.mk);
# they run with their defaults, as on a real host, without systemd.

XENVF_MAP=/etc/xen/xenvf.xml
XENVF_STATE_DIR=/var/lib/xenvf
XENVF_SOCKET=/run/xenvf/tcb.sock
XENVF_PLUGIN=/usr/lib/xenvf/libxenvf-xl.so
export XENVF_PLUGIN
# one log and pid file per role: xenvfd_log tcb, xenvfd_log agent
xenvfd_log() { echo "/var/log/xenvfd-$1.log"; }
xenvfd_pidfile() { echo "/run/xenvfd-$1.pid"; }
# have_xenvf: the image has the daemon and the CLI (and, with "plugin", the
# libxl plugin); otherwise FAIL NAME saying what is missing.
have_xenvf() {
    _n=$1 _miss=
    for _f in /usr/sbin/xenvfd /usr/sbin/xenvf; do
        [ -x "$_f" ] || _miss="$_miss $_f"
    done
    [ "${2:-}" != plugin ] || [ -f "$XENVF_PLUGIN" ] || _miss="$_miss $XENVF_PLUGIN"
    [ -z "$_miss" ] && return 0
    e2e_fail "$_n" "not in dom0's image:$_miss (E2E_DOM0_OVERLAY)"
    return 1
}

# migrate_local NAME LOG [XENVF_MIGRATE] [-p]: xl migrate NAME to localhost,
# both sides with the plugin (-s "": the host argument is the receiver's
# command), at most 300 s; -p: the receiver leaves it paused (what xl
# migrate -p asks of an ssh receiver)
migrate_local() {
    timeout 300 env LD_PRELOAD="$XENVF_PLUGIN" XENVF_MIGRATE="${3:-}" xl migrate -s "" "$1" \
        "env LD_PRELOAD=$XENVF_PLUGIN xl migrate-receive ${4:-}" >"$2" 2>&1
}

# gexec NAME CMD: CMD run by sh in guest NAME (a guest job that serves:
# cmd, nic), its output on stdout; returns CMD's status (99: no domain,
# 98: no answer in 60 s).
GEXEC_SEQ=/tmp/gexec.seq
gexec() {
    _d=$(xl domid "$1" 2>/dev/null) || return 99
    _s=$(($(cat "$GEXEC_SEQ" 2>/dev/null || echo 0) + 1))
    echo "$_s" >"$GEXEC_SEQ"
    xenstore-write "/local/domain/$_d/data/e2e-cmd" "$_s:$2"
    if ! wait_until 60 sh -c "xenstore-read /local/domain/$_d/data/e2e-rc | grep -q '^$_s '"; then
        echo "(no answer from $1 to '$2')"
        return 98
    fi
    # xenstore-read escapes a newline as \n
    xenstore-read "/local/domain/$_d/data/e2e-out" 2>/dev/null | sed 's/\\n/\n/g'
    _r=$(xenstore-read "/local/domain/$_d/data/e2e-rc")
    return "${_r#* }"
}

# pv_disk_setup: what blkback needs in dom0 for a phy: disk. The tier's
# dom0 has none of Xen's hotplug scripts (/etc/xen/scripts is empty;
# Debian's xen-utils-common ships them, in bash, which the image lacks):
# the "block" script's work for a block device, said in a few lines, in
# its place; and xen-blkback, not among dom0-init's modules.
pv_disk_setup() {
    mkdir -p /etc/xen/scripts
    cat >/etc/xen/scripts/block <<'EOB'
#!/bin/sh
[ "$1" = add ] || exit 0
_dev=$(xenstore-read "$XENBUS_PATH/params") || exit 1
_mm=$(cat "/sys/class/block/${_dev##*/}/dev") || exit 1
xenstore-write "$XENBUS_PATH/physical-device" "$(printf '%x:%x' "${_mm%%:*}" "${_mm##*:}")" \
    "$XENBUS_PATH/physical-device-path" "$_dev" "$XENBUS_PATH/hotplug-status" connected
EOB
    chmod 755 /etc/xen/scripts/block
    modprobe xen-blkback
}

# ns2_dev CTRL: dom0's block device of namespace 2 on controller CTRL
# (there while the I/O switch's PF path is: docs/migration.md)
ns2_dev() {
    for _b in /sys/block/"$1"n*; do
        [ -e "$_b/nsid" ] && [ "$(cat "$_b/nsid")" = 2 ] && echo "/dev/${_b##*/}" && return 0
    done
    return 1
}

# paused_in LOG: the guest's pause of the move the plugin logged there
paused_in() { sed -n "s/.*'\(pv\|vf\) paused=\([0-9.]*\)'.*/\2/p" "$1" | tail -n 1; }

# switch_path_undone NAME CTRL: NAME has no PV disk, and namespace 2 is off
# CTRL (the PF path of the switch gone)
switch_path_undone() { [ -z "$(xl block-list "$1" | tail -n +2)" ] && [ -z "$(ns2_dev "$2")" ]; }

# switch_loop_ok CHECK NAME: stop NAME's switch-io loop (data/e2e-stop,
# under its domain id now); CHECK passes when it ended with no failed read
# or write
switch_loop_ok() {
    xenstore-write "/local/domain/$(xl domid "$2")/data/e2e-stop" 1
    wait_until 60 guest_said "$2" '^GUEST LOOP ok='
    guest_lines "$2" LOOP
    check "$1" "$2's I/O failed across the moves: $(guest_lines "$2" LOOP | tail -n 1)" \
        guest_said "$2" '^GUEST LOOP ok=[0-9]+ bad=0'
}

# switch_back_checks PREFIX NAME LOG CTRL: after xl restore or xl
# migrate-receive brought NAME (guest job switch-io on VF 0 of nvme0, PF
# controller CTRL) back and the plugin moved its I/O back (its lines in
# LOG): PREFIX-back (the plugin said so; the pause as
# migrate-io-pause-back), -back-node (vf/0/switch says vf), -back-io (the
# guest's I/O goes on), -path-undone (no PV disk, namespace 2 off the PF),
# -books (VF 0 is NAME's, the only one active). Its variables are its own
# (_sb_*): check and the e2e_* helpers set _n.
switch_back_checks() {
    _sb_name=$2 _sb_log=$3 _sb_ctrl=$4
    _sb_node="/local/domain/$(xl domid "$_sb_name")/xenvf/vf/0/switch"
    check "$1-back" "the plugin did not say $_sb_name's I/O is on its VF again: $(grep xenvf "$_sb_log" | tail -n 2)" \
        grep -q "I/O is on its VFs again" "$_sb_log"
    e2e_time migrate-io-pause-back "$(paused_in "$_sb_log")"
    check "$1-back-node" "vf/0/switch of $_sb_name is '$(xenstore-read "$_sb_node" 2>/dev/null)', not vf" \
        sh -c "xenstore-read $_sb_node | grep -qE '^vf( paused=.*)?\$'"
    _sb_ticks=$(guest_lines "$_sb_name" TICK | wc -l)
    check "$1-back-io" "$_sb_name's I/O did not go on on its VF (ticks $(guest_lines "$_sb_name" TICK | wc -l), were $_sb_ticks)" \
        wait_until 90 sh -c "test \$(grep -c '^GUEST TICK' $(guest_log "$_sb_name")) -ge $((_sb_ticks + 2))"
    guest_lines "$_sb_name" SWITCH | tail -n 4
    check "$1-path-undone" "after the way back: $_sb_name's disks '$(xl block-list "$_sb_name" | tail -n +2 | tr '\n' ' ')', namespace 2 on $_sb_ctrl '$(ns2_dev "$_sb_ctrl")'" \
        wait_until 30 switch_path_undone "$_sb_name" "$_sb_ctrl"
    check "$1-books" "after the move: $(vf_line 0), nvme0 $(xenvf_row nvme0), $_sb_name is $(xl domid "$_sb_name")" \
        sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/domain)\" = $(xl domid "$_sb_name") ] && [ \"\$(xenstore-read /xenvf/pf/nvme0/active)\" = 1 ]"
}

# xl with the xenvf plugin preloaded, as the installed xl wrapper does
# (libxl-plugin/xl-divert): it understands vf= and gates the unpause.
xlv() { LD_PRELOAD=$XENVF_PLUGIN xl "$@"; }

# write_map PF0-NUMVFS PF1-NUMVFS [PF1-OWNER]: the VF map naming the two
# emulated PFs nvme0 and nvme1 (nvme1's driver in domain PF1-OWNER, default
# dom0), written atomically (the TCB watches for rename-into-place). With
# NET0_NUMVFS set, the igb PF too, as net0 (NET0_VFS: its <vf> lines).
write_map() {
    _pf0=$(pf_list | sed -n 1p) _pf1=$(pf_list | sed -n 2p)
    {
        echo '<?xml version="1.0" encoding="UTF-8"?>'
        echo '<vfmap xmlns="urn:xenvf:vfmap:1">'
        if [ "$1" -gt 0 ]; then
            # VF 0's own disk: namespace 2, detached until the PF agent
            # attaches it (run-host)
            echo "  <pf id=\"nvme0\" address=\"$_pf0\" numvfs=\"$1\">"
            echo "    <vf index=\"0\"><namespace nsid=\"2\" size=\"32M\"/></vf>"
            echo "  </pf>"
        else
            echo "  <pf id=\"nvme0\" address=\"$_pf0\" numvfs=\"$1\"/>"
        fi
        [ -z "$_pf1" ] || echo "  <pf id=\"nvme1\" address=\"$_pf1\" numvfs=\"$2\" owner=\"${3:-0}\"/>"
        if [ -n "${NET0_NUMVFS:-}" ]; then
            echo "  <pf id=\"net0\" address=\"$(nic_pf)\" numvfs=\"$NET0_NUMVFS\">"
            [ -z "${NET0_VFS:-}" ] || printf '    %s\n' "$NET0_VFS"
            echo "  </pf>"
        fi
        echo '</vfmap>'
    } >"$XENVF_MAP.tmp"
    mv "$XENVF_MAP.tmp" "$XENVF_MAP"
}

# The two roles run as two processes in dom0 (the one-domain topology), so
# that a scenario can hold the PF agent back or kill either.
xenvfd_pid() { cat "$(xenvfd_pidfile "$1")" 2>/dev/null; }
# xenvfd_running ROLE: tcb or agent
xenvfd_running() {
    _p=$(xenvfd_pid "$1") && [ -n "$_p" ] && [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = xenvfd ]
}

# xenvfd_start ROLE: xenvfd --role=tcb or --role=pf-agent, with the default
# paths, in its own session so that it outlives the scenario that started
# it; its log lines append to $(xenvfd_log ROLE).
xenvfd_start() {
    mkdir -p "${XENVF_SOCKET%/*}" "$XENVF_STATE_DIR"
    echo "---- xenvfd --role=$1 started at uptime $(now)" >>"$(xenvfd_log "$1")"
    case $1 in
        tcb) setsid xenvfd --role=tcb --map="$XENVF_MAP" --state-dir="$XENVF_STATE_DIR" \
                 --socket="$XENVF_SOCKET" >>"$(xenvfd_log tcb)" 2>&1 </dev/null & ;;
        agent) setsid xenvfd --role=pf-agent >>"$(xenvfd_log agent)" 2>&1 </dev/null & ;;
    esac
    echo $! >"$(xenvfd_pidfile "$1")"
}

# xenvfd_kill ROLE SIGNAL: stop one (TERM, or KILL for a crash) and wait
# until it is gone.
xenvfd_kill() {
    _p=$(xenvfd_pid "$1") || return 0
    kill "-$2" "$_p" 2>/dev/null || true
    wait_until 20 sh -c "! test -e /proc/$_p"
    rm -f "$(xenvfd_pidfile "$1")"
}

# xs_pf PF NODE: /xenvf/pf/PF/NODE, empty when absent.
xs_pf() { xenstore-read "/xenvf/pf/$1/$2" 2>/dev/null; }
pf_ready() { [ "$(xs_pf "$1" state)" = ready ]; }
pf_not_ready() { ! pf_ready "$1"; }
# pf_settled PF N: the TCB published NumVFs N and the agent says ready.
pf_settled() { [ "$(xs_pf "$1" numvfs)" = "$2" ] && pf_ready "$1"; }
# pfs_settled N: both PFs (nvme0, nvme1) settled at N VFs.
pfs_settled() { pf_settled nvme0 "$1" && pf_settled nvme1 "$1"; }
# pf_all_free PF N: `xenvf list` shows N VFs, all free, none held, ready.
pf_all_free() { [ "$(xenvf_row "$1")" = "$2 $2 0 0 ready" ]; }
# vf_state PF INDEX: the TCB's state of that VF (free, reserved, active...).
vf_state() { xs_pf "$1" "vf/$2/state"; }
# vf_line INDEX: nvme0's VF INDEX as "vfINDEX=STATE@DOMID"; books WHAT: a
# FACT line with nvme0's `xenvf list` row and its VFs 0-2 (a scenario may
# define its own vf_line: nic-vf does).
vf_line() { echo "vf$1=$(vf_state nvme0 "$1")@$(xs_pf nvme0 "vf/$1/domain")"; }
books() { e2e_fact "$1: nvme0 $(xenvf_row nvme0); $(vf_line 0) $(vf_line 1) $(vf_line 2)"; }

# xenvfd_tail N: the last N lines of both logs, for a scenario's log.
xenvfd_tail() {
    for _r in tcb agent; do
        echo "---- xenvfd $_r log (tail)"
        tail -n "$1" "$(xenvfd_log $_r)" 2>/dev/null
    done
}

# xenvf_up NUMVFS: xenvfd running (TCB and PF agent) with nvme0 at NUMVFS
# VFs, every one set up and the PF ready. The xenvf scenarios run in order
# and leave exactly that; when one runs alone, this starts xenvfd on a
# clean machine (nvme1 managed with no VFs).
xenvf_up() {
    if ! xenvfd_running tcb; then
        release_vfs_by_hand
        write_map "$1" 0
        xenvfd_start tcb
        # a TCB that ran before left its nodes: "settled" must be this one's
        # word, so wait for its socket first
        wait_until 60 test -S "$XENVF_SOCKET" || return 1
    fi
    xenvfd_running agent || xenvfd_start agent
    wait_until 120 pf_settled nvme0 "$1"
}

# xl_state NAME: the state column of `xl list NAME` (r, b, p, ...: "--p---").
xl_state() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
# xl_cpu_time NAME: its vCPU time in seconds, from `xl list`.
xl_cpu_time() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $6 }'; }
# domain_unpaused NAME: it exists and `xl list` does not say paused.
domain_unpaused() {
    _s=$(xl_state "$1")
    [ -n "$_s" ] && case $_s in *p*) false ;; *) true ;; esac
}

# guest_time NAME KEY: a "GUEST TIME KEY SECONDS" value the guest reported.
guest_time() { guest_lines "$1" TIME | awk -v k="$2" '$1 == k { print $2; exit }'; }

# xenvf_row PF: the PF's line of `xenvf list` as "NUMVFS FREE RSVD ACTIVE STATE".
xenvf_row() { xenvf list 2>/dev/null | awk -v p="$1" '$1 == p { print $5, $6, $7, $8, $9 }'; }

# release_vfs_by_hand: undo what earlier hand-made scenarios left on the
# PFs (VFs assignable to pciback, NumVFs set), so xenvfd starts from a
# clean machine. Never while xenvfd manages them.
release_vfs_by_hand() {
    for _pf in $(pf_list); do
        for _l in "$SYSPCI/$_pf"/virtfn*; do
            [ -e "$_l" ] || continue
            _vf=$(basename "$(readlink "$_l")")
            if xl pci-assignable-list 2>/dev/null | grep -q "$_vf"; then
                xl pci-assignable-remove "$_vf" >/dev/null 2>&1 || true
            fi
        done
        [ "$(numvfs "$_pf")" = 0 ] || disable_vfs "$_pf"
    done
}

# start_create NAME CFG [ARGS]: `xl create` with the plugin in the
# background, its output in /tmp/NAME.create.log, xl's pid in
# /tmp/NAME.create.pid and, when it returns, its exit status in
# /tmp/NAME.create.rc (a waited-for pid could be a zombie).
start_create() {
    _n=$1 _c=$2; shift 2
    rm -f "/tmp/$_n.create.rc" "/tmp/$_n.create.pid"
    (
        # shellcheck disable=SC2016 # $$ and $0 belong to the inner sh
        sh -c 'echo $$ >"$0"; exec env LD_PRELOAD="$XENVF_PLUGIN" xl create "$@"' \
            "/tmp/$_n.create.pid" "$_c" "$@" >"/tmp/$_n.create.log" 2>&1
        echo $? >"/tmp/$_n.create.rc"
    ) &
}
create_pid() { cat "/tmp/$1.create.pid" 2>/dev/null; }
create_done() { [ -s "/tmp/$1.create.rc" ]; }
create_running() { ! create_done "$1"; }
create_rc() { cat "/tmp/$1.create.rc"; }

# domain_paused NAME: `xl list` says paused and no vCPU time was used.
domain_paused() {
    case $(xl_state "$1") in *p*) ;; *) return 1 ;; esac
    [ "$(xl_cpu_time "$1")" = 0.0 ]
}

# guest_vf_index NAME [N]: the index of the guest's VF N (default 0), from
# the guest's own nodes the plugin publishes.
guest_vf_index() {
    xenstore-read "/local/domain/$(xl domid "$1")/xenvf/vf/${2:-0}/index" 2>/dev/null
}

# guest_nodes_left: domains other than dom0 that still have xenvf nodes.
guest_nodes_left() {
    xenstore-list /local/domain 2>/dev/null | while read -r _d; do
        [ "$_d" = 0 ] || ! xenstore-exists "/local/domain/$_d/xenvf" 2>/dev/null || echo "$_d"
    done
}

# ---- FLASK (the FLASK boot: make e2e E2E_XEN=flask; docs/xsm.md) -----------
# The flask-* scenarios run on a hypervisor built with XSM/FLASK, booted
# enforcing with the project's policy. Denials are Xen's AVC lines in
# `xl dmesg` ("avc:  denied  { PERM } for ... scontext=... tcontext=...").

# shellcheck disable=SC2034 # used by the flask-* scenarios
FLASK_GUEST_LABEL=system_u:system_r:xenvf_guest_t
# shellcheck disable=SC2034
FLASK_DRV_LABEL=system_u:system_r:xenvf_drv_t

flask_enforcing() { [ "$(xl getenforce 2>/dev/null)" = Enforcing ]; }
# have_flask NAME: FAIL NAME unless this boot enforces FLASK.
have_flask() {
    flask_enforcing && return 0
    e2e_fail "$1" "Xen does not enforce FLASK here (xl getenforce: '$(xl getenforce 2>&1)'): run make e2e E2E_XEN=flask"
    return 1
}
# avc_lines: every AVC denial Xen has logged since it booted.
avc_lines() { xl dmesg 2>/dev/null | grep 'avc: *denied' | tr -d '\r'; }
avc_count() { avc_lines | grep -c .; }
# avc_since N: the denials after the first N.
avc_since() { avc_lines | tail -n +"$(($1 + 1))"; }
# domain_label NAME: its security label, from `xl list -Z`.
domain_label() { xl list -Z "$1" 2>/dev/null | awk 'NR == 2 { print $NF }'; }
