#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the benchmarks (Release, build/bench), run every one of them with the
# competitors interleaved, and write docs/benchmarks.md plus docs/bench/*.svg.
#
#   bash bench/run.sh                 full run (about 10-15 minutes)
#   BENCH_QUICK=1 bash bench/run.sh   every benchmark shrunk ~10-50x; the report goes
#                                     to build/bench/quick/benchmarks.md and its charts
#                                     to build/bench/quick/bench/*.svg, never over the
#                                     tracked docs/benchmarks.md and docs/bench/*.svg
#   BENCH_REPS=5 bash bench/run.sh    repetitions (default 3; medians reported)
#
# Each repetition runs each allocator once, in an order that rotates from one
# repetition to the next. Every measurement is a fresh process (peak RSS is
# per process). Raw results: build/bench/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build/bench
BIN=$BUILD/bench
RESULTS=$BUILD/results.txt
LOG=$BUILD/run.log
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = "0" ]; then QUICK=""; fi
REPS=${BENCH_REPS:-3}
TIMEOUT=${BENCH_TIMEOUT:-900}
export BENCH_QUICK=${QUICK:-0}
# Only a full run replaces the published report; a quick one writes its own.
if [ -n "$QUICK" ]; then
    REPORT=$BUILD/quick/benchmarks.md
    SVG_DIR=$BUILD/quick/bench
else
    REPORT=docs/benchmarks.md
    SVG_DIR=docs/bench
fi

mkdir -p "$BUILD"
: >"$RESULTS"
: >"$LOG"
START_EPOCH=$(date +%s)

note() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }

# ---- build ----
note "== configure + build ($BUILD, Release)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRCY_BUILD_BENCH=ON \
    -DRCY_BUILD_TESTS=OFF -DRCY_BUILD_EXAMPLES=OFF -DRCY_BUILD_FUZZ=OFF \
    -DRCY_SANITIZE=OFF -DRCY_CHECK_LEVEL=0 -DRCY_WERROR=ON >>"$LOG" 2>&1
JOBS=$(nproc 2>/dev/null || echo 2)
if ! cmake --build "$BUILD" --target bench_all -j "$JOBS" >>"$LOG" 2>&1; then
    note "!! the recycle variants failed to build; measuring the competitors only (see $LOG)"
    echo "NOTE kind=build msg=recycle_failed_to_build" >>"$RESULTS"
    # never measure executables left over from an earlier build
    rm -f "$BIN"/bench_*_recycle "$BIN"/bench_gc_recycle
    cmake --build "$BUILD" --target bench_competitors -j "$JOBS" >>"$LOG" 2>&1
fi

have() { [ -x "$BIN/$1" ]; }
ALLOCS=()
for a in recycle glibc mimalloc jemalloc; do
    if have "bench_alloc_$a"; then ALLOCS+=("$a"); else echo "NOTE kind=missing alloc=$a" >>"$RESULTS"; fi
done
BOEHM=""
if have bench_objects_boehm; then BOEHM=1; else echo "NOTE kind=missing alloc=boehm" >>"$RESULTS"; fi
RECYCLE=""
if have bench_gc_recycle && have bench_alloc_recycle; then RECYCLE=1; fi
PY=""
if command -v python3 >/dev/null 2>&1; then PY=python3; else echo "NOTE kind=missing alloc=cpython" >>"$RESULTS"; fi

