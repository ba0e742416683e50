"""A forged copy cannot hide the genuine event (issue 14, part 3).

Real ingest: an attacker's spool writer delivers a record reusing a genuine event_id with other content,
and it is collected first; the genuine emitter's events come after. Both copies stay in `events`, an
`evidence_conflict` finding names the event, and the emitter's hash chain decides which copy fits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forensics_fixtures import EventMaker

from mcp_blackbox.collector.ingest.consumer import Collector, Settings
from mcp_blackbox.collector.ingest.sources import SpoolSource
from mcp_blackbox.collector.spool import SpoolWriter
from mcp_blackbox.forensics.detections import run_detections
from mcp_blackbox.forensics.sqlguard import SafeSQL
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.schema.wire import event_sha256, parse_event, to_wire_bytes

EMITTER = "01a20000-0000-7000-8000-00000000c11e"


def _genuine_run() -> list[dict[str, Any]]:
    """Three events of one emitter, sequence 0..2, hash-chained as the emitter chains them."""
    mk = EventMaker()
    events = []
    prev = None
    for k, path in enumerate(["a.txt", "b.txt", "c.txt"]):
        e = mk(k, emitter_instance_id=EMITTER, message_kind="request", method="tools/call", tool_name="read_file",
               jsonrpc_id=str(k), initiator="client", arguments_json=json.dumps({"path": path}),
               server_config_name="filesystem")
        if prev is not None:
            e["prev_event_sha256"] = prev
        prev = event_sha256(parse_event(e))
        events.append(e)
    return events


def _collect(spool: Path, store: Path, key: Path, writer: str, events: list[dict[str, Any]]) -> None:
    w = SpoolWriter(spool, writer)
    w.append([to_wire_bytes(parse_event(e)) for e in events], sync=False)
    w.close()
    collector = Collector(store, SpoolSource(spool, max_poll_records=1000),
                          Settings(key_path=key, flush_idle_seconds=0.2, flush_rows=1000))
    collector.run(until_idle=0.3)


def _rows(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return con.execute(sql, params or []).fetchall()


def test_forged_copy_ingested_first_does_not_hide_the_genuine_event(tmp_path: Path) -> None:
    genuine = _genuine_run()
    target = genuine[1]
    forged = {**target, "arguments_json": json.dumps({"path": "b.txt", "note": "nothing happened here"})}
    spool, store, key = tmp_path / "spool", tmp_path / "store", tmp_path / "keys" / "manifest.pem"
    _collect(spool, store, key, "attacker", [forged])  # the forgery arrives first
    _collect(spool, store, key, "genuine", genuine)
    # an identical replay of the genuine event is just a copy, not a conflict
    _collect(spool, store, key, "replay", [genuine[2]])

    opened = open_store(store)
    assert _rows(opened.con, "SELECT count(*) FROM raw_events") == [(5,)]
    # both differing copies are shown; the identical replay once
    assert _rows(opened.con, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(4, 3)]
    assert sorted(r[0] for r in _rows(opened.con, "SELECT arguments_json FROM events WHERE event_id = ?",
                                      [target["event_id"]])) == sorted([forged["arguments_json"],
                                                                        target["arguments_json"]])
    found = [f for f in run_detections(opened) if f.rule_id == "evidence_conflict"]
    opened.close()
    assert len(found) == 1
    f = found[0]
    assert target["event_id"] in f.evidence_event_ids
    assert {genuine[0]["event_id"], genuine[2]["event_id"]} <= set(f.evidence_event_ids)  # its chain neighbours
    genuine_sha, forged_sha = event_sha256(parse_event(target)), event_sha256(parse_event(forged))
    assert f.entities["fits_chain_sha256"] == genuine_sha
    labels = {f.entities[f"copy{n}_sha256"]: f.entities[f"copy{n}"] for n in (1, 2)}
    assert labels == {genuine_sha: "fits the chain", forged_sha: "flagged"}
    assert f.entities["copy1_sha256"] == forged_sha  # the first ingested copy is listed first, and still flagged
    assert "the next event does not link to it" in f.explanation

    # the same through the sandboxed console (prepared views built there)
    safe = SafeSQL(store)
    try:
        _names, rows = safe.run(f"SELECT count(*) FROM events WHERE event_id = '{target['event_id']}'")  # noqa: S608
        assert rows == [(2,)]
    finally:
        safe.close()


def test_unprepared_events_keep_conflicting_copies_too(tmp_path: Path) -> None:
    genuine = _genuine_run()
    forged = {**genuine[0], "tool_name": "write_file"}
    spool, store, key = tmp_path / "spool", tmp_path / "store", tmp_path / "keys" / "manifest.pem"
    _collect(spool, store, key, "attacker", [forged])
    _collect(spool, store, key, "genuine", genuine)
    for prepare in (False, True):
        opened = open_store(store, prepare=prepare)
        assert _rows(opened.con, "SELECT count(*) FROM events WHERE event_id = ?", [forged["event_id"]]) == [(2,)]
        assert _rows(opened.con, "SELECT count(*) FROM calls WHERE call_event_id = ?", [forged["event_id"]]) == [(2,)]
        found = [f for f in run_detections(opened, ["evidence_conflict"])]
        assert len(found) == 1 and found[0].entities["fits_chain_sha256"] == event_sha256(parse_event(genuine[0]))
        opened.close()


def test_chain_keeps_both_copies_of_a_conflicting_event_marked(tmp_path: Path) -> None:
    """Chains show what `events` shows: both differing copies (flagged), an identical replay once."""
    from mcp_blackbox.forensics.chain import build_chain

    genuine = _genuine_run()
    target = genuine[1]
    forged = {**target, "arguments_json": json.dumps({"path": "b.txt", "note": "nothing happened here"})}
    spool, store, key = tmp_path / "spool", tmp_path / "store", tmp_path / "keys" / "manifest.pem"
    _collect(spool, store, key, "attacker", [forged])
    _collect(spool, store, key, "genuine", genuine)
    _collect(spool, store, key, "replay", [genuine[2]])
    for prepare in (False, True):
        opened = open_store(store, prepare=prepare)
        try:
            for ident in (target["event_id"], genuine[0]["event_id"], target["connection_id"]):
                chain = build_chain(opened, ident)
                nodes = chain.nodes()
                copies = [n for n in nodes if n.event_id == target["event_id"]]
                assert sorted(n.copy for n in copies) == [0, 1], ident
                assert all(n.conflict and n.copies == 2 and "evidence_conflict" in n.flags for n in copies)
                assert {r["arguments_json"] for r in chain.conflicts[target["event_id"]]} == \
                    {forged["arguments_json"], target["arguments_json"]}
                assert chain.conflicts[target["event_id"]][0]["arguments_json"] == forged["arguments_json"]
                others = [n for n in nodes if n.event_id in (genuine[0]["event_id"], genuine[2]["event_id"])]
                assert len(others) == 2 and not any(n.conflict for n in others)  # the identical replay: one node
                assert set(chain.conflicts) == {target["event_id"]}
                assert chain.event_ids.count(target["event_id"]) == 1
                text = chain.to_tree_text()
                assert "conflicting copy 1/2" in text and "conflicting copy 2/2" in text
                doc = json.dumps(chain.to_json(), default=str)
                assert doc.count('"conflict": true') == 2
        finally:
            opened.close()
