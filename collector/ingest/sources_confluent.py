"""Optional Kafka source on confluent-kafka (librdkafka): same `Source` contract, a much cheaper fetch path.

kafka-python decodes every record in Python (~7 µs of one core per event on the benchmark box), which
caps a one-process collector well below 100k events/s once decoding and Parquet work share the CPU;
librdkafka does the fetch and record parsing in C. Used when `confluent-kafka` is installed and
`--client` is `auto` (default) or `confluent`. Rebalance callbacks run on the polling thread here, so
flush-on-revoke and offset commits happen inline.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from mcp_blackbox.collector.ingest.sources import Batch, Callback, _noop

log = logging.getLogger(__name__)

#: one line per distinct librdkafka complaint per this many seconds (an unreachable broker is retried every
#: ~50 ms; its "Connect failed" line must not flood the log)
LOG_EVERY_S = 30.0


class RateLimitedLog:
    """What librdkafka's `logger` and `error_cb` write to: `log`, rate-limited per message text."""

    def __init__(self, every_s: float = LOG_EVERY_S) -> None:
        self.every_s = every_s
        self._last: dict[str, tuple[float, int]] = {}  # text → (last printed, suppressed since)

    def log(self, level: int, msg: str, *args: Any) -> None:
        text = msg % args if args else msg
        key = re.sub(r"\d+(\.\d+)?ms|\d{9,}", "N", text)  # "after 0ms", timestamps: same complaint
        now = time.monotonic()
        last, suppressed = self._last.get(key, (-self.every_s, 0))
        if now - last < self.every_s:
            self._last[key] = (last, suppressed + 1)
            return
        self._last[key] = (now, 0)
        more = f" ({suppressed} more like it in the last {self.every_s:.0f}s)" if suppressed else ""
        log.log(level, "mcp-blackbox collect: kafka: %s%s", text, more)


def available() -> bool:
    """Whether confluent-kafka can be imported."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        return False
    return True


class ConfluentSource:
    """A librdkafka consumer in a consumer group, manual commits, earliest reset."""

    joins_group = True  # the first group rebalance is not idleness (collect --until-idle)

    kind = "kafka"

    def __init__(self, bootstrap: str, topic: str, group: str, *, max_poll_records: int = 20_000,
                 session_timeout_ms: int = 45_000, instance_id: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.topic, self.group = topic, group
        self.max_poll_records = max_poll_records
        self.config: dict[str, Any] = {
            "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": session_timeout_ms, "heartbeat.interval.ms": max(1000, session_timeout_ms // 10),
            "max.poll.interval.ms": 600_000, "partition.assignment.strategy": "range",
            "fetch.min.bytes": 256 * 1024, "fetch.wait.max.ms": 200, "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024, "client.id": "mcp-blackbox-collector",
            "check.crcs": True,
        }
        if instance_id:
            self.config["group.instance.id"] = instance_id
        self._log = RateLimitedLog()
        #: True while librdkafka reports every broker down: not "joining the group" (collect --until-idle)
        self.unreachable = False
        self.config.update({"logger": self._log, "error_cb": self._on_error, "log.connection.close": False})
        self.config.update(extra or {})
        self.consumer: Any = None
        self._assigned: set[str] = set()
        self._seeks: dict[str, int | None] | None = None  # offsets chosen inside on_assign

    def _on_error(self, err: Any) -> None:
        from confluent_kafka import KafkaError

        if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE):
            self.unreachable = True
        self._log.log(logging.WARNING, "%s", err.str())

    def start(self, on_assigned: Callback, on_revoked: Callback, on_lost: Callback = _noop) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        def assign_cb(consumer: Any, partitions: list[Any]) -> None:
            parts = [str(tp.partition) for tp in partitions if tp.topic == self.topic]
            self._assigned |= set(parts)
            self._seeks = {}
            try:
                on_assigned(parts)
                chosen = self._seeks
            finally:
                self._seeks = None
            tps = []
            for tp in partitions:
                offset = chosen.get(str(tp.partition))
                tps.append(TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING if offset is None else offset))
            consumer.assign(tps)

        def revoke_cb(consumer: Any, partitions: list[Any]) -> None:
            parts = [str(tp.partition) for tp in partitions if tp.topic == self.topic]
            try:
                on_revoked(parts)
            finally:
                self._assigned -= set(parts)
                consumer.unassign()

        def lost_cb(consumer: Any, partitions: list[Any]) -> None:
            parts = [str(tp.partition) for tp in partitions if tp.topic == self.topic]
            self._assigned -= set(parts)  # first: nothing may be committed for them any more
            try:
                on_lost(parts)
            finally:
                consumer.unassign()

        # librdkafka's own log lines name brokers and topics: through Python logging, so they print inert
        self.consumer = Consumer(self.config)  # librdkafka logs through self._log (rate-limited, inert)
        self.consumer.subscribe([self.topic], on_assign=assign_cb, on_revoke=revoke_cb, on_lost=lost_cb)

    def poll(self, timeout_s: float) -> list[Batch]:
        messages = self.consumer.consume(num_messages=self.max_poll_records, timeout=timeout_s)
        if messages or self._assigned:
            self.unreachable = False
        batches: dict[int, Batch] = {}
        for msg in messages:
            if msg.error() is not None:
                log.warning("mcp-blackbox collect: kafka: %s", msg.error())
                continue
            part = msg.partition()
            batch = batches.get(part)
            if batch is None:
                batch = batches[part] = Batch(str(part), [], [], [])
            batch.offsets.append(msg.offset())
            batch.values.append(msg.value() or b"")
            batch.keys.append(msg.key())
        return list(batches.values())

    def seek(self, partition: str, offset: int | None) -> None:
        if self._seeks is not None:  # inside on_assign: applied by the assign() that follows
            self._seeks[partition] = offset
            return
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        self.consumer.seek(TopicPartition(self.topic, int(partition), OFFSET_BEGINNING if offset is None else offset))

    def commit(self, offsets: dict[str, int]) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        owned = [TopicPartition(self.topic, int(p), o) for p, o in offsets.items() if p in self._assigned]
        if not owned:
            return
        try:
            self.consumer.commit(offsets=owned, asynchronous=False)
        except KafkaException as exc:
            # The store, not Kafka, records what is durable; a failed commit only costs a skipped re-read.
            log.warning("mcp-blackbox collect: offset commit failed (%s); the store stays authoritative", exc)

    def owns(self, partition: str) -> bool:
        return partition in self._assigned

    def lag(self, partition: str, next_offset: int) -> int | None:
        from confluent_kafka import TopicPartition

        _, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, int(partition)), cached=True)
        return None if high is None or high < 0 else max(0, high - next_offset)

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None
