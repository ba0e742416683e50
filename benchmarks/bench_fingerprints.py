"""Cost of the emitter-side chunk fingerprints: `capture_payload` with and without them, same run.

    .venv/bin/python benchmarks/bench_fingerprints.py [--rounds N]

Payloads: the small arguments of bench_emitter.py, a 2 KB tool result (text with addresses and a
key), and a 40-record JSON export. Baseline: the same `capture_payload` (hash, redact, cap) without
a fingerprinter, i.e. what the sender thread paid per payload before.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from mcp_blackbox.schema.hashing import ContentHasher
from mcp_blackbox.schema.payload import capture_payload
from mcp_blackbox.schema.redaction import Redactor

_TEXT = ("Quarterly notes. Ada Byron (ada.byron@clients.example, +44 20 7946 0001) asked for the renewal; "
         "the staging key is AKIAIOSFODNN7EXAMPLE, rotate it before Friday! ") * 12
PAYLOADS: dict[str, Any] = {
    "small arguments": {"city": "Oslo", "days": 3},
    "2 KB text result": {"content": [{"type": "text", "text": _TEXT}]},
    "40-record export": {"content": [{"type": "text", "text": json.dumps(
        [{"name": f"Client {i}", "email": f"client{i}@clients.example", "phone": f"+1 202 555 {i:04d}"}
         for i in range(40)])}]},
}


def _time(value: Any, rounds: int, **kw: Any) -> float:
    redactor = Redactor()
    start = time.perf_counter()
    for _ in range(rounds):
        capture_payload(value, redactor=redactor, **kw)
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    hasher = ContentHasher(b"k" * 32)
    fingerprinter = hasher.chunk_fingerprinter()
    for name, value in PAYLOADS.items():
        base = _time(value, args.rounds, hasher=hasher)
        with_fp = _time(value, args.rounds, hasher=hasher, fingerprinter=fingerprinter)
        count = len(fingerprinter.payload(value))
        print(f"{name:18} baseline {base:8.1f} µs   with fingerprints {with_fp:8.1f} µs   "
              f"(+{with_fp - base:.1f} µs, {with_fp / base:.2f}×; {count} fingerprints)")


if __name__ == "__main__":
    main()
