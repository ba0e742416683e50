"""`mcp-blackbox case export|verify`: a case of the demo store bundled, checked, tampered member by member."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mcp_blackbox.forensics.casebundle import MANIFEST, export_case, verify_case
from mcp_blackbox.forensics.cases import Case

CLI = str(Path(sys.executable).parent / "mcp-blackbox")


def _run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=240, env=env, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo store (real capture → spool → collect), its key, and a case with stars, a note, a query."""
    base = tmp_path_factory.mktemp("case")
    env = {**os.environ, "MCP_BLACKBOX_SIGNING_KEY": str(base / "key.pem"),
           "MCP_BLACKBOX_KNOWN_STORES": str(base / "known_stores")}
    store = base / "store"
    _run("demo", "--no-tui", "--store", str(store), env=env)
    findings = json.loads(_run("detect", "--store", str(store), "--format", "json", env=env).stdout)
    rug = next(f for f in findings if f["rule_id"] == "rug_pull")
    case = Case.open(store, "inc-7")
    case.toggle_star(rug["finding_id"], "finding")
    case.toggle_star(rug["evidence_event_ids"][0], "event")
    case.add_note(rug["finding_id"], "weather changed its tools mid-session \x1b[31m | see diff")
    case.save_query("SELECT tool_name, count(*) FROM calls GROUP BY ALL")
    return store, env


@pytest.fixture(scope="module")
def bundle(demo: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    store, env = demo
    out = tmp_path_factory.mktemp("out") / "inc-7.case.tar.gz"
    proc = _run("case", "export", "--store", str(store), "inc-7", "--out", str(out), env=env)
    assert proc.stdout.strip() == str(out)
    return out


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {i.name: tar.extractfile(i).read() for i in tar if i.isfile()}  # type: ignore[union-attr]


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_export_holds_report_pictures_evidence_notes_queries_and_a_signed_manifest(bundle: Path) -> None:
    members = _members(bundle)
    names = set(members)
    assert {"report.md", "case.json", "queries.sql", "evidence/events.parquet", MANIFEST} <= names
    for ext in (".mmd", ".dot", ".svg"):
        assert sum(n.startswith("chains/") and n.endswith(ext) for n in names) == 2, names
    report = members["report.md"].decode()
    assert "```mermaid" in report and "flowchart TD" in report and "rug_pull" in report
    assert "catalog CHANGED weather" in report  # the rug pull's chain is drawn
    assert "\x1b" not in report and "␛[31m" in report  # the note's escape is inert
    assert "SELECT tool_name, count(*) FROM calls GROUP BY ALL" in members["queries.sql"].decode()
    case = json.loads(members["case.json"])
    assert len(case["stars"]) == 2 and case["queries"] and case["notes"]
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(members["evidence/events.parquet"]))
    assert table.num_rows > 10 and "event_id" in table.column_names
    assert set(case["stars"]) - {"rug_pull"} & set(table.column("event_id").to_pylist())
    manifest = json.loads(members[MANIFEST])
    assert {m["path"] for m in manifest["members"]} == names - {MANIFEST}
    assert manifest["signature"] and manifest["key_fingerprint"]


def test_verify_intact_exits_0(bundle: Path, demo: tuple[Path, dict[str, str]]) -> None:
    proc = _run("case", "verify", str(bundle), env=demo[1])
    assert "intact" in proc.stdout and "TAMPERED" not in proc.stdout
    store, env = demo
    pub = next((store / "keys").glob("*.pub"))
    assert _run("case", "verify", str(bundle), "--public-key", str(pub), env=env).returncode == 0


def test_every_member_tampered_is_named(bundle: Path, demo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    members = _members(bundle)
    for name in sorted(members):
        if name == MANIFEST:
            continue
        changed = dict(members)
        changed[name] = members[name][:-1] + bytes([members[name][-1] ^ 1])
        proc = _run("case", "verify", str(_write(tmp_path / "t.tar.gz", changed)), env=demo[1], check=False)
        assert proc.returncode == 1, name
        assert f"member {name}: content differs" in proc.stdout, proc.stdout
    removed = {k: v for k, v in members.items() if k != "report.md"}
    proc = _run("case", "verify", str(_write(tmp_path / "r.tar.gz", removed)), env=demo[1], check=False)
    assert proc.returncode == 1 and "member report.md: missing" in proc.stdout
    added = {**members, "chains/extra.svg": b"<svg/>"}
    proc = _run("case", "verify", str(_write(tmp_path / "a.tar.gz", added)), env=demo[1], check=False)
    assert proc.returncode == 1 and "member chains/extra.svg: not in the manifest" in proc.stdout


def test_manifest_edited_fails_its_signature(bundle: Path, demo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    from mcp_blackbox.schema.canonical import canonical_bytes

    members = _members(bundle)
    doc = json.loads(members[MANIFEST])
    doc["case"] = "someone-else"
    members[MANIFEST] = canonical_bytes(doc)
    proc = _run("case", "verify", str(_write(tmp_path / "m.tar.gz", members)), env=demo[1], check=False)
    assert proc.returncode == 1 and f"member {MANIFEST}: signature does not verify" in proc.stdout


def _other_key(tmp_path: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    priv, pub = tmp_path / "other.pem", tmp_path / "other.pub"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    priv.chmod(0o600)
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


def test_a_wrong_key_fails(bundle: Path, demo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    _, pub = _other_key(tmp_path)
    proc = _run("case", "verify", str(bundle), "--public-key", str(pub), env=demo[1], check=False)
    assert proc.returncode == 1 and "not trusted" in proc.stdout
    # on another machine (its own key, nothing pinned for this store) the bundle's key is not trusted either
    other_env = {**demo[1], "MCP_BLACKBOX_SIGNING_KEY": str(tmp_path / "other.pem"),
                 "MCP_BLACKBOX_KNOWN_STORES": str(tmp_path / "known")}
    proc = _run("case", "verify", str(bundle), env=other_env, check=False)
    assert proc.returncode == 1 and f"member {MANIFEST}: signed by key" in proc.stdout


def test_pinned_store_key_is_trusted_elsewhere(bundle: Path, demo: tuple[Path, dict[str, str]],
                                               tmp_path: Path) -> None:
    store, env = demo
    known = tmp_path / "known"
    _run("verify", "--store", str(store), "--known-stores", str(known), env=env)  # first use pins the store key
    other_env = {**env, "MCP_BLACKBOX_SIGNING_KEY": str(tmp_path / "absent.pem")}
    proc = _run("case", "verify", str(bundle), "--known-stores", str(known), env=other_env, check=False)
    assert proc.returncode == 0, proc.stdout


def test_export_refuses_a_key_that_does_not_sign_the_store(demo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    store, env = demo
    priv, _ = _other_key(tmp_path)
    proc = _run("case", "export", "--store", str(store), "inc-7", "--out", str(tmp_path / "x.tar.gz"),
                "--key", str(priv), env=env, check=False)
    assert proc.returncode != 0 and "is not a key of this store" in proc.stderr
    assert not (tmp_path / "x.tar.gz").exists()


def test_api_round_trip_and_unknown_case(demo: tuple[Path, dict[str, str]], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store, env = demo
    monkeypatch.setenv("MCP_BLACKBOX_SIGNING_KEY", env["MCP_BLACKBOX_SIGNING_KEY"])
    out = export_case(store, "inc-7", tmp_path / "api.tar.gz")
    assert verify_case(out) == []
    from mcp_blackbox.schema.errors import StoreError

    with pytest.raises(StoreError, match="no case"):
        export_case(store, "nope", tmp_path / "nope.tar.gz")
