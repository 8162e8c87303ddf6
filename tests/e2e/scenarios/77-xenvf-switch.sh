#!/bin/sh
# Scenario xenvf-switch (issue 15's switch: docs/migration.md). A guest
# (job switch-io) does I/O on /dev/mapper/xenvf-vf0, which its xenvf-guest
# keeps over its VF's own disk (namespace 2, VF 0's in the map).
#  1. xl migrate to localhost: the plugin moves the I/O to the PF path and
#     unplugs the VF, then Xen refuses: it cannot live-migrate any PV guest
#     (EOPNOTSUPP, 95, on log-dirty mode: the hypervisor is built without
#     CONFIG_SHADOW_PAGING); the plugin moves the I/O back before xl
#     resumes the domain, which runs on with its VF. (HVM guests migrate:
#     scenario hvm-migrate, on Xen 4.20.)
#  2. The switch under I/O, driven by xl save and xl restore: xl save (the
#     plugin, iomove.h) attaches namespace 2 to the PF's own controller,
#     offers it to the guest as xvdb (blkback), asks the guest to switch
#     ("pv xvdb"), unplugs the VF (xenvfd resets and frees it) and saves;
#     xl restore brings the domain back, plugs VF 0 again (the books
#     follow), asks the guest back ("vf"), unplugs xvdb and detaches the
#     namespace from the PF. The loop must see no failed read or write;
#     the pauses (the guest's suspend to resume, from the plugin's lines)
#     are printed as migrate-io-pause-out and -back.
# shellcheck source=../dom0/lib.sh
. /e2e/lib.sh
have_xenvf xenvf-switch plugin || exit 1

NVF=3
RUN=$(date +%s)
# the guest's I/O loop runs until dom0 stops it after the way back (at
# most this long)
LOOP_SECS=400

sw_node() { echo "/local/domain/$(xl domid s1)/xenvf/vf/0/$1"; }

