r"""Printing result sets as table, CSV or JSON — terminal-safe whether they go to a terminal, a pipe or a file.

- table: every cell and column name `inert` (control/bidi/invisible characters as visible markers), cut.
- csv: the same markers in every cell (newlines and tabs kept, quoted by the CSV writer; `\r` marked; rows
  end in `\n`), and a text cell starting with `=`, `+`, `-`, `@` or a tab gets a leading `'` so a
  spreadsheet shows it instead of evaluating a formula (CSV injection). CSV is for eyes and spreadsheets,
  on screen or in a file alike; it is not an exact copy.
- json / ndjson (one object per line): exact. Hidden characters are escaped as `\uXXXX` (`json_text`),
  so the output is valid JSON,
  inert on a terminal, and decodes to the stored value. Use it to recover a value a marker stands for.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mcp_blackbox.forensics.safe import inert, json_text

#: Leading characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def csv_cell(value: Any) -> Any:
    """One CSV cell: lists/structs as exact JSON, text inert (lines kept) and formula-guarded; numbers as is."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        value = json_text(value, default=_json_default, ensure_ascii=False)
    if not isinstance(value, str):
        return value
    text = inert(value, keep_newlines=True)
    return "'" + text if text.startswith(FORMULA_START) else text


def emit(text: str, fmt: str) -> None:
    """Print a rendered result: NDJSON of no rows prints nothing (not an empty line); lines end in LF."""
    if text or fmt != "ndjson":
        sys.stdout.write(text + "\n")


def render(names: list[str], rows: list[tuple[Any, ...]], fmt: str, *, max_width: int | None = 60) -> str:
    """`table` (aligned, inert; cells cut at `max_width`, None: whole), `csv`, `json` (one array of
    objects) or `ndjson` (one object per line, exact like json)."""
    if fmt == "json":
        return json_text([dict(zip(names, r, strict=True)) for r in rows], default=_json_default,
                         ensure_ascii=False, indent=1)
    if fmt == "ndjson":
        return "\n".join(json_text(dict(zip(names, r, strict=True)), default=_json_default, ensure_ascii=False)
                         for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([csv_cell(n) for n in names])
        for r in rows:
            writer.writerow([csv_cell(v) for v in r])
        return buf.getvalue().rstrip("\n")
    names = [inert(n, limit=max_width) for n in names]
    cells = [[inert("" if v is None else str(v), limit=max_width) for v in r] for r in rows]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
