"""Every CLI output over a store with hostile text in every string column stays inert on a terminal.

The store is built through the real collector from a spool (hostile_store.py). Each output — `sql` as
table, CSV and JSON over every view, `chain` as tree, JSON and markdown, the blast radius, `detect`,
`export` to stdout, `verify`, error messages — must hold no raw control, C1, bidi or zero-width character
(newline and tab are structure); JSON must stay valid and decode to the exact stored values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_blackbox.cli import main
from mcp_blackbox.forensics.output import render
from mcp_blackbox.forensics.views import VIEW_DOCS
from mcp_blackbox.schema.textsafe import HIDDEN, has_hidden, inert, json_text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_store import CLIP, HOSTILE, TITLE, build_hostile_store, hidden_in

CLI = str(Path(sys.executable).parent / "mcp-blackbox")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hostile-cli")
    return build_hostile_store(base / "store", base / "key.pem")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_inert(text: str, what: str) -> None:
    assert hidden_in(text) == [], f"{what} printed raw {hidden_in(text)}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


# -- the rendering itself -------------------------------------------------------------------------

def test_hidden_covers_every_control_format_and_separator_character() -> None:
    wanted = [chr(cp) for cp in range(0x110000) if chr(cp) not in "\t\n"
              and unicodedata.category(chr(cp)) in ("Cc", "Cf", "Zl", "Zp", "Cs")]
    wanted += ["\u115f", "\u1160", "\u3164", "\uffa0"]  # Hangul fillers: letters, blank on screen
    assert [f"U+{ord(c):04X}" for c in wanted if not HIDDEN.fullmatch(c)] == []
    for char in wanted:  # the fast paths agree with the set, inside text too
        text = f"a{char}b\u00e9"
        assert has_hidden(text) and inert(text) != text and hidden_in(inert(text)) == [], f"U+{ord(char):04X}"
        assert hidden_in(json_text([text])) == [] and json.loads(json_text([text])) == [text]
    plain = "plain text, ünïcode, emoji 🙂, 中文, and spaces"
    assert not has_hidden(plain) and inert(plain) == plain and json_text(plain) == json.dumps(plain, ensure_ascii=False)
    assert inert(HOSTILE) == inert(inert(HOSTILE))  # markers are plain visible text: idempotent
    assert "␛]0;" in inert(HOSTILE) and "⟨U+202E⟩" in inert(HOSTILE) and "⟨U+000D⟩" in inert(HOSTILE)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text() | st.none() | st.integers(),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
                    max_leaves=12))
def test_json_text_is_valid_exact_and_inert(value: Any) -> None:
    for indent in (None, 1):
        text = json_text(value, indent=indent)
        assert hidden_in(text) == []
        assert json.loads(text) == value


def test_csv_guards_formulas_and_keeps_numbers() -> None:
    from mcp_blackbox.forensics.output import csv_cell

    out = render(["a", "b"], [("=HYPERLINK(\"http://x\")", -5), ("+1+1", 2.5), ("@SUM(A1)", None),
                              ("-2", 0), ("\tx", 1), ("plain", 3)], "csv")
    lines = out.split("\n")
    assert lines[1] == '"\'=HYPERLINK(""http://x"")",-5'
    assert lines[2:] == ["'+1+1,2.5", "'@SUM(A1),", "'-2,0", "'\tx,1", "plain,3"]
    assert [csv_cell(v) for v in ("+1+1", "@SUM(A1)", "-2", "\tx", "plain", -5)] == \
        ["'+1+1", "'@SUM(A1)", "'-2", "'\tx", "plain", -5]
    assert "\r" not in out


# -- every output over the hostile store ----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_every_view_every_format(store: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    for view in VIEW_DOCS:
        code, out, err = _run(capsys, "sql", "--store", str(store), "--format", fmt, f"SELECT * FROM {view}")  # noqa: S608
        assert code == 0, err
        _assert_inert(out + err, f"sql --format {fmt} FROM {view}")
        if fmt == "json":
            json.loads(out)


def test_sql_table_and_csv_show_the_characters_visibly(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "sql", "--store", str(store), "SELECT error_message FROM events")
    assert code == 0 and "␛]0;" + TITLE + "⟨U+0007⟩␛]52;c;" in out  # table cells are cut at 60 characters
    code, out, _ = _run(capsys, "sql", "--store", str(store), "--format", "csv", "SELECT error_message FROM events")
    assert code == 0
    assert "␛]0;" + TITLE in out and "⟨U+202E⟩evil⟨U+200B⟩" in out and "⟨U+000D⟩␛[2Kover" in out
    assert "[link=app.quit]LINK[/link]" in out  # markup is plain text here, shown as such


def test_sql_json_round_trips_the_exact_values(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "sql", "--store", str(store), "--format", "json",
                          "SELECT * EXCLUDE (event_time, ingest_time) FROM events ORDER BY event_id")
    assert code == 0, err
    printed = json.loads(out)
    con = duckdb.connect()
    cur = con.execute(f"SELECT * EXCLUDE (event_time, ingest_time, date) FROM read_parquet("  # noqa: S608
                      f"'{store}/events/**/*.parquet', hive_partitioning = true) ORDER BY event_id")
    names = [d[0] for d in cur.description]
    stored = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert len(printed) == len(stored) == 114
    for p, s in zip(printed, stored, strict=True):
        for name, value in s.items():
            if isinstance(value, str | list):
                assert p[name] == value, name
    assert sum(HOSTILE in s for row in printed for s in _strings(row)) > 114 * 40


def test_chain_tree_json_markdown_and_blast_radius(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conversation = "conv-demo-incident" + HOSTILE
    for fmt in ("tree", "json", "markdown"):
        code, out, err = _run(capsys, "chain", "--store", str(store), "--format", fmt, conversation)
        assert code == 0, err
        _assert_inert(out + err, f"chain --format {fmt}")
        if fmt == "json":
            assert any(HOSTILE in s for s in _strings(json.loads(out)))  # exact values, escaped
        else:
            assert "␛]0;" + TITLE in out  # visible
    for fmt in ("tree", "json"):
        code, out, err = _run(capsys, "chain", "--store", str(store), "--blast-radius", "--format", fmt,
                              "--server", "customers" + HOSTILE)
        assert code == 0, err
        _assert_inert(out + err, f"chain --blast-radius --format {fmt}")


def test_detect_and_export(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("table", "json"):
        code, out, err = _run(capsys, "detect", "--store", str(store), "--format", fmt)
        assert code == 0, err
        _assert_inert(out + err, f"detect --format {fmt}")
        if fmt == "json":
            findings = json.loads(out)
            assert findings and any(HOSTILE in s for f in findings for s in _strings(f))
    for fmt in ("jsonl", "ocsf"):
        code, out, err = _run(capsys, "export", "--store", str(store), "--format", fmt)
        assert code == 0, err
        _assert_inert(out + err, f"export --format {fmt}")
        records = [json.loads(line) for line in out.splitlines()]
        assert records and any(HOSTILE in s for r in records for s in _strings(r))


def test_error_messages_quote_evidence_inert(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "chain", "--store", str(store), "no-such-id" + HOSTILE)
    assert code != 0
    _assert_inert(out + err, "chain error")
    assert "no-such-id" in err and TITLE in err


def test_real_binary_csv_to_a_pipe(store: Path) -> None:
    """The issue's reproduction: `sql --format csv` wrote raw ESC, C1, RLO and zero-width characters."""
    proc = subprocess.run([CLI, "sql", "--store", str(store), "--format", "csv",
                           "SELECT tool_name, error_message, result_json FROM events"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    _assert_inert(proc.stdout, "sql --format csv")
    assert CLIP in proc.stdout  # still there, visibly: "␛]52;c;…"


def test_verify_prints_a_hostile_file_name_inert(store: Path, tmp_path: Path) -> None:
    """A file named `\\r\\x1b[2K…` must not erase its own TAMPERED line."""
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    source = next((copy / "events").rglob("*.parquet"))
    shutil.copy(source, source.with_name("x\r\x1b[2Kverify: intact\u202e.parquet"))
    env = dict(os.environ)
    for extra in ([], ["--json"]):
        proc = subprocess.run([CLI, "verify", "--store", str(copy), *extra], capture_output=True, text=True,
                              check=False, env=env)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        _assert_inert(proc.stdout + proc.stderr, f"verify {extra}")
        if extra:
            problems = json.loads(proc.stdout)["problems"]
            assert any("x\r\x1b[2Kverify: intact\u202e.parquet" in p for p in problems)  # exact in JSON
        else:
            line = next(li for li in proc.stdout.splitlines() if "inserted" in li)
            assert line.startswith("TAMPERED ") and "x⟨U+000D⟩␛[2Kverify: intact⟨U+202E⟩.parquet" in line
