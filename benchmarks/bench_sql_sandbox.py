"""The price of the SQL sandbox: investigator queries in `SafeSQL` against the trusted connection.

    .venv/bin/python benchmarks/bench_sql_sandbox.py [--events 1000000] [--store DIR] [--repeat 3]

User SQL (`mcp-blackbox sql`, the TUI console) runs in a sandbox that reads the evidence through an Arrow
dataset with no file access for DuckDB (forensics/sqlguard.py). Baseline in the same run: the same
queries on the trusted connection that reads the Parquet files itself (`open_store`, what detections and
chains use). Prints the sandbox build (views + duplicate-id list) and the median of each query.
The store is generated once with samples/fleetgen.py (cached under .cache/fleet-<N>) and reused.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from mcp_blackbox.forensics.sqlguard import SafeSQL
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.schema.layout import event_files
from samples.fleetgen import generate_store

CACHE = Path(__file__).resolve().parents[1] / ".cache"

QUERIES = [
    ("count events", "SELECT count(*) FROM events"),
    ("one connection", "SELECT count(*), min(event_time) FROM events WHERE connection_id = '{conn}'"),
    ("tools per server", "SELECT server, tool_name, count(*) FROM calls WHERE method = 'tools/call' GROUP BY ALL"),
    ("errors by day", "SELECT date_trunc('day', event_time) AS d, count(*) FROM events "
                      "WHERE status IN ('error', 'tool_error') GROUP BY 1 ORDER BY 1"),
    ("sessions top 20", "SELECT * FROM sessions ORDER BY events DESC LIMIT 20"),
    ("payload scan", "SELECT sum(length(arguments_json)) FROM events"),
]


def _median(run, sql: str, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run(sql)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    root = args.store or CACHE / f"fleet-{args.events // 1_000_000}m"
    if not (root / "ground-truth.json").exists():
        print(f"generating {args.events:,} events into {root} …")
        generate_store(root, args.events, seed=5)
    files = event_files(root)
    print(f"store: {root}, {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB Parquet, "
          f"{args.threads} threads")

    t = time.perf_counter()
    trusted = open_store(root, threads=args.threads)
    print(f"baseline open_store (views + prepare): {(time.perf_counter() - t) * 1000:,.0f} ms")
    t = time.perf_counter()
    safe = SafeSQL(root, threads=args.threads)
    print(f"sandbox build (views in a read-only database + prepare): {(time.perf_counter() - t) * 1000:,.0f} ms")
    conn = trusted.con.execute("SELECT min(connection_id) FROM raw_events").fetchone()[0]
    print(f"{'query':18} {'trusted ms':>11} {'sandbox ms':>11} {'ratio':>6}")
    for name, template in QUERIES:
        sql = template.replace("{conn}", conn.replace("'", "''"))
        base = _median(lambda q: trusted.con.execute(q).fetchall(), sql, args.repeat)
        boxed = _median(safe.run, sql, args.repeat)
        print(f"{name:18} {base * 1000:11,.0f} {boxed * 1000:11,.0f} {boxed / base:6.1f}")
    safe.close()
    trusted.close()


if __name__ == "__main__":
    main()
