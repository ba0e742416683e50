"""Pairing under load over HTTP: 10,000 concurrent `tools/call`s through `mcp-blackbox proxy` to real servers.

The HTTP counterpart of bench_wrap_pairing.py, on the shared drivers (tests/emit/pairing_driver.py,
tests/emit/http_pairing_driver.py). Upstreams: npm `@modelcontextprotocol/server-everything` in its
`streamableHttp` mode (answers as SSE only), and PyPI `mcp-server-time`'s own `create_server()` served
by the official SDK's Streamable HTTP app (its CLI is stdio-only), once with SSE answers and once with
JSON answers. One legacy session per run, `tools/list` sent together with the first calls, `--window`
POSTs in flight. The proxy's spool goes through the real collector (`mcp-blackbox collect`) and is
counted in the store's `calls` view: answered calls, pending (must be 0), `uncorrelated` responses (must
be 0), catalog events (must be 1), calls with a duration. Same-run baseline: the same client, the same
calls, straight to the same server process (no proxy), rate only.

    .venv/bin/python benchmarks/bench_proxy_pairing.py [--calls 10000] [--window 32] [--only everything]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "emit"))

from http_pairing_driver import HttpServer, drive_direct, drive_proxied, everything_http, time_http, upstream
from pairing_driver import npm_server_everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--only", help="run one server: everything, time-sse or time-json")
    args = parser.parse_args()
    servers: list[tuple[str, HttpServer]] = []
    entry = npm_server_everything()
    if entry is not None:
        servers.append(("everything", everything_http(entry)))
    else:
        print("npm/node not available: server-everything skipped")
    servers += [("time-sse", time_http(json_response=False)), ("time-json", time_http(json_response=True))]
    if args.only:
        servers = [s for s in servers if s[0] == args.only]
    print(f"{args.calls} tools/call per server through mcp-blackbox proxy, {args.window} in flight, one session")
    print(f"{'server':<11} {'shape':<5} {'answers':>8} {'calls/s':>8} {'direct/s':>9} {'stored':>7} {'answered':>8} "
          f"{'pending':>7} {'uncorr':>6} {'catalog':>7} {'w/dur':>6}", flush=True)
    for label, server in servers:
        with upstream(server) as url, tempfile.TemporaryDirectory() as work:
            run = drive_proxied(server, url, Path(work), args.calls, window=args.window)
            direct = drive_direct(url, server, args.calls, window=args.window)
        store = run.store
        assert store is not None
        print(f"{label:<11} {server.shape:<5} {run.client.results:>8} {run.client.rate:>8.0f} {direct.rate:>9.0f} "
              f"{store.tool_calls:>7} {store.answered:>8} {store.all_pending:>7} {store.uncorrelated:>6} "
              f"{store.catalogs:>7} {store.with_duration:>6}", flush=True)


if __name__ == "__main__":
    main()
