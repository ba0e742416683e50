"""Read-only SQL for investigators: only queries run; the evidence and the machine stay untouched.

The guarantee is structural, not a list of refused words. User SQL (`mcp-blackbox sql`, the TUI's
SQL console) never runs on the connection that reads the Parquet files; it runs on a `SafeSQL`:

- **No file system.** The sandbox database is opened with `enable_external_access = false` and no
  `allowed_directories`/`allowed_paths`, extension autoload/autoinstall off, no temp directory (no
  spill files), and `lock_configuration = true`, all at connect time. DuckDB itself can then open no
  file for reading or writing: `COPY … TO`, `EXPORT DATABASE`, `ATTACH`, `INSTALL`, `read_text`,
  `read_parquet`, `glob`, `log_query_path`… fail with DuckDB's own permission error, whether they come
  as a statement, inside `EXPLAIN ANALYZE`, or through `query()`.
- **The evidence comes in through Arrow.** The event files are read by a `pyarrow.dataset` that the
  Python side registers on each query's cursor; projections and filters still push down into it.
  A registered Arrow dataset has no write path.
- **A catalog nobody can change.** The views (`events`, `calls`, … and the prepared duplicate-id list)
  are built once in a private database file outside the store, which is then opened `read_only` as the
  sandbox's only database and unlinked. `CREATE OR REPLACE VIEW events` fails ("attached in read-only
  mode"); `CREATE MACRO`, `CREATE TABLE`, `INSERT` likewise. Each query runs on a fresh cursor, so
  even a temp object (the only writable catalog) does not outlive the query that made it.

On top, `check` parses the statements and refuses anything but queries (SELECT, WITH, VALUES,
EXPLAIN, DESCRIBE/SHOW/SUMMARIZE, PRAGMA that reads) with a one-line reason: a clear message, not the
guarantee. Reading store files by path (`read_parquet('STORE/…')`) is refused too: everything in the
store is reachable through the views, nothing else is.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from mcp_blackbox.forensics.store import EVENTS_DIR, Store
from mcp_blackbox.schema.errors import StoreError, UsageError
from mcp_blackbox.schema.layout import is_store

if TYPE_CHECKING:
    from mcp_blackbox.forensics.detections import Finding

_ALLOWED = {"SELECT", "EXPLAIN", "RELATION", "PRAGMA"}  # DuckDB reports DESCRIBE/SHOW/SUMMARIZE as SELECT

#: the relations the Python side registers on every sandbox cursor (temp objects of that cursor)
RAW_SOURCE = "_evidence_events"
FINDINGS_SOURCE = "_evidence_findings"

#: settings of the sandbox database, fixed at connect time (then TimeZone, then `lock_configuration`)
SANDBOX_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "temp_directory": "",
}


class SQLRefused(UsageError):
    """A statement that would write, attach or change settings."""


class SQLFailed(UsageError):
    """DuckDB rejected the query (syntax, unknown column, no permission…); the message points at the problem."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500]


def check_statements(con: Any, sql: str) -> list[Any]:
    """Parse `sql` on `con`; refuse anything that is not a query. Returns the parsed statements."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise SQLFailed(_one_line(exc)) from exc
    if not statements:
        msg = "no SQL statement given"
        raise SQLRefused(msg)
    for st in statements:
        kind = str(st.type).rsplit(".", 1)[-1].upper()
        if kind not in _ALLOWED:
            msg = f"read-only: {kind} statements are refused (only queries run against evidence)"
            raise SQLRefused(msg)
    return list(statements)


def check(store: Store, sql: str) -> list[Any]:
    """Parse `sql` on the store's connection; refuse anything that is not a query (see `check_statements`)."""
    return check_statements(store.con, sql)


def lock_down(store: Store) -> None:
    """Restrict a trusted connection (one that reads the Parquet files itself) to reading the store.

    It still reads the store's files, so it must never run user SQL: user SQL goes to `SafeSQL`.
    """
    con = store.con
    root = str(store.root.resolve()).replace("'", "''")
    con.execute(f"SET allowed_directories = ['{root}']")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def _findings_table(findings: Iterable[Finding]) -> Any:
    import json

    import pyarrow as pa

    schema = pa.schema([
        ("finding_id", pa.string()), ("rule_id", pa.string()), ("title", pa.string()), ("severity", pa.string()),
        ("cosai_threats", pa.list_(pa.string())), ("time", pa.timestamp("us", tz="UTC")),
        ("entities", pa.string()), ("evidence_event_ids", pa.list_(pa.string())), ("explanation", pa.string()),
    ])
    rows = [{"finding_id": f.finding_id, "rule_id": f.rule_id, "title": f.title, "severity": str(f.severity),
             "cosai_threats": list(f.cosai_threats), "time": f.time,
             "entities": json.dumps(f.entities, sort_keys=True), "evidence_event_ids": list(f.evidence_event_ids),
             "explanation": f.explanation} for f in findings]
    return pa.Table.from_pylist(rows, schema=schema)


def _event_dataset(root: Path, files: frozenset[str]) -> Any:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from mcp_blackbox.schema.arrow import arrow_schema

    schema = arrow_schema().append(pa.field("date", pa.date32()))
    partitioning = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
    return ds.dataset(sorted(files), schema=schema, format="parquet", partitioning=partitioning,
                      partition_base_dir=str(root / EVENTS_DIR))


