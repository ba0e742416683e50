"""Terminal safety: event text is evidence, never instructions for the investigator's terminal.

`inert()` turns everything a terminal or a reader could be fooled by into visible markers: C0/C1
control characters (ESC starts ANSI/OSC sequences) as `␛` / `⟨U+XXXX⟩`, bidi overrides and isolates,
zero-width characters and Unicode tag characters as `⟨U+XXXX⟩`. Newlines can be kept or shown as `⏎`.
Used by every CLI printer and by the TUI (which also escapes Rich markup).
"""

from __future__ import annotations

import re
from typing import Final

_INVISIBLE: Final = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\U000e0000-\U000e007f]"
)


def _mark(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\x1b":
        return "␛"
    return f"⟨U+{ord(char):04X}⟩"


def inert(text: str | None, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """`text` with control, bidi and invisible characters made visible; optionally cut to `limit`."""
    if not text:
        return ""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    out = _INVISIBLE.sub(_mark, text)
    if not keep_newlines:
        out = out.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎").replace("\t", " ")
    else:
        out = out.replace("\r", "⏎")
    return out