# xl save and xl restore move the I/O: the plugin (iomove.h) attaches
# namespace 2 to the PF's own controller, block-attaches it as xvdb, asks
# the guest to switch ("pv xvdb") and unplugs the VF before xl takes the
# config; xl restore plugs VF 0 again once the domain runs, asks the
# guest back ("vf"), unplugs xvdb and detaches the namespace from the PF.
switch_io() {
    _ctrl=$(pf_ctrl "$(pf_list | sed -n 1p)")
    _cfg=$(GUEST_EXTRA="e2e.token=W$RUN e2e.secs=$LOOP_SECS" guest_cfg s1 switch-io 'vf = [ "pf=nvme0" ]')
    xlv create "$_cfg" >/tmp/s1.create.log 2>&1 ||
        { e2e_fail migrate-switch-setup "xl create s1 failed"; cat /tmp/s1.create.log; return 1; }
    [ "$(guest_vf_index s1)" = 0 ] ||
        { e2e_fail migrate-switch-setup "s1 got nvme0#$(guest_vf_index s1), not VF 0 (the one with namespace 2)"; return 1; }
    check migrate-switch-guest "s1's xenvf-guest does not serve the switch or its I/O did not start: $(guest_lines s1 SWITCH | tail -n 2)" \
        wait_until 180 sh -c "grep -q '^GUEST TICK 3 ok' $(guest_log s1)" || return 1
    guest_lines s1 SWITCH
    check migrate-switch-offered "vf/0/switch is '$(xenstore-read "$(sw_node switch)")', not vf" \
        [ "$(xenstore-read "$(sw_node switch)")" = vf ] || return 1
    books "s1 ($(xl domid s1)) on nvme0#0"
    pv_disk_setup

    # xl migrate: the plugin moves the I/O out, Xen cannot live-migrate a
    # PV guest (log-dirty mode needs shadow paging, which Debian's Xen is
    # built without), the plugin moves it back: the same domain runs on
    # its VF
    _d=$(xl domid s1) _t0=$(now)
    migrate_local s1 /tmp/s1.migrate.log
    _rc=$?
    e2e_time migrate-pv-refused "$(since "$_t0")"
    grep -E 'xenvf|logdirty' /tmp/s1.migrate.log | tail -n 12
    e2e_fact "xl migrate of s1 (PV) exited $_rc: $(grep -m 1 logdirty /tmp/s1.migrate.log); xen: $(xl info | awk '/^xen_version/ { print $3 }')"
    check migrate-pv-no-logdirty "xl migrate of s1 (PV) exited $_rc without Xen's EOPNOTSUPP on log-dirty" \
        sh -c "[ $_rc != 0 ] && grep -q 'Failed to enable logdirty: 95,' /tmp/s1.migrate.log"
    check migrate-pv-moved-back "the plugin did not move s1's I/O to xvdb and back around the failed migration: $(grep xenvf /tmp/s1.migrate.log | tail -n 2)" \
        sh -c "grep -q 'on the PV disk xvdb' /tmp/s1.migrate.log && grep -q 'I/O is on its VFs again' /tmp/s1.migrate.log"
    check migrate-pv-runs-on-vf "after it: s1 is '$(xl domid s1)' (was $_d), $(vf_line 0), vf/0/switch '$(xenstore-read "$(sw_node switch)")'" \
        wait_until 60 sh -c "[ \"\$(xl domid s1)\" = $_d ] && ! xl domid s1--incoming >/dev/null 2>&1 && [ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/domain)\" = $_d ] && xenstore-read $(sw_node switch) | grep -q '^vf'"

    # a file xl cannot write: nothing moved, the guest keeps its VF
    xlv save s1 /nonexistent/s1.save >/tmp/s1.badsave.log 2>&1
    _rc=$?
    grep -E 'xenvf|Failed' /tmp/s1.badsave.log
    check migrate-switch-badfile "xl save to /nonexistent exited $_rc without the plugin saying it moves nothing: $(tail -n 2 /tmp/s1.badsave.log)" \
        sh -c "[ $_rc != 0 ] && grep -q 'cannot write /nonexistent/s1.save: the guest.s I/O is not moved' /tmp/s1.badsave.log"
    check migrate-switch-badfile-kept "after it: vf/0/switch '$(xenstore-read "$(sw_node switch)")', $(vf_line 0), s1 is $(xl domid s1)" \
        sh -c "xenstore-read $(sw_node switch) | grep -qE '^vf( paused=.*)?\$' && [ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/domain)\" = $(xl domid s1) ]"

    # out: xl save moves the I/O to the PF path, unplugs the VF, saves
    _t0=$(now)
    xlv save s1 /tmp/s1.save >/tmp/s1.save.log 2>&1
    _rc=$?
    e2e_time migrate-switch-save "$(since "$_t0")"
    grep 'xenvf' /tmp/s1.save.log
    check migrate-switch-save "xl save s1 exited $_rc: $(tail -n 3 /tmp/s1.save.log)" [ $_rc = 0 ] || return 1
    check migrate-switch-out "xl save did not say the guest's I/O went to xvdb through the PF: $(grep -m 1 xenvf /tmp/s1.save.log)" \
        grep -q "nvme0#0: the guest's I/O is on the PV disk xvdb" /tmp/s1.save.log || return 1
    e2e_time migrate-io-pause-out "$(paused_in /tmp/s1.save.log)"
    _dev=$(ns2_dev "$_ctrl")
    e2e_fact "while saved: namespace 2 on $_ctrl is '$_dev'; $(vf_line 0)"
    check migrate-path-pf "namespace 2 is not on the PF's controller $_ctrl while s1 is saved" [ -n "$_dev" ]
    check migrate-switch-vf-free "nvme0#0 is '$(vf_line 0)' while s1 is saved, not free (reset)" \
        wait_until 60 sh -c "[ \"\$(xenstore-read /xenvf/pf/nvme0/vf/0/state)\" = free ]"
    books "s1 saved"

    # back: xl restore, then the plugin moves the I/O back to VF 0
    _t0=$(now)
    xlv restore /tmp/s1.save >/tmp/s1.restore.log 2>&1
    _rc=$?
    e2e_time migrate-switch-restore "$(since "$_t0")"
    rm -f /tmp/s1.save
    grep 'xenvf' /tmp/s1.restore.log
    check migrate-switch-restore "xl restore s1 exited $_rc: $(tail -n 3 /tmp/s1.restore.log)" [ $_rc = 0 ] || return 1
    books "s1 restored as $(xl domid s1)"
    switch_back_checks migrate-switch s1 /tmp/s1.restore.log "$_ctrl"
    switch_loop_ok migrate-switch-io s1
}

if ! xenvf_up $NVF; then
    e2e_fail migrate-setup "xenvfd did not bring nvme0 to $NVF ready VFs"; xenvfd_tail 30; exit 1
fi
switch_io || dump_guest s1
stop_guest s1
check migrate-switch-vfs-freed "after the guests, nvme0 is '$(xenvf_row nvme0)', not all $NVF VFs free" \
    wait_until 60 pf_all_free nvme0 $NVF
