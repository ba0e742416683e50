"""The views of DESIGN §5 over a store's Parquet files, each column documented.

`events` (deduplicated by event_id) is the base of everything; `calls`, `actions`, `tool_versions`,
`sessions`, `edges` are built on it, and `findings` is a table the detections fill
(`register_findings`). `mcp-blackbox sql --describe [VIEW]` prints `VIEW_DOCS`.

Everything is a view: nothing is materialised, so a query only reads the Parquet columns and row
groups it needs (filters on connection_id, trace_id, event_time push down into the scan).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.identity import SERVER_KEY as _SERVER_KEY
from mcp_blackbox.schema.identity import server_key_sql

if TYPE_CHECKING:
    import duckdb

    from mcp_blackbox.forensics.store import Store

#: What makes two stored rows the same event: every column but `ingest_time` (and the `date` partition),
#: compared as one struct (exact equality, no hash to collide). Two rows with one `event_id` and different
#: content are an evidence conflict (a forged or altered copy), never a silent choice: `events` keeps both.
CONTENT: Final = "struct_pack(" + ", ".join(f'"{f.name}"' for f in arrow_schema() if f.name != "ingest_time") + ")"

#: Deduplication of identical copies (the copy ingested first stands for them), as `events` applies it to the
#: rows of duplicated ids only (comparing content reads every column): rows with one event_id but different
#: content all stay.
DEDUP_COPIES: Final = (f"QUALIFY row_number() OVER (PARTITION BY event_id, {CONTENT} "
                       "ORDER BY ingest_time NULLS LAST) = 1")

#: One row per event_id (the copy ingested first), for lookups that show one node per id (chains, the TUI's
#: event detail): they put their filter on `raw_events` and this after it, so the filter still reaches the
#: Parquet scan. Copies with different content are not chosen between silently: `events` shows all of them
#: and the `evidence_conflict` detection names them.
DEDUP: Final = "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingest_time NULLS LAST) = 1"

#: `events` before it is prepared: the duplicated ids are found inline (a scan of the event_id column per
#: query), and only their rows are compared by content; the other branch keeps projection and filter pushdown.
_EVENTS_UNPREPARED = f"""
CREATE OR REPLACE VIEW events AS
WITH dup AS (SELECT event_id FROM raw_events GROUP BY event_id HAVING count(*) > 1)
SELECT * EXCLUDE (date) FROM raw_events ANTI JOIN dup USING (event_id)
UNION ALL
(SELECT * EXCLUDE (date) FROM raw_events SEMI JOIN dup USING (event_id) {DEDUP_COPIES})
"""

#: A server's identity across emitters (`schema/identity.py`), re-exported for the rules that import it from here.
SERVER_KEY: Final = _SERVER_KEY

VIEW_DOCS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "events": ("Every stored event once (identical copies of an event_id deduplicated; copies with different "
               "content are all kept, see the evidence_conflict detection); all schema v1 columns "
               "(`mcp-blackbox schema --columns` documents them).", {}),
    "calls": ("One row per request seen by one emitter, joined to its response (same emitter instance, "
              "connection, initiator and JSON-RPC id).", {
                  "call_event_id": "event_id of the request", "response_event_id": "event_id of the result/error",
                  "emitter_role": "host/client/server/gateway that saw it", "emitter_instance_id": "which emitter",
                  "connection_id": "transport connection", "server": "server_config_name, else server_name",
                  "method": "JSON-RPC method", "tool_name": "tools/call name", "target": "tool/prompt/resource",
                  "start_time": "request event_time", "end_time": "response event_time",
                  "status": "ok/error/tool_error/input_required/… or 'pending' without response",
                  "duration_ms": "request→response time seen by that emitter",
                  "arguments_json": "redacted arguments", "arguments_sha256": "hash before redaction",
                  "result_json": "redacted result", "result_sha256": "hash before redaction",
                  "result_size_bytes": "result size before redaction", "trace_id": "W3C trace id",
                  "tool_call_id": "host's tool-use id", "conversation_id": "host conversation",
                  "tool_definition_sha256": "tool definition in force when called",
                  "agent_id": "agent", "user_id": "user", "host_name": "machine", "protocol_era": "legacy/modern",
                  "jsonrpc_id": "request id", "initiator": "client or server",
                  "error_code": "JSON-RPC error code", "http_status": "HTTP status (proxies)",
                  "arguments_fingerprints": "content_fingerprints of the request (chunks before redaction)",
                  "result_fingerprints": "content_fingerprints of the response",
                  "client_info_name": "clientInfo.name (self-reported)", "client_info_version": "clientInfo.version",
                  "mcp_session_id": "legacy HTTP session id", "user_id_source": "where user_id came from",
                  "os_user": "OS account of the emitter", "oauth_client_id": "OAuth client",
                  "oauth_issuer": "token issuer", "oauth_subject": "token subject", "oauth_scopes": "granted scopes",
                  "token_audience": "token audience",
                  "token_fingerprint": "keyed fingerprint of the bearer token (never the token)",
                  "user_agent": "HTTP User-Agent",
              }),
    "actions": ("One row per logical tool call, merging what host, client and server/gateway saw "
                "(joined by tool_call_id, else trace_id).", {
                    "action_key": "tool_call_id, else trace_id, else the call's event id",
                    "first_time": "earliest sighting", "server": "server", "tool_name": "tool",
                    "host_choice_event_id": "host tool_choice event", "approval": "host approval decision",
                    "client_call_event_id": "client-side request", "server_call_event_id": "server/gateway request",
                    "status": "worst status seen", "duration_ms": "longest duration seen",
                    "emitters": "roles that saw it", "conversation_id": "conversation", "agent_id": "agent",
                    "witnesses": "kinds of witness: emitter (ours: wrap, proxy, SDK hooks) and/or otlp",
                    "capture_gap": "seen by one kind of witness while the other was recording that server: "
                                   "a completeness signal",
                    "user_id": "user", "tool_definition_sha256": "definition in force",
                }),
    "tool_versions": ("Every distinct tool definition per server, from catalog events.", {
        "server": "server", "tool_name": "tool", "tool_definition_sha256": "hash of the definition",
        "first_seen": "first catalog event listing it", "last_seen": "last one", "sightings": "catalog events",
        "definition_json": "the definition (name, description, inputSchema, annotations…)",
        "version_index": "1 = first definition seen for this server+tool, 2 = first change, …",
        "first_event_id": "catalog event that first listed it",
    }),
    "sessions": ("One row per connection: who, what, when.", {
        "connection_id": "connection", "first_time": "first event", "last_time": "last event",
        "events": "events", "calls": "tools/call requests", "errors": "error/tool_error results",
        "server": "server", "emitter_roles": "roles that recorded it", "conversation_ids": "conversations",
        "agent_id": "agent", "user_id": "user", "host_name": "machine", "client_info_name": "client (self-reported)",
        "protocol_era": "legacy/modern", "transport": "transport", "tools_used": "distinct tools called",
    }),
    "edges": ("Causal links derivable in SQL (chains add data_flow edges by content fingerprint).", {
        "src_event_id": "cause", "dst_event_id": "effect",
        "kind": "response, client_server, host_decision, approval, mrtr_round, cancel, progress, task, tool_definition",
        "inferred_by": "how: jsonrpc_id, trace, tool_call_id, parent_event_id, request_state_sha256, …",
        "confidence": "0..1",
    }),
    "findings": ("Findings of the last `detect` run in this session (empty until detections run).", {
        "finding_id": "stable id", "rule_id": "rule", "title": "rule title", "severity": "info…critical",
        "cosai_threats": "CoSAI threat numbers", "time": "when", "entities": "JSON of entities",
        "evidence_event_ids": "events proving it", "explanation": "one line",
    }),
}


_TYPE_MAP: Final = {
    "string": "VARCHAR", "int64": "BIGINT", "int16": "SMALLINT", "double": "DOUBLE", "bool": "BOOLEAN",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ", "list<item: string>": "VARCHAR[]",
}


def _empty_events_sql() -> str:
    """A typed, empty `events` relation for a store with no files yet."""
    cols = ", ".join(f"CAST(NULL AS {_TYPE_MAP[str(f.type)]}) AS {f.name}" for f in arrow_schema())
    return f"SELECT {cols} WHERE false"


def _missing_columns_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Typed NULLs for contract columns no stored file has (a store written before the column existed)."""
    present = {row[0] for row in con.execute("DESCRIBE raw_events").fetchall()}
    return "".join(f", CAST(NULL AS {_TYPE_MAP[str(f.type)]}) AS {f.name}" for f in arrow_schema()
                   if f.name not in present)


