"""What a stdio server command actually runs: the package, its version and a hash of its code.

`wrap` used to hash `argv[0]` only, which for interpreters and launchers is the same file for every
server (`/usr/bin/node`, `npx-cli.js`, `python3`, `uvx`…), so the inventory could not tell servers
apart. `resolve_identity` looks through the interpreter or launcher at the entry it will load:

- a script with a `#!` line (console scripts of Python packages, `.js` bins): the script itself, its
  package from the `*.dist-info` that lists it (Python) or the nearest `package.json` (Node);
- `python [-m MOD | SCRIPT]`: the module's `__main__.py` / file in that interpreter's site-packages,
  or the script; the distribution that owns it (name, version, `RECORD` hash);
- `node SCRIPT`, `bun [run] SCRIPT`, `deno run SCRIPT|SPEC`: the script and its nearest `package.json`
  (and lock file), or the remote spec;
- `npx [-y] PKG`, `bunx PKG`, `bun x PKG`: the package in the local `node_modules` or npx's cache;
  its `package.json` and `bin` entry; `uvx PKG` / `uv tool run PKG` / `pipx run PKG`: the package's
  `*.dist-info` in uv's or pipx's cache;
- `java -jar JAR`: the jar and its manifest's `Implementation-Title`/`-Version`;
- `docker|podman run … IMAGE`: the image reference and its digest (from the reference, or the
  local image's id when the engine answers within a second).

The result's `code_sha256` (entry, else manifest, else image digest) becomes `server_binary_sha256`;
the interpreter or launcher's own hash is kept beside it (`interpreter_sha256` in the spawn event's
attributes) with the rest. Launchers that fetch on first use (npx, uvx, pipx) may not have the
package on disk at spawn: `wrap` resolves again once the server has answered and records a
`server_identity` event. Only stdlib, no network; every probe is bounded and never raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_NODE = {"node", "nodejs"}
_PYTHON_RE = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$")
_DOCKER_VALUE_FLAGS = {"-e", "--env", "-v", "--volume", "--name", "-p", "--publish", "--network", "--net", "-w",
                       "--workdir", "--entrypoint", "--mount", "-u", "--user", "-l", "--label", "--platform",
                       "--env-file", "-h", "--hostname", "--add-host", "--cpus", "-m", "--memory", "--pull",
                       "--runtime", "--security-opt", "--cap-add", "--cap-drop", "--device", "--ulimit",
                       "--log-driver", "--log-opt", "--restart", "--tmpfs", "--ipc", "--pid", "--group-add"}
_NPX_VALUE_FLAGS = {"-p", "--package", "-c", "--call", "--cache", "--registry", "--prefix", "-w", "--workspace"}
_UV_VALUE_FLAGS = {"--from", "--with", "--python", "-p", "--index", "--index-url", "--extra-index-url",
                   "--with-requirements", "--constraint", "-c", "--spec"}


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a file, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


@dataclass
class ServerIdentity:
    """What runs behind a stdio server command (every field optional but `binary_path`)."""

    binary_path: str
    binary_sha256: str | None = None  # argv[0] resolved: the interpreter or launcher for those
    launcher: str | None = None  # node, npx, python, uvx, pipx, deno, bun, java, docker… (None: native)
    ecosystem: str | None = None  # npm, pypi, jar, oci, deno
    package_name: str | None = None
    package_version: str | None = None
    entry_path: str | None = None  # the file that actually runs first
    entry_sha256: str | None = None
    manifest_path: str | None = None  # package.json, *.dist-info/RECORD, META-INF/MANIFEST.MF
    manifest_sha256: str | None = None
    lock_sha256: str | None = None  # package-lock.json / uv.lock next to the package, when there is one
    image: str | None = None
    image_digest: str | None = None
    spec: str | None = None  # what the launcher was asked for (npx/uvx package spec, deno URL)
    notes: list[str] = field(default_factory=list)

    @property
    def code_sha256(self) -> str | None:
        """The hash that identifies the server's code: entry, else manifest, else image, else binary."""
        return self.entry_sha256 or self.manifest_sha256 or _digest_hex(self.image_digest) or self.binary_sha256

    @property
    def complete(self) -> bool:
        """False for a launcher whose package is not on disk (yet)."""
        return self.launcher is None or self.entry_sha256 is not None or self.manifest_sha256 is not None \
            or self.image_digest is not None

    def attributes(self) -> dict[str, Any]:
        """The spawn event's identity attributes (no None values)."""
        if self.launcher is None:
            return {}  # a native executable: server_binary_sha256 says it all
        data = {k: v for k, v in asdict(self).items() if v not in (None, [])}
        data.pop("binary_path", None)
        if "binary_sha256" in data:
            data["interpreter_sha256" if self.launcher else "binary_sha256"] = data.pop("binary_sha256")
        return {"server_package": data} if data else {}


