"""The bench's headless queries (forensics/investigate.py): sessions with chips, one event, definition diffs."""

from __future__ import annotations

from pathlib import Path

from forensics_fixtures import incident_events, write_store

from mcp_blackbox.forensics.investigate import definition_diff, event_row, sessions_sql
from mcp_blackbox.tui.data import Bench


def test_sessions_sql_binds_chip_values_and_ignores_unknown_columns() -> None:
    sql, params = sessions_sql([("server", "x' OR 1=1 --", True), ("tool", "query", False), ("evil;", "v", True)])
    assert params == ["x' OR 1=1 --", "query"]
    assert "x' OR" not in sql and "evil" not in sql
    assert "NOT list_contains(tools_used, ?)" in sql and "coalesce(server = ?, false)" in sql


def test_definition_diff_from_the_changed_listing_and_from_a_call(tmp_path: Path) -> None:
    root = tmp_path / "incident"
    write_store(root, incident_events())
    bench = Bench(root)
    try:
        def query(sql, params):
            return bench.query(sql, params).rows

        changed = bench.query("SELECT event_id FROM raw_events WHERE event_type = 'catalog' AND "
                              "list_contains(risk_flags, 'catalog_changed') ORDER BY event_time LIMIT 1").rows[0][0]
        row = event_row(query, changed)
        assert row is not None and row["event_id"] == changed
        diff = definition_diff(query, row)
        assert diff.tools == ["get_forecast"]
        assert any(line.startswith("+") and "IMPORTANT" in line for line in diff.lines)
        first = bench.query("SELECT event_id FROM raw_events WHERE event_type = 'catalog' AND server_config_name = "
                            "'weather' ORDER BY event_time LIMIT 1").rows[0][0]
        assert definition_diff(query, event_row(query, first)).lines == []  # the first listing: nothing before it
        assert event_row(query, "no-such-event") is None
    finally:
        bench.close()
