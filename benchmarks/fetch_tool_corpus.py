"""Fetch the benign half of the tool-definition corpus: run real MCP servers and list their tools.

    python benchmarks/fetch_tool_corpus.py [--npm-prefix DIR] [--out tests/data/tool_corpus/benign.jsonl]

Each server is started over stdio with the official `mcp` client and asked for `tools/list`; every
tool definition is written as one JSON line with its provenance (package, version, how it was run).
PyPI servers are looked up on PATH and beside this Python (install them with pip); npm servers in
`--npm-prefix` (default: the pinned set of samples/thirdparty.py, installed once under `.cache/npm`).
Servers that are not installed are skipped and named on stderr. Placeholder tokens (not secrets) are
given to servers that refuse to start without one; listing tools never uses them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from samples import thirdparty

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDER = "placeholder-not-a-token"
PYPI = [("mcp-server-time", ["--local-timezone", "UTC"]), ("mcp-server-git", []), ("mcp-server-fetch", [])]
NPM = [("@modelcontextprotocol/server-filesystem", "mcp-server-filesystem", ["{tmp}"]),
       ("@modelcontextprotocol/server-everything", "mcp-server-everything", []),
       ("@modelcontextprotocol/server-memory", "mcp-server-memory", []),
       ("@modelcontextprotocol/server-sequential-thinking", "mcp-server-sequential-thinking", []),
       ("@modelcontextprotocol/server-github", "mcp-server-github", []),
       ("@modelcontextprotocol/server-gitlab", "mcp-server-gitlab", []),
       ("@modelcontextprotocol/server-slack", "mcp-server-slack", []),
       ("@modelcontextprotocol/server-brave-search", "mcp-server-brave-search", []),
       ("@modelcontextprotocol/server-google-maps", "mcp-server-google-maps", []),
       ]
ENV = {"GITHUB_PERSONAL_ACCESS_TOKEN": PLACEHOLDER, "GITLAB_PERSONAL_ACCESS_TOKEN": PLACEHOLDER,
       "SLACK_BOT_TOKEN": PLACEHOLDER, "SLACK_TEAM_ID": "T0000000", "BRAVE_API_KEY": PLACEHOLDER,
       "GOOGLE_MAPS_API_KEY": PLACEHOLDER, "MEMORY_FILE_PATH": "{tmp}/memory.json"}


def _pypi_version(exe: Path, package: str) -> str:
    for site in exe.parent.parent.glob("lib/python*/site-packages"):
        for dist in site.glob(f"{package.replace('-', '_')}-*.dist-info"):
            return dist.name.split("-")[1].removesuffix(".dist")
    return "unknown"


def _npm_version(prefix: Path, package: str) -> str:
    try:
        return str(json.loads((prefix / "node_modules" / package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


async def _list(command: str, args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    params = StdioServerParameters(command=command, args=args, env={**os.environ, **env})
    with anyio.fail_after(60):
        async with Client(stdio_client(params)) as client:
            tools = (await client.list_tools()).tools
    return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]


def _find_pypi(name: str) -> Path | None:
    here = Path(sys.executable).parent / name
    if here.exists():
        return here
    for extra in (REPO / ".cache" / "fetchvenv" / "bin" / name,):
        if extra.exists():
            return extra
    found = shutil.which(name)
    return Path(found) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npm-prefix", default=None,
                        help="npm prefix (default: the pinned set of samples/thirdparty.py, installed once)")
    parser.add_argument("--out", default=str(REPO / "tests" / "data" / "tool_corpus" / "benign.jsonl"))
    args = parser.parse_args()
    prefix = Path(args.npm_prefix) if args.npm_prefix else (thirdparty.ensure_npm_servers() or thirdparty.npm_prefix())
    tmp = tempfile.mkdtemp(prefix="corpus-")
    env = {k: v.replace("{tmp}", tmp) for k, v in ENV.items()}
    rows: list[dict[str, Any]] = []
    jobs: list[tuple[str, str, list[str]]] = []
    for name, extra in PYPI:
        exe = _find_pypi(name)
        if exe is None:
            print(f"skip {name}: not installed", file=sys.stderr)
            continue
        jobs.append((f"pypi:{name}=={_pypi_version(exe, name)}", str(exe), extra))
    for package, binary, extra in NPM:
        exe = prefix / "node_modules" / ".bin" / binary
        if not exe.exists():
            print(f"skip {package}: not in {prefix}", file=sys.stderr)
            continue
        extra = [a.replace("{tmp}", tmp) for a in extra]
        jobs.append((f"npm:{package}@{_npm_version(prefix, package)}", str(exe), extra))
    for source, command, extra in jobs:
        try:
            tools = anyio.run(_list, command, extra, env)
        except Exception as exc:  # noqa: BLE001 - one broken server must not stop the others
            print(f"skip {source}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        print(f"{source}: {len(tools)} tools", file=sys.stderr)
        for tool in tools:
            rows.append({"id": f"{source}#{tool['name']}", "label": "benign", "definition": tool,
                         "provenance": f"{source}, tools/list over stdio (benchmarks/fetch_tool_corpus.py)"})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(rows)} benign definitions -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
