"""Cost of terminal safety on output: `json_text` against plain `json.dumps`, `inert` per table cell.

    .venv/bin/python benchmarks/bench_textsafe.py [--events 20000]

The events are the demo incident's (clean) and the same with hostile text in every string column
(tests/forensics/hostile_store.py); the baseline is `json.dumps(..., ensure_ascii=False)` of the same
dicts in the same run, which is what `export` and `--format json` did before.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "forensics"))

from forensics_fixtures import incident_events
from hostile_store import hostile_events

from mcp_blackbox.schema.textsafe import inert, json_text


def _time(fn: Any, rows: list[dict[str, Any]]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for row in rows:
            fn(row)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    for label, source in (("clean", incident_events()), ("hostile", hostile_events())):
        rows = (source * (args.events // len(source) + 1))[: args.events]
        size = sum(len(json.dumps(r, ensure_ascii=False)) for r in rows) / len(rows)
        base = _time(lambda r: json.dumps(r, ensure_ascii=False), rows)
        safe = _time(json_text, rows)
        cells = [str(v) for r in rows for v in r.values()]
        cell_base = _time_cells(lambda c: c[:60], cells)
        cell_safe = _time_cells(lambda c: inert(c, limit=60), cells)
        print(f"{label:8} {len(rows):,} events ({size:,.0f} B of JSON each)")
        print(f"  json.dumps (baseline)  {base / len(rows) * 1e6:7.2f} µs/event")
        print(f"  json_text              {safe / len(rows) * 1e6:7.2f} µs/event  ({safe / base:.2f}× baseline)")
        print(f"  cell cut (baseline)    {cell_base / len(cells) * 1e9:7.0f} ns/cell")
        print(f"  inert(cell, limit=60)  {cell_safe / len(cells) * 1e9:7.0f} ns/cell  ({cell_safe / cell_base:.1f}×)")


def _time_cells(fn: Any, cells: list[str]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for cell in cells:
            fn(cell)
        best = min(best, time.perf_counter() - t)
    return best


if __name__ == "__main__":
    main()
