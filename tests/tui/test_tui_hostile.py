"""Every screen of the bench over hostile evidence: nothing reaches the terminal raw, no markup goes live.

The store holds hostile text in every string column (built by the real collector from a spool, see
tests/forensics/hostile_store.py). Each screen — overview, findings, sessions with chips, chain (tree,
timeline, detail), event detail with diff, note dialog, help, SQL console with hostile column names,
toasts after star/copy/export — is rendered and its segments inspected: no control/bidi/invisible
character, no hyperlink, no `@click` action, and the markup visible as literal text. Also: the store-time
crash (an event in 9999), malformed and symlinked case files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from textual.widgets import DataTable, Input, Static, Tree

from mcp_blackbox.tui.app import InvestigatorApp
from mcp_blackbox.tui.screens import EventDetail, HelpScreen, NoteScreen

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "forensics"))

from forensics_fixtures import EventMaker, incident_events, write_store
from hostile_store import CLIP, HOSTILE, TITLE, build_hostile_store, hidden_in

SIZE = (160, 48)
CLI = str(Path(sys.executable).parent / "mcp-blackbox")
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def hostile_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hostile-tui")
    return build_hostile_store(base / "store", base / "key.pem")


@pytest.fixture
def poisoned(hostile_master: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (the bench writes case files)."""
    return Path(shutil.copytree(hostile_master, tmp_path / "store"))


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _segments(app: InvestigatorApp) -> Iterator[Segment]:
    for screen in app.screen_stack:
        update = screen._compositor.render_update(full=True)
        for line in update.strips:
            for strip in line:
                yield from strip


def _check_screen(app: InvestigatorApp, what: str, seen: list[str]) -> str:
    """Assert the rendered screen is inert; returns its text (also kept in `seen`)."""
    segments = list(_segments(app))
    text = "".join(s.text for s in segments)
    assert hidden_in(text) == [], f"{what}: raw {hidden_in(text)} on screen"
    live = [(s.text, s.style.link, s.style.meta) for s in segments if s.style is not None
            and (s.style.link or "@click" in (s.style.meta or {}))]
    assert live == [], f"{what}: live markup {live[:3]}"
    seen.append(text)
    return text


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children:
        yield from _walk(child)


async def test_every_screen_over_hostile_evidence(poisoned: Path) -> None:
    app = InvestigatorApp(poisoned)
    seen: list[str] = []
    async with app.run_test(size=SIZE, notifications=True, tooltips=True) as pilot:
        await _settle(pilot)
        assert app.findings, "detections found nothing to show"
        _check_screen(app, "overview", seen)
        await pilot.press("2")
        await pilot.pause()
        _check_screen(app, "findings", seen)
        await pilot.press("3")
        await _settle(pilot)
        sessions = app.query_one("#sessions-table", DataTable)
        assert sessions.row_count > 0
        sessions.move_cursor(row=0, column=2)  # the server cell
        await pilot.press("p")
        await _settle(pilot)
        assert app.chips
        _check_screen(app, "sessions with a chip", seen)
        app.load_chain("conv-demo-incident" + HOSTILE)
        await _settle(pilot)
        assert app.chain is not None and len(app.chain.event_ids) > 20
        tree = app.query_one("#chain-tree", Tree)
        connection = next(n for n in _walk(tree.root) if str(n.data or "").startswith("connection:"))
        assert HOSTILE in connection.data
        tree.move_cursor(connection)
        await pilot.pause()
        _check_screen(app, "chain", seen)
        await pilot.press("s")  # star a node whose id holds OSC 0/52 and markup
        await pilot.press("c")  # and copy it
        await pilot.pause(0.2)
        screen = _check_screen(app, "chain toasts", seen)
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("starred connection:") for m in messages), messages
        assert any(m.startswith("copied connection:") for m in messages), messages
        assert "starred" in screen and "copied" in screen
        assert "\x1b" not in app.clipboard and "␛]52;c;" in app.clipboard  # pasting replays nothing
        case = json.loads((poisoned / "cases" / "default.json").read_text())
        assert connection.data in case["stars"]  # the exact id is what the case keeps
        call = next(n for n in _walk(tree.root) if n.data in app.chain.rows
                    and app.chain.rows[n.data]["tool_definition_sha256"])
        tree.move_cursor(call)
        await pilot.pause()
        _check_screen(app, "chain node detail", seen)
        app.open_event(call.data)
        await _settle(pilot)
        assert isinstance(app.screen, EventDetail)
        _check_screen(app, "event detail", seen)
        await pilot.press("d", "c", "s")
        await pilot.pause()
        _check_screen(app, "event detail: diff, copy, star", seen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"noted", "enter")
        await pilot.pause()
        _check_screen(app, "note saved", seen)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        _check_screen(app, "help", seen)
        await pilot.press("escape")
        await pilot.press("5")
        sql = app.query_one("#sql-input", Input)
        sql.value = ('SELECT error_message AS "[link=app.quit]col[/link]\x1b]0;T\x07\u202e", * FROM events '
                     "ORDER BY event_id LIMIT 50")
        sql.focus()
        await pilot.press("enter")
        await _settle(pilot)
        assert app.query_one("#sql-table", DataTable).row_count == 50
        _check_screen(app, "sql result", seen)
        sql.value = "SELECT nonsense_column" + HOSTILE
        await pilot.press("enter")
        await _settle(pilot)
        _check_screen(app, "sql error", seen)
        app.query_one("#sql-table", DataTable).focus()
        await pilot.press("e")
        await pilot.pause()
        _check_screen(app, "export toast", seen)
        exported = sorted((poisoned / "cases" / "exports").glob("query-*"))
        csv_text = next(p for p in exported if p.suffix == ".csv").read_text(encoding="utf-8")
        assert hidden_in(csv_text) == [] and "␛]0;" + TITLE in csv_text  # the CLI's CSV policy
        lines = next(p for p in exported if p.suffix == ".jsonl").read_text(encoding="utf-8").splitlines()
        assert hidden_in("\n".join(lines)) == [] and any(HOSTILE in v for v in json.loads(lines[0]).values()
                                                         if isinstance(v, str))  # exact
        app.notify("[@click=app.quit]bye[/] " + HOSTILE, title="[link=app.quit]t[/]" + HOSTILE)
        await pilot.pause()
        _check_screen(app, "direct notification", seen)
    everything = "\n".join(seen)
    # the attack strings are shown, visibly and literally
    assert "␛]0;" + TITLE in everything and "⟨U+202E⟩" in everything
    assert "[link=app.quit]" in everything and "[@click=app.quit]" in everything


