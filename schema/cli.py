"""`mcp-blackbox schema`: print the event contract as JSON Schema or as a column reference."""

from __future__ import annotations

import argparse
import json
import sys

from mcp_blackbox.schema.docs import column_docs, column_docs_markdown, json_schema_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox schema`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json-schema", action="store_true", help="the JSON Schema of one event (default)")
    group.add_argument("--columns", action="store_true", help="the column reference as Markdown")
    group.add_argument("--columns-json", action="store_true", help="the column reference as JSON")


def run(args: argparse.Namespace) -> int:
    """Print the requested form on stdout."""
    if args.columns:
        sys.stdout.write(column_docs_markdown())
    elif args.columns_json:
        rows = [doc.__dict__ for doc in column_docs()]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        sys.stdout.write(json_schema_text())
    return 0
