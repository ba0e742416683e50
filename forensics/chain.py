"""Agent action chains: the causal tree of what an agent did, across host → client → server.

`build_chain(store, ident)` takes a conversation, connection, trace, tool-call or event id, gathers
the events involved (one expansion over shared tool_call_id / trace_id, plus the catalog events of
the connections touched), infers edges — each labelled with how — and arranges them as a tree:

    user prompt → tool choice → (approval) → client request → gateway/server request → responses

with data-flow edges (result content reappearing in later arguments, across servers) and the tool
definition in force for every call. `to_tree_text`, `to_json` and `to_markdown` render it.

Copies of one event_id with different content (a forged or altered copy; the `evidence_conflict`
detection) are all kept, as in `events`: the copy ingested first takes the event's place in the edges,
the others are nodes beside it, every copy flagged `evidence_conflict` (`ChainNode.conflict`, `copy`).
Identical copies are one node.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mcp_blackbox.forensics.dataflow import find_flows
from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.forensics.safe import inert
from mcp_blackbox.forensics.store import Store
from mcp_blackbox.forensics.views import DEDUP_COPIES
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.identity import SERVER_NAME_SQL

_COLUMNS = (
    "event_id, event_time, event_type, event_subtype, emitter_role, emitter_instance_id, connection_id, "
    "initiator, message_kind, jsonrpc_id, method, tool_name, prompt_name, resource_uri, target, "
    f"{SERVER_NAME_SQL} AS server, status, duration_ms, "
    "tool_definition_sha256, tool_catalog_sha256, trace_id, tool_call_id, conversation_id, parent_event_id, "
    "related_request_id, progress_token, task_id, request_state_sha256, arguments_json, result_json, "
    "approval, risk_flags, redacted_paths, attributes_json, agent_id, user_id, error_message, protocol_era, "
    "content_fingerprints"
)
_KINDS = ("event_id", "conversation_id", "tool_call_id", "trace_id", "connection_id")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_PARENT_PRIORITY = (EdgeKind.RESPONSE, EdgeKind.CLIENT_SERVER, EdgeKind.HOST_DECISION, EdgeKind.APPROVAL,
                    EdgeKind.MRTR_ROUND, EdgeKind.CANCEL, EdgeKind.PROGRESS, EdgeKind.TASK, EdgeKind.PROMPT)


@dataclass
class ChainEdge:
    """A causal link and how it was inferred."""

    src_event_id: str
    dst_event_id: str
    kind: str
    inferred_by: str
    confidence: float


@dataclass
class ChainNode:
    """One event in the tree."""

    event_id: str
    event_time: datetime
    emitter_role: str
    event_type: str
    event_subtype: str | None
    method: str | None
    tool_name: str | None
    target: str | None
    server: str | None
    status: str | None
    duration_ms: float | None
    tool_definition_sha256: str | None
    summary: str
    edge_kind: str | None = None
    inferred_by: str | None = None
    flags: list[str] = field(default_factory=list)
    data_from: list[str] = field(default_factory=list)
    data_to: list[str] = field(default_factory=list)
    children: list[ChainNode] = field(default_factory=list)
    #: copies of this event_id differ in content (evidence conflict): every copy is a node, `copy` numbers
    #: them in ingest order (0 = ingested first, the one the edges use), `copies` says how many there are
    conflict: bool = False
    copy: int = 0
    copies: int = 1


@dataclass
class Chain:
    """A reconstructed chain: roots of the tree, every edge, every event id."""

    ident: str
    ident_kind: str
    roots: list[ChainNode]
    edges: list[ChainEdge]
    event_ids: list[str]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: event_id -> every copy with different content, in ingest order (only conflicting ids; rows[id] is copy 0)
    conflicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def nodes(self) -> list[ChainNode]:
        """Every node, depth first."""
        out: list[ChainNode] = []
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ident, edges and the tree."""
        def node(n: ChainNode) -> dict[str, Any]:
            data = asdict(n)
            data["event_time"] = n.event_time.isoformat()
            data["children"] = [node(c) for c in n.children]
            return data

        return {"ident": self.ident, "ident_kind": self.ident_kind, "event_ids": self.event_ids,
                "edges": [asdict(e) for e in self.edges], "roots": [node(r) for r in self.roots]}

    def to_tree_text(self, *, width: int | None = 160) -> str:
        """The tree as indented text with inference labels (terminal-safe).

        A line longer than `width` has its summary cut, never its status, duration, definition or flags;
        `width=None` cuts nothing."""
        lines: list[str] = []

        def walk(n: ChainNode, prefix: str, last: bool, top: bool) -> None:
            branch = "" if top else ("└─ " if last else "├─ ")
            label = f"[{n.edge_kind}/{n.inferred_by}] " if n.edge_kind else ""
            extras = []
            if n.status:
                extras.append(n.status)
            if n.duration_ms is not None:
                extras.append(f"{n.duration_ms:.1f}ms")
            if n.tool_definition_sha256:
                extras.append(f"def {n.tool_definition_sha256[:12]}")
            if n.flags:
                extras.append("⚑ " + ",".join(n.flags))
            if n.conflict:
                extras.append(f"⚠ conflicting copy {n.copy + 1}/{n.copies}")
            if n.data_from:
                extras.append("⇠ data from " + ",".join(e[-8:] for e in n.data_from))
            tail = inert(f"  ({'; '.join(extras)})") if extras else ""
            head = inert(f"{prefix}{branch}{n.event_time.strftime('%H:%M:%S.%f')[:-3]} {label}")
            room = None if width is None else max(width - len(head) - len(tail), 12)
            lines.append(f"{head}{inert(n.summary, limit=room)}{tail}")
            child_prefix = prefix + ("" if top else ("   " if last else "│  "))
            for i, child in enumerate(n.children):
                walk(child, child_prefix, i == len(n.children) - 1, False)

        for root in self.roots:
            walk(root, "", True, True)
        flows = [e for e in self.edges if e.kind == EdgeKind.DATA_FLOW]
        if flows:
            lines.append("data flow:")
            for e in flows:
                src, dst = self.rows.get(e.src_event_id, {}), self.rows.get(e.dst_event_id, {})
                lines.append(inert(f"  {src.get('server')}.{src.get('tool_name')} result ({e.src_event_id}) ⇢ "
                                   f"{dst.get('server')}.{dst.get('tool_name')} arguments ({e.dst_event_id}) "
                                   f"[{e.inferred_by}, confidence {e.confidence}]", limit=width))
        return "\n".join(lines)

    def to_markdown(self, findings: list[Any] | None = None) -> str:
        """An incident report fit for a ticket."""
        from mcp_blackbox.forensics.report import chain_markdown

        return chain_markdown(self, findings or [])


