"""No write path from the read-only console, by construction (issue 14, part 2).

Every attempt below runs through the real `mcp-blackbox sql` (a subprocess) and through the TUI
console's runner (`Bench.sql`, what the SQL tab calls); afterwards every file of the store — events,
manifests, integrity, cases/, keys/ — has the SHA-256 it had before, and the views return the same rows.

Outcome per attempt: "refused" (non-zero exit, one line on stderr matching `why`) or "read" (allowed,
reads only). Decision: reading store files by path (`read_parquet('STORE/…')`, `read_text`, `glob`) is
refused like any other file access; everything in the store that forensics offers is in the views.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from forensics_fixtures import incident_events, write_store

from mcp_blackbox.forensics.sqlguard import SafeSQL, SQLFailed, SQLRefused

CLI = [str(Path(sys.executable).parent / "mcp-blackbox")]

PERM = "Permission Error"
LOCKED = "configuration has been locked"
RO_CATALOG = "read-only mode"


class Attempt(NamedTuple):
    """One write, escape or exfiltration attempt and what must happen."""

    name: str
    sql: str
    outcome: str  # "refused" or "read"
    why: str  # regex the one-line error (or the first row) must match


ATTEMPTS: list[Attempt] = [
    # -- the reproductions of the issue ------------------------------------------------------------
    Attempt("explain_analyze_copy_over_evidence", "EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{evidence}' "
            "(FORMAT parquet)", "refused", PERM),
    Attempt("explain_analyze_replace_events_view", "EXPLAIN ANALYZE CREATE OR REPLACE VIEW events AS "
            "SELECT * FROM raw_events WHERE false", "refused", RO_CATALOG),
    Attempt("explain_analyze_copy_over_case_notes", "EXPLAIN ANALYZE COPY (SELECT 'x' AS notes) TO "
            "'{store}/cases/default.json' (FORMAT json)", "refused", PERM),
    # -- COPY / EXPORT ------------------------------------------------------------------------------
    Attempt("copy_over_evidence", "COPY (SELECT * FROM events) TO '{evidence}' (FORMAT parquet)", "refused",
            "read-only: COPY"),
    Attempt("copy_new_file_in_events", "COPY (SELECT 1) TO '{store}/events/evil.parquet'", "refused", "read-only"),
    Attempt("copy_exfiltrate_outside", "COPY (SELECT * FROM events) TO '/tmp/mcp-blackbox-exfil.csv'", "refused",
            "read-only"),
    Attempt("explain_analyze_copy_outside", "EXPLAIN ANALYZE COPY (SELECT * FROM events) TO "
            "'/tmp/mcp-blackbox-exfil.csv'", "refused", PERM),
    Attempt("explain_analyze_copy_key", "EXPLAIN ANALYZE COPY (SELECT 'attacker' AS k) TO "
            "'{store}/keys/attacker.pub' (FORMAT csv)", "refused", PERM),
    Attempt("explain_analyze_copy_manifest", "EXPLAIN ANALYZE COPY (SELECT 1 AS seq) TO "
            "'{store}/manifests/000002.json' (FORMAT json)", "refused", PERM),
    Attempt("copy_from_into_findings", "COPY findings FROM '/etc/passwd'", "refused", "read-only"),
    Attempt("explain_analyze_copy_from", "EXPLAIN ANALYZE COPY findings FROM '{store}/cases/default.json'",
            "refused", "not an table|read-only mode|" + PERM),
    Attempt("export_database_into_store", "EXPORT DATABASE '{store}/cases/dump'", "refused", "read-only"),
    # -- catalog: views, tables, macros --------------------------------------------------------------
    Attempt("replace_events_view", "CREATE OR REPLACE VIEW events AS SELECT * FROM raw_events WHERE false",
            "refused", "read-only: CREATE"),
    Attempt("drop_events_view", "DROP VIEW events", "refused", "read-only: DROP"),
    Attempt("alter_view", "ALTER VIEW sessions RENAME TO s2", "refused", "read-only: ALTER"),
    Attempt("create_macro", "CREATE MACRO events_count() AS (SELECT 0)", "refused", "read-only: CREATE"),
    Attempt("temp_table", "CREATE TEMP TABLE t AS SELECT * FROM events", "refused", "read-only: CREATE"),
    Attempt("explain_analyze_temp_view_shadow", "EXPLAIN ANALYZE CREATE TEMP VIEW events AS SELECT 1 AS x",
            "read", "analyzed_plan"),  # only the query's own cursor; gone when it ends (views checked after)
    Attempt("explain_analyze_delete_dup_ids", "EXPLAIN ANALYZE DELETE FROM _duplicate_ids", "refused", RO_CATALOG),
    Attempt("insert_findings", "INSERT INTO findings VALUES ('a','b','c','d',[],now(),'{{}}',[],'e')", "refused",
            "read-only: INSERT"),
    Attempt("explain_analyze_update_findings", "EXPLAIN ANALYZE UPDATE findings SET rule_id = 'x'", "refused",
            "base table"),
    Attempt("delete_findings", "DELETE FROM findings", "refused", "read-only: DELETE"),
    Attempt("multi_statement_drop", "SELECT 1; DROP VIEW events", "refused", "read-only: DROP"),
    Attempt("multi_statement_copy", "SELECT 1; COPY (SELECT 1) TO '{evidence}'", "refused", "read-only: COPY"),
    Attempt("transaction", "BEGIN TRANSACTION", "refused", "read-only: TRANSACTION"),
    Attempt("prepare_copy", "PREPARE p AS COPY (SELECT 1) TO '{evidence}'", "refused", "read-only: PREPARE"),
    # -- databases ---------------------------------------------------------------------------------
    Attempt("attach_in_store", "ATTACH '{store}/evil.duckdb' AS evil", "refused", "read-only: ATTACH"),
    Attempt("detach_views", "DETACH views", "refused", "read-only: DETACH"),
    Attempt("use_temp", "USE temp", "refused", "read-only: SET"),
    Attempt("checkpoint", "CHECKPOINT", "refused", "read-only: CALL"),
    Attempt("explain_analyze_checkpoint", "EXPLAIN ANALYZE CHECKPOINT", "read", "analyzed_plan"),  # read-only db
    Attempt("vacuum", "VACUUM", "refused", "read-only: VACUUM"),
    # -- extensions, settings ----------------------------------------------------------------------
    Attempt("install_extension", "INSTALL httpfs", "refused", "read-only: LOAD"),
    Attempt("explain_analyze_install", "EXPLAIN ANALYZE INSTALL httpfs", "refused", PERM),
    Attempt("explain_analyze_load_file", "EXPLAIN ANALYZE LOAD '{store}/evil.duckdb_extension'", "refused",
            "Permission|disabled"),
    Attempt("set_external_access", "SET enable_external_access = true", "refused", "read-only: SET"),
    Attempt("explain_analyze_set", "EXPLAIN ANALYZE SET enable_external_access = true", "refused", LOCKED),
    Attempt("explain_analyze_reset_lock", "EXPLAIN ANALYZE RESET lock_configuration", "refused", LOCKED),
    Attempt("explain_analyze_allowed_dirs", "EXPLAIN ANALYZE SET allowed_directories = ['/']", "refused", LOCKED),
    Attempt("explain_analyze_log_query_path", "EXPLAIN ANALYZE SET log_query_path = '{store}/cases/default.json'",
            "refused", LOCKED),
    Attempt("pragma_profiling", "PRAGMA enable_profiling", "refused", LOCKED),
    Attempt("pragma_profiling_output", "PRAGMA profiling_output = '{store}/cases/default.json'", "refused",
            "read-only: SET"),
    Attempt("call_pragma", "CALL enable_logging()", "refused", "read-only: CALL"),
    Attempt("persistent_secret", "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "refused",
            "read-only: CREATE"),
    # -- file functions on the store, cases and keys ------------------------------------------------
    Attempt("read_text_case_notes", "SELECT * FROM read_text('{store}/cases/default.json')", "refused", PERM),
    Attempt("read_blob_signing_key", "SELECT * FROM read_blob('{store}/keys/signing.key')", "refused", PERM),
    Attempt("glob_store", "SELECT * FROM glob('{store}/**')", "refused", PERM),
    Attempt("read_parquet_evidence_by_path", "SELECT count(*) FROM read_parquet('{evidence}')", "refused", PERM),
    Attempt("read_json_manifest", "SELECT * FROM read_json('{store}/manifests/000001.json')", "refused", PERM),
    Attempt("parquet_metadata", "SELECT * FROM parquet_metadata('{evidence}')", "refused", PERM),
    Attempt("read_csv_passwd", "SELECT * FROM read_csv('/etc/passwd')", "refused", PERM),
    Attempt("read_over_http", "SELECT * FROM read_csv('https://example.com/x.csv')", "refused", PERM),
    Attempt("file_read_in_subquery", "SELECT count(*) FROM events WHERE event_id IN "
            "(SELECT content FROM read_text('{store}/keys/signing.key'))", "refused", PERM),
    Attempt("query_function_file", "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", "refused",
            PERM),
    Attempt("query_function_copy", "SELECT * FROM query('COPY (SELECT 1) TO ''{evidence}''')", "refused",
            "single SELECT"),
    # -- reads that stay allowed --------------------------------------------------------------------
    Attempt("select_events", "SELECT count(*) AS n FROM events", "read", "111"),
    Attempt("with_query", "WITH c AS (SELECT * FROM calls) SELECT count(*) FROM c WHERE tool_name = 'send_webhook'",
            "read", r"\[\[2\]\]|\"count_star\(\)\": 2"),
    Attempt("query_table", "SELECT count(*) FROM query_table('sessions')", "read", r"\d"),
    Attempt("describe", "DESCRIBE events", "read", "event_id"),
    Attempt("show_tables", "SHOW TABLES", "read", "."),
    Attempt("summarize", "SUMMARIZE SELECT duration_ms FROM calls", "read", "duration_ms"),
    Attempt("pragma_table_info", "PRAGMA table_info('events')", "read", "event_id"),
    Attempt("explain", "EXPLAIN SELECT * FROM events WHERE connection_id = 'x'", "read", "physical_plan"),
    Attempt("explain_analyze_select", "EXPLAIN ANALYZE SELECT count(*) FROM actions", "read", "analyzed_plan"),
    Attempt("settings_readable", "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'",
            "read", "false"),
]


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


VIEW_PROBE = ("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM sessions), (SELECT count(*) FROM calls), "
              "(SELECT count(*) FROM actions), (SELECT count(*) FROM tool_versions), "
              "(SELECT sha256(string_agg(event_id, ',' ORDER BY event_id)) FROM events)")


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], list[tuple[object, ...]]]:
    """A store with events, a manifest, case notes and keys; its tree hashes and view rows before any attempt."""
    root = tmp_path_factory.mktemp("sandbox") / "store"
    write_store(root, incident_events())
    (root / "cases").mkdir()
    (root / "cases" / "default.json").write_text(json.dumps(
        {"notes": {"x": [{"time": "2026-11-30T10:00:00Z", "text": "the investigator's notes"}]}}))
    (root / "keys").mkdir()
    (root / "keys" / "store.pub").write_text("-----BEGIN PUBLIC KEY-----\nnot-a-real-key\n")
    (root / "keys" / "signing.key").write_text("-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n")
    (root / "manifests").mkdir()
    (root / "manifests" / "000001.json").write_text(json.dumps({"seq": 1, "files": []}))
    safe = SafeSQL(root)
    try:
        _names, probe = safe.run(VIEW_PROBE)
    finally:
        safe.close()
    return root, _tree_hashes(root), probe


def _sql(attempt: Attempt, root: Path) -> str:
    evidence_file = next((root / "events").rglob("*.parquet"))
    return attempt.sql.format(store=root, evidence=evidence_file)


def _assert_untouched(root: Path, before: dict[str, str]) -> None:
    assert _tree_hashes(root) == before
    assert not Path("/tmp/mcp-blackbox-exfil.csv").exists()


def test_the_table_is_big_enough() -> None:
    assert len(ATTEMPTS) >= 40
    assert len({a.name for a in ATTEMPTS}) == len(ATTEMPTS)
    assert sum(a.outcome == "refused" for a in ATTEMPTS) >= 40


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_attempt_through_cli(evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]],
                             attempt: Attempt) -> None:
    root, before, _probe = evidence
    out = subprocess.run([*CLI, "sql", "--store", str(root), "--format", "json", _sql(attempt, root)],
                         capture_output=True, text=True, check=False, timeout=120)
    if attempt.outcome == "refused":
        assert out.returncode != 0, out.stdout
        assert out.stderr.count("\n") == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert re.search(attempt.why, out.stderr), out.stderr
    else:
        assert out.returncode == 0, out.stderr
        assert re.search(attempt.why, out.stdout), out.stdout[:500]
    _assert_untouched(root, before)


@pytest.fixture(scope="module")
def bench(evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]]):  # type: ignore[no-untyped-def]
    """The TUI's bench over the store (one for all attempts, as in one investigation session)."""
    from mcp_blackbox.tui.data import Bench

    b = Bench(evidence[0])
    yield b
    b.close()


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_attempt_through_tui_console(evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]],
                                     bench, attempt: Attempt) -> None:  # type: ignore[no-untyped-def]
    root, before, probe = evidence
    sql = _sql(attempt, root)
    if attempt.outcome == "refused":
        with pytest.raises((SQLRefused, SQLFailed)) as caught:
            bench.sql(sql)
        assert re.search(attempt.why, str(caught.value)), str(caught.value)
    else:
        result = bench.sql(sql)
        assert re.search(attempt.why, json.dumps(result.rows, default=str))
    _assert_untouched(root, before)
    # the session goes on with the same evidence: the console's views and the bench's own
    assert bench.sql(VIEW_PROBE).rows == probe
    assert bench.query(VIEW_PROBE).rows == probe


