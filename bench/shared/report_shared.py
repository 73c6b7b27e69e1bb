#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The "Shared objects" section of docs/benchmarks.md (issue 23), from
bench/shared/run.sh's RESULT lines: bench/report.py calls section()."""

# The previous build's figures kept from the session that measured issue 23
# (c4d21eb against the issue-23 branch, gcc 12 -O2, this machine), for runs
# where the previous build cannot be checked out: the report shows them
# beside this run's.
KEPT_PREVIOUS = {
    "bt14_ir": 815423988,       # bench_objects_recycle bt 14, instructions
    "refpair_ir_quick": 420336255,  # BENCH_QUICK=1 bench_objects_recycle refpair
}


def section(R, body, target, fmt, ratio, pct, table):
    if not R.select("shared_bt") and not R.select("shared_graph"):
        return
    body.append("\n## Shared objects: the price of biased counting, and two threads on one graph\n")
    body.append("`bench/shared/run.sh`. Single-threaded: the current build against the previous "
                "one (main before issue 23, built from its commit in the same run, runs "
                "interleaved), binary-trees (`bench_objects_recycle bt`) and incref + decref of a "
                "live object (`refpair`, ns per pair less the empty loop); instructions counted "
                "by callgrind. The previous build's figures are kept in this table.\n")
    rows = []
    for a in ("current", "previous"):
        d = R.field("shared_bt", a, "depth")
        rows.append([a, fmt(R.med("shared_bt", a, "seconds"), 3), pct(R.spread("shared_bt", a, "seconds")),
                     fmt(R.med("shared_refpair", a, "ns_pair"), 3),
                     pct(R.spread("shared_refpair", a, "ns_pair")),
                     fmt((R.med("shared_ir", a, "ir_bt") or 0) / 1e6 or None, 1),
                     fmt((R.med("shared_ir", a, "ir_refpair") or 0) / 1e6 or None, 1)])
    body.append(table(["build", f"binary-trees {d} s", "spread", "refpair ns", "spread",
                       f"binary-trees {R.field('shared_ir', 'current', 'bt_depth')} M instr.",
                       "refpair (quick) M instr."], rows))
    cb, pb = R.med("shared_bt", "current", "seconds"), R.med("shared_bt", "previous", "seconds")
    cr, pr = R.med("shared_refpair", "current", "ns_pair"), R.med("shared_refpair", "previous", "ns_pair")
    ci, pi = R.med("shared_ir", "current", "ir_bt"), R.med("shared_ir", "previous", "ir_bt")
    body.append(f"\nKept from the session that built it (no previous build needed): binary-trees 14 "
                f"{KEPT_PREVIOUS['bt14_ir'] / 1e6:.1f} M instructions, refpair (quick) "
                f"{KEPT_PREVIOUS['refpair_ir_quick'] / 1e6:.1f} M.\n")
    target("binary-trees single-threaded at most 10% slower than the previous build (time)",
           f"{ratio(cb, pb)} ({fmt(cb, 3)} s vs {fmt(pb, 3)} s)", None if not cb or not pb else cb <= pb * 1.10)
    target("binary-trees at most 10% more instructions than the previous build",
           f"{ratio(ci, pi)}", None if not ci or not pi else ci <= pi * 1.10)
    target("incref + decref pair at most 10% slower than the previous build (time)",
           f"{ratio(cr, pr)} ({fmt(cr, 3)} ns vs {fmt(pr, 3)} ns)", None if not cr or not pr else cr <= pr * 1.10)

    body.append("\n### Two threads sharing a graph\n")
    body.append("`bench_shared MODE`: a writer replaces random nodes of a 4096-node table (each node "
                "links two others), a reader takes a node under the table's lock and increfs and "
                "decrefs it and its children 16 times per round. recycle: the writer owns the nodes "
                "(plain counts), the reader's counts are atomic (shared words); atomic: one atomic "
                "count per node for both; lock: plain counts under one global mutex.\n")
    rows = []
    base = R.med("shared_graph", None, "ns_per_reader_op", mode="atomic")
    for m in ("recycle", "atomic", "lock"):
        ns = R.med("shared_graph", None, "ns_per_reader_op", mode=m)
        rows.append([m, fmt(R.med("shared_graph", None, "seconds", mode=m), 3), fmt(ns, 2),
                     ratio(ns, base), fmt((R.med("shared_graph", None, "writer_per_s", mode=m) or 0) / 1e6 or None, 2),
                     pct(R.spread("shared_graph", None, "seconds", mode=m))])
    body.append(table(["counts", "seconds", "ns per reader op", "vs atomic", "writer M replacements/s",
                       "spread"], rows))
