"""Data-flow edges: content returned by one call that reappears in the arguments of a later call.

A result is cut into *chunks*: every string leaf (JSON-in-text is unpacked), split at line breaks
and sentence punctuation, keeping pieces of at least `MIN_CHUNK` characters that carry some entropy
(not bare numbers, not redaction markers). A later call's argument string leaves are searched for
those chunks; a hit is an edge `data_flow` inferred by `content_fingerprint`, with a confidence that
grows with the matched share of the argument. Works across servers and emitters, so "the ticket's
text went into the SQL query" and "the query result went to the webhook" are both visible.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

MIN_CHUNK: Final = 12
_SPLIT = re.compile(r"[\n\r\t]+|(?<=[.!?;])\s+|\s{2,}|\",\"|\\n")
_MARKER = re.compile(r"\[REDACTED:[a-z_]+\]")


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                inner = json.loads(text)
            except ValueError:
                inner = None
            if inner is not None and not isinstance(inner, str):
                yield from _leaves(inner)
                return
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)


def _parse(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def chunks(result_json: str | None) -> set[str]:
    """Distinctive pieces of a stored (redacted) result."""
    out: set[str] = set()
    for leaf in _leaves(_parse(result_json)):
        for piece in _SPLIT.split(_MARKER.sub(" ", leaf)):
            piece = piece.strip(" \"'{}[]:,")
            if len(piece) >= MIN_CHUNK and not piece.replace(".", "").replace("-", "").isdigit() \
                    and len(set(piece)) >= 5:
                out.add(piece)
    return out


def fingerprint(chunk: str) -> str:
    """A short stable id of a chunk (for evidence output)."""
    return hashlib.sha256(chunk.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Flow:
    """`src` call's result content found in `dst` call's arguments."""

    src_event_id: str
    dst_event_id: str
    matched: tuple[str, ...]
    confidence: float


def find_flows(results: list[tuple[str, str | None]], arguments: list[tuple[str, str | None]],
               order: dict[str, int]) -> list[Flow]:
    """Edges from results (response event id, result_json) to later arguments (request id, arguments_json).

    `order` gives each event's position in time; only later calls can receive data.
    """
    result_chunks = [(eid, chunks(text), "\n".join(_leaves(_parse(text)))) for eid, text in results if text]
    flows: list[Flow] = []
    for dst, args_text in arguments:
        if not args_text:
            continue
        arg_leaves = [leaf for leaf in _leaves(_parse(args_text)) if len(leaf) >= MIN_CHUNK]
        if not arg_leaves:
            continue
        total = sum(len(leaf) for leaf in arg_leaves)
        for src, pieces, result_text in result_chunks:
            if order.get(src, 0) >= order.get(dst, 0):
                continue
            found = {p for p in pieces if any(p in leaf for leaf in arg_leaves)}
            # an argument copied out of a longer result text (an instruction quoted from a ticket)
            found |= {leaf for leaf in arg_leaves if len(leaf) >= 16 and len(set(leaf)) >= 6 and leaf in result_text}
            hits = tuple(sorted(found))
            if hits:
                share = min(1.0, sum(len(h) for h in hits) / max(total, 1))
                flows.append(Flow(src, dst, hits, round(0.5 + 0.5 * share, 3)))
    return flows
