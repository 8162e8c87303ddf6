# shellcheck shell=sh
# Helpers of the guest jobs (sourced from /qhost/jobs/lib.sh): the kernel
# command line, the NVMe driver on the VFs pcifront gave the guest, and
# O_DIRECT block I/O on their namespaces (which are the PFs' namespaces, so
# dom0 can check through the PF what a guest wrote).

# arg NAME: the value of NAME= on the kernel command line (shell builtins
# only: no fork, nothing to lose).
arg() {
    read -r _cmdline </proc/cmdline
    _val=
    for _w in $_cmdline; do
        case $_w in "$1="*) _val=${_w#*=} ;; esac
    done
    echo "$_val"
}
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "GUEST $*"; }
since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }

tok() { head -n 1 | tr -cd 'A-Za-z0-9._-'; }
# read_at DEV MIB / write_at DEV MIB TOKEN: a token line at MIB MiB, O_DIRECT
read_at() { dd if="$1" bs=4096 count=1 skip=$(($2 * 256)) iflag=direct 2>/dev/null | tok; }
write_at() {
    { printf '%s\n' "$3"; dd if=/dev/zero bs=4096 count=1 2>/dev/null; } |
        dd of="$1" bs=4096 count=1 seek=$(($2 * 256)) iflag=fullblock \
            oflag=direct conv=notrunc 2>/dev/null
}

# load_nvme: the driver, with the short timeouts polled completion needs
# (docs/e2e.md: MSI-X cannot be re-enabled in a 6.1 PV guest).
load_nvme() {
    _t=$(arg e2e.nvme_timeout)
    if [ -n "$_t" ]; then
        modprobe nvme-core admin_timeout="$_t" io_timeout="$_t"
    fi
    modprobe nvme
}

# ns_with NSID: the block devices of namespace NSID (by its nsid, not by
# the name's instance number, which the kernel hands out in probe order)
ns_with() {
    for _d in /dev/nvme*n*; do
        [ -b "$_d" ] || continue
        [ "$(cat "/sys/block/${_d#/dev/}/nsid" 2>/dev/null)" = "$1" ] && echo "$_d"
    done | sort
}
# namespaces: the PFs' namespace 1, shared with every VF (run-host);
# vf_disks: namespace 2, each PF's disk the VF map gives one VF
namespaces() { ns_with 1; }
vf_disks() { ns_with 2; }

# wait_namespaces: namespace 1 of each NVMe function pcifront shows.
wait_namespaces() {
    _want=$(lspci -n | grep -c ' 0108: ')
    _i=0
    while [ "$(namespaces | wc -l)" -lt "$_want" ] && [ $_i -lt 600 ]; do
        sleep 0.2
        _i=$((_i + 1))
    done
}

# serve: run what dom0 asks, one command at a time, through this guest's
# own xenstore nodes (dom0's gexec): dom0 writes "SEQ:COMMAND" to
# data/e2e-cmd; the guest runs COMMAND with sh and answers in data/e2e-out
# (its output) and data/e2e-rc ("SEQ STATUS"). Every command and its
# status also go to the console. Never returns.
serve() {
    _last=
    while :; do
        _c=$(xenstore-read data/e2e-cmd 2>/dev/null) || _c=
        _seq=${_c%%:*}
        if [ -n "$_c" ] && [ "$_seq" != "$_last" ]; then
            _last=$_seq
            say "EXEC $_seq ${_c#*:}"
            _out=$(sh -c "${_c#*:}" 2>&1)
            _rc=$?
            printf '%s\n' "$_out" | head -n 20 | sed "s/^/GUEST OUT $_seq /"
            xenstore-write data/e2e-out "$(printf '%s' "$_out" | head -c 3000)"
            xenstore-write data/e2e-rc "$_seq $_rc"
        fi
        sleep 0.3
    done
}
