"""The key reference."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
mcp-blackbox investigate — keys

  1-5        Overview · Findings · Sessions · Chain · SQL        ?  this help      q  quit
  enter      open the selected row (finding → its evidence chain, session → chain, node → event detail)
  /          search the visible view      ctrl+n / ctrl+b (enter / shift+enter in the bar)  next / previous hit
  w          swimlanes: host / client / gateway / server lanes of the chain over time
  p / x      pivot: keep only / exclude rows with the selected cell's value (Sessions chips)
  z / Z      overview: zoom into the middle of the time range / reset     [ ]  move the histogram brush
  f / b      chain: follow a data-flow edge forward / back to its source
  s / n      star the selected event or finding / add a note (saved under STORE/cases/)
  c          copy the selected id         d   diff tool definitions (chain node, call or catalog event)
  e          SQL: export the result (CSV, JSONL, Parquet) under STORE/cases/exports/
  ctrl+s     SQL: save the query           up/down  SQL history
  escape     leave an input / close a dialog / cancel running queries     l  toggle live mode
  ctrl+p     command palette: open finding, chain by id, jump to time, run saved query, export case

Event text is shown inert: escape sequences as ␛, invisible and bidi characters as ⟨U+XXXX⟩.
"""


class HelpScreen(ModalScreen[None]):
    """Key reference."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(HELP), id="help-text")
