"""The Arrow schema of the event contract, derived from `AuditEvent` (needs pyarrow).

Used by the collector to decode and validate in columns, by Parquet files as their explicit schema
(never inferred from data) and by round-trip tests.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from mcp_blackbox.schema.errors import MissingExtraError
from mcp_blackbox.schema.model import AuditEvent, field_group
from mcp_blackbox.schema.types import column_types

try:
    import pyarrow as pa
except ModuleNotFoundError as _exc:  # pragma: no cover - depends on the install
    raise MissingExtraError.for_module("pyarrow") from _exc  # noqa: EM101


def _arrow_type(logical: str) -> Any:
    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "int16": pa.int16(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "string_list": pa.list_(pa.string()),
    }[logical]


@cache
def arrow_schema() -> Any:
    """`pyarrow.Schema` of schema v1; field metadata carries the group and description."""
    fields = []
    for name, (logical, nullable) in column_types().items():
        info = AuditEvent.model_fields[name]
        meta = {b"group": field_group(name).encode(), b"description": (info.description or "").encode()}
        fields.append(pa.field(name, _arrow_type(logical), nullable=nullable, metadata=meta))
    return pa.schema(fields, metadata={b"mcp_blackbox.schema_version": b"1"})


def events_to_table(events: list[AuditEvent]) -> Any:
    """Events → Arrow table with the contract schema (used by tests and small writers)."""
    rows = [e.model_dump(mode="python") for e in events]
    return pa.Table.from_pylist(rows, schema=arrow_schema())


def table_to_events(table: Any) -> list[AuditEvent]:
    """Arrow table → events, validated again (the reverse of `events_to_table`)."""
    return [
        AuditEvent.model_validate({k: v for k, v in row.items() if v is not None})
        for row in table.to_pylist()
    ]
