"""`/` search over the visible view: the bar, and the matching over tables and trees."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from mcp_blackbox.tui.render import SafeInput


class SearchBar(Horizontal):
    """A one-line search input docked at the bottom; escape closes it."""

    BINDINGS = [Binding("escape", "close", "Close search", show=False),
                Binding("shift+enter,ctrl+b", "previous", "Previous", show=False),
                Binding("ctrl+n", "next", "Next", show=False)]

    @dataclass
    class Search(Message):
        """Find `text` (`forward` False: the previous hit)."""

        text: str
        forward: bool = True

    @dataclass
    class Closed(Message):
        """The bar was closed."""

    def compose(self) -> ComposeResult:
        yield Static(Text("/", style="bold"), id="search-slash")
        yield SafeInput(placeholder="search the visible view (enter: next, shift+enter: previous, escape: close)",
                        id="search-input")
        yield Static("", id="search-status")

    def open(self) -> None:
        """Show the bar and focus its input."""
        self.add_class("-active")
        self.query_one("#search-input", Input).focus()

    def status(self, text: str) -> None:
        """`n/m` hits, or nothing found."""
        self.query_one("#search-status", Static).update(Text(text, style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.post_message(self.Search(event.value.strip()))

    def action_next(self) -> None:
        value = self.query_one("#search-input", Input).value.strip()
        if value:
            self.post_message(self.Search(value))

    def action_previous(self) -> None:
        value = self.query_one("#search-input", Input).value.strip()
        if value:
            self.post_message(self.Search(value, forward=False))

    def action_close(self) -> None:
        self.remove_class("-active")
        self.post_message(self.Closed())
