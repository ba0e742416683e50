"""Official Python SDK server hooks (mcp 2.x; 1.x through the stream tap): one line to adopt.

    server = MCPServer("helpdesk")            # or a low-level mcp.server.lowlevel.Server
    instrument_server(server)                 # every inbound message and its answer, with identity
    app = instrument_app(server.streamable_http_app(), server)   # HTTP only: what the middleware cannot see

`instrument_server` appends a `ServerMiddleware` (outermost after the SDK's built-ins). It rebuilds the
wire form of each inbound request/notification from the context (method, id, raw params, `_meta`) and of
its answer (the result dict, or the `MCPError` / validation error / exception that became a JSON-RPC
error), so each gets one event with duration and status. Identity comes from the SDK's access-token
context (`get_access_token()`: subject, client id, scopes, claims; the token only as a SHA-256
fingerprint) and, on HTTP, from the Starlette request (source address, User-Agent, Origin,
`Mcp-Method`/`Mcp-Name`, `Mcp-Session-Id`).

mcp 1.x (`FastMCP`, low-level `Server`) has no server middleware: there `instrument_server` taps the
streams of `Server.run` and records every message of the connection in both directions.

The middleware's blind spots are covered by `instrument_app`, an ASGI wrapper around the server's
Starlette app: requests refused before the dispatcher (401/403 from the bearer middleware, 403 Origin,
400 header/version checks, 404/405) become `auth` / `http_rejected` events, and the server's outbound
messages (server-initiated requests and notifications on SSE streams) and the client's answers to them
are recorded — exactly the messages the middleware does not see, so nothing is recorded twice.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from mcp_blackbox.collector.emit.emitter import Emitter, default_emitter
from mcp_blackbox.collector.emit.normalizer import ConnectionNormalizer
from mcp_blackbox.schema.enums import Direction, EmitterRole, EventType, Transport
from mcp_blackbox.schema.hashing import ContentHasher

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Set by the `Server.run` wrapper (stdio, SSE): the connection's normaliser. Handlers run in tasks
# spawned inside `run`, so the middleware sees it and shares one connection with the stream tap.
_RUN_NORMALIZER: contextvars.ContextVar[ConnectionNormalizer | None] = contextvars.ContextVar(
    "mcp_blackbox_server_run", default=None)


def _identity(hasher: ContentHasher) -> dict[str, Any]:
    """The validated access token of the current request, as normaliser `http` fields (never the token)."""
    try:
        from mcp.server.auth.middleware.auth_context import get_access_token
    except ImportError:
        return {}
    token = get_access_token()
    if token is None:
        return {}
    claims: dict[str, Any] = {k: v for k, v in dict(token.claims or {}).items()
                              if k in ("iss", "sub", "aud", "scope", "scp", "client_id", "azp", "act")}
    claims.setdefault("client_id", token.client_id)
    if token.subject:
        claims.setdefault("sub", token.subject)
    if token.scopes:
        claims["scope"] = " ".join(token.scopes)
    if token.resource and "aud" not in claims:
        claims["aud"] = token.resource
    out: dict[str, Any] = {"token_fingerprint": hasher.token_fingerprint(token.token),
                           "auth_method": "oauth_bearer", "token_claims": claims}
    if token.subject:
        out["user_id"], out["user_id_source"] = token.subject, "token"
    return out


def _request_facts(request: Any) -> dict[str, Any]:
    """HTTP facts of the Starlette request carrying this message (None on stdio)."""
    if request is None:
        return {}
    headers = {k.lower(): v for k, v in getattr(request, "headers", {}).items()}
    client = getattr(request, "client", None)
    facts: dict[str, Any] = {"src_ip": getattr(client, "host", None), "user_agent": headers.get("user-agent"),
                             "origin": headers.get("origin"), "mcp_session_id": headers.get("mcp-session-id"),
                             "headers": {k: v for k, v in headers.items()
                                         if k in ("mcp-method", "mcp-name", "traceparent")}}
    return {k: v for k, v in facts.items() if v}


def _dump(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if hasattr(result, "model_dump"):
        return dict(result.model_dump(by_alias=True, exclude_none=True, mode="json"))
    return dict(result)


class BlackboxServerMiddleware:
    """`ServerMiddleware[Any]` recording each inbound message and its answer."""

    def __init__(self, emitter: Emitter, *, server_config_name: str | None = None) -> None:
        self.emitter = emitter
        self.server_config_name = server_config_name
        self._lock = threading.Lock()
        self._by_session: weakref.WeakKeyDictionary[Any, ConnectionNormalizer] = weakref.WeakKeyDictionary()
        self._by_http_session: dict[str, ConnectionNormalizer] = {}

    def normalizer_for(self, session: Any, http_session: str | None, transport: Transport) -> ConnectionNormalizer:
        """One normaliser per legacy HTTP session id, else per SDK session object."""
        with self._lock:
            if http_session and http_session in self._by_http_session:
                return self._by_http_session[http_session]
            norm = None
            try:
                norm = self._by_session.get(session)
            except TypeError:  # an unhashable session object: one normaliser per message is still correct
                norm = None
            if norm is None:
                norm = ConnectionNormalizer(self.emitter, transport=transport,
                                            server_config_name=self.server_config_name)
                try:
                    self._by_session[session] = norm
                except TypeError:
                    log.debug("mcp-blackbox: SDK session not weak-referenceable")
            if http_session:
                norm.conn["mcp_session_id"] = http_session
                self._by_http_session[http_session] = norm
            return norm

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        norm, http = None, None
        try:
            http = {**_request_facts(ctx.request), **_identity(self.emitter.hasher)}
            transport = Transport.STREAMABLE_HTTP if ctx.request is not None else Transport.STDIO
            # ServerSession is a per-request facade on 2.x; its Connection is the per-client object.
            conn = getattr(ctx.session, "_connection", None) or ctx.session
            norm = _RUN_NORMALIZER.get() or self.normalizer_for(conn, http.get("mcp_session_id"), transport)
            params = dict(ctx.params or {})
            if ctx.meta and "_meta" not in params:
                params["_meta"] = dict(ctx.meta)
            wire: dict[str, Any] = {"jsonrpc": "2.0", "method": ctx.method}
            if params:
                wire["params"] = params
            if ctx.request_id is not None:
                wire["id"] = ctx.request_id
            norm.observe(wire, Direction.CLIENT_TO_SERVER, http=http or None)
        except Exception as exc:  # noqa: BLE001 - recording must never break the server
            log.warning("mcp-blackbox: server hook could not record a request: %s", exc)
        if ctx.request_id is None:
            return await call_next(ctx)
        try:
            result = await call_next(ctx)
        except Exception as exc:
            self._answer(norm, ctx.request_id, None, exc, http)
            raise
        self._answer(norm, ctx.request_id, result, None, http)
        return result

    def _answer(self, norm: ConnectionNormalizer | None, request_id: Any, result: Any, exc: Exception | None,
                http: dict[str, Any] | None) -> None:
        if norm is None:
            return
        try:
            wire: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
            if exc is None:
                wire["result"] = _dump(result)
            elif hasattr(exc, "error") and hasattr(exc.error, "code"):  # MCPError
                wire["error"] = {"code": exc.error.code, "message": exc.error.message}
            elif type(exc).__name__ == "ValidationError":
                wire["error"] = {"code": INVALID_PARAMS, "message": "Invalid request parameters"}
            else:
                wire["error"] = {"code": INTERNAL_ERROR, "message": f"{type(exc).__name__}: {exc}"[:500]}
            norm.observe(wire, Direction.SERVER_TO_CLIENT, http=http or None)
        except Exception as record_exc:  # noqa: BLE001 - recording must never break the server
            log.warning("mcp-blackbox: server hook could not record a response: %s", record_exc)


def instrument_server(server: Any, emitter: Emitter | None = None, *,
                      server_config_name: str | None = None) -> BlackboxServerMiddleware:
    """Record every inbound message of an `MCPServer` or low-level `Server` (one line to adopt)."""
    name = server_config_name or getattr(server, "name", None)
    emitter = emitter or default_emitter(EmitterRole.SERVER, "sdk_server", server_config_name=name)
    middleware = BlackboxServerMiddleware(emitter, server_config_name=name)
    server._mcp_blackbox = middleware  # lets instrument_app find the same emitter
    # 2.x: MCPServer._lowlevel_server; 1.x: FastMCP._mcp_server; else the low-level Server itself.
    lowlevel = getattr(server, "_lowlevel_server", None) or getattr(server, "_mcp_server", None) or server
    middlewares = getattr(server, "middleware", None)
    if isinstance(middlewares, list):
        middlewares.append(middleware)
        full = False
    else:
        # mcp 1.x has no server middleware: every message of a connection passes `Server.run`'s
        # streams (stdio, SSE, and each streamable HTTP session), so the stream tap records them all.
        full = True
    if callable(getattr(lowlevel, "run", None)):
        lowlevel.run = _tap_run(lowlevel.run, middleware, full=full)
    elif full:
        log.warning("mcp-blackbox: %s has neither middleware nor run(); nothing will be recorded", type(server))
    return middleware


class _ServerStreamTap:
    """Stream tap for `Server.run`: only what the middleware cannot see (server-initiated traffic),
    or with `full` (mcp 1.x, no middleware) every message in both directions."""

    def __init__(self, norm: ConnectionNormalizer, *, full: bool = False) -> None:
        self.norm = norm
        self.full = full

    def outbound(self, item: Any) -> Any:
        """Server → client: requests and notifications the server starts (results are the middleware's)."""
        try:
            wire = _wire_of(item)
            if wire is not None and (self.full or "method" in wire):
                self.norm.observe(wire, Direction.SERVER_TO_CLIENT)
        except Exception as exc:  # noqa: BLE001 - recording must never break the server
            log.warning("mcp-blackbox: server tap could not record an outbound message: %s", exc)
        return item

    def inbound(self, item: Any) -> None:
        """Client → server: the client's answers to server-initiated requests."""
        try:
            wire = _wire_of(item)
            if wire is not None and (self.full or "method" not in wire):
                self.norm.observe(wire, Direction.CLIENT_TO_SERVER)
        except Exception as exc:  # noqa: BLE001 - recording must never break the server
            log.warning("mcp-blackbox: server tap could not record an inbound message: %s", exc)


def _wire_of(item: Any) -> dict[str, Any] | None:
    message = getattr(item, "message", None)
    if message is None:
        return None
    message = getattr(message, "root", message)
    if hasattr(message, "model_dump"):
        return dict(message.model_dump(by_alias=True, exclude_none=True, mode="json"))
    return dict(message) if isinstance(message, dict) else None


def _tap_run(run: Callable[..., Awaitable[None]], middleware: BlackboxServerMiddleware, *,
             full: bool = False) -> Callable[..., Any]:
    """Wrap `Server.run(read, write, …)` (stdio, SSE) with the stream tap; HTTP uses `instrument_app`."""
    from mcp_blackbox.collector.emit.sdk_client import _TapRead, _TapWrite

    @functools.wraps(run)
    async def wrapped(read_stream: Any, write_stream: Any, *args: Any, **kwargs: Any) -> None:
        norm = ConnectionNormalizer(middleware.emitter, transport=Transport.STDIO,
                                    server_config_name=middleware.server_config_name)
        tap = cast(Any, _ServerStreamTap(norm, full=full))
        token = _RUN_NORMALIZER.set(norm)
        try:
            await run(_TapRead(read_stream, tap), _TapWrite(write_stream, tap), *args, **kwargs)
        finally:
            _RUN_NORMALIZER.reset(token)

    return wrapped


class _SSEData:
    """Incremental `text/event-stream` parser yielding each event's data."""

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        out: list[bytes] = []
        while (cut := self._buf.find(b"\n")) >= 0:
            line, self._buf = self._buf[:cut].rstrip(b"\r"), self._buf[cut + 1:]
            if not line:
                if self._data:
                    out.append(b"\n".join(self._data))
                self._data = []
            elif line.startswith(b"data:"):
                self._data.append(line[5:].removeprefix(b" "))
        return out


def _only(raw: bytes, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return []
    items = doc if isinstance(doc, list) else [doc]
    return [i for i in items if isinstance(i, dict) and keep(i)]


def instrument_app(app: Any, server_or_middleware: Any) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Wrap the server's Starlette app: pre-dispatch rejections + messages the middleware cannot see."""
    middleware: BlackboxServerMiddleware = getattr(server_or_middleware, "_mcp_blackbox", server_or_middleware)
    emitter = middleware.emitter

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = scope.get("client") or ("", 0)
        facts = {k: v for k, v in {"src_ip": client[0], "user_agent": headers.get("user-agent"),
                                   "origin": headers.get("origin"),
                                   "mcp_session_id": headers.get("mcp-session-id")}.items() if v}
        body = bytearray()
        state: dict[str, Any] = {"status": 0, "sse": False, "parser": _SSEData(), "body": bytearray()}

        def norm() -> ConnectionNormalizer:
            return middleware.normalizer_for(object(), state.get("session") or facts.get("mcp_session_id"),
                                             Transport.STREAMABLE_HTTP)

        async def recv() -> Message:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        async def snd(message: Message) -> None:
            await send(message)  # the client first; recording after
            try:
                if message["type"] == "http.response.start":
                    state["status"] = int(message["status"])
                    rh = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                    state["sse"] = rh.get("content-type", "").startswith("text/event-stream")
                    state["session"] = rh.get("mcp-session-id")
                    state["challenge"] = rh.get("www-authenticate")
                    # the client's answers to server-initiated requests (no method: responses)
                    for answer in _only(bytes(body), lambda m: "method" not in m):
                        norm().observe(answer, Direction.CLIENT_TO_SERVER, http=facts)
                elif message["type"] == "http.response.body":
                    chunk = bytes(message.get("body", b""))
                    if state["sse"]:
                        for data in state["parser"].feed(chunk):
                            for out in _only(data, lambda m: "method" in m):  # server-initiated only
                                norm().observe(out, Direction.SERVER_TO_CLIENT, http=facts)
                    elif state["status"] >= 400:
                        state["body"].extend(chunk[:300])
                    if state["status"] >= 400 and not message.get("more_body"):
                        _rejection(emitter, middleware, scope, headers, facts, state)
            except Exception as exc:  # noqa: BLE001 - recording must never break the server
                log.warning("mcp-blackbox: server ASGI hook could not record: %s", exc)

        await app(scope, recv, snd)

    return wrapped


def _rejection(emitter: Emitter, middleware: BlackboxServerMiddleware, scope: Scope, headers: dict[str, str],
               facts: dict[str, Any], state: dict[str, Any]) -> None:
    status = state["status"]
    attrs: dict[str, Any] = {"http_method": scope.get("method"), "path": scope.get("path")}
    if facts.get("origin"):
        attrs["http_origin"] = facts["origin"]
    if state.get("challenge"):
        attrs["www_authenticate"] = str(state["challenge"])[:500]
    if state["body"]:
        attrs["body_prefix"] = bytes(state["body"]).decode("utf-8", "replace")
    fields: dict[str, Any] = {"transport": Transport.STREAMABLE_HTTP, "direction": Direction.SERVER_TO_CLIENT,
                              "http_status": status, "event_subtype": "http_rejected", "attributes": attrs,
                              "status": "denied" if status in (401, 403) else "error",
                              **{k: v for k, v in facts.items() if k != "origin"}}
    if middleware.server_config_name:
        fields["server_config_name"] = middleware.server_config_name
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        fields["token_fingerprint"] = emitter.hasher.token_fingerprint(auth[7:].strip())
        fields["auth_method"] = "oauth_bearer"
    for header, field in (("mcp-method", "mcp_method_header"), ("mcp-name", "mcp_name_header")):
        if header in headers:
            fields[field] = headers[header]
    if status in (401, 403):
        fields["risk_flags"] = ["auth_failure"]
    emitter.emit(EventType.AUTH if status in (401, 403) else EventType.LIFECYCLE, **fields)
