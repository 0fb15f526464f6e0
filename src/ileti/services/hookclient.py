"""The HTTP/1.1 client of webhook POSTs: h11 over asyncio streams, connections kept
alive per origin and reused.

Made for the sender's needs only: one POST with a small body, the status, and the
start of the reply (read to ``read_limit`` bytes; a longer reply, or one still coming
at the deadline, closes the connection). No redirects, no proxies, no compression. A
``user:password@`` in the URL is sent as HTTP Basic authentication. httpx did the same
at about a tenth of the rate once many POSTs were in flight (its connection pool
walks every connection for each request; docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import h11

#: Idle connections kept (all origins together), and how long one is kept idle.
MAX_IDLE = 256
IDLE_SECONDS = 5.0
CHUNK = 64 * 1024


class HookError(Exception):
    """A POST that got no usable answer; the class name says which way it failed."""

    def __str__(self) -> str:
        return f"{type(self).__name__}: {self.args[0]}" if self.args else type(self).__name__


class UnsupportedUrl(HookError):
    """Not an http(s) URL with a host (and a valid port)."""


class ConnectError(HookError):
    """The receiver could not be reached: refused, no such host, TLS refused."""


class RemoteProtocolError(HookError):
    """The receiver closed the connection, or answered something that is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes  # at most just past the read limit
    cut: bool  # the reply was longer, or did not end by the deadline


Origin = tuple[str, str, int]


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.state = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def usable(self) -> bool:
        """Still open and nothing unasked for waiting (else the receiver closed it)."""
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.transport.abort()


class HookClient:
    def __init__(self, *, read_limit: int) -> None:
        self._read_limit = read_limit
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._tls: ssl.SSLContext | None = None

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, deadline: float
    ) -> Reply:
        """POST ``body``: the reply (its status, the start of its body). The status must
        come by ``deadline`` (the event loop's time; TimeoutError after); the body is
        read until then at most. HookError when no answer came."""
        origin, target, host_header, auth = _parse(url)
        fields = [("Host", host_header), *headers.items(), ("Content-Length", str(len(body)))]
        if auth is not None:
            fields.append(("Authorization", auth))
        request = h11.Request(method="POST", target=target, headers=fields)
        while True:
            conn, reused = self._take(origin), True
            if conn is None:
                conn, reused = await self._open(origin, deadline), False
            try:
                return await self._exchange(origin, conn, request, body, deadline)
            except _Stale:
                conn.close()
                if not reused:
                    raise RemoteProtocolError(
                        "the server closed the connection without answering"
                    ) from None
                # A kept-alive connection the receiver closed meanwhile: a new one.
            except BaseException:
                conn.close()
                raise

    async def _exchange(
        self, origin: Origin, conn: _Connection, request: h11.Request, body: bytes, deadline: float
    ) -> Reply:
        state = conn.state
        try:
            data = state.send(request) or b""
            data += (state.send(h11.Data(data=body)) or b"") + (
                state.send(h11.EndOfMessage()) or b""
            )
        except h11.LocalProtocolError as exc:
            raise UnsupportedUrl(str(exc)) from exc
        async with asyncio.timeout_at(deadline):
            try:
                conn.writer.write(data)
                await conn.writer.drain()
            except OSError as exc:
                raise _Stale from exc
            response = await self._response(conn)
        got = bytearray()
        cut = False
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    event = await self._next(conn)
                    if isinstance(event, h11.Data):
                        got += event.data
                        if len(got) > self._read_limit:
                            cut = True
                            break
                    elif isinstance(event, h11.EndOfMessage):
                        break
        except (TimeoutError, HookError):
            cut = True  # what came is what there is: the status decides
        if cut:
            conn.close()
        else:
            self._give_back(origin, conn)
        return Reply(response.status_code, bytes(got), cut)

    async def _response(self, conn: _Connection) -> h11.Response:
        """The response's status line and headers (1xx answers skipped); _Stale when the
        connection ended before any answer."""
        informational = False
        while True:
            try:
                event = await self._next(conn)
            except RemoteProtocolError:
                if not informational and conn.state.their_state is h11.SEND_RESPONSE:
                    raise _Stale from None
                raise
            if isinstance(event, h11.Response):
                return event
            informational = True

    async def _next(self, conn: _Connection) -> object:
        state = conn.state
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as exc:
                raise RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                if isinstance(event, h11.ConnectionClosed):
                    raise RemoteProtocolError("the server closed the connection")
                return event
            try:
                chunk = await conn.reader.read(CHUNK)
            except OSError as exc:
                raise RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
            state.receive_data(chunk)

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.usable() and now - conn.idle_since < IDLE_SECONDS:
                return conn
            conn.close()
        return None

    def _give_back(self, origin: Origin, conn: _Connection) -> None:
        state = conn.state
        if state.our_state is not h11.DONE or state.their_state is not h11.DONE:
            conn.close()  # the receiver asked to close, or the exchange did not end
            return
        if self._idle_count >= MAX_IDLE:
            conn.close()
            return
        state.start_next_cycle()
        conn.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(conn)
        self._idle_count += 1

    async def _open(self, origin: Origin, deadline: float) -> _Connection:
        scheme, host, port = origin
        tls = self._tls_context() if scheme == "https" else None
        async with asyncio.timeout_at(deadline):
            try:
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=CHUNK
                )
            except (OSError, ssl.SSLError, UnicodeError) as exc:
                raise ConnectError(str(exc) or type(exc).__name__) from exc
        return _Connection(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:
                import certifi

                self._tls = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover - certifi comes with httpx
                self._tls = ssl.create_default_context()
        return self._tls

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        self._idle_count = 0


class _Stale(Exception):
    """A connection closed before any answer."""


def _parse(url: str) -> tuple[Origin, str, str, str | None]:
    """(origin, request target, Host header, Authorization header) of a webhook URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsupportedUrl(str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UnsupportedUrl("not an http:// or https:// URL with a host")
    host = parts.hostname
    origin = (scheme, host, port or (443 if scheme == "https" else 80))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode()
    return origin, target, host_header, auth
