"""The chain's call timeline: one bar per call, scaled to the chain's time range."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mcp_blackbox.forensics.chain import Chain
from mcp_blackbox.forensics.safe import inert


class ChainTimeline(Static):
    """Per-call spans of a chain (evidence in red)."""

    def show(self, chain: Chain, evidence: set[str]) -> None:
        """Draw the first calls of `chain`."""
        calls = [chain.rows[e] for e in chain.event_ids if chain.rows[e]["method"] == "tools/call"
                 and chain.rows[e]["message_kind"] in ("result", "error") and chain.rows[e]["duration_ms"] is not None
                 and chain.rows[e]["emitter_role"] == "client"]
        out = Text()
        if calls:
            t0 = min(r["event_time"].timestamp() - r["duration_ms"] / 1000 for r in calls)
            t1 = max(r["event_time"].timestamp() for r in calls)
            width = 60
            for r in calls[:5]:
                start = r["event_time"].timestamp() - r["duration_ms"] / 1000
                a = int((start - t0) / max(t1 - t0, 1e-6) * width)
                b = max(a + 1, int((r["event_time"].timestamp() - t0) / max(t1 - t0, 1e-6) * width))
                out.append(f"{inert(str(r['server']), limit=10):>10}.{inert(str(r['tool_name']), limit=14):<14} ")
                out.append(" " * a + "█" * (b - a), style="red" if r["event_id"] in evidence else "green")
                out.append(f" {r['duration_ms']:.1f}ms\n")
            if len(calls) > 5:
                out.append(f"… {len(calls) - 5} more calls", style="dim")
        self.update(out)
