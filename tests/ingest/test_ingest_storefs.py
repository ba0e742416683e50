"""Store file primitives and decode fast paths: crash leftovers, put-if-absent retry, UTF-8 check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_blackbox.collector.ingest import storefs
from mcp_blackbox.collector.ingest.decode import _buffer_is_utf8


def test_manifest_temps_of_killed_writers_are_removed(tmp_path: Path) -> None:
    manifests = tmp_path / storefs.MANIFESTS
    manifests.mkdir()
    kept = manifests / "000000000001.json"
    kept.write_text("{}")
    leftover = manifests / f"{storefs.TMP_PREFIX}0123456789ab-000000000002.json"
    leftover.write_text("{")
    storefs.remove_manifest_temps(tmp_path)
    assert sorted(p.name for p in manifests.iterdir()) == [kept.name]


def test_create_exclusive_rewrites_a_temp_removed_under_it(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Another collector starting up deletes temp manifests; the writer must still publish its own.
    real_link = os.link
    calls: list[str] = []

    def link_after_cleanup(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(str(src))
        if len(calls) == 1:
            storefs.remove_manifest_temps(tmp_path)
        real_link(src, dst)

    monkeypatch.setattr(storefs.os, "link", link_after_cleanup)
    final = tmp_path / storefs.MANIFESTS / "000000000007.json"
    assert storefs.create_exclusive(final, b'{"seq": 7}')
    assert final.read_bytes() == b'{"seq": 7}'
    assert len(calls) == 2
    assert not storefs.create_exclusive(final, b'{"seq": "other"}')
    assert final.read_bytes() == b'{"seq": 7}'
    assert [p.name for p in final.parent.iterdir()] == [final.name]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=32).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arrow_utf8_check_agrees_with_python(data: bytes) -> None:
    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _buffer_is_utf8(data) is expected
