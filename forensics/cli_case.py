"""`mcp-blackbox case export --store DIR CASE [--out FILE]` and `mcp-blackbox case verify FILE`.

`export` bundles a case (stars, notes, saved queries under STORE/cases/<CASE>.json) into one signed
archive (`forensics/casebundle.py`); `verify` checks one: exit 0 intact, 1 tampered (each problem on a
line naming the member).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcp_blackbox.schema.textsafe import inert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands of `mcp-blackbox case`."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="bundle a case into one signed archive")
    export.add_argument("--store", required=True, type=Path, help="store directory")
    export.add_argument("case", help="case name (STORE/cases/<case>.json)")
    export.add_argument("--out", type=Path, help="archive to write (default STORE/cases/exports/<case>-<time>"
                                                 ".case.tar.gz)")
    export.add_argument("--key", type=Path, help="the store's signing key (default $MCP_BLACKBOX_SIGNING_KEY, "
                                                 "else the default key path)")
    verify = sub.add_parser("verify", help="check a case archive (exit 0 intact, 1 tampered)")
    verify.add_argument("bundle", type=Path, help="case archive")
    verify.add_argument("--public-key", action="append", type=Path, default=[],
                        help="trusted Ed25519 public key (PEM), repeatable. Default: the keys pinned for the "
                             "bundle's store (as `verify` pins them) and this machine's signing key")
    verify.add_argument("--known-stores", type=Path, metavar="PATH", help="file of pinned store keys")


def run(args: argparse.Namespace) -> int:
    """Export or verify."""
    from mcp_blackbox.forensics.casebundle import default_out, export_case, verify_case

    if args.action == "export":
        out = args.out or default_out(args.store, args.case)
        path = export_case(args.store, args.case, out, key_path=args.key)
        print(inert(str(path)))
        return 0
    problems = verify_case(args.bundle, public_keys=args.public_key or None, known_stores=args.known_stores)
    for problem in problems:
        print(f"TAMPERED {inert(problem)}")
    if problems:
        print(f"case verify: NOT intact: {len(problems)} problem(s) in {inert(str(args.bundle))}", file=sys.stderr)
        return 1
    print(f"case verify: intact: {inert(str(args.bundle))}")
    return 0
