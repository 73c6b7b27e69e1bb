#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn the RESULT lines of bench/run.sh into docs/benchmarks.md and SVG charts.

Every number in the report, including the "where recycle loses" section and
the target verdicts, is computed here from the measurements of the run.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess

COLORS = {
    "recycle": "#cc3311", "recycle-gcoff": "#ee7733", "recycle-nopace": "#bb5566", "recycle-traverse": "#994455",
    "glibc": "#0077bb",
    "mimalloc": "#009988", "jemalloc": "#33bbee", "boehm": "#777777",
    "cpython": "#ee3377", "cpython-gcoff": "#aa4499",
}
ALLOC_ORDER = ["recycle", "recycle-nopace", "recycle-gcoff", "glibc", "mimalloc", "jemalloc", "boehm",
               "cpython", "cpython-gcoff"]
NOISE = 0.03  # relative differences below this are called ties (the machine is noisy)


# ---------------------------------------------------------------- data
class Results:
    def __init__(self, path):
        self.rows, self.notes, self.fails = [], [], []
        with open(path) as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                d = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
                if parts[0] == "RESULT":
                    self.rows.append(d)
                elif parts[0] == "NOTE":
                    self.notes.append(d)
                elif parts[0] == "FAIL":
                    self.fails.append(d)

    def select(self, bench, alloc=None, **match):
        out = []
        for r in self.rows:
            if r.get("bench") != bench or (alloc is not None and r.get("alloc") != alloc):
                continue
            if all(r.get(k) == str(v) for k, v in match.items()):
                out.append(r)
        return out

    def values(self, bench, alloc, field, **match):
        vals = []
        for r in self.select(bench, alloc, **match):
            try:
                vals.append(float(r[field]))
            except (KeyError, ValueError):
                pass
        return vals

    def med(self, bench, alloc, field, **match):
        v = self.values(bench, alloc, field, **match)
        return statistics.median(v) if v else None

    def spread(self, bench, alloc, field, **match):
        v = self.values(bench, alloc, field, **match)
        if len(v) < 2 or statistics.median(v) == 0:
            return None
        return (max(v) - min(v)) / statistics.median(v)

    def field(self, bench, alloc, name, **match):
        for r in self.select(bench, alloc, **match):
            if name in r:
                return r[name]
        return None

    def allocs(self, bench, **match):
        seen = {r["alloc"] for r in self.select(bench, **match)}
        return [a for a in ALLOC_ORDER if a in seen] + sorted(seen - set(ALLOC_ORDER))


# ---------------------------------------------------------------- formatting
def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def pct(v):
    return "n/a" if v is None else f"{v * 100:.0f}%"


