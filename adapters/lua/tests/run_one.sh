#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One Lua script under recycle-lua, its output checked.
#
#   run_one.sh LAUNCHER NAME STATUS STDERR_REGEX [OPTION...] [-- ARG...]
#
# Runs LAUNCHER [OPTION...] NAME.lua [ARG...] in this folder; passes if
# stdout is NAME.expected exactly, the exit status is STATUS, and stderr
# matches STDERR_REGEX (grep -E; "" for an empty stderr). When the stock
# interpreter (lua5.4) is installed and no OPTION is given, it must print
# the same: the expected files describe Lua, not recycle.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
launcher=$1 name=$2 want_status=$3 want_err=$4
shift 4
opts=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    opts+=("$1")
    shift
done
[ "$#" -gt 0 ] && shift
args=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail=0
check() { # LABEL STATUS OUT ERR
    local label=$1 status=$2
    if ! diff -u "$here/$name.expected" "$3" >"$work/diff"; then
        echo "$label: stdout differs from $name.expected:"
        cat "$work/diff"
        fail=1
    fi
    if [ "$status" != "$want_status" ]; then
        echo "$label: exit status $status, expected $want_status"
        fail=1
    fi
}

cd "$here" || exit 1
"$launcher" "${opts[@]}" "$name.lua" "${args[@]}" >"$work/out" 2>"$work/err"
status=$?
check "recycle-lua" "$status" "$work/out"
if [ -z "$want_err" ]; then
    if [ -s "$work/err" ]; then
        echo "recycle-lua: unexpected stderr:"
        cat "$work/err"
        fail=1
    fi
elif ! grep -Eq -- "$want_err" "$work/err"; then
    echo "recycle-lua: stderr does not match '$want_err':"
    cat "$work/err"
    fail=1
fi
if [ "${#opts[@]}" -eq 0 ] && command -v lua5.4 >/dev/null 2>&1; then
    lua5.4 "$name.lua" "${args[@]}" >"$work/stock" 2>/dev/null
    check "lua5.4 (stock)" "$?" "$work/stock"
fi
[ "$fail" -eq 0 ] && echo "$name: ok (recycle-lua${opts[*]:+ ${opts[*]}})"
exit "$fail"
