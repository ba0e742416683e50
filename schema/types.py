"""The logical column type of each contract field, derived from the pydantic annotations.

Arrow (`arrow.py`), DuckDB views and the column docs map these logical types; nothing else looks at
pydantic annotations, so a new field needs no change anywhere but `model.py`.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, Literal

from mcp_blackbox.schema.model import AuditEvent

LogicalType = Literal["string", "int64", "int16", "float64", "bool", "timestamp", "string_list"]


def _strip(annotation: Any) -> tuple[Any, bool]:
    """Remove Annotated and Optional layers; return (core type, nullable)."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = nullable or len(args) != len(typing.get_args(annotation))
            if len(args) != 1:
                msg = f"unsupported union {annotation!r}"
                raise TypeError(msg)
            annotation = args[0]
            continue
        return annotation, nullable


def _logical(core: Any) -> LogicalType:
    origin = typing.get_origin(core)
    if origin is Literal:
        values = typing.get_args(core)
        return "int16" if all(isinstance(v, int) for v in values) else "string"
    if origin is list:
        (item,) = typing.get_args(core)
        if _strip(item)[0] is str:
            return "string_list"
    if isinstance(core, type):
        if issubclass(core, bool):
            return "bool"
        if issubclass(core, Enum) or issubclass(core, str):
            return "string"
        if issubclass(core, int):
            return "int64"
        if issubclass(core, float):
            return "float64"
        if issubclass(core, datetime):
            return "timestamp"
    msg = f"no column type for {core!r}"
    raise TypeError(msg)


@cache
def column_types() -> dict[str, tuple[LogicalType, bool]]:
    """field name → (logical type, nullable), in contract order."""
    out: dict[str, tuple[LogicalType, bool]] = {}
    for name, info in AuditEvent.model_fields.items():
        core, nullable = _strip(info.annotation)
        out[name] = (_logical(core), nullable or not info.is_required())
    return out


def enum_values(name: str) -> tuple[str, ...] | None:
    """The closed vocabulary of an enum column, or None."""
    core, _ = _strip(AuditEvent.model_fields[name].annotation)
    if isinstance(core, type) and issubclass(core, Enum):
        return tuple(str(m.value) for m in core)
    return None
