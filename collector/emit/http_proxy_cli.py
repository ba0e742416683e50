"""`mcp-blackbox proxy --listen H:P --upstream URL`: record a remote Streamable HTTP MCP server.

Settings (`schema.settings.ProxySettings`): flags > `MCP_BLACKBOX_PROXY_*` > the file's `[proxy]` table
(`--config` / `MCP_BLACKBOX_CONFIG`) > defaults; without a sink there, the capture configuration's.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from pydantic import ValidationError

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.wrap import open_emitter
from mcp_blackbox.schema.enums import EmitterRole
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.settings import ProxySettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox proxy`."""
    parser.add_argument("--listen", help="HOST:PORT to listen on (default: MCP_BLACKBOX_PROXY_LISTEN, [proxy] "
                                         "listen, else 127.0.0.1:8808)")
    parser.add_argument("--upstream", help="the MCP server's base URL, e.g. https://mcp.example/ (required here, "
                                           "in MCP_BLACKBOX_PROXY_UPSTREAM or [proxy] upstream)")
    parser.add_argument("--name", help="the server's name in events (server_config_name)")
    parser.add_argument("--sink", help="kafka://host:port/topic or spool:///dir (default: MCP_BLACKBOX_PROXY_SINK, "
                                       "[proxy] sink, MCP_BLACKBOX_SINK, the file's sink, else a spool in the "
                                       "user's state directory)")
    parser.add_argument("--upstream-timeout", type=float, metavar="SECONDS",
                        help="give up on a silent upstream after this long (default: none)")
    parser.add_argument("--config", help="settings file (TOML; default: MCP_BLACKBOX_CONFIG)")
    parser.epilog = ("Paths are appended to the upstream base URL: with --upstream http://srv:8000 a client "
                     "posting to http://LISTEN/mcp reaches http://srv:8000/mcp. SSE streams stay streaming.")


def settings(args: argparse.Namespace) -> ProxySettings:
    """The effective proxy settings: the flags over the environment and the file."""
    try:
        found = ProxySettings.load(args.config, listen=args.listen, upstream=args.upstream, name=args.name,
                                   sink=args.sink, upstream_timeout=args.upstream_timeout)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = f"proxy settings: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
        raise UsageError(msg) from None
    if not found.upstream:
        msg = "--upstream is required (or MCP_BLACKBOX_PROXY_UPSTREAM, or upstream in the file's [proxy] table)"
        raise UsageError(msg)
    return found


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    proxy = settings(args)
    args.listen, args.upstream, args.name, args.sink = proxy.listen, proxy.upstream, proxy.name, proxy.sink
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
        serve(args.listen, args.upstream, emitter, name=args.name, sock=sock, timeout=proxy.upstream_timeout)
    finally:
        emitter.close()
    return 0
