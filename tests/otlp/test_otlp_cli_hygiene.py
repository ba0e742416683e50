"""`mcp-blackbox otlp` argument errors, and the OTLP dependency staying out of the other emitter paths."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OTHER_EMITTER_MODULES = sorted(
    "mcp_blackbox.collector.emit." + p.stem for p in (REPO / "collector" / "emit").glob("*.py")
    if p.stem != "__init__" and not p.stem.startswith("otlp")
)


def _otlp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcp_blackbox", "otlp", *args], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999", "127.0.0.1:"])
def test_bad_listen_is_one_line(listen: str, tmp_path: Path) -> None:
    proc = _otlp("--listen", listen, "--sink", f"spool://{tmp_path}")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--listen must be HOST:PORT" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = _otlp("--listen", f"127.0.0.1:{port}", "--sink", f"spool://{tmp_path}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "cannot listen" in proc.stderr


def test_other_emitter_paths_do_not_load_protobuf() -> None:
    code = ("import json, sys\n" + "".join(f"import {m}\n" for m in OTHER_EMITTER_MODULES)
            + "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    loaded = set(json.loads(out.stdout))
    assert not {m for m in loaded if m.startswith(("opentelemetry.proto", "google.protobuf"))}
    assert not {m for m in loaded if m.startswith("mcp_blackbox.collector.emit.otlp")}
