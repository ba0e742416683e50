"""The Kafka sink against the real broker: outage mid-stream, durable overflow, order per connection."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.sinks import overflow_backlog

pytestmark = pytest.mark.kafka


def _consume(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[tuple[bytes, bytes]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=2000)
    out: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer:
                out.append((msg.key, msg.value))
    finally:
        consumer.close()
    return out


def test_broker_restart_mid_stream_loses_nothing_and_keeps_order(kafka_bootstrap: str, kafka_topic: str,
                                                                  kafka_harness_broker, tmp_path: Path) -> None:
    config = load_config(sink=f"kafka://{kafka_bootstrap}/{kafka_topic}",
                         env={"MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(tmp_path / "overflow")})
    em = Emitter("client", "test", config=config)
    sent = 0
    for i in range(300):
        em.emit("message", connection_id=f"conn-{i % 4}", method="ping", jsonrpc_id=str(i))
        sent += 1
    assert em.flush(30)
    kafka_harness_broker.stop()
    for i in range(300, 700):  # the broker is down: these go to the durable overflow
        em.emit("message", connection_id=f"conn-{i % 4}", method="ping", jsonrpc_id=str(i))
        sent += 1
    deadline = time.monotonic() + 40  # the producer gives up after its delivery timeout, then spools
    while overflow_backlog(tmp_path / "overflow") == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert overflow_backlog(tmp_path / "overflow") > 0, "events must be spooled while the broker is away"
    kafka_harness_broker.start()
    for i in range(700, 800):
        em.emit("message", connection_id=f"conn-{i % 4}", method="ping", jsonrpc_id=str(i))
        sent += 1
    assert em.flush(60)
    em.close(30)
    assert em.stats.dropped == 0
    records = _consume(kafka_bootstrap, kafka_topic, sent)
    events = [json.loads(v) for _, v in records]
    ids = [int(e["jsonrpc_id"]) for e in events]
    assert sorted(set(ids)) == list(range(sent)), "nothing lost"
    assert len(ids) == len(set(ids)), "nothing duplicated"
    for conn in range(4):
        seq = [e["sequence"] for e in events if e["connection_id"] == f"conn-{conn}"]
        assert seq == sorted(seq), f"order kept on conn-{conn}"
    assert all(k.decode().startswith("conn-") for k, _ in records)  # key = connection_id
    assert overflow_backlog(tmp_path / "overflow") == 0


def test_secrets_never_reach_kafka_message_bytes(kafka_bootstrap: str, kafka_topic: str, tmp_path: Path) -> None:
    from test_emit_core import LEAKY, SECRETS

    config = load_config(sink=f"kafka://{kafka_bootstrap}/{kafka_topic}",
                         env={"MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(tmp_path / "overflow")})
    with Emitter("server", "test", config=config) as em:
        em.emit("message", connection_id="c", method="tools/call", arguments={"cfg": SECRETS},
                result={"content": [{"type": "text", "text": json.dumps(SECRETS)}]})
    records = _consume(kafka_bootstrap, kafka_topic, 1)
    assert len(records) == 1
    for secret in LEAKY:
        assert secret.encode() not in records[0][1]
