"""Pairing under load over HTTP: 2,000 concurrent calls through `mcp-blackbox proxy` to real servers.

npm `@modelcontextprotocol/server-everything` in `streamableHttp` mode (SSE answers) and PyPI
`mcp-server-time`'s own server over the SDK's Streamable HTTP app with JSON answers. The proxy's spool
goes through the real collector; the store's `calls` view must have every call answered (0 pending),
no `uncorrelated` response and the catalog event. The counts are read from the store, not the driver.

Unlike stdio `wrap`, the HTTP path did not race before the issue 15 fix: the proxy is one asyncio loop
that already recorded each request before forwarding it, so no answer could be numbered before its
request. The proxy of 2d98e0a (before the fix) passes this test too; it guards the property.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from http_pairing_driver import HttpServer, drive_proxied, everything_http, time_http, upstream
from pairing_driver import npm_server_everything

CALLS = 2000


def _server(which: str) -> HttpServer:
    if which == "time-json":
        return time_http(json_response=True)
    entry = npm_server_everything()
    if entry is None:
        pytest.fail("npm/node are needed for @modelcontextprotocol/server-everything")
    return everything_http(entry)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("which", ["everything-sse", "time-json"])
def test_every_http_call_paired_and_catalog_present(tmp_path: Path, which: str) -> None:
    server = _server(which)
    with upstream(server) as url:
        run = drive_proxied(server, url, tmp_path, CALLS)
    assert run.client.results == CALLS and run.client.errors == 0, "the client got every answer through the proxy"
    assert run.client.catalog_tools > 0
    assert run.spool.uncorrelated == 0
    assert run.spool.call_requests == CALLS and run.spool.call_results == CALLS
    store = run.store
    assert store is not None
    assert store.tool_calls == CALLS and store.answered == CALLS and store.ok == CALLS
    assert store.pending == 0 and store.all_pending == 0, "no call (initialize and tools/list too) left pending"
    assert store.uncorrelated == 0
    assert store.with_duration == CALLS
    assert store.catalogs == 1, "the tools/list answer was paired and made the catalog event"
