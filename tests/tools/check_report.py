#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# check_report: the schema of rcy_heap_report's JSON (docs/api.md,
# "rcy_heap_report"), and recycle-report's page made from it.
#
#   check_report.py REPORT.json RECYCLE_REPORT_SCRIPT
#
# Prints one line per failed check and "check_report: N passed, N failed".
import json
import subprocess
import sys

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("check_report: FAILED: %s" % what)


def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_addr(v):
    return isinstance(v, str) and (v == "" or v.startswith("0x"))


def fields(obj, where, counts=(), texts=(), addrs=()):
    check(isinstance(obj, dict), "%s is an object" % where)
    if not isinstance(obj, dict):
        return
    for k in counts:
        check(is_count(obj.get(k)), "%s.%s is a count" % (where, k))
    for k in texts:
        check(isinstance(obj.get(k), str), "%s.%s is a string" % (where, k))
    for k in addrs:
        check(is_addr(obj.get(k)), "%s.%s is an address" % (where, k))


def main():
    report, script = sys.argv[1], sys.argv[2]
    r = json.load(open(report))
    check(r.get("schema") == "recycle-report/1", "schema")
    fields(r.get("summary"), "summary", counts=(
        "bytes_in_use", "bytes_committed", "bytes_held", "small_bytes_used", "small_bytes_free",
        "quantization_bytes", "large_blocks", "large_bytes", "arenas", "objects", "object_bytes"))
    check(isinstance(r.get("types"), list) and r["types"], "types is a non-empty list")
    for i, t in enumerate(r.get("types", [])):
        fields(t, "types[%d]" % i, counts=("count", "bytes"), texts=("name",))
    by_bytes = [t["bytes"] for t in r.get("types", [])]
    check(by_bytes == sorted(by_bytes, reverse=True), "types largest first")
    s = r.get("sites")
    check(isinstance(s, dict) and isinstance(s.get("available"), bool), "sites.available")
    if isinstance(s, dict) and s.get("available"):
        for i, it in enumerate(s.get("items", [])):
            fields(it, "sites.items[%d]" % i, counts=("count", "bytes"), texts=("site",))
    else:
        check(isinstance(s.get("reason"), str), "sites.reason when not available")
    fields(r.get("pools"), "pools", counts=("used", "free_bytes_inside", "empty_with_pages",
                                            "given_back"))
    p = r.get("pinned", {})
    fields(p, "pinned", counts=("pools", "bytes"))
    check(isinstance(p.get("max_fill"), float), "pinned.max_fill is a number")
    for i, it in enumerate(p.get("items", [])):
        fields(it, "pinned.items[%d]" % i, counts=("block_size", "live", "capacity", "held_bytes"),
               texts=("type",), addrs=("pool", "first_live"))
        check(it["live"] <= it["capacity"] * p["max_fill"] + 1e-9, "pinned item within max_fill")
    lg = r.get("large", {})
    fields(lg, "large", counts=("count", "bytes"))
    for i, it in enumerate(lg.get("items", [])):
        fields(it, "large.items[%d]" % i, counts=("bytes",), texts=("type",), addrs=("address",))
    pu = r.get("purge", {})
    fields(pu, "purge", counts=("empty_pool_bytes", "free_page_bytes", "total"))
    check(pu.get("total") == pu.get("empty_pool_bytes", -1) + pu.get("free_page_bytes", -1),
          "purge.total is the sum")
    fields(r.get("collection"), "collection",
           counts=("garbage_objects", "garbage_bytes", "reachable_objects", "roots"))
    for i, t in enumerate(r.get("retainers", [])):
        fields(t, "retainers[%d]" % i, counts=("retained", "objects"),
               texts=("type", "accumulation_type"), addrs=("address", "accumulation"))
        check(isinstance(t.get("suspect"), bool), "retainers[%d].suspect" % i)
        check(isinstance(t.get("path"), list), "retainers[%d].path" % i)
        for j, st in enumerate(t.get("path", [])):
            fields(st, "retainers[%d].path[%d]" % (i, j), texts=("type",), addrs=("address",))
            check(is_count(st.get("offset")) or is_count(st.get("item")),
                  "retainers[%d].path[%d] has offset or item" % (i, j))
    check(isinstance(r.get("arenas"), list) and r["arenas"], "arenas is a non-empty list")
    for i, a in enumerate(r.get("arenas", [])):
        fields(a, "arenas[%d]" % i, texts=("pools",), addrs=("base",))
        check(len(a.get("pools", "")) == 64 and set(a["pools"]) <= set("h.ep#0123456789"),
              "arenas[%d].pools is 64 pool characters" % i)
    # the page
    out = subprocess.run([sys.executable, script, report], capture_output=True, text=True)
    check(out.returncode == 0, "recycle-report exits 0 (%s)" % out.stderr.strip())
    page = out.stdout
    for part in ("<!DOCTYPE html>", "Heap map", "<svg", "Top types", "Top allocation sites",
                 "Largest retainers", "Pinned pools", "Large blocks", "What would come back"):
        check(part in page, "the page has %r" % part)
    for t in r.get("types", [])[:3]:
        check(t["name"] in page, "the page names type %r" % t["name"])
    check("http" not in page and "<script" not in page and "<link" not in page,
          "the page is self-contained")
    # a page with sites renders them
    r2 = dict(r, sites={"available": True, "items": [{"site": "make_cache tour.c:12",
                                                       "count": 3, "bytes": 96}]})
    out = subprocess.run([sys.executable, script, "-"], input=json.dumps(r2), capture_output=True,
                         text=True)
    check(out.returncode == 0 and "make_cache tour.c:12" in out.stdout, "sites are rendered")
    out = subprocess.run([sys.executable, script, "-"], input="{\"schema\": 1}",
                         capture_output=True, text=True)
    check(out.returncode == 2 and "not a recycle report" in out.stderr, "a bad file is refused")
    print("check_report: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
