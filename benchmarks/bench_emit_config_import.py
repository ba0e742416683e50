"""Emitter start-up cost of the capture configuration: import and `load_config()` in fresh interpreters.

One command:  .venv/bin/python benchmarks/bench_emit_config_import.py [--runs 15]

Each case runs in a new `python -c` process (so every import is cold in-process, warm on disk), `--runs`
times; prints the median and minimum wall time per case, and the same-run baselines: an empty interpreter
and `import pydantic` (the emitter imports pydantic anyway, for event validation). The cases:
  * import mcp_blackbox.collector.emit.config
  * import mcp_blackbox.collector.emit.emitter        (what `wrap` / an embedded emitter imports)
  * load_config() with a plain file                   (no Kafka security: pydantic-settings not imported)
  * load_config() with a [kafka] TLS/SASL table       (pydantic-settings imported to validate it)
and whether pydantic_settings ended up in sys.modules in each case.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = 'sink = "spool:///tmp/bench-spool"\npayload_mode = "full"\n'
SECURE = PLAIN + '[kafka]\nsecurity_protocol = "SASL_SSL"\nsasl_mechanism = "PLAIN"\nsasl_plain_password = "x"\n'
PROBE = "import sys; print('pydantic_settings' in sys.modules)"


def _case(code: str, runs: int) -> tuple[float, float, str]:
    times = []
    loaded = ""
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", f"{code}\n{PROBE}"], capture_output=True, text=True,
                             check=True, timeout=60)
        times.append(time.perf_counter() - start)
        loaded = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    return statistics.median(times), min(times), loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, secure = Path(tmp) / "plain.toml", Path(tmp) / "secure.toml"
        plain.write_text(PLAIN)
        secure.write_text(SECURE)
        load = "from mcp_blackbox.collector.emit.config import load_config; load_config({!r}, env={{}})"
        cases = {
            "baseline: empty interpreter": "pass",
            "baseline: import pydantic": "import pydantic",
            "import emit.config": "import mcp_blackbox.collector.emit.config",
            "import emit.emitter": "import mcp_blackbox.collector.emit.emitter",
            "load_config(plain file)": load.format(str(plain)),
            "load_config([kafka] TLS/SASL)": load.format(str(secure)),
        }
        print(f"{'case':34} {'median ms':>10} {'min ms':>8}  pydantic_settings loaded")
        for name, code in cases.items():
            median, best, loaded = _case(code, args.runs)
            print(f"{name:34} {median * 1000:10.1f} {best * 1000:8.1f}  {loaded}")


if __name__ == "__main__":
    main()
