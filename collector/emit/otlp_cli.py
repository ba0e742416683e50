"""`mcp-blackbox otlp --listen 127.0.0.1:4318 --sink URL`: take in OTLP/HTTP traces and logs."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from mcp_blackbox.collector.emit.config import CaptureConfig, load_config
from mcp_blackbox.schema.enums import EmitterRole
from mcp_blackbox.schema.errors import UsageError

if TYPE_CHECKING:
    from mcp_blackbox.collector.emit.otlp import OtlpEmitter

log = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (`[v6]:PORT`) -> (host, port); UsageError with one clear line otherwise."""
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        msg = f"--listen must be HOST:PORT with a port from 0 to 65535, got {listen!r}"
        raise UsageError(msg)
    return host, int(port_text)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        msg = f"must be a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox otlp`."""
    parser.add_argument("--listen", default="127.0.0.1:4318", help="HOST:PORT to listen on (default 127.0.0.1:4318)")
    parser.add_argument("--sink", help="kafka://host:port/topic or spool:///dir (default: MCP_BLACKBOX_SINK, "
                                       "the config file, else a spool in the user's state directory)")
    parser.add_argument("--config", help="capture configuration file (TOML; default: MCP_BLACKBOX_CONFIG)")
    parser.add_argument("--max-body-bytes", type=_positive, default=16 * 1024 * 1024,
                        help="largest request body, before and after decompression (default 16 MiB)")
    parser.add_argument("--max-inflight", type=_positive, default=16,
                        help="requests decoded at once; more are answered 429 with Retry-After (default 16)")
    parser.epilog = ("Point OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT (protocol http/protobuf or http/json) "
                     "at it. Spans following the OpenTelemetry MCP conventions and Claude Code's log events "
                     "become events; other telemetry is counted and dropped.")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted or terminated."""
    host, port = parse_listen(args.listen)
    from mcp_blackbox.collector.emit.otlp import OtlpEmitter, serve

    config = load_config(args.config, sink=args.sink)
    emitter = _open(OtlpEmitter, config)
    try:
        server = serve(host, port, emitter, max_body=args.max_body_bytes, max_inflight=args.max_inflight)
    except OSError as exc:
        emitter.close()
        msg = f"--listen {args.listen}: cannot listen: {exc.strerror or exc}"
        raise UsageError(msg) from exc
    except BaseException:
        emitter.close()
        raise
    bound_host, bound_port = server.server_address[:2]
    if isinstance(bound_host, bytes):
        bound_host = bound_host.decode()
    print(f"mcp-blackbox otlp: listening on http://{bound_host}:{bound_port} (/v1/traces, /v1/logs) "
          f"-> {emitter.config.sink}", file=sys.stderr, flush=True)

    def on_term(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        emitter.close()
        stats = server.receiver.stats
        print(f"mcp-blackbox otlp: stopped; {stats.requests} requests, {stats.events} events, "
              f"{stats.unrelated} unrelated items dropped, {stats.bad_requests} bad requests, "
              f"{stats.throttled} throttled", file=sys.stderr, flush=True)
    return 0


def _open(cls: type[OtlpEmitter], config: CaptureConfig) -> OtlpEmitter:
    try:
        return cls(EmitterRole.GATEWAY, "otlp", config=config, install_signal_handler=False)
    except OSError as exc:
        fallback = dataclasses.replace(config, sink=f"spool://{config.spool_fallback_dir}")
        log.warning("mcp-blackbox otlp: sink %s unusable (%s); recording to spool %s instead",
                    config.sink, exc.strerror or exc, config.spool_fallback_dir)
        try:
            return cls(EmitterRole.GATEWAY, "otlp", config=fallback, install_signal_handler=False)
        except OSError as exc2:
            msg = f"cannot open sink {config.sink} nor the fallback spool: {exc2.strerror or exc2}"
            raise UsageError(msg) from exc2
