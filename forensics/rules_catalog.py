"""Rules about what servers offer: rug pulls, poisoned and shadowing tools, shadow servers."""

from __future__ import annotations

import json
from typing import Any

from mcp_blackbox.forensics.detections import Finding, RuleContext, finding, rule
from mcp_blackbox.forensics.poisoning import Signal, definition_signals, follow_tokens, text_signals, verdict
from mcp_blackbox.forensics.rules_behavior import HOSTKEYS_SQL
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.forensics.views import SERVER_KEY
from mcp_blackbox.schema.enums import Severity

# Tool definitions per server as catalog events list them, inside the scope.
_NAMED_BODY = f"""
  WITH defs AS (
    SELECT event_id, event_time, {SERVER_KEY} AS server, connection_id, host_name,
           unnest(CAST(json_extract(tool_definitions_json, '$[*]') AS JSON[])) AS definition, attributes_json
    FROM scope_events WHERE event_type = 'catalog' AND tool_definitions_json IS NOT NULL
  )
  SELECT *, definition->>'name' AS tool_name,
         coalesce(json_extract_string(attributes_json, '$.tool_hashes."' || replace(definition->>'name', '"', '')
                  || '"'), sha256(CAST(definition AS VARCHAR))) AS sha
  FROM defs
"""


def _defs(ctx: RuleContext) -> str:
    """The `named` CTE (one row per tool definition a catalog event lists), shared by the catalog rules."""
    return ctx.cte("named", _NAMED_BODY)


@rule("rug_pull", "Tool definition changed after the host first saw it", ("#32", "#2"), Severity.HIGH,
      "A server changed a tool's definition after a host had listed, approved or called it, in the same session or "
      "across sessions of that server (rug pull), with the list_changed notification and the old/new definitions "
      "as evidence. Critical when the changed tool is then called.")
def rug_pull(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_defs(ctx) + """
    , versions AS (
      SELECT server, tool_name, sha, min(event_time) AS first_seen, arg_min(event_id, event_time) AS event_id,
             list(event_id ORDER BY event_time)[:4] AS ids, arg_min(CAST(definition AS VARCHAR), event_time) AS def,
             arg_min(connection_id, event_time) AS connection_id, arg_min(host_key, event_time) AS host_key
      FROM (SELECT named.*, hk.host_key FROM named LEFT JOIN """ + HOSTKEYS_SQL + """ hk USING (connection_id))
      GROUP BY server, tool_name, sha
    ), ordered AS (
      SELECT *, lag(sha) OVER w AS prev_sha, lag(event_id) OVER w AS prev_event_id, lag(def) OVER w AS prev_def,
             lag(first_seen) OVER w AS prev_seen, lag(connection_id) OVER w AS prev_connection,
             lag(host_key) OVER w AS prev_host_key
      FROM versions WINDOW w AS (PARTITION BY server, tool_name ORDER BY first_seen)
    ), host_conns AS (SELECT * FROM """ + HOSTKEYS_SQL + """ h WHERE host_key IS NOT NULL)
    SELECT o.*, (SELECT arg_min(c.call_event_id, c.start_time) FROM scope_calls c
                 WHERE c.server = o.server AND c.tool_name = o.tool_name AND c.method = 'tools/call'
                   AND c.start_time < o.first_seen) AS used_before,
                (SELECT arg_min(c.call_event_id, c.start_time) FROM scope_calls c
                 WHERE c.server = o.server AND c.tool_name = o.tool_name AND c.method = 'tools/call'
                   AND (c.tool_definition_sha256 = o.sha OR c.start_time > o.first_seen)) AS used_after,
                (SELECT arg_min(n.event_id, n.event_time) FROM scope_events n
                 WHERE n.method = 'notifications/tools/list_changed' AND n.event_time <= o.first_seen
                   AND (n.connection_id = o.connection_id OR n.connection_id IN (
                        SELECT h.connection_id FROM host_conns h WHERE h.host_key = o.host_key))) AS notified
    FROM ordered o WHERE prev_sha IS NOT NULL
    """)
    out = []
    for r in rows:
        evidence = [r["prev_event_id"], r["used_before"], r["notified"], *r["ids"], r["used_after"]]
        seen = "after first use" if r["used_before"] else "after it was first listed"
        after = "and was then called under the new definition" if r["used_after"] else "not called since"
        diff = _definition_diff(r["prev_def"], r["def"])
        # the old and the new definition reached different connections that one host process spawned: one host
        # session saw both (inferred from wrap's host-process key, no conversation id needed)
        joined = bool(r["host_key"] and r["prev_host_key"] == r["host_key"]
                      and r["prev_connection"] != r["connection_id"])
        entities = {"server": r["server"], "tool": r["tool_name"], "old_definition": r["prev_sha"],
                    "new_definition": r["sha"], "list_changed": r["notified"]}
        if r["host_key"]:
            entities |= {"scope": r["host_key"],
                         "scope_kind": "host process (inferred: servers spawned by one host process)"}
        out.append(finding("rug_pull", r["first_seen"], entities,
                           evidence, f"{r['server']}.{r['tool_name']} changed definition "
                                     f"{r['prev_sha'][:12]}→{r['sha'][:12]} {seen}"
                                     f"{' (tools/list_changed sent)' if r['notified'] else ''}, {after}; {diff}"
                                     + (" [across connections of one host process, inferred]" if joined else ""),
                           Severity.CRITICAL if r["used_after"] else Severity.HIGH))
    return out


