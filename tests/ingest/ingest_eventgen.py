"""Fast generator of realistic schema-v1 wire events (and malformed ones) for ingest tests and benchmarks.

Valid events are built as wire dicts directly (no pydantic per event) with correct per-emitter
`sequence` and `prev_event_sha256` chains, then serialised once in canonical JSON (the wire form);
`tests/ingest/test_ingest_decode.py` checks a sample against `parse_event`, so the generator cannot drift
from the contract unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mcp_blackbox.schema.canonical import canonical_bytes, json_sha256

TOOLS = ["read_file", "write_file", "search", "fetch_url", "run_query", "list_dir", "send_email", "create_issue"]
METHODS = ["tools/call", "tools/list", "resources/read", "prompts/get", "initialize", "notifications/progress"]
STATUSES = ["ok", "ok", "ok", "ok", "error", "tool_error", "cancelled"]
KINDS = ["request", "result", "notification"]


def uuid7_at(ms: int, rnd: random.Random) -> str:
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rnd.getrandbits(12) << 64 | 0b10 << 62 | rnd.getrandbits(62)
    return str(uuid.UUID(int=value))


@dataclass
class Emitter:
    instance_id: str
    role: str
    host: str
    sequence: int = 0
    prev: str | None = None
    connections: list[str] = field(default_factory=list)


class EventFactory:
    """Realistic events from a set of emitters, each with a gapless, hash-chained sequence."""

    def __init__(self, seed: int = 7, emitters: int = 50, start: datetime | None = None,
                 span: timedelta = timedelta(hours=2)) -> None:
        self.rnd = random.Random(seed)
        self.start = start or datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
        self.span_us = int(span.total_seconds() * 1_000_000)
        self.last_wire = b""
        self.emitters = [
            Emitter(f"emitter-{seed}-{i}", self.rnd.choice(["client", "server", "host", "gateway"]),
                    f"host-{i % 7}", connections=[f"conn-{seed}-{i}-{c}" for c in range(4)])
            for i in range(emitters)
        ]

    def event_dict(self, index: int, total: int) -> dict[str, object]:
        rnd = self.rnd
        em = rnd.choice(self.emitters)
        t_us = int(self.span_us * index / max(total, 1)) + rnd.randrange(1000)
        when = self.start + timedelta(microseconds=t_us)
        tool = rnd.choice(TOOLS)
        kind = rnd.choice(KINDS)
        ev: dict[str, object] = {
            "schema_version": 1,
            "event_id": uuid7_at(int(when.timestamp() * 1000), rnd),
            "event_type": "message",
            "event_time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "emitter_instance_id": em.instance_id,
            "sequence": em.sequence,
            "emitter_role": em.role,
            "emitter_component": "wrap",
            "emitter_version": "0.1.0",
            "host_name": em.host,
            "process_pid": 1000 + rnd.randrange(50),
            "connection_id": rnd.choice(em.connections),
            "transport": "stdio",
            "mcp_protocol_version": "2025-11-25",
            "protocol_era": "legacy",
            "direction": "client_to_server" if kind == "request" else "server_to_client",
            "initiator": "client",
            "message_kind": kind,
            "jsonrpc_id": str(rnd.randrange(10_000)),
            "method": "tools/call" if rnd.random() < 0.7 else rnd.choice(METHODS),
            "tool_name": tool,
            "server_name": f"srv-{tool.split('_')[0]}",
            "redacted": rnd.random() < 0.05,
        }
        if em.prev is not None:
            ev["prev_event_sha256"] = em.prev
        if kind == "request":
            args = {"path": f"/data/project-{rnd.randrange(500)}/file-{rnd.randrange(10_000)}.txt",
                    "query": "x" * rnd.randrange(10, 150)}
            ev["arguments_json"] = json.dumps(args, separators=(",", ":"))
            ev["arguments_sha256"] = json_sha256(args)
        elif kind == "result":
            text = "lorem ipsum dolor sit amet " * rnd.randrange(1, 8)
            ev["result_json"] = json.dumps({"content": [{"type": "text", "text": text}]}, separators=(",", ":"))
            ev["result_size_bytes"] = len(text) + 40
            ev["status"] = rnd.choice(STATUSES)
            ev["duration_ms"] = round(rnd.random() * 500, 3)
            ev["is_error"] = ev["status"] != "ok"
        if rnd.random() < 0.1:
            ev["risk_flags"] = ["payload_truncated"]
        # Canonical JSON is the wire form (schema/wire.py): its SHA-256 is the event hash.
        self.last_wire = canonical_bytes(ev)
        em.prev = hashlib.sha256(self.last_wire).hexdigest()
        em.sequence += 1
        return ev

    def wire(self, count: int) -> list[tuple[bytes, bytes]]:
        """(key = connection_id, value = wire JSON) for `count` events."""
        out = []
        for i in range(count):
            ev = self.event_dict(i, count)
            out.append((str(ev["connection_id"]).encode(), self.last_wire))
        return out


def malformed_values(count: int, seed: int = 11, oversize: int = 70_000) -> list[tuple[bytes, str]]:
    """(value, kind) of every malformed kind the collector must quarantine, round-robin."""
    base = EventFactory(seed=seed + 1000, emitters=3)
    out: list[tuple[bytes, str]] = []
    # Compact, sorted keys: the canonical spelling, so most of these meet the collector's fast path and
    # must be caught there (a canonical-looking record can still carry a wrong type or an unknown key).
    def dumps(obj: object) -> str:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def with_raw(ev: dict[str, object], key: str, raw: bytes) -> bytes:
        """The canonical record with one field's JSON value spelled as the given raw bytes."""
        text = dumps({k: v for k, v in ev.items() if k != key})
        return text[:-1].encode() + b',"' + key.encode() + b'":' + raw + b"}"

    makers: list[tuple[str, Callable[[dict[str, object]], bytes]]] = [
        ("invalid_json", lambda ev: dumps(ev)[:-3].encode()),
        ("not_object", lambda ev: b'["an","array"]'),
        ("wrong_type", lambda ev: dumps({**ev, "sequence": "seven"}).encode()),
        ("wrong_type_obj", lambda ev: dumps({**ev, "tool_name": {"x": 1}}).encode()),
        ("missing_required", lambda ev: dumps({k: v for k, v in ev.items() if k != "connection_id"}).encode()),
        ("bad_enum", lambda ev: dumps({**ev, "event_type": "telepathy"}).encode()),
        ("bad_uuid", lambda ev: dumps({**ev, "event_id": "not-a-uuid"}).encode()),
        ("non_utf8", lambda ev: dumps(ev).encode().replace(b'"wrap"', b'"wr\xffap"')),
        ("oversized", lambda ev: dumps({**ev, "result_json": json.dumps("y" * oversize)}).encode()),
        ("unknown_version", lambda ev: dumps({**ev, "schema_version": 2}).encode()),
        ("unknown_field", lambda ev: dumps({**ev, "surprise": 1}).encode()),
        ("empty", lambda ev: b""),
        ("naive_time", lambda ev: dumps({**ev, "event_time": "2026-11-25T01:00:00"}).encode()),
        ("negative_sequence", lambda ev: dumps({**ev, "sequence": -1}).encode()),
        ("duplicate_key", lambda ev: dumps(ev)[:-1].encode() + b',"sequence":5}'),
        ("number_for_string", lambda ev: dumps({**ev, "tool_name": 5}).encode()),
        ("float_for_int", lambda ev: dumps({**ev, "sequence": 1.5}).encode()),
        ("bool_for_string", lambda ev: dumps({**ev, "host_name": True}).encode()),
        ("escaped_enum", lambda ev: dumps({**ev, "direction": 'client"\\_to_server'}).encode()),
        ("spaced_wrong_type", lambda ev: json.dumps({**ev, "process_pid": "twelve"}).encode()),
        # Issue 14: poison pills, coercions, non-finite numbers, implausible times, parser limits.
        ("deep_nesting", lambda ev: with_raw(ev, "tool_name", b"[" * 1000 + b"]" * 1000)),
        ("deep_top_level", lambda ev: b"[" * 1000 + b"]" * 1000),
        ("string_for_int", lambda ev: dumps({**ev, "sequence": "5"}).encode()),
        ("string_for_bool", lambda ev: dumps({**ev, "is_error": "yes"}).encode()),
        ("int_for_bool", lambda ev: dumps({**ev, "redacted": 1}).encode()),
        ("bool_for_version", lambda ev: dumps({**ev, "schema_version": True}).encode()),
        ("float_for_version", lambda ev: with_raw(ev, "schema_version", b"1.0")),
        ("infinity", lambda ev: with_raw(ev, "duration_ms", b"Infinity")),
        ("nan", lambda ev: with_raw(ev, "duration_ms", b"NaN")),
        ("huge_exponent", lambda ev: with_raw(ev, "duration_ms", b"1e400")),
        ("giant_int", lambda ev: with_raw(ev, "process_pid", b"9" * 3000 + b"e9999999")),
        ("int64_overflow", lambda ev: with_raw(ev, "process_pid", b"9" * 30)),
        ("year_one", lambda ev: dumps({**ev, "event_time": "0001-01-01T00:00:00.000000Z"}).encode()),
        ("year_9999", lambda ev: dumps({**ev, "event_time": "9999-12-31T23:59:59.999999Z"}).encode()),
        ("before_mcp", lambda ev: dumps({**ev, "event_time": "2023-06-01T00:00:00.000000Z"}).encode()),
        ("lone_surrogate", lambda ev: with_raw(ev, "tool_name", b'"\\ud800x"')),
        ("raw_nul", lambda ev: dumps({**ev, "host_name": "h"}).encode().replace(b'"h"', b'"h\x00"')),
        ("null_record", lambda ev: b"null"),
        ("whitespace_only", lambda ev: b"  \t "),
        ("utf8_bom", lambda ev: b"\xef\xbb\xbf" + dumps(ev).encode()),
        ("number_record", lambda ev: b"12345"),
    ]
    for i in range(count):
        ev = base.event_dict(i, count)
        kind, make = makers[i % len(makers)]
        value = make(ev)
        out.append((value, kind))
    return out
