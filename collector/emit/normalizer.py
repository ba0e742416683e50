"""Raw JSON-RPC messages + per-connection state → schema v1 events.

One `ConnectionNormalizer` per transport connection (a stdio child, an HTTP session or stream, an SDK
client session). It parses a copy of each message — callers forward the original bytes untouched —
and keeps the state a single message lacks: the request a response answers (method, tool, start time
→ duration, trace), the negotiated era/version and self-reported identities, the last tool catalog
(so every `tools/call` carries the definition hash in force and a changed catalog becomes a `catalog`
event flagged `catalog_changed`), progress tokens, cancellations, tasks, MRTR rounds and listen streams.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.methods import MethodInfo, lookup
from mcp_blackbox.schema.enums import (
    Direction,
    EventType,
    Initiator,
    MessageKind,
    ProtocolEra,
    Status,
    TraceSource,
    Transport,
)
from mcp_blackbox.schema.ids import uuid7

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_RELATED_TASK = "io.modelcontextprotocol/related-task"
META_SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"
# Host linkage, set by HostRecorder.call_meta (and the client hook's context variable).
META_TOOL_CALL_ID = "io.mcp-blackbox/tool_call_id"
META_PARENT_EVENT = "io.mcp-blackbox/parent_event_id"
META_CONVERSATION = "io.mcp-blackbox/conversation_id"
_RAW_KEEP = 4096


def era_of(version: str | None) -> ProtocolEra | None:
    """legacy for revisions up to 2025-11-25, modern from 2026-07-28."""
    if not version:
        return None
    return ProtocolEra.MODERN if version >= "2026-07-28" else ProtocolEra.LEGACY


def parse_traceparent(value: Any) -> tuple[str, str] | None:
    """W3C `00-<trace 32 hex>-<span 16 hex>-<flags>` → (trace_id, span_id); None when invalid."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    trace, span = parts[1].lower(), parts[2].lower()
    try:
        int(trace, 16)
        int(span, 16)
    except ValueError:
        return None
    if trace == "0" * 32 or span == "0" * 16:
        return None
    return trace, span


def new_span_id() -> str:
    """A random 16-hex W3C span id."""
    return os.urandom(8).hex()


