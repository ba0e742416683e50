"""The stdio proxy: `mcp-blackbox wrap -- CMD ARGS…` in front of any MCP server, in any language.

Bytes are forwarded unchanged in both directions; a copy is split into lines and handed to the
normaliser (it never re-serialises what it forwards) *before* the chunk is forwarded, so a message is
recorded (and numbered) before its peer can answer it: a response never gets a lower `sequence` than
its request, and a `tools/list` answer always finds its request (the catalog event is never lost).
stderr is inherited, so the server's logs reach the host as before. Signals (TERM, INT, HUP, QUIT,
USR1, USR2) are forwarded to the child and its exit code (or 128 + signal) is returned. Partial
lines are buffered until complete; a line over `max_line_bytes` is recorded as an
`oversized_message` anomaly (its bytes still flow).

Lifecycle events: `server_spawn` (command, resolved binary path, pid, and what actually runs — see
`identity.py`: for interpreters and launchers `server_binary_sha256` is the entry script's / package's
hash and the interpreter's own hash is in the attributes; `server_identity` when a launcher fetched
the package on first use) and
`server_exit` (exit code or signal, runtime), plus `spawn_failed` when the command cannot start.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mcp_blackbox.collector.emit.config import CaptureConfig
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.hostproc import host_process_identity
from mcp_blackbox.collector.emit.identity import file_sha256 as file_sha256
from mcp_blackbox.collector.emit.identity import resolve_identity
from mcp_blackbox.collector.emit.normalizer import ConnectionNormalizer
from mcp_blackbox.schema.enums import Direction, EmitterRole, Transport
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.transport import spool_url

log = logging.getLogger(__name__)

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
_CHUNK = 1 << 16
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024


class LineSplitter:
    """Feeds complete lines of a byte stream to a callback; survives partial and huge lines."""

    def __init__(self, on_line: Callable[[bytes, int], None], on_oversized: Callable[[int], None],
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._skipping = False
        self._on_line = on_line
        self._on_oversized = on_oversized
        self._max = max_line_bytes
        self._first_ns = 0  # when the first byte of the pending line was read

    def feed(self, chunk: bytes, read_ns: int = 0) -> None:
        start = 0
        if not self._parts and not self._skipping:
            self._first_ns = read_ns
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._append(chunk[start:])
                return
            self._append(chunk[start:end])
            if self._skipping:
                self._on_oversized(self._size)
            else:
                line = b"".join(self._parts)
                if line.strip():
                    self._on_line(line, self._first_ns)
            self._parts, self._size, self._skipping = [], 0, False
            self._first_ns = read_ns
            start = end + 1

    def _append(self, piece: bytes) -> None:
        if not piece:
            return
        self._size += len(piece)
        if self._skipping:
            return
        if self._size > self._max:
            self._parts, self._skipping = [], True
            return
        self._parts.append(piece)

    def finish(self) -> None:
        """End of stream: a trailing line without newline is still recorded."""
        if self._skipping:
            self._on_oversized(self._size)
        elif self._parts:
            line = b"".join(self._parts)
            if line.strip():
                self._on_line(line, self._first_ns)
        self._parts, self._size, self._skipping = [], 0, False


def open_emitter(role: EmitterRole, component: str, config: CaptureConfig, **static: Any) -> Emitter:
    """An emitter for a proxy process; an unusable sink falls back to the overflow spool, loudly.

    The server must still start (it is the host's tool), but never unrecorded in silence: the
    fallback is logged on stderr; if even the fallback spool cannot be opened, one clear line.
    """
    try:
        return Emitter(role, component, config=config, install_signal_handler=False, **static)
    except OSError as exc:
        fallback = dataclasses.replace(config, sink=spool_url(config.spool_fallback_dir))
        log.warning("mcp-blackbox %s: sink %s unusable (%s); recording to spool %s instead", component,
                    config.sink, exc.strerror or exc, config.spool_fallback_dir)
        try:
            return Emitter(role, component, config=fallback, install_signal_handler=False, **static)
        except OSError as exc2:
            msg = f"cannot open sink {config.sink} nor the fallback spool: {exc2.strerror or exc2}"
            raise UsageError(msg) from exc2


@dataclass
class WrapResult:
    """How the wrapped server ended."""

    exit_code: int
    signal: int | None


class StdioProxy:
    """Runs one server child and records its stdio conversation."""

    def __init__(self, command: Sequence[str], *, name: str | None, config: CaptureConfig,
                 stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        if not command:
            msg = "wrap needs a command: mcp-blackbox wrap [--name N] -- CMD ARGS…"
            raise UsageError(msg)
        self.command = list(command)
        self.name = name or Path(self.command[0]).name
        self.binary = shutil.which(self.command[0]) or self.command[0]
        self.stdin = stdin or sys.stdin.buffer
        self.stdout = stdout or sys.stdout.buffer
        self.emitter = open_emitter(EmitterRole.GATEWAY, "wrap", config, server_config_name=self.name,
                                    server_command=" ".join(self.command))
        self.normalizer = ConnectionNormalizer(self.emitter, transport=Transport.STDIO, server_config_name=self.name)
        self.child: subprocess.Popen[bytes] | None = None
        self._identity_pending = False

    def _observe(self, direction: Direction) -> LineSplitter:
        def on_line(line: bytes, read_ns: int) -> None:
            self.normalizer.observe(line, direction, observed_ns=read_ns or None)

        def on_oversized(size: int) -> None:
            self.normalizer.lifecycle("oversized_message", risk_flags=["protocol_anomaly", "oversized_message"],
                                      attributes={"direction": direction.value, "size_bytes": size})

        return LineSplitter(on_line, on_oversized)

    def _client_to_server(self) -> None:
        """Our stdin → the child's stdin, byte for byte; the copy goes to the normaliser."""
        assert self.child is not None and self.child.stdin is not None  # noqa: S101 - set in run()
        splitter = self._observe(Direction.CLIENT_TO_SERVER)
        fd = self.stdin.fileno()
        try:
            while True:
                chunk = os.read(fd, _CHUNK)
                read_ns = time.time_ns()
                if not chunk:
                    break
                # Record first, forward second: a request's event (and its sequence number) exists
                # before the server can see its last byte, so its response can never overtake it.
                splitter.feed(chunk, read_ns)
                self.child.stdin.write(chunk)
                self.child.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:  # the child went away first
            log.debug("mcp-blackbox wrap: client→server stream ended: %s", exc)
        finally:
            splitter.finish()
            try:
                self.child.stdin.close()
            except OSError as exc:
                log.debug("mcp-blackbox wrap: closing child stdin: %s", exc)

    def _server_to_client(self) -> None:
        """The child's stdout → our stdout, byte for byte; the copy goes to the normaliser."""
        assert self.child is not None and self.child.stdout is not None  # noqa: S101 - set in run()
        splitter = self._observe(Direction.SERVER_TO_CLIENT)
        fd = self.child.stdout.fileno()
        out = self.stdout.fileno()
        client_gone = False
        while True:
            chunk = os.read(fd, _CHUNK)
            read_ns = time.time_ns()
            if not chunk:
                break
            if self._identity_pending:  # the server answers: whatever a launcher fetched is on disk now
                self._identity_pending = False
                self._late_identity()
            splitter.feed(chunk, read_ns)  # first: a server→client request precedes the client's answer
            if not client_gone:
                try:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view):]
                except (BrokenPipeError, OSError) as exc:
                    client_gone = True  # keep draining so the child never blocks on a full pipe
                    log.debug("mcp-blackbox wrap: client stdout closed: %s", exc)
        splitter.finish()

    def run(self) -> WrapResult:
        """Spawn, pump until the child exits, record its exit; returns its exit status."""
        identity = resolve_identity(self.command)
        binary_sha = identity.code_sha256
        started = time.monotonic()
        try:
            self.child = subprocess.Popen(  # noqa: S603 - running the user's server command is the point
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, bufsize=0)
        except OSError as exc:
            self.normalizer.lifecycle("spawn_failed", status="error", error_message=str(exc),
                                      server_binary_sha256=binary_sha, attributes={"binary_path": self.binary})
            self.emitter.close()
            msg = f"cannot start {self.command[0]!r}: {exc.strerror or exc}"
            raise UsageError(msg) from exc
        child = self.child
        self.normalizer.conn["server_pid"] = child.pid
        if binary_sha:
            self.normalizer.conn["server_binary_sha256"] = binary_sha
        self.normalizer.lifecycle("server_spawn", attributes={"binary_path": self.binary, "argv": self.command,
                                                               "cwd": os.getcwd(), **identity.attributes(),
                                                               "host_process": host_process_identity()})
        self._identity_pending = not identity.complete  # npx/uvx fetch on first use: look again later
        previous = {}
        for signum in FORWARDED_SIGNALS:
            try:
                previous[signum] = signal.signal(signum, lambda s, _f: self._forward(s))
            except (ValueError, OSError):  # not the main thread, or a signal we may not catch
                continue
        c2s = threading.Thread(target=self._client_to_server, name="wrap-c2s", daemon=True)
        s2c = threading.Thread(target=self._server_to_client, name="wrap-s2c", daemon=True)
        c2s.start()
        s2c.start()
        code = child.wait()
        s2c.join(5.0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        result = WrapResult(code if code >= 0 else 128 - code, -code if code < 0 else None)
        self.normalizer.lifecycle("server_exit", status="ok" if code == 0 else "error",
                                  attributes={"exit_code": code, "signal": result.signal,
                                              "runtime_s": round(time.monotonic() - started, 3)})
        self.emitter.close()
        return result

    def _late_identity(self) -> None:
        """Resolve again after a launcher fetched the package; a `server_identity` event if it helped."""
        identity = resolve_identity(self.command)
        if not identity.complete:
            return
        sha = identity.code_sha256
        if sha:
            self.normalizer.conn["server_binary_sha256"] = sha
        self.normalizer.lifecycle("server_identity", attributes={"binary_path": self.binary, **identity.attributes()})

    def _forward(self, signum: int) -> None:
        if self.child is not None and self.child.poll() is None:
            try:
                self.child.send_signal(signum)
            except ProcessLookupError:
                return
