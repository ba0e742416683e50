"""`events` holds every event once, prepared or not, and stays right when files arrive (live mode)."""

from __future__ import annotations

from pathlib import Path

from forensics_fixtures import incident_events, write_store

from mcp_blackbox.forensics.chain import build_chain
from mcp_blackbox.forensics.store import open_store


def _copies(events: list[dict], ingest: str) -> list[dict]:
    return [{**e, "ingest_time": ingest} for e in events]


def _rows(store, sql: str) -> list[tuple]:
    return store.con.execute(sql).fetchall()


def test_duplicates_collapse_to_the_first_ingested_copy(tmp_path: Path) -> None:
    events = incident_events()
    # the whole incident twice (a replayed spool), plus a third copy of five events, each file ingested later
    write_store(tmp_path, _copies(events, "2026-11-01T10:00:00Z"), name="first")
    write_store(tmp_path, _copies(events, "2026-11-02T10:00:00Z"), name="replay")
    write_store(tmp_path, _copies(events[:5], "2026-11-03T10:00:00Z"), name="again")
    n = len(events)
    for prepare in (False, True):
        store = open_store(tmp_path, prepare=prepare)
        assert (store.prepared_files is not None) is prepare
        assert _rows(store, "SELECT count(*) FROM raw_events") == [(2 * n + 5,)]
        assert _rows(store, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(n, n)]
        # the copy kept is the first ingested one
        assert _rows(store, "SELECT DISTINCT CAST(ingest_time AS VARCHAR) FROM events") == [("2026-11-01 10:00:00+00",)]
        # filters and the views on top see one copy too
        assert _rows(store, "SELECT count(*) FROM calls WHERE tool_name = 'send_webhook' AND emitter_role = 'client'"
                     ) == [(1,)]
        assert len(build_chain(store, "conv-demo-incident").event_ids) == len(
            build_chain(open_store(_single(tmp_path, events)), "conv-demo-incident").event_ids)
        store.close()


def _single(tmp_path: Path, events: list[dict]) -> Path:
    root = tmp_path.parent / (tmp_path.name + "-single")
    if not root.exists():
        write_store(root, events)
    return root


def test_refresh_picks_up_new_files_and_their_duplicates(tmp_path: Path) -> None:
    events = incident_events()
    write_store(tmp_path, _copies(events[:40], "2026-11-01T10:00:00Z"), name="a")
    store = open_store(tmp_path)
    assert store.refresh() == 0.0  # nothing changed: no work
    assert _rows(store, "SELECT count(*) FROM events") == [(40,)]
    # the collector adds a file: the rest of the incident and a duplicate of the first ten
    write_store(tmp_path, _copies(events[:10] + events[40:], "2026-11-01T11:00:00Z"), name="b")
    assert store.refresh() > 0.0
    assert _rows(store, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(len(events), len(events))]


def test_a_store_without_files_becomes_queryable_when_files_arrive(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    store = open_store(tmp_path)
    assert _rows(store, "SELECT count(*) FROM events") == [(0,)]
    write_store(tmp_path, incident_events(), name="first")
    store.refresh()
    assert _rows(store, "SELECT count(*) FROM events") == [(len(incident_events()),)]
