"""`token_fingerprint` is keyed with the deployment hash key: the same token gives the same fingerprint in
every emitter of one deployment (the HTTP proxy and the SDK server hook), and a dictionary of plain SHA-256
hashes of candidate tokens matches nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from edges_helpers import ISSUER, free_port, make_jwt, start_upstream, stop, wait_port
from emit_helpers import spool_bytes, spooled

from mcp_blackbox.schema.hashing import ContentHasher

CLI = str(Path(sys.executable).parent / "mcp-blackbox")
KEY = "token-fingerprint-deployment-key-0001"


def test_proxy_and_sdk_server_agree_on_a_keyed_token_fingerprint(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_BLACKBOX_HASH_KEY", KEY)  # both emitters are subprocesses of one deployment
    upstream_port, port = free_port(), free_port()
    server = start_upstream(upstream_port, auth=True, instrument=tmp_path / "server")
    proxy = subprocess.Popen([CLI, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream",
                              f"http://127.0.0.1:{upstream_port}", "--name", "helpdesk",
                              "--sink", f"spool://{tmp_path / 'gateway'}"], stderr=subprocess.PIPE)
    weak = make_jwt({"iss": ISSUER, "sub": "bob", "scope": "other", "client_id": "agent-8"})
    try:
        wait_port(port, proxy)
        with httpx2.Client(headers={"accept": "application/json, text/event-stream"}) as http:
            reply = http.post(f"http://127.0.0.1:{port}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              headers={"authorization": f"Bearer {weak}"})
        assert reply.status_code == 403
    finally:
        stop(proxy)
        stop(server)
    fingerprints = {}
    for name in ("gateway", "server"):
        rejected = [e for e in spooled(tmp_path / name) if e.get("event_subtype") == "http_rejected"]
        assert len(rejected) == 1, (name, rejected)
        fingerprints[name] = rejected[0]["token_fingerprint"]
        assert weak.encode() not in spool_bytes(tmp_path / name)
    expected = ContentHasher(KEY.encode()).token_fingerprint(weak)
    assert fingerprints == {"gateway": expected, "server": expected}, "emitters of one deployment must agree"
    assert expected != hashlib.sha256(weak.encode()).hexdigest(), "plain SHA-256 is dictionary-attackable"
    assert expected != ContentHasher(b"another-deployment-key-000000").token_fingerprint(weak)