# rotate N ITEMS...: print ITEMS rotated left by N
rotate() {
    local n=$1; shift
    local items=("$@")
    local k=${#items[@]} i
    if [ "$k" -eq 0 ]; then return 0; fi
    for ((i = 0; i < k; i++)); do printf '%s\n' "${items[(i + n) % k]}"; done
}

# run_one REP LABEL CMD...: run one measurement; keep its RESULT lines
run_one() {
    local rep=$1 label=$2; shift 2
    local out rc=0
    note "-- rep $rep: $label"
    out=$(timeout "$TIMEOUT" "$@" 2>>"$LOG") || rc=$?
    printf '%s\n' "$out" >>"$LOG"
    if [ "$rc" -ne 0 ]; then
        note "!! $label failed (exit $rc)"
        echo "FAIL label=$label rep=$rep rc=$rc" >>"$RESULTS"
    fi
    printf '%s\n' "$out" | grep '^RESULT ' | sed "s/\$/ rep=$rep/" >>"$RESULTS" || true
}

# ---- sizes ----
if [ -n "$QUICK" ]; then
    BT_DEPTH=16; PY_BT_DEPTH=14; BUDGET_MIB=256
    GC_SIZES="10000 100000 1000000"; GC_CYCLES=100000
    YOUNG_ALLOCS=1000000; YOUNG_BASE=100000
else
    BT_DEPTH=21; PY_BT_DEPTH=17; BUDGET_MIB=2048
    GC_SIZES="100000 1000000 10000000"; GC_CYCLES=1000000
    YOUNG_ALLOCS=10000000; YOUNG_BASE=1000000
fi

# ---- issue 21: heap shapes (full collections), recycle with layout descriptors
# and with traverse against CPython, interleaved; 1e7 objects in the first
# repetition only (CPython needs seconds per collection there) ----
SHAPES="list dict tree records"
if [ -n "$QUICK" ]; then SHAPE_SIZES="10000 100000"; SHAPE_BIG=1000000; SHAPE_IR_SIZES="10000"
else SHAPE_SIZES="100000 1000000"; SHAPE_BIG=10000000; SHAPE_IR_SIZES="100000 1000000"; fi
# shapes_rep REP: one repetition of every shape at every size
shapes_rep() {
    local rep=$1 n k v sizes=$SHAPE_SIZES reps
    if [ "$rep" = 1 ]; then sizes="$sizes $SHAPE_BIG"; fi
    local variants=()
    if [ -n "$RECYCLE" ]; then variants+=(recycle recycle-traverse); fi
    if [ -n "$PY" ]; then variants+=(cpython); fi
    for n in $sizes; do
        reps=6
        if [ "$n" -ge 10000000 ]; then reps=3; fi
        for k in $SHAPES; do
            for v in $(rotate "$rep" "${variants[@]}"); do
                case "$v" in
                    recycle) run_one "$rep" "shape/$k$n/$v" "$BIN/bench_gc_recycle" shape "$k" "$n" "$reps" ;;
                    recycle-traverse) run_one "$rep" "shape/$k$n/$v" "$BIN/bench_gc_recycle" shape "$k" "$n" "$reps" traverse ;;
                    cpython) run_one "$rep" "shape/$k$n/$v" "$PY" bench/py/gc_bench.py shape "$k" "$n" "$reps" ;;
                esac
            done
        done
    done
}
# shapes_ir: callgrind instructions per object of a full collection, two
# collections by difference (REPS 3 minus REPS 1), once (exact)
shapes_ir() {
    if [ -z "$RECYCLE" ] || ! command -v valgrind >/dev/null 2>&1; then return 0; fi
    local n k layout one three objs
    for n in $SHAPE_IR_SIZES; do
        for k in $SHAPES; do
            for layout in descriptor traverse; do
                note "-- instructions: shape $k $n $layout"
                local extra=""
                if [ "$layout" = traverse ]; then extra=traverse; fi
                one=$(count_ir "$BIN/bench_gc_recycle" shape "$k" "$n" 1 $extra)
                three=$(count_ir "$BIN/bench_gc_recycle" shape "$k" "$n" 3 $extra)
                objs=$("$BIN/bench_gc_recycle" shape "$k" "$n" 1 $extra | sed -n 's/.* objects=\([0-9]*\).*/\1/p')
                if [ -n "$one" ] && [ -n "$three" ] && [ -n "$objs" ]; then
                    echo "RESULT bench=gc_shape_ir alloc=recycle shape=$k layout=$layout n=$n objects=$objs" \
                        "ir_obj=$(( (three - one) / (2 * objs) ))" >>"$RESULTS"
                else
                    echo "FAIL label=shape_ir/$k$n/$layout rep=1 rc=1" >>"$RESULTS"
                fi
            done
        done
    done
}

