"""Identity of the host process that spawned a wrapped server: parent pid, its executable, start time, a key.

A desktop host (Claude Desktop, an IDE, an agent framework) starts every configured server itself, so
all `mcp-blackbox wrap` processes of one host session share a parent. `host_process_identity()` reads
that parent from /proc (Linux) or `ps` (elsewhere) and derives `key`: a stable id of "this process of
this host on this machine" (sha256 of machine, pid, executable and start time), which forensics uses
to join the servers of one host session when no conversation id or trace exists. Nothing here is a
secret: no environment, no command line arguments of the host.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from typing import Any


def _linux(ppid: int) -> tuple[str | None, str | None]:
    exe: str | None
    try:
        exe = os.readlink(f"/proc/{ppid}/exe")
    except OSError:
        exe = None
    try:
        with open(f"/proc/{ppid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22: start time in clock ticks after boot
        with open("/proc/stat", encoding="ascii") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        started = f"{btime + ticks / os.sysconf('SC_CLK_TCK'):.2f}"
    except (OSError, ValueError, IndexError, StopIteration):
        started = None
    return exe, started


def _ps(ppid: int) -> tuple[str | None, str | None]:
    ps = shutil.which("ps")
    if ps is None:
        return None, None
    try:
        out = subprocess.run([ps, "-o", "lstart=,comm=", "-p", str(ppid)], capture_output=True, text=True,  # noqa: S603
                             timeout=2, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    if not out:
        return None, None
    parts = out.split()
    return " ".join(parts[5:]) or None, " ".join(parts[:5]) or None


def host_process_identity(ppid: int | None = None) -> dict[str, Any]:
    """`{pid, executable, start_time, id}` of the parent process (None values when unknown).

    `id` is the host-process key. It is not called `key`: redaction removes random-looking values of
    key-like names, and a hash is random-looking (about half the keys were redacted that way).
    """
    ppid = os.getppid() if ppid is None else ppid
    exe, started = _linux(ppid) if os.path.isdir(f"/proc/{ppid}") else _ps(ppid)
    basis = f"{socket.gethostname()}|{ppid}|{exe or ''}|{started or ''}"
    return {"pid": ppid, "executable": exe, "start_time": started,
            "id": "hp-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]}
