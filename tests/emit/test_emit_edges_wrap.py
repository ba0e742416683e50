"""`mcp-blackbox wrap` edges: deaths by signal, SIGINT forwarding, EOF, pid/binary facts, an unusable sink."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from emit_helpers import spooled

WRAP = [str(Path(sys.executable).parent / "mcp-blackbox"), "wrap"]

_PID_THEN = ("import os, signal, sys, time\n"
             "signal.signal(signal.SIGINT, lambda *a: sys.exit(5))\n"
             "print(os.getpid(), flush=True)\n"
             "for line in sys.stdin:\n"
             "    print('got', line.strip(), flush=True)\n"
             "    if line.startswith('die'): os.kill(os.getpid(), signal.SIGKILL)\n"
             "sys.exit(3)\n")


def _start(spool: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*WRAP, "--name", "pidsrv", "--sink", f"spool://{spool}", *extra, "--", sys.executable,
                             "-c", _PID_THEN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _exit_attrs(spool: Path) -> dict[str, object]:
    event = next(e for e in spooled(spool) if e.get("event_subtype") == "server_exit")
    attrs: dict[str, object] = json.loads(event["attributes_json"])
    return attrs


def test_child_killed_by_signal_reports_128_plus_n(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    assert proc.stdin is not None and proc.stdout is not None
    child_pid = int(proc.stdout.readline())
    proc.stdin.write(b"die\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"got die\n"
    assert proc.wait(timeout=30) == 128 + signal.SIGKILL
    attrs = _exit_attrs(tmp_path)
    assert attrs["signal"] == signal.SIGKILL and attrs["exit_code"] == -signal.SIGKILL
    events = spooled(tmp_path)
    spawn = next(e for e in events if e.get("event_subtype") == "server_spawn")
    assert spawn["server_pid"] == child_pid and spawn["server_pid"] != proc.pid
    assert spawn["server_config_name"] == "pidsrv" and spawn["server_command"].startswith(sys.executable)
    spawn_attrs = json.loads(spawn["attributes_json"])
    assert spawn_attrs["binary_path"] == sys.executable and spawn_attrs["argv"][0] == sys.executable
    assert spawn["server_binary_sha256"] and len(spawn["server_binary_sha256"]) == 64
    # the non-JSON lines both ways are recorded as anomalies, never dropped
    assert sum(1 for e in events if e.get("event_subtype") == "protocol_anomaly") >= 3


def test_sigint_forwarded_and_eof_reaches_child(tmp_path: Path) -> None:
    proc = _start(tmp_path / "a")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 5
    assert _exit_attrs(tmp_path / "a")["exit_code"] == 5
    proc = _start(tmp_path / "b")
    assert proc.stdin is not None
    out, _ = proc.communicate(b"one\ntwo", timeout=30)  # a last line without newline, then EOF
    assert out.split(b"\n")[1:] == [b"got one", b"got two", b""] and proc.returncode == 3


def test_unusable_sink_falls_back_loudly_and_stdout_stays_clean(tmp_path: Path) -> None:
    fallback = tmp_path / "fallback"
    env = {**os.environ, "MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(fallback)}
    line = b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'
    proc = subprocess.run([*WRAP, "--sink", "spool:///proc/mcp-blackbox-not-writable", "--", "cat"], input=line,
                          capture_output=True, timeout=60, check=False, env=env)
    assert proc.returncode == 0 and proc.stdout == line
    assert b"recording to the overflow spool" in proc.stderr
    # `cat` echoes the ping, so it is seen once each way
    assert sorted((e.get("method"), e["direction"]) for e in spooled(fallback) if e["event_type"] == "message") == \
        [("ping", "client_to_server"), ("ping", "server_to_client")]
