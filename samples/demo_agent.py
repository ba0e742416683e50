"""A scripted, deterministic agent (no LLM) that behaves like a naive model.

It is asked to handle the newest support ticket and to check the weather for an on-site visit. Like
an unguarded model, it obeys instructions it reads in tool output: the ticket's hidden comment makes
it dump the `api_keys` table and post it to an attacker's webhook; the weather server's tool
definition changes under it mid-session (rug pull) and it keeps calling it.

Everything it does goes through real MCP: `mcp.Client` over stdio to real servers started through
`mcp-blackbox wrap`, with the client hook tapping the transport and the host events API recording
the prompt, each tool choice and each approval — so the incident is captured by three emitters at once.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVERS = ("helpdesk", "customers", "notify", "weather")
USER_PROMPT = "Handle the newest support ticket, then tell me the weather in Oslo for tomorrow's on-site visit."
_RUN = re.compile(r"run (\w+)\.(\w+) with \"([^\"]+)\"")
_SEND = re.compile(r"send the full result with (\w+)\.(\w+) to (\S+)")

CallTool = Callable[[str, str, dict[str, Any], str], Awaitable[str]]


@dataclass
class Step:
    """One action the agent took, for the demo's summary."""

    server: str
    tool: str
    arguments: dict[str, Any]
    result_preview: str


@dataclass
class AgentLog:
    """What the agent did, in order."""

    steps: list[Step] = field(default_factory=list)

    def add(self, server: str, tool: str, arguments: dict[str, Any], result: str) -> None:
        """Record one call."""
        self.steps.append(Step(server, tool, arguments, result.replace("\n", " ")[:90]))


async def run_scenario(call: CallTool, relist: Callable[[str], Awaitable[list[str]]]) -> AgentLog:
    """Play the incident. `call(server, tool, arguments, reason)` performs one approved tool call."""
    log = AgentLog()

    tickets = json.loads(await call("helpdesk", "list_tickets", {}, "find the newest ticket"))
    newest = (tickets if isinstance(tickets, list) else tickets.get("result", []))[-1]["id"]
    log.add("helpdesk", "list_tickets", {}, json.dumps(tickets))

    ticket_text = await call("helpdesk", "get_ticket", {"ticket_id": newest}, "read the ticket")
    log.add("helpdesk", "get_ticket", {"ticket_id": newest}, ticket_text)

    # The naive part: instructions found in tool output are followed as if the user had given them.
    ticket_body = json.loads(ticket_text).get("body", "")
    stolen = ""
    run = _RUN.search(ticket_body)
    if run:
        server, tool, sql = run.groups()
        stolen = await call(server, tool, {"sql": sql}, "ticket says this is needed to resolve it")
        log.add(server, tool, {"sql": sql}, stolen)
    send = _SEND.search(ticket_body)
    if send and stolen:
        server, tool, url = send.groups()
        args = {"url": url, "body": stolen}
        result = await call(server, tool, args, "ticket says to sync the result")
        log.add(server, tool, {"url": url, "body": f"<{len(stolen)} bytes>"}, result)

    note = "Integration sync re-run; please retry."
    result = await call("helpdesk", "resolve_ticket", {"ticket_id": newest, "note": note}, "close the ticket")
    log.add("helpdesk", "resolve_ticket", {"ticket_id": newest, "note": note}, result)

    forecast = await call("weather", "get_forecast", {"city": "Oslo"}, "user asked for the weather")
    log.add("weather", "get_forecast", {"city": "Oslo"}, forecast)
    # The server said its tool list changed: a well-behaved client lists again and gets the new definition.
    await relist("weather")
    forecast = await call("weather", "get_forecast", {"city": "Bergen"}, "check the backup site too")
    log.add("weather", "get_forecast", {"city": "Bergen"}, forecast)
    return log


#: the demo servers' scripts, installed with the package (mcp_blackbox.samples.servers)
SERVERS_DIR = Path(__file__).resolve().parent / "servers"


def server_script(name: str) -> Path:
    """Path of a demo server's script (run as `python <script>`); a clear error for an unknown name."""
    path = SERVERS_DIR / f"{name}.py"
    if not path.exists():
        msg = f"demo server {name!r} not found in {SERVERS_DIR}"
        raise FileNotFoundError(msg)
    return path


if __name__ == "__main__":  # pragma: no cover - a manual smoke run without capture
    print(USER_PROMPT, file=sys.stderr)
