# SPDX-License-Identifier: MIT
"""The collector benchmarks of bench/bench_gc.c and binary-trees, on CPython.

    python3 gc_bench.py live N        full collection of a live graph of N objects
    python3 gc_bench.py cycles N      one full collection freeing N objects in 2-cycles
    python3 gc_bench.py young M B     pauses of every collection during M allocations
    python3 gc_bench.py bt DEPTH on|off   binary-trees with the collector on or off
    python3 gc_bench.py shape KIND N [REPS]  full collections of a heap shaped as KIND
                                      (list, dict, tree, records: see bench_gc.c)

Objects are instances of a small class with __slots__ (two references), the
same shape as the C benchmark's nodes. Each result is printed as one line:
    RESULT bench=<name> alloc=cpython key=value ...
"""
import gc
import random
import resource
import sys
import time


class Node:
    __slots__ = ("next", "other")

    def __init__(self):
        self.next = None
        self.other = None


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rng(seed):
    """xorshift64* as in bench_common.h (pure Python: slow but deterministic)."""
    mask = (1 << 64) - 1
    x = seed
    while True:
        x ^= x >> 12
        x ^= (x << 25) & mask
        x ^= x >> 27
        yield (x * 0x2545F4914F6CDD1D) & mask


def build_graph(n, seed):
    r = rng(seed)
    root = Node()
    cur = root
    every = [root]
    append = every.append
    for i in range(1, n):
        x = Node()
        x.other = every[next(r) % i]
        cur.next = x
        cur = x
        append(x)
    del every
    return root


def live(n):
    gc.disable()
    t0 = time.perf_counter()
    root = build_graph(n, 0x1234567)
    t_build = time.perf_counter() - t0
    gc.collect()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        found = gc.collect()
        times.append(time.perf_counter() - t0)
        if found:
            sys.exit("live graph: collector found %d unreachable" % found)
    times.sort()
    peak = peak_rss_mib()
    # the random back edges make the graph cyclic: without the root it is all
    # garbage for one more full collection to find and free
    del root
    t0 = time.perf_counter()
    found = gc.collect()
    t_garbage = time.perf_counter() - t0
    print("RESULT bench=gc_live alloc=cpython objects=%d ns_obj=%.2f ns_obj_min=%.2f "
          "collect_ms=%.3f build_ns_obj=%.2f garbage_ns_obj=%.2f garbage_found=%d "
          "peak_rss_mib=%.1f version=%d.%d.%d"
          % (n, times[2] * 1e9 / n, times[0] * 1e9 / n, times[2] * 1e3,
             t_build * 1e9 / n, t_garbage * 1e9 / n, found, peak, *sys.version_info[:3]), flush=True)


