"""`make bench`: every benchmark, one after the other, each printing its figures and same-run baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("bench_emitter.py", "bench_emit_config_import.py", "bench_redaction.py", "bench_fingerprints.py",
         "bench_wrap.py", "bench_wrap_pairing.py", "bench_proxy_pairing.py", "bench_kafka_start_outage.py",
         "bench_otlp.py", "bench_collector.py", "fuzz_decode.py", "bench_restart.py", "bench_forensics.py",
         "bench_sql_sandbox.py", "bench_textsafe.py", "bench_tui_first_screen.py")
#: scripts in benchmarks/ that are not benchmarks: the detection evaluation (`make eval`) and the corpus fetch
NOT_BENCHMARKS = ("eval_detections.py", "fetch_tool_corpus.py", "run_all.py")


def main() -> int:
    failed = []
    for name in ORDER:
        print(f"\n=== {name} ===", flush=True)
        code = subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent, check=False).returncode
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
