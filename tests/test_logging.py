"""One logging path (issue 12): loggers named by module, configured once by the CLI, no prints in library code."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_blackbox.logs import configure

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("mcp-blackbox"))
LIBRARY = ("collector", "forensics", "tui", "schema")


def _is_cli_layer(path: Path) -> bool:
    return path.name == "cli.py" or path.name.endswith("_cli.py") or path.name.startswith("cli_")


def _library_modules() -> list[Path]:
    return sorted(p for top in LIBRARY for p in (REPO / top).rglob("*.py") if not _is_cli_layer(p))


def test_library_code_never_prints() -> None:
    call = re.compile(r"(?<![\w.])print\(")
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in _library_modules()
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if call.search(line)]
    assert call.search('print(f"mcp-blackbox collect: kafka: {msg.error()}", file=sys.stderr)')
    assert not hits, "\n".join(hits)


def test_every_logger_is_named_after_its_module() -> None:
    named = re.compile(r"getLogger\((?!__name__\))")
    files = [p for top in (*LIBRARY, "cli") for p in (REPO / top).rglob("*.py")]
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in files
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if named.search(line) and "getLogger()" not in line and "ingest.consumer" not in line]
    assert named.search('log = logging.getLogger("mcp_blackbox.emit")')
    assert not hits, "\n".join(hits)


def test_json_lines_formatter() -> None:
    stream = io.StringIO()
    handler = configure("json", stream=stream)
    try:
        logging.getLogger("mcp_blackbox.collector.ingest.decode").warning("fast path off: %s", "boom")
        logging.getLogger("mcp_blackbox.collector.ingest.decode").info("not shown at the default level")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "warning" and entry["logger"] == "mcp_blackbox.collector.ingest.decode"
    assert entry["message"] == "fast path off: boom" and entry["time"].endswith("+00:00")


def _wrap_stderr(tmp_path: Path, *flags: str, before: bool) -> str:
    """`wrap` with an unusable sink logs one warning (it falls back to the overflow spool)."""
    cmd = [CLI, *(flags if before else ()), "wrap", *(() if before else flags), "--name", "t",
           "--sink", f"spool://{tmp_path / 'file'}/spool", "--", sys.executable, "-c", "pass"]
    (tmp_path / "file").write_text("a file where the spool directory should go")
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(tmp_path / "state")})
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.parametrize("before", [True, False], ids=["before-command", "after-command"])
def test_log_format_json_on_the_command_line(tmp_path: Path, before: bool) -> None:
    lines = [line for line in _wrap_stderr(tmp_path, "--log-format", "json", before=before).splitlines() if line]
    entries = [json.loads(line) for line in lines]  # every stderr line is a JSON object
    assert any(e["level"] == "warning" and "unusable" in e["message"] and e["logger"].startswith("mcp_blackbox.")
               for e in entries), lines


def test_human_lines_by_default(tmp_path: Path) -> None:
    lines = [line for line in _wrap_stderr(tmp_path, before=True).splitlines() if line]
    assert any(line.startswith("mcp-blackbox: sink ") and "unusable" in line for line in lines), lines
    assert not any(line.startswith("{") for line in lines)
