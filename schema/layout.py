"""The store layout (DESIGN §4): every directory and file name a store is made of, in one place.

```
STORE/events/date=YYYY-MM-DD/<source>-<partition>-<first>-<last>.parquet      valid events
STORE/quarantine/date=YYYY-MM-DD/<source>-<partition>-<first>-<last>.parquet  rejected records
STORE/integrity/runs/date=YYYY-MM-DD/<same name>.parquet                       per-file emitter runs
STORE/integrity/completeness.parquet                                           gaps and chain breaks
STORE/manifests/<seq:012d>.json                                                signed, hash-chained
STORE/keys/<fingerprint>.pub                                                   manifest public keys
STORE/ingest/                                                                  collector-private state
STORE/cases/<name>.json, STORE/cases/exports/                                  the investigator's work
```
Temp files start with `.tmp-` so no reader globbing `*.parquet` sees them. The collector writes this
layout (`collector/ingest/storefs.py`), forensics and the TUI read it; both take the names from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

EVENTS: Final = "events"
QUARANTINE: Final = "quarantine"
INTEGRITY: Final = "integrity"
RUNS: Final = "integrity/runs"
COMPLETENESS: Final = "integrity/completeness.parquet"
MANIFESTS: Final = "manifests"
KEYS: Final = "keys"
INGEST: Final = "ingest"
CASES: Final = "cases"
EXPORTS: Final = "cases/exports"
TMP_PREFIX: Final = ".tmp-"
#: every event file under a store root (recursive glob, relative to the root)
EVENT_FILES_GLOB: Final = "events/**/*.parquet"


def events_dir(root: Path) -> Path:
    """STORE/events."""
    return root / EVENTS


def is_store(root: Path) -> bool:
    """Whether `root` looks like a store: it has `events/`, or `manifests/` (a store `collect` made from an
    empty source has manifests and keys but no event file yet: still a store, with no events)."""
    return (root / EVENTS).is_dir() or (root / MANIFESTS).is_dir()


def event_files(root: Path) -> list[Path]:
    """Every published event Parquet file under `root` (temp files excluded), sorted."""
    return sorted(p for p in (root / EVENTS).glob("**/*.parquet") if not p.name.startswith(TMP_PREFIX))


def cases_dir(root: Path) -> Path:
    """STORE/cases: case files, never evidence."""
    return root / CASES


def exports_dir(root: Path) -> Path:
    """STORE/cases/exports: query results the investigator exported."""
    return root / EXPORTS

