"""OTLP/HTTP receiver: `/v1/traces` and `/v1/logs`, protobuf or JSON, optionally gzip'd.

Each request is decoded and mapped as a whole (`otlp_map`) before anything is emitted, so a bad payload
is answered with 400 and a `google.rpc.Status` body and leaves nothing half-stored. Accepted items go
through the receiver's `Emitter` — the same redaction, hashing, validation and sink machinery as our
own emitters — and the answer is an `Export*ServiceResponse` whose `partial_success` counts the items
that could not be taken. Backpressure: when the emitter's queue cannot hold a request's events the
answer is 503 with `Retry-After` (and 429 when too many requests are in flight), never unbounded memory.

Only this module and `otlp_map` import `opentelemetry-proto` (the `[otlp]` extra).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.otlp_map import Mapped, OtlpPayloadError, map_logs, map_traces

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DEFAULT_MAX_BODY = 16 * 1024 * 1024  # after decompression as well
RETRY_AFTER_SECONDS = 2
_INVALID_ARGUMENT = 3  # google.rpc.Code
_RESOURCE_EXHAUSTED = 8
_UNAVAILABLE = 14


@dataclass
class ReceiverStats:
    """Counters of one receiver (they only grow)."""

    requests: int = 0
    bad_requests: int = 0  # 400 / 413 / 415: nothing of the request stored
    throttled: int = 0  # 429 / 503 with Retry-After
    spans: int = 0
    log_records: int = 0
    events: int = 0
    unrelated: int = 0  # not MCP / agent-host telemetry: dropped
    rejected: int = 0  # reported in partial_success


class OtlpEmitter(Emitter):
    """The receiver's emitter: it can say whether a batch of events fits the queue right now."""

    def room(self) -> int:
        return max(0, self.config.queue_size - len(self._queue))


class PayloadRejected(Exception):
    """The request is answered with `status` and a google.rpc.Status of `message`; nothing stored."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- encodings ----------------------------------------------------------------------------------------

_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP/JSON carries trace/span ids as hex strings where proto3 JSON expects base64: convert in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                except ValueError as exc:
                    msg = f"{key} {value[:40]!r} is not hex"
                    raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg) from exc
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def decode(body: bytes, content_type: str, message: Any) -> None:
    """Parse `body` into `message` (protobuf or OTLP/JSON); PayloadRejected if it is not one."""
    if content_type == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            msg = f"not a valid {type(message).__name__} protobuf: {exc}"
            raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg) from exc
        return
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        msg = f"not valid JSON: {exc}"
        raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg) from exc
    if not isinstance(data, dict):
        msg = "OTLP/JSON body must be an object"
        raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg)
    try:
        _hex_ids_to_base64(data)
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        msg = f"not a valid OTLP/JSON {type(message).__name__}: {exc}"
        raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg) from exc


def encode(message: Any, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return bytes(message.SerializeToString())
    return str(json_format.MessageToJson(message, indent=None)).encode("utf-8")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def status_body(code: int, message: str, content_type: str) -> bytes:
    """A `google.rpc.Status` (code, message) in the request's encoding (hand-encoded: two fields)."""
    if content_type == PROTOBUF:
        text = message.encode("utf-8")
        return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
    return json.dumps({"code": code, "message": message}).encode("utf-8")


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        msg = f"Content-Encoding {encoding!r} is not supported (gzip, deflate, identity)"
        raise PayloadRejected(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, msg)
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        msg = f"bad {encoding} body: {exc}"
        raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg) from exc
    if len(out) > limit:
        msg = f"decompressed body exceeds {limit} bytes"
        raise PayloadRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, msg)
    if not inflater.eof:
        msg = f"truncated {encoding} body"
        raise PayloadRejected(HTTPStatus.BAD_REQUEST, msg)
    return out


# -- the receiver -------------------------------------------------------------------------------------

_SIGNALS: dict[str, tuple[Any, Any, Callable[[Any], Mapped], str]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse, map_traces, "rejected_spans"),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse, map_logs, "rejected_log_records"),
}


