#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# recycle-python's own behaviour:
#   - it runs Python (-c, a script's exit status, sys.executable is itself);
#   - recycle serves Python's objects: -X recycle-stats and RECYCLE_STATS=1
#     print recycle's report, whose peak shows a million strings passed
#     through the heap;
#   - PyMem_Free of a block from libc's malloc goes to libc, as pymalloc
#     does it (through ctypes: an extension doing the same);
#   - PyMem_Realloc of such a block too;
#   - threads allocating at once (the GIL serialises the heap's use);
#   - PYTHONMALLOC is honoured, and -X recycle-stats then says why there
#     is no report.
#
#   check_launcher.sh RECYCLE_PYTHON
set -uo pipefail
py=$1
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

expect() { # LABEL WANT GOT
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAILED: $1: expected '$2', got '$3'"
        fail=1
    fi
}

out=$("$py" -c 'import sys, os; print(os.path.realpath(sys.executable))')
expect "sys.executable is recycle-python" "$(realpath "$py")" "$out"

"$py" -c 'raise SystemExit(7)'
expect "exit status" "7" "$?"

"$py" -X recycle-stats -c 'x = [str(i) for i in range(1000000)]' 2>"$work/stats"
peak=$(sed -n 's/^# peak bytes committed *= *\([0-9]*\)$/\1/p' "$work/stats")
expect "-X recycle-stats prints the report" "1" "$([ -n "$peak" ] && echo 1)"
expect "a million strings went through the heap (peak > 40 MB)" "1" \
    "$([ "${peak:-0}" -gt 40000000 ] && echo 1)"
"$py" -W ignore -X recycle-stats -c 'pass' 2>"$work/stats4"
expect "-X recycle-stats after an option with an argument" "1" \
    "$(grep -c '^# arenas allocated total' "$work/stats4")"
RECYCLE_STATS=1 "$py" -c 'pass' 2>"$work/stats2"
expect "RECYCLE_STATS=1 prints the report" "1" \
    "$(grep -c '^# arenas allocated total' "$work/stats2")"
"$py" -c 'pass' 2>"$work/stats3"
expect "no report without asking" "0" "$(wc -c <"$work/stats3" | tr -d ' ')"

cat >"$work/foreign.py" <<'PY'
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
api = ctypes.pythonapi
api.PyMem_Free.argtypes = [ctypes.c_void_p]
api.PyMem_Realloc.restype = ctypes.c_void_p
api.PyMem_Realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
api.PyObject_Free.argtypes = [ctypes.c_void_p]
freed = 0
for n in (16, 100, 512, 4096, 1 << 20):
    api.PyMem_Free(libc.malloc(n))
    api.PyObject_Free(libc.malloc(n))
    p = api.PyMem_Realloc(libc.malloc(n), 2 * n)
    ctypes.memset(p, 1, 2 * n)
    api.PyMem_Free(p)
    freed += 3
print("freed", freed)
PY
out=$("$py" "$work/foreign.py" 2>&1)
expect "libc blocks through PyMem_Free, PyObject_Free and PyMem_Realloc" "freed 15" "$out"

out=$("$py" -c '
import threading
def work(k):
    for r in range(20):
        d = {i: [str(i)] * 3 for i in range(5000)}
        del d
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("threads done")' 2>&1)
expect "four threads allocating" "threads done" "$out"

out=$(PYTHONMALLOC=malloc "$py" -X recycle-stats -c 'print("ran")' 2>"$work/err")
expect "PYTHONMALLOC=malloc runs" "ran" "$out"
expect "... and -X recycle-stats says why it has no report" "1" \
    "$(grep -c "Python's own allocator was requested" "$work/err")"

exit "$fail"
