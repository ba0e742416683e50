"""`mcp-blackbox investigate --store DIR [--finding ID] [--live]`: the investigator's bench."""

from __future__ import annotations

import argparse
from pathlib import Path

from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.schema.settings import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox investigate`."""
    add_store_argument(parser)
    parser.add_argument("--finding", help="open directly on this finding id")
    parser.add_argument("--live", action="store_true", help="follow new files as the collector writes them")


def launch(store: Path, focus_finding: str | None = None, *, live: bool = False) -> int:
    """Run the TUI on a store (used by the demo too)."""
    from mcp_blackbox.tui.app import InvestigatorApp

    open_store(store).close()  # a clear one-line error for a wrong path, before the screen switches
    app = InvestigatorApp(Path(store), focus_finding=focus_finding, live=live)
    app.run()
    return int(app.return_code or 0)


def run(args: argparse.Namespace) -> int:
    """Open the bench."""
    return launch(Path(args.store), args.finding, live=args.live)
