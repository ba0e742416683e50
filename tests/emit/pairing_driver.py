"""Rapid pipelined JSON-RPC calls through `mcp-blackbox wrap` to real stdio servers; counts pairing.

Shared by tests/emit/test_wrap_pairing.py (a few thousand calls) and benchmarks/bench_wrap_pairing.py
(10,000). The driver writes requests as fast as the server takes them (a window of requests in flight,
so the wrapper's two pump threads are busy at once) and reads the responses on another thread.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_blackbox.collector.spool import list_writers, read_records

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # benchmarks import this file directly
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from samples import thirdparty

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
NPM_PACKAGE = "@modelcontextprotocol/server-everything"


def cache_root() -> Path:
    return thirdparty.cache_root()


def npm_server_everything() -> Path | None:
    """The npm server's entry script from the pinned set (samples/thirdparty.py, installed once); None without npm."""
    return thirdparty.npm_entry(NPM_PACKAGE)


@dataclass(frozen=True)
class Server:
    name: str
    command: list[str]
    tool: str
    arguments: dict[str, Any]


def time_server() -> Server:
    return Server("time", [str(BIN / "mcp-server-time"), "--local-timezone", "UTC"], "get_current_time",
                  {"timezone": "UTC"})


def everything_server(entry: Path) -> Server:
    return Server("everything", [shutil.which("node") or "node", str(entry), "stdio"], "echo",
                  {"message": "hello"})


@dataclass
class PairingRun:
    calls: int
    seconds: float
    responses: int
    events: int
    uncorrelated: int
    catalogs: int
    call_requests: int
    call_results: int
    durations: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def drive(server: Server, spool: Path, calls: int, *, window: int = 64, timeout: float = 600.0,
          sink: str | None = None, env: dict[str, str] | None = None) -> PairingRun:
    """`calls` tools/call requests through wrap, `window` in flight; returns counts from the spool."""
    proc = subprocess.Popen(
        [str(BIN / "mcp-blackbox"), "wrap", "--name", server.name, "--sink", sink or f"spool://{spool}", "--",
         *server.command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    answered: dict[int, threading.Event] = {}
    slots = threading.Semaphore(window)
    received = Counter[str]()

    def reader() -> None:
        for raw in stdout:
            msg = json.loads(raw)
            if "id" in msg and "method" not in msg:
                received["responses"] += 1
                if isinstance(msg["id"], int) and msg["id"] >= 1000:
                    slots.release()
                event = answered.get(msg["id"])
                if event is not None:
                    event.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()

    def request(rid: int, method: str, params: dict[str, Any]) -> None:
        stdin.write(_line({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
        stdin.flush()

    def call_and_wait(rid: int, method: str, params: dict[str, Any]) -> None:
        answered[rid] = threading.Event()
        request(rid, method, params)
        if not answered[rid].wait(60):
            msg = f"no answer to {method}"
            raise TimeoutError(msg)

    try:
        call_and_wait(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                        "clientInfo": {"name": "pairing-driver", "version": "1"}})
        stdin.write(_line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        # tools/list pipelined with the first calls: its response must still pair and make the catalog
        request(2, "tools/list", {})
        start = time.perf_counter()
        last = 1000 + calls - 1
        answered[last] = threading.Event()
        for i in range(calls):
            slots.acquire()
            request(1000 + i, "tools/call", {"name": server.tool, "arguments": server.arguments})
        deadline = time.monotonic() + timeout
        while received["responses"] < calls + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        seconds = time.perf_counter() - start
    finally:
        stdin.close()
        proc.wait(60)
        thread.join(10)
    return count(spool, calls, seconds, received["responses"])


def count(spool: Path, calls: int, seconds: float, responses: int) -> PairingRun:
    events = [json.loads(r.value) for w in list_writers(spool) for r in read_records(spool, w)]
    calls_ev = [e for e in events if e.get("method") == "tools/call"]
    return PairingRun(
        calls=calls, seconds=seconds, responses=responses, events=len(events),
        uncorrelated=sum(1 for e in events if e.get("status") == "uncorrelated"),
        catalogs=sum(1 for e in events if e.get("event_type") == "catalog"),
        call_requests=sum(1 for e in calls_ev if e.get("message_kind") == "request"),
        call_results=sum(1 for e in calls_ev if e.get("message_kind") == "result"),
        durations=sum(1 for e in calls_ev if e.get("message_kind") == "result" and e.get("duration_ms") is not None),
    )
