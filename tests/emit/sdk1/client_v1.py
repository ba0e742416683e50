"""Drives server_v1.py with the 1.x SDK's own client; prints what it saw as JSON.

    python client_v1.py SPOOL_DIR
"""

import asyncio
import json
import os
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(Path(__file__).with_name("server_v1.py")),
                                                                 sys.argv[1]], env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        ok = await session.call_tool("forecast", {"city": "Oslo"})
        bad = await session.call_tool("fail", {"reason": "boom"})
        print(json.dumps({"protocol": init.protocolVersion, "tools": sorted(t.name for t in tools.tools),
                          "ok": ok.content[0].text, "bad_is_error": bad.isError}))


asyncio.run(main())
