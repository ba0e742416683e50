"""Read-only access to a store (DESIGN §4) through DuckDB.

`open_store(path)` returns a `Store` whose DuckDB connection has the contract's views registered.
The evidence is only ever read: DuckDB runs in memory over `read_parquet` of the store's files, and
the connection refuses writes to anything but its own scratch memory. Views are defined in
`views.py`; this module only finds the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_blackbox.schema.errors import MissingExtraError, StoreError

try:
    import duckdb
except ModuleNotFoundError as _exc:  # pragma: no cover - depends on the install
    raise MissingExtraError.for_module("duckdb") from _exc  # noqa: EM101

EVENTS_DIR = "events"
QUARANTINE_DIR = "quarantine"
MANIFESTS_DIR = "manifests"
CASES_DIR = "cases"


@dataclass
class Store:
    """An opened store: its root and a DuckDB connection with the views."""

    root: Path
    con: Any  # duckdb.DuckDBPyConnection

    @property
    def events_glob(self) -> str:
        """Glob of every event Parquet file."""
        return str(self.root / EVENTS_DIR / "**" / "*.parquet")

    def has_events(self) -> bool:
        """Whether any event file exists."""
        return any((self.root / EVENTS_DIR).glob("**/*.parquet"))

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()


def open_store(path: str | Path, *, threads: int | None = None) -> Store:
    """Open `path` read-only; raises StoreError when it is not a store."""
    root = Path(path)
    if not root.is_dir():
        msg = f"store {root} does not exist or is not a directory"
        raise StoreError(msg)
    if not (root / EVENTS_DIR).is_dir():
        msg = f"{root} is not an mcp-blackbox store (no {EVENTS_DIR}/ directory)"
        raise StoreError(msg)
    config: dict[str, Any] = {"enable_external_access": True}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")  # evidence times are UTC whatever the analyst's machine says
    store = Store(root, con)
    from mcp_blackbox.forensics.views import register_views  # local: views import store constants

    register_views(store)
    return store
