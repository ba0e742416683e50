"""One whole event: pretty JSON, redaction markers visible, ids copyable, the definition diff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mcp_blackbox.forensics.investigate import DefinitionDiff, definition_diff
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.tui.messages import QueryFailed
from mcp_blackbox.tui.render import pretty_event
from mcp_blackbox.tui.screens.note import NoteScreen

if TYPE_CHECKING:
    from mcp_blackbox.tui.app import InvestigatorApp


def diff_text(diff: DefinitionDiff) -> Text:
    """A diff, inert, added lines green and removed lines red; the summary when there are no lines."""
    out = Text()
    if not diff.lines:
        out.append(inert(diff.message))
        return out
    for line in diff.lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        out.append(inert(line) + "\n", style=style)
    return out


class EventDetail(ModalScreen[None]):
    """The whole event: pretty JSON, redaction markers visible, ids copyable, definition diff."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("c", "copy_id", "Copy id"),
                Binding("d", "diff", "Diff definition"), Binding("s", "star", "Star"), Binding("n", "note", "Note")]

    def __init__(self, row: dict[str, Any], *, diff: bool = False) -> None:
        super().__init__()
        self.row = row
        self.diff_on_mount = diff

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static("", id="detail-diff")
            yield Static(pretty_event(self.row), id="detail-body")

    def on_mount(self) -> None:
        if self.diff_on_mount:
            self.action_diff()

    @property
    def bench_app(self) -> InvestigatorApp:
        from mcp_blackbox.tui.app import InvestigatorApp

        assert isinstance(self.app, InvestigatorApp)  # noqa: S101
        return self.app

    def action_copy_id(self) -> None:
        self.bench_app.copy_ident(str(self.row["event_id"]))

    def action_star(self) -> None:
        starred = self.bench_app.case_write(self.bench_app.case.toggle_star, str(self.row["event_id"]), "event")
        if starred is None:
            return
        self.notify("starred" if starred else "unstarred")

    def action_note(self) -> None:
        def save(text: str | None) -> None:
            if text:
                if self.bench_app.case_write(self.bench_app.case.add_note, str(self.row["event_id"]), text):
                    self.notify("note saved")

        self.app.push_screen(NoteScreen(str(self.row["event_id"])), save)

    def action_diff(self) -> None:
        self.query_one("#detail-diff", Static).update(Text("diffing…", style="yellow"))
        self.load_diff()

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def load_diff(self) -> None:
        """The definition-diff query runs here, never on the UI thread."""
        bench = self.bench_app.bench
        try:
            diff = definition_diff(lambda sql, params: bench.query(sql, params).rows, self.row)
        except (StoreError, duckdb.Error) as exc:
            self.app.call_from_thread(self.app.post_message, QueryFailed("definition diff failed", str(exc)))
            return
        self.app.call_from_thread(self._show_diff, diff)

    def _show_diff(self, diff: DefinitionDiff) -> None:
        target = self.query_one("#detail-diff", Static)
        target.update(diff_text(diff))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
