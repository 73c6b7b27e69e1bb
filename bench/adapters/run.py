#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The interpreter benchmarks: recycle under CPython, Lua and SQLite.

    run.py --build BUILD_DIR --results FILE [--reps N] [--quick] [--report OUT.md]

BUILD_DIR is a build tree with the adapters and RCY_BUILD_BENCH (bench/run.sh's
build/bench). Appends RESULT lines to FILE (bench/report.py reads them; its
section "Interpreters" is report_adapters.py). --report also writes that
section alone, for a run of this harness by itself:

    python3 bench/adapters/run.py --build build/bench --results build/bench/adapters.txt \\
        --quick --report build/bench/quick/adapters.md

Every variant of a workload is a fresh process; the variants run in an
order that rotates from one repetition to the next (interleaved rounds).

Python: the same launcher (recycle-python, libpython3.11.so) under four
allocators, so that only the allocator differs: pymalloc (PYTHONMALLOC=
pymalloc), glibc (PYTHONMALLOC=malloc), mimalloc (PYTHONMALLOC=malloc and
LD_PRELOAD of libmimalloc.so), recycle (the launcher's own). Lua: recycle-lua
with --alloc=recycle, --alloc=libc (glibc) and --alloc=libc under mimalloc.
SQLite: bench_sqlite with its default allocator (glibc) and recycle.

Instructions: callgrind counts each variant once at a smaller size, minus
the same run at size 0 (startup and teardown), so the figure is the
workload's own.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PY_WORKLOADS = ["bt", "json", "churn", "strings", "instances", "sort"]
LUA_WORKLOADS = ["bt", "tables", "strings", "closures"]


def find_mimalloc():
    for pat in ("/usr/lib/*/libmimalloc.so*", "/usr/lib/libmimalloc.so*", "/usr/local/lib/libmimalloc.so*"):
        hits = sorted(glob.glob(pat))
        if hits:
            return hits[0]
    return None


def variants(args, mimalloc):
    """{suite: [(name, argv prefix, extra env)]}"""
    py = os.path.join(args.build, "adapters", "python", "recycle-python")
    lua = os.path.join(args.build, "adapters", "lua", "recycle-lua")
    sq = os.path.join(args.build, "adapters", "sqlite", "bench_sqlite")
    pyw = os.path.join(HERE, "py_work.py")
    luaw = os.path.join(HERE, "lua_work.lua")
    out = {"py": [], "lua": [], "sqlite": []}
    if os.access(py, os.X_OK):
        out["py"] = [("pymalloc", [py, pyw], {"PYTHONMALLOC": "pymalloc"}),
                     ("glibc", [py, pyw], {"PYTHONMALLOC": "malloc"})]
        if mimalloc:
            out["py"].append(("mimalloc", [py, pyw], {"PYTHONMALLOC": "malloc", "LD_PRELOAD": mimalloc}))
        out["py"].append(("recycle", [py, pyw], {}))
    if os.access(lua, os.X_OK):
        out["lua"] = [("glibc", [lua, "--alloc=libc", luaw], {})]
        if mimalloc:
            out["lua"].append(("mimalloc", [lua, "--alloc=libc", luaw], {"LD_PRELOAD": mimalloc}))
        out["lua"].append(("recycle", [lua, luaw], {}))
    if os.access(sq, os.X_OK):
        out["sqlite"] = [("default", [sq, "default"], {}), ("recycle", [sq, "recycle"], {})]
    return out


def clean_env(extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONMALLOC", "LD_PRELOAD", "RECYCLE_STATS", "PYTHONDEVMODE")}
    env.update(extra)
    return env


def parse(out):
    return dict(kv.split("=", 1) for kv in out.split() if "=" in kv)


def emit(results, line):
    with open(results, "a") as f:
        f.write(line + "\n")


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(results, bench, alloc, workload, argv, env, rep, extra):
    try:
        p = subprocess.run(argv, env=clean_env(env), capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        emit(results, f"FAIL label={bench}/{workload}/{alloc} rep={rep} rc=timeout")
        return
    if p.returncode != 0:
        note(f"!! {bench}/{workload}/{alloc} failed (exit {p.returncode}): {p.stderr.strip()[-300:]}")
        emit(results, f"FAIL label={bench}/{workload}/{alloc} rep={rep} rc={p.returncode}")
        return
    d = parse(p.stdout)
    fields = [f"seconds={d['seconds']}",
              f"peak_rss_mib={int(d['peak_rss_kib']) / 1024:.1f}",
              f"rss_after_mib={int(d['rss_after_kib']) / 1024:.1f}"]
    for k in ("insert_s", "query_s"):
        if k in d:
            fields.append(f"{k}={d[k]}")
    emit(results, f"RESULT bench={bench} alloc={alloc} workload={workload} {' '.join(fields)} {extra} rep={rep}")


def callgrind_ir(argv, env):
    """Instructions the command executes (callgrind), or None."""
    try:
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv,
                           env=clean_env(env), capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Collected : (\d+)", p.stderr)
    return int(m.group(1)) if m and p.returncode == 0 else None


def rotate(items, n):
    return items[n % len(items):] + items[:n % len(items)] if items else []


def count_instructions(args, V, py_ir_scale, lua_ir_scale, ir_rows):
    """callgrind per (workload, variant), minus one baseline run per variant
    at size 0 (startup and teardown, the same for every workload). Counts do
    not depend on the machine's load, so two run at once."""
    note("== interpreters: instructions (callgrind, two at a time)")
    suites = [("adapt_py", PY_WORKLOADS, V["py"], lambda w: [w, str(py_ir_scale)], ["bt", "0"]),
              ("adapt_lua", LUA_WORKLOADS, V["lua"], lambda w: [w, str(lua_ir_scale)], ["bt", "0"]),
              ("adapt_sqlite", ["insert_query"], V["sqlite"], lambda w: [str(ir_rows)], ["0"])]
    jobs = {}  # (bench, variant, workload or None for the baseline) -> argv, env
    for bench, workloads, vs, args_of, empty_args in suites:
        for name, argv, env in vs:
            jobs[(bench, name, None)] = (argv + empty_args, env)
            for w in workloads:
                jobs[(bench, name, w)] = (argv + args_of(w), env)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda k: callgrind_ir(*jobs[k]), jobs)))
    for (bench, name, w), total in counts.items():
        if w is None:
            continue
        base = counts[(bench, name, None)]
        if total is None or base is None:
            emit(args.results, f"FAIL label={bench}_ir/{w}/{name} rep=1 rc=callgrind")
            continue
        emit(args.results, f"RESULT bench={bench}_ir alloc={name} workload={w} ir={total - base} "
                           f"ir_total={total} ir_empty={base}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report")
    ap.add_argument("--only", choices=["time", "ir"], help="only the timed runs, or only the instruction counts")
    args = ap.parse_args()
    mimalloc = find_mimalloc()
    V = variants(args, mimalloc)
    if not mimalloc:
        emit(args.results, "NOTE kind=missing alloc=mimalloc-preload")
    for suite, vs in V.items():
        if not vs:
            emit(args.results, f"NOTE kind=missing alloc=adapter-{suite}")
    # sizes: a scale of the full run's workload (py_work.py, lua_work.lua), rows for SQLite
    py_scale, lua_scale, rows = (0.15, 0.25, 40000) if args.quick else (1.0, 1.0, 400000)
    py_ir_scale, lua_ir_scale, ir_rows = (0.01, 0.02, 4000) if args.quick else (0.03, 0.05, 20000)
    emit(args.results, f"NOTE kind=adapters py_scale={py_scale} lua_scale={lua_scale} rows={rows} "
                       f"py_ir_scale={py_ir_scale} lua_ir_scale={lua_ir_scale} ir_rows={ir_rows}")

    for rep in range(1, args.reps + 1 if args.only != "ir" else 1):
        note(f"== interpreters: repetition {rep} of {args.reps}")
        for w in PY_WORKLOADS:
            for name, argv, env in rotate(V["py"], rep):
                measure(args.results, "adapt_py", name, w, argv + [w, str(py_scale)], env, rep, f"scale={py_scale}")
        for w in LUA_WORKLOADS:
            for name, argv, env in rotate(V["lua"], rep):
                measure(args.results, "adapt_lua", name, w, argv + [w, str(lua_scale)], env, rep, f"scale={lua_scale}")
        for name, argv, env in rotate(V["sqlite"], rep):
            measure(args.results, "adapt_sqlite", name, "insert_query", argv + [str(rows)], env, rep, f"rows={rows}")

    if args.only != "time":
        count_instructions(args, V, py_ir_scale, lua_ir_scale, ir_rows)

    if args.report:
        sys.path.insert(0, HERE)
        import report_adapters
        text = report_adapters.standalone(args.results, args.quick)
        os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
        with open(args.report, "w") as f:
            f.write(text)
        note(f"== interpreters: report in {args.report}")


if __name__ == "__main__":
    main()
