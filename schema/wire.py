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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            msg = f"{key}: duplicate key in JSON object"
            raise ValidationFailed(msg)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    msg = f"invalid JSON: {name} is not a JSON number"
    raise ValidationFailed(msg)


def load_json_text(text: str) -> Any:
    """Parse wire JSON strictly: duplicate keys, `NaN`/`Infinity` and parser limits are `ValidationFailed`.

    Duplicate keys are refused because parsers disagree on which one wins (an evasion trick); nesting
    beyond the parser's depth and integers beyond its digit limit are refused instead of raising.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ValidationFailed(msg) from exc
    except RecursionError as exc:
        msg = "invalid JSON: nested deeper than the parser allows (an event is one flat object)"
        raise ValidationFailed(msg) from exc
    except ValueError as exc:  # e.g. an integer literal longer than Python's int conversion limit
        msg = f"invalid JSON: {str(exc).split(';')[0]}"
        raise ValidationFailed(msg) from exc


def _check_version(obj: Mapping[str, Any]) -> None:
    version = obj.get("schema_version")
    # `type(...) is int`: `true` and `1.0` equal 1 in Python but are not the integer 1 on the wire.
    if type(version) is not int or version != SCHEMA_VERSION:
        shown = repr(version) if len(repr(version)) <= 40 else repr(version)[:40] + "…"
        msg = f"schema_version: unknown schema version {shown} (this build reads {SCHEMA_VERSION})"
        raise ValidationFailed(msg)


def parse_event(data: bytes | str | Mapping[str, Any]) -> AuditEvent:
    """Validate one event from bytes, text or a dict; raises `ValidationFailed` naming the field.

    Bytes and text are the wire form and are validated strictly, as JSON: no coercion (`"5"` is not an
    integer, `"yes"` or `1` not a boolean, `1.0` not an integer), no duplicate keys, no non-finite
    numbers. A dict (built in Python, e.g. by an emitter) gets pydantic's default validation.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"not UTF-8 at byte {exc.start}"
            raise ValidationFailed(msg) from exc
    else:
        text = data if isinstance(data, str) else ""
    if isinstance(data, Mapping):
        _check_version(data)
        try:
            return AuditEvent.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed(describe_validation_error(exc)) from exc
    obj = load_json_text(text)
    if not isinstance(obj, Mapping):
        msg = f"event must be a JSON object, not {type(obj).__name__}"
        raise ValidationFailed(msg)
    _check_version(obj)
    try:
        return AuditEvent.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise ValidationFailed(describe_validation_error(exc)) from exc
