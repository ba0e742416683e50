"""Forensics at fleet scale: one action chain and the full detection suite on a generated store.

    .venv/bin/python benchmarks/bench_forensics.py [--events 10000000] [--store DIR]

The store is generated once with samples/fleetgen.py (cached under .cache/fleet-<N>) and reused.
Baseline in the same run: a bare DuckDB scan of the same Parquet files (count + the payload column),
i.e. the least any query touching every event must pay. Targets (DESIGN §7): chain ≤ 200 ms, full
detection suite ≤ 20 s, on 10,000,000 events.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import duckdb

from mcp_blackbox.forensics.chain import build_chain
from mcp_blackbox.forensics.detections import all_rules, run_detections
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.samples.fleetgen import generate_store
from mcp_blackbox.schema.layout import EVENT_FILES_GLOB

CACHE = Path(__file__).resolve().parents[1] / ".cache"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--per-rule", action="store_true", help="also time each rule alone")
    args = parser.parse_args()
    root = args.store or CACHE / f"fleet-{args.events // 1_000_000}m"
    if not (root / "ground-truth.json").exists():
        print(f"generating {args.events:,} events into {root} …")
        t = time.perf_counter()
        generate_store(root, args.events, seed=5)
        print(f"  generated in {time.perf_counter() - t:.0f}s")
    truth = json.loads((root / "ground-truth.json").read_text())
    files = list(root.glob(EVENT_FILES_GLOB))
    size = sum(f.stat().st_size for f in files)
    print(f"store: {truth['events']:,} events, {len(files)} files, {size / 1e6:.0f} MB Parquet")

    con = duckdb.connect()
    glob = str(root / EVENT_FILES_GLOB)
    t = time.perf_counter()
    con.execute(f"SELECT count(*), sum(length(arguments_json)) FROM read_parquet('{glob}')").fetchall()
    scan = time.perf_counter() - t
    print(f"baseline bare DuckDB scan (count + arguments_json): {scan * 1000:,.0f} ms")

    store = open_store(root)
    chain_times = []
    for conv in truth["conversations"][:5]:
        t = time.perf_counter()
        chain = build_chain(store, conv)
        chain_times.append(time.perf_counter() - t)
    median = statistics.median(chain_times)
    print(f"one chain (conversation, {len(chain.event_ids)} events): median {median * 1000:,.0f} ms"
          f" (min {min(chain_times) * 1000:,.0f}, max {max(chain_times) * 1000:,.0f}) — target ≤ 200 ms; "
          f"{median / scan:.2f}× the bare scan")
    t = time.perf_counter()
    findings = run_detections(store)
    suite = time.perf_counter() - t
    print(f"full detection suite ({len(all_rules())} rules): {suite:,.1f} s, {len(findings)} findings — target ≤ 20 s; "
          f"{suite / scan:.1f}× the bare scan")
    if args.per_rule:
        for rule_id in sorted(all_rules()):
            t = time.perf_counter()
            run_detections(store, [rule_id])
            print(f"  {rule_id:24} {time.perf_counter() - t:6.2f} s")


if __name__ == "__main__":
    main()
