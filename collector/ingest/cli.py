"""`mcp-blackbox collect`: Kafka or spool → Parquet store, exactly once, bad input quarantined."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from mcp_blackbox.collector.ingest.console import install_logging, say
from mcp_blackbox.schema.errors import UsageError

DEFAULT_GROUP = "mcp-blackbox-collector"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `collect`."""
    parser.add_argument("--source", help="kafka://host:port[,host:port]/topic or spool:///dir (required)")
    parser.add_argument("--store", type=Path, help="store directory, created if missing (required)")
    parser.add_argument("--export-public-key", action="store_true",
                        help="print the manifest signing key's public half (PEM; key created if missing) and exit")
    parser.add_argument("--group", default=DEFAULT_GROUP, help=f"Kafka consumer group (default {DEFAULT_GROUP})")
    parser.add_argument("--until-idle", type=float, metavar="SECONDS",
                        help="exit after SECONDS with nothing new (default: run until SIGTERM/SIGINT)")
    parser.add_argument("--key", type=Path, help="Ed25519 signing key (PEM; created on first use). Default: "
                        "$MCP_BLACKBOX_SIGNING_KEY or ~/.config/mcp-blackbox/keys/manifest-ed25519.pem")
    parser.add_argument("--flush-rows", type=int, default=100_000, help="records per file before a flush")
    parser.add_argument("--flush-seconds", type=float, default=30.0, help="oldest buffered record age before a flush")
    parser.add_argument("--flush-idle", type=float, default=1.0, help="flush after this many idle seconds")
    parser.add_argument("--max-record-bytes", type=int, help="quarantine records larger than this unread")
    parser.add_argument("--max-poll-records", type=int, default=20_000, help="records per Kafka poll")
    parser.add_argument("--client", choices=["auto", "kafka-python", "confluent"], default="auto",
                        help="Kafka client library: confluent (librdkafka, optional, fastest) when installed, "
                        "else kafka-python")
    parser.add_argument("--session-timeout-ms", type=int, default=45_000, help="Kafka group session timeout")
    parser.add_argument("--instance-id", help="static group membership id (KIP-345): a restart keeps the "
                        "partitions without a rebalance wait")
    stats = parser.add_mutually_exclusive_group()
    stats.add_argument("--stats", dest="stats", action="store_true", default=None,
                       help="print one-line stats on stderr every --stats-interval seconds (default: on a TTY)")
    stats.add_argument("--no-stats", dest="stats", action="store_false")
    parser.add_argument("--stats-interval", type=float, default=10.0)


def run(args: argparse.Namespace) -> int:
    """Run the collector."""
    from mcp_blackbox.collector.ingest.consumer import Collector, Settings
    from mcp_blackbox.collector.ingest.decode import DEFAULT_MAX_RECORD_BYTES
    from mcp_blackbox.collector.ingest.sources import open_source

    if args.export_public_key:
        from mcp_blackbox.collector.ingest.manifest import load_or_create_key, public_pem

        sys.stdout.write(public_pem(load_or_create_key(args.key).public_key()).decode())
        return 0
    if not args.source or args.store is None:
        msg = "--source and --store are required"
        raise UsageError(msg)
    install_logging(logging.INFO if os.environ.get("MCP_BLACKBOX_DEBUG") else logging.WARNING)
    if args.until_idle is not None and args.until_idle < 0:
        msg = "--until-idle must be >= 0"
        raise UsageError(msg)
    if args.store.exists() and not args.store.is_dir():
        msg = f"--store {args.store} is not a directory"
        raise UsageError(msg)
    source = open_source(args.source, args.group, max_poll_records=args.max_poll_records, client=args.client,
                         session_timeout_ms=args.session_timeout_ms, instance_id=args.instance_id) \
        if args.source.startswith("kafka://") else open_source(args.source, args.group, args.max_poll_records)
    stats = sys.stderr.isatty() if args.stats is None else args.stats
    settings = Settings(flush_rows=args.flush_rows, flush_seconds=args.flush_seconds,
                        flush_idle_seconds=args.flush_idle,
                        max_record_bytes=args.max_record_bytes or DEFAULT_MAX_RECORD_BYTES,
                        stats=stats, stats_interval=args.stats_interval, key_path=args.key, group=args.group)
    collector = Collector(args.store, source, settings)
    code = collector.run(until_idle=args.until_idle)
    t = collector.summary()
    if stats or os.environ.get("MCP_BLACKBOX_COLLECT_SUMMARY"):
        say(f"mcp-blackbox collect: done: {t['events']} events stored, {t['quarantined']} quarantined, "
            f"{t['files']} files")
    return code
