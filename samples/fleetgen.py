"""Fleet histories for tests and benchmarks: realistic stores with labelled incidents.

    python -m mcp_blackbox.samples.fleetgen --events 1000000 --out /tmp/fleet [--seed 7] [--no-incidents]

Many hosts, users, agents and servers over 30 days, both protocol eras. Each conversation is what the
real emitters record: the host's prompt, tool choices and approvals; the client tap's request and
result; the gateway's (wrap/proxy) request and result of the same call, sharing the trace id; catalog
events with the full tool definitions when a connection lists tools. Normal behaviour is designed to
be benign for every rule (one server per conversation, fresh arguments, approvals for destructive
tools, moderate rates); `incidents=True` injects two instances of every detection, and
`STORE/ground-truth.json` lists them (with a key event each finding must cite) plus the ground-truth
causal edges of a sample of conversations.

Events are written in chunks straight to Parquet with the contract's Arrow schema (no per-event
validation: 10 million events take minutes, not hours), in the DESIGN §4 layout.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from mcp_blackbox.collector.ingest.parquet_sink import SORT_KEYS, sort_events, write_parquet
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.canonical import tool_catalog_sha256, tool_definition_sha256
from mcp_blackbox.schema.layout import EVENTS

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
CHUNK = 250_000

RO = {"readOnlyHint": True}
DESTRUCTIVE = {"readOnlyHint": False, "destructiveHint": True}
OPEN = {"readOnlyHint": True, "openWorldHint": True}
SERVERS: dict[str, list[tuple[str, str, dict[str, bool]]]] = {
    "github": [("list_pull_requests", "List pull requests of a repository.", RO),
               ("get_file_contents", "Read a file from a repository.", RO),
               ("create_issue", "Open an issue.", {"readOnlyHint": False}),
               ("delete_branch", "Delete a branch.", DESTRUCTIVE)],
    "jira": [("list_issues", "List issues of a project.", RO), ("add_comment", "Comment on an issue.", {}),
             ("transition_issue", "Move an issue to another status.", {"readOnlyHint": False})],
    "postgres": [("run_query", "Run a read-only SQL query.", RO), ("list_tables", "List tables.", RO)],
    "filesystem": [("read_file", "Read a text file.", RO), ("list_directory", "List a directory.", RO),
                   ("write_file", "Write a text file.", DESTRUCTIVE)],
    "web": [("fetch_page", "Fetch a web page as text.", OPEN), ("web_search", "Search the web.", OPEN)],
    "email": [("send_email", "Send an email.", {"readOnlyHint": False, "openWorldHint": True}),
              ("list_inbox", "List received mail.", RO)],
    "calendar": [("list_events", "List calendar events.", RO), ("create_event", "Create an event.", {})],
    "weather": [("get_forecast", "Get the forecast for a city.", RO)],
    "crm": [("find_contact", "Find a contact.", RO), ("update_contact", "Update a contact.", DESTRUCTIVE)],
    "s3": [("list_objects", "List bucket objects.", RO), ("get_object", "Read an object.", RO)],
}
CITIES = ("Oslo", "Lisbon", "Osaka", "Quito", "Accra", "Perth", "Tallinn", "Lima")


def _definition(name: str, desc: str, hints: dict[str, bool]) -> dict[str, Any]:
    return {"name": name, "description": desc, "annotations": dict(hints),
            "inputSchema": {"type": "object", "properties": {"arg": {"type": "string"}}}}


class Fleet:
    """Generates events; `rows` accumulate and are flushed to Parquet in chunks."""

    def __init__(self, root: Path, n_events: int, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.seed_tag = f"{seed & 0xFFFFFFFF:08x}"
        self.target = n_events
        self.count = 0  # ids minted (events and other ids)
        self.events = 0  # events written
        self.file_no = 0
        self.schema = arrow_schema()
        self.rows: list[dict[str, Any]] = []
        self.seq: dict[str, int] = {}
        scale = max(1, n_events // 20_000)
        self.hosts = [f"host-{i:04d}" for i in range(max(4, scale // 2))]
        self.users = [f"user{i:04d}@example.com" for i in range(max(8, scale))]
        self.defs = {s: [_definition(*t) for t in tools] for s, tools in SERVERS.items()}
        self.hashes = {s: {d["name"]: tool_definition_sha256(d) for d in defs} for s, defs in self.defs.items()}
        self.catalog_sha = {s: tool_catalog_sha256(defs) for s, defs in self.defs.items()}
        self.agent_tools: dict[str, list[tuple[str, str]]] = {}
        self.agent_turn: dict[str, int] = {}
        self.truth: dict[str, Any] = {"incidents": [], "edges": [], "conversations": []}

    # -- ids and rows -----------------------------------------------------------------------------

    def _id(self) -> str:
        self.count += 1
        h = f"{self.seed_tag}{self.count:024x}"
        return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-8{h[17:20]}-{h[20:32]}"

    def emit(self, t: datetime, emitter: str, role: str, **fields: Any) -> str:
        event_id = self._id()
        self.events += 1
        seq = self.seq.get(emitter, 0)
        self.seq[emitter] = seq + 1
        row = {"schema_version": 1, "event_id": event_id, "event_type": "message", "event_time": t,
               "ingest_time": t + timedelta(seconds=2), "emitter_instance_id": emitter, "sequence": seq,
               "emitter_role": role, "emitter_component": {"host": "agent", "client": "sdk_client"}.get(role, "wrap"),
               "emitter_version": "0.1.0", "redacted": False, **fields}
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()
        return event_id

    def flush(self) -> None:
        if not self.rows:
            return
        self.rows.sort(key=lambda r: r["event_time"])
        by_day: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows:
            by_day.setdefault(row["event_time"].strftime("%Y-%m-%d"), []).append(row)
        for day, rows in by_day.items():  # one file per day partition, as the collector lays them out
            target = self.root / EVENTS / f"date={day}"
            target.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(rows, schema=self.schema)
            # the collector's writer: its sort order, row groups, statistics and page index
            write_parquet(sort_events(table), target / f"gen-{self.file_no}-0-{len(rows) - 1}.parquet",
                          schema=self.schema, sorted_by=SORT_KEYS)
            self.file_no += 1
        self.rows = []

    # -- one conversation -------------------------------------------------------------------------

    def conversation(self, t: datetime, user: str, server: str, calls: int, *, record_truth: bool = False,
                     tools: list[str] | None = None, args: list[dict[str, Any]] | None = None,
                     results: list[Any] | None = None, approve: str | None = None, catalog: list[dict[str, Any]]
                     | None = None, host: str | None = None, gateway: bool = True, **extra: Any) -> dict[str, Any]:
        """Events of one agent conversation against one server; returns ids for incidents and truth."""
        rng = self.rng
        host = host or rng.choice(self.hosts)
        agent = f"agent-{user.split('@')[0]}"
        conv = f"conv-{self._id()}"
        era = "modern" if rng.random() < 0.4 else "legacy"
        version = "2026-07-28" if era == "modern" else "2025-11-25"
        day = t.strftime("%Y%m%d")
        host_em, client_em, gw_em = f"h-{host}-{day}", f"c-{host}-{day}", f"g-{host}-{server}-{day}"
        client_conn, gw_conn = f"cc-{conv}", f"gc-{conv}"
        common = {"host_name": host, "agent_id": agent, "user_id": user, "conversation_id": conv}
        srv = {"server_config_name": server, "server_name": server, "mcp_protocol_version": version,
               "protocol_era": era, "transport": "stdio", "client_info_name": "claude-desktop",
               "client_info_version": "1.4.2", **extra}
        defs = catalog or self.defs[server]
        hashes = {d["name"]: tool_definition_sha256(d) for d in defs}
        cat_sha = tool_catalog_sha256(defs)
        out: dict[str, Any] = {"conversation_id": conv, "calls": [], "catalogs": []}
        cat_json = json.dumps(defs)
        attrs = json.dumps({"tool_hashes": hashes})
        for em, role, conn in ((client_em, "client", client_conn), (gw_em, "gateway", gw_conn)):
            if role == "gateway" and not gateway:
                continue
            out["catalogs"].append(self.emit(t, em, role, event_type="catalog", event_subtype="tool_catalog",
                                             method="tools/list", connection_id=conn, tool_catalog_sha256=cat_sha,
                                             tool_definitions_json=cat_json, attributes_json=attrs,
                                             **common, **srv))
        prompt = self.emit(t + timedelta(milliseconds=5), host_em, "host", event_type="host",
                           event_subtype="user_prompt", connection_id=f"host:{conv}", direction="internal",
                           arguments_json=json.dumps({"prompt": f"help with {server} task {self.count}"}), **common)
        edges = []
        now = t + timedelta(seconds=1)
        names = tools or self._agent_tools(agent, server, calls)
        for i in range(calls):
            tool = names[i % len(names)]
            definition = next((d for d in defs if d["name"] == tool), None)
            destructive = bool(definition and definition["annotations"].get("destructiveHint"))
            call_id = f"call_{self._id()}"
            trace = f"{self.count:032x}"
            arguments = args[i] if args else {"arg": f"{rng.choice(CITIES)}-{self.count}"}
            result = results[i] if results else {"content": [{"type": "text", "text": f"ok {self.count}"}]}
            linking = {**common, "tool_call_id": call_id, "tool_name": tool, "target": tool}
            choice = self.emit(now, host_em, "host", event_type="host", event_subtype="tool_choice",
                               connection_id=f"host:{conv}", direction="internal", server_config_name=server,
                               arguments_json=json.dumps(arguments), **linking)
            decision = approve or ("user_approved" if destructive else "auto")
            appr = self.emit(now + timedelta(milliseconds=1), host_em, "host", event_type="host",
                             event_subtype="approval", connection_id=f"host:{conv}", direction="internal",
                             server_config_name=server, approval=decision, parent_event_id=choice, **linking)
            rid = str(i + 2)
            base = {**linking, **srv, "method": "tools/call", "jsonrpc_id": rid, "initiator": "client",
                    "trace_id": trace, "tool_definition_sha256": hashes.get(tool), "tool_catalog_sha256": cat_sha,
                    "arguments_json": json.dumps(arguments)}
            req_t = now + timedelta(milliseconds=2)
            dur = rng.uniform(5, 400)
            creq = self.emit(req_t, client_em, "client", message_kind="request", direction="client_to_server",
                             connection_id=client_conn, parent_event_id=choice, trace_source="emitter", **base)
            resp_fields = {**base, "result_json": json.dumps(result), "status": "ok",
                           "result_size_bytes": len(json.dumps(result))}
            resp_fields.pop("arguments_json")
            gw_ids: tuple[str, str] | None = None
            if gateway:
                greq = self.emit(req_t + timedelta(milliseconds=1), gw_em, "gateway", message_kind="request",
                                 direction="client_to_server", connection_id=gw_conn, trace_source="meta", **base)
                gres = self.emit(req_t + timedelta(milliseconds=1 + dur), gw_em, "gateway", message_kind="result",
                                 direction="server_to_client", connection_id=gw_conn, duration_ms=dur, **resp_fields)
                gw_ids = (greq, gres)
            cres = self.emit(req_t + timedelta(milliseconds=2 + dur), client_em, "client", message_kind="result",
                             direction="server_to_client", connection_id=client_conn, duration_ms=dur + 1,
                             **resp_fields)
            out["calls"].append({"tool": tool, "choice": choice, "client_request": creq, "client_result": cres,
                                 "gateway": gw_ids, "time": req_t})
            if record_truth:
                edges += [(prompt, choice, "prompt"), (choice, appr, "approval"), (choice, creq, "host_decision"),
                          (creq, cres, "response"), (out["catalogs"][0], creq, "tool_definition")]
                if gw_ids:
                    edges += [(creq, gw_ids[0], "client_server"), (gw_ids[0], gw_ids[1], "response"),
                              (out["catalogs"][1], gw_ids[0], "tool_definition")]
            now += timedelta(seconds=rng.uniform(2, 20))
        if record_truth:
            self.truth["conversations"].append(conv)
            self.truth["edges"] += [{"src_event_id": a, "dst_event_id": b, "kind": k} for a, b, k in edges]
        return out

    def _agent_tools(self, agent: str, server: str, calls: int) -> list[str]:
        """Each agent cycles through its tools of a server in a fixed order (a stable baseline)."""
        key = f"{agent}|{server}"
        if key not in self.agent_tools:
            names = [d["name"] for d in self.defs[server]]
            self.agent_tools[key] = [(server, n) for n in names]
        turn = self.agent_turn.get(key, 0)
        tools = [n for _, n in self.agent_tools[key]]
        self.agent_turn[key] = turn + calls
        return [tools[(turn + i) % len(tools)] for i in range(calls)]

    # -- normal traffic ---------------------------------------------------------------------------

    def normal(self, budget: int) -> None:
        """Fill `budget` events with benign conversations spread over the period."""
        servers = list(SERVERS)
        span = DAYS * 86400
        produced = 0
        k = 0
        user_servers = {u: self.rng.sample(servers, 3) for u in self.users}
        # day 0: every user touches each of its servers with every tool (a baseline), in its first hours
        for i, (user, mine) in enumerate(user_servers.items()):
            for j, server in enumerate(mine):
                t = START + timedelta(seconds=60 * i + 13 * j + 1)
                before = self.events
                self.conversation(t, user, server, len(self.defs[server]))
                produced += self.events - before
        while produced < budget:
            # day 0 sees every server first, so nothing in the normal fleet is "new" later
            offset = k * 37.0 if k < len(servers) else self.rng.uniform(0, span - 3600)
            t = START + timedelta(seconds=offset)
            user = self.rng.choice(self.users)
            server = servers[k % len(servers)] if k < len(servers) else self.rng.choice(user_servers[user])
            calls = self.rng.randint(2, 6)
            before = self.events
            self.conversation(t, user, server, calls, record_truth=k < 20)
            produced += self.events - before
            k += 1


def _compact_days(root: Path) -> None:
    """Merge each day's chunk files into one, as `mcp-blackbox compact` leaves a store (large sorted row groups)."""
    import pyarrow.parquet as pq

    schema = arrow_schema()
    for day in sorted((root / EVENTS).glob("date=*")):
        parts = sorted(day.glob("gen-*.parquet"))
        if len(parts) < 2:
            continue
        table = pa.concat_tables(pq.read_table(p, schema=schema) for p in parts)
        write_parquet(sort_events(table), day / f"gen-day-0-{table.num_rows - 1}.parquet", schema=schema,
                      sorted_by=SORT_KEYS)
        for p in parts:
            p.unlink()


