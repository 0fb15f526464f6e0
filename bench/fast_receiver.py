"""A webhook receiver fast enough not to be what a benchmark measures.

    python bench/fast_receiver.py PORT

Answers every POST ``200`` with an empty body over keep-alive HTTP/1.1 and counts the
reports by their ``status`` ("accepted", "delivered", "undelivered"); ``GET /count``
answers the counts as JSON. A raw asyncio protocol (uvloop when installed): no
framework, no per-request task.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import sys

_STATUS = re.compile(rb'"status"\s*:\s*"([a-z]+)"')
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

counts: collections.Counter[str] = collections.Counter()


class Receiver(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end]
            match = _LENGTH.search(head)
            length = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + length:
                break
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"GET /count"):
                payload = json.dumps(counts).encode()
                out.append(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
                )
                continue
            found = _STATUS.search(body)
            counts[found.group(1).decode() if found else "other"] += 1
            out.append(_OK)
        if out:
            self.transport.write(b"".join(out))  # type: ignore[attr-defined]


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
