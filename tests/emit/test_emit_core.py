"""Emitter core: sequence + hash chain, redaction before the sink, loss events, never raising, SIGTERM flush."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from emit_helpers import spool_bytes, spooled

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.sinks import SinkError, SpoolSink
from mcp_blackbox.schema.wire import event_sha256

SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInNjb3BlIjoiYWRtaW4ifQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n"
           "-----END RSA PRIVATE KEY-----",
    "url": "postgres://admin:hunter2hunter2@db.internal:5432/prod",
    "bearer": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
}
LEAKY = [SECRETS["aws"], SECRETS["github"], SECRETS["jwt"], "MIIEowIBAAKCAQEAu1SU1LfVLPHC", "hunter2hunter2",
         "abcdefghijklmnopqrstuvwxyz012345"]


def test_sequence_is_gapless_and_hash_chained(tmp_path: Path) -> None:
    with Emitter("client", "test", sink=f"spool://{tmp_path}") as em:
        for i in range(500):
            em.emit("message", connection_id=f"c{i % 3}", method="tools/call", arguments={"i": i})
    events = spooled(tmp_path)
    assert [e["sequence"] for e in events] == list(range(500))
    prev = None
    for e in events:
        assert e.get("prev_event_sha256") == prev
        prev = event_sha256(e)
    assert len({e["emitter_instance_id"] for e in events}) == 1


def test_seeded_secrets_never_reach_the_spool(tmp_path: Path) -> None:
    with Emitter("server", "test", sink=f"spool://{tmp_path}") as em:
        em.emit("message", connection_id="c", method="tools/call", arguments={"cfg": SECRETS, "note": SECRETS["url"]},
                result={"content": [{"type": "text", "text": json.dumps(SECRETS)}]},
                error_message=f"auth failed with {SECRETS['bearer']}")
    data = spool_bytes(tmp_path)
    for secret in LEAKY:
        assert secret.encode() not in data, secret
    (event,) = spooled(tmp_path)
    assert event["redacted"] is True
    assert event["arguments_sha256"] and event["result_sha256"]  # hashed before redaction
    assert any(p.startswith("aws_access_key@") for p in event["redacted_paths"])


def test_bad_fields_never_raise_and_are_noted(tmp_path: Path) -> None:
    with Emitter("client", "test", sink=f"spool://{tmp_path}") as em:
        em.emit("message", connection_id="c", status="not-a-status", duration_ms=-5)
        em.emit("message", connection_id="c", method="ping")
    events = spooled(tmp_path)
    assert len(events) == 2
    assert "emitter_field_error" in events[0]["risk_flags"]
    assert set(json.loads(events[0]["attributes_json"])["invalid_fields"]) == {"status", "duration_ms"}


class _GatedSpool(SpoolSink):
    """A real spool sink that waits at a gate before writing (a slow disk)."""

    def __init__(self, root: Path, writer_id: str, gate: threading.Event) -> None:
        super().__init__(root, writer_id)
        self.gate = gate

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        self.gate.wait(30)
        super().send_many(records)


def test_queue_overflow_is_counted_and_emitted(tmp_path: Path) -> None:
    gate = threading.Event()
    config = load_config(sink=f"spool://{tmp_path}", env={})
    config = type(config)(**{**config.__dict__, "queue_size": 50})
    em = Emitter("client", "test", sink=_GatedSpool(tmp_path, "w1", gate), config=config)
    for i in range(500):
        em.emit("message", connection_id="c", method="ping", jsonrpc_id=str(i))
    assert em.stats.dropped_queue_full >= 400
    gate.set()
    em.close(10)
    events = spooled(tmp_path)
    loss = [e for e in events if e.get("event_subtype") == "emitter_loss"]
    assert loss, "queue overflow must produce an emitter_loss event"
    assert json.loads(loss[0]["attributes_json"])["lost_total"] == em.stats.dropped
    assert len(events) == em.stats.sent + em.stats.loss_events
    assert em.stats.sent + em.stats.dropped == 500  # every event is either stored or counted as lost


class _FullDisk(SpoolSink):
    """ENOSPC after `budget` records, like a filling disk; space comes back when `budget` is raised."""

    def __init__(self, root: Path, writer_id: str, budget: int) -> None:
        super().__init__(root, writer_id)
        self.budget = budget

    def send_many(self, records: list[tuple[str, bytes]]) -> None:
        if self.budget < len(records):
            raise SinkError("disk full", len(records)) from OSError(errno.ENOSPC, "No space left on device")
        self.budget -= len(records)
        super().send_many(records)


def test_disk_full_produces_a_loss_event_and_a_sequence_gap(tmp_path: Path) -> None:
    sink = _FullDisk(tmp_path, "w1", budget=10)
    em = Emitter("client", "test", sink=sink, config=load_config(sink=f"spool://{tmp_path}", env={}))
    for i in range(10):
        em.emit("message", connection_id="c", method="ping", jsonrpc_id=str(i))
    em.flush(5)
    for i in range(5):
        em.emit("message", connection_id="c", method="ping", jsonrpc_id=f"lost-{i}")
    em.flush(5)
    sink.budget = 1000  # space freed
    em.emit("message", connection_id="c", method="ping", jsonrpc_id="after")
    em.close(5)
    events = spooled(tmp_path)
    assert em.stats.lost_sink >= 5
    loss = [e for e in events if e.get("event_subtype") == "emitter_loss"]
    assert loss and json.loads(loss[0]["attributes_json"])["reason"] == "disk full"
    sequences = [e["sequence"] for e in events]
    assert sequences != list(range(len(sequences))), "lost events must leave a visible sequence gap"


def test_real_full_filesystem_is_reported(tmp_path: Path) -> None:
    """A real tmpfs of 64 KiB fills up: the emitter counts and logs the loss, the host never sees an error."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                                           capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (the injected ENOSPC test above covers the logic)")
    try:
        with Emitter("client", "test", sink=f"spool://{mount}") as em:
            for i in range(2000):
                em.emit("message", connection_id="c", method="tools/call", arguments={"pad": "x" * 200, "i": i})
        assert em.stats.lost_sink > 0
        assert em.stats.sent + em.stats.lost_sink >= 2000
    finally:
        subprocess.run(["umount", str(mount)], check=False)


_CHILD = """
import os, signal, sys, time
from mcp_blackbox.collector.emit.emitter import Emitter
em = Emitter("server", "test", sink=sys.argv[1])
for i in range(200):
    em.emit("message", connection_id="c", method="ping", jsonrpc_id=str(i))
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
"""


def test_sigterm_flushes_within_bounds_and_nothing_goes_to_stdout(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _CHILD, f"spool://{tmp_path}"], capture_output=True, timeout=60,
                          check=False)
    assert proc.returncode == -signal.SIGTERM
    assert proc.stdout == b""
    assert len(spooled(tmp_path)) == 200
