"""The investigator's bench driven as a person would: Textual pilot, keys and clicks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent, Tree

from mcp_blackbox.tui.app import InvestigatorApp
from mcp_blackbox.tui.screens import EventDetail, HelpScreen

SIZE = (160, 48)
pytestmark = pytest.mark.anyio


async def _settle(pilot) -> None:
    # a worker may start another (the overview starts findings and sessions once it has painted)
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _screen_text(app: InvestigatorApp) -> str:
    return "\n".join(line.text for line in app.screen._compositor.render_update(full=True).strips) \
        if hasattr(app.screen._compositor.render_update(full=True), "strips") else ""


async def test_overview_counts_and_findings_by_severity(incident: Path) -> None:
    started = time.perf_counter()
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        elapsed = time.perf_counter() - started
        summary = str(app.query_one("#summary", Static).render())
        assert "111 events" in summary
        servers = app.query_one("#count-server", DataTable)
        assert servers.row_count == 4
        assert [f.rule_id for f in app.findings][:1] == ["injection_chain"]
        assert app.query_one("#count-severity", DataTable).row_count == 3  # critical, high, medium
        # measured from the app's start to its first painted overview: inside this test's own span
        assert app.first_screen_seconds is not None and 0 < app.first_screen_seconds < elapsed


async def test_finding_opens_its_chain_with_evidence_and_detail(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        await pilot.press("2")
        table = app.query_one("#findings-table", DataTable)
        assert table.row_count == len(app.findings)
        detail = str(app.query_one("#finding-detail", Static).render())
        assert "#11 Prompt Injection" in detail
        await pilot.press("enter")
        await _settle(pilot)
        assert app.query_one(TabbedContent).active == "chain"
        assert app.chain is not None and len(app.chain.event_ids) == 53  # the whole conversation
        tree = app.query_one("#chain-tree", Tree)
        assert tree.cursor_node is not None and tree.cursor_node.data in app.evidence
        await pilot.press("enter")  # the evidence node → event detail
        await _settle(pilot)
        assert isinstance(app.screen, EventDetail)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EventDetail)


async def test_follow_data_flow_and_definition_diff(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.load_chain("conv-demo-incident")
        await _settle(pilot)
        tree = app.query_one("#chain-tree", Tree)
        assert app.chain is not None
        query_result = next(e for e in app.chain.edges if e.kind == "data_flow"
                            and app.chain.rows[e.src_event_id]["tool_name"] == "query")
        node = next(n for n in _walk(tree.root) if n.data == query_result.src_event_id)
        tree.move_cursor(node)
        await pilot.press("f")
        assert tree.cursor_node is not None and tree.cursor_node.data == query_result.dst_event_id
        await pilot.press("b")
        sources = {e.src_event_id for e in app.chain.edges
                   if e.kind == "data_flow" and e.dst_event_id == query_result.dst_event_id}
        assert tree.cursor_node.data in sources
        bergen = next(r for r in app.chain.rows.values() if r["tool_name"] == "get_forecast"
                      and r["message_kind"] == "request" and "Bergen" in (r["arguments_json"] or ""))
        app.open_event(bergen["event_id"])
        await _settle(pilot)
        assert isinstance(app.screen, EventDetail)
        await pilot.press("d")
        diff = str(app.screen.query_one("#detail-diff", Static).render()).splitlines()
        # the rug pull's new text is an added line, and the old definition has none of it
        assert diff[0].startswith("--- version 1 ") and diff[1].startswith("+++ version 2 ")
        added = [line for line in diff[2:] if line.startswith("+")]
        removed = [line for line in diff[2:] if line.startswith("-")]
        assert any("IMPORTANT" in line for line in added), diff
        assert removed and not any("IMPORTANT" in line for line in removed), diff


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


async def test_sql_console_runs_refuses_and_exports(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        await pilot.press("5")
        sql = app.query_one("#sql-input", Input)
        sql.value = "SELECT tool_name, count(*) AS n FROM calls WHERE tool_name IS NOT NULL GROUP BY 1 ORDER BY 1"
        await pilot.press("enter")
        await _settle(pilot)
        assert app.last_result is not None and len(app.last_result[1]) == 6
        assert app.query_one("#sql-table", DataTable).row_count == 6
        await pilot.press("ctrl+s")
        app.query_one("#sql-table", DataTable).focus()
        await pilot.press("e")
        exports = list((incident / "cases" / "exports").glob("query-*"))
        assert {p.suffix for p in exports} == {".csv", ".jsonl", ".parquet"}
        sql.focus()
        sql.value = "DELETE FROM findings"
        await pilot.press("enter")
        await _settle(pilot)
        assert "read-only" in str(app.query_one("#sql-status", Static).render())
        await pilot.press("up")
        assert sql.value.startswith("DELETE")
        case = json.loads((incident / "cases" / "default.json").read_text())
        assert any("GROUP BY" in q for q in case["queries"])


async def test_pivot_chips_star_note_and_help(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        servers = app.query_one("#count-server", DataTable)
        servers.focus()
        await pilot.pause()
        await pilot.press("enter")  # every number is a way in: → sessions filtered by that server
        await _settle(pilot)
        assert app.query_one(TabbedContent).active == "sessions"
        assert app.chips and app.chips[0][0] == "server"
        sessions = app.query_one("#sessions-table", DataTable)
        assert 0 < sessions.row_count < 9
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("s")
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"looked at this", "enter")
        await pilot.pause()
        case = json.loads((incident / "cases" / "default.json").read_text())
        assert app.findings[0].finding_id in case["stars"]
        assert case["notes"][app.findings[0].finding_id][0]["text"] == "looked at this"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        filt = app.query_one("#session-filter", Input)
        filt.value = "errors > 1000"
        app.chips.clear()
        app.action_tab("sessions")
        filt.focus()
        await pilot.press("enter")
        await _settle(pilot)
        assert sessions.row_count == 0


async def test_escape_sequences_are_inert(hostile: Path) -> None:
    app = InvestigatorApp(hostile)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.load_chain("call_hostile")
        await _settle(pilot)
        labels = [str(n.label) for n in _walk(app.query_one("#chain-tree", Tree).root)]
        text = "\n".join(labels)
        assert "\x1b" not in text and "\u202e" not in text and "\u200b" not in text
        assert "␛]0;pwned" in text and "⟨U+202E⟩" in text
        result = next(r for r in app.chain.rows.values() if r["message_kind"] == "error")
        app.open_event(result["event_id"])
        await _settle(pilot)
        body = app.screen.query_one("#detail-body", Static).render()
        plain = str(body)
        assert "\x1b" not in plain and "␛[31mRED" in plain and "[bold]markup[/bold]" in plain
