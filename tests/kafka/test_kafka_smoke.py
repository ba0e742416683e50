"""Smoke test of the real broker with kafka-python, configured as emitters and the collector are."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_harness import KafkaBroker

pytestmark = pytest.mark.kafka


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                             compression_type="lz4", linger_ms=5, batch_size=256 * 1024)
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush(timeout=30)
    producer.close()


def consume_all(bootstrap: str, topic: str, group: str, expected: int, commit: bool) -> list[tuple[bytes, bytes, int]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    seen: list[tuple[bytes, bytes, int]] = []
    for record in consumer:
        seen.append((record.key, record.value, record.partition))
        if len(seen) >= expected:
            break
    if commit:
        consumer.commit()
    consumer.close()
    return seen


def test_idempotent_compressed_produce_and_manual_commit(kafka_bootstrap: str,
                                                          make_topic: Callable[..., str]) -> None:
    topic = make_topic(partitions=3)
    records = [(f"conn-{i % 7}".encode(), f'{{"n":{i}}}'.encode()) for i in range(3000)]
    produce(kafka_bootstrap, topic, records)
    seen = consume_all(kafka_bootstrap, topic, "g1", len(records), commit=True)
    assert sorted(v for _, v, _ in seen) == sorted(v for _, v in records)
    for key in {k for k, _ in records}:  # order per key (= per connection) is kept
        sent = [v for k, v in records if k == key]
        got = [v for k, v, _ in seen if k == key]
        assert got == sent
        assert len({p for k, _, p in seen if k == key}) == 1
    again = consume_all(kafka_bootstrap, topic, "g1", 1, commit=False)
    assert again == [], "after a manual commit the same group must not see the records again"


def test_broker_restart_keeps_data(kafka_harness_broker: KafkaBroker, kafka_topic: str) -> None:
    bootstrap = kafka_harness_broker.bootstrap
    produce(bootstrap, kafka_topic, [(b"k", b"before")])
    kafka_harness_broker.restart()
    produce(bootstrap, kafka_topic, [(b"k", b"after")])
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000)
    partition = TopicPartition(kafka_topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    values = [r.value for r in consumer]
    consumer.close()
    assert values == [b"before", b"after"]
