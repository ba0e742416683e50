"""Case bundles: one archive an investigator hands over, and its check.

`export_case(store_root, case_name, out)` writes a gzip'd tar holding

    report.md                 the case report: stars, notes, saved queries, one section per starred chain
                              (its incident report and its picture as a Mermaid block)
    case.json                 the case itself (stars, notes, saved queries), as `STORE/cases/<name>.json` holds it
    queries.sql               the saved queries, one statement each
    chains/<n>-<id>.mmd|.dot|.svg   the picture of each starred event's / finding's chain
    evidence/events.parquet   every event of those chains (and every starred event), as stored
    manifest.json             SHA-256 and size of every member above, signed (Ed25519) with the store's key

The manifest is canonical JSON (`schema/canonical.py`) signed like the store's own manifests
(`collector/ingest/manifest.py`): the signature covers every other field, and it records the store's ids
(`keytrust.store_ids`) so a receiver can look the key up among the pins of that store. The signing key is
the store's (`--key`, else `MCP_BLACKBOX_SIGNING_KEY`, else the default key path): one whose public half
is in `STORE/keys/`, i.e. that signs the store's manifests — another key is refused.

`verify_case(path)` returns the problems found (empty: intact): a member missing, added, or whose bytes
differ from the manifest (named), a manifest edited (bad signature), or a signature by a key that is not
trusted. Trusted keys: those given (`public_keys`), else the keys pinned for the bundle's store in the
known stores file (as `verify` pins them) and this machine's own signing key. The archive is read in
memory, never extracted: member names are attacker-chosen (links, absolute paths and `..` are problems).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp_blackbox.forensics.cases import Case, case_dir
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.layout import KEYS
from mcp_blackbox.schema.model import format_time, utc_now
from mcp_blackbox.schema.textsafe import inert, json_text

log = logging.getLogger(__name__)

FORMAT = "mcp-blackbox/case-bundle-v1"
MANIFEST = "manifest.json"
SUFFIX = ".case.tar.gz"
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_MEMBER = 1 << 30  # a bundle member larger than 1 GiB is not read into memory


def _safe_name(text: str, limit: int = 60) -> str:
    return _SAFE_RE.sub("_", text)[:limit] or "_"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_out(store_root: Path, case_name: str) -> Path:
    """`STORE/cases/exports/<case>-<UTC time>.case.tar.gz` (the exports folder is never a symbolic link)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return case_dir(store_root, "exports") / f"{_safe_name(case_name)}-{stamp}{SUFFIX}"


def _store_key(store_root: Path, key_path: Path | None) -> Any:
    """The store's signing key (Ed25519PrivateKey): must exist and be one of `STORE/keys/`."""
    from mcp_blackbox.schema.signing import default_key_path, fingerprint, load_or_create_key

    path = key_path or default_key_path()
    if not path.is_file():
        msg = (f"no signing key at {inert(str(path))}: a case is signed with the key that signs the store "
               "(give --key PATH or set MCP_BLACKBOX_SIGNING_KEY)")
        raise StoreError(msg)
    key = load_or_create_key(path)
    fp = fingerprint(key.public_key())
    if not (store_root / KEYS / f"{fp[:16]}.pub").is_file():
        known = sorted(p.stem for p in (store_root / KEYS).glob("*.pub"))
        msg = (f"the signing key {inert(str(path))} (fingerprint {fp[:16]}) is not a key of this store "
               f"(STORE/keys/ holds {', '.join(known) or 'none'}); give the store's key with --key")
        raise StoreError(msg)
    return key


def _chains(store: Any, case: Case) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """(id, kind, Chain) of each star, and the stars whose chain could not be rebuilt (with why)."""
    from mcp_blackbox.forensics.chain import build_chain
    from mcp_blackbox.forensics.finding_chain import chain_for_finding

    chains: list[tuple[str, str, Any]] = []
    failed: list[str] = []
    for ident, kind in sorted(case.stars.items()):
        try:
            chain = chain_for_finding(store, ident) if kind == "finding" else build_chain(store, ident)
        except StoreError as exc:
            failed.append(f"{ident} ({kind}): {exc}")
            continue
        chains.append((ident, kind, chain))
    return chains, failed


def _evidence_parquet(store: Any, event_ids: list[str]) -> tuple[bytes, int]:
    import pyarrow.parquet as pq

    if event_ids:
        marks = ", ".join("?" for _ in event_ids)
        table = store.con.sql(f"SELECT * FROM events WHERE event_id IN ({marks}) ORDER BY event_time, event_id",  # noqa: S608 - placeholders only
                              params=event_ids).to_arrow_table()
    else:
        table = store.con.sql("SELECT * FROM events LIMIT 0").to_arrow_table()
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue(), table.num_rows


def _md(text: str) -> str:
    return inert(text).replace("|", "\\|")


