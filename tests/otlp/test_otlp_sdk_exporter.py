"""The real OpenTelemetry SDK and its OTLP/HTTP protobuf exporter sending MCP spans to the receiver."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode, set_span_in_context
from otlp_helpers import attrs, receiver, stored


def _provider(url: str, compression: Compression = Compression.NoCompression) -> TracerProvider:
    provider = TracerProvider(resource=Resource({"service.name": "weather-server", "service.version": "1.4.0",
                                                 "host.name": "build-07", "deployment.environment.name": "prod",
                                                 "k8s.pod.name": "weather-7f9"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces",
                                                                     compression=compression)))
    return provider


def _mcp_calls(provider: TracerProvider) -> tuple[str, str]:
    """A client span and the server span it caused (tools/call), a failing call, and unrelated spans."""
    tracer = provider.get_tracer("mcp-python-sdk", "2.3.0")
    with tracer.start_as_current_span("tools/call get_weather", kind=SpanKind.CLIENT, attributes={
            "mcp.method.name": "tools/call", "jsonrpc.request.id": "7", "gen_ai.tool.name": "get_weather",
            "gen_ai.operation.name": "execute_tool", "mcp.protocol.version": "2025-11-25",
            "mcp.session.id": "sess-1", "server.address": "weather.internal", "server.port": 8000}) as client:
        with tracer.start_as_current_span("tools/call get_weather", kind=SpanKind.SERVER,
                                          context=set_span_in_context(client), attributes={
                "mcp.method.name": "tools/call", "jsonrpc.request.id": "7", "gen_ai.tool.name": "get_weather",
                "mcp.protocol.version": "2025-11-25", "mcp.session.id": "sess-1",
                "gen_ai.tool.call.arguments": json.dumps({"city": "Paris", "api_key": "AKIAIOSFODNN7EXAMPLE"}),
                "custom.tenant.shard": 3}):
            pass
    with tracer.start_as_current_span("tools/call delete_repo", kind=SpanKind.SERVER, attributes={
            "mcp.method.name": "tools/call", "jsonrpc.request.id": "8", "gen_ai.tool.name": "delete_repo",
            "mcp.protocol.version": "2026-07-28"}) as failing:
        failing.set_attribute("error.type", "-32602")
        failing.set_attribute("rpc.response.status_code", "-32602")
        failing.set_status(StatusCode.ERROR, "Invalid params")
    with tracer.start_as_current_span("GET /healthz", kind=SpanKind.SERVER, attributes={"http.route": "/healthz"}):
        pass
    with tracer.start_as_current_span("SELECT users", kind=SpanKind.CLIENT, attributes={"db.system": "postgresql"}):
        pass
    ctx = client.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def _check(events: list[dict], trace_id: str, client_span: str) -> None:
    messages = [e for e in events if e["event_type"] == "message"]
    assert len(messages) == 6  # 3 MCP spans x (request, response); the 2 unrelated spans are dropped
    assert not any("healthz" in json.dumps(e) or "postgresql" in json.dumps(e) for e in events)
    client_req = next(e for e in messages if e["emitter_role"] == "client" and e["message_kind"] == "request")
    server_req = next(e for e in messages if e["emitter_role"] == "server" and e.get("tool_name") == "get_weather"
                      and e["message_kind"] == "request")
    # chains connect client and server by trace
    assert client_req["trace_id"] == server_req["trace_id"] == trace_id
    assert client_req["span_id"] == client_span
    assert server_req["parent_span_id"] == client_span
    for event in (client_req, server_req):
        assert event["method"] == "tools/call" and event["jsonrpc_id"] == "7"
        assert event["mcp_protocol_version"] == "2025-11-25" and event["protocol_era"] == "legacy"
        assert event["mcp_session_id"] == "sess-1" and event["trace_source"] == "otel"
        assert event["emitter_component"] == "otlp" and event["host_name"] == "build-07"
        assert event["environment"] == "prod"
        prov = attrs(event)["provenance"]
        assert prov["source"] == "otlp" and prov["signed_by_emitter"] is False
        assert prov["service_name"] == "weather-server" and prov["scope"] == "mcp-python-sdk"
    assert client_req["client_info_name"] == "weather-server"
    assert client_req["server_url"] == "weather.internal:8000" and client_req["transport"] == "streamable_http"
    assert server_req["server_name"] == "weather-server"
    # the opt-in arguments are captured through the same redaction as our emitters
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(events)
    assert json.loads(server_req["arguments_json"])["city"] == "Paris"
    assert server_req["redacted"] is True and server_req["arguments_sha256"]
    # unmapped attributes are kept
    kept = attrs(server_req)
    assert kept["otel"]["custom.tenant.shard"] == 3 and kept["resource"]["k8s.pod.name"] == "weather-7f9"
    ok = next(e for e in messages if e.get("tool_name") == "get_weather" and e["emitter_role"] == "server"
              and e["message_kind"] == "result")
    assert ok["status"] == "ok" and ok["duration_ms"] >= 0
    failed = next(e for e in messages if e.get("tool_name") == "delete_repo" and e["message_kind"] == "error")
    assert failed["status"] == "error" and failed["error_code"] == -32602
    assert failed["error_message"] == "Invalid params" and failed["protocol_era"] == "modern"
    # the receiver's own chain over what it stored: one instance, gapless
    assert sorted(e["sequence"] for e in events) == list(range(len(events)))


def test_sdk_protobuf_exporter(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with receiver(spool) as (url, server):
        provider = _provider(url)
        trace_id, client_span = _mcp_calls(provider)
        provider.shutdown()
        stats = server.receiver.stats
        assert stats.spans == 5 and stats.unrelated == 2 and stats.bad_requests == 0
    _check(stored(spool), trace_id, client_span)


def test_sdk_protobuf_exporter_gzip(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with receiver(spool) as (url, _server):
        provider = _provider(url, Compression.Gzip)
        trace_id, client_span = _mcp_calls(provider)
        provider.shutdown()
    _check(stored(spool), trace_id, client_span)
