#!/bin/sh
# shellcheck disable=SC2016,SC2034 # conditions are single-quoted for check()'s eval
# make install-plugin / uninstall-plugin (libxl-plugin/xl-divert) in a
# private root with its own dpkg database: the real xl is diverted, the
# wrapper preloads the plugin (arguments intact, an escape hatch, a warning
# when the plugin is missing), installing twice is harmless, and uninstall
# puts the real xl back. Ends with "N passed, N failed".
set -u
: "${XENVF_SRCDIR:=$(pwd)}" "${B:=build}"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
no() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else no "$1"; fi; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
XL=${XENVF_XEN_BINDIR:-/usr/lib/xen-4.17/bin}/xl
PLUGIN=/usr/lib/xenvf/libxenvf-xl.so
mkdir -p "$root${XL%/*}" "$root${PLUGIN%/*}"
# the "real xl": says what it got
cat >"$root$XL" <<'XL'
#!/bin/sh
echo "real xl: preload=[${LD_PRELOAD:-}] argc=$# args=[$*] first=[$1]"
XL
chmod 755 "$root$XL"
divert="$XENVF_SRCDIR/libxl-plugin/xl-divert"
dpkg_list() {
    dpkg-divert --instdir "$root" --admindir "$root/var/lib/dpkg" --list
}

DESTDIR=$root "$divert" install $XL $PLUGIN >/dev/null
check "the real xl is diverted" \
    '[ -x "$root$XL.xenvf-orig" ] && dpkg_list | grep -q "local diversion of $XL to $XL.xenvf-orig"'
check "a wrapper is in its place" 'grep -q "exec $XL.xenvf-orig" "$root$XL"'

# run the wrapper with its absolute paths moved into the root
run() {
    sed -e "s|$XL.xenvf-orig|$root$XL.xenvf-orig|" -e "s|=$PLUGIN|=$root$PLUGIN|" \
        "$root$XL" >"$root/wrapper"
    sh "$root/wrapper" "$@"
}
# stand-ins for the plugin and another preload: empty shared objects
cc -shared -x c /dev/null -o "$root$PLUGIN"
cc -shared -x c /dev/null -o "$root/other.so"
out=$(run create "web 1.cfg" 'vf=["pf=nvme0"]')
check "it preloads the plugin" 'echo "$out" | grep -q "preload=\[$root$PLUGIN\]"'
check "arguments pass intact" \
    'echo "$out" | grep -q "argc=3 args=\[create web 1.cfg vf=\[\"pf=nvme0\"\]\] first=\[create\]"'
out=$(LD_PRELOAD="$root/other.so" run list)
check "other preloads are kept" \
    'echo "$out" | grep -q "preload=\[$root$PLUGIN:$root/other.so\]"'
out=$(XENVF_XL_PLUGIN=0 run list)
check "XENVF_XL_PLUGIN=0 runs xl without it" 'echo "$out" | grep -q "preload=\[\]"'
rm -f "$root$PLUGIN"
out=$(run list 2>&1)
check "a missing plugin is said, xl still runs" \
    'echo "$out" | grep -q "xl will ignore vf=" && echo "$out" | grep -q "real xl"'

DESTDIR=$root "$divert" install $XL $PLUGIN >/dev/null
check "installing twice keeps one diversion" '[ "$(dpkg_list | wc -l)" = 1 ]'
check "and the real xl" 'grep -q "real xl" "$root$XL.xenvf-orig"'

DESTDIR=$root "$divert" uninstall $XL >/dev/null
check "uninstall puts the real xl back" \
    'grep -q "real xl" "$root$XL" && [ ! -e "$root$XL.xenvf-orig" ] && [ -z "$(dpkg_list)" ]'
DESTDIR=$root "$divert" uninstall $XL >/dev/null
check "uninstalling twice is harmless" 'grep -q "real xl" "$root$XL"'

# the package's way: the diversion belongs to xenvf-xl-plugin
XL_DIVERT_PACKAGE=xenvf-xl-plugin DESTDIR=$root "$divert" install $XL $PLUGIN >/dev/null
check "XL_DIVERT_PACKAGE: the package's diversion" \
    'dpkg_list | grep -q "diversion of $XL to $XL.xenvf-orig by xenvf-xl-plugin" && grep -q "real xl" "$root$XL.xenvf-orig"'
XL_DIVERT_PACKAGE=xenvf-xl-plugin DESTDIR=$root "$divert" uninstall $XL >/dev/null
check "and its removal" \
    'grep -q "real xl" "$root$XL" && [ ! -e "$root$XL.xenvf-orig" ] && [ -z "$(dpkg_list)" ]'

# the make targets, into the same root
if make -s --no-print-directory -C "$XENVF_SRCDIR" B="$B" install-plugin \
    DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1; then
    check "make install-plugin: library, config, wrapper" \
        '[ -s "$root/usr/lib/xenvf/libxenvf-xl.so" ] && [ -s "$root/etc/xen/xenvf-plugin.conf" ] && grep -q "plugin=/usr/lib/xenvf/libxenvf-xl.so" "$root$XL"'
    echo "gate_timeout = 5" >"$root/etc/xen/xenvf-plugin.conf"
    make -s --no-print-directory -C "$XENVF_SRCDIR" B="$B" install-plugin \
        DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1
    check "make install-plugin keeps an edited config" \
        'grep -q "gate_timeout = 5" "$root/etc/xen/xenvf-plugin.conf"'
    make -s --no-print-directory -C "$XENVF_SRCDIR" B="$B" uninstall-plugin \
        DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1
    check "make uninstall-plugin" \
        '[ ! -e "$root/usr/lib/xenvf/libxenvf-xl.so" ] && grep -q "real xl" "$root$XL"'
else
    no "make install-plugin"
fi
echo "xl-divert: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
