"""OTLP spans and log records -> schema v1 event fields (what `Emitter.emit` takes).

Pure mapping, no I/O: `map_traces` / `map_logs` take the decoded `opentelemetry-proto` requests and
return the events to emit plus counts. Nothing here is imported by other emitter code paths: the
`opentelemetry-proto` messages are only needed by the OTLP receiver (`[otlp]` extra).

What becomes an event:
- a span carrying `mcp.method.name` (the OpenTelemetry MCP conventions, as the official Python SDK 2.x
  and the gateways emit them) or `gen_ai.tool.name`: two `message` events, the request at the span's
  start and its result/error at its end (so the forensics pairing works as for our own emitters);
- a log record that is a documented agent-host event (Claude Code's `claude_code.user_prompt`,
  `tool_decision`, `tool_result`, `api_request`, `api_error`): one `host` event;
- a span or log record carrying `mcp.*` attributes otherwise: one `message` event.
Everything else is unrelated telemetry: counted and dropped, never stored.

Provenance: `emitter_component` is `otlp`, `trace_source` is `otel`, and `attributes_json.provenance`
says the evidence came over OTLP and was not sequenced or signed by an emitter of ours (the receiver's
own chain only proves what it received). Attributes no column takes are kept under
`attributes_json.otel` (span/record) and `attributes_json.resource`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from mcp_blackbox.schema.enums import (
    Approval,
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

#: Nested attribute values deeper than this are replaced by a marker (and the event flagged truncated).
MAX_ATTRIBUTE_DEPTH = 8
#: Longest list / map kept from one attribute value.
MAX_ATTRIBUTE_ITEMS = 1000
_DEPTH_MARKER = "<otlp: nested deeper than 8 levels, cut>"
_CLAUDE_DOCS = "https://code.claude.com/docs/en/monitoring-usage"
_MODERN_FROM = "2026-07-28"

# span kinds (opentelemetry.proto.trace.v1.Span.SpanKind)
_KIND_NAMES = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS_ERROR = 2


class OtlpPayloadError(ValueError):
    """The request cannot be taken as a whole (answered with 400, nothing stored)."""


@dataclass
class Mapped:
    """The outcome of mapping one export request."""

    events: list[tuple[EventType, dict[str, Any]]] = field(default_factory=list)
    items: int = 0  # spans or log records in the request
    mapped: int = 0  # items that became events
    unrelated: int = 0  # items that are not MCP / agent-host telemetry: counted and dropped
    rejected: int = 0  # items that could not be taken (bad ids …): reported in partial_success
    errors: list[str] = field(default_factory=list)


# -- attribute values ---------------------------------------------------------------------------------

def any_value(value: Any, depth: int = 0, cut: list[bool] | None = None) -> Any:
    """An `AnyValue` message as a plain JSON-able Python value (depth- and size-capped)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind in ("array_value", "kvlist_value"):
        if depth >= MAX_ATTRIBUTE_DEPTH:
            if cut is not None:
                cut.append(True)
            return _DEPTH_MARKER
        if kind == "array_value":
            values = value.array_value.values
            if len(values) > MAX_ATTRIBUTE_ITEMS and cut is not None:
                cut.append(True)
            return [any_value(v, depth + 1, cut) for v in values[:MAX_ATTRIBUTE_ITEMS]]
        pairs = value.kvlist_value.values
        if len(pairs) > MAX_ATTRIBUTE_ITEMS and cut is not None:
            cut.append(True)
        return {kv.key: any_value(kv.value, depth + 1, cut) for kv in pairs[:MAX_ATTRIBUTE_ITEMS]}
    if kind == "double_value":
        number = value.double_value
        return number if number == number and abs(number) != float("inf") else str(number)  # NaN/inf: no JSON
    return getattr(value, kind)


def attributes(kvs: Any, cut: list[bool] | None = None) -> dict[str, Any]:
    """A repeated `KeyValue` as a dict (later keys win, as the spec allows)."""
    return {kv.key: any_value(kv.value, 0, cut) for kv in kvs}


