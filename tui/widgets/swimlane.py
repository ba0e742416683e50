"""Swimlanes: a chain's events in host / client / gateway / server lanes, time flowing down, so order is seen.

Each event is a mark in the lane of the side that recorded it; a request is an arrow toward the server
lane, a result or error an arrow back to the client lane; a pause longer than a second is drawn as a
gap with its length. Evidence events are red.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from rich.text import Text
from textual.widgets import Static

from mcp_blackbox.forensics.chain import Chain, _summary
from mcp_blackbox.forensics.safe import inert

LANES: Final = ("host", "client", "gateway", "server")
LANE_WIDTH: Final = 12
_STAMP = " " * 13


def _lane(row: dict[str, Any]) -> int:
    role = str(row.get("emitter_role") or "")
    if row.get("event_type") == "host" or role == "host":
        return 0
    return {"gateway": 2, "server": 3}.get(role, 1)


def _mark(row: dict[str, Any]) -> str:
    if row.get("event_type") == "catalog":
        return "◆"
    if row.get("message_kind") == "error" or row.get("status") == "error":
        return "✖"
    if row.get("event_type") == "lifecycle":
        return "○"
    return "●"


def _rail(centre: list[int], ch: str) -> list[str]:
    cells = [" "] * (LANE_WIDTH * len(LANES))
    for c in centre:
        cells[c] = ch
    return cells


def _arrow(cells: list[str], a: int, b: int, line: str, head: str) -> None:
    """A line between lane centres `a` and `b`, its head next to `b`."""
    lo, hi = sorted((a, b))
    for x in range(lo + 1, hi):
        cells[x] = line
    cells[b - 1 if b > a else b + 1] = head


def swimlane_text(chain: Chain, evidence: set[str], *, label_width: int = 66, limit: int = 400) -> Text:
    """The lanes as text (at most `limit` events), one line per event (never wrapped)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    centre = [i * LANE_WIDTH + LANE_WIDTH // 2 for i in range(len(LANES))]
    head = [" "] * (LANE_WIDTH * len(LANES))
    for name, c in zip(LANES, centre, strict=True):
        start = c - len(name) // 2
        head[start:start + len(name)] = list(name)
    out.append(_STAMP + "".join(head) + "  event\n", style="bold")
    out.append(_STAMP + "".join(_rail(centre, "│")) + "\n", style="dim")
    previous: datetime | None = None
    for event_id in chain.event_ids[:limit]:
        row = chain.rows[event_id]
        at: datetime = row["event_time"]
        if previous is not None and (at - previous).total_seconds() > 1:
            gap = f"+{(at - previous).total_seconds():.1f}s"
            out.append(_STAMP + "".join(_rail(centre, "┆")) + f"  {gap}\n", style="dim")
        previous = at
        cells = _rail(centre, "│")
        lane = _lane(row)
        kind = row.get("message_kind")
        if lane in (1, 2) and kind == "request":
            _arrow(cells, centre[lane], centre[lane + 1], "─", "▶")  # sent on toward the server
        elif lane in (1, 2) and kind in ("result", "error"):
            _arrow(cells, centre[lane + 1], centre[lane], "─", "◀")  # came back from the server side
        elif lane == 3 and kind == "request":
            _arrow(cells, centre[2], centre[3], "╌", "▷")
        elif lane == 3 and kind in ("result", "error"):
            _arrow(cells, centre[3], centre[2], "╌", "◁")
        elif lane == 0 and row.get("tool_name"):
            _arrow(cells, centre[0], centre[1], "╌", "▷")  # the host's decision, handed to the client
        cells[centre[lane]] = _mark(row)
        hit = event_id in evidence
        style = "bold red" if hit else ""
        out.append(f"{at:%H:%M:%S}.{at.microsecond // 1000:03d} ", style="dim")
        colour = style or ("cyan", "green", "blue", "yellow")[lane]
        for x, ch in enumerate(cells):  # the rails dim, the mark and its arrow in the lane's colour
            out.append(ch, style="dim" if (ch in "│┆ " and x in centre) or ch == " " else colour)
        out.append(("  ⚑ " if hit else "  ") + inert(_summary(row), limit=label_width) + "\n", style=style)
    if len(chain.event_ids) > limit:
        out.append(f"… {len(chain.event_ids) - limit} more events", style="dim")
    return out


class Swimlane(Static):
    """The swimlane drawing of one chain."""

    first_evidence_line: int | None = None

    def show(self, chain: Chain, evidence: set[str]) -> None:
        """Draw `chain`; remembers the line of the first evidence event."""
        text = swimlane_text(chain, evidence)
        self.first_evidence_line = next((i for i, line in enumerate(text.plain.splitlines()) if "⚑" in line), None)
        self.update(text)
