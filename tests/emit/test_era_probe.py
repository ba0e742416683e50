"""The SDK's `server/discover` era probe is recorded as what it is, never as a failed call.

The 2.x client in `auto` mode asks `server/discover` first; a handshake-era server (npm's
server-everything) answers -32601. Ten such connections must not make a `probing` finding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from emit_helpers import spooled
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from pairing_driver import everything_server, npm_server_everything

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.sdk_client import tap

CLI = str(Path(sys.executable).parent / "mcp-blackbox")


async def _connections(command: list[str], spool: Path, count: int) -> None:
    em = Emitter("client", "sdk_client", sink=f"spool://{spool}")
    try:
        for _ in range(count):
            params = StdioServerParameters(command=command[0], args=command[1:])
            async with Client(tap(stdio_client(params), em, server_config_name="everything"), mode="auto") as client:
                await client.list_tools()
    finally:
        em.close()


@pytest.mark.timeout(600)
def test_era_probe_is_no_error_and_no_probing_finding(tmp_path: Path) -> None:
    entry = npm_server_everything()
    if entry is None:
        pytest.fail("npm/node are needed for @modelcontextprotocol/server-everything")
    spool = tmp_path / "spool"
    anyio.run(_connections, everything_server(entry).command, spool, 10)
    events = spooled(spool)
    probes = [e for e in events if e.get("method") == "server/discover" and e.get("message_kind") != "request"]
    assert len(probes) == 10
    for probe in probes:
        assert probe["event_subtype"] == "era_probe" and probe["status"] == "ok"
        assert probe.get("error_code") is None and not probe.get("is_error")
        attrs = json.loads(probe["attributes_json"])
        assert attrs["era_probe"] == "legacy_server" and attrs["probe_error_code"] == -32601
        assert probe["duration_ms"] is not None
    store = tmp_path / "store"
    subprocess.run([CLI, "collect", "--source", f"spool://{spool}", "--store", str(store), "--until-idle", "2"],
                   check=True, capture_output=True, timeout=300)
    out = subprocess.run([CLI, "detect", "--store", str(store), "--format", "json"], capture_output=True, text=True,
                         timeout=300, check=True)
    findings = json.loads(out.stdout)
    rows = findings if isinstance(findings, list) else findings.get("findings", [])
    assert rows is not None
    assert not [f for f in rows if f.get("rule_id") == "probing"], "the era probe is not a protocol error burst"
