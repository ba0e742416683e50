"""Chains for a finding id and for a host-process key (wrap-only fleets).

`chain_for_finding(store, FINDING_ID)` re-runs the finding's rule, then builds one chain that holds
every evidence event of the finding (a poisoned definition that was listed but never called, the
list_changed notification of a rug pull, the calls of an injection that span servers) together with
the action chains those events belong to. `chain_for_host_session(store, KEY)` joins the connections
of every server one host process spawned (the `host_process.id` that `wrap` records at spawn):
inferred, not declared by the host, and labelled so in the chain's `ident_kind`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from mcp_blackbox.forensics.chain import Chain, _edges, _gather, _placeholders, _rows, _tree, build_chain
from mcp_blackbox.forensics.store import Store
from mcp_blackbox.schema.errors import StoreError

FINDING_ID_RE: Final = re.compile(r"^[a-z][a-z0-9]*_[a-z0-9_]*-[0-9a-f]{16}$")  # rule ids have an underscore
HOST_KEY_RE: Final = re.compile(r"^hp-[0-9a-f]{16}$")


def host_session_connections(store: Store, key: str) -> list[str]:
    """Connections whose wrapped server was spawned by the host process `key`."""
    rows = store.con.execute(
        "SELECT DISTINCT connection_id FROM raw_events WHERE event_type = 'lifecycle' AND event_subtype = "
        "'server_spawn' AND json_extract_string(attributes_json, '$.host_process.id') = ? ORDER BY 1",
        [key]).fetchall()
    return [r[0] for r in rows]


def _assemble(ident: str, kind: str, rows: dict[str, dict[str, Any]]) -> Chain:
    ordered = sorted(rows.values(), key=lambda r: (r["event_time"], r["event_id"]))
    edges = _edges(ordered)
    return Chain(ident=ident, ident_kind=kind, roots=_tree(ordered, edges), edges=edges,
                 event_ids=[r["event_id"] for r in ordered], rows={r["event_id"]: r for r in ordered})


def _host_rows(store: Store, key: str) -> dict[str, dict[str, Any]]:
    conns = host_session_connections(store, key)
    if not conns:
        msg = f"no server spawned by host process {key!r} in {store.root}"
        raise StoreError(msg)
    seed = _rows(store, f"connection_id IN ({_placeholders(conns)})", conns)
    return {r["event_id"]: r for r in _gather(store, conns[0], "connection_id", seed)}


def chain_for_host_session(store: Store, key: str) -> Chain:
    """Every server of one host session (inferred from the wrap processes' common parent)."""
    return _assemble(key, "host_process (inferred)", _host_rows(store, key))


def chain_for_finding(store: Store, finding_id: str) -> Chain:
    """One chain holding every evidence event of the finding and the chains they belong to."""
    from mcp_blackbox.forensics.detections import all_rules, run_detections

    rule_id = finding_id.rsplit("-", 1)[0]
    if rule_id not in all_rules():
        msg = f"{finding_id!r} is not a finding id of a known rule"
        raise StoreError(msg)
    found = next((f for f in run_detections(store, [rule_id]) if f.finding_id == finding_id), None)
    if found is None:
        msg = f"no finding {finding_id!r} in {store.root} (rule {rule_id} does not report it)"
        raise StoreError(msg)
    rows: dict[str, dict[str, Any]] = {}
    scope = found.entities.get("scope")
    if scope and HOST_KEY_RE.fullmatch(scope):
        rows.update(_host_rows(store, scope))
    elif scope:
        try:
            rows.update(build_chain(store, scope).rows)
        except StoreError:
            pass  # a scope that is no chain id (already covered by the evidence below)
    evidence = [e for e in found.evidence_event_ids if e and not e.startswith("emitter:")]
    for event_id in evidence:
        if event_id not in rows:
            rows.update(build_chain(store, event_id).rows)
    missing = [e for e in evidence if e not in rows]
    if missing:
        rows.update({r["event_id"]: r for r in _rows(store, f"event_id IN ({_placeholders(missing)})", missing)})
    return _assemble(finding_id, f"finding ({found.rule_id})", rows)
