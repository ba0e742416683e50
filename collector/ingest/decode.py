"""Decode and validate a batch of wire events in columns, with a per-row fallback for failing rows.

Fastest path, for records in the wire form emitters send (canonical JSON, `schema/wire.py`): DuckDB's
JSON reader (yyjson, ~3x less CPU than pyarrow's) parses the batch leniently, then every row is
re-serialised to canonical JSON in columns (`hashing.canonical_texts`, needed for the event hash anyway)
and compared byte for byte with the record it came from. Equality proves the lenient parse lost nothing
(a number given for a string, an object, an unknown or duplicated key, an escaped spelling or a float
rounded into an integer all change the text), and makes the record's own SHA-256 its event hash. Rows
that differ are not rejected: they continue on the strict path below like any other JSON spelling.

Fast path: the batch's values are joined into one NDJSON buffer and parsed by `pyarrow.json` with the
explicit contract schema (unknown fields are errors; timestamps are read as text and checked against
the one wire form before conversion). The contract's constraints that JSON typing cannot express
(required fields, enums, UUIDv7 ids, SHA-256 patterns, non-empty strings, `ge=0`, JSON-text columns,
the per-string size cap `MAX_STRING_BYTES`) are then checked vectorised, for both paths. The constraints
are read from the pydantic model, so a new constrained field is validated without a change here.

Slow path, only for the rows that fail: a block that pyarrow rejects is bisected down to small
pieces, and each remaining row is validated on its own by `parse_event` (the contract's definition of
a valid event) after a strict JSON parse that also rejects duplicate keys (parser differentials are
an evasion trick). A row that `parse_event` accepts is kept (e.g. pretty-printed JSON); the others
become `BadRow`s whose error names the field.

Hostile input (issue 14): no record raises out of `Decoder.decode`. The strict path parses as JSON with
no coercion (`parse_event`); parser limits (nesting, digit count) are rejection reasons; only `{…}` lines
reach pyarrow (a leading `null` line crashes its reader); an unforeseen failure of a columnar stage
re-decodes the batch record by record. Both paths then quarantine event times before
`EARLIEST_EVENT_TIME` or more than `MAX_CLOCK_SKEW` ahead of the ingest time. Reasons are one inert line.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, cast

import annotated_types
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from pydantic.functional_validators import AfterValidator

from mcp_blackbox.collector.ingest.console import say
from mcp_blackbox.collector.ingest.hashing import canonical_texts, event_hashes
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.errors import ValidationFailed
from mcp_blackbox.schema.model import MAX_STRING_BYTES, REQUIRED_FIELDS, AuditEvent, Sha256Hex, format_time
from mcp_blackbox.schema.wire import parse_event

#: Default cap on one record's bytes (a Kafka value or a spool line); larger ones are quarantined unread.
DEFAULT_MAX_RECORD_BYTES = MAX_STRING_BYTES + 1024 * 1024
#: No MCP event predates the protocol's first revision (2024-11-05); an earlier event_time is quarantined.
EARLIEST_EVENT_TIME = datetime(2024, 11, 5, tzinfo=UTC)
#: How far an event_time may run ahead of the collector's clock (emitter clock skew) before it is quarantined.
MAX_CLOCK_SKEW = timedelta(days=1)
# Failures of the columnar stages or of one record's strict validation that hostile bytes could cause; they
# end as a quarantine reason (one record) or a per-record re-decode (a batch), never as a collector crash.
_UNFORESEEN = (pa.ArrowException, ValueError, TypeError, OverflowError, RecursionError, UnicodeError,
               KeyError, IndexError)
_BISECT_LEAF = 16
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Characters a quarantine reason must not carry raw (it can quote hostile keys and values): C0/C1 controls,
# zero-width and bidi format characters, line separators, BOM, lone surrogates.
_UNSAFE_IN_REASON = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_MAX_REASON = 500
_UUID7 = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_JSON_TEXT = r"^[\[{\"ntf0-9-]"
# The wire form of a timestamp (format_time); anything else takes the per-row path.
_WIRE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


@dataclass(frozen=True)
class ColumnRule:
    """What one column must satisfy beyond its JSON type."""

    name: str
    required: bool
    pattern: str | None = None
    min_length: int | None = None
    ge: float | None = None
    allowed: tuple[Any, ...] | None = None
    per_row: bool = False  # a validator we cannot express in columns: check non-null rows one by one


def _walk(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            metadata = [*metadata, *args[1:]]
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation, metadata


@cache
def column_rules() -> tuple[ColumnRule, ...]:
    """One rule per contract column, derived from the pydantic annotations."""
    rules = []
    for name, info in AuditEvent.model_fields.items():
        core, meta = _walk(info.annotation, list(info.metadata))
        pattern: str | None = None
        min_length: int | None = None
        ge: float | None = None
        allowed: tuple[Any, ...] | None = None
        per_row = False
        for item in meta:
            if isinstance(item, AfterValidator):
                fname = getattr(item.func, "__name__", "")
                if fname == "_check_uuid7":
                    pattern = _UUID7
                elif fname == "_check_json_text":
                    pattern = _JSON_TEXT
                else:
                    per_row = True
            elif isinstance(item, annotated_types.Ge):
                ge = float(item.ge)  # type: ignore[arg-type]
            elif hasattr(item, "pattern") and hasattr(item, "min_length"):
                pattern = item.pattern or pattern
                min_length = item.min_length
            elif isinstance(item, annotated_types.MinLen):
                min_length = item.min_length
        if typing.get_origin(core) is typing.Literal:
            allowed = typing.get_args(core)
        elif isinstance(core, type) and issubclass(core, Enum):
            allowed = tuple(m.value for m in core)
        rules.append(ColumnRule(name, name in REQUIRED_FIELDS, pattern, min_length, ge, allowed, per_row))
    return tuple(rules)


_SHA256_HEX = next(m.pattern for m in typing.get_args(Sha256Hex)[1:] if getattr(m, "pattern", None))
_PLAIN_TEXT = re.compile(r"[ -!#-\[\]-~]*")  # printable ASCII without '"' and '\\': JSON needs no escape


@cache
def _plain_columns() -> frozenset[str]:
    """String columns whose valid values never need JSON escaping (UUIDs, hex digests, enums)."""
    names = set()
    for rule in column_rules():
        plain_enum = rule.allowed is not None and all(
            isinstance(v, str) and _PLAIN_TEXT.fullmatch(v) for v in rule.allowed)
        if rule.pattern in (_UUID7, _SHA256_HEX) or plain_enum:
            names.add(rule.name)
    return frozenset(n for n in names if pa.types.is_string(arrow_schema().field(n).type))


@cache
def _read_schema() -> pa.Schema:
    """The contract schema with timestamps as text (checked and converted after parsing)."""
    fields = [pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in arrow_schema()]
    return pa.schema(fields)


@dataclass(frozen=True)
class BadRow:
    """A row that is not a valid event: its index in the batch and why."""

    index: int
    error: str


@dataclass
class DecodedBatch:
    """Valid rows as an Arrow table (contract schema, ingest_time set) and the rejected rows."""

    table: pa.Table
    bad: list[BadRow]
    hashes: list[bytes] = field(default_factory=list)  # event hash (raw SHA-256) of each table row
    canonical_rows: int = 0  # rows that took the canonical fast path


def validate_row(value: bytes, max_string_bytes: int = MAX_STRING_BYTES) -> dict[str, Any]:
    """Validate one record on its own; returns the row dict or raises `ValidationFailed`.

    Strict, as `parse_event` is for the wire form: no type coercion, no duplicate keys, no non-finite
    numbers; nesting or numbers beyond the parser's limits are a `ValidationFailed` too, never another
    exception.
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 at byte {exc.start}"
        raise ValidationFailed(msg) from exc
    if not text.strip():
        msg = "empty record (no JSON value)"
        raise ValidationFailed(msg)
    event = parse_event(text)
    row = event.model_dump(mode="python")
    for name, val in row.items():
        if type(val) is int and not _INT64_MIN <= val <= _INT64_MAX:
            msg = f"{name}: integer out of the 64-bit range the store holds"
            raise ValidationFailed(msg)
        items = val if isinstance(val, list) else [val]
        for item in items:
            if isinstance(item, str) and len(item) * 4 > max_string_bytes:
                size = len(item.encode("utf-8", "surrogatepass"))
                if size > max_string_bytes:
                    msg = f"{name}: value of {size} bytes exceeds the {max_string_bytes}-byte cap"
                    raise ValidationFailed(msg)
    return row


