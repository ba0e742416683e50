"""Rules about the evidence itself: one event_id stored with different content (a forged or altered copy).

`events` keeps identical copies of an event once and every copy whose content differs (views.py), so an
event_id that occurs more than once in `events` is a conflict. Which copy is genuine is decided by the
emitter's hash chain, not by which one arrived first: the copy whose `prev_event_sha256` is the hash of
the previous event of its emitter instance's sequence, and whose own hash the next event's
`prev_event_sha256` names, fits the chain; the others are flagged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mcp_blackbox.forensics.detections import Finding, RuleContext, finding, rule
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.schema.enums import Severity
from mcp_blackbox.schema.errors import ValidationFailed
from mcp_blackbox.schema.model import AuditEvent
from mcp_blackbox.schema.wire import event_sha256

#: conflicts examined in detail per run (each costs a lookup of its neighbours); the rest are still counted
MAX_DETAILED = 500


def row_sha256(row: dict[str, Any]) -> str | None:
    """`event_sha256` of a stored row (what the emitter hashed), or None when the row is not a valid event."""
    fields = {k: v for k, v in row.items() if v is not None and k not in ("date", "ingest_time")}
    try:
        return event_sha256(AuditEvent.model_validate(fields))
    except (ValueError, ValidationFailed):
        return None


def _rows(ctx: RuleContext, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return ctx.rows(sql, params)


def _neighbours(ctx: RuleContext, copies: list[dict[str, Any]]) -> dict[tuple[str, int], list[str | None]]:
    """Hashes (and prev links) of the events next to each copy: {(emitter, sequence): [row_sha256, …]}."""
    wanted = sorted({(c["emitter_instance_id"], c["sequence"] + d) for c in copies for d in (-1, 1)
                     if c["emitter_instance_id"] is not None and c["sequence"] is not None})
    out: dict[tuple[str, int], list[Any]] = {}
    if not wanted:
        return out
    emitters = sorted({e for e, _ in wanted})
    seqs = sorted({s for _, s in wanted})
    rows = _rows(ctx, f"SELECT * FROM events WHERE emitter_instance_id IN ({', '.join('?' * len(emitters))}) "
                      f"AND sequence IN ({', '.join('?' * len(seqs))})", [*emitters, *seqs])
    for r in rows:
        key = (r["emitter_instance_id"], r["sequence"])
        if key in wanted:
            out.setdefault(key, []).append(r)
    return out


def _fit(copy: dict[str, Any], sha: str | None, neighbours: dict[tuple[str, int], list[Any]]) -> tuple[bool, str]:
    """Whether a copy fits its emitter's chain, and why (one phrase)."""
    emitter, seq = copy["emitter_instance_id"], copy["sequence"]
    prev_rows = neighbours.get((emitter, seq - 1), [])
    next_rows = neighbours.get((emitter, seq + 1), [])
    reasons = []
    prev_ok = next_ok = None
    if prev_rows:
        prev_ok = copy["prev_event_sha256"] in {row_sha256(p) for p in prev_rows}
        reasons.append("prev link ok" if prev_ok else "prev_event_sha256 is not the hash of the previous event")
    if next_rows and sha is not None:
        next_ok = sha in {n["prev_event_sha256"] for n in next_rows}
        reasons.append("next event links to it" if next_ok else "the next event does not link to it")
    if prev_ok is None and next_ok is None:
        return False, "no neighbouring event of its emitter to check against"
    return prev_ok is not False and next_ok is not False, ", ".join(reasons)


@rule("evidence_conflict", "One event_id stored with different content (forged or altered copy)",
      ("#23", "#24"), Severity.HIGH,
      "Two or more stored records share an event_id but differ in content. All copies stay visible in `events`; "
      "the emitter's hash chain (sequence and prev_event_sha256) decides which copy fits, the others are flagged.")
def evidence_conflict(ctx: RuleContext) -> list[Finding]:
    if ctx.rows("SELECT 1 FROM duckdb_tables() WHERE table_name = '_duplicate_ids' AND NOT temporary"):
        # prepared (views.prepare_events): only ids known to occur more than once can conflict, and `events`
        # is built from the same list, so no aggregate over every id is needed
        if not ctx.rows("SELECT 1 FROM _duplicate_ids LIMIT 1"):
            return []
        sql = ("SELECT event_id FROM scope_events SEMI JOIN _duplicate_ids USING (event_id) "
               "GROUP BY event_id HAVING count(*) > 1 ORDER BY event_id")
    else:
        sql = "SELECT event_id FROM scope_events GROUP BY event_id HAVING count(*) > 1 ORDER BY event_id"
    ids = [r["event_id"] for r in ctx.rows(sql)]
    out: list[Finding] = []
    for chunk_start in range(0, min(len(ids), MAX_DETAILED), 100):
        chunk = ids[chunk_start:chunk_start + 100]
        copies = _rows(ctx, f"SELECT * FROM events WHERE event_id IN ({', '.join('?' * len(chunk))}) "
                            "ORDER BY event_id, ingest_time NULLS LAST", chunk)
        neighbours = _neighbours(ctx, copies)
        by_id: dict[str, list[dict[str, Any]]] = {}
        for c in copies:
            by_id.setdefault(c["event_id"], []).append(c)
        for event_id, group in by_id.items():
            out.append(_conflict_finding(event_id, group, neighbours))
    return out


def _conflict_finding(event_id: str, group: list[dict[str, Any]],
                      neighbours: dict[tuple[str, int], list[Any]]) -> Finding:
    judged = []
    for c in group:
        sha = row_sha256(c)
        fits, why = _fit(c, sha, neighbours)
        judged.append((c, sha, fits, why))
    fitting = [j for j in judged if j[2]]
    genuine = fitting[0] if len(fitting) == 1 else None
    evidence = [event_id]
    for c, _sha, _fits, _why in judged:
        for d in (-1, 1):
            evidence.extend(n["event_id"] for n in neighbours.get((c["emitter_instance_id"], c["sequence"] + d), []))
    entities: dict[str, Any] = {"event_id": event_id, "copies": len(group),
                                "emitter": group[0]["emitter_instance_id"]}
    parts = []
    for n, (c, sha, _fits, why) in enumerate(judged, 1):
        label = "fits the chain" if genuine is not None and c is genuine[0] else "flagged"
        entities[f"copy{n}_sha256"] = sha or "invalid"
        entities[f"copy{n}_ingest_time"] = c["ingest_time"].isoformat() if isinstance(c["ingest_time"], datetime) \
            else c["ingest_time"]
        entities[f"copy{n}"] = label
        parts.append(f"copy {n} ({(sha or 'invalid')[:12]}, ingested {entities[f'copy{n}_ingest_time']}, "
                     f"seq {c['sequence']} of {inert(str(c['emitter_instance_id']), limit=40)}): {label} — {why}")
    if genuine is not None:
        entities["fits_chain_sha256"] = genuine[1]
        verdict = "the emitter's chain decides"
    else:
        verdict = "several copies fit the chain" if fitting else "no copy fits the chain"
    explanation = (f"event_id {inert(event_id, limit=40)} stored {len(group)} times with different content "
                   f"({verdict}): " + "; ".join(parts))
    time = min(c["event_time"] for c in group)
    return finding("evidence_conflict", time, entities, evidence, explanation)
