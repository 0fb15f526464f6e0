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

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.body)["report"]


@dataclass
class Receiver:
    """A webhook endpoint (HTTP/1.1 on asyncio streams, in the test's own event loop):
    records every request; answers from ``script`` (an HTTP status, or ``"slow"``:
    200 after ``slow_seconds``), then ``default``."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)
    default: int = 200
    slow_seconds: float = 1.5
    connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = field(default_factory=dict)

    def answer(self) -> int | str:
        return self.script.pop(0) if self.script else self.default

    def seen(self) -> list[Hit]:
        return list(self.hits)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections[writer] = task
        try:
            while request := await reader.readline():
                method, path, _ = request.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, value = line.decode("latin-1").split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.hits.append(
                    Hit(time.monotonic(), method, path, headers.get("content-type"), body)
                )
                answer = self.answer()
                if answer == "slow":
                    await asyncio.sleep(self.slow_seconds)
                    answer = 200
                writer.write(f"HTTP/1.1 {answer} -\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
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
