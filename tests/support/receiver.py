"""A webhook receiver: a real HTTP/1.1 endpoint on 127.0.0.1 that records every request."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hit:
    at: float
    method: str
    path: str
    content_type: str | None
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.body)["report"]


#: A reply body streamed this long is written in chunks of this size.
CHUNK = 64 * 1024


@dataclass
class Receiver:
    """A webhook endpoint (HTTP/1.1 on asyncio streams, in the test's own event loop):
    records every request; answers from ``script`` (an HTTP status, ``"slow"``: 200
    after ``slow_seconds``, or ``"hang"``: nothing until the connection closes), then
    ``default``. The reply's body is ``ok``, or ``reply_bytes`` of ``x`` streamed
    (``sent``: how many of them each reply got written before the connection closed)."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)
    default: int | str = 200
    slow_seconds: float = 1.5
    reply_bytes: int | None = None
    sent: list[int] = field(default_factory=list)
    accepted: int = 0  # connections opened to it
    connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = field(default_factory=dict)

    def answer(self) -> int | str:
        return self.script.pop(0) if self.script else self.default

    async def stream(self, writer: asyncio.StreamWriter, status: int) -> None:
        """A reply of ``reply_bytes``, written a chunk at a time as the peer reads it;
        how much was written is added to ``sent`` when it ends or the peer closes."""
        assert self.reply_bytes is not None
        head = f"HTTP/1.1 {status} -\r\nContent-Length: {self.reply_bytes}\r\n\r\n"
        written = 0
        try:
            writer.write(head.encode())
            while written < self.reply_bytes:
                chunk = b"x" * min(CHUNK, self.reply_bytes - written)
                writer.write(chunk)
                await writer.drain()
                written += len(chunk)
        finally:
            self.sent.append(written)

    def seen(self) -> list[Hit]:
        return list(self.hits)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections[writer] = task
        self.accepted += 1
        try:
            while request := await reader.readline():
                method, path, _ = request.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, value = line.decode("latin-1").split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.hits.append(
                    Hit(time.monotonic(), method, path, headers.get("content-type"), body, headers)
                )
                answer = self.answer()
                if answer == "hang":
                    await reader.read()  # until the sender gives up and closes
                    break
                if answer == "slow":
                    await asyncio.sleep(self.slow_seconds)
                    answer = 200
                if self.reply_bytes is None:
                    writer.write(f"HTTP/1.1 {answer} -\r\nContent-Length: 2\r\n\r\nok".encode())
                    await writer.drain()
                else:
                    await self.stream(writer, int(answer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.connections.pop(writer, None)
            writer.close()


@asynccontextmanager
async def serving() -> AsyncIterator[Receiver]:
    """A Receiver listening on 127.0.0.1 at a free port, for the duration."""
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0, backlog=256)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    try:
        yield found
    finally:
        server.close()
        handlers = list(found.connections.values())
        for writer in list(found.connections):
            writer.close()
        if handlers:
            await asyncio.wait(handlers, timeout=2)
        await server.wait_closed()