def _dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (hostile or broken peers send anything)."""
    return value if isinstance(value, dict) else {}


def _id_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class _Pending:
    method: str
    event_id: str
    start_ns: int
    fields: dict[str, Any]  # carried onto the response: tool_name, target, trace, host linkage…


@dataclass
class _CatalogState:
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → definition
    hashes: dict[str, str] = field(default_factory=dict)  # name → definition hash
    catalog_sha: str | None = None
    pages: list[dict[str, Any]] = field(default_factory=list)  # tools/list pages being assembled
    stale: bool = False  # a list_changed notification arrived since the last complete list


class ConnectionNormalizer:
    """Per-connection state: raw JSON-RPC → events via an `Emitter`. Thread-safe."""

    def __init__(self, emitter: Emitter, *, transport: Transport | str, connection_id: str | None = None,
                 server_config_name: str | None = None, **static: Any) -> None:
        self.emitter = emitter
        self.connection_id = connection_id or str(uuid7())
        self.conn: dict[str, Any] = {"connection_id": self.connection_id, "transport": Transport(transport)}
        if server_config_name:
            self.conn["server_config_name"] = server_config_name
        self.conn.update(static)
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._progress: dict[str, str] = {}  # progress token → request id
        self._catalog = _CatalogState()
        self.hasher = emitter.hasher  # keyed with the deployment key: matches the other emitters' hashes

    # -- public -----------------------------------------------------------------------------------

    def lifecycle(self, subtype: str, **fields: Any) -> str:
        """A non-message event on this connection (spawn, exit, open, close, rejected…)."""
        data = {**self.conn, "direction": Direction.INTERNAL, "event_subtype": subtype, **fields}
        return self.emitter.emit(EventType.LIFECYCLE, **data)

    def observe(self, raw: bytes | str | dict[str, Any] | list[Any], direction: Direction | str, *,
                http: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
                observed_ns: int | None = None) -> list[str]:
        """Record one wire message (or batch, or garbage); returns the event ids emitted.

        `observed_ns` is when the bytes were read (a proxy forwards first and records after).
        """
        direction = Direction(direction)
        received = observed_ns or time.time_ns()
        if observed_ns:
            extra = {**(extra or {}), "observed_ns": observed_ns}
        try:
            message: Any = raw
            if isinstance(raw, bytes | bytearray | memoryview):
                text = bytes(raw).decode("utf-8")
                message = json.loads(text) if text.strip() else None
            elif isinstance(raw, str):
                message = json.loads(raw) if raw.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return [self._anomaly(raw, direction, "non_json", str(exc), http, extra)]
        if message is None:
            return []
        with self._lock:
            if isinstance(message, list):
                if not message:
                    return [self._anomaly(raw, direction, "empty_batch", "empty JSON-RPC batch", http, extra)]
                return [eid for item in message
                        for eid in self._one(item, direction, received, http, {**(extra or {}), "batch": True})]
            return self._one(message, direction, received, http, extra)

    # -- dispatch ---------------------------------------------------------------------------------

    def _one(self, msg: Any, direction: Direction, received: int, http: dict[str, Any] | None,
             extra: dict[str, Any] | None) -> list[str]:
        if not isinstance(msg, dict):
            return [self._anomaly(msg, direction, "invalid_jsonrpc", "message is not a JSON object", http, extra)]
        method = msg.get("method")
        has_id = "id" in msg and msg["id"] is not None
        if isinstance(method, str):
            if has_id:
                return self._request(msg, method, direction, received, http, extra)
            return self._notification(msg, method, direction, http, extra)
        if "result" in msg or "error" in msg:
            return self._response(msg, direction, received, http, extra)
        return [self._anomaly(msg, direction, "invalid_jsonrpc", "neither request, notification nor response",
                              http, extra)]

    def _base(self, direction: Direction, kind: MessageKind, initiator: Initiator | None,
              http: dict[str, Any] | None, extra: dict[str, Any] | None) -> dict[str, Any]:
        data: dict[str, Any] = {**self.conn, "direction": direction, "message_kind": kind}
        if initiator is not None:
            data["initiator"] = initiator
        if http:
            self._http_fields(data, http)
        if extra:
            flags = list(data.get("risk_flags") or [])
            attrs = dict(data.get("attributes") or {})
            for key, value in extra.items():
                if key == "batch":
                    attrs["jsonrpc_batch"] = True
                elif key == "risk_flags":
                    flags.extend(value)
                elif key == "attributes":
                    attrs.update(value)
                elif value is not None:
                    data[key] = value
            if flags:
                data["risk_flags"] = flags
            if attrs:
                data["attributes"] = attrs
        return data

    @staticmethod
    def _http_fields(data: dict[str, Any], http: dict[str, Any]) -> None:
        attrs = dict(data.get("attributes") or {})
        for key, value in http.items():
            if value is None:
                continue
            if key == "status":
                data["http_status"] = int(value)
            elif key == "headers":
                headers = {str(k).lower(): v for k, v in dict(value).items()}
                if "mcp-method" in headers:
                    data["mcp_method_header"] = headers["mcp-method"]
                if "mcp-name" in headers:
                    data["mcp_name_header"] = headers["mcp-name"]
            elif key == "origin":
                attrs["http_origin"] = value
            elif key == "token_claims":
                claims = dict(value)
                data.setdefault("oauth_issuer", claims.get("iss"))
                data.setdefault("oauth_subject", claims.get("sub"))
                aud = claims.get("aud")
                data.setdefault("token_audience", ",".join(aud) if isinstance(aud, list) else aud)
                scope = claims.get("scope") or claims.get("scp")
                if scope:
                    data.setdefault("oauth_scopes", scope.split() if isinstance(scope, str) else list(scope))
                data.setdefault("oauth_client_id", claims.get("client_id") or claims.get("azp"))
                if claims.get("act"):
                    data.setdefault("delegation_json", json.dumps(claims["act"], sort_keys=True))
            else:
                data[key] = value
        if attrs:
            data["attributes"] = attrs

    def _meta_fields(self, data: dict[str, Any], meta: dict[str, Any], http: dict[str, Any] | None) -> None:
        """Era, version, identity, trace context and host linkage carried in `_meta`."""
        version = meta.get(META_VERSION)
        if isinstance(version, str):
            self.conn["mcp_protocol_version"] = version
            self.conn["protocol_era"] = era_of(version)
            data["mcp_protocol_version"] = version
            data["protocol_era"] = era_of(version)
        info = meta.get(META_CLIENT_INFO)
        if isinstance(info, dict):
            self._client_info(info, data)
        trace = parse_traceparent(meta.get("traceparent"))
        source = TraceSource.META
        if trace is None and http:
            trace = parse_traceparent((http.get("headers") or {}).get("traceparent"))
            source = TraceSource.HTTP_HEADER
        if trace is not None:
            data["trace_id"], data["parent_span_id"] = trace
            data["span_id"] = new_span_id()
            data["trace_source"] = data.get("trace_source") or source
        for key, column in ((META_TOOL_CALL_ID, "tool_call_id"), (META_PARENT_EVENT, "parent_event_id"),
                            (META_CONVERSATION, "conversation_id")):
            if isinstance(meta.get(key), str):
                data[column] = meta[key]
        token = meta.get("progressToken")
        if token is not None:
            data["progress_token"] = _id_str(token)
        related = meta.get(META_RELATED_TASK)
        if isinstance(related, dict) and related.get("taskId"):
            data["task_id"] = str(related["taskId"])
        sub = meta.get(META_SUBSCRIPTION)
        if sub is not None:
            data["related_request_id"] = _id_str(sub)
        extras = {k: meta[k] for k in ("tracestate", "baggage") if k in meta}
        if extras:
            data.setdefault("attributes", {}).update({f"meta_{k}": v for k, v in extras.items()})

    def _client_info(self, info: dict[str, Any], data: dict[str, Any]) -> None:
        if info.get("name"):
            self.conn["client_info_name"] = data["client_info_name"] = str(info["name"])
        if info.get("version"):
            self.conn["client_info_version"] = data["client_info_version"] = str(info["version"])

    def _server_info(self, info: dict[str, Any], data: dict[str, Any]) -> None:
        if info.get("name"):
            self.conn["server_name"] = data["server_name"] = str(info["name"])
        if info.get("version"):
            self.conn["server_version"] = data["server_version"] = str(info["version"])

    # -- requests ---------------------------------------------------------------------------------

    def _request(self, msg: dict[str, Any], method: str, direction: Direction, received: int,
                 http: dict[str, Any] | None, extra: dict[str, Any] | None) -> list[str]:
        initiator = Initiator.CLIENT if direction is Direction.CLIENT_TO_SERVER else Initiator.SERVER
        data = self._base(direction, MessageKind.REQUEST, initiator, http, extra)
        rid = _id_str(msg["id"])
        data["method"] = method
        data["jsonrpc_id"] = rid
        params = _dict(msg.get("params"))
        meta = _dict(params.get("_meta"))
        self._meta_fields(data, meta, http)
        info = lookup(method)
        flags = list(data.get("risk_flags") or [])
        attrs = dict(data.get("attributes") or {})
        self._request_specifics(method, info, params, data, flags, attrs)
        self._header_check(data, method, params, flags)
        if flags:
            data["risk_flags"] = sorted(set(flags))
        if attrs:
            data["attributes"] = attrs
        event_id = self.emitter.emit(EventType.MESSAGE, **data)
        carry = {k: data[k] for k in ("tool_name", "prompt_name", "resource_uri", "target", "trace_id", "span_id",
                                      "parent_span_id", "trace_source", "tool_call_id", "conversation_id",
                                      "tool_definition_sha256", "tool_catalog_sha256", "task_id",
                                      "progress_token") if data.get(k) is not None}
        carry["attributes"] = {"request_event_id": event_id}
        if rid is not None:
            self._pending[(initiator.value, rid)] = _Pending(method, event_id, received, carry)
        if data.get("progress_token") is not None and rid is not None:
            self._progress[data["progress_token"]] = rid
        return [event_id]

    def _request_specifics(self, method: str, info: MethodInfo | None, params: dict[str, Any],
                           data: dict[str, Any], flags: list[str], attrs: dict[str, Any]) -> None:
        payload: dict[str, Any] | None = {k: v for k, v in params.items() if k != "_meta"}
        if info is None:
            flags.append("unknown_method")
        elif info.target_param and params.get(info.target_param) is not None:
            data["target"] = str(params[info.target_param])
        if method == "initialize":
            version = params.get("protocolVersion")
            if isinstance(version, str):
                data["mcp_protocol_version"] = version
                data["protocol_era"] = era_of(version)
            if isinstance(params.get("clientInfo"), dict):
                self._client_info(params["clientInfo"], data)
            attrs["client_capabilities"] = params.get("capabilities")
        elif method == "tools/call":
            name = params.get("name")
            data["tool_name"] = name if isinstance(name, str) else None
            data["arguments"] = params.get("arguments")
            if isinstance(name, str):
                if name in self._catalog.hashes:
                    data["tool_definition_sha256"] = self._catalog.hashes[name]
                elif self._catalog.catalog_sha is not None:
                    flags.append("tool_not_in_catalog")
                if self._catalog.catalog_sha is not None:
                    data["tool_catalog_sha256"] = self._catalog.catalog_sha
            if isinstance(params.get("task"), dict):
                attrs["task_requested"] = params["task"]
            payload = None
        elif method == "prompts/get":
            data["prompt_name"] = params.get("name")
            data["arguments"] = params.get("arguments")
            payload = None
        elif info is not None and info.category == "resource" and params.get("uri"):
            data["resource_uri"] = str(params["uri"])
        elif info is not None and info.category == "task" and params.get("taskId"):
            data["task_id"] = str(params["taskId"])
        elif method == "elicitation/create" and isinstance(params.get("url"), str):
            attrs["elicitation_url_host"] = _host(params["url"])
        elif method == "subscriptions/listen":
            attrs["listen"] = params.get("notifications")
        if method == "completion/complete" and isinstance(params.get("ref"), dict):
            ref = params["ref"]
            data["target"] = str(ref.get("name") or ref.get("uri") or "")
        state = params.get("requestState")
        if state is not None:  # MRTR retry: echoes the state of the input_required round
            data["request_state_sha256"] = self.hasher.json(state)
            if isinstance(params.get("inputResponses"), dict):
                attrs["input_responses"] = sorted(params["inputResponses"])
        if payload:
            data["arguments"] = payload

    @staticmethod
    def _header_check(data: dict[str, Any], method: str, params: dict[str, Any], flags: list[str]) -> None:
        """Modern HTTP: Mcp-Method / Mcp-Name headers must agree with the body (else a routing bypass)."""
        header_method = data.get("mcp_method_header")
        if header_method is not None and header_method != method:
            flags.append("header_mismatch")
        header_name = data.get("mcp_name_header")
        if header_name is not None:
            body_name = params.get("name") or params.get("uri")
            if body_name is not None and str(body_name) != header_name:
                flags.append("header_mismatch")

    # -- responses --------------------------------------------------------------------------------

    def _response(self, msg: dict[str, Any], direction: Direction, received: int,
                  http: dict[str, Any] | None, extra: dict[str, Any] | None) -> list[str]:
        # A response travels opposite to its request: client→server responses answer server requests.
        initiator = Initiator.SERVER if direction is Direction.CLIENT_TO_SERVER else Initiator.CLIENT
        is_error = "error" in msg
        data = self._base(direction, MessageKind.ERROR if is_error else MessageKind.RESULT, initiator, http, extra)
        rid = _id_str(msg.get("id"))
        data["jsonrpc_id"] = rid
        pending = self._pending.pop((initiator.value, rid), None) if rid is not None else None
        attrs = dict(data.get("attributes") or {})
        flags = list(data.get("risk_flags") or [])
        method = None
        if pending is not None:
            method = pending.method
            data["method"] = method
            carry = dict(pending.fields)
            attrs.update(carry.pop("attributes", {}))
            data.update(carry)
            data["duration_ms"] = max(0.0, (received - pending.start_ns) / 1e6)
            if data.get("progress_token") is not None:
                self._progress.pop(data["progress_token"], None)
        emitted: list[str] = []
        if is_error and method == "server/discover":
            # The SDK's era probe (2026-07-28 clients try `server/discover` first): an error answer means
            # "this server speaks the handshake era", a negotiation outcome, not a failed call — so it
            # carries no error_code/is_error for detections to count (the wire error stays in result_json).
            err = msg["error"] if isinstance(msg["error"], dict) else {"message": str(msg["error"])}
            data["event_subtype"] = "era_probe"
            data["status"] = Status.OK
            attrs["era_probe"] = "legacy_server"
            attrs["probe_error_code"] = err.get("code")
            if err.get("message") is not None:
                attrs["probe_error_message"] = str(err["message"])[:200]
            data["result"] = err
        elif is_error:
            err = msg["error"] if isinstance(msg["error"], dict) else {"message": str(msg["error"])}
            data["is_error"] = True
            data["status"] = Status.ERROR
            if isinstance(err.get("code"), int):
                data["error_code"] = err["code"]
                if err["code"] == -32020:
                    flags.append("header_mismatch")
            if err.get("message") is not None:
                data["error_message"] = str(err["message"])[:2000]
            data["result"] = err
        else:
            result = msg["result"] if isinstance(msg["result"], dict) else {"value": msg["result"]}
            meta = _dict(result.get("_meta"))
            if isinstance(meta.get(META_SERVER_INFO), dict):
                self._server_info(meta[META_SERVER_INFO], data)
            data["status"] = Status.OK
            result_type = result.get("resultType")
            if result_type == "input_required":
                data["status"] = Status.INPUT_REQUIRED
                if result.get("requestState") is not None:
                    data["request_state_sha256"] = self.hasher.json(result["requestState"])
                requests = result.get("inputRequests")
                if isinstance(requests, dict):
                    attrs["input_requests"] = {k: (v or {}).get("method") if isinstance(v, dict) else None
                                               for k, v in requests.items()}
            elif result_type == "task" or isinstance(result.get("task"), dict):
                task = _dict(result.get("task")) or result
                if task.get("taskId"):
                    data["task_id"] = str(task["taskId"])
                attrs["task_status"] = task.get("status")
            if method == "tools/call" and result.get("isError") is True:
                data["is_error"] = True
                data["status"] = Status.TOOL_ERROR
            elif method == "initialize":
                self._initialized(result, data, attrs)
            elif method == "server/discover":
                data["event_subtype"] = "era_probe"
                attrs["era_probe"] = "modern_server"
                if isinstance(result.get("serverInfo"), dict):
                    self._server_info(result["serverInfo"], data)
                attrs["supported_versions"] = result.get("supportedVersions")
                attrs["server_capabilities"] = result.get("capabilities")
                if result.get("instructions"):
                    attrs["instructions"] = result["instructions"]
            if result.get("cacheScope") is not None:
                attrs["cache_scope"] = result["cacheScope"]
            data["result"] = result
            if method == "tools/list":
                catalog_event = self._tools_page(result, data, flags, direction, http)
                if catalog_event:
                    emitted.append(catalog_event)
        if pending is None:
            data["status"] = Status.UNCORRELATED
        if flags:
            data["risk_flags"] = sorted(set(flags))
        if attrs:
            data["attributes"] = attrs
        emitted.insert(0, self.emitter.emit(EventType.MESSAGE, **data))
        return emitted

    def _initialized(self, result: dict[str, Any], data: dict[str, Any], attrs: dict[str, Any]) -> None:
        version = result.get("protocolVersion")
        if isinstance(version, str):
            self.conn["mcp_protocol_version"] = data["mcp_protocol_version"] = version
            self.conn["protocol_era"] = data["protocol_era"] = era_of(version)
        if isinstance(result.get("serverInfo"), dict):
            self._server_info(result["serverInfo"], data)
        attrs["server_capabilities"] = result.get("capabilities")
        if result.get("instructions"):
            attrs["instructions"] = result["instructions"]

    def _tools_page(self, result: dict[str, Any], data: dict[str, Any], flags: list[str],
                    direction: Direction, http: dict[str, Any] | None) -> str | None:
        """Assemble paginated tools/list; on the last page compare with the previous catalog."""
        tools = result.get("tools")
        if not isinstance(tools, list):
            return None
        self._catalog.pages.extend(t for t in tools if isinstance(t, dict))
        if result.get("nextCursor"):
            return None
        definitions = {str(t.get("name")): t for t in self._catalog.pages}
        self._catalog.pages = []
        hashes = {name: self.hasher.tool_definition(d) for name, d in definitions.items()}
        catalog_sha = self.hasher.tool_catalog(list(definitions.values()))
        data["tool_catalog_sha256"] = catalog_sha
        previous = self._catalog.hashes
        first = self._catalog.catalog_sha is None
        if not first and catalog_sha == self._catalog.catalog_sha:
            self._catalog.stale = False
            return None
        changed = sorted(n for n in hashes if n in previous and previous[n] != hashes[n])
        added = sorted(set(hashes) - set(previous))
        removed = sorted(set(previous) - set(hashes))
        cat_flags = []
        if changed:
            cat_flags.append("catalog_changed")
            flags.append("catalog_changed")
        self._catalog.tools, self._catalog.hashes, self._catalog.catalog_sha = definitions, hashes, catalog_sha
        self._catalog.stale = False
        fields: dict[str, Any] = {
            **self.conn, "direction": direction, "event_subtype": "tool_catalog", "method": "tools/list",
            "tool_catalog_sha256": catalog_sha,
            "tool_definitions_json": json.dumps([definitions[n] for n in sorted(definitions)], ensure_ascii=False),
            "attributes": {"tool_hashes": hashes, "added": added, "removed": removed, "changed": changed,
                           "first_catalog": first,
                           "previous_catalog_sha256": self._prev_sha(previous) if previous else None},
        }
        for key in ("trace_id", "span_id", "server_name", "server_version", "mcp_protocol_version", "protocol_era"):
            if data.get(key) is not None:
                fields[key] = data[key]
        if http:
            self._http_fields(fields, {k: v for k, v in http.items() if k != "headers"})
        if cat_flags:
            fields["risk_flags"] = cat_flags
        return self.emitter.emit(EventType.CATALOG, **fields)

    def _prev_sha(self, previous: dict[str, str]) -> str:
        return self.hasher.json(sorted(previous.values()))

    # -- notifications ----------------------------------------------------------------------------

    def _notification(self, msg: dict[str, Any], method: str, direction: Direction,
                      http: dict[str, Any] | None, extra: dict[str, Any] | None) -> list[str]:
        sender = Initiator.CLIENT if direction is Direction.CLIENT_TO_SERVER else Initiator.SERVER
        data = self._base(direction, MessageKind.NOTIFICATION, sender, http, extra)
        data["method"] = method
        params = _dict(msg.get("params"))
        meta = _dict(params.get("_meta"))
        self._meta_fields(data, meta, http)
        info = lookup(method)
        flags = list(data.get("risk_flags") or [])
        if info is None:
            flags.append("unknown_method")
        elif info.target_param and params.get(info.target_param) is not None:
            data["target"] = str(params[info.target_param])
        if method == "notifications/cancelled":
            rid = _id_str(params.get("requestId"))
            data["related_request_id"] = rid
            data["status"] = Status.CANCELLED
            pending = self._pending.get((sender.value, rid)) if rid is not None else None
            if pending is not None:
                for key in ("tool_name", "target", "trace_id", "tool_call_id", "conversation_id"):
                    if pending.fields.get(key) is not None:
                        data.setdefault(key, pending.fields[key])
                data["attributes"] = {**(data.get("attributes") or {}), "cancelled_method": pending.method,
                                      "request_event_id": pending.event_id}
        elif method == "notifications/progress":
            token = _id_str(params.get("progressToken"))
            data["progress_token"] = token
            if token is not None and token in self._progress:
                data["related_request_id"] = self._progress[token]
        elif method in ("notifications/tasks/status", "notifications/tasks") and params.get("taskId"):
            data["task_id"] = str(params["taskId"])
        elif method == "notifications/tools/list_changed":
            self._catalog.stale = True
        elif method == "notifications/resources/updated" and params.get("uri"):
            data["resource_uri"] = str(params["uri"])
        elif method == "notifications/initialized":
            self.conn.setdefault("protocol_era", ProtocolEra.LEGACY)
        payload = {k: v for k, v in params.items() if k != "_meta"}
        if payload:
            data["arguments"] = payload
        self._header_check(data, method, params, flags)
        if flags:
            data["risk_flags"] = sorted(set(flags))
        return [self.emitter.emit(EventType.MESSAGE, **data)]

    # -- anomalies --------------------------------------------------------------------------------

    def _anomaly(self, raw: Any, direction: Direction, flag: str, reason: str,
                 http: dict[str, Any] | None, extra: dict[str, Any] | None) -> str:
        data = self._base(direction, MessageKind.NOTIFICATION, None, http, extra)
        data.pop("message_kind", None)
        if isinstance(raw, bytes | bytearray | memoryview):
            text = bytes(raw)[:_RAW_KEEP].decode("utf-8", "backslashreplace")
            size = len(raw)
        elif isinstance(raw, str):
            text, size = raw[:_RAW_KEEP], len(raw.encode("utf-8", "replace"))
        else:
            text = json.dumps(raw, default=str)[:_RAW_KEEP]
            size = len(text)
        data["event_subtype"] = "protocol_anomaly"
        data["risk_flags"] = sorted({*(data.get("risk_flags") or []), "protocol_anomaly", flag})
        data["arguments"] = {"raw": text}
        data["attributes"] = {**(data.get("attributes") or {}), "reason": reason, "raw_size_bytes": size}
        return self.emitter.emit(EventType.MESSAGE, **data)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""
