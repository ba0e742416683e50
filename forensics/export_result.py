"""Writing a query result to files (CSV, JSONL, Parquet) under STORE/cases/exports/ — no UI.

The TUI's SQL console exports through this (`e`); a case bundle or a script can use it the same way.
The CLI's output policy (`forensics/output.py`): CSV cells inert and formula-guarded, rows ending in LF;
JSONL exact (hidden characters escaped, non-JSON types as text); Parquet with every column as text (a
result's types are whatever the query made them). The exports folder is never a symbolic link out of
the store (`tui/cases.py`'s rule, applied by the caller that resolves the folder).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from mcp_blackbox.forensics.output import csv_cell
from mcp_blackbox.schema.textsafe import json_text

SUFFIXES = (".csv", ".jsonl", ".parquet")


def write_result(columns: list[str], rows: list[tuple[Any, ...]], stem: Path) -> list[Path]:
    """Write `stem.csv`, `stem.jsonl` and `stem.parquet`; returns their paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    with open(stem.with_suffix(".csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in columns])
        writer.writerows([csv_cell(v) for v in row] for row in rows)
    with open(stem.with_suffix(".jsonl"), "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json_text(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) + "\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: [None if v is None else str(v) for v in col] for c, col in
                      zip(columns, zip(*rows, strict=True) if rows else [[] for _ in columns], strict=True)})
    pq.write_table(table, stem.with_suffix(".parquet"))
    return [stem.with_suffix(s) for s in SUFFIXES]


def export_query_result(out_dir: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> Path:
    """Export into `out_dir` (STORE/cases/exports, already checked) as query-<local time>.{csv,jsonl,parquet};
    returns the stem."""
    stem = out_dir / f"query-{time.strftime('%Y%m%dT%H%M%S')}"
    write_result(columns, rows, stem)
    return stem
