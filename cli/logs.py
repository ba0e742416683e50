"""The one logging set-up of mcp-blackbox, made by the command line (`mcp-blackbox --log-format …`).

Library modules only ever do `log = logging.getLogger(__name__)` and log; they never print and never
configure logging (inside someone else's program that program decides). The CLI calls `configure`
once per process: one handler on stderr, human lines (the message, as the tools have always written
it) or JSON lines (`--log-format json`, for a log shipper), WARNING and up, INFO with
`MCP_BLACKBOX_DEBUG=1`. Results stay on stdout, written by the CLI layer, never through logging.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Final

from mcp_blackbox.schema.textsafe import inert, json_text

LOG_FORMATS: Final = ("human", "json")
ENV_LOG_FORMAT: Final = "MCP_BLACKBOX_LOG_FORMAT"
_HANDLER_NAME: Final = "mcp-blackbox"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message (and the exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json_text(entry, ensure_ascii=False)  # hidden characters escaped: exact and inert


class InertFormatter(logging.Formatter):
    """Human lines with every control, bidi and invisible character made visible (`schema/textsafe.py`):
    log messages carry broker names, file names and library errors that an attacker may choose."""

    def format(self, record: logging.LogRecord) -> str:
        """The standard formatting, then made inert (newlines of tracebacks kept)."""
        return inert(super().format(record), keep_newlines=True)


def configure(fmt: str | None = None, *, stream: IO[str] | None = None, level: int | None = None) -> logging.Handler:
    """Install the process's log handler on the root logger (replacing an earlier one of ours)."""
    fmt = fmt or os.environ.get(ENV_LOG_FORMAT) or "human"
    if fmt not in LOG_FORMATS:
        fmt = "human"
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else InertFormatter("%(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    if level is None:
        level = logging.INFO if os.environ.get("MCP_BLACKBOX_DEBUG") else logging.WARNING
    root.setLevel(level)
    return handler
