"""Pairing under load: thousands of pipelined calls through `wrap` to real PyPI and npm servers.

Before the fix the two pump threads raced (the request was recorded after its bytes reached the
server), so with a fast server ~1 call in 5 came out `uncorrelated`, without method or duration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pairing_driver import Server, drive, everything_server, npm_server_everything, time_server

CALLS = 2000


def _servers() -> list[Server]:
    servers = [time_server()]
    entry = npm_server_everything()
    if entry is None:
        pytest.fail("npm/node are needed for @modelcontextprotocol/server-everything")
    servers.append(everything_server(entry))
    return servers


@pytest.mark.timeout(900)
@pytest.mark.parametrize("which", ["time", "everything"])
def test_every_call_paired_and_catalog_present(tmp_path: Path, which: str) -> None:
    server = next(s for s in _servers() if s.name == which)
    run = drive(server, tmp_path, CALLS)
    assert run.responses == CALLS + 2, "the driver got every answer through the wrapper"
    assert run.uncorrelated == 0
    assert run.catalogs == 1, "the tools/list answer was paired and made the catalog event"
    assert run.call_requests == CALLS and run.call_results == CALLS and run.durations == CALLS
