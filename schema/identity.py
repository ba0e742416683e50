"""Server identity: which column names a server, in one order, for SQL and for Python.

A server is known by the host's trusted label (`server_config_name`), else its self-reported name
(`server_name`), else its URL (`server_url`, HTTP transports), else `'unknown'`. Views, rules, the
chain, the TUI and exports all use this order, so a server known only by its URL is the same server
everywhere (the TUI's definition diff once looked servers up by name only and missed them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

#: the identifying columns, most trusted first
SERVER_COLUMNS: Final = ("server_config_name", "server_name", "server_url")
UNKNOWN_SERVER: Final = "unknown"


def server_key_sql(alias: str = "", *, unknown: bool = True) -> str:
    """The SQL expression of a server's identity; `alias` qualifies the columns (`req` → `req.server_name`).

    `unknown=False` leaves NULL for an event that names no server (counts and groupings skip it).
    """
    prefix = f"{alias}." if alias else ""
    parts = [f"{prefix}{c}" for c in SERVER_COLUMNS]
    if unknown:
        parts.append(f"'{UNKNOWN_SERVER}'")
    return f"coalesce({', '.join(parts)})"


#: `server_key_sql()` — the expression the views call `server`
SERVER_KEY: Final = server_key_sql()
#: the same without the 'unknown' fallback (NULL when no column names the server)
SERVER_NAME_SQL: Final = server_key_sql(unknown=False)


def server_key(row: Mapping[str, Any], *, unknown: bool = True) -> str | None:
    """The Python twin of `SERVER_KEY` for an event row (a dict of columns)."""
    for column in SERVER_COLUMNS:
        value = row.get(column)
        if value is not None:
            return str(value)
    return UNKNOWN_SERVER if unknown else None
