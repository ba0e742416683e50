"""A store with hostile text in every string column, built through the real collector from a spool.

The demo incident (so detections fire and every view and screen has rows), with `HOSTILE` appended to
every free string field of the schema, to every element of the list fields and to every string inside the
`*_json` payloads; structural fields the views key on (`method`, `event_subtype`) stay clean there and are
hostile in a handful of extra events instead. `HOSTILE` carries what attacks a terminal or a reader:
OSC 0 (title) and OSC 52 (clipboard), CSI erase/colour, `\\r` + erase-line, the 8-bit CSI U+009B, RLO,
zero-width space, a bidi isolate, DEL, and Rich/Textual markup (`[link=…]`, `[@click=app.quit]`, styles).
"""

from __future__ import annotations

import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

from mcp_blackbox.collector.ingest.consumer import Collector, Settings
from mcp_blackbox.collector.ingest.sources import SpoolSource
from mcp_blackbox.collector.spool import SpoolWriter
from mcp_blackbox.schema.model import AuditEvent
from mcp_blackbox.schema.textsafe import HIDDEN
from mcp_blackbox.schema.wire import parse_event, to_wire_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forensics_fixtures import incident_events

TITLE = "PWNED-TITLE"
CLIP = "UFdORUQtQ0xJUA=="  # base64 of PWNED-CLIP
HOSTILE = (f"\x1b]0;{TITLE}\x07\x1b]52;c;{CLIP}\x07\x1b[2J\x1b[31mred\r\x1b[2Kover\u009b7m\u202eevil\u200bzw"
           "\u2066iso\u2069\x7f[link=app.quit]LINK[/link][@click=app.quit]CLICK[/][bold red]LOUD[/]")
#: What must never reach a screen live: OSC/CSI introducers, the characters themselves.
RAW = ("\x1b", "\x07", "\r", "\u009b", "\u202e", "\u200b", "\u2066", "\u2069", "\x7f")
STRUCTURAL = ("method", "event_subtype")  # hostile only in the extra events (the views key on them)


def string_fields() -> tuple[list[str], list[str], list[str]]:
    """(free string fields, list-of-string fields, JSON text fields) of the event schema."""
    plain, lists, texts = [], [], []
    for name, info in AuditEvent.model_fields.items():
        annotation = info.annotation
        if name.endswith("_json"):
            texts.append(name)
        elif annotation in (list[str] | None, typing.Optional[list[str]]):  # noqa: UP045 - both spellings
            lists.append(name)
        elif annotation in (str, str | None) and not any(
                getattr(m, "pattern", None) or getattr(m, "func", None) for m in info.metadata):
            plain.append(name)
    return plain, lists, texts


def _poison_json(value: Any) -> Any:
    if isinstance(value, str):
        return value + HOSTILE
    if isinstance(value, list):
        return [_poison_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _poison_json(v) for k, v in value.items()}
    return value


def hostile_events() -> list[dict[str, Any]]:
    """The incident with every string poisoned, plus extra events with hostile structural fields."""
    plain, lists, texts = string_fields()
    events = []
    for original in incident_events():
        event = dict(original)
        for name in plain:
            if name in STRUCTURAL:
                continue
            event[name] = (event.get(name) or name) + HOSTILE
        for name in lists:
            event[name] = [*(event.get(name) or []), name + HOSTILE]
        for name in texts:
            if event.get(name):
                event[name] = json.dumps(_poison_json(json.loads(event[name])), ensure_ascii=False)
            else:
                event[name] = json.dumps({name: HOSTILE}, ensure_ascii=False)
        events.append(event)
    template = next(e for e in events if e.get("method") == "tools/call" and e.get("message_kind") == "request")
    for i in range(3):
        extra = dict(template, event_id=f"01a20000-0000-7000-8fff-{i:012x}", sequence=i,
                     emitter_instance_id="extra-emitter" + HOSTILE, method="tools/call" + HOSTILE,
                     event_subtype="odd" + HOSTILE)
        extra.pop("prev_event_sha256", None)
        events.append(extra)
    return events


def build_hostile_store(root: Path, key: Path) -> Path:
    """Spool the hostile events (as an emitter would) and collect them with the real collector."""
    spool = root.parent / f"{root.name}-spool"
    by_writer: dict[str, list[bytes]] = {}
    for event in hostile_events():
        wire = to_wire_bytes(parse_event(event))  # the schema accepts every hostile value
        by_writer.setdefault(re.sub(r"[^a-z0-9-]", "", str(event["emitter_instance_id"]))[:40] or "w", []).append(wire)
    for writer_id, values in by_writer.items():
        writer = SpoolWriter(spool, writer_id)
        writer.append(values, sync=False)
        writer.close()
    collector = Collector(root, SpoolSource(spool, max_poll_records=20_000),
                          Settings(key_path=key, flush_idle_seconds=0.2, flush_rows=20_000))
    collector.run(until_idle=0.3)
    return root


def hidden_in(text: str) -> list[str]:
    """Raw control/bidi/invisible characters in `text` (newline and tab are structure, allowed)."""
    return sorted({f"U+{ord(c):04X}" for c in HIDDEN.findall(text)})
