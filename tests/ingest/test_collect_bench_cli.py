"""Issue 18 (build 6), real subprocess runs: empty stores are stores, the default source is the default
spool, `--prune` deletes only what signed manifests cover, an unreachable broker honours --until-idle
without flooding the log, `calls` carries the actor and token columns."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_blackbox.collector.spool import SpoolWriter, list_segments

CLI = str(Path(sys.executable).parent / "mcp-blackbox")
DATA = Path(__file__).resolve().parents[1] / "data" / "incident.jsonl"


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MCP_BLACKBOX_SIGNING_KEY": str(tmp_path / "key.pem"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "MCP_BLACKBOX_COLLECT_SUMMARY": "1"}


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def _spool(root: Path, chunk: int = 20) -> int:
    """The frozen incident's wire records written to a spool by the spool writer, `chunk` per segment."""
    lines = [line.rstrip(b"\n") for line in DATA.read_bytes().splitlines()]
    writer = SpoolWriter(root, "w1", segment_bytes=1)  # every append starts a new segment
    for i in range(0, len(lines), chunk):
        writer.append(lines[i:i + chunk])
    writer.close()
    return len(lines)


def test_a_store_collected_from_an_empty_spool_is_a_store(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "spool").mkdir()
    store = str(tmp_path / "store")
    assert _run(env, "collect", "--source", f"spool://{tmp_path / 'spool'}", "--store", store,
                "--until-idle", "0.5").returncode == 0
    assert _run(env, "verify", "--store", store).returncode == 0
    sql = _run(env, "sql", "--store", store, "SELECT count(*) AS n FROM events", "--format", "csv")
    assert sql.returncode == 0, sql.stderr
    assert sql.stdout.splitlines() == ["n", "0"]
    for args in (("detect", "--store", store), ("export", "--store", store, "--format", "jsonl"),
                 ("sql", "--store", store, "SELECT * FROM calls")):
        proc = _run(env, *args)
        assert proc.returncode == 0 and "not an mcp-blackbox store" not in proc.stderr, (args, proc.stderr)


def test_collect_defaults_to_the_default_spool_and_prunes_only_what_is_signed(tmp_path: Path) -> None:
    env = _env(tmp_path)
    spool = tmp_path / "state" / "mcp-blackbox" / "spool"  # where wrap writes with no sink configured
    total = _spool(spool)
    segments = list_segments(spool / "w1")
    assert len(segments) == 6
    store = str(tmp_path / "store")
    proc = _run(env, "collect", "--store", store, "--until-idle", "1", "--prune")
    assert proc.returncode == 0, proc.stderr
    assert f"{total} events stored" in proc.stderr and "pruned 5 spool segment(s)" in proc.stderr
    left = list_segments(spool / "w1")
    assert [first for first, _ in left] == [segments[-1][0]]  # the writer's last segment is kept
    verify = _run(env, "verify", "--store", store)
    assert verify.returncode == 0 and "intact" in verify.stdout
    count = _run(env, "sql", "--store", store, "SELECT count(*) AS n FROM events", "--format", "csv")
    assert count.stdout.splitlines() == ["n", str(total)]
    # the actor and token columns are in `calls`
    calls = _run(env, "sql", "--store", store, "SELECT count(client_info_name) AS c, count(*) AS n, "
                 "count(mcp_session_id) >= 0 AND count(token_fingerprint) >= 0 AND count(oauth_subject) >= 0 "
                 "AND count(user_id) >= 0 AS cols FROM calls", "--format", "csv")
    assert calls.returncode == 0, calls.stderr
    c, n, cols = calls.stdout.splitlines()[1].split(",")
    assert int(c) == int(n) > 0 and cols == "True"


def test_prune_keeps_segments_no_verified_manifest_covers(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mcp_blackbox.collector.ingest.manifest import load_or_create_key
    from mcp_blackbox.collector.ingest.prune import prune_spool

    env = _env(tmp_path)
    spool = tmp_path / "spool"
    _spool(spool)
    store = tmp_path / "store"
    collect = _run(env, "collect", "--source", f"spool://{spool}", "--store", str(store), "--until-idle", "1")
    assert collect.returncode == 0, collect.stderr
    before = list_segments(spool / "w1")
    # the same manifests checked under another key: nothing is covered, nothing deleted
    report = prune_spool(spool, store, Ed25519PrivateKey.generate().public_key())
    assert report.deleted == [] and report.problems and list_segments(spool / "w1") == before
    # records written after the collect run: their segments are not covered and stay
    writer = SpoolWriter(spool, "w1", segment_bytes=1)
    writer.append([b'{"not": "stored yet"}'])
    writer.append([b'{"not": "stored yet either"}'])
    writer.close()
    report = prune_spool(spool, store, load_or_create_key(Path(env["MCP_BLACKBOX_SIGNING_KEY"])).public_key())
    assert not report.problems and len(report.deleted) == len(before)
    firsts = [first for first, _ in list_segments(spool / "w1")]
    assert firsts == [111, 112]  # the uncovered segment and the last one


def test_prune_refuses_kafka_sources(tmp_path: Path) -> None:
    proc = _run(_env(tmp_path), "collect", "--source", "kafka://127.0.0.1:9/t", "--store", str(tmp_path / "s"),
                "--prune")
    assert proc.returncode != 0 and "--prune applies to spool sources" in proc.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_broker_honours_until_idle_and_rate_limits_errors(tmp_path: Path) -> None:
    pytest.importorskip("confluent_kafka")
    port = _closed_port()
    # before: the first-rebalance grace kept it 60 s past --until-idle, and librdkafka printed a line every ~50 ms
    proc = _run(_env(tmp_path), "collect", "--source", f"kafka://127.0.0.1:{port}/t", "--store",
                str(tmp_path / "store"), "--until-idle", "2", "--client", "confluent", timeout=40)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) <= 8, "\n".join(lines)
    assert any("Connection refused" in line or "brokers are down" in line for line in lines)
