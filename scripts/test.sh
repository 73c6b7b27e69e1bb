#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build and test recycle in every configuration `make test` covers.
#
#   scripts/test.sh                 all stages, in order
#   scripts/test.sh STAGE...        only these stages
#
# Stages:
#   release   gcc, Release build in build/release, all CTest tests, then the
#             randomized collector model for 200 seeds (RCY_GC_MODEL_SEEDS)
#   asan      clang, Debug, RCY_CHECK_LEVEL=3 (misuse checks, asserts, heap validation), ASan+UBSan build in build/asan, all CTest tests, then the libFuzzer
#             target for RCY_FUZZ_SECONDS (30), from a copy of fuzz/corpus/fuzz_gc;
#             with RCY_FAULT_INJECTION, so test_fault runs its out-of-memory loops
#   tsan      clang, ThreadSanitizer (RCY_TSAN), release check level, in
#             build/tsan: the threaded tests (tests/threads: test_threads and
#             the randomized test_thread_stress, RCY_STRESS_OPS 50000 per
#             thread, three seeds), halting on the first report; and the shared
#             objects' tests (test_shared, test_shared_model with three seeds)
#   valgrind  valgrind memcheck on allocator and object tests of build/release
#             (tests/run_valgrind.sh)
#   install   the commands of README.md's "Using recycle in your project", as
#             written there: install build/release into build/stage, build
#             tests/install_check/main.c (as app.c) with each pkg-config line
#             (shared, rpath, static, LD_LIBRARY_PATH) and with find_package;
#             check with ldd which library each program loads, and run it;
#             then that the installed librecycle-malloc.so preloads
#   format    clang-format-14 --dry-run --Werror on every C file under src include
#             tests bench examples tour fuzz: fails if any would change
#   tidy      clang-tidy-14 (.clang-tidy) on the C files of src, tests and fuzz,
#             from the compile database of clang configures at check levels 0
#             and 3 (with fault injection, as the asan stage) in build/tidy-0 and
#             build/tidy-3: fails on any finding
#
# Every stage runs even if an earlier one failed; the exit status is non-zero if
# any failed. Environment: JOBS (parallel build jobs, default 2), CTEST_ARGS
# (extra arguments for ctest, e.g. "-j2" or "-R pool").
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
jobs=${JOBS:-2}
ctest_args=${CTEST_ARGS:-}
build_release=build/release
build_asan=build/asan
stage_dir=build/stage
check_dir=build/install-check

note() { printf '\n==> %s\n' "$*"; }

configure_release() {
    cmake -S . -B "$build_release" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
        -DRCY_WERROR=ON
    cmake --build "$build_release" -j "$jobs"
}

stage_release() {
    configure_release
    # shellcheck disable=SC2086 # CTEST_ARGS is a list of words
    ctest --test-dir "$build_release" --output-on-failure --no-tests=error $ctest_args &&
        RCY_GC_MODEL_SEEDS=${RCY_GC_MODEL_SEEDS:-200} "$build_release/tests/test_gc_model"
}

stage_asan() {
    cmake -S . -B "$build_asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
        -DRCY_SANITIZE=ON -DRCY_CHECK_LEVEL=3 -DRCY_BUILD_FUZZ=ON -DRCY_WERROR=ON \
        -DRCY_FAULT_INJECTION=ON
    cmake --build "$build_asan" -j "$jobs"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    # shellcheck disable=SC2086 # CTEST_ARGS is a list of words
    ctest --test-dir "$build_asan" --output-on-failure --no-tests=error $ctest_args &&
        fuzz_briefly
}

# The libFuzzer target for a bounded time from a fixed seed (clang builds),
# starting from the checked-in corpus. libFuzzer adds the inputs it finds
# to its corpus directory, so it runs on a scratch copy: a test run leaves
# fuzz/corpus/ as it was (fuzz/CMakeLists.txt says how to refresh it).
fuzz_briefly() {
    local target="$build_asan/fuzz/fuzz_gc" seeds=fuzz/corpus/fuzz_gc
    local work="$build_asan/fuzz/corpus-run"
    [ -x "$target" ] || return 0
    rm -rf "$work"
    mkdir -p "$work"
    if [ -d "$seeds" ]; then
        cp -R "$seeds"/. "$work"/
    fi
    "$target" "$work" -seed=1 -max_total_time="${RCY_FUZZ_SECONDS:-30}" -print_final_stats=1 2>&1 |
        tail -n 12
    return "${PIPESTATUS[0]}"
}

