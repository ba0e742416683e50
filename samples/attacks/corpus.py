"""The labelled tool-definition corpus (tests/data/tool_corpus/) scored through the real `tool_poisoning` rule.

Every definition becomes a catalog event of its own server in a fresh store; the rule runs over the
store like over any capture; a definition is "flagged" when a finding names its server and tool.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mcp_blackbox.schema.layout import events_dir

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "tool_corpus"


def load_corpus(root: Path = CORPUS) -> list[dict[str, Any]]:
    """Every labelled definition: {id, label: benign|poisoned, definition, provenance}."""
    rows: list[dict[str, Any]] = []
    for path in sorted(root.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


@dataclass
class CorpusScore:
    """Poisoning precision/recall over the corpus, with what was missed and what was wrongly flagged."""

    tp: int
    fp: int
    fn: int
    tn: int
    missed: list[str]
    false_alarms: list[str]
    signals: dict[str, list[str]]

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    emitter = str(uuid.UUID(int=0x01A2_0000_0000_7000_8000_0000_0000_0001))
    out = []
    for i, row in enumerate(rows):
        out.append({"schema_version": 1, "event_id": str(uuid.UUID(int=0x01A2_0000_0000_7000_8000_0001_0000_0000 + i)),
                    "event_type": "catalog", "event_subtype": "tool_catalog",
                    "event_time": (base + timedelta(seconds=i)).isoformat(), "emitter_instance_id": emitter,
                    "sequence": i, "emitter_role": "gateway", "emitter_component": "wrap", "host_name": "corpus",
                    "connection_id": f"corpus-{i}", "server_config_name": f"corpus-{i}", "method": "tools/list",
                    "redacted": False, "tool_definitions_json": json.dumps([row["definition"]], ensure_ascii=False)})
    return out


def score_corpus(work: Path, rows: list[dict[str, Any]] | None = None) -> CorpusScore:
    """Run `tool_poisoning` over the corpus in a store under `work`."""
    import pyarrow.parquet as pq

    from mcp_blackbox.forensics.detections import run_detections
    from mcp_blackbox.forensics.store import open_store
    from mcp_blackbox.schema.arrow import events_to_table
    from mcp_blackbox.schema.wire import parse_event

    rows = rows if rows is not None else load_corpus()
    target = events_dir(work) / "date=2026-11-01"
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(events_to_table([parse_event(e) for e in _events(rows)]), target / "corpus-0.parquet")
    store = open_store(work)
    try:
        findings = run_detections(store, ["tool_poisoning"])
    finally:
        store.close()
    flagged: dict[int, Any] = {}
    for f in findings:
        server = f.entities.get("server", "")
        if server.startswith("corpus-"):
            flagged[int(server.split("-")[1])] = f
    tp = fp = fn = tn = 0
    missed, false_alarms = [], []
    signals: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        hit = i in flagged
        if hit:
            signals[row["id"]] = [s for s in flagged[i].entities.get("signals", "").split(",") if s]
        if row["label"] == "poisoned":
            tp, fn = tp + hit, fn + (not hit)
            if not hit:
                missed.append(row["id"])
        else:
            fp, tn = fp + hit, tn + (not hit)
            if hit:
                false_alarms.append(f"{row['id']}: {flagged[i].explanation}")
    return CorpusScore(tp, fp, fn, tn, missed, false_alarms, signals)
