"""A failed query, shown in a dialog (never an ended app)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from mcp_blackbox.forensics.safe import inert


class ErrorDialog(ModalScreen[None]):
    """What failed and why; escape or enter closes it."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, title: str, error: str) -> None:
        super().__init__()
        self.title_text = title
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="error-dialog"):
            text = Text()
            text.append(inert(self.title_text) + "\n\n", style="bold red")
            text.append(inert(" ".join(self.error.split()), limit=1000) + "\n\n")
            text.append("escape closes this dialog", style="dim")
            yield Static(text, id="error-text")