def cycles(n):
    gc.disable()
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(n // 2):
        a = Node()
        b = Node()
        a.next = b
        b.next = a
    del a, b
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = gc.collect()
    t = time.perf_counter() - t0
    if found != n - (n & 1):
        sys.exit("cycles: collector found %d of %d" % (found, n))
    print("RESULT bench=gc_cycles alloc=cpython objects=%d ns_obj=%.2f collect_ms=%.3f "
          "build_ns_obj=%.2f" % (n, t * 1e9 / n, t * 1e3, t_build * 1e9 / n), flush=True)


def pct(v, q):
    if not v:
        return 0.0
    return v[int(q * (len(v) - 1) + 0.5)]


def young(m, base):
    RING = 1000
    gc.disable()
    keep = build_graph(base, 0xABCDEF) if base else None
    gc.collect()
    gc.enable()
    pauses = ([], [], [])
    state = [0.0, 0]
    clock = time.perf_counter

    def cb(phase, info):
        if phase == "start":
            state[1] = info["generation"]
            state[0] = clock()
        else:
            pauses[state[1]].append(clock() - state[0])

    ring = [None] * RING
    gc.callbacks.append(cb)
    t0 = clock()
    for k in range(m):
        x = Node()
        o = ring[(k * 7919) % RING]
        if o is not None:
            x.other = o
        if k % 16 == 0:
            x.next = x
        slot = k % RING
        old = ring[slot]
        if old is not None:
            old.other = None  # bounded lifetimes: no chains through 'other'
        ring[slot] = x
    total = clock() - t0
    gc.callbacks.remove(cb)
    gc_time = sum(sum(p) for p in pauses)
    for p in pauses:
        p.sort()
    p0, p1, p2 = pauses
    print("RESULT bench=gc_young alloc=cpython allocs=%d base=%d total_s=%.3f gc_s=%.4f "
          "gen0_n=%d gen0_median_us=%.2f gen0_p99_us=%.2f gen0_max_us=%.2f "
          "gen1_n=%d gen1_median_us=%.2f gen1_max_us=%.2f gen2_n=%d gen2_max_us=%.1f"
          % (m, base, total, gc_time, len(p0), pct(p0, 0.5) * 1e6, pct(p0, 0.99) * 1e6,
             (p0[-1] if p0 else 0) * 1e6, len(p1), pct(p1, 0.5) * 1e6,
             (p1[-1] if p1 else 0) * 1e6, len(p2), (p2[-1] if p2 else 0) * 1e6), flush=True)
    del keep


class TreeNode:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def make(d):
    if d == 0:
        return TreeNode(None, None)
    d -= 1
    return TreeNode(make(d), make(d))


def check(t):
    if t.left is None:
        return 1
    return 1 + check(t.left) + check(t.right)


def bt(max_depth, on):
    if not on:
        gc.disable()
    min_depth = 4
    max_depth = max(min_depth + 2, max_depth)
    t0 = time.perf_counter()
    total = check(make(max_depth + 1))
    long_lived = make(max_depth)
    for d in range(min_depth, max_depth + 1, 2):
        iters = 1 << (max_depth - d + min_depth)
        c = 0
        for _ in range(iters):
            c += check(make(d))
        total += c
    total += check(long_lived)
    secs = time.perf_counter() - t0
    counts = [s["collections"] for s in gc.get_stats()]
    print("RESULT bench=bt alloc=%s version=%d.%d.%d depth=%d seconds=%.3f peak_rss_mib=%.1f "
          "check=%d gc0=%d gc1=%d gc2=%d"
          % ("cpython" if on else "cpython-gcoff", *sys.version_info[:3], max_depth, secs,
             peak_rss_mib(), total, *counts), flush=True)


# ---- shapes: full collections of heaps shaped like real programs' (issue 21) ----
# The same shapes as bench_gc's `shape` mode; ints stand for its atoms
# (never tracked), classes with __slots__ for its records.

class Rec1:
    __slots__ = ("child", "value")

    def __init__(self, child):
        self.child = child
        self.value = 0


class Rec2:
    __slots__ = ("a", "b", "value")

    def __init__(self, a, b):
        self.a = a
        self.b = b
        self.value = 0


def shape_list(n):
    return [Rec1(1000 + i) for i in range(n)], n + 1


def shape_dict(n):
    entries = 8
    ntables = n // (entries + 1) + 1
    r = random.Random(0x5eed)
    recs = []
    tables = []
    for _ in range(ntables):
        d = {}
        for e in range(entries):
            rec = Rec2(1000 + len(recs), recs[r.randrange(len(recs))] if recs else None)
            recs.append(rec)
            d[100000 + e] = rec
        tables.append(d)
    return tables, ntables * (entries + 1) + 1


def shape_tree_node(n):
    rest = n - 1
    left = shape_tree_node(rest - rest // 2) if rest > 0 else None
    right = shape_tree_node(rest // 2) if rest // 2 > 0 else None
    return Rec2(left, right)


def shape_records(n):
    r = random.Random(0x1234567)
    root = Rec2(None, None)
    cur = root
    everyone = [root]
    for i in range(1, n):
        x = Rec2(None, everyone[r.randrange(i)])
        cur.a = x
        cur = x
        everyone.append(x)
    return root, n


def shape(kind, n, reps):
    gc.disable()
    makers = {"list": shape_list, "dict": shape_dict,
              "tree": lambda k: (shape_tree_node(k), k), "records": shape_records}
    if kind not in makers:
        sys.exit("shape: %r is not list, dict, tree or records" % kind)
    root, objects = makers[kind](n)
    times = []
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        found = gc.collect()
        times.append(time.perf_counter() - t0)
        if found:
            sys.exit("shape %s: collector found %d unreachable" % (kind, found))
    steady = sorted(times[1:]) if len(times) > 1 else times
    med = steady[len(steady) // 2]
    print("RESULT bench=gc_shape alloc=cpython shape=%s layout=slots n=%d objects=%d ns_obj=%.2f "
          "ns_obj_min=%.2f collect_ms=%.3f peak_rss_mib=%.1f version=%d.%d.%d"
          % (kind, n, objects, med * 1e9 / objects, steady[0] * 1e9 / objects, med * 1e3,
             peak_rss_mib(), *sys.version_info[:3]), flush=True)
    del root


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    mode = argv[1]
    if mode == "live":
        live(int(argv[2]))
    elif mode == "cycles":
        cycles(int(argv[2]))
    elif mode == "young":
        young(int(argv[2]), int(argv[3]) if len(argv) > 3 else 1000000)
    elif mode == "bt":
        bt(int(argv[2]), len(argv) < 4 or argv[3] != "off")
    elif mode == "shape" and len(argv) > 3:
        shape(argv[2], int(argv[3]), int(argv[4]) if len(argv) > 4 else 6)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
