"""The spool: append-only JSONL segments with Kafka-like offsets per writer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_blackbox.collector.spool import SpoolWriter, list_segments, list_writers, read_records, seal


def test_offsets_are_continuous_across_segments_and_restarts(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "w1", segment_bytes=200)
    for batch in range(10):
        first, last = writer.append([f'{{"n":{batch * 3 + i}}}'.encode() for i in range(3)])
        assert (first, last) == (batch * 3, batch * 3 + 2)
    writer.close()
    assert len(list_segments(tmp_path / "w1")) > 1
    again = SpoolWriter(tmp_path, "w1", segment_bytes=200)  # a restarted writer with the same id
    assert again.next_offset == 30
    again.append([b'{"n":30}'])
    again.close()
    records = list(read_records(tmp_path, "w1"))
    assert [r.offset for r in records] == list(range(31))
    assert [r.value for r in records] == [f'{{"n":{i}}}'.encode() for i in range(31)]
    assert [r.offset for r in read_records(tmp_path, "w1", start_offset=17)] == list(range(17, 31))
    assert list_writers(tmp_path) == ["w1"]


def test_newlines_inside_a_record_cannot_split_it(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "w")
    writer.append([b'{"a":"x"}\n{"forged":1}'])
    writer.close()
    assert [r.value for r in read_records(tmp_path, "w")] == [b'{"a":"x"} {"forged":1}']


def test_torn_tail_is_held_back_while_open_and_surfaced_once_sealed(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "w")
    writer.append([b'{"ok":1}'])
    segment = list_segments(tmp_path / "w")[0][1]
    with open(segment, "ab") as fh:  # a crash in the middle of a write
        fh.write(b'{"half":')
    assert [r.value for r in read_records(tmp_path, "w")] == [b'{"ok":1}']
    seal(segment)
    records = list(read_records(tmp_path, "w"))
    assert [(r.offset, r.torn) for r in records] == [(0, False), (1, True)]
    assert records[1].value == b'{"half":'
    restarted = SpoolWriter(tmp_path, "w")
    assert restarted.next_offset == 2, "the torn record keeps its offset; nothing is renumbered"


def test_bad_writer_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="writer id"):
        SpoolWriter(tmp_path, "../escape")


def test_files_are_private(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "w")
    writer.append([b"{}"])
    writer.close()
    mode = os.stat(list_segments(tmp_path / "w")[0][1]).st_mode & 0o777
    assert mode == 0o600
