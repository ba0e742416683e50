"""`wrap` records what actually runs behind interpreters and launchers, with real servers:
PyPI `mcp-server-time`/`mcp-server-git` (console script and `python -m`), npm server-everything
(`node dist/index.js` and `npx -y`). The inventory's `shadow_server` check uses it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from emit_helpers import spooled
from pairing_driver import BIN, Server, cache_root, drive, npm_server_everything

CLI = str(BIN / "mcp-blackbox")


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _spawn(spool: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    events = spooled(spool)
    spawn = next(e for e in events if e.get("event_subtype") == "server_spawn")
    late = [e for e in events if e.get("event_subtype") == "server_identity"]
    final = late[-1] if late else spawn
    return spawn, json.loads(final["attributes_json"])["server_package"] | {
        "server_binary_sha256": final["server_binary_sha256"]}


@pytest.mark.timeout(900)
def test_interpreted_servers_are_told_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = npm_server_everything()
    if entry is None:
        pytest.fail("npm/node are needed for @modelcontextprotocol/server-everything")
    node, npx = shutil.which("node"), shutil.which("npx")
    assert node is not None and npx is not None
    monkeypatch.setenv("npm_config_cache", str(cache_root() / "npm-cache"))  # npx -y fetches into .cache/
    python = str(BIN / "python")
    servers = {
        "time-script": Server("time", [str(BIN / "mcp-server-time")], "get_current_time", {"timezone": "UTC"}),
        "time-module": Server("time", [python, "-m", "mcp_server_time"], "get_current_time", {"timezone": "UTC"}),
        "git-module": Server("git", [python, "-m", "mcp_server_git"], "git_status", {"repo_path": str(tmp_path)}),
        "everything-node": Server("everything", [node, str(entry), "stdio"], "echo", {"message": "x"}),
        "everything-npx": Server("everything", [npx, "-y", "@modelcontextprotocol/server-everything", "stdio"],
                                 "echo", {"message": "x"}),
    }
    seen: dict[str, dict[str, Any]] = {}
    for key, server in servers.items():
        spool = tmp_path / key
        drive(server, spool, 2, timeout=300)
        spawn, ident = _spawn(spool)
        seen[key] = ident
        assert all(e.get("server_binary_sha256") in (spawn.get("server_binary_sha256"), ident["server_binary_sha256"])
                   for e in spooled(spool) if e.get("event_type") == "message")
    time_pkg, git_pkg = seen["time-module"], seen["git-module"]
    assert (time_pkg["package_name"], git_pkg["package_name"]) == ("mcp-server-time", "mcp-server-git")
    assert time_pkg["package_version"] and time_pkg["interpreter_sha256"] == git_pkg["interpreter_sha256"]
    assert time_pkg["server_binary_sha256"] != git_pkg["server_binary_sha256"], "same python, different servers"
    assert time_pkg["server_binary_sha256"] == _sha(time_pkg["entry_path"])
    assert time_pkg["interpreter_sha256"] == _sha(Path(python).resolve())
    script = seen["time-script"]
    assert script["package_name"] == "mcp-server-time" and script["launcher"] == "python-script"
    assert script["server_binary_sha256"] == _sha(BIN / "mcp-server-time")
    node_pkg, npx_pkg = seen["everything-node"], seen["everything-npx"]
    assert node_pkg["package_name"] == npx_pkg["package_name"] == "@modelcontextprotocol/server-everything"
    assert node_pkg["server_binary_sha256"] == _sha(entry) and node_pkg["interpreter_sha256"] == _sha(node)
    assert npx_pkg["launcher"] == "npx" and npx_pkg["package_version"] and npx_pkg["manifest_sha256"]
    assert npx_pkg["server_binary_sha256"] == _sha(npx_pkg["entry_path"])
    assert npx_pkg["server_binary_sha256"] not in (_sha(Path(npx).resolve()), _sha(node))
    if npx_pkg["package_version"] == node_pkg["package_version"]:  # the same code, however it is launched
        assert npx_pkg["server_binary_sha256"] == node_pkg["server_binary_sha256"]
    assert len({s["server_binary_sha256"] for s in (time_pkg, git_pkg, node_pkg)}) == 3


def test_shadow_server_checks_packages(tmp_path: Path) -> None:
    python = str(BIN / "python")
    spool = tmp_path / "spool"
    for name, module in (("time", "mcp_server_time"), ("git", "mcp_server_git")):
        drive(Server(name, [python, "-m", module], "no_such_tool", {}), spool, 1, timeout=120)
    store = tmp_path / "store"
    subprocess.run([CLI, "collect", "--source", f"spool://{spool}", "--store", str(store), "--until-idle", "2"],
                   check=True, capture_output=True, timeout=300)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"names": ["time", "git"], "packages": ["mcp-server-time"]}))
    out = subprocess.run([CLI, "detect", "--store", str(store), "--rule", "shadow_server", "--inventory",
                          str(inventory), "--format", "json"], capture_output=True, text=True, timeout=300,
                         check=True)
    doc = json.loads(out.stdout)
    rows = doc if isinstance(doc, list) else doc.get("findings", [])
    flagged = {f["entities"]["server"] if isinstance(f["entities"], dict) else json.loads(f["entities"])["server"]: f
               for f in rows if f["rule_id"] == "shadow_server"}
    assert set(flagged) == {"git"}, rows
    assert "package mcp-server-git@" in flagged["git"]["explanation"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
