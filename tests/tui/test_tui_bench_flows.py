"""Issue 18's flows on the frozen incident, driven as a person would (Textual pilot): a finding opens on its
evidence, `d` diffs from a catalog event, the palette's commands, `/` search, the histogram brush, swimlanes,
escape leaving inputs, failed queries in a dialog."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent

from mcp_blackbox.tui import app as app_module
from mcp_blackbox.tui.app import InvestigatorApp
from mcp_blackbox.tui.screens import ErrorDialog, EventDetail, SwimlaneScreen
from mcp_blackbox.tui.widgets.chain_tree import ChainTree
from mcp_blackbox.tui.widgets.histogram import TimeHistogram
from mcp_blackbox.tui.widgets.search_bar import SearchBar

SIZE = (160, 48)
pytestmark = pytest.mark.anyio


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _rug_pull(app: InvestigatorApp):
    return next(f for f in app.findings if f.rule_id == "rug_pull")


async def test_rug_pull_opens_on_both_listings_the_diff_and_the_calls_after(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        finding = _rug_pull(app)
        await pilot.press("2")
        table = app.query_one("#findings-table", DataTable)
        table.move_cursor(row=app.findings.index(finding))
        await pilot.press("enter")
        await _settle(pilot)
        chain = app.chain
        assert chain is not None and app.query_one(TabbedContent).active == "chain"
        # every evidence event of the finding is in the chain it opens (the old bench showed the first listing only)
        assert {e for e in finding.evidence_event_ids if not e.startswith("emitter:")} <= set(chain.event_ids)
        rows = [chain.rows[e] for e in chain.event_ids]
        listings = [r for r in rows if r["event_type"] == "catalog" and r["server"] == "weather"]
        changed = [r for r in listings if "catalog_changed" in (r["risk_flags"] or [])]
        assert changed and len(listings) > len(changed), "both the first and the changed listing"
        after = [r for r in rows if r["method"] == "tools/call" and r["message_kind"] == "request"
                 and r["tool_name"] == "get_forecast" and r["event_time"] > changed[0]["event_time"]]
        assert after, "the call made under the new definition"
        diff = str(app.query_one("#chain-diff", Static).render())
        assert "get_forecast" in diff and "+" in diff and "IMPORTANT" in diff
        # the evidence is highlighted and the cursor starts on it
        tree = app.query_one(ChainTree)
        assert tree.cursor_node is not None and tree.cursor_node.data in app.evidence
        assert "evidence (highlighted)" in str(tree.root.label)


async def test_d_on_the_catalog_changed_event_shows_the_diff(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.open_finding(_rug_pull(app))
        await _settle(pilot)
        tree = app.query_one(ChainTree)
        changed = next(e for e in app.chain.event_ids if app.chain.rows[e]["event_type"] == "catalog"
                       and "catalog_changed" in (app.chain.rows[e]["risk_flags"] or []))
        tree.move_cursor(tree.find(changed))
        await pilot.pause()
        await pilot.press("d")
        await _settle(pilot)
        assert isinstance(app.screen, EventDetail) and app.screen.row["event_id"] == changed
        diff = str(app.screen.query_one("#detail-diff", Static).render())
        assert "no tool definition" not in diff
        assert "1 tool(s) changed" not in diff  # lines, not just the summary
        assert any(line.startswith("+") and "IMPORTANT" in line for line in diff.splitlines()), diff
        assert any(line.startswith("-") and "IMPORTANT" not in line for line in diff.splitlines()[2:]), diff


async def test_palette_lists_bench_commands_and_chains_by_id(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        trace = next(e for e in app.findings[0].evidence_event_ids if not e.startswith("emitter:"))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"chain {trace}")
        await pilot.pause(0.5)
        palette = app.screen
        from textual.command import CommandList

        options = palette.query_one(CommandList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any(p.startswith("chain by id: ") and trace in p for p in prompts), prompts
        await pilot.press("enter")
        await _settle(pilot)
        assert app.chain is not None and app.chain.ident == trace
        assert app.query_one(TabbedContent).active == "chain"


async def test_palette_opens_a_finding_and_runs_a_saved_query(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.case.save_query("SELECT count(*) AS n FROM events")
        await pilot.press("ctrl+p")
        await pilot.press(*"open finding rug_pull")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _settle(pilot)
        assert app.chain is not None and app.chain.ident == _rug_pull(app).finding_id
        await pilot.press("ctrl+p")
        await pilot.press(*"run saved query count")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _settle(pilot)
        assert app.query_one(TabbedContent).active == "sql"
        assert app.last_result is not None and app.last_result[0] == ["n"] and app.last_result[1][0][0] == 111


async def test_slash_search_next_previous_and_escape(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        await pilot.press("2")
        table = app.query_one("#findings-table", DataTable)
        hits = [i for i, f in enumerate(app.findings) if f.rule_id == "exfiltration"]
        assert len(hits) == 2
        await pilot.press("slash")
        assert app.query_one(SearchBar).has_class("-active")
        assert isinstance(app.focused, Input) and app.focused.id == "search-input"
        await pilot.press(*"exfiltration", "enter")
        assert table.cursor_row == hits[0]
        await pilot.press("enter")
        assert table.cursor_row == hits[1]
        await pilot.press("enter")  # wraps round
        assert table.cursor_row == hits[0]
        await pilot.press("shift+enter")
        assert table.cursor_row == hits[1]
        assert "2/2" in str(app.query_one("#search-status", Static).render())
        await pilot.press("escape")
        assert not app.query_one(SearchBar).has_class("-active")
        assert app.focused is table
        await pilot.press("ctrl+b")  # previous hit without the bar
        assert table.cursor_row == hits[0]


async def test_search_in_the_chain_tree(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.open_finding(_rug_pull(app))
        await _settle(pilot)
        await pilot.press("slash", *"catalog CHANGED", "enter")
        tree = app.query_one(ChainTree)
        assert tree.cursor_node is not None and "catalog CHANGED" in str(tree.cursor_node.label)


async def test_escape_leaves_the_sql_input_and_digits_are_typed(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        await pilot.press("5")
        sql = app.query_one("#sql-input", Input)
        assert app.focused is sql
        await pilot.press(*"SELECT 12")
        assert sql.value == "SELECT 12" and app.query_one(TabbedContent).active == "sql"
        await pilot.press("escape")
        assert app.focused is not sql
        await pilot.press("2")
        assert app.query_one(TabbedContent).active == "findings"
        await pilot.press("3", "tab")
        await pilot.pause()
        filt = app.query_one("#session-filter", Input)
        filt.focus()
        await pilot.press("escape")
        assert app.focused is app.query_one("#sessions-table", DataTable)


async def test_histogram_has_a_time_axis_and_a_brush(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        axis = str(app.query_one("#histogram-axis", Static).render())
        assert "09:00:00" in axis and "┴" in axis
        hist = app.query_one(TimeHistogram)
        hist.focus()
        await pilot.press("right", "shift+right", "shift+right", "right")
        assert hist.brush == (1, 3)
        window = hist.brush_window()
        await pilot.press("enter")
        await _settle(pilot)
        assert app.window == window
        assert "zoomed" in str(app.query_one("#summary", Static).render())


async def test_jump_to_time_zooms_around_it(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.jump_to_time("2026-11-01T09:00:02Z")
        await _settle(pilot)
        assert app.window is not None
        lo, hi = app.window
        assert lo.isoformat() < "2026-11-01T09:00:02" < hi.isoformat()
        assert "zoomed" in str(app.query_one("#summary", Static).render())


async def test_swimlanes_show_lanes_in_time_order_with_evidence(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.open_finding(_rug_pull(app))
        await _settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SwimlaneScreen)
        text = str(app.screen.query_one("#swimlane-body", Static).render())
        lines = text.splitlines()
        assert "host" in lines[0] and "client" in lines[0] and "server" in lines[0]
        assert sum("⚑" in line for line in lines) == len(app.evidence)
        stamps = [line[:12] for line in lines[2:] if line[:2].isdigit()]
        assert stamps == sorted(stamps) and len(stamps) == len(app.chain.event_ids)
        await pilot.press("escape")
        assert not isinstance(app.screen, SwimlaneScreen)


async def test_a_failing_chain_query_is_a_dialog(incident: Path) -> None:
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.open_chain("no-such-id-anywhere")
        await _settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "no-such-id-anywhere" in str(app.screen.query_one("#error-text", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, ErrorDialog)


async def test_an_unexpected_worker_error_does_not_end_the_app(incident: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("the overview broke")

    monkeypatch.setattr(app_module, "overview", broken)
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, ErrorDialog)
        assert "the overview broke" in str(app.screen.query_one("#error-text", Static).render())


async def test_export_case_from_the_palette(incident: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_blackbox.forensics.casebundle import verify_case
    from mcp_blackbox.schema.signing import fingerprint, load_or_create_key, public_pem

    # a case is signed with the store's own key: give this store one, as the collector does (STORE/keys/<fp>.pub)
    key_path = tmp_path / "signing" / "key.pem"
    monkeypatch.setenv("MCP_BLACKBOX_SIGNING_KEY", str(key_path))
    public = load_or_create_key(key_path).public_key()
    (incident / "keys").mkdir(exist_ok=True)
    (incident / "keys" / f"{fingerprint(public)[:16]}.pub").write_bytes(public_pem(public))
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.case.toggle_star(_rug_pull(app).finding_id, "finding")
        await pilot.press("ctrl+p", *"export case")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _settle(pilot)
        bundles = [p for p in (incident / "cases" / "exports").iterdir() if p.name.startswith("default-")]
        assert bundles and verify_case(bundles[0]) == []
