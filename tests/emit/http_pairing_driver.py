"""Rapid concurrent `tools/call`s through `mcp-blackbox proxy` to real Streamable HTTP servers; counts pairing.

The HTTP counterpart of pairing_driver.py (whose server specs, npm install helper and spool counts it
reuses), shared by tests/emit/test_http_pairing.py (2,000 calls) and benchmarks/bench_proxy_pairing.py
(10,000). Upstreams:

- npm `@modelcontextprotocol/server-everything` in its `streamableHttp` mode (`PORT` from the
  environment; answers every POST as an SSE stream, with a resumability event store);
- PyPI `mcp-server-time`: its own `create_server()` (an SDK `MCPServer`) served over the SDK's
  Streamable HTTP app, because its CLI speaks stdio only; `--json` makes the SDK answer with
  `application/json` instead of SSE. Run this file as a script for that: `python http_pairing_driver.py
  PORT [--json]`.

The driver opens one legacy session (initialize, notifications/initialized), then sends `tools/list`
together with the first calls and keeps `window` POSTs in flight. Afterwards the proxy is stopped
(SIGTERM, graceful), its spool is counted (pairing_driver.count) and, with `store=`, collected with the
real collector (`mcp-blackbox collect`) and counted in the store's `calls` view (`mcp-blackbox sql`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from edges_helpers import free_port, stop, wait_port
from pairing_driver import BIN, PairingRun, count

CLI = str(BIN / "mcp-blackbox")
ACCEPT = {"accept": "application/json, text/event-stream"}
PROTOCOL = "2025-11-25"


@dataclass(frozen=True)
class HttpServer:
    """A real Streamable HTTP MCP server: how to start it on a port, and the tool to call."""

    name: str
    shape: str  # "sse" or "json": how it answers a POST
    tool: str
    arguments: dict[str, Any]
    npm_entry: Path | None = None
    json_response: bool = False

    def command(self, port: int) -> tuple[list[str], dict[str, str]]:
        if self.npm_entry is not None:
            return [shutil.which("node") or "node", str(self.npm_entry), "streamableHttp"], {**os.environ,
                                                                                            "PORT": str(port)}
        args = [sys.executable, __file__, str(port)] + (["--json"] if self.json_response else [])
        return args, dict(os.environ)


def everything_http(entry: Path) -> HttpServer:
    return HttpServer("everything", "sse", "echo", {"message": "hello"}, npm_entry=entry)


def time_http(*, json_response: bool) -> HttpServer:
    return HttpServer("time", "json" if json_response else "sse", "get_current_time", {"timezone": "UTC"},
                      json_response=json_response)


@contextmanager
def upstream(server: HttpServer) -> Iterator[str]:
    """The server running on a free port; yields its MCP endpoint URL."""
    port = free_port()
    args, env = server.command(port)
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc, timeout=60)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(proc)


@contextmanager
def proxy(upstream_url: str, spool: Path, name: str, log: Path) -> Iterator[str]:
    """`mcp-blackbox proxy` in front of `upstream_url` on a free port; yields its URL. Stopped with SIGTERM.

    The port is chosen here and waited for (not read from the start-up line), so the driver also runs
    against a proxy without that line (the pre-fix code, to check the test against it).
    """
    base = upstream_url.rsplit("/mcp", 1)[0]
    port = free_port()
    with log.open("w") as err:
        proc = subprocess.Popen([CLI, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream", base, "--name", name,
                                 "--sink", f"spool://{spool}"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_port(port, proc, timeout=60)
        yield f"http://127.0.0.1:{port}/mcp"
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            stop(proc)


def _messages(resp: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of one POST's answer, whether a JSON body or an SSE stream."""
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        out: list[dict[str, Any]] = []
        data: list[str] = []
        for line in [*resp.text.splitlines(), ""]:
            if not line:
                text = "\n".join(data).strip()
                if text:
                    doc = json.loads(text)
                    out.extend(doc if isinstance(doc, list) else [doc])
                data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        return out
    if not resp.content:
        return []
    doc = resp.json()
    return doc if isinstance(doc, list) else [doc]


@dataclass
class HttpRun:
    """What the client saw: answers to its calls (results, errors), the rate, and failures."""

    calls: int
    seconds: float
    results: int
    errors: int
    catalog_tools: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