for ((rep = 1; rep <= REPS; rep++)); do
    note "== repetition $rep of $REPS"
    # 1. raw allocator
    for a in $(rotate "$rep" "${ALLOCS[@]}"); do run_one "$rep" "churn/$a" "$BIN/bench_alloc_$a" churn; done
    for a in $(rotate "$rep" "${ALLOCS[@]}"); do run_one "$rep" "bursts/$a" "$BIN/bench_alloc_$a" bursts; done
    for keep in 0 1024; do
        for a in $(rotate "$rep" "${ALLOCS[@]}"); do
            run_one "$rep" "release$keep/$a" "$BIN/bench_alloc_$a" release "$keep"
        done
    done
    # 2. objects
    for a in $(rotate "$rep" "${ALLOCS[@]}"); do
        run_one "$rep" "newfree/$a" "$BIN/bench_objects_$a" newfree
        run_one "$rep" "refpair/$a" "$BIN/bench_objects_$a" refpair
    done
    BT=()
    for a in "${ALLOCS[@]}"; do
        BT+=("$a")
        if [ "$a" = recycle ]; then BT+=("recycle-gcoff" "recycle-nopace" "recycle-traverse"); fi
        # hand-written reference counting on glibc and mimalloc, the allocators
        # the binary-trees targets compare recycle with
        if [ "$a" = glibc ] || [ "$a" = mimalloc ]; then BT+=("$a-rc"); fi
    done
    if [ -n "$BOEHM" ]; then BT+=("boehm"); fi
    for v in $(rotate "$rep" "${BT[@]}"); do
        if [ "$v" = recycle-gcoff ]; then
            run_one "$rep" "bt/$v" "$BIN/bench_objects_recycle" bt "$BT_DEPTH" gcoff
        elif [ "$v" = recycle-nopace ]; then
            run_one "$rep" "bt/$v" "$BIN/bench_objects_recycle" bt "$BT_DEPTH" nopace
        elif [ "$v" = recycle-traverse ]; then
            run_one "$rep" "bt/$v" "$BIN/bench_objects_recycle" bt "$BT_DEPTH" traverse
        elif [ "${v%-rc}" != "$v" ]; then
            run_one "$rep" "bt/$v" "$BIN/bench_objects_${v%-rc}" bt "$BT_DEPTH" rc
        else
            run_one "$rep" "bt/$v" "$BIN/bench_objects_$v" bt "$BT_DEPTH"
        fi
    done
    # 3. collector, recycle against CPython
    GCV=()
    if [ -n "$RECYCLE" ]; then GCV+=(recycle); fi
    if [ -n "$PY" ]; then GCV+=(cpython); fi
    for n in $GC_SIZES; do
        for v in $(rotate "$rep" "${GCV[@]}"); do
            if [ "$v" = recycle ]; then run_one "$rep" "gc_live$n/$v" "$BIN/bench_gc_recycle" live "$n"
            else run_one "$rep" "gc_live$n/$v" "$PY" bench/py/gc_bench.py live "$n"; fi
        done
    done
    if [ -n "$RECYCLE" ]; then run_one "$rep" "gc_untrack/recycle" "$BIN/bench_gc_recycle" untrack "$GC_CYCLES"; fi
    # cyclic garbage under a hard memory limit of 64 MiB, collector on and off
    if [ -n "$RECYCLE" ]; then
        for how in on off; do
            run_one "$rep" "budget/$how" "$BIN/bench_gc_recycle" budget "$BUDGET_MIB" "$how"
        done
    fi
    for v in $(rotate "$rep" "${GCV[@]}"); do
        if [ "$v" = recycle ]; then run_one "$rep" "gc_cycles/$v" "$BIN/bench_gc_recycle" cycles "$GC_CYCLES"
        else run_one "$rep" "gc_cycles/$v" "$PY" bench/py/gc_bench.py cycles "$GC_CYCLES"; fi
    done
    for v in $(rotate "$rep" "${GCV[@]}"); do
        if [ "$v" = recycle ]; then run_one "$rep" "gc_young/$v" "$BIN/bench_gc_recycle" young "$YOUNG_ALLOCS" "$YOUNG_BASE"
        else run_one "$rep" "gc_young/$v" "$PY" bench/py/gc_bench.py young "$YOUNG_ALLOCS" "$YOUNG_BASE"; fi
    done
    # binary-trees at the depth CPython can do, collector on and off
    SMALL=()
    if [ -n "$RECYCLE" ]; then SMALL+=(recycle recycle-gcoff recycle-nopace); fi
    if [ -n "$PY" ]; then SMALL+=(cpython cpython-gcoff); fi
    for v in $(rotate "$rep" "${SMALL[@]}"); do
        case "$v" in
            recycle) run_one "$rep" "bt$PY_BT_DEPTH/$v" "$BIN/bench_objects_recycle" bt "$PY_BT_DEPTH" ;;
            recycle-gcoff) run_one "$rep" "bt$PY_BT_DEPTH/$v" "$BIN/bench_objects_recycle" bt "$PY_BT_DEPTH" gcoff ;;
            recycle-nopace) run_one "$rep" "bt$PY_BT_DEPTH/$v" "$BIN/bench_objects_recycle" bt "$PY_BT_DEPTH" nopace ;;
            cpython) run_one "$rep" "bt$PY_BT_DEPTH/$v" "$PY" bench/py/gc_bench.py bt "$PY_BT_DEPTH" on ;;
            cpython-gcoff) run_one "$rep" "bt$PY_BT_DEPTH/$v" "$PY" bench/py/gc_bench.py bt "$PY_BT_DEPTH" off ;;
        esac
    done
    shapes_rep "$rep"
