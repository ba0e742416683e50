"""Progress on a terminal, silence when piped: one `\\r`-rewritten line on stderr, only if stderr is a TTY.

Used by long CLI work (`detect` per rule; `verify` and `compact` have their own line in the collector).
The text is made inert (rule ids are ours, but file and store names are not).
"""

from __future__ import annotations

import sys
from typing import TextIO

from mcp_blackbox.schema.textsafe import inert


class TerminalProgress:
    """`update(text)` rewrites the line; `done()` clears it. No output at all when `stream` is no TTY."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.active = self.stream.isatty()
        self._width = 0

    def update(self, text: str) -> None:
        """Show `text` as the progress line."""
        if not self.active:
            return
        line = inert(text, limit=100)
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = max(self._width, len(line))

    def done(self) -> None:
        """Erase the progress line."""
        if self.active and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
