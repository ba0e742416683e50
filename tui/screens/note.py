"""Ask for a note on a finding or an event."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.tui.render import SafeInput


class NoteScreen(ModalScreen[str | None]):
    """Ask for a note."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"Note on {inert(self.target)} (enter to save, escape to cancel)"))
            yield SafeInput(placeholder="what you saw", id="note-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
