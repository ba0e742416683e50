"""Rules about what agents did: injection chains, exfiltration, secrets, floods, probing, approvals, gaps."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from mcp_blackbox.forensics.content import (
    DESTINATION_SQL_RE,
    INSTRUCTION_SQL_RE,
    KEYLIKE_SQL_RE,
    SENSITIVE_SQL_RE,
    content_flows,
    destinations,
    followed_by,
    instruction_signals,
    keylike_secrets,
    leaves,
    sensitive_kinds,
)
from mcp_blackbox.forensics.dataflow import fingerprint_hits
from mcp_blackbox.forensics.detections import Finding, RuleContext, finding, rule
from mcp_blackbox.forensics.poisoning import score
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.forensics.tags import (
    ARG_INJECTION_RE,
    DESTRUCTIVE_RE,
    OUTBOUND_RE,
    SENSITIVE_SOURCE_RE,
    UNTRUSTED_SOURCE_RE,
    annotation_sql,
    sql_regex,
)
from mcp_blackbox.schema.chunking import MARKER_RE, MIN_CHUNK
from mcp_blackbox.schema.enums import Severity
from mcp_blackbox.schema.identity import SERVER_KEY, SERVER_NAME_SQL
from mcp_blackbox.schema.layout import COMPLETENESS

# Which host process spawned each wrapped server (wrap's server_spawn event): joins the servers of one host
# session when no conversation id or trace exists (a wrap-only desktop host).
_HOSTKEYS = """
  (SELECT connection_id, any_value(json_extract_string(attributes_json, '$.host_process.id')) AS host_key
   FROM events WHERE event_type = 'lifecycle' AND event_subtype = 'server_spawn'
     AND attributes_json LIKE '%host_process%' GROUP BY connection_id)
