"""Where an emitter's events go: the spool (embedded default) or Kafka with a durable spool overflow.

Sinks are driven by exactly one thread, the emitter's sender: `send_many` hands over a batch of
(key, wire bytes) in sequence order and returns only when the batch is durable (fsync'd in the spool)
or accepted by Kafka — or raises `SinkError` saying how many records were lost, so the emitter can
count the loss and report it as an event. Nothing here writes to stdout.

Kafka: idempotent producer, `acks=all`, lz4, batching, key = `connection_id` (order per connection).
While the broker is unreachable, records go to a `SpoolWriter` under the overflow directory, and once
it answers again they are replayed in order before any newer record is sent directly; an overflow
spool left behind by a crashed emitter is adopted and replayed too.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from mcp_blackbox.collector.spool import SpoolWriter, list_segments, list_writers, read_records
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.transport import DEFAULT_TOPIC, KAFKA_PREFIX, KAFKA_SCHEME, SPOOL_PREFIX

log = logging.getLogger(__name__)



class SinkError(Exception):
    """A batch (or part of it) could not be stored: `lost` records are gone, `reason` says why."""

    def __init__(self, reason: str, lost: int) -> None:
        super().__init__(f"{reason} ({lost} records lost)")
        self.reason = reason
        self.lost = lost


class Sink(Protocol):
    """What the emitter's sender thread talks to."""

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        """Store a batch in order; raise SinkError if any record is lost."""

    def flush(self, timeout: float) -> bool:
        """Push out anything buffered; True when nothing is pending."""

    def close(self, timeout: float) -> None:
        """Flush and release resources."""


def _spool_path(url: str) -> Path:
    parts = urlsplit(url)
    # spool:///abs/dir → /abs/dir; spool://relative/dir → relative/dir
    path = unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path)
    if not path:
        msg = f"spool sink needs a directory: spool:///path, not {url!r}"
        raise UsageError(msg)
    return Path(path).expanduser()


@dataclass(frozen=True)
class KafkaTarget:
    """Parsed `kafka://host:port[,host:port]/topic`."""

    bootstrap: list[str]
    topic: str


def parse_kafka_url(url: str) -> KafkaTarget:
    """`kafka://h1:9092,h2:9092/topic` → bootstrap servers and topic (default mcp-blackbox.events)."""
    parts = urlsplit(url)
    if parts.scheme != KAFKA_SCHEME or not parts.netloc:
        msg = f"Kafka sink must look like kafka://host:port[,host:port]/topic, not {url!r}"
        raise UsageError(msg)
    topic = parts.path.strip("/") or DEFAULT_TOPIC
    return KafkaTarget([h for h in parts.netloc.split(",") if h], topic)


class SpoolSink:
    """Append-only fsync'd JSONL segments, one writer directory per emitter instance."""

    def __init__(self, root: Path, writer_id: str) -> None:
        self.root = root
        self.writer = SpoolWriter(root, writer_id)

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        try:
            self.writer.append([value for _, value in records])
        except OSError as exc:
            reason = "disk full" if exc.errno == errno.ENOSPC else f"spool write failed: {exc.strerror or exc}"
            raise SinkError(reason, len(records)) from exc

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float) -> None:
        try:
            self.writer.close()
        except OSError as exc:
            log.warning("mcp-blackbox: closing spool segment failed: %s", exc)


