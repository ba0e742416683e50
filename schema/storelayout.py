"""Which store files forensics reads: the one definition, shared by forensics and `verify`.

Forensics (`forensics.store`, the SQL sandbox, the TUI) reads the published event files
`events/**/<name>.parquet` and the completeness report `integrity/completeness.parquet`. Files whose
name starts with `.tmp-` are writes in progress (temp file → fsync → rename) or crash leftovers: they
are never evidence, so forensics never reads them, and `verify` — whose coverage rule is "every file
forensics reads is listed by a validly signed manifest" — judges exactly the same set (it only notes
stray temp files). Both sides call `forensics_event_files` / `forensics_inputs`; nothing else decides.

It lives in `schema` because the collector's `verify` may import nothing of `forensics`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

EVENTS_DIR: Final = "events"
#: the prefix of every temp file the collector writes before its atomic rename
TMP_PREFIX: Final = ".tmp-"
COMPLETENESS: Final = "integrity/completeness.parquet"


def is_temp_name(name: str) -> bool:
    """Whether a file name is a temp name (a write in progress or a crash leftover), never evidence."""
    return name.startswith(TMP_PREFIX)


def forensics_event_files(root: Path) -> list[Path]:
    """Every published event Parquet file of the store at `root`, sorted; temp files left out."""
    base = root / EVENTS_DIR
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*.parquet") if not is_temp_name(p.name))


def forensics_inputs(root: Path) -> list[str]:
    """Store-relative paths of everything forensics reads: published event files and the completeness report."""
    out = [p.relative_to(root).as_posix() for p in forensics_event_files(root)]
    if (root / COMPLETENESS).is_file():
        out.append(COMPLETENESS)
    return out


def stray_temp_files(root: Path) -> list[str]:
    """Store-relative paths of temp-named Parquet files under events/ (not read by forensics; `verify` notes them)."""
    base = root / EVENTS_DIR
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.parquet") if is_temp_name(p.name))
