"""The HTTP server's bounds, against a real ``ileti serve`` over raw sockets: the header
limit (431), the header and body read timeouts (408), idle connections closed, the
connection cap (503) and SIGTERM with slow clients (one summary line, no traceback).

The timeouts are set short through their settings so that the tests run fast; every
assertion on time allows the machine to be slow (a bound is only checked from below
where the server cannot be early, and from above with seconds to spare).
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
from pathlib import Path

import httpx

from tests.support.cli import create, credentials
from tests.support.processes import Server, serving
from tests.support.spec import OK

KIB = 1024
MIB = 1024 * KIB
#: Short timeouts for these tests (seconds); the defaults are 10, 60 and 5.
SHORT = {
    "ILETI_HEADER_TIMEOUT_SECONDS": "1",
    "ILETI_BODY_TIMEOUT_SECONDS": "1",
    "ILETI_KEEPALIVE_SECONDS": "1",
}
#: What a slow machine may add to a timeout before the server acts on it.
SLACK = 15.0


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset after its answer ends it too)."""
    out = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(64 * KIB):
            out += chunk
    return out


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer (head and Content-Length body) on a connection kept open."""
    out = b""
    while b"\r\n\r\n" not in out:
        chunk = sock.recv(64 * KIB)
        assert chunk, f"closed after {out!r}"
        out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(64 * KIB)
        assert chunk, f"closed after {out!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def body_of(answer: bytes) -> bytes:
    return answer.partition(b"\r\n\r\n")[2]


def add_request(creds: dict[str, str], number: str) -> tuple[bytes, bytes]:
    """An add-blacklist request over HTTP/1.1: (head, body)."""
    body = json.dumps(
        {"request": {"authentication": creds, "blacklist": {"number": number}}}
    ).encode()
    head = (
        b"POST /v1/add-blacklist/json HTTP/1.1\r\nHost: ileti\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    return head, body


def listed(server: Server, creds: dict[str, str]) -> list[str]:
    r = httpx.post(
        f"{server.url}/v1/get-blacklist/json",
        json={"request": {"authentication": creds}},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return list(r.json()["response"]["blacklist"]["number"])


def healthz_seconds(server: Server) -> float:
    started = time.monotonic()
    r = httpx.get(f"{server.url}/healthz", timeout=30)
    assert r.status_code == 200
    return time.monotonic() - started


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def logged(server: Server, text: str, within: float = SLACK) -> str:
    """The server's output once it contains ``text``; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while text not in (output := server.output()):
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{output}"
        time.sleep(0.05)
    return output


# -- request line and headers ------------------------------------------------------------


def test_an_endless_header_is_answered_431_and_others_are_served(
    sqlite_url: str, tmp_path: Path
) -> None:
    """An endless header value (httptools alone would buffer it for ever) is cut at
    ILETI_MAX_HEADER_BYTES (64 KiB by default): 431, closed, memory bounded, and
    another connection is served meanwhile."""
    with serving(sqlite_url, tmp_path) as (server,):
        healthz_seconds(server)
        rss_before = rss_kib(server.proc.pid)
        answers: list[bytes] = []

        def endless() -> None:
            sock = connect(server)
            with sock:
                sent = 0
                try:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ileti\r\nX-Endless: ")
                    while sent < 32 * MIB:  # bounded, should the server keep reading
                        sock.sendall(b"a" * (64 * KIB))
                        sent += 64 * KIB
                except OSError:
                    pass  # the server closed the connection: what is wanted
                answers.append(read_to_end(sock))

        senders = [threading.Thread(target=endless) for _ in range(4)]
        for sender in senders:
            sender.start()
        slowest = max(healthz_seconds(server) for _ in range(5))
        for sender in senders:
            sender.join(timeout=60)
        assert not any(sender.is_alive() for sender in senders)
        assert slowest < 5.0  # not the 4-9 s an endless header once caused
        assert [status_of(a) for a in answers] == [431] * 4, answers
        assert all(b"connection: close" in a for a in answers)
        assert body_of(answers[0]) == b"ileti: request line and headers too large\n"
        assert rss_kib(server.proc.pid) - rss_before < 64 * KIB  # far below the 32 MiB x 4
        output = logged(server, "answered 431")
        assert "over 65536 bytes (ILETI_MAX_HEADER_BYTES)" in output
        assert "Traceback" not in output