def _definition_diff(old: str | None, new: str | None) -> str:
    """A one-line old/new diff of two definitions: which fields changed, and new poisoning signals."""
    try:
        a, b = json.loads(old or "{}"), json.loads(new or "{}")
    except ValueError:
        return "definitions differ"
    fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    added = sorted({s.name for s in definition_signals(b)} - {s.name for s in definition_signals(a)})
    desc = ""
    if "description" in fields:
        desc = f" (description {len(str(a.get('description') or ''))}→{len(str(b.get('description') or ''))} chars)"
    return f"changed {', '.join(fields) or 'nothing visible'}{desc}" + (f"; new signals: {', '.join(added)}"
                                                                        if added else "")


@rule("tool_poisoning", "Instruction-like or hidden text in a tool definition", ("#2", "#3"), Severity.HIGH,
      "Tool, prompt and resource metadata or server instructions that address the model: instruction blocks in any "
      "markup, concealment from the user, destination rewriting, references to other tools, instruction-bearing "
      "hidden parameters, invisible Unicode or terminal escapes. Each finding lists the signals that fired; "
      "critical when a later call carried what the text asked for (its addresses, numbers, URLs or paths).")
def tool_poisoning(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_defs(ctx) + """
    SELECT server, tool_name, sha, min(event_time) AS first_seen, list(event_id ORDER BY event_time)[:10] AS ids,
           any_value(CAST(definition AS VARCHAR)) AS definition, any_value(host_name) AS host_name,
           any_value(connection_id) AS connection_id
    FROM named GROUP BY server, tool_name, sha
    """)
    names = {r["tool_name"] for r in rows if r["tool_name"]}
    out: list[Finding] = []
    for r in rows:
        try:
            definition = json.loads(r["definition"])
        except ValueError:
            continue
        signals = definition_signals(definition if isinstance(definition, dict) else {}, names)
        if not verdict(signals):
            continue
        out.append(_poison_finding(ctx, r, signals, str(definition.get("description") or "")
                                   + json.dumps(definition.get("inputSchema") or {})))
    out.extend(_metadata_poisoning(ctx))
    return out


def _followed(ctx: RuleContext, text: str, since: Any, host_name: str | None) -> list[dict[str, Any]]:
    """Later calls (same machine, within a day) whose arguments or target carry a value the text names."""
    tokens = follow_tokens(text)
    if not tokens:
        return []
    likes = " OR ".join("strpos(coalesce(arguments_json, '') || ' ' || coalesce(target, ''), ?) > 0" for _ in tokens)
    return ctx.rows(f"""
    SELECT arg_min(call_event_id, start_time) AS call_event_id, server, tool_name, method, min(start_time) AS t,
           any_value(coalesce(arguments_json, '') || ' ' || coalesce(target, '')) AS carried
    FROM scope_calls
    WHERE method IN ('tools/call', 'resources/read', 'prompts/get') AND start_time >= ?
      AND start_time <= ? + INTERVAL 1 DAY AND (host_name IS NOT DISTINCT FROM ?) AND ({likes})
    GROUP BY coalesce(tool_call_id, trace_id, call_event_id), server, tool_name, method ORDER BY t LIMIT 10
    """, [since, since, host_name, *tokens])


