"""The audit event contract, schema v1: one pydantic model, the single source of truth.

The Arrow schema (`arrow.py`), the committed JSON Schema (`event-v1.schema.json`), the column
documentation (`columns.py`) and the DuckDB views all derive from `AuditEvent`; tests fail when they
drift. Columns are flat snake_case; free-form JSON travels in `*_json` string columns; timestamps are
timezone-aware UTC with microsecond precision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
)
from pydantic.config import JsonDict

from mcp_blackbox.schema.enums import (
    Approval,
    AuthMethod,
    Direction,
    EmitterRole,
    EventType,
    Initiator,
    MessageKind,
    ProtocolEra,
    Status,
    TraceSource,
    Transport,
    UserIdSource,
)
from mcp_blackbox.schema.ids import is_uuid7

SCHEMA_VERSION: Final = 1
#: Largest string any single column may hold; the collector quarantines bigger values.
MAX_STRING_BYTES: Final = 16 * 1024 * 1024

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


def _check_uuid7(value: str) -> str:
    if not is_uuid7(value):
        msg = "must be a lowercase canonical UUIDv7"
        raise ValueError(msg)
    return value


def _check_json_text(value: str | None) -> str | None:
    # Only a cheap shape check: full parsing of every payload would double ingest cost.
    if value is not None and value[:1] not in ("{", "[", '"', "n", "t", "f", "-") and not value[:1].isdigit():
        msg = "must hold JSON text"
        raise ValueError(msg)
    return value


Uuid7 = Annotated[str, AfterValidator(_check_uuid7)]
JsonText = Annotated[str | None, AfterValidator(_check_json_text)]

# Groups, in column order; `columns.py` and the docs list fields under these headings.
GROUPS: Final = ("identity", "emitter", "correlation", "actor", "server", "operation", "security")


def _f(group: str, description: str, *, default: Any = None, required: bool = False, **kw: Any) -> Any:
    extra: JsonDict = {"group": group}
    if required:
        return Field(..., description=description, json_schema_extra=extra, **kw)
    return Field(default, description=description, json_schema_extra=extra, **kw)


class AuditEvent(BaseModel):
    """One observation by one emitter: an MCP message, a host decision, a lifecycle or auth event."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=False,
        use_enum_values=False,
        validate_default=False,
        str_strip_whitespace=False,
        # NaN and ±Infinity are no JSON numbers (they would be exported as invalid JSON) and no evidence.
        allow_inf_nan=False,
        title="mcp-blackbox audit event v1",
    )

    # -- identity --------------------------------------------------------------------------------
    schema_version: Literal[1] = _f("identity", "Event contract version; always 1 for this schema.",
                                    required=True)
    event_id: Uuid7 = _f("identity", "UUIDv7 minted by the emitter; time-ordered, globally unique.",
                         required=True)
    event_type: EventType = _f("identity", "message, lifecycle, host, auth, policy or catalog.", required=True)
    event_subtype: str | None = _f("identity", "Finer kind, e.g. server_spawn, user_prompt, tool_choice, "
                                   "catalog_changed, protocol_anomaly, http_rejected, loss.")
    event_time: datetime = _f("identity", "When the emitter observed it (UTC, microseconds).", required=True)
    ingest_time: datetime | None = _f("identity", "When the collector stored it (UTC); set by the collector.")
    emitter_instance_id: NonEmpty = _f("identity", "One running emitter (process + hook); scope of "
                                       "`sequence` and the hash chain.", required=True)
    sequence: int = _f("identity", "Per emitter instance, gapless from 0; a gap means lost events.",
                       required=True, ge=0)
    prev_event_sha256: Sha256Hex | None = _f("identity", "event_sha256 of the previous event of the same "
                                             "emitter instance (null for sequence 0).")

    # -- emitter ---------------------------------------------------------------------------------
    emitter_role: EmitterRole = _f("emitter", "host, client, server or gateway.", required=True)
    emitter_component: NonEmpty = _f("emitter", "Which emitter: wrap, http_proxy, sdk_server, sdk_client, "
                                     "host_api, …", required=True)
    emitter_version: str | None = _f("emitter", "mcp-blackbox version of the emitter.")
    host_name: NonEmpty = _f("emitter", "Machine the emitter runs on.", required=True)
    process_pid: int | None = _f("emitter", "PID of the process hosting the emitter.")
    os_user: str | None = _f("emitter", "Operating-system account of that process.")
    tenant_id: str | None = _f("emitter", "Tenant / organisation, from configuration.")
    environment: str | None = _f("emitter", "Deployment environment label (prod, staging, dev, …).")

    # -- correlation -----------------------------------------------------------------------------
    connection_id: NonEmpty = _f("correlation", "Minted by the emitter per transport connection; the one "
                                 "key that exists in both protocol eras.", required=True)
    mcp_session_id: str | None = _f("correlation", "Legacy Streamable HTTP Mcp-Session-Id (hashed when "
                                    "configured as a credential).")
    transport: Transport | None = _f("correlation", "stdio, streamable_http, sse, websocket, in_process.")
    mcp_protocol_version: str | None = _f("correlation", "MCP revision, e.g. 2025-11-25 or 2026-07-28.")
    protocol_era: ProtocolEra | None = _f("correlation", "legacy (<= 2025-11-25) or modern (2026-07-28+).")
    direction: Direction | None = _f("correlation", "client_to_server, server_to_client or internal.")
    initiator: Initiator | None = _f("correlation", "Side that sent the request this message belongs to.")
    message_kind: MessageKind | None = _f("correlation", "request, result, error or notification.")
    jsonrpc_id: str | None = _f("correlation", "JSON-RPC id in string form (ids are unique per sender).")
    related_request_id: str | None = _f("correlation", "Request this message refers to: cancelled request, "
                                        "the request a server-to-client request serves, the listen request.")
    progress_token: str | None = _f("correlation", "params._meta.progressToken, string form.")
    task_id: str | None = _f("correlation", "Task id of task-augmented requests.")
    request_state_sha256: Sha256Hex | None = _f("correlation", "HMAC-SHA-256 of the MRTR requestState: links an "
                                                "input_required result to the retry that echoes it.")
    trace_id: str | None = _f("correlation", "W3C trace id (32 hex).")
    span_id: str | None = _f("correlation", "W3C span id (16 hex) of this message's span.")
    parent_span_id: str | None = _f("correlation", "Parent span id (the caller's span).")
    trace_source: TraceSource | None = _f("correlation", "Where trace_id came from: meta, otel, emitter, "
                                          "http_header, none.")
    conversation_id: str | None = _f("correlation", "Host conversation / agent session (gen_ai.conversation.id).")
    tool_call_id: str | None = _f("correlation", "The model's tool-use id (gen_ai.tool.call.id) joining a "
                                  "host decision to the MCP call.")
    parent_event_id: str | None = _f("correlation", "event_id of the event that caused this one.")

    # -- actor -----------------------------------------------------------------------------------
    user_id: str | None = _f("actor", "End user, as vouched for by user_id_source.")
    user_id_source: UserIdSource | None = _f("actor", "token, host, os or self_reported.")
    agent_id: str | None = _f("actor", "Agent identifier (gen_ai.agent.id).")
    agent_name: str | None = _f("actor", "Agent name (gen_ai.agent.name).")
    model_name: str | None = _f("actor", "LLM behind the agent.")
    client_info_name: str | None = _f("actor", "clientInfo.name (self-reported by the client).")
    client_info_version: str | None = _f("actor", "clientInfo.version (self-reported).")
    oauth_client_id: str | None = _f("actor", "OAuth client_id / azp from the validated token.")
    oauth_issuer: str | None = _f("actor", "Token issuer (iss).")
    oauth_subject: str | None = _f("actor", "Token subject (sub).")
    oauth_scopes: list[str] | None = _f("actor", "Granted scopes.")
    token_audience: str | None = _f("actor", "Token audience / resource (aud, RFC 8707 resource).")
    token_fingerprint: str | None = _f("actor", "Keyed fingerprint (HMAC-SHA-256, deployment hash key) of the "
                                       "bearer token; never the token.")
    auth_method: AuthMethod | None = _f("actor", "oauth_bearer, api_key, basic, mtls, environment, none.")
    delegation_json: JsonText = _f("actor", "Delegation chain (token act claim, on-behalf-of), JSON.")
    src_ip: str | None = _f("actor", "Source address of the caller (HTTP).")
    user_agent: str | None = _f("actor", "HTTP User-Agent (and Origin in attributes_json).")

    # -- server ----------------------------------------------------------------------------------
    server_config_name: str | None = _f("server", "The host's trusted label for the server (config key).")
    server_name: str | None = _f("server", "serverInfo.name (self-reported).")
    server_version: str | None = _f("server", "serverInfo.version (self-reported).")
    server_url: str | None = _f("server", "Server endpoint URL (HTTP transports).")
    server_command: str | None = _f("server", "Command line that launched a stdio server.")
    server_binary_sha256: Sha256Hex | None = _f("server", "SHA-256 of the resolved server executable.")
    server_pid: int | None = _f("server", "PID of the server process.")

    # -- operation -------------------------------------------------------------------------------
    method: str | None = _f("operation", "JSON-RPC method (results carry their request's method).")
    tool_name: str | None = _f("operation", "tools/call params.name.")
    prompt_name: str | None = _f("operation", "prompts/get params.name.")
    resource_uri: str | None = _f("operation", "resources/* uri.")
    target: str | None = _f("operation", "What the operation acts on: tool, prompt, resource or method target.")
    arguments_json: JsonText = _f("operation", "Request params / tool arguments, redacted and size-capped.")
    arguments_sha256: Sha256Hex | None = _f("operation", "HMAC-SHA-256 (deployment hash key) of canonical "
                                                                "arguments before redaction.")
    result_json: JsonText = _f("operation", "Result or error payload, redacted and size-capped.")
    result_sha256: Sha256Hex | None = _f("operation", "HMAC-SHA-256 (deployment hash key) of the canonical "
                                                             "result before redaction.")
    result_size_bytes: int | None = _f("operation", "Size of the canonical result before redaction.", ge=0)
    is_error: bool | None = _f("operation", "True for JSON-RPC errors and tool errors.")
    error_code: int | None = _f("operation", "JSON-RPC error code.")
    error_message: str | None = _f("operation", "JSON-RPC error message (redacted).")
    status: Status | None = _f("operation", "ok, error, tool_error, cancelled, timeout, input_required, "
                               "denied, uncorrelated.")
    duration_ms: float | None = _f("operation", "Request to response time seen by this emitter.", ge=0)
    http_status: int | None = _f("operation", "HTTP status code (HTTP transports).")
    mcp_method_header: str | None = _f("operation", "Mcp-Method HTTP header (modern HTTP).")
    mcp_name_header: str | None = _f("operation", "Mcp-Name HTTP header (modern HTTP), decoded.")

    # -- security --------------------------------------------------------------------------------
    tool_definition_sha256: Sha256Hex | None = _f("security", "Hash of the tool definition in force for "
                                                  "this call (from the last tools/list).")
    tool_catalog_sha256: Sha256Hex | None = _f("security", "Order-independent hash of the server's tool catalog.")
    tool_definitions_json: JsonText = _f("security", "On catalog events: the full definitions, JSON.")
    approval: Approval | None = _f("security", "auto, user_approved, user_denied, policy_allowed, policy_denied.")
    policy_id: str | None = _f("security", "Policy that decided.")
    redacted: bool = _f("security", "Whether anything was removed from this event's payloads.",
                        required=True)
    redacted_paths: list[str] | None = _f("security", "What was removed: 'detector@$.json.path' entries.")
    truncated: bool | None = _f("security", "Whether a payload was cut to the size cap.")
    sensitivity_labels: list[str] | None = _f("security", "Data classification labels (configured or detected).")
    risk_flags: list[str] | None = _f("security", "Emitter-side flags, e.g. catalog_changed, header_mismatch, "
                                      "protocol_anomaly, payload_truncated.")
    attributes_json: JsonText = _f("security", "Anything else worth keeping, JSON object.")
    content_fingerprints: list[str] | None = _f("security", "Keyed 64-bit fingerprints (hex) of the payload's "
                                                "chunks and distinctive tokens, taken before redaction "
                                                "(`schema.chunking`); `hex!reason` marks one redaction removed. "
                                                "Data-flow edges match on them.")

    @field_validator("event_time", "ingest_time")
    @classmethod
    def _utc_microseconds(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = "must be timezone-aware (UTC)"
            raise ValueError(msg)
        return value.astimezone(UTC)

    @field_serializer("event_time", "ingest_time", when_used="json")
    def _format_time(self, value: datetime | None) -> str | None:
        return None if value is None else format_time(value)


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with exactly six fractional digits: the one wire form of a timestamp."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


#: Every column in contract order.
FIELD_NAMES: Final[tuple[str, ...]] = tuple(AuditEvent.model_fields)
#: Columns every event must carry.
REQUIRED_FIELDS: Final[frozenset[str]] = frozenset(
    name for name, info in AuditEvent.model_fields.items() if info.is_required()
)


def field_group(name: str) -> str:
    """The contract group (identity, emitter, …) a column belongs to."""
    extra = AuditEvent.model_fields[name].json_schema_extra
    assert isinstance(extra, dict)  # noqa: S101 - every field is built by _f
    return str(extra["group"])
