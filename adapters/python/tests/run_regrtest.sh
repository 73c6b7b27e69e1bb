#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A part of CPython's own regression suite (Debian's libpython3.11-testsuite)
# under recycle-python and under the stock interpreter of the same
# libpython, compared test case by test case (compare_junit.py): none may
# fail under recycle-python that passes under stock, except the ones
# ../regrtest-excluded.txt lists with the reason.
#
#   run_regrtest.sh RECYCLE_PYTHON STOCK_PYTHON
#
# The modules: ../regrtest-modules.txt. Each interpreter runs them with
# `-m test -j2` (regrtest's worker processes are the same interpreter:
# sys.executable). REGRTEST_MODULES="test_gc test_dict" runs only those.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recycle=$(realpath "$1")
stock=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! "$stock" -c 'import test.libregrtest' 2>/dev/null; then
    echo "run_regrtest: $stock has no test suite (libpython3.11-testsuite; scripts/install-deps.sh)" >&2
    exit 1
fi
if [ -n "${REGRTEST_MODULES:-}" ]; then
    read -r -a modules <<<"$REGRTEST_MODULES"
else
    mapfile -t modules < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/../regrtest-modules.txt")
fi
echo "run_regrtest: ${#modules[@]} modules, stock $stock and $recycle"

# run LABEL PYTHON: regrtest's summary lines, its junit file in $work/LABEL.xml
run() {
    local label=$1 py=$2 start=$SECONDS
    mkdir -p "$work/$label"
    (cd "$work/$label" && "$py" -m test -j2 --timeout 300 --junit-xml "$work/$label.xml" \
        "${modules[@]}" >"$work/$label.log" 2>&1)
    echo "== $label ($((SECONDS - start)) s): $(grep -E '^[0-9]+ tests? (OK|failed)' "$work/$label.log" |
        tr '\n' ' ')"
    if [ ! -s "$work/$label.xml" ]; then
        echo "run_regrtest: $label wrote no results; its log:" >&2
        tail -n 40 "$work/$label.log" >&2
        return 1
    fi
}

run stock "$stock" || exit 1
run recycle "$recycle" || { tail -n 60 "$work/recycle.log"; exit 1; }
if ! "$stock" "$here/compare_junit.py" "$work/stock.xml" "$work/recycle.xml" \
    "$here/../regrtest-excluded.txt"; then
    echo "--- recycle-python's regrtest log (the failures):"
    grep -E -A30 '^(FAIL|ERROR):' "$work/recycle.log" | head -n 200
    exit 1
fi
