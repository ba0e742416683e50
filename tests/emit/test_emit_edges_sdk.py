"""The official SDK's client (`tap`) and server (`instrument_server` + `instrument_app`), stdio and HTTP, both eras."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from edges_helpers import ISSUER, free_port, make_jwt, start_upstream, stop
from emit_helpers import spool_bytes, spooled
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.host import HostRecorder
from mcp_blackbox.collector.emit.sdk_client import tap
from mcp_blackbox.schema.hashing import ContentHasher

HELPER = str(Path(__file__).resolve().parent / "edges_helpers.py")


async def _drive(transport: Any, mode: str, gate: Path) -> str:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        gate.touch()  # the server-initiated notification arrived: let the gated tool finish

    async with Client(transport, mode=mode) as client:
        await client.list_tools()
        result = await client.call_tool("get_ticket", {"ticket_id": "T-1042"})
        gated = await client.call_tool("gated", {"path": str(gate)}, progress_callback=on_progress)
        return f"{result.structured_content} {getattr(gated.content[0], 'text', '')}"


async def _stdio(spool: Path, client_em: Emitter, mode: str) -> str:
    params = StdioServerParameters(command=sys.executable, args=[HELPER, "stdio", "--instrument", str(spool)])
    return await _drive(tap(stdio_client(params), client_em, server_config_name="helpdesk"), mode,
                        spool.parent / "gate")


async def _http(url: str, client_em: Emitter, mode: str, headers: dict[str, str] | None = None) -> str:
    async with httpx2.AsyncClient(headers=headers or {}) as http:
        transport = tap(streamable_http_client(url, http_client=http), client_em, server_config_name="helpdesk")
        return await _drive(transport, mode, Path(client_em.config.sink[len("spool://"):]).parent / "gate")


def _messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] == "message"]


def _keyed(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((e.get("method"), e.get("message_kind"), e.get("jsonrpc_id"), e["direction"])
                  for e in _messages(events))


def _check_pair(client: list[dict[str, Any]], server: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    assert _keyed(server) == _keyed(client), "server and client saw the same messages"
    assert len(_keyed(server)) == len(set(_keyed(server))), "each message exactly once per emitter"
    c_call = next(e for e in _messages(client) if e.get("method") == "tools/call" and e["message_kind"] == "request")
    s_call = next(e for e in _messages(server) if e.get("method") == "tools/call" and e["message_kind"] == "request")
    assert c_call["trace_id"] == s_call["trace_id"] is not None and c_call["trace_source"] == "emitter"
    assert s_call["trace_source"] == "meta" and s_call["tool_name"] == "get_ticket"
    era = "legacy" if mode == "legacy" else "modern"
    assert s_call["protocol_era"] == era and c_call["protocol_era"] == era
    results = [e for e in _messages(client + server) if e["message_kind"] == "result"]
    assert results and all(e["duration_ms"] is not None for e in results)
    s_result = next(e for e in _messages(server) if e.get("method") == "tools/call" and e["message_kind"] == "result")
    assert s_result["tool_name"] == "get_ticket" and s_result["status"] == "ok"
    assert s_result["emitter_component"] == "sdk_server" and s_result["emitter_role"] == "server"
    # server-initiated traffic (outside the middleware) is seen once too, on the same connection
    progress = [e for e in _messages(server) if e.get("method") == "notifications/progress"]
    assert len(progress) == 1 and progress[0]["direction"] == "server_to_client"
    return s_call


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_stdio_client_and_server_hooks(tmp_path: Path, mode: str) -> None:
    client_em = Emitter("client", "sdk_client", sink=f"spool://{tmp_path / 'client'}")
    try:
        out = anyio.run(_stdio, tmp_path / "server", client_em, mode)
    finally:
        client_em.close()
    assert "T-1042" in out and "gate opened" in out
    s_call = _check_pair(spooled(tmp_path / "client"), spooled(tmp_path / "server"), mode)
    assert s_call["transport"] == "stdio"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_http_client_and_server_hooks(tmp_path: Path, mode: str) -> None:
    port = free_port()
    proc = start_upstream(port, instrument=tmp_path / "server")
    client_em = Emitter("client", "sdk_client", sink=f"spool://{tmp_path / 'client'}")
    try:
        out = anyio.run(_http, f"http://127.0.0.1:{port}/mcp", client_em, mode)
    finally:
        client_em.close()
        stop(proc)
    assert "T-1042" in out and "gate opened" in out
    server = spooled(tmp_path / "server")
    s_call = _check_pair(spooled(tmp_path / "client"), server, mode)
    assert s_call["transport"] == "streamable_http" and s_call["src_ip"] == "127.0.0.1"
    if mode == "legacy":
        assert s_call["mcp_session_id"]
    else:
        assert s_call["mcp_method_header"] == "tools/call" and s_call["mcp_name_header"] == "get_ticket"


def test_http_server_identity_from_access_token_and_rejections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "edges-sdk-deployment-key-0123456789"
    monkeypatch.setenv("MCP_BLACKBOX_HASH_KEY", key)  # the instrumented server (a subprocess) keys fingerprints
    port = free_port()
    proc = start_upstream(port, auth=True, instrument=tmp_path / "server")
    url = f"http://127.0.0.1:{port}/mcp"
    good = make_jwt({"iss": ISSUER, "sub": "carol", "scope": "tickets", "client_id": "agent-9"})
    client_em = Emitter("client", "sdk_client", sink=f"spool://{tmp_path / 'client'}")
    try:
        with httpx2.Client(headers={"accept": "application/json, text/event-stream"}) as http:
            assert http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}).status_code == 401
        anyio.run(_http, url, client_em, "legacy", {"authorization": f"Bearer {good}"})
    finally:
        client_em.close()
        stop(proc)
    server = spooled(tmp_path / "server")
    rejected = [e for e in server if e.get("event_subtype") == "http_rejected"]
    assert [(e["event_type"], e["http_status"], e["status"]) for e in rejected] == [("auth", 401, "denied")]
    call = next(e for e in server if e.get("method") == "tools/call" and e.get("message_kind") == "request")
    assert (call["user_id"], call["user_id_source"], call["oauth_client_id"]) == ("carol", "token", "agent-9")
    assert call["token_fingerprint"] == ContentHasher(key.encode()).token_fingerprint(good)
    assert call["token_fingerprint"] != hashlib.sha256(good.encode()).hexdigest()  # keyed: no dictionary match
    assert good.encode() not in spool_bytes(tmp_path / "server")


async def _low_level(spool: Path, client_em: Emitter, host: HostRecorder) -> str:
    params = StdioServerParameters(command=sys.executable, args=[HELPER, "stdio", "--instrument", str(spool)])
    async with tap(stdio_client(params), client_em, server_config_name="helpdesk") as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            choice = host.tool_choice("helpdesk", "get_ticket", {"ticket_id": "T-1041"})
            with host.calling(choice):  # no _meta passed: the hook reads the host's contextvar
                result = await session.call_tool("get_ticket", {"ticket_id": "T-1041"})
            return choice.tool_call_id + " " + str(result.structured_content)


def test_client_session_and_host_contextvar_link_both_sides(tmp_path: Path) -> None:
    client_em = Emitter("client", "sdk_client", sink=f"spool://{tmp_path / 'client'}")
    host_em = Emitter("host", "test_host", sink=f"spool://{tmp_path / 'host'}")
    try:
        out = anyio.run(_low_level, tmp_path / "server", client_em, HostRecorder(host_em, conversation_id="conv-cs"))
    finally:
        client_em.close()
        host_em.close()
    tool_call_id = out.split(" ", 1)[0]
    assert "T-1041" in out
    client, server = spooled(tmp_path / "client"), spooled(tmp_path / "server")
    assert _keyed(server) == _keyed(client) and len(set(_keyed(server))) == len(_keyed(server))
    choice = next(e for e in spooled(tmp_path / "host") if e.get("event_subtype") == "tool_choice")
    for side in (client, server):
        call = next(e for e in _messages(side) if e.get("method") == "tools/call" and e["message_kind"] == "request")
        assert call["tool_call_id"] == tool_call_id == choice["tool_call_id"]
        assert call["parent_event_id"] == choice["event_id"] and call["conversation_id"] == "conv-cs"