# The threaded tests under ThreadSanitizer: the release build's code (check
# level 0), whose fast paths are the ones that race if anything does.
stage_tsan() {
    local build_tsan=build/tsan seed
    cmake -S . -B "$build_tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
        -DRCY_TSAN=ON -DRCY_WERROR=ON -DRCY_BUILD_EXAMPLES=OFF
    cmake --build "$build_tsan" -j "$jobs" --target test_threads test_thread_stress
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    "$build_tsan/tests/test_threads"
    for seed in 1 2 3; do
        RCY_STRESS_SEED=$seed RCY_STRESS_OPS=${RCY_STRESS_OPS:-50000} \
            "$build_tsan/tests/test_thread_stress"
    done
    # shared objects (issue 23): the case tests and the randomized model, three seeds
    cmake --build "$build_tsan" -j "$jobs" --target test_shared test_shared_model
    "$build_tsan/tests/test_shared"
    for seed in 1 2 3; do
        RCY_MODEL_SEED=$seed RCY_MODEL_OPS=${RCY_MODEL_OPS:-5000} RCY_MODEL_PHASES=4 \
            "$build_tsan/tests/test_shared_model"
    done
}

stage_valgrind() {
    configure_release
    bash tests/run_valgrind.sh "$build_release"
}

# The directory under the install prefix that holds pkgconfig/ and cmake/:
# lib, lib64 or lib/<multiarch triplet>, depending on GNUInstallDirs.
find_libdir() {
    local d
    for d in "$1"/lib "$1"/lib64 "$1"/lib/*; do
        if [ -f "$d/pkgconfig/recycle.pc" ]; then
            echo "$d"
            return 0
        fi
    done
    echo "install check: no pkgconfig/recycle.pc under $1" >&2
    return 1
}

# The command lines README.md shows under "Using recycle in your project", in
# its order. The install stage checks that the README shows exactly these and
# runs each as written, with only PREFIX and PKG_CONFIG_PATH its own.
# shellcheck disable=SC2016 # expanded when run, as in the README
readme_install='cmake --install build/release --prefix "$PREFIX"'
# shellcheck disable=SC2016
readme_cc='cc -std=c17 app.c $(pkg-config --cflags --libs recycle) -o app'
# shellcheck disable=SC2016
readme_cc_rpath='cc -std=c17 app.c $(pkg-config --cflags --libs recycle) -Wl,-rpath,"$(pkg-config --variable=libdir recycle)" -o app'
# shellcheck disable=SC2016
readme_cc_static='cc -std=c17 app.c $(pkg-config --cflags recycle) "$(pkg-config --variable=libdir recycle)/librecycle.a" -lm -o app'
# shellcheck disable=SC2016
readme_run_ldpath='LD_LIBRARY_PATH="$(pkg-config --variable=libdir recycle)" ./app'
readme_commands=("$readme_install" "$readme_cc" "$readme_cc_rpath" "$readme_cc_static" "$readme_run_ldpath")

# The lines of README.md's ```LANG blocks in the section "Using recycle in
# your project", unindented.
readme_block_lines() {
    awk -v lang="$1" '
        /^## / { inside = ($0 == "## Using recycle in your project"); next }
        !inside { next }
        { line = $0; sub(/^[ \t]+/, "", line) }
        fence && line == "```" { fence = 0; next }
        fence { print line; next }
        line == "```" lang { fence = 1 }
    ' README.md
}

# Runs a README command line as written, in directory $1, showing it first
# (on stderr, so that a caller may capture what the command prints).
run_readme() {
    local dir=$1 line=$2
    printf '$ %s\n' "$line" >&2
    (cd "$dir" && eval "$line")
}

# The file program $1's librecycle.so resolves to, "not found", or nothing if
# it loads none; ldd runs with the environment in the other arguments. ldd's
# output is captured first: with pipefail, `ldd | grep -q` fails at random
# when grep exits early.
loaded_recycle() {
    local out
    out=$(env "${@:2}" ldd "$1") || return 1
    awk '$1 ~ /^librecycle\.so/ { print ($3 == "not" ? "not found" : $3); exit }' <<<"$out"
}

# Fails unless program $1 loads the shared library $2 (the staged one), or
# none if $2 is "static"; ldd runs with the environment in the other arguments.
check_loads() {
    local prog=$1 want=$2 got
    got=$(loaded_recycle "$prog" "${@:3}")
    if [ "$want" = static ]; then
        if [ -n "$got" ]; then
            echo "install check: $prog should not load librecycle.so, but loads $got" >&2
            return 1
        fi
        echo "ldd: no librecycle.so (static)"
        return 0
    fi
    if [ -z "$got" ] || [ "$got" = "not found" ] ||
        [ "$(realpath "$got")" != "$(realpath "$want")" ]; then
        echo "install check: $prog loads '${got:-no librecycle.so}', not the staged $want" >&2
        env "${@:3}" ldd "$prog" >&2 || true
        return 1
    fi
    echo "ldd: librecycle.so -> $got (the staged library)"
}

# Fails unless the output in $1 is the install check program's success line.
check_output() {
    printf '%s\n' "$1"
    if ! [[ "$1" =~ ^install\ check:\ ok\ \(recycle\ [0-9.]+,\ check\ level\ [0-3]\)$ ]]; then
        echo "install check: unexpected output from the program" >&2
        return 1
    fi
}

stage_install() {
    command -v ldd >/dev/null || { echo "install check: needs ldd" >&2; return 1; }
    # Only the rpath or the README's LD_LIBRARY_PATH may lead to the library.
    unset LD_LIBRARY_PATH
    configure_release
    rm -rf "$stage_dir" "$check_dir"
    mkdir -p "$check_dir"

    note "install check: README.md's commands"
    local expected
    expected=$(printf '%s\n' "${readme_commands[@]}")
    if [ "$(readme_block_lines sh)" != "$expected" ]; then
        echo "install check: the sh lines of README.md's \"Using recycle in your project\" differ" \
            "from the commands this stage runs (readme_* in scripts/test.sh):" >&2
        diff <(readme_block_lines sh) <(printf '%s\n' "$expected") >&2
        return 1
    fi
    local line
    while IFS= read -r line; do
        if ! grep -Fxq -- "$line" tests/install_check/CMakeLists.txt; then
            echo "install check: README.md's CMake line is not in tests/install_check/CMakeLists.txt: $line" >&2
            return 1
        fi
    done < <(readme_block_lines cmake)

    # The script's choices: where to install, and where pkg-config looks.
    export PREFIX="$root/$stage_dir"
    run_readme . "$readme_install"
    local libdir staged
    libdir=$(find_libdir "$PREFIX")
    staged="$libdir/librecycle.so.0"
    export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    echo "PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
    echo "pkg-config --cflags --libs recycle: $(pkg-config --cflags --libs recycle)"
    if [ "$(realpath "$(pkg-config --variable=prefix recycle)")" != "$(realpath "$PREFIX")" ]; then
        echo "install check: recycle.pc names the prefix $(pkg-config --variable=prefix recycle)," \
            "not $PREFIX" >&2
        return 1
    fi
    # recycle-report, installed beside the library (tools/recycle-report).
    note "install check: recycle-report"
    if ! "$PREFIX/bin/recycle-report" --help >/dev/null; then
        echo "install check: $PREFIX/bin/recycle-report is missing or does not run" >&2
        return 1
    fi
    # The README's app.c.
    cp tests/install_check/main.c "$check_dir/app.c"
    local out

    # 1. Plain: links the shared library, which the loader cannot find.
    note "install check: pkg-config, shared library"
    run_readme "$check_dir" "$readme_cc"
    local found
    found=$(loaded_recycle "$check_dir/app")
    if [ "$found" = "not found" ]; then
        if out=$(cd "$check_dir" && ./app 2>&1); then
            echo "install check: ./app ran although ldd finds no librecycle.so" >&2
            return 1
        fi
        if [[ "$out" != *"librecycle.so.0: cannot open shared object file"* ]]; then
            echo "install check: ./app failed otherwise than the README says: $out" >&2
            return 1
        fi
        echo "./app alone fails, as the README says: $out"
    else
        echo "(the loader finds a librecycle.so of its own for ./app: ${found:-none}; not the README's case)"
    fi
    # 1a. ... so tell it where, for one run.
    out=$(run_readme "$check_dir" "$readme_run_ldpath")
    check_output "$out"
    check_loads "$check_dir/app" "$staged" LD_LIBRARY_PATH="$(pkg-config --variable=libdir recycle)"

    # 2. With an rpath.
    note "install check: pkg-config, shared library with an rpath"
    rm -f "$check_dir/app"
    run_readme "$check_dir" "$readme_cc_rpath"
    check_loads "$check_dir/app" "$staged"
    out=$(cd "$check_dir" && ./app)
    check_output "$out"

    # 3. Static.
    note "install check: pkg-config, static library"
    rm -f "$check_dir/app"
    local static_libs
    static_libs=$(pkg-config --static --libs recycle)
    if [[ " $static_libs " != *" -lm "* ]]; then
        echo "install check: the README links the static library with -lm, but" \
            "pkg-config --static --libs recycle says: $static_libs" >&2
        return 1
    fi
    run_readme "$check_dir" "$readme_cc_static"
    check_loads "$check_dir/app" static
    out=$(cd "$check_dir" && ./app)
    check_output "$out"

    # 4. CMake's find_package(recycle), static and shared targets.
    note "install check: find_package(recycle)"
    cmake -S tests/install_check -B "$check_dir/cmake" -DCMAKE_C_COMPILER=gcc \
        -DCMAKE_PREFIX_PATH="$PREFIX" -DRCY_EXPECT_PREFIX="$PREFIX"
    cmake --build "$check_dir/cmake" -j "$jobs"
    check_loads "$check_dir/cmake/app" static
    out=$("$check_dir/cmake/app")
    check_output "$out"
    check_loads "$check_dir/cmake/app_shared" "$staged"
    out=$("$check_dir/cmake/app_shared")
    check_output "$out"
    # 5. The malloc shim, installed beside the library (README, "recycle as
    # the process's malloc"): a program started with it preloaded maps it.
    note "install check: librecycle-malloc.so with LD_PRELOAD"
    local shim="$libdir/librecycle-malloc.so"
    [ -f "$shim" ] || { echo "install check: $shim was not installed" >&2; return 1; }
    out=$(LD_PRELOAD="$shim" sh -c 'grep -c librecycle-malloc /proc/$$/maps')
    if [ "${out:-0}" -lt 1 ]; then
        echo "install check: LD_PRELOAD=$shim: the shim is not mapped in the program" >&2
        return 1
    fi
    echo "LD_PRELOAD=$shim: mapped ($out mappings)"

    check_installed_adapters
    note "install check: every program built and ran"
}

# The adapters (adapters/, docs/integrations.md) that the build made are
# installed: their headers, libraries and launchers, and the launchers run.
check_installed_adapters() {
    local bin="$PREFIX/bin" inc="$PREFIX/include" out
    if [ -f "$build_release/adapters/lua/recycle-lua" ]; then
        note "install check: adapters/lua"
        [ -f "$inc/recycle_lua.h" ] && [ -f "$libdir/librecycle-lua.a" ] ||
            { echo "install check: recycle_lua.h or librecycle-lua.a not installed" >&2; return 1; }
        out=$("$bin/recycle-lua" -e 'print(#arg, collectgarbage("count") > 0)') # as lua: arg[1], arg[2] are -e and its code
        [ "$out" = "2	true" ] || { echo "install check: recycle-lua printed '$out'" >&2; return 1; }
        echo "recycle-lua: ok"
    fi
    if [ -f "$build_release/adapters/python/recycle-python" ]; then
        note "install check: adapters/python"
        out=$(cd / && "$bin/recycle-python" -c 'import json, sys; print(json.loads("[6]")[0] * 7)')
        [ "$out" = 42 ] || { echo "install check: recycle-python printed '$out'" >&2; return 1; }
        echo "recycle-python: ok"
    fi
    if [ -f "$build_release/adapters/sqlite/librecycle-sqlite.a" ]; then
        note "install check: adapters/sqlite"
        [ -f "$inc/recycle_sqlite.h" ] && [ -f "$libdir/librecycle-sqlite.a" ] ||
            { echo "install check: recycle_sqlite.h or librecycle-sqlite.a not installed" >&2; return 1; }
        echo "recycle_sqlite.h, librecycle-sqlite.a: ok"
    fi
}

# The C files the format and tidy stages look at (and `make format` formats).
format_dirs=(src include tests bench examples tour fuzz adapters)
clang_format=clang-format-14

# Fails if clang-format would change any C file: the files it would change,
# then the first of its complaints. Pinned to clang-format-14 (Debian 12's),
# since each version lays code out a little differently.
stage_format() {
    if ! command -v "$clang_format" >/dev/null 2>&1; then
        echo "format: $clang_format not found (scripts/install-deps.sh installs it)" >&2
        return 1
    fi
    local files=() bad=() f dirs=()
    for f in "${format_dirs[@]}"; do
        [ -d "$f" ] && dirs+=("$f")
    done
    mapfile -d '' files < <(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
    for f in "${files[@]}"; do
        "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
    done
    echo "format: ${#files[@]} files checked with $clang_format, ${#bad[@]} would change"
    [ "${#bad[@]}" -eq 0 ] && return 0
    printf '  %s\n' "${bad[@]}"
    echo "format: the first differences in ${bad[0]} ('make format' fixes them all):"
    "$clang_format" --dry-run --Werror "${bad[0]}" 2>&1 | head -n 20
    return 1
}

# clang-tidy-14 (pinned like clang-format) with .clang-tidy over the C files
# of src, tests and fuzz, from the compile database of a clang configure at
# check levels 0 and 3 (the code each level compiles); fails on any finding.
# No build is needed: configuring writes the database and recycle_config.h.
tidy_dirs=(src tests fuzz)
clang_tidy=clang-tidy-14

stage_tidy() {
    if ! command -v "$clang_tidy" >/dev/null 2>&1; then
        echo "tidy: $clang_tidy not found (scripts/install-deps.sh installs it)" >&2
        return 1
    fi
    local level dir files=() log rc=0 pattern fault
    pattern="^$root/($(IFS='|'; echo "${tidy_dirs[*]}"))/"
    for level in 0 3; do
        dir=build/tidy-$level
        fault=OFF
        [ "$level" = 3 ] && fault=ON # the code the asan stage compiles
        cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DRCY_CHECK_LEVEL="$level" \
            -DRCY_BUILD_FUZZ=ON -DRCY_FAULT_INJECTION="$fault" \
            -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
        # Each source once (the library's are compiled twice, static and shared).
        mapfile -t files < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$dir/compile_commands.json" |
            grep -E "$pattern" | sort -u)
        echo "tidy: level $level, ${#files[@]} files"
        log=$dir/tidy.log
        printf '%s\0' "${files[@]}" |
            xargs -0 -n 1 -P "$jobs" "$clang_tidy" -p "$dir" --quiet --warnings-as-errors='*' \
                >"$log" 2>&1 || rc=1
        { grep -E '(error|warning):' "$log" || true; } | sed "s|^$root/||" | sort -u
    done
    [ "$rc" -eq 0 ] && echo "tidy: no findings"
    return "$rc"
}

all_stages=(release asan tsan valgrind install format tidy)
if [ "$#" -gt 0 ]; then
    stages=("$@")
else
    stages=("${all_stages[@]}")
fi
for s in "${stages[@]}"; do
    case " ${all_stages[*]} " in
    *" $s "*) ;;
    *)
        echo "test.sh: unknown stage '$s' (stages: ${all_stages[*]})" >&2
        exit 2
        ;;
    esac
done

passed=0
failed=0
summary=()
for s in "${stages[@]}"; do
    note "stage $s"
    start=$SECONDS
    # A subshell with errexit: the first failing command fails the stage.
    (set -e; "stage_$s")
    rc=$?
    secs=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("$(printf '  %-9s passed  (%ds)' "$s" "$secs")")
    else
        failed=$((failed + 1))
        summary+=("$(printf '  %-9s FAILED  (%ds, exit %d)' "$s" "$secs" "$rc")")
    fi
done

note "summary"
printf '%s\n' "${summary[@]}"
echo "make-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
