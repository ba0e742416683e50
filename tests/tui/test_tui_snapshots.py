"""SVG snapshots of the main screens on the frozen incident (fixed terminal size, data with fixed times)."""

from __future__ import annotations

from pathlib import Path

from mcp_blackbox.tui.app import InvestigatorApp

SIZE = (150, 45)


async def _ready(pilot) -> None:
    # the overview's worker starts the findings and sessions workers once it has painted; tables resize on idle
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


def test_overview_snapshot(snap_compare, incident: Path) -> None:
    assert snap_compare(InvestigatorApp(incident), terminal_size=SIZE, run_before=_ready)


def test_findings_snapshot(snap_compare, incident: Path) -> None:
    async def go(pilot) -> None:
        await _ready(pilot)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(InvestigatorApp(incident), terminal_size=SIZE, run_before=go)


def test_chain_snapshot(snap_compare, incident: Path) -> None:
    async def go(pilot) -> None:
        await _ready(pilot)
        await pilot.press("2", "enter")
        await _ready(pilot)

    assert snap_compare(InvestigatorApp(incident), terminal_size=SIZE, run_before=go)
