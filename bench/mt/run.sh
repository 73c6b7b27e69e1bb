#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Multi-threaded benchmarks: every allocator as the process's malloc through
# LD_PRELOAD (glibc: no preload; mimalloc, jemalloc, and recycle's
# librecycle-malloc.so), with 1 and 2 threads, rounds interleaved (the order
# of the allocators rotates from one round to the next), one fresh process
# per measurement. bench/run.sh calls it for `make bench`; alone:
#
#   BENCH_QUICK=1 bash bench/mt/run.sh       quick mode (under 2 minutes):
#                                            results and the table in build/bench/mt/
#   bash bench/mt/run.sh [RESULTS_FILE]      full sizes, RESULT lines appended
#
# Benchmarks (bench/mt/bench_mt.c): larson (a server whose threads free
# blocks other threads allocated; 8..1000 bytes, and larson512: 8..512), xmalloc (producers and consumers; RSS
# after the run), scratch (false sharing). Real programs: python3 (a
# threaded script), sqlite3 (bulk inserts and queries), git (a scratch
# repository), cc (compiling recycle sources), xz -T1/-T2; their wall time
# and peak RSS (the largest of the process and its children) come from
# GNU time. Environment: BUILD (default build/bench, with bench/bench_mt and
# librecycle-malloc.so built), BENCH_REPS (default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

BUILD=${BUILD:-build/bench}
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=""
REPS=${BENCH_REPS:-3}
STANDALONE=""
if [ "$#" -ge 1 ]; then
    RESULTS=$1
else
    STANDALONE=1
    RESULTS=$BUILD/mt/results.txt
fi
WORK=$root/$BUILD/mt/work
mkdir -p "$BUILD/mt" "$WORK"
LOG=$BUILD/mt/run.log
: >"$LOG"
[ -n "$STANDALONE" ] && : >"$RESULTS"
note() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }

if [ -n "$STANDALONE" ]; then
    note "== configure + build ($BUILD, Release)"
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRCY_BUILD_BENCH=ON \
        -DRCY_BUILD_TESTS=OFF -DRCY_BUILD_EXAMPLES=OFF -DRCY_BUILD_FUZZ=OFF \
        -DRCY_SANITIZE=OFF -DRCY_CHECK_LEVEL=0 -DRCY_WERROR=ON >>"$LOG" 2>&1
    cmake --build "$BUILD" --target bench_mt recycle_malloc -j "$(nproc)" >>"$LOG" 2>&1
fi
BIN=$root/$BUILD/bench/bench_mt
[ -x "$BIN" ] || { note "!! $BIN was not built"; exit 1; }
[ -x /usr/bin/time ] || { note "!! GNU time (/usr/bin/time) is missing"; exit 1; }

# The allocators and the library each preloads (glibc: none).
declare -A LIB=([glibc]="")
ALLOCS=(glibc)
for a in mimalloc jemalloc; do
    f=$(gcc -print-file-name="lib$a.so")
    if [ -f "$f" ]; then
        LIB[$a]=$(realpath "$f")
        ALLOCS+=("$a")
    else
        echo "NOTE kind=missing alloc=$a section=mt" >>"$RESULTS"
    fi
done
if [ -f "$BUILD/librecycle-malloc.so" ]; then
    LIB[recycle]=$(realpath "$BUILD/librecycle-malloc.so")
    ALLOCS+=(recycle)
else
    echo "NOTE kind=missing alloc=recycle section=mt" >>"$RESULTS"
fi