def test_headers_are_counted_whole_and_in_pieces(sqlite_url: str, tmp_path: Path) -> None:
    """Below the limit a request is served; above it, 431, whether the headers came in
    one piece or trickled in small ones."""
    creds = credentials(create(sqlite_url, "acme"))
    env = {"ILETI_MAX_HEADER_BYTES": str(8 * KIB)}
    with serving(sqlite_url, tmp_path, env=env) as (server,):
        head, body = add_request(creds, "+905330000001")
        padded = head.replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"p" * (6 * KIB) + b"\r\n\r\n")
        with connect(server) as sock:
            sock.sendall(padded + body)
            answer = read_answer(sock)
        assert status_of(answer) == 200
        assert json.loads(body_of(answer)) == {"response": {"status": OK}}

        too_big = head.replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"p" * (9 * KIB) + b"\r\n\r\n")
        with connect(server) as sock:
            sock.sendall(too_big + body)  # complete headers, in one piece
            assert status_of(read_to_end(sock)) == 431
        with connect(server) as sock:
            try:
                for i in range(0, len(too_big), 512):  # the same, 512 bytes at a time
                    sock.sendall(too_big[i : i + 512])
                    time.sleep(0.001)
            except OSError:
                pass
            assert status_of(read_to_end(sock)) == 431
        assert listed(server, creds) == ["+905330000001"]


# -- timeouts ------------------------------------------------------------------------------


def test_an_idle_connection_is_closed(sqlite_url: str, tmp_path: Path) -> None:
    """A connection that sends nothing is closed after ILETI_HEADER_TIMEOUT_SECONDS; one
    idle after an answer, after ILETI_KEEPALIVE_SECONDS. Neither gets an answer."""
    env = {**SHORT, "ILETI_HEADER_TIMEOUT_SECONDS": "2"}
    with serving(sqlite_url, tmp_path, env=env) as (server,):
        started = time.monotonic()
        with connect(server) as sock:
            assert read_to_end(sock) == b""
        assert 2.0 <= time.monotonic() - started < 2.0 + SLACK

        with connect(server) as sock:
            asked = time.monotonic()  # the keep-alive time runs from the answer, later
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ileti\r\n\r\n")
            assert status_of(read_answer(sock)) == 200
            assert read_to_end(sock) == b""
        assert 1.0 <= time.monotonic() - asked < 1.0 + SLACK
        assert "Traceback" not in server.output()


def test_trickled_headers_are_cut_with_408(sqlite_url: str, tmp_path: Path) -> None:
    with serving(sqlite_url, tmp_path, env=SHORT) as (server,):
        started = time.monotonic()  # the header time runs from the connection, later
        with connect(server) as sock:
            try:
                for byte in b"GET /healthz HTTP/1.1\r\nHost: ileti\r\nX-Slow: " + b"s" * 200:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.05)
            except OSError:
                pass
            answer = read_to_end(sock)
        assert 1.0 <= time.monotonic() - started < 1.0 + SLACK
        assert status_of(answer) == 408
        assert body_of(answer) == b"ileti: request headers not received in time\n"
        logged(server, "answered 408: headers not complete within 1 s")
        assert healthz_seconds(server) < SLACK


def test_a_trickled_body_is_cut_and_nothing_stored(database_url: str, tmp_path: Path) -> None:
    """A body that does not arrive within ILETI_BODY_TIMEOUT_SECONDS of its headers: the
    client gets 408, the request stores nothing; a prompt request beside it is served."""
    creds = credentials(create(database_url, "acme"))
    with serving(database_url, tmp_path, env=SHORT) as (server,):
        head, body = add_request(creds, "+905330000001")
        with connect(server) as sock:
            started = time.monotonic()  # the body time runs from the head's arrival, later
            sock.sendall(head + body[:10])
            try:
                for byte in body[10:]:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.1)  # the whole body would take several seconds
            except OSError:
                pass
            answer = read_to_end(sock)
        assert 1.0 <= time.monotonic() - started < 1.0 + SLACK
        assert status_of(answer) == 408
        assert body_of(answer) == b"ileti: request body not received in time\n"

        head, body = add_request(creds, "+905330000002")
        with connect(server) as sock:
            sock.sendall(head + body)
            assert status_of(read_answer(sock)) == 200
        assert listed(server, creds) == ["+905330000002"]
        output = logged(server, "answered 408: body not complete within 1 s")
        assert "Traceback" not in output


