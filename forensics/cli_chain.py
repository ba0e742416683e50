"""`mcp-blackbox chain --store DIR ID [--format tree|json|markdown]` and the blast-radius query."""

from __future__ import annotations

import argparse

from mcp_blackbox.forensics.chain import blast_radius, build_chain
from mcp_blackbox.forensics.finding_chain import (
    FINDING_ID_RE,
    HOST_KEY_RE,
    chain_for_finding,
    chain_for_host_session,
)
from mcp_blackbox.forensics.output import render
from mcp_blackbox.forensics.safe import for_terminal, json_text
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.forensics.timeparse import parse_time
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.settings import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox chain`."""
    add_store_argument(parser)
    parser.add_argument("ident", nargs="?", help="conversation, tool call, trace, connection or event id; a "
                                                 "finding id; or a host-process key (hp-…) of a wrap-only host")
    parser.add_argument("--format", choices=("tree", "json", "markdown"), default="tree")
    parser.add_argument("--blast-radius", action="store_true",
                        help="who received output from --server/--tool/--tool-definition, and what they did next")
    parser.add_argument("--server")
    parser.add_argument("--tool")
    parser.add_argument("--tool-definition", metavar="SHA256")
    parser.add_argument("--since")
    parser.add_argument("--until")


def run(args: argparse.Namespace) -> int:
    """Print a chain (or a blast radius)."""
    # a chain reads raw_events directly; only the blast radius (over `calls`) needs `events` prepared
    # a finding id re-runs its rule, over `calls`: prepared too
    store = open_store(args.store, prepare=bool(args.blast_radius or FINDING_ID_RE.fullmatch(args.ident or "")))
    try:
        if args.blast_radius:
            rows = blast_radius(store, server=args.server, tool=args.tool, tool_definition_sha256=args.tool_definition,
                                since=parse_time(args.since), until=parse_time(args.until))
            names = ["source_time", "source_server", "source_tool", "scope", "agent_id", "server", "tool_name",
                     "start_time", "status", "received_data", "call_event_id"]
            fmt = "json" if args.format == "json" else "table"
            print(render(names, [tuple(r.get(n) for n in names) for r in rows], fmt))
            return 0
        if not args.ident:
            msg = "give an id (conversation, tool call, trace, connection or event) or --blast-radius"
            raise UsageError(msg)
        if HOST_KEY_RE.fullmatch(args.ident):
            chain = chain_for_host_session(store, args.ident)
        elif FINDING_ID_RE.fullmatch(args.ident):
            chain = chain_for_finding(store, args.ident)
        else:
            chain = build_chain(store, args.ident)
        if args.format == "json":
            print(json_text(chain.to_json(), indent=1, ensure_ascii=False, default=str))
        elif args.format == "markdown":
            from mcp_blackbox.forensics.detections import run_detections

            print(for_terminal(chain.to_markdown(run_detections(store))))
        else:
            print(for_terminal(chain.to_tree_text()))
        return 0
    finally:
        store.close()
