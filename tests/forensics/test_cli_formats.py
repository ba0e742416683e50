"""The CLI pipes and draws: ndjson/csv everywhere rows come out, LF only, JSON field names in tables,
`--wide`, chain pictures — real subprocess runs over the frozen incident store, goldens for new formats."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "mcp-blackbox")
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("MCP_BLACKBOX_UPDATE_GOLDEN") == "1"
CONV = "conv-demo-incident"


def _out(*args: str) -> bytes:
    proc = subprocess.run([CLI, *args], capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"\r" not in proc.stdout  # LF line endings everywhere
    return proc.stdout


def _golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from the golden file"


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_chain_pictures_golden(incident_store: Path, fmt: str) -> None:
    data = _out("chain", "--store", str(incident_store), CONV, "--format", fmt)
    _golden(f"incident.chain.{ {'mermaid': 'mmd'}.get(fmt, fmt)}", data)
    text = data.decode()
    assert "send_webhook" in text and "\x1b" not in text
    if fmt == "svg":
        import xml.etree.ElementTree as ET

        assert ET.fromstring(text).tag.endswith("svg")  # noqa: S314 - our own output, parsed to check it is XML


def test_chain_ndjson_one_event_a_line(incident_store: Path) -> None:
    data = _out("chain", "--store", str(incident_store), CONV, "--format", "ndjson")
    rows = [json.loads(line) for line in data.decode().splitlines()]
    tree = json.loads(_out("chain", "--store", str(incident_store), CONV, "--format", "json"))
    assert [r["event_id"] for r in rows if r["event_id"] in set(tree["event_ids"])]
    assert len(rows) == len({r["event_id"] for r in rows}) >= len(tree["roots"])
    assert all("children" not in r and "depth" in r for r in rows)
    assert {r["parent_event_id"] for r in rows if r["depth"]} <= {r["event_id"] for r in rows}
    _golden("incident.chain.ndjson", data)


def test_chain_tree_keeps_status_and_duration_on_long_lines(incident_store: Path) -> None:
    lines = _out("chain", "--store", str(incident_store), CONV).decode().splitlines()
    rows = {r["event_id"]: r for r in map(json.loads, _out("chain", "--store", str(incident_store), CONV,
                                                         "--format", "ndjson").decode().splitlines())}
    timed = [r for r in rows.values() if r["duration_ms"] is not None and r["status"]]
    assert timed
    shown = [ln for ln in lines if "←" in ln and "tools/call" in ln]
    assert len(shown) >= len(timed) // 2
    missing = [ln for ln in shown if not re.search(r"  \(\w+; [\d.]+ms", ln)]
    assert not missing, "status/duration cut off:\n" + "\n".join(missing)
    assert max(map(len, lines)) > 160  # long lines exist: the summary was cut, the tail kept
    wide = _out("chain", "--store", str(incident_store), CONV, "--wide").decode().splitlines()
    assert max(map(len, wide)) > max(map(len, lines))


def test_sql_ndjson_and_wide(incident_store: Path) -> None:
    query = "SELECT event_id, arguments_json FROM events WHERE arguments_json IS NOT NULL ORDER BY event_id LIMIT 5"
    data = _out("sql", "--store", str(incident_store), query, "--format", "ndjson")
    rows = [json.loads(line) for line in data.decode().splitlines()]
    assert len(rows) == 5 and set(rows[0]) == {"event_id", "arguments_json"}
    _golden("incident.sql.ndjson", data)
    longest = max(rows, key=lambda r: len(r["arguments_json"]))["arguments_json"]
    assert len(longest) > 60
    table = _out("sql", "--store", str(incident_store), query).decode()
    assert "…" in table and longest not in table
    wide = _out("sql", "--store", str(incident_store), query, "--no-truncate").decode()
    assert "…" not in wide and longest in wide
    assert _out("sql", "--store", str(incident_store), "SELECT 1 WHERE false", "--format", "ndjson") == b""


def test_detect_csv_ndjson_and_field_names(incident_store: Path) -> None:
    store = str(incident_store)
    findings = json.loads(_out("detect", "--store", store, "--format", "json"))
    ndjson = _out("detect", "--store", store, "--format", "ndjson")
    assert [json.loads(line) for line in ndjson.decode().splitlines()] == findings
    csv_data = _out("detect", "--store", store, "--format", "csv")
    import csv
    import io

    parsed = list(csv.DictReader(io.StringIO(csv_data.decode())))
    assert [r["finding_id"] for r in parsed] == [f["finding_id"] for f in findings]
    assert set(parsed[0]) <= set(findings[0]) and "rule_id" in parsed[0]
    _golden("incident.detect.csv", csv_data)
    _golden("incident.detect.ndjson", ndjson)
    header = _out("detect", "--store", store).decode().splitlines()[0].split()
    assert set(header) <= set(findings[0]), header  # the table says rule_id where JSON says rule_id
    rules_header = _out("detect", "--list-rules").decode().splitlines()[0].split()
    assert rules_header == ["rule_id", "severity", "cosai_threats", "title"]


def test_detect_progress_on_a_terminal_silence_when_piped(incident_store: Path) -> None:
    piped = subprocess.run([CLI, "detect", "--store", str(incident_store)], capture_output=True, timeout=120,
                           check=False)
    assert piped.returncode == 0 and piped.stderr == b""  # nothing on a pipe
    master, slave = os.openpty()
    try:
        proc = subprocess.run([CLI, "detect", "--store", str(incident_store), "--format", "ndjson"],
                              stdout=subprocess.PIPE, stderr=slave, timeout=120, check=False)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    text = seen.decode()
    assert "\rdetect: rule 1/" in text and "rug_pull" in text
    assert text.endswith("\r")  # the progress line is erased at the end
    assert all(json.loads(line) for line in proc.stdout.decode().splitlines())  # stdout carries only results
