"""Streamable HTTP reverse proxy: `mcp-blackbox proxy --listen H:P --upstream URL`.

A pure ASGI app (served by uvicorn, forwarding with httpx2 — both already dependencies of the `mcp`
SDK) that sits in front of any remote MCP server. Bodies are forwarded as received; a copy is parsed:

- requests (POST bodies) and JSON responses are handed to a `ConnectionNormalizer`, with the HTTP facts
  (status, `Mcp-Method`/`Mcp-Name` headers — the normaliser flags header/body mismatches —, source
  address, User-Agent, Origin, session id, bearer-token fingerprint and decoded JWT claims);
- `text/event-stream` responses (legacy POST answers and the GET listen stream) are relayed chunk by
  chunk as they arrive (the stream stays a stream); each SSE `data:` event is recorded as it completes;
- 401/403 become `auth` events and other 4xx/5xx without a JSON-RPC body `http_rejected` lifecycle
  events: rejections before the server's dispatcher are visible too.

Every message is recorded *before* it is forwarded (requests before they reach the upstream,
responses and SSE events before they reach the client), so no answer is numbered before its request.
A request without trace context (no `_meta.traceparent`, no `traceparent` header) gets a W3C
`traceparent` header minted by the proxy on its way upstream, recorded with `trace_source=emitter`.
When the upstream cannot be reached or dies mid-answer, the client gets a JSON-RPC error for each
request still unanswered (HTTP 502, or an SSE event when the stream had begun), recorded as the
request's error response; a refusal without a JSON-RPC body (e.g. a plain 400) closes the refused
requests with a recorded error response too, so no call is left `pending`.

Connections: one normaliser per legacy `Mcp-Session-Id` (adopted from the `initialize` response);
stateless (modern) requests without a session share one normaliser per (client address, token).
The bearer token itself is never recorded: only its SHA-256 and its unverified JWT claims.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.normalizer import ConnectionNormalizer, new_span_id, parse_traceparent
from mcp_blackbox.schema.enums import Direction, EventType, TraceSource, Transport
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.hashing import ContentHasher

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business; host is the upstream's.
_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
        b"transfer-encoding", b"upgrade", b"host", b"content-length"}
# JSON-RPC's implementation-defined server error range (-32000…-32099): the proxy's own refusals.
UPSTREAM_ERROR_CODE = -32000
CLAIM_KEYS = ("iss", "sub", "aud", "scope", "scp", "client_id", "azp", "act", "exp", "jti")


def token_fingerprint(token: str, hasher: ContentHasher) -> str:
    """Keyed hash of the bearer token (the deployment's hash key): groups one token's events without storing it,
    and matches the other emitters of the deployment (`ContentHasher.token_fingerprint`)."""
    return hasher.token_fingerprint(token)


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified and reduced to identity claims; None for opaque tokens."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    if not isinstance(claims, dict):
        return None
    return {k: claims[k] for k in CLAIM_KEYS if k in claims}


class SSEParser:
    """Incremental `text/event-stream` parser: bytes in, complete events' data out."""

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        out: list[bytes] = []
        while True:
            cut = self._buf.find(b"\n")
            if cut < 0:
                return out
            line, self._buf = self._buf[:cut].rstrip(b"\r"), self._buf[cut + 1:]
            if not line:
                if self._data:
                    out.append(b"\n".join(self._data))
                self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
            # event:, id:, retry: and comments carry no JSON-RPC


@dataclass
class _Exchange:
    """One request/response exchange's progress: who is still owed an answer if the upstream dies."""

    pending: list[Any]
    rinfo: dict[str, Any] | None
    started: bool = False  # response headers (of an SSE stream) already went to the client
    norm: ConnectionNormalizer | None = None


class HttpProxy:
    """ASGI app forwarding to `upstream` and recording both directions."""

    def __init__(self, upstream: str, emitter: Emitter, *, name: str | None = None,
                 timeout: float | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.emitter = emitter
        self.name = name
        self._client: httpx2.AsyncClient | None = None
        self._timeout = timeout
        self._lock = threading.Lock()
        self._by_session: dict[str, ConnectionNormalizer] = {}
        self._stateless: dict[tuple[str, str], ConnectionNormalizer] = {}

    # -- plumbing ---------------------------------------------------------------------------------

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(timeout=httpx2.Timeout(self._timeout, connect=10.0))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _normalizer(self, session_id: str | None, src: str, token_fp: str | None) -> ConnectionNormalizer:
        with self._lock:
            if session_id and session_id in self._by_session:
                return self._by_session[session_id]
            if session_id:
                norm = self._new(mcp_session_id=session_id)
                self._by_session[session_id] = norm
                return norm
            key = (src, token_fp or "")
            if key not in self._stateless:
                self._stateless[key] = self._new()
            return self._stateless[key]

    def _new(self, **static: Any) -> ConnectionNormalizer:
        norm = ConnectionNormalizer(self.emitter, transport=Transport.STREAMABLE_HTTP,
                                    server_config_name=self.name, server_url=self.upstream, **static)
        norm.lifecycle("connection_open")
        return norm

    def _adopt(self, norm: ConnectionNormalizer, session_id: str) -> ConnectionNormalizer:
        """The server minted a session id on this exchange: later requests carrying it join `norm`."""
        with self._lock:
            if session_id not in self._by_session:
                norm.conn["mcp_session_id"] = session_id
                self._by_session[session_id] = norm
                for key, value in list(self._stateless.items()):
                    if value is norm:
                        del self._stateless[key]  # a fresh initialize from that client gets a fresh connection
            return self._by_session[session_id]

    # -- ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await self._exchange(scope, bytes(body), send)

    async def _exchange(self, scope: Scope, body: bytes, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client") or ("", 0)
        src = str(client[0])
        info: dict[str, Any] = {"src_ip": src or None, "user_agent": headers.get("user-agent"),
                                "origin": headers.get("origin"), "headers": {
                                    k: v for k, v in headers.items() if k in ("mcp-method", "mcp-name")}}
        token_fp = None
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
            token_fp = token_fingerprint(token, self.emitter.hasher)
            info["token_fingerprint"] = token_fp
            info["auth_method"] = "oauth_bearer"
            claims = jwt_claims(token)
            if claims:
                info["token_claims"] = claims
        session_id = headers.get("mcp-session-id")
        if session_id:
            info["mcp_session_id"] = session_id
        norm = self._normalizer(session_id, src, token_fp)
        method = scope["method"]
        fwd = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP and k.lower() != b"accept-encoding"]
        fwd.append((b"accept-encoding", b"identity"))  # the copy we parse must be the bytes we forward
        doc = _json_body(body) if method == "POST" and body else None
        request_ids = _request_ids(doc)
        extra: dict[str, Any] | None = None
        if parse_traceparent(headers.get("traceparent")) is not None:
            info["headers"]["traceparent"] = headers["traceparent"]
        elif request_ids and not _has_meta_trace(doc):
            minted = f"00-{new_span_id()}{new_span_id()}-{new_span_id()}-01"
            fwd = [(k, v) for k, v in fwd if k.lower() != b"traceparent"]  # an invalid one is replaced
            fwd.append((b"traceparent", minted.encode("ascii")))
            info["headers"]["traceparent"] = minted
            extra = {"trace_source": TraceSource.EMITTER}
        if method == "POST" and body:
            self._record(norm, body, Direction.CLIENT_TO_SERVER, info, extra)

        url = self.upstream + scope.get("path", "")[len(scope.get("root_path", "")):]
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        try:
            request = self._http().build_request(method, url, headers=fwd, content=body)
            response = await self._http().send(request, stream=True)
        except httpx2.HTTPError as exc:
            norm.lifecycle("upstream_unreachable", status="error", error_message=str(exc)[:500],
                           **_actor(info))
            await self._upstream_failed(norm, request_ids, info, send, started=False)
            return
        state = _Exchange(list(request_ids), None, started=False)
        try:
            await self._relay(norm, method, response, info, send, request_ids, state)
        except httpx2.HTTPError as exc:  # the upstream died mid-answer (reset, truncated body or stream)
            norm.lifecycle("upstream_failed", status="error", error_message=str(exc)[:500], **_actor(info))
            await self._upstream_failed(state.norm or norm, state.pending, state.rinfo or info, send,
                                        started=state.started)
            return
        finally:
            await response.aclose()
        if method == "DELETE" and session_id and response.status_code < 300:
            norm.lifecycle("session_closed", **_actor(info))
            with self._lock:
                self._by_session.pop(session_id, None)  # a closed session's state is no longer needed

    async def _relay(self, norm: ConnectionNormalizer, method: str, response: httpx2.Response,
                     info: dict[str, Any], send: Send, request_ids: list[Any], state: _Exchange) -> None:
        status = response.status_code
        out_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP]
        minted = response.headers.get("mcp-session-id")
        if minted and not info.get("mcp_session_id"):
            norm = self._adopt(norm, minted)
            info = {**info, "mcp_session_id": minted}
        state.norm = norm
        rinfo = {**info, "status": status}
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("text/event-stream"):
            pending = list(request_ids)
            state.pending, state.rinfo = pending, rinfo  # what a mid-stream failure still owes the client
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            state.started = True
            parser = SSEParser()
            async for chunk in response.aiter_raw():
                for data in parser.feed(chunk):  # recorded first: the client's answer cannot overtake it
                    self._record(norm, data, Direction.SERVER_TO_CLIENT, rinfo)
                    _answered(pending, data)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        payload = await response.aread()
        jsonrpc = ctype.startswith("application/json") and _looks_jsonrpc(payload)
        if jsonrpc:
            self._record(norm, payload, Direction.SERVER_TO_CLIENT, rinfo)
        if status >= 400:
            self._rejected(norm, method, status, response, payload, info, answered=jsonrpc)
            unanswered = list(request_ids)
            if jsonrpc:
                _answered(unanswered, payload)  # an error with `"id": null` leaves its request open
            self._close_refused(norm, unanswered, status, rinfo)
        out_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})

    def _record(self, norm: ConnectionNormalizer, raw: bytes | dict[str, Any] | list[Any], direction: Direction,
                info: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        try:
            norm.observe(raw, direction, http=info, extra=extra)
        except Exception as exc:  # noqa: BLE001 - recording must never break the forwarding
            log.warning("mcp-blackbox proxy: could not record a message: %s", exc)

    def _close_refused(self, norm: ConnectionNormalizer, request_ids: list[Any], status: int,
                       rinfo: dict[str, Any]) -> None:
        """Requests refused without a JSON-RPC answer: record an error response for each (not pending)."""
        errors = [{"jsonrpc": "2.0", "id": rid, "error": {
            "message": f"HTTP {status} from the upstream without a JSON-RPC answer to this request"}}
            for rid in request_ids]
        if errors:
            self._record(norm, errors if len(errors) > 1 else errors[0], Direction.SERVER_TO_CLIENT, rinfo,
                         {"attributes": {"proxy_synthesized": "http_rejected"}})

    async def _upstream_failed(self, norm: ConnectionNormalizer, request_ids: list[Any], info: dict[str, Any],
                               send: Send, *, started: bool) -> None:
        """The upstream is unreachable or died: JSON-RPC errors to the client, recorded as the answers."""
        errors = [{"jsonrpc": "2.0", "id": rid, "error": {"code": UPSTREAM_ERROR_CODE,
                                                           "message": "mcp-blackbox proxy: upstream unavailable"}}
                  for rid in request_ids]
        rinfo = {**info, "status": 200 if started else 502}
        if errors:
            self._record(norm, errors if len(errors) > 1 else errors[0], Direction.SERVER_TO_CLIENT, rinfo,
                         {"attributes": {"proxy_synthesized": "upstream_failed"}})
        if started:  # headers are gone already: the errors travel as SSE events, then the stream ends
            body = b"".join(b"event: message\ndata: " + json.dumps(e).encode() + b"\n\n" for e in errors)
            await send({"type": "http.response.body", "body": body})
            return
        payload = json.dumps(errors if len(errors) != 1 else errors[0]).encode() if errors else b""
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 502, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _rejected(self, norm: ConnectionNormalizer, method: str, status: int, response: httpx2.Response,
                  payload: bytes, info: dict[str, Any], *, answered: bool) -> None:
        """A refusal before (or instead of) the server's dispatcher, as its own event."""
        attrs: dict[str, Any] = {"http_method": method}
        if info.get("origin"):
            attrs["http_origin"] = info["origin"]
        challenge = response.headers.get("www-authenticate")
        if challenge:
            attrs["www_authenticate"] = challenge[:500]
        if not answered and payload:
            attrs["body_prefix"] = payload[:200].decode("utf-8", "replace")
        fields = {**norm.conn, **_actor(info), "direction": Direction.SERVER_TO_CLIENT, "http_status": status,
                  "status": "denied" if status in (401, 403) else "error", "event_subtype": "http_rejected",
                  "attributes": attrs}
        for header, field in (("mcp-method", "mcp_method_header"), ("mcp-name", "mcp_name_header")):
            if header in info["headers"]:
                fields[field] = info["headers"][header]
        if status in (401, 403):
            fields["risk_flags"] = ["auth_failure"]
        self.emitter.emit(EventType.AUTH if status in (401, 403) else EventType.LIFECYCLE, **fields)


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _request_ids(doc: Any) -> list[Any]:
    """The ids of the requests in a POST body (a message or a batch); notifications have none."""
    items = doc if isinstance(doc, list) else [doc]
    return [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("method"), str)
            and i.get("id") is not None]


