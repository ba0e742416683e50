"""An application using the official MCP Python SDK 2.x with OpenTelemetry: no mcp-blackbox code in it.

Usage: python sdk_otel_app.py OTLP_TRACES_URL. The SDK wraps every inbound message in a SERVER span
(`mcp.server._otel.OpenTelemetryMiddleware`); the app only installs the OTel SDK and its OTLP/HTTP exporter.
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

provider = TracerProvider(resource=Resource({"service.name": "weather-app", "host.name": "app-host-1"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))
trace.set_tracer_provider(provider)

server = MCPServer("weather")


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
