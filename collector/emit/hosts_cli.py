"""`mcp-blackbox hosts wrap|unwrap CONFIG`: route a host's stdio MCP servers through `wrap`, or undo it."""

from __future__ import annotations

import argparse

from mcp_blackbox.collector.emit.hosts import HostsReport, unwrap_config, wrap_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox hosts`."""
    parser.add_argument("action", choices=("wrap", "unwrap"), help="wrap: record every stdio server; unwrap: undo")
    parser.add_argument("config", help="the host's configuration file, JSON or JSONC: Claude Desktop "
                                       "claude_desktop_config.json, Claude Code .mcp.json or ~/.claude.json, "
                                       "VS Code mcp.json or settings.json, Cursor mcp.json, Windsurf "
                                       "mcp_config.json, Zed settings.json")
    parser.add_argument("--sink", help="sink URL passed to every wrapped server (default: their environment)")
    parser.add_argument("--wrap-command", help="path of the mcp-blackbox executable the host should start")
    parser.epilog = ("The original file is kept as CONFIG.mcp-blackbox.bak; unwrap restores it byte for byte "
                     "when the file was not edited in between; comments and trailing commas are kept. "
                     "Unknown formats are refused untouched.")


def _say(report: HostsReport, verb: str) -> None:
    print(f"{report.path} ({report.host_format}): {verb} {len(report.changed)} server(s)"
          + (f": {', '.join(report.changed)}" if report.changed else ""))
    if report.already_wrapped:
        print(f"  already wrapped: {', '.join(report.already_wrapped)}")
    if report.skipped:
        print(f"  left as is: {', '.join(report.skipped)}")
    if report.backup is not None:
        print(f"  backup: {report.backup}")
    if verb == "unwrapped" and report.changed:
        print("  restored byte for byte" if report.restored_exactly
              else "  file was edited since wrap: wrap undone, other edits kept")


def run(args: argparse.Namespace) -> int:
    """Rewrite the configuration file; prints what changed."""
    if args.action == "wrap":
        _say(wrap_config(args.config, wrap_command=args.wrap_command, sink=args.sink), "wrapped")
    else:
        _say(unwrap_config(args.config), "unwrapped")
    return 0
