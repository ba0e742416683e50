"""Where records come from: a Kafka consumer group (kafka-python) or a spool directory.

Both look the same to the collector: partitions (Kafka partitions / spool writer ids, as text) of
records with offsets. The `Source` protocol is the seam for a faster Kafka client (e.g. a librdkafka
binding) — the collector needs only poll, seek, commit, ownership and rebalance callbacks.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from mcp_blackbox.collector.spool import SpoolRecord, list_writers, read_records
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.settings import KafkaSettings
from mcp_blackbox.schema.transport import DEFAULT_TOPIC, KAFKA_SCHEME, SPOOL_SCHEME

log = logging.getLogger(__name__)

Callback = Callable[[list[str]], None]


def _noop(partitions: list[str]) -> None:
    return None


@dataclass
class Batch:
    """Consecutive records of one partition."""

    partition: str
    offsets: list[int]
    values: list[bytes]
    keys: list[bytes | None]
    forced_errors: dict[int, str] = field(default_factory=dict)  # index → reason (e.g. torn spool line)


class Source(Protocol):
    """What the collector consumes from."""

    kind: str
    topic: str

    def start(self, on_assigned: Callback, on_revoked: Callback, on_lost: Callback = _noop) -> None: ...
    def poll(self, timeout_s: float) -> list[Batch]: ...
    def seek(self, partition: str, offset: int | None) -> None: ...
    def commit(self, offsets: dict[str, int]) -> None: ...
    def owns(self, partition: str) -> bool: ...
    def lag(self, partition: str, next_offset: int) -> int | None: ...
    def close(self) -> None: ...


class KafkaSource:
    """A kafka-python consumer in a consumer group, manual commits, earliest reset."""

    joins_group = True  # the first group rebalance is not idleness (collect --until-idle)

    kind = "kafka"

    def __init__(self, bootstrap: str, topic: str, group: str, *, max_poll_records: int = 20_000,
                 session_timeout_ms: int = 45_000, instance_id: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.config: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","), "group_id": group, "enable_auto_commit": False,
            "auto_offset_reset": "earliest", "max_poll_records": max_poll_records,
            "fetch_max_bytes": 64 * 1024 * 1024, "max_partition_fetch_bytes": 8 * 1024 * 1024,
            "fetch_min_bytes": 256 * 1024, "fetch_max_wait_ms": 200, "max_poll_interval_ms": 600_000,
            "session_timeout_ms": session_timeout_ms, "heartbeat_interval_ms": max(1000, session_timeout_ms // 10),
            # Record CRCs are checked when the C `crc32c` package is there; kafka-python's pure-Python
            # CRC-32C would cost more than the rest of the pipeline (the broker checked them on produce).
            "client_id": "mcp-blackbox-collector", "check_crcs": importlib.util.find_spec("crc32c") is not None,
        }
        if instance_id:
            self.config["group_instance_id"] = instance_id
        self.config.update(extra or {})
        self.consumer: Any = None
        self._assigned: set[str] = set()
        # Listener callbacks run on kafka-python's IO thread, where blocking calls (commit) are refused.
        self._in_callback = False

    def start(self, on_assigned: Callback, on_revoked: Callback, on_lost: Callback = _noop) -> None:
        from kafka import ConsumerRebalanceListener, KafkaConsumer

        source = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_revoked(self, revoked: Any) -> None:
                parts = [str(tp.partition) for tp in revoked if tp.topic == source.topic]
                source._in_callback = True
                try:
                    on_revoked(parts)
                except BaseException:
                    log.exception("mcp-blackbox collect: partition revocation failed")
                    raise
                finally:
                    source._in_callback = False
                    source._assigned -= set(parts)

            def on_partitions_assigned(self, assigned: Any) -> None:
                parts = [str(tp.partition) for tp in assigned if tp.topic == source.topic]
                source._assigned |= set(parts)
                source._in_callback = True
                try:
                    on_assigned(parts)
                except BaseException:
                    # kafka-python replaces the error with a generic one; keep the real cause visible.
                    log.exception("mcp-blackbox collect: partition assignment failed")
                    raise
                finally:
                    source._in_callback = False

            def on_partitions_lost(self, lost: Any) -> None:
                parts = [str(tp.partition) for tp in lost if tp.topic == source.topic]
                source._assigned -= set(parts)  # first: nothing may be committed for them any more
                source._in_callback = True
                try:
                    on_lost(parts)
                finally:
                    source._in_callback = False

        self.consumer = KafkaConsumer(**self.config)
        self.consumer.subscribe(topics=[self.topic], listener=Listener())

    def _tp(self, partition: str) -> Any:
        from kafka import TopicPartition

        return TopicPartition(self.topic, int(partition))

    def poll(self, timeout_s: float) -> list[Batch]:
        polled = self.consumer.poll(timeout_ms=int(timeout_s * 1000))
        out = []
        for tp, records in polled.items():
            if records:
                out.append(Batch(str(tp.partition), [r.offset for r in records], [r.value or b"" for r in records],
                                 [r.key for r in records]))
        return out

    def seek(self, partition: str, offset: int | None) -> None:
        tp = self._tp(partition)
        if offset is None:
            self.consumer.seek_to_beginning(tp)
        else:
            self.consumer.seek(tp, offset)

    def commit(self, offsets: dict[str, int]) -> None:
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        owned = {self._tp(p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items() if p in self._assigned}
        if not owned or self._in_callback:
            # Skipping is safe: positions come from the store's manifests on every assignment; the
            # committed offset only informs lag tooling.
            return
        try:
            self.consumer.commit(owned)
        except KafkaError as exc:
            # The store, not Kafka, is the record of what is durable; a failed commit only costs a
            # re-read that the manifests then skip.
            log.warning("mcp-blackbox collect: offset commit failed (%s); the store stays authoritative",
                        type(exc).__name__)

    def owns(self, partition: str) -> bool:
        return partition in self._assigned

    def lag(self, partition: str, next_offset: int) -> int | None:
        high = self.consumer.highwater(self._tp(partition))
        return None if high is None else max(0, high - next_offset)

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None


class SpoolSource:
    """Every writer directory of a spool root is a partition; one collector owns them all."""

    kind = "spool"

    def __init__(self, root: Path, max_poll_records: int = 20_000) -> None:
        if not root.is_dir():
            msg = f"spool directory {root} does not exist"
            raise UsageError(msg)
        self.root = root
        self.topic = str(root.resolve())
        self.max_poll_records = max_poll_records
        self._positions: dict[str, int] = {}
        self._iters: dict[str, Iterator[SpoolRecord]] = {}
        self._on_assigned: Callback | None = None
        self._last_scan = 0.0

    def start(self, on_assigned: Callback, on_revoked: Callback, on_lost: Callback = _noop) -> None:
        self._on_assigned = on_assigned
        self._scan()

    def _scan(self) -> None:
        self._last_scan = time.monotonic()
        new = [w for w in list_writers(self.root) if w not in self._positions]
        for writer in new:
            self._positions[writer] = 0
        if new and self._on_assigned is not None:
            self._on_assigned(new)

    def poll(self, timeout_s: float) -> list[Batch]:
        if time.monotonic() - self._last_scan > 1.0:
            self._scan()
        out = []
        for writer in list(self._positions):
            batch = Batch(writer, [], [], [])
            it = self._iters.get(writer)
            if it is None:
                it = self._iters[writer] = read_records(self.root, writer, self._positions[writer])
            for record in it:
                if record.torn:
                    batch.forced_errors[len(batch.offsets)] = "torn write: incomplete last line of a sealed segment"
                batch.offsets.append(record.offset)
                batch.values.append(record.value)
                batch.keys.append(None)
                if len(batch.offsets) >= self.max_poll_records:
                    break
            else:
                self._iters.pop(writer, None)  # exhausted: reopen next time to see appended records
            if batch.offsets:
                self._positions[writer] = batch.offsets[-1] + 1
                out.append(batch)
        if not out:
            time.sleep(min(timeout_s, 0.2))
        return out

    def seek(self, partition: str, offset: int | None) -> None:
        self._positions[partition] = offset or 0
        self._iters.pop(partition, None)

    def commit(self, offsets: dict[str, int]) -> None:
        return None  # the spool keeps no consumer state: the store's manifests are the position

    def owns(self, partition: str) -> bool:
        return partition in self._positions

    def lag(self, partition: str, next_offset: int) -> int | None:
        return None

    def close(self) -> None:
        self._iters.clear()


def open_source(url: str, group: str, max_poll_records: int = 20_000, client: str = "auto",
                security: KafkaSettings | None = None, **kafka_options: Any) -> Source:
    """`kafka://host:port[,host:port]/topic` or `spool:///dir` (or a plain directory path).

    `client` picks the Kafka library: `kafka-python` (always installed), `confluent` (librdkafka,
    optional, much faster fetch path) or `auto` (confluent when installed). `security` (TLS/SASL) is
    translated into the chosen library's option names.
    """
    try:
        parsed = urlparse(url)
    except ValueError as exc:  # e.g. an unbalanced "[": a usage error, not a traceback that echoes the URL raw
        msg = f"--source {url!r} is not a valid URL ({exc})"
        raise UsageError(msg) from exc
    if parsed.scheme == KAFKA_SCHEME:
        topic = parsed.path.lstrip("/") or DEFAULT_TOPIC
        if not parsed.netloc:
            msg = f"kafka source {url!r} needs host:port, e.g. kafka://localhost:9092/{DEFAULT_TOPIC}"
            raise UsageError(msg)
        from mcp_blackbox.collector.ingest import sources_confluent

        if client == "confluent" or (client == "auto" and sources_confluent.available()):
            if not sources_confluent.available():
                msg = "--client confluent needs the confluent-kafka package: pip install confluent-kafka"
                raise UsageError(msg)
            if security is not None:
                kafka_options["extra"] = {**security.librdkafka(), **kafka_options.get("extra", {})}
            return sources_confluent.ConfluentSource(parsed.netloc, topic, group, max_poll_records=max_poll_records,
                                                     **kafka_options)
        if client not in ("auto", "kafka-python"):
            msg = f"unknown --client {client!r}: use auto, kafka-python or confluent"
            raise UsageError(msg)
        if security is not None:
            kafka_options["extra"] = {**security.kafka_python(), **kafka_options.get("extra", {})}
        return KafkaSource(parsed.netloc, topic, group, max_poll_records=max_poll_records, **kafka_options)
    if parsed.scheme == SPOOL_SCHEME:
        return SpoolSource(Path(parsed.netloc + parsed.path), max_poll_records)
    if parsed.scheme == "":
        return SpoolSource(Path(url), max_poll_records)
    msg = f"unknown source {url!r}: use kafka://host:port/topic or spool:///path"
    raise UsageError(msg)