def _hex(raw: bytes, size: int) -> str | None:
    if not raw:
        return None
    if len(raw) != size:
        msg = f"id of {len(raw)} bytes where {size} are required"
        raise OtlpPayloadError(msg)
    if not any(raw):
        return None  # all-zero ids are invalid: treated as absent
    return raw.hex()


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 10)
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 and number == number and number != float("inf") else None


def _json_value(value: Any) -> Any:
    """Opt-in payload attributes (`gen_ai.tool.call.arguments`) are JSON text; keep the parsed value."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def _era(version: str | None) -> ProtocolEra | None:
    if not version:
        return None
    return ProtocolEra.MODERN if version >= _MODERN_FROM else ProtocolEra.LEGACY


# -- resource ------------------------------------------------------------------------------------------

_RESOURCE_TAKEN = ("service.name", "service.version", "host.name", "process.pid", "deployment.environment",
                   "deployment.environment.name", "user.id", "enduser.id", "user.email", "user.account_uuid",
                   "process.owner", "service.instance.id")


def _resource_fields(res: dict[str, Any]) -> dict[str, Any]:
    """Fields every event of one resource shares: where it ran and who ran it."""
    out: dict[str, Any] = {"host_name": _str(res.get("host.name")) or "unknown",
                           "process_pid": _int(res.get("process.pid")),
                           "os_user": _str(res.get("process.owner"))}
    env = _str(res.get("deployment.environment.name") or res.get("deployment.environment"))
    if env:
        out["environment"] = env
    user = _str(res.get("user.id") or res.get("enduser.id") or res.get("user.email") or res.get("user.account_uuid"))
    if user:
        out["user_id"] = user
        out["user_id_source"] = UserIdSource.SELF_REPORTED
    return out


def _provenance(signal: str, res: dict[str, Any], scope: Any) -> dict[str, Any]:
    return {
        "source": "otlp", "signal": signal, "signed_by_emitter": False, "sequenced_by_emitter": False,
        "service_name": _str(res.get("service.name")), "service_version": _str(res.get("service.version")),
        "service_instance_id": _str(res.get("service.instance.id")),
        "scope": scope.name or None, "scope_version": scope.version or None,
    }


def _extra_resource(res: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in res.items() if k not in _RESOURCE_TAKEN}


# -- spans ---------------------------------------------------------------------------------------------

# attribute -> column (string values)
_SPAN_STR = {
    "mcp.method.name": "method", "mcp.protocol.version": "mcp_protocol_version", "mcp.session.id": "mcp_session_id",
    "mcp.resource.uri": "resource_uri", "jsonrpc.request.id": "jsonrpc_id", "gen_ai.tool.name": "tool_name",
    "gen_ai.prompt.name": "prompt_name", "gen_ai.conversation.id": "conversation_id",
    "gen_ai.tool.call.id": "tool_call_id", "gen_ai.agent.id": "agent_id", "gen_ai.agent.name": "agent_name",
    "gen_ai.request.model": "model_name", "user_agent.original": "user_agent", "client.address": "src_ip",
}
_SPAN_TAKEN = frozenset({*_SPAN_STR, "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "error.type",
                         "rpc.response.status_code", "network.transport", "server.address", "server.port",
                         "user.id", "enduser.id", "url.full"})


def _is_mcp_span(attrs: dict[str, Any]) -> bool:
    return "mcp.method.name" in attrs or "gen_ai.tool.name" in attrs


def _span_common(span: Any, attrs: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    kind = getattr(span, "kind", 1)  # log records have no kind: the emitting side
    role = EmitterRole.CLIENT if kind == 3 else EmitterRole.SERVER if kind in (0, 1, 2) else EmitterRole.GATEWAY
    out: dict[str, Any] = {"emitter_role": role, "trace_source": TraceSource.OTEL}
    for key, column in _SPAN_STR.items():
        value = _str(attrs.get(key))
        if value is not None:
            out[column] = value
    method = out.get("method")
    if method is None and "gen_ai.tool.name" in attrs:
        out["method"] = method = "tools/call"
    out["target"] = out.get("tool_name") or out.get("prompt_name") or out.get("resource_uri")
    out["protocol_era"] = _era(out.get("mcp_protocol_version"))
    transport = _str(attrs.get("network.transport"))
    if transport == "pipe":
        out["transport"] = Transport.STDIO
    elif transport or attrs.get("server.address") or attrs.get("url.full"):
        out["transport"] = Transport.STREAMABLE_HTTP
    address = _str(attrs.get("url.full"))
    if address is None and attrs.get("server.address"):
        port = attrs.get("server.port")
        address = f"{attrs['server.address']}:{port}" if port else str(attrs["server.address"])
    if address:
        out["server_url"] = address
    service = _str(res.get("service.name"))
    if role == EmitterRole.CLIENT:
        out["client_info_name"] = service
        out["client_info_version"] = _str(res.get("service.version"))
    else:
        out["server_name"] = service
        out["server_version"] = _str(res.get("service.version"))
        out["server_config_name"] = service
    user = _str(attrs.get("user.id") or attrs.get("enduser.id"))
    if user:
        out["user_id"] = user
        out["user_id_source"] = UserIdSource.SELF_REPORTED
    # Requests with a notifications/ method have no id and no response.
    out["initiator"] = Initiator.CLIENT
    out["direction"] = Direction.CLIENT_TO_SERVER
    session = out.get("mcp_session_id")
    trace = _hex(span.trace_id, 16)
    out["trace_id"] = trace
    out["span_id"] = _hex(span.span_id, 8)
    out["parent_span_id"] = _hex(getattr(span, "parent_span_id", b""), 8)
    out["connection_id"] = f"otlp:{service or 'unknown'}:{role.value}:{session or trace or 'no-trace'}"
    return {k: v for k, v in out.items() if v is not None}


def _span_events(span: Any, attrs: dict[str, Any], res: dict[str, Any], scope: Any,
                 cut: list[bool]) -> list[tuple[EventType, dict[str, Any]]]:
    common = {**_resource_fields(res), **_span_common(span, attrs, res)}
    if "user_id" in common and common.get("user_id_source") is None:
        common["user_id_source"] = UserIdSource.SELF_REPORTED
    extra = {k: v for k, v in attrs.items() if k not in _SPAN_TAKEN}
    otel = {"span_name": span.name, "span_kind": _KIND_NAMES.get(span.kind, str(span.kind)), **extra}
    if span.status.message:
        otel["status_message"] = span.status.message
    if len(span.events):
        otel["span_events"] = [{"name": e.name, "time_unix_nano": e.time_unix_nano,
                                **attributes(e.attributes, cut)} for e in span.events[:MAX_ATTRIBUTE_ITEMS]]
    base_attrs = {"provenance": _provenance("traces", res, scope), "otel": otel}
    extra_res = _extra_resource(res)
    if extra_res:
        base_attrs["resource"] = extra_res
    start = span.start_time_unix_nano or None
    end = span.end_time_unix_nano or None
    method = str(common.get("method") or "")
    request: dict[str, Any] = {**common, "message_kind": MessageKind.REQUEST if common.get("jsonrpc_id") or
                               not method.startswith("notifications/") else MessageKind.NOTIFICATION,
                               "attributes": base_attrs}
    if "gen_ai.tool.call.arguments" in attrs:
        request["arguments"] = _json_value(attrs["gen_ai.tool.call.arguments"])
    if start:
        request["observed_ns"] = start
    if cut:
        request["truncated"] = True
    events: list[tuple[EventType, dict[str, Any]]] = [(EventType.MESSAGE, request)]
    if request["message_kind"] == MessageKind.NOTIFICATION:
        return events
    error_type = _str(attrs.get("error.type"))
    failed = span.status.code == _STATUS_ERROR or error_type is not None
    response: dict[str, Any] = {**common, "direction": Direction.SERVER_TO_CLIENT,
                                "attributes": {"provenance": base_attrs["provenance"]}}
    if error_type == "tool_error":
        response.update(message_kind=MessageKind.RESULT, status=Status.TOOL_ERROR, is_error=True)
    elif failed:
        response.update(message_kind=MessageKind.ERROR, status=Status.ERROR, is_error=True)
        code = _int(attrs.get("rpc.response.status_code")) or _int(error_type)
        if code is not None and -(2**31) <= code < 2**31:
            response["error_code"] = code
        if span.status.message:
            response["error_message"] = span.status.message
        if error_type and code is None:
            response["attributes"]["error_type"] = error_type
    else:
        response.update(message_kind=MessageKind.RESULT, status=Status.OK, is_error=False)
    if "gen_ai.tool.call.result" in attrs:
        response["result"] = _json_value(attrs["gen_ai.tool.call.result"])
    if start and end and end >= start:
        response["duration_ms"] = (end - start) / 1e6
    if end:
        response["observed_ns"] = end
    events.append((EventType.MESSAGE, response))
    return events


def map_traces(request: Any) -> Mapped:
    """An `ExportTraceServiceRequest` -> events (all mapped before any is emitted)."""
    out = Mapped()
    for resource_spans in request.resource_spans:
        res = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.items += 1
                cut: list[bool] = []
                attrs = attributes(span.attributes, cut)
                if not _is_mcp_span(attrs):
                    out.unrelated += 1
                    continue
                try:
                    out.events.extend(_span_events(span, attrs, res, scope_spans.scope, cut))
                except OtlpPayloadError as exc:
                    out.rejected += 1
                    out.errors.append(f"span {span.name!r}: {exc}")
                    continue
                out.mapped += 1
    return out


# -- log records (agent-host events) -------------------------------------------------------------------

_HOST_EVENTS = {"user_prompt", "tool_decision", "tool_result", "api_request", "api_error"}
_LOG_TAKEN = frozenset({"event.name", "session.id", "user.id", "user.email", "user.account_uuid", "prompt",
                        "tool_name", "decision", "source", "decision_type", "decision_source", "success",
                        "duration_ms", "error", "tool_use_id",
                        "gen_ai.tool.call.id", "model", "tool_parameters", "tool_input", "prompt.id",
                        "gen_ai.conversation.id", "organization.id", "agent_id", "status_code"})


def _event_name(record: Any, attrs: dict[str, Any]) -> str | None:
    name = getattr(record, "event_name", "") or _str(attrs.get("event.name"))
    if not name and record.body.WhichOneof("value") == "string_value":
        name = record.body.string_value
    if not name:
        return None
    return name.removeprefix("claude_code.")


def _approval(decision: str | None, source: str | None) -> Approval | None:
    """Claude Code `decision` (accept/reject) and its `source` (config, hook, user_*) as an approval."""
    if decision not in ("accept", "reject"):
        return None
    by_policy = source in ("config", "hook", "classifier", "policy")
    if decision == "accept":
        return Approval.POLICY_ALLOWED if by_policy else Approval.USER_APPROVED
    return Approval.POLICY_DENIED if by_policy else Approval.USER_DENIED


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _host_event(name: str, record: Any, attrs: dict[str, Any], res: dict[str, Any],
                scope: Any, cut: list[bool]) -> dict[str, Any]:
    service = _str(res.get("service.name")) or "agent-host"
    session = _str(attrs.get("session.id") or attrs.get("gen_ai.conversation.id"))
    out: dict[str, Any] = {**_resource_fields(res), "emitter_role": EmitterRole.HOST,
                           "direction": Direction.INTERNAL, "event_subtype": name,
                           "conversation_id": session, "agent_name": service,
                           "connection_id": f"otlp:{service}:host:{session or 'no-session'}"}
    user = _str(attrs.get("user.id") or attrs.get("user.email") or attrs.get("user.account_uuid"))
    if user:
        out["user_id"] = user
        out["user_id_source"] = UserIdSource.HOST
    trace = _hex(record.trace_id, 16)
    if trace:
        out.update(trace_id=trace, span_id=_hex(record.span_id, 8), trace_source=TraceSource.OTEL)
    tool = _str(attrs.get("tool_name"))
    if tool:
        out.update(tool_name=tool, target=tool)
    call_id = _str(attrs.get("tool_use_id") or attrs.get("gen_ai.tool.call.id"))
    if call_id:
        out["tool_call_id"] = call_id
    if attrs.get("model"):
        out["model_name"] = _str(attrs["model"])
    if name == "user_prompt" and "prompt" in attrs:
        out["arguments"] = {"prompt": attrs["prompt"]}
    params = attrs.get("tool_parameters", attrs.get("tool_input"))
    if params is not None:
        out["arguments"] = _json_value(params)
    decision = _str(attrs.get("decision") or attrs.get("decision_type"))
    source = _str(attrs.get("source") or attrs.get("decision_source"))
    approval = _approval(decision, source)
    if approval is not None:
        out["approval"] = approval
        if name == "tool_decision":
            allowed = approval in (Approval.USER_APPROVED, Approval.POLICY_ALLOWED)
            out["status"] = Status.OK if allowed else Status.DENIED
    if name in ("tool_result", "api_request", "api_error"):
        success = _truthy(attrs.get("success"))
        failed = name == "api_error" or success is False or bool(attrs.get("error"))
        out["status"] = Status.ERROR if failed else Status.OK
        out["is_error"] = failed
        if attrs.get("error"):
            out["error_message"] = _str(attrs["error"])
        duration = _float(attrs.get("duration_ms"))
        if duration is not None:
            out["duration_ms"] = duration
    extra = {k: v for k, v in attrs.items() if k not in _LOG_TAKEN}
    if source:
        extra["decision_source"] = source  # who decided: config, hook, classifier, user_*
    if decision:
        extra["decision"] = decision
    if attrs.get("prompt.id"):
        extra["prompt_id"] = attrs["prompt.id"]
    if attrs.get("organization.id"):
        extra["organization_id"] = attrs["organization.id"]
    attributes_out: dict[str, Any] = {"provenance": {**_provenance("logs", res, scope), "documented_at": _CLAUDE_DOCS}
                                      if service == "claude-code" else _provenance("logs", res, scope),
                                      "otel": extra}
    extra_res = _extra_resource(res)
    if extra_res:
        attributes_out["resource"] = extra_res
    out["attributes"] = attributes_out
    when = record.time_unix_nano or record.observed_time_unix_nano
    if when:
        out["observed_ns"] = when
    if cut:
        out["truncated"] = True
    return {k: v for k, v in out.items() if v is not None}


def map_logs(request: Any) -> Mapped:
    """An `ExportLogsServiceRequest` -> host (and MCP message) events; other records are dropped."""
    out = Mapped()
    for resource_logs in request.resource_logs:
        res = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                out.items += 1
                cut: list[bool] = []
                attrs = attributes(record.attributes, cut)
                name = _event_name(record, attrs)
                try:
                    if name in _HOST_EVENTS:
                        out.events.append((EventType.HOST, _host_event(str(name), record, attrs, res,
                                                                       scope_logs.scope, cut)))
                    elif "mcp.method.name" in attrs:
                        fields = {**_resource_fields(res), **_span_common(record, attrs, res),
                                  "message_kind": MessageKind.NOTIFICATION if not attrs.get("jsonrpc.request.id")
                                  else MessageKind.REQUEST,
                                  "attributes": {"provenance": _provenance("logs", res, scope_logs.scope),
                                                 "otel": {k: v for k, v in attrs.items() if k not in _SPAN_TAKEN}}}
                        if record.time_unix_nano:
                            fields["observed_ns"] = record.time_unix_nano
                        out.events.append((EventType.MESSAGE, fields))
                    else:
                        out.unrelated += 1
                        continue
                except OtlpPayloadError as exc:
                    out.rejected += 1
                    out.errors.append(f"log record: {exc}")
                    continue
                out.mapped += 1
    return out
