"""The AsyncClient's own HTTP/1.1 connections (asyncio streams, keep-alive), used when
no httpx transport is given and no proxy is configured: httpx's connection pool costs
several times the CPU of the request itself at 32 concurrent requests, which caps one
process far below what the server sustains (bench/client.py). Only what a v1 call
needs: a POST with a body, answers by Content-Length, chunked or until close, TLS with
the system's certificates, a stale keep-alive connection replaced once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ileti.client.errors import TransportError

#: An idle connection older than this is not reused (servers close them: ileti after 5 s).
IDLE_SECONDS = 4.0
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")  # fmt: skip
MAX_HEAD = 64 * 1024


def usable(base_url: str) -> bool:
    """The base URL is plain http(s) and no proxy variable asks httpx to route it."""
    scheme = urlsplit(base_url).scheme
    return scheme in ("http", "https") and not any(os.environ.get(v) for v in PROXY_VARIABLES)


class _Stale(Exception):
    """A reused connection closed before any byte of the answer: the server had closed
    it while idle and never read the request."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes


class Connections:
    """Keep-alive connections to one origin, at most ``limit`` at once."""

    def __init__(
        self, base_url: str, *, timeout: float, headers: dict[str, str], limit: int = 100
    ) -> None:
        parts = urlsplit(base_url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.tls else 80)
        self.path = parts.path if parts.path.endswith("/") else parts.path + "/"
        default = (self.tls and self.port == 443) or (not self.tls and self.port == 80)
        host = self.host if default else f"{self.host}:{self.port}"
        if ":" in self.host:  # an IPv6 literal
            host = f"[{self.host}]" if default else f"[{self.host}]:{self.port}"
        lines = [f"Host: {host}", "User-Agent: ileti-client", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._head = "\r\n".join(lines)
        self.timeout = timeout
        self.limit = limit
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self.tls else None

    async def post(self, action: str, body: bytes, name: str) -> Answer:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        request = (
            f"POST {self.path}{action} HTTP/1.1\r\n{self._head}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        async with self._slots:
            for _ in range(2):
                connection, reused = await self._take(name)
                try:
                    async with asyncio.timeout(self.timeout):
                        connection.writer.write(request)
                        answer, keep = await self._read(connection.reader, reused)
                except _Stale:
                    connection.close()
                    continue
                except TimeoutError:
                    connection.close()
                    raise TransportError(
                        f"{name}: ReadTimeout: no answer within {self.timeout:g} s", action=name
                    ) from None
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ValueError) as exc:  # fmt: skip
                    connection.close()
                    raise TransportError(
                        f"{name}: RemoteProtocolError: {exc!r}", action=name
                    ) from exc
                except BaseException:  # cancelled: its answer may still arrive on it
                    connection.close()
                    raise
                if keep:
                    connection.used = time.monotonic()
                    self._idle.append(connection)
                else:
                    connection.close()
                return answer
        raise TransportError(f"{name}: the server closed the connection twice", action=name)

    async def _take(self, name: str) -> tuple[_Connection, bool]:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.used < IDLE_SECONDS and not connection.reader.at_eof():
                return connection, True
            connection.close()
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self._ssl, limit=MAX_HEAD
                )
        except TimeoutError:
            raise TransportError(f"{name}: ConnectTimeout", action=name, sent=False) from None
        except OSError as exc:
            raise TransportError(f"{name}: ConnectError: {exc}", action=name, sent=False) from exc
        return _Connection(reader, writer), False

    async def _read(self, reader: asyncio.StreamReader, reused: bool) -> tuple[Answer, bool]:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if reused and not exc.partial:
                    raise _Stale() from None
                raise
            lines = head.decode("latin-1").split("\r\n")
            version, status_text = lines[0].split(" ", 2)[:2]
            status = int(status_text)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:
                continue
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            if "chunked" in headers.get("transfer-encoding", "").lower():
                content = await self._chunks(reader)
            elif "content-length" in headers:
                content = await reader.readexactly(int(headers["content-length"]))
            else:
                content, keep = await reader.read(), False
            return Answer(status, headers, content), keep

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        for connection in idle:
            with contextlib.suppress(OSError, ssl.SSLError):
                await connection.writer.wait_closed()