# -- the connection cap --------------------------------------------------------------------


def test_connections_past_the_cap_are_answered_503(sqlite_url: str, tmp_path: Path) -> None:
    env = {"ILETI_MAX_CONNECTIONS": "5"}
    with serving(sqlite_url, tmp_path, env=env) as (server,):
        held = [connect(server) for _ in range(5)]
        try:
            for sock in held:  # each one served, so each one is counted
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ileti\r\n\r\n")
                assert status_of(read_answer(sock)) == 200
            with connect(server) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ileti\r\n\r\n")
                answer = read_to_end(sock)
            assert status_of(answer) == 503
            assert b"connection: close" in answer
            assert body_of(answer) == b"ileti: too many connections, try again later\n"
            # The held ones are still served.
            held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: ileti\r\n\r\n")
            assert status_of(read_answer(held[0])) == 200
        finally:
            for sock in held:
                sock.close()
        # Below the cap again: served.
        deadline = time.monotonic() + SLACK
        while httpx.get(f"{server.url}/healthz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        logged(server, "1 connection(s) answered 503: already 5 open (ILETI_MAX_CONNECTIONS)")


# -- SIGTERM -------------------------------------------------------------------------------


def test_sigterm_with_slow_clients(database_url: str, tmp_path: Path) -> None:
    """SIGTERM while ``slow`` clients stall in their bodies and a few finish theirs after
    the signal: those are answered and stored, the stalled ones are cut when
    ILETI_SHUTDOWN_SECONDS ends, and the server exits 0 soon after, with one line
    counting them and no traceback."""
    slow = 50
    creds = credentials(create(database_url, "acme"))
    env = {"ILETI_SHUTDOWN_SECONDS": "3", "ILETI_LOG_LEVEL": "info"}
    with serving(database_url, tmp_path, env=env) as (server,):
        stalled: list[socket.socket] = []
        finishing: list[tuple[socket.socket, bytes]] = []
        try:
            for i in range(slow):
                head, body = add_request(creds, f"+90533100{i:04d}")
                sock = connect(server)
                sock.sendall(head + body[:10])
                stalled.append(sock)
            for i in range(5):
                head, body = add_request(creds, f"+90533200{i:04d}")
                sock = connect(server)
                sock.sendall(head + body[:10])
                finishing.append((sock, body[10:]))
            time.sleep(0.5)  # every request has reached the server
            server.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            time.sleep(0.5)
            for sock, rest in finishing:  # within the window
                sock.sendall(rest)
            answers = [read_to_end(sock) for sock, _ in finishing]
            code = server.proc.wait(timeout=60)
            took = time.monotonic() - signalled
            cut = [read_to_end(sock) for sock in stalled]
        finally:
            for sock in stalled + [s for s, _ in finishing]:
                sock.close()
        output = server.output()
        assert code == 0, output
        assert 3.0 <= took < 3.0 + SLACK, output
        assert [status_of(a) for a in answers] == [200] * 5, answers
        assert all(json.loads(body_of(a)) == {"response": {"status": OK}} for a in answers)
        assert cut == [b""] * slow  # closed without an answer
        assert "Traceback" not in output, output
        summary = [line for line in output.splitlines() if "cut off at shutdown" in line]
        assert summary == [
            f"WARNING ileti.server: {slow} request(s) cut off at shutdown "
            "(not finished within 3 s, ILETI_SHUTDOWN_SECONDS)"
        ], output

    with serving(database_url, tmp_path) as (server,):
        assert sorted(listed(server, creds)) == [f"+90533200{i:04d}" for i in range(5)]
