# shellcheck shell=sh
# Shared helpers of the Xen-in-QEMU host builder. Sourced, not run.
#
# Every image is built from files of the build machine (host binaries and
# their libraries) plus the unpacked Debian kernel, so nothing here needs the
# network except fetch-debs.

# Where a builder's outputs go; the top Makefile's B plus /qemu by default.
: "${QEMU_BUILD:=build/qemu}"
mkdir -p "$QEMU_BUILD"
QEMU_BUILD=$(cd "$QEMU_BUILD" && pwd)

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The kernel release of the unpacked linux-image (written by unpack-debs).
kernel_release() {
    cat "$QEMU_BUILD/kernel/release" 2>/dev/null ||
        die "no unpacked kernel in $QEMU_BUILD/kernel (run unpack-debs)"
}

# copy_file ROOT FILE [DEST]: FILE (symlinks followed) to ROOT/DEST.
copy_file() {
    _dst=$1/${3:-$2}
    mkdir -p "${_dst%/*}"
    rm -f "$_dst" # never write through a busybox applet link
    cp -L "$2" "$_dst"
}

# copy_libs ROOT ELF...: the shared libraries each ELF needs, as ldd finds
# them (LD_LIBRARY_PATH is honoured, so an overlay's own .so can be found),
# at the same absolute paths inside ROOT. A library not found is an error:
# the binary would not start in the image either.
copy_libs() {
    _root=$1; shift
    for _elf in "$@"; do
        # ldd fails on static binaries and scripts: nothing to copy then
        _out=$(ldd "$_elf" 2>/dev/null) || continue
        if printf '%s\n' "$_out" | grep -q 'not found'; then
            die "$_elf: $(printf '%s\n' "$_out" | grep 'not found' | tr -s '\t\n' '  ')"
        fi
        printf '%s\n' "$_out" | grep -oE '/[^ ]+' | while read -r _lib; do
            in_overlay "$_lib" || [ -e "$_root$_lib" ] ||
                copy_file "$_root" "$_lib"
        done
    done
}

