"""Installing the distribution: namespace layout, console script, error convention."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_bare_schema_name_is_not_ours(tmp_path: Path) -> None:
    code = "import importlib.util as u; s = u.find_spec('schema'); print(s.origin if s else 'none')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert str(REPO) not in out.stdout


def test_version_and_module_entry_point() -> None:
    exe = Path(sys.executable).with_name("mcp-blackbox")
    for cmd in ([str(exe), "--version"], [sys.executable, "-m", "mcp_blackbox", "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd="/")
        assert out.stdout.startswith("mcp-blackbox ")


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("mcp-blackbox"))
    cases = [
        [exe, "schema", "--bogus-flag"],
        [exe, "sql", "--store", str(tmp_path / "missing"), "SELECT 1"],
        [exe, "verify", "--store", str(tmp_path / "missing")],
    ]
    for cmd in cases:
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert out.returncode != 0, cmd
        assert "Traceback" not in out.stderr, out.stderr
        assert out.stderr.strip(), cmd
        if "--bogus-flag" not in cmd:
            assert len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.slow
def test_non_editable_install_in_a_fresh_venv(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(REPO)], check=True, env=env, timeout=600)
    out = subprocess.run([str(env_dir / "bin" / "mcp-blackbox"), "--version"], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env=env)
    assert out.stdout.strip().startswith("mcp-blackbox 0.")
    probe = subprocess.run([str(py), "-c", "import schema"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert probe.returncode != 0 and "No module named 'schema'" in probe.stderr
    ok = subprocess.run([str(py), "-c", "import mcp_blackbox.schema, mcp_blackbox.collector, json; "
                         "from mcp_blackbox.schema.docs import JSON_SCHEMA_PATH; print(JSON_SCHEMA_PATH.exists())"],
                        capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    assert ok.stdout.strip() == "True"
