"""Case work: stars and notes on events and findings, kept under STORE/cases/ — never in the evidence.

A case is one JSON file (`STORE/cases/<name>.json`), rewritten atomically.

Case files are written inside the store only: `STORE/cases` (or `cases/exports`, or a case file) being a
symbolic link is refused with a clear message rather than followed, and a case file that is not valid
case JSON stops the bench with a message naming it (it is the investigator's work: never overwritten).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.layout import cases_dir
from mcp_blackbox.schema.textsafe import inert


def case_dir(store: Path, *parts: str) -> Path:
    """`STORE/cases[/parts…]`, refusing any symbolic link on the way (writes must stay inside the store)."""
    path = cases_dir(store)
    for part in ("", *parts):
        path = path / part if part else path
        if path.is_symlink():
            msg = (f"{inert(str(path))} is a symbolic link (to {inert(os.readlink(path))}); case files are "
                   "written only inside the store: replace the link with a directory")
            raise StoreError(msg)
    return path


def _load(path: Path) -> dict[str, Any]:
    """The JSON of a case file, its shape checked; a clear StoreError otherwise."""
    if path.is_symlink():
        msg = f"{inert(str(path))} is a symbolic link; a case file must be a regular file inside the store"
        raise StoreError(msg)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        msg = f"cannot read the case file {inert(str(path))}: {inert(str(exc))}; fix it or move it away"
        raise StoreError(msg) from exc
    stars, notes, queries = (data.get(k, d) if isinstance(data, dict) else None
                             for k, d in (("stars", {}), ("notes", {}), ("queries", [])))
    valid = (isinstance(stars, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in stars.items())
             and isinstance(notes, dict)
             and all(isinstance(k, str) and isinstance(v, list)
                     and all(isinstance(n, dict) and all(isinstance(x, str) for x in n.values()) for n in v)
                     for k, v in notes.items())
             and isinstance(queries, list) and all(isinstance(q, str) for q in queries))
    if not valid:
        msg = (f"the case file {inert(str(path))} is not a case (expected an object with stars: {{id: kind}}, "
               "notes: {id: [{time, text}]}, queries: [sql]); fix it or move it away")
        raise StoreError(msg)
    return {"stars": stars, "notes": notes, "queries": queries}


@dataclass
class Case:
    """Stars and notes of one investigation."""

    path: Path
    stars: dict[str, str] = field(default_factory=dict)  # id → kind (event | finding)
    notes: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # id → [{time, text}]
    queries: list[str] = field(default_factory=list)  # saved SQL

    @classmethod
    def open(cls, store: Path, name: str = "default") -> Case:
        """Load (or start) a case of a store."""
        path = case_dir(store) / f"{name}.json"
        if path.exists() or path.is_symlink():
            data = _load(path)
            return cls(path, data["stars"], data["notes"], data["queries"])
        return cls(path)

    def save(self) -> None:
        """Write atomically (temp file, fsync, rename), never through a symbolic link."""
        case_dir(self.path.parent.parent)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"stars": self.stars, "notes": self.notes, "queries": self.queries,
                "saved_at": datetime.now(UTC).isoformat()}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".case-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def toggle_star(self, ident: str, kind: str) -> bool:
        """Star or unstar; returns whether it is starred now."""
        if ident in self.stars:
            del self.stars[ident]
            self.save()
            return False
        self.stars[ident] = kind
        self.save()
        return True

    def add_note(self, ident: str, text: str) -> None:
        """Attach a note to an event or finding."""
        self.notes.setdefault(ident, []).append({"time": datetime.now(UTC).isoformat(), "text": text})
        self.save()

    def save_query(self, sql: str) -> None:
        """Remember a query."""
        if sql not in self.queries:
            self.queries.append(sql)
            self.save()

