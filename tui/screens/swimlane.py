"""The swimlane view of the current chain (host / client / server lanes over time)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mcp_blackbox.forensics.chain import Chain
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.tui.widgets.swimlane import Swimlane


class SwimlaneScreen(ModalScreen[None]):
    """Swimlanes of a chain; escape closes."""

    BINDINGS = [Binding("escape,q,w", "dismiss", "Close")]

    def __init__(self, chain: Chain, evidence: set[str]) -> None:
        super().__init__()
        self.chain = chain
        self.evidence = evidence

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="swimlane"):
            yield Static(Text(f"{self.chain.ident_kind} {inert(self.chain.ident)} — {len(self.chain.event_ids)} "
                              "events (◆ catalog, ● message, ✖ error, ○ lifecycle; red: evidence)", style="bold"))
            yield Swimlane(id="swimlane-body")

    def on_mount(self) -> None:
        lanes = self.query_one(Swimlane)
        lanes.show(self.chain, self.evidence)
        if lanes.first_evidence_line is not None:  # open on the evidence, a few lines of context above it
            line = max(0, lanes.first_evidence_line - 3)
            self.call_after_refresh(self.query_one("#swimlane", VerticalScroll).scroll_to, y=line, animate=False)
