"""Play the attack scenarios through the real `mcp-blackbox wrap` and score the detections.

`run_scenario(scenario, workdir)` starts each server behind `mcp-blackbox wrap` (spool sink),
drives it with the official `mcp.Client` and the naive agent (in `full` mode also the client hook
and host events with a conversation id), writes the spooled events as a store, runs every rule,
and checks each expected finding and that its evidence is inside the chain its finding id opens.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from mcp_blackbox.schema.layout import events_dir
from samples.attacks.agent import NaiveAgent
from samples.attacks.scenarios import Scenario

HERE = Path(__file__).resolve().parent
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass
class Outcome:
    """How one scenario scored."""

    scenario: Scenario
    findings: list[Any]
    matched: dict[str, Any] = field(default_factory=dict)  # expectation -> finding or None
    chained: dict[str, bool] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def detected(self) -> bool:
        return self.error is None and all(self.matched.get(e) is not None for e in self.scenario.expect) \
            and all(self.chained.get(e) for e in self.scenario.expect)


def _exe() -> str:
    found = shutil.which("mcp-blackbox", path=str(Path(sys.executable).parent)) or shutil.which("mcp-blackbox")
    if found is None:
        msg = "mcp-blackbox console script not found (install the package: make setup)"
        raise RuntimeError(msg)
    return found


async def _play(scenario: Scenario, work: Path, sink: str) -> list[str]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from mcp_blackbox.collector.emit.emitter import Emitter
    from mcp_blackbox.collector.emit.host import HostRecorder
    from mcp_blackbox.collector.emit.sdk_client import tap
    from mcp_blackbox.schema.enums import Approval, EmitterRole

    files = work / "files"
    for rel, text in scenario.files.items():
        (files / rel).parent.mkdir(parents=True, exist_ok=True)
        (files / rel).write_text(text, encoding="utf-8")
    files.mkdir(parents=True, exist_ok=True)
    full = scenario.mode == "full"
    host_emitter = client_emitter = None
    host = None
    if full:
        host_emitter = Emitter(role=EmitterRole.HOST, component="naive_agent", sink=sink, agent_id="naive-agent",
                               model_name="scripted-naive-v1", user_id="user@example.com")
        client_emitter = Emitter(role=EmitterRole.CLIENT, component="sdk_client", sink=sink, agent_id="naive-agent")
        host = HostRecorder(host_emitter, conversation_id=f"conv-{scenario.sid}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        async with AsyncExitStack() as stack:
            clients: dict[str, Any] = {}

            async def call_tool(server: str, tool: str, arguments: dict[str, Any]) -> str:
                meta = None
                if host is not None:
                    choice = host.tool_choice(server=server, tool=tool, arguments=arguments, reason="naive agent")
                    host.approval(choice, approval=Approval.AUTO)
                    meta = host.call_meta(choice)
                result = await clients[server].call_tool(tool, arguments, meta=meta)
                return "".join(getattr(c, "text", "") for c in result.content)

            async def read_resource(server: str, uri: str) -> str:
                try:
                    result = await clients[server].read_resource(uri)
                except Exception as exc:  # noqa: BLE001 - a naive agent shrugs off a failed read
                    return f"error: {exc}"
                return "".join(getattr(c, "text", "") for c in result.contents)

            agent = NaiveAgent(call_tool, read_resource)
            for spec in scenario.servers:
                spec = {**spec, "root": str(files)}
                spec_path = work / f"{spec['name']}.json"
                spec_path.write_text(json.dumps(spec), encoding="utf-8")
                params = StdioServerParameters(command=_exe(), args=[
                    "wrap", "--name", spec["name"], "--sink", sink, "--", sys.executable, str(HERE / "server.py"),
                    str(spec_path)], env=env)
                transport: Any = stdio_client(params)
                if client_emitter is not None:
                    transport = tap(transport, client_emitter, server_config_name=spec["name"])
                clients[spec["name"]] = await stack.enter_async_context(Client(transport))
            for name, client in clients.items():
                agent.learn_tools(name, (await client.list_tools()).tools)
                if any(s.get("resources") for s in scenario.servers if s["name"] == name):
                    listed = await client.list_resources()
                    agent.learn_resources(name, [str(r.uri) for r in listed.resources])
            if host is not None:
                host.user_prompt(f"task of scenario {scenario.sid}")
            for step in scenario.task:
                if step[0] == "relist":
                    agent.learn_tools(step[1], (await clients[step[1]].list_tools(cache_mode="refresh")).tools)
                elif step[0] == "call":
                    await agent.call(step[1], step[2])
            return list(agent.steps)
    finally:
        if host_emitter is not None:
            host_emitter.close()
        if client_emitter is not None:
            client_emitter.close()


def spool_to_store(spool: Path, store: Path) -> int:
    """Write every spooled event as Parquet in the store layout (one file per day); returns the count."""
    import pyarrow.parquet as pq

    from mcp_blackbox.collector.spool import list_writers, read_records
    from mcp_blackbox.schema.arrow import events_to_table
    from mcp_blackbox.schema.wire import parse_event

    events = [parse_event(rec.value) for w in list_writers(spool) for rec in read_records(spool, w)]
    by_day: dict[str, list[Any]] = {}
    for e in events:
        by_day.setdefault(e.event_time.strftime("%Y-%m-%d"), []).append(e)
    for day, models in by_day.items():
        target = events_dir(store) / f"date={day}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(events_to_table(models), target / f"eval-0-{len(models) - 1}.parquet")
    events_dir(store).mkdir(parents=True, exist_ok=True)
    return len(events)


def chain_ident(finding: Any) -> str:
    """What `mcp-blackbox chain` is given for a finding: its id."""
    return str(finding.finding_id)


def _chain_covers(store: Any, finding: Any) -> bool:
    from mcp_blackbox.forensics.finding_chain import chain_for_finding

    try:
        chain = chain_for_finding(store, chain_ident(finding))
    except Exception:  # noqa: BLE001 - an id the chain cannot open counts as "no chain"
        return False
    ids = set(chain.event_ids)
    return all(e in ids for e in finding.evidence_event_ids if not e.startswith("emitter:"))


def score(scenario: Scenario, findings: list[Any], store: Any) -> tuple[dict[str, Any], dict[str, bool]]:
    """Match expectations to findings; check each matched finding's chain."""
    matched: dict[str, Any] = {}
    chained: dict[str, bool] = {}
    for exp in scenario.expect:
        rule_id, _, sev = exp.partition(":")
        cands = [f for f in findings if f.rule_id == rule_id
                 and SEVERITY_RANK[str(f.severity)] >= SEVERITY_RANK.get(sev or "info", 0)]
        cands.sort(key=lambda f: -SEVERITY_RANK[str(f.severity)])
        matched[exp] = cands[0] if cands else None
        chained[exp] = bool(cands) and _chain_covers(store, cands[0])
    return matched, chained


def run_scenario(scenario: Scenario, work: Path) -> Outcome:
    """Play, store, detect, score one scenario inside `work` (a fresh directory)."""
    from mcp_blackbox.forensics.detections import run_detections
    from mcp_blackbox.forensics.store import open_store

    spool, store_dir = work / "spool", work / "store"
    steps: list[str] = []
    try:
        steps = anyio.run(_play, scenario, work, f"spool://{spool}")
    except Exception as exc:  # noqa: BLE001 - a broken scenario is reported, not fatal to the evaluation
        return Outcome(scenario, [], error=f"play failed: {type(exc).__name__}: {exc}")
    spool_to_store(spool, store_dir)
    store = open_store(store_dir)
    try:
        findings = run_detections(store)
        matched, chained = score(scenario, findings, store)
    finally:
        store.close()
    return Outcome(scenario, findings, matched, chained, steps)
