"""The emitter: the caller enqueues; a background sender builds, redacts, hashes, chains and ships.

The caller's cost of `emit()` is one UUIDv7, one clock read and one `deque.append` — everything else
(payload capture with hash-before-redaction, validation against schema v1, the per-instance gapless
`sequence` and `prev_event_sha256` chain, serialisation, the sink) happens on the sender thread.

Never raising into the host program is the rule: a bad field is dropped and noted on the event, a
full queue or a failing sink is counted and reported as a `lifecycle`/`emitter_loss` event (the lost
events also leave a visible gap in `sequence`), and problems are logged through `logging` (stderr),
never printed to stdout, which is the protocol channel of a stdio MCP server.
"""

from __future__ import annotations

import atexit
import collections
import getpass
import hashlib
import json
import logging
import os
import signal
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from types import FrameType
from typing import Any

from pydantic import ValidationError

from mcp_blackbox import __version__
from mcp_blackbox.collector.emit.config import CaptureConfig, load_config, resolve_hash_key
from mcp_blackbox.collector.emit.sinks import Sink, SinkError, SpoolSink, open_sink
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.enums import EmitterRole, EventType
from mcp_blackbox.schema.hashing import ContentHasher
from mcp_blackbox.schema.ids import uuid7
from mcp_blackbox.schema.model import AuditEvent
from mcp_blackbox.schema.payload import capture_payload
from mcp_blackbox.schema.redaction import Redactor

log = logging.getLogger(__name__)

_BATCH = 512
_FIELD_NAMES = frozenset(AuditEvent.model_fields)
_PAYLOAD_KEYS = ("arguments", "result")
# String fields the emitter fills itself from local facts or validated formats; every other string
# field (tool names, URIs, ids, clientInfo, headers, error text, …) goes through the redaction policy.
_NOT_SCANNED = frozenset({
    "event_id", "event_type", "event_subtype", "emitter_instance_id", "emitter_role", "emitter_component",
    "emitter_version", "host_name", "os_user", "tenant_id", "environment", "connection_id", "transport",
    "protocol_era", "direction", "initiator", "message_kind", "trace_source", "status", "user_id_source",
    "auth_method", "approval", "trace_id", "span_id", "parent_span_id", "token_fingerprint", "redacted_paths",
    "risk_flags", "event_time", "sequence", "schema_version", "content_fingerprints",
    *(name for name in _FIELD_NAMES if name.endswith("_sha256")),
})
# JSON texts redacted as JSON values (payload texts a caller passes ready-made included).
_JSON_TEXT = frozenset({"tool_definitions_json", "delegation_json", "attributes_json", "arguments_json", "result_json"})


@dataclass
class EmitterStats:
    """Counters of one emitter instance (read them any time; they only grow)."""

    enqueued: int = 0
    sent: int = 0
    dropped_queue_full: int = 0
    lost_sink: int = 0
    field_errors: int = 0
    loss_events: int = 0

    @property
    def dropped(self) -> int:
        """Every event that will never reach the sink."""
        return self.dropped_queue_full + self.lost_sink


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return None


_LIVE: weakref.WeakSet[Emitter] = weakref.WeakSet()
_SIGNAL_LOCK = threading.Lock()
_SIGNAL_INSTALLED = False


def _close_all(timeout: float = 5.0) -> None:
    for emitter in list(_LIVE):
        emitter.close(timeout)


def _install_sigterm() -> None:
    """Flush every live emitter on SIGTERM, then let the previous handler (or the default) act."""
    global _SIGNAL_INSTALLED
    with _SIGNAL_LOCK:
        if _SIGNAL_INSTALLED or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            _close_all()
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except ValueError:  # not the main interpreter thread after all
            return
        _SIGNAL_INSTALLED = True


atexit.register(_close_all)


