"""The installed `mcp-blackbox investigate` in a real terminal (tmux): open a finding and its chain; search for
the rug pull and open it on its evidence."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "mcp-blackbox")


def _capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True,
                          check=True).stdout


def _wait_for(session: str, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _capture(session)
        if needle in screen:
            return screen
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} never appeared; screen was:\n{screen}")


def test_open_a_finding_and_its_chain_in_tmux(incident: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the end-to-end TUI test (apt-get install tmux)")
    session = f"mcpbb-{uuid.uuid4().hex[:8]}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "170", "-y", "50",
                    f"{CLI} investigate --store {incident}"], check=True)
    # a detached session with no client may stay at tmux's default 80x24: fix the size the test reads
    subprocess.run(["tmux", "set-option", "-t", session, "window-size", "manual"], capture_output=True, check=False)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "170", "-y", "50"], capture_output=True, check=False)
    try:
        _wait_for(session, "111 events")
        subprocess.run(["tmux", "send-keys", "-t", session, "2"], check=True)
        screen = _wait_for(session, "injection_chain")
        assert "critical" in screen and "exfiltration" in screen and "rug_pull" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        screen = _wait_for(session, "[host_decision/")
        assert "tools/call" in screen and "customers.query" in screen
        # `/` search over the findings, then open the rug pull on its evidence (both listings, the diff)
        subprocess.run(["tmux", "send-keys", "-t", session, "2", "/"], check=True)
        _wait_for(session, "search the visible view")
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "rug_pull"], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        _wait_for(session, "1/1")
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        time.sleep(0.5)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        # the chain opens on the evidence (the list_changed notification), with the definition diff under it
        screen = _wait_for(session, "tool(s) changed since the previous listing")
        assert "notifications/tools/list_changed" in screen and "--- get_forecast" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "w"], check=True)  # swimlanes
        screen = _wait_for(session, "⚑ gateway")  # opens on the first evidence event, red in its lane
        assert "◆" in screen and "●" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        time.sleep(0.5)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and subprocess.run(["tmux", "has-session", "-t", session],
                                                             capture_output=True, check=False).returncode == 0:
            time.sleep(0.3)
        assert subprocess.run(["tmux", "has-session", "-t", session], capture_output=True,
                              check=False).returncode != 0, "q quits"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)