def _poison_finding(ctx: RuleContext, r: dict[str, Any], signals: list[Signal], text: str) -> Finding:
    followed = _followed(ctx, text, r["first_seen"], r.get("host_name"))
    tokens = follow_tokens(text)
    shown = "; ".join(f"{s.name}({s.where}: {inert(s.snippet, limit=30)!r})" for s in signals[:6])
    how = ""
    if followed:
        f0 = followed[0]
        token = next((t for t in tokens if t in (f0["carried"] or "")), "")
        how = (f"; followed: {f0['server']}.{f0['tool_name'] or f0['method']} carried {inert(token, limit=40)!r}"
               + (f" (+{len(followed) - 1} more call(s))" if len(followed) > 1 else ""))
    return finding("tool_poisoning", r["first_seen"],
                   {"server": r["server"], "tool": r["tool_name"], "definition": r["sha"],
                    "signals": ",".join(dict.fromkeys(s.name for s in signals)),
                    "followed_by": ",".join(f["call_event_id"] for f in followed) or None},
                   [*r["ids"], *[f["call_event_id"] for f in followed]],
                   f"{r['server']}.{r['tool_name']} definition: {shown}{how}",
                   Severity.CRITICAL if followed else Severity.HIGH)


def _metadata_poisoning(ctx: RuleContext) -> list[Finding]:
    """Server instructions and prompt/resource metadata, scanned like tool descriptions."""
    rows = ctx.rows(f"""
    SELECT event_id, event_time, {SERVER_KEY} AS server, host_name,
           'instructions' AS kind, 'server instructions' AS what,
           json_extract_string(attributes_json, '$.instructions') AS text
    FROM scope_events WHERE attributes_json LIKE '%"instructions"%'
      AND json_extract_string(attributes_json, '$.instructions') IS NOT NULL
    UNION ALL
    SELECT response_event_id, end_time, server, host_name, split_part(method, '/', 1),
           coalesce(item->>'name', item->>'uri', '?'),
           concat_ws(' ', item->>'description', item->>'title', CAST(item->'arguments' AS VARCHAR))
    FROM (SELECT *, unnest(CAST(coalesce(json_extract(result_json, '$.prompts[*]'),
                                         json_extract(result_json, '$.resources[*]'),
                                         json_extract(result_json, '$.resourceTemplates[*]')) AS JSON[])) AS item
          FROM scope_calls WHERE method IN ('prompts/list', 'resources/list', 'resources/templates/list')
            AND status = 'ok' AND result_json IS NOT NULL)
    """)
    best: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["server"], r["kind"], r["what"], r["text"] or "")
        if r["text"] and (key not in best or r["event_time"] < best[key]["event_time"]):
            best[key] = r
    out = []
    for (server, kind, what, text), r in best.items():
        signals = text_signals(text, kind)
        if not verdict(signals):
            continue
        out.append(_poison_finding(ctx, {"server": server, "tool_name": f"{kind}:{what}", "sha": None,
                                         "first_seen": r["event_time"], "ids": [r["event_id"]],
                                         "host_name": r["host_name"]}, signals, text))
    return out


@rule("tool_shadowing", "Same or look-alike tool name on different servers", ("#5",), Severity.MEDIUM,
      "Two servers offer the same tool name, or names that differ only by case, separators or confusables.")
