"""Canonical JSON (RFC 8785 style) and the SHA-256 helpers built on it.

Equal JSON values give equal bytes whatever the key order or whitespace of the original, so a hash
taken by a client emitter matches the one taken by the server emitter for the same payload, without
either storing it. Deviations from RFC 8785, on purpose: integers beyond 2**53 are written exactly
(JavaScript would round them), and lone UTF-16 surrogates (valid in JSON text, invalid Unicode) are
hashed through `surrogatepass` instead of rejected, so hostile payloads still get a stable hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

#: Fields of a tool definition that decide what the model is told and what the tool accepts.
TOOL_DEFINITION_FIELDS: Final = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")

_escape = json.JSONEncoder(ensure_ascii=False).encode  # escapes only ", \ and control characters


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _number(value: float) -> str:
    """ECMAScript Number.prototype.toString for a finite double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        msg = f"canonical JSON has no form for {value!r}"
        raise ValueError(msg)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    sign = "-" if value < 0 else ""
    # Normalise to (digits, n) with value = 0.d1d2... * 10**n, per the ECMAScript algorithm.
    r = repr(abs(value))
    if "e" in r:
        m, e = r.split("e")
        ip, _, fp = m.partition(".")
        ds = (ip + fp).lstrip("0") or "0"
        n = int(e) + len(ip)
    else:
        ip, _, fp = r.partition(".")
        if ip.strip("0"):
            ds = (ip + fp).lstrip("0")
            n = len(ip.lstrip("0"))
        else:
            stripped = fp.lstrip("0")
            n = -(len(fp) - len(stripped))
            ds = stripped
    ds = ds.rstrip("0") or "0"
    k = len(ds)
    if k <= n <= 21:
        return sign + ds + "0" * (n - k)
    if 0 < n <= 21:
        return sign + ds[:n] + "." + ds[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + ds
    e_val = n - 1
    e_sign = "+" if e_val >= 0 else "-"
    body = ds if k == 1 else ds[0] + "." + ds[1:]
    return f"{sign}{body}e{e_sign}{abs(e_val)}"


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_escape(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key in sorted(value, key=lambda k: _utf16_key(_as_key(k))):
            if not first:
                out.append(",")
            first = False
            out.append(_escape(_as_key(key)))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        msg = f"canonical JSON cannot encode {type(value).__name__}"
        raise TypeError(msg)


def _as_key(key: object) -> str:
    if isinstance(key, str):
        return key
    msg = f"canonical JSON object keys must be strings, not {type(key).__name__}"
    raise TypeError(msg)


def canonical_json(value: Any) -> str:
    """The canonical text of a JSON value: sorted keys (UTF-16 order), no whitespace, ES numbers."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def canonical_bytes(value: Any) -> bytes:
    """Canonical JSON as UTF-8 bytes (lone surrogates passed through, see the module docstring)."""
    return canonical_json(value).encode("utf-8", "surrogatepass")


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def json_sha256(value: Any) -> str:
    """SHA-256 of a JSON value's canonical form."""
    return sha256_hex(canonical_bytes(value))


def tool_definition_subset(tool: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a tool definition that its hash covers (absent keys stay absent)."""
    return {key: tool[key] for key in TOOL_DEFINITION_FIELDS if key in tool}


def tool_definition_sha256(tool: Mapping[str, Any]) -> str:
    """Hash of a tool definition: name, title, description, inputSchema, outputSchema, annotations.

    `_meta`, icons and execution hints are left out: they do not change what the model is told.
    """
    return json_sha256(tool_definition_subset(tool))


def tool_catalog_sha256(tools: Iterable[Mapping[str, Any]]) -> str:
    """Order-independent hash of a catalog: the sorted list of its tool definition hashes."""
    return json_sha256(sorted(tool_definition_sha256(tool) for tool in tools))
