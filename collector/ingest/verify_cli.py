"""`mcp-blackbox verify`: check the store's integrity; exit 0 intact, 1 tampered (naming what and where)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcp_blackbox.collector.ingest.manifest import manifest_name
from mcp_blackbox.schema.settings import add_store_argument
from mcp_blackbox.schema.textsafe import inert, json_text

EPILOG = """\
What verify proves: every file listed by the signed, hash-chained manifests is present and unchanged
(SHA-256, rows, Merkle root of its events, time range); every file forensics reads (events/**/*.parquet,
temp-named ones included, and integrity/completeness.parquet) is listed by a manifest signed with a
trusted key; no manifest was edited, deleted, renamed or reordered; no source offsets were stored twice.

Which keys are trusted (like SSH known_hosts):
  * --public-key PATH given: exactly those keys; the known stores file is neither read nor written
    (add --pin to record them for this store);
  * else the keys pinned for this store in the known stores file (--known-stores, else
    $MCP_BLACKBOX_KNOWN_STORES, else $XDG_CONFIG_HOME/mcp-blackbox/known_stores, default ~/.config/...),
    found by the store's absolute path or by the hash of its first manifest (a moved copy keeps its pins).
    A manifest signed by any other key fails ("unknown key ... untrusted"), even if STORE/keys/ holds it;
  * else first use: the store's own STORE/keys/*.pub that sign its manifests are used, printed as
    "NOTE untrusted key ..., first use - pinned", and pinned only when the store verifies intact
    (--no-pin: report, pin nothing). First use trusts whatever the store holds at that moment: verify a
    store first where you know it is genuine, or pass --public-key.
  The file has one line per pin, "<store-id> ed25519 <base64 key>"; to forget a store (rebuilt with a
  new key on purpose), delete its lines.

What it cannot prove:
  * truncation after the newest manifest: removing the last manifests (and their files) leaves a
    shorter chain that still verifies. Keep the newest manifest hash that verify prints somewhere else
    (a ticket, a SIEM, another host) and pass it back with --expect-head to detect this;
  * a rewrite by someone holding the signing key (it lives outside the store; by default
    ~/.config/mcp-blackbox/keys/), or a key swapped before the first verify on this machine (first use);
  * events lost before the collector received them: see STORE/integrity/completeness.parquet for
    sequence gaps and hash-chain breaks per emitter.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `verify`."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    defaults = add_store_argument(parser, type=Path)
    parser.add_argument("--public-key", action="append", type=Path, default=[],
                        help="trusted Ed25519 public key (PEM); repeatable. Default: the keys pinned for this "
                        "store, or on first use the store's own keys (reported, then pinned)")
    parser.add_argument("--known-stores", type=Path, metavar="PATH", default=defaults.known_stores,
                        help="file of pinned store keys (default [forensics] known_stores / "
                        "MCP_BLACKBOX_FORENSICS_KNOWN_STORES, else $MCP_BLACKBOX_KNOWN_STORES, else "
                        "$XDG_CONFIG_HOME/mcp-blackbox/known_stores)")
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument("--no-pin", action="store_true", help="on first use, report the store's keys but pin nothing")
    pin.add_argument("--pin", action="store_true",
                     help="with --public-key: pin those keys for this store when it verifies intact")
    parser.add_argument("--expect-head", metavar="SHA256",
                        help="a newest-manifest hash noted earlier: fail if it is no longer in the chain")
    parser.add_argument("--quick", action="store_true",
                        help="check file hashes only, skip recomputing rows and Merkle roots")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def stderr_progress(message: str) -> None:
    """Progress on a terminal only (the library reports progress through a callback, this prints it)."""
    if sys.stderr.isatty():
        print(f"\r{inert(message)}", end="", file=sys.stderr, flush=True)  # file names are attacker-chosen


def run(args: argparse.Namespace) -> int:
    """Verify and report."""
    from mcp_blackbox.collector.ingest.verify import pin_keys, verify_store
    from mcp_blackbox.schema.errors import UsageError

    if args.pin and not args.public_key:
        msg = "--pin needs the keys to pin: --public-key PATH (repeatable)"
        raise UsageError(msg)
    report = verify_store(args.store, args.public_key, args.expect_head, deep=not args.quick,
                          progress=stderr_progress, known_stores=args.known_stores, pin=not args.no_pin)
    if args.pin and report.intact:
        known = pin_keys(args.store, args.public_key, args.known_stores)
        report.notices.append(f"given key(s) pinned for this store in {known}")
    if sys.stderr.isatty():
        print("\r", end="", file=sys.stderr)
    if args.json:
        print(json_text({"intact": report.intact, "manifests": report.manifests, "files": report.files,
                         "rows": report.rows, "head_seq": report.head_seq, "head_sha256": report.head_sha256,
                         "key_trust": report.key_trust, "notices": report.notices,
                         "problems": report.problems}, indent=2))
    else:
        for notice in report.notices:
            print(f"NOTE {inert(notice)}")
        for problem in report.problems:
            print(f"TAMPERED {inert(problem)}")  # file names are attacker-chosen: no \r or escapes
        state = "intact" if report.intact else f"NOT intact: {len(report.problems)} problem(s)"
        print(f"verify: {state}; {report.manifests} manifests, {report.files} files, {report.rows} rows checked")
        if report.head_sha256:
            print(f"newest manifest: manifests/{manifest_name(report.head_seq)} "
                  f"sha256 {report.head_sha256} (keep it elsewhere; check later with --expect-head)")
    return 0 if report.intact else 1
