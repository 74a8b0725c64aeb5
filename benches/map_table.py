#!/usr/bin/env python3
"""Prints the map benchmark results (`cargo bench -p kv-benches --bench map`) as a table.

Reads criterion's estimates under target/criterion/<workload>/<map>/<threads>/new/ and
prints, per workload and thread count, the median throughput of every map in millions of
operations per second and its ratio to dashmap's.

    benches/map_table.py [target/criterion]
    benches/map_table.py --median run1.md run2.md run3.md   # per-cell medians of saved tables
"""
import json
import os
import sys

def median_of_tables(paths):
    """Per-cell medians of tables this script printed earlier (one per run)."""
    import statistics
    runs = []
    for path in paths:
        rows = {}
        for line in open(path):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[1].isdigit():
                rows[(cells[0], cells[1])] = cells[2:-1]
            elif cells and cells[0] == "workload":
                header = line.rstrip("\n")
        runs.append(rows)
    print(header)
    print("|---|---|" + "---|" * (len(MAPS) + 1))
    for key in runs[0]:
        vals = []
        for i in range(len(runs[0][key])):
            xs = [float(r[key][i]) for r in runs if key in r and r[key][i] != "-"]
            vals.append(statistics.median(xs) if xs else None)
        cells = ["%.1f" % v if v is not None else "-" for v in vals]
        hop, dash = vals[0], vals[MAPS.index("dashmap")]
        ratio = "%.2fx" % (hop / dash) if hop and dash else "-"
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {ratio} |")
    print(f"\n(million operations per second, per-cell medians of {len(paths)} runs)")


WORKLOADS = ["read-heavy", "write-heavy", "insert-growth", "remove-heavy"]
MAPS = ["hopscotch", "baseline", "dashmap", "dashmap-xxh3", "papaya"]
if len(sys.argv) > 2 and sys.argv[1] == "--median":
    median_of_tables(sys.argv[2:])
    sys.exit(0)
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "target", "criterion")


def mops(workload, m, threads):
    d = os.path.join(root, workload, m, str(threads), "new")
    try:
        est = json.load(open(os.path.join(d, "estimates.json")))
        bench = json.load(open(os.path.join(d, "benchmark.json")))
    except OSError:
        return None
    ns = est["median"]["point_estimate"]  # per iteration
    elems = bench.get("throughput", {}).get("Elements", 1)
    return elems / ns * 1e3  # million elements per second


threads = sorted({int(t) for w in WORKLOADS for m in MAPS
                  if os.path.isdir(os.path.join(root, w, m))
                  for t in os.listdir(os.path.join(root, w, m)) if t.isdigit()})
print("| workload | threads | " + " | ".join(MAPS) + " | hopscotch / dashmap |")
print("|---|---|" + "---|" * (len(MAPS) + 1))
for w in WORKLOADS:
    for t in threads:
        row = [mops(w, m, t) for m in MAPS]
        if all(v is None for v in row):
            continue
        cells = ["%.1f" % v if v is not None else "-" for v in row]
        hop, dash = row[0], row[MAPS.index("dashmap")]
        ratio = "%.2fx" % (hop / dash) if hop and dash else "-"
        print(f"| {w} | {t} | " + " | ".join(cells) + f" | {ratio} |")
print("\n(million operations per second, criterion medians)")
