"""`mcp-blackbox compact`: merge small Parquet files of one partition/day, keeping provenance and `verify` green."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcp_blackbox.schema.errors import StoreError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `compact`."""
    parser.add_argument("--store", required=True, type=Path, help="store directory")
    parser.add_argument("--key", type=Path, help="Ed25519 signing key (as for collect)")
    parser.add_argument("--small-rows", type=int, default=500_000,
                        help="files with fewer rows are merged (default 500000)")
    parser.add_argument("--min-files", type=int, default=2, help="merge a partition/day only from this many files")


def run(args: argparse.Namespace) -> int:
    """Compact and print what was done."""
    from mcp_blackbox.collector.ingest.compact import compact_store
    from mcp_blackbox.collector.ingest.console_cli import say
    from mcp_blackbox.collector.ingest.storefs import MANIFESTS

    if not (args.store / MANIFESTS).is_dir():
        msg = f"{args.store} is not a store (no {MANIFESTS}/ directory)"
        raise StoreError(msg)

    def progress(message: str) -> None:
        if sys.stderr.isatty():
            say(message, progress=True)  # messages may name store files: inert

    report = compact_store(args.store, args.key, small_rows=args.small_rows, min_files=max(2, args.min_files),
                           progress=progress)
    if sys.stderr.isatty():
        print("", file=sys.stderr)
    print(f"compact: {report.files_replaced} files merged into {report.files_written} ({report.rows} rows); "
          f"{report.leftovers_removed} leftover files removed")
    return 0