def _digest_hex(digest: str | None) -> str | None:
    if digest and digest.startswith("sha256:") and len(digest) == 71:
        return digest[7:]
    return None


def _base(name: str) -> str:
    base = Path(name).name.lower()
    return base[:-4] if base.endswith(".exe") else base


def resolve_identity(command: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> ServerIdentity:
    """Identify what `command` runs; never raises (unknown shapes keep the binary's hash only)."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or os.getcwd()
    binary = shutil.which(command[0], path=env.get("PATH")) or command[0]
    ident = ServerIdentity(binary_path=binary, binary_sha256=file_sha256(binary) if os.path.isfile(binary) else None)
    try:
        _resolve(ident, command, Path(cwd), env)
    except (OSError, ValueError, UnicodeError, KeyError, IndexError, zipfile.BadZipFile) as exc:
        ident.notes.append(f"identity probe failed: {type(exc).__name__}: {exc}"[:200])
    return ident


def _resolve(ident: ServerIdentity, command: list[str], cwd: Path, env: dict[str, str]) -> None:
    name = _base(command[0])
    args = command[1:]
    real = _base(os.path.realpath(ident.binary_path))
    if name in ("npx",) or real == "npx-cli.js":
        ident.launcher = "npx"
        _npx(ident, args, cwd, env)
    elif name == "bunx" or (name == "bun" and args[:1] in (["x"], ["bunx"])):
        ident.launcher = "bunx"
        _npx(ident, args[1:] if name == "bun" else args, cwd, env)
    elif name in _NODE or name == "bun":
        ident.launcher = name
        script = _first_positional(args[1:] if name == "bun" and args[:1] == ["run"] else args, set())
        if script:
            _node_script(ident, cwd / script)
    elif _PYTHON_RE.match(name):
        ident.launcher = "python"
        _python(ident, args, cwd)
    elif name in ("uvx", "uv", "pipx"):
        ident.launcher = name
        rest = args[2:] if name == "uv" and args[:2] == ["tool", "run"] else args[1:] if name == "pipx" else args
        if name == "uv" and args[:2] != ["tool", "run"]:
            ident.launcher = None  # `uv run …` of a project: the binary is all we know
            return
        _uvx(ident, rest, env)
    elif name == "deno":
        ident.launcher = "deno"
        target = _first_positional(args[1:] if args[:1] == ["run"] else args, set())
        if target and re.match(r"^(jsr|npm|https?):", target):
            ident.ecosystem, ident.spec = "deno", target
            ident.package_name = target
        elif target:
            _node_script(ident, cwd / target)
    elif name == "java":
        ident.launcher = "java"
        if "-jar" in args and args.index("-jar") + 1 < len(args):
            _jar(ident, cwd / args[args.index("-jar") + 1])
    elif name in ("docker", "podman"):
        ident.launcher = name
        if args[:1] == ["run"] or args[:2] == ["container", "run"]:
            _image(ident, args[1:] if args[0] == "run" else args[2:], ident.binary_path)
    elif os.path.isfile(ident.binary_path):
        _shebang(ident, Path(ident.binary_path))


def _first_positional(args: list[str], value_flags: set[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--":
            continue
        if arg.startswith("-"):
            skip = arg in value_flags
            continue
        return arg
    return None


def _shebang(ident: ServerIdentity, path: Path) -> None:
    """A script run directly: Python console scripts and Node bins are identified by their package."""
    with open(path, "rb") as fh:
        head = fh.read(256)
    if not head.startswith(b"#!"):
        return  # a native executable: its own hash is its identity
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    interp = line[2:].strip().split()
    if interp and _base(interp[0]) == "env" and len(interp) > 1:
        interp = interp[1:]
    kind = _base(interp[0]) if interp else ""
    ident.entry_path, ident.entry_sha256 = os.path.abspath(path), ident.binary_sha256
    if _PYTHON_RE.match(kind):
        ident.launcher = "python-script"
        _dist_owning(ident, _site_packages_of(Path(interp[0])), script_name=path.name)
    elif kind in _NODE:
        ident.launcher = "node-script"
        _package_json_above(ident, Path(os.path.realpath(path)))


def _site_packages_of(interpreter: Path) -> list[Path]:
    roots = {interpreter.parent.parent, Path(os.path.realpath(interpreter)).parent.parent}
    out: list[Path] = []
    for root in roots:
        out.extend(sorted(root.glob("lib/python3*/site-packages")))
        out.extend(sorted(root.glob("lib/python3/dist-packages")))
    return out


def _python(ident: ServerIdentity, args: list[str], cwd: Path) -> None:
    interpreter = Path(ident.binary_path)
    if "-m" in args and args.index("-m") + 1 < len(args):
        module = args[args.index("-m") + 1]
        for site in _site_packages_of(interpreter):
            top = site / module.replace(".", "/")
            for candidate in (top / "__main__.py", top.with_suffix(".py")):
                if candidate.is_file():
                    ident.entry_path, ident.entry_sha256 = os.path.abspath(candidate), file_sha256(candidate)
                    _dist_owning(ident, [site], module_top=module.split(".")[0])
                    return
        ident.spec = module
        ident.notes.append(f"module {module} not found in the interpreter's site-packages")
        return
    script = _first_positional(args, {"-c", "-W", "-X"})
    if script and "-c" not in args:
        path = cwd / script
        ident.entry_path, ident.entry_sha256 = os.path.abspath(path), file_sha256(path)


def _dist_owning(ident: ServerIdentity, sites: list[Path], *, script_name: str | None = None,
                 module_top: str | None = None) -> None:
    """The installed distribution whose RECORD lists the console script or the module."""
    for site in sites:
        for record in sorted(site.glob("*.dist-info/RECORD")):
            try:
                text = record.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            hit = False
            if script_name is not None:
                hit = re.search(rf"(^|/)bin/{re.escape(script_name)},", text, re.M) is not None
            if module_top is not None and not hit:
                hit = re.search(rf"^{re.escape(module_top)}(/__init__\.py|\.py),", text, re.M) is not None
            if hit:
                _metadata(ident, record.parent)
                ident.manifest_path, ident.manifest_sha256 = str(record), file_sha256(record)
                ident.ecosystem = "pypi"
                return


def _metadata(ident: ServerIdentity, dist_info: Path) -> None:
    try:
        with open(dist_info / "METADATA", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("Name:"):
                    ident.package_name = line[5:].strip()
                elif line.startswith("Version:"):
                    ident.package_version = line[8:].strip()
                elif not line.strip():
                    break
    except OSError:
        return


def _node_script(ident: ServerIdentity, script: Path) -> None:
    real = Path(os.path.realpath(script))
    ident.entry_path, ident.entry_sha256 = str(real), file_sha256(real)
    _package_json_above(ident, real)


def _package_json_above(ident: ServerIdentity, path: Path) -> None:
    for parent in path.parents:
        manifest = parent / "package.json"
        if manifest.is_file():
            _package_json(ident, manifest)
            return
        if parent.name == "node_modules":
            return


def _package_json(ident: ServerIdentity, manifest: Path) -> dict[str, Any]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return {}
    ident.ecosystem = "npm"
    ident.package_name = str(data.get("name") or "") or None
    ident.package_version = str(data.get("version") or "") or None
    ident.manifest_path, ident.manifest_sha256 = str(manifest), file_sha256(manifest)
    for lock_dir in (manifest.parent, *manifest.parents):
        lock = lock_dir / "package-lock.json"
        if lock.is_file():
            ident.lock_sha256 = file_sha256(lock)
            break
        if lock_dir.name == "node_modules" or (lock_dir / ".package-lock.json").is_file():
            hidden = lock_dir / ".package-lock.json"
            if hidden.is_file():
                ident.lock_sha256 = file_sha256(hidden)
            break
    return data


def _split_spec(spec: str) -> tuple[str, str | None]:
    """`@scope/name@1.2` → (`@scope/name`, `1.2`); `name` → (`name`, None)."""
    at = spec.rfind("@")
    if at > 0:
        return spec[:at], spec[at + 1:] or None
    return spec, None


def _npx(ident: ServerIdentity, args: list[str], cwd: Path, env: dict[str, str]) -> None:
    spec = None
    for i, arg in enumerate(args):
        if arg in ("-p", "--package") and i + 1 < len(args):
            spec = args[i + 1]
            break
        if arg.startswith("--package="):
            spec = arg.split("=", 1)[1]
            break
    spec = spec or _first_positional(args, _NPX_VALUE_FLAGS)
    if not spec:
        return
    ident.spec = spec
    name, version = _split_spec(spec)
    ident.package_name, ident.package_version, ident.ecosystem = name, version, "npm"
    candidates = [p / "node_modules" / name for p in (cwd, *cwd.parents)]
    cache = Path(env.get("npm_config_cache") or env.get("NPM_CONFIG_CACHE") or Path.home() / ".npm")
    npx_dirs = sorted((cache / "_npx").glob("*/node_modules/" + name), key=_mtime, reverse=True)
    for pkg in [*candidates, *npx_dirs]:
        manifest = pkg / "package.json"
        if not manifest.is_file():
            continue
        probe = ServerIdentity(binary_path=ident.binary_path)
        data = _package_json(probe, manifest)
        if version and probe.package_version != version:
            continue
        ident.package_version = probe.package_version
        ident.manifest_path, ident.manifest_sha256, ident.lock_sha256 = (probe.manifest_path, probe.manifest_sha256,
                                                                         probe.lock_sha256)
        entry = _bin_entry(data, name)
        if entry:
            path = Path(os.path.realpath(pkg / entry))
            ident.entry_path, ident.entry_sha256 = str(path), file_sha256(path)
        return
    ident.notes.append("package not on disk yet (fetched on first use)")


def _bin_entry(data: dict[str, Any], name: str) -> str | None:
    binary = data.get("bin")
    if isinstance(binary, str):
        return binary
    if isinstance(binary, dict) and binary:
        short = name.rsplit("/", 1)[-1]
        value = binary.get(short) or next(iter(binary.values()))
        return str(value)
    main = data.get("main")
    return str(main) if main else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _uvx(ident: ServerIdentity, args: list[str], env: dict[str, str]) -> None:
    spec = None
    if "--from" in args and args.index("--from") + 1 < len(args):
        spec = args[args.index("--from") + 1]
    spec = spec or _first_positional(args, _UV_VALUE_FLAGS)
    if not spec:
        return
    ident.spec = spec
    name = re.split(r"[=<>!~\[@ ]", spec, maxsplit=1)[0]
    pinned = re.search(r"==\s*([\w.+-]+)", spec) or re.search(r"@([\w.+-]+)$", spec)
    ident.package_name, ident.ecosystem = name, "pypi"
    ident.package_version = pinned.group(1) if pinned else None
    home = Path.home()
    roots = [Path(env.get("UV_CACHE_DIR") or Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "uv"),
             Path(env.get("PIPX_HOME") or home / ".local" / "pipx"), home / ".local" / "share" / "pipx"]
    norm = re.sub(r"[-_.]+", "_", name).lower()
    found: list[Path] = []
    # uv: archive-v0/<id>/[lib/python3.X/site-packages/]; pipx: venvs/<pkg>/… and .cache/<id>/… (bounded
    # patterns: a recursive walk of a large cache would delay the server's start)
    patterns = ("archive-v0/*/{d}", "archive-v0/*/lib/python3*/site-packages/{d}",
                "venvs/*/lib/python3*/site-packages/{d}", ".cache/*/lib/python3*/site-packages/{d}")
    for root in roots:
        if root.is_dir():
            for pattern in patterns:
                found.extend(p for p in root.glob(pattern.format(d="*.dist-info")) if _dist_name(p) == norm)
    for dist in sorted(found, key=_mtime, reverse=True):
        probe = ServerIdentity(binary_path=ident.binary_path)
        _metadata(probe, dist)
        if ident.package_version and probe.package_version != ident.package_version:
            continue
        ident.package_name = probe.package_name or name
        ident.package_version = probe.package_version
        record = dist / "RECORD"
        ident.manifest_path, ident.manifest_sha256 = str(record), file_sha256(record)
        return
    ident.notes.append("package not on disk yet (fetched on first use)")


def _dist_name(dist_info: Path) -> str:
    """`Mcp_Server-1.2.dist-info` → `mcp_server` (PEP 503 normalised, separators as `_`)."""
    return re.sub(r"[-_.]+", "_", dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]).lower()


def _jar(ident: ServerIdentity, jar: Path) -> None:
    ident.entry_path, ident.entry_sha256, ident.ecosystem = str(jar), file_sha256(jar), "jar"
    with zipfile.ZipFile(jar) as archive, archive.open("META-INF/MANIFEST.MF") as fh:
        for raw in fh.read(65536).decode("utf-8", "replace").splitlines():
            key, _, value = raw.partition(":")
            if key == "Implementation-Title":
                ident.package_name = value.strip()
            elif key == "Implementation-Version":
                ident.package_version = value.strip()


def _image(ident: ServerIdentity, args: list[str], engine: str) -> None:
    image = _first_positional(args, _DOCKER_VALUE_FLAGS)
    if not image:
        return
    ident.image, ident.ecosystem = image, "oci"
    if "@sha256:" in image:
        ident.image_digest = image.split("@", 1)[1]
        return
    try:
        out = subprocess.run([engine, "image", "inspect", "--format", "{{.Id}}", image],  # noqa: S603 - the user's engine
                             capture_output=True, text=True, timeout=1.0, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        ident.notes.append(f"image digest unknown: {exc}"[:200])
        return
    digest = out.stdout.strip()
    if out.returncode == 0 and digest.startswith("sha256:"):
        ident.image_digest = digest
    else:
        ident.notes.append("image not present locally (pulled on first use)")
