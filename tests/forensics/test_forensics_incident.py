"""The frozen demo incident: detections, the reconstructed chain, goldens for OCSF and the report."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from mcp_blackbox.forensics.chain import blast_radius, build_chain
from mcp_blackbox.forensics.cli_export import export
from mcp_blackbox.forensics.detections import register_findings, run_detections
from mcp_blackbox.forensics.store import open_store

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("MCP_BLACKBOX_UPDATE_GOLDEN") == "1"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def test_detections_find_the_incident_and_nothing_else(incident_store: Path) -> None:
    store = open_store(incident_store)
    findings = run_detections(store)
    assert {f.rule_id for f in findings} == {"injection_chain", "exfiltration", "secret_exposure", "rug_pull",
                                             "tool_poisoning", "unapproved_destructive"}
    top = findings[0]
    assert top.rule_id == "injection_chain" and str(top.severity) == "critical"
    assert "helpdesk.get_ticket" in top.explanation and "customers.query" in top.explanation
    exfil = next(f for f in findings if f.rule_id == "exfiltration")
    assert exfil.entities["source"] == "customers.query" and exfil.entities["sink"] == "notify.send_webhook"
    rug = next(f for f in findings if f.rule_id == "rug_pull")
    assert rug.entities["tool"] == "get_forecast"
    # evidence: the old definition, the call under it, the server's tools/list_changed notification, every
    # observation of the new definition (the client's and the wrap's catalog), and the call under the new one
    kinds = dict(store.con.execute(
        "SELECT event_id, CASE event_type WHEN 'catalog' THEN 'catalog' ELSE method END FROM events "
        "WHERE list_contains(?, event_id)",
        [rug.evidence_event_ids]).fetchall())
    assert [kinds[e] for e in rug.evidence_event_ids] == ["catalog", "tools/call", "notifications/tools/list_changed",
                                                                "catalog", "catalog", "tools/call"]
    register_findings(store, findings)
    assert store.con.execute("SELECT count(*) FROM findings").fetchall() == [(len(findings),)]
    # retro-hunting a window before the incident finds nothing
    from datetime import UTC, datetime

    assert run_detections(store, until=datetime(2026, 11, 1, 8, tzinfo=UTC)) == []


def test_chain_reconstructs_the_whole_incident(incident_store: Path) -> None:
    store = open_store(incident_store)
    chain = build_chain(store, "conv-demo-incident")
    assert chain.ident_kind == "conversation_id"
    rows = chain.rows
    kinds: dict[str, int] = {}
    for e in chain.edges:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    calls = [r for r in rows.values() if r["method"] == "tools/call" and r["message_kind"] == "request"]
    assert len(calls) == 14  # 7 tool calls, seen by the client tap and by wrap
    assert kinds["host_decision"] == 7 and kinds["approval"] == 7 and kinds["prompt"] == 7
    assert kinds["client_server"] >= 7 and kinds["response"] >= 14 and kinds["tool_definition"] >= 14
    flows = {(rows[e.src_event_id]["tool_name"], rows[e.dst_event_id]["tool_name"])
             for e in chain.edges if e.kind == "data_flow"}
    assert flows == {("get_ticket", "query"), ("get_ticket", "send_webhook"), ("query", "send_webhook")}
    # every client call hangs under its host decision, every gateway call under its client call
    nodes = {n.event_id: n for n in chain.nodes()}
    for call in calls:
        node = nodes[call["event_id"]]
        assert node.edge_kind == ("host_decision" if call["emitter_role"] == "client" else "client_server")
    # the definition in force changes between the two forecasts (rug pull visible in the chain)
    forecasts = [c for c in calls if c["tool_name"] == "get_forecast" and c["emitter_role"] == "client"]
    assert len({c["tool_definition_sha256"] for c in forecasts}) == 2
    text = chain.to_tree_text()
    assert "⇠ data from" in text and "catalog CHANGED weather" in text
    assert json.loads(json.dumps(chain.to_json(), default=str))["ident"] == "conv-demo-incident"


def test_chain_by_other_ids_and_unknown_id(incident_store: Path) -> None:
    store = open_store(incident_store)
    chain = build_chain(store, "conv-demo-incident")
    webhook = next(r for r in chain.rows.values() if r["tool_name"] == "send_webhook" and r["trace_id"])
    assert build_chain(store, webhook["trace_id"]).ident_kind == "trace_id"
    assert build_chain(store, webhook["tool_call_id"]).ident_kind == "tool_call_id"
    assert build_chain(store, webhook["connection_id"]).ident_kind == "connection_id"
    from mcp_blackbox.schema.errors import StoreError

    with pytest.raises(StoreError, match="no event"):
        build_chain(store, "no-such-id")


def test_blast_radius_of_the_customers_server(incident_store: Path) -> None:
    rows = blast_radius(open_store(incident_store), server="customers")
    received = [r for r in rows if r["received_data"]]
    assert {(r["server"], r["tool_name"]) for r in received} == {("notify", "send_webhook")}


def test_ocsf_export_golden(incident_store: Path) -> None:
    buf = io.StringIO()
    n = export(open_store(incident_store), "ocsf", buf)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert n == len(lines) and {e["class_uid"] for e in lines} == {6003, 1007}
    for e in lines:  # required attributes of both classes
        for key in ("activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time", "metadata"):
            assert key in e, key
        assert e["metadata"]["version"] and e["metadata"]["product"]["name"] == "mcp-blackbox"
        if e["class_uid"] == 6003:
            assert e["api"]["operation"] and e["actor"] and e["src_endpoint"]
            assert e["type_uid"] == 600300 + e["activity_id"]
        else:
            assert e["process"] and e["device"] and e["actor"]
    _golden("incident.ocsf.jsonl", buf.getvalue())


def test_markdown_report_golden(incident_store: Path) -> None:
    store = open_store(incident_store)
    report = build_chain(store, "conv-demo-incident").to_markdown(run_detections(store))
    assert "## Findings" in report and "exfiltration" in report and "## Timeline" in report
    _golden("incident.report.md", report)
