"""An application using the official MCP Python SDK 2.x with OpenTelemetry: no mcp-blackbox code in it.

Usage: python sdk_otel_app.py OTLP_TRACES_URL [SERVICE_NAME] [--also-hook].
The SDK wraps every inbound message in a SERVER span (`mcp.server._otel.OpenTelemetryMiddleware`); the
app only installs the OTel SDK and its OTLP/HTTP exporter. With `--also-hook` the same server is also
recorded by our SDK hook (`instrument_server`, sink from MCP_BLACKBOX_SINK): two witnesses of each call.
"""

from __future__ import annotations

import sys

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICE = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else "weather-app"
provider = TracerProvider(resource=Resource({"service.name": SERVICE, "host.name": "app-host-1"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))
trace.set_tracer_provider(provider)

server = MCPServer("weather")
if "--also-hook" in sys.argv:
    from mcp_blackbox.collector.emit.sdk_server import instrument_server

    instrument_server(server)


@server.tool()
def get_weather(city: str) -> str:
    """Today's weather."""
    return f"sunny in {city}"


@server.tool()
def fail_hard(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


async def main() -> None:
    async with Client(server) as client:
        await client.list_tools()
        await client.call_tool("get_weather", {"city": "Paris"})
        await client.call_tool("get_weather", {"city": "Oslo"})
        await client.call_tool("fail_hard", {"reason": "nope"})


anyio.run(main)
provider.shutdown()
