"""Emitter enqueue cost on the caller's thread: p50/p99 of `Emitter.emit()` vs a bare queue put.

    .venv/bin/python benchmarks/bench_emitter.py [--events N]

The baseline, measured in the same run, is the cheapest possible hand-off of the same fields: a dict
built and put on a `queue.SimpleQueue`. The emitter adds a UUIDv7, a clock read and its counters;
validation, redaction, hashing and the spool write happen on its sender thread (measured here too,
as sustained events/s, because a sender that cannot keep up turns into loss events).
Target (DESIGN §7): ≤ 20 µs p50 on the caller's thread.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import tempfile
import time

from mcp_blackbox.collector.emit.emitter import Emitter


def _fields(i: int) -> dict[str, object]:
    return {"connection_id": "conn-1", "method": "tools/call", "tool_name": "get_forecast", "jsonrpc_id": str(i),
            "message_kind": "request", "arguments": {"city": "Oslo", "days": 3}}


def _percentiles(samples: list[int]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    n = args.events
    perf = time.perf_counter_ns

    q: queue.SimpleQueue[object] = queue.SimpleQueue()
    base = []
    for i in range(n):
        t = perf()
        q.put(("message", _fields(i)))
        base.append(perf() - t)

    with tempfile.TemporaryDirectory() as spool:
        em = Emitter("client", "bench", sink=f"spool://{spool}")
        em.config = type(em.config)(**{**em.config.__dict__, "queue_size": n + 10})
        costs = []
        started = time.perf_counter()
        for i in range(n):
            t = perf()
            em.emit("message", **_fields(i))
            costs.append(perf() - t)
        em.flush(120)
        elapsed = time.perf_counter() - started
        em.close()
    b50, b99 = _percentiles(base)
    e50, e99 = _percentiles(costs)
    print(f"events: {n:,}")
    bmean, emean = statistics.mean(base) / 1000, statistics.mean(costs) / 1000
    print(f"baseline SimpleQueue.put   p50 {b50:6.2f} µs   p99 {b99:6.2f} µs   mean {bmean:.2f} µs")
    print(f"Emitter.emit (caller)      p50 {e50:6.2f} µs   p99 {e99:6.2f} µs   mean {emean:.2f} µs")
    print(f"ratio emit/baseline        p50 {e50 / b50:5.1f}×   p99 {e99 / b99:5.1f}×")
    print(f"target p50 ≤ 20 µs: {'met' if e50 <= 20 else 'NOT met'}")
    print(f"sender throughput (validate, redact, hash, chain, fsync'd spool): {n / elapsed:,.0f} events/s; "
          f"dropped {em.stats.dropped}")


if __name__ == "__main__":
    main()
