"""No false secrets on real servers' listings: schemas, env listings and catalogs are stored as sent.

Real servers run behind the real `wrap` (PyPI: mcp-server-time, mcp-server-git; npm, when installed
the pinned set of samples/thirdparty.py: server-filesystem, server-everything, whose `get-env` lists the
environment with `PWD`). Nothing may be redacted, and the stored catalog must equal the listing the
client received (a schema property named `password` or `api_key` keeps its schema).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from emit_helpers import spooled
from thirdparty_helpers import need_npm_bin

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def _session(command: list[str], spool: Path, calls: list[tuple[str, dict[str, Any]]],
             cwd: Path) -> dict[Any, dict[str, Any]]:
    """Drive one session through wrap; returns the responses the client received, by request id."""
    env = {"PATH": os.environ["PATH"], "HOME": "/home/alice", "PWD": str(cwd), "LANG": "C.UTF-8",
           "MCP_BLACKBOX_HASH_KEY": "real-servers-test-hash-key-0001", "XDG_STATE_HOME": str(spool.parent / "st")}
    wrap = [str(BIN / "mcp-blackbox"), "wrap", "--name", "srv", "--sink", f"spool://{spool}", "--", *command]
    proc = subprocess.Popen(wrap, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)
    assert proc.stdin is not None and proc.stdout is not None
    got: dict[Any, dict[str, Any]] = {}

    def request(rid: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            assert line, f"{command[0]} closed stdout"
            msg = json.loads(line)
            if "method" in msg and "id" in msg:  # a server request: answer it
                answer = {"jsonrpc": "2.0", "id": msg["id"], "result": {"roots": []}}
                proc.stdin.write((json.dumps(answer) + "\n").encode())
                proc.stdin.flush()
            elif msg.get("id") == rid:
                got[rid] = msg
                return msg

    try:
        init = request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {"roots": {}},
                                         "clientInfo": {"name": "fp-test", "version": "1"}})
        proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        proc.stdin.flush()
        request(2, "tools/list", {})
        caps = init["result"].get("capabilities", {})
        rid = 3
        for method, params in [*(("tools/call", {"name": n, "arguments": a}) for n, a in calls),
                               *([("prompts/list", {})] if "prompts" in caps else []),
                               *([("resources/list", {})] if "resources" in caps else [])]:
            request(rid, method, params)
            rid += 1
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # server-everything keeps running after stdin closes
            proc.terminate()  # wrap forwards SIGTERM to the server and flushes its events
            proc.wait(timeout=30)
    return got


def _check(spool: Path, got: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    events = spooled(spool)
    redacted = [(e.get("method"), e.get("redacted_paths")) for e in events if e.get("redacted")]
    assert not redacted, f"false secrets: {redacted}"
    received = sorted(got[2]["result"]["tools"], key=lambda t: t["name"])
    catalog = next(e for e in events if e["event_type"] == "catalog")
    assert json.loads(catalog["tool_definitions_json"]) == received, "the stored catalog lost or changed schemas"
    listing = next(e for e in events if e.get("method") == "tools/list" and e.get("message_kind") == "result")
    assert json.loads(listing["result_json"]) == got[2]["result"]
    return events


def test_pypi_time_and_git_listings_stored_as_sent(tmp_path: Path) -> None:
    got = _session([str(BIN / "mcp-server-time"), "--local-timezone", "UTC"], tmp_path / "time",
                   [("get_current_time", {"timezone": "UTC"})], tmp_path)
    _check(tmp_path / "time", got)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    got = _session([str(BIN / "mcp-server-git")], tmp_path / "git", [("git_status", {"repo_path": str(repo)})],
                   repo)
    _check(tmp_path / "git", got)


def test_npm_filesystem_and_everything_listings_and_env_stored_as_sent(tmp_path: Path) -> None:
    filesystem, everything = need_npm_bin("mcp-server-filesystem"), need_npm_bin("mcp-server-everything")
    root = tmp_path / "files"
    root.mkdir()
    (root / "notes.txt").write_text("hello\n")
    got = _session([str(filesystem), str(root)], tmp_path / "fs",
                   [("list_directory", {"path": str(root)})], root)
    _check(tmp_path / "fs", got)
    project = tmp_path / "project"
    project.mkdir()
    got = _session([str(everything)], tmp_path / "ev", [("get-env", {})], project)
    events = _check(tmp_path / "ev", got)
    env_result = next(e for e in events if e.get("tool_name") == "get-env" and e.get("message_kind") == "result")
    listed = json.loads(json.loads(env_result["result_json"])["content"][0]["text"])
    assert listed["PWD"] == str(project), "the PWD of an environment listing is kept"
