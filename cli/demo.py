"""`mcp-blackbox demo`: the bundled incident, played live and captured through the real paths.

1. Four real MCP servers (samples/servers/, installed as `mcp_blackbox.samples.servers`; official SDK)
   start over stdio, each behind `mcp-blackbox wrap` (gateway emitter); the customer database also runs
   the SDK server hook.
2. A scripted naive agent (samples/demo_agent.py) talks to them with `mcp.Client`, its transports
   tapped by the client hook, and records its prompt, tool choices and approvals with the host
   events API. It obeys the instruction hidden in a ticket (dump api_keys, post them to a webhook)
   and keeps using a tool whose definition changed mid-session.
3. Every emitter writes to the sink (the embedded spool by default, or `--sink kafka://…`); the
   collector turns that into a Parquet store; detections run; the TUI opens on the most severe
   finding, or with `--no-tui` the findings and the reconstructed chain are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from mcp_blackbox.schema.enums import Severity
from mcp_blackbox.schema.errors import BlackboxError, UsageError
from mcp_blackbox.schema.layout import is_store
from mcp_blackbox.schema.transport import SINK_PREFIXES, spool_url

CONVERSATION_ID = "conv-demo-incident"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox demo`."""
    parser.add_argument("--store", default="demo-store", help="store directory to create (default: ./demo-store)")
    parser.add_argument("--sink", default=None,
                        help="where emitters send events: kafka://host:port/topic (default: a spool beside the store)")
    parser.add_argument("--no-tui", action="store_true", help="print findings and the chain instead of the TUI")
    parser.add_argument("--keep", action="store_true", help="add to an existing store instead of replacing it")


def _exe() -> str:
    found = shutil.which("mcp-blackbox", path=str(Path(sys.executable).parent)) or shutil.which("mcp-blackbox")
    if found is None:
        msg = "the mcp-blackbox console script is not on PATH (install the package first: make demo)"
        raise UsageError(msg)
    return found


async def _play(sink: str, outbox: Path) -> Any:
    """Run the agent against the wrapped servers; returns its step log."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from mcp_blackbox.collector.emit.emitter import Emitter
    from mcp_blackbox.collector.emit.host import HostRecorder
    from mcp_blackbox.collector.emit.sdk_client import tap
    from mcp_blackbox.samples.demo_agent import SERVERS, run_scenario, server_script
    from mcp_blackbox.schema.enums import EmitterRole

    host_emitter = Emitter(role=EmitterRole.HOST, component="demo_agent", sink=sink,
                           agent_id="agent-helpdesk-01", agent_name="helpdesk-assistant",
                           model_name="scripted-naive-v1", user_id="alice@example.com")
    client_emitter = Emitter(role=EmitterRole.CLIENT, component="sdk_client", sink=sink,
                             agent_id="agent-helpdesk-01", agent_name="helpdesk-assistant", user_id="alice@example.com")
    host = HostRecorder(host_emitter, conversation_id=CONVERSATION_ID)
    env = {**os.environ, "MCP_BLACKBOX_SINK": sink, "DEMO_OUTBOX": str(outbox), "PYTHONUNBUFFERED": "1"}
    try:
        async with AsyncExitStack() as stack:
            clients: dict[str, Any] = {}
            for name in SERVERS:
                params = StdioServerParameters(
                    command=_exe(),
                    args=["wrap", "--name", name, "--sink", sink, "--", sys.executable, str(server_script(name))],
                    env=env,
                )
                transport = tap(stdio_client(params), client_emitter, server_config_name=name)
                clients[name] = await stack.enter_async_context(Client(transport, mode="legacy" if name in (
                    "helpdesk", "weather") else "auto"))
                await clients[name].list_tools()  # like any host: offer the model every server's tools

            host.user_prompt("Handle the newest support ticket, then tell me the weather in Oslo for tomorrow's "
                             "on-site visit.")

            async def call(server: str, tool: str, arguments: dict[str, Any], reason: str) -> str:
                choice = host.tool_choice(server=server, tool=tool, arguments=arguments, reason=reason)
                host.approval(choice, approval="auto")
                result = await clients[server].call_tool(tool, arguments, meta=host.call_meta(choice))
                if result.structured_content is not None:
                    content = result.structured_content
                    return json.dumps(content.get("result", content) if isinstance(content, dict) else content)
                return "".join(getattr(c, "text", "") for c in result.content)

            async def relist(server: str) -> list[str]:
                tools = await clients[server].list_tools(cache_mode="refresh")
                return [t.name for t in tools.tools]

            return await run_scenario(call, relist)
    finally:
        host_emitter.close()
        client_emitter.close()


def _collect(source: str, store: Path) -> None:
    cmd = [_exe(), "collect", "--source", source, "--store", str(store), "--until-idle", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - our own CLI
    if proc.returncode != 0:
        msg = f"collector failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
        raise BlackboxError(msg)


def run(args: argparse.Namespace) -> int:
    """Play, collect, detect, then investigate or print."""
    store = Path(args.store).resolve()
    if store.exists() and not args.keep:
        if not is_store(store) and any(store.iterdir()):
            msg = f"{store} exists and is not an mcp-blackbox store; pick another --store"
            raise UsageError(msg)
        shutil.rmtree(store)
    if args.sink and not args.sink.startswith(SINK_PREFIXES):
        msg = f"--sink must be spool:///dir or kafka://host:port/topic, not {args.sink!r}"
        raise UsageError(msg)
    store.mkdir(parents=True, exist_ok=True)
    # the spool and the webhook outbox are scratch: removed on the way out, whatever happens
    with tempfile.TemporaryDirectory(prefix="mcp-blackbox-demo-") as scratch:
        work = Path(scratch)
        sink = args.sink or spool_url(work / "spool")
        print(f"playing the incident (sink: {sink}) …", file=sys.stderr)
        log = asyncio.run(_play(sink, work / "outbox.jsonl"))
        for step in log.steps:
            print(f"  agent → {step.server}.{step.tool} {json.dumps(step.arguments)[:70]}", file=sys.stderr)
        print("collecting into the store …", file=sys.stderr)
        _collect(sink, store)

    from mcp_blackbox.forensics.chain import build_chain
    from mcp_blackbox.forensics.detections import run_detections
    from mcp_blackbox.forensics.safe import inert
    from mcp_blackbox.forensics.store import open_store

    opened = open_store(store)
    try:
        findings = run_detections(opened)
        findings.sort(key=lambda f: (Severity(f.severity).rank, f.time))
        if args.no_tui:
            print(f"\n{len(findings)} findings in {store}:")
            for f in findings:
                threats = ",".join(f.cosai_threats)
                print(inert(f"  {'[' + str(f.severity) + ']':<10} {f.rule_id:<22} {threats:<9} {f.explanation}"))
            chain = build_chain(opened, CONVERSATION_ID)
            print(f"\naction chain of conversation {CONVERSATION_ID}:")
            print(chain.to_tree_text())
            return 0
    finally:
        opened.close()
    from mcp_blackbox.tui.cli import launch

    return int(launch(store, focus_finding=findings[0].finding_id if findings else None))
