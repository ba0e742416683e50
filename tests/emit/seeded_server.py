"""A stdio MCP server (newline-delimited JSON-RPC) whose every server-side field carries seeded secrets.

Run as a script (its folder is on sys.path, so `seeded_secrets` imports). Ignores its argv, which the
test also seeds.
"""

from __future__ import annotations

import json
import sys

from seeded_secrets import KEYED_KINDS, TEXT_KINDS, keyed, seed

SCHEMA = {"type": "object", "properties": {"api_key": {"type": "string", "description": "the API key to use"},
                                           "password": {"type": "string"}, "token": {"type": "string"}},
          "required": ["api_key", "password"]}


def _send(msg: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def _env() -> dict[str, str]:
    env = {"PWD": "/home/alice/project", "HOME": "/home/alice", "SHELL": "/bin/bash"}
    for i, kind in enumerate(TEXT_KINDS):
        env[f"SEEDED_VAR_{i}"] = seed(kind, "env").text
    for kind in KEYED_KINDS:
        key, s = keyed(kind, "env")
        env[key.upper()] = s.text
    return env


def _result(method: str, params: dict[str, object]) -> dict[str, object]:
    if method == "initialize":
        return {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
                "serverInfo": {"name": " ".join(seed(k, "server_info_name").text for k in TEXT_KINDS),
                               "version": "1.0"},
                "instructions": "\n".join(seed(k, "instructions").text for k in TEXT_KINDS)}
    if method == "tools/list":
        return {"tools": [{"name": seed(k, "tool_name").text, "description": seed(k, "tool_description").text,
                           "inputSchema": SCHEMA} for k in TEXT_KINDS]}
    if method == "tools/call":
        structured: dict[str, object] = {"env": _env()}
        for kind in KEYED_KINDS:
            key, s = keyed(kind, "results")
            structured[key] = s.text
        return {"content": [{"type": "text", "text": " ".join(seed(k, "results").text for k in TEXT_KINDS)}],
                "structuredContent": structured}
    if method == "resources/read":
        return {"contents": [{"uri": params.get("uri"), "text": "ok"}]}
    if method == "prompts/get":
        return {"messages": []}
    return {}


def main() -> None:
    asked = False
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        method = msg.get("method")
        if method == "notifications/initialized" and not asked:
            asked = True  # server → client requests with string ids carrying secrets
            for kind in TEXT_KINDS:
                _send({"jsonrpc": "2.0", "id": seed(kind, "jsonrpc_id_server").text, "method": "roots/list"})
            continue
        if "id" not in msg or method is None:
            continue
        params = msg.get("params") or {}
        if method == "tools/call" and params.get("name") == "fail":
            _send({"jsonrpc": "2.0", "id": msg["id"],
                   "error": {"code": -32000,
                             "message": " ".join(seed(k, "error_message").text for k in TEXT_KINDS)}})
            continue
        _send({"jsonrpc": "2.0", "id": msg["id"], "result": _result(method, params)})


if __name__ == "__main__":
    main()
