"""Rules about who called: token misuse, spoofed client identity, header/body mismatches."""

from __future__ import annotations

from mcp_blackbox.forensics.detections import Finding, RuleContext, finding, rule
from mcp_blackbox.schema.enums import Severity
from mcp_blackbox.schema.identity import SERVER_NAME_SQL


@rule("token_misuse", "Token audience mismatch; one token at several servers", ("#8", "#18"), Severity.HIGH,
      "A bearer token whose audience is not the server that received it (passthrough, confused deputy), or "
      "one token fingerprint presented to more than one server.")
def token_misuse(ctx: RuleContext) -> list[Finding]:
    out = []
    for r in ctx.rows(f"""
    SELECT {SERVER_NAME_SQL} AS server, server_url, token_audience,
           token_fingerprint, min(event_time) AS t, list(event_id ORDER BY event_time)[:20] AS ids
    FROM scope_events
    WHERE token_audience IS NOT NULL AND (server_url IS NOT NULL OR server_config_name IS NOT NULL)
      AND NOT list_has_any(string_split(token_audience, ','),
                           [server_url, rtrim(server_url, '/'), server_config_name, server_name])
      AND NOT starts_with(coalesce(server_url, ''), token_audience)
    GROUP BY ALL
    """):
        out.append(finding("token_misuse", r["t"], {"server": r["server"], "audience": r["token_audience"],
                                                     "token": (r["token_fingerprint"] or "")[:16]}, r["ids"],
                           f"token for audience {r['token_audience']!r} used at {r['server']}"))
    for r in ctx.rows(f"""
    SELECT token_fingerprint, count(DISTINCT {SERVER_NAME_SQL}) AS n,
           list(DISTINCT {SERVER_NAME_SQL}) AS servers, min(event_time) AS t,
           list(event_id ORDER BY event_time)[:20] AS ids
    FROM scope_events WHERE token_fingerprint IS NOT NULL GROUP BY token_fingerprint
    HAVING count(DISTINCT {SERVER_NAME_SQL}) > 1
    """):
        out.append(finding("token_misuse", r["t"], {"token": r["token_fingerprint"][:16]}, r["ids"],
                           f"one token used at {r['n']} servers: {', '.join(sorted(r['servers']))}"))
    return out


@rule("identity_spoofing", "Self-reported client identity contradicts the authenticated one", ("#1",),
      Severity.HIGH, "clientInfo.name differs from the token's client_id, or a self-reported user differs from "
      "the token subject.")
def identity_spoofing(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows("""
    SELECT connection_id, client_info_name, oauth_client_id, user_id, user_id_source, oauth_subject,
           min(event_time) AS t, list(event_id ORDER BY event_time)[:10] AS ids
    FROM scope_events
    WHERE (client_info_name IS NOT NULL AND oauth_client_id IS NOT NULL
           AND lower(client_info_name) <> lower(oauth_client_id)
           AND NOT contains(lower(client_info_name), lower(oauth_client_id))
           AND NOT contains(lower(oauth_client_id), lower(client_info_name)))
       OR (user_id_source = 'self_reported' AND oauth_subject IS NOT NULL AND user_id <> oauth_subject)
    GROUP BY ALL
    """)
    return [finding("identity_spoofing", r["t"], {"connection": r["connection_id"],
                                                  "claimed": r["client_info_name"] or r["user_id"],
                                                  "authenticated": r["oauth_client_id"] or r["oauth_subject"]},
                    r["ids"], f"client says {r['client_info_name'] or r['user_id']!r}, token says "
                              f"{r['oauth_client_id'] or r['oauth_subject']!r}")
            for r in rows]


@rule("header_mismatch", "Mcp-Method / Mcp-Name headers disagree with the body", ("#27", "#23"), Severity.HIGH,
      "Modern Streamable HTTP: the routing headers say one method or tool and the JSON body another "
      "(a gateway policy bypass), or the server answered -32020 HeaderMismatch.")
def header_mismatch(ctx: RuleContext) -> list[Finding]:
    rows = ctx.rows(f"""
    SELECT event_id, event_time, connection_id, method, tool_name, mcp_method_header, mcp_name_header, src_ip,
           {SERVER_NAME_SQL} AS server
    FROM scope_events WHERE list_contains(risk_flags, 'header_mismatch') OR error_code = -32020
    """)
    return [finding("header_mismatch", r["event_time"], {"server": r["server"], "source": r["src_ip"]},
                    [r["event_id"]], f"headers say {r['mcp_method_header']} {r['mcp_name_header'] or ''}, body says "
                                     f"{r['method']} {r['tool_name'] or ''}")
            for r in rows]
