"""The README's SDK hook snippets run as written (imports included), against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from emit_helpers import spooled

REPO = Path(__file__).resolve().parents[2]


def _snippets() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Your own Python client or server**"):]
    return re.findall(r"```python\n(.*?)```", section, re.S)[:2]


def test_readme_tap_and_instrument_snippets_run(tmp_path: Path) -> None:
    client, server = _snippets()
    assert "import" in client and "tap(" in client and "instrument_server(" in server
    # the client snippet uses top-level await: run it in an async main, as a user would
    script = "import anyio\n\nasync def main():\n" + textwrap.indent(
        "\n".join(line for line in client.splitlines() if line.startswith(("from ", "import "))) + "\n"
        + "\n".join(line for line in client.splitlines() if not line.startswith(("from ", "import "))), "    ") \
        + "\n\nanyio.run(main)\n"
    server_script = server + "\n\n@server.tool()\ndef forecast(city: str) -> str:\n    return city\n"
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "MCP_BLACKBOX_SINK": f"spool://{tmp_path}", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "get_current_time" in out.stdout
    events = spooled(tmp_path)
    assert any(e.get("method") == "tools/list" and e.get("message_kind") == "result" and e["emitter_role"] == "client"
               and e.get("server_config_name") == "time" for e in events)
    done = subprocess.run([sys.executable, "-c", server_script], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
