"""One call, many witnesses: our SDK hook and the SDK's own OTLP spans merge into one action per call;
a call only one witness saw, while the other was recording that server, is a `capture_gap`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from otlp_helpers import receiver

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).parent / "mcp-blackbox"


def _cli() -> list[str]:
    return [str(CLI)] if CLI.exists() else [sys.executable, "-m", "mcp_blackbox"]


def _sql(store: Path, query: str) -> list[dict]:
    proc = subprocess.run([*_cli(), "sql", "--store", str(store), "--format", "json", query], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _ghost_span(start_ns: int) -> dict:
    """A tools/call the OTLP witness saw and our hook did not (e.g. a replica running without the hook)."""
    kv = [{"key": "mcp.method.name", "value": {"stringValue": "tools/call"}},
          {"key": "gen_ai.tool.name", "value": {"stringValue": "exfiltrate"}}]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "weather"}}]}
    return {"resourceSpans": [{"resource": resource,
                               "scopeSpans": [{"spans": [{
                                   "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                                   "name": "tools/call exfiltrate", "kind": 2, "startTimeUnixNano": str(start_ns),
                                   "endTimeUnixNano": str(start_ns + 1_000_000), "attributes": kv}]}]}]}


@pytest.mark.slow
def test_hook_and_otlp_merge_and_gap(tmp_path: Path) -> None:
    spool, store = tmp_path / "spool", tmp_path / "store"
    with receiver(spool) as (url, _server):
        app = subprocess.run([sys.executable, str(HERE / "sdk_otel_app.py"), f"{url}/v1/traces", "weather",
                              "--also-hook"], capture_output=True, text=True, timeout=120, check=False,
                             env={**os.environ, "MCP_BLACKBOX_SINK": f"spool://{spool}"})
        assert app.returncode == 0, app.stderr
    collect = subprocess.run([*_cli(), "collect", "--source", f"spool://{spool}", "--store", str(store),
                              "--until-idle", "1"], capture_output=True, text=True, timeout=120, check=False)
    assert collect.returncode == 0, collect.stderr
    first = _sql(store, "SELECT epoch_ns(min(start_time)) + 1000 AS t FROM calls WHERE tool_name = 'fail_hard'")
    with receiver(spool) as (url, _server):
        assert httpx.post(f"{url}/v1/traces", json=_ghost_span(first[0]["t"])).status_code == 200
    collect = subprocess.run([*_cli(), "collect", "--source", f"spool://{spool}", "--store", str(store),
                              "--until-idle", "1"], capture_output=True, text=True, timeout=120, check=False)
    assert collect.returncode == 0, collect.stderr
    calls = _sql(store, "SELECT c.tool_name, e.emitter_component FROM calls c JOIN events e "
                        "ON e.event_id = c.call_event_id WHERE c.method = 'tools/call' ORDER BY 1, 2")
    assert [(r["tool_name"], r["emitter_component"]) for r in calls] == [
        ("exfiltrate", "otlp"), ("fail_hard", "otlp"), ("fail_hard", "sdk_server"),
        ("get_weather", "otlp"), ("get_weather", "otlp"), ("get_weather", "sdk_server"), ("get_weather", "sdk_server")]
    actions = _sql(store, "SELECT tool_name, witnesses, capture_gap, status FROM actions ORDER BY tool_name")
    assert [(a["tool_name"], a["witnesses"], a["capture_gap"]) for a in actions] == [
        ("exfiltrate", ["otlp"], True), ("fail_hard", ["emitter", "otlp"], False),
        ("get_weather", ["emitter", "otlp"], False), ("get_weather", ["emitter", "otlp"], False)]
    assert next(a for a in actions if a["tool_name"] == "fail_hard")["status"] == "tool_error"
