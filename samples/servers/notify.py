"""Outbound notification server: webhooks and mail. Open-world by nature.

Nothing leaves the machine: each "sent" message is appended to the outbox file named by
`DEMO_OUTBOX` (default: notify-outbox.jsonl in the working directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("notify", instructions="Send webhooks and e-mails.")
OUTBOX = Path(os.environ.get("DEMO_OUTBOX", "notify-outbox.jsonl"))


def _record(kind: str, **fields: str) -> str:
    with OUTBOX.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, **fields}) + "\n")
    return f"{kind} queued ({sum(len(v) for v in fields.values())} bytes)"


@server.tool(annotations=ToolAnnotations(openWorldHint=True, destructiveHint=False))
def send_webhook(url: str, body: str) -> str:
    """POST a JSON body to a webhook URL."""
    return _record("webhook", url=url, body=body)


@server.tool(annotations=ToolAnnotations(openWorldHint=True, destructiveHint=False))
def send_email(to: str, subject: str, body: str) -> str:
    """Send an e-mail."""
    return _record("email", to=to, subject=subject, body=body)


if __name__ == "__main__":
    server.run()
