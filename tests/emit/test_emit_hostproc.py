"""`wrap` records the host process that spawned it: two servers of one host share its key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from emit_helpers import spooled

from mcp_blackbox.collector.emit.hostproc import host_process_identity

WRAP = [str(Path(sys.executable).parent / "mcp-blackbox"), "wrap"]


def test_host_process_identity_of_this_process_parent() -> None:
    me = host_process_identity(os.getpid())
    assert me["pid"] == os.getpid() and me["id"].startswith("hp-") and len(me["id"]) == 19
    assert me["executable"] and Path(me["executable"]).name.startswith("python")
    assert me["start_time"] is not None
    assert host_process_identity(os.getpid()) == me  # stable


def test_two_wrapped_servers_of_one_host_share_the_host_key(tmp_path: Path) -> None:
    for name in ("a", "b"):
        subprocess.run([*WRAP, "--name", name, "--sink", f"spool://{tmp_path}", "--", sys.executable, "-c", "pass"],
                       check=True, timeout=60, stdin=subprocess.DEVNULL)
    spawns = [e for e in spooled(tmp_path) if e.get("event_subtype") == "server_spawn"]
    hosts = [json.loads(e["attributes_json"])["host_process"] for e in spawns]
    assert len(hosts) == 2 and hosts[0] == hosts[1]
    assert hosts[0]["pid"] == os.getpid() and hosts[0]["id"] == host_process_identity(os.getpid())["id"]


def test_the_host_key_survives_redaction_whatever_its_digits() -> None:
    # the key is a hash: under a key-like attribute name, the random-looking ones were redacted as high_entropy
    # (the wrap-only eval scenario lost its host-process join that way)
    from mcp_blackbox.schema.redaction import Redactor

    redactor = Redactor()
    for pid in range(1, 200):
        identity = host_process_identity(pid)
        kept = redactor.redact({"host_process": identity}, "$.attributes")
        assert kept.paths == [] and kept.value["host_process"] == identity, identity
