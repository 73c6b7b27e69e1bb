#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the allocator and object tests under valgrind memcheck.
#
#   tests/run_valgrind.sh [BUILD_DIR]     (default build/release)
#
# Each test runs with RCY_TEST_QUICK=1 (the tests shrink themselves) and fails
# on any memcheck error or leak (exit 99). Tests not built are skipped; it is
# an error if none of them was built. RCY_VALGRIND_TIMEOUT caps each run
# (seconds, default 1200).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
build=${1:-build/release}
tests=(test_pool test_alloc test_owns test_release test_object test_weakref test_gc test_gc_model
    test_threads test_thread_stress)
tests+=(test_why test_pinned test_report) # the retention tools (src/tools: why, census, dominators, ...)
tests+=(test_trace) # allocation tracing (issue 24)
timeout_s=${RCY_VALGRIND_TIMEOUT:-1200}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "run_valgrind.sh: valgrind not found (scripts/install-deps.sh installs it)" >&2
    exit 1
fi

wrap=()
if command -v timeout >/dev/null 2>&1; then
    wrap=(timeout "$timeout_s")
fi

ran=0
bad=0
for t in "${tests[@]}"; do
    exe="$build/tests/$t"
    if [ ! -x "$exe" ]; then
        echo "valgrind: $t: not built, skipped"
        continue
    fi
    echo "valgrind: $t"
    ran=$((ran + 1))
    RCY_TEST_QUICK=1 RCY_NO_RSS_CHECKS=1 "${wrap[@]}" valgrind -q --error-exitcode=99 --leak-check=full --child-silent-after-fork=yes \
        --suppressions="$(dirname "$0")/valgrind.supp" \
        --show-leak-kinds=definite,possible "$exe"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        why="exit $rc"
        [ "$rc" -eq 99 ] && why="memcheck errors or leaks"
        [ "$rc" -eq 124 ] && why="timed out after ${timeout_s}s"
        echo "valgrind: $t FAILED ($why)" >&2
        bad=$((bad + 1))
    else
        echo "valgrind: $t ok"
    fi
done

if [ "$ran" -eq 0 ]; then
    echo "run_valgrind.sh: none of ${tests[*]} is built in $build" >&2
    exit 1
fi
echo "valgrind: $ran run, $bad failed"
[ "$bad" -eq 0 ]
