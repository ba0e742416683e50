"""The spool: append-only, fsync'd JSONL segment files — the embedded sink and the Kafka overflow.

Layout: `SPOOL/<writer_id>/<first_record:020d>.jsonl`. Each writer (one emitter process) owns its
own directory, so many processes can share one spool directory without locks. Every line is one
event in its wire form (the same bytes Kafka would carry). A record's *offset* is its number within
its writer: the segment's first record number plus the line index. The collector treats a writer
directory as a partition and the offset exactly like a Kafka offset, so store file names, manifests
and exactly-once recovery work the same for both sources.

A segment is *sealed* when a later segment exists in the same directory or a `<name>.sealed` marker
is present; a trailing line without newline in a sealed segment is a torn write and is handed to the
reader as a malformed record (it goes to quarantine, nothing is silently dropped). Used by the
emitter side (writer) and the ingest side (reader); no heavy imports.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

SEGMENT_SUFFIX: Final = ".jsonl"
DEFAULT_SEGMENT_BYTES: Final = 64 * 1024 * 1024
_SEGMENT_RE: Final = re.compile(r"^(\d{20})\.jsonl$")
_WRITER_RE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolWriter:
    """Appends wire events for one writer id. Not thread-safe: one sender thread owns it."""

    def __init__(self, root: str | os.PathLike[str], writer_id: str,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        if not _WRITER_RE.match(writer_id):
            msg = f"spool writer id {writer_id!r} must match {_WRITER_RE.pattern}"
            raise ValueError(msg)
        self.directory = Path(root) / writer_id
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._next_record = self._recover_next_record()
        self._fd: int | None = None
        self._size = 0
        self._torn_at: int | None = None  # segment length to cut back to before the next append

    def _recover_next_record(self) -> int:
        """Continue after what this writer id already wrote (a restarted writer with the same id)."""
        segments = list_segments(self.directory)
        if not segments:
            return 0
        last_first, last_path = segments[-1]
        with open(last_path, "rb") as fh:
            data = fh.read()
        complete = data.count(b"\n")
        if not data.endswith(b"\n") and data:
            complete += 1  # the torn tail counts as a (malformed) record
        seal(last_path)
        return last_first + complete

    @property
    def next_offset(self) -> int:
        """The offset the next appended record will get."""
        return self._next_record

    def _open_segment(self) -> None:
        path = self.directory / f"{self._next_record:020d}{SEGMENT_SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        _fsync_dir(self.directory)

    def append(self, records: list[bytes], *, sync: bool = True) -> tuple[int, int]:
        """Append records (each one line, no newline inside); returns (first, last) offsets.

        Raises OSError (e.g. ENOSPC) with nothing partially counted as written: the caller counts
        the loss. A partial write (a full disk mid-line) is cut off again at once, or before the next
        append if the truncation failed too, so a torn line never swallows the record after it (which
        is typically the `emitter_loss` event reporting that very loss).
        """
        if not records:
            return (self._next_record, self._next_record - 1)
        if self._fd is None or self._size >= self.segment_bytes:
            self.close()
            self._open_segment()
        assert self._fd is not None  # noqa: S101 - opened above
        if self._torn_at is not None:  # an earlier failed append could not be undone then: now or never
            os.ftruncate(self._fd, self._torn_at)
            self._torn_at = None
        payload = b"".join(r.replace(b"\n", b" ") + b"\n" for r in records)
        view = memoryview(payload)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if sync:
                os.fsync(self._fd)
        except OSError:
            self._untear()
            raise
        self._size += len(payload)
        first = self._next_record
        self._next_record += len(records)
        return (first, self._next_record - 1)

    def _untear(self) -> None:
        """Cut the segment back to its last complete record after a failed append."""
        assert self._fd is not None  # noqa: S101 - only called while a segment is open
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            self._torn_at = self._size

    def close(self) -> None:
        """Close the current segment and mark it sealed."""
        if self._fd is not None:
            if self._torn_at is not None:
                try:
                    os.ftruncate(self._fd, self._torn_at)
                    self._torn_at = None
                except OSError as exc:  # the reader quarantines the torn tail of a sealed segment
                    log.warning("mcp-blackbox: could not cut a torn spool write in %s: %s", self.directory, exc)

            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            segments = list_segments(self.directory)
            if segments:
                seal(segments[-1][1])


def seal(segment: Path) -> None:
    """Mark a segment as finished (no writer will append to it again)."""
    marker = segment.with_name(segment.name + ".sealed")
    if not marker.exists():
        marker.touch()


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """(first record number, path) of every segment in a writer directory, in order."""
    out = []
    if directory.is_dir():
        for entry in directory.iterdir():
            match = _SEGMENT_RE.match(entry.name)
            if match:
                out.append((int(match.group(1)), entry))
    return sorted(out)


def list_writers(root: str | os.PathLike[str]) -> list[str]:
    """Writer ids (the spool's partitions) present under a spool root."""
    base = Path(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _WRITER_RE.match(p.name))


@dataclass(frozen=True)
class SpoolRecord:
    """One line read back: its writer (partition), offset, bytes and whether it is a torn tail."""

    writer_id: str
    offset: int
    value: bytes
    torn: bool = False


def read_records(root: str | os.PathLike[str], writer_id: str, start_offset: int = 0) -> Iterator[SpoolRecord]:
    """Every complete record of a writer from `start_offset` on, in order.

    An unsealed segment's incomplete last line is not yielded (the writer may still finish it);
    a sealed segment's torn tail is yielded with `torn=True`.
    """
    directory = Path(root) / writer_id
    segments = list_segments(directory)
    for index, (first, path) in enumerate(segments):
        sealed = index + 1 < len(segments) or path.with_name(path.name + ".sealed").exists()
        if index + 1 < len(segments) and segments[index + 1][0] <= start_offset:
            continue
        offset = first
        with open(path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    if sealed and offset >= start_offset:
                        yield SpoolRecord(writer_id, offset, line, torn=True)
                    break
                if offset >= start_offset:
                    yield SpoolRecord(writer_id, offset, line[:-1])
                offset += 1