class Emitter:
    """One emitter instance: thread-safe `emit()`, a background sender, one sink."""

    def __init__(self, role: EmitterRole | str, component: str, sink: str | Sink | None = None, *,
                 config: CaptureConfig | None = None, component_version: str | None = None,
                 install_signal_handler: bool = True, **static: Any) -> None:
        unknown = set(static) - _FIELD_NAMES
        if unknown:
            msg = f"unknown event field(s) for an emitter: {', '.join(sorted(unknown))}"
            raise TypeError(msg)
        self.config = config or load_config(sink=sink if isinstance(sink, str) else None)
        server = static.get("server_config_name")
        self.config = self.config.for_server(server)
        self.instance_id = str(uuid7())
        self.role = EmitterRole(role)
        self.static: dict[str, Any] = {
            "emitter_role": self.role, "emitter_component": component,
            "emitter_version": component_version or __version__,
            "host_name": socket.gethostname() or "unknown", "process_pid": os.getpid(), "os_user": _os_user(),
            "environment": self.config.environment, "tenant_id": self.config.tenant_id,
            "emitter_instance_id": self.instance_id,
        }
        self.static.update(static)
        self.redactor = Redactor(self.config.redaction)
        self.hasher = ContentHasher(resolve_hash_key(self.config))  # keyed payload / definition hashes
        self.fingerprinter = self.hasher.chunk_fingerprinter()  # keyed chunk fingerprints (data flow)
        self.stats = EmitterStats()
        self._queue: collections.deque[tuple[str, int, dict[str, Any]]] = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._closed = False
        self._close_lock = threading.Lock()
        self._sequence = 0
        self._prev_sha: str | None = None
        self._reported_loss = 0
        self.sink: Sink = sink if sink is not None and not isinstance(sink, str) else self._open_sink()
        self._thread = threading.Thread(target=self._run, name=f"mcp-blackbox-emitter-{component}", daemon=True)
        self._thread.start()
        _LIVE.add(self)
        if install_signal_handler:
            _install_sigterm()

    def _open_sink(self) -> Sink:
        """The configured sink; if it cannot be opened, the overflow spool; else a sink that counts loss.

        Opening never raises into the host program (an unwritable directory is an operator's problem
        to fix, announced on stderr and in `emitter_loss` events, not a crash of the host).
        """
        try:
            return open_sink(self.config.sink, self.instance_id, overflow_dir=self.config.spool_fallback_dir,
                             kafka_options=self.config.kafka_options)
        except OSError as exc:
            log.warning("mcp-blackbox: sink %s unusable (%s); recording to the overflow spool %s",
                        self.config.sink, exc.strerror or exc, self.config.spool_fallback_dir)
        try:
            return SpoolSink(self.config.spool_fallback_dir, self.instance_id)
        except OSError as exc:
            log.warning("mcp-blackbox: overflow spool %s unusable too (%s); events will be counted as lost",
                        self.config.spool_fallback_dir, exc.strerror or exc)
            return _LossSink(f"no usable sink: {exc.strerror or exc}")

    # -- the caller's side ------------------------------------------------------------------------

    def emit(self, event_type: EventType | str, /, **fields: Any) -> str:
        """Queue one event and return its event_id at once. Never blocks, never raises."""
        event_id = str(uuid7())
        try:
            if self._closed or len(self._queue) >= self.config.queue_size:
                self.stats.dropped_queue_full += 1
                self._wake.set()
                return event_id
            fields["event_id"] = event_id
            fields["event_type"] = event_type
            observed = fields.pop("observed_ns", None)  # when a proxy read the bytes, if earlier than now
            self._queue.append((event_id, observed or time.time_ns(), fields))
            self.stats.enqueued += 1
            self._idle.clear()
            self._wake.set()
        except Exception as exc:  # noqa: BLE001 - the host program must never see our failure
            self.stats.dropped_queue_full += 1
            log.warning("mcp-blackbox: emit failed: %s", exc)
        return event_id

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far reached the sink (True) or the timeout passed."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self._queue or not self._idle.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._thread.is_alive():
                return False
            self._idle.wait(min(remaining, 0.05))
        try:
            return self.sink.flush(max(0.0, deadline - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - flush is best effort; failure is reported, not raised
            log.warning("mcp-blackbox: sink flush failed: %s", exc)
            return False

    def close(self, timeout: float | None = None) -> None:
        """Flush (bounded by `timeout`, default from config) and stop the sender. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            budget = self.config.flush_timeout if timeout is None else timeout
            deadline = time.monotonic() + budget
            self.flush(budget)
            self._closed = True
            self._wake.set()
            self._thread.join(max(0.0, deadline - time.monotonic()))
            if self._queue:
                lost = len(self._queue)
                self.stats.dropped_queue_full += lost
                log.warning("mcp-blackbox: %d events not delivered within the %.1fs close budget", lost, budget)
            try:
                self.sink.close(max(0.1, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - reported, never raised into the host
                log.warning("mcp-blackbox: closing sink failed: %s", exc)
            _LIVE.discard(self)

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the sender thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(0.2)
            self._wake.clear()
            while self._queue:
                batch: list[tuple[str, int, dict[str, Any]]] = []
                while self._queue and len(batch) < _BATCH:
                    batch.append(self._queue.popleft())
                self._ship(batch)
            self._report_loss()
            self._idle.set()
            if self._closed and not self._queue:
                return

    def _ship(self, batch: list[tuple[str, int, dict[str, Any]]]) -> None:
        records: list[tuple[str, bytes]] = []
        for event_id, t_ns, fields in batch:
            try:
                records.append(self._build(event_id, t_ns, fields))
            except Exception as exc:  # noqa: BLE001 - one broken event must not stop the sender
                self.stats.lost_sink += 1
                log.warning("mcp-blackbox: could not build event %s: %s", event_id, exc)
        if not records:
            return
        try:
            self.sink.send_many(records)
            self.stats.sent += len(records)
        except SinkError as exc:
            self.stats.lost_sink += exc.lost
            self.stats.sent += len(records) - exc.lost
            self._last_loss_reason = exc.reason
            log.warning("mcp-blackbox: %s", exc)
        except Exception as exc:  # noqa: BLE001 - an unexpected sink failure is a loss, counted and reported
            self.stats.lost_sink += len(records)
            self._last_loss_reason = f"sink error: {exc}"
            log.warning("mcp-blackbox: sink failed: %s", exc)

    def _payloads(self, data: dict[str, Any]) -> None:
        """Capture `arguments` / `result` raw values: hash before redaction, redact, cap."""
        paths: list[str] = list(data.get("redacted_paths") or [])
        truncated = bool(data.get("truncated"))
        captured_keys: set[str] = set()
        fingerprints: list[str] = []
        for key in _PAYLOAD_KEYS:
            if key not in data:
                continue
            captured_keys.add(f"{key}_json")
            captured = capture_payload(data.pop(key), redactor=self.redactor, mode=self.config.payload_mode,
                                       max_bytes=self.config.max_payload_bytes, root=f"$.{key}",
                                       hasher=self.hasher, fingerprinter=self.fingerprinter)
            data[f"{key}_json"] = captured.json_text
            if captured.fingerprints:
                fingerprints.extend(captured.fingerprints)
            data[f"{key}_sha256"] = captured.sha256
            if key == "result":
                data["result_size_bytes"] = captured.size_bytes
            paths.extend(captured.redacted_paths)
            truncated = truncated or captured.truncated
        if fingerprints:
            data["content_fingerprints"] = fingerprints
        self._redact_fields(data, paths, captured_keys)
        if paths:
            data["redacted_paths"] = paths
        data["redacted"] = bool(paths)
        if truncated:
            data["truncated"] = True

    def _redact_fields(self, data: dict[str, Any], paths: list[str], done: set[str]) -> None:
        """One policy over every other string an event carries: columns, list items, JSON texts.

        `attributes` (argv, instructions, `_meta` extras, capabilities…) is redacted as a JSON value,
        keys included; so are the JSON texts of catalog definitions and delegation chains.
        """
        for key in data.keys() - _NOT_SCANNED - done:
            value = data[key]
            if value is None or isinstance(value, bool | int | float | Enum):
                continue
            if key == "attributes":
                redacted = self.redactor.redact(value, "$.attributes")
            elif key in _JSON_TEXT and isinstance(value, str):
                try:
                    parsed = json.loads(value)
                except ValueError:
                    redacted = self.redactor.redact_text(value, f"$.{key}")
                else:
                    redacted = self.redactor.redact(parsed, f"$.{key}")
                    if redacted.paths:
                        redacted.value = json.dumps(redacted.value, ensure_ascii=False)
                    else:
                        redacted.value = value
            elif isinstance(value, str) and value:
                redacted = self.redactor.redact_text(value, f"$.{key}")
            elif isinstance(value, list) and any(isinstance(v, str) for v in value):
                redacted = self.redactor.redact(value, f"$.{key}")
            else:
                continue
            if redacted.paths:
                data[key] = redacted.value
                paths.extend(redacted.paths)

    def _build(self, event_id: str, t_ns: int, fields: dict[str, Any]) -> tuple[str, bytes]:
        data = {**self.static, **fields}
        data["event_id"] = event_id
        data["event_time"] = datetime.fromtimestamp(t_ns / 1e9, tz=UTC)
        data.setdefault("connection_id", f"emitter:{self.instance_id}")
        self._payloads(data)
        if "attributes" in data:
            data["attributes_json"] = json.dumps(data.pop("attributes"), ensure_ascii=False, default=str)
        data["sequence"] = self._sequence
        data["prev_event_sha256"] = self._prev_sha
        data["schema_version"] = 1
        event = self._validate(data)
        wire = event.model_dump(mode="json", exclude_none=True)
        wire.pop("ingest_time", None)  # the collector's field, never hashed
        # Canonical JSON on the wire: its SHA-256 is the event hash, and the collector's fast path
        # checks exactly that (wire.py), so one serialisation serves both.
        value = canonical_bytes(wire)
        self._prev_sha = hashlib.sha256(value).hexdigest()
        self._sequence += 1
        return str(data["connection_id"]), value

    def _validate(self, data: dict[str, Any]) -> AuditEvent:
        try:
            return AuditEvent.model_validate(data)
        except ValidationError as exc:
            bad = sorted({str(err["loc"][0]) for err in exc.errors(include_url=False) if err["loc"]})
            self.stats.field_errors += 1
            required = {"event_id", "event_type", "event_time", "connection_id", "sequence", "schema_version"}
            if set(bad) & required:
                raise
            cleaned = {k: v for k, v in data.items() if k not in bad and k in _FIELD_NAMES}
            cleaned["risk_flags"] = [*(cleaned.get("risk_flags") or []), "emitter_field_error"]
            note: dict[str, Any] = {"invalid_fields": bad}
            try:
                note.update(json.loads(cleaned.get("attributes_json") or "{}"))
            except (TypeError, ValueError):
                note["attributes_json_invalid"] = True
            cleaned["attributes_json"] = json.dumps(note, default=str)
            return AuditEvent.model_validate(cleaned)

    def _report_loss(self) -> None:
        """Turn newly counted losses into one `emitter_loss` event (retried until it is stored)."""
        total = self.stats.dropped
        if total <= self._reported_loss:
            return
        new = total - self._reported_loss
        reason = getattr(self, "_last_loss_reason", "queue full") if self.stats.lost_sink else "queue full"
        record_fields = {
            "event_type": EventType.LIFECYCLE, "event_subtype": "emitter_loss", "risk_flags": ["capture_loss"],
            "attributes": {"lost_events": new, "lost_total": total, "reason": reason,
                           "dropped_queue_full": self.stats.dropped_queue_full, "lost_sink": self.stats.lost_sink},
        }
        try:
            key, value = self._build(str(uuid7()), time.time_ns(), record_fields)
            self.sink.send_many([(key, value)])
        except Exception as exc:  # noqa: BLE001 - retried on the next loop; the sequence gap stays visible
            log.warning("mcp-blackbox: could not record the loss of %d events yet: %s", new, exc)
            return
        self._reported_loss = total
        self.stats.loss_events += 1
        log.warning("mcp-blackbox: %d events lost (%s); recorded as an emitter_loss event", new, reason)


class _LossSink:
    """Used when no sink can be opened: every batch is a counted, reported loss."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        raise SinkError(self.reason, len(records))

    def flush(self, timeout: float) -> bool:
        return False

    def close(self, timeout: float) -> None:
        return None


def default_emitter(role: EmitterRole | str, component: str, *, sink: str | None = None,
                    config: CaptureConfig | None = None, **static: Any) -> Emitter:
    """An emitter configured from the environment / config file (`load_config`)."""
    return Emitter(role, component, config=config or load_config(sink=sink), **static)
