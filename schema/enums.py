"""Closed vocabularies of the event contract (schema v1).

Each enum is a `StrEnum`, so it serialises as its plain string value in JSON, Arrow and SQL.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class EventType(StrEnum):
    """What kind of observation an event records."""

    MESSAGE = "message"  # one MCP JSON-RPC message seen by one emitter
    LIFECYCLE = "lifecycle"  # server process spawn/exit, emitter start/stop, connection open/close
    HOST = "host"  # the agent host's decisions: prompts, tool choices, approvals
    AUTH = "auth"  # authentication/authorization decisions (401/403, token validated)
    POLICY = "policy"  # a policy engine allowed or denied something
    CATALOG = "catalog"  # a server's tool/prompt/resource catalog (changes) with full definitions


class EmitterRole(StrEnum):
    """Where in the MCP path the emitter sits."""

    HOST = "host"
    CLIENT = "client"
    SERVER = "server"
    GATEWAY = "gateway"


class Direction(StrEnum):
    """Which way a message travelled, seen from the client side of the protocol."""

    CLIENT_TO_SERVER = "client_to_server"
    SERVER_TO_CLIENT = "server_to_client"
    INTERNAL = "internal"  # host decisions and lifecycle events: no wire direction


class Initiator(StrEnum):
    """Which side sent the request a message belongs to (JSON-RPC ids are per sender)."""

    CLIENT = "client"
    SERVER = "server"


class MessageKind(StrEnum):
    """JSON-RPC message kind."""

    REQUEST = "request"
    RESULT = "result"
    ERROR = "error"
    NOTIFICATION = "notification"


class ProtocolEra(StrEnum):
    """MCP protocol era: handshake era (<= 2025-11-25) or stateless era (2026-07-28 onward)."""

    LEGACY = "legacy"
    MODERN = "modern"


class Transport(StrEnum):
    """How the MCP messages travelled."""

    STDIO = "stdio"
    STREAMABLE_HTTP = "streamable_http"
    SSE = "sse"  # the deprecated 2024-11-05 HTTP+SSE transport
    WEBSOCKET = "websocket"
    IN_PROCESS = "in_process"
    UNKNOWN = "unknown"


class Status(StrEnum):
    """Outcome of a call, as far as this emitter could tell."""

    OK = "ok"
    ERROR = "error"  # JSON-RPC error response
    TOOL_ERROR = "tool_error"  # CallToolResult.isError = true
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    INPUT_REQUIRED = "input_required"  # 2026-07-28 multi round-trip request round
    DENIED = "denied"  # refused by the user, a policy or authorization
    UNCORRELATED = "uncorrelated"  # a response whose request this emitter never saw


class Approval(StrEnum):
    """How a tool call was authorised by the host."""

    AUTO = "auto"
    USER_APPROVED = "user_approved"
    USER_DENIED = "user_denied"
    POLICY_ALLOWED = "policy_allowed"
    POLICY_DENIED = "policy_denied"


class TraceSource(StrEnum):
    """Where `trace_id` came from, so a missing or synthetic trace can be explained."""

    META = "meta"  # params._meta.traceparent on the wire
    OTEL = "otel"  # the ambient OpenTelemetry span of the SDK
    EMITTER = "emitter"  # minted by an mcp-blackbox client hook and injected into _meta
    HTTP_HEADER = "http_header"  # traceparent HTTP header
    NONE = "none"


class AuthMethod(StrEnum):
    """How the caller authenticated to the server (as seen by this emitter)."""

    NONE = "none"
    OAUTH_BEARER = "oauth_bearer"
    API_KEY = "api_key"
    BASIC = "basic"
    MTLS = "mtls"
    ENVIRONMENT = "environment"  # stdio: credentials from the environment
    UNKNOWN = "unknown"


class UserIdSource(StrEnum):
    """Who vouches for `user_id`."""

    TOKEN = "token"  # noqa: S105 - validated access token subject, not a password
    HOST = "host"  # the host application's signed-in user
    OS = "os"  # the operating-system account
    SELF_REPORTED = "self_reported"


class PayloadMode(StrEnum):
    """How much of a payload an emitter keeps (per server)."""

    FULL = "full"  # redacted and size-capped JSON, plus hashes
    HASHES = "hashes"  # hashes and sizes only
    NONE = "none"  # nothing about the payload


class Severity(StrEnum):
    """Severity of a finding."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for the most severe (critical) … 4 for info: the order findings are listed and compared in."""
        return SEVERITY_ORDER.index(self)


#: Most severe first (findings lists, `detect --fail-on`, the TUI's severity counts).
SEVERITY_ORDER: Final[tuple[Severity, ...]] = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW,
                                               Severity.INFO)
