"""Helpers for the capture-edges tests: a real SDK server over Streamable HTTP, ports, JWTs, spools.

Run as a script it serves the sample help desk server (official SDK) over Streamable HTTP:
    python edges_helpers.py PORT [--auth] [--json]
With --auth the SDK's own bearer middleware guards it (a test `TokenVerifier` that accepts unsigned JWTs
issued by https://auth.example.test and reads their `scope`; scope `tickets` is required).
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ISSUER = "https://auth.example.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"process exited early with {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    msg = f"port {port} never opened"
    raise RuntimeError(msg)


def make_jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def start_upstream(port: int, *, auth: bool = False) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, str(port)] + (["--auth"] if auth else [])
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def build_app(port: int, *, auth: bool) -> Any:
    sys.path.insert(0, str(REPO))
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

    from samples.servers import helpdesk

    class UnsignedJwtVerifier:
        async def verify_token(self, token: str) -> AccessToken | None:
            try:
                payload = token.split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            except (IndexError, ValueError):
                return None
            if claims.get("iss") != ISSUER:
                return None
            return AccessToken(token=token, client_id=claims.get("client_id", "unknown"),
                               scopes=str(claims.get("scope", "")).split(), subject=claims.get("sub"),
                               claims=claims)

    server: Any = helpdesk.server
    if auth:
        server = MCPServer("helpdesk", token_verifier=UnsignedJwtVerifier(),
                           auth=AuthSettings(issuer_url=ISSUER, resource_server_url=f"http://127.0.0.1:{port}/mcp",
                                             required_scopes=["tickets"], validate_token_resource=False))
        server.tool()(helpdesk.get_ticket)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                         allowed_hosts=["127.0.0.1:*", "localhost:*"],
                                         allowed_origins=["http://127.0.0.1:*", "http://localhost:*"])
    return server.streamable_http_app(transport_security=security)


if __name__ == "__main__":
    import uvicorn

    the_port = int(sys.argv[1])
    app = build_app(the_port, auth="--auth" in sys.argv)
    uvicorn.run(app, host="127.0.0.1", port=the_port, log_level="warning")
