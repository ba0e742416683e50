"""Case work: stars and notes on events and findings, kept under STORE/cases/ — never in the evidence.

A case is one JSON file (`STORE/cases/<name>.json`), rewritten atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mcp_blackbox.schema.layout import cases_dir


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
        path = cases_dir(store) / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, data.get("stars", {}), data.get("notes", {}), data.get("queries", []))
        return cls(path)

    def save(self) -> None:
        """Write atomically (temp file, fsync, rename)."""
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