done

# ---- multi-threaded: every allocator as the process's malloc (bench/mt/run.sh) ----
note "== multi-threaded benchmarks (bench/mt/run.sh)"
BUILD="$BUILD" BENCH_REPS="$REPS" BENCH_QUICK="${QUICK:-0}" bash bench/mt/run.sh "$RESULTS" 2>>"$LOG" ||
    echo "FAIL label=mt rep=1 rc=1" >>"$RESULTS"

# ---- instructions per malloc + free pair (callgrind: exact, so once) ----
# count_ir CMD...: the instructions CMD executes, counted by callgrind
count_ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | head -n 1
}
PAIRS=1000000
if [ -n "$QUICK" ]; then PAIRS=100000; fi
if command -v valgrind >/dev/null 2>&1; then
    for a in "${ALLOCS[@]}"; do
        note "-- instructions: pairs/$a"
        loop=$(count_ir "$BIN/bench_alloc_$a" pairs "$PAIRS" loop)
        for how in free sized; do
            if [ "$how" = sized ]; then all=$(count_ir "$BIN/bench_alloc_$a" pairs "$PAIRS" sized)
            else all=$(count_ir "$BIN/bench_alloc_$a" pairs "$PAIRS"); fi
            if [ -n "$loop" ] && [ -n "$all" ]; then
                echo "RESULT bench=pairs_ir alloc=$a how=$how pairs=$PAIRS ir_total=$all ir_loop=$loop" \
                    "ir_per_pair=$(( (all - loop) / PAIRS ))" >>"$RESULTS"
            else
                echo "FAIL label=pairs_ir/$a/$how rep=1 rc=1" >>"$RESULTS"
            fi
        done
    done
else
    echo "NOTE kind=missing alloc=valgrind" >>"$RESULTS"
fi
shapes_ir

