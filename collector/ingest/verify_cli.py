"""`mcp-blackbox verify`: check the store's integrity; exit 0 intact, 1 tampered (naming what and where)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mcp_blackbox.collector.ingest.manifest import manifest_name

EPILOG = """\
What verify proves: every file listed by the signed, hash-chained manifests is present and unchanged
(SHA-256, rows, Merkle root of its events, time range); no Parquet file was inserted; no manifest was
edited, deleted, renamed or reordered; no source offsets were stored twice.

What it cannot prove:
  * truncation after the newest manifest: removing the last manifests (and their files) leaves a
    shorter chain that still verifies. Keep the newest manifest hash that verify prints somewhere else
    (a ticket, a SIEM, another host) and pass it back with --expect-head to detect this;
  * a rewrite by someone holding the signing key (it lives outside the store; by default
    ~/.config/mcp-blackbox/keys/) or who replaced STORE/keys/*.pub - pass a copy of the public key you
    trust with --public-key;
  * events lost before the collector received them: see STORE/integrity/completeness.parquet for
    sequence gaps and hash-chain breaks per emitter.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `verify`."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--store", required=True, type=Path, help="store directory")
    parser.add_argument("--public-key", action="append", type=Path, default=[],
                        help="trusted Ed25519 public key (PEM); repeatable. Default: STORE/keys/*.pub")
    parser.add_argument("--expect-head", metavar="SHA256",
                        help="a newest-manifest hash noted earlier: fail if it is no longer in the chain")
    parser.add_argument("--quick", action="store_true",
                        help="check file hashes only, skip recomputing rows and Merkle roots")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def stderr_progress(message: str) -> None:
    """Progress on a terminal only (the library reports progress through a callback, this prints it)."""
    if sys.stderr.isatty():
        print(f"\r{message}", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Verify and report."""
    from mcp_blackbox.collector.ingest.verify import verify_store

    report = verify_store(args.store, args.public_key, args.expect_head, deep=not args.quick,
                          progress=stderr_progress)
    if sys.stderr.isatty():
        print("\r", end="", file=sys.stderr)
    if args.json:
        print(json.dumps({"intact": report.intact, "manifests": report.manifests, "files": report.files,
                          "rows": report.rows, "head_seq": report.head_seq, "head_sha256": report.head_sha256,
                          "problems": report.problems}, indent=2))
    else:
        for problem in report.problems:
            print(f"TAMPERED {problem}")
        state = "intact" if report.intact else f"NOT intact: {len(report.problems)} problem(s)"
        print(f"verify: {state}; {report.manifests} manifests, {report.files} files, {report.rows} rows checked")
        if report.head_sha256:
            print(f"newest manifest: manifests/{manifest_name(report.head_seq)} "
                  f"sha256 {report.head_sha256} (keep it elsewhere; check later with --expect-head)")
    return 0 if report.intact else 1
