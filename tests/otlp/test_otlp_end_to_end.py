"""An OTel-instrumented MCP SDK 2.x app -> `mcp-blackbox otlp` -> spool -> `collect` -> `sql` / `chain`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).parent / "mcp-blackbox"


def _cli() -> list[str]:
    return [str(CLI)] if CLI.exists() else [sys.executable, "-m", "mcp_blackbox"]


def _run(*args: str) -> str:
    proc = subprocess.run([*_cli(), *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_sdk_app_to_store(tmp_path: Path) -> None:
    spool, store = tmp_path / "spool", tmp_path / "store"
    receiver = subprocess.Popen([*_cli(), "otlp", "--listen", "127.0.0.1:0", "--sink", f"spool://{spool}"],
                                stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.stderr is not None
        line = receiver.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+) ", line)
        assert match, line
        app = subprocess.run([sys.executable, str(HERE / "sdk_otel_app.py"), f"{match.group(1)}/v1/traces"],
                             capture_output=True, text=True, timeout=120, check=False)
        assert app.returncode == 0, app.stderr
    finally:
        receiver.send_signal(signal.SIGTERM)
        _out, err = receiver.communicate(timeout=30)
    assert receiver.returncode == 0, err
    assert "stopped;" in err
    collect = subprocess.run([*_cli(), "collect", "--source", f"spool://{spool}", "--store", str(store),
                              "--until-idle", "1"], capture_output=True, text=True, timeout=120, check=False,
                             env={**os.environ})
    assert collect.returncode == 0, collect.stderr
    rows = json.loads(_run("sql", "--store", str(store), "--format", "json",
                           "SELECT method, tool_name, message_kind, status, emitter_component, trace_id "
                           "FROM events WHERE event_type = 'message' ORDER BY event_time, sequence"))
    calls = [r for r in rows if r["method"] == "tools/call"]
    assert sorted((r["tool_name"], r["message_kind"], r["status"]) for r in calls) == [
        ("fail_hard", "request", None), ("fail_hard", "result", "tool_error"),
        ("get_weather", "request", None), ("get_weather", "request", None),
        ("get_weather", "result", "ok"), ("get_weather", "result", "ok")]
    assert {r["emitter_component"] for r in rows} == {"otlp"}
    assert any(r["method"] == "tools/list" for r in rows)
    trace_id = next(r["trace_id"] for r in calls if r["tool_name"] == "fail_hard")
    chain = _run("chain", "--store", str(store), "--format", "json", trace_id)
    assert "fail_hard" in chain
    verify = subprocess.run([*_cli(), "verify", "--store", str(store)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
