"""Modal screens: event detail (with tool-definition diff), notes, help."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.schema.identity import server_key
from mcp_blackbox.tui.render import SafeInput, pretty_event

if TYPE_CHECKING:
    from mcp_blackbox.tui.app import InvestigatorApp

HELP = """\
mcp-blackbox investigate — keys

  1-5        Overview · Findings · Sessions · Chain · SQL        ?  this help      q  quit
  enter      open the selected row (finding → chain, session → chain, node → event detail)
  p / x      pivot: keep only / exclude rows with the selected cell's value (Sessions chips)
  z / Z      overview: zoom into the middle of the time range / reset
  f / b      chain: follow a data-flow edge forward / back to its source
  s / n      star the selected event or finding / add a note (saved under STORE/cases/)
  c          copy the selected id         d   detail: diff a tool definition with its previous version
  e          SQL: export the result (CSV, JSONL, Parquet) under STORE/cases/exports/
  ctrl+s     SQL: save the query           up/down  SQL history
  escape     cancel running queries / close a dialog          l  toggle live mode
  ctrl+p     command palette

Event text is shown inert: escape sequences as ␛, invisible and bidi characters as ⟨U+XXXX⟩.
"""


class HelpScreen(ModalScreen[None]):
    """Key reference."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(HELP), id="help-text")


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


class EventDetail(ModalScreen[None]):
    """The whole event: pretty JSON, redaction markers visible, ids copyable, definition diff."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("c", "copy_id", "Copy id"),
                Binding("d", "diff", "Diff definition"), Binding("s", "star", "Star"), Binding("n", "note", "Note")]

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(pretty_event(self.row), id="detail-body")
            yield Static("", id="detail-diff")

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
        sha = self.row.get("tool_definition_sha256")
        tool = self.row.get("tool_name")
        server = server_key(self.row)  # the identity `tool_versions.server` is keyed by (URL-only servers too)
        target = self.query_one("#detail-diff", Static)
        if not (sha and tool):
            target.update(Text("no tool definition on this event (open a tools/call request or a catalog event)"))
            return
        res = self.bench_app.bench.query(
            "SELECT tool_definition_sha256, definition_json, version_index FROM tool_versions "
            "WHERE tool_name = ? AND server = ? ORDER BY version_index", [tool, server])
        versions = res.rows
        index = next((i for i, v in enumerate(versions) if v[0] == sha), None)
        if index is None or index == 0:
            target.update(Text("this is the first definition seen for this tool; nothing to diff"))
            return

        def pretty(text: str) -> list[str]:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False).splitlines()

        diff = difflib.unified_diff(pretty(versions[index - 1][1]), pretty(versions[index][1]),
                                    f"version {versions[index - 1][2]} {versions[index - 1][0][:12]}",
                                    f"version {versions[index][2]} {sha[:12]}", lineterm="")
        out = Text()
        for line in diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            out.append(inert(line) + "\n", style=style)
        target.update(out)
