#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python workloads for the interpreter benchmarks (bench/adapters/run.py).

    py_work.py WORKLOAD SCALE

Runs one workload at a size (SCALE 1 = the full run's; 0 runs nothing, for
the instruction counts' baseline), then drops its data
and prints one line:
    seconds=S peak_rss_kib=P rss_after_kib=A
seconds: the workload alone (perf_counter); peak_rss_kib: the process's
peak RSS (getrusage); rss_after_kib: RSS once the workload's data is
dropped, a full collection ran and the program went on for a moment (a
short sleep and a little allocation, as a program that continues would):
what the allocator gave back.

Workloads (each keeps a large part of what it builds alive until the end,
so that there is something to give back):
  bt        binary-trees: trees of tuples built, checked and dropped, with a
            long-lived tree kept
  json      json.dumps and json.loads of a list of records
  churn     dicts, lists and tuples made and dropped in a loop, a tenth kept
  strings   string building: joins, f-strings, concatenation, slicing
  instances class instances with attribute dicts, in a linked graph
  sort      lists of tuples and strings sorted, with key functions
"""
import gc
import json
import resource
import sys
import time


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


def make_tree(d):
    return (make_tree(d - 1), make_tree(d - 1)) if d else (None, None)


def check_tree(t):
    left, right = t
    return 1 if left is None else 1 + check_tree(left) + check_tree(right)


def bt(scale):
    n = 10 + round(6 * scale)  # depth 16 at full scale, 10 at the smallest
    long_lived = make_tree(n)
    keep = []
    total = 0
    for d in range(4, n + 1, 2):
        iters = 1 << (n - d + 4)
        for i in range(iters):
            t = make_tree(d)
            total += check_tree(t)
            if i % 64 == 0:
                keep.append(t)
    return [long_lived, keep, total]


def json_work(scale):
    recs = [{"id": i, "name": f"user{i}", "tags": ["a", "b", str(i % 7)],
             "score": i * 0.5, "active": i % 2 == 0} for i in range(int(200000 * scale))]
    keep = []
    for r in range(3):
        text = json.dumps(recs)
        back = json.loads(text)
        keep.append(back)
    return [recs, keep]


def churn(scale):
    keep = []
    for i in range(int(2000000 * scale)):
        d = {"a": i, "b": [i, i + 1, (i, str(i))], "c": (i, i * 2)}
        lst = [d, (i,), [i] * 3]
        if i % 10 == 0:
            keep.append(lst)
    return keep


def strings(scale):
    keep = []
    for i in range(int(300000 * scale)):
        s = "-".join(str(j) for j in range(i % 20))
        s = f"{s}:{i}:{s.upper()}"
        t = ""
        for k in range(5):
            t += s[k:k + 7]
        if i % 4 == 0:
            keep.append((s, t, s.split("-")))
    return keep


class Node:
    def __init__(self, i, prev):
        self.i = i
        self.prev = prev
        self.name = "n%d" % i
        self.data = [i, i + 1]


def instances(scale):
    keep = []
    prev = None
    for i in range(int(1000000 * scale)):
        n = Node(i, prev)
        prev = n if i % 3 else None
        if i % 5 == 0:
            keep.append(n)
    return keep


def sort_work(scale):
    n = int(300000 * scale)
    rows = [((i * 7919) % n, str((i * 104729) % n), i) for i in range(n)]
    keep = []
    for r in range(3):
        keep.append(sorted(rows))
        keep.append(sorted(rows, key=lambda t: t[1]))
        keep.append(sorted(str(t[0]) for t in rows))
    return keep


WORKLOADS = {"bt": bt, "json": json_work, "churn": churn, "strings": strings,
             "instances": instances, "sort": sort_work}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in WORKLOADS:
        print(__doc__, file=sys.stderr)
        return 2
    fn, scale = WORKLOADS[sys.argv[1]], float(sys.argv[2])
    start = time.perf_counter()
    data = fn(scale) if scale > 0 else []  # 0: startup and teardown only
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del data
    gc.collect()
    time.sleep(0.2)
    junk = [str(i) for i in range(1000)]
    del junk
    gc.collect()
    print(f"seconds={seconds:.4f} peak_rss_kib={peak} rss_after_kib={rss_kib()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