async def test_an_event_in_year_9999_and_one_in_year_1_do_not_crash_the_overview(tmp_path: Path) -> None:
    events = incident_events()
    mk = EventMaker()
    late = mk(0, connection_id="conn-late")
    late["event_time"] = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).isoformat()
    early = mk(0, connection_id="conn-early")
    early["event_time"] = datetime(1, 1, 1, tzinfo=UTC).isoformat()
    write_store(tmp_path / "store", events)
    write_store(tmp_path / "store", [late], name="late")
    write_store(tmp_path / "store", [early], name="early")
    app = InvestigatorApp(tmp_path / "store")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        summary = str(app.query_one("#summary", Static).render())
        assert "113 events" in summary and "0001-01-01" in summary and "9999-12-31" in summary
        assert app.query_one("#histogram").data[0] == 1 and app.query_one("#histogram").data[-1] == 1
        await pilot.press("z")  # zoom computes times inside the range
        await _settle(pilot)
        await pilot.press("Z")
        await _settle(pilot)


def _investigate(store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "investigate", "--store", str(store)], capture_output=True, text=True,
                          check=False, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("content", ["{not json", '{"stars": ["a"]}', "[]", '{"notes": {"x": "y"}}', "\udcff"])
def test_a_malformed_case_file_is_a_clear_message(incident: Path, content: str) -> None:
    (incident / "cases").mkdir()
    case = incident / "cases" / "default.json"
    case.write_bytes(content.encode("utf-8", "surrogateescape"))
    proc = _investigate(incident)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "default.json" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert case.read_bytes() == content.encode("utf-8", "surrogateescape")  # the investigator's file, untouched


