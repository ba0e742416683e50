"""Terminal safety for forensics and the TUI: event text is evidence, never terminal instructions.

The rendering is defined once, in `mcp_blackbox.schema.textsafe` (the collector's `verify` prints too and
may not import `forensics`); this module is the name forensics and the TUI use. `inert()` turns control
characters (ESC as `␛`), C1, bidi overrides/isolates, zero-width and other invisible characters into
visible markers (`⟨U+202E⟩`); `json_text()` writes JSON with the same characters escaped as `\\uXXXX`
(valid, exact); `for_terminal()` makes a whole multi-line output safe to print. The TUI also keeps Rich
markup inert by building `Text` objects (tui/render.py), never markup strings.
"""

from __future__ import annotations

from mcp_blackbox.schema.textsafe import HIDDEN, for_terminal, has_hidden, inert, json_text

__all__ = ["HIDDEN", "for_terminal", "has_hidden", "inert", "json_text"]
