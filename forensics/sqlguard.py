"""Read-only SQL for investigators: only queries run; the evidence and the machine stay untouched.

Two layers. DuckDB itself: the connection may read only the store's directory
(`allowed_directories` + `enable_external_access = false`), and the configuration is then locked,
so no statement can read other files, attach databases, install extensions or re-enable access.
And the statements: each one is parsed by DuckDB and anything but a query (SELECT, WITH, VALUES,
EXPLAIN, DESCRIBE/SHOW, SUMMARIZE) is refused — COPY … TO, CREATE, INSERT, ATTACH, SET, PRAGMA
and the like — with a one-line reason.
"""

from __future__ import annotations

from typing import Any

from mcp_blackbox.forensics.store import Store
from mcp_blackbox.schema.errors import UsageError

_ALLOWED = {"SELECT", "EXPLAIN", "RELATION"}  # DuckDB reports DESCRIBE/SHOW/SUMMARIZE as SELECT


class SQLRefused(UsageError):
    """A statement that would write, attach or change settings."""


class SQLFailed(UsageError):
    """DuckDB rejected the query (syntax, unknown column…); the message points at the problem."""


def lock_down(store: Store) -> None:
    """Restrict the connection to reading the store, then lock its configuration."""
    con = store.con
    root = str(store.root.resolve()).replace("'", "''")
    con.execute(f"SET allowed_directories = ['{root}']")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def check(store: Store, sql: str) -> list[Any]:
    """Parse `sql`; refuse anything that is not a query. Returns the parsed statements."""
    try:
        statements = store.con.extract_statements(sql)
    except Exception as exc:
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


def run_query(store: Store, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Check and run; returns (column names, rows) of the last statement."""
    statements = check(store, sql)
    cur = None
    try:
        for st in statements:
            cur = store.con.execute(st.query)
    except Exception as exc:
        raise SQLFailed(_one_line(exc)) from exc
    assert cur is not None  # noqa: S101 - at least one statement ran
    names = [d[0] for d in cur.description] if cur.description else []
    return names, cur.fetchall()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500]
