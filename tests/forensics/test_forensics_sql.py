"""Read-only SQL: queries run, writes/attach/settings/file access are refused with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_blackbox.forensics.sqlguard import SQLFailed, SQLRefused, lock_down, run_query
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.forensics.views import VIEW_DOCS
from mcp_blackbox.schema.arrow import arrow_schema

CLI = [str(Path(sys.executable).parent / "mcp-blackbox")]


def test_queries_over_every_view(incident_store: Path) -> None:
    store = open_store(incident_store)
    lock_down(store)
    for view in ("events", "calls", "actions", "tool_versions", "sessions", "edges", "findings"):
        names, rows = run_query(store, f"SELECT * FROM {view} LIMIT 3")  # noqa: S608 - view names are constants
        # every view has exactly the columns it documents (`sql --describe`); events has the contract's
        documented = {f.name for f in arrow_schema()} if view == "events" else set(VIEW_DOCS[view][1])
        assert set(names) == documented, (view, set(names) ^ documented)
        assert len(rows) == (0 if view == "findings" else 3), view  # findings: empty until detections run
    _, rows = run_query(store, "SELECT count(*) FROM actions WHERE tool_name = 'send_webhook'")
    assert rows == [(1,)]


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1) TO '{store}/events/evil.parquet'",
    "CREATE TABLE x AS SELECT 1",
    "INSERT INTO findings VALUES ('a','b','c','d',[],now(),'{{}}',[],'e')",
    "DELETE FROM findings",
    "ATTACH '{store}/other.duckdb'",
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    "INSTALL httpfs",
    "SELECT 1; DROP VIEW events",
])
def test_writes_and_escapes_are_refused(incident_store: Path, sql: str) -> None:
    store = open_store(incident_store)
    lock_down(store)
    with pytest.raises((SQLRefused, SQLFailed), match=r"read-only|configuration has been locked"):
        run_query(store, sql.format(store=incident_store))
    assert not (incident_store / "events" / "evil.parquet").exists()


def test_reading_outside_the_store_is_refused(incident_store: Path) -> None:
    store = open_store(incident_store)
    lock_down(store)
    with pytest.raises(SQLFailed, match="Permission"):
        run_query(store, "SELECT * FROM read_csv('/etc/passwd')")


def test_cli_errors_are_one_line_and_formats_work(incident_store: Path) -> None:
    bad = subprocess.run([*CLI, "sql", "--store", str(incident_store), "SELEC count(*) FROM events"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "syntax error" in bad.stderr
    refused = subprocess.run([*CLI, "sql", "--store", str(incident_store), "DROP VIEW events"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "read-only" in refused.stderr
    ok = subprocess.run([*CLI, "sql", "--store", str(incident_store), "--format", "json",
                         "SELECT server, count(*) AS n FROM calls GROUP BY 1 ORDER BY 1"],
                        capture_output=True, text=True, check=True)
    assert [r["server"] for r in json.loads(ok.stdout)] == ["customers", "helpdesk", "notify", "weather"]
    described = subprocess.run([*CLI, "sql", "--store", str(incident_store), "--describe", "calls"],
                               capture_output=True, text=True, check=True)
    assert "duration_ms" in described.stdout and "request→response" in described.stdout
    missing = subprocess.run([*CLI, "sql", "--store", "/nonexistent", "SELECT 1"], capture_output=True, text=True,
                             check=False)
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1


def test_detect_and_chain_cli(incident_store: Path) -> None:
    out = subprocess.run([*CLI, "detect", "--store", str(incident_store), "--format", "json"],
                         capture_output=True, text=True, check=True)
    assert {f["rule_id"] for f in json.loads(out.stdout)} >= {"injection_chain", "exfiltration", "rug_pull"}
    fail = subprocess.run([*CLI, "detect", "--store", str(incident_store), "--fail-on", "critical"],
                          capture_output=True, text=True, check=False)
    assert fail.returncode == 3
    chain = subprocess.run([*CLI, "chain", "--store", str(incident_store), "conv-demo-incident"],
                           capture_output=True, text=True, check=True)
    assert "send_webhook" in chain.stdout and "data flow:" in chain.stdout
    unknown = subprocess.run([*CLI, "detect", "--store", str(incident_store), "--rule", "nope"],
                             capture_output=True, text=True, check=False)
    assert unknown.returncode != 0 and "unknown rule" in unknown.stderr
