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
    """`pip install .[demo]` (not editable) then the demo from a directory that is not the checkout."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"TMPDIR": str(scratch)}
    subprocess.run([str(py), "-m", "pip", "install", "-q", f"{REPO}[demo]"], check=True, env=env, timeout=900)
    out = subprocess.run([str(env_dir / "bin" / "mcp-blackbox"), "--version"], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env=env)
    assert out.stdout.strip().startswith("mcp-blackbox 0.")
    probe = subprocess.run([str(py), "-c", "import schema"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert probe.returncode != 0 and "No module named 'schema'" in probe.stderr
    ok = subprocess.run([str(py), "-c", "import mcp_blackbox.schema, mcp_blackbox.collector, json; "
                         "from mcp_blackbox.schema.docs import JSON_SCHEMA_PATH; print(JSON_SCHEMA_PATH.exists())"],
                        capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    assert ok.stdout.strip() == "True"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    demo = subprocess.run([str(env_dir / "bin" / "mcp-blackbox"), "demo", "--no-tui", "--store", "store"],
                          capture_output=True, text=True, cwd=elsewhere, timeout=600, check=False,
                          env=env | {"MCP_BLACKBOX_SIGNING_KEY": str(tmp_path / "key.pem")})
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "injection_chain" in demo.stdout and "action chain of conversation conv-demo-incident" in demo.stdout
    assert (elsewhere / "store" / "events").is_dir()
    # the servers ran from the installed package, not from this checkout
    spawned = subprocess.run([str(py), "-c", "from mcp_blackbox.samples.demo_agent import server_script; "
                              "print(server_script('helpdesk'))"], capture_output=True, text=True, cwd=elsewhere,
                             env=env, check=True)
    assert Path(spawned.stdout.strip()).is_relative_to(env_dir) and str(REPO) not in spawned.stdout
    assert not list(scratch.glob("mcp-blackbox-demo-*")), "the demo left its temporary spool behind"
