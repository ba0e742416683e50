"""Benign controls: real PyPI/npm servers used normally through `mcp-blackbox wrap`.

One desktop-like session drives mcp-server-time, mcp-server-fetch (against a local HTTP server),
mcp-server-git, and npm's server-filesystem and server-everything with ordinary calls, once with
the client hook and host events (`full`) and once with only the servers wrapped (`wrap`, where the
host-process key joins them). A correct rule set reports no high or critical finding for either.
Servers that are not installed are skipped (named in the outcome).
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from samples import thirdparty
from samples.attacks.runner import _exe, spool_to_store

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Control:
    """A benign session: which wrap mode."""

    cid: str
    mode: str


@dataclass
class ControlOutcome:
    """Findings of a benign session."""

    control: Control
    findings: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None


CONTROLS = [Control("desktop-full", "full"), Control("desktop-wrap", "wrap")]


def _which(name: str) -> str | None:
    """A server of the pinned third-party set (samples/thirdparty.py: PyPI beside this Python, npm installed once)."""
    found = thirdparty.pypi_bin(name) or (thirdparty.npm_bin(name) if name.startswith("mcp-server-") else None)
    return str(found) if found is not None else shutil.which(name)


def _git(*args: str) -> None:
    git = shutil.which("git")
    if git is None:
        msg = "git is not installed"
        raise RuntimeError(msg)
    subprocess.run([git, *args], check=True, capture_output=True)  # noqa: S603 - fixed arguments, our temp repo


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><h1>Release notes</h1><p>Version 2.1 fixes the login timeout.</p></body></html>"
        self.send_response(404 if self.path == "/robots.txt" else 200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


async def _play(control: Control, work: Path, sink: str, skipped: list[str]) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from mcp_blackbox.collector.emit.emitter import Emitter
    from mcp_blackbox.collector.emit.host import HostRecorder
    from mcp_blackbox.collector.emit.sdk_client import tap
    from mcp_blackbox.schema.enums import Approval, EmitterRole

    repo = work / "repo"
    repo.mkdir(parents=True)
    _git("init", "-q", str(repo))
    (repo / "README.md").write_text("# demo\n\nA small project.\n")
    _git("-C", str(repo), "add", ".")
    _git("-C", str(repo), "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "initial")
    docs = work / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("Meeting moved to Thursday. Bring the quarterly figures.\n")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/notes"
    servers = {"time": ("mcp-server-time", ["--local-timezone", "UTC"]),
               "fetch": ("mcp-server-fetch", ["--allow-private-ips"]),
               "git": ("mcp-server-git", []), "filesystem": ("mcp-server-filesystem", [str(docs)]),
               "everything": ("mcp-server-everything", [])}
    full = control.mode == "full"
    host_emitter = Emitter(role=EmitterRole.HOST, component="control", sink=sink,
                           agent_id="control") if full else None
    client_emitter = Emitter(role=EmitterRole.CLIENT, component="sdk_client", sink=sink) if full else None
    host = HostRecorder(host_emitter, conversation_id=f"conv-{control.cid}") if host_emitter else None
    try:
        async with AsyncExitStack() as stack:
            clients: dict[str, Any] = {}
            for name, (binary, extra) in servers.items():
                exe = _which(binary)
                if exe is None:
                    skipped.append(binary)
                    continue
                params = StdioServerParameters(command=_exe(), args=["wrap", "--name", name, "--sink", sink, "--",
                                                                     exe, *extra], env=dict(os.environ))
                transport: Any = stdio_client(params)
                if client_emitter is not None:
                    transport = tap(transport, client_emitter, server_config_name=name)
                clients[name] = await stack.enter_async_context(Client(transport))
                await clients[name].list_tools()

            async def call(server: str, tool: str, arguments: dict[str, Any]) -> None:
                if server not in clients:
                    return
                meta = None
                if host is not None:
                    choice = host.tool_choice(server=server, tool=tool, arguments=arguments, reason="user asked")
                    host.approval(choice, approval=Approval.USER_APPROVED)
                    meta = host.call_meta(choice)
                await clients[server].call_tool(tool, arguments, meta=meta)

            if host is not None:
                host.user_prompt("What changed in the project, what time is it in Tokyo, and summarise my notes.")
            await call("time", "get_current_time", {"timezone": "Asia/Tokyo"})
            await call("time", "convert_time", {"source_timezone": "UTC", "time": "12:00",
                                                "target_timezone": "Europe/Oslo"})
            await call("git", "git_status", {"repo_path": str(repo)})
            await call("git", "git_log", {"repo_path": str(repo)})
            await call("filesystem", "list_directory", {"path": str(docs)})
            await call("filesystem", "read_text_file", {"path": str(docs / "notes.txt")})
            summary = "Meeting moved to Thursday. Bring the quarterly figures."
            await call("filesystem", "write_file", {"path": str(docs / "summary.txt"), "content": summary})
            await call("fetch", "fetch", {"url": url})
            await call("everything", "echo", {"message": "Meeting moved to Thursday. Bring the quarterly figures."})
            await call("everything", "get-sum", {"a": 2, "b": 3})
    finally:
        httpd.shutdown()
        for emitter in (host_emitter, client_emitter):
            if emitter is not None:
                emitter.close()


def run_control(control: Control, work: Path) -> ControlOutcome:
    """Play one benign session, store it, run every rule."""
    from mcp_blackbox.forensics.detections import run_detections
    from mcp_blackbox.forensics.store import open_store

    work.mkdir(parents=True, exist_ok=True)
    outcome = ControlOutcome(control)
    try:
        anyio.run(_play, control, work, f"spool://{work / 'spool'}", outcome.skipped)
    except Exception as exc:  # noqa: BLE001 - reported in the evaluation, not fatal to it
        outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome
    spool_to_store(work / "spool", work / "store")
    store = open_store(work / "store")
    try:
        outcome.findings = run_detections(store)
    finally:
        store.close()
    return outcome