def table(header, rows):
    keep = [i for i in range(len(header))
            if i == 0 or not rows or any(str(r[i]) not in ("n/a", "") for r in rows)]
    header = [header[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def label(a):
    return {"recycle": "**recycle**", "recycle-gcoff": "**recycle, collector off**",
            "recycle-nopace": "**recycle, no drop pacing**",
            "recycle-traverse": "**recycle, node type with traverse**",
            "cpython": "CPython", "cpython-gcoff": "CPython, gc off",
            "boehm": "Boehm GC", "glibc-rc": "glibc, hand-written counts",
            "mimalloc-rc": "mimalloc, hand-written counts"}.get(a, a)


# ---------------------------------------------------------------- machine
def machine_info(build_dir):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    cc = "unknown"
    cache = os.path.join(build_dir, "CMakeCache.txt")
    try:
        with open(cache) as f:
            m = re.search(r"^CMAKE_C_COMPILER:\w+=(.*)$", f.read(), re.M)
        if m:
            out = subprocess.run([m.group(1).strip(), "--version"], capture_output=True,
                                 text=True, timeout=10).stdout
            cc = out.splitlines()[0] if out else cc
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "mem": f"{mem:.0f} GiB" if mem else "unknown", "cc": cc,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ---------------------------------------------------------------- charts
class Charts:
    def __init__(self, work, svg_dir, out_dir):
        self.work, self.svg_dir = work, svg_dir
        # charts are linked relative to the report's directory
        self.link_dir = os.path.relpath(svg_dir, out_dir)
        self.gnuplot = shutil.which("gnuplot")
        self.made, self.errors = [], []
        os.makedirs(work, exist_ok=True)
        os.makedirs(svg_dir, exist_ok=True)

    HEAD = ('set terminal svg size {w},{h} dynamic font "sans,11" background rgb "white"\n'
            'set output "{out}"\nset datafile missing "?"\nset grid ytics lc rgb "#dddddd"\n'
            'set border 3\nset tics nomirror\n')

    def _run(self, name, script, w=680, h=340):
        if not self.gnuplot:
            return None
        out = os.path.join(self.svg_dir, name + ".svg")
        path = os.path.join(self.work, name + ".gp")
        with open(path, "w") as f:
            f.write(self.HEAD.format(w=w, h=h, out=out) + script)
        r = subprocess.run([self.gnuplot, path], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(out):
            self.errors.append(f"{name}: {r.stderr.strip()[:200]}")
            return None
        self.made.append(name)
        return f"{self.link_dir}/{name}.svg"

    def _dat(self, name, lines):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def bars(self, name, title, ylabel, items, w=None, h=340, fmtstr="%.1f"):
        """items: [(label, value, color_key)]; one bar each."""
        items = [(l, v, c) for l, v, c in items if v is not None]
        if not items:
            return None
        lines = []
        for l, v, c in items:
            lines.append(f'"{l}" {v} {int(COLORS.get(c, "#555555")[1:], 16)}')
        dat = self._dat(name + ".dat", lines)
        if w is None:
            w = max(560, 110 * len(items) + 120)
        script = (f'set title "{title}"\nset ylabel "{ylabel}"\nunset key\nset yrange [0:*]\n'
                  'set style fill solid 0.85 noborder\nset boxwidth 0.65\nset offsets 0.5,0.5,0,0\n'
                  'set xtics scale 0\n'
                  f'plot "{dat}" using 0:2:3:xtic(1) with boxes lc rgb variable, '
                  f'"" using 0:2:(sprintf("{fmtstr}",$2)) with labels offset 0,0.7\n')
        return self._run(name, script, w, h)

    def clustered(self, name, title, ylabel, xlabels, series, xlabel=""):
        """series: [(alloc, [value per xlabel])]"""
        if not series:
            return None
        lines = []
        for i, x in enumerate(xlabels):
            lines.append(f'"{x}" ' + " ".join("?" if s[i] is None else str(s[i]) for _, s in series))
        dat = self._dat(name + ".dat", lines)
        plots = []
        for j, (a, _) in enumerate(series):
            col = j + 2
            plots.append(f'"{dat}" using {col}{":xtic(1)" if j == 0 else ""} title "{a}" '
                         f'lc rgb "{COLORS.get(a, "#555555")}"')
        script = (f'set title "{title}"\nset ylabel "{ylabel}"\nset xlabel "{xlabel}"\n'
                  'set style data histograms\nset style histogram clustered gap 1\n'
                  'set style fill solid 0.85 noborder\nset yrange [0:*]\nset key outside right top\n'
                  'set xtics scale 0\n'
                  "plot " + ", ".join(plots) + "\n")
        return self._run(name, script)

    def lines(self, name, title, ylabel, xlabels, series, logx=False, xs=None, xlabel="",
              w=680, h=340):
        if not series:
            return None
        lines = []
        for i, x in enumerate(xlabels):
            xv = xs[i] if xs else i
            lines.append(f'{xv} "{x}" ' + " ".join("?" if s[i] is None else str(s[i]) for _, s in series))
        dat = self._dat(name + ".dat", lines)
        plots = []
        for j, (a, _) in enumerate(series):
            plots.append(f'"{dat}" using 1:{j + 3}{"" if xs else ":xtic(2)"} title "{label(a).strip("*")}" '
                         f'with linespoints lw 2 pt 7 lc rgb "{COLORS.get(a, "#555555")}"')
        script = (f'set title "{title}"\nset ylabel "{ylabel}"\nset xlabel "{xlabel}"\n'
                  'set yrange [0:*]\nset key outside right\n'
                  + ("set logscale x\nset xtics (" + ", ".join(f'"{x}" {v}' for x, v in zip(xlabels, xs)) + ")\n"
                     + f"set xrange [{xs[0] / 2}:{xs[-1] * 2}]\n"
                     if logx else "set offsets 0.2,0.2,0,0\n")
                  + "plot " + ", ".join(plots) + "\n")
        return self._run(name, script, w, h)


# ---------------------------------------------------------------- report
# ---------------------------------------------------------------- multi-threaded (bench/mt)
MT_BENCHES = [  # (RESULT bench for the time, name, what it is)
    ("mt_larson", "larson", "server: threads free blocks other threads allocated, 8..1000 bytes"),
    ("mt_larson512", "larson512", "the same with blocks of 8..512 bytes (recycle's pools alone)"),
    ("mt_xmalloc", "xmalloc", "producers allocate, consumers free (every free remote)"),
    ("mt_scratch", "scratch", "false sharing: small blocks written by several threads"),
    ("mtp_python", "python", "python3, a threaded script (queues between threads, a fork)"),
    ("mtp_xz", "xz", "xz -T1 / -T2 compressing 32 MiB (1 MiB in quick mode) in blocks of a quarter MiB per MiB"),
    ("mtp_sqlite3", "sqlite3", "sqlite3 shell: bulk inserts, an index, queries"),
    ("mtp_git", "git", "git: init, add, two commits, log, gc"),
    ("mtp_cc", "cc", "cc -c of recycle sources (-O2; six, two in quick mode)"),
]
MT_ALLOCS = ["glibc", "mimalloc", "jemalloc", "recycle"]


def mt_section(R):
    """The multi-threaded section: (markdown lines, [(target, measured, verdict)])."""
    md, targets = [], []
    if not any(R.select(b) or R.select("mtp_" + n) for b, n, _ in MT_BENCHES):
        return md, targets
    md.append("\n## Multi-threaded: every allocator as the process's malloc\n")
    md.append("`bench/mt/run.sh`: each allocator through `LD_PRELOAD` (glibc: none; recycle: "
              "`librecycle-malloc.so`), 1 and 2 threads, rounds interleaved, medians; spread = "
              "(max - min) / median of recycle's times. Time of larson, xmalloc and scratch: the "
              "program's own clock around the threads' work; of the real programs: wall time (GNU "
              "time). Peak RSS: GNU time's maximum resident set (the largest process).\n")
    rows, worst_t, worst_r = [], None, None
    for bench, name, what in MT_BENCHES:
        tb = bench if bench.startswith("mt_") else bench
        rb = "mtp_" + name
        for th in ("1", "2"):
            t = {a: R.med(tb, a, "seconds", threads=th) for a in MT_ALLOCS}
            m = {a: R.med(rb, a, "peak_rss_mib", threads=th) for a in MT_ALLOCS}
            if all(v is None for v in t.values()):
                continue
            rt = t["recycle"] / t["mimalloc"] if t["recycle"] and t["mimalloc"] else None
            rm = m["recycle"] / m["jemalloc"] if m["recycle"] and m["jemalloc"] else None
            rows.append([f"{name} ({th} thr)"] + [fmt(t[a], 3) for a in MT_ALLOCS]
                        + [ratio(t["recycle"], t["mimalloc"]), pct(R.spread(tb, "recycle", "seconds", threads=th))]
                        + [fmt(m[a], 1) for a in MT_ALLOCS] + [ratio(m["recycle"], m["jemalloc"])])
            if rt is not None and (worst_t is None or rt > worst_t[0]):
                worst_t = (rt, f"{name} {th} thr")
            if rm is not None and (worst_r is None or rm > worst_r[0]):
                worst_r = (rm, f"{name} {th} thr")
    md.append(table(["benchmark"] + [f"{a} s" for a in MT_ALLOCS] + ["recycle / mimalloc", "spread"]
                    + [f"{a} MiB" for a in MT_ALLOCS] + ["recycle / jemalloc RSS"], rows))
    md.append("\nWhat each is: " + "; ".join(f"**{n}**: {w}" for _, n, w in MT_BENCHES) + ".\n")
    # memory freed by other threads comes back: RSS after the producer-consumer run
    rows, back = [], {}
    for th in ("1", "2"):
        for a in MT_ALLOCS:
            before = R.med("mt_xmalloc", a, "rss_before_mib", threads=th)
            peak = R.med("mt_xmalloc", a, "peak_rss_mib", threads=th)
            after = R.med("mt_xmalloc", a, "rss_after_mib", threads=th)
            if after is None:
                continue
            kept = (after - before) / (peak - before) if peak and before is not None and peak > before else None
            back[(a, th)] = after
            rows.append([f"{a} ({th} pair{'s' if th != '1' else ''})", fmt(before, 1), fmt(peak, 1),
                         fmt(after, 1), pct(kept)])
    if rows:
        md.append("RSS around the producer-consumer run (xmalloc): before it, its peak, and after every "
                  "block was freed by the consumers and the threads exited (then 3 x 1,000 malloc/free "
                  "pairs on the main thread, 100 ms apart); kept = share of the growth still resident.\n")
        md.append(table(["allocator", "before MiB", "peak MiB", "after MiB", "kept"], rows))
    if worst_t:
        targets.append(("MT time at most 1.1x mimalloc's on each (worst shown)",
                        f"{worst_t[0]:.2f}x ({worst_t[1]})", worst_t[0] <= 1.1 and "met" or "**missed**"))
    if worst_r:
        targets.append(("MT peak RSS at most 1.5x jemalloc's on each (worst shown)",
                        f"{worst_r[0]:.2f}x ({worst_r[1]})", worst_r[0] <= 1.5 and "met" or "**missed**"))
    for th in ("1", "2"):
        r, j = back.get(("recycle", th)), back.get(("jemalloc", th))
        if r is not None and j:
            targets.append((f"remotely freed memory comes back (xmalloc, {th} pair(s)): RSS after at most "
                            "1.5x jemalloc's", f"{fmt(r, 1)} MiB vs {fmt(j, 1)} MiB ({r / j:.2f}x)",
                            r <= 1.5 * j and "met" or "**missed**"))
    md.append("\n" + table(["target", "measured", "verdict"], targets))
    return md, targets


def mt_standalone(results, out, quick):
    """bench/mt/run.sh alone: the section by itself, in its own file."""
    md, _ = mt_section(Results(results))
    head = ["# Multi-threaded benchmarks (bench/mt/run.sh alone)\n",
            f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; "
            f"{os.cpu_count()} logical CPUs." + (" Quick mode (BENCH_QUICK=1): small sizes." if quick else "")]
    with open(out, "w") as f:
        f.write("\n".join(head + md) + "\n")


# ---------------------------------------------------------------- heap shapes (issue 21)
SHAPES = ("list", "dict", "tree", "records")


def shapes_section(R, body, target):
    """Full collections of heaps shaped like real programs', recycle's records
    with a layout descriptor and with traverse, CPython's with __slots__: time
    per object (medians) and callgrind instructions per object."""
    rows_all = R.select("gc_shape")
    if not rows_all:
        return
    body.append("\n### Heap shapes: full collections (layout descriptors against traverse, and CPython)\n")
    body.append("`bench_gc shape KIND N` and `gc_bench.py shape KIND N`: about N tracked objects "
                "shaped as KIND, then full collections, the first of which moves everything to "
                "the oldest generation; the median of the others, ns per tracked object. "
                "list: one container of records each holding an atom (an int in CPython); "
                "dict: tables of 8 atom -> record entries, each record holding an atom and a "
                "random earlier record; tree: a complete binary tree built depth first; records: "
                "a chain with a random back edge per record. recycle's records describe their "
                "references by a layout descriptor (`ref_words`) or by `traverse`; containers' "
                "entries always by traverse. Instructions per object: callgrind, two "
                "collections by difference (REPS 3 minus REPS 1), once.\n")
    rows = []
    for kind in SHAPES:
        for n in sorted({r["n"] for r in rows_all if r.get("shape") == kind and "n" in r}, key=int):
            d = R.med("gc_shape", "recycle", "ns_obj", shape=kind, n=n, layout="descriptor")
            t = R.med("gc_shape", "recycle", "ns_obj", shape=kind, n=n, layout="traverse")
            c = R.med("gc_shape", "cpython", "ns_obj", shape=kind, n=n)
            ird = R.med("gc_shape_ir", "recycle", "ir_obj", shape=kind, n=n, layout="descriptor")
            irt = R.med("gc_shape_ir", "recycle", "ir_obj", shape=kind, n=n, layout="traverse")
            rows.append([kind, n, fmt(d, 1), fmt(t, 1), ratio(d, t), fmt(c, 1), ratio(d, c),
                         fmt(ird, 0), fmt(irt, 0)])
    body.append(table(["shape", "N", "ns/obj descriptor", "ns/obj traverse", "descriptor vs traverse",
                       "ns/obj CPython", "recycle vs CPython", "instr/obj descriptor",
                       "instr/obj traverse"], rows))
    for kind in SHAPES:
        ns = {r["n"] for r in rows_all if r.get("shape") == kind and "n" in r}
        worst = None
        for n in ns:
            if int(n) < 1000000:
                continue
            d = R.med("gc_shape", "recycle", "ns_obj", shape=kind, n=n, layout="descriptor")
            c = R.med("gc_shape", "cpython", "ns_obj", shape=kind, n=n)
            if d and c:
                worst = max(worst or 0, d / c)
        target(f"full collection, {kind}: at most 0.3x CPython's time per object at 1M and 10M objects",
               "n/a" if worst is None else f"worst {worst:.2f}x", None if worst is None else worst <= 0.3)
        irs = [R.med("gc_shape_ir", "recycle", "ir_obj", shape=kind, n=n, layout="descriptor") for n in ns]
        irs = [x for x in irs if x is not None]
        target(f"full collection, {kind}: at most 100 instructions per object (callgrind, descriptor)",
               "n/a" if not irs else f"at most {max(irs):.0f}", None if not irs else max(irs) <= 100)
        per = [R.med("gc_shape", "recycle", "ns_obj", shape=kind, n=n, layout="descriptor") for n in ns]
        per = [x for x in per if x]
        if len(per) > 1:
            target(f"full collection, {kind}: cost per object from the smallest N to the largest within 1.3x",
                   f"{min(per):.1f} to {max(per):.1f} ns", max(per) <= 1.3 * min(per))


def why_section(R, body, target):
    """Issue 24's retention tools (bench/bench_why.c): rcy_why_alive and the
    dominator tree with retained sizes on heaps of 1M and 10M objects."""
    rows_all = R.select("why")
    if not rows_all:
        return
    body.append("\n### Retention tools: why alive, dominators\n")
    body.append("`bench_why why N` and `bench_why dominators N`: N objects of three reference "
                "words, a complete binary tree in allocation order with one object in four also "
                "holding a random other (shared children, cycles), one root. why_alive: "
                "`rcy_why_alive` of the last object made (about log2 N deep), which walks the "
                "whole heap twice (references from the collected set, then a breadth-first "
                "search from the roots). dominators: `rcy_dominators_compute` (semi-NCA), "
                "retained sizes included. Medians over repetitions (each a fresh process, several calls in it), and the fastest call.\n")
    rows = []
    limits = {("why_alive", "1000000"): 100.0, ("dominators", "1000000"): 1000.0,
              ("dominators", "10000000"): 15000.0}
    for op in ("why_alive", "dominators"):
        for n in sorted({r["objects"] for r in rows_all if r.get("op") == op}, key=int):
            ms = R.med("why", "recycle", "ms", op=op, objects=n)
            lo = [float(r["ms_min"]) for r in R.select("why", "recycle", op=op, objects=n)]
            rows.append([op, n, fmt(ms, 1), fmt(min(lo), 1) if lo else "-"])
            if (op, n) in limits:
                lim = limits[(op, n)]
                target(f"{op} of {int(n):,} objects in at most {lim:.0f} ms",
                       "n/a" if ms is None else f"{ms:.0f} ms", None if ms is None else ms <= lim)
    body.append(table(["operation", "objects", "ms (median)", "ms (fastest)"], rows))
def trace_section(R, body, target):
    """Issue 24: allocation tracing off, sampled and full against the untraced
    build (commit c4d21eb), from the same run, interleaved: medians, spread,
    ratios; callgrind instructions of tracing off; the sampling's error."""
    rows_all = R.select("trace_churn") + R.select("trace_bt")
    if not rows_all and not R.select("trace_estimate"):
        return
    body.append("\n### Allocation tracing (issue 24)\n")
    body.append("The same binaries with tracing off, sampling (one sample per 512 KiB on average, "
                "1 frame) and full tracing with 1 and 16 frames (`BENCH_TRACE`, bench_common.h), "
                "and the build before tracing existed (untraced, commit c4d21eb), interleaved "
                "and rotating, medians of the rounds; spread = (max - min) / median. churn: "
                "`bench_alloc churn` at its quick size (ns per free + malloc); bt: "
                "`bench_objects bt` (seconds).\n")
    variants = ["untraced", "off", "sample", "full1", "full16"]
    meds = {}
    rows = []
    for bench, field in (("trace_churn", "ns_op"), ("trace_bt", "seconds")):
        for v in variants:
            m = R.med(bench, "recycle", field, variant=v)
            if m is None:
                continue
            meds[(bench, v)] = m
            sp = R.spread(bench, "recycle", field, variant=v)
            off = meds.get((bench, "off")) or R.med(bench, "recycle", field, variant="off")
            rows.append([bench[6:], v, fmt(m, 3 if field == "seconds" else 1),
                         "n/a" if sp is None else f"{sp * 100:.0f}%",
                         "n/a" if not off else f"{m / off:.2f}x"])
    if rows:
        body.append(table(["bench", "variant", "median", "spread", "vs tracing off"], rows))
    ir = {r.get("variant"): r for r in R.select("trace_ir")}
    if "off" in ir and "untraced" in ir:
        po, pu = float(ir["off"]["ir_per_pair"]), float(ir["untraced"]["ir_per_pair"])
        bo, bu = float(ir["off"]["ir_bt14"]), float(ir["untraced"]["ir_bt14"])
        body.append(f"\nInstructions (callgrind): malloc + free pair {po:.2f} with tracing off, "
                    f"{pu:.2f} untraced ({(po / pu - 1) * 100:+.2f}%); binary-trees depth 14 "
                    f"{bo:.0f} against {bu:.0f} ({(bo / bu - 1) * 100:+.3f}%).\n")
        worst = max(po / pu, bo / bu)
        target("tracing off: at most 1% more instructions than the untraced build (pairs, binary-trees)",
               f"{(worst - 1) * 100:+.2f}%", worst <= 1.01)
    for bench, name in (("trace_churn", "churn"), ("trace_bt", "binary-trees")):
        off, un = meds.get((bench, "off")), meds.get((bench, "untraced"))
        if off and un:
            target(f"tracing off: no measurable cost on {name} (time, at most 1%; noise here is larger)",
                   f"{off / un:.3f}x untraced", off / un <= 1.01 + NOISE)
    off = meds.get(("trace_churn", "off"))
    for v, limit, what in (("sample", 1.03, "sampling at the default interval"),
                           ("full1", 1.5, "full tracing, 1 frame"),
                           ("full16", 3.0, "full tracing, 16 frames")):
        benches = [("trace_churn", "churn")] + ([] if v == "sample" else [("trace_bt", "binary-trees")])
        for bench, name in benches:
            m, o = meds.get((bench, v)), meds.get((bench, "off"))
            if m and o:
                target(f"{what}: at most {limit}x untraced on {name}", f"{m / o:.2f}x", m / o <= limit)
    est = R.select("trace_estimate")
    if est:
        body.append("\nSampling's estimates (`bench_trace estimate MiB seeds`): eight sites of known "
                    "shares (40% to 0.5%) and block sizes (16 B to 64 KiB), one heap per seed; the "
                    "error of each site over 1% of the heap, and sqrt(mean / bytes), the relative "
                    "standard error of a Poisson sample, for the smallest such site.\n")
        erows = []
        for r in est:
            erows.append([r.get("heap_mib"), r.get("seed"), r.get("samples"), r.get("sites_over_1pct"),
                          r.get("max_err_pct") + "%", r.get("mean_err_pct") + "%",
                          r.get("predicted_err_pct_smallest") + "%"])
        body.append(table(["heap MiB", "seed", "samples", "sites > 1%", "largest error", "mean error",
                           "predicted error, smallest site"], erows))
        for mib in sorted({r.get("heap_mib") for r in est}, key=lambda x: int(x)):
            worst = max(float(r["max_err_pct"]) for r in est if r.get("heap_mib") == mib)
            target(f"sampling: estimates within 10% for sites over 1% of a {mib} MiB heap (every seed)",
                   f"largest error {worst:.1f}%", worst <= 10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--svg-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bt-depth", type=int, default=21)
    ap.add_argument("--py-bt-depth", type=int, default=17)
    args = ap.parse_args()

    R = Results(args.results)
    M = machine_info(os.path.dirname(args.results))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    C = Charts(args.work, args.svg_dir, out_dir)
    # bench/README.md, relative to the report (docs/benchmarks.md: ../bench/README.md)
    readme = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md"),
                             out_dir)
    md = []
    targets = []   # (target, measured, verdict)
    losses = []    # (text, rel) where recycle is worse than a competitor
    ties = []

    def compare(what, unit, rv, competitors, lower_better=True, abs_floor=0.0, nd=1):
        """Record where recycle (value rv) is beaten: one entry per metric."""
        if rv is None:
            return
        beaten, worst = [], 0.0
        for name, cv in competitors:
            if cv is None:
                continue
            diff = (rv - cv) if lower_better else (cv - rv)
            if diff <= 0 or abs(diff) <= abs_floor:
                continue
            rel = diff / abs(cv) if cv else float("inf")
            if rel > NOISE:
                how = f"{rv / cv:.2f}x" if cv else "more"
                beaten.append((rel, f"{label(name)} {fmt(cv, nd)} ({how})"))
                worst = max(worst, rel)
            else:
                ties.append(f"{what} vs {label(name)}")
        if beaten:
            beaten.sort(key=lambda x: -x[0])
            losses.append((worst, f"{what}: recycle {fmt(rv, nd)} {unit}; "
                                  + ", ".join(b for _, b in beaten)))

    def target(name, measured, ok, close=None):
        """close: (recycle, competitor) for a "better than" target, to call a
        miss by less than the noise a tie."""
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        if ok is False and close and None not in close and close[1] and \
                abs(close[0] - close[1]) / abs(close[1]) <= NOISE:
            verdict = f"tie (within {NOISE * 100:.0f}%)"
        targets.append((name, measured, verdict))

    quick_note = ""
    if args.quick:
        quick_note = ("\n> **Quick run (BENCH_QUICK=1)**: every benchmark was shrunk about 10-50x. "
                      "These numbers show that the harness works; they are not the published "
                      "figures. Run `make bench` for those.\n")

    # ---------------- header
    md.append("# Benchmarks\n")
    md.append("Generated by `make bench` (bench/run.sh, which calls bench/report.py) from the "
              "measurements of one run; do not edit by hand. What each benchmark does: "
              f"[bench/README.md]({readme}).\n" + quick_note)
    md.append(table(["", ""], [
        ["Command", "`make bench`" + (" with `BENCH_QUICK=1`" if args.quick else "")],
        ["Date", M["date"]],
        ["CPU", f'{M["cpu"]}, {M["cpus"]} logical CPUs (`nproc`)'],
        ["Memory", M["mem"]],
        ["Kernel", M["kernel"]],
        ["Compiler", M["cc"] + ", CMake Release (-O3), RCY_CHECK_LEVEL=0"],
        ["Competitors", ", ".join(filter(None, [
            "glibc " + (R.field("churn", "glibc", "version") or "?"),
            ("mimalloc " + R.field("churn", "mimalloc", "version")) if R.field("churn", "mimalloc", "version") else None,
            ("jemalloc " + R.field("churn", "jemalloc", "version")) if R.field("churn", "jemalloc", "version") else None,
            ("Boehm GC " + R.field("bt", "boehm", "version")) if R.field("bt", "boehm", "version") else None,
            ("CPython " + R.field("bt", "cpython", "version")) if R.field("bt", "cpython", "version") else None]))],
        ["Method", f"{args.reps} repetition{'s' if args.reps != 1 else ''}; in each, every variant runs once as a fresh process, "
                   "in an order that rotates between repetitions; tables give the median"],
        ["Run time", f"{args.seconds // 60} min {args.seconds % 60} s of measurements"],
    ]))
    md.append("")
    missing = [n.get("alloc") for n in R.notes if n.get("kind") == "missing"]
    if missing:
        md.append("Not measured (library or interpreter not installed): " + ", ".join(missing) + ".\n")
    if any(n.get("kind") == "build" for n in R.notes):
        md.append("**The recycle variants did not build in this run; only the competitors were measured.**\n")
    if R.fails:
        md.append("Failed measurements (left out of the medians): " +
                  ", ".join(f'{f.get("label")} (repetition {f.get("rep")}, exit {f.get("rc")})' for f in R.fails) + ".\n")
    body = []

    # ---------------- 1. allocator
    body.append("## 1. The allocator\n")
    body.append("### Churn: 100,000 live blocks, each step frees a random one and allocates a new one\n")
    ops = R.field("churn", None, "ops")
    body.append(f"Sizes 16..512 B, uniform, fixed-seed xorshift; {fmt(float(ops) / 1e6 if ops else None, 1)}M "
                "steps. ns/op is one free + one malloc, net of the same loop without the allocator "
                "(RNG, indexing). Peak RSS is net of the process before the first allocation.\n")
    rows, bars = [], []
    gl = R.med("churn", "glibc", "ns_op")
    mi = R.med("churn", "mimalloc", "ns_op")
    for a in R.allocs("churn"):
        v = R.med("churn", a, "ns_op")
        rows.append([label(a), fmt(v, 2), ratio(v, gl), ratio(v, mi), pct(R.spread("churn", a, "ns_op")),
                     fmt(R.med("churn", a, "peak_rss_mib"), 1), fmt(R.med("churn", a, "live_mib"), 1),
                     fmt(R.med("churn", a, "faults"), 0)])
        bars.append((a, v, a))
    body.append(table(["allocator", "ns/op", "vs glibc", "vs mimalloc", "spread", "peak RSS MiB", "live MiB",
                       "page faults in the loop"], rows))
    svg = C.bars("churn", "churn: free + malloc, ns per op (lower is better)", "ns/op", bars, fmtstr="%.1f")
    if svg:
        body.append(f"\n![churn]({svg})\n")
    rc = R.med("churn", "recycle", "ns_op")
    comps = [(a, R.med("churn", a, "ns_op")) for a in R.allocs("churn") if a != "recycle"]
    compare("churn ns/op", "ns", rc, comps, nd=2)
    rr = R.med("churn", "recycle", "peak_rss_mib")
    compare("churn peak RSS", "MiB", rr, [(a, R.med("churn", a, "peak_rss_mib")) for a in R.allocs("churn") if a != "recycle"], abs_floor=0.5)
    target("churn: faster than mimalloc (target: under 1.0x mimalloc's ns/op)",
           f"recycle {fmt(rc, 2)} ns, mimalloc {fmt(mi, 2)} ns",
           None if rc is None or mi is None else rc < mi, close=(rc, mi))
    mr = R.med("churn", "mimalloc", "peak_rss_mib")
    target(f"churn peak RSS: no higher than mimalloc's (target: at most 1.0x mimalloc's, "
           f"{NOISE * 100:.0f}% noise allowed)", f"recycle {fmt(rr)} MiB, mimalloc {fmt(mr)} MiB",
           None if rr is None or mr is None else rr <= mr * (1 + NOISE))

    body.append("\n### Instructions per malloc + free pair\n")
    pairs = R.field("pairs_ir", None, "pairs")
    body.append(f"`bench_alloc_<alloc> pairs`: {fmt(float(pairs) / 1e6 if pairs else None, 1)}M steps among "
                "1,024 live blocks of 16..512 B, each freeing a random block and allocating a new random "
                "size; instructions counted by callgrind (exact, the same on every run), less the same loop "
                "without the calls. Sized: the free is told the size (`rcy_free_sized`, `mi_free_size`, "
                "jemalloc's `sdallocx`; glibc 2.36 has none and uses `free`).\n")
    rows = []
    mi_ir = R.med("pairs_ir", "mimalloc", "ir_per_pair", how="free")
    mi_irs = R.med("pairs_ir", "mimalloc", "ir_per_pair", how="sized")
    for a in R.allocs("pairs_ir"):
        v = R.med("pairs_ir", a, "ir_per_pair", how="free")
        vs = R.med("pairs_ir", a, "ir_per_pair", how="sized")
        rows.append([label(a), fmt(v, 0), ratio(v, mi_ir), fmt(vs, 0), ratio(vs, mi_irs)])
    body.append(table(["allocator", "instructions", "vs mimalloc", "sized", "sized vs mimalloc"], rows))
    ri = R.med("pairs_ir", "recycle", "ir_per_pair", how="free")
    ris = R.med("pairs_ir", "recycle", "ir_per_pair", how="sized")
    target("instructions per malloc + free pair (target: at most 1.0x mimalloc's, callgrind)",
           f"recycle {fmt(ri, 0)}, mimalloc {fmt(mi_ir, 0)}; sized {fmt(ris, 0)} and {fmt(mi_irs, 0)}",
           None if ri is None or mi_ir is None else ri <= mi_ir)

    body.append("\n### Bursts: allocate 1M blocks, then free them all\n")
    rounds = R.field("bursts", None, "rounds")
    body.append(f"{rounds or '?'} timed rounds per size after one untimed warm-up round; ns per malloc + free.\n")
    sizes = ["16", "64", "256"]
    rows, series = [], []
    for a in R.allocs("bursts"):
        vals = [R.med("bursts", a, "ns_pair", size=s) for s in sizes]
        rows.append([label(a)] + [fmt(v, 2) for v in vals])
        series.append((a, vals))
    rows.append(["recycle vs mimalloc"] + [ratio(R.med("bursts", "recycle", "ns_pair", size=s),
                                                  R.med("bursts", "mimalloc", "ns_pair", size=s)) for s in sizes])
    body.append(table(["allocator"] + [f"{s} B" for s in sizes], rows))
    if R.values("bursts", None, "faults_per_round"):
        body.append("\nPage faults per round (a round touches "
                    + ", ".join(f"{int(s) * 1000000 / 2**20:.0f} MiB" for s in sizes)
                    + "): memory handed back to the OS between rounds is faulted in again.\n")
        rows = [[label(a)] + [fmt(R.med("bursts", a, "faults_per_round", size=s), 0) for s in sizes]
                for a in R.allocs("bursts")]
        body.append(table(["allocator"] + [f"{s} B" for s in sizes], rows))
    svg = C.clustered("bursts", "bursts: ns per malloc + free (lower is better)", "ns", [f"{s} B" for s in sizes], series)
    if svg:
        body.append(f"\n![bursts]({svg})\n")
    for s in sizes:
        compare(f"bursts of {s} B blocks", "ns", R.med("bursts", "recycle", "ns_pair", size=s),
                [(a, R.med("bursts", a, "ns_pair", size=s)) for a in R.allocs("bursts") if a != "recycle"], nd=2)
        rb = R.med("bursts", "recycle", "ns_pair", size=s)
        mb = R.med("bursts", "mimalloc", "ns_pair", size=s)
        rf = R.med("bursts", "recycle", "faults_per_round", size=s)
        mf = R.med("bursts", "mimalloc", "faults_per_round", size=s)
        target(f"bursts of {s} B: at most 1.2x mimalloc's time, page faults per round within 2x "
               "of mimalloc's (or under 1,000)",
               f"{ratio(rb, mb)}; faults {fmt(rf, 0)} against {fmt(mf, 0)}",
               None if None in (rb, mb, rf, mf) else rb <= 1.2 * mb and rf <= max(2 * mf, 1000))

    blocks = R.field("release", None, "blocks", keep=0)
    gib = float(blocks) * 64 / 2**30 if blocks else None
    amount = "?" if gib is None else (f"{gib:.0f} GiB" if gib >= 1 else f"{gib * 1024:.0f} MiB")
    body.append(f"\n### Release: {amount} of 64-byte blocks, freed in random order\n")
    body.append("RSS in MiB, net of the process before the first allocation (the pointer array "
                "lives in mmap'd memory and is part of that baseline). Columns: after allocating and "
                "touching every block; right after the frees; after sleeping 1 s; after one more "
                "malloc + free (allocators that purge lazily do it inside their calls); after the "
                "allocator's explicit release call, and how long that call took.\n")
    stage_names = ["allocated", "freed", "+1 s", "+1 call", "released"]
    stage_fields = ["rss_full_mib", "rss_freed_mib", "rss_1s_mib", "rss_tick_mib", "rss_released_mib"]
    for keep in (0, 1024):
        title = "everything freed" if keep == 0 else "1 block in 1,024 kept alive (random ones)"
        body.append(f"\n**{title}**\n")
        rows, series = [], []
        for a in R.allocs("release", keep=keep):
            vals = [R.med("release", a, f, keep=keep) for f in stage_fields]
            call = R.field("release", a, "release_call", keep=keep) or "?"
            rows.append([label(a)] + [fmt(v, 1) for v in vals] +
                        [f"`{call}`", fmt(R.med("release", a, "release_ms", keep=keep), 1)])
            series.append((a, vals))
        live = R.med("release", "recycle", "live_mib", keep=keep) or R.med("release", "glibc", "live_mib", keep=keep)
        body.append(table(["allocator"] + stage_names + ["release call", "call ms"], rows))
        if keep:
            body.append(f"\nStill live: {fmt(live, 1)} MiB.")
        short = "all freed" if keep == 0 else "1 in 1,024 kept"
        svg = C.lines(f"release_keep{keep}", f"RSS after freeing 64 B blocks ({short})", "MiB",
                      stage_names, series)
        if svg:
            body.append(f"\n![release keep {keep}]({svg})\n")
        others = [a for a in R.allocs("release", keep=keep) if a != "recycle"]
        for f, what in (("rss_1s_mib", "RSS 1 s after the frees"), ("rss_released_mib", "RSS after the release call"),
                        ("release_ms", "release call duration")):
            unit = "ms" if f == "release_ms" else "MiB"
            comp = others
            if f == "release_ms":  # a faster call that gives back less is no win
                mine = R.med("release", "recycle", "rss_released_mib", keep=keep)
                comp = [a for a in others if mine is not None and
                        (R.med("release", a, "rss_released_mib", keep=keep) or 1e30) <= mine + 1.0]
            compare(f"{what} ({title})", unit, R.med("release", "recycle", f, keep=keep),
                    [(a, R.med("release", a, f, keep=keep)) for a in comp], abs_floor=1.0)
    full = R.med("release", "recycle", "rss_full_mib", keep=0)
    r1 = R.med("release", "recycle", "rss_1s_mib", keep=0)
    rt = R.med("release", "recycle", "rss_tick_mib", keep=0)
    target("after everything is freed, RSS back within 10% of the allocated within 1 s while the "
           "program keeps calling the allocator (the '+1 call' column: after 1 s, one malloc + free)",
           f"{fmt(rt)} of {fmt(full)} MiB ({fmt(r1)} MiB after 1 s with no call: the purge delay's "
           "pages wait for a call)", None if rt is None or not full else rt <= 0.10 * full)
    pm = R.med("release", "recycle", "release_ms", keep=0)
    target(f"rcy_purge of 1 GiB under 50 ms{' (quick run: the heap was smaller)' if args.quick else ''}",
           f"{fmt(pm, 1)} ms", None if pm is None else pm < 50)
    fk = R.med("release", "recycle", "rss_full_mib", keep=1024)
    rk = R.med("release", "recycle", "rss_released_mib", keep=1024)
    rk1 = R.med("release", "recycle", "rss_1s_mib", keep=1024)
    gk = R.med("release", "glibc", "rss_released_mib", keep=1024)
    target("with 1 block in 1,024 kept, RSS after rcy_purge at most 80 MiB of 1,032 (7.75% of the "
           "allocated; glibc after malloc_trim: 64 MiB)",
           f"{fmt(rk)} of {fmt(fk)} MiB after rcy_purge ({fmt(rk1)} MiB after 1 s without a call; "
           f"glibc {fmt(gk)} MiB after malloc_trim)",
           None if rk is None or not fk else rk <= 0.0775 * fk)

    body.append("\n### Cyclic garbage under a hard memory limit\n")
    gm = R.field("budget", None, "garbage_mib")
    body.append(f"`bench_gc_recycle budget`: {gm or '?'} MiB of 2-cycles of 256-byte objects, each "
                "pair dropped at once, under `rcy_heap_set_limit(h, 0, 64 MiB)`; with the collector "
                "off only the limit's emergency collections free them. Held is what the budget "
                "counts (pool pages, arena bookkeeping, large blocks); RSS adds the collector's "
                "own tables and the system allocator's.\n")
    rows = []
    for how in ("on", "off"):
        rows.append([f"collector {how}", fmt(R.med("budget", "recycle", "s", collector=how), 3),
                     fmt(R.med("budget", "recycle", "ns_obj", collector=how), 2),
                     fmt(R.med("budget", "recycle", "held_max_mib", collector=how), 1),
                     fmt(R.med("budget", "recycle", "peak_rss_mib", collector=how), 1),
                     fmt(R.med("budget", "recycle", "hard_reactions", collector=how), 0),
                     fmt(R.med("budget", "recycle", "failures", collector=how), 0),
                     pct(R.med("budget", "recycle", "reaction_share", collector=how))])
    body.append(table(["run", "seconds", "ns/object", "held max MiB", "peak RSS MiB",
                       "emergency collections", "failed allocations", "time in the limit's reactions"], rows))
    for how in ("on", "off"):
        f = R.med("budget", "recycle", "failures", collector=how)
        hm = R.med("budget", "recycle", "held_max_mib", collector=how)
        pr = R.med("budget", "recycle", "peak_rss_mib", collector=how)
        target(f"cyclic garbage under a 64 MiB hard limit, collector {how}: no allocation fails, "
               "held and RSS under the limit",
               f"{fmt(f, 0)} failures; held at most {fmt(hm, 1)} MiB, peak RSS {fmt(pr, 1)} MiB; "
               f"{pct(R.med('budget', 'recycle', 'reaction_share', collector=how))} of the time in the "
               "limit's reactions",
               None if None in (f, hm, pr) else f == 0 and hm <= 64 and pr <= 64)

    # ---------------- 2. objects
    body.append("\n## 2. Objects\n")
    body.append("### New + release, incref + decref\n")
    body.append("recycle: `rcy_new` + `rcy_decref` of an object with a 32-byte payload, of a type "
                "without traverse and of one with traverse (tracked by the collector); both have an "
                "8-byte header: 40 B. The malloc variants allocate and free the same total size "
                "(40 B) for both columns. "
                "The raw column is the allocator alone (`rcy_malloc` + `rcy_free` for recycle). "
                "Incref + decref: recycle's inline functions on a live object; the malloc variants "
                "a hand-written count in a malloc'd struct. Each process reports the best of 3 "
                "loops; the table gives the median over processes.\n")
    rows = []
    for a in R.allocs("newfree"):
        rows.append([label(a), fmt(R.med("newfree", a, "ns_pair", kind="plain"), 2),
                     fmt(R.med("newfree", a, "ns_pair", kind="tracked"), 2),
                     fmt(R.med("newfree", a, "ns_pair", kind="raw"), 2),
                     fmt(R.med("refpair", a, "ns_pair"), 3)])
    body.append(table(["allocator", "new + release, 40 B (ns)", "tracked new + release, 40 B (ns)",
                       "raw malloc + free, 48 B (ns)", "incref + decref (ns)"], rows))
    compare("raw malloc + free of 48 B, hot loop", "ns", R.med("newfree", "recycle", "ns_pair", kind="raw"),
            [(a, R.med("newfree", a, "ns_pair", kind="raw")) for a in R.allocs("newfree") if a != "recycle"],
            abs_floor=0.3, nd=2)
    for kind in ("plain", "tracked"):
        compare(f"object new + release ({kind}) vs raw malloc + free", "ns",
                R.med("newfree", "recycle", "ns_pair", kind=kind),
                [(a, R.med("newfree", a, "ns_pair", kind=kind)) for a in R.allocs("newfree") if a != "recycle"],
                abs_floor=0.3, nd=2)
    hand = [R.med("refpair", a, "ns_pair") for a in R.allocs("refpair") if a != "recycle"]
    hand = [v for v in hand if v is not None]
    compare("incref + decref", "ns", R.med("refpair", "recycle", "ns_pair"),
            [("a hand-written count", min(hand) if hand else None)], abs_floor=0.1, nd=3)

    d = args.bt_depth
    body.append(f"\n### binary-trees, depth {d}\n")
    body.append(f"A stretch tree of depth {d + 1}, a long-lived tree of depth {d}, then for "
                f"d = 4, 6, ..., {d}: 2^({d}-d+4) trees of depth d, each built, node-counted and "
                "freed. recycle: nodes are objects of a type with a layout descriptor (`ref_words`; "
                "the \"node type with traverse\" variant describes them by `traverse` instead), "
                "a tree is freed by one `rcy_decref` of its root; collector at default thresholds, and once more with "
                "`rcy_gc_disable`. The malloc variants are the same C program with malloc/free "
                "(recursive free); the \"hand-written counts\" variants are the same program "
                "with a count and a type in a 16-byte header and death through the type's "
                "traverse, as recycle's objects die, without tracking, stack bound or checks; "
                "Boehm GC allocates with `GC_MALLOC` and never frees. "
                "Whole-program seconds and peak RSS of the process.\n")
    bt_allocs = [a for a in R.allocs("bt", depth=d) if not a.startswith("cpython")]
    glt, mit = R.med("bt", "glibc", "seconds", depth=d), R.med("bt", "mimalloc", "seconds", depth=d)
    glr, mir = R.med("bt", "glibc", "peak_rss_mib", depth=d), R.med("bt", "mimalloc", "peak_rss_mib", depth=d)
    rows, tb, rb = [], [], []
    for a in bt_allocs:
        s = R.med("bt", a, "seconds", depth=d)
        m = R.med("bt", a, "peak_rss_mib", depth=d)
        col = ""
        if a.startswith("recycle"):
            g = [R.med("bt", a, f"gc{i}", depth=d) for i in range(3)]
            col = "/".join(fmt(x, 0) for x in g)
        elif a == "boehm":
            col = fmt(R.med("bt", a, "gc_count", depth=d), 0)
        rows.append([label(a), fmt(s, 2), ratio(s, glt), ratio(s, mit), pct(R.spread("bt", a, "seconds", depth=d)),
                     fmt(m, 0), ratio(m, glr), ratio(m, mir), col])
        short = a.replace("-rc", ", counts").replace("recycle-gcoff", "recycle, gc off").replace("recycle-nopace", "recycle, no pacing")
        tb.append((short, s, a))
        rb.append((short, m, a))
    body.append(table(["variant", "seconds", "vs glibc", "vs mimalloc", "spread", "peak RSS MiB",
                       "RSS vs glibc", "RSS vs mimalloc", "collections (gen 0/1/2)"], rows))
    hdr = R.med("bt", "recycle", "header_bytes", depth=d)
    if hdr is not None:
        body.append(f"\nA node is two pointers (16 B). recycle adds its {hdr:.0f}-byte header "
                    f"({hdr + 16:.0f} B per node); glibc rounds a 16-byte request up to a "
                    "32-byte chunk; mimalloc and jemalloc serve it from a 16-byte size class. "
                    "The hand-written counts put a 16-byte header in front of it (32 B; a "
                    "48-byte chunk in glibc).\n")
    body.append(f"\nFor reference, earlier runs of the competitors at depth 21 on this project's machines: "
                "glibc 16.1 s / 258 MiB, mimalloc 4.3 s / 162 MiB, jemalloc 7.5 s / 140 MiB, "
                "Boehm 18.9 s / 316 MiB.\n")
    svg = C.bars("bt_time", f"binary-trees depth {d}: seconds (lower is better)", "s", tb, fmtstr="%.2f")
    if svg:
        body.append(f"![binary-trees time]({svg})\n")
    svg = C.bars("bt_rss", f"binary-trees depth {d}: peak RSS (lower is better)", "MiB", rb, fmtstr="%.0f")
    if svg:
        body.append(f"![binary-trees peak RSS]({svg})\n")
    rs = R.med("bt", "recycle", "seconds", depth=d)
    rsoff = R.med("bt", "recycle-gcoff", "seconds", depth=d)
    rm = R.med("bt", "recycle", "peak_rss_mib", depth=d)
    others = [a for a in bt_allocs if not a.startswith("recycle")]
    compare(f"binary-trees {d} time", "s", rs, [(a, R.med("bt", a, "seconds", depth=d)) for a in others], nd=2)
    compare(f"binary-trees {d} peak RSS", "MiB", rm, [(a, R.med("bt", a, "peak_rss_mib", depth=d)) for a in others], abs_floor=2, nd=0)
    target(f"binary-trees {d}: no slower than mimalloc malloc/free (target: at most 1.0x mimalloc's "
           f"seconds, {NOISE * 100:.0f}% noise allowed)",
           f"recycle {fmt(rs, 2)} s, mimalloc {fmt(mit, 2)} s",
           None if rs is None or mit is None else rs <= mit * (1 + NOISE))
    target(f"binary-trees {d}: peak RSS no higher than glibc's (target: at most 1.0x glibc's peak RSS)",
           f"recycle {fmt(rm, 0)} MiB, glibc {fmt(glr, 0)} MiB",
           None if rm is None or glr is None else rm <= glr)
    ovh = (rs / rsoff - 1) if rs and rsoff else None
    target(f"binary-trees {d}: collector on (defaults) at most 10% slower than off",
           f"on {fmt(rs, 2)} s, off {fmt(rsoff, 2)} s: {'n/a' if ovh is None else f'{ovh * 100:+.1f}%'}",
           None if ovh is None else ovh <= 0.10)
    mrc = R.med("bt", "mimalloc-rc", "seconds", depth=d)
    if rs and mit and mrc:
        body.append(f"\nThe object model's floor on mimalloc: hand-written counts with type callbacks "
                    f"take {mrc / mit:.2f}x mimalloc's malloc/free ({fmt(mrc, 2)} s against "
                    f"{fmt(mit, 2)} s); recycle takes {rs / mrc:.2f}x the hand-written counts, "
                    f"and adds tracking for the collector, a bounded C stack and misuse checks.\n")
    rsp = R.med("bt", "recycle-nopace", "seconds", depth=d)
    if rsp is not None and rsoff:
        body.append(f"\nWithout drop pacing (`rcy_gc_set_drop_pacing(h, 0)`: every automatic young "
                    f"collection scans, as in Python) the collector costs "
                    f"{(rsp / rsoff - 1) * 100:+.1f}% here ({fmt(rsp, 2)} s).\n")

    # ---------------- 3. collector
    body.append("\n## 3. The cycle collector, against CPython's\n")
    body.append("Same shapes on both sides. recycle: objects of a type with two references and "
                "traverse (16 B payload); CPython "
                f"{R.field('gc_live', 'cpython', 'version') or M['python']}: instances of a class "
                "with `__slots__ = ('next', 'other')`, timed with `time.perf_counter` around "
                "`gc.collect()`. Collectors disabled while the graphs are built.\n")
    body.append("### Full collection of a live graph\n")
    body.append("A chain from one root, each node also pointing at a random earlier node; "
                "median of 5 full collections after a first one, ns per live object. Rows "
                "growing 10x at a time show whether the cost per object stays flat. The "
                "back edges make the graph cyclic, so after the root is dropped one more full "
                "collection finds and frees all of it: the garbage columns.\n")
    sizes = sorted({int(r["objects"]) for r in R.select("gc_live")})
    rows = []
    rec_s, py_s = [], []
    for n in sizes:
        rv = R.med("gc_live", "recycle", "ns_obj", objects=n)
        pv = R.med("gc_live", "cpython", "ns_obj", objects=n)
        rms = R.med("gc_live", "recycle", "collect_ms", objects=n)
        pms = R.med("gc_live", "cpython", "collect_ms", objects=n)
        rows.append([f"{n:,}", fmt(rv, 2), fmt(pv, 2), ratio(rv, pv), fmt(rms, 1), fmt(pms, 1),
                     fmt(R.med("gc_live", "recycle", "garbage_ns_obj", objects=n), 1),
                     fmt(R.med("gc_live", "cpython", "garbage_ns_obj", objects=n), 1),
                     fmt(R.med("gc_live", "recycle", "peak_rss_mib", objects=n), 0),
                     fmt(R.med("gc_live", "cpython", "peak_rss_mib", objects=n), 0)])
        rec_s.append(rv)
        py_s.append(pv)
        compare(f"full collection of {n:,} live objects", "ns/object", rv, [("cpython", pv)], nd=2)
        compare(f"collection of a {n:,}-object cyclic graph turned garbage", "ns/object",
                R.med("gc_live", "recycle", "garbage_ns_obj", objects=n),
                [("cpython", R.med("gc_live", "cpython", "garbage_ns_obj", objects=n))], nd=1)
    body.append(table(["live objects", "recycle ns/object", "CPython ns/object", "recycle/CPython",
                       "recycle ms", "CPython ms", "garbage: recycle ns/object",
                       "garbage: CPython ns/object", "recycle peak RSS MiB", "CPython peak RSS MiB"], rows))
    if sizes:
        svg = C.lines("gc_scaling", "full collection: ns per live object as the heap grows", "ns / object",
                      [f"{n:,}" for n in sizes], [("recycle", rec_s), ("cpython", py_s)],
                      logx=True, xs=sizes, xlabel="live tracked objects")
        if svg:
            body.append(f"\n![collection cost per object]({svg})\n")
    big = [n for n in sizes][-2:]
    vals = [R.med("gc_live", "recycle", "ns_obj", objects=n) for n in big]
    target("full collection <= 25 ns per live object (" + ", ".join(f"{n:,}" for n in big) + " objects)",
           ", ".join(f"{fmt(v, 2)} ns" for v in vals),
           None if not vals or None in vals else max(vals) <= 25)
    if len(sizes) >= 2:
        lo = R.med("gc_live", "recycle", "ns_obj", objects=sizes[0])
        hi = R.med("gc_live", "recycle", "ns_obj", objects=sizes[-1])
        target(f"flat cost per object, {sizes[0]:,} to {sizes[-1]:,} objects (criterion: largest <= 1.5x smallest)",
               f"{fmt(lo, 2)} -> {fmt(hi, 2)} ns ({ratio(hi, lo)})",
               None if lo is None or hi is None else hi <= 1.5 * lo)

    ncyc = R.field("gc_cycles", None, "objects")
    body.append(f"\n### Cyclic garbage: {int(ncyc):,} objects in unreachable 2-cycles\n" if ncyc else
                "\n### Cyclic garbage\n")
    body.append("One full collection finds and frees them all; ns per garbage object (finding + freeing).\n")
    rows = []
    for a in R.allocs("gc_cycles"):
        rows.append([label(a), fmt(R.med("gc_cycles", a, "ns_obj"), 2), fmt(R.med("gc_cycles", a, "collect_ms"), 1)])
    body.append(table(["", "ns/object", "collection ms"], rows))
    cr = R.med("gc_cycles", "recycle", "ns_obj")
    compare("collection of 2-cycle garbage", "ns/object", cr, [("cpython", R.med("gc_cycles", "cpython", "ns_obj"))], nd=2)
    target("full collection <= 50 ns per garbage object", f"{fmt(cr, 2)} ns", None if cr is None else cr <= 50)

    nun = R.field("gc_untrack", None, "objects")
    if nun:
        tr_ms, un_ms = R.med("gc_untrack", "recycle", "tracked_ms"), R.med("gc_untrack", "recycle", "untracked_ms")
        body.append(f"\n### What untracking saves: {int(nun):,} tracked objects\n")
        body.append("A chain of records, each holding three boxes that hold only atoms (objects "
                    "of a type without traverse, like a dict of ints). Full collection with the boxes "
                    "tracked, then after `rcy_gc_untrack` on each box (CPython untracks such dicts "
                    "and tuples); median of 5 collections each.\n")
        body.append(table(["boxes", "full collection ms"],
                          [["tracked", fmt(tr_ms, 1)], ["untracked", fmt(un_ms, 1)]]))
        if tr_ms and un_ms:
            body.append(f"\nUntracking three quarters of the objects saves {(1 - un_ms / tr_ms) * 100:.0f}% "
                        "of the collection time (the records still visit the boxes' headers).\n")

    body.append("\n### Pauses at default thresholds\n")
    ya = R.field("gc_young", None, "allocs")
    yb = R.field("gc_young", None, "base")
    body.append(f"{int(ya):,} allocations of tracked objects on top of {int(yb):,} long-lived ones; "
                "a ring of the last 1,000 stays alive (each pointing at another ring member), "
                "every 16th is a self-cycle that becomes garbage when it leaves the ring. Every "
                "collection is timed from its start callback to its stop callback. \"Time in "
                "collector\" is the share of the loop's own run time, and CPython's loop is much "
                "slower. The control row is the machine's own jitter: after the loop, a constant "
                "workload (pointer chasing in a 256 KiB table) calibrated to recycle's median pause, "
                "timed as many times and the same way, with spinning in between; its maximum is "
                "what this machine adds to a fixed amount of warm work (interrupts, other "
                "tenants), a floor for the pauses' maximum.\n" if ya and yb else "")
    rows = []
    for a in R.allocs("gc_young"):
        g = lambda f: R.med("gc_young", a, f)  # noqa: E731
        tot, gcs = g("total_s"), g("gc_s")
        rows.append([label(a), fmt(g("gen0_n"), 0), fmt(g("gen0_median_us"), 1), fmt(g("gen0_p99_us"), 1),
                     fmt(g("gen0_max_us"), 1), fmt(g("gen1_n"), 0), fmt(g("gen1_median_us"), 1),
                     fmt(g("gen2_n"), 0), fmt(g("gen2_max_us") / 1000 if g("gen2_max_us") else None, 2),
                     fmt(tot, 2), pct(gcs / tot if tot and gcs is not None else None)])
    cm = {f: R.med("gc_young", "recycle", "control_" + f) for f in ("median_us", "p99_us", "max_us")}
    if cm["max_us"] is not None:
        rows.append(["control: constant workload", "", fmt(cm["median_us"], 1), fmt(cm["p99_us"], 1),
                     fmt(cm["max_us"], 1), "", "", "", "", "", ""])
    body.append(table(["", "gen-0 collections", "median us", "p99 us", "max us", "gen-1 collections",
                       "gen-1 median us", "gen-2 collections", "gen-2 max ms", "loop s", "time in collector"], rows))
    yr = {f: R.med("gc_young", "recycle", f) for f in ("gen0_median_us", "gen0_p99_us", "gen0_max_us")}
    compare("young-collection median pause", "us", yr["gen0_median_us"], [("cpython", R.med("gc_young", "cpython", "gen0_median_us"))])
    compare("young-collection max pause", "us", yr["gen0_max_us"], [("cpython", R.med("gc_young", "cpython", "gen0_max_us"))])
    compare("allocation loop with the collector on", "s", R.med("gc_young", "recycle", "total_s"),
            [("cpython", R.med("gc_young", "cpython", "total_s"))], nd=2)
    for f, nm in (("gen0_median_us", "median"), ("gen0_p99_us", "99th percentile"), ("gen0_max_us", "maximum")):
        control = cm["max_us"] if f == "gen0_max_us" else None
        target(f"young-collection pause < 50 us ({nm})",
               f"{fmt(yr[f], 1)} us" + (f" (control workload's max: {fmt(control, 1)} us)" if control else ""),
               None if yr[f] is None else yr[f] < 50)

    pd = args.py_bt_depth
    body.append(f"\n### binary-trees depth {pd}, collector on and off\n")
    body.append(f"The depth CPython finishes in seconds (CPython is slow: depth {d} would take "
                "minutes per run). CPython's tree nodes are instances of a class with "
                "`__slots__ = ('left', 'right')`; `gc.disable()` for the off run.\n")
    rows = []
    for a in ("recycle", "recycle-nopace", "recycle-gcoff", "cpython", "cpython-gcoff"):
        s = R.med("bt", a, "seconds", depth=pd)
        if s is None:
            continue
        g = [R.med("bt", a, f"gc{i}", depth=pd) for i in range(3)]
        rows.append([label(a), fmt(s, 3), fmt(R.med("bt", a, "peak_rss_mib", depth=pd), 0),
                     "/".join(fmt(x, 0) for x in g)])
    body.append(table(["variant", "seconds", "peak RSS MiB", "collections (gen 0/1/2)"], rows))
    ron, roff = R.med("bt", "recycle", "seconds", depth=pd), R.med("bt", "recycle-gcoff", "seconds", depth=pd)
    pon, poff = R.med("bt", "cpython", "seconds", depth=pd), R.med("bt", "cpython-gcoff", "seconds", depth=pd)
    ro = (ron / roff - 1) if ron and roff else None
    po = (pon / poff - 1) if pon and poff else None
    body.append(f"\nCollector overhead (on / off - 1): recycle {'n/a' if ro is None else f'{ro * 100:+.1f}%'}, "
                f"CPython {'n/a' if po is None else f'{po * 100:+.1f}%'}. recycle with the collector on is "
                f"{ratio(pon, ron)} faster than CPython with it on.\n")
    if ro is not None and po is not None and ro > po + NOISE:
        losses.append((ro - po, f"collector overhead on binary-trees {pd}: recycle {ro * 100:+.1f}%; "
                                f"CPython {po * 100:+.1f}%"))

    # ---------------- 4. interpreters (bench/adapters/report_adapters.py)
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "adapters"))
    import report_adapters
    report_adapters.section(R, body, target, compare, fmt, ratio, pct, table, NOISE)
    # ---------------- multi-threaded (bench/mt/run.sh): its own section and targets
    mt_md, mt_targets = mt_section(R)
    body.extend(mt_md)
    targets.extend(mt_targets)
    shapes_section(R, body, target)
    why_section(R, body, target)
    # ---------------- shared objects (issue 23: bench/shared/run.sh)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shared"))
    import report_shared
    report_shared.section(R, body, target, fmt, ratio, pct, table)
    trace_section(R, body, target)

    # ---------------- summary sections (placed before the body)
    md.append("## Targets\n")
    md.append("The goals recycle is measured against, each with the criterion that decides it; "
              "every verdict is computed from this run's medians.\n")
    md.append(table(["target", "measured", "verdict"], targets))
    md.append("\n## Where recycle loses\n")
    if losses:
        md.append(f"Every measurement of this run where a competitor beat recycle by more than "
                  f"{NOISE * 100:.0f}%, worst first, with the competitors that did and by how much "
                  "(their value, and recycle's as a multiple of it); then the targets missed.\n")
        for _, text in sorted(losses, key=lambda x: -x[0]):
            md.append(f"- {text}")
    else:
        md.append(f"No competitor beat recycle by more than {NOISE * 100:.0f}% in any comparison of this run.")
    missed = [t for t in targets if t[2] == "**missed**"]
    if missed:
        md.append("\nTargets missed:\n")
        for t in missed:
            md.append(f"- {t[0]}: {t[1]}")
    if ties:
        md.append(f"\nNarrow losses, within {NOISE * 100:.0f}% (noise on this machine): " + "; ".join(ties) + ".")
    md.append("")
    md.extend(body)
    md.append("\n## Reproducing\n")
    md.append("```sh\nmake bench                     # installs the competitors (Debian packages), runs "
              "bench/run.sh\nBENCH_QUICK=1 bash bench/run.sh   # a smaller run to try the harness "
              "(report: build/bench/quick/)\n```\n")
    md.append("Raw results: `build/bench/results.txt` (one `RESULT` line per measurement); log: "
              "`build/bench/run.log`.")
    if C.errors:
        md.append("\nCharts that failed: " + "; ".join(C.errors))
    elif not C.gnuplot:
        md.append("\n(gnuplot was not installed: no charts.)")
    with open(args.out, "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
