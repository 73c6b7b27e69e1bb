#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared library calls its own functions directly: no call inside
# librecycle.so goes through the PLT to an rcy_ function (the library is
# built with -fno-semantic-interposition and -Bsymbolic-functions), so the
# hot paths cost the same in the shared and the static library.
#
#   tests/check_plt.sh LIBRECYCLE_SO
set -euo pipefail
lib=${1:?usage: check_plt.sh path/to/librecycle.so}
command -v objdump >/dev/null || { echo "check_plt: objdump not found (binutils)" >&2; exit 1; }
calls=$(objdump -d --no-show-raw-insn "$lib" | grep -E '(call|jmp) +[0-9a-f]+ <rcy_[A-Za-z0-9_]*@plt>' || true)
if [ -n "$calls" ]; then
    echo "check_plt: calls through the PLT to the library's own functions:" >&2
    printf '%s\n' "$calls" >&2
    exit 1
fi
echo "check_plt: no call through the PLT to an rcy_ function in $(basename "$lib")"
