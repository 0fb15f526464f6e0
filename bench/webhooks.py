"""The webhook sender's delivery rate to a fast local receiver.

    .venv/bin/python bench/webhooks.py [--database URL] [--reports 20000] [--accounts 200]
        [--receivers 1]

Queues ``--reports`` delivery reports (real report bodies) spread over ``--accounts``
accounts, each account's URL on one of ``--receivers`` local receivers (a process each:
a minimal HTTP/1.1 server answering 200 with an empty body, keep-alive). Then runs one
instance's webhook sender (services/webhooks.py, as ``ileti serve`` runs it) until every
report is recorded as delivered, and prints reports/s, and what the receivers counted
(a report POSTed twice shows as more requests than reports).

Issue 9's target, for scale: 1,000,000 reports in 2 minutes, 8,333/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import time
from typing import Any

import harness
import sqlalchemy as sa

from ileti.config import Settings
from ileti.services.webhooks import WebhookSender
from ileti.store import Store
from ileti.store.schema import webhooks

REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class _Receiving(asyncio.Protocol):
    """Answers each request 200 as soon as its body is in (pipelining not needed)."""

    def __init__(self, counter: list[int]) -> None:
        self._counter = counter
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._counter[0] += 1
            self._transport.write(REPLY)


def _receive(sock: socket.socket, count: Any) -> None:
    """A receiver process: serves on ``sock``; ``count``: the requests it answered."""

    async def main() -> None:
        counter = [0]
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Receiving(counter), sock=sock, backlog=1024)
        async with server:
            while True:
                await asyncio.sleep(0.2)
                count.value = counter[0]

    asyncio.run(main())


def queue_reports(store: Store, urls: list[str], accounts: int, reports: int) -> None:
    """``reports`` due webhooks, account by account in turn, one message each."""
    now = int(time.time() * 1_000_000)
    rows = []
    for i in range(reports):
        account = 1 + i % accounts
        body = {"id": i + 1, "packet_id": i + 1, "status": "delivered", "to": "+905330000099"}
        rows.append(
            {
                "account_id": account,
                "message_id": i + 1,
                "url": urls[account % len(urls)],
                "payload": json.dumps({"report": {**body, "body": "Merhaba dünya"}}),
                "attempts": 0,
                "next_attempt_at": now,
            }
        )

    def insert(conn: sa.Connection) -> None:
        for start in range(0, len(rows), 10_000):
            conn.execute(sa.insert(webhooks), rows[start : start + 10_000])

    store.write_sync(insert)


def undelivered(conn: sa.Connection) -> int:
    query = sa.select(sa.func.count()).where(webhooks.c.delivered_at.is_(None))
    return int(conn.execute(query).scalar_one())


async def deliver(store: Store, settings: Settings, reports: int) -> float:
    """Seconds until every queued report is recorded as delivered."""
    sender = WebhookSender(store, settings)
    started = time.perf_counter()
    sender.start()
    try:
        while await store.read(undelivered) > 0:
            await asyncio.sleep(0.1)
        return time.perf_counter() - started
    finally:
        await sender.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--receivers", type=int, default=1)
    args = parser.parse_args()

    processes, urls, counts = [], [], []
    for _ in range(args.receivers):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
        count = multiprocessing.Value("q", 0)
        counts.append(count)
        process = multiprocessing.Process(target=_receive, args=(sock, count), daemon=True)
        process.start()
        processes.append(process)
        sock.close()
    try:
        with harness.database(args.database) as url:
            settings = Settings(database_url=url, delivery_poll_seconds=0.05)
            store = Store(settings)
            store.migrate()
            store.start()
            try:
                queue_reports(store, urls, args.accounts, args.reports)
                seconds = asyncio.run(deliver(store, settings, args.reports))
            finally:
                store.close()
            time.sleep(0.5)  # the receivers' last counts
            received = sum(count.value for count in counts)
            print(f"{harness.backend(url)}, {harness.machine()}")
            print(
                f"{args.reports} reports, {args.accounts} accounts, {args.receivers} "
                f"receiver(s): all delivered in {seconds:.2f} s, "
                f"{args.reports / seconds:,.0f} reports/s; the receivers answered "
                f"{received} POSTs"
            )
    finally:
        for process in processes:
            process.terminate()


if __name__ == "__main__":
    main()