# ---- issue 24: retention tools, rcy_why_alive and dominators (bench/bench_why.c);
# 10M objects in full runs only (a dominator tree of 10M takes ~10 s) ----
if [ -n "$QUICK" ]; then WHY_SIZES="1000000"; DOM_SIZES="1000000"
else WHY_SIZES="1000000"; DOM_SIZES="1000000 10000000"; fi
if have bench_why_recycle; then
    for rep in $(seq 1 "$REPS"); do
        for n in $WHY_SIZES; do run_one "$rep" "why/why_alive$n" "$BIN/bench_why_recycle" why "$n" 5; done
        for n in $DOM_SIZES; do
            inner=3; if [ "$n" -ge 10000000 ]; then inner=1; fi
            run_one "$rep" "why/dominators$n" "$BIN/bench_why_recycle" dominators "$n" "$inner"
        done
    done
else
    echo "NOTE kind=missing alloc=bench_why" >>"$RESULTS"
fi

# ---- issue 23: shared objects (bench/shared/run.sh): single-threaded cost against
# the previous build, and two threads sharing a graph (biased, atomic, a global lock)
if have bench_shared; then
    note "-- shared objects (bench/shared/run.sh)"
    BUILD="$BUILD" BENCH_REPS="$REPS" BENCH_QUICK="${QUICK:-0}" bash bench/shared/run.sh "$RESULTS" \
        2>>"$LOG" || echo "FAIL label=shared rep=1 rc=1" >>"$RESULTS"
fi

# ---- issue 24: allocation tracing. The same binaries with BENCH_TRACE (off,
# sampling at the default 512 KiB, full with 1 and 16 frames), and the build
# before tracing existed (commit c4d21eb, "untraced", built from git when the
# history has it), interleaved, rotating, REPS rounds: churn (quick size in
# every mode: full tracing with 16 frames is slow) and binary-trees; then
# callgrind instructions of tracing off against the untraced build, and the
# sampling's estimate error (bench_trace) ----
TRACE_BASE_COMMIT=c4d21eb
TRACE_BASE_BIN=""
if [ -n "$RECYCLE" ] && git cat-file -e "$TRACE_BASE_COMMIT^{commit}" 2>/dev/null; then
    note "== building the untraced recycle ($TRACE_BASE_COMMIT) for the tracing block"
    rm -rf "$BUILD/trace-base-src"
    mkdir -p "$BUILD/trace-base-src"
    if git archive "$TRACE_BASE_COMMIT" | tar -x -C "$BUILD/trace-base-src" &&
        cmake -S "$BUILD/trace-base-src" -B "$BUILD/trace-base" -DCMAKE_BUILD_TYPE=Release \
            -DRCY_BUILD_BENCH=ON -DRCY_BUILD_TESTS=OFF -DRCY_BUILD_EXAMPLES=OFF \
            -DRCY_BUILD_ADAPTERS=OFF -DRCY_BUILD_FUZZ=OFF -DRCY_CHECK_LEVEL=0 >>"$LOG" 2>&1 &&
        cmake --build "$BUILD/trace-base" --target bench_alloc_recycle bench_objects_recycle \
            -j "$JOBS" >>"$LOG" 2>&1; then
        TRACE_BASE_BIN=$BUILD/trace-base/bench
    fi
