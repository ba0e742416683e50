"""Sender-side cost of redacting every field of an event, against payload-only redaction (same run).

    .venv/bin/python benchmarks/bench_redaction.py [--events N]

Builds events with `Emitter._build` on one thread (no sink I/O): a `tools/call` request and its
result with `_meta` extras, clientInfo and argv-like attributes, the shape `wrap` records. The
baseline is the same build with the all-field pass switched off and plain SHA-256 payload hashes,
which is what the emitter did before redaction covered every field and hashes were keyed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.schema.hashing import PLAIN
from mcp_blackbox.schema.ids import uuid7


def _fields(i: int) -> list[dict[str, Any]]:
    common = {"connection_id": "conn-1", "method": "tools/call", "tool_name": "get_forecast", "jsonrpc_id": str(i),
              "client_info_name": "claude-desktop", "server_name": "weather", "server_config_name": "weather",
              "mcp_protocol_version": "2025-11-25", "target": "get_forecast"}
    return [{**common, "event_type": "message", "message_kind": "request", "arguments": {"city": "Oslo", "days": 3},
             "attributes": {"meta_tracestate": "vendor=abc123", "request_event_id": None}},
            {**common, "event_type": "message", "message_kind": "result",
             "result": {"content": [{"type": "text", "text": f"Oslo: 3 days, {i % 20} C, light rain"}]},
             "attributes": {"request_event_id": "0190-abc"}}]


def _run(em: Emitter, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        for fields in _fields(i):
            em._build(str(uuid7()), time.time_ns(), dict(fields))
    return (time.perf_counter() - started) / (2 * n) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(sink=f"spool://{tmp}", env={"MCP_BLACKBOX_HASH_KEY": "bench-hash-key-0123456789"})
        full = Emitter("client", "bench", config=config, install_signal_handler=False)
        base = Emitter("client", "bench", config=config, install_signal_handler=False)
        base.hasher = PLAIN
        base._redact_fields = lambda data, paths, done: None  # type: ignore[method-assign]
        for _ in range(2):  # warm up, then measure alternately
            _run(full, 500)
            _run(base, 500)
        rounds = [(_run(base, args.events // 10), _run(full, args.events // 10)) for _ in range(10)]
        full.close()
        base.close()
    b = min(r[0] for r in rounds)
    f = min(r[1] for r in rounds)
    print(f"events built: {args.events * 2:,} per variant (best of 10 alternating rounds)")
    print(f"baseline: payloads only, plain SHA-256   {b:7.2f} µs/event")
    print(f"all fields redacted, HMAC-SHA-256        {f:7.2f} µs/event   (+{f - b:.2f} µs, {f / b:.2f}×)")


if __name__ == "__main__":
    main()