def _read(buf: Any, block_size: int) -> pa.Table:
    return pj.read_json(
        # A zero-copy reader over the bytes (BytesIO would copy the whole batch first).
        pa.BufferReader(buf if isinstance(buf, pa.Buffer) else pa.py_buffer(buf)),
        read_options=pj.ReadOptions(block_size=block_size, use_threads=True),
        parse_options=pj.ParseOptions(explicit_schema=_read_schema(), unexpected_field_behavior="error",
                                      newlines_in_values=False),
    )


def _column_bad(table: pa.Table, max_string_bytes: int) -> tuple[Any, list[str]]:
    """Boolean mask of rows violating a constraint, plus columns needing per-row checks."""
    bad = pa.array([False] * table.num_rows)
    per_row_cols = []
    for rule in column_rules():
        col = table.column(rule.name)
        if rule.required:
            bad = pc.or_(bad, pc.is_null(col))
        if col.null_count == len(col):
            continue
        checks = []
        typ = col.type
        if rule.name in ("event_time", "ingest_time"):
            checks.append(pc.invert(pc.match_substring_regex(col, _WIRE_TIME)))
        if rule.pattern is not None:
            checks.append(pc.invert(pc.match_substring_regex(col, rule.pattern)))
        if rule.min_length is not None:
            checks.append(pc.less(pc.utf8_length(col), rule.min_length))
        if rule.ge is not None:
            checks.append(pc.less(col, rule.ge))
        if pa.types.is_floating(typ):
            checks.append(pc.invert(pc.is_finite(col)))
        if rule.allowed is not None:
            checks.append(pc.invert(pc.is_in(col, pa.array(list(rule.allowed), typ))))
        if pa.types.is_string(typ):
            checks.append(pc.greater(pc.binary_length(col), max_string_bytes))
        elif pa.types.is_list(typ):
            flat_len = pc.binary_length(pc.list_flatten(col))
            if len(flat_len) and pc.max(flat_len).as_py() > max_string_bytes:
                per_row_cols.append(rule.name)
        if rule.per_row:
            per_row_cols.append(rule.name)
        valid = pc.is_valid(col)
        for check in checks:
            bad = pc.or_(bad, pc.and_(valid, pc.fill_null(check, False)))
    return bad, per_row_cols


