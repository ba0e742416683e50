"""Event hashes in columns, and the Merkle root of a file's events.

`event_hashes(table)` returns, for every row of an Arrow table with the contract schema, exactly
`mcp_blackbox.schema.wire.event_sha256` of that row (SHA-256 of the canonical JSON of the non-null
fields except `ingest_time`). The canonical text is built with Arrow compute kernels column by column
(escaping, number and timestamp formatting, joining), so only the final SHA-256 runs per row in
Python; values whose canonical form Arrow cannot produce exactly (control characters in strings,
floats in exponent form) are formatted by the schema's own canonical encoder for just those rows.
A test checks equality with `event_sha256` on generated events.

`merkle_root(hashes)` follows RFC 6962 (Certificate Transparency): leaf = SHA-256(0x00 || event hash),
node = SHA-256(0x01 || left || right), the odd node promoted, empty tree = SHA-256("").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mcp_blackbox.schema.canonical import _escape, _number
from mcp_blackbox.schema.wire import UNHASHED_FIELDS

_CONTROL = r"[\x00-\x1f]"


def _escaped_strings(arr: Any, prefix: str = "") -> Any:
    """`prefix` + JSON string literal of each value, as `json.dumps(ensure_ascii=False)` writes it."""
    if len(arr) == 0:
        return arr
    out = arr
    # Scans without allocation first: most columns (ids, enums, names) need no escaping at all.
    if pc.any(pc.match_substring(arr, "\\")).as_py():
        out = pc.replace_substring(out, "\\", "\\\\")
    if pc.any(pc.match_substring(arr, '"')).as_py():
        out = pc.replace_substring(out, '"', '\\"')
    out = pc.binary_join_element_wise(prefix + '"', out, '"', "")
    # Control characters need \n, \t or \u00XX escapes. `ascii_is_printable` is a cheap first pass
    # (RE2 costs ~0.2 µs per row); only rows it flags (control or non-ASCII) meet the regex.
    suspect = pc.invert(pc.fill_null(pc.ascii_is_printable(arr), True))
    if not pc.any(suspect).as_py():
        return out
    ctrl = pc.and_(suspect, pc.fill_null(pc.match_substring_regex(arr, _CONTROL), False))
    if pc.any(ctrl).as_py():
        # Rare: control characters need \n, \t or \u00XX escapes; format those rows in Python.
        values = out.to_pylist()
        raw = arr.to_pylist()
        for i, flag in enumerate(ctrl.to_pylist()):
            if flag:
                values[i] = prefix + _escape(raw[i])
        out = pa.array(values, pa.string())
    return out


def _float_text(arr: Any) -> Any:
    text = pc.cast(arr, pa.string())
    needs_python = pc.match_substring(text, "e")
    if pc.any(needs_python).as_py():
        values = text.to_pylist()
        raw = arr.to_pylist()
        for i, flag in enumerate(needs_python.to_pylist()):
            if flag:
                values[i] = _number(raw[i])
        text = pa.array(values, pa.string())
    return text


def _time_text(arr: Any) -> Any:
    # Casting a naive timestamp to text is ~30x faster than strftime; same digits as format_time.
    text = pc.cast(arr.cast(pa.timestamp("us")), pa.string())
    return pc.binary_join_element_wise('"', pc.replace_substring(text, " ", "T", max_replacements=1), 'Z"', "")


def _value_text(arr: Any) -> Any:
    """Canonical JSON text of each value (null stays null)."""
    typ = arr.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return _escaped_strings(arr)
    if pa.types.is_boolean(typ):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(typ):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(typ):
        return _float_text(arr)
    if pa.types.is_timestamp(typ):
        return _time_text(arr)
    if pa.types.is_list(typ):
        flat = _escaped_strings(pc.list_flatten(arr))
        rebuilt = pa.ListArray.from_arrays(arr.offsets, flat, mask=arr.is_null())
        joined = pc.binary_join(rebuilt, ",")
        return pc.binary_join_element_wise("[", joined, "]", "")
    msg = f"no canonical form for Arrow type {typ}"
    raise TypeError(msg)


def canonical_texts(table: Any, plain: frozenset[str] = frozenset()) -> Any:
    """Canonical JSON text of every row (as in `event_sha256`), one string array.

    `plain` names string columns whose values the caller will reject unless they need no JSON escaping
    (e.g. enums, hex digests, UUIDs checked afterwards): they are quoted without the escaping passes, so
    a row with such a value that does need escaping gets a wrong text here and must not be trusted.
    """
    table = table.combine_chunks()
    names = sorted(n for n in table.column_names if n not in UNHASHED_FIELDS)
    pieces = []
    for name in names:
        col = table.column(name)
        arr = col.chunk(0) if col.num_chunks else pa.array([], col.type)
        if arr.null_count == len(arr):
            continue
        if name in plain and pa.types.is_string(arr.type):
            pieces.append(pc.binary_join_element_wise(f'"{name}":"', arr, '"', ""))
        elif pa.types.is_string(arr.type):
            pieces.append(_escaped_strings(arr, f'"{name}":'))
        else:
            pieces.append(pc.binary_join_element_wise(f'"{name}":', _value_text(arr), ""))
    if not pieces:
        return pa.array(["{}"] * table.num_rows, pa.string())
    body = pc.binary_join_element_wise(*pieces, ",", null_handling="skip")
    if len(body) != table.num_rows:
        # pyarrow (26) drops the rows whose inputs are all null under null_handling="skip" (a record that
        # did not parse): a leading empty piece keeps every row, and its separator is cut off again.
        lead = pa.repeat(pa.scalar("", pa.string()), table.num_rows)
        body = pc.utf8_slice_codeunits(pc.binary_join_element_wise(lead, *pieces, ",", null_handling="skip"), 1)
    return pc.binary_join_element_wise("{", body, "}", "")


def event_hashes(table: Any) -> list[bytes]:
    """Raw 32-byte SHA-256 of every row's canonical JSON, in row order."""
    if table.num_rows == 0:
        return []
    texts = canonical_texts(table)
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    offsets = memoryview(texts.buffers()[1]).cast("b").cast("i")  # int32 offsets
    data = memoryview(texts.buffers()[2] or b"")
    base = texts.offset
    sha = hashlib.sha256
    return [sha(data[offsets[base + i]:offsets[base + i + 1]]).digest() for i in range(len(texts))]


def event_hashes_hex(table: Any) -> list[str]:
    """Hex form of `event_hashes`."""
    return [h.hex() for h in event_hashes(table)]


def merkle_root(hashes: Sequence[bytes]) -> str:
    """RFC 6962 Merkle tree hash over event hashes (hex)."""
    if not hashes:
        return hashlib.sha256(b"").hexdigest()
    level = [hashlib.sha256(b"\x00" + h).digest() for h in hashes]
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()
