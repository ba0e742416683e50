"""The server hook against the 1.x `mcp` SDK (FastMCP, stdio), in a separate venv under .cache/.

The venv is made on first use (`pip install "mcp>=1.20,<2"` from PyPI); mcp-blackbox is imported
there from this checkout through a tree of symlinks with the installed layout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from emit_helpers import spooled

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "sdk1"


def _cache() -> Path:
    return Path(os.environ.get("MCP_BLACKBOX_CACHE") or REPO / ".cache")


def _venv() -> Path:
    venv = _cache() / "mcp1-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('mcp'))"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0 or not probe.stdout.startswith("1."):
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mcp>=1.20,<2"], check=True, timeout=900)
    return python


def _source_tree() -> Path:
    """mcp_blackbox/{__init__,schema,collector,…} -> this checkout (what an install would look like)."""
    root = _cache() / "mcp1-src"
    pkg = root / "mcp_blackbox"
    pkg.mkdir(parents=True, exist_ok=True)
    links = {f.name: f for f in (REPO / "cli").glob("*.py")}
    links.update({d: REPO / d for d in ("schema", "collector", "forensics")})
    for name, target in links.items():
        link = pkg / name
        if not link.is_symlink():
            link.symlink_to(target)
    return root


@pytest.mark.timeout(900)
def test_fastmcp_1x_server_hook_records_every_message(tmp_path: Path) -> None:
    python = _venv()
    env = {**os.environ, "PYTHONPATH": str(_source_tree())}
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('mcp'))"],
                             capture_output=True, text=True, check=True, env=env).stdout.strip()
    assert version.startswith("1.")
    out = subprocess.run([str(python), str(HERE / "client_v1.py"), str(tmp_path)], capture_output=True, text=True,
                         timeout=120, check=False, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout)
    assert seen["tools"] == ["fail", "forecast"] and seen["ok"] == "sunny in Oslo" and seen["bad_is_error"]
    events = spooled(tmp_path)
    assert events and {e["emitter_role"] for e in events} == {"server"}
    assert {e["server_config_name"] for e in events} == {"weather-v1"}
    messages = [e for e in events if e["event_type"] == "message"]
    keyed = sorted((e.get("method"), e["message_kind"]) for e in messages)
    for expected in (("initialize", "request"), ("initialize", "result"), ("notifications/initialized",
                     "notification"), ("tools/list", "request"), ("tools/list", "result")):
        assert expected in keyed
    assert len(keyed) == len(set(keyed)) + 2, "each message once (two tools/call requests and results)"
    assert not [e for e in messages if e.get("status") == "uncorrelated"]
    init = next(e for e in messages if e.get("method") == "initialize" and e["message_kind"] == "result")
    assert init["server_name"] == "weather-v1" and init["mcp_protocol_version"] == seen["protocol"]
    calls = [e for e in messages if e.get("method") == "tools/call" and e["message_kind"] == "result"]
    by_tool = {e["tool_name"]: e for e in calls}
    assert by_tool["forecast"]["status"] == "ok" and by_tool["forecast"]["duration_ms"] is not None
    assert by_tool["fail"]["status"] == "tool_error" and by_tool["fail"]["is_error"] is True
    assert any(e["event_type"] == "catalog" for e in events), "the tools/list answer made a catalog event"