def _buffer_is_utf8(buf: bytes) -> bool:
    """UTF-8 check of a whole batch buffer by Arrow (vectorised, no Python str of the batch: ~4x faster)."""
    offsets = pa.array([0, len(buf)], pa.int64()).buffers()[1]
    arr = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(buf)])
    try:
        arr.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _to_time(col: Any) -> Any:
    return pc.cast(col, pa.timestamp("us", tz="UTC"))

_DUCK_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "int16": "SMALLINT", "double": "DOUBLE", "bool": "BOOLEAN",
               "list<item: string>": "VARCHAR[]"}
_duck_local = threading.local()


@cache
def _duck_sql() -> str:
    structure = json.dumps({f.name: _DUCK_TYPES[str(f.type)] for f in _read_schema()})
    # try(): a record that is not a JSON object of these types gives an all-null row (its canonical
    # text is then "{}", which differs from the record, so it goes the strict way).
    return f"SELECT unnest(try(json_transform(line, '{structure}'))) FROM mcp_blackbox_lines"  # noqa: S608


def _duck() -> Any:
    """This thread's DuckDB connection (flush workers decode concurrently), or None without DuckDB."""
    con = getattr(_duck_local, "con", False)
    if con is False:
        try:
            import duckdb
        except ModuleNotFoundError:
            con = None
        else:
            con = duckdb.connect(":memory:")
            con.execute("SET produce_arrow_string_view = false")
            # One thread per connection: each flush worker has its own, which already uses the cores;
            # DuckDB's own workers on top cost ~2 µs of CPU per event in the collector (measured with
            # benchmarks/bench_collector.py: 96k -> 103-110k events/s on 2 cores).
            con.execute("SET threads = 1")
        _duck_local.con = con
    return con


