"""The TUI's data access: read-only store queries run on worker threads, each on its own cursor.

DuckDB connections are not shared across threads; `Bench.cursor()` gives each worker a cursor on the
same in-memory database (so the views exist) that can be interrupted when the user cancels. Every
query here is read-only; the SQL console's user SQL runs only in `forensics.sqlguard.SafeSQL` (no file
access, read-only catalog), never on the bench's own connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from mcp_blackbox.forensics.sqlguard import SafeSQL, check, lock_down
from mcp_blackbox.forensics.store import Store, open_store
from mcp_blackbox.schema.layout import forensics_event_files


@dataclass
class Result:
    """Column names and rows of one query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    seconds: float = 0.0


@dataclass
class Bench:
    """An opened store plus the cursors of running queries (for cancellation)."""

    path: Path
    store: Store = field(init=False)
    _running: dict[int, Any] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    closing: threading.Event = field(default_factory=threading.Event, init=False)
    _prepare_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _prepared: frozenset[str] | None = field(default=None, init=False)
    _safe: SafeSQL | None = field(default=None, init=False)
    _safe_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _findings: list[Any] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        # not prepared: the first screen reads raw_events only and must not wait for the dedup scan
        self.store = open_store(self.path, prepare=False)
        lock_down(self.store)  # the whole bench reads only the store; settings locked

    def ensure_prepared(self) -> None:
        """Prepare `events` (once per set of files; again after the collector adds files). Thread-safe."""
        with self._prepare_lock:
            work = self.worker_store()  # `refresh` does nothing when the files are those it was prepared for
            try:
                work.prepared_files = self._prepared
                work.refresh()
                self._prepared = work.prepared_files
            finally:
                self.release(work)

    def check(self, sql: str) -> list[Any]:
        """Parse `sql` on a private cursor and refuse anything but queries (see `sqlguard.check`)."""
        cur = self.store.con.cursor()
        try:
            return check(Store(self.path, cur), sql)
        finally:
            cur.close()

    def sql(self, sql: str, params: list[Any] | None = None) -> Result:
        """Run the investigator's SQL in the sandbox (made on first use, rebuilt when files were added).

        `cancel_all()` interrupts it too.
        """
        import time

        with self._safe_lock:
            if self._safe is None:
                self._safe = SafeSQL(self.path)
                self._safe.set_findings(self._findings)
            else:
                self._safe.refresh()
            safe = self._safe
        started = time.perf_counter()
        columns, rows = safe.run(sql, params)
        return Result(columns, rows, time.perf_counter() - started)

    def set_findings(self, findings: list[Any]) -> None:
        """What the console's `findings` view shows (the last detection run)."""
        with self._safe_lock:
            self._findings = list(findings)
            if self._safe is not None:  # else the sandbox takes them when the console first runs
                self._safe.set_findings(self._findings)

    def worker_store(self) -> Store:
        """A Store on its own cursor, for one worker thread; `cancel_all()` interrupts it too.

        Long multi-query jobs (the detection suite) run here; call `release()` when done.
        """
        cur = self.store.con.cursor()
        with self._lock:
            self._running[id(cur)] = cur
        return Store(self.path, cur)

    def release(self, store: Store) -> None:
        """Forget a worker store's cursor and close it."""
        with self._lock:
            self._running.pop(id(store.con), None)
        store.con.close()

    def query(self, sql: str, params: list[Any] | None = None, *, prepared: bool = True) -> Result:
        """Run on a fresh cursor; `cancel_all()` interrupts it from the UI thread.

        `prepared=False` for queries over `raw_events` only (they need no deduplicated `events`).
        """
        import time

        if prepared:
            self.ensure_prepared()
        cur = self.store.con.cursor()
        key = id(cur)
        with self._lock:
            self._running[key] = cur
        started = time.perf_counter()
        try:
            res = cur.execute(sql, params or [])
            columns = [d[0] for d in res.description] if res.description else []
            return Result(columns, res.fetchall(), time.perf_counter() - started)
        finally:
            with self._lock:
                self._running.pop(key, None)
            cur.close()

    def cancel_all(self) -> int:
        """Interrupt every running query; returns how many were interrupted."""
        with self._lock:
            cursors = list(self._running.values())
        for cur in cursors:
            cur.interrupt()
        return len(cursors) + (self._safe.interrupt() if self._safe is not None else 0)

    def file_count(self) -> int:
        """Event files in the store (live mode watches this)."""
        return len(forensics_event_files(self.path))

    def close(self) -> None:
        """Interrupt and close every worker cursor (so no thread outlives the app), then the store."""
        with self._lock:
            cursors = list(self._running.values())
            self._running.clear()
        self.closing.set()
        for cur in cursors:
            cur.interrupt()
            try:
                cur.close()  # a multi-query job's next statement then fails fast instead of running on
            except duckdb.Error:
                # busy right now (DuckDB refuses to close mid-call): the interrupt ends the call, and the
                # worker sees `closing` and stops before its next statement
                continue
        if self._safe is not None:
            self._safe.close()
        try:
            self.store.close()
        except duckdb.Error:
            return  # a worker still holds the database; it is released when that thread ends
