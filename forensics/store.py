"""Read-only access to a store (DESIGN §4) through DuckDB.

`open_store(path)` returns a `Store` whose DuckDB connection has the contract's views registered.
The evidence is only ever read: DuckDB runs in memory over `read_parquet` of the store's files, and
the connection refuses writes to anything but its own scratch memory. Views are defined in
`views.py`; this module only finds the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mcp_blackbox.schema.errors import MissingExtraError, StoreError
from mcp_blackbox.schema.layout import CASES, EVENTS, MANIFESTS, QUARANTINE, forensics_event_files, is_store

try:
    import duckdb
except ModuleNotFoundError as _exc:  # pragma: no cover - depends on the install
    raise MissingExtraError.for_module("duckdb") from _exc  # noqa: EM101

# the store layout (`schema/layout.py`), under the names forensics has always used
EVENTS_DIR: Final = EVENTS
QUARANTINE_DIR: Final = QUARANTINE
MANIFESTS_DIR: Final = MANIFESTS
CASES_DIR: Final = CASES


@dataclass
class Store:
    """An opened store: its root and a DuckDB connection with the views."""

    root: Path
    con: Any  # duckdb.DuckDBPyConnection
    #: the event files `events` was prepared for (`views.prepare_events`); None = not prepared (still correct)
    prepared_files: frozenset[str] | None = None

    @property
    def events_glob(self) -> str:
        """Glob of the event directory — it also matches `.tmp-*` files, so never read with it: `event_files()`."""
        return str(self.root / EVENTS_DIR / "**" / "*.parquet")

    def event_files(self) -> frozenset[str]:
        """Every published event Parquet file now in the store (`schema.layout`: temp files left out)."""
        return frozenset(str(p) for p in forensics_event_files(self.root))

    def prepare(self) -> float:
        """Prepare `events` for fast queries (see `views.prepare_events`); returns seconds spent."""
        from mcp_blackbox.forensics.views import prepare_events  # local: views import this module

        return prepare_events(self)

    def refresh(self) -> float:
        """Re-prepare `events` if files were added or replaced since it was prepared; returns seconds spent."""
        if self.prepared_files is not None and self.prepared_files == self.event_files():
            return 0.0
        from mcp_blackbox.forensics.views import register_views  # local: views import this module

        register_views(self)  # a store that had no files yet has placeholder views
        return self.prepare()

    def has_events(self) -> bool:
        """Whether any event file exists."""
        return bool(forensics_event_files(self.root))

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()


def open_store(path: str | Path, *, threads: int | None = None, prepare: bool = True) -> Store:
    """Open `path` read-only; raises StoreError when it is not a store.

    `prepare` (default) makes `events` and the views on it fast (one scan of the event ids, about 1 s per
    10M events); pass False when only `raw_events` or chains are needed soon (the TUI's first screen) and
    call `Store.prepare()` later — the views are correct either way, only slower until then.
    """
    root = Path(path)
    if not root.is_dir():
        msg = f"store {root} does not exist or is not a directory"
        raise StoreError(msg)
    if not is_store(root):
        msg = f"{root} is not an mcp-blackbox store (no {EVENTS_DIR}/ or manifests/ directory)"
        raise StoreError(msg)
    config: dict[str, Any] = {"enable_external_access": True}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")  # evidence times are UTC whatever the analyst's machine says
    # Parquet footers are parsed once per file, not once per query: a chain lookup on a 10M-event store is a
    # handful of scans, and re-reading every footer was half of each one. The cache checks each file's
    # modification time, and the collector never rewrites a published file (compaction writes new names).
    con.execute("SET parquet_metadata_cache = true")
    store = Store(root, con)
    from mcp_blackbox.forensics.views import register_views  # local: views import store constants

    register_views(store)
    if prepare:
        store.prepare()
    return store
