"""`hosts wrap|unwrap` on each host's documented format, JSONC included: byte-exact round trips.

Formats (checked against each host's documentation): Claude Desktop `claude_desktop_config.json`,
Claude Code project `.mcp.json` and user `~/.claude.json` (user scope `mcpServers` and per-project
`projects[path].mcpServers`), VS Code `.vscode/mcp.json` (`servers`, `inputs`; JSONC), Cursor
`.cursor/mcp.json` (JSONC), Windsurf `mcp_config.json` (`serverUrl` for remote servers) and Zed
`settings.json` (`context_servers`, JSONC; the older `command: {path, args}` form too).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mcp_blackbox.collector.emit import jsonc
from mcp_blackbox.collector.emit.hosts import backup_path

BIN = Path(sys.executable).parent
CLI = str(BIN / "mcp-blackbox")

VSCODE = b"""// VS Code workspace MCP servers
{
  "inputs": [
    {"type": "promptString", "id": "gh-token", "description": "GitHub token", "password": true},
  ],
  "servers": {
    /* local git server */
    "git": {
      "type": "stdio",
      "command": "uvx",
      "args": [
        "mcp-server-git", // the PyPI server
      ],
      "env": {"GITHUB_TOKEN": "${input:gh-token}"},
    },
    "web": {"type": "http", "url": "https://example.test/mcp"},
  },
}
"""

CURSOR = b"""{
\t// Cursor project servers
\t"mcpServers": {
\t\t"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv",],},
\t\t"noargs": {"command": "/opt/bin/server"}, // no args key at all
\t\t"remote": {"url": "https://example.test/sse"},
\t},
}
"""

CLAUDE_CODE_PROJECT = b"""{
  "mcpServers": {
    "time": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"], "env": {}},
    "docs": {"type": "http", "url": "https://example.test/mcp", "headers": {"X-Team": "a"}}
  }
}
"""

CLAUDE_CODE_USER = b"""{
  "numStartups": 12,
  "mcpServers": {"memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}},
  "projects": {
    "/home/alice/app": {
      "allowedTools": [],
      "mcpServers": {"git": {"type": "stdio", "command": "uvx", "args": ["mcp-server-git"], "env": {}}}
    },
    "/home/alice/empty": {"allowedTools": []}
  }
}
"""

CLAUDE_DESKTOP = (b'{\r\n  "mcpServers": {\r\n    "time": {"command": "uvx", "args": ["mcp-server-time"]}\r\n'
                  b"  }\r\n}\r\n")

WINDSURF = b"""{
  "mcpServers": {
    "git": {"command": "uvx", "args": ["mcp-server-git"], "disabled": false, "env": {}},
    "remote": {"serverUrl": "https://example.test/mcp", "headers": {"X-A": "b"}}
  }
}
"""

ZED = b"""// Zed settings
{
  "theme": "One Dark",
  "context_servers": {
    "local": {
      "source": "custom",
      "enabled": true,
      "command": "some-command",
      "args": ["arg-1", "arg-2"], // trailing comment
      "env": {},
    },
    "legacy": {"command": {"path": "/usr/bin/legacy", "args": [], "env": {}}, "settings": {}},
    "ext": {"source": "extension", "settings": {}},
    "remote": {"url": "https://example.test/mcp"},
  },
}
"""

CASES = [
    (".vscode/mcp.json", VSCODE, "vscode", {"git"}),
    (".cursor/mcp.json", CURSOR, "cursor", {"fs", "noargs"}),
    ("proj/.mcp.json", CLAUDE_CODE_PROJECT, "claude-code", {"time"}),
    ("home/.claude.json", CLAUDE_CODE_USER, "claude-code-user", {"memory", "/home/alice/app:git"}),
    ("claude_desktop_config.json", CLAUDE_DESKTOP, "claude-desktop", {"time"}),
    (".codeium/windsurf/mcp_config.json", WINDSURF, "windsurf", {"git"}),
    (".config/zed/settings.json", ZED, "zed", {"local", "legacy"}),
]


def _hosts(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "hosts", *args], capture_output=True, text=True, timeout=60, check=False)


def _comments(text: bytes) -> list[bytes]:
    lines = [line.split(b"//", 1)[1] for line in text.splitlines() if b"//" in line and b"https://" not in line]
    return lines + [part.split(b"*/", 1)[0] for part in text.split(b"/*")[1:]]


def _servers(doc: dict, fmt: str) -> dict[str, dict]:
    if fmt == "vscode":
        return doc["servers"]
    if fmt == "zed":
        table = doc["context_servers"]
        return {k: (v["command"] if isinstance(v.get("command"), dict) else v) for k, v in table.items()}
    out = dict(doc.get("mcpServers", {}))
    for project, data in doc.get("projects", {}).items():
        out.update({f"{project}:{k}": v for k, v in data.get("mcpServers", {}).items()})
    return out


@pytest.mark.parametrize(("relpath", "original", "fmt", "stdio"), CASES, ids=[c[2] for c in CASES])
def test_wrap_twice_then_unwrap_is_byte_exact(tmp_path: Path, relpath: str, original: bytes, fmt: str,
                                              stdio: set[str]) -> None:
    path = tmp_path / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(original)
    before = _servers(jsonc.loads(original.decode()), fmt)
    proc = _hosts("wrap", str(path), "--sink", "spool:///var/tmp/bb")
    assert proc.returncode == 0, proc.stderr
    assert f"({fmt})" in proc.stdout
    wrapped = path.read_bytes()
    for comment in _comments(original):
        assert comment in wrapped, f"comment lost: {comment!r}"
    after = _servers(jsonc.loads(wrapped.decode()), fmt)
    for label, entry in before.items():
        key = "path" if "path" in entry else "command"  # Zed's older form names the executable `path`
        if label not in stdio:
            assert after[label] == entry, f"{label} must be left alone"
            continue
        new = after[label]
        name = label.rsplit(":", 1)[-1]
        assert new[key] == CLI
        cut = new["args"].index("--")
        assert new["args"][0] == "wrap" and new["args"][cut - 4:cut] == ["--name", name, "--sink", "spool:///var/tmp/bb"]
        assert new["args"][cut + 1:] == [entry[key], *entry.get("args", [])]
        assert {k: v for k, v in new.items() if k not in (key, "args")} == \
            {k: v for k, v in entry.items() if k not in (key, "args")}
    again = _hosts("wrap", str(path))
    assert again.returncode == 0 and path.read_bytes() == wrapped
    assert "already wrapped" in again.stdout and "wrapped 0 server(s)" in again.stdout
    backup_path(path).unlink()  # the splices alone must undo the wrap exactly
    proc = _hosts("unwrap", str(path))
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == original


def test_unwrap_after_an_edit_keeps_comments_and_the_edit(tmp_path: Path) -> None:
    path = tmp_path / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_bytes(VSCODE)
    assert _hosts("wrap", str(path)).returncode == 0
    edited = path.read_bytes().replace(b'"web": {"type": "http"', b'"web": {"type": "http", "dev": true')
    path.write_bytes(edited)
    proc = _hosts("unwrap", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "edited since wrap" in proc.stdout
    assert path.read_bytes() == VSCODE.replace(b'"web": {"type": "http"', b'"web": {"type": "http", "dev": true')


def test_jsonc_parser_spans_and_errors() -> None:
    text = '{"a": [1, 2,], /* c */ "b": {"c": "d",},}'
    root = jsonc.parse(text)
    assert root.value() == {"a": [1, 2], "b": {"c": "d"}}
    b = root.get("b")
    assert b is not None and text[b.value.start:b.value.end] == '{"c": "d",}'
    for bad in ('{"a": 1 "b": 2}', '{"a": /* open', "[1, 2", '{"a": tru}', "{} x"):
        with pytest.raises(jsonc.JsoncError, match="line 1 column"):
            jsonc.parse(bad)
