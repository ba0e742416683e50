"""Deterministic test stores: schema v1 events (validated) → Parquet in the DESIGN §4 layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mcp_blackbox.schema.arrow import events_to_table
from mcp_blackbox.schema.wire import parse_event

DATA = Path(__file__).resolve().parents[1] / "data"
BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def incident_events() -> list[dict[str, Any]]:
    """The demo incident as captured by wrap + client tap + host API (ids and times made stable)."""
    with open(DATA / "incident.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_store(root: Path, events: list[dict[str, Any]], name: str = "fixture-0") -> Path:
    """Write events (dicts of wire fields) as one Parquet file of a store; returns the root."""
    models = [parse_event(e) for e in events]
    day = models[0].event_time.strftime("%Y-%m-%d") if models else "2026-11-01"
    target = root / "events" / f"date={day}"
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(events_to_table(models), target / f"{name}-0-{max(len(models) - 1, 0)}.parquet")
    return root


class EventMaker:
    """Builds minimal valid events with stable ids and times for hand-made rule tests."""

    def __init__(self, emitter_role: str = "client") -> None:
        self.n = 0
        self.role = emitter_role
        self.seq: dict[str, int] = {}

    def __call__(self, seconds: float = 0, **fields: Any) -> dict[str, Any]:
        self.n += 1
        default_emitter = f"01a20000-0000-7000-8000-{self.role[:1].encode().hex():0>4}00000000"
        emitter = fields.pop("emitter_instance_id", default_emitter)
        seq = self.seq.get(emitter, 0)
        self.seq[emitter] = seq + 1
        role_tag = self.role.encode().hex()[:12].rjust(12, "0")
        event = {"schema_version": 1, "event_id": f"01a20000-0000-7000-8{self.n:03d}-{role_tag}",
                 "event_type": "message", "event_time": (BASE + timedelta(seconds=seconds)).isoformat(),
                 "emitter_instance_id": emitter, "sequence": seq, "emitter_role": self.role,
                 "emitter_component": "test", "host_name": "h1", "connection_id": "conn-1", "redacted": False}
        event.update(fields)
        return event

    def call(self, seconds: float, tool: str, arguments: dict[str, Any] | None = None, result: Any = None,
             rid: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """A tools/call request and its result."""
        rid = rid or f"r{self.n}"
        common = {"method": "tools/call", "tool_name": tool, "jsonrpc_id": rid, "initiator": "client", **fields}
        req = self(seconds, message_kind="request", arguments_json=json.dumps(arguments or {}, ensure_ascii=False),
                   **common)
        res = self(seconds + 0.01, message_kind="result", status="ok", duration_ms=10.0,
                   result_json=json.dumps(result if result is not None else {"content": []}, ensure_ascii=False),
                   **common)
        return [req, res]
