"""The third-party MCP servers the tests, benchmarks and samples run: one pinned set, installed once.

npm's reference servers go under one prefix per cache dir (`$MCP_BLACKBOX_CACHE/npm`, default `.cache/npm`;
`MCP_BLACKBOX_NPM_PREFIX` overrides), installed at the pinned versions by `ensure_npm_servers()` — at most
once per cache dir, under a lock so parallel test workers and benchmarks do not run npm over each other.
The PyPI servers (`mcp-server-time`, `mcp-server-git`, `mcp-server-fetch`) are in the dev dependency group
and live beside this Python.

`python -m samples.thirdparty` installs the npm set (the `make test` set-up step). Whether a missing
server is a skip or a failure is the caller's business: in CI (`CI=true` or `MCP_BLACKBOX_REQUIRE_KAFKA=1`,
see `required()`) tests must fail (`tests/thirdparty_helpers.py`).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
#: package -> pinned version (the versions the tool corpus in tests/data/tool_corpus was fetched from)
NPM_SERVERS: Final = {
    "@modelcontextprotocol/server-filesystem": "2026.8.31",
    "@modelcontextprotocol/server-everything": "2026.8.31",
    "@modelcontextprotocol/server-memory": "2026.8.31",
    "@modelcontextprotocol/server-sequential-thinking": "2026.8.31",
    "@modelcontextprotocol/server-github": "2025.4.8",
    "@modelcontextprotocol/server-gitlab": "2025.4.25",
    "@modelcontextprotocol/server-slack": "2025.4.25",
    "@modelcontextprotocol/server-brave-search": "0.6.2",
    "@modelcontextprotocol/server-google-maps": "0.6.2",
}
_MARKER: Final = ".mcp-blackbox-pinned.json"


def cache_root() -> Path:
    """`$MCP_BLACKBOX_CACHE` (the Makefile exports it), else `.cache/` in the checkout."""
    return Path(os.environ.get("MCP_BLACKBOX_CACHE") or REPO / ".cache")


def npm_prefix() -> Path:
    """Where the npm servers are installed."""
    override = os.environ.get("MCP_BLACKBOX_NPM_PREFIX")
    return Path(override) if override else cache_root() / "npm"


def required() -> bool:
    """Whether a missing third-party server is an error (CI) rather than a reason to skip."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("MCP_BLACKBOX_REQUIRE_KAFKA") == "1"


def _installed(prefix: Path) -> bool:
    marker = prefix / _MARKER
    try:
        pinned = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return pinned == NPM_SERVERS and all((prefix / "node_modules" / p / "package.json").is_file() for p in NPM_SERVERS)


def ensure_npm_servers(prefix: Path | None = None) -> Path | None:
    """Install the pinned npm servers under `prefix` unless already there; returns the prefix, None without npm.

    Raises `RuntimeError` (npm's last stderr line) when npm is present but the install fails.
    """
    prefix = prefix or npm_prefix()
    if _installed(prefix):
        return prefix
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    prefix.mkdir(parents=True, exist_ok=True)
    with open(prefix / ".install.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing: wait, then look again
        if _installed(prefix):
            return prefix
        specs = [f"{package}@{version}" for package, version in NPM_SERVERS.items()]
        proc = subprocess.run([npm, "install", "--prefix", str(prefix), "--cache", str(cache_root() / "npm-cache"),  # noqa: S603 - fixed arguments
                               "--no-audit", "--no-fund", "--loglevel=error", "--save-exact", *specs],
                              capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            msg = f"npm install of the pinned MCP servers into {prefix} failed: {last}"
            raise RuntimeError(msg)
        (prefix / _MARKER).write_text(json.dumps(NPM_SERVERS, indent=1) + "\n", encoding="utf-8")
    return prefix


def npm_bin(name: str, *, install: bool = True) -> Path | None:
    """`node_modules/.bin/NAME` of the pinned set (installing it first when `install`), None when absent."""
    prefix = ensure_npm_servers() if install else npm_prefix()
    if prefix is None:
        return None
    exe = prefix / "node_modules" / ".bin" / name
    return exe if exe.exists() else None


def npm_entry(package: str, *, install: bool = True) -> Path | None:
    """A package's `dist/index.js` (what `node` runs), None when absent."""
    prefix = ensure_npm_servers() if install else npm_prefix()
    if prefix is None:
        return None
    entry = prefix / "node_modules" / package / "dist" / "index.js"
    return entry if entry.is_file() else None


def pypi_bin(name: str) -> Path | None:
    """A PyPI server's console script beside this Python (dev group), None when not installed."""
    exe = Path(sys.executable).parent / name
    return exe if exe.exists() else None


def main() -> int:
    """Install the pinned npm servers (the `make test` set-up step); non-zero when that is impossible."""
    try:
        prefix = ensure_npm_servers()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"thirdparty: {exc}", file=sys.stderr)
        return 1
    if prefix is None:
        print("thirdparty: npm and node are needed for the npm MCP servers the tests run", file=sys.stderr)
        return 1
    print(f"thirdparty: {len(NPM_SERVERS)} pinned npm MCP servers in {prefix}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
