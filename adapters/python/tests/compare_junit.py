#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare two regrtest --junit-xml files: the stock interpreter's and
recycle-python's.

    compare_junit.py STOCK.xml RECYCLE.xml EXCLUDED.txt

Fails (exit 1) if a test case that passed under the stock interpreter did
not pass under recycle-python (failed, errored, was skipped or did not run
at all, as when its module crashed), unless EXCLUDED.txt lists its id
("module.Class.test_name", '#' starts a comment: the reason). Also fails
if an excluded test passed under recycle-python after all, so that the
list stays true. Prints the counts either way.
"""
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    """{test id: "pass" | "fail" | "skip"} for every test case in the file."""
    out = {}
    for case in ET.parse(path).iter("testcase"):
        name = case.get("name", "")
        cls = case.get("classname", "")
        # regrtest names a case by its unittest id: "test.test_x.Class.test_y"
        tid = name if name.startswith(cls) or not cls else f"{cls}.{name}"
        tid = tid.split(" ")[0]
        if tid.startswith("test."):
            tid = tid[len("test."):]
        status = "pass"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "fail"
            elif child.tag == "skipped" and status == "pass":
                status = "skip"
        if case.get("status") == "skipped" and status == "pass":
            status = "skip"
        out[tid] = status if tid not in out or out[tid] == "pass" else out[tid]
    return out


def excluded(path):
    ids = {}
    with open(path) as f:
        for line in f:
            tid, _, reason = line.partition("#")
            tid = tid.strip()
            if tid:
                ids[tid] = reason.strip()
    return ids


def main():
    stock, rcy, excl = outcomes(sys.argv[1]), outcomes(sys.argv[2]), excluded(sys.argv[3])
    passed_stock = [t for t, s in stock.items() if s == "pass"]
    if not passed_stock:
        print("compare: no test passed under the stock interpreter: nothing to compare")
        return 1
    regressions, excused, stale = [], [], []
    for t in sorted(passed_stock):
        got = rcy.get(t, "missing")
        if got == "pass":
            if t in excl:
                stale.append(t)
        elif t in excl:
            excused.append((t, got))
        else:
            regressions.append((t, got))
    both = sum(1 for t in passed_stock if rcy.get(t) == "pass")
    print(f"compare: {len(stock)} test cases under stock, {len(rcy)} under recycle-python; "
          f"{len(passed_stock)} passed under stock, {both} of them under recycle-python too")
    for t, got in excused:
        print(f"  excluded ({got} under recycle-python): {t}  -- {excl[t]}")
    for t in stale:
        print(f"  STALE: {t} is excluded but passed under recycle-python; remove it from the list")
    for t, got in regressions:
        print(f"  REGRESSION: {t} passed under stock, {got} under recycle-python")
    return 1 if regressions or stale else 0


if __name__ == "__main__":
    sys.exit(main())
