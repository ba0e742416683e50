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

from mcp.server.mcpserver import Context  # module level: the SDK resolves the tool's annotations here

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


def start_upstream(port: int, *, auth: bool = False, instrument: Path | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, str(port)] + (["--auth"] if auth else [])
    if instrument is not None:
        args += ["--instrument", str(instrument)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _instrument(server: Any) -> Any:
    """With --instrument SPOOL: the sdk_server hook records into that spool (middleware + ASGI wrapper)."""
    if "--instrument" not in sys.argv:
        return None
    from mcp_blackbox.collector.emit.emitter import Emitter
    from mcp_blackbox.collector.emit.sdk_server import instrument_server

    spool = sys.argv[sys.argv.index("--instrument") + 1]
    emitter = Emitter("server", "sdk_server", sink=f"spool://{spool}")
    return instrument_server(server, emitter, server_config_name="helpdesk")


def _add_gated_tool(server: Any) -> None:
    """`gated(path)`: reports progress, then waits until `path` exists (at most 20 s).

    The test creates the file only after it has read the progress event off the wire, so the call
    finishes only if every hop delivers SSE events as they happen (a buffering proxy would stall it).
    """
    async def gated(path: str, ctx: Context) -> str:
        import anyio

        await ctx.report_progress(1, 2, "waiting for the gate")
        for _ in range(200):
            if Path(path).exists():
                return "gate opened"
            await anyio.sleep(0.1)
        return "gate never opened"

    server.tool()(gated)


def build_app(port: int, *, auth: bool) -> Any:
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings
    from pydantic import AnyHttpUrl

    from mcp_blackbox.samples.servers import helpdesk

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
    _add_gated_tool(server)
    if auth:
        server = MCPServer("helpdesk", token_verifier=UnsignedJwtVerifier(),
                           auth=AuthSettings(issuer_url=AnyHttpUrl(ISSUER),
                                             resource_server_url=AnyHttpUrl(f"http://127.0.0.1:{port}/mcp"),
                                             required_scopes=["tickets"], validate_token_resource=False))
        server.tool()(helpdesk.get_ticket)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                         allowed_hosts=["127.0.0.1:*", "localhost:*"],
                                         allowed_origins=["http://127.0.0.1:*", "http://localhost:*"])
    app = server.streamable_http_app(transport_security=security)
    hook = _instrument(server)
    if hook is not None:
        from mcp_blackbox.collector.emit.sdk_server import instrument_app

        return instrument_app(app, hook)
    return app


if __name__ == "__main__":
    import uvicorn

    if sys.argv[1] == "stdio":
        from mcp_blackbox.samples.servers import helpdesk

        _add_gated_tool(helpdesk.server)
        _instrument(helpdesk.server)
        helpdesk.server.run()
        sys.exit(0)
    the_port = int(sys.argv[1])
    app = build_app(the_port, auth="--auth" in sys.argv)
    uvicorn.run(app, host="127.0.0.1", port=the_port, log_level="warning")