def tool_shadowing(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_defs(ctx) + """
    , tools AS (
      SELECT server, tool_name, min(event_time) AS first_seen, list(event_id ORDER BY event_time)[:4] AS ids,
             translate(regexp_replace(lower(tool_name), '[-_. ]', '', 'g'), '0135', 'oles') AS norm,
             list(DISTINCT hk.host_key) FILTER (WHERE hk.host_key IS NOT NULL) AS host_keys
      FROM named LEFT JOIN """ + HOSTKEYS_SQL + """ hk USING (connection_id) GROUP BY server, tool_name
    )
    SELECT a.server AS server_a, a.tool_name AS tool_a, a.ids AS ids_a, b.server AS server_b,
           b.tool_name AS tool_b, b.ids AS ids_b, greatest(a.first_seen, b.first_seen) AS t,
           list_intersect(coalesce(a.host_keys, []), coalesce(b.host_keys, [])) AS shared_hosts
    FROM tools a JOIN tools b ON a.norm = b.norm AND a.server < b.server
    """)
    out = []
    for r in rows:
        entities = {"server": r["server_b"], "tool": r["tool_b"], "shadowed_server": r["server_a"],
                    "shadowed_tool": r["tool_a"]}
        # both servers spawned by one host process: one agent saw both names (inferred from wrap's host-process key)
        shared = sorted(r["shared_hosts"] or [])
        if shared:
            entities |= {"scope": shared[0], "scope_kind": "host process (inferred: servers spawned by one host "
                                                           "process)"}
        out.append(finding("tool_shadowing", r["t"], entities, [*r["ids_a"], *r["ids_b"]],
                           f"{r['server_b']}.{r['tool_b']} "
                           f"{'duplicates' if r['tool_a'] == r['tool_b'] else 'looks like'} "
                           f"{r['server_a']}.{r['tool_a']}"
                           + (f" [in one host session: host process {shared[0]}, inferred]" if shared else "")))
    return out


@rule("shadow_server", "Server not in the approved inventory, or new to the fleet", ("#6", "#25"), Severity.MEDIUM,
      "With --inventory: any server whose name, URL, code hash or package is not approved. Without: a server first "
      "seen more than a day after the store's history begins.")
def shadow_server(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(f"""
    SELECT {SERVER_KEY} AS server, min(event_time) AS first_seen, list(event_id ORDER BY event_time)[:4] AS ids,
           list_distinct(list(server_url) FILTER (WHERE server_url IS NOT NULL)) AS urls,
           list_distinct(list(server_binary_sha256) FILTER (WHERE server_binary_sha256 IS NOT NULL)) AS binaries,
           list_distinct(list(json_extract_string(attributes_json, '$.server_package.package_name') || '@' ||
                              coalesce(json_extract_string(attributes_json, '$.server_package.package_version'), ''))
                         FILTER (WHERE event_subtype IN ('server_spawn', 'server_identity')
                                 AND json_extract_string(attributes_json, '$.server_package.package_name')
                                     IS NOT NULL)) AS packages,
           count(DISTINCT host_name) AS hosts,
           (SELECT min(event_time) FROM scope_events) AS history_start
    FROM scope_events WHERE emitter_role <> 'host' GROUP BY 1
    """)
    out = []
    inv = ctx.inventory
    for r in rows:
        if inv is not None:
            reasons = []
            if r["server"] not in inv.names:
                reasons.append("name not approved")
            bad_urls = [u for u in r["urls"] or [] if u not in inv.urls]
            if bad_urls:
                reasons.append(f"URL {bad_urls[0]} not approved")
            bad_bins = [b for b in r["binaries"] or [] if b not in inv.binary_sha256]
            if bad_bins and inv.binary_sha256:
                reasons.append(f"binary {bad_bins[0][:12]} not approved")
            # packages seen at spawn (interpreted servers): `name` approves every version, `name@v` one
            bad_pkgs = [p for p in r["packages"] or [] if p not in inv.packages
                        and p.rsplit("@", 1)[0] not in inv.packages]
            if bad_pkgs and inv.packages:
                reasons.append(f"package {bad_pkgs[0].rstrip('@')} not approved")
            if reasons:
                out.append(finding("shadow_server", r["first_seen"], {"server": r["server"]}, r["ids"],
                                   f"server {r['server']} on {r['hosts']} host(s): {'; '.join(reasons)}"))
        elif (r["first_seen"] - r["history_start"]).total_seconds() > 86400:
            out.append(finding("shadow_server", r["first_seen"], {"server": r["server"]}, r["ids"],
                               f"server {r['server']} new to the fleet: first seen {r['first_seen']:%Y-%m-%d %H:%M}, "
                               f"{(r['first_seen'] - r['history_start']).days} days after history begins",
                               Severity.LOW))
    return out
