"""`mcp-blackbox collect`: Kafka or spool → Parquet store, exactly once, bad input quarantined."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from mcp_blackbox.collector.ingest.console_cli import say
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.settings import DEFAULT_GROUP
from mcp_blackbox.schema.transport import KAFKA_PREFIX, spool_url

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `collect`."""
    parser.add_argument("--source", help="kafka://host:port[,host:port]/topic or spool:///dir (default: the "
                        "default spool `wrap` writes to with no sink: $XDG_STATE_HOME/mcp-blackbox/spool, "
                        "i.e. ~/.local/state/mcp-blackbox/spool)")
    parser.add_argument("--store", type=Path, help="store directory, created if missing (required)")
    parser.add_argument("--export-public-key", action="store_true",
                        help="print the manifest signing key's public half (PEM; key created if missing) and exit")
    parser.add_argument("--prune", action="store_true",
                        help="spool source: when collecting ends, delete the spool segments every record of which "
                        "a signed manifest of the store covers (a writer's last segment is always kept)")
    parser.add_argument("--group", help=f"Kafka consumer group (default {DEFAULT_GROUP})")
    parser.add_argument("--until-idle", type=float, metavar="SECONDS",
                        help="exit after SECONDS with nothing new (default: run until SIGTERM/SIGINT)")
    parser.add_argument("--key", type=Path, help="Ed25519 signing key (PEM; created on first use). Default: "
                        "$MCP_BLACKBOX_SIGNING_KEY or ~/.config/mcp-blackbox/keys/manifest-ed25519.pem")
    parser.add_argument("--flush-rows", type=int, default=100_000, help="records per file before a flush")
    parser.add_argument("--flush-seconds", type=float, default=30.0, help="oldest buffered record age before a flush")
    parser.add_argument("--flush-idle", type=float, default=1.0, help="flush after this many idle seconds")
    parser.add_argument("--max-record-bytes", type=int, help="quarantine records larger than this unread")
    parser.add_argument("--max-poll-records", type=int, default=20_000, help="records per Kafka poll")
    parser.add_argument("--client", choices=["auto", "kafka-python", "confluent"],
                        help="Kafka client library: confluent (librdkafka, optional, fastest) when installed, "
                        "else kafka-python")
    parser.add_argument("--config", metavar="TOML", help="settings file ([collect], [kafka]: TLS/SASL); default: "
                        "$MCP_BLACKBOX_CONFIG. Flags > MCP_BLACKBOX_COLLECT_*/MCP_BLACKBOX_KAFKA_* > file")
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
    from mcp_blackbox.schema.settings import CollectorSettings  # local: pydantic-settings only when collecting

    settings_ = CollectorSettings.load(args.config, source=args.source, store=args.store, group=args.group,
                                       client=args.client)
    args.source, args.store, args.group, args.client = settings_.source, settings_.store, settings_.group, \
        settings_.client
    if args.store is None:
        msg = "--store is required (flag, MCP_BLACKBOX_COLLECT_STORE or [collect])"
        raise UsageError(msg)
    if not args.source:
        from mcp_blackbox.collector.emit.config import state_dir  # the emitters' default spool, same place

        args.source = spool_url(state_dir() / "spool")
        log.info("no --source: reading the default spool %s", args.source)
    if args.until_idle is not None and args.until_idle < 0:
        msg = "--until-idle must be >= 0"
        raise UsageError(msg)
    if args.store.exists() and not args.store.is_dir():
        msg = f"--store {args.store} is not a directory"
        raise UsageError(msg)
    if args.prune and args.source.startswith(KAFKA_PREFIX):
        msg = "--prune applies to spool sources (Kafka keeps its own retention)"
        raise UsageError(msg)
    source = open_source(args.source, args.group, max_poll_records=args.max_poll_records, client=args.client,
                         security=settings_.kafka, session_timeout_ms=args.session_timeout_ms,
                         instance_id=args.instance_id) \
        if args.source.startswith(KAFKA_PREFIX) else open_source(args.source, args.group, args.max_poll_records)
    stats = sys.stderr.isatty() if args.stats is None else args.stats
    if stats:  # the stats lines are the consumer's INFO records (logging is set up by the CLI)
        logging.getLogger("mcp_blackbox.collector.ingest.consumer").setLevel(logging.INFO)
    settings = Settings(flush_rows=args.flush_rows, flush_seconds=args.flush_seconds,
                        flush_idle_seconds=args.flush_idle,
                        max_record_bytes=args.max_record_bytes or DEFAULT_MAX_RECORD_BYTES,
                        stats=stats, stats_interval=args.stats_interval, key_path=args.key, group=args.group)
    collector = Collector(args.store, source, settings)
    code = collector.run(until_idle=args.until_idle)
    if args.prune:
        from mcp_blackbox.collector.ingest.prune import prune_spool

        pruned = prune_spool(source.root, args.store, collector.manifests.public)  # type: ignore[attr-defined]
        for problem in pruned.problems:
            log.warning("prune: %s", problem)
        print(f"mcp-blackbox collect: pruned {len(pruned.deleted)} spool segment(s) ({pruned.bytes_freed} bytes) "
              f"covered by signed manifests; {pruned.kept} kept", file=sys.stderr)
    t = collector.summary()
    if stats or os.environ.get("MCP_BLACKBOX_COLLECT_SUMMARY"):
        say(f"mcp-blackbox collect: done: {t['events']} events stored, {t['quarantined']} quarantined, "
            f"{t['files']} files")
    return code
