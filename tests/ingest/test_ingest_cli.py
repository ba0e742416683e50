"""`collect` as users run it: SIGTERM flushes and exits cleanly; mistakes give one line, not a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from ingest_eventgen import EventFactory
from ingest_helpers import cli_command, event_ids, start_collect
from ingest_store import spool_values

from mcp_blackbox.collector.ingest.verify import verify_store


def test_sigterm_flushes_and_exits_cleanly(tmp_path: Path, signing_key: Path) -> None:
    values = [v for _, v in EventFactory(seed=77).wire(5000)]
    spool = spool_values(tmp_path / "spool", {"w": values})
    store = tmp_path / "store"
    # No --until-idle and a long flush interval: only the SIGTERM path can make these events durable.
    proc = start_collect(["--source", f"spool://{spool}", "--store", str(store), "--flush-idle", "3600",
                          "--flush-seconds", "3600", "--stats", "--stats-interval", "0.2"],
                         {"MCP_BLACKBOX_SIGNING_KEY": str(signing_key)})
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = b""
    while b"5000 records" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    assert not list((store / "manifests").glob("*.json")), "nothing may be committed before the signal"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert sorted(event_ids(store)) == sorted(json.loads(v)["event_id"] for v in values)
    assert verify_store(store).problems == []


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    for args in (["collect", "--source", "ftp://x/y", "--store", str(tmp_path / "s")],
                 ["collect", "--source", f"spool://{tmp_path / 'missing'}", "--store", str(tmp_path / "s")],
                 ["verify", "--store", str(tmp_path)],
                 ["compact", "--store", str(tmp_path)]):
        proc = subprocess.run([*cli_command(), *args], capture_output=True, text=True, check=False)
        assert proc.returncode != 0
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
