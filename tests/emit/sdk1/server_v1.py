"""A FastMCP server written against the 1.x `mcp` SDK, instrumented with mcp-blackbox's server hook.

    python server_v1.py SPOOL_DIR        (run by the 1.x venv's interpreter)
"""

import sys

from mcp.server.fastmcp import FastMCP

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.sdk_server import instrument_server

server = FastMCP("weather-v1")


@server.tool()
def forecast(city: str) -> str:
    """Tomorrow's weather for a city."""
    return f"sunny in {city}"


@server.tool()
def fail(reason: str) -> str:
    """Always raises."""
    raise ValueError(reason)


emitter = Emitter("server", "sdk_server", sink=f"spool://{sys.argv[1]}")
instrument_server(server, emitter, server_config_name="weather-v1")
try:
    server.run()  # stdio
finally:
    emitter.close()
