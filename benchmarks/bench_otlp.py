"""OTLP spans ingested per second by the receiver into a spool sink, on one core.

Prints: the same-run baseline of decoding the same protobuf payloads alone (ExportTraceServiceRequest
parse), then decode + map + emit (the receiver's `handle`, no HTTP), waiting until the emitter has
written every event to the spool (fsync'd segments). Target in issue 16: >= 50,000 spans/s.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_otlp.py [--spans 20000] [--batch 512]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.otlp import PROTOBUF, OtlpEmitter, OtlpReceiver
from mcp_blackbox.schema.enums import EmitterRole


def payloads(total: int, batch: int) -> list[bytes]:
    out = []
    n = 0
    while n < total:
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="weather")))
        spans = rs.scope_spans.add()
        spans.scope.name = "mcp-python-sdk"
        for _ in range(min(batch, total - n)):
            span = spans.spans.add()
            span.trace_id = n.to_bytes(16, "big") or b"\1" * 16
            span.span_id = (n + 1).to_bytes(8, "big")
            span.name = "tools/call get_weather"
            span.kind = 2
            span.start_time_unix_nano = 1_796_112_000_000_000_000 + n * 1000
            span.end_time_unix_nano = span.start_time_unix_nano + 250_000
            for key, value in (("mcp.method.name", "tools/call"), ("gen_ai.tool.name", "get_weather"),
                               ("jsonrpc.request.id", str(n)), ("mcp.protocol.version", "2025-11-25")):
                span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
            n += 1
        out.append(request.SerializeToString())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    bodies = payloads(args.spans, args.batch)
    start = time.perf_counter()
    for body in bodies:
        ExportTraceServiceRequest().ParseFromString(body)
    decode_s = time.perf_counter() - start
    print(f"baseline decode only: {args.spans / decode_s:,.0f} spans/s ({decode_s:.3f}s, {len(bodies)} requests)")
    with tempfile.TemporaryDirectory() as tmp:
        config = dataclasses.replace(load_config(None, sink=f"spool://{Path(tmp) / 'spool'}"),
                                     queue_size=4 * args.spans + 16)
        emitter = OtlpEmitter(EmitterRole.GATEWAY, "otlp", config=config, install_signal_handler=False)
        receiver = OtlpReceiver(emitter)
        start = time.perf_counter()
        for body in bodies:
            status, *_ = receiver.handle("/v1/traces", PROTOBUF, "", body)
            assert status == 200
        accepted_s = time.perf_counter() - start
        assert emitter.flush(600)
        total_s = time.perf_counter() - start
        emitter.close()
        print(f"receiver accept (decode+map+queue): {args.spans / accepted_s:,.0f} spans/s ({accepted_s:.3f}s)")
        print(f"receiver into the spool (2 events/span, redacted, validated, chained, fsync'd): "
              f"{args.spans / total_s:,.0f} spans/s ({total_s:.3f}s), {emitter.stats.sent} events, "
              f"{receiver.stats.events} emitted")


if __name__ == "__main__":
    main()
