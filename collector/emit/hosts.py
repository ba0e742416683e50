"""Route a host's stdio MCP servers through `mcp-blackbox wrap`, and undo it byte for byte.

Known formats (JSON or JSONC: comments and trailing commas are kept, byte for byte):
- Claude Desktop (`claude_desktop_config.json`), Cursor (`.cursor/mcp.json`, `~/.cursor/mcp.json`),
  Windsurf (`~/.codeium/windsurf/mcp_config.json`) and Claude Code's project `.mcp.json`: top-level
  `mcpServers: {name: {type?, command, args, env}}`;
- Claude Code's user `~/.claude.json`: the user-scope `mcpServers` and every project's local-scope
  `projects["/path"].mcpServers`;
- VS Code (`.vscode/mcp.json`): `servers: {name: {type?, command, args, env, envFile}}` beside
  `inputs` (left alone), or a user `settings.json` holding the same under `mcp.servers`;
- Zed (`settings.json`): `context_servers: {name: {command, args, env}}`, or the older
  `{command: {path, args, env}}`; extension-provided and remote (`url`) servers are left alone.

`wrap` rewrites every stdio entry (one with a `command`, and `type` absent or `"stdio"`) to
`<mcp-blackbox> wrap --name <key> [--sink URL] -- <command> <args…>` by splicing the command string
and the front of the `args` array in place (or inserting `args` after the command), so comments,
trailing commas, formatting and every other key stay as they were; HTTP entries are left alone and
entries already wrapped are reported as such. Before the first change the original bytes are kept in
`<file>.mcp-blackbox.bak`. `unwrap` reverses the splices; when the result is the same document as the
backup, the backup's bytes are restored exactly. If the user edited the file in between, their edits
are kept and only the wrap is undone.

Anything else (not JSON/JSONC, no server table) is refused with one line and the file is not touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_blackbox.collector.emit import jsonc
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
    already_wrapped: list[str] = field(default_factory=list)  # wrap: stdio entries that run through wrap already
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


def _load(path: Path) -> tuple[bytes, str, jsonc.Node]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise UsageError(msg) from exc
    try:
        text = raw.decode("utf-8")
        return raw, text, jsonc.parse(text)
    except (UnicodeDecodeError, jsonc.JsoncError) as exc:
        msg = f"{path}: unknown host configuration format (not JSON or JSONC: {exc}); file left untouched"
        raise UsageError(msg) from exc


def _object(node: jsonc.Node | None) -> jsonc.Node | None:
    return node if node is not None and node.kind == "object" else None


def _member_object(node: jsonc.Node | None, key: str) -> jsonc.Node | None:
    parent = _object(node)
    member = parent.get(key) if parent is not None else None
    return _object(member.value) if member is not None else None


def _tables(root: jsonc.Node, path: Path) -> tuple[str, list[tuple[str, jsonc.Node]]]:
    """The host format and its server tables as (label prefix, object node)."""
    tables: list[tuple[str, jsonc.Node]] = []
    top = _member_object(root, "mcpServers")
    if top is not None:
        tables.append(("", top))
    projects = _member_object(root, "projects")  # ~/.claude.json: per-project (local scope) servers
    for member in projects.members if projects is not None else []:
        table = _member_object(member.value, "mcpServers")
        if table is not None:
            tables.append((f"{member.key}:", table))
    if tables:
        if path.name == ".claude.json" or len(tables) > 1 or tables[0][0]:
            return "claude-code-user", tables
        if path.name == ".mcp.json":
            return "claude-code", tables
        if path.parent.name == ".cursor":
            return "cursor", tables
        if path.name == "mcp_config.json":
            return "windsurf", tables
        return "claude-desktop", tables
    for fmt, table in (("vscode", _member_object(root, "servers")),
                       ("vscode-settings", _member_object(_member_object(root, "mcp"), "servers")),
                       ("zed", _member_object(root, "context_servers"))):
        if table is not None:
            return fmt, [("", table)]
    msg = (f"{path}: unknown host configuration format (no 'mcpServers', 'servers', 'mcp.servers' or "
           "'context_servers' table); file left untouched")
    raise UsageError(msg)


def server_table(doc: Any, path: Path) -> tuple[str, dict[str, Any]]:
    """The host format and its (first) server table, from a parsed document."""
    fmt, tables = _tables(jsonc.parse(json.dumps(doc)), path)
    return fmt, tables[0][1].value()


@dataclass
class _Entry:
    name: str  # the server key: wrap's --name
    label: str  # how the report names it (project-scoped entries carry their project)
    node: jsonc.Node  # the object holding the command and its args
    command_key: str  # "command", or "path" in Zed's older `"command": {"path", "args", "env"}`

    @property
    def command(self) -> jsonc.Member:
        member = self.node.get(self.command_key)
        assert member is not None  # noqa: S101 - guaranteed by _entries
        return member

    @property
    def args(self) -> jsonc.Member | None:
        return self.node.get("args")

    def plain(self) -> dict[str, Any]:
        value: dict[str, Any] = dict(self.node.value())
        if self.command_key != "command":
            value["command"] = value.pop(self.command_key)
        return value


def _entries(tables: list[tuple[str, jsonc.Node]]) -> tuple[list[_Entry], list[str]]:
    """Stdio entries of the tables, and the labels of the others (remote, extension-provided…)."""
    entries, others = [], []
    for prefix, table in tables:
        for member in table.members:
            node = _object(member.value)
            command = node.get("command") if node is not None else None
            label = prefix + member.key
            if node is None or command is None:
                others.append(label)
            elif command.value.kind == "string" and _is_stdio(node.value()):
                entries.append(_Entry(member.key, label, node, "command"))
            elif command.value.kind == "object" and (path := command.value.get("path")) is not None \
                    and path.value.kind == "string":
                entries.append(_Entry(member.key, label, command.value, "path"))
            else:
                others.append(label)
    return entries, others


def _wrap_edits(entry: _Entry, wrap_command: str, sink: str | None) -> list[tuple[int, int, str]]:
    """Splices that route one entry through wrap; everything around them stays as it was."""
    args = entry.args
    if args is not None and args.value.kind != "array":
        msg = f"server {entry.label!r}: 'args' is not a list; file left untouched"
        raise UsageError(msg)
    prefix = [WRAP_MARKER] + ([] if args is not None else ["--no-args"]) + ["--name", entry.name]
    if sink:
        prefix += ["--sink", sink]
    prefix += ["--", entry.command.value.scalar]
    command = entry.command.value
    edits = [(command.start, command.end, jsonc.dumps_value(wrap_command))]
    listed = ", ".join(jsonc.dumps_value(a) for a in prefix)
    if args is None:
        edits.append((command.end, command.end, f', "args": [{listed}]'))
    elif args.value.items:
        first = args.value.items[0].start
        edits.append((first, first, listed + ", "))
    else:
        edits.append((args.value.start + 1, args.value.start + 1, listed))
    return edits


def _unwrap_edits(entry: _Entry, text: str) -> list[tuple[int, int, str]]:
    """The reverse splices: the original command back, wrap's arguments cut out (or `args` removed)."""
    args = entry.args
    assert args is not None  # noqa: S101 - only wrapped entries come here
    items = args.value.items
    values = [i.value() for i in items]
    cut = values.index("--")
    command = entry.command.value
    edits = [(command.start, command.end, jsonc.dumps_value(values[cut + 1]))]
    if not (len(values) > 1 and values[1] == "--no-args"):
        end = items[cut + 2].start if len(items) > cut + 2 else items[cut + 1].end
        edits.append((items[0].start, end, ""))
    elif text[command.end:args.key_start].strip() == ",":
        edits.append((command.end, args.value.end, ""))  # exactly what wrap inserted
    else:
        after = args.value.end
        while after < len(text) and text[after] in " \t\r\n":
            after += 1
        edits.append((args.key_start, after + 1 if text.startswith(",", after) else args.value.end, ""))
    return edits


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
    raw, text, root = _load(path)
    fmt, tables = _tables(root, path)
    entries, others = _entries(tables)
    report = HostsReport(path, fmt, skipped=others)
    command = wrap_command or default_wrap_command()
    any_wrapped = False
    edits: list[tuple[int, int, str]] = []
    for entry in entries:
        if is_wrapped(entry.plain()):
            any_wrapped = True
            report.already_wrapped.append(entry.label)
            continue
        edits.extend(_wrap_edits(entry, command, sink))
        report.changed.append(entry.label)
    if not report.changed:
        return report
    backup = backup_path(path)
    if not any_wrapped or not backup.exists():
        # First wrap of a clean file: keep its exact bytes (never overwrite an older, truer backup).
        _write_atomic(backup, raw)
    report.backup = backup
    _write_atomic(path, jsonc.apply_edits(text, edits).encode("utf-8"))
    return report


def unwrap_config(path: str | Path) -> HostsReport:
    """Undo `wrap_config`; byte for byte when the file was not edited in between."""
    path = Path(path)
    _, text, root = _load(path)
    fmt, tables = _tables(root, path)
    entries, others = _entries(tables)
    report = HostsReport(path, fmt, skipped=others)
    edits: list[tuple[int, int, str]] = []
    for entry in entries:
        if is_wrapped(entry.plain()):
            edits.extend(_unwrap_edits(entry, text))
            report.changed.append(entry.label)
        else:
            report.skipped.append(entry.label)
    backup = backup_path(path)
    report.backup = backup if backup.exists() else None
    if not report.changed:
        return report
    out_text = jsonc.apply_edits(text, edits)
    out = out_text.encode("utf-8")
    if backup.exists():
        try:
            original = backup.read_bytes()
            if original == out or jsonc.loads(original.decode("utf-8")) == jsonc.loads(out_text):
                out, report.restored_exactly = original, True
        except (OSError, UnicodeDecodeError, jsonc.JsoncError):
            report.restored_exactly = False  # a damaged backup: keep the structural unwrap
    _write_atomic(path, out)
    return report
