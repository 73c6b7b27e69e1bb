#!/usr/bin/env bash
# Build and test recycle in every configuration `make test` covers.
#
#   scripts/test.sh                 all stages, in order
#   scripts/test.sh STAGE...        only these stages
#
# Stages:
#   release   gcc, Release build in build/release, all CTest tests, then the
#             randomized collector model for 200 seeds (RCY_GC_MODEL_SEEDS)
#   asan      clang, Debug, RCY_CHECK_LEVEL=3 (misuse checks, asserts, heap validation), ASan+UBSan build in build/asan, all CTest tests, then the libFuzzer
#             target for RCY_FUZZ_SECONDS (30), from a copy of fuzz/corpus/fuzz_gc
#   valgrind  valgrind memcheck on allocator and object tests of build/release
#             (tests/run_valgrind.sh)
#   install   install build/release into build/stage, then build tests/install_check
#             against it with pkg-config and with CMake's find_package, and run both
#   format    clang-format-14 --dry-run --Werror on every C file under src include
#             tests bench examples tour fuzz: fails if any would change
#   tidy      clang-tidy-14 (.clang-tidy) on the C files of src, tests and fuzz,
#             from the compile database of clang configures at check levels 0
#             and 3 in build/tidy-0 and build/tidy-3: fails on any finding
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
        -DRCY_SANITIZE=ON -DRCY_CHECK_LEVEL=3 -DRCY_BUILD_FUZZ=ON -DRCY_WERROR=ON
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

stage_install() {
    configure_release
    rm -rf "$stage_dir" "$check_dir"
    cmake --install "$build_release" --prefix "$stage_dir"
    local prefix libdir pcflags pclibdir
    prefix="$root/$stage_dir"
    libdir=$(find_libdir "$prefix")
    mkdir -p "$check_dir"

    # 1. pkg-config. The installed recycle.pc names the configure-time prefix,
    #    so point its prefix at the staging directory.
    note "install check: pkg-config (libdir ${libdir#"$root/"})"
    export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    pcflags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs recycle)
    pclibdir=$(pkg-config --define-variable=prefix="$prefix" --variable=libdir recycle)
    echo "pkg-config --cflags --libs recycle: $pcflags"
    # shellcheck disable=SC2086 # pcflags is a list of words
    gcc -std=c17 -Wall -Wextra -Werror tests/install_check/main.c $pcflags \
        -Wl,-rpath,"$pclibdir" -o "$check_dir/main_pkgconfig"
    # ldd's output is captured first: with pipefail, `ldd | grep -q` fails at
    # random when grep exits early and ldd dies of SIGPIPE.
    local linked
    linked=$(ldd "$check_dir/main_pkgconfig" 2>/dev/null || true)
    if command -v ldd >/dev/null 2>&1 && [[ "$linked" != *"$prefix"* ]]; then
        echo "install check: main_pkgconfig is not linked against the staged library:" >&2
        ldd "$check_dir/main_pkgconfig" >&2
        return 1
    fi
    "$check_dir/main_pkgconfig"

    # 2. CMake's find_package(recycle), static and shared targets.
    note "install check: find_package(recycle)"
    cmake -S tests/install_check -B "$check_dir/cmake" -DCMAKE_C_COMPILER=gcc \
        -DCMAKE_PREFIX_PATH="$prefix" -DRCY_EXPECT_PREFIX="$prefix"
    cmake --build "$check_dir/cmake" -j "$jobs"
    "$check_dir/cmake/main_static"
    "$check_dir/cmake/main_shared"
}

# The C files the format and tidy stages look at (and `make format` formats).
format_dirs=(src include tests bench examples tour fuzz)
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
    local level dir files=() log rc=0 pattern
    pattern="^$root/($(IFS='|'; echo "${tidy_dirs[*]}"))/"
    for level in 0 3; do
        dir=build/tidy-$level
        cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DRCY_CHECK_LEVEL="$level" \
            -DRCY_BUILD_FUZZ=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
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

all_stages=(release asan valgrind install format tidy)
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