def _has_meta_trace(doc: Any) -> bool:
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        params = item.get("params") if isinstance(item, dict) else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(meta, dict) and parse_traceparent(meta.get("traceparent")) is not None:
            return True
    return False


def _answered(pending: list[Any], data: bytes) -> None:
    """Strike the ids an SSE event answers off `pending`."""
    doc = _json_body(data)
    for item in doc if isinstance(doc, list) else [doc]:
        if isinstance(item, dict) and "method" not in item and item.get("id") in pending:
            pending.remove(item["id"])


def _looks_jsonrpc(payload: bytes) -> bool:
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return False
    items = doc if isinstance(doc, list) else [doc]
    return bool(items) and all(isinstance(i, dict) and i.get("jsonrpc") == "2.0" for i in items)


def _actor(info: dict[str, Any]) -> dict[str, Any]:
    """The actor fields of a request, for non-message events (never the token itself)."""
    out = {k: info[k] for k in ("src_ip", "user_agent", "token_fingerprint", "auth_method", "mcp_session_id")
           if info.get(k)}
    claims = info.get("token_claims") or {}
    if claims.get("sub"):
        out["oauth_subject"] = claims["sub"]
    if claims.get("iss"):
        out["oauth_issuer"] = claims["iss"]
    client_id = claims.get("client_id") or claims.get("azp")
    if client_id:
        out["oauth_client_id"] = client_id
    return out


