"""Writing a query result to files (CSV, JSONL, Parquet) under STORE/cases/exports/ — no UI.

The TUI's SQL console exports through this (`e`); a case bundle or a script can use it the same way.
Values are written as DuckDB returned them: CSV by the csv module, JSONL with non-JSON types as
text, Parquet with every column as text (a result's types are whatever the query made them).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from mcp_blackbox.schema.layout import exports_dir

SUFFIXES = (".csv", ".jsonl", ".parquet")


def write_result(columns: list[str], rows: list[tuple[Any, ...]], stem: Path) -> list[Path]:
    """Write `stem.csv`, `stem.jsonl` and `stem.parquet`; returns their paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    with open(stem.with_suffix(".csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    with open(stem.with_suffix(".jsonl"), "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) + "\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: [None if v is None else str(v) for v in col] for c, col in
                      zip(columns, zip(*rows, strict=True) if rows else [[] for _ in columns], strict=True)})
    pq.write_table(table, stem.with_suffix(".parquet"))
    return [stem.with_suffix(s) for s in SUFFIXES]


def export_query_result(store_root: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> Path:
    """Export under STORE/cases/exports/query-<local time>.{csv,jsonl,parquet}; returns the stem."""
    stem = exports_dir(store_root) / f"query-{time.strftime('%Y%m%dT%H%M%S')}"
    write_result(columns, rows, stem)
    return stem
