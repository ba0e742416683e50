"""`mcp-blackbox detect --store DIR [--rule ID] [--since T] [--until T] [--inventory F]
[--format table|json|ndjson|csv] [--wide]`.

Every format names the fields as the JSON does (`rule_id`, `cosai_threats`, …); CSV and the table join
lists with spaces.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mcp_blackbox.forensics.detections import all_rules, run_detections
from mcp_blackbox.forensics.interrupt import run_interruptible
from mcp_blackbox.forensics.output import emit, render
from mcp_blackbox.forensics.progress import TerminalProgress
from mcp_blackbox.forensics.safe import json_text
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.forensics.timeparse import parse_time
from mcp_blackbox.schema.enums import SEVERITY_ORDER, Severity
from mcp_blackbox.schema.settings import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox detect`."""
    defaults = add_store_argument(parser, required=False, help="store directory (required unless --list-rules)")
    parser.add_argument("--rule", action="append", dest="rules", metavar="ID", help="run only this rule (repeatable)")
    parser.add_argument("--since", help="ISO time or age (7d, 12h)")
    parser.add_argument("--until", help="ISO time or age")
    parser.add_argument("--inventory", type=Path, help="approved servers (TOML/JSON: names, urls, binary_sha256)")
    parser.add_argument("--format", choices=("table", "json", "ndjson", "csv"), default="table",
                        help="json: one array; ndjson: one finding a line; csv: flat, lists space-joined")
    parser.add_argument("--wide", "--no-truncate", dest="wide", action="store_true",
                        help="table: show every cell whole (default: explanations cut at 110 characters)")
    parser.add_argument("--list-rules", action="store_true", help="print the rules with their CoSAI threats")
    parser.add_argument("--fail-on", choices=[str(level) for level in SEVERITY_ORDER],
                        help="exit 3 when a finding of this severity or worse exists (for CI/cron)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", default=defaults.timeout,
                        help="interrupt the detections after this long (exit 124); Ctrl-C interrupts at once")


def run(args: argparse.Namespace) -> int:
    """Run detections and print findings."""
    if args.list_rules:
        rules = all_rules()
        rule_rows = [(r.rule_id, str(r.severity), " ".join(r.cosai_threats), r.title) for r in rules.values()]
        print(render(["rule_id", "severity", "cosai_threats", "title"], sorted(rule_rows), "table",
                     max_width=None if args.wide else 80))
        return 0
    if not args.store:
        from mcp_blackbox.schema.errors import UsageError

        msg = "--store is required"
        raise UsageError(msg)
    progress = TerminalProgress()
    progress.update("detect: preparing the store")
    store = open_store(args.store)
    selected = args.rules or sorted(all_rules())
    started = iter(range(len(selected)))

    def tick() -> bool:  # asked by run_detections before each rule, in `selected` order
        index = next(started, len(selected) - 1)
        progress.update(f"detect: rule {index + 1}/{len(selected)} {selected[index]}")
        return False

    try:
        since, until = parse_time(args.since), parse_time(args.until)
        findings = run_interruptible(
            lambda: run_detections(store, args.rules, since, until, args.inventory, stop=tick), store.con.interrupt,
            args.timeout, what="detection")
    finally:
        progress.done()
        store.close()
    if args.format == "json":
        print(json_text([f.to_json() for f in findings], indent=1, ensure_ascii=False))
    elif args.format == "ndjson":
        emit("\n".join(json_text(f.to_json(), ensure_ascii=False) for f in findings), "ndjson")
    elif args.format == "csv":
        rows = [(f.finding_id, f.rule_id, f.title, str(f.severity), " ".join(f.cosai_threats), f.time.isoformat(),
                 f.explanation, " ".join(f.evidence_event_ids), json_text(f.entities, ensure_ascii=False))
                for f in findings]
        print(render(["finding_id", "rule_id", "title", "severity", "cosai_threats", "time", "explanation",
                      "evidence_event_ids", "entities"], rows, "csv"))
    else:
        table: list[tuple[str, ...]] = [
            (str(f.severity), f.rule_id, " ".join(f.cosai_threats), f.time.strftime("%Y-%m-%d %H:%M:%S"),
             f.explanation, f.finding_id) for f in findings]
        print(render(["severity", "rule_id", "cosai_threats", "time", "explanation", "finding_id"], table, "table",
                     max_width=None if args.wide else 110))
    if args.fail_on:
        worst = Severity(args.fail_on).rank
        if any(Severity(f.severity).rank <= worst for f in findings):
            return 3
    return 0
