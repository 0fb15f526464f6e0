"""Several instances behave as one: real ``ileti serve`` processes on one database.

Two separate server processes (and one server with ``--workers 2``) share a PostgreSQL
schema or an SQLite file. Requests are spread over them concurrently, account changes
are made by the CLI (run in this, a third, process), and what is stored is read back
through a fresh connection from this process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.support.cli import create as create_account
from tests.support.cli import run as cli
from tests.support.processes import Server, serving
from tests.support.spec import envelope
from tests.support.stored import committed_blacklist as stored
from tests.support.stored import is_committed as is_listed
from tests.support.stored import terminate_backends as _terminate_backends
from tests.support.waiting import settles

OK = envelope(200)
UNAUTHORIZED = envelope(401)
NOT_LISTED = envelope(474)
UNAVAILABLE = envelope(503)
#: For servers polled with credentials that fail on purpose until a change arrives:
#: more than ILETI_AUTH_FAILURE_LIMIT 401s from 127.0.0.1, which would then get 429.
POLLING_401S = {"ILETI_AUTH_FAILURE_LIMIT": "0"}

#: The spec's promise: a change made anywhere is seen everywhere within this.
PROPAGATION_SECONDS = 1.0


# -- requests ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def clients(servers: list[Server], *, fresh: bool = False) -> AsyncIterator[list[Any]]:
    """One client per server; ``fresh``: a new connection per request (spreads requests
    over the workers of one server)."""
    limits = httpx.Limits(max_keepalive_connections=0) if fresh else httpx.Limits()
    async with contextlib.AsyncExitStack() as stack:
        out = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=s.url, timeout=15, limits=limits)
            )
            for s in servers
        ]
        yield out


def body(key: str, hash_: str, **rest: Any) -> dict[str, Any]:
    return {"request": {"authentication": {"key": key, "hash": hash_}, **rest}}


async def post(
    client: httpx.AsyncClient, action: str, payload: dict[str, Any], **kw: Any
) -> tuple[int, Any]:
    r = await client.post(f"/v1/{action}/json", json=payload, **kw)
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    return r.status_code, r.json()


async def add(client: httpx.AsyncClient, acct: dict[str, Any], number: str) -> tuple[int, Any]:
    return await post(
        client,
        "add-blacklist",
        body(acct["key"], acct["hash"], blacklist={"number": number}),
    )


async def delete(client: httpx.AsyncClient, acct: dict[str, Any], number: str) -> tuple[int, Any]:
    return await post(
        client,
        "delete-blacklist",
        body(acct["key"], acct["hash"], blacklist={"number": number}),
    )


async def listed(client: httpx.AsyncClient, acct: dict[str, Any]) -> tuple[int, Any]:
    return await post(client, "get-blacklist", body(acct["key"], acct["hash"]))


def local(n: int) -> str:
    return f"0532{n:07d}"


def e164(n: int) -> str:
    return f"+90532{n:07d}"


def stored_form(n: int) -> int:
    return int(f"90532{n:07d}")


# -- (a) idempotent adds, (b) 474 deletes: two processes as one ---------------------------


async def test_concurrent_idempotent_adds_over_two_instances(
    database_url: str, tmp_path: Path
) -> None:
    acct = create_account(database_url, "acme")
    numbers = list(range(1, 41))
    with serving(database_url, tmp_path, count=2) as servers:
        async with clients(servers) as (a, b):
            # Every number four times: twice through each instance, all at once.
            calls = [add(c, acct, local(n)) for n in numbers for c in (a, b, b, a)]
            answers = await asyncio.gather(*calls)
            assert answers == [(200, OK)] * len(calls)
            for c in (a, b):
                status, out = await listed(c, acct)
                assert status == 200
                assert out["response"]["blacklist"]["count"] == len(numbers)
                assert sorted(out["response"]["blacklist"]["number"]) == [e164(n) for n in numbers]
    rows, count = stored(database_url, acct["id"])
    assert rows == [stored_form(n) for n in numbers]  # exactly one row each
    assert count == len(rows)


async def test_concurrent_deletes_over_two_instances_one_wins(
    database_url: str, tmp_path: Path
) -> None:
    acct = create_account(database_url, "acme")
    numbers = list(range(100, 110))
    with serving(database_url, tmp_path, count=2) as servers:
        async with clients(servers) as (a, b):
            assert await asyncio.gather(*(add(a, acct, local(n)) for n in numbers)) == [
                (200, OK)
            ] * len(numbers)
            for n in numbers:
                answers = await asyncio.gather(
                    *(delete(c, acct, local(n)) for c in (a, b, a, b, a, b))
                )
                assert sorted(answers, key=lambda x: x[0]) == [(200, OK)] + [(474, NOT_LISTED)] * 5
            status, out = await listed(b, acct)
            assert status == 200
            assert out["response"]["blacklist"]["count"] == 0
    assert stored(database_url, acct["id"]) == ([], 0)


# -- (c) a CLI change reaches every instance within 1 s -----------------------------------


async def test_cli_changes_reach_both_instances_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    acct = create_account(database_url, "acme")
    key = acct["key"]
    with serving(database_url, tmp_path, count=2, env=POLLING_401S) as servers:
        async with clients(servers) as both:
            hash_ = acct["hash"]

            def probes(h: str, **kw: Any) -> list[Any]:
                return [lambda c=c: post(c, "get-blacklist", body(key, h), **kw) for c in both]

            def ok_list(count: int = 0) -> tuple[int, Any]:
                return (
                    200,
                    {
                        "response": {
                            "status": OK["response"]["status"],
                            "blacklist": {"count": count, "number": []},
                        }
                    },
                )

            # Both instances have the credential cached.
            for probe in probes(hash_):
                assert await probe() == ok_list()

            cli(database_url, "account", "update", key, "--api-access", "off")
            await settles(
                time.monotonic() + PROPAGATION_SECONDS, probes(hash_), (401, UNAUTHORIZED)
            )
            cli(database_url, "account", "update", key, "--api-access", "on")
            await settles(time.monotonic() + PROPAGATION_SECONDS, probes(hash_), ok_list())

            rotated = json.loads(cli(database_url, "account", "update", key, "--rotate", "--json"))
            assert rotated["key"] == key and rotated["hash"] != hash_
            deadline = time.monotonic() + PROPAGATION_SECONDS
            await settles(deadline, probes(hash_), (401, UNAUTHORIZED))
            await settles(deadline, probes(rotated["hash"]), ok_list())
            hash_ = rotated["hash"]

            cli(database_url, "account", "update", key, "--allow-ip", "10.0.0.0/8")
            deadline = time.monotonic() + PROPAGATION_SECONDS
            await settles(deadline, probes(hash_), (401, UNAUTHORIZED))
            # No proxy is trusted: a forged X-Forwarded-For changes nothing.
            forged = {"headers": {"X-Forwarded-For": "10.1.2.3"}}
            for probe in probes(hash_, **forged):
                assert await probe() == (401, UNAUTHORIZED)

            cli(database_url, "account", "update", key, "--clear-allow-ip")
            await settles(time.monotonic() + PROPAGATION_SECONDS, probes(hash_), ok_list())


async def test_allow_list_behind_a_trusted_proxy(postgres_url: str, tmp_path: Path) -> None:
    """With ILETI_TRUSTED_PROXIES naming the proxy, the rightmost untrusted
    X-Forwarded-For hop is the client, on every instance."""
    acct = create_account(postgres_url, "acme")
    cli(postgres_url, "account", "update", acct["key"], "--allow-ip", "10.0.0.0/8")
    env = {"ILETI_TRUSTED_PROXIES": "127.0.0.1/32"}
    with serving(postgres_url, tmp_path, count=2, env=env) as servers:
        async with clients(servers) as both:
            for c in both:
                assert (await add(c, acct, local(1)))[0] == 401  # the proxy itself
                for chain, expected in (
                    ("10.1.2.3", 200),
                    ("192.0.2.7, 10.1.2.3", 200),  # the client may write anything on the left
                    ("10.1.2.3, 192.0.2.7", 401),  # the rightmost untrusted hop decides
                    ("10.1.2.3, 127.0.0.1", 200),  # trusted hops are skipped
                ):
                    status, out = await post(
                        c,
                        "add-blacklist",
                        body(acct["key"], acct["hash"], blacklist={"number": local(1)}),
                        headers={"X-Forwarded-For": chain},
                    )
                    assert (status, out) == ((200, OK) if expected == 200 else (401, UNAUTHORIZED))


# -- (d) --workers 2 ------------------------------------------------------------------------


async def test_two_workers_serve_as_one_and_see_cli_changes(
    database_url: str, tmp_path: Path
) -> None:
    acct = create_account(database_url, "acme")
    key = acct["key"]
    numbers = list(range(200, 232))
    with serving(database_url, tmp_path, workers=2, env=POLLING_401S) as (server,):
        # A new connection per request, many at once: both workers take some, and so
        # both cache the credential before the change.
        async with clients([server], fresh=True) as (c,):
            calls = [add(c, acct, local(n)) for n in numbers for _ in range(3)]
            assert await asyncio.gather(*calls) == [(200, OK)] * len(calls)
            answers = await asyncio.gather(*(delete(c, acct, local(n)) for n in numbers * 2))
            for i in range(len(numbers)):  # each number: one 200, one 474
                pair = sorted([answers[i], answers[i + len(numbers)]], key=lambda a: a[0])
                assert pair == [(200, OK), (474, NOT_LISTED)]

            cli(database_url, "account", "update", key, "--api-access", "off")
            deadline = time.monotonic() + PROPAGATION_SECONDS
            burst = 24

            async def all_refused() -> tuple[int, Any]:
                got = await asyncio.gather(*(listed(c, acct) for _ in range(burst)))
                refused = sum(1 for g in got if g == (401, UNAUTHORIZED))
                return (401, UNAUTHORIZED) if refused == burst else (0, got)

            # No response tells which worker answered, so a burst that is all 401 early
            # may have reached one worker only. The promise is "every worker within
            # 1 s": once that has passed, every burst (on new connections, spread over
            # both workers) is refused.
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            for _ in range(3):
                assert await all_refused() == (401, UNAUTHORIZED)
    assert stored(database_url, acct["id"]) == ([], 0)


# -- the batched writer on PostgreSQL -------------------------------------------------------


async def test_a_200_means_committed(postgres_url: str, tmp_path: Path) -> None:
    """Right after each 200, a new connection from another process sees the change."""
    acct = create_account(postgres_url, "acme")
    numbers = list(range(300, 340))
    with serving(postgres_url, tmp_path, count=2) as servers:
        async with clients(servers) as (a, b):

            async def add_then_look(c: httpx.AsyncClient, n: int) -> bool:
                assert await add(c, acct, local(n)) == (200, OK)
                return await asyncio.to_thread(is_listed, postgres_url, acct["id"], stored_form(n))

            async def delete_then_look(c: httpx.AsyncClient, n: int) -> bool:
                assert await delete(c, acct, local(n)) == (200, OK)
                return await asyncio.to_thread(is_listed, postgres_url, acct["id"], stored_form(n))

            seen = await asyncio.gather(
                *(add_then_look(c, n) for n in numbers for c in ((a, b)[n % 2],))
            )
            assert seen == [True] * len(numbers)
            seen = await asyncio.gather(
                *(delete_then_look(c, n) for n in numbers for c in ((b, a)[n % 2],))
            )
            assert seen == [False] * len(numbers)
    assert stored(postgres_url, acct["id"]) == ([], 0)


def _with_application_name(url: str, name: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}application_name={quote(name)}"


async def test_dropped_connections_give_503_then_recover(postgres_url: str, tmp_path: Path) -> None:
    acct = create_account(postgres_url, "acme")
    app_name = f"ileti-test-{uuid.uuid4().hex[:8]}"
    url = _with_application_name(postgres_url, app_name)
    with serving(url, tmp_path) as (server,):
        async with clients([server]) as (c,):
            assert await add(c, acct, local(1)) == (200, OK)
            assert (await listed(c, acct))[0] == 200

            # Dropped while the server is idle (as after a database restart at night):
            # pooled reads and the writer both check an idle connection before use.
            assert _terminate_backends(postgres_url, app_name) >= 1
            await asyncio.sleep(1.5)
            assert [await add(c, acct, local(n)) for n in range(2, 7)] == [(200, OK)] * 5
            assert (await listed(c, acct))[0] == 200

            # Dropped right after use: each answer is a 200 or a 503 envelope, then 200s.
            assert _terminate_backends(postgres_url, app_name) >= 1
            answers = [await add(c, acct, local(n)) for n in range(7, 17)]
            answers += [await listed(c, acct) for _ in range(5)]
            assert all(a == (200, OK) or a == (503, UNAVAILABLE) for a in answers[:10]), answers
            assert all(a[0] == 200 or a == (503, UNAVAILABLE) for a in answers[10:]), answers
            assert answers[-1][0] == 200  # recovered
            ok = [n for n, a in zip(range(7, 17), answers, strict=False) if a[0] == 200]

            # Dropped while writes are in flight: no 500, no hang, then recovery.
            load = [asyncio.create_task(add(c, acct, local(n))) for n in range(100, 400)]
            await asyncio.sleep(0.05)
            _terminate_backends(postgres_url, app_name)
            answers = await asyncio.wait_for(asyncio.gather(*load), timeout=60)
            assert all(a in ((200, OK), (503, UNAVAILABLE)) for a in answers), {
                a[0] for a in answers
            }
            ok += [n for n, a in zip(range(100, 400), answers, strict=True) if a[0] == 200]

            recovered = [await add(c, acct, local(n)) for n in range(500, 520)]
            assert recovered == [(200, OK)] * 20
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    rows, count = stored(postgres_url, acct["id"])
    assert count == len(rows)
    listed_now = set(rows)
    # Every 200 was committed.
    for n in [1, *range(2, 7), *ok, *range(500, 520)]:
        assert stored_form(n) in listed_now