fi
if [ -z "$TRACE_BASE_BIN" ]; then echo "NOTE kind=missing alloc=recycle-untraced" >>"$RESULTS"; fi
if [ -n "$QUICK" ]; then TRACE_BT_DEPTH=14; TRACE_EST_MIB=256; else TRACE_BT_DEPTH=17; TRACE_EST_MIB=1024; fi
# trace_run REP VARIANT BENCH: one measurement, its RESULT lines renamed
# trace_<bench> with variant=VARIANT
trace_run() {
    local rep=$1 v=$2 b=$3 bin=$BIN mode=off out rc=0
    case "$v" in
        untraced) bin=$TRACE_BASE_BIN ;;
        sample) mode=sample ;;
        full1) mode=full:1 ;;
        full16) mode=full:16 ;;
    esac
    local cmd=("$bin/bench_alloc_recycle" churn)
    if [ "$b" = bt ]; then cmd=("$bin/bench_objects_recycle" bt "$TRACE_BT_DEPTH"); fi
    note "-- rep $rep: trace/$b/$v"
    out=$(BENCH_QUICK=1 BENCH_TRACE=$mode timeout "$TIMEOUT" "${cmd[@]}" 2>>"$LOG") || rc=$?
    if [ "$rc" -ne 0 ]; then echo "FAIL label=trace/$b/$v rep=$rep rc=$rc" >>"$RESULTS"; return 0; fi
    printf '%s\n' "$out" | grep -E '^RESULT bench=(churn|bt) ' |
        sed -E "s/^RESULT bench=(churn|bt) alloc=recycle/RESULT bench=trace_\1 alloc=recycle variant=$v/; s/\$/ rep=$rep/" \
            >>"$RESULTS" || true
}
if [ -n "$RECYCLE" ]; then
    TRACE_VARIANTS=(off sample full1 full16)
    if [ -n "$TRACE_BASE_BIN" ]; then TRACE_VARIANTS+=(untraced); fi
    for ((rep = 1; rep <= REPS; rep++)); do
        for b in churn bt; do
            for v in $(rotate "$rep" "${TRACE_VARIANTS[@]}"); do trace_run "$rep" "$v" "$b"; done
        done
    done
    if command -v valgrind >/dev/null 2>&1; then
        for v in off untraced; do
            bin=$BIN
            if [ "$v" = untraced ]; then bin=$TRACE_BASE_BIN; fi
            if [ -z "$bin" ]; then continue; fi
            note "-- instructions: trace/$v"
            loop=$(count_ir "$bin/bench_alloc_recycle" pairs "$PAIRS" loop)
            all=$(count_ir "$bin/bench_alloc_recycle" pairs "$PAIRS")
            bt=$(count_ir "$bin/bench_objects_recycle" bt 14)
            if [ -n "$loop" ] && [ -n "$all" ] && [ -n "$bt" ]; then
                echo "RESULT bench=trace_ir alloc=recycle variant=$v pairs=$PAIRS" \
                    "ir_per_pair=$(awk -v a="$all" -v l="$loop" -v n="$PAIRS" 'BEGIN{printf "%.3f", (a-l)/n}')" \
                    "ir_bt14=$bt" >>"$RESULTS"
            else
                echo "FAIL label=trace_ir/$v rep=1 rc=1" >>"$RESULTS"
            fi
        done
    fi
    if have bench_trace_recycle; then
        run_one 1 trace/estimate "$BIN/bench_trace_recycle" estimate "$TRACE_EST_MIB" 5
        if [ -z "$QUICK" ]; then run_one 1 trace/estimate-8g "$BIN/bench_trace_recycle" estimate 8192 3; fi
    fi
fi

# ---- interpreters: CPython, Lua and SQLite on recycle (bench/adapters/run.py) ----
# The adapters' launchers and bench_sqlite, built in the same tree; the
# harness appends its RESULT lines (report.py's section "Interpreters").
if cmake --build "$BUILD" --target recycle-lua recycle-python bench_sqlite -j "$JOBS" >>"$LOG" 2>&1; then
    python3 bench/adapters/run.py --build "$BUILD" --results "$RESULTS" --reps "$REPS" \
        ${QUICK:+--quick} 2>>"$LOG" || note "!! the interpreter benchmarks failed (see $LOG)"
else
    note "!! the adapters did not build (lua5.4, python-3.11-embed, sqlite3 missing?); see $LOG"
    echo "NOTE kind=missing alloc=adapters" >>"$RESULTS"
fi

END_EPOCH=$(date +%s)
note "== measurements took $((END_EPOCH - START_EPOCH)) s; writing $REPORT"
mkdir -p "$(dirname "$REPORT")"
python3 bench/report.py --results "$RESULTS" --out "$REPORT" --svg-dir "$SVG_DIR" \
    --work "$BUILD/plot" --reps "$REPS" --seconds "$((END_EPOCH - START_EPOCH))" \
    ${QUICK:+--quick} --bt-depth "$BT_DEPTH" --py-bt-depth "$PY_BT_DEPTH"
note "== done: $REPORT"
