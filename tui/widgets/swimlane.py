"""Swimlanes: a chain's events in host / client / server lanes, time flowing down, so order is seen.

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

LANES: Final = ("host", "client", "server")
LANE_WIDTH: Final = 14


def _lane(row: dict[str, Any]) -> int:
    role = str(row.get("emitter_role") or "")
    if row.get("event_type") == "host" or role == "host":
        return 0
    return 2 if role == "server" else 1


def _mark(row: dict[str, Any]) -> str:
    if row.get("event_type") == "catalog":
        return "◆"
    if row.get("message_kind") == "error" or row.get("status") == "error":
        return "✖"
    if row.get("event_type") == "lifecycle":
        return "○"
    return "●"


def swimlane_text(chain: Chain, evidence: set[str], *, label_width: int = 80, limit: int = 400) -> Text:
    """The lanes as text (at most `limit` events)."""
    out = Text()
    header = " " * 13 + "".join(f"{name:^{LANE_WIDTH}}" for name in LANES) + "  event"
    out.append(header + "\n", style="bold")
    out.append(" " * 13 + "".join(f"{'│':^{LANE_WIDTH}}" for _ in LANES) + "\n", style="dim")
    centre = [i * LANE_WIDTH + LANE_WIDTH // 2 for i in range(len(LANES))]
    previous: datetime | None = None
    for event_id in chain.event_ids[:limit]:
        row = chain.rows[event_id]
        at: datetime = row["event_time"]
        if previous is not None and (at - previous).total_seconds() > 1:
            gap = f"┆ +{(at - previous).total_seconds():.1f}s"
            out.append(" " * 13 + "".join(f"{'┆':^{LANE_WIDTH}}" for _ in LANES) + f"  {gap}\n", style="dim")
        previous = at
        cells = [" "] * (LANE_WIDTH * len(LANES))
        for c in centre:
            cells[c] = "│"
        lane = _lane(row)
        kind = row.get("message_kind")
        if lane == 1 and kind == "request":
            for x in range(centre[1] + 1, centre[2]):
                cells[x] = "─"
            cells[centre[2] - 1] = "▶"
        elif lane == 1 and kind in ("result", "error"):
            for x in range(centre[1] + 1, centre[2]):
                cells[x] = "─"
            cells[centre[1] + 1] = "◀"
        elif lane == 2 and kind in ("result", "error"):
            for x in range(centre[1] + 1, centre[2]):
                cells[x] = "╌"
            cells[centre[1] + 1] = "◁"
        elif lane == 0 and row.get("tool_name"):
            for x in range(centre[0] + 1, centre[1]):
                cells[x] = "╌"
            cells[centre[1] - 1] = "▷"
        cells[centre[lane]] = _mark(row)
        hit = event_id in evidence
        style = "bold red" if hit else ""
        out.append(f"{at:%H:%M:%S}.{at.microsecond // 1000:03d} ", style="dim")
        out.append("".join(cells), style=style or ("cyan" if lane == 0 else "green" if lane == 1 else "yellow"))
        out.append(("  ⚑ " if hit else "  ") + inert(_summary(row), limit=label_width) + "\n", style=style)
    if len(chain.event_ids) > limit:
        out.append(f"… {len(chain.event_ids) - limit} more events", style="dim")
    return out


class Swimlane(Static):
    """The swimlane drawing of one chain."""

    def show(self, chain: Chain, evidence: set[str]) -> None:
        """Draw `chain`."""
        self.update(swimlane_text(chain, evidence))
