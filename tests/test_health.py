"""Readiness and liveness: ``/healthz`` says 503, naming what failed, when the database
cannot be written (a full SQLite database, one that refuses writes, an unreachable
PostgreSQL), and ok again once it can, without a restart; ``/livez`` answers whatever
the database does. A load balancer polling ``/healthz`` costs at most one probe write a
second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ileti import __version__
from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.disk import small_disk
from tests.support.http import auth, call
from tests.support.proxy import Proxy
from tests.support.runtime import client_of, started
from tests.support.spec import OK
from tests.support.spec import status as spec_status
from tests.support.stored import (
    FullDatabase,
    health_probe_rows,
    integrity_check,
    listed_numbers,
    port_of,
    through_port,
)
from tests.support.waiting import eventually


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, auth_refresh_seconds=0.1, delivery_poll_seconds=0)


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


async def health(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await client.get("/healthz")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    return r.status_code, r.json()


async def add(client: httpx.AsyncClient, issued: Issued, number: str) -> tuple[int, Any]:
    request = {"authentication": auth(issued), "blacklist": {"number": number}}
    status, body = await call(client, "add-blacklist", request)
    return status, body["status"]


def unhealthy_with(prefix: str) -> Callable[[httpx.AsyncClient], Any]:
    async def check(client: httpx.AsyncClient) -> dict[str, Any] | None:
        status, body = await health(client)
        if status == 503 and body["status"] == "unhealthy":
            assert body["store"].startswith(prefix), body
            return body
        return None

    return check


async def healthy(client: httpx.AsyncClient) -> bool:
    status, body = await health(client)
    return status == 200 and body["status"] == "ok"


async def test_healthz_ok_names_the_database_and_version(
    settings: Settings, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    status, body = await health(client)
    assert (status, body) == (
        200,
        {"status": "ok", "database": dialect_of(settings.database_url), "version": __version__},
    )
    # It wrote: this instance's probe row.
    assert [instance for instance, _ in await health_probe_rows(runtime)] == [
        runtime.health.instance
    ]


async def test_livez_answers_without_the_database(
    settings: Settings,
    refusing_writes: Callable[[Settings], AbstractAsyncContextManager[Runtime]],
) -> None:
    async with refusing_writes(settings) as rt, client_of(rt) as c:
        writes = rt.store.writer.writes
        r = await c.get("/livez")
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
        assert r.headers["cache-control"] == "no-store"
        assert rt.store.writer.writes == writes
        assert (await health(c))[0] == 503


async def test_a_database_that_refuses_writes_is_unhealthy(
    settings: Settings,
    refusing_writes: Callable[[Settings], AbstractAsyncContextManager[Runtime]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ileti.health")
    async with refusing_writes(settings) as rt, client_of(rt) as c:
        status, body = await health(c)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["database"] == dialect_of(settings.database_url)
        assert body["store"].startswith("cannot write: database error: "), body
        assert "\n" not in body["store"] and len(body["store"]) <= 250
    warnings = [r.getMessage() for r in caplog.records if r.name == "ileti.health"]
    assert warnings == [f"unhealthy: {body['store']}"]


async def test_probes_are_shared_and_at_most_one_a_second(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    assert runtime.health.max_age == 1.0
    assert (await health(client))[0] == 200
    writes = runtime.store.writer.writes
    # Within max_age (made long here, so that a slow machine cannot outlast it), every
    # answer is the last one: nothing is written.
    runtime.health.max_age = 60.0
    answers = await asyncio.gather(*(health(client) for _ in range(50)))
    assert {status for status, _ in answers} == {200}
    assert runtime.store.writer.writes == writes
    # Once it is over, checks arriving together share one probe.
    runtime.health.max_age = 0.1
    await asyncio.sleep(0.2)
    answers = await asyncio.gather(*(health(client) for _ in range(20)))
    assert {status for status, _ in answers} == {200}
    assert runtime.store.writer.writes == writes + 1
    assert len(await health_probe_rows(runtime)) == 1  # each probe replaces the last


async def test_a_full_sqlite_database_is_unhealthy_until_it_has_room_again(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=sqlite_url, delivery_poll_seconds=0)
    caplog.set_level(logging.INFO, logger="ileti.health")
    async with started(settings) as rt, client_of(rt) as c:
        issued = await rt.accounts.create("acme")
        assert await healthy(c)
        disk = FullDatabase(rt)
        await disk.fill()

        # Adds go on while free space lasts, then fail as on a full disk: 503.
        added = 0
        for i in range(20_000):
            status, body = await add(c, issued, f"+90533{i:07d}")
            if status != 200:
                assert (status, body) == (503, spec_status(503))
                break
            added += 1
        else:
            pytest.fail("the full database took 20,000 adds")
        assert "database or disk is full" in caplog.text

        body = await eventually(lambda: unhealthy_with("cannot write: ")(c), within=15)
        assert "database or disk is full" in body["store"]
        r = await c.get("/livez")
        assert r.status_code == 200

        # Room again: healthy without a restart, and the refused add now succeeds.
        await disk.make_room()
        await eventually(lambda: healthy(c), within=15)
        assert await add(c, issued, f"+90533{added:07d}") == (200, OK)
        assert len(await listed_numbers(rt, issued)) == added + 1
    assert integrity_check(sqlite_url) == "ok"
    lines = [r.getMessage() for r in caplog.records if r.name == "ileti.health"]
    assert lines[0].startswith("unhealthy: cannot write: ")
    assert lines[-1] == "healthy again: the database can be read and written"


async def test_a_really_full_disk_is_unhealthy_until_it_has_room_again(tmp_path: Path) -> None:
    """The same on a disk that is full (a 1 MiB tmpfs): SQLite's write-ahead log cannot
    grow, so commits fail; given room (the tmpfs resized), everything works again."""
    with small_disk(tmp_path / "disk", kib=1024) as disk:
        url = f"sqlite:///{disk.path}/ileti.db"
        settings = Settings(database_url=url, delivery_poll_seconds=0)
        async with started(settings) as rt, client_of(rt) as c:
            issued = await rt.accounts.create("acme")
            assert await healthy(c)
            added = 0
            for i in range(5_000):
                status, body = await add(c, issued, f"+90533{i:07d}")
                if status != 200:
                    assert (status, body) == (503, spec_status(503))
                    break
                added += 1
            else:
                pytest.fail("a 1 MiB disk took 5,000 adds")
            assert disk.free_kib() == 0
            body = await eventually(lambda: unhealthy_with("cannot write: ")(c), within=15)
            assert "database or disk is full" in body["store"]
            assert (await c.get("/livez")).status_code == 200

            disk.resize(kib=8192)
            await eventually(lambda: healthy(c), within=15)
            assert await add(c, issued, f"+90533{added:07d}") == (200, OK)
            assert len(await listed_numbers(rt, issued)) == added + 1
        assert integrity_check(url) == "ok"


async def test_an_unreachable_postgresql_is_unhealthy_until_it_is_back(postgres_url: str) -> None:
    with Proxy(port_of(postgres_url)) as proxy:
        url = through_port(postgres_url, proxy.port)
        settings = Settings(database_url=url, delivery_poll_seconds=0, auth_refresh_seconds=0)
        async with started(settings) as rt, client_of(rt) as c:
            issued = await rt.accounts.create("acme")
            assert await healthy(c)

            proxy.cut()
            body = await eventually(lambda: unhealthy_with("cannot write: ")(c), within=30)
            assert body["database"] == "postgresql"
            assert (await c.get("/livez")).status_code == 200
            assert await add(c, issued, "+905330000001") == (503, spec_status(503))

            proxy.restore()
            await eventually(lambda: healthy(c), within=30)
            assert await add(c, issued, "+905330000001") == (200, OK)