def test_cli_views_unchanged_after_all_attempts(
        evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]]) -> None:
    root, before, probe = evidence
    out = subprocess.run([*CLI, "sql", "--store", str(root), "--format", "json", VIEW_PROBE],
                         capture_output=True, text=True, check=True)
    assert [tuple(r.values()) for r in json.loads(out.stdout)] == [tuple(v for v in probe[0])]
    _assert_untouched(root, before)


LONG_QUERY = "SELECT sum(a.range * b.range) FROM range(10000000) a, range(10000000) b"  # hours of work


def test_sql_timeout_interrupts(evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]]) -> None:
    root = evidence[0]
    started = time.monotonic()
    out = subprocess.run([*CLI, "sql", "--store", str(root), "--timeout", "1", LONG_QUERY],
                         capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode == 124, out.stderr
    assert out.stderr.count("\n") == 1 and "timed out after 1 s" in out.stderr, out.stderr
    assert time.monotonic() - started < 60


def test_detect_timeout_interrupts(evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]]) -> None:
    root = evidence[0]
    out = subprocess.run([*CLI, "detect", "--store", str(root), "--timeout", "0.001"],
                         capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode == 124, out.stderr
    assert out.stderr.count("\n") == 1 and "detection timed out" in out.stderr, out.stderr
    ok = subprocess.run([*CLI, "detect", "--store", str(root), "--timeout", "120", "--format", "json"],
                        capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(ok.stdout)


def test_ctrl_c_interrupts_a_running_query(evidence: tuple[Path, dict[str, str], list[tuple[object, ...]]]) -> None:
    root = evidence[0]
    proc = subprocess.Popen([*CLI, "sql", "--store", str(root), LONG_QUERY],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # started and inside DuckDB (the query alone runs for hours)
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=8)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_console_sees_findings_and_new_files(tmp_path: Path) -> None:
    """The sandbox is not a frozen copy: the TUI's findings show in `findings`, files the collector adds appear."""
    from mcp_blackbox.forensics.detections import run_detections
    from mcp_blackbox.forensics.store import open_store
    from mcp_blackbox.tui.data import Bench

    events = incident_events()
    root = tmp_path / "store"
    write_store(root, events[:40], name="a")
    bench = Bench(root)
    try:
        assert bench.sql("SELECT count(*) FROM events").rows == [(40,)]
        assert bench.sql("SELECT count(*) FROM findings").rows == [(0,)]
        write_store(root, events[40:], name="b")  # live mode: the collector published another file
        assert bench.sql("SELECT count(*) FROM events").rows == [(len(events),)]
        store = open_store(root)
        findings = run_detections(store)
        store.close()
        bench.set_findings(findings)
        assert bench.sql("SELECT count(*), count(DISTINCT rule_id) FROM findings").rows == [
            (len(findings), len({f.rule_id for f in findings}))]
        assert bench.sql("SELECT rule_id FROM findings WHERE severity = 'critical' LIMIT 1").rows == [
            ("injection_chain",)]
    finally:
        bench.close()


REPRODUCTIONS = [a for a in ATTEMPTS if a.name in ("explain_analyze_copy_over_evidence",
                                                   "explain_analyze_replace_events_view",
                                                   "explain_analyze_copy_over_case_notes")]


@pytest.mark.anyio
async def test_reproductions_typed_into_the_tui_console(tmp_path: Path) -> None:
    """The issue's three TUI reproductions, typed into the SQL tab of the running app."""
    from textual.widgets import Input, Static

    from mcp_blackbox.tui.app import InvestigatorApp

    root = tmp_path / "store"
    write_store(root, incident_events())
    (root / "cases").mkdir()
    (root / "cases" / "default.json").write_text(json.dumps(
        {"notes": {"x": [{"time": "2026-11-30T10:00:00Z", "text": "the investigator's notes"}]}}))
    app = InvestigatorApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        before = _tree_hashes(root)  # the app may have written its own case file on start
        await pilot.press("5")
        sql = app.query_one("#sql-input", Input)
        for attempt in REPRODUCTIONS:
            sql.value = _sql(attempt, root)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = str(app.query_one("#sql-status", Static).render())
            assert re.search(attempt.why, status), status
            assert _tree_hashes(root) == before
        sql.value = "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM sessions)"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.last_result is not None and app.last_result[1] == [(111, 9)]