_CALLS = f"""
CREATE OR REPLACE VIEW calls AS
WITH req AS (SELECT * FROM events WHERE event_type = 'message' AND message_kind = 'request'),
     resp AS (SELECT * FROM events WHERE event_type = 'message' AND message_kind IN ('result', 'error'))
SELECT req.event_id AS call_event_id, resp.event_id AS response_event_id, req.emitter_role,
       req.emitter_instance_id, req.connection_id, {server_key_sql("req")} AS server,
       req.method, req.tool_name, req.target, req.event_time AS start_time, resp.event_time AS end_time,
       coalesce(resp.status, 'pending') AS status, resp.duration_ms, req.arguments_json, req.arguments_sha256,
       resp.result_json, resp.result_sha256, resp.result_size_bytes, req.trace_id,
       coalesce(req.tool_call_id, resp.tool_call_id) AS tool_call_id,
       coalesce(req.conversation_id, resp.conversation_id) AS conversation_id, req.tool_definition_sha256,
       req.agent_id, req.user_id, req.host_name, coalesce(req.protocol_era, resp.protocol_era) AS protocol_era,
       req.jsonrpc_id, req.initiator, resp.error_code, coalesce(resp.http_status, req.http_status) AS http_status,
       req.client_info_name, req.client_info_version, req.mcp_session_id, req.user_id_source, req.os_user,
       req.oauth_client_id, req.oauth_issuer, req.oauth_subject, req.oauth_scopes, req.token_audience,
       req.token_fingerprint, req.user_agent,
       req.content_fingerprints AS arguments_fingerprints, resp.content_fingerprints AS result_fingerprints
FROM req LEFT JOIN resp
  ON resp.emitter_instance_id = req.emitter_instance_id AND resp.connection_id = req.connection_id
 AND resp.initiator = req.initiator AND resp.jsonrpc_id = req.jsonrpc_id AND resp.event_time >= req.event_time
"""

