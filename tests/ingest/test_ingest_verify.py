"""`verify` finds every edited, deleted, inserted or reordered file and manifest, and nothing in an intact store."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ingest_eventgen import EventFactory
from ingest_helpers import cli_command
from ingest_store import collect_spool, spool_values

from mcp_blackbox.collector.ingest.verify import verify_store


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("verify")
    values = [v for _, v in EventFactory(seed=21).wire(6000)]
    spool = spool_values(base / "spool", {"w1": values[:3000], "w2": values[3000:]})
    key = base / "key.pem"
    collect_spool(spool, base / "store", key, max_poll=1000)
    return base / "store", key


@pytest.fixture
def store(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(pristine[0], copy)
    return copy


def events_files(store: Path) -> list[Path]:
    return sorted((store / "events").rglob("*.parquet"))


def problems(store: Path, **kw: Any) -> list[str]:
    return list(verify_store(store, **kw).problems)


def test_intact_store_verifies_and_cli_prints_head(store: Path) -> None:
    assert len(events_files(store)) >= 6
    assert problems(store) == []
    proc = subprocess.run([*cli_command(), "verify", "--store", str(store)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = verify_store(store).head_sha256
    assert head and head in proc.stdout
    helptext = subprocess.run([*cli_command(), "verify", "--help"], capture_output=True, text=True, check=False)
    assert "cannot prove" in helptext.stdout and "truncation" in helptext.stdout


def test_flipped_byte(store: Path) -> None:
    target = events_files(store)[1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    found = problems(store)
    assert any(target.name in p and "edited" in p for p in found), found
    proc = subprocess.run([*cli_command(), "verify", "--store", str(store)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and target.name in proc.stdout


def test_deleted_file(store: Path) -> None:
    target = events_files(store)[0]
    target.unlink()
    assert any(target.name in p and "deleted" in p for p in problems(store))


def test_inserted_file(store: Path) -> None:
    source = events_files(store)[0]
    extra = source.with_name("intruder-0-0-99.parquet")
    shutil.copy(source, extra)
    found = problems(store)
    assert any("intruder-0-0-99.parquet" in p and "inserted" in p for p in found), found
    assert len(found) == 1


def test_swapped_files(store: Path) -> None:
    a, b = events_files(store)[0], events_files(store)[2]
    tmp = a.with_name("swap.tmp")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    found = problems(store)
    # exactly the two swapped files, each reported as changed (not merely any message naming them)
    assert {p.split(":")[0] for p in found} == {p.relative_to(store).as_posix() for p in (a, b)}, found
    assert all("edited or replaced" in p for p in found), found


def test_edited_manifest(store: Path) -> None:
    target = store / "manifests" / "000000000002.json"
    doc = json.loads(target.read_bytes())
    doc["add"][0]["rows"] += 1
    target.write_text(json.dumps(doc))
    found = problems(store)
    assert any("000000000002.json" in p and "edited" in p for p in found), found
    assert any("000000000003.json" in p and "chain" in p for p in found), found


def test_removed_manifest(store: Path) -> None:
    (store / "manifests" / "000000000002.json").unlink()
    found = problems(store)
    assert any("000000000002.json" in p and "missing" in p for p in found), found


def test_reordered_manifests(store: Path) -> None:
    a, b = store / "manifests" / "000000000002.json", store / "manifests" / "000000000003.json"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    found = problems(store)
    assert any("000000000002.json" in p and "seq" in p for p in found), found


def test_truncation_needs_the_kept_head(store: Path) -> None:
    head = verify_store(store).head_sha256
    manifests = sorted((store / "manifests").glob("*.json"))
    last = json.loads(manifests[-1].read_bytes())
    manifests[-1].unlink()
    for entry in last["add"]:
        (store / entry["path"]).unlink()
    assert problems(store) == []  # what verify cannot prove on its own
    found = problems(store, expect_head=head)
    assert any("truncated" in p for p in found), found


def test_replaced_public_key_is_caught_with_a_trusted_copy(store: Path, pristine: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mcp_blackbox.collector.ingest.manifest import public_pem

    trusted = tmp_path / "trusted.pub"
    exported = subprocess.run([*cli_command(), "collect", "--export-public-key", "--key", str(pristine[1])],
                              capture_output=True, check=True).stdout
    assert exported == next((store / "keys").glob("*.pub")).read_bytes()
    trusted.write_bytes(exported)
    other = tmp_path / "other.pub"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    assert problems(store, public_keys=[trusted]) == []
    assert any("unknown key" in p for p in problems(store, public_keys=[other]))
