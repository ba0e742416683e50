"""Route a host's stdio MCP servers through `mcp-blackbox wrap`, and undo it byte for byte.

Known formats (JSON files):
- Claude Desktop (`claude_desktop_config.json`) and Cursor (`.cursor/mcp.json`): top-level
  `mcpServers: {name: {command, args, env}}`;
- VS Code (`.vscode/mcp.json`): top-level `servers: {name: {type?, command, args, env}}`, or a user
  `settings.json` holding the same under `mcp.servers`.

`wrap` rewrites every stdio entry (one with a `command`, and `type` absent or `"stdio"`) to
`<mcp-blackbox> wrap --name <key> [--sink URL] -- <command> <args…>`; `env`, `cwd` and every other key
stay as they were, HTTP entries are left alone. Before the first change the original bytes are kept
in `<file>.mcp-blackbox.bak`. `unwrap` reverses the rewrite; when the result is the same document as
the backup, the backup's bytes are restored exactly (so formatting and key order come back byte for
byte). If the user edited the file in between, their edits are kept and only the wrap is undone.

Anything else (not JSON, JSON with comments, no server table) is refused with one line and the file
is not touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_blackbox.schema.errors import UsageError

BACKUP_SUFFIX = ".mcp-blackbox.bak"
WRAP_MARKER = "wrap"


@dataclass
class HostsReport:
    """What one `hosts wrap|unwrap` did."""

    path: Path
    host_format: str
    changed: list[str] = field(default_factory=list)  # server keys rewritten
    skipped: list[str] = field(default_factory=list)  # non-stdio or already in the wanted state
    backup: Path | None = None
    restored_exactly: bool = False


def backup_path(path: Path) -> Path:
    """Where the original bytes of `path` are kept."""
    return path.with_name(path.name + BACKUP_SUFFIX)


def default_wrap_command() -> str:
    """The `mcp-blackbox` executable hosts should start (absolute: hosts have a minimal PATH)."""
    beside = Path(sys.executable).parent / "mcp-blackbox"
    if beside.is_file():
        return str(beside)
    found = shutil.which("mcp-blackbox")
    if found:
        return str(Path(found).resolve())
    msg = "cannot find the mcp-blackbox executable; pass --wrap-command PATH"
    raise UsageError(msg)


def _load(path: Path) -> tuple[bytes, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise UsageError(msg) from exc
    try:
        return raw, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{path}: unknown host configuration format (not plain JSON: {exc}); file left untouched"
        raise UsageError(msg) from exc


def server_table(doc: Any, path: Path) -> tuple[str, dict[str, Any]]:
    """The host format and its server table (the dict edited in place)."""
    if isinstance(doc, dict):
        if isinstance(doc.get("mcpServers"), dict):
            fmt = "cursor" if path.parent.name == ".cursor" else "claude-desktop"
            return fmt, doc["mcpServers"]
        if isinstance(doc.get("servers"), dict):
            return "vscode", doc["servers"]
        mcp = doc.get("mcp")
        if isinstance(mcp, dict) and isinstance(mcp.get("servers"), dict):
            return "vscode-settings", mcp["servers"]
    msg = (f"{path}: unknown host configuration format (no 'mcpServers', 'servers' or 'mcp.servers' table); "
           "file left untouched")
    raise UsageError(msg)


def _is_stdio(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("command"), str)
            and entry.get("type", "stdio") == "stdio")


def is_wrapped(entry: dict[str, Any]) -> bool:
    """True when an entry already runs through `mcp-blackbox wrap`."""
    args = entry.get("args")
    return (Path(str(entry.get("command", ""))).name == "mcp-blackbox" and isinstance(args, list)
            and bool(args) and args[0] == WRAP_MARKER and "--" in args)


def wrap_entry(name: str, entry: dict[str, Any], wrap_command: str, sink: str | None) -> None:
    """Rewrite one stdio entry in place to run through `wrap`."""
    had_args = "args" in entry
    args = entry.get("args") or []
    if not isinstance(args, list):
        msg = f"server {name!r}: 'args' is not a list; file left untouched"
        raise UsageError(msg)
    # `--no-args` (ignored by wrap) remembers that the entry had no `args` key, so unwrap drops it again.
    new_args = [WRAP_MARKER] + ([] if had_args else ["--no-args"]) + ["--name", name]
    if sink:
        new_args += ["--sink", sink]
    entry["args"] = [*new_args, "--", entry["command"], *args]
    entry["command"] = wrap_command


def unwrap_entry(entry: dict[str, Any]) -> None:
    """Reverse `wrap_entry` in place."""
    args = list(entry["args"])
    had_args = True
    if len(args) > 1 and args[1] == "--no-args":
        had_args = False
        del args[1]
    rest = args[args.index("--") + 1:]
    entry["command"] = rest[0]
    if had_args:
        entry["args"] = rest[1:]
    else:
        del entry["args"]


def _indent_of(raw: bytes) -> int | str:
    match = re.search(rb"\n([ \t]+)\"", raw)
    if not match:
        return 2
    unit = match.group(1).decode()
    return unit if "\t" in unit else len(unit)


def _dump(doc: Any, raw: bytes) -> bytes:
    text = json.dumps(doc, indent=_indent_of(raw), ensure_ascii=False)
    if raw.endswith(b"\n"):
        text += "\n"
    return text.encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except OSError:
            pass  # keep the temp file's mode; the content is what matters
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def wrap_config(path: str | Path, *, wrap_command: str | None = None, sink: str | None = None) -> HostsReport:
    """Route every stdio server of a host configuration through `mcp-blackbox wrap`."""
    path = Path(path)
    raw, doc = _load(path)
    fmt, servers = server_table(doc, path)
    report = HostsReport(path, fmt)
    command = wrap_command or default_wrap_command()
    any_wrapped = any(_is_stdio(e) and is_wrapped(e) for e in servers.values())
    for name, entry in servers.items():
        if not _is_stdio(entry) or is_wrapped(entry):
            report.skipped.append(name)
            continue
        wrap_entry(name, entry, command, sink)
        report.changed.append(name)
    if not report.changed:
        return report
    backup = backup_path(path)
    if not any_wrapped or not backup.exists():
        # First wrap of a clean file: keep its exact bytes (never overwrite an older, truer backup).
        _write_atomic(backup, raw)
    report.backup = backup
    _write_atomic(path, _dump(doc, raw))
    return report


def unwrap_config(path: str | Path) -> HostsReport:
    """Undo `wrap_config`; byte for byte when the file was not edited in between."""
    path = Path(path)
    raw, doc = _load(path)
    fmt, servers = server_table(doc, path)
    report = HostsReport(path, fmt)
    for name, entry in servers.items():
        if _is_stdio(entry) and is_wrapped(entry):
            unwrap_entry(entry)
            report.changed.append(name)
        else:
            report.skipped.append(name)
    backup = backup_path(path)
    report.backup = backup if backup.exists() else None
    if not report.changed:
        return report
    out = _dump(doc, raw)
    if backup.exists():
        try:
            original = backup.read_bytes()
            if json.loads(original.decode("utf-8")) == doc:
                out, report.restored_exactly = original, True
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            report.restored_exactly = False  # a damaged backup: fall back to the structural unwrap
    _write_atomic(path, out)
    return report
