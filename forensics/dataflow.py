"""Data-flow edges: content returned by one call that reappears in the arguments of a later call.

A result is cut into *chunks* (`schema.chunking`, the same cut the emitters fingerprint): every string
leaf (JSON-in-text is unpacked), split at line breaks and sentence punctuation, keeping pieces of at
least `MIN_CHUNK` characters that carry some entropy (not bare numbers, not redaction markers). Events
whose emitters took `content_fingerprints` (before redaction) are matched on those first.
A later call's argument string leaves are searched for
those chunks; a hit is an edge `data_flow` inferred by `content_fingerprint`, with a confidence that
grows with the matched share of the argument. Works across servers and emitters, so "the ticket's
text went into the SQL query" and "the query result went to the webhook" are both visible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_blackbox.schema.chunking import MIN_CHUNK, leaves, split_fingerprint
from mcp_blackbox.schema.chunking import chunks as _value_chunks

__all__ = ["MIN_CHUNK", "Flow", "chunks", "find_flows", "fingerprint", "fingerprint_hits"]


def _leaves(value: Any) -> Iterator[str]:
    return leaves(value)


def _parse(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def chunks(result_json: str | None) -> set[str]:
    """Distinctive pieces of a stored (redacted) result: `schema.chunking.chunks`, as the emitters cut them."""
    return _value_chunks(_parse(result_json))


def fingerprint_hits(result_fps: Sequence[str] | None, argument_fps: Sequence[str] | None) -> dict[str, str]:
    """Emitter fingerprints of a result's chunks found among a later call's arguments: fingerprint → reason.

    The reason is the redaction that removed that chunk from the stored result ('' when it is stored in
    clear), so a redacted secret that moved on is visible without its text.
    """
    if not result_fps or not argument_fps:
        return {}
    sent = {split_fingerprint(entry)[0] for entry in argument_fps}
    out: dict[str, str] = {}
    for entry in result_fps:
        fp, label = split_fingerprint(entry)
        if fp in sent and (fp not in out or label):
            out[fp] = label
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
               order: dict[str, int], fingerprints: dict[str, Sequence[str] | None] | None = None) -> list[Flow]:
    """Edges from results (response event id, result_json) to later arguments (request id, arguments_json).

    `order` gives each event's position in time; only later calls can receive data. `fingerprints` (event
    id → the event's `content_fingerprints`) are matched first: they were taken before redaction, so a
    secret redacted in both events still makes an edge (matched entries read `fingerprint:<hex>`); the
    stored text is matched too (events of older emitters carry no fingerprints).
    """
    fps = fingerprints or {}
    result_chunks = [(eid, chunks(text), "\n".join(_leaves(_parse(text)))) for eid, text in results if text]
    result_chunks += [(eid, set(), "") for eid, text in results if not text and fps.get(eid)]
    flows: list[Flow] = []
    for dst, args_text in arguments:
        arg_leaves = [leaf for leaf in _leaves(_parse(args_text)) if len(leaf) >= MIN_CHUNK] if args_text else []
        dst_fps = fps.get(dst)
        if not arg_leaves and not dst_fps:
            continue
        total = sum(len(leaf) for leaf in arg_leaves)
        for src, pieces, result_text in result_chunks:
            if order.get(src, 0) >= order.get(dst, 0):
                continue
            found = {p for p in pieces if any(p in leaf for leaf in arg_leaves)}
            # an argument copied out of a longer result text (an instruction quoted from a ticket)
            found |= {leaf for leaf in arg_leaves if len(leaf) >= 16 and len(set(leaf)) >= 6 and leaf in result_text}
            share = min(1.0, sum(len(h) for h in found) / max(total, 1))
            matched = fingerprint_hits(fps.get(src), dst_fps)
            if matched:
                share = max(share, min(1.0, len(matched) / max(len(dst_fps or ()), 1)))
            hits = tuple(sorted(found)) + tuple(f"fingerprint:{fp}" for fp in sorted(matched))
            if hits:
                flows.append(Flow(src, dst, hits, round(0.5 + 0.5 * share, 3)))
    return flows
