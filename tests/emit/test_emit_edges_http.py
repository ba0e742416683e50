"""`mcp-blackbox proxy` in front of the official SDK's Streamable HTTP server, both eras, auth rejections."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from edges_helpers import ISSUER, free_port, make_jwt, start_upstream, stop, wait_port
from emit_helpers import spool_bytes, spooled
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.sdk_client import tap
from mcp_blackbox.schema.hashing import ContentHasher

CLI = str(Path(sys.executable).parent / "mcp-blackbox")
ACCEPT = "application/json, text/event-stream"


class Pair:
    """An upstream SDK server and the recording proxy in front of it."""

    def __init__(self, tmp: Path, *, auth: bool) -> None:
        self.spool = tmp / "gateway"
        self.upstream_port, self.port = free_port(), free_port()
        self.upstream = start_upstream(self.upstream_port, auth=auth)
        self.proxy = subprocess.Popen([CLI, "proxy", "--listen", f"127.0.0.1:{self.port}", "--upstream",
                                       f"http://127.0.0.1:{self.upstream_port}", "--name", "helpdesk",
                                       "--sink", f"spool://{self.spool}"], stderr=subprocess.PIPE)
        wait_port(self.port, self.proxy)
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def events(self) -> list[dict[str, Any]]:
        """Stop the proxy (it flushes on SIGTERM) and read what it recorded."""
        if self.proxy.poll() is None:
            stop(self.proxy)
        events: list[dict[str, Any]] = spooled(self.spool)
        return events

    def close(self) -> None:
        for proc in (self.proxy, self.upstream):
            if proc.poll() is None:
                stop(proc)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path, auth=False)
    yield p
    p.close()


#: the deployment hash key the proxy (a subprocess) is given: token fingerprints are keyed with it
HASH_KEY = "edges-http-deployment-key-0123456789"


@pytest.fixture
def auth_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.setenv("MCP_BLACKBOX_HASH_KEY", HASH_KEY)
    p = Pair(tmp_path, auth=True)
    yield p
    p.close()


async def _session(url: str, emitter: Emitter, mode: str, headers: dict[str, str] | None = None) -> str:
    async with httpx2.AsyncClient(headers=headers or {}) as http:
        transport = tap(streamable_http_client(url, http_client=http), emitter, server_config_name="helpdesk")
        async with Client(transport, mode=mode) as client:
            await client.list_tools()
            result = await client.call_tool("get_ticket", {"ticket_id": "T-1041"})
            return json.dumps(result.structured_content, sort_keys=True)


def _keyed(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((e.get("method"), e.get("message_kind"), e.get("jsonrpc_id")) for e in events
                  if e["event_type"] == "message")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_proxy_records_both_eras_once_with_shared_trace(pair: Pair, tmp_path: Path, mode: str) -> None:
    client_em = Emitter("client", "sdk_client", sink=f"spool://{tmp_path / 'client'}")
    try:
        via_proxy = anyio.run(_session, pair.url, client_em, mode)
        direct = anyio.run(_session, f"http://127.0.0.1:{pair.upstream_port}/mcp", client_em, mode)
    finally:
        client_em.close()
    assert via_proxy == direct and "T-1041" in via_proxy
    gateway = pair.events()
    client_all = spooled(tmp_path / "client")
    first_conn = next(e["connection_id"] for e in client_all if e.get("event_subtype") == "connection_open")
    client = [e for e in client_all if e["connection_id"] == first_conn]
    messages = [e for e in gateway if e["event_type"] == "message"]
    assert _keyed(messages) == _keyed(client), "proxy and client saw the same messages"
    assert len(_keyed(messages)) == len(set(_keyed(messages))), "each message exactly once"
    c_call = next(e for e in client if e.get("method") == "tools/call" and e["message_kind"] == "request")
    g_call = next(e for e in messages if e.get("method") == "tools/call" and e["message_kind"] == "request")
    assert c_call["trace_id"] == g_call["trace_id"] is not None
    assert g_call["tool_name"] == "get_ticket" and g_call["src_ip"] == "127.0.0.1" and g_call["user_agent"]
    results = [e for e in messages if e["message_kind"] == "result"]
    assert results and all(e["duration_ms"] is not None and e["http_status"] == 200 for e in results)
    assert {e["server_config_name"] for e in gateway} == {"helpdesk"}
    if mode == "legacy":
        # the initialize request precedes the session; everything after carries the id minted on its answer
        session = {e.get("mcp_session_id") for e in messages
                   if (e.get("method"), e["message_kind"]) != ("initialize", "request")}
        assert len(session) == 1 and None not in session, "one legacy session, adopted from initialize"
        assert len({e["connection_id"] for e in messages}) == 1
        assert {e.get("protocol_era") for e in messages if e.get("method") == "tools/call"} == {"legacy"}
    else:
        assert g_call["mcp_method_header"] == "tools/call" and g_call["mcp_name_header"] == "get_ticket"
        assert not g_call.get("risk_flags")
        assert {e.get("protocol_era") for e in messages if e.get("method") == "tools/call"} == {"modern"}


def test_legacy_sse_stays_a_stream_and_header_mismatch_is_recorded(pair: Pair) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    with httpx2.Client(headers={"accept": ACCEPT}) as http:
        with http.stream("POST", pair.url, json=init) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            chunks = list(resp.iter_raw())
            session = resp.headers["mcp-session-id"]
        assert b"serverInfo" in b"".join(chunks)
        # A modern body that says tools/call under headers that say tools/list: a routing bypass attempt.
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "get_ticket", "arguments": {"ticket_id": "T-1041"},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}}}}
        refused = http.post(pair.url, json=call, headers={"mcp-method": "tools/list", "mcp-name": "list_tickets",
                                                          "mcp-protocol-version": "2026-07-28"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == -32020
        garbage = http.post(pair.url, content=b"{not json", headers={"content-type": "application/json"})
        assert garbage.status_code == 400
        http.delete(pair.url, headers={"mcp-session-id": session})
    events = pair.events()
    request = next(e for e in events if e.get("method") == "tools/call" and e.get("message_kind") == "request")
    assert "header_mismatch" in (request.get("risk_flags") or [])
    assert request["mcp_method_header"] == "tools/list" and request["mcp_name_header"] == "list_tickets"
    error = next(e for e in events if e.get("jsonrpc_id") == "2" and e.get("message_kind") == "error")
    assert error["http_status"] == 400 and error["error_code"] == -32020 and error["method"] == "tools/call"
    rejected = [e for e in events if e.get("event_subtype") == "http_rejected"]
    assert sorted(e["http_status"] for e in rejected) == [400, 400] and all(e["status"] == "error" for e in rejected)
    assert any(e.get("mcp_method_header") == "tools/list" for e in rejected)
    anomaly = next(e for e in events if e.get("event_subtype") == "protocol_anomaly"
                   and e["direction"] == "client_to_server")
    assert "protocol_anomaly" in anomaly["risk_flags"]
    init_result = next(e for e in events if e.get("method") == "initialize" and e["message_kind"] == "result")
    assert init_result["mcp_session_id"] == session and init_result["http_status"] == 200
    assert any(e.get("event_subtype") == "session_closed" for e in events)


def test_rejections_and_bearer_identity_never_the_token(auth_pair: Pair, tmp_path: Path) -> None:
    good = make_jwt({"iss": ISSUER, "sub": "alice", "aud": "helpdesk", "scope": "tickets", "client_id": "agent-7",
                     "act": {"sub": "orchestrator"}})
    weak = make_jwt({"iss": ISSUER, "sub": "bob", "scope": "other", "client_id": "agent-8"})
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    url = auth_pair.url
    with httpx2.Client(headers={"accept": ACCEPT, "user-agent": "edge-test/1"}) as http:
        assert http.post(url, json=ping).status_code == 401
        assert http.post(url, json=ping, headers={"authorization": f"Bearer {weak}"}).status_code == 403
        assert http.post(url, json=ping, headers={"authorization": f"Bearer {good}",
                                                  "origin": "https://evil.example"}).status_code == 403
    em = Emitter("client", "sdk_client", sink=f"spool://{tmp_path / 'client'}")
    try:
        out = anyio.run(_session, auth_pair.url, em, "legacy", {"authorization": f"Bearer {good}"})
    finally:
        em.close()
    assert "T-1041" in out
    events = auth_pair.events()
    rejected = [e for e in events if e.get("event_subtype") == "http_rejected"]
    assert sorted(e["http_status"] for e in rejected) == [401, 403, 403]
    assert all(e["event_type"] == "auth" and e["status"] == "denied" and e["src_ip"] == "127.0.0.1"
               and e["user_agent"] == "edge-test/1" for e in rejected)
    no_token = next(e for e in rejected if e["http_status"] == 401)
    assert no_token.get("token_fingerprint") is None
    assert "invalid_token" in json.loads(no_token["attributes_json"])["www_authenticate"]
    scope_denied = next(e for e in rejected if e.get("oauth_subject") == "bob")
    hasher = ContentHasher(HASH_KEY.encode())
    assert scope_denied["token_fingerprint"] == hasher.token_fingerprint(weak)
    assert scope_denied["token_fingerprint"] != hashlib.sha256(weak.encode()).hexdigest()  # keyed, not a dictionary
    origin_denied = next(e for e in rejected if e.get("oauth_subject") == "alice")
    assert json.loads(origin_denied["attributes_json"])["http_origin"] == "https://evil.example"
    call = next(e for e in events if e.get("method") == "tools/call" and e.get("message_kind") == "request")
    assert call["oauth_subject"] == "alice" and call["oauth_client_id"] == "agent-7"
    assert call["oauth_issuer"] == ISSUER and call["oauth_scopes"] == ["tickets"]
    assert json.loads(call["delegation_json"]) == {"sub": "orchestrator"}
    assert call["auth_method"] == "oauth_bearer"
    assert call["token_fingerprint"] == hasher.token_fingerprint(good)
    raw = spool_bytes(auth_pair.spool)
    for token in (good, weak):
        assert token.encode() not in raw and token.split(".")[1].encode() not in raw


def test_sse_stream_is_relayed_as_it_happens(pair: Pair, tmp_path: Path) -> None:
    """The tool waits for a file the test creates only after reading its progress event through the proxy."""
    gate = tmp_path / "gate"
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "gated", "arguments": {"path": str(gate)}, "_meta": {"progressToken": "tok-1"}}}
    seen: list[str] = []
    with httpx2.Client(headers={"accept": ACCEPT}, timeout=60) as http:
        resp = http.post(pair.url, json=init)
        headers = {"mcp-session-id": resp.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        http.post(pair.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        with http.stream("POST", pair.url, json=call, headers=headers) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:])["method"] if "method" in line else "result")
                    if seen[-1] == "notifications/progress":
                        gate.touch()
                    if seen[-1] == "result":
                        assert "gate opened" in line
                        break
    assert seen == ["notifications/progress", "result"]
    events = pair.events()
    progress = next(e for e in events if e.get("method") == "notifications/progress")
    assert progress["direction"] == "server_to_client" and progress["progress_token"] == "tok-1"
    result = next(e for e in events if e.get("tool_name") == "gated" and e.get("message_kind") == "result")
    assert result["duration_ms"] > 0
