"""The investigator bench's queries, headless: sessions with pivot chips, one event, a definition diff.

The TUI renders these; it holds no SQL of its own. Each function takes a `query(sql, params) -> rows`
callable (the bench's cancellable cursor) so it runs on a worker thread and stays testable without a UI.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from mcp_blackbox.forensics.views import DEDUP
from mcp_blackbox.schema.identity import server_key, server_key_sql

Query = Callable[[str, list[Any]], list[tuple[Any, ...]]]

#: Session columns a pivot chip may name (equality), plus `tool` (membership of `tools_used`).
CHIP_COLUMNS: Final = ("server", "agent_id", "user_id", "connection_id", "host_name", "client_info_name")
SESSION_COLUMNS: Final = ("connection_id", "first_time", "server", "agent_id", "user_id", "events", "calls",
                          "errors", "emitter_roles", "conversation_ids")


def sessions_sql(chips: Sequence[tuple[str, str, bool]], condition: str = "",
                 limit: int = 1000) -> tuple[str, list[Any]]:
    """The Sessions view's query: chips `(column, value, include)` become bound parameters.

    `condition` is the investigator's own SQL (run it in the sandbox, `sqlguard.SafeSQL`, when it is set).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for column, value, include in chips:
        if column in CHIP_COLUMNS:
            clauses.append(f"{'' if include else 'NOT '}coalesce({column} = ?, false)")
            params.append(value)
        elif column == "tool":
            clauses.append(f"{'' if include else 'NOT '}list_contains(tools_used, ?)")
            params.append(value)
    if condition.strip():
        clauses.append(f"({condition.strip()})")
    where = " AND ".join(clauses) or "true"
    sql = (f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE {where} "  # noqa: S608 - columns are ours
           f"ORDER BY first_time DESC LIMIT {int(limit)}")
    return sql, params


def event_row(query: Query, event_id: str) -> dict[str, Any] | None:
    """One whole event by id (raw_events filtered, then deduplicated: no need for a prepared `events`)."""
    sql = f"SELECT * EXCLUDE (date) FROM raw_events WHERE event_id = ? {DEDUP}"  # noqa: S608 - constant text
    rows = query(sql, [event_id])
    if not rows:
        return None
    names = query("SELECT column_name FROM (DESCRIBE SELECT * EXCLUDE (date) FROM raw_events)", [])
    return dict(zip([n[0] for n in names], rows[0], strict=True))


@dataclass
class DefinitionDiff:
    """Unified-diff lines of tool definitions (`lines` empty: `message` says why)."""

    message: str
    lines: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)


def _pretty(definition: Any) -> list[str]:
    value = json.loads(definition) if isinstance(definition, str) else definition
    return json.dumps(value, indent=2, ensure_ascii=False).splitlines()


def _catalog(text: str | None) -> dict[str, Any]:
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return {}
    return {str(d.get("name")): d for d in items if isinstance(d, dict)} if isinstance(items, list) else {}


def definition_diff(query: Query, row: dict[str, Any]) -> DefinitionDiff:
    """What changed in a tool definition, from a call event (the definition in force vs the one before) or from a
    catalog event (every tool whose definition differs from the previous listing of the same server)."""
    server = str(server_key(row))
    if row.get("event_type") == "catalog" and row.get("tool_definitions_json"):
        return _catalog_diff(query, row, server)
    sha, tool = row.get("tool_definition_sha256"), row.get("tool_name")
    if not (sha and tool):
        return DefinitionDiff("no tool definition on this event (open a tools/call or a catalog event)")
    versions = query("SELECT tool_definition_sha256, definition_json, version_index FROM tool_versions "
                     "WHERE tool_name = ? AND server = ? ORDER BY version_index", [tool, server])
    index = next((i for i, v in enumerate(versions) if v[0] == sha), None)
    if index is None:
        return DefinitionDiff("the definition in force is in no catalog event of this server")
    if index == 0:
        return DefinitionDiff("this is the first definition seen for this tool; nothing to diff")
    old, new = versions[index - 1], versions[index]
    lines = list(difflib.unified_diff(_pretty(old[1]), _pretty(new[1]), f"version {old[2]} {old[0][:12]}",
                                      f"version {new[2]} {sha[:12]}", lineterm=""))
    return DefinitionDiff(f"{tool}: version {old[2]} → {new[2]}", lines, [str(tool)])


def _catalog_diff(query: Query, row: dict[str, Any], server: str) -> DefinitionDiff:
    prev = query(f"SELECT event_id, tool_definitions_json FROM raw_events WHERE event_type = 'catalog' "  # noqa: S608
                 f"AND tool_definitions_json IS NOT NULL AND {server_key_sql()} = ? "
                 "AND (event_time < ? OR (event_time = ? AND event_id < ?)) "
                 "AND tool_definitions_json IS DISTINCT FROM ? ORDER BY event_time DESC, event_id DESC LIMIT 1",
                 [server, row["event_time"], row["event_time"], row["event_id"], row["tool_definitions_json"]])
    if not prev:
        return DefinitionDiff("the first listing of this server; nothing to diff")
    before, after = _catalog(prev[0][1]), _catalog(row["tool_definitions_json"])
    lines: list[str] = []
    changed: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        changed.append(name)
        lines += difflib.unified_diff(_pretty(old) if old is not None else [], _pretty(new) if new is not None else [],
                                      f"{name} (listing {prev[0][0]})",
                                      f"{name} (listing {row['event_id']})", lineterm="")
    if not changed:
        return DefinitionDiff("the listing differs from the previous one only in order")
    return DefinitionDiff(f"{len(changed)} tool(s) changed since the previous listing: {', '.join(changed)}",
                          lines, changed)
