"""`collect` and `compact` write inert stderr: hostile broker, topic and file names cannot drive the terminal."""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

import pytest
from ingest_helpers import cli_command

from mcp_blackbox.collector.ingest import sources_confluent
from mcp_blackbox.collector.ingest.console_cli import InertFormatter, install_logging, say

HOSTILE = "\x1b]0;PWNED\x07\x1b[2K\r\u202e\x9b"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def _assert_inert(text: str) -> None:
    assert not any(ch in text for ch in RAW), repr(text)


def test_unparsable_source_url_is_one_inert_line(tmp_path: Path) -> None:
    proc = subprocess.run([*cli_command(), "collect", "--source", f"kafka://[{HOSTILE}", "--store",
                           str(tmp_path / "store"), "--key", str(tmp_path / "key.pem")],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcp-blackbox collect: error:"), proc.stderr
    _assert_inert(proc.stderr)


@pytest.mark.skipif(not sources_confluent.available(), reason="confluent-kafka not installed")
def test_kafka_client_log_lines_naming_a_hostile_broker_are_inert(tmp_path: Path) -> None:
    """librdkafka logs the broker name it cannot resolve: those lines go through Python logging, inert."""
    host = "evil" + HOSTILE.replace("[", "(").replace("]", ")") + "host"  # "[" would not parse as a URL
    proc = subprocess.Popen([*cli_command(), "collect", "--client", "confluent", "--source",
                             f"kafka://{host}:9092/mcp", "--store", str(tmp_path / "store"), "--key",
                             str(tmp_path / "key.pem")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(4)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    text = err.decode("utf-8", "replace")
    assert "Failed to resolve" in text, text[:2000]
    _assert_inert(text)
    assert "␛" in text  # shown, not hidden


def test_say_and_log_records_render_file_names_inert(capsys: pytest.CaptureFixture[str]) -> None:
    name = f"events/date=2026-11-24/{HOSTILE}.parquet"
    say(f"compact: merging {name}", progress=True)
    say(f"quarantined: {name}")
    err = capsys.readouterr().err
    assert err.startswith("\r") and err.count("\r") == 1  # the one \r is the progress rewrite, not the name's
    _assert_inert(err[1:])
    record = logging.LogRecord("kafka", logging.WARNING, __file__, 1, "cannot read %s", (name,), None)
    _assert_inert(InertFormatter("%(message)s").format(record))
    handler = install_logging(logging.WARNING)
    assert install_logging(logging.WARNING) is handler  # once per process
    logging.getLogger().removeHandler(handler)
