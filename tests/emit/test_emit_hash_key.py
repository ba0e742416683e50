"""The deployment hash key: where it comes from, generated once, shared by every emitter."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from emit_helpers import spooled

from mcp_blackbox.collector.emit import config as config_mod
from mcp_blackbox.collector.emit.config import load_config, resolve_hash_key
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.normalizer import ConnectionNormalizer
from mcp_blackbox.schema import json_sha256
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.hashing import ContentHasher


def test_key_from_environment_file_and_generated_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_mod, "_KEYS", {})
    cfg = load_config(sink=f"spool://{tmp_path}", env={"MCP_BLACKBOX_HASH_KEY": "env-key-0123456789abcdef"})
    assert resolve_hash_key(cfg) == b"env-key-0123456789abcdef"
    with pytest.raises(UsageError, match="at least 16 bytes"):
        load_config(sink=f"spool://{tmp_path}", env={"MCP_BLACKBOX_HASH_KEY": "short"})
    keyfile = tmp_path / "hash.key"
    keyfile.write_text("file-key-0123456789abcdef\n")
    cfg = load_config(sink=f"spool://{tmp_path}", env={"MCP_BLACKBOX_HASH_KEY_FILE": str(keyfile)})
    assert resolve_hash_key(cfg) == b"file-key-0123456789abcdef"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    cfg = load_config(sink=f"spool://{tmp_path}", env={})
    first = resolve_hash_key(cfg)
    path = tmp_path / "cfg" / "mcp-blackbox" / "keys" / "hash.key"
    assert path.read_bytes().strip() == first and len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setattr(config_mod, "_KEYS", {})
    assert resolve_hash_key(cfg) == first, "generated once, then reused"


def test_two_emitters_of_one_deployment_match_and_hashes_are_keyed(tmp_path: Path) -> None:
    env = {"MCP_BLACKBOX_HASH_KEY": "shared-deployment-key-42424242"}
    args = {"password": "hunter2"}
    tool = {"name": "t", "description": "d", "inputSchema": {"type": "object"}}
    shas = []
    for role, name in (("client", "a"), ("server", "b")):
        em = Emitter(role, "test", config=load_config(sink=f"spool://{tmp_path / name}", env=env))
        norm = ConnectionNormalizer(em, transport="stdio")
        norm.observe(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), "client_to_server")
        norm.observe(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": [tool]}}), "server_to_client")
        norm.observe(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                 "params": {"name": "t", "arguments": args}}), "client_to_server")
        em.close()
        events = spooled(tmp_path / name)
        call = next(e for e in events if e.get("method") == "tools/call")
        catalog = next(e for e in events if e["event_type"] == "catalog")
        shas.append((call["arguments_sha256"], call["tool_definition_sha256"], catalog["tool_catalog_sha256"]))
    assert shas[0] == shas[1], "emitters of one deployment must agree"
    hasher = ContentHasher(env["MCP_BLACKBOX_HASH_KEY"].encode())
    assert shas[0] == (hasher.json(args), hasher.tool_definition(tool), hasher.tool_catalog([tool]))
    assert shas[0][0] != json_sha256(args), "a dictionary of plain SHA-256 hashes must not match"
