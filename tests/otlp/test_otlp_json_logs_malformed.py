"""OTLP/JSON by hand (per the spec), agent-host log events, and malformed or oversized requests."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from otlp_helpers import attrs, receiver, stored

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "otlp"
TRACE = "5b8efff798038103d269b633813fc60c"


def _kv(key: str, value: object) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _json_traces(*spans: dict) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [_kv("service.name", "gw"), _kv("host.name", "gw-1")]},
                               "scopeSpans": [{"scope": {"name": "agentgateway"}, "spans": list(spans)}]}]}


def _span(span_id: str, method: str, request_id: str | None = "1", extra: dict | None = None) -> dict:
    attributes = [_kv("mcp.method.name", method), _kv("mcp.protocol.version", "2025-11-25"),
                  *(_kv(k, v) for k, v in (extra or {}).items())]
    if request_id is not None:
        attributes.append(_kv("jsonrpc.request.id", request_id))
    return {"traceId": TRACE, "spanId": span_id, "parentSpanId": "eee19b7ec3c1b174", "name": method,
            "kind": 2, "startTimeUnixNano": "1796112000000000000", "endTimeUnixNano": "1796112000250000000",
            "attributes": attributes, "status": {}}


def test_hand_built_otlp_json(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    body = _json_traces(_span("eee19b7ec3c1b173", "tools/call", extra={"gen_ai.tool.name": "search"}),
                        _span("eee19b7ec3c1b175", "notifications/initialized", request_id=None),
                        {"traceId": TRACE, "spanId": "eee19b7ec3c1b176", "name": "GET /", "kind": 2})
    with receiver(spool) as (url, server):
        reply = httpx.post(f"{url}/v1/traces", json=body)
        assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
        assert json.loads(reply.content) == {}  # ExportTraceServiceResponse, nothing rejected
        assert server.receiver.stats.unrelated == 1
    events = stored(spool)
    assert [(e["message_kind"], e["method"]) for e in events] == [
        ("request", "tools/call"), ("result", "tools/call"), ("notification", "notifications/initialized")]
    call = events[0]
    assert call["trace_id"] == TRACE and call["span_id"] == "eee19b7ec3c1b173"
    assert call["parent_span_id"] == "eee19b7ec3c1b174" and call["tool_name"] == "search"
    assert call["event_time"] == "2026-12-01T08:00:00.000000Z"
    assert events[1]["duration_ms"] == 250.0 and events[1]["event_time"] == "2026-12-01T08:00:00.250000Z"
    assert call["server_name"] == "gw" and attrs(call)["provenance"]["scope"] == "agentgateway"


def test_claude_code_log_events(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    body = json.loads((FIXTURES / "claude_code_logs.json").read_text())
    with receiver(spool) as (url, server):
        reply = httpx.post(f"{url}/v1/logs", content=gzip.compress(json.dumps(body).encode()),
                           headers={"content-type": "application/json", "content-encoding": "gzip"})
        assert reply.status_code == 200, reply.text
        assert server.receiver.stats.log_records == 6 and server.receiver.stats.unrelated == 1
    events = stored(spool)
    assert all(e["event_type"] == "host" and e["emitter_role"] == "host" for e in events)
    by = {(e["event_subtype"], e.get("tool_name")): e for e in events}
    assert len(events) == 5
    prompt = by[("user_prompt", None)]
    assert prompt["conversation_id"] == "5f1c2d3e-0000-4000-8000-00000000a001"
    assert prompt["user_id"] == "dev@example.com" and prompt["user_id_source"] == "host"
    assert prompt["host_name"] == "dev-laptop-12" and prompt["agent_name"] == "claude-code"
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in json.dumps(events)  # redacted like our emitters
    assert "Paris" in prompt["arguments_json"] and prompt["redacted"] is True
    assert attrs(prompt)["otel"]["prompt_id"] == "p-0001"
    assert attrs(prompt)["provenance"]["documented_at"].startswith("https://code.claude.com/")
    accepted = by[("tool_decision", "mcp__weather__get_weather")]
    assert accepted["approval"] == "user_approved" and accepted["tool_call_id"] == "toolu_01ABC"
    assert attrs(accepted)["otel"]["decision_source"] == "user_temporary"
    rejected = by[("tool_decision", "Bash")]
    assert rejected["approval"] == "policy_denied" and rejected["status"] == "denied"
    result = by[("tool_result", "mcp__weather__get_weather")]
    assert result["status"] == "error" and result["is_error"] is True and result["duration_ms"] == 412.0
    assert result["error_message"] == "upstream timeout" and result["tool_call_id"] == "toolu_01ABC"
    assert result["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and result["approval"] == "user_approved"
    assert json.loads(result["arguments_json"])["mcp_server_name"] == "weather"
    api = by[("api_request", None)]
    assert api["model_name"] == "claude-sonnet-4-5" and attrs(api)["otel"]["cost_usd"] == 0.0123


def _valid_pb() -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex(TRACE)
    span.span_id = bytes.fromhex("eee19b7ec3c1b173")
    span.name = "tools/list"
    span.kind = 2
    span.attributes.append(KeyValue(key="mcp.method.name", value=AnyValue(string_value="tools/list")))
    span.attributes.append(KeyValue(key="jsonrpc.request.id", value=AnyValue(string_value="3")))
    return request.SerializeToString()


def _status(reply: httpx.Response) -> tuple[int, str]:
    """The google.rpc.Status of an error reply (JSON or hand-decoded protobuf: code=1 varint, message=2)."""
    if reply.headers["content-type"] == "application/json":
        data = json.loads(reply.content)
        return data["code"], data["message"]
    raw = reply.content
    assert raw[0] == 0x08 and raw[2] == 0x12
    return raw[1], raw[4:].decode() if raw[3] < 0x80 else raw[5:].decode()


def test_malformed_requests_are_refused_and_store_nothing(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    valid = _valid_pb()
    pb = {"content-type": "application/x-protobuf"}
    with receiver(spool, max_body=64 * 1024) as (url, server):
        truncated = httpx.post(f"{url}/v1/traces", content=valid[:-7], headers=pb)
        assert truncated.status_code == 400 and truncated.headers["content-type"] == "application/x-protobuf"
        code, message = _status(truncated)
        assert code == 3 and "protobuf" in message
        wrong_type = httpx.post(f"{url}/v1/traces", content=valid, headers={"content-type": "text/plain"})
        assert wrong_type.status_code == 415
        bad_json = httpx.post(f"{url}/v1/traces", content=b'{"resourceSpans": [', headers={
            "content-type": "application/json"})
        assert bad_json.status_code == 400 and _status(bad_json)[0] == 3
        bad_id = httpx.post(f"{url}/v1/traces", json=_json_traces({**_span("zz", "tools/list")}))
        assert bad_id.status_code == 400 and "spanId" in _status(bad_id)[1]
        huge = httpx.post(f"{url}/v1/traces", content=b"\0" * (65 * 1024), headers=pb)
        assert huge.status_code == 413
        bomb = httpx.post(f"{url}/v1/traces", content=gzip.compress(b"\0" * (1024 * 1024)),
                          headers={**pb, "content-encoding": "gzip"})
        assert bomb.status_code == 413
        bad_gzip = httpx.post(f"{url}/v1/traces", content=gzip.compress(valid)[:-9],
                              headers={**pb, "content-encoding": "gzip"})
        assert bad_gzip.status_code == 400
        nowhere = httpx.post(f"{url}/v1/metrics", content=valid, headers=pb)
        assert nowhere.status_code == 404
        assert server.receiver.stats.bad_requests == 8
        # after all that, a valid request is taken whole
        good = httpx.post(f"{url}/v1/traces", content=valid, headers=pb)
        assert good.status_code == 200
        response = ExportTraceServiceResponse()
        response.ParseFromString(good.content)
        assert not response.HasField("partial_success")
    events = stored(spool)
    assert [(e["method"], e["message_kind"]) for e in events] == [("tools/list", "request"), ("tools/list", "result")]


def test_wrong_length_ids_are_partial_success(tmp_path: Path) -> None:
    """One span with a 5-byte span id is rejected and reported; the valid spans of the request are kept."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(_valid_pb())
    bad = request.resource_spans[0].scope_spans[0].spans.add()
    bad.CopyFrom(request.resource_spans[0].scope_spans[0].spans[0])
    bad.span_id = b"\x01\x02\x03\x04\x05"
    spool = tmp_path / "spool"
    with receiver(spool) as (url, _server):
        reply = httpx.post(f"{url}/v1/traces", content=request.SerializeToString(),
                           headers={"content-type": "application/x-protobuf"})
        assert reply.status_code == 200
        response = ExportTraceServiceResponse()
        response.ParseFromString(reply.content)
        assert response.partial_success.rejected_spans == 1
        assert "5 bytes" in response.partial_success.error_message
    assert len(stored(spool)) == 2


