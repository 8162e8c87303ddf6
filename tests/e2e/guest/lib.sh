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

# wait_namespaces: one namespace per NVMe function pcifront shows.
wait_namespaces() {
    _want=$(lspci -n | grep -c ' 0108: ')
    _i=0
    while [ "$(find /dev -name 'nvme*n1' | wc -l)" -lt "$_want" ] && [ $_i -lt 1200 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
}
namespaces() { find /dev -name 'nvme*n1' | sort; }
