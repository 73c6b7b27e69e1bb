#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what building and testing recycle needs on Debian/Ubuntu.
#
#   scripts/install-deps.sh             tools for `make demo`, `make test` and `make format`
#   scripts/install-deps.sh --bench     also the allocators and plotting tools bench/ compares with
#   scripts/install-deps.sh --coverage  also gcovr (for `make coverage`)
#   scripts/install-deps.sh --check     only report what is missing (exit 1 if anything is)
#
# Idempotent: when everything is present it returns at once without touching apt.
# When something is missing and we are root, it runs `apt-get update` once and
# `apt-get install -y` the missing packages, non-interactively.
set -euo pipefail

want_bench=0
want_coverage=0
check_only=0
for arg in "$@"; do
    case "$arg" in
    --bench) want_bench=1 ;;
    --coverage) want_coverage=1 ;;
    --check) check_only=1 ;;
    -h | --help)
        sed -n '3,12s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

# Each requirement is "kind:name:package": kind "cmd" is satisfied by a command
# on PATH, kind "pkg" by an installed Debian package.
reqs=(
    cmd:cmake:cmake
    cmd:gcc:gcc
    cmd:g++:g++ # tests/check_cxx.sh: the public header compiles as C++
    cmd:clang:clang
    cmd:make:make
    cmd:valgrind:valgrind
    cmd:pkg-config:pkg-config
    pkg:libclang-rt-dev:libclang-rt-dev # ASan/UBSan runtimes for the clang build
    # Pinned to Debian 12's LLVM 14: another version formats or warns
    # differently, and the format and tidy stages must not depend on which.
    cmd:clang-format-14:clang-format-14
    cmd:clang-tidy-14:clang-tidy-14
    # adapters/ (docs/integrations.md): the interpreters recycle runs under,
    # and the part of CPython's own test suite adapters/python runs
    pkg:liblua5.4-dev:liblua5.4-dev
    cmd:lua5.4:lua5.4
    pkg:libpython3.11-dev:libpython3.11-dev
    pkg:libpython3.11-testsuite:libpython3.11-testsuite
    pkg:libsqlite3-dev:libsqlite3-dev
    # allocation tracing's symbolization (src/tools/symbolize.c): elfutils'
    # libdw, its header at build time, the library loaded at run time
    pkg:libdw-dev:libdw-dev
    # and its unwinder for more than one frame (src/tools/unwind.c):
    # libunwind's unw_backtrace, loaded at run time (backtrace() without it)
    pkg:libunwind8:libunwind8
    # tests/malloc/run_programs.sh: real programs under librecycle-malloc.so
    cmd:python3:python3
    cmd:sqlite3:sqlite3
    cmd:git:git
    cmd:xz:xz-utils
)
if [ "$want_bench" = 1 ]; then
    reqs+=(
        pkg:libmimalloc-dev:libmimalloc-dev
        pkg:libjemalloc-dev:libjemalloc-dev
        pkg:libgc-dev:libgc-dev
        cmd:gnuplot:gnuplot-nox
        cmd:python3:python3
        cmd:/usr/bin/time:time # bench/mt/run.sh: peak RSS of the real programs
    )
fi
if [ "$want_coverage" = 1 ]; then
    reqs+=(cmd:gcovr:gcovr)
fi

have_pkg() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == *'install ok installed'* ]]
}

missing=()
for r in "${reqs[@]}"; do
    IFS=: read -r kind name package <<<"$r"
    case "$kind" in
    cmd) command -v "$name" >/dev/null 2>&1 || missing+=("$package") ;;
    pkg) have_pkg "$name" || missing+=("$package") ;;
    esac
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps.sh: all dependencies present"
    exit 0
fi

echo "install-deps.sh: missing: ${missing[*]}"
if [ "$check_only" = 1 ]; then
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: no apt-get here; install the packages above by hand" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "install-deps.sh: not root; run as root (or install by hand):" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
echo "install-deps.sh: installed ${missing[*]}"
