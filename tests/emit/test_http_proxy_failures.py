"""`mcp-blackbox proxy` when things go wrong: start-up line, bad arguments, a dying upstream, refusals
without a JSON-RPC answer, and the `traceparent` it adds — against the official SDK's HTTP server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from edges_helpers import free_port, start_upstream, stop
from emit_helpers import spooled

CLI = str(Path(sys.executable).parent / "mcp-blackbox")
ACCEPT = {"accept": "application/json, text/event-stream"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}


class Proxy:
    """The proxy on port 0 (it says where it listens) in front of a real SDK server."""

    def __init__(self, tmp: Path, *, instrument: bool = False) -> None:
        self.spool = tmp / "gateway"
        self.server_spool = tmp / "server"
        self.upstream_port = free_port()
        self.upstream = start_upstream(self.upstream_port, instrument=self.server_spool if instrument else None)
        self.proc = subprocess.Popen([CLI, "proxy", "--listen", "127.0.0.1:0", "--upstream",
                                      f"http://127.0.0.1:{self.upstream_port}", "--name", "helpdesk",
                                      "--sink", f"spool://{self.spool}"], stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        self.first_line = self.proc.stderr.readline()
        port = self.first_line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0]
        self.url = f"http://127.0.0.1:{port}/mcp"

    def finish(self) -> tuple[list[dict[str, Any]], str]:
        """Stop the proxy; its events and the rest of its stderr."""
        self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=30)
        return spooled(self.spool), err

    def close(self) -> None:
        for proc in (self.proc, self.upstream):
            if proc.poll() is None:
                stop(proc)


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    p = Proxy(tmp_path)
    yield p
    p.close()


def _initialize(http: httpx2.Client, url: str) -> dict[str, str]:
    resp = http.post(url, json=INIT)
    assert resp.status_code == 200
    headers = {"mcp-session-id": resp.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


def _call(rid: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def test_startup_line_names_the_address(proxy: Proxy) -> None:
    assert proxy.first_line.startswith("mcp-blackbox proxy: listening on http://127.0.0.1:")
    assert f"-> http://127.0.0.1:{proxy.upstream_port}" in proxy.first_line
    with httpx2.Client(headers=ACCEPT) as http:
        _initialize(http, proxy.url)
    _events, err = proxy.finish()
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["--listen", "127.0.0.1:99999", "--upstream", "http://127.0.0.1:1/"],
    ["--listen", "127.0.0.1:http", "--upstream", "http://127.0.0.1:1/"],
    ["--listen", "no-such-host.invalid:8808", "--upstream", "http://127.0.0.1:1/"],
    ["--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:99999/"],
    ["--listen", "127.0.0.1:0", "--upstream", "ftp://example.com/"],
])
def test_bad_arguments_are_one_clean_line(tmp_path: Path, argv: list[str]) -> None:
    proc = subprocess.run([CLI, "proxy", *argv, "--sink", f"spool://{tmp_path}"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mcp-blackbox proxy: error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_port_in_use_is_one_clean_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([CLI, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream", "http://127.0.0.1:1/",
                               "--sink", f"spool://{tmp_path}"], capture_output=True, text=True, timeout=60,
                              check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "in use" in proc.stderr


def test_dead_upstream_gets_jsonrpc_errors_and_closes_the_calls(proxy: Proxy) -> None:
    with httpx2.Client(headers=ACCEPT, timeout=30) as http:
        headers = _initialize(http, proxy.url)
        proxy.upstream.send_signal(signal.SIGKILL)
        proxy.upstream.wait(10)
        resp = http.post(proxy.url, json=_call(7, "get_ticket", {"ticket_id": "T-1041"}), headers=headers)
        assert resp.status_code == 502 and resp.headers["content-type"] == "application/json"
        body = resp.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 7 and body["error"]["code"] == -32000
        batch = http.post(proxy.url, json=[_call(8, "list_tickets", {}), _call(9, "list_tickets", {}),
                                           {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                            "params": {"requestId": 8}}], headers=headers)
        assert batch.status_code == 502 and sorted(e["id"] for e in batch.json()) == [8, 9]
    events, err = proxy.finish()
    assert "Traceback" not in err
    errors = {e["jsonrpc_id"]: e for e in events if e.get("message_kind") == "error"}
    for rid in ("7", "8", "9"):
        assert errors[rid]["method"] == "tools/call" and errors[rid]["status"] == "error"
        assert errors[rid]["http_status"] == 502 and errors[rid]["duration_ms"] is not None
        assert json.loads(errors[rid]["attributes_json"])["proxy_synthesized"] == "upstream_failed"
    assert sum(1 for e in events if e.get("event_subtype") == "upstream_unreachable") == 2


def test_upstream_dying_mid_stream_ends_the_stream_with_an_error(proxy: Proxy, tmp_path: Path) -> None:
    gate = tmp_path / "never-created"
    call = _call(2, "gated", {"path": str(gate)})
    call["params"]["_meta"] = {"progressToken": "tok-1"}
    seen: list[dict[str, Any]] = []
    with httpx2.Client(headers=ACCEPT, timeout=60) as http:
        headers = _initialize(http, proxy.url)
        with http.stream("POST", proxy.url, json=call, headers=headers) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:]))
                    if seen[-1].get("method") == "notifications/progress":
                        proxy.upstream.send_signal(signal.SIGKILL)
    assert seen[0]["method"] == "notifications/progress"
    assert seen[-1]["id"] == 2 and seen[-1]["error"]["code"] == -32000
    events, err = proxy.finish()
    assert "Traceback" not in err
    error = next(e for e in events if e.get("jsonrpc_id") == "2" and e.get("message_kind") == "error")
    assert error["tool_name"] == "gated" and error["status"] == "error"
    assert any(e.get("event_subtype") == "upstream_failed" for e in events)


def test_refusal_without_jsonrpc_answer_closes_the_request(proxy: Proxy) -> None:
    with httpx2.Client(headers=ACCEPT, timeout=30) as http:
        headers = _initialize(http, proxy.url)
        # the SDK refuses a wrong Content-Type with a plain-text 400, before its dispatcher
        plain = http.post(proxy.url, content=json.dumps(_call(5, "list_tickets", {})),
                          headers={**headers, "content-type": "text/plain"})
        assert plain.status_code == 400 and "Content-Type" in plain.text
        # an unknown session: a JSON-RPC error with "id": null — the request is still answered by nobody
        lost = http.post(proxy.url, json=_call(6, "list_tickets", {}),
                         headers={**headers, "mcp-session-id": "no-such-session"})
        assert lost.status_code == 404
    events, _err = proxy.finish()
    for rid in ("5", "6"):
        request = next(e for e in events if e.get("jsonrpc_id") == rid and e.get("message_kind") == "request")
        answer = [e for e in events if e.get("jsonrpc_id") == rid and e.get("message_kind") == "error"
                  and e.get("status") == "error" and e.get("method") == "tools/call"]
        assert len(answer) == 1, f"request {rid} must be closed by exactly one error response"
        assert answer[0]["connection_id"] == request["connection_id"] and answer[0]["http_status"] in (400, 404)
        assert json.loads(answer[0]["attributes_json"])["proxy_synthesized"] == "http_rejected"
    assert sorted(e["http_status"] for e in events if e.get("event_subtype") == "http_rejected") == [400, 404]


def test_traceparent_added_when_absent_and_kept_when_present(tmp_path: Path) -> None:
    pair = Proxy(tmp_path, instrument=True)
    given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    try:
        with httpx2.Client(headers=ACCEPT, timeout=30) as http:
            headers = _initialize(http, pair.url)
            assert http.post(pair.url, json=_call(3, "list_tickets", {}), headers=headers).status_code == 200
            assert http.post(pair.url, json=_call(4, "list_tickets", {}),
                             headers={**headers, "traceparent": given}).status_code == 200
        events, _err = pair.finish()
        stop(pair.upstream)
        time.sleep(0.2)
        server = spooled(pair.server_spool)
    finally:
        pair.close()
    minted = next(e for e in events if e.get("jsonrpc_id") == "3" and e.get("message_kind") == "request")
    assert minted["trace_source"] == "emitter" and len(minted["trace_id"]) == 32
    kept = next(e for e in events if e.get("jsonrpc_id") == "4" and e.get("message_kind") == "request")
    assert kept["trace_source"] == "http_header" and kept["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    result = next(e for e in events if e.get("jsonrpc_id") == "3" and e.get("message_kind") == "result")
    assert result["trace_id"] == minted["trace_id"]
    # the header reached the upstream: its own hook recorded the same trace
    server_call = next(e for e in server if e.get("jsonrpc_id") == "3" and e.get("message_kind") == "request")
    assert server_call["trace_id"] == minted["trace_id"]


def test_concurrent_calls_through_the_proxy_all_pair(proxy: Proxy) -> None:
    from concurrent.futures import ThreadPoolExecutor

    calls = 400
    with httpx2.Client(headers=ACCEPT, timeout=60) as http:
        headers = _initialize(http, proxy.url)

        def one(rid: int) -> int:
            return http.post(proxy.url, json=_call(rid, "get_ticket", {"ticket_id": "T-1041"}),
                             headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(100, 100 + calls)))
    assert statuses == [200] * calls
    events, err = proxy.finish()
    assert "Traceback" not in err
    results = [e for e in events if e.get("method") == "tools/call" and e.get("message_kind") == "result"]
    assert not [e for e in events if e.get("status") == "uncorrelated"]
    assert len(results) == calls and all(e["duration_ms"] is not None for e in results)
    seq = {(e["jsonrpc_id"], e["message_kind"]): e["sequence"] for e in events if e.get("method") == "tools/call"}
    assert all(seq[(rid, "request")] < seq[(rid, "result")] for rid, kind in seq if kind == "result")
