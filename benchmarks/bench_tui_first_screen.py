"""Time to the investigator's first screen (overview counts and histogram) on a generated store.

    .venv/bin/python benchmarks/bench_tui_first_screen.py [--store .cache/fleet-10m]

Runs the real Textual app headless (Textual's pilot) and reports when the overview was painted,
next to a bare DuckDB count of the same files as the baseline. Target (DESIGN §7): ≤ 2 s on 10M events.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import duckdb

from mcp_blackbox.schema.layout import EVENT_FILES_GLOB
from mcp_blackbox.tui.app import InvestigatorApp

CACHE = Path(__file__).resolve().parents[1] / ".cache"


async def _first_screen(store: Path) -> float:
    app = InvestigatorApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        while app.first_screen_seconds is None:
            await pilot.pause(0.01)
        seconds = app.first_screen_seconds
        app.bench.cancel_all()  # the detection suite is still running in its worker; not part of the first screen
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=CACHE / "fleet-10m")
    args = parser.parse_args()
    glob = str(args.store / EVENT_FILES_GLOB)
    t = time.perf_counter()
    n = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
    base = time.perf_counter() - t
    seconds = asyncio.run(_first_screen(args.store))
    print(f"store: {n:,} events")
    print(f"baseline bare DuckDB count(*): {base * 1000:,.0f} ms")
    print(f"TUI first screen (overview: counts, histogram, top servers/tools/agents/users): {seconds:.2f} s "
          f"— target ≤ 2 s; {seconds / base:.1f}× the bare count")


if __name__ == "__main__":
    main()