_ACTIONS = """
CREATE OR REPLACE VIEW actions AS
WITH c0 AS (
  SELECT calls.*, coalesce(calls.tool_call_id, calls.trace_id, calls.call_event_id) AS base_key,
         CASE WHEN e.emitter_component = 'otlp' THEN 'otlp' ELSE 'emitter' END AS witness
  FROM calls JOIN events e ON e.event_id = calls.call_event_id WHERE calls.method = 'tools/call'
), lone AS (  -- OTLP sightings sharing no key with a sighting of our emitters
  SELECT * FROM c0 o WHERE o.witness = 'otlp'
   AND NOT EXISTS (SELECT 1 FROM c0 x WHERE x.base_key = o.base_key AND x.witness = 'emitter')
), matched AS (  -- one call, two witnesses without a shared trace: same tool and request id, start within 2 s
  SELECT o.call_event_id,
         arg_min(w.base_key, abs(epoch(o.start_time) - epoch(w.start_time))) AS key
  FROM lone o JOIN c0 w ON w.witness = 'emitter' AND w.tool_name IS NOT DISTINCT FROM o.tool_name
   AND (w.jsonrpc_id = o.jsonrpc_id OR o.jsonrpc_id IS NULL)
   AND abs(epoch(o.start_time) - epoch(w.start_time)) <= 2
  GROUP BY o.call_event_id
), c AS (
  SELECT c0.*, coalesce(matched.key, c0.base_key) AS action_key FROM c0 LEFT JOIN matched USING (call_event_id)
), h AS (
  SELECT tool_call_id, max(CASE WHEN event_subtype = 'tool_choice' THEN event_id END) AS host_choice_event_id,
         max(CASE WHEN event_subtype = 'approval' THEN CAST(approval AS VARCHAR) END) AS approval
  FROM events WHERE event_type = 'host' AND tool_call_id IS NOT NULL GROUP BY tool_call_id
), a AS (
SELECT c.action_key, min(c.start_time) AS first_time, any_value(c.server) AS server,
       any_value(c.tool_name) AS tool_name, any_value(h.host_choice_event_id) AS host_choice_event_id,
       any_value(h.approval) AS approval,
       min(CASE WHEN c.emitter_role = 'client' THEN c.call_event_id END) AS client_call_event_id,
       min(CASE WHEN c.emitter_role IN ('server', 'gateway') THEN c.call_event_id END) AS server_call_event_id,
       CASE WHEN bool_or(c.status = 'error') THEN 'error' WHEN bool_or(c.status = 'tool_error') THEN 'tool_error'
            WHEN bool_or(c.status = 'ok') THEN 'ok' ELSE any_value(c.status) END AS status,
       max(c.duration_ms) AS duration_ms, list_distinct(list(c.emitter_role)) AS emitters,
       any_value(c.conversation_id) AS conversation_id, any_value(c.agent_id) AS agent_id,
       any_value(c.user_id) AS user_id, any_value(c.tool_definition_sha256) AS tool_definition_sha256,
       list_sort(list_distinct(list(c.witness))) AS witnesses
FROM c LEFT JOIN h ON h.tool_call_id = c.tool_call_id
GROUP BY c.action_key
), spans AS (  -- when each kind of witness was recording, per server
  SELECT server, witness, min(start_time) AS lo, max(start_time) AS hi FROM c GROUP BY ALL
)
SELECT a.*,
       len(a.witnesses) = 1 AND EXISTS (
         SELECT 1 FROM spans s WHERE s.server IS NOT DISTINCT FROM a.server AND s.witness <> a.witnesses[1]
            AND a.first_time BETWEEN s.lo AND s.hi) AS capture_gap
FROM a
"""

