"""Signed coverage and key trust: what forensics reads is signed, store keys are pinned outside the store.

Each attack runs against a store a real collector wrote, and is judged by `mcp-blackbox verify` run as
a command, as an investigator would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ingest_eventgen import EventFactory
from ingest_helpers import cli_command
from ingest_store import collect_spool, spool_values

from mcp_blackbox.collector.ingest import gaps
from mcp_blackbox.collector.ingest.gaps import COMPLETENESS, completeness_schema
from mcp_blackbox.collector.ingest.manifest import ManifestWriter, StoreState, fingerprint, load_or_create_key
from mcp_blackbox.collector.ingest.verify import verify_store


def verify_cli(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), "verify", "--store", str(store), *args], capture_output=True,
                          text=True, check=False)


def gap_findings(store: Path) -> list[dict[str, object]]:
    proc = subprocess.run([*cli_command(), "detect", "--store", str(store), "--rule", "capture_gap",
                           "--format", "json"], capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    findings = doc["findings"] if isinstance(doc, dict) else doc
    return [f for f in findings if "sequence_gap" in json.dumps(f)]


@pytest.fixture(scope="module")
def pristine_gap_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a real capture gap: two events of one emitter never reached the collector."""
    base = tmp_path_factory.mktemp("trust")
    events = [json.loads(v) for _, v in EventFactory(seed=77, emitters=2).wire(1200)]
    em = events[0]["emitter_instance_id"]
    mine = [e for e in events if e["emitter_instance_id"] == em]
    dropped = {mine[20]["event_id"], mine[21]["event_id"]}
    kept = [json.dumps(e).encode() for e in events if e["event_id"] not in dropped]
    spool = spool_values(base / "spool", {"w1": kept[:600], "w2": kept[600:]})
    collect_spool(spool, base / "store", base / "key.pem", max_poll=300)
    return base / "store"


