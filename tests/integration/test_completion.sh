#!/bin/bash
# The bash completion of xenvf (tools/xenvf/xenvf.bash-completion), sourced
# in bash as bash-completion would: commands, global and per-command
# options, PF ids and domain names from the map named by --map, files
# where a path is due. Ends with "N passed, N failed".
set -u
export LC_ALL=C
: "${XENVF_SRCDIR:=$(pwd)}"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
no() { fail=$((fail + 1)); echo "FAIL $1"; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/map.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<vfmap xmlns="urn:xenvf:vfmap:1">
  <pf id="nvme0" address="0000:01:00.0" numvfs="2">
    <vf index="0" domain="web1" function="nvme" boot="1"/>
  </pf>
  <pf id="net0" address="0000:02:00.0" numvfs="4" owner="dd1">
    <vf index="1" domain="db2" mac="02:16:3e:00:00:01"/>
  </pf>
</vfmap>
XML
touch "$dir/maps-a.xml" "$dir/maps-b.xml"

# shellcheck source=/dev/null
. "$XENVF_SRCDIR/tools/xenvf/xenvf.bash-completion"

# complete WORD...: the line as typed, the last word being completed;
# prints the candidates sorted, one line
complete_line() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMPREPLY=()
    _xenvf
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() { # name, wanted, line...
    local name=$1 want=$2 got
    shift 2
    got=$(complete_line "$@")
    if [ "$got" = "$want" ]; then
        ok "$name"
    else
        no "$name: got [$got], wanted [$want]"
    fi
}

M=(xenvf --map "$dir/map.xml")
if [ "$(complete -p xenvf)" = "complete -F _xenvf xenvf" ]; then
    ok "registered for xenvf"
else
    no "registered for xenvf"
fi
expect "commands" "list" xenvf l
expect "commands: c" "check" xenvf c
expect "commands after options" "set-numvfs show status" "${M[@]}" s
expect "every command" \
    "assign check help list metrics release set-numvfs show status watch" xenvf ""
expect "global options" "--map" xenvf --m
expect "global options: all" "--help --json --map --socket --sysfs --verbose --version -S -V -h -j -m -s -v" xenvf -
expect "global long options" "--socket --sysfs" xenvf --s
expect "show: PF ids from --map" "net0 nvme0" "${M[@]}" show ""
expect "show: prefix" "nvme0" "${M[@]}" show nv
expect "--map=PATH form" "net0 nvme0" xenvf "--map=$dir/map.xml" watch ""
expect "show: only one PF" "" "${M[@]}" show nvme0 ""
expect "show options" "--help --json" "${M[@]}" show --
expect "assign: PF then domain" "db2 web1" "${M[@]}" assign nvme0 ""
expect "release: PF# and domains" "db2 net0# nvme0# web1" "${M[@]}" release ""
expect "set-numvfs options" "--force --help --id --owner" "${M[@]}" set-numvfs --
expect "set-numvfs --owner: driver domains" "0 dd1" "${M[@]}" set-numvfs --owner ""
expect "set-numvfs: PF after options" "net0 nvme0" "${M[@]}" set-numvfs --force ""
expect "check options" "--hardware --help --no-hardware --quiet" "${M[@]}" check --
expect "check: a file" "$dir/maps-a.xml $dir/maps-b.xml" "${M[@]}" check "$dir/maps-"
expect "metrics -o: a file" "$dir/maps-a.xml $dir/maps-b.xml" "${M[@]}" metrics -o "$dir/maps-"
expect "--map: a file" "$dir/maps-a.xml $dir/maps-b.xml" xenvf --map "$dir/maps-"
expect "help: commands" "set-numvfs show status" xenvf help s
expect "no map: no PF ids, no error" "" xenvf --map "$dir/none.xml" show ""

echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
