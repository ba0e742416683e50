"""Rules about what servers offer: rug pulls, poisoned and shadowing tools, shadow servers."""

from __future__ import annotations

from mcp_blackbox.forensics.detections import Finding, RuleContext, finding, rule
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.forensics.tags import POISON_RE, sql_regex
from mcp_blackbox.forensics.views import SERVER_KEY
from mcp_blackbox.schema.enums import Severity

# Tool definitions per server as catalog events list them, inside the scope.
_NAMED_BODY = f"""
  WITH defs AS (
    SELECT event_id, event_time, {SERVER_KEY} AS server, connection_id,
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


@rule("rug_pull", "Tool definition changed after first use", ("#32", "#2"), Severity.HIGH,
      "A server changed a tool's definition after an agent had already called it (rug pull).")
def rug_pull(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_defs(ctx) + """
    , versions AS (
      SELECT server, tool_name, sha, min(event_time) AS first_seen, arg_min(event_id, event_time) AS event_id,
             list(event_id ORDER BY event_time)[:4] AS ids
      FROM named GROUP BY ALL
    ), ordered AS (
      SELECT *, lag(sha) OVER w AS prev_sha, lag(event_id) OVER w AS prev_event_id
      FROM versions WINDOW w AS (PARTITION BY server, tool_name ORDER BY first_seen)
    )
    SELECT o.*, (SELECT arg_min(c.call_event_id, c.start_time) FROM scope_calls c
                 WHERE c.server = o.server AND c.tool_name = o.tool_name AND c.method = 'tools/call'
                   AND c.start_time < o.first_seen) AS used_before,
                (SELECT arg_min(c.call_event_id, c.start_time) FROM scope_calls c
                 WHERE c.server = o.server AND c.tool_name = o.tool_name AND c.method = 'tools/call'
                   AND c.tool_definition_sha256 = o.sha) AS used_after
    FROM ordered o WHERE prev_sha IS NOT NULL
    """)
    out = []
    for r in rows:
        if r["used_before"] is None:
            continue
        evidence = [r["prev_event_id"], r["used_before"], *r["ids"], r["used_after"]]
        after = "and was called again under the new definition" if r["used_after"] else "not called since"
        out.append(finding("rug_pull", r["first_seen"], {"server": r["server"], "tool": r["tool_name"],
                                                           "old_definition": r["prev_sha"], "new_definition": r["sha"]},
                           evidence, f"{r['server']}.{r['tool_name']} changed definition "
                                     f"{r['prev_sha'][:12]}→{r['sha'][:12]} after first use, {after}"))
    return out


@rule("tool_poisoning", "Instruction-like or hidden text in a tool definition", ("#2", "#3"), Severity.HIGH,
      "Tool descriptions or schemas carrying instructions for the model, hidden Unicode or secrets paths.")
def tool_poisoning(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_defs(ctx) + f"""
    SELECT server, tool_name, sha, min(event_time) AS first_seen, list(event_id ORDER BY event_time)[:10] AS ids,
           any_value(CAST(definition AS VARCHAR)) AS definition,
           regexp_extract(any_value(CAST(definition AS VARCHAR)), {sql_regex(POISON_RE)}) AS hit
    FROM named WHERE regexp_matches(CAST(definition AS VARCHAR), {sql_regex(POISON_RE)})
    GROUP BY server, tool_name, sha
    """)
    return [finding("tool_poisoning", r["first_seen"], {"server": r["server"], "tool": r["tool_name"],
                                                        "definition": r["sha"]},
                    r["ids"], f"{r['server']}.{r['tool_name']} definition contains "
                                     f"{inert(r['hit'], limit=40)!r}")
            for r in rows]


@rule("tool_shadowing", "Same or look-alike tool name on different servers", ("#5",), Severity.MEDIUM,
      "Two servers offer the same tool name, or names that differ only by case, separators or confusables.")
def tool_shadowing(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(_defs(ctx) + """
    , tools AS (
      SELECT server, tool_name, min(event_time) AS first_seen, list(event_id ORDER BY event_time)[:4] AS ids,
             translate(regexp_replace(lower(tool_name), '[-_. ]', '', 'g'), '0135', 'oles') AS norm
      FROM named GROUP BY server, tool_name
    )
    SELECT a.server AS server_a, a.tool_name AS tool_a, a.ids AS ids_a, b.server AS server_b,
           b.tool_name AS tool_b, b.ids AS ids_b, greatest(a.first_seen, b.first_seen) AS t
    FROM tools a JOIN tools b ON a.norm = b.norm AND a.server < b.server
    """)
    return [finding("tool_shadowing", r["t"], {"server": r["server_b"], "tool": r["tool_b"],
                                               "shadowed_server": r["server_a"], "shadowed_tool": r["tool_a"]},
                    [*r["ids_a"], *r["ids_b"]],
                    f"{r['server_b']}.{r['tool_b']} {'duplicates' if r['tool_a'] == r['tool_b'] else 'looks like'} "
                    f"{r['server_a']}.{r['tool_a']}")
            for r in rows]


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
