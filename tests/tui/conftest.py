"""TUI fixtures: the frozen incident store and one with hostile terminal content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from forensics_fixtures import EventMaker, incident_events, write_store

HOSTILE = "ok\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\u202eevil\u200b[bold]markup[/bold]"


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    """A fresh copy per test (case files are written under STORE/cases/); a stable name for snapshots."""
    root = tmp_path / "incident"
    write_store(root, incident_events())
    return root


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A store whose tool output tries to drive the investigator's terminal."""
    root = tmp_path / "hostile"
    mk = EventMaker()
    events = mk.call(1, "fetch_page", {"url": "https://evil.example"},
                     {"content": [{"type": "text", "text": HOSTILE}]}, server_config_name="web", trace_id="a" * 32)
    events[0]["tool_call_id"] = events[1]["tool_call_id"] = "call_hostile"
    # JSON text escapes control characters itself (\u001b); free-text fields carry them raw
    events[1].update(message_kind="error", status="error", error_code=-32000, error_message=HOSTILE)
    events.append(mk(0.5, event_type="host", event_subtype="tool_choice", tool_call_id="call_hostile",
                     tool_name="fetch_page", server_config_name="web", emitter_role="host", direction="internal",
                     arguments_json=json.dumps({"note": HOSTILE}, ensure_ascii=False)))
    write_store(root, events)
    return root


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio (Textual's loop)."""
    return "asyncio"