class SafeSQL:
    """A sandboxed DuckDB for user SQL over one store: views only, no file access, a catalog it cannot change.

    `run(sql)` checks and runs; `interrupt()` (any thread) stops the running query; `refresh()` follows
    files the collector added; `set_findings()` fills the `findings` view (the TUI's detection results).
    """

    def __init__(self, root: str | Path, *, threads: int | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            msg = f"store {self.root} does not exist or is not a directory"
            raise StoreError(msg)
        if not is_store(self.root):
            msg = f"{self.root} is not an mcp-blackbox store (no {EVENTS_DIR}/ or manifests/ directory)"
            raise StoreError(msg)
        self.threads = threads
        self._lock = threading.Lock()
        self._running: dict[int, Any] = {}
        self._findings = _findings_table([])
        self._con: Any = None
        self.files: frozenset[str] = frozenset()
        self._dataset: Any = None
        self._build()

    def _build(self) -> None:
        """Build the views in a private database file, then open it read-only as the sandbox."""
        store_probe = Store(self.root, None)
        files = store_probe.event_files()
        dataset = _event_dataset(self.root, files) if files else None
        scratch = Path(tempfile.mkdtemp(prefix="mcp-blackbox-sql-"))  # 0700, outside the store
        try:
            path = scratch / "views.duckdb"
            config: dict[str, Any] = {"enable_external_access": False,
                                      "autoload_known_extensions": False, "autoinstall_known_extensions": False}
            if self.threads:
                config["threads"] = self.threads
            # the builder may write only its own scratch file; it reads the evidence through Arrow too
            builder = duckdb.connect(str(path), config=config)
            try:
                builder.execute("SET TimeZone = 'UTC'")
                builder.register(FINDINGS_SOURCE, self._findings)
                if dataset is not None:
                    builder.register(RAW_SOURCE, dataset)
                from mcp_blackbox.forensics.views import prepare_events, register_views

                built = Store(self.root, builder)
                register_views(built, source=RAW_SOURCE, findings_source=FINDINGS_SOURCE)
                prepare_events(built)
                builder.execute("CHECKPOINT")
            finally:
                builder.close()
            sandbox = dict(SANDBOX_CONFIG)
            if self.threads:
                sandbox["threads"] = self.threads
            con = duckdb.connect(str(path), read_only=True, config=sandbox)
            con.execute("SET TimeZone = 'UTC'")  # evidence times are UTC whatever the analyst's machine says
            con.execute("SET lock_configuration = true")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # the open database needs no name on disk
        old = self._con
        self._con, self._dataset, self.files = con, dataset, files
        if old is not None:
            old.close()

    def refresh(self) -> bool:
        """Rebuild when event files were added or replaced since the last build; returns whether it did."""
        if Store(self.root, None).event_files() == self.files:
            return False
        with self._lock:
            self._build()
        return True

    def set_findings(self, findings: Iterable[Finding]) -> None:
        """What the `findings` view shows from now on (the session's last detection run)."""
        self._findings = _findings_table(findings)

    def cursor(self) -> Any:
        """A fresh cursor with the evidence registered; temp objects made on it die with it."""
        with self._lock:
            cur = self._con.cursor()
        if self._dataset is not None:
            cur.register(RAW_SOURCE, self._dataset)
        cur.register(FINDINGS_SOURCE, self._findings)
        return cur

    def check(self, sql: str) -> list[Any]:
        """Parse and refuse anything but queries (a clear message; the sandbox holds regardless)."""
        return check_statements(self._con, sql)

    def run(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Check and run every statement on one fresh cursor; returns (column names, rows) of the last.

        `params` bind `?` placeholders of a single statement.
        """
        statements = self.check(sql)
        if params and len(statements) > 1:
            msg = "parameters are for a single statement"
            raise SQLRefused(msg)
        cur = self.cursor()
        key = id(cur)
        with self._lock:
            self._running[key] = cur
        try:
            res = None
            for st in statements:
                res = cur.execute(st.query, params or None)
            assert res is not None  # noqa: S101 - at least one statement ran
            names = [d[0] for d in res.description] if res.description else []
            return names, res.fetchall()
        except duckdb.InterruptException:
            raise
        except duckdb.Error as exc:
            raise SQLFailed(_one_line(exc)) from exc
        finally:
            with self._lock:
                self._running.pop(key, None)
            cur.close()

    def interrupt(self) -> int:
        """Interrupt every running query (from any thread); returns how many."""
        with self._lock:
            cursors = list(self._running.values())
        for cur in cursors:
            cur.interrupt()
        return len(cursors)

    def close(self) -> None:
        """Close the sandbox."""
        self.interrupt()
        if self._con is not None:
            self._con.close()


def run_query(target: Store | SafeSQL, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Check and run user SQL in a sandbox; returns (column names, rows) of the last statement.

    Given a `Store`, a `SafeSQL` over the same root is made for this call: user SQL never runs on a
    connection that can reach the files.
    """
    if isinstance(target, SafeSQL):
        return target.run(sql)
    safe = SafeSQL(target.root)
    try:
        return safe.run(sql)
    finally:
        safe.close()