# -- gathering ------------------------------------------------------------------------------------


def _rows(store: Store, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows of `raw_events` matching `where` (every stored copy), in time order.

    The filter runs on `raw_events` and copies are sorted out after it (`_copies`), so DuckDB pushes the
    predicate into the Parquet scan (zone maps, dictionary, bloom filters) instead of deduplicating the store.
    """
    return _fetch(store, f"SELECT {_COLUMNS}, ingest_time AS _ingest_time FROM raw_events WHERE {where} "  # noqa: S608 - constants
                         "ORDER BY event_time, event_id", params)


def _union_rows(store: Store, parts: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Several single-predicate lookups in one statement (an OR of them would defeat filter pushdown)."""
    sql = " UNION ALL ".join(f"(SELECT {_COLUMNS}, ingest_time AS _ingest_time FROM raw_events WHERE {where})"  # noqa: S608 - constants
                             for where, _ in parts)
    return _fetch(store, sql, [p for _, params in parts for p in params])


def _row_key(r: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable key of a fetched row's values (lists become tuples): equal for one stored row met twice."""
    return tuple(tuple(v) if isinstance(v, list) else v for v in r.values())


def _copies(store: Store, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(one row per event_id — the copy ingested first —, every differing copy of the conflicting ids).

    A row met by several lookups is one stored row (same columns, same ingest time). An id with several
    stored copies — rare: replays, or a conflict — is looked up once more by event_id (bloom filters) with
    `events`' own rule (`DEDUP_COPIES`: identical content is one copy), so the chain and `events` agree.
    """
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_event[r["event_id"]].append(r)
    stored: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for event_id, met in by_event.items():  # only ids met more than once pay for comparing values
        stored[event_id] = {(): met[0]} if len(met) == 1 else {_row_key(r): r for r in reversed(met)}
    multi = sorted(i for i, copies in stored.items() if len(copies) > 1)
    conflicts: dict[str, list[dict[str, Any]]] = {}
    if multi:
        found = _fetch(store, f"SELECT {_COLUMNS}, ingest_time AS _ingest_time FROM raw_events "  # noqa: S608 - constants
                              f"WHERE event_id IN ({_placeholders(multi)}) {DEDUP_COPIES}", multi)
        by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in found:
            by_id[r["event_id"]].append(r)
        for event_id, differing in by_id.items():
            differing.sort(key=lambda r: (r["_ingest_time"] is None, r["_ingest_time"] or 0))
            stored[event_id] = {(): differing[0]}
            if len(differing) > 1:
                conflicts[event_id] = differing
    firsts = []
    for copies in stored.values():
        first = min(copies.values(), key=lambda r: (r["_ingest_time"] is None, r["_ingest_time"] or 0))
        firsts.append(first)
    return sorted(firsts, key=lambda r: (r["event_time"], r["event_id"])), conflicts


def _fetch(store: Store, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = store.con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _placeholders(values: list[Any]) -> str:
    return ", ".join("?" * len(values))


def _resolve(store: Store, ident: str) -> tuple[str, list[dict[str, Any]]]:
    """The kind of `ident` (the first of `_KINDS` that carries it) and the events carrying it (the seed).

    event_id is only tried for UUID-shaped ids (the schema requires UUIDv7), saving a scan for the rest.
    """
    for kind in _KINDS:
        if kind == "event_id" and not _UUID_RE.fullmatch(ident):
            continue
        rows = _rows(store, f"{kind} = ?", [ident])
        if rows:
            return kind, rows
    msg = f"no event, conversation, tool call, trace or connection with id {ident!r} in {store.root}"
    raise StoreError(msg)


def _gather(store: Store, ident: str, kind: str, seed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if kind == "event_id":
        row = seed[0]
        for key in ("conversation_id", "trace_id", "connection_id"):
            if row.get(key):
                return _gather(store, row[key], key, _rows(store, f"{key} = ?", [row[key]]))
    call_ids = sorted({r["tool_call_id"] for r in seed if r["tool_call_id"]})
    traces = sorted({r["trace_id"] for r in seed if r["trace_id"]})
    conns = sorted({r["connection_id"] for r in seed})
    end = max(r["event_time"] for r in seed)
    parts: list[tuple[str, list[Any]]] = []
    if call_ids:
        parts.append((f"tool_call_id IN ({_placeholders(call_ids)})", call_ids))
    if traces:
        parts.append((f"trace_id IN ({_placeholders(traces)})", traces))
    if kind in ("conversation_id", "connection_id", "tool_call_id"):
        # the catalogs in force on the connections involved (definitions, changes) up to the end
        parts.append((f"event_type = 'catalog' AND event_time <= ? AND connection_id IN ({_placeholders(conns)})",
                      [end, *conns]))
    found = list(seed)
    if parts:
        found += _union_rows(store, parts)
    # the other side of each call (gateway/server events share the trace), their catalogs too
    more_conns = sorted({r["connection_id"] for r in found} - set(conns))
    if more_conns and kind != "trace_id":
        found += _union_rows(store, [(f"event_type = 'catalog' AND event_time <= ? AND connection_id IN "
                                      f"({_placeholders(more_conns)})", [end, *more_conns])])
    return sorted(found, key=lambda r: (r["event_time"], r["event_id"]))


# -- edges ----------------------------------------------------------------------------------------


def _edges(rows: list[dict[str, Any]]) -> list[ChainEdge]:
    edges: list[ChainEdge] = []
    requests: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    by_id = {r["event_id"]: r for r in rows}
    for r in rows:
        if r["event_type"] != "message" or r["jsonrpc_id"] is None:
            continue
        key = (r["emitter_instance_id"], r["connection_id"], r["initiator"] or "", r["jsonrpc_id"])
        if r["message_kind"] == "request":
            requests[key] = r
        elif r["message_kind"] in ("result", "error") and key in requests:
            edges.append(ChainEdge(requests[key]["event_id"], r["event_id"], EdgeKind.RESPONSE, "jsonrpc_id", 1.0))
    client_reqs = [r for r in rows if r["message_kind"] == "request" and r["emitter_role"] in ("client", "host")]
    server_reqs = [r for r in rows if r["message_kind"] == "request" and r["emitter_role"] in ("server", "gateway")]
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in server_reqs:
        if s["trace_id"]:
            by_trace[s["trace_id"]].append(s)
    matched_servers: set[str] = set()
    for c in client_reqs:
        for s in by_trace.get(c["trace_id"] or "", []):
            if s["method"] == c["method"] and s["event_id"] not in matched_servers:
                edges.append(ChainEdge(c["event_id"], s["event_id"], EdgeKind.CLIENT_SERVER, "trace", 0.95))
                matched_servers.add(s["event_id"])
                break
    choices = {r["tool_call_id"]: r for r in rows if r["event_type"] == "host" and r["event_subtype"] == "tool_choice"}
    for r in rows:
        if r["event_type"] == "host" and r["event_subtype"] == "approval" and r["parent_event_id"] in by_id:
            edges.append(ChainEdge(r["parent_event_id"], r["event_id"], EdgeKind.APPROVAL, "parent_event_id", 1.0))
    linked_calls: set[str] = set()
    for r in client_reqs + server_reqs:
        choice = choices.get(r["tool_call_id"] or "")
        if choice is None or r["tool_call_id"] in linked_calls:
            continue
        if r["emitter_role"] in ("server", "gateway") and any(
                c["tool_call_id"] == r["tool_call_id"] for c in client_reqs):
            continue  # the server side hangs under the client's request
        edges.append(ChainEdge(choice["event_id"], r["event_id"], EdgeKind.HOST_DECISION,
                               "parent_event_id" if r["parent_event_id"] == choice["event_id"] else "tool_call_id",
                               0.99))
        linked_calls.add(r["tool_call_id"])
    prompt: dict[str, Any] | None = None
    for r in rows:
        if r["event_type"] == "host" and r["event_subtype"] == "user_prompt":
            prompt = r
        elif r["event_type"] == "host" and r["event_subtype"] == "tool_choice" and prompt is not None:
            edges.append(ChainEdge(prompt["event_id"], r["event_id"], EdgeKind.PROMPT, "conversation_order", 0.9))
    edges += _protocol_links(rows)
    edges += _definition_links(rows)
    edges += _flow_links(rows)
    return edges


def _protocol_links(rows: list[dict[str, Any]]) -> list[ChainEdge]:
    edges = []
    by_state = {r["request_state_sha256"]: r for r in rows
                if r["status"] == "input_required" and r["request_state_sha256"]}
    reqs = {(r["emitter_instance_id"], r["connection_id"], r["jsonrpc_id"]): r for r in rows
            if r["message_kind"] == "request"}
    for r in rows:
        if r["message_kind"] == "request" and r["request_state_sha256"] in by_state:
            src = by_state[r["request_state_sha256"]]
            if src["emitter_instance_id"] == r["emitter_instance_id"]:
                edges.append(ChainEdge(src["event_id"], r["event_id"], EdgeKind.MRTR_ROUND, "request_state_sha256",
                                       1.0))
        if r["method"] in ("notifications/cancelled", "notifications/progress") and r["related_request_id"]:
            req = reqs.get((r["emitter_instance_id"], r["connection_id"], r["related_request_id"]))
            if req is not None:
                kind = EdgeKind.CANCEL if r["method"] == "notifications/cancelled" else EdgeKind.PROGRESS
                how = "related_request_id" if kind == EdgeKind.CANCEL else "progress_token"
                edges.append(ChainEdge(req["event_id"], r["event_id"], kind, how, 1.0))
    tasks = {r["task_id"]: r for r in rows if r["task_id"] and r["message_kind"] in ("result", "request")
             and not (r["method"] or "").startswith("tasks/")}
    for r in rows:
        if (r["method"] or "").startswith("tasks/") and r["task_id"] in tasks:
            edges.append(ChainEdge(tasks[r["task_id"]]["event_id"], r["event_id"], EdgeKind.TASK, "task_id", 1.0))
    return edges


def _definition_links(rows: list[dict[str, Any]]) -> list[ChainEdge]:
    """Catalog event that listed the definition in force → the call (latest such catalog before it)."""
    catalogs: list[tuple[dict[str, Any], dict[str, str]]] = []
    edges = []
    for r in rows:
        if r["event_type"] == "catalog":
            try:
                hashes = json.loads(r["attributes_json"] or "{}").get("tool_hashes") or {}
            except ValueError:
                hashes = {}
            catalogs.append((r, hashes))
        elif r["message_kind"] == "request" and r["method"] == "tools/call" and r["tool_definition_sha256"]:
            for cat, hashes in reversed(catalogs):
                if cat["connection_id"] == r["connection_id"] and \
                        hashes.get(r["tool_name"] or "") == r["tool_definition_sha256"]:
                    edges.append(ChainEdge(cat["event_id"], r["event_id"], EdgeKind.TOOL_DEFINITION,
                                           "tool_definition_sha256", 1.0))
                    break
    return edges


def _flow_links(rows: list[dict[str, Any]]) -> list[ChainEdge]:
    """Data flow between tools/call results and later tools/call arguments, one emitter view per call."""
    order = {r["event_id"]: i for i, r in enumerate(rows)}
    # Prefer the client's view of each call; fall back to the gateway/server view when no client saw it.
    seen_calls: set[tuple[str, str]] = set()
    picked: list[dict[str, Any]] = []
    for role in ("client", "host", "gateway", "server"):
        for r in rows:
            if r["emitter_role"] == role and r["method"] == "tools/call":
                key = r["tool_call_id"] or r["trace_id"] or r["event_id"]
                if (key, r["message_kind"]) in seen_calls:
                    continue
                picked.append(r)
        seen_calls |= {(r["tool_call_id"] or r["trace_id"] or r["event_id"], r["message_kind"]) for r in picked}
    results = [(r["event_id"], r["result_json"]) for r in picked if r["message_kind"] == "result"]
    arguments = [(r["event_id"], r["arguments_json"]) for r in picked if r["message_kind"] == "request"]
    fingerprints = {r["event_id"]: r.get("content_fingerprints") for r in picked if r.get("content_fingerprints")}
    return [ChainEdge(f.src_event_id, f.dst_event_id, EdgeKind.DATA_FLOW, "content_fingerprint", f.confidence)
            for f in find_flows(results, arguments, order, fingerprints)]


# -- tree -----------------------------------------------------------------------------------------


def _summary(r: dict[str, Any]) -> str:
    role = r["emitter_role"]
    server = r["server"] or "?"
    if r["event_type"] == "host":
        sub = r["event_subtype"] or "host"
        if sub == "user_prompt":
            return f"host user_prompt {_preview(r['arguments_json'], 'prompt')}"
        if sub == "tool_choice":
            return f"host tool_choice {server}.{r['tool_name']} {_preview(r['arguments_json'])}"
        if sub == "approval":
            return f"host approval {r['approval']} {server}.{r['tool_name']}"
        return f"host {sub}"
    if r["event_type"] == "catalog":
        flags = "CHANGED " if "catalog_changed" in (r["risk_flags"] or []) else ""
        sha = (r["tool_catalog_sha256"] or "")[:12]
        return f"{role} catalog {flags}{server} tools {sha}"
    if r["event_type"] == "lifecycle":
        return f"{role} {r['event_subtype']} {server}"
    what = f"{server}.{r['tool_name']}" if r["tool_name"] else (f"{server} {r['target']}" if r["target"] else server)
    if r["message_kind"] == "request":
        return f"{role} → {r['method']} {what} {_preview(r['arguments_json'])}"
    if r["message_kind"] in ("result", "error"):
        body = r["error_message"] or _preview(r["result_json"])
        return f"{role} ← {r['method'] or 'response'} {what} {body}"
    return f"{role} {r['method'] or r['event_subtype'] or r['event_type']} {what}"


def _preview(text: str | None, key: str | None = None, limit: int = 90) -> str:
    if not text:
        return ""
    if key:
        try:
            value = json.loads(text).get(key)
            text = value if isinstance(value, str) else text
        except (ValueError, AttributeError):
            pass
    return inert(text, limit=limit)


def _node(r: dict[str, Any]) -> ChainNode:
    return ChainNode(
        event_id=r["event_id"], event_time=r["event_time"], emitter_role=str(r["emitter_role"]),
        event_type=str(r["event_type"]), event_subtype=r["event_subtype"], method=r["method"],
        tool_name=r["tool_name"], target=r["target"], server=r["server"], status=r["status"],
        duration_ms=r["duration_ms"], tool_definition_sha256=r["tool_definition_sha256"], summary=_summary(r),
        flags=sorted(set(r["risk_flags"] or []) | ({"redacted"} if r["redacted_paths"] else set())))


def _add_conflicting_copies(roots: list[ChainNode], conflicts: dict[str, list[dict[str, Any]]]) -> None:
    """Flag every node of a conflicting id and put its other copies right after it, at the same place."""
    def walk(siblings: list[ChainNode]) -> None:
        i = 0
        while i < len(siblings):
            node = siblings[i]
            walk(node.children)
            copies = conflicts.get(node.event_id)
            if copies and not node.conflict:
                node.conflict, node.copies = True, len(copies)
                node.flags = sorted({*node.flags, "evidence_conflict"})
                extra = []
                for k, r in enumerate(copies[1:], 1):
                    twin = _node(r)
                    twin.conflict, twin.copy, twin.copies = True, k, len(copies)
                    twin.flags = sorted({*twin.flags, "evidence_conflict"})
                    twin.edge_kind, twin.inferred_by = node.edge_kind, node.inferred_by
                    extra.append(twin)
                siblings[i + 1:i + 1] = extra
                i += len(extra)
            i += 1

    walk(roots)


def _tree(rows: list[dict[str, Any]], edges: list[ChainEdge]) -> list[ChainNode]:
    nodes = {r["event_id"]: _node(r) for r in rows}
    parent: dict[str, ChainEdge] = {}
    rank: dict[str, int] = {k: i for i, k in enumerate(_PARENT_PRIORITY)}
    for e in edges:
        if e.kind == EdgeKind.DATA_FLOW:
            if e.src_event_id in nodes and e.dst_event_id in nodes:
                nodes[e.dst_event_id].data_from.append(e.src_event_id)
                nodes[e.src_event_id].data_to.append(e.dst_event_id)
            continue
        if e.kind not in rank or e.dst_event_id not in nodes or e.src_event_id not in nodes:
            continue
        current = parent.get(e.dst_event_id)
        if current is None or rank[e.kind] < rank[current.kind]:
            parent[e.dst_event_id] = e
    roots: list[ChainNode] = []
    groups: dict[str, ChainNode] = {}
    for r in rows:
        node = nodes[r["event_id"]]
        edge = parent.get(r["event_id"])
        if edge is not None and not _creates_cycle(edge, parent):
            node.edge_kind, node.inferred_by = edge.kind, edge.inferred_by
            nodes[edge.src_event_id].children.append(node)
        elif r["event_type"] == "host" or r["emitter_role"] == "host":
            roots.append(node)
        else:
            key = f"{r['emitter_role']}:{r['connection_id']}"
            if key not in groups:
                groups[key] = ChainNode(event_id=f"connection:{r['connection_id']}", event_time=r["event_time"],
                                        emitter_role=str(r["emitter_role"]), event_type="connection",
                                        event_subtype=None, method=None, tool_name=None, target=None,
                                        server=r["server"], status=None, duration_ms=None,
                                        tool_definition_sha256=None,
                                        summary=f"{r['emitter_role']} connection {r['connection_id']} "
                                                f"({r['server'] or '?'}, {r['protocol_era'] or 'era ?'})")
                roots.append(groups[key])
            groups[key].children.append(node)
    roots.sort(key=lambda n: n.event_time)
    return roots


def _creates_cycle(edge: ChainEdge, parent: dict[str, ChainEdge]) -> bool:
    seen = {edge.dst_event_id}
    cur: str | None = edge.src_event_id
    while cur is not None:
        if cur in seen:
            return True
        seen.add(cur)
        nxt = parent.get(cur)
        cur = nxt.src_event_id if nxt else None
    return False


def build_chain(store: Store, ident: str) -> Chain:
    """The action chain for a conversation, tool call, trace, connection or event id."""
    kind, seed = _resolve(store, ident)
    rows, conflicts = _copies(store, _gather(store, ident, kind, seed))
    edges = _edges(rows)
    roots = _tree(rows, edges)
    _add_conflicting_copies(roots, conflicts)
    return Chain(ident=ident, ident_kind=kind, roots=roots, edges=edges, event_ids=[r["event_id"] for r in rows],
                 rows={r["event_id"]: r for r in rows}, conflicts=conflicts)


def blast_radius(store: Store, *, server: str | None = None, tool: str | None = None,
                 tool_definition_sha256: str | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> list[dict[str, Any]]:
    """Who received output from a server / tool / tool version in a time range, and what they did next."""
    if not (server or tool or tool_definition_sha256):
        msg = "blast radius needs --server, --tool or --tool-definition"
        raise StoreError(msg)
    where = ["method = 'tools/call'", "response_event_id IS NOT NULL"]
    params: list[Any] = []
    for column, value in (("server", server), ("tool_name", tool), ("tool_definition_sha256", tool_definition_sha256)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if since:
        where.append("start_time >= ?")
        params.append(since)
    if until:
        where.append("start_time < ?")
        params.append(until)
    sql = f"""
    WITH src AS (SELECT * FROM calls WHERE {' AND '.join(where)}),
    nxt AS (
      SELECT s.call_event_id AS source_call, s.server AS source_server, s.tool_name AS source_tool,
             s.start_time AS source_time, coalesce(s.conversation_id, s.connection_id) AS scope,
             s.agent_id, s.user_id, c.call_event_id, c.server, c.tool_name, c.start_time, c.status,
             s.result_json, c.arguments_json, s.result_fingerprints, c.arguments_fingerprints
      FROM src s JOIN calls c
        ON c.method = 'tools/call' AND c.start_time > s.start_time
       AND c.start_time <= s.start_time + INTERVAL 1 HOUR AND c.emitter_role = s.emitter_role
       AND coalesce(c.conversation_id, c.connection_id) = coalesce(s.conversation_id, s.connection_id)
    )
    SELECT * FROM nxt ORDER BY source_time, start_time
    """  # noqa: S608 - column names are constants; values are parameters
    cur = store.con.execute(sql, params)
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        flows = find_flows([(rec["source_call"], rec.pop("result_json"))],
                           [(rec["call_event_id"], rec.pop("arguments_json"))],
                           {rec["source_call"]: 0, rec["call_event_id"]: 1},
                           {rec["source_call"]: rec.pop("result_fingerprints"),
                            rec["call_event_id"]: rec.pop("arguments_fingerprints")})
        rec["received_data"] = bool(flows)
        out.append(rec)
    return out
