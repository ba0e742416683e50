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

Connections: one normaliser per legacy `Mcp-Session-Id` (adopted from the `initialize` response);
stateless (modern) requests without a session share one normaliser per (client address, token).
The bearer token itself is never recorded: only its SHA-256 and its unverified JWT claims.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx2

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.normalizer import ConnectionNormalizer
from mcp_blackbox.schema.enums import Direction, EventType, Transport

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business; host is the upstream's.
_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
        b"transfer-encoding", b"upgrade", b"host", b"content-length"}
CLAIM_KEYS = ("iss", "sub", "aud", "scope", "scp", "client_id", "azp", "act", "exp", "jti")


def token_fingerprint(token: str) -> str:
    """SHA-256 of the bearer token: lets events of one token be grouped without storing it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
            token_fp = token_fingerprint(token)
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
        if method == "POST" and body:
            self._record(norm, body, Direction.CLIENT_TO_SERVER, info)

        url = self.upstream + scope.get("path", "")[len(scope.get("root_path", "")):]
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        fwd = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP and k.lower() != b"accept-encoding"]
        fwd.append((b"accept-encoding", b"identity"))  # the copy we parse must be the bytes we forward
        try:
            request = self._http().build_request(method, url, headers=fwd, content=body)
            response = await self._http().send(request, stream=True)
        except httpx2.HTTPError as exc:
            norm.lifecycle("upstream_unreachable", status="error", error_message=str(exc)[:500],
                           **_actor(info))
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"mcp-blackbox proxy: upstream unreachable\n"})
            return
        try:
            await self._relay(norm, method, response, info, send)
        finally:
            await response.aclose()
        if method == "DELETE" and session_id and response.status_code < 300:
            norm.lifecycle("session_closed", **_actor(info))
            with self._lock:
                self._by_session.pop(session_id, None)  # a closed session's state is no longer needed

    async def _relay(self, norm: ConnectionNormalizer, method: str, response: httpx2.Response,
                     info: dict[str, Any], send: Send) -> None:
        status = response.status_code
        out_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP]
        minted = response.headers.get("mcp-session-id")
        if minted and not info.get("mcp_session_id"):
            norm = self._adopt(norm, minted)
            info = {**info, "mcp_session_id": minted}
        rinfo = {**info, "status": status}
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("text/event-stream"):
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            parser = SSEParser()
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                for data in parser.feed(chunk):
                    self._record(norm, data, Direction.SERVER_TO_CLIENT, rinfo)
            await send({"type": "http.response.body", "body": b""})
            return
        payload = await response.aread()
        out_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})
        jsonrpc = ctype.startswith("application/json") and _looks_jsonrpc(payload)
        if jsonrpc:
            self._record(norm, payload, Direction.SERVER_TO_CLIENT, rinfo)
        if status >= 400:
            self._rejected(norm, method, status, response, payload, info, answered=jsonrpc)

    def _record(self, norm: ConnectionNormalizer, raw: bytes, direction: Direction, info: dict[str, Any]) -> None:
        try:
            norm.observe(raw, direction, http=info)
        except Exception as exc:  # noqa: BLE001 - recording must never break the forwarding
            log.warning("mcp-blackbox proxy: could not record a message: %s", exc)

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


def serve(listen: str, upstream: str, emitter: Emitter, *, name: str | None = None) -> None:
    """Run the proxy until interrupted (uvicorn, one process)."""
    import uvicorn

    host, _, port = listen.rpartition(":")
    app = HttpProxy(upstream, emitter, name=name)
    config = uvicorn.Config(app, host=host.strip("[]") or "127.0.0.1", port=int(port), log_level="warning",
                            server_header=False, date_header=False, lifespan="on")
    uvicorn.Server(config).run()
