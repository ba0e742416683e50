"""Generated fleet histories: every rule finds every injected incident; nothing on clean traffic; chains
equal the generator's ground-truth edges."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mcp_blackbox.forensics.chain import build_chain
from mcp_blackbox.forensics.detections import all_rules, run_detections
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.samples.fleetgen import generate_store
from mcp_blackbox.samples.fleetgen_incidents import INJECTORS

EVENTS = 40_000


@pytest.fixture(scope="module")
def fleet_with_incidents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet-incidents")
    generate_store(root, EVENTS, seed=11, incidents=True)
    return root


def test_the_store_holds_exactly_the_events_the_truth_counts(fleet_with_incidents: Path) -> None:
    truth = json.loads((fleet_with_incidents / "ground-truth.json").read_text())
    store = open_store(fleet_with_incidents)
    forged = truth.get("forged_copies", 0)  # the evidence_conflict incidents: a second record of a real event_id
    assert store.con.execute("SELECT count(*), count(DISTINCT event_id) FROM raw_events").fetchall() == [
        (truth["events"], truth["events"] - forged)]
    assert truth["events"] >= EVENTS


def test_every_rule_has_an_injector() -> None:
    assert set(INJECTORS) == set(all_rules())


def test_recall_is_complete_for_every_rule(fleet_with_incidents: Path) -> None:
    truth = json.loads((fleet_with_incidents / "ground-truth.json").read_text())
    findings = run_detections(open_store(fleet_with_incidents))
    per_rule: Counter[str] = Counter()
    missed = []
    for incident in truth["incidents"]:
        per_rule[incident["rule_id"]] += 1
        if not any(f.rule_id == incident["rule_id"] and incident["key_event_id"] in f.evidence_event_ids
                   for f in findings):
            missed.append((incident["rule_id"], incident["day"]))
    assert set(per_rule) == set(all_rules()) and all(n == 2 for n in per_rule.values())
    assert missed == [], f"recall below 100%: {missed}"


def test_no_findings_on_incident_free_traffic_of_the_same_size(tmp_path: Path) -> None:
    generate_store(tmp_path, EVENTS, seed=12, incidents=False)
    findings = run_detections(open_store(tmp_path))
    print(f"false positives on {EVENTS:,} clean events: {len(findings)}")
    assert [(f.rule_id, f.explanation) for f in findings] == []


def test_chains_equal_the_ground_truth_edges(fleet_with_incidents: Path) -> None:
    truth = json.loads((fleet_with_incidents / "ground-truth.json").read_text())
    store = open_store(fleet_with_incidents)
    kinds = {"prompt", "approval", "host_decision", "response", "client_server", "tool_definition"}
    assert len(truth["conversations"]) == 20
    for conv in truth["conversations"]:
        chain = build_chain(store, conv)
        ids = set(chain.event_ids)
        expected = {(e["src_event_id"], e["dst_event_id"], e["kind"]) for e in truth["edges"]
                    if e["src_event_id"] in ids and e["dst_event_id"] in ids}
        got = {(e.src_event_id, e.dst_event_id, e.kind) for e in chain.edges if e.kind in kinds}
        assert got == expected, conv