def generate_store(root: Path, n_events: int, seed: int = 0, incidents: bool = True,
                   compact: bool = True) -> dict[str, Any]:
    """Write a store of about `n_events` events under `root`; returns the ground truth.

    Events are written in chunks (one file per day per chunk, like a collector's batches); `compact` then
    merges each day into one file, the layout `mcp-blackbox compact` produces.
    """
    from mcp_blackbox.samples.fleetgen_incidents import inject_all

    root = Path(root)
    (root / EVENTS).mkdir(parents=True, exist_ok=True)
    fleet = Fleet(root, n_events, seed)
    if incidents:
        inject_all(fleet)
    fleet.normal(n_events - fleet.events)
    fleet.flush()
    if compact:
        _compact_days(root)
    truth = {**fleet.truth, "events": fleet.events, "seed": seed, "incidents_injected": incidents}
    (root / "ground-truth.json").write_text(json.dumps(truth, indent=1, default=str), encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description="generate a fleet history store")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-incidents", action="store_true")
    parser.add_argument("--no-compact", action="store_true", help="keep the chunk files (an uncompacted store)")
    args = parser.parse_args(argv)
    truth = generate_store(args.out, args.events, args.seed, not args.no_incidents, compact=not args.no_compact)
    print(f"{truth['events']:,} events, {len(truth['incidents'])} incidents → {args.out}")


def iter_rules() -> Iterator[str]:
    """Rule ids the generator injects."""
    from mcp_blackbox.samples.fleetgen_incidents import INJECTORS

    yield from INJECTORS


if __name__ == "__main__":
    main()
