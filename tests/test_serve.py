"""A real ``ileti serve`` process over a socket: the wire, restarts, signals, workers.

Each test starts the server as a subprocess (``python -m ileti``) on a free port,
waits for ``/healthz`` and talks to it with a real HTTP client. Every process started
here is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ileti.services.auth import api_hash
from tests.support.cli import create, credentials
from tests.support.http import parse_xml_response, xml_of
from tests.support.processes import Server, serve, serving
from tests.support.spec import JSON_TYPE, OK, XML_TYPE, error, status

UNAUTHORIZED = status(401)


def pooled(server: Server) -> httpx.Client:
    """One client for many threads: 16 keep-alive connections."""
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    return httpx.Client(base_url=server.url, timeout=30, limits=limits)


def create_account(database_url: str, name: str = "acme") -> dict[str, str]:
    """``ileti account create`` (in process); its credentials."""
    return credentials(create(database_url, name))


def post_json(client: httpx.Client, action: str, request: dict[str, Any]) -> tuple[int, Any]:
    r = client.post(f"/v1/{action}/json", json={"request": request})
    assert r.headers["content-type"] == JSON_TYPE
    body = r.json()["response"]
    assert r.status_code == body["status"]["code"]
    return r.status_code, body


def add(client: httpx.Client, creds: dict[str, str], number: str) -> tuple[int, Any]:
    return post_json(
        client, "add-blacklist", {"authentication": creds, "blacklist": {"number": number}}
    )


def all_listed(client: httpx.Client, creds: dict[str, str]) -> list[str]:
    """Every number of the account, page by page through get-blacklist."""
    out: list[str] = []
    page = 1
    while True:
        status, body = post_json(
            client,
            "get-blacklist",
            {"authentication": creds, "blacklist": {"page": page, "rowCount": 1000}},
        )
        assert status == 200
        numbers = body["blacklist"]["number"]
        out.extend(numbers)
        if len(out) >= body["blacklist"]["count"] or not numbers:
            assert len(out) == body["blacklist"]["count"]
            return out
        page += 1


def number(i: int) -> str:
    return f"+90533{i:07d}"


# -- the wire over a socket --------------------------------------------------------------


def test_json_xml_and_healthz(database_url: str, tmp_path: Path) -> None:
    creds = create_account(database_url)
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with serve(database_url, tmp_path) as server, httpx.Client(base_url=server.url) as client:
        r = client.get("/healthz")
        assert r.status_code == 200
        assert r.json()["status"] == "ok" and r.json()["database"] == dialect

        # JSON, with a trailing slash and no useful Content-Type.
        r = client.post(
            "/v1/add-blacklist/json/",
            content=json.dumps(
                {"request": {"authentication": creds, "blacklist": {"number": "0533 000 00 01"}}}
            ).encode(),
            headers={"content-type": "text/plain"},
        )
        assert (r.status_code, r.json()) == (200, {"response": {"status": OK}})

        # XML, raw body.
        xml = xml_of({"authentication": creds, "blacklist": {"number": "+905330000002"}})
        r = client.post("/v1/add-blacklist", content=b'<?xml version="1.0"?>' + xml.encode())
        assert r.status_code == 200
        assert r.headers["content-type"] == XML_TYPE
        assert parse_xml_response(r.content) == {"status": OK}

        # XML in the form field ``data``.
        xml = xml_of({"authentication": creds, "blacklist": {"number": "905330000003"}})
        r = client.post("/v1/add-blacklist", data={"data": xml})
        assert (r.status_code, parse_xml_response(r.content)) == (200, {"status": OK})

        # Read back in both encodings.
        status, body = post_json(client, "get-blacklist", {"authentication": creds})
        assert status == 200
        assert body["blacklist"]["count"] == 3
        assert body["blacklist"]["number"] == [number(1), number(2), number(3)]  # blocked-at order
        r = client.post("/v1/get-blacklist", content=xml_of({"authentication": creds}).encode())
        assert r.status_code == 200
        tree = parse_xml_response(r.content)
        assert tree["status"] == OK
        assert tree["blacklist"]["count"] == "3"
        assert tree["blacklist"]["number"] == [number(1), number(2), number(3)]

        # Errors keep the request's encoding and the HTTP status equals the code.
        wrong = {"key": creds["key"], "hash": "0" * 64}
        assert add(client, wrong, number(4)) == (401, {"status": UNAUTHORIZED})
        assert add(client, creds, "+905999000000") == (466, error(466))
        r = client.post(
            "/v1/delete-blacklist",
            content=xml_of({"authentication": creds, "blacklist": {"number": number(9)}}).encode(),
        )
        assert r.status_code == 474
        assert parse_xml_response(r.content) == error(474)
        r = client.post("/v1/no-such-action/json", json={"request": {}})
        assert (r.status_code, r.json()) == (404, {"response": error(404)})
        r = client.post("/v1/add-blacklist/json", content=b"{not json")
        assert (r.status_code, r.json()) == (400, {"response": error(400)})
        # Nothing of the failed calls was stored.
        assert all_listed(client, creds) == [number(1), number(2), number(3)]


# -- durability and shutdown -----------------------------------------------------------------


def test_acknowledged_adds_survive_sigkill(database_url: str, tmp_path: Path) -> None:
    creds = create_account(database_url)
    count = 300
    with serve(database_url, tmp_path) as server, pooled(server) as client:
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda i: add(client, creds, number(i))[0], range(count)))
        # Killed right after the last answer: no chance to flush anything more.
        server.proc.send_signal(signal.SIGKILL)
        assert server.proc.wait(timeout=15) == -signal.SIGKILL
        assert statuses == [200] * count

    with serve(database_url, tmp_path) as server, httpx.Client(base_url=server.url) as client:
        assert sorted(all_listed(client, creds)) == [number(i) for i in range(count)]


def test_sigterm_with_requests_in_flight(database_url: str, tmp_path: Path) -> None:
    creds = create_account(database_url)
    acknowledged: set[str] = set()
    answers: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10_000_000))
    stop = threading.Event()

    with serve(database_url, tmp_path) as server:

        def hammer() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    with lock:
                        value = number(next(counter))
                    try:
                        r = client.post(
                            "/v1/add-blacklist/json",
                            json={
                                "request": {"authentication": creds, "blacklist": {"number": value}}
                            },
                        )
                    except httpx.TransportError:
                        return  # the server is gone: no answer, no promise
                    with lock:
                        answers.append(r.status_code)
                        if r.status_code == 200 and r.json()["response"]["status"] == OK:
                            acknowledged.add(value)

        threads = [threading.Thread(target=hammer) for _ in range(16)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while len(acknowledged) < 200:
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.01)
            with lock:
                answered_before = len(answers)
                server.proc.send_signal(signal.SIGTERM)
            code = server.proc.wait(timeout=30)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert code == 0, server.output()
        assert "Traceback" not in server.output(), server.output()
        # Every answer given, during shutdown too, was a success.
        assert set(answers) == {200}
        assert len(answers) > answered_before  # requests in flight at SIGTERM were answered
        assert len(answers) == len(acknowledged)

    with serve(database_url, tmp_path) as server, httpx.Client(base_url=server.url) as client:
        stored = set(all_listed(client, creds))
    assert acknowledged <= stored
    # Nothing appears that was never sent.
    assert stored <= {number(i) for i in range(len(answers) + 16)}


# -- several workers ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _sockets(pid: int) -> set[int]:
    """Inodes of the sockets a process holds."""
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                out.add(int(target[len("socket:[") : -1]))
    return out


def _accepted(port: int) -> set[int]:
    """Inodes of established TCP connections whose local end is ``port``."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], int(fields[9])
                if int(local.rsplit(":", 1)[1], 16) == port and state == "01":
                    out.add(inode)
    return out


