"""`mcp-blackbox hosts wrap|unwrap`: every stdio server through wrap, byte-for-byte undo, refusals untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_blackbox.collector.emit.hosts import backup_path

BIN = Path(sys.executable).parent
CLI = str(BIN / "mcp-blackbox")

CLAUDE = b"""{
    "mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone=UTC"], "env": {"TZ": "UTC"}},
        "bare": {"command": "/usr/local/bin/thing"},
        "remote": {"url": "https://example.test/mcp"}
    },
    "globalShortcut": "Ctrl+Space"
}
"""

VSCODE = b"""{
  "inputs": [],
  "servers": {
    "git": {"type": "stdio", "command": "python", "args": ["-m", "mcp_server_git"]},
    "web": {"type": "http", "url": "https://example.test/mcp"}
  }
}"""

SETTINGS = b'{"editor.fontSize": 13, "mcp": {"servers": {"fs": {"command": "npx", "args": ["-y", "fs"]}}}}\n'


def _hosts(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "hosts", *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("relpath", "original", "table", "stdio", "other"), [
    ("claude_desktop_config.json", CLAUDE, ("mcpServers",), {"time", "bare"}, {"remote"}),
    (".cursor/mcp.json", CLAUDE, ("mcpServers",), {"time", "bare"}, {"remote"}),
    (".vscode/mcp.json", VSCODE, ("servers",), {"git"}, {"web"}),
    ("settings.json", SETTINGS, ("mcp", "servers"), {"fs"}, set()),
])
def test_wrap_then_unwrap_restores_bytes(tmp_path: Path, relpath: str, original: bytes, table: tuple[str, ...],
                                         stdio: set[str], other: set[str]) -> None:
    path = tmp_path / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(original)
    before = json.loads(original)
    proc = _hosts("wrap", str(path), "--sink", "spool:///var/tmp/bb")
    assert proc.returncode == 0, proc.stderr
    assert backup_path(path).read_bytes() == original
    doc = json.loads(path.read_bytes())
    servers, old = doc, before
    for key in table:
        servers, old = servers[key], old[key]
    for name in stdio:
        entry = servers[name]
        assert entry["command"] == CLI
        cut = entry["args"].index("--")
        assert entry["args"][:1] == ["wrap"] and entry["args"][cut - 4:cut] == ["--name", name, "--sink",
                                                                                 "spool:///var/tmp/bb"]
        assert entry["args"][cut + 1:] == [old[name]["command"], *old[name].get("args", [])]
        assert {k: v for k, v in entry.items() if k not in ("command", "args")} == \
            {k: v for k, v in old[name].items() if k not in ("command", "args")}
    for name in other:
        assert servers[name] == old[name]
    # wrapping twice changes nothing
    once = path.read_bytes()
    assert _hosts("wrap", str(path)).returncode == 0 and path.read_bytes() == once
    proc = _hosts("unwrap", str(path))
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == original
    assert "byte for byte" in proc.stdout and backup_path(path).exists()


def test_unwrap_keeps_edits_made_after_wrap(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_bytes(CLAUDE)
    assert _hosts("wrap", str(path)).returncode == 0
    doc = json.loads(path.read_bytes())
    doc["globalShortcut"] = "Alt+Space"
    path.write_text(json.dumps(doc))
    assert _hosts("unwrap", str(path)).returncode == 0
    expected = json.loads(CLAUDE)
    expected["globalShortcut"] = "Alt+Space"
    assert json.loads(path.read_bytes()) == expected


@pytest.mark.parametrize("content", [
    b'{"mcpServers": {"a": {"command": "x"}}, /* unterminated comment\n}',
    b'{"mcpServers": {"a": {"command": "x"}} "missing": "comma"}',
    b'{"profiles": {"a": {"command": "x"}}}',
    b"[1, 2, 3]",
    b"\xff\xfe not text",
    b'{"mcpServers": {"a": {"command": "x", "args": "not-a-list"}}}',
])
def test_unknown_format_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    # a malformed entry only matters to wrap; unwrap has nothing to undo there
    for action in ("wrap",) if b"not-a-list" in content else ("wrap", "unwrap"):
        proc = _hosts(action, str(path))
        assert proc.returncode != 0
        assert proc.stderr.strip().count("\n") == 0 and "untouched" in proc.stderr
        assert path.read_bytes() == content
    assert not backup_path(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


async def _list_tools(params: StdioServerParameters) -> list[str]:
    async with Client(stdio_client(params)) as client:
        return sorted(t.name for t in (await client.list_tools()).tools)


def test_wrapped_entry_starts_a_recording_server(tmp_path: Path) -> None:
    """The rewritten entry, launched as a host would, serves the same tools and records them."""
    path = tmp_path / "claude_desktop_config.json"
    spool = tmp_path / "spool"
    path.write_text(json.dumps({"mcpServers": {"clock": {"command": str(BIN / "mcp-server-time"),
                                                         "args": ["--local-timezone", "UTC"]}}}))
    bare = json.loads(path.read_text())["mcpServers"]["clock"]
    assert _hosts("wrap", str(path), "--sink", f"spool://{spool}").returncode == 0
    entry = json.loads(path.read_text())["mcpServers"]["clock"]
    wrapped = anyio.run(_list_tools, StdioServerParameters(command=entry["command"], args=entry["args"]))
    assert wrapped == anyio.run(_list_tools, StdioServerParameters(command=bare["command"], args=bare["args"]))
    from emit_helpers import spooled
    events = spooled(spool)
    assert {e.get("server_config_name") for e in events} == {"clock"}
    assert any(e.get("method") == "tools/list" and e.get("message_kind") == "result" for e in events)