def _duck_parse(text: Any) -> pa.Table | None:
    """Lenient columnar parse of one JSON object per string (read schema), in order; None without DuckDB."""
    con = _duck()
    if con is None:
        return None
    lines = pa.Table.from_arrays([text], names=["line"])
    import duckdb

    con.register("mcp_blackbox_lines", lines)
    try:
        rel = con.sql(_duck_sql())
        parsed = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
    except duckdb.Error as exc:
        # Not expected (try() absorbs bad records), but never fatal: the strict path decodes everything.
        say(f"mcp-blackbox collect: canonical fast path off for one batch: {describe(exc)}")
        return None
    finally:
        con.unregister("mcp_blackbox_lines")
    schema = _read_schema()
    return pa.Table.from_arrays([parsed.column(f.name).cast(f.type) for f in schema], schema=schema)


class Decoder:
    """Turns lists of raw record values into `DecodedBatch`es."""

    def __init__(self, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
                 max_string_bytes: int = MAX_STRING_BYTES, *, canonical: bool = True,
                 earliest_event_time: datetime = EARLIEST_EVENT_TIME,
                 max_clock_skew: timedelta = MAX_CLOCK_SKEW) -> None:
        self.max_record_bytes = max_record_bytes
        self.max_string_bytes = max_string_bytes
        self.earliest_event_time = earliest_event_time
        self.max_clock_skew = max_clock_skew
        self.schema = arrow_schema()
        self.canonical = canonical  # try the canonical fast path first (needs DuckDB)

    def decode(self, values: Sequence[bytes], ingest_time: datetime) -> DecodedBatch:
        """Validate every value; valid rows keep batch order minus the bad ones. Never raises on input.

        Should a columnar stage fail on some input nobody foresaw, the whole batch is decoded again one
        record at a time on the strict path (slower, same results), so no record can stop the collector.
        """
        try:
            return self._decode(values, ingest_time)
        except _UNFORESEEN as exc:
            # The type and a capped, escaped message only: a log line must not replay a record's content.
            why = safe_reason(describe(exc))[:120]
            say(f"mcp-blackbox collect: columnar decode failed ({why}); decoding this batch of {len(values)} "
                "records one by one")
            return self._decode_each(values, ingest_time)

    def _decode_each(self, values: Sequence[bytes], ingest_time: datetime) -> DecodedBatch:
        """The strict path for every record of a batch (the fallback of `decode`)."""
        bad: dict[int, str] = {}
        rows = []
        for i, value in enumerate(values):
            if len(value) > self.max_record_bytes:
                bad[i] = f"record of {len(value)} bytes exceeds the {self.max_record_bytes}-byte cap"
                continue
            row = self._validate_one(value, i, bad)
            if row is not None:
                rows.append(row)
        idx = [i for i in range(len(values)) if i not in bad]
        table = self._rows_to_table(rows, idx, bad)
        order = [i for i in idx if i not in bad]
        table, order = self._drop_implausible(table, order, ingest_time, bad)
        hashes, _ = self._hashes(table, order, [None] * len(values))
        return DecodedBatch(self._stamp(table, ingest_time),
                            [BadRow(i, safe_reason(e)) for i, e in sorted(bad.items())], hashes, 0)

    def _validate_one(self, value: bytes, index: int, bad: dict[int, str]) -> dict[str, Any] | None:
        """`validate_row`, with its rejection (or any failure on hostile bytes) recorded in `bad`."""
        try:
            return validate_row(value, self.max_string_bytes)
        except ValidationFailed as exc:
            bad[index] = str(exc)
        except _UNFORESEEN as exc:
            bad[index] = f"undecodable record: {describe(exc)}"
        return None

    def _stamp(self, table: pa.Table, ingest_time: datetime) -> pa.Table:
        ingest_type = self.schema.field("ingest_time").type
        return table.set_column(table.schema.get_field_index("ingest_time"), self.schema.field("ingest_time"),
                                pa.repeat(pa.scalar(ingest_time, ingest_type), table.num_rows))

    def _drop_implausible(self, table: pa.Table, order: list[int], ingest_time: datetime,
                          bad: dict[int, str]) -> tuple[pa.Table, list[int]]:
        """Quarantine rows whose event_time no clock could have given (see `implausible_time_reason`)."""
        if not table.num_rows:
            return table, order
        col = table.column("event_time")
        latest = ingest_time + self.max_clock_skew
        mask = pc.fill_null(pc.or_(pc.less(col, pa.scalar(self.earliest_event_time, col.type)),
                                   pc.greater(col, pa.scalar(latest, col.type))), False)
        rows = pc.indices_nonzero(mask).to_pylist()
        if not rows:
            return table, order
        times = col.take(pa.array(rows, pa.int64())).to_pylist()
        for r, when in zip(rows, times, strict=True):
            bad[order[r]] = implausible_time_reason(when, self.earliest_event_time, self.max_clock_skew)
        dropped = set(rows)
        return table.filter(pc.invert(mask)), [i for r, i in enumerate(order) if r not in dropped]

    def _decode(self, values: Sequence[bytes], ingest_time: datetime) -> DecodedBatch:
        n = len(values)
        bad: dict[int, str] = {}
        slow: list[int] = []
        longest = max(map(len, values), default=0)
        pieces: list[pa.Table] = []
        piece_idx: list[list[int]] = []
        known: list[bytes | None] = [None] * n  # by batch index: the event hash of a canonical record
        todo: list[int] = list(range(n))
        if self.canonical and n:
            # Canonical records need none of the NDJSON checks below: a newline, a carriage return or an
            # empty value can never equal a canonical text, so such records simply stay in `todo`.
            cap = self.max_record_bytes
            cand = todo if longest <= cap else [i for i in todo if len(values[i]) <= cap]
            if cand:
                rest = self._decode_canonical(values, cand, pieces, piece_idx, known)
                todo = rest if cand is todo else [i for i in todo if known[i] is None]
        sub = values if len(todo) == n else [values[i] for i in todo]
        buf = b"\n".join(sub)
        special = bool(todo) and (
            buf.count(b"\n") != len(todo) - 1 or b"\r" in buf or longest > self.max_record_bytes
            # An empty value shows as an empty line: no per-value pass needed to find one.
            or b"\n\n" in buf or buf.startswith(b"\n") or buf.endswith(b"\n") or not buf
            # Only `{…}` lines reach pyarrow: pyarrow 26's reader crashes the process (SIGSEGV) on a
            # block whose first line is `null` (a poison pill). With no newline inside a value, every
            # boundary is one "\n", so two counts prove that every value starts with { and ends with }.
            or not (buf.startswith(b"{") and buf.endswith(b"}") and buf.count(b"\n{") == len(todo) - 1
                    and buf.count(b"}\n") == len(todo) - 1)
        )
        if todo and not special and not _buffer_is_utf8(buf):
            special = True
        fast_idx = todo
        if special:
            fast_idx = []
            for i in todo:
                v = values[i]
                if len(v) > self.max_record_bytes:
                    bad[i] = f"record of {len(v)} bytes exceeds the {self.max_record_bytes}-byte cap"
                elif (not v or v[:1] != b"{" or v[-1:] != b"}" or b"\n" in v or b"\r" in v
                      or not _is_utf8(v)):
                    slow.append(i)
                else:
                    fast_idx.append(i)
            buf = b"\n".join(values[i] for i in fast_idx)
        block = max(4 << 20, longest + 2)
        self._decode_range(values, fast_idx, buf, 0, len(fast_idx), block, pieces, piece_idx, slow)
        tables: list[pa.Table] = []
        order: list[int] = []  # batch index of each row of the result
        if pieces:
            table = pa.concat_tables(pieces).combine_chunks()
            indices = [i for idx in piece_idx for i in idx]
            mask, per_row_cols = _column_bad(table, self.max_string_bytes)
            if per_row_cols:
                for col in per_row_cols:
                    mask = pc.or_(mask, pc.is_valid(table.column(col)))
            bad_rows = pc.indices_nonzero(mask).to_pylist()
            if bad_rows:
                slow.extend(indices[r] for r in bad_rows)
                for r in bad_rows:  # re-validated one by one: their hash is computed from what is stored
                    known[indices[r]] = None
                table = table.filter(pc.invert(mask))
                dropped = set(bad_rows)
                indices = [i for r, i in enumerate(indices) if r not in dropped]
            tables.append(self._finish(table))
            order.extend(indices)
        rows = []
        for i in sorted(slow):
            row = self._validate_one(values[i], i, bad)
            if row is not None:
                rows.append(row)
        if rows:
            row_idx = [i for i in sorted(slow) if i not in bad]
            tables.append(self._rows_to_table(rows, row_idx, bad))
            order.extend(i for i in row_idx if i not in bad)
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        table, order = self._drop_implausible(table, order, ingest_time, bad)
        hashes, canonical_rows = self._hashes(table, order, known)
        return DecodedBatch(self._stamp(table, ingest_time),
                            [BadRow(i, safe_reason(e)) for i, e in sorted(bad.items())], hashes, canonical_rows)

    @staticmethod
    def _hashes(table: pa.Table, order: list[int], known: list[bytes | None]) -> tuple[list[bytes], int]:
        """Event hash of every row (the record's own SHA-256 when it was canonical, else computed), and
        how many rows were canonical."""
        hashes = [known[i] for i in order]
        if None not in hashes:
            return cast("list[bytes]", hashes), len(hashes)
        missing = [r for r, h in enumerate(hashes) if h is None]
        computed = event_hashes(table.take(pa.array(missing, pa.int64())) if len(missing) < len(hashes) else table)
        for r, h in zip(missing, computed, strict=True):
            hashes[r] = h
        return [h for h in hashes if h is not None], len(hashes) - len(missing)

    def _decode_canonical(self, values: Sequence[bytes], idx: list[int], pieces: list[pa.Table],
                          piece_idx: list[list[int]], known: list[bytes | None]) -> list[int]:
        """Parse `idx` with DuckDB and keep the rows that are exactly their canonical text; returns the rest."""
        lines = pa.array(values if len(idx) == len(values) else [values[i] for i in idx], pa.binary())
        try:
            text = lines.cast(pa.string())  # validates UTF-8
        except pa.ArrowInvalid:
            utf8 = [i for i in idx if _is_utf8(values[i])]  # the others are quarantined on the strict path
            if not utf8:
                return idx
            left = set(self._decode_canonical(values, utf8, pieces, piece_idx, known))
            return [i for i in idx if i in left or known[i] is None]
        try:
            parsed = _duck_parse(text)
            if parsed is None:
                return idx
            cols = []
            for f in self.schema:
                col = parsed.column(f.name)
                if pa.types.is_timestamp(f.type):
                    ok = pc.fill_null(pc.match_substring_regex(col, _WIRE_TIME), False)
                    col = _to_time(pc.if_else(ok, col, pa.scalar(None, pa.string())))
                cols.append(col)
            # Plain columns skip escaping here: a value that would need it fails their check in
            # `_column_bad`, which sends the row to the per-row path and drops its hash from `known`.
            canon = canonical_texts(pa.Table.from_arrays(cols, schema=self.schema), _plain_columns())
            exact = pc.fill_null(pc.equal(canon, text), False)
        except (pa.ArrowException, ValueError):
            # e.g. a timestamp that matches the wire form but is no date (month 13): strict path decides.
            return idx
        pos = pc.indices_nonzero(exact).to_pylist()
        if not pos:
            return idx
        if len(pos) == len(idx):
            chosen, rest, table = idx, [], parsed
        else:
            flags = exact.to_pylist()
            chosen = [i for i, f in zip(idx, flags, strict=True) if f]
            rest = [i for i, f in zip(idx, flags, strict=True) if not f]
            table = parsed.filter(exact)
        sha = hashlib.sha256
        if len(chosen) == len(values):
            known[:] = [sha(v).digest() for v in values]
        else:
            for i in chosen:
                known[i] = sha(values[i]).digest()
        pieces.append(table)
        piece_idx.append(chosen)
        return rest

    def _finish(self, table: pa.Table) -> pa.Table:
        """Text timestamps → timestamp columns; rows whose time does not convert go per-row."""
        cols = []
        for fld in self.schema:
            col = table.column(fld.name)
            if pa.types.is_timestamp(fld.type):
                col = _to_time(col)
            cols.append(col)
        return pa.Table.from_arrays(cols, schema=self.schema)

    def _rows_to_table(self, rows: list[dict[str, Any]], idx: list[int], bad: dict[int, str]) -> pa.Table:
        """Rows → table; rows Arrow cannot store are found by bisection (not one table per row) and marked bad."""
        try:
            return pa.Table.from_pylist(rows, schema=self.schema)
        except (pa.ArrowException, OverflowError, ValueError, TypeError) as exc:
            if len(rows) == 1:
                bad[idx[0]] = f"value not storable: {exc}"
                return self.schema.empty_table()
        mid = len(rows) // 2
        return pa.concat_tables([self._rows_to_table(rows[:mid], idx[:mid], bad),
                                 self._rows_to_table(rows[mid:], idx[mid:], bad)])

    def _decode_range(self, values: Sequence[bytes], idx: list[int], buf: bytes, lo: int, hi: int, block: int,
                      pieces: list[pa.Table], piece_idx: list[list[int]], slow: list[int]) -> None:
        if lo >= hi:
            return
        if hi - lo <= _BISECT_LEAF:
            slow.extend(idx[lo:hi])
            return
        sub = buf if (lo == 0 and hi == len(idx)) else b"\n".join(values[i] for i in idx[lo:hi])
        try:
            table = _read(sub, block)
            # Timestamps must convert too (e.g. month 13 passes the regex); let the cast decide.
            if table.num_rows == hi - lo:
                for name in ("event_time", "ingest_time"):
                    col = table.column(name)
                    ok = pc.fill_null(pc.match_substring_regex(col, _WIRE_TIME), False)
                    _to_time(pc.if_else(ok, col, pa.scalar(None, pa.string())))
                pieces.append(table)
                piece_idx.append(idx[lo:hi])
                return
        except (pa.ArrowException, ValueError):
            pass  # some row in this range is bad: bisect to find it
        mid = (lo + hi) // 2
        self._decode_range(values, idx, buf, lo, mid, block, pieces, piece_idx, slow)
        self._decode_range(values, idx, buf, mid, hi, block, pieces, piece_idx, slow)


