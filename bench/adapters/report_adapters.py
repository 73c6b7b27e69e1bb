#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The "Interpreters" section of docs/benchmarks.md, from run.py's RESULT
lines: bench/report.py calls section(); run.py --report calls standalone()."""
import os
import statistics
import sys

PY_ORDER = ["recycle", "pymalloc", "glibc", "mimalloc"]
LUA_ORDER = ["recycle", "mimalloc", "glibc"]
SQ_ORDER = ["recycle", "default"]


def _rows(R, bench, order, base, fmt, ratio, pct, irs=True):
    """Per workload, one row per variant: seconds, spread, ratio to base,
    instructions, peak RSS, RSS after release."""
    workloads = []
    for r in R.select(bench):
        if r.get("workload") not in workloads:
            workloads.append(r["workload"])
    rows = []
    for w in workloads:
        bt = R.med(bench, base, "seconds", workload=w)
        bi = R.med(bench + "_ir", base, "ir", workload=w)
        for a in order:
            s = R.med(bench, a, "seconds", workload=w)
            if s is None:
                continue
            ir = R.med(bench + "_ir", a, "ir", workload=w)
            row = [w, f"**{a}**" if a == "recycle" else a, fmt(s, 3), pct(R.spread(bench, a, "seconds", workload=w)),
                   ratio(s, bt)]
            if irs:
                row += [fmt(ir / 1e6 if ir else None, 1), ratio(ir, bi)]
            row += [fmt(R.med(bench, a, "peak_rss_mib", workload=w), 1),
                    fmt(R.med(bench, a, "rss_after_mib", workload=w), 1)]
            rows.append(row)
    return workloads, rows


def section(R, body, target, compare, fmt, ratio, pct, table, noise):
    note = next((n for n in R.notes if n.get("kind") == "adapters"), {})
    body.append("\n## 4. Interpreters: CPython, Lua and SQLite on recycle (adapters/)\n")
    body.append("recycle under real interpreters through its adapters (docs/integrations.md), "
                "against the interpreters' usual allocators; bench/adapters/run.py. Seconds: "
                "the workload alone, median of the interleaved repetitions, and the spread "
                "(max - min) / median. Instructions: callgrind, once, at a smaller size, minus "
                "the same process at size 0 (startup). Peak RSS of the process; RSS after: "
                "once the workload dropped its data and a full collection ran (and, for "
                "Python, the program went on for 0.2 s and a little allocation).\n")
    # ---- Python
    body.append(f"\n### CPython 3.11 (scale {note.get('py_scale', '?')}, instructions at "
                f"{note.get('py_ir_scale', '?')})\n")
    body.append("One launcher (recycle-python, over Debian's libpython3.11.so) under each "
                "allocator, so that only the allocator differs: pymalloc is "
                "`PYTHONMALLOC=pymalloc`, glibc `PYTHONMALLOC=malloc`, mimalloc the same with "
                "`LD_PRELOAD` of libmimalloc.so, recycle the launcher's own. Workloads: "
                "bench/adapters/py_work.py.\n")
    ws, rows = _rows(R, "adapt_py", PY_ORDER, "pymalloc", fmt, ratio, pct)
    body.append(table(["workload", "allocator", "seconds", "spread", "vs pymalloc", "instructions (M)",
                       "vs pymalloc", "peak RSS MiB", "RSS after MiB"], rows))
    for w in ws:
        rs, ps = R.med("adapt_py", "recycle", "seconds", workload=w), R.med("adapt_py", "pymalloc", "seconds", workload=w)
        ri, pi = R.med("adapt_py_ir", "recycle", "ir", workload=w), R.med("adapt_py_ir", "pymalloc", "ir", workload=w)
        ra, pa = (R.med("adapt_py", "recycle", "rss_after_mib", workload=w),
                  R.med("adapt_py", "pymalloc", "rss_after_mib", workload=w))
        compare(f"CPython {w} time", "s", rs, [(a, R.med("adapt_py", a, "seconds", workload=w))
                                              for a in PY_ORDER[1:]], nd=3)
        target(f"CPython {w}: time at most 1.0x pymalloc's", f"recycle {fmt(rs, 3)} s, pymalloc {fmt(ps, 3)} s "
               f"({ratio(rs, ps)})", None if rs is None or ps is None else rs <= ps, close=(rs, ps))
        target(f"CPython {w}: instructions at most pymalloc's", f"recycle {fmt(ri / 1e6 if ri else None, 1)} M, "
               f"pymalloc {fmt(pi / 1e6 if pi else None, 1)} M ({ratio(ri, pi)})",
               None if ri is None or pi is None else ri <= pi)
        target(f"CPython {w}: RSS after release at most pymalloc's", f"recycle {fmt(ra, 1)} MiB, "
               f"pymalloc {fmt(pa, 1)} MiB", None if ra is None or pa is None else ra <= pa)
    # ---- Lua
    body.append(f"\n### Lua 5.4 (scale {note.get('lua_scale', '?')}, instructions at "
                f"{note.get('lua_ir_scale', '?')})\n")
    body.append("recycle-lua with its lua_Alloc over recycle (`rcy_free_sized` with Lua's sizes), "
                "and with `--alloc=libc` (realloc/free) on glibc and on mimalloc (`LD_PRELOAD`). "
                "Seconds are CPU seconds of the workload (os.clock). Workloads: "
                "bench/adapters/lua_work.lua.\n")
    ws, rows = _rows(R, "adapt_lua", LUA_ORDER, "mimalloc", fmt, ratio, pct)
    body.append(table(["workload", "allocator", "seconds", "spread", "vs mimalloc", "instructions (M)",
                       "vs mimalloc", "peak RSS MiB", "RSS after MiB"], rows))
    for w in ws:
        rs, ms = R.med("adapt_lua", "recycle", "seconds", workload=w), R.med("adapt_lua", "mimalloc", "seconds", workload=w)
        rp, mp = (R.med("adapt_lua", "recycle", "peak_rss_mib", workload=w),
                  R.med("adapt_lua", "mimalloc", "peak_rss_mib", workload=w))
        compare(f"Lua {w} time", "s", rs, [(a, R.med("adapt_lua", a, "seconds", workload=w)) for a in LUA_ORDER[1:]], nd=3)
        target(f"Lua {w}: time at most 1.0x mimalloc's", f"recycle {fmt(rs, 3)} s, mimalloc {fmt(ms, 3)} s "
               f"({ratio(rs, ms)})", None if rs is None or ms is None else rs <= ms, close=(rs, ms))
        target(f"Lua {w}: peak RSS at most mimalloc's", f"recycle {fmt(rp, 1)} MiB, mimalloc {fmt(mp, 1)} MiB",
               None if rp is None or mp is None else rp <= mp, close=(rp, mp))
    # ---- SQLite
    body.append(f"\n### SQLite ({note.get('rows', '?')} rows; instructions at {note.get('ir_rows', '?')})\n")
    body.append("bench/adapters/bench_sqlite.c: an in-memory database, the rows inserted in one "
                "transaction into a table with two indexes, then a quarter as many point lookups, "
                "200 range aggregates and a GROUP BY; single-threaded mode for both. default is "
                "SQLite's own allocator (glibc's malloc); RSS after: after closing, "
                "`sqlite3_shutdown` and `malloc_trim(0)` or `rcy_purge`.\n")
    _, rows = _rows(R, "adapt_sqlite", SQ_ORDER, "default", fmt, ratio, pct)
    body.append(table(["workload", "allocator", "seconds", "spread", "vs default", "instructions (M)",
                       "vs default", "peak RSS MiB", "RSS after MiB"], rows))
    rs, ds = R.med("adapt_sqlite", "recycle", "seconds"), R.med("adapt_sqlite", "default", "seconds")
    for part in ("insert_s", "query_s"):
        body.append(f"\n{part[:-2]}: recycle {fmt(R.med('adapt_sqlite', 'recycle', part), 3)} s, "
                    f"default {fmt(R.med('adapt_sqlite', 'default', part), 3)} s.")
    body.append("")
    compare("SQLite inserts and queries time", "s", rs, [("default", ds)], nd=3)
    target("SQLite: time at most 1.0x its default allocator's", f"recycle {fmt(rs, 3)} s, default {fmt(ds, 3)} s "
           f"({ratio(rs, ds)})", None if rs is None or ds is None else rs <= ds, close=(rs, ds))


def standalone(results, quick):
    """The section alone, with its targets first, as Markdown."""
    bench_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, bench_dir)
    import report as rep  # bench/report.py
    R = rep.Results(results)
    body, targets = [], []

    def target(name, measured, ok, close=None):
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        if ok is False and close and None not in close and close[1] and \
                abs(close[0] - close[1]) / abs(close[1]) <= rep.NOISE:
            verdict = f"tie (within {rep.NOISE * 100:.0f}%)"
        targets.append([name, measured, verdict])

    def compare(*args, **kw):
        pass

    section(R, body, target, compare, rep.fmt, rep.ratio, rep.pct, rep.table, rep.NOISE)
    head = ["# Interpreter benchmarks" + (" (quick run)" if quick else "") + "\n",
            "bench/adapters/run.py; the same section appears in docs/benchmarks.md after `make bench`.\n",
            "## Targets\n", rep.table(["target", "measured", "verdict"], targets), ""]
    fails = [f"{f.get('label')} (rep {f.get('rep')}, {f.get('rc')})" for f in R.fails]
    if fails:
        head.append("Failed runs: " + "; ".join(fails) + "\n")
    return "\n".join(head + body) + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: report_adapters.py RESULTS [--quick]", file=sys.stderr)
        sys.exit(2)
    print(standalone(sys.argv[1], "--quick" in sys.argv[2:]))
