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


def is_temp_name(name: str) -> bool:
    """Whether a file name is a temp name (a write in progress or a crash leftover), never evidence."""
    return name.startswith(TMP_PREFIX)


# Which store files forensics reads — the one definition, shared by forensics (`forensics.store`, the SQL
# sandbox, the TUI) and `verify`, whose coverage rule is "every file forensics reads is listed by a validly
# signed manifest": the published event files and the completeness report, never `.tmp-*` files (writes in
# progress or crash leftovers; `verify` only notes them).


def forensics_event_files(root: Path) -> list[Path]:
    """Every published event Parquet file of the store at `root`, sorted; temp files left out."""
    base = root / EVENTS
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*.parquet") if not is_temp_name(p.name))


#: the same list under its short name
event_files = forensics_event_files


def forensics_inputs(root: Path) -> list[str]:
    """Store-relative paths of everything forensics reads: published event files and the completeness report."""
    out = [p.relative_to(root).as_posix() for p in forensics_event_files(root)]
    if (root / COMPLETENESS).is_file():
        out.append(COMPLETENESS)
    return out


def stray_temp_files(root: Path) -> list[str]:
    """Store-relative paths of temp-named Parquet files under events/ (not read by forensics; `verify` notes them)."""
    base = root / EVENTS
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.parquet") if is_temp_name(p.name))


def cases_dir(root: Path) -> Path:
    """STORE/cases: case files, never evidence."""
    return root / CASES


def exports_dir(root: Path) -> Path:
    """STORE/cases/exports: query results the investigator exported."""
    return root / EXPORTS

