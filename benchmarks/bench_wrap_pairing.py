"""Pairing under load: 10,000 rapid `tools/call`s through `mcp-blackbox wrap` to real servers.

PyPI `mcp-server-time` and npm `@modelcontextprotocol/server-everything` (installed under .cache/ on
first use). The driver keeps a window of requests in flight (default 64) so both pump threads of the
wrapper are busy at once; afterwards the spool is read back. Prints, per server: calls, answers, rate,
events, `uncorrelated` responses (must be 0), catalog events (must be 1), requests/results with a
duration. Same-run baseline: the same calls to the bare server (no wrapper), rate only.

    .venv/bin/python benchmarks/bench_wrap_pairing.py [--calls 10000] [--window 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "emit"))

from pairing_driver import Server, drive, everything_server, npm_server_everything, time_server


def bare_rate(server: Server, calls: int, window: int) -> float:
    """Calls per second to the server without the wrapper (same driver shape)."""
    proc = subprocess.Popen(server.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    slots = threading.Semaphore(window)
    done = threading.Event()
    got = [0]

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            msg = json.loads(raw)
            if isinstance(msg.get("id"), int) and msg["id"] >= 1000 and "method" not in msg:
                got[0] += 1
                slots.release()
                if got[0] == calls:
                    done.set()
        done.set()

    def send(obj: dict[str, object]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(obj).encode() + b"\n")
        proc.stdin.flush()

    threading.Thread(target=reader, daemon=True).start()
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    start = time.perf_counter()
    for i in range(calls):
        slots.acquire()
        send({"jsonrpc": "2.0", "id": 1000 + i, "method": "tools/call",
              "params": {"name": server.tool, "arguments": server.arguments}})
    done.wait(600)
    seconds = time.perf_counter() - start
    proc.stdin.close()
    proc.wait(60)
    return calls / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args()
    servers = [time_server()]
    entry = npm_server_everything()
    if entry is not None:
        servers.append(everything_server(entry))
    else:
        print("npm/node not available: server-everything skipped")
    print(f"{args.calls} tools/call per server, {args.window} in flight")
    print(f"{'server':<11} {'answers':>8} {'calls/s':>9} {'bare/s':>9} {'events':>7} {'uncorr':>6} {'catalog':>7} "
          f"{'req':>6} {'res':>6} {'w/dur':>6}")
    for server in servers:
        with tempfile.TemporaryDirectory() as spool:
            run = drive(server, Path(spool), args.calls, window=args.window)
        bare = bare_rate(server, args.calls, args.window)
        print(f"{server.name:<11} {run.responses - 2:>8} {run.rate:>9.0f} {bare:>9.0f} {run.events:>7} "
              f"{run.uncorrelated:>6} {run.catalogs:>7} {run.call_requests:>6} {run.call_results:>6} "
              f"{run.durations:>6}")


if __name__ == "__main__":
    main()