class _Overflow:
    """The durable overflow of a Kafka sink: one locked writer directory per emitter instance."""

    def __init__(self, root: Path, writer_id: str) -> None:
        self.root = root
        self.writer_id = writer_id
        self.writer: SpoolWriter | None = None
        self.start_offset = 0  # first record not yet replayed
        root.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(root / f".{writer_id}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @property
    def pending(self) -> bool:
        return self.writer is not None and self.writer.next_offset > self.start_offset

    def append(self, records: list[tuple[str, bytes]]) -> None:
        if self.writer is None:
            self.writer = SpoolWriter(self.root, self.writer_id)
            self.start_offset = self.writer.next_offset
        self.writer.append([_frame(key, value) for key, value in records])

    def drained(self) -> None:
        """Everything was replayed: remove the segments."""
        if self.writer is not None:
            self.writer.close()
            shutil.rmtree(self.writer.directory, ignore_errors=True)
            self.writer = None
            self.start_offset = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        os.close(self._lock_fd)
        (self.root / f".{self.writer_id}.lock").unlink(missing_ok=True)


def _frame(key: str, value: bytes) -> bytes:
    """Overflow lines carry the Kafka key too: `<key>\\t<event json>` (keys never contain tabs)."""
    return key.replace("\t", " ").encode("utf-8") + b"\t" + value


def _unframe(line: bytes) -> tuple[str, bytes]:
    key, _, value = line.partition(b"\t")
    return key.decode("utf-8", "replace"), value


class KafkaSink:
    """kafka-python producer with a durable, ordered spool overflow while the broker is away.

    The producer is built on a background connector thread: `KafkaProducer()` blocks for up to 30 s
    per attempt when the broker is down or a listener never answers, and neither the host nor the
    emitter's sender may wait for that. Until the connector has a producer, every batch goes to the
    overflow spool at once (durable from the first event); once the broker answers, the overflow —
    this emitter's and any orphaned one — is replayed in order before newer records are sent.
    """

    probe_interval = 1.0

    def __init__(self, url: str, writer_id: str, overflow_dir: Path, options: dict[str, Any] | None = None) -> None:
        self.target = parse_kafka_url(url)
        self.options = dict(options or {})
        self.overflow = _Overflow(overflow_dir, writer_id)
        self._producer: Any = None
        self._next_probe = 0.0
        self._state_lock = threading.Lock()
        self._ready: Any = None  # a producer the connector built, not yet taken by the sender
        self._connector: threading.Thread | None = None
        self._closed = False
        self._orphans_done = False
        self._start_connector()

    def _make_producer(self) -> Any:
        from kafka import KafkaProducer  # lazy: only Kafka users pay for the import

        settings: dict[str, Any] = {
            "bootstrap_servers": self.target.bootstrap,
            "acks": "all",
            "enable_idempotence": True,
            "compression_type": "lz4",
            "linger_ms": 5,
            "batch_size": 256 * 1024,
            "max_block_ms": 2000,  # the sender thread, never the host, waits; then we spool
            "request_timeout_ms": 5000,
            "delivery_timeout_ms": 10000,
            "retry_backoff_ms": 100,
            "reconnect_backoff_max_ms": 1000,
        }
        # secrets (SecretStr from the capture configuration) are revealed here, for the producer only
        settings.update({k: v.get_secret_value() if hasattr(v, "get_secret_value") else v
                         for k, v in self.options.items()})
        return KafkaProducer(**settings)

    def _start_connector(self) -> None:
        with self._state_lock:
            if self._closed or (self._connector is not None and self._connector.is_alive()):
                return
            self._connector = threading.Thread(target=self._connect, name="mcp-blackbox-kafka-connect",
                                               daemon=True)
            self._connector.start()

    def _connect(self) -> None:
        """The connector thread: build a producer, retrying every `probe_interval` until one answers."""
        while not self._closed:
            try:
                producer = self._make_producer()
            except Exception as exc:  # noqa: BLE001 - NoBrokersAvailable, KafkaTimeoutError & co: retry
                log.info("mcp-blackbox: Kafka %s unreachable (%s); spooling", self.target.bootstrap, exc)
                time.sleep(self.probe_interval)
                continue
            with self._state_lock:
                if not self._closed:
                    self._ready = producer
                    return
            _close_quietly(producer)  # the sink closed while we were connecting
            return

    def _producer_or_none(self) -> Any:
        """The producer if the connector has one; never waits for a connection."""
        if self._producer is None:
            with self._state_lock:
                self._producer, self._ready = self._ready, None
            if self._producer is None and time.monotonic() >= self._next_probe:
                self._start_connector()
        return self._producer

    def _send_direct(self, records: list[tuple[str, bytes]]) -> int:
        """Send and wait; returns how many leading records were acknowledged (all or a prefix)."""
        producer = self._producer
        futures = []
        try:
            for key, value in records:
                futures.append(producer.send(self.target.topic, key=key.encode("utf-8"), value=value))
            producer.flush(timeout=float(self.options.get("delivery_timeout_ms", 10000)) / 1000 + 1)
        except Exception as exc:  # noqa: BLE001 - KafkaTimeoutError, KafkaError: fall back to the spool
            log.info("mcp-blackbox: Kafka send failed (%s); spooling", exc)
        acked = 0
        for future in futures:
            if not future.is_done or future.failed():
                break
            acked += 1
        return acked

    def _drop_producer(self) -> None:
        if self._producer is not None:
            _close_quietly(self._producer)
            self._producer = None
            self._next_probe = time.monotonic() + self.probe_interval

    def _replay(self) -> bool:
        """Send the overflow in order; True when it is empty afterwards."""
        if not self._orphans_done and self._producer_or_none() is not None:
            self._orphans_done = True
            self._adopt_orphans()
        if not self.overflow.pending or self._producer_or_none() is None:
            return not self.overflow.pending
        assert self.overflow.writer is not None  # noqa: S101 - pending implies a writer
        self.overflow.writer.close()  # seal: the reader yields everything written
        batch: list[tuple[str, bytes]] = []
        offset = self.overflow.start_offset
        for record in read_records(self.overflow.root, self.overflow.writer_id, self.overflow.start_offset):
            batch.append(_unframe(record.value))
            if len(batch) >= 5000:
                acked = self._send_direct(batch)
                offset += acked
                self.overflow.start_offset = offset
                if acked < len(batch):
                    self._drop_producer()
                    return False
                batch = []
        if batch:
            acked = self._send_direct(batch)
            self.overflow.start_offset = offset + acked
            if acked < len(batch):
                self._drop_producer()
                return False
        self.overflow.drained()
        return True

    def _adopt_orphans(self) -> None:
        """Overflow directories of emitters that died before replaying: replay them now, in order."""
        for writer_id in list_writers(self.overflow.root):
            if writer_id == self.overflow.writer_id:
                continue
            lock = self.overflow.root / f".{writer_id}.lock"
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # its emitter is alive and will replay it itself
            try:
                records = [_unframe(r.value) for r in read_records(self.overflow.root, writer_id) if not r.torn]
                if records and self._producer_or_none() is not None and self._send_direct(records) == len(records):
                    shutil.rmtree(self.overflow.root / writer_id, ignore_errors=True)
                    log.info("mcp-blackbox: replayed %d orphaned overflow records of %s", len(records), writer_id)
            finally:
                os.close(fd)
                lock.unlink(missing_ok=True)

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        if self._replay() and self._producer_or_none() is not None:
            acked = self._send_direct(records)
            if acked == len(records):
                return
            self._drop_producer()
            records = records[acked:]
        try:
            self.overflow.append(records)
        except OSError as exc:
            reason = "overflow disk full" if exc.errno == errno.ENOSPC else f"overflow write failed: {exc}"
            raise SinkError(reason, len(records)) from exc

    def flush(self, timeout: float) -> bool:
        """Replay the overflow within `timeout`; with no broker connection, give up after one probe
        interval (the overflow is durable and replayed later: an exiting host does not wait for Kafka)."""
        start = time.monotonic()
        deadline = start + timeout
        patience = start + min(timeout, self.probe_interval)
        while self.overflow.pending and time.monotonic() < deadline:
            if self._producer_or_none() is None:
                if time.monotonic() >= patience:
                    break
                time.sleep(0.05)
                continue
            if self._replay():
                break
            time.sleep(min(self.probe_interval, max(0.0, deadline - time.monotonic())))
        return not self.overflow.pending

    def close(self, timeout: float) -> None:
        if self._producer_or_none() is not None:  # else the emitter's flush just gave the connector its chance
            self.flush(timeout)
        with self._state_lock:
            self._closed = True  # a connector still trying gives up (and closes what it may still build)
            if self._producer is None:
                self._producer, self._ready = self._ready, None
        if self._producer is not None:
            try:
                self._producer.close(timeout=max(0.1, timeout))
            except Exception as exc:  # noqa: BLE001 - closing is best effort; records are acked or spooled
                log.warning("mcp-blackbox: closing Kafka producer: %s", exc)
            self._producer = None
        if self.overflow.pending:
            log.warning("mcp-blackbox: Kafka unreachable at exit; %s keeps the undelivered events for replay",
                        self.overflow.root)
        self.overflow.close()


def _close_quietly(producer: Any) -> None:
    try:
        producer.close(timeout=0)
    except Exception as exc:  # noqa: BLE001 - a broken producer may fail to close; it is discarded anyway
        log.debug("mcp-blackbox: closing producer: %s", exc)


def open_sink(url: str, writer_id: str, *, overflow_dir: Path, kafka_options: dict[str, Any] | None = None) -> Sink:
    """A sink for `spool:///dir` or `kafka://host:port/topic`."""
    if url.startswith(SPOOL_PREFIX):
        return SpoolSink(_spool_path(url), writer_id)
    if url.startswith(KAFKA_PREFIX):
        return KafkaSink(url, writer_id, overflow_dir, kafka_options)
    msg = f"unknown sink {url!r}: use spool:///dir or kafka://host:port/topic"
    raise UsageError(msg)


def overflow_backlog(overflow_dir: Path) -> int:
    """Records waiting in an overflow directory (for status output and tests)."""
    total = 0
    for writer_id in list_writers(overflow_dir):
        for _first, path in list_segments(overflow_dir / writer_id):
            with open(path, "rb") as fh:
                total += sum(1 for _ in fh)
    return total