def _report(case_name: str, store_root: Path, case: Case, chains: list[tuple[str, str, Any]],
            failed: list[str], pictures: dict[str, str], findings: list[Any], rows: int) -> str:
    from mcp_blackbox.forensics.chain_draw import to_mermaid

    out = [f"# Case `{_md(case_name)}`", "", f"- Store: `{_md(str(store_root.resolve()))}`",
           f"- Exported: {format_time(utc_now())}", f"- Stars: {len(case.stars)}; evidence events: {rows}",
           "- Integrity: every member of this bundle is listed with its SHA-256 in `manifest.json`, signed with "
           "the store's key; check with `mcp-blackbox case verify BUNDLE`", "", "## Stars", "",
           "| kind | id | notes |", "| --- | --- | --- |"]
    out += [f"| {_md(kind)} | `{_md(ident)}` | {len(case.notes.get(ident, []))} |"
            for ident, kind in sorted(case.stars.items())]
    if not case.stars:
        out.append("| | (none) | |")
    out += ["", "## Notes", ""]
    for ident, notes in sorted(case.notes.items()):
        out.append(f"### `{_md(ident)}`")
        out += [f"- {_md(n.get('time', ''))}: {_md(n.get('text', ''))}" for n in notes]
        out.append("")
    if not case.notes:
        out += ["(none)", ""]
    out += ["## Saved queries", ""]
    for sql in case.queries:
        out += ["```sql", inert(sql, keep_newlines=True).replace("```", "ʼʼʼ"), "```", ""]
    if not case.queries:
        out += ["(none)", ""]
    if failed:
        out += ["## Stars whose chain could not be rebuilt", ""]
        out += [f"- {_md(f)}" for f in failed]
        out.append("")
    for ident, kind, chain in chains:
        body = chain.to_markdown(findings).replace("\n# ", "\n### ")
        body = body[2:] if body.startswith("# ") else body
        out += [f"## Chain of {_md(kind)} `{_md(ident)}`", "", f"Picture: `{pictures[ident]}.svg` "
                f"(also `.mmd`, `.dot`)", "", "```mermaid", to_mermaid(chain).rstrip("\n"), "```", "",
                "### " + body, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _members(store_root: Path, case_name: str) -> dict[str, bytes]:
    """Every member but the manifest, by name."""
    from mcp_blackbox.forensics.chain_draw import to_dot, to_mermaid, to_svg
    from mcp_blackbox.forensics.detections import run_detections
    from mcp_blackbox.forensics.store import open_store

    case = Case.open(store_root, case_name)
    if not case.path.is_file():
        msg = f"no case {inert(case_name)!r} in {inert(str(store_root))} (expected {inert(str(case.path))})"
        raise StoreError(msg)
    store = open_store(store_root)
    try:
        chains, failed = _chains(store, case)
        members: dict[str, bytes] = {}
        pictures: dict[str, str] = {}
        event_ids: set[str] = {i for i, k in case.stars.items() if k == "event"}
        for number, (ident, _kind, chain) in enumerate(chains, 1):
            stem = f"chains/{number:02d}-{_safe_name(ident)}"
            pictures[ident] = stem
            members[f"{stem}.mmd"] = to_mermaid(chain).encode()
            members[f"{stem}.dot"] = to_dot(chain).encode()
            members[f"{stem}.svg"] = to_svg(chain).encode()
            event_ids.update(chain.event_ids)
        findings = run_detections(store) if chains else []
        members["evidence/events.parquet"], rows = _evidence_parquet(store, sorted(event_ids))
    finally:
        store.close()
    members["case.json"] = (json_text({"case": case_name, "stars": case.stars, "notes": case.notes,
                                       "queries": case.queries}, indent=1, sort_keys=True, ensure_ascii=False)
                            + "\n").encode()
    members["queries.sql"] = "".join(q.rstrip().rstrip(";") + ";\n\n" for q in case.queries).encode()
    members["report.md"] = _report(case_name, store_root, case, chains, failed, pictures, findings, rows).encode()
    return members


def export_case(store_root: Path, case_name: str, out: Path, *, key_path: Path | None = None) -> Path:
    """Bundle case `case_name` of the store at `store_root` into the archive `out` (written atomically); returns it."""
    from mcp_blackbox.schema.signing import fingerprint, public_raw, signed_body, store_ids

    store_root = Path(store_root)
    key = _store_key(store_root, key_path)
    members = _members(store_root, case_name)
    public = key.public_key()
    doc: dict[str, Any] = {
        "format": FORMAT, "case": case_name, "created_at": format_time(utc_now()),
        "store": {"path": str(store_root.resolve()), "ids": store_ids(store_root)},
        "members": [{"path": name, "sha256": _sha256(data), "bytes": len(data)}
                    for name, data in sorted(members.items())],
        "key_fingerprint": fingerprint(public), "public_key": base64.b64encode(public_raw(public)).decode(),
    }
    doc["signature"] = base64.b64encode(key.sign(signed_body(doc))).decode()
    members[MANIFEST] = canonical_bytes(doc)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-case-")
    try:
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            now = time.time()
            for name in [MANIFEST, *sorted(n for n in members if n != MANIFEST)]:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(members[name]), int(now), 0o644
                tar.addfile(info, io.BytesIO(members[name]))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("case %s exported to %s (%d members)", inert(case_name), inert(str(out)), len(members))
    return out


def _read(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """The archive's regular members by name (in memory), and problems with its structure."""
    problems: list[str] = []
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for info in tar:
                name = info.name
                if not info.isfile():
                    problems.append(f"member {inert(name)}: not a regular file (links and devices are not allowed)")
                    continue
                if name.startswith("/") or ".." in Path(name).parts:
                    problems.append(f"member {inert(name)}: path leaves the bundle")
                    continue
                if info.size > _MAX_MEMBER:
                    problems.append(f"member {inert(name)}: {info.size} bytes, too large to check")
                    continue
                if name in files:
                    problems.append(f"member {inert(name)}: appears twice")
                    continue
                handle = tar.extractfile(info)
                files[name] = handle.read() if handle is not None else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        problems.append(f"{inert(str(path))}: not a readable case bundle ({inert(str(exc))})")
    return files, problems


def _trusted(doc: dict[str, Any], public_keys: list[Path] | None, known_stores: Path | None) -> dict[str, Any]:
    """fingerprint → trusted Ed25519 public key for this bundle."""
    from mcp_blackbox.schema.signing import (
        default_key_path,
        default_known_stores,
        fingerprint,
        load_pins,
        load_public_key,
    )

    if public_keys:
        keys = [load_public_key(p) for p in public_keys]
        return {fingerprint(k): k for k in keys}
    store = doc.get("store")
    raw_ids = store.get("ids") if isinstance(store, dict) else None
    ids = [str(i) for i in raw_ids] if isinstance(raw_ids, list) else []
    trusted = dict(load_pins(known_stores or default_known_stores(), ids)) if ids else {}
    own = default_key_path()
    if own.is_file():
        from mcp_blackbox.schema.signing import load_or_create_key

        try:
            public = load_or_create_key(own).public_key()
        except StoreError as exc:  # an unreadable or too-open key: not a trust anchor, say so
            log.warning("own signing key not used to check the case: %s", inert(str(exc)))
        else:
            trusted[fingerprint(public)] = public
    return trusted


def verify_case(path: Path, *, public_keys: list[Path] | None = None, known_stores: Path | None = None) -> list[str]:
    """Problems of the case bundle at `path` (empty list: intact), each naming what and where."""
    from mcp_blackbox.schema.signing import verify_signature

    files, problems = _read(Path(path))
    if MANIFEST not in files:
        if problems and not files:
            return problems
        return [*problems, f"member {MANIFEST}: missing (nothing vouches for the bundle)"]
    try:
        doc = json.loads(files[MANIFEST])
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("members"), list):
            raise ValueError("not a " + FORMAT + " manifest")
    except (ValueError, UnicodeDecodeError) as exc:
        return [*problems, f"member {MANIFEST}: not a case manifest ({inert(str(exc))})"]
    if canonical_bytes(doc) != files[MANIFEST]:
        problems.append(f"member {MANIFEST}: not in canonical form (edited)")
    trusted = _trusted(doc, public_keys, known_stores)
    fp = str(doc.get("key_fingerprint", ""))
    key = trusted.get(fp)
    if key is None:
        problems.append(f"member {MANIFEST}: signed by key {inert(fp[:16])}, which is not trusted (not given with "
                        "--public-key, not pinned for this store, not this machine's key)")
    elif not verify_signature(doc, key):
        problems.append(f"member {MANIFEST}: signature does not verify under key {fp[:16]} (manifest edited)")
    listed: dict[str, dict[str, Any]] = {}
    for entry in doc["members"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            problems.append(f"member {MANIFEST}: malformed member entry {inert(json_text(entry, default=str))}")
            continue
        listed[entry["path"]] = entry
    for name, entry in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            problems.append(f"member {inert(name)}: missing (listed in the manifest)")
        elif _sha256(data) != entry.get("sha256") or len(data) != entry.get("bytes"):
            problems.append(f"member {inert(name)}: content differs from the manifest (SHA-256 "
                            f"{_sha256(data)[:16]}, manifest says {inert(str(entry.get('sha256')))[:16]})")
    problems += [f"member {inert(name)}: not in the manifest (added)" for name in sorted(files)
                 if name != MANIFEST and name not in listed]
    return problems