@pytest.fixture
def store(pristine_gap_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(pristine_gap_store, copy)
    return copy


def test_completeness_report_is_listed_in_a_signed_manifest(store: Path) -> None:
    state = StoreState(store)
    state.refresh()
    entry = state.active[COMPLETENESS]
    assert entry["kind"] == "completeness" and entry["rows"] == pq.read_metadata(store / COMPLETENESS).num_rows
    proc = verify_cli(store)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("attack", ["emptied", "removed"])
def test_hidden_capture_gap_is_tampering(store: Path, attack: str) -> None:
    assert gap_findings(store), "the store should show the capture gap before the attack"
    assert verify_cli(store).returncode == 0
    target = store / COMPLETENESS
    if attack == "emptied":
        pq.write_table(completeness_schema().empty_table(), target)
    else:
        target.unlink()
    assert gap_findings(store) == []  # the attack works on forensics...
    proc = verify_cli(store)  # ...and verify says so
    assert proc.returncode == 1, proc.stdout
    expected = "edited or replaced" if attack == "emptied" else "deleted"
    assert any(line.startswith(f"TAMPERED {COMPLETENESS}: {expected}") for line in proc.stdout.splitlines()), \
        proc.stdout


def test_temp_named_events_file_is_not_read_by_forensics_and_only_noted_by_verify(store: Path) -> None:
    """A `.tmp-*` file (a collector's write in progress) is not evidence: forensics, the SQL sandbox and the
    TUI's file count leave it out, and `verify` — judging the same set (`schema.layout`) — notes it."""
    from mcp_blackbox.forensics.sqlguard import SafeSQL
    from mcp_blackbox.forensics.store import open_store
    from mcp_blackbox.schema.layout import forensics_inputs

    def raw_rows() -> int:
        opened = open_store(store, prepare=True)
        try:
            return int(opened.con.execute("SELECT count(*) FROM raw_events").fetchall()[0][0])
        finally:
            opened.close()

    def sandbox_rows() -> int:
        safe = SafeSQL(store)
        try:
            return int(safe.run("SELECT count(*) FROM raw_events")[1][0][0])
        finally:
            safe.close()

    real = sorted((store / "events").rglob("*.parquet"))[0]
    before, before_sandbox, inputs = raw_rows(), sandbox_rows(), forensics_inputs(store)
    planted = real.with_name(".tmp-000000000000-forged.parquet")
    shutil.copy(real, planted)
    assert raw_rows() == before  # forensics does not read it...
    assert sandbox_rows() == before_sandbox  # ...nor does the SQL console
    assert forensics_inputs(store) == inputs
    proc = verify_cli(store)  # ...so it is not evidence that escapes the manifests: a notice, not tampering
    assert proc.returncode == 0, proc.stdout
    rel = planted.relative_to(store).as_posix()
    assert f"TAMPERED {rel}" not in proc.stdout
    assert any(rel in line and "temp-named" in line for line in proc.stdout.splitlines()), proc.stdout


def _attacker_hides(store: Path) -> tuple[str, str]:
    """Append a manifest signed with the attacker's own key (copied into STORE/keys/) that retires a genuine
    events file and its runs file, then delete them. Returns (attacker fingerprint, hidden path)."""
    key = Ed25519PrivateKey.generate()
    writer = ManifestWriter(store, key, {"kind": "collect", "group": "mallory"})
    victim = next(e for e in sorted(writer.state.active.values(), key=lambda e: e["path"]) if e["kind"] == "events")
    runs = next(e for e in writer.state.active.values() if e.get("events_path") == victim["path"])
    writer.commit(batches=[], add=[], remove=[{"path": e["path"], "sha256": e["sha256"]} for e in (victim, runs)])
    (store / victim["path"]).unlink()
    (store / runs["path"]).unlink()
    assert (store / "keys" / f"{fingerprint(key.public_key())[:16]}.pub").exists()
    return fingerprint(key.public_key()), victim["path"]


def test_first_use_reports_the_store_key_and_pins_it_outside_the_store(store: Path) -> None:
    first = verify_cli(store)
    assert first.returncode == 0, first.stdout
    assert "NOTE untrusted key" in first.stdout and "first use — pinned" in first.stdout
    known = Path(os.environ["MCP_BLACKBOX_KNOWN_STORES"])
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    pins = known.read_text().splitlines()
    assert {p.split()[0].split(":")[0] for p in pins} == {"path", "genesis"}
    again = verify_cli(store)
    assert again.returncode == 0 and "NOTE" not in again.stdout, again.stdout
    assert "first use" in subprocess.run([*cli_command(), "verify", "--help"], capture_output=True, text=True,
                                         check=True).stdout


def test_manifest_signed_by_a_key_found_only_in_the_store_is_untrusted(store: Path, tmp_path: Path) -> None:
    first = verify_cli(store)  # the investigator verified the store once (first use: its key is pinned)
    assert first.returncode == 0, first.stdout
    rogue, hidden = _attacker_hides(store)
    proc = verify_cli(store)
    assert proc.returncode == 1, proc.stdout
    assert f"unknown key {rogue[:16]} (untrusted: found only in keys/{rogue[:16]}.pub" in proc.stdout, proc.stdout
    assert f"TAMPERED {hidden}: deleted" in proc.stdout  # the attacker's manifest retires nothing
    # A copy of the store somewhere else is still held to the pinned key (pinned by its first manifest too).
    moved = tmp_path / "elsewhere"
    shutil.copytree(store, moved)
    proc = verify_cli(moved)
    assert proc.returncode == 1 and f"unknown key {rogue[:16]}" in proc.stdout, proc.stdout


def test_first_use_of_a_tampered_store_pins_nothing(store: Path) -> None:
    target = sorted((store / "events").rglob("*.parquet"))[0]
    target.write_bytes(target.read_bytes()[:-10] + b"\0" * 10)
    proc = verify_cli(store)
    assert proc.returncode == 1
    assert "first use — not pinned: the store is not intact" in proc.stdout, proc.stdout
    assert not Path(os.environ["MCP_BLACKBOX_KNOWN_STORES"]).exists()


def test_given_keys_can_be_pinned_and_no_pin_pins_nothing(store: Path, pristine_gap_store: Path,
                                                          tmp_path: Path) -> None:
    known = tmp_path / "known"
    proc = verify_cli(store, "--known-stores", str(known), "--no-pin")
    assert proc.returncode == 0 and "not pinned (--no-pin)" in proc.stdout and not known.exists()
    assert verify_cli(store, "--pin").returncode == 2  # nothing to pin without --public-key
    pub = tmp_path / "collector.pub"
    pub.write_bytes(subprocess.run([*cli_command(), "collect", "--export-public-key", "--key",
                                    str(pristine_gap_store.parent / "key.pem")], capture_output=True,
                                   check=True).stdout)
    proc = verify_cli(store, "--known-stores", str(known), "--public-key", str(pub), "--pin")
    assert proc.returncode == 0 and "pinned for this store" in proc.stdout, proc.stdout
    report = verify_store(store, known_stores=known)
    assert report.key_trust == "pinned" and report.intact and not report.notices
    _attacker_hides(store)
    proc = verify_cli(store, "--known-stores", str(known), "--json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["key_trust"] == "pinned"
    assert any("untrusted" in p for p in doc["problems"])


def test_crash_between_report_manifest_and_rename_is_recovered(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = ManifestWriter(store, Ed25519PrivateKey.generate(), {"kind": "collect"})
    runs = [p for p, e in writer.state.active.items() if e.get("kind") == "runs"]
    half = runs[: len(runs) // 2]  # a different report than the one in place

    def killed(tmp: Path, final: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gaps, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        gaps.write_completeness(store, half, datetime.now(UTC), writer)
    monkeypatch.undo()
    problems = verify_store(store).problems
    assert any(p.startswith(f"{COMPLETENESS}: edited or replaced") for p in problems), problems
    ManifestWriter(store, writer.key, {"kind": "collect"})  # the next writer starting on the store
    assert verify_store(store).problems == []
    assert not list((store / "integrity").glob(".tmp-*"))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_signing_key_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    key = tmp_path / "cfg" / "manifest.pem"
    export = [*cli_command(), "collect", "--export-public-key", "--key", str(key)]
    subprocess.run(export, capture_output=True, check=True)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    spool = spool_values(tmp_path / "spool", {"w": [v for _, v in EventFactory(seed=5).wire(50)]})
    collect = [*cli_command(), "collect", "--source", f"spool://{spool}", "--store", str(tmp_path / "store"),
               "--key", str(key), "--until-idle", "0.3", "--flush-idle", "0.1"]
    key.chmod(mode)
    proc = subprocess.run(collect, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"chmod 600 {key}" in lines[0] and f"{mode:04o}" in lines[0], proc.stderr
    assert not list((tmp_path / "store").glob("manifests/*.json"))
    key.chmod(0o600)
    proc = subprocess.run(collect, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert verify_cli(tmp_path / "store").returncode == 0


def test_report_from_before_signing_is_flagged_then_recomputed_and_signed(store: Path,
                                                                         pristine_gap_store: Path) -> None:
    # A store from before reports were signed: the same chain without the manifest that lists the report.
    manifests = sorted((store / "manifests").glob("*.json"))
    last = json.loads(manifests[-1].read_bytes())
    assert [e["path"] for e in last["add"]] == [COMPLETENESS]
    manifests[-1].unlink()
    proc = verify_cli(store)
    assert proc.returncode == 1
    assert f"TAMPERED {COMPLETENESS}: not covered by any signed manifest" in proc.stdout, proc.stdout
    rows = pq.read_table(store / COMPLETENESS).drop_columns(["computed_at"])
    # The next collector starting on the store signs a recomputation (not the file as found).
    ManifestWriter(store, load_or_create_key(pristine_gap_store.parent / "key.pem"), {"kind": "collect"})
    report = verify_store(store)
    assert report.intact, report.problems
    assert pq.read_table(store / COMPLETENESS).drop_columns(["computed_at"]).equals(rows)
