#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layering of src/, checked from its #include lines: a file may include
# headers of its own layer and of the layers below it, never above.
#
#   tests/check_layers.sh [SRC_DIR]      (default: src beside this folder)
#
# Layers, lowest first (docs/design.md, "Layers"): util, os, mem, obj, weak,
# gc, tools, the heap (src/heap.* and src/heap_*), which composes them, and the
# malloc shim (src/malloc/, librecycle-malloc.so), which uses the heaps. A layer calls a
# higher one only through hooks that the higher one registers (function
# pointers), which no #include shows. Since every call between files needs
# the callee's header (the build has -Wmissing-prototypes and C17 has no
# implicit declarations), an include graph that only goes down is a call
# graph without circles between layers; inside a layer, circles between
# files are checked too.
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}
cd "$src"

rank() {
    case "$1" in
    util/*) echo 0 ;; os/*) echo 1 ;; mem/*) echo 2 ;; obj/*) echo 3 ;;
    weak/*) echo 4 ;; gc/*) echo 5 ;; tools/*) echo 6 ;; heap.* | heap_*) echo 7 ;;
    malloc/*) echo 8 ;;
    *) echo "" ;;
    esac
}

bad=0
files=$(find . -name '*.[ch]' | sed 's|^\./||' | sort)
for f in $files; do
    r=$(rank "$f")
    if [ -z "$r" ]; then
        echo "check_layers: $f is in no layer (util os mem obj weak gc tools, heap.*, heap_*, or malloc/)" >&2
        bad=1
        continue
    fi
    while read -r inc; do
        [ -n "$inc" ] || continue
        case "$inc" in recycle.h | recycle_config.h) continue ;; esac
        if [ ! -f "$inc" ]; then
            echo "check_layers: $f includes \"$inc\", which is not a path under src/" >&2
            bad=1
            continue
        fi
        ri=$(rank "$inc")
        if [ "$ri" -gt "$r" ]; then
            echo "check_layers: $f (layer $r) includes $inc of a higher layer ($ri)" >&2
            bad=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

# Circles between the files of one layer: module X (x.c + x.h) uses module
# Y when x.c or x.h includes y.h. Depth-first search for a back edge.
declare -A uses=()
for f in $files; do
    m=${f%.*}
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        [ -f "$inc" ] || continue
        mi=${inc%.*}
        [ "$mi" != "$m" ] && uses[$m]="${uses[$m]:-} $mi"
    done
done
declare -A state=()
visit() {
    local m=$1 n
    state[$m]=open
    for n in ${uses[$m]:-}; do
        if [ "${state[$n]:-}" = open ]; then
            echo "check_layers: a circle of modules runs through $m and $n" >&2
            bad=1
        elif [ -z "${state[$n]:-}" ]; then
            visit "$n"
        fi
    done
    state[$m]=finished
}
for m in "${!uses[@]}"; do
    [ -n "${state[$m]:-}" ] || visit "$m"
done

if [ "$bad" -ne 0 ]; then
    exit 1
fi
echo "check_layers: $(echo "$files" | wc -w) files, every include goes down, no circles"
