"""The layout tells the architecture (DESIGN §1), checked in fresh interpreters.

schema imports nothing of ours and nothing heavy; the emitter side never loads DuckDB, pyarrow or
Textual; forensics never loads Textual; and an emitter starts fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("duckdb", "textual", "pyarrow")
REPO = Path(__file__).resolve().parents[1]
EMITTER_MODULES = sorted(
    "mcp_blackbox.collector.emit." + p.stem for p in (REPO / "collector" / "emit").glob("*.py") if p.stem != "__init__"
)


def loaded_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return set(json.loads(out.stdout))


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("module", ["mcp_blackbox", "mcp_blackbox.schema", "mcp_blackbox.cli",
                                    "mcp_blackbox.collector.spool", *EMITTER_MODULES])
def test_light_modules_load_nothing_heavy(module: str) -> None:
    loaded = loaded_after_import(module)
    assert not tops(loaded) & set(HEAVY), f"{module} pulled in {sorted(tops(loaded) & set(HEAVY))}"
    ours = {m for m in loaded if m.startswith("mcp_blackbox.")}
    if module == "mcp_blackbox.schema":
        assert all(m.startswith("mcp_blackbox.schema") for m in ours), sorted(ours)
    assert not any(m.startswith(("mcp_blackbox.forensics", "mcp_blackbox.tui")) for m in ours), sorted(ours)


def test_forensics_never_loads_textual_or_collector() -> None:
    forensics = sorted(
        "mcp_blackbox.forensics." + p.relative_to(REPO / "forensics").with_suffix("").as_posix().replace("/", ".")
        for p in (REPO / "forensics").rglob("*.py") if p.name != "__init__.py"
    )
    code = "import json, sys\n" + "".join(f"import {m}\n" for m in forensics) + "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    loaded = set(json.loads(out.stdout))
    assert "textual" not in tops(loaded)
    assert not any(m.startswith("mcp_blackbox.collector") for m in loaded)


def test_source_files_respect_the_import_direction() -> None:
    """Static check, so an import inside a function cannot sneak past the runtime check."""
    forbidden = {
        "schema": ("mcp_blackbox.collector", "mcp_blackbox.forensics", "mcp_blackbox.tui", "duckdb", "textual"),
        # The ingest service may embed DuckDB as a JSON parser (decode's canonical fast path); the
        # emitter side, which runs inside other people's programs, may not.
        "collector": ("mcp_blackbox.forensics", "mcp_blackbox.tui", "textual"),
        "forensics": ("mcp_blackbox.tui", "mcp_blackbox.collector", "textual"),
    }
    emit_forbidden = ("pyarrow", "duckdb")
    problems = []
    for folder, names in forbidden.items():
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            extra = emit_forbidden if "emit" in path.parts else ()
            for name in (*names, *extra):
                if f"import {name}" in text or f"from {name} " in text or f"from {name}." in text:
                    problems.append(f"{path.relative_to(REPO)} imports {name}")
    assert problems == []