_TOOL_VERSIONS = f"""
CREATE OR REPLACE VIEW tool_versions AS
WITH defs AS (
  SELECT event_id, event_time, {SERVER_KEY} AS server,
         unnest(CAST(json_extract(tool_definitions_json, '$[*]') AS JSON[])) AS definition, attributes_json
  FROM events WHERE event_type = 'catalog' AND tool_definitions_json IS NOT NULL
), named AS (
  SELECT event_id, event_time, server, definition, definition->>'name' AS tool_name,
         json_extract_string(attributes_json, '$.tool_hashes') AS hashes
  FROM defs
), hashed AS (
  SELECT *, coalesce(json_extract_string(hashes, '$."' || replace(tool_name, '"', '') || '"'),
                     sha256(CAST(definition AS VARCHAR))) AS tool_definition_sha256
  FROM named
), grouped AS (
  SELECT server, tool_name, tool_definition_sha256, min(event_time) AS first_seen, max(event_time) AS last_seen,
         count(*) AS sightings, arg_min(CAST(definition AS VARCHAR), event_time) AS definition_json,
         arg_min(event_id, event_time) AS first_event_id
  FROM hashed GROUP BY ALL
)
SELECT *, row_number() OVER (PARTITION BY server, tool_name ORDER BY first_seen) AS version_index FROM grouped
"""

_SESSIONS = f"""
CREATE OR REPLACE VIEW sessions AS
SELECT connection_id, min(event_time) AS first_time, max(event_time) AS last_time, count(*) AS events,
       count(*) FILTER (WHERE method = 'tools/call' AND message_kind = 'request') AS calls,
       count(*) FILTER (WHERE status IN ('error', 'tool_error')) AS errors,
       any_value({SERVER_KEY}) FILTER (WHERE server_config_name IS NOT NULL OR server_name IS NOT NULL) AS server,
       list_distinct(list(CAST(emitter_role AS VARCHAR))) AS emitter_roles,
       list_distinct(list(conversation_id) FILTER (WHERE conversation_id IS NOT NULL)) AS conversation_ids,
       any_value(agent_id) AS agent_id, any_value(user_id) AS user_id, any_value(host_name) AS host_name,
       any_value(client_info_name) AS client_info_name, any_value(protocol_era) AS protocol_era,
       any_value(transport) AS transport,
       list_distinct(list(tool_name) FILTER (WHERE tool_name IS NOT NULL)) AS tools_used
FROM events GROUP BY connection_id
"""

