"""What `collect` and `compact` write to stderr, made inert (schema/textsafe.py).

Their lines can carry store file names, broker and topic names, quarantine reasons and library error
text, all of which an attacker may choose: every such line goes through `say` (or, for library log
records, `InertFormatter`), so ESC, C1, bidi overrides and `\\r` show as visible markers instead of
retitling, clearing or overwriting the investigator's terminal.
"""

from __future__ import annotations

import logging
import sys

from mcp_blackbox.schema.textsafe import inert


def say(text: str, *, progress: bool = False) -> None:
    """One inert line on stderr; `progress` rewrites the current line (`\\r`, no newline) for a TTY."""
    if progress:
        print(f"\r{inert(text)}", end="", file=sys.stderr, flush=True)
    else:
        print(inert(text), file=sys.stderr, flush=True)


class InertFormatter(logging.Formatter):
    """A log formatter whose output (message, arguments and traceback alike) is inert, one record a line."""

    def format(self, record: logging.LogRecord) -> str:
        """The standard formatting, then every unsafe character made visible."""
        return inert(super().format(record), keep_newlines=True)


def install_logging(level: int) -> logging.Handler:
    """Route Python logging (the Kafka client libraries') to stderr through `InertFormatter`; returns the handler.

    Without it, records of WARNING and above still reach stderr raw through `logging.lastResort`.
    """
    root = logging.getLogger()
    root.setLevel(level)
    for existing in root.handlers:  # once per process, however often `collect` runs in it
        if isinstance(existing.formatter, InertFormatter):
            return existing
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(InertFormatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return handler
