#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real programs with librecycle-malloc.so as their malloc (LD_PRELOAD), each
# checked by its output, not only its exit status: every program runs once
# with the C library's malloc (the reference) and once under the shim, and
# the two outputs must be the same (and the shim mapped in the process).
#
#   tests/malloc/run_programs.sh SHIM [WORK_DIR] [SRC_DIR]
#
#   python3   a threaded script that passes objects between threads and forks
#   sqlite3   bulk inserts (100,000 rows), an index, aggregate queries
#   git       init, add, commit (fixed dates: the same commit ids), log
#   cc        compiles recycle sources (cc -c), objects compared byte for byte
#   xz -T2    compresses and decompresses with two threads, bytes compared
#
# A program that is not installed fails the test (scripts/install-deps.sh
# installs them). SHIM may be any malloc library, to try the harness.
set -euo pipefail

shim=$(realpath "$1")
work=${2:-$(mktemp -d)}
src=$(realpath "${3:-"$(dirname "$0")/../.."}")
here=$(realpath "$(dirname "$0")")
[ -f "$shim" ] || { echo "run_programs: no library at $1" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"

failed=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
    printf 'FAIL  %s\n' "$*" >&2
    failed=1
}

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 ||
            { echo "run_programs: '$c' is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    done
}
need sqlite3 git cc xz cmp
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || need python3

under() { LD_PRELOAD="$shim" "$@"; }

# The shim really is the malloc of a program started this way.
if under cat /proc/self/maps | grep -q "$(basename "$shim")"; then
    pass "the shim is mapped in a preloaded program"
else
    fail "LD_PRELOAD=$shim: the library is not mapped in the program"
fi

# same NAME REFERENCE_FILE SHIM_FILE: the outputs match
same() {
    if cmp -s "$2" "$3"; then
        pass "$1 ($(wc -c <"$2") bytes of output, the same as with the C library's malloc)"
    else
        fail "$1: the output under the shim differs from the reference:"
        diff "$2" "$3" | head -n 20 >&2 || true
    fi
}

# ---- python3: threads, queues, fork ----
"$python" "$here/threaded.py" 4 20000 >py.ref
under "$python" "$here/threaded.py" 4 20000 >py.out
if grep -qx 'shim_loaded=True' py.out; then
    sed -i 's/^shim_loaded=True$/shim_loaded=False/' py.out # as the reference says
    same "python3, 4 threads and a fork" py.ref py.out
else
    fail "python3: the shim is not mapped, or the script failed: $(tr '\n' ' ' <py.out)"
fi
if under "$python" -c 'print("librecycle-malloc" in open("/proc/self/maps").read())' | grep -qx True; then
    pass "python3 maps the shim"
else
    fail "python3 does not map the shim"
fi

# ---- sqlite3: bulk inserts and queries ----
sql() {
    cat <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, grp INTEGER);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO t(name, v, grp) SELECT printf('row-%08d-%s', i, hex(i * 7919)), i * 0.5, i % 97 FROM n;
COMMIT;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v), min(name), max(name) FROM t;
SELECT grp, count(*), round(avg(v), 3), group_concat(id % 10, '') FROM t WHERE id % 1000 = 0 GROUP BY grp ORDER BY grp LIMIT 20;
UPDATE t SET name = upper(name) WHERE grp = 5;
DELETE FROM t WHERE grp > 90;
SELECT count(*), count(DISTINCT substr(name, 1, 6)) FROM t;
SELECT name FROM t WHERE name LIKE 'ROW-0001%' ORDER BY name LIMIT 5;
PRAGMA integrity_check;
EOF
}
sql | sqlite3 ref.db >sqlite.ref
sql | under sqlite3 shim.db >sqlite.out
same "sqlite3, 100,000 rows" sqlite.ref sqlite.out

# ---- git: a scratch repository ----
git_session() {
    local dir=$1
    export GIT_AUTHOR_NAME=recycle GIT_AUTHOR_EMAIL=r@example.invalid GIT_COMMITTER_NAME=recycle \
        GIT_COMMITTER_EMAIL=r@example.invalid GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
        GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME="$work"
    rm -rf "$dir"
    git init -q -b main "$dir"
    cp -R "$src/src" "$src/include" "$dir"/
    git -C "$dir" add .
    git -C "$dir" commit -q -m "first: the sources"
    for f in "$dir"/src/mem/*.c; do echo "/* touched */" >>"$f"; done
    git -C "$dir" commit -q -a -m "second: touch the allocator"
    git -C "$dir" log --format='%H %s' --stat
    git -C "$dir" fsck --strict 2>&1
}
(git_session "$work/git-ref") >git.ref
(LD_PRELOAD="$shim" git_session "$work/git-shim") >git.out
same "git init, add, commit, log, fsck" git.ref git.out

# ---- the C compiler building recycle sources ----
objs_ok=1
mkdir -p cfg # the build's generated header, as a release build makes it
sed -e 's/@RCY_CHECK_LEVEL@/0/' -e 's/@PROJECT_VERSION@/0/' "$src/cmake/recycle_config.h.in" >cfg/recycle_config.h
for f in mem/alloc.c mem/pool.c gc/collect.c obj/object.c heap.c; do
    o=$(echo "$f" | tr / _).o
    cc -std=c17 -O2 -I"$src/include" -I"$src/src" -I"$work/cfg" -DRCY_BUILDING=1 -c "$src/src/$f" -o "ref-$o"
    if ! under cc -std=c17 -O2 -I"$src/include" -I"$src/src" -I"$work/cfg" -DRCY_BUILDING=1 -c "$src/src/$f" \
        -o "shim-$o"; then
        fail "cc -c src/$f under the shim"
        objs_ok=0
    elif ! cmp -s "ref-$o" "shim-$o"; then
        fail "cc -c src/$f: the object differs from the one built with the C library's malloc"
        objs_ok=0
    fi
done
if [ "$objs_ok" = 1 ]; then pass "cc -c of 5 recycle sources, objects identical"; fi

# ---- xz with two threads ----
{
    for i in $(seq 1 40); do cat "$src"/src/*/*.c; done
    head -c 4000000 /dev/urandom | od -An -tx1
} >data
xz -T2 --block-size=1MiB -c data >ref.xz
under xz -T2 --block-size=1MiB -c data >shim.xz
under xz -T2 -d -c shim.xz >data.back
if cmp -s data data.back && cmp -s ref.xz shim.xz; then
    pass "xz -T2 on $(($(wc -c <data) / 1048576)) MiB: round trip and compressed bytes identical"
else
    fail "xz -T2: the round trip or the compressed bytes differ"
fi

if [ "$failed" -ne 0 ]; then
    echo "run_programs: some programs failed under $(basename "$shim")" >&2
    exit 1
fi
echo "run_programs: every program gave the same output under $(basename "$shim")"