def test_two_workers_share_one_database(database_url: str, tmp_path: Path) -> None:
    creds = create_account(database_url)
    with serve(database_url, tmp_path, workers=2) as server:
        workers = [
            pid
            for pid in _children(server.proc.pid)
            if "multiprocessing.resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        assert len(workers) == 2, workers

        # Hold many connections open at once: the kernel hands them to both workers.
        clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(48)]
        try:
            barrier = threading.Barrier(len(clients))

            def same_number(client: httpx.Client) -> tuple[int, Any]:
                barrier.wait()
                return add(client, creds, "0533 000 00 99")

            with ThreadPoolExecutor(max_workers=len(clients)) as pool:
                results = list(pool.map(same_number, clients))
            port = int(server.url.rsplit(":", 1)[1])
            held = _accepted(port)
            busy = {pid: _sockets(pid) & held for pid in workers}
        finally:
            for c in clients:
                c.close()
        assert results == [(200, {"status": OK})] * len(clients)
        assert all(busy.values()), f"a worker served no connection: {busy}"

        # One row, whichever worker wrote it; distinct numbers from both all land.
        with pooled(server) as client:
            assert all_listed(client, creds) == [number(99)]
            with ThreadPoolExecutor(max_workers=16) as pool:
                statuses = list(
                    pool.map(lambda i: add(client, creds, number(1000 + i))[0], range(200))
                )
            assert statuses == [200] * 200
            stored = all_listed(client, creds)
            assert sorted(stored) == sorted([number(99)] + [number(1000 + i) for i in range(200)])


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_ends_waiting_long_polls_at_once(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    """A 30-second outbox wait does not hold a shutdown up: on SIGTERM it is answered
    503 "the server is shutting down" at once, and the server exits cleanly."""
    token = "a-token-for-the-shutdown-test"
    with serving(database_url, tmp_path, workers=workers, env={"ILETI_ADMIN_TOKEN": token}) as (
        server,
    ):
        admin = {"Authorization": f"Bearer {token}"}
        body = {"name": "w", "key": "w-key", "secret": "w-secret"}
        assert (
            httpx.post(f"{server.url}/_ileti/accounts", headers=admin, json=body).status_code == 201
        )
        # The three requests are sent from here, so they have reached the server before
        # the signal however slowly threads start; each thread only reads its answer.
        host, port = server.url.removeprefix("http://").split(":")
        connections = [http.client.HTTPConnection(host, int(port), timeout=40) for _ in range(3)]
        for conn in connections:
            conn.request(
                "GET",
                "/_ileti/outbox/wait?recipient=%2B905330000099&timeout=30",
                headers=admin,
            )
        answers: list[tuple[int, dict[str, Any]]] = []

        def wait(conn: http.client.HTTPConnection) -> None:
            answer = conn.getresponse()
            answers.append((answer.status, json.loads(answer.read())))

        waiters = [threading.Thread(target=wait, args=(conn,)) for conn in connections]
        for waiter in waiters:
            waiter.start()
        # Answered after the waits' requests were read: the waits have begun (30 s each).
        assert httpx.get(f"{server.url}/livez", timeout=20).status_code == 200
        time.sleep(0.5)
        began = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        for waiter in waiters:
            waiter.join(timeout=20)
        assert [status for status, _ in answers] == [503, 503, 503], server.tail()
        assert all(body["error"]["message"] == "the server is shutting down" for _, body in answers)
        assert time.monotonic() - began < 8  # not the 30 s of the waits, nor uvicorn's 10 s drain
        assert server.proc.wait(timeout=15) == 0, server.tail()


def test_a_wait_whose_client_went_away_frees_its_slot(database_url: str, tmp_path: Path) -> None:
    """An account may hold 50 waits; clients that give up (their own timeout) leave no
    slot behind, so the next 50 are not refused 429 for the rest of the 30 s."""
    token = "a-token-for-the-slot-test"
    with serving(database_url, tmp_path, env={"ILETI_ADMIN_TOKEN": token}) as (server,):
        admin = {"Authorization": f"Bearer {token}"}
        body = {"name": "w", "key": "w-key", "secret": "w-secret"}
        assert (
            httpx.post(f"{server.url}/_ileti/accounts", headers=admin, json=body).status_code == 201
        )
        mine = {"X-Ileti-Key": "w-key", "X-Ileti-Hash": api_hash("w-key", "w-secret")}
        params = {"recipient": "+905330000099", "timeout": "30"}

        def give_up() -> None:
            with contextlib.suppress(httpx.TimeoutException):
                httpx.get(
                    f"{server.url}/_ileti/outbox/wait", params=params, headers=mine, timeout=1.0
                )

        quitters = [threading.Thread(target=give_up) for _ in range(50)]
        for quitter in quitters:
            quitter.start()
        for quitter in quitters:
            quitter.join()
        time.sleep(0.5)  # the server notices the closed connections
        r = httpx.get(
            f"{server.url}/_ileti/outbox/wait",
            params={**params, "timeout": "0.5"},
            headers=mine,
            timeout=10,
        )
        assert r.status_code == 408, r.text  # waited, not refused 429