rotate() {
    local n=$1 k i
    shift
    local items=("$@")
    k=${#items[@]}
    for ((i = 0; i < k; i++)); do printf '%s\n' "${items[(i + n) % k]}"; done
}

# measure REP ALLOC BENCH THREADS CMD...: runs CMD under ALLOC; a RESULT line
# with the wall time and peak RSS GNU time saw, plus the RESULT lines the
# command printed itself (bench_mt's), each with alloc= and rep= added.
measure() {
    local rep=$1 alloc=$2 bench=$3 threads=$4
    shift 4
    local out tfile=$WORK/time.txt rc=0
    note "-- rep $rep: $bench/$threads/$alloc"
    out=$(cd "$WORK" && /usr/bin/time -o "$tfile" -f '%e %M' \
        env ${LIB[$alloc]:+LD_PRELOAD="${LIB[$alloc]}"} "$@" 2>>"$root/$LOG") || rc=$?
    if [ "$rc" -ne 0 ]; then
        note "!! $bench/$threads/$alloc failed (exit $rc)"
        echo "FAIL label=$bench/$threads/$alloc rep=$rep rc=$rc" >>"$RESULTS"
        return 0
    fi
    local secs kib
    read -r secs kib < <(tail -n 1 "$tfile")
    printf '%s\n' "$out" | grep '^RESULT ' | sed "s/^RESULT /RESULT alloc=$alloc /; s/\$/ rep=$rep/" \
        >>"$RESULTS" || true
    echo "RESULT bench=mtp_$bench alloc=$alloc threads=$threads seconds=$secs" \
        "peak_rss_mib=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }') rep=$rep" >>"$RESULTS"
}

# ---- sizes ----
if [ -n "$QUICK" ]; then
    LARSON=5000000; XMALLOC=3000000; SCRATCH=50000
    PY_ROUNDS=4000; SQL_ROWS=50000; XZ_MIB=1; CC_COUNT=2
else
    LARSON=20000000; XMALLOC=10000000; SCRATCH=200000
    PY_ROUNDS=40000; SQL_ROWS=500000; XZ_MIB=32; CC_COUNT=6
fi

# ---- inputs of the real programs ----
sql_script() {
    cat <<EOF
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, grp INTEGER);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $SQL_ROWS)
INSERT INTO t(name, v, grp) SELECT printf('row-%08d-%s', i, hex(i * 7919)), i * 0.5, i % 97 FROM n;
COMMIT;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v), min(name), max(name) FROM t;
SELECT grp, count(*), round(avg(v), 3) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
UPDATE t SET name = upper(name) WHERE grp < 30;
SELECT count(DISTINCT substr(name, 1, 9)) FROM t;
EOF
}
sql_script >"$WORK/bulk.sql"
# xz's input: half sources (compressible), half hex of random bytes
: >"$WORK/xz.data"
while [ "$(stat -c %s "$WORK/xz.data")" -lt $((XZ_MIB * 1048576 / 2)) ]; do
    cat "$root"/src/*/*.c >>"$WORK/xz.data"
done
head -c $((XZ_MIB * 1048576 / 6)) /dev/urandom | od -An -tx1 >>"$WORK/xz.data"
cat >"$WORK/git.sh" <<'EOF'
# one git session on a scratch repository: init, add, commit, log
set -e
rm -rf repo
git init -q -b main repo
cp -R "$1/src" "$1/include" "$1/tests" repo/
git -C repo add .
git -C repo -c user.name=b -c user.email=b@example.invalid commit -q -m first
for f in repo/src/*/*.c; do echo "/* touched */" >>"$f"; done
git -C repo -c user.name=b -c user.email=b@example.invalid commit -q -a -m second
git -C repo log --stat >/dev/null
git -C repo gc -q
EOF
CC_FILES=()
for f in heap.c mem/alloc.c mem/pool.c gc/collect.c gc/refs.c obj/object.c; do
    [ "${#CC_FILES[@]}" -lt "$CC_COUNT" ] && CC_FILES+=("$root/src/$f")
done
mkdir -p "$WORK/cfg"
sed -e 's/@RCY_CHECK_LEVEL@/0/' -e 's/@PROJECT_VERSION@/0/' cmake/recycle_config.h.in \
    >"$WORK/cfg/recycle_config.h"
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

for ((rep = 1; rep <= REPS; rep++)); do
    note "== mt: repetition $rep of $REPS"
    for t in 1 2; do
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do measure "$rep" "$a" larson "$t" "$BIN" larson "$t" "$LARSON"; done
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do
            measure "$rep" "$a" larson512 "$t" "$BIN" larson "$t" "$LARSON" 512
        done
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do measure "$rep" "$a" xmalloc "$t" "$BIN" xmalloc "$t" "$XMALLOC"; done
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do measure "$rep" "$a" scratch "$t" "$BIN" scratch "$t" "$SCRATCH"; done
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do
            measure "$rep" "$a" python "$t" "$PYTHON" "$root/tests/malloc/threaded.py" "$t" "$PY_ROUNDS"
        done
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do
            measure "$rep" "$a" xz "$t" xz -T"$t" --block-size="$((XZ_MIB * 256))KiB" -k -f xz.data
        done
    done
    for a in $(rotate "$rep" "${ALLOCS[@]}"); do
        rm -f "$WORK/bulk.db"
        measure "$rep" "$a" sqlite3 1 sh -c 'sqlite3 bulk.db <bulk.sql'
    done
    for a in $(rotate "$rep" "${ALLOCS[@]}"); do measure "$rep" "$a" git 1 bash git.sh "$root"; done
    for a in $(rotate "$rep" "${ALLOCS[@]}"); do
        measure "$rep" "$a" cc 1 cc -std=c17 -O2 -I"$root/include" -I"$root/src" -Icfg -DRCY_BUILDING=1 \
            -c "${CC_FILES[@]}"
    done
done

if [ -n "$STANDALONE" ]; then
    python3 -c 'import sys; sys.path.insert(0, "bench"); import report; report.mt_standalone(sys.argv[1], sys.argv[2], sys.argv[3] == "1")' \
        "$RESULTS" "$BUILD/mt/benchmarks-mt.md" "${QUICK:-0}"
    note "== done: $BUILD/mt/benchmarks-mt.md"
fi
