"""The audit event contract (schema v1) and the helpers every layer shares.

Depends on pydantic only (and pyarrow for `mcp_blackbox.schema.arrow`). Nothing of ours is imported
here, and nothing heavy: emitters import this package on their start-up path.
"""

from mcp_blackbox.schema.canonical import (
    canonical_bytes,
    canonical_json,
    json_sha256,
    sha256_hex,
    tool_catalog_sha256,
    tool_definition_sha256,
)
from mcp_blackbox.schema.enums import (
    Approval,
    AuthMethod,
    Direction,
    EmitterRole,
    EventType,
    Initiator,
    MessageKind,
    PayloadMode,
    ProtocolEra,
    Severity,
    Status,
    TraceSource,
    Transport,
    UserIdSource,
)
from mcp_blackbox.schema.errors import BlackboxError, ValidationFailed
from mcp_blackbox.schema.ids import uuid7, uuid7_str
from mcp_blackbox.schema.model import (
    FIELD_NAMES,
    REQUIRED_FIELDS,
    SCHEMA_VERSION,
    AuditEvent,
    format_time,
    utc_now,
)
from mcp_blackbox.schema.payload import CapturedPayload, capture_payload
from mcp_blackbox.schema.redaction import RedactionPolicy, Redactor
from mcp_blackbox.schema.wire import event_sha256, parse_event, to_wire_bytes, to_wire_dict

__all__ = [
    "FIELD_NAMES",
    "REQUIRED_FIELDS",
    "SCHEMA_VERSION",
    "Approval",
    "AuditEvent",
    "AuthMethod",
    "BlackboxError",
    "CapturedPayload",
    "Direction",
    "EmitterRole",
    "EventType",
    "Initiator",
    "MessageKind",
    "PayloadMode",
    "ProtocolEra",
    "RedactionPolicy",
    "Redactor",
    "Severity",
    "Status",
    "TraceSource",
    "Transport",
    "UserIdSource",
    "ValidationFailed",
    "canonical_bytes",
    "canonical_json",
    "capture_payload",
    "event_sha256",
    "format_time",
    "json_sha256",
    "parse_event",
    "sha256_hex",
    "to_wire_bytes",
    "to_wire_dict",
    "tool_catalog_sha256",
    "tool_definition_sha256",
    "utc_now",
    "uuid7",
    "uuid7_str",
]