class OtlpReceiver:
    """Decode, map, emit. Thread-safe; one per listening socket."""

    def __init__(self, emitter: OtlpEmitter, *, max_body: int = DEFAULT_MAX_BODY, max_inflight: int = 16) -> None:
        self.emitter = emitter
        self.max_body = max_body
        self.stats = ReceiverStats()
        self._inflight = threading.BoundedSemaphore(max_inflight)
        self._emit_lock = threading.Lock()
        self._stats_lock = threading.Lock()

    def handle(self, path: str, content_type: str, encoding: str,
               body: bytes) -> tuple[int, str, bytes, dict[str, str]]:
        """One export request -> (HTTP status, content type, body, extra headers)."""
        reply_type = PROTOBUF if content_type == PROTOBUF else JSON
        with self._stats_lock:
            self.stats.requests += 1
        if not self._inflight.acquire(blocking=False):
            return self._throttle(HTTPStatus.TOO_MANY_REQUESTS, "too many requests in flight", reply_type)
        try:
            return self._handle(path, content_type, encoding, body, reply_type)
        except PayloadRejected as exc:
            with self._stats_lock:
                self.stats.bad_requests += 1
            log.info("mcp-blackbox otlp: %s %s: %s", int(exc.status), path, exc.message)
            return exc.status, reply_type, status_body(_INVALID_ARGUMENT, exc.message, reply_type), {}
        finally:
            self._inflight.release()

    def _handle(self, path: str, content_type: str, encoding: str, body: bytes,
                reply_type: str) -> tuple[int, str, bytes, dict[str, str]]:
        signal = _SIGNALS.get(path)
        if signal is None:
            raise PayloadRejected(HTTPStatus.NOT_FOUND, f"no OTLP signal at {path} (/v1/traces, /v1/logs)")
        if content_type not in (PROTOBUF, JSON):
            msg = f"Content-Type {content_type or '(none)'!r} is not OTLP ({PROTOBUF} or {JSON})"
            raise PayloadRejected(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, msg)
        request_cls, response_cls, mapper, rejected_field = signal
        request = request_cls()
        decode(_inflate(body, encoding, self.max_body), content_type, request)
        try:
            mapped: Mapped = mapper(request)
        except (OtlpPayloadError, RecursionError) as exc:
            raise PayloadRejected(HTTPStatus.BAD_REQUEST, str(exc)) from exc
        with self._emit_lock:  # check-and-emit as one step: all of a request's events, or none
            if len(mapped.events) > self.emitter.room():
                return self._throttle(HTTPStatus.SERVICE_UNAVAILABLE, "the receiver's queue is full", reply_type)
            for event_type, fields in mapped.events:
                self.emitter.emit(event_type, **fields)
        with self._stats_lock:
            if path == "/v1/traces":
                self.stats.spans += mapped.items
            else:
                self.stats.log_records += mapped.items
            self.stats.events += len(mapped.events)
            self.stats.unrelated += mapped.unrelated
            self.stats.rejected += mapped.rejected
        response = response_cls()
        if mapped.rejected:
            setattr(response.partial_success, rejected_field, mapped.rejected)
            response.partial_success.error_message = "; ".join(mapped.errors[:5])
        return HTTPStatus.OK, reply_type, encode(response, reply_type), {}

    def _throttle(self, status: int, message: str, reply_type: str) -> tuple[int, str, bytes, dict[str, str]]:
        with self._stats_lock:
            self.stats.throttled += 1
        code = _RESOURCE_EXHAUSTED if status == HTTPStatus.TOO_MANY_REQUESTS else _UNAVAILABLE
        return status, reply_type, status_body(code, message, reply_type), {"Retry-After": str(RETRY_AFTER_SECONDS)}


class _Handler(BaseHTTPRequestHandler):
    server: OtlpHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "mcp-blackbox-otlp"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        reply_type = PROTOBUF if content_type == PROTOBUF else JSON
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._reply(HTTPStatus.LENGTH_REQUIRED, reply_type,
                        status_body(_INVALID_ARGUMENT, "Content-Length required", reply_type), {}, close=True)
            return
        if length < 0 or length > receiver.max_body:
            with receiver._stats_lock:
                receiver.stats.requests += 1
                receiver.stats.bad_requests += 1
            message = f"body of {length} bytes exceeds {receiver.max_body}"
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, reply_type,
                        status_body(_INVALID_ARGUMENT, message, reply_type), {}, close=True)
            return
        body = self.rfile.read(length)
        path = self.path.split("?")[0]
        status, ctype, payload, headers = receiver.handle(path, content_type, encoding, body)
        self._reply(status, ctype, payload, headers)

    def do_GET(self) -> None:
        body = status_body(_INVALID_ARGUMENT, "OTLP/HTTP takes POST", JSON)
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, JSON, body, {"Allow": "POST"})

    def _reply(self, status: int, ctype: str, body: bytes, headers: dict[str, str], *, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("mcp-blackbox otlp: " + format, *args)


class OtlpHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one receiver."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


def serve(host: str, port: int, emitter: OtlpEmitter, **options: Any) -> OtlpHTTPServer:
    """Bind (port 0 picks one) and return the server; call `serve_forever()` on it."""
    return OtlpHTTPServer((host, port), OtlpReceiver(emitter, **options))


__all__ = ["OtlpEmitter", "OtlpHTTPServer", "OtlpReceiver", "ReceiverStats", "decode", "serve"]
