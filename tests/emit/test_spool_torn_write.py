"""A full disk mid-line: the torn bytes are cut off, and the `emitter_loss` event that follows arrives.

The disk filling up is simulated at the write call (a short write, then ENOSPC): a real full disk
needs a size-limited mount, which a test cannot count on.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emit_helpers import spooled

from mcp_blackbox.collector import spool as spool_module
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.spool import SpoolWriter, list_writers, read_records


def _failing_write(fail_calls: set[int], *, truncate_fails: bool = False) -> tuple[Callable[..., int], list[int]]:
    """os.write that, on the listed call numbers, writes half of the buffer and then fails with ENOSPC."""
    real = os.write
    calls = [0]

    def write(fd: int, data: Any) -> int:
        calls[0] += 1
        if calls[0] in fail_calls:
            half = max(1, len(data) // 2)
            real(fd, bytes(data[:half]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    return write, calls


@pytest.mark.parametrize("truncate_fails", [False, True])
def test_writer_cuts_torn_write_before_next_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   truncate_fails: bool) -> None:
    writer = SpoolWriter(tmp_path, "w1")
    writer.append([b'{"n":0}'])
    write, _calls = _failing_write({1})
    monkeypatch.setattr(spool_module.os, "write", write)
    if truncate_fails:
        real_truncate = os.ftruncate
        state = {"failed": False}

        def ftruncate(fd: int, size: int) -> None:
            if not state["failed"]:
                state["failed"] = True
                raise OSError(errno.EIO, "I/O error")
            real_truncate(fd, size)

        monkeypatch.setattr(spool_module.os, "ftruncate", ftruncate)
    with pytest.raises(OSError, match="No space"):
        writer.append([b'{"n":"lost-1"}', b'{"n":"lost-2"}'])
    writer.append([b'{"n":1}'])
    writer.close()
    records = list(read_records(tmp_path, "w1"))
    assert [json.loads(r.value)["n"] for r in records] == [0, 1]
    assert not any(r.torn for r in records)


def test_loss_event_after_a_full_disk_arrives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    em = Emitter("client", "test", sink=f"spool://{tmp_path}")
    em.emit("message", connection_id="c", method="ping", jsonrpc_id="0")
    assert em.flush(5)
    write, _calls = _failing_write({1})  # the next batch hits the full disk halfway through its line
    monkeypatch.setattr(spool_module.os, "write", write)
    em.emit("message", connection_id="c", method="ping", jsonrpc_id="1")
    assert em.flush(5)
    em.emit("message", connection_id="c", method="ping", jsonrpc_id="2")
    em.close(5)
    assert em.stats.lost_sink == 1 and em.stats.loss_events == 1
    events = spooled(tmp_path)  # validates every record: a torn line would fail here
    assert not any(r.torn for w in list_writers(tmp_path) for r in read_records(tmp_path, w))
    loss = [e for e in events if e.get("event_subtype") == "emitter_loss"]
    assert len(loss) == 1 and json.loads(loss[0]["attributes_json"])["lost_events"] == 1
    assert json.loads(loss[0]["attributes_json"])["reason"] == "disk full"
    assert [e.get("jsonrpc_id") for e in events if e.get("method") == "ping"] == ["0", "2"]
