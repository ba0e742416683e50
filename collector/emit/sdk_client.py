"""Client hook for the official Python SDK: a transport tap, one line to adopt.

    from mcp import Client
    from mcp.client.stdio import stdio_client
    from mcp_blackbox.collector.emit.sdk_client import tap

    async with Client(tap(stdio_client(params), server_config_name="weather")) as client: ...

`tap()` wraps any transport (an async context manager yielding `(read_stream, write_stream[, …])`,
e.g. `stdio_client(...)`, `streamable_http_client(...)`; mcp 2.x and 1.x) and sees every JSON-RPC
message both ways, as the SDK serialises it, in the task that sends it. It works with `mcp.Client` and
`ClientSession(read, write)`. On outbound requests without trace context it adds a W3C `traceparent`
to `_meta` (so the server-side emitter of the same call shares the `trace_id`), and it copies the
host decision in force (`HostRecorder.calling`) into `_meta` so servers can link the call back.
"""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import Any

from mcp_blackbox.collector.emit.emitter import Emitter, default_emitter
from mcp_blackbox.collector.emit.host import CURRENT_CALL
from mcp_blackbox.collector.emit.normalizer import (
    META_CONVERSATION,
    META_PARENT_EVENT,
    META_TOOL_CALL_ID,
    ConnectionNormalizer,
)
from mcp_blackbox.schema.enums import Direction, EmitterRole, TraceSource, Transport

log = logging.getLogger(__name__)


def _wire(message: Any) -> dict[str, Any]:
    """The JSON the SDK puts on the wire for a JSONRPCMessage (by alias, unset fields left out)."""
    if isinstance(message, dict):
        return message
    dumped: dict[str, Any] = message.model_dump(by_alias=True, mode="json", exclude_unset=True)
    return dumped


def _transport_kind(transport: Any) -> Transport:
    gen = getattr(transport, "gen", None)
    name = (getattr(gen, "__qualname__", "") or type(transport).__name__).lower()
    if "stdio" in name:
        return Transport.STDIO
    if "streamable" in name or "http" in name:
        return Transport.STREAMABLE_HTTP
    if "sse" in name:
        return Transport.SSE
    if "websocket" in name:
        return Transport.WEBSOCKET
    return Transport.UNKNOWN


class _TapWrite:
    """Outbound: record, optionally add trace/host `_meta`, forward."""

    def __init__(self, inner: Any, tapped: TappedTransport) -> None:
        self._inner = inner
        self._tap = tapped

    async def send(self, item: Any, /) -> None:
        item = self._tap.outbound(item)
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _TapWrite:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        result: bool | None = await self._inner.__aexit__(*exc)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TapRead:
    """Inbound: record what the server sent, hand it on unchanged."""

    def __init__(self, inner: Any, tapped: TappedTransport) -> None:
        self._inner = inner
        self._tap = tapped

    async def receive(self) -> Any:
        item = await self._inner.receive()
        self._tap.inbound(item)
        return item

    def __aiter__(self) -> _TapRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except Exception as exc:
            import anyio

            if isinstance(exc, anyio.EndOfStream | anyio.ClosedResourceError):
                raise StopAsyncIteration from exc
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _TapRead:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        result: bool | None = await self._inner.__aexit__(*exc)
        return result

    def __getattr__(self, name: str) -> Any:  # last_context and friends
        return getattr(self._inner, name)


class TappedTransport:
    """A transport that records every message through a `ConnectionNormalizer`."""

    def __init__(self, transport: Any, emitter: Emitter | None = None, *, server_config_name: str | None = None,
                 inject_trace: bool = True, **static: Any) -> None:
        self._transport = transport
        self._own_emitter = emitter is None
        self.emitter = emitter or default_emitter(EmitterRole.CLIENT, "sdk_client")
        self.inject_trace = inject_trace
        self.normalizer = ConnectionNormalizer(self.emitter, transport=_transport_kind(transport),
                                               server_config_name=server_config_name, **static)

    # -- recording (never raises into the SDK) ----------------------------------------------------

    def outbound(self, item: Any) -> Any:
        try:
            message = getattr(item, "message", item)
            wire = _wire(message)
            extra: dict[str, Any] = {}
            if "method" in wire and "id" in wire:
                wire, item, extra = self._decorate(wire, item, message)
            self.normalizer.observe(wire, Direction.CLIENT_TO_SERVER, extra=extra or None)
        except Exception as exc:  # noqa: BLE001 - auditing must never break the client
            log.warning("mcp-blackbox: client tap could not record an outbound message: %s", exc)
        return item

    def inbound(self, item: Any) -> None:
        try:
            if isinstance(item, Exception):
                self.normalizer.lifecycle("transport_error", risk_flags=["transport_error"],
                                          attributes={"error": f"{type(item).__name__}: {item}"[:500]})
                return
            self.normalizer.observe(_wire(getattr(item, "message", item)), Direction.SERVER_TO_CLIENT)
        except Exception as exc:  # noqa: BLE001 - auditing must never break the client
            log.warning("mcp-blackbox: client tap could not record an inbound message: %s", exc)

    def _decorate(self, wire: dict[str, Any], item: Any, message: Any) -> tuple[dict[str, Any], Any, dict[str, Any]]:
        params = dict(wire.get("params") or {})
        meta = dict(params.get("_meta") or {})
        extra: dict[str, Any] = {}
        changed = False
        if self.inject_trace and "traceparent" not in meta:
            meta["traceparent"] = f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"
            extra["trace_source"] = TraceSource.EMITTER
            changed = True
        current = CURRENT_CALL.get()
        if current and META_TOOL_CALL_ID not in meta:
            meta[META_TOOL_CALL_ID] = current["tool_call_id"]
            meta[META_PARENT_EVENT] = current["parent_event_id"]
            meta[META_CONVERSATION] = current["conversation_id"]
            changed = True
        if not changed:
            return wire, item, extra
        params["_meta"] = meta
        wire = {**wire, "params": params}
        try:
            new_message = message.model_copy(update={"params": params})
            item = type(item)(message=new_message, metadata=getattr(item, "metadata", None)) \
                if hasattr(item, "message") else new_message
        except (AttributeError, TypeError) as exc:  # an unknown message type: forward it unchanged
            log.debug("mcp-blackbox: could not add _meta: %s", exc)
            wire = _wire(message)
            extra.pop("trace_source", None)
        return wire, item, extra

    # -- async context manager --------------------------------------------------------------------

    async def __aenter__(self) -> Any:
        streams = await self._transport.__aenter__()
        self.normalizer.lifecycle("connection_open")
        read, write, *rest = streams
        return (_TapRead(read, self), _TapWrite(write, self), *rest)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        try:
            result: bool | None = await self._transport.__aexit__(exc_type, exc, tb)
        finally:
            self.normalizer.lifecycle("connection_close")
            if self._own_emitter:
                self.emitter.flush(2.0)
        return result


def tap(transport: Any, emitter: Emitter | None = None, *, server_config_name: str | None = None,
        **static: Any) -> TappedTransport:
    """Wrap an MCP client transport so every message is recorded (see module docstring)."""
    return TappedTransport(transport, emitter, server_config_name=server_config_name, **static)
