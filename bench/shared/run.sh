#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared objects (issue 23): what biased reference counting costs a
# single-threaded program, against the build before it, and a two-thread
# workload sharing a graph against atomic counts and a global lock.
# bench/run.sh calls it for `make bench`; alone:
#
#   BENCH_QUICK=1 bash bench/shared/run.sh RESULTS_FILE
#
# The previous build is the commit RCY_BENCH_PREV (default c4d21eb, main
# before issue 23), its files written by `git archive` into
# build/bench/prev-src and built (Release, bench_objects_recycle only) in
# build/bench/prev; its figures are measured in the same run, interleaved
# with the current build's: binary-trees (bench_objects_recycle bt) and
# incref + decref pairs (refpair), times and callgrind instruction counts.
# If the commit cannot be checked out (no git, a tarball), the figures kept
# in docs/design.md ("Shared objects") are the comparison, and a NOTE says so.
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=${1:?usage: run.sh RESULTS_FILE}
BUILD=${BUILD:-build/bench}
BIN=$BUILD/bench
REPS=${BENCH_REPS:-3}
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=""
PREV=${RCY_BENCH_PREV:-c4d21eb}
if [ -n "$QUICK" ]; then DEPTH=16; ROUNDS=400000; IR_DEPTH=12; else DEPTH=19; ROUNDS=2000000; IR_DEPTH=14; fi

prev_src=$BUILD/prev-src
prev_bin=""
if git rev-parse --verify -q "$PREV^{commit}" >/dev/null 2>&1; then
    if [ ! -f "$prev_src/CMakeLists.txt" ]; then
        mkdir -p "$prev_src"
        git archive "$PREV" | tar -x -C "$prev_src" || rm -rf "$prev_src"
    fi
    if [ -d "$prev_src" ] &&
        cmake -S "$prev_src" -B "$BUILD/prev" -DCMAKE_BUILD_TYPE=Release -DRCY_BUILD_BENCH=ON \
            -DRCY_BUILD_TESTS=OFF -DRCY_BUILD_EXAMPLES=OFF -DRCY_BUILD_FUZZ=OFF -DRCY_CHECK_LEVEL=0 \
            >&2 && cmake --build "$BUILD/prev" --target bench_objects_recycle -j 2 >&2; then
        prev_bin=$BUILD/prev/bench/bench_objects_recycle
    fi
fi
[ -n "$prev_bin" ] || echo "NOTE kind=missing alloc=shared-previous-build" >>"$RESULTS"

# run LABEL BENCH CMD...: the RESULT lines of CMD, renamed for this section
run() {
    local alloc=$1 bench=$2 rep=$3; shift 3
    "$@" 2>/dev/null | grep '^RESULT ' |
        sed -e "s/bench=[a-z_]*/bench=$bench/" -e "s/alloc=[a-z]*/alloc=$alloc/" -e "s/\$/ rep=$rep/" \
            >>"$RESULTS" || echo "FAIL label=$bench/$alloc rep=$rep rc=1" >>"$RESULTS"
}
count_ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | head -n 1
}

cur=$BIN/bench_objects_recycle
for rep in $(seq 1 "$REPS"); do
    builds=(current)
    [ -n "$prev_bin" ] && builds+=(previous)
    if [ $((rep % 2)) = 0 ]; then builds=("${builds[@]:1}" "${builds[0]}"); fi
    for b in "${builds[@]}"; do
        exe=$cur
        [ "$b" = previous ] && exe=$prev_bin
        run "$b" shared_bt "$rep" "$exe" bt "$DEPTH"
        run "$b" shared_refpair "$rep" "$exe" refpair
    done
    for m in recycle atomic lock; do
        "$BIN/bench_shared" "$m" "$ROUNDS" 2>/dev/null | grep '^RESULT ' | sed "s/\$/ rep=$rep/" >>"$RESULTS" ||
            echo "FAIL label=shared_graph/$m rep=$rep rc=1" >>"$RESULTS"
    done
done
if command -v valgrind >/dev/null 2>&1; then
    for b in current previous; do
        exe=$cur
        if [ "$b" = previous ]; then [ -n "$prev_bin" ] || continue; exe=$prev_bin; fi
        bt=$(count_ir "$exe" bt "$IR_DEPTH")
        rp=$(BENCH_QUICK=1 count_ir "$exe" refpair)
        echo "RESULT bench=shared_ir alloc=$b bt_depth=$IR_DEPTH ir_bt=${bt:-0} ir_refpair=${rp:-0}" >>"$RESULTS"
    done
fi
