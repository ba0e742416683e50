"""Kafka down at start: a short `wrap --sink kafka://…` session when the broker is not there.

One session = initialize, tools/list and `--calls` tools/call to PyPI `mcp-server-time` through
`mcp-blackbox wrap`. Cases:
  baseline  the same session with a spool sink (how many events a session makes, how long it takes);
  closed    kafka:// to a closed port;
  silent    kafka:// to a listener that accepts and never answers.
For each: session wall time (spawn to exit, so it includes the emitter's bounded flush at close) and
the events left in the durable overflow (lost = baseline events - overflow). Then a real broker
(tests/kafka_harness.py) is started on the closed port and a fresh emitter adopts both overflows:
prints the events that reached the topic and how long delivery took.

    .venv/bin/python benchmarks/bench_kafka_start_outage.py [--calls 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "emit"))
sys.path.insert(0, str(ROOT / "tests"))

from kafka_harness import KafkaBroker  # noqa: E402
from pairing_driver import count, drive, time_server  # noqa: E402

from mcp_blackbox.collector.emit.config import load_config  # noqa: E402
from mcp_blackbox.collector.emit.emitter import Emitter  # noqa: E402
from mcp_blackbox.collector.emit.sinks import overflow_backlog  # noqa: E402

TOPIC = "start-outage-bench"


def session(calls: int, sink: str, overflow: Path, spool: Path) -> float:
    env = {**os.environ, "MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(overflow)}
    start = time.perf_counter()
    drive(time_server(), spool, calls, window=1, sink=sink, env=env)
    return time.perf_counter() - start


def consume(bootstrap: str, expected: int, timeout: float) -> int:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=2000)
    got = 0
    deadline = time.monotonic() + timeout
    try:
        while got < expected and time.monotonic() < deadline:
            got += sum(1 for _ in consumer)
    finally:
        consumer.close()
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    broker = KafkaBroker()  # its port is free (closed) until start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(silent.accept()[0]) for _ in iter(int, 1)], daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        t_base = session(args.calls, f"spool://{base / 'spool'}", base / "ov-base", base / "spool")
        n_base = count(base / "spool", args.calls, 0, 0).events
        overflow = base / "overflow"
        t_closed = session(args.calls, f"kafka://{broker.bootstrap}/{TOPIC}", overflow, base / "x1")
        n_closed = overflow_backlog(overflow)
        t_silent = session(args.calls, f"kafka://127.0.0.1:{silent.getsockname()[1]}/{TOPIC}", overflow, base / "x2")
        n_silent = overflow_backlog(overflow) - n_closed
        silent.close()
        print(f"session: initialize + tools/list + {args.calls} tools/call through wrap (mcp-server-time)")
        print(f"{'case':<9} {'seconds':>8} {'events':>7} {'spooled':>8} {'lost':>5}")
        print(f"{'baseline':<9} {t_base:>8.2f} {n_base:>7} {'-':>8} {'-':>5}   (spool sink)")
        print(f"{'closed':<9} {t_closed:>8.2f} {n_base:>7} {n_closed:>8} {n_base - n_closed:>5}")
        print(f"{'silent':<9} {t_silent:>8.2f} {n_base:>7} {n_silent:>8} {n_base - n_silent:>5}")
        t0 = time.perf_counter()
        broker.start()
        t_up = time.perf_counter() - t0
        try:
            t1 = time.perf_counter()
            config = load_config(sink=f"kafka://{broker.bootstrap}/{TOPIC}",
                                 env={"MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(overflow)})
            em = Emitter("gateway", "bench-replayer", config=config, install_signal_handler=False)
            em.emit("lifecycle", event_subtype="replayer_start")
            deadline = time.monotonic() + 120
            while not em.flush(2) and time.monotonic() < deadline:
                continue
            em.close(30)
            delivered = consume(broker.bootstrap, n_closed + n_silent + 1, 120) - 1
            t_deliver = time.perf_counter() - t1
        finally:
            broker.stop(keep_data=False)
        print(f"broker started on the closed port in {t_up:.1f} s; a new emitter adopted the overflows: "
              f"{delivered}/{n_closed + n_silent} events on the topic in {t_deliver:.1f} s; "
              f"left in overflow: {overflow_backlog(overflow)}")


if __name__ == "__main__":
    main()
