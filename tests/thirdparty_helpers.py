"""Third-party MCP servers for tests (samples/thirdparty.py installs them): skip locally, fail in CI.

A test that needs npm's server-everything calls `need_npm_bin("mcp-server-everything")`; when the pinned
set cannot be installed (no npm, no network) it is skipped on a developer machine and fails in CI
(`CI=true` or `MCP_BLACKBOX_REQUIRE_KAFKA=1`), so a fresh CI machine never silently skips it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from samples import thirdparty


def missing(what: str) -> None:
    """Fail (CI) or skip (elsewhere) for a server that is not there."""
    if thirdparty.required():
        pytest.fail(f"{what} is required in CI but not available; run `make test` (it installs it) or "
                    "`python -m samples.thirdparty`")
    pytest.skip(f"{what} not available (`python -m samples.thirdparty` installs the npm servers)")


def _ensure() -> None:
    try:
        thirdparty.ensure_npm_servers()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        missing(f"the pinned npm MCP servers ({exc})")


def need_npm_bin(name: str) -> Path:
    """The npm server's executable, installing the pinned set once; fail/skip as `missing` says."""
    _ensure()
    exe = thirdparty.npm_bin(name, install=False)
    if exe is None:
        missing(f"npm MCP server {name} (npm and node are needed)")
    assert exe is not None
    return exe


def need_npm_entry(package: str) -> Path:
    """A package's `dist/index.js` (for `node ENTRY`), installing the pinned set once."""
    _ensure()
    entry = thirdparty.npm_entry(package, install=False)
    if entry is None:
        missing(f"npm package {package} (npm and node are needed)")
    assert entry is not None
    return entry


def need_pypi_bin(name: str) -> Path:
    """A PyPI server of the dev group beside this Python."""
    exe = thirdparty.pypi_bin(name)
    if exe is None:
        missing(f"PyPI MCP server {name} (in the dev dependency group)")
    assert exe is not None
    return exe
