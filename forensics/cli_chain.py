"""`mcp-blackbox chain --store DIR ID [--format tree|json|ndjson|markdown|mermaid|dot|svg] [--wide]` and the
blast-radius query.

`ndjson` is one event a line, depth first, with its `depth` and `parent_event_id` in the tree; `mermaid`,
`dot` and `svg` draw the chain (`forensics/chain_draw.py`, pure Python).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mcp_blackbox.forensics.chain import blast_radius, build_chain
from mcp_blackbox.forensics.chain_draw import FORMATS, draw
from mcp_blackbox.forensics.finding_chain import (
    FINDING_ID_RE,
    HOST_KEY_RE,
    chain_for_finding,
    chain_for_host_session,
)
from mcp_blackbox.forensics.output import emit, render
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
    parser.add_argument("--format", choices=("tree", "json", "ndjson", "markdown", "mermaid", "dot", "svg"),
                        default="tree", help="tree (text), json, ndjson (one event a line), markdown (report), "
                                             "or a picture: mermaid, dot, svg")
    parser.add_argument("--wide", "--no-truncate", dest="wide", action="store_true",
                        help="tree / blast-radius table: cut nothing (default: summaries cut to fit 160 columns)")
    parser.add_argument("--blast-radius", action="store_true",
                        help="who received output from --server/--tool/--tool-definition, and what they did next")
    parser.add_argument("--server")
    parser.add_argument("--tool")
    parser.add_argument("--tool-definition", metavar="SHA256")
    parser.add_argument("--since")
    parser.add_argument("--until")


def _flat(nodes: list[dict[str, Any]], depth: int = 0, parent: str | None = None) -> list[dict[str, Any]]:
    """Tree nodes (to_json form) depth first, without children, with depth and parent_event_id."""
    out: list[dict[str, Any]] = []
    for node in nodes:
        row = {k: v for k, v in node.items() if k != "children"}
        out.append({**row, "depth": depth, "parent_event_id": parent})
        out += _flat(node["children"], depth + 1, node["event_id"])
    return out


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
            fmt = args.format if args.format in ("json", "ndjson") else "table"
            emit(render(names, [tuple(r.get(n) for n in names) for r in rows], fmt,
                        max_width=None if args.wide else 60), fmt)
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
        elif args.format == "ndjson":
            emit("\n".join(json_text(n, ensure_ascii=False, default=str) for n in _flat(chain.to_json()["roots"])),
                 "ndjson")
        elif args.format in FORMATS:
            sys.stdout.write(draw(chain, args.format))
        elif args.format == "markdown":
            from mcp_blackbox.forensics.detections import run_detections

            print(for_terminal(chain.to_markdown(run_detections(store))))
        else:
            print(for_terminal(chain.to_tree_text(width=None if args.wide else 160)))
        return 0
    finally:
        store.close()
