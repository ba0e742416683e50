"""The Kafka sink when the broker is not there at start: a closed port (the broker comes up later on
that very port) and a listener that accepts and never answers. The host never waits for Kafka, every
event is spooled from the first one, and all of them reach the real broker once it answers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka_harness import KafkaBroker

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.sinks import overflow_backlog

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def late_broker() -> Iterator[KafkaBroker]:
    """A broker object whose port is closed until a test starts it."""
    if shutil.which("java") is None:
        if os.environ.get("MCP_BLACKBOX_REQUIRE_KAFKA"):
            pytest.fail("java is needed for the Kafka harness broker")
        pytest.skip("java is needed for the Kafka harness broker")
    broker = KafkaBroker()
    yield broker
    broker.stop(keep_data=False)


def _consume(bootstrap: str, topic: str, expected: int, timeout: float = 90) -> list[dict[str, object]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=2000)
    out: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            out.extend(json.loads(msg.value) for msg in consumer)
    finally:
        consumer.close()
    return out


def _config(url: str, overflow: Path) -> object:
    return load_config(sink=url, env={"MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(overflow)})


def _emit(em: Emitter, first: int, count: int) -> None:
    for i in range(first, first + count):
        em.emit("message", connection_id=f"conn-{i % 3}", method="ping", jsonrpc_id=str(i))


def _wait_backlog(overflow: Path, at_least: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while overflow_backlog(overflow) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return overflow_backlog(overflow)


def test_closed_port_at_start_then_broker_on_that_port(late_broker: KafkaBroker, tmp_path: Path) -> None:
    assert late_broker.process is None, "the port must be closed at start"
    overflow = tmp_path / "overflow"
    topic = "start-outage-closed"
    em = Emitter("gateway", "test", config=_config(f"kafka://{late_broker.bootstrap}/{topic}", overflow))
    _emit(em, 0, 43)
    # spooled from the first event while the connector is still failing to bootstrap (30 s per try)
    assert _wait_backlog(overflow, 43) == 43
    late_broker.start()
    _emit(em, 43, 57)
    deadline = time.monotonic() + 120  # the connector's attempt under way may take 30 s to give up
    while not em.flush(2) and time.monotonic() < deadline:
        pass
    assert em.flush(2), "the overflow is replayed once the broker answers"
    em.close(30)
    assert em.stats.dropped == 0 and em.stats.loss_events == 0
    events = _consume(late_broker.bootstrap, topic, 100)
    assert sorted(int(str(e["jsonrpc_id"])) for e in events) == list(range(100))
    assert [e["sequence"] for e in events] == list(range(100)), "replayed in order, before newer records"
    assert overflow_backlog(overflow) == 0


def test_silent_listener_loses_nothing(late_broker: KafkaBroker, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)  # accept and stay silent

    threading.Thread(target=accept, daemon=True).start()
    overflow = tmp_path / "overflow"
    topic = "start-outage-silent"
    try:
        em = Emitter("gateway", "test", config=_config(
            f"kafka://127.0.0.1:{listener.getsockname()[1]}/{topic}", overflow))
        _emit(em, 0, 43)
        assert _wait_backlog(overflow, 43) == 43
        em.close(2)  # bounded: the connector is stuck in the silent bootstrap, the events are on disk
        assert em.stats.dropped == 0 and em.stats.loss_events == 0
        assert accepted, "the connector did try the silent listener"
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert overflow_backlog(overflow) == 43, "the undelivered events stay in the overflow"
    # The next emitter on this host with the real broker adopts and delivers them.
    if late_broker.process is None:
        late_broker.start()
    em2 = Emitter("gateway", "test", config=_config(f"kafka://{late_broker.bootstrap}/{topic}", overflow))
    _emit(em2, 43, 7)
    deadline = time.monotonic() + 120
    while not em2.flush(2) and time.monotonic() < deadline:
        pass
    assert em2.flush(2)
    em2.close(30)
    events = _consume(late_broker.bootstrap, topic, 50)
    assert sorted(int(str(e["jsonrpc_id"])) for e in events) == list(range(50))
    assert overflow_backlog(overflow) == 0
