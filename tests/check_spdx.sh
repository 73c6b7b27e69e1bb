#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every source file of the repository names its licence (LICENSE, MIT) in
# an SPDX line among its first two lines (the second after a #! line).
#
#   tests/check_spdx.sh [REPO_DIR]      (default: the folder above this one)
#
# Source files: C sources and headers, shell and Python scripts, CMake and
# make files, the pkg-config and config templates, .ci/run. Files git does
# not track are not looked at (outside a git checkout: every file).
set -euo pipefail
repo=${1:-"$(dirname "$0")/.."}
cd "$repo"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    list() { git ls-files; }
else
    list() { find . -type f -not -path './build/*' -not -path './.git/*' | sed 's|^\./||'; }
fi

is_source() {
    case "$1" in
    *.c | *.h | *.sh | *.py | *.in | */CMakeLists.txt | CMakeLists.txt | Makefile | .ci/run) return 0 ;;
    esac
    return 1
}

checked=0
missing=()
while IFS= read -r f; do
    [ -f "$f" ] && is_source "$f" || continue
    checked=$((checked + 1))
    head -n 2 "$f" | grep -q 'SPDX-License-Identifier: MIT' || missing+=("$f")
done < <(list)

if [ "${#missing[@]}" -gt 0 ]; then
    printf 'check_spdx: no SPDX line in the first two lines of %s\n' "${missing[@]}" >&2
    exit 1
fi
[ -f LICENSE ] || { echo "check_spdx: no LICENSE file" >&2; exit 1; }
echo "check_spdx: $checked source files name their licence"