def implausible_time_reason(when: datetime, earliest: datetime = EARLIEST_EVENT_TIME,
                            skew: timedelta = MAX_CLOCK_SKEW) -> str:
    """The quarantine reason for an event_time outside [earliest, ingest_time + skew]."""
    shown = when.astimezone(UTC).isoformat().replace("+00:00", "Z")  # year 1 as 0001 (strftime gives 1)
    if when < earliest:
        return f"event_time: {shown} is implausible: before {format_time(earliest)} (the first MCP revision)"
    # The clock itself is the quarantine row's ingest_time; kept out of the reason so that the same record
    # gets the same reason from every collector (Kafka and spool stores compare equal).
    hours = f"{skew.total_seconds() / 3600:g}"
    return f"event_time: {shown} is implausible: more than {hours} h after the collector's clock"


def safe_reason(text: str) -> str:
    """A quarantine reason as one inert line: unsafe characters escaped (`\\x1b`, `\\u202e`), length capped."""
    out = _UNSAFE_IN_REASON.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) > 0xFF
                                else f"\\x{ord(m.group()):02x}", text)
    return out if len(out) <= _MAX_REASON else out[:_MAX_REASON] + "…"


def describe(exc: BaseException) -> str:
    """One line for an unexpected decode failure."""
    return re.sub(r"\s+", " ", f"{type(exc).__name__}: {exc}").strip()
