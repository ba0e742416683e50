"""Safe rendering of evidence in Textual: Rich `Text` objects only, never markup parsed from events.

Event content may carry ANSI/OSC escapes, bidi overrides or zero-width characters meant to fool the
investigator's terminal or eyes; `safe()` makes them visible markers (forensics.safe.inert) and wraps
the result in a `Text` so Rich markup in the content (`[bold]…`) stays literal too.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import Input

from mcp_blackbox.forensics.safe import has_hidden, inert
from mcp_blackbox.schema.enums import Severity

SEVERITY_STYLE: dict[str, str] = {Severity.CRITICAL: "bold white on red", Severity.HIGH: "bold red",
                                  Severity.MEDIUM: "yellow", Severity.LOW: "cyan", Severity.INFO: "dim"}


def stamp(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS`, the year always four digits (strftime's %Y gives `1-01-01` for year 1)."""
    return f"{value.year:04d}-{value:%m-%d %H:%M:%S}"


def safe(value: Any, *, limit: int | None = 200, style: str = "") -> Text:
    """A cell or line of evidence, inert."""
    if value is None:
        return Text("")
    if isinstance(value, datetime):
        return Text(stamp(value), style=style)
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return Text(inert(str(value), limit=limit), style=style)


class SafeInput(Input):
    """An Input whose value never holds control, bidi or invisible characters (they show as markers).

    Input draws its value as is; a pasted ESC sequence, or a saved query from a tampered case file put
    back by the history keys, would reach the terminal raw. In SQL, write such characters as `chr(8238)`.
    """

    def validate_value(self, value: str) -> str:
        """Reactive validation: every assignment, keystroke and paste passes here."""
        return inert(value) if has_hidden(value) else value


def pretty_event(row: dict[str, Any]) -> Text:
    """A whole event as pretty, inert JSON; redaction markers highlighted."""
    out = Text()
    for key, value in row.items():
        if value is None:
            continue
        if isinstance(value, str) and key.endswith("_json"):
            try:
                value = json.dumps(json.loads(value), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        text = inert(str(value) if not isinstance(value, datetime) else value.isoformat(), keep_newlines=True)
        out.append(f"{key}: ", style="bold cyan")
        line = Text(text + "\n")
        line.highlight_regex(r"\[REDACTED:[a-z_]+\]", "bold black on yellow")
        line.highlight_regex(r"[␛]|⟨U\+[0-9A-F]{4,5}⟩", "bold white on red")
        out.append_text(line)
    return out