def test_cases_as_a_symlink_out_of_the_store_is_refused(incident: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (incident / "cases").symlink_to(outside)
    proc = _investigate(incident)
    assert proc.returncode != 0 and "symbolic link" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert list(outside.iterdir()) == []


async def test_symlinks_made_while_the_bench_runs_are_not_followed(incident: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    app = InvestigatorApp(incident)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _settle(pilot)
        (incident / "cases").symlink_to(outside)
        await pilot.press("2", "s")  # star a finding: the case write is refused, the bench goes on
        await pilot.pause()
        assert any("symbolic link" in n.message for n in app._notifications)
        (incident / "cases").unlink()
        (incident / "cases" / "exports").parent.mkdir()
        (incident / "cases" / "exports").symlink_to(outside)
        await pilot.press("5")
        app.query_one("#sql-input", Input).value = "SELECT 1 AS one"
        await pilot.press("enter")
        await _settle(pilot)
        app.query_one("#sql-table", DataTable).focus()
        await pilot.press("e")
        await pilot.pause()
        assert app.is_running
    assert list(outside.iterdir()) == []


#: The issue's reproduction: valid markup (so the old code drew it instead of failing) around OSC 0 and 52.
NOTIFY_ATTACK = f"\x1b]0;{TITLE}\x07\x1b]52;c;{CLIP}\x07[@click=app.quit]CLICK[/]"


def _small_hostile_store(root: Path) -> Path:
    """One call on a connection whose id carries the attack (written directly: fast, no detections needed)."""
    mk = EventMaker()
    events = mk.call(1, "fetch" + HOSTILE, {"q": HOSTILE}, {"content": [{"type": "text", "text": HOSTILE}]},
                     connection_id="conn" + NOTIFY_ATTACK, server_config_name="web" + HOSTILE)
    return write_store(root, events)


async def test_star_and_copy_of_a_hostile_node_toast_inert(tmp_path: Path) -> None:
    """The reproduction: notifications parsed markup and wrote OSC 0/52 raw (title, clipboard, app.quit link)."""
    store = _small_hostile_store(tmp_path / "store")
    app = InvestigatorApp(store)
    seen: list[str] = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _settle(pilot)
        app.load_chain("conn" + NOTIFY_ATTACK)
        await _settle(pilot)
        tree = app.query_one("#chain-tree", Tree)
        node = next(n for n in _walk(tree.root) if str(n.data or "").startswith("connection:"))
        tree.move_cursor(node)
        tree.focus()
        await pilot.press("s", "c")
        await pilot.pause(0.2)
        screen = _check_screen(app, "star/copy toasts", seen)
        assert "[@click=app.quit]CLICK[/]" in screen


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=True).stdout


def test_tmux_title_and_clipboard_untouched_by_a_hostile_node(tmp_path: Path) -> None:
    """The real `investigate` in tmux: starring and copying a node whose id holds OSC 0 and OSC 52."""
    import time
    import uuid

    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the end-to-end TUI test (apt-get install tmux)")
    store = _small_hostile_store(tmp_path / "store")
    socket = f"mcpbb-{uuid.uuid4().hex[:8]}"  # a private server: its options touch no one else's tmux
    conf = tmp_path / "tmux.conf"  # applications' OSC 52 would make a buffer; a fixed size with no client
    conf.write_text("set -s set-clipboard on\nset -g default-size 170x50\n")
    _tmux(socket, "-f", str(conf), "new-session", "-d", "-s", "t", "-x", "170", "-y", "50",
          f"env -u COLUMNS -u LINES {CLI} investigate --store {store}")  # the pane's size, not pytest's
    try:
        title_before = _tmux(socket, "display-message", "-p", "-t", "t", "#{pane_title}").strip()

        def wait_for(needle: str) -> str:
            deadline = time.monotonic() + 30
            screen = ""
            while time.monotonic() < deadline:
                screen = _tmux(socket, "capture-pane", "-p", "-t", "t")
                if needle in screen:
                    return screen
                time.sleep(0.3)
            raise AssertionError(f"{needle!r} never appeared; screen was:\n{screen}")

        wait_for("2 events")
        _tmux(socket, "send-keys", "-t", "t", "3")
        wait_for("conn␛")
        _tmux(socket, "send-keys", "-t", "t", "Enter")
        wait_for("fetch␛")  # the chain of that connection
        _tmux(socket, "send-keys", "-t", "t", "Home")
        _tmux(socket, "send-keys", "-t", "t", "Down")
        time.sleep(0.5)
        _tmux(socket, "send-keys", "-t", "t", "s")
        wait_for("starred")
        _tmux(socket, "send-keys", "-t", "t", "c")
        screen = wait_for("copied")
        assert "[@click=app.quit]" in screen  # the markup shown as text, not drawn as a link
        title = _tmux(socket, "display-message", "-p", "-t", "t", "#{pane_title}").strip()
        assert TITLE not in title and title == title_before
        buffers = _tmux(socket, "list-buffers", "-F", "#{buffer_name}").split()
        contents = [_tmux(socket, "show-buffer", "-b", b) for b in buffers]
        assert not any("PWNED-CLIP" in c for c in contents), contents
        assert all("\x1b" not in c for c in contents), contents  # the copy is the inert form
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
