"""`mcp-blackbox wrap [--name N] [--sink URL] [--config F] -- CMD ARGS…`: record any stdio MCP server."""

from __future__ import annotations

import argparse

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.wrap import StdioProxy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox wrap`."""
    parser.add_argument("--name", help="the server's name in the host configuration (server_config_name)")
    parser.add_argument("--sink", help="kafka://host:port/topic or spool:///dir (default: MCP_BLACKBOX_SINK, "
                                       "the config file, else a spool in the user's state directory)")
    parser.add_argument("--config", help="capture configuration file (TOML; default: MCP_BLACKBOX_CONFIG)")
    # Written by `hosts wrap` to remember an entry without `args`; no effect here.
    parser.add_argument("--no-args", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the server command and its arguments")
    parser.epilog = ("Bytes pass through unchanged; stderr is inherited; signals and the exit code are "
                     "forwarded. Nothing but the server's own output is written to stdout.")


def run(args: argparse.Namespace) -> int:
    """Spawn the server behind the proxy and return its exit code."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    config = load_config(args.config, sink=args.sink)
    return int(StdioProxy(command, name=args.name, config=config).run().exit_code)