def bind(listen: str) -> socket.socket:
    """A listening socket for `HOST:PORT` (`[v6]:PORT` too); `UsageError` with one clear line otherwise."""
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        msg = f"--listen must be HOST:PORT with a port from 0 to 65535, got {listen!r}"
        raise UsageError(msg)
    try:
        infos = socket.getaddrinfo(host, int(port_text), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        msg = f"--listen {listen}: cannot resolve {host!r}: {getattr(exc, 'strerror', None) or exc}"
        raise UsageError(msg) from exc
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        msg = f"--listen {listen}: cannot listen: {exc.strerror or exc}"
        raise UsageError(msg) from exc
    sock.set_inheritable(True)
    return sock


def serve(listen: str, upstream: str, emitter: Emitter, *, name: str | None = None,
          sock: socket.socket | None = None, timeout: float | None = None) -> None:
    """Run the proxy until interrupted (uvicorn, one process); says where it listens on stderr."""
    import uvicorn

    sock = sock or bind(listen)
    host, port = sock.getsockname()[:2]
    app = HttpProxy(upstream, emitter, name=name, timeout=timeout)
    config = uvicorn.Config(app, log_level="warning", server_header=False, date_header=False, lifespan="on")
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"mcp-blackbox proxy: listening on http://{shown}:{port}/ -> {upstream}"
                     f"{f' (name {name})' if name else ''}\n")
    sys.stderr.flush()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
