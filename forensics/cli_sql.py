"""`mcp-blackbox sql --store DIR "SELECT …" [--format table|csv|json|ndjson] [--wide] [--describe [VIEW]]
[--timeout S]`."""

from __future__ import annotations

import argparse
import sys

from mcp_blackbox.forensics.interrupt import run_interruptible
from mcp_blackbox.forensics.output import emit, render
from mcp_blackbox.forensics.safe import for_terminal
from mcp_blackbox.forensics.sqlguard import SafeSQL
from mcp_blackbox.forensics.views import VIEW_DOCS
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.settings import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox sql`."""
    defaults = add_store_argument(parser)
    parser.add_argument("query", nargs="?", help="SQL (read-only); '-' reads it from stdin")
    parser.add_argument("--format", choices=("table", "csv", "json", "ndjson"), default="table",
                        help="table and csv show control, bidi and invisible characters as visible markers "
                             "(csv also guards =+-@ formulas with a leading '); json and ndjson (one object a "
                             "line) are exact, with them escaped")
    parser.add_argument("--wide", "--no-truncate", dest="wide", action="store_true",
                        help="table: show every cell whole (default: cut at 60 characters with …)")
    parser.add_argument("--describe", nargs="?", const="", metavar="VIEW",
                        help="list the views, or the columns of one view with their meaning")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", default=defaults.timeout,
                        help="interrupt the query after this long (exit 124); Ctrl-C interrupts at once")
    parser.epilog = ("Views: " + ", ".join(VIEW_DOCS) + ". Queries run in a sandbox with no file access and a "
                     "read-only catalog: writes, ATTACH, COPY, SET and file functions fail.")


def _describe(safe: SafeSQL, view: str) -> str:
    if not view:
        return "\n".join(f"{name:14} {doc}" for name, (doc, _cols) in VIEW_DOCS.items())
    if view not in VIEW_DOCS:
        msg = f"unknown view {view!r}; views: {', '.join(VIEW_DOCS)}"
        raise UsageError(msg)
    doc, cols = VIEW_DOCS[view]
    if view == "events":
        from mcp_blackbox.schema.docs import column_docs

        cols = {c.name: c.description for c in column_docs()}
    _names, described = safe.run(f"DESCRIBE {view}")
    lines = [f"{view}: {doc}", ""]
    for name, typ, *_ in described:
        lines.append(f"  {name:26} {typ:24} {cols.get(name, '')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run one read-only query in the sandbox and print the result."""
    if args.describe is None:
        query = sys.stdin.read() if args.query == "-" else args.query
        if not query:
            msg = "give a query (or --describe); e.g. mcp-blackbox sql --store DIR \"SELECT count(*) FROM events\""
            raise UsageError(msg)
    safe = SafeSQL(args.store)
    try:
        if args.describe is not None:
            print(for_terminal(_describe(safe, args.describe)))
            return 0
        names, rows = run_interruptible(lambda: safe.run(query), safe.interrupt, args.timeout)
        emit(render(names, rows, args.format, max_width=None if args.wide else 60), args.format)
        return 0
    finally:
        safe.close()