_EDGES = f"""
CREATE OR REPLACE VIEW edges AS
SELECT call_event_id AS src_event_id, response_event_id AS dst_event_id, '{EdgeKind.RESPONSE}' AS kind,
       'jsonrpc_id' AS inferred_by, 1.0 AS confidence FROM calls WHERE response_event_id IS NOT NULL
UNION ALL
SELECT c.call_event_id, s.call_event_id, '{EdgeKind.CLIENT_SERVER}', 'trace', 0.95
FROM calls c JOIN calls s ON s.trace_id = c.trace_id AND s.method = c.method
 AND c.emitter_role IN ('client', 'host') AND s.emitter_role IN ('server', 'gateway')
 AND coalesce(s.jsonrpc_id, '') = coalesce(c.jsonrpc_id, '')
WHERE c.trace_id IS NOT NULL
UNION ALL
SELECT h.event_id, c.call_event_id, '{EdgeKind.HOST_DECISION}', 'tool_call_id', 0.99
FROM events h JOIN calls c ON c.tool_call_id = h.tool_call_id AND c.emitter_role = 'client'
WHERE h.event_type = 'host' AND h.event_subtype = 'tool_choice'
UNION ALL
SELECT p.event_id, e.event_id,
       CASE WHEN e.event_subtype = 'approval' THEN '{EdgeKind.APPROVAL}' ELSE '{EdgeKind.HOST_DECISION}' END,
       'parent_event_id', 1.0
FROM events e JOIN events p ON p.event_id = e.parent_event_id
WHERE e.parent_event_id IS NOT NULL AND p.event_type = 'host' AND e.event_type = 'host'
UNION ALL
SELECT r.event_id, q.event_id, '{EdgeKind.MRTR_ROUND}', 'request_state_sha256', 1.0
FROM events r JOIN events q ON q.request_state_sha256 = r.request_state_sha256
 AND q.emitter_instance_id = r.emitter_instance_id AND q.message_kind = 'request'
WHERE r.status = 'input_required' AND r.message_kind = 'result'
UNION ALL
SELECT c.call_event_id, n.event_id, CASE WHEN n.method = 'notifications/cancelled' THEN 'cancel' ELSE 'progress' END,
       CASE WHEN n.method = 'notifications/cancelled' THEN 'related_request_id' ELSE 'progress_token' END, 1.0
FROM events n JOIN calls c ON c.emitter_instance_id = n.emitter_instance_id AND c.connection_id = n.connection_id
 AND c.jsonrpc_id = n.related_request_id
WHERE n.method IN ('notifications/cancelled', 'notifications/progress')
UNION ALL
SELECT t.call_event_id, c.call_event_id, 'task', 'task_id', 1.0
FROM calls t JOIN events e ON e.event_id = t.response_event_id
JOIN calls c ON c.method LIKE 'tasks/%' AND c.connection_id = t.connection_id
 AND c.emitter_instance_id = t.emitter_instance_id
JOIN events ce ON ce.event_id = c.call_event_id AND ce.task_id = e.task_id
WHERE e.task_id IS NOT NULL AND t.method NOT LIKE 'tasks/%'
UNION ALL
SELECT v.first_event_id, c.call_event_id, 'tool_definition', 'tool_definition_sha256', 1.0
FROM calls c JOIN tool_versions v ON v.tool_definition_sha256 = c.tool_definition_sha256 AND v.tool_name = c.tool_name
WHERE c.method = 'tools/call' AND c.tool_definition_sha256 IS NOT NULL
"""