def test_deep_attributes_are_cut_not_refused(tmp_path: Path) -> None:
    value = AnyValue(string_value="bottom")
    for _ in range(20):  # 60 message levels: within protobuf's parse limit of 100, beyond our cap of 8
        wrapped = AnyValue()
        wrapped.kvlist_value.values.append(KeyValue(key="k", value=value))
        value = wrapped
    request = ExportTraceServiceRequest()
    request.ParseFromString(_valid_pb())
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(KeyValue(key="deep", value=value))
    spool = tmp_path / "spool"
    with receiver(spool) as (url, _server):
        reply = httpx.post(f"{url}/v1/traces", content=request.SerializeToString(),
                           headers={"content-type": "application/x-protobuf"})
        assert reply.status_code == 200
    first = stored(spool)[0]
    assert first["truncated"] is True
    assert "nested deeper than 8 levels" in first["attributes_json"] and "bottom" not in first["attributes_json"]


class _GatedSink:
    """A real sink (spool-like list) whose writes wait until the test opens the gate: a slow store."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.records: list[tuple[str, bytes]] = []

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        self.gate.wait(30)
        self.records.extend(records)

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float) -> None:
        self.gate.set()


def test_backpressure_503_with_retry_after_then_recovers(tmp_path: Path) -> None:
    sink = _GatedSink()
    pb = {"content-type": "application/x-protobuf"}
    with receiver(tmp_path / "spool", sink=sink, queue_size=5) as (url, server):
        replies = [httpx.post(f"{url}/v1/traces", content=_valid_pb(), headers=pb) for _ in range(6)]
        statuses = [r.status_code for r in replies]
        assert 503 in statuses, statuses
        refused = replies[statuses.index(503)]
        assert refused.headers["retry-after"] == "2" and _status(refused)[0] == 14
        accepted = statuses.count(200)
        sink.gate.set()
        assert server.receiver.emitter.flush(10)
        # every accepted request is stored whole; no refused one left anything
        assert len(sink.records) == 2 * accepted
        assert server.receiver.stats.throttled == statuses.count(503)
        again = httpx.post(f"{url}/v1/traces", content=_valid_pb(), headers=pb)
        assert again.status_code == 200
