"""The wire form of an event: JSON bytes on Kafka and in spool files, and the event hash.

One event is one JSON object, UTF-8, with null fields left out and timestamps in the one form
`format_time` gives, written in canonical JSON (RFC 8785: sorted keys, no whitespace, ECMAScript
numbers). `event_sha256` is the SHA-256 of the canonical JSON of that object without `ingest_time`
(which the collector adds), so the collector can recompute an emitter's hash chain from the bytes it
received, and forensics from the stored row. Because emitters send exactly those canonical bytes, the
SHA-256 of a received record *is* its event hash once the collector has checked that the record is
the canonical text of what it parsed (see `collector/ingest/decode.py`); any other JSON spelling of an
event is still accepted, through the collector's slower strict path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from mcp_blackbox.schema.canonical import canonical_bytes, json_sha256
from mcp_blackbox.schema.errors import ValidationFailed
from mcp_blackbox.schema.model import SCHEMA_VERSION, AuditEvent

#: Columns that are not part of the hashed event (set after the emitter has hashed it).
UNHASHED_FIELDS = frozenset({"ingest_time"})


def to_wire_dict(event: AuditEvent) -> dict[str, Any]:
    """The event as a JSON-ready dict: nulls dropped, enums as strings, timestamps formatted."""
    return event.model_dump(mode="json", exclude_none=True)


def to_wire_bytes(event: AuditEvent) -> bytes:
    """The event as the bytes an emitter sends: canonical JSON of `to_wire_dict`."""
    return canonical_bytes(to_wire_dict(event))


def event_sha256(event: AuditEvent | Mapping[str, Any]) -> str:
    """Hash of an event (wire dict or model), leaving out `ingest_time` and null fields."""
    wire = to_wire_dict(event) if isinstance(event, AuditEvent) else event
    return json_sha256({k: v for k, v in wire.items() if v is not None and k not in UNHASHED_FIELDS})


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every bad field and why, e.g. `sequence: Input should be a valid integer`."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_event(data: bytes | str | Mapping[str, Any]) -> AuditEvent:
    """Validate one event from bytes, text or a dict; raises `ValidationFailed` naming the field."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"not UTF-8 at byte {exc.start}"
            raise ValidationFailed(msg) from exc
    else:
        text = data if isinstance(data, str) else ""
    if isinstance(data, Mapping):
        obj: Any = data
    else:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            raise ValidationFailed(msg) from exc
    if not isinstance(obj, Mapping):
        msg = f"event must be a JSON object, not {type(obj).__name__}"
        raise ValidationFailed(msg)
    version = obj.get("schema_version")
    if version != SCHEMA_VERSION:
        msg = f"schema_version: unknown schema version {version!r} (this build reads {SCHEMA_VERSION})"
        raise ValidationFailed(msg)
    try:
        return AuditEvent.model_validate(obj)
    except ValidationError as exc:
        raise ValidationFailed(describe_validation_error(exc)) from exc