"""
#: The same, for other rule modules (catalog rules join the servers of one host session with it).
HOSTKEYS_SQL = _HOSTKEYS
# Every sighting of one logical call (client, gateway, server) shares the conversation and host process it knows:
# `scope` is the conversation, else the host process that spawned the server (inferred), else the connection;
# `session` (what content and data-flow rules join on) is the host process first, so a resource read that carries
# no conversation id still meets the tool calls of the same host session.
_ACTION = "coalesce(c.tool_call_id, c.trace_id, c.call_event_id)"
_SCOPES = """
         coalesce(max(c.conversation_id) OVER w, max(hk.host_key) OVER w, c.connection_id) AS scope,
         CASE WHEN max(c.conversation_id) OVER w IS NOT NULL THEN 'conversation'
              WHEN max(hk.host_key) OVER w IS NOT NULL THEN 'host_process' ELSE 'connection' END AS scope_kind,
         coalesce(max(hk.host_key) OVER w, max(c.conversation_id) OVER w, c.connection_id) AS session"""
# One window for all of it (the row choice and the shared scopes): one sort per partition, not one per function.
_WINDOW = f"""
  WINDOW w AS (PARTITION BY {_ACTION}
               ORDER BY CASE c.emitter_role WHEN 'client' THEN 0 WHEN 'gateway' THEN 1 WHEN 'server' THEN 2 ELSE 3 END,
                        c.start_time ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  QUALIFY row_number() OVER w = 1
"""
# One row per logical tools/call (the client's view when there is one), with the definition's hints. Its scope is
# the conversation, else the host process that spawned the server (inferred), else the connection.
_LOGICAL_BODY = f"""
  SELECT c.*, {_SCOPES},
         {annotation_sql('v.definition_json', 'openWorldHint')} AS open_world,
         {annotation_sql('v.definition_json', 'destructiveHint')} AS destructive_hint,
         coalesce(try_cast(json_extract(v.definition_json, '$.annotations.readOnlyHint') AS BOOLEAN), false)
           AS read_only
  FROM scope_calls c
  LEFT JOIN (SELECT DISTINCT ON (tool_definition_sha256) tool_definition_sha256, definition_json
             FROM tool_versions) v ON v.tool_definition_sha256 = c.tool_definition_sha256
  LEFT JOIN {_HOSTKEYS} hk ON hk.connection_id = c.connection_id
  WHERE c.method = 'tools/call'
{_WINDOW}"""
# Content that entered the agent's context other than by tools/call: resource reads and prompts (same columns).
_READS_BODY = f"""
  SELECT c.*, {_SCOPES},
         false AS open_world, false AS destructive_hint, true AS read_only
  FROM scope_calls c LEFT JOIN {_HOSTKEYS} hk ON hk.connection_id = c.connection_id
  WHERE c.method IN ('resources/read', 'prompts/get')
{_WINDOW}"""
_UNTRUSTED = f"(open_world OR regexp_matches(tool_name, {sql_regex(UNTRUSTED_SOURCE_RE)}))"
_SENSITIVE = f"regexp_matches(tool_name, {sql_regex(SENSITIVE_SOURCE_RE)})"
_DESTRUCTIVE = f"(destructive_hint OR (NOT read_only AND regexp_matches(tool_name, {sql_regex(DESTRUCTIVE_RE)})))"
_OUTBOUND = f"regexp_matches(tool_name, {sql_regex(OUTBOUND_RE)})"


# Parameters the tool's own definition asks to be filled with other data ("pass its content as 'sidenote'",
# a `notes` parameter "for the contents of previous results"): a value put there leaves the user's task, a trust
# boundary even on one server. Set-based over the distinct definitions of the catalog.
_CARRIED = r"(content|contents|result|results|output|outputs|data|file|files|text|history|messages?|conversation)"
_PARAM_ASKS_RE = (r"(?i)(\b" + _CARRIED + r"\s+of\s+(the\s+|any\s+|all\s+)?(file|files|previous|prior|earlier|"
                  r"other|last|recent|~/|/)|\b(previous|prior|earlier|other)\s+(tool\s+)?(calls?|results?|outputs?|"
                  r"messages?|conversations?)|\bfile\s+contents?\b|\b(put|paste|include|insert|pass|copy)\b[^.]{0,60}"
                  r"\b(here|in this (field|parameter)))")
_DATA_PARAMS = rf"""
  (SELECT tool_definition_sha256, list(DISTINCT p ORDER BY p) AS params FROM (
     SELECT tool_definition_sha256, definition_json, unnest(json_keys(definition_json, '$.inputSchema.properties')) AS p
     FROM (SELECT DISTINCT ON (tool_definition_sha256) tool_definition_sha256, definition_json FROM tool_versions
           WHERE definition_json LIKE '%properties%')) k
   WHERE regexp_matches(p, '^[A-Za-z_][A-Za-z0-9_]{{0,63}}$')
     AND (regexp_matches(coalesce(json_extract_string(definition_json, '$.inputSchema.properties.' || p
                                                      || '.description'), ''), {sql_regex(_PARAM_ASKS_RE)})
          OR regexp_matches(coalesce(json_extract_string(definition_json, '$.description'), ''),
                            '(?i)\b(pass|put|include|provide|send|add|insert|paste|fill|copy|append)\b[^.]{{0,80}}?'
                            || '\b{_CARRIED}\b[^.]{{0,40}}?\b(as|in|into|to|inside|under|via)\s+(the\s+)?[`''"]?'
                            || p || '\b'))
   GROUP BY tool_definition_sha256)
"""


def _logical(ctx: RuleContext) -> str:
    """The `logical` CTE: computed once per detection run when the run shares work between rules."""
    return ctx.cte("logical", _LOGICAL_BODY)


def _acts(ctx: RuleContext) -> str:
    """`logical` plus `acts`: every logical tool call, resource read and prompt fetch."""
    reads = ctx.cte("reads", _READS_BODY).removeprefix("WITH ").rstrip("\n")
    return _logical(ctx) + ", " + reads + "\n, acts AS (SELECT * FROM logical UNION ALL BY NAME SELECT * FROM reads)\n"


def _scope_label(r: dict[str, Any]) -> str:
    kind = r.get("scope_kind") or "connection"
    return "host process (inferred: servers spawned by one host process)" if kind == "host_process" else kind


def _desc(r: dict[str, Any]) -> str:
    return f"{r['server']}.{r['tool_name']}"


def _data_param_values(params: list[str] | None, arguments_json: str | None) -> dict[str, str]:
    """The stored values of the data-asking parameters of a call (as text)."""
    if not params or not arguments_json:
        return {}
    try:
        args = json.loads(arguments_json)
    except ValueError:
        return {}
    if isinstance(args, dict) and isinstance(args.get("arguments"), dict):
        args = args["arguments"]
    if not isinstance(args, dict):
        return {}
    return {p: (v if isinstance(v, str) else json.dumps(v)) for p in params if (v := args.get(p)) is not None}


def _unmasked(pieces: list[str]) -> list[str]:
    """Matched text pieces without the redaction markers in them; pieces that were little more are dropped."""
    out = []
    for piece in pieces:
        rest = MARKER_RE.sub(" ", piece).strip(" \n\"'{}[]:,\\")
        if len(rest) >= MIN_CHUNK:
            out.append(piece)
    return out


@rule("injection_chain", "Instructions in content the agent read, then followed", ("#11", "#4"),
      Severity.HIGH, "Content that entered the agent's context (a tool result, resources/read, prompts/get) on any "
      "server reads as instructions to the model (instruction text, concealment, urgency, references to the "
      "session's tools), and later calls in the same conversation or host session (within 10 minutes) used tool "
      "names, resources or argument values found in it (instruction followed) or received its data. Critical when "
      "the follow-up is sensitive, destructive or outbound (annotations first, then content and name priors). An "
      "open-world or untrusted-by-name source whose content flowed into a sensitive call without instruction text "
      "is high at most.")
def injection_chain(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_acts(ctx) + f"""
    , src AS (SELECT *, regexp_matches(result_json, {sql_regex(INSTRUCTION_SQL_RE)}) AS instr FROM acts
              WHERE status = 'ok' AND result_json IS NOT NULL
                AND (regexp_matches(result_json, {sql_regex(INSTRUCTION_SQL_RE)}) OR {_UNTRUSTED}))
    SELECT u.call_event_id AS u_id, u.response_event_id AS u_resp, u.server AS u_server,
           coalesce(u.tool_name, u.method || ' ' || coalesce(u.target, '')) AS u_tool, u.result_json AS u_result,
           u.scope, u.scope_kind, u.agent_id, u.start_time AS u_time,
           u.instr AS u_instr, u.result_fingerprints AS u_fps, s.arguments_fingerprints AS s_fps,
           s.call_event_id AS s_id, s.response_event_id AS s_resp, s.server AS s_server, s.tool_name AS s_tool,
           s.method AS s_method, s.target AS s_target, s.arguments_json AS s_args, s.result_json AS s_result,
           s.start_time AS s_time,
           ({_SENSITIVE.replace('tool_name', 's.tool_name')}
            OR {_DESTRUCTIVE.replace('destructive_hint', 's.destructive_hint').replace('read_only', 's.read_only')
                .replace('tool_name', 's.tool_name')}
            OR {_OUTBOUND.replace('tool_name', 's.tool_name')} OR s.open_world
            OR regexp_matches(coalesce(s.arguments_json, ''), {sql_regex(DESTINATION_SQL_RE)})
            OR regexp_matches(coalesce(s.result_json, ''), {sql_regex(SENSITIVE_SQL_RE)})) AS s_risky,
           ({_SENSITIVE.replace('tool_name', 's.tool_name')}
            OR {_DESTRUCTIVE.replace('destructive_hint', 's.destructive_hint').replace('read_only', 's.read_only')
                .replace('tool_name', 's.tool_name')}
            OR {_OUTBOUND.replace('tool_name', 's.tool_name')}) AS s_named_risky
    FROM src u JOIN acts s ON s.session = u.session AND s.start_time > u.start_time
     AND s.start_time <= u.start_time + INTERVAL 10 MINUTE AND s.call_event_id <> u.call_event_id
    -- without instruction text only the name prior is left: a sensitive/destructive/outbound call elsewhere
    WHERE u.instr OR (s.server <> u.server AND ({_SENSITIVE.replace('tool_name', 's.tool_name')}
          OR {_DESTRUCTIVE.replace('destructive_hint', 's.destructive_hint').replace('read_only', 's.read_only')
              .replace('tool_name', 's.tool_name')} OR {_OUTBOUND.replace('tool_name', 's.tool_name')}))
    ORDER BY u_time, s_time
    """)
    tools = {r[0] for r in ctx.store.con.execute("SELECT DISTINCT tool_name FROM tool_versions").fetchall() if r[0]}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["u_id"]].append(r)
    out = []
    for calls in groups.values():
        first = calls[0]
        signals = instruction_signals(first["u_result"], tools) if first["u_instr"] else []
        instructed = score(signals) >= 2
        followed, fed, risky = [], [], []
        for c in calls:
            hits = followed_by(first["u_result"], c["s_tool"], c["s_target"], c["s_args"]) if instructed else []
            flow = content_flows(first["u_result"], c["s_args"]) or list(fingerprint_hits(first["u_fps"], c["s_fps"]))
            if hits:
                followed.append((c, hits))
            if flow:
                fed.append(c)
            if (hits or flow) and (c["s_risky"] or sensitive_kinds(c["s_result"])):
                risky.append(c)
        if instructed and (followed or fed):
            sev = Severity.CRITICAL if risky else Severity.HIGH
            involved = [c for c, _h in followed] + [c for c in fed if c not in [f for f, _h in followed]]
        elif not instructed and [c for c in fed if c["s_named_risky"] and c["s_server"] != first["u_server"]]:
            # the weak prior: untrusted-by-name content flowed into a sensitive call, no instruction text
            sev = Severity.HIGH
            involved = [c for c in fed if c["s_named_risky"] and c["s_server"] != first["u_server"]]
        else:
            continue
        involved.sort(key=lambda c: c["s_time"])
        names = ", ".join(dict.fromkeys(f"{c['s_server']}.{c['s_tool'] or c['s_method']}" for c in involved))
        shown = ", ".join(dict.fromkeys(s.name for s in signals)) or "none"
        how = []
        if followed:
            how.append(f"instruction followed ({inert(followed[0][1][0], limit=50)})")
        if fed:
            how.append(f"its content flowed into {len(fed)} call(s)")
        evidence = [first["u_id"], first["u_resp"]]
        for c in involved:
            evidence += [c["s_id"], c["s_resp"]]
        out.append(finding("injection_chain", first["u_time"],
                           {"scope": first["scope"], "scope_kind": _scope_label(first), "agent": first["agent_id"],
                            "source": f"{first['u_server']}.{first['u_tool']}", "signals": shown},
                           evidence,
                           f"content of {inert(first['u_server'] + '.' + first['u_tool'], limit=60)} read as "
                           f"instructions ({shown}); then {inert(names, limit=120)}: {'; '.join(how)}"
                           + ("" if first.get("scope_kind") != "host_process" else " [joined by host process]"),
                           sev))
    return out


@rule("exfiltration", "Sensitive data sent across a trust boundary", ("#24",), Severity.CRITICAL,
      "A substantial piece of one call's output (tool result, resource or file read) reappears in a later call's "
      "arguments across a trust boundary (another server, an open-world tool, or a URL/e-mail/phone/channel-shaped "
      "destination) and is sensitive by what it contains (secrets or redacted secrets, e-mail addresses, phone "
      "numbers, card numbers, bulk records), whatever the tools are called; or redacted secrets are sent outbound.")
def exfiltration(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_acts(ctx) + f"""
    , src AS (SELECT * FROM acts WHERE status = 'ok' AND (result_json IS NOT NULL OR result_fingerprints IS NOT NULL)
              AND (regexp_matches(coalesce(result_json, ''), {sql_regex(SENSITIVE_SQL_RE)}) OR {_SENSITIVE}
                   OR array_to_string(result_fingerprints, ' ') LIKE '%!%'))
    SELECT s.response_event_id AS src, s.call_event_id AS src_call, s.result_json, s.server AS s_server,
           s.result_fingerprints AS s_fps, o.arguments_fingerprints AS o_fps,
           coalesce(s.tool_name, s.method || ' ' || coalesce(s.target, '')) AS s_tool, {_SENSITIVE.replace(
               'tool_name', 's.tool_name')} AS s_named,
           o.call_event_id AS dst, o.arguments_json, o.server AS o_server, o.tool_name AS o_tool, o.start_time,
           o.scope, o.scope_kind, o.agent_id, o.open_world AS o_open, {_OUTBOUND.replace('tool_name', 'o.tool_name')}
           AS o_named_out, dp.params AS o_data_params
    FROM src s JOIN acts o ON o.session = s.session AND o.start_time > s.start_time
     AND o.start_time <= s.start_time + INTERVAL 1 HOUR AND o.call_event_id <> s.call_event_id
    LEFT JOIN {_DATA_PARAMS} dp ON dp.tool_definition_sha256 = o.tool_definition_sha256
    WHERE ((o.arguments_json IS NOT NULL AND length(o.arguments_json) >= 14) OR o.arguments_fingerprints IS NOT NULL)
      AND (o.server <> s.server OR o.open_world OR {_OUTBOUND.replace('tool_name', 'o.tool_name')}
           OR regexp_matches(o.arguments_json, {sql_regex(DESTINATION_SQL_RE)}) OR dp.params IS NOT NULL)
    """)
    out = []
    for r in rows:
        flows = content_flows(r["result_json"], r["arguments_json"])
        # the emitters' fingerprints of the chunks before redaction: a redacted secret that moved on still matches
        fp_hits = fingerprint_hits(r["s_fps"], r["o_fps"])
        if r["s_fps"] and r["o_fps"]:
            flows = _unmasked(flows)  # both sides fingerprinted: a redaction marker alike is no evidence
        if not flows and not fp_hits:
            continue
        carried = _data_param_values(r["o_data_params"], r["arguments_json"])
        crossing = (r["o_server"] != r["s_server"] or r["o_open"] or r["o_named_out"]
                    or bool(destinations(r["arguments_json"])))
        if not crossing:
            # only the data-asking parameter makes this a boundary: the flow must have landed in it
            flows = [f for f in flows if any(f in v for v in carried.values())]
            if not flows and not (fp_hits and any(len(v) >= MIN_CHUNK for v in carried.values())):
                continue
        kinds = sensitive_kinds("\n".join(flows))
        kinds |= {"secret" if label != "json_path" else "redacted_data" for label in fp_hits.values() if label}
        moved = sum(len(f) for f in flows)
        if not kinds and (moved >= 60 or len(flows) >= 3 or len(fp_hits) >= 3):
            kinds = sensitive_kinds(r["result_json"])  # a substantial part of a sensitive output
        if not kinds and r["s_named"]:
            kinds = {"sensitive_source"}
        if not kinds:
            continue
        dests = destinations(r["arguments_json"])
        boundary = ("another server" if r["o_server"] != r["s_server"] else
                    "an open-world tool" if r["o_open"] else
                    f"destination {dests[0]}" if dests else "an outbound tool" if r["o_named_out"] else
                    f"parameter {', '.join(sorted(carried))} that the tool's description asks to fill with other data")
        out.append(finding("exfiltration", r["start_time"],
                           {"scope": r["scope"], "scope_kind": _scope_label(r), "agent": r["agent_id"],
                            "source": f"{r['s_server']}.{r['s_tool']}", "sink": f"{r['o_server']}.{r['o_tool']}",
                            "data": ",".join(sorted(kinds)), "destination": dests[0] if dests else None},
                           [r["src_call"], r["src"], r["dst"]],
                           f"{len(flows)} piece(s) ({moved} chars"
                           + (f", {len(fp_hits)} chunk fingerprint(s) taken before redaction" if fp_hits else "")
                           + f"; {', '.join(sorted(kinds))}) of "
                           f"{inert(r['s_server'] + '.' + r['s_tool'], limit=60)} output sent via "
                           f"{inert(r['o_server'] + '.' + str(r['o_tool']), limit=60)} across "
                           f"{inert(boundary, limit=60)}"))
    secret_out = ctx.rows(_logical(ctx) + f"""
    SELECT l.call_event_id, l.server, l.tool_name, l.start_time, l.scope
    FROM logical l JOIN scope_events e ON e.event_id = l.call_event_id
    WHERE ({_OUTBOUND.replace('tool_name', 'l.tool_name')} OR l.open_world
           OR regexp_matches(coalesce(l.arguments_json, ''), {sql_regex(DESTINATION_SQL_RE)})) AND e.redacted
      AND array_to_string(e.redacted_paths, ' ') LIKE '%$.arguments%'
    """)
    for r in secret_out:
        out.append(finding("exfiltration", r["start_time"], {"scope": r["scope"], "sink": _desc(r)},
                           [r["call_event_id"]], f"secrets in the arguments of outbound {_desc(r)}"))
    return out


@rule("secret_exposure", "Secrets seen in MCP traffic", ("#16", "#19"), Severity.HIGH,
      "The emitters' redaction removed secrets (keys, tokens, JWTs, private keys, passwords) from traffic.")
def secret_exposure(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(f"""
    WITH hits AS (
      SELECT event_id, event_time, {SERVER_KEY} AS server,
             coalesce(tool_name, method, event_subtype, CAST(event_type AS VARCHAR)) AS what,
             split_part(unnest(redacted_paths), '@', 1) AS detector,
             CASE WHEN message_kind IN ('result', 'error') THEN 'result' ELSE 'request' END AS side
      FROM scope_events WHERE redacted AND redacted_paths IS NOT NULL
    )
    SELECT server, what, side, min(event_time) AS t, count(DISTINCT event_id) AS n,
           list(DISTINCT detector ORDER BY detector) AS detectors,
           list(DISTINCT event_id ORDER BY event_id)[:20] AS ids
    FROM hits WHERE detector NOT IN ('json_path') GROUP BY ALL ORDER BY t
    """)
    out = [finding("secret_exposure", r["t"], {"server": r["server"], "operation": r["what"],
                                                "detectors": ",".join(r["detectors"]), "side": r["side"]}, r["ids"],
                   f"{', '.join(r['detectors'])} in {r['side']} of {r['server']} {r['what']} "
                   f"({r['n']} event(s), redacted)",
                   Severity.HIGH if r["side"] == "result" else Severity.MEDIUM)
           for r in rows]
    # Secrets the emitters' vendor patterns did not know: key-like names with high-entropy values, left in clear.
    keyed = ctx.rows(f"""
    SELECT event_id, event_time, {SERVER_KEY} AS server,
           coalesce(tool_name, method, CAST(event_type AS VARCHAR)) AS what,
           CASE WHEN message_kind IN ('result', 'error') THEN 'result' ELSE 'request' END AS side,
           coalesce(result_json, arguments_json) AS text
    FROM scope_events WHERE event_type = 'message' AND message_kind IN ('request', 'result', 'error')
      AND regexp_matches(coalesce(result_json, arguments_json, ''), {sql_regex(KEYLIKE_SQL_RE)})
    """)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in keyed:
        if keylike_secrets("\n".join(leaves(r["text"]))):
            groups[(r["server"], r["what"], r["side"])].append(r)
    for (server, what, side), hits in groups.items():
        hits.sort(key=lambda h: h["event_time"])
        out.append(finding("secret_exposure", hits[0]["event_time"], {"server": server, "operation": what,
                                                                        "detectors": "keylike_high_entropy",
                                                                        "side": side},
                           [h["event_id"] for h in hits[:20]],
                           f"key-like name with a high-entropy value in {side} of {server} {what} "
                           f"({len(hits)} event(s), not redacted by the emitter)",
                           Severity.HIGH if side == "result" else Severity.MEDIUM))
    return out


@rule("denial_of_wallet", "Call floods, oversized payloads, runaway loops", ("#14", "#33"), Severity.MEDIUM,
      "More than 60 tool calls a minute in one conversation/connection; results over 1 MB; the same tool "
      "with the same arguments 10+ times within 5 minutes.")
def denial_of_wallet(ctx: RuleContext) -> list[Finding]:
    out = []
    for r in ctx.rows(_logical(ctx) + """
    SELECT scope, agent_id, time_bucket(INTERVAL 1 MINUTE, start_time) AS minute, count(*) AS n,
           list(call_event_id ORDER BY start_time)[:20] AS ids
    FROM logical GROUP BY scope, agent_id, minute HAVING count(*) > 60
    """):
        out.append(finding("denial_of_wallet", r["minute"], {"scope": r["scope"], "agent": r["agent_id"]}, r["ids"],
                           f"call flood: {r['n']} tool calls in one minute"))
    for r in ctx.rows(_logical(ctx) + """
    SELECT call_event_id, response_event_id, server, tool_name, start_time, result_size_bytes, scope
    FROM logical WHERE result_size_bytes > 1000000
    """):
        out.append(finding("denial_of_wallet", r["start_time"], {"scope": r["scope"], "tool": _desc(r)},
                           [r["call_event_id"], r["response_event_id"]],
                           f"oversized result: {_desc(r)} returned {r['result_size_bytes']:,} bytes"))
    for r in ctx.rows(_logical(ctx) + """
    SELECT scope, server, tool_name, arguments_sha256, time_bucket(INTERVAL 5 MINUTE, start_time) AS w,
           count(*) AS n, min(start_time) AS t, list(call_event_id ORDER BY start_time)[:20] AS ids
    FROM logical WHERE arguments_sha256 IS NOT NULL GROUP BY ALL HAVING count(*) >= 10
    """):
        out.append(finding("denial_of_wallet", r["t"], {"scope": r["scope"], "tool": _desc(r)}, r["ids"],
                           f"runaway loop: {_desc(r)} called {r['n']} times with identical arguments in 5 minutes"))
    return out


@rule("probing", "Bursts of errors, unknown methods, invalid params, 401/403", ("#27",), Severity.MEDIUM,
      "Ten or more protocol errors (-32600/-32601/-32602) or HTTP 401/403 from one connection or address "
      "within 5 minutes.")
def probing(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(f"""
    SELECT coalesce(src_ip, connection_id) AS source, time_bucket(INTERVAL 5 MINUTE, event_time) AS w,
           count(*) AS n, min(event_time) AS t, list(DISTINCT coalesce(CAST(error_code AS VARCHAR),
           'http ' || CAST(http_status AS VARCHAR))) AS kinds, list(event_id ORDER BY event_time)[:20] AS ids,
           any_value({SERVER_NAME_SQL}) AS server
    FROM scope_events
    WHERE error_code IN (-32600, -32601, -32602) OR http_status IN (401, 403)
    GROUP BY source, w HAVING count(*) >= 10
    """)
    return [finding("probing", r["t"], {"source": r["source"], "server": r["server"]}, r["ids"],
                    f"{r['n']} errors ({', '.join(str(k) for k in r['kinds'])}) from {r['source']} within 5 minutes")
            for r in rows]


@rule("first_use_anomaly", "First use of a tool against the agent's baseline; growing scopes", ("#20",),
      Severity.LOW, "An agent with an established baseline (20+ calls in the first half of its history) calls a "
      "tool it never used in that baseline; or a token subject's granted scopes grow.")
def first_use_anomaly(ctx: RuleContext) -> list[Finding]:
    out = []
    for r in ctx.rows(_logical(ctx) + """
    , spans AS (SELECT agent_id, min(start_time) AS a, max(start_time) AS b FROM logical
                WHERE agent_id IS NOT NULL GROUP BY agent_id),
    base AS (SELECT l.agent_id, l.server, l.tool_name FROM logical l JOIN spans s USING (agent_id)
             WHERE l.start_time <= s.a + (s.b - s.a) / 2),
    base_n AS (SELECT agent_id, count(*) AS n FROM base GROUP BY agent_id HAVING count(*) >= 20),
    later AS (SELECT l.agent_id, l.server, l.tool_name, min(l.start_time) AS t,
                     arg_min(l.call_event_id, l.start_time) AS id
              FROM logical l JOIN spans s USING (agent_id) WHERE l.start_time > s.a + (s.b - s.a) / 2
              GROUP BY ALL)
    SELECT later.* FROM later JOIN base_n USING (agent_id)
    WHERE NOT EXISTS (SELECT 1 FROM base b WHERE b.agent_id = later.agent_id AND b.server = later.server
                      AND b.tool_name = later.tool_name)
    """):
        out.append(finding("first_use_anomaly", r["t"], {"agent": r["agent_id"], "tool": _desc(r)}, [r["id"]],
                           f"agent {r['agent_id']} used {_desc(r)} for the first time after its baseline"))
    for r in ctx.rows("""
    WITH s AS (SELECT oauth_subject, event_time, event_id, oauth_scopes FROM scope_events
               WHERE oauth_subject IS NOT NULL AND oauth_scopes IS NOT NULL),
    firsts AS (SELECT oauth_subject, scope, min(event_time) AS t, arg_min(event_id, event_time) AS id
               FROM (SELECT oauth_subject, event_time, event_id, unnest(oauth_scopes) AS scope FROM s) GROUP BY ALL),
    starts AS (SELECT oauth_subject, min(event_time) AS t0 FROM s GROUP BY ALL)
    SELECT f.* FROM firsts f JOIN starts USING (oauth_subject) WHERE f.t > starts.t0
    """):
        out.append(finding("first_use_anomaly", r["t"], {"subject": r["oauth_subject"], "scope": r["scope"]},
                           [r["id"]], f"token subject {r['oauth_subject']} gained scope {r['scope']!r}"))
    return out


@rule("unapproved_destructive", "Destructive call without approval; approval storms", ("#9", "#13"),
      Severity.MEDIUM, "A destructive tool (destructiveHint, or a destructive name without readOnlyHint) ran "
      "with no user or policy approval recorded by the host; or 20+ approvals by one user within a minute.")
def unapproved_destructive(ctx: RuleContext) -> list[Finding]:
    out = []
    for r in ctx.rows(_logical(ctx) + f"""
    , approvals AS (SELECT tool_call_id, list(CAST(approval AS VARCHAR)) AS decisions FROM scope_events
                    WHERE event_type = 'host' AND event_subtype = 'approval' GROUP BY tool_call_id)
    SELECT l.call_event_id, l.server, l.tool_name, l.start_time, l.scope, l.agent_id, l.user_id, a.decisions
    FROM logical l LEFT JOIN approvals a ON a.tool_call_id = l.tool_call_id
    WHERE {_DESTRUCTIVE} AND l.status IN ('ok', 'tool_error', 'pending')
      AND NOT coalesce(list_has_any(a.decisions, ['user_approved', 'policy_allowed']), false)
    """):
        how = f"approval was {'/'.join(r['decisions'])}" if r["decisions"] else "no approval event"
        out.append(finding("unapproved_destructive", r["start_time"],
                           {"scope": r["scope"], "agent": r["agent_id"], "tool": _desc(r)}, [r["call_event_id"]],
                           f"destructive {_desc(r)} ran without user/policy approval ({how})"))
    for r in ctx.rows("""
    SELECT coalesce(user_id, agent_id, 'unknown') AS who, time_bucket(INTERVAL 1 MINUTE, event_time) AS m,
           count(*) AS n, min(event_time) AS t, list(event_id ORDER BY event_time)[:20] AS ids
    FROM scope_events WHERE event_type = 'host' AND event_subtype = 'approval' AND approval = 'user_approved'
    GROUP BY ALL HAVING count(*) >= 20
    """):
        out.append(finding("unapproved_destructive", r["t"], {"user": r["who"]}, r["ids"],
                           f"approval storm: {r['who']} approved {r['n']} calls in one minute", Severity.LOW))
    return out


@rule("argument_injection", "Path traversal or command-injection shaped arguments", ("#21", "#22"),
      Severity.HIGH, "Tool arguments containing ../ traversal, sensitive system paths, shell metacharacter "
      "sequences, command substitution or SQL injection shapes.")
def argument_injection(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_logical(ctx) + f"""
    SELECT call_event_id, server, tool_name, start_time, scope, agent_id,
           regexp_extract(arguments_json, {sql_regex(ARG_INJECTION_RE)}) AS hit
    FROM logical WHERE regexp_matches(arguments_json, {sql_regex(ARG_INJECTION_RE)})
    """)
    return [finding("argument_injection", r["start_time"], {"scope": r["scope"], "tool": _desc(r)},
                    [r["call_event_id"]], f"{_desc(r)} arguments contain {inert(r['hit'], limit=40)!r}")
            for r in rows]


@rule("capture_gap", "Capture gaps: lost events, broken hash chains, one-sided calls", ("#15", "#34"),
      Severity.MEDIUM, "Sequence gaps and hash-chain breaks per emitter (from the collector), emitter loss events, "
      "client calls no server-side emitter saw although that server is instrumented, and the reverse.")
def capture_gap(ctx: RuleContext) -> list[Finding]:
    out = []
    gaps = Path(ctx.store.root) / COMPLETENESS
    if gaps.exists():
        path = str(gaps).replace("'", "''")
        for r in ctx.rows(f"SELECT * FROM read_parquet('{path}')"):
            t = r.get("before_event_time") or r.get("after_event_time") or r["computed_at"]
            ids = ctx.rows("SELECT event_id FROM events WHERE emitter_instance_id = ? AND sequence IN (?, ?)",
                           [r["emitter_instance_id"], r["after_sequence"], r["before_sequence"]])
            out.append(finding("capture_gap", t, {"emitter": r["emitter_instance_id"], "kind": r["kind"]},
                               [x["event_id"] for x in ids] or [f"emitter:{r['emitter_instance_id']}"],
                               f"{r['kind']} in emitter {r['emitter_instance_id']}: "
                               f"{r.get('missing_count') or 0} event(s) missing between sequence "
                               f"{r['after_sequence']} and {r['before_sequence']}"))
    for r in ctx.rows("""
    SELECT event_id, event_time, emitter_instance_id, attributes_json FROM scope_events
    WHERE event_type = 'lifecycle' AND event_subtype = 'emitter_loss'
    """):
        out.append(finding("capture_gap", r["event_time"],
                           {"emitter": r["emitter_instance_id"], "kind": "emitter_loss"},
                           [r["event_id"]], f"emitter {r['emitter_instance_id']} reported lost events: "
                                            f"{inert(r['attributes_json'], limit=100)}"))
    for r in ctx.rows("""
    WITH instrumented AS (SELECT DISTINCT server FROM scope_calls WHERE emitter_role IN ('server', 'gateway')),
    client AS (SELECT * FROM scope_calls WHERE emitter_role = 'client' AND method = 'tools/call'
               AND trace_id IS NOT NULL AND server IN (SELECT server FROM instrumented)),
    srv AS (SELECT * FROM scope_calls WHERE emitter_role IN ('server', 'gateway') AND method = 'tools/call'),
    clients_seen AS (SELECT DISTINCT conversation_id FROM scope_calls WHERE emitter_role = 'client'
                     AND conversation_id IS NOT NULL)
    SELECT 'client call with no server-side record' AS what, c.call_event_id AS id, c.start_time AS t, c.server
    FROM client c WHERE NOT EXISTS (SELECT 1 FROM srv s WHERE s.trace_id = c.trace_id)
    UNION ALL
    SELECT 'server call with no client-side record', s.call_event_id, s.start_time, s.server
    FROM srv s WHERE s.conversation_id IN (SELECT conversation_id FROM clients_seen)
      -- two anti-joins, not one with an OR (an OR condition makes DuckDB compare every pair: 108 s on 1M events)
      AND NOT EXISTS (SELECT 1 FROM scope_calls c WHERE c.emitter_role = 'client' AND c.method = 'tools/call'
                      AND c.trace_id = s.trace_id)
      AND NOT EXISTS (SELECT 1 FROM scope_calls c WHERE c.emitter_role = 'client' AND c.method = 'tools/call'
                      AND c.tool_call_id = s.tool_call_id)
    """):
        out.append(finding("capture_gap", r["t"], {"server": r["server"], "kind": "one_sided_call"}, [r["id"]],
                           f"{r['what']} ({r['server']})"))
    return out
