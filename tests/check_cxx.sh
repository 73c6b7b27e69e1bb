#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The public header compiles as C++17, warning-free with -Wall -Wextra
# -pedantic, and leaks no internal macro (tests/cxx/header_check.cpp).
#
#   tests/check_cxx.sh INCLUDE_DIR GENERATED_INCLUDE_DIR
set -euo pipefail
here=$(dirname "$0")
cxx=${CXX:-c++}
command -v "$cxx" >/dev/null || { echo "check_cxx: no C++ compiler ($cxx); scripts/install-deps.sh installs g++" >&2; exit 1; }
"$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -Wold-style-cast \
    -I "$1" -I "$2" "$here/cxx/header_check.cpp"
echo "check_cxx: include/recycle.h compiles as C++17 with $cxx"