async def _drive(url: str, server: HttpServer, calls: int, window: int) -> HttpRun:
    limits = httpx2.Limits(max_connections=window, max_keepalive_connections=window)
    async with httpx2.AsyncClient(headers=ACCEPT, timeout=120, limits=limits) as http:
        init = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "http-pairing-driver", "version": "1"}}})
        init.raise_for_status()
        assert any(m.get("id") == 1 and "result" in m for m in _messages(init)), init.text
        headers = {"mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
        note = await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                               headers=headers)
        assert note.status_code in (200, 202), note.status_code

        tally = {"results": 0, "errors": 0}
        tools: list[Any] = []
        counter = iter(range(1000, 1000 + calls))

        async def post(rid: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
            resp = await http.post(url, json={"jsonrpc": "2.0", "id": rid, "method": method, "params": params},
                                   headers=headers)
            answers = [m for m in _messages(resp) if m.get("id") == rid and "method" not in m]
            if len(answers) != 1:
                msg = f"{method} {rid}: HTTP {resp.status_code}, {len(answers)} answers: {resp.text[:300]}"
                raise AssertionError(msg)
            return answers[0]

        async def listing() -> None:
            answer = await post(2, "tools/list", {})
            tools.extend(answer.get("result", {}).get("tools", []))

        async def worker() -> None:
            for rid in counter:
                answer = await post(rid, "tools/call", {"name": server.tool, "arguments": server.arguments})
                tally["results" if "result" in answer else "errors"] += 1

        start = time.perf_counter()
        # tools/list in flight together with the first calls: its answer must still pair and make the catalog
        await asyncio.gather(listing(), *(worker() for _ in range(window)))
        seconds = time.perf_counter() - start
    return HttpRun(calls, seconds, tally["results"], tally["errors"], len(tools))


def drive_direct(url: str, server: HttpServer, calls: int, *, window: int = 32) -> HttpRun:
    """The calls straight to the server (same-run baseline): what the client sees, nothing recorded."""
    return asyncio.run(_drive(url, server, calls, window))


@dataclass
class StoreCounts:
    """The `calls` view after the real collector stored the proxy's spool."""

    tool_calls: int
    answered: int
    ok: int
    pending: int
    uncorrelated: int
    with_duration: int
    catalogs: int
    all_pending: int  # every method (initialize, tools/list too)


def collect_and_count(spool: Path, store: Path) -> StoreCounts:
    """`mcp-blackbox collect` the spool into `store`, then count with `mcp-blackbox sql` (read-only)."""
    subprocess.run([CLI, "collect", "--source", f"spool://{spool}", "--store", str(store), "--until-idle", "2"],
                   check=True, capture_output=True, timeout=600)
    query = """
        SELECT count(*) FILTER (WHERE method = 'tools/call') AS tool_calls,
               count(*) FILTER (WHERE method = 'tools/call' AND status <> 'pending') AS answered,
               count(*) FILTER (WHERE method = 'tools/call' AND status = 'ok') AS ok,
               count(*) FILTER (WHERE method = 'tools/call' AND status = 'pending') AS pending,
               count(*) FILTER (WHERE method = 'tools/call' AND duration_ms IS NOT NULL) AS with_duration,
               count(*) FILTER (WHERE status = 'pending') AS all_pending,
               (SELECT count(*) FROM events WHERE status = 'uncorrelated') AS uncorrelated,
               (SELECT count(*) FROM events WHERE event_type = 'catalog') AS catalogs
        FROM calls"""
    out = subprocess.run([CLI, "sql", "--store", str(store), "--format", "json", query], check=True,
                         capture_output=True, text=True, timeout=300)
    doc = json.loads(out.stdout)
    row = doc[0] if isinstance(doc, list) else doc["rows"][0]
    return StoreCounts(**{k: int(row[k]) for k in StoreCounts.__dataclass_fields__})


@dataclass
class ProxiedRun:
    client: HttpRun
    spool: PairingRun
    store: StoreCounts | None


def drive_proxied(server: HttpServer, upstream_url: str, work: Path, calls: int, *, window: int = 32,
                  store: bool = True) -> ProxiedRun:
    """The calls through `mcp-blackbox proxy` to `upstream_url`; counts from the client, spool and store."""
    spool = work / "spool"
    with proxy(upstream_url, spool, server.name, work / "proxy.log") as url:
        client = drive_direct(url, server, calls, window=window)
    log = (work / "proxy.log").read_text()
    if "Traceback" in log:
        msg = f"the proxy logged a traceback: {log[-2000:]}"
        raise AssertionError(msg)
    counted = count(spool, calls, client.seconds, client.results + client.errors)
    return ProxiedRun(client, counted, collect_and_count(spool, work / "store") if store else None)


def _serve_time(port: int, *, json_response: bool) -> None:
    """PyPI mcp-server-time's own server (an SDK MCPServer) over the SDK's Streamable HTTP app."""
    import uvicorn
    from mcp_server_time.server import create_server

    app = create_server("UTC").streamable_http_app(json_response=json_response)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    _serve_time(int(sys.argv[1]), json_response="--json" in sys.argv)
