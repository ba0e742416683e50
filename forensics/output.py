"""Printing result sets as table, CSV or JSON — terminal-safe."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mcp_blackbox.forensics.safe import inert


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def render(names: list[str], rows: list[tuple[Any, ...]], fmt: str, *, max_width: int = 60) -> str:
    """`table` (aligned, inert), `csv` or `json` (one array of objects)."""
    if fmt == "json":
        return json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=_json_default,
                          ensure_ascii=False, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(names)
        for r in rows:
            writer.writerow(["" if v is None else (json.dumps(v, default=_json_default) if isinstance(v, list | dict)
                                                   else v) for v in r])
        return buf.getvalue().rstrip("\n")
    cells = [[inert("" if v is None else str(v), limit=max_width) for v in r] for r in rows]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
