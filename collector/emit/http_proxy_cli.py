"""`mcp-blackbox proxy --listen H:P --upstream URL`: record a remote Streamable HTTP MCP server."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.wrap import open_emitter
from mcp_blackbox.schema.enums import EmitterRole
from mcp_blackbox.schema.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox proxy`."""
    parser.add_argument("--listen", default="127.0.0.1:8808", help="HOST:PORT to listen on (default 127.0.0.1:8808)")
    parser.add_argument("--upstream", required=True, help="the MCP server's base URL, e.g. https://mcp.example/")
    parser.add_argument("--name", help="the server's name in events (server_config_name)")
    parser.add_argument("--sink", help="kafka://host:port/topic or spool:///dir (default: MCP_BLACKBOX_SINK, "
                                       "the config file, else a spool in the user's state directory)")
    parser.add_argument("--config", help="capture configuration file (TOML; default: MCP_BLACKBOX_CONFIG)")
    parser.epilog = ("Paths are appended to the upstream base URL: with --upstream http://srv:8000 a client "
                     "posting to http://LISTEN/mcp reaches http://srv:8000/mcp. SSE streams stay streaming.")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    upstream = urlsplit(args.upstream)
    if upstream.scheme not in ("http", "https") or not upstream.netloc:
        msg = f"--upstream must be an http(s) URL, got {args.upstream!r}"
        raise UsageError(msg)
    try:
        upstream.port  # noqa: B018 - raises ValueError for a port outside 0-65535 or not a number
    except ValueError as exc:
        msg = f"--upstream {args.upstream!r}: {exc}"
        raise UsageError(msg) from exc
    from mcp_blackbox.collector.emit.http_proxy import bind, serve

    sock = bind(args.listen)  # a bad address, a port in use or not ours: one line, before any event
    try:
        config = load_config(args.config, sink=args.sink)
        emitter = open_emitter(EmitterRole.GATEWAY, "http_proxy", config, server_config_name=args.name)
    except BaseException:
        sock.close()
        raise
    try:
        serve(args.listen, args.upstream, emitter, name=args.name, sock=sock)
    finally:
        emitter.close()
    return 0
