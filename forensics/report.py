"""The markdown incident report of a chain: timeline, actors, servers, tool versions, findings, evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.forensics.safe import inert

if TYPE_CHECKING:
    from mcp_blackbox.forensics.chain import Chain


def _cell(value: Any, limit: int = 100) -> str:
    return inert(str(value) if value is not None else "", limit=limit).replace("|", "\\|")


def chain_markdown(chain: Chain, findings: list[Any]) -> str:
    """Render `chain` (and the findings whose evidence touches it) as markdown."""
    rows = [chain.rows[e] for e in chain.event_ids]
    ids = set(chain.event_ids)
    relevant = [f for f in findings if ids & set(f.evidence_event_ids)]
    first = rows[0]["event_time"] if rows else None
    last = rows[-1]["event_time"] if rows else None
    out = [f"# Incident report: {chain.ident_kind} `{_cell(chain.ident)}`", ""]
    out.append(f"- Time range: {first} → {last}")
    out.append(f"- Events: {len(rows)}; edges: {len(chain.edges)} "
               f"({sum(1 for e in chain.edges if e.kind == EdgeKind.DATA_FLOW)} data flow)")
    agents = sorted({str(r['agent_id']) for r in rows if r['agent_id']})
    users = sorted({str(r['user_id']) for r in rows if r['user_id']})
    out.append(f"- Agents: {', '.join(_cell(a) for a in agents) or 'unknown'}; users: "
               f"{', '.join(_cell(u) for u in users) or 'unknown'}")
    out += ["", "## Findings", ""]
    if relevant:
        out.append("| severity | rule | CoSAI | time | explanation |")
        out.append("| --- | --- | --- | --- | --- |")
        for f in relevant:
            out.append(f"| {f.severity} | {f.rule_id} | {', '.join(f.cosai_threats)} | {f.time:%Y-%m-%d %H:%M:%S} "
                       f"| {_cell(f.explanation, 200)} |")
    else:
        out.append("None of the findings supplied touch this chain.")
    out += ["", "## Servers and tool versions", "", "| server | tool | definition in force | calls |",
            "| --- | --- | --- | --- |"]
    versions: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r["method"] == "tools/call" and r["message_kind"] == "request":
            key = (str(r["server"]), str(r["tool_name"]), str(r["tool_definition_sha256"] or "unknown"))
            versions[key] = versions.get(key, 0) + 1
    for (server, tool, sha), count in sorted(versions.items()):
        out.append(f"| {_cell(server)} | {_cell(tool)} | `{sha[:16]}` | {count} |")
    out += ["", "## Timeline", "", "```"]
    out.append(chain.to_tree_text(width=200))
    out += ["```", "", "## Evidence", "", "Event ids (verify the store with `mcp-blackbox verify`):", ""]
    for f in relevant:
        out.append(f"- {f.rule_id}: " + ", ".join(f"`{e}`" for e in f.evidence_event_ids))
    out.append(f"- chain: {len(chain.event_ids)} events, first `{chain.event_ids[0] if chain.event_ids else ''}`")
    return "\n".join(out) + "\n"
