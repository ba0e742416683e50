"""`mcp-blackbox export --store DIR --format ocsf|jsonl [--since T] [--until T] [--out FILE]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import IO, Any

from mcp_blackbox.forensics.export_ocsf import api_activity, process_activity
from mcp_blackbox.forensics.safe import json_text
from mcp_blackbox.forensics.store import Store, open_store
from mcp_blackbox.forensics.timeparse import parse_time
from mcp_blackbox.schema.identity import SERVER_NAME_SQL
from mcp_blackbox.schema.settings import add_store_argument

_CALL_COLUMNS = """
c.*, r.server_name, r.server_version, r.server_url, r.client_info_name, r.oauth_client_id, r.mcp_session_id,
r.src_ip, r.span_id, r.parent_span_id, r.model_name, r.agent_name, r.emitter_version, r.emitter_component,
r.sequence, r.tenant_id, r.delegation_json, r.token_fingerprint, r.resource_uri, r.prompt_name,
resp.error_message, CAST(r.event_time AS VARCHAR) AS start_time_text,
(SELECT any_value(CAST(approval AS VARCHAR)) FROM events h WHERE h.event_type = 'host'
   AND h.event_subtype = 'approval' AND h.tool_call_id = c.tool_call_id) AS approval
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox export`."""
    add_store_argument(parser)
    parser.add_argument("--format", choices=("ocsf", "jsonl"), required=True,
                        help="ocsf: API Activity (6003) per call + Process Activity (1007) per spawn/exit; "
                             "jsonl: the stored events as schema v1 JSON lines")
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--out", help="file to write (default: stdout)")


def _where(column: str, since: Any, until: Any) -> tuple[str, list[Any]]:
    clauses, params = ["true"], []
    if since:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until:
        clauses.append(f"{column} < ?")
        params.append(until)
    return " AND ".join(clauses), params


def _dicts(store: Store, sql: str, params: list[Any]) -> Iterator[dict[str, Any]]:
    cur = store.con.execute(sql, params)
    names = [d[0] for d in cur.description]
    while batch := cur.fetchmany(2000):
        for row in batch:
            yield dict(zip(names, row, strict=True))


def export(store: Store, fmt: str, out: IO[str], since: Any = None, until: Any = None) -> int:
    """Write the export; returns the number of records."""
    count = 0
    if fmt == "jsonl":
        where, params = _where("event_time", since, until)
        for r in _dicts(store, f"SELECT * EXCLUDE (ingest_time) FROM events WHERE {where} "  # noqa: S608
                               "ORDER BY event_time, event_id", params):
            out.write(json_text({k: v for k, v in r.items() if v is not None}, default=str, ensure_ascii=False) + "\n")
            count += 1
        return count
    where, params = _where("c.start_time", since, until)
    sql = (f"SELECT {_CALL_COLUMNS} FROM calls c JOIN events r ON r.event_id = c.call_event_id "  # noqa: S608
           f"LEFT JOIN events resp ON resp.event_id = c.response_event_id WHERE {where} "
           "ORDER BY c.start_time, c.call_event_id")
    for r in _dicts(store, sql, params):
        out.write(json_text(api_activity(r), ensure_ascii=False, default=str, sort_keys=True) + "\n")
        count += 1
    where, params = _where("event_time", since, until)
    sql = (f"SELECT *, {SERVER_NAME_SQL} AS server FROM events WHERE event_type = 'lifecycle' "  # noqa: S608
           f"AND event_subtype IN ('server_spawn', 'server_exit') AND {where} ORDER BY event_time, event_id")
    for r in _dicts(store, sql, params):
        out.write(json_text(process_activity(r), ensure_ascii=False, default=str, sort_keys=True) + "\n")
        count += 1
    return count


def run(args: argparse.Namespace) -> int:
    """Export the store."""
    store = open_store(args.store)
    try:
        since, until = parse_time(args.since), parse_time(args.until)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                n = export(store, args.format, fh, since, until)
            print(f"{n} records → {args.out}", file=sys.stderr)
        else:
            export(store, args.format, sys.stdout, since, until)
        return 0
    finally:
        store.close()
