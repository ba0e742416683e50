"""`mcp-blackbox wrap` in front of real servers, driven by the official client; byte-exact forwarding."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from emit_helpers import spooled
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.host import HostRecorder
from mcp_blackbox.collector.emit.sdk_client import tap
from mcp_blackbox.samples.demo_agent import server_script

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
WRAP = [str(BIN / "mcp-blackbox"), "wrap"]


def _params(command: list[str], spool: Path | None, name: str) -> StdioServerParameters:
    if spool is None:
        return StdioServerParameters(command=command[0], args=command[1:])
    return StdioServerParameters(command=WRAP[0], args=[*WRAP[1:], "--name", name, "--sink", f"spool://{spool}", "--",
                                                        *command])


async def _drive_time(params: StdioServerParameters) -> tuple[list[str], str]:
    async with Client(stdio_client(params)) as client:
        tools = await client.list_tools()
        result = await client.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00",
                                                         "target_timezone": "Asia/Tokyo"})
        return sorted(t.name for t in tools.tools), result.content[0].text


async def _drive_git(params: StdioServerParameters, repo: Path) -> tuple[list[str], str]:
    async with Client(stdio_client(params)) as client:
        tools = await client.list_tools()
        result = await client.call_tool("git_status", {"repo_path": str(repo)})
        return sorted(t.name for t in tools.tools), result.content[0].text


def test_mcp_server_time_wrapped_behaves_like_bare(tmp_path: Path) -> None:
    command = [str(BIN / "mcp-server-time"), "--local-timezone", "UTC"]
    bare = anyio.run(_drive_time, _params(command, None, "time"))
    wrapped = anyio.run(_drive_time, _params(command, tmp_path, "time"))
    assert wrapped == bare
    events = spooled(tmp_path)
    spawn = next(e for e in events if e.get("event_subtype") == "server_spawn")
    binary = shutil.which(command[0])
    assert spawn["server_binary_sha256"] == hashlib.sha256(Path(binary).read_bytes()).hexdigest()
    assert spawn["server_pid"] > 0 and "mcp-server-time" in spawn["server_command"]
    assert any(e.get("event_subtype") == "server_exit" for e in events)
    calls = [e for e in events if e.get("method") == "tools/call"]
    assert [c["message_kind"] for c in calls] == ["request", "result"]
    assert calls[1]["duration_ms"] >= 0 and calls[1]["status"] == "ok" and calls[0]["tool_name"] == "convert_time"


def test_mcp_server_git_wrapped_behaves_like_bare(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("hello\n")
    command = [str(BIN / "mcp-server-git")]
    bare = anyio.run(_drive_git, _params(command, None, "git"), repo)
    wrapped = anyio.run(_drive_git, _params(command, tmp_path / "spool", "git"), repo)
    assert wrapped == bare and "a.txt" in bare[1]
    events = spooled(tmp_path / "spool")
    assert {e.get("server_config_name") for e in events} == {"git"}
    assert any(e.get("tool_name") == "git_status" and e.get("message_kind") == "result" for e in events)


_ECHO = "import sys\nfor line in sys.stdin.buffer:\n    sys.stdout.buffer.write(line); sys.stdout.buffer.flush()\n"


def test_bytes_pass_unchanged_partial_huge_and_non_json(tmp_path: Path) -> None:
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "x", "arguments": {"blob": "y" * 3_000_000}}}).encode()
    payload = b"not json at all\n" + big + b"\n" + b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n' + b"\xff\xfe\n"
    proc = subprocess.Popen([*WRAP, "--name", "echo", "--sink", f"spool://{tmp_path}", "--", sys.executable, "-c",
                             _ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(0, len(payload), 7919):  # partial lines, odd chunk sizes
        proc.stdin.write(payload[i:i + 7919])
        proc.stdin.flush()
    out, _err = proc.communicate(timeout=60)
    assert out == payload
    assert proc.returncode == 0
    events = spooled(tmp_path)
    anomalies = [e for e in events if e.get("event_subtype") == "protocol_anomaly"]
    assert len(anomalies) >= 4  # garbage and invalid UTF-8, both directions
    big_events = [e for e in events if e.get("method") == "tools/call"]
    # recorded once per direction (the echo sends it back), capped, never re-serialised on the wire
    assert len(big_events) == 2 and all(e["truncated"] is True for e in big_events)
    assert len([e for e in events if e.get("method") == "ping"]) == 2  # the echo answers with the same line


def test_exit_code_stderr_and_signals_are_forwarded(tmp_path: Path) -> None:
    proc = subprocess.run([*WRAP, "--sink", f"spool://{tmp_path}", "--", sys.executable, "-c",
                           "import sys; sys.stderr.write('server log line\\n'); sys.exit(7)"],
                          capture_output=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 7 and b"server log line" in proc.stderr and proc.stdout == b""
    child = subprocess.Popen([*WRAP, "--sink", f"spool://{tmp_path / 's2'}", "--", sys.executable, "-c",
                              "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
                              "print('ready', flush=True)\ntime.sleep(60)"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 42
    exit_event = next(e for e in spooled(tmp_path / "s2") if e.get("event_subtype") == "server_exit")
    assert json.loads(exit_event["attributes_json"])["exit_code"] == 42


def test_missing_command_is_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run([*WRAP, "--sink", f"spool://{tmp_path}", "--", "/nonexistent/server"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "cannot start" in proc.stderr


async def _sdk_session(spool: Path, mode: str) -> None:
    client_em = Emitter("client", "sdk_client", sink=f"spool://{spool}")
    host_em = Emitter("host", "test_host", sink=f"spool://{spool}")
    host = HostRecorder(host_em, conversation_id=f"conv-{mode}")
    params = _params([sys.executable, str(server_script("helpdesk"))], spool, "helpdesk")
    try:
        async with Client(tap(stdio_client(params), client_em, server_config_name="helpdesk"), mode=mode) as client:
            await client.list_tools()
            choice = host.tool_choice("helpdesk", "get_ticket", {"ticket_id": "T-1041"})
            host.approval(choice, "user_approved", by="alice")
            await client.call_tool("get_ticket", {"ticket_id": "T-1041"}, meta=host.call_meta(choice))
    finally:
        client_em.close()
        host_em.close()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_sdk_client_and_server_share_trace_and_see_every_message_once(tmp_path: Path, mode: str) -> None:
    anyio.run(_sdk_session, tmp_path, mode)
    events = spooled(tmp_path)
    client = [e for e in events if e["emitter_role"] == "client" and e["event_type"] == "message"]
    gateway = [e for e in events if e["emitter_role"] == "gateway" and e["event_type"] == "message"]
    era = "legacy" if mode == "legacy" else "modern"
    assert {e.get("protocol_era") for e in client if e.get("method") == "tools/call"} == {era}

    def keyed(evts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((e.get("method"), e.get("message_kind"), e.get("jsonrpc_id")) for e in evts)

    assert keyed(client) == keyed(gateway), "both sides saw the same messages"
    assert len(keyed(client)) == len(set(keyed(client))), "each message exactly once per emitter"
    c_call = next(e for e in client if e.get("method") == "tools/call" and e["message_kind"] == "request")
    g_call = next(e for e in gateway if e.get("method") == "tools/call" and e["message_kind"] == "request")
    assert c_call["trace_id"] == g_call["trace_id"] and c_call["trace_source"] == "emitter"
    assert c_call["tool_call_id"] == g_call["tool_call_id"] and c_call["conversation_id"] == f"conv-{mode}"
    results = [e for e in client + gateway if e["message_kind"] == "result"]
    assert results and all(e["duration_ms"] is not None for e in results)
    approval = next(e for e in events if e.get("event_subtype") == "approval")
    assert approval["approval"] == "user_approved" and approval["tool_call_id"] == c_call["tool_call_id"]


def test_wrap_startup_is_not_slowed_by_heavy_imports() -> None:
    """The wrap command path imports neither pyarrow, duckdb nor textual."""
    code = ("import sys; from mcp_blackbox.collector.emit import wrap_cli, sdk_client, host; "
            "print(sorted(m for m in ('pyarrow', 'duckdb', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ""}).stdout.strip()
    assert out == "[]"
