#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Line coverage of src/ from the test suite: `make coverage`.
#
#   scripts/coverage.sh            build/coverage, then the report
#
# A gcc Debug build with --coverage at RCY_CHECK_LEVEL=3 (so the misuse
# checks, asserts and validators are measured too) and with fault injection
# (so test_fault's loops reach the out-of-memory paths) in build/coverage; every
# CTest test runs, then gcovr prints each file of src/ with its uncovered
# lines and the total, and fails if under RCY_COVERAGE_MIN percent (90).
# Tests that check an abort in a child process (tests/check.h) write the
# child's counts before it dies (RCY_TEST_COVERAGE). Environment: JOBS
# (parallel build jobs, default 2). Needs gcovr: scripts/install-deps.sh
# --coverage installs it.
set -euo pipefail

cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
min=${RCY_COVERAGE_MIN:-90}
build=build/coverage

if ! command -v gcovr >/dev/null 2>&1; then
    echo "coverage: gcovr not found (scripts/install-deps.sh --coverage installs it)" >&2
    exit 1
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
    -DRCY_CHECK_LEVEL=3 -DRCY_BUILD_EXAMPLES=OFF -DRCY_WERROR=ON -DRCY_FAULT_INJECTION=ON \
    -DCMAKE_C_FLAGS="--coverage -DRCY_TEST_COVERAGE=1" \
    -DCMAKE_EXE_LINKER_FLAGS=--coverage -DCMAKE_SHARED_LINKER_FLAGS=--coverage
cmake --build "$build" -j "$jobs"
# Counts from an earlier run would add up with this one's.
find "$build" -name '*.gcda' -delete
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$jobs"

# CMake's compiler checks leave a .gcno of their own in CMakeFiles/<version>/.
gcovr --root . --object-directory "$build" --filter 'src/' \
    --exclude-directories "$build/CMakeFiles/[0-9.]+" \
    --txt --print-summary --fail-under-line "$min"
