"""OCSF 1.8.0 export: API Activity (6003) per MCP call, Process Activity (1007) per server spawn/exit.

One OCSF event per call as one emitter saw it (request joined to its response, from the `calls`
view), so latency, status and both payloads (already redacted at the emitter) sit together. Every
attribute the two classes require is filled; the agentic context CoSAI asks for rides along:
correlation id (`metadata.correlation_uid` = connection), MCP method and target, trace, conversation
(`message_context.uid`), the tool call id and the delegation chain (`unmapped`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mcp_blackbox import __version__

OCSF_VERSION = "1.8.0"
_READ = ("tools/list", "resources/list", "resources/read", "resources/templates/list", "prompts/list",
         "prompts/get", "server/discover", "completion/complete", "roots/list", "tasks/get", "tasks/list")
_SEVERITY = {"ok": 1, "input_required": 1, "pending": 1, "tool_error": 2, "error": 3, "denied": 3,
             "cancelled": 1, "timeout": 3, "uncorrelated": 2}


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _metadata(r: dict[str, Any], uid: str) -> dict[str, Any]:
    return {"version": OCSF_VERSION, "uid": uid, "correlation_uid": r.get("connection_id"),
            "product": {"name": "mcp-blackbox", "vendor_name": "mcp-blackbox",
                        "version": r.get("emitter_version") or __version__,
                        "feature": {"name": r.get("emitter_component")}},
            "log_name": "mcp-audit", "original_time": r.get("start_time_text"), "sequence": r.get("sequence"),
            "tenant_uid": r.get("tenant_id"), "profiles": ["trace", "ai_operation"]}


def api_activity(r: dict[str, Any]) -> dict[str, Any]:
    """One `calls` row (plus request-side columns) → OCSF API Activity."""
    method = r["method"] or "unknown"
    activity_id, activity_name = (2, "Read") if method in _READ else (99, "Invoke")
    status = r.get("status") or "pending"
    failed = status in ("error", "tool_error", "denied", "timeout")
    resource_type = "mcp.tool" if r.get("tool_name") else ("mcp.resource" if r.get("resource_uri") else
                                                           ("mcp.prompt" if r.get("prompt_name") else None))
    event = {
        "class_uid": 6003, "class_name": "API Activity", "category_uid": 6, "category_name": "Application Activity",
        "activity_id": activity_id, "activity_name": activity_name, "type_uid": 6003 * 100 + activity_id,
        "severity_id": _SEVERITY.get(status, 0), "time": _ms(r["start_time"]),
        "status_id": 2 if failed else 1, "status": "Failure" if failed else "Success",
        "status_code": str(r["error_code"]) if r.get("error_code") is not None else status,
        "message": f"{method} {r.get('target') or ''}".strip(),
        "metadata": _metadata(r, r["call_event_id"]),
        "actor": {"user": {"uid": r.get("user_id"), "type_id": 1 if r.get("user_id") else 0},
                  "app_name": r.get("client_info_name"), "app_uid": r.get("oauth_client_id"),
                  "session": {"uid": r.get("mcp_session_id") or r.get("connection_id"),
                              "issuer": r.get("server_url")}},
        "api": {"operation": method, "request": {"uid": r.get("jsonrpc_id") or r["call_event_id"],
                                                 "data": _json(r.get("arguments_json"))},
                "response": {"code": r.get("error_code"), "error": str(r["error_code"]) if r.get("error_code")
                             is not None else None, "error_message": r.get("error_message"),
                             "data": _json(r.get("result_json"))},
                "service": {"name": r.get("server_name") or r.get("server"), "version": r.get("server_version")}},
        "src_endpoint": {"ip": r.get("src_ip"), "hostname": r.get("host_name") if r["emitter_role"] == "client"
                         else None, "name": r.get("client_info_name") or r["emitter_role"]},
        "dst_endpoint": {"svc_name": r.get("server"), "hostname": r.get("server_url")},
        "resources": [{"name": r.get("tool_name") or r.get("prompt_name") or r.get("resource_uri"),
                       "type": resource_type}] if resource_type else None,
        "trace": {"uid": r.get("trace_id"), "span": {"uid": r.get("span_id"), "parent_uid": r.get("parent_span_id"),
                                                     "operation": method, "start_time": _ms(r["start_time"]),
                                                     "end_time": _ms(r.get("end_time")),
                                                     "duration": r.get("duration_ms"), "status_code": status}},
        "ai_model": {"name": r.get("model_name"), "ai_provider": "unknown"} if r.get("model_name") else None,
        "message_context": {"uid": r.get("conversation_id"), "ai_role_id": 3, "name": r.get("agent_name")}
        if r.get("conversation_id") else None,
        "unmapped": {"mcp_schema_version": 1, "emitter_role": r["emitter_role"], "tool_call_id": r.get("tool_call_id"),
                     "agent_id": r.get("agent_id"), "tool_definition_sha256": r.get("tool_definition_sha256"),
                     "arguments_sha256": r.get("arguments_sha256"), "result_sha256": r.get("result_sha256"),
                     "delegation": _json(r.get("delegation_json")), "protocol_era": r.get("protocol_era"),
                     "approval": r.get("approval"), "token_fingerprint": r.get("token_fingerprint")},
    }
    cleaned: dict[str, Any] = _drop_none(event)
    return cleaned


def process_activity(r: dict[str, Any]) -> dict[str, Any]:
    """A server_spawn / server_exit lifecycle event → OCSF Process Activity."""
    spawn = r["event_subtype"] == "server_spawn"
    attrs = _json(r.get("attributes_json")) or {}
    activity_id = 1 if spawn else 2
    event = {
        "class_uid": 1007, "class_name": "Process Activity", "category_uid": 1, "category_name": "System Activity",
        "activity_id": activity_id, "activity_name": "Launch" if spawn else "Terminate",
        "type_uid": 1007 * 100 + activity_id, "severity_id": 1, "time": _ms(r["event_time"]),
        "metadata": _metadata({**r, "start_time_text": None}, r["event_id"]),
        "actor": {"user": {"name": r.get("os_user"), "type_id": 1 if r.get("os_user") else 0},
                  "process": {"pid": r.get("process_pid"), "name": "mcp-blackbox " + str(r.get("emitter_component"))}},
        "device": {"hostname": r.get("host_name"), "type_id": 0},
        "process": {"pid": r.get("server_pid"), "name": r.get("server"), "cmd_line": r.get("server_command"),
                    "file": {"path": attrs.get("binary_path"), "name": r.get("server"),
                             "hashes": [{"algorithm_id": 3, "algorithm": "SHA-256",
                                         "value": r["server_binary_sha256"]}]
                             if r.get("server_binary_sha256") else None}},
        "exit_code": attrs.get("exit_code") if not spawn else None,
        "unmapped": {"mcp_schema_version": 1, "server_config_name": r.get("server_config_name"),
                     "signal": attrs.get("signal"), "runtime_s": attrs.get("runtime_s")},
    }
    cleaned: dict[str, Any] = _drop_none(event)
    return cleaned
