"""Restart benchmark: a collector restart over a spool of many writers, with nothing new to ingest.

One command:  .venv/bin/python benchmarks/bench_restart.py [--writers 500,2000,5000] [--records 3]

For each writer count W (ascending) it grows one spool to W writers (`--records` events each), ingests
the new writers (`Collector` + `SpoolSource`, in process, as `mcp-blackbox collect --until-idle` does),
then times a second collector over the same store and spool: assignment of all W partitions (crash-leftover
removal, positions from the manifests) until it is idle again. It prints the restart time, the time
per writer and the ratio to the smallest W: linear cost shows as a flat time per writer (the issue
measured 8.4 s at 500 writers and 150 s at 2,001 with the old per-partition store rescan).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ingest"))

from ingest_eventgen import EventFactory  # noqa: E402

from mcp_blackbox.collector.ingest.consumer import Collector, Settings  # noqa: E402
from mcp_blackbox.collector.ingest.sources import SpoolSource  # noqa: E402
from mcp_blackbox.collector.spool import SpoolWriter  # noqa: E402
from mcp_blackbox.schema.layout import events_dir  # noqa: E402


def add_writers(spool: Path, first: int, last: int, records: int) -> None:
    """Writers w<first> … w<last - 1>, `records` hash-chained events each."""
    events = [v for _, v in EventFactory(seed=9 + first, emitters=50).wire((last - first) * records)]
    for w in range(first, last):
        writer = SpoolWriter(spool, f"w{w:05d}")
        at = (w - first) * records
        writer.append(events[at:at + records], sync=False)
        writer.close()


def run_collector(spool: Path, store: Path, key: Path) -> tuple[float, dict[str, int]]:
    collector = Collector(store, SpoolSource(spool), Settings(key_path=key, flush_idle_seconds=0.2))
    started = time.perf_counter()
    collector.run(until_idle=0.3)
    return time.perf_counter() - started, collector.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", default="500,2000,5000", help="comma-separated writer counts")
    parser.add_argument("--records", type=int, default=3, help="events per writer")
    args = parser.parse_args()
    counts = sorted(int(c) for c in args.writers.split(","))
    rows = []
    # One spool and store that grow: W writers are ingested once (only the new ones at each step), then a
    # second collector restarts over the store of all W writers with nothing new.
    with tempfile.TemporaryDirectory(prefix="mcp-blackbox-restart-") as tmp:
        root = Path(tmp)
        spool, store, key = root / "spool", root / "store", root / "key.pem"
        spool.mkdir()
        have = 0
        for writers in counts:
            add_writers(spool, have, writers, args.records)
            first, totals = run_collector(spool, store, key)
            assert totals["events"] == (writers - have) * args.records, totals
            have = writers
            restart, again = run_collector(spool, store, key)
            assert again["events"] == 0 and again["discarded"] == 0, again
            files = sum(1 for _ in events_dir(store).rglob("*.parquet"))
            rows.append((writers, files, first, restart))
            print(f"writers={writers:>6}  event files={files:>6}  ingest of the new writers {first:7.2f} s  "
                  f"restart {restart:7.2f} s  ({restart / writers * 1e3:6.2f} ms/writer)", flush=True)
    base_w, _, _, base_t = rows[0]
    print("\nrestart with nothing new (linear cost: ms/writer stays flat, ratio follows writers ratio)")
    for writers, _, _, restart in rows:
        print(f"  {writers:>6} writers: {restart:7.2f} s  x{restart / base_t:5.1f} time for x{writers / base_w:4.1f} "
              f"writers  ({restart / writers * 1e3:.2f} ms/writer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
