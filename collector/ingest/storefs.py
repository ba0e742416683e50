"""Store layout and durable file operations (temp file → fsync → rename → fsync directory).

```
STORE/events/date=YYYY-MM-DD/<source>-<partition>-<first>-<last>.parquet      valid events
STORE/quarantine/date=YYYY-MM-DD/<source>-<partition>-<first>-<last>.parquet  rejected records
STORE/integrity/runs/date=YYYY-MM-DD/<same name>.parquet                       per-file emitter runs
STORE/integrity/completeness.parquet                                           gaps and chain breaks
STORE/manifests/<seq:012d>.json                                                signed, hash-chained
STORE/keys/<fingerprint>.pub                                                   manifest public keys
STORE/ingest/                                                                  collector-private state
```
Temp files start with `.tmp-` so no reader globbing `*.parquet` sees them.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Final

from mcp_blackbox.schema import storelayout

EVENTS: Final = storelayout.EVENTS_DIR
QUARANTINE: Final = "quarantine"
RUNS: Final = "integrity/runs"
MANIFESTS: Final = "manifests"
KEYS: Final = "keys"
TMP_PREFIX: Final = storelayout.TMP_PREFIX
_SAFE = re.compile(r"[^A-Za-z0-9_.]")


def safe_part(text: str) -> str:
    """A topic or writer id made safe for file names (dashes separate name fields)."""
    return _SAFE.sub("_", text)[:100] or "_"


def fsync_dir(path: Path) -> None:
    """Make a directory entry (a rename or a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(final: Path) -> Path:
    """A temp name next to `final` (same filesystem, so the rename is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{final.name}")


def fsync_file(path: Path) -> None:
    """fsync one file's data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path) -> None:
    """fsync `tmp`, rename it over `final`, fsync the directory."""
    fsync_file(tmp)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def write_atomic(final: Path, data: bytes) -> None:
    """Write bytes durably under `final` (replacing it atomically)."""
    tmp = temp_path(final)
    with open(tmp, "wb") as fh:
        fh.write(data)
    publish(tmp, final)


def create_exclusive(final: Path, data: bytes) -> bool:
    """Durably create `final` with `data` only if it does not exist yet (hard link, atomic).

    The put-if-absent that serialises manifest commits between several collectors and compaction.
    """
    for attempt in range(3):
        tmp = temp_path(final)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        except FileNotFoundError:
            # A starting collector removed our temp file as a crash leftover: write it again.
            if attempt == 2:
                raise
            continue
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(final.parent)
        return True
    return False  # unreachable: the last attempt returns or raises


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def data_files(root: Path) -> list[str]:
    """Store-relative paths of every Parquet file under events/, quarantine/ and integrity/runs/."""
    out: list[str] = []
    for top in (EVENTS, QUARANTINE, RUNS):
        base = root / top
        if base.is_dir():
            out.extend(p.relative_to(root).as_posix() for p in base.rglob("*.parquet")
                       if not p.name.startswith(TMP_PREFIX))
    return sorted(out)


def temp_files(root: Path) -> list[Path]:
    """Leftover temp files from interrupted writes."""
    out: list[Path] = []
    for top in (EVENTS, QUARANTINE, RUNS, MANIFESTS, "integrity"):
        base = root / top
        if base.is_dir():
            out.extend(p for p in base.rglob(f"{TMP_PREFIX}*"))
    return out


#: Store files by partition prefix: {prefix: (store-relative data files, temp files of that partition)}.
StoreFiles = dict[str, tuple[list[str], list[Path]]]


def name_prefix(name: str) -> str:
    """The `<source>-<partition>-` prefix of a data file name (`Position.prefix`; both fields dash-free)."""
    head, sep, rest = name.partition("-")
    part, sep2, _ = rest.partition("-")
    return f"{head}-{part}-" if sep and sep2 else ""


def files_by_prefix(root: Path) -> StoreFiles:
    """One scan of events/, quarantine/ and integrity/runs/: data and temp files grouped by partition prefix.

    Linear in the store; the collector uses it once per assignment instead of rescanning the store for
    every partition. A temp file `.tmp-<12 hex>-<final name>` belongs to its final name's partition.
    """
    out: StoreFiles = {}
    tmp_skip = len(TMP_PREFIX) + 13
    for top in (EVENTS, QUARANTINE, RUNS):
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, _dirs, names in os.walk(base):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            for name in names:
                if name.startswith(TMP_PREFIX):
                    out.setdefault(name_prefix(name[tmp_skip:]), ([], []))[1].append(Path(dirpath) / name)
                elif name.endswith(".parquet"):
                    out.setdefault(name_prefix(name), ([], []))[0].append(f"{rel_dir}/{name}")
    return out


def remove_manifest_temps(root: Path) -> None:
    """Delete temp manifests left by a writer killed between writing and linking one.

    Safe while other writers run: `create_exclusive` rewrites a temp file that vanished under it.
    """
    base = root / MANIFESTS
    if base.is_dir():
        for tmp in base.glob(f"{TMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
