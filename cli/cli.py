"""The `mcp-blackbox` command line.

Each sub-command lives next to the code it drives and is imported only when it runs, so
`mcp-blackbox wrap` (inside a host, on the emitter path) never pays for DuckDB, pyarrow or Textual.
A sub-command module offers `add_arguments(parser)` and `run(args) -> int`.

Logging: `--log-format human|json` (before or after the command) picks how log lines look on stderr
(`mcp_blackbox.logs`); it is set up once here, before the sub-command runs.

Error convention (DESIGN §6): a user mistake or an environment problem prints one line on stderr and
exits non-zero; never a traceback. Unexpected bugs still show their traceback (with
`MCP_BLACKBOX_DEBUG=1` every error does).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from mcp_blackbox import __version__
from mcp_blackbox.logs import LOG_FORMATS, configure
from mcp_blackbox.schema.errors import BlackboxError, MissingExtraError
from mcp_blackbox.schema.textsafe import inert


@dataclass(frozen=True)
class Command:
    """One sub-command: where its code lives and what it says in `--help`."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command("demo", "mcp_blackbox.demo", "play the bundled incident end to end and investigate it"),
    Command("wrap", "mcp_blackbox.collector.emit.wrap_cli", "stdio proxy that records any MCP server"),
    Command("proxy", "mcp_blackbox.collector.emit.http_proxy_cli", "Streamable HTTP reverse proxy that records"),
    Command("hosts", "mcp_blackbox.collector.emit.hosts_cli", "route a host's stdio servers through wrap"),
    Command("otlp", "mcp_blackbox.collector.emit.otlp_cli", "OTLP/HTTP receiver: OpenTelemetry MCP spans, host events"),
    Command("collect", "mcp_blackbox.collector.ingest.cli", "Kafka or spool -> Parquet store, exactly once"),
    Command("verify", "mcp_blackbox.collector.ingest.verify_cli", "check the store's integrity (exit 1 if tampered)"),
    Command("compact", "mcp_blackbox.collector.ingest.compact_cli", "merge small Parquet files, keep provenance"),
    Command("sql", "mcp_blackbox.forensics.cli_sql", "read-only SQL over the store"),
    Command("chain", "mcp_blackbox.forensics.cli_chain", "the action chain of a connection/trace/conversation"),
    Command("detect", "mcp_blackbox.forensics.cli_detect", "run threat detections over the stored history"),
    Command("export", "mcp_blackbox.forensics.cli_export", "export events as OCSF or JSONL"),
    Command("case", "mcp_blackbox.forensics.cli_case", "export a case as one signed archive, or verify one"),
    Command("investigate", "mcp_blackbox.tui.cli", "the investigator's terminal UI"),
    Command("schema", "mcp_blackbox.schema.cli", "print the event contract (JSON Schema, columns)"),
    Command("config", "mcp_blackbox.config_cli", "show the effective settings of every component (secrets masked)"),
)


def _load(command: Command) -> object:
    try:
        return importlib.import_module(command.module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == command.module or command.module.startswith(missing + "."):
            msg = f"'{command.name}' is not available in this build"
            raise BlackboxError(msg) from exc
        raise MissingExtraError.for_module(missing) from exc


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; sub-command arguments are added lazily in `main`."""
    parser = argparse.ArgumentParser(
        prog="mcp-blackbox",
        description="Flight recorder and forensics bench for the Model Context Protocol.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-blackbox {__version__}")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=None,
                        help="log lines on stderr: human (default) or json (one object per line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub.add_parser(command.name, help=command.help, add_help=False)
    return parser


def _pop_log_format(args: list[str]) -> str | None:
    """Take `--log-format X` / `--log-format=X` out of the arguments before the command (or before `--`)."""
    fmt = None
    i = 0
    while i < len(args) and args[i] != "--":
        if args[i] == "--log-format" and i + 1 < len(args) and args[i + 1] in LOG_FORMATS:
            fmt = args[i + 1]
            del args[i : i + 2]
            continue
        if args[i].startswith("--log-format=") and args[i].split("=", 1)[1] in LOG_FORMATS:
            fmt = args[i].split("=", 1)[1]
            del args[i]
            continue
        i += 1
    return fmt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    configure(_pop_log_format(args_list))
    parser = build_parser()
    names = {c.name: c for c in COMMANDS}
    first = next((a for a in args_list if not a.startswith("-")), None)
    if first is None or first not in names:
        # Top-level flags (--help, --version) or an unknown command: argparse reports it.
        parser.parse_args(args_list)
        parser.print_help(sys.stderr)
        return 2
    command = names[first]
    index = args_list.index(first)
    try:
        module = _load(command)
        sub_parser = argparse.ArgumentParser(prog=f"mcp-blackbox {command.name}", description=command.help)
        module.add_arguments(sub_parser)  # type: ignore[attr-defined]
        ns = sub_parser.parse_args(args_list[index + 1 :])
        return int(module.run(ns) or 0)  # type: ignore[attr-defined]
    except BlackboxError as exc:
        if os.environ.get("MCP_BLACKBOX_DEBUG"):
            raise
        print(f"mcp-blackbox {command.name}: error: {inert(str(exc))}", file=sys.stderr)  # may quote evidence
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mcp-blackbox {command.name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `mcp-blackbox sql … | head` closing the pipe early is not an error.
        sys.stderr.close()
        return 0