_FINDINGS = """
CREATE TABLE IF NOT EXISTS findings (finding_id VARCHAR, rule_id VARCHAR, title VARCHAR, severity VARCHAR,
  cosai_threats VARCHAR[], time TIMESTAMPTZ, entities VARCHAR, evidence_event_ids VARCHAR[], explanation VARCHAR)
"""


_EVENTS_PREPARED = """
CREATE OR REPLACE VIEW events AS
SELECT * EXCLUDE (date) FROM raw_events ANTI JOIN _duplicate_ids USING (event_id)
UNION ALL
SELECT * FROM _duplicate_rows
"""


def prepare_events(store: Store) -> float:
    """Make `events` cheap to query; returns the seconds it took (one scan of the event_id column).

    The plain definition deduplicates with a window over the whole store for every query, which also stops
    filters from reaching the Parquet scan: 25 s for one detection rule on 10M events. Prepared, the ids
    that occur more than once are listed, with their rows (identical copies once), in tables in this
    session's memory (the store is not touched), and `events` becomes "every row whose id is unique, plus
    those rows": same rows, but projections and filters push down and the second branch is empty in a
    healthy store.
    The list is valid for the files present when it was made: `Store.refresh()` redoes it when files
    appear (live mode); until then a duplicate arriving in a new file would show twice.
    """
    started = time.perf_counter()
    if not store.has_events():
        return 0.0
    files = store.event_files()
    con = store.con
    con.execute("CREATE OR REPLACE TABLE _duplicate_ids AS "
                "SELECT event_id FROM raw_events GROUP BY event_id HAVING count(*) > 1")
    # the rows of duplicated ids, identical copies once: few in a healthy store, and held here so that no
    # query pays for comparing content (or scans every column to find none)
    none = con.execute("SELECT count(*) = 0 FROM _duplicate_ids").fetchone()[0]
    con.execute("CREATE OR REPLACE TABLE _duplicate_rows AS SELECT * EXCLUDE (date) FROM raw_events "
                + ("LIMIT 0" if none else f"WHERE event_id IN (SELECT event_id FROM _duplicate_ids) {DEDUP_COPIES}"))
    con.execute(_EVENTS_PREPARED)
    store.prepared_files = files
    return time.perf_counter() - started


def register_views(store: Store, *, source: str | None = None, findings_source: str | None = None) -> None:
    """Create the views on the store's connection.

    `source` names a relation to read the event files from instead of `read_parquet` (the sandboxed SQL
    console reads them through an Arrow dataset, so DuckDB itself needs no file access); `findings_source`
    makes `findings` a view over that relation instead of a session table.
    """
    con = store.con
    if store.has_events():
        if source is not None:
            scan = source
        else:
            # the published files by name, not a glob: DuckDB's `**/*.parquet` also matches `.tmp-*` files
            # being written (schema.layout defines what forensics reads; `refresh()` follows new files)
            files = ", ".join("'" + f.replace("'", "''") + "'" for f in sorted(store.event_files()))
            scan = f"read_parquet([{files}], hive_partitioning = true, union_by_name = true)"
        con.execute(f"CREATE OR REPLACE VIEW raw_events AS SELECT * FROM {scan}")
        missing = _missing_columns_sql(con)
        if missing:
            con.execute(f"CREATE OR REPLACE VIEW raw_events AS SELECT *{missing} FROM {scan}")
        # the views on `events` are bound (checked) when created: against a one-scan stand-in with the same
        # columns, so creating them does not bind the Parquet files once per reference; the real definition next
        con.execute("CREATE OR REPLACE VIEW events AS SELECT * EXCLUDE (date) FROM raw_events")
        store.prepared_files = None
    else:
        con.execute(f"CREATE OR REPLACE VIEW raw_events AS {_empty_events_sql()}")
        con.execute(f"CREATE OR REPLACE VIEW events AS {_empty_events_sql()}")
    findings = (_FINDINGS if findings_source is None
                else f"CREATE OR REPLACE VIEW findings AS SELECT * FROM {findings_source}")
    for ddl in (_CALLS, _ACTIONS, _TOOL_VERSIONS, _SESSIONS, _EDGES, findings):
        con.execute(ddl)
    if store.has_events():
        con.execute(_EVENTS_UNPREPARED)
