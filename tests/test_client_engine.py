"""The AsyncClient's own HTTP/1.1 connections (``ileti.client._fast``), against a bare
asyncio server that answers the way other servers may: chunked, without a length (to
the close), ``Connection: close``, a keep-alive connection closed while idle, slowly,
or not at all. (Against ileti itself every AsyncClient test over a socket uses them.)"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from ileti.client import AsyncClient, TransportError
from ileti.client import errors as e
from tests.support.spec import MESSAGES

OK = json.dumps(
    {
        "response": {
            "status": {"code": 200, "message": MESSAGES[200]},
            "senders": {"sender": ["ILETI"]},
        }
    }
).encode()
Reply = Callable[[int, bytes], bytes]


@asynccontextmanager
async def answering(
    reply: Reply, *, close_after: bool = False, delay: float = 0.0
) -> AsyncIterator[dict[str, int]]:
    """A server on 127.0.0.1 answering each request with ``reply(n, request)`` (n counts
    the requests); ``close_after`` closes each connection after one answer (without
    saying so). Yields counters: connections, requests."""
    seen = {"connections": 0, "requests": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                seen["requests"] += 1
                answer = reply(seen["requests"], body)
                if delay:
                    await asyncio.sleep(delay)
                if answer:
                    writer.write(answer)
                    await writer.drain()
                if close_after or not answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not reply(0, b""):  # a server that never answers keeps the socket open
                await asyncio.sleep(5)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    seen["port"] = port
    try:
        yield seen
    finally:
        server.close()


def client_for(seen: dict[str, int], **options: float) -> AsyncClient:
    found = AsyncClient(
        "k", "h", base_url=f"http://127.0.0.1:{seen['port']}/v1/", retries=0, **options
    )
    assert found._fast is not None
    return found


def length(body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def test_keep_alive_reuses_one_connection() -> None:
    async with answering(lambda n, _b: length(OK)) as seen:
        async with client_for(seen) as sms:
            for _ in range(5):
                assert await sms.get_senders() == ["ILETI"]
        assert (seen["connections"], seen["requests"]) == (1, 5)


async def test_chunked_and_to_the_close_answers() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (OK[:10], OK[10:]))
        + b"0\r\nX-Trailer: 1\r\n\r\n"
    )
    async with answering(lambda n, _b: chunked) as seen, client_for(seen) as sms:
        assert await sms.get_senders() == ["ILETI"]
        assert await sms.get_senders() == ["ILETI"]
    to_close = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK
    async with answering(lambda n, _b: to_close, close_after=True) as seen:
        async with client_for(seen) as sms:
            assert await sms.get_senders() == ["ILETI"]
            assert await sms.get_senders() == ["ILETI"]
        assert seen["connections"] == 2


async def test_connection_close_and_a_connection_closed_while_idle() -> None:
    async with answering(
        lambda n, _b: length(OK, "Connection: close\r\n"), close_after=True
    ) as seen:
        async with client_for(seen) as sms:
            for _ in range(3):
                assert await sms.get_senders() == ["ILETI"]
        assert seen["connections"] == 3
    # The server closes each connection after answering, without a word: the next
    # request, written on the dead connection, is sent again on a new one.
    async with answering(lambda n, _b: length(OK), close_after=True) as seen:
        async with client_for(seen) as sms:
            for _ in range(3):
                assert await sms.get_senders() == ["ILETI"]
                await asyncio.sleep(0.05)
        assert seen["requests"] == 3


async def test_error_answers_and_retry_after_headers() -> None:
    limited = json.dumps({"response": {"status": {"code": 429, "message": MESSAGES[429]}}})
    reply = (
        f"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: "
        f"{len(limited.encode())}\r\n\r\n"
    ).encode() + limited.encode()
    async with answering(lambda n, _b: reply) as seen, client_for(seen) as sms:
        with pytest.raises(e.RateLimited) as raised:
            await sms.get_senders()
    assert (raised.value.retry_after, raised.value.message) == (7.0, MESSAGES[429])


async def test_no_server_and_no_answer_are_transport_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here once closed
    async with AsyncClient("k", "h", base_url=f"http://127.0.0.1:{port}/v1/", retries=0) as sms:
        with pytest.raises(TransportError) as refused:
            await sms.send_sms("+905330000001", "x", sender="ILETI")
    assert not refused.value.sent and "ConnectError" in str(refused.value)
    async with answering(lambda n, _b: b"") as seen, client_for(seen, timeout=0.3) as sms:
        with pytest.raises(TransportError) as silent:
            await sms.get_senders()
    assert silent.value.sent and "ReadTimeout" in str(silent.value)


async def test_the_request_is_the_envelope_with_a_host_header() -> None:
    bodies: list[bytes] = []

    def reply(n: int, body: bytes) -> bytes:
        bodies.append(body)
        return length(OK)

    async with answering(reply) as seen, client_for(seen) as sms:
        await sms.get_senders()
    assert json.loads(bodies[0]) == {"request": {"authentication": {"key": "k", "hash": "h"}}}


async def test_httpx_is_used_when_asked_or_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async with AsyncClient("k", "h", engine="httpx") as sms:
        assert sms._fast is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    async with AsyncClient("k", "h") as sms:
        assert sms._fast is None


async def test_a_cancelled_call_does_not_leave_its_connection_to_the_next() -> None:
    async with answering(lambda n, _b: length(OK), delay=0.3) as seen, client_for(seen) as sms:
        with pytest.raises(TimeoutError):  # the caller gives up while the answer is due
            await asyncio.wait_for(sms.get_senders(), 0.1)
        assert sms._fast is not None and sms._fast._idle == []
        assert await sms.get_senders() == ["ILETI"]  # on a new connection
        assert seen["connections"] == 2