# in_overlay LIB: LIB lies in one of $OVERLAY_LIBDIRS (the overlay ships it).
in_overlay() {
    _dirs=${OVERLAY_LIBDIRS:-}
    while [ -n "$_dirs" ]; do
        _d=${_dirs%%:*}
        case $1 in "$_d"/*) return 0 ;; esac
        [ "$_d" = "$_dirs" ] && break
        _dirs=${_dirs#*:}
    done
    return 1
}

# copy_bins ROOT FILE...: binaries at their own paths, with their libraries.
copy_bins() {
    _root=$1; shift
    for _b in "$@"; do
        [ -e "$_b" ] || die "missing host binary $_b (make e2e-deps installs it)"
        copy_file "$_root" "$_b"
    done
    copy_libs "$_root" "$@"
}

# base_root ROOT: an empty tree with busybox-static and its applets.
base_root() {
    rm -rf "$1"
    mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin" "$1/proc" \
        "$1/sys" "$1/dev" "$1/run" "$1/tmp" "$1/etc" "$1/root" "$1/var/log"
    [ -x /bin/busybox ] || die "busybox-static is not installed"
    ! ldd /bin/busybox >/dev/null 2>&1 ||
        die "/bin/busybox is not the static one (install busybox-static)"
    cp /bin/busybox "$1/bin/busybox"
    for _a in $(/bin/busybox --list); do
        case $_a in busybox|sh) ;; *) ln -sf busybox "$1/bin/$_a" ;; esac
    done
    # /bin/sh is dash, and dd, head and tr are coreutils' (found first in
    # PATH): added while the random crashes were blamed on busybox; they
    # were not its fault (docs/e2e.md: Xen's lazy FPU switch on QEMU 7.2),
    # and these stay because they cost nothing and match a Debian dom0.
    copy_bins "$1" /bin/dash
    ln -sf dash "$1/bin/sh"
    copy_bins "$1" /usr/bin/dd /usr/bin/head /usr/bin/tr
    # without libgcc_s every libxenstore client (xl in dom0, xenvf-guest
    # in a guest) aborts when it closes its connection ("libgcc_s.so.1
    # must be installed for pthread_cancel to work"): glibc dlopens it, so
    # ldd does not list it (seen in trixie's guest image: nic-vf on 4.20)
    copy_file "$1" /lib/x86_64-linux-gnu/libgcc_s.so.1
    ln -sf ../run "$1/var/run"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$1/etc/passwd"
    printf 'root:x:0:\n' >"$1/etc/group"
}

# xenstore_links ROOT: the xenstore-* commands, one binary
# (/usr/bin/xenstore) that looks at its own name.
xenstore_links() {
    for _t in read write ls list exists rm chmod watch control; do
        [ -e "$1/usr/bin/xenstore-$_t" ] || ln -s xenstore "$1/usr/bin/xenstore-$_t"
    done
}

# copy_modules ROOT MODULE...: the named modules of the unpacked kernel and
# everything they depend on (modprobe --show-depends on the unpacked tree),
# then depmod inside ROOT so busybox modprobe finds them.
copy_modules() {
    _root=$1; shift
    _kver=$(kernel_release)
    _kdir=$QEMU_BUILD/kernel/tree
    for _m in "$@"; do
        _deps=$(modprobe -d "$_kdir" -S "$_kver" --show-depends "$_m") ||
            die "module $_m not in the unpacked kernel"
        printf '%s\n' "$_deps" | awk '$1 == "insmod" { print $2 }' |
            while read -r _ko; do
                _rel=${_ko#"$_kdir"/}
                case $_rel in
                    # trixie's modules are xz'd: the image's busybox
                    # modprobe gets them plain (depmod below renames them)
                    *.ko.xz) _rel=${_rel%.xz}
                        [ -e "$_root/$_rel" ] || {
                            mkdir -p "$_root/${_rel%/*}"
                            xz -dc "$_ko" >"$_root/$_rel"
                        } ;;
                    *) [ -e "$_root/$_rel" ] || copy_file "$_root" "$_ko" "$_rel" ;;
                esac
            done
    done
    for _f in modules.order modules.builtin modules.builtin.modinfo; do
        cp "$_kdir/lib/modules/$_kver/$_f" "$_root/lib/modules/$_kver/"
    done
    depmod -b "$_root" "$_kver"
}

# pack_cpio ROOT OUT [raw]: a newc initramfs, gzip'd unless raw (the
# toolstack would otherwise decompress a guest's ramdisk at every create),
# written atomically.
pack_cpio() {
    (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
        if [ "${3:-}" = raw ]; then cat; else gzip -1; fi >"$2.tmp"
    mv "$2.tmp" "$2"
}

# install_debs ROOT DIR PKG...: the project's Debian packages PKG (their
# .debs in DIR) into an image, unpacked as dpkg would (no maintainer
# scripts: the tier preloads the plugin into xl itself), with the system
# libraries their programs need.
install_debs() {
    _root=$1 _dir=$2; shift 2
    for _pkg in "$@"; do
        _deb=
        for _d in "$_dir/${_pkg}"_*.deb; do
            [ -f "$_d" ] && _deb=$_d && break
        done
        [ -n "$_deb" ] || die "no package $_pkg in $_dir (make packages)"
        dpkg-deb -x "$_deb" "$_root"
        dpkg-deb -c "$_deb" | awk '$1 ~ /^-/ { print $NF }' | sed 's|^\./|/|' |
            while read -r _f; do copy_libs "$_root" "$_root$_f"; done
    done
}

# apply_overlay ROOT SRC:DEST...: the project's own files into an image.
# SRC is a file or a directory (copied recursively), DEST its absolute path
# in the image. Every ELF among them gets its system libraries; a library
# the overlay itself provides (libxenvf.so) is looked up in the overlay's
# directories and not copied twice: give it a DEST the image's loader
# searches without ld.so.cache (/usr/lib or /lib/x86_64-linux-gnu).
apply_overlay() {
    _root=$1; shift
    _ldp=
    for _spec in "$@"; do
        _src=${_spec%%:*}
        [ -e "$_src" ] || die "overlay source $_src does not exist"
        _ldp=$_ldp$(find "$_src" -name '*.so*' -type f -exec dirname {} \; |
            sort -u | while read -r _d; do printf ':%s' "$(cd "$_d" && pwd)"; done)
    done
    _ldp=${_ldp#:}
    for _spec in "$@"; do
        _src=${_spec%%:*} _dest=${_spec#*:}
        case $_dest in /*) ;; *) die "overlay $_spec: DEST must be absolute" ;; esac
        mkdir -p "$_root${_dest%/*}"
        rm -rf "${_root:?}$_dest"
        cp -RL "$_src" "$_root$_dest"
        find "$_root$_dest" -type f | while read -r _f; do
            LD_LIBRARY_PATH=$_ldp OVERLAY_LIBDIRS=$_ldp copy_libs "$_root" "$_f"
        done
    done
}
