"""Per-account rate limits for send-sms: a burst, then 429 with Retry-After, shared by
every instance — in the database (SQLite and PostgreSQL) and in Redis.

Tests run with a small rate and burst (RATE recipients/s, BURST at once) so they are
fast; one test per database checks the default: one maximal request (50,000) passes,
the next one does not.

The database limiter reads the order service's clock, so its tests advance a clock
instead of waiting (one test waits a real Retry-After). The Redis limiter uses Redis's
own clock: its tests run in real time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis

from ileti.api.runtime import Runtime
from ileti.clock import SECOND
from ileti.config import ConfigError, Settings
from ileti.services.accounts import Issued
from tests.support.clock import FakeClock
from tests.support.http import auth, call, parse_xml_response, xml_of
from tests.support.runtime import asgi_client, running, started
from tests.support.spec import OK, error
from tests.support.stored import rate_tat, stored_orders
from tests.support.stored import stored_balance as balance

RATE = 2
BURST = 20
LIMITED = error(429)
OK_STATUS = OK
JUST_BEFORE = 0.001  # seconds: a request this long before its refill is still refused

REDIS_URL = os.environ.get("ILETI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").strip()
REQUIRE_REDIS = os.environ.get("ILETI_TEST_REQUIRE_REDIS", "") not in ("", "0")
REDIS_SKIP = f"Redis tests skipped: no Redis at {REDIS_URL} (set ILETI_TEST_REDIS_URL)"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+90533{start + i:07d}" for i in range(count)]


_texts = iter(range(10**9))


def order(recipients: list[str], text: str | None = None) -> dict[str, Any]:
    """A send-sms order; a fresh text each time so no two orders are duplicates (451)."""
    return {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {
            "text": text if text is not None else f"rate limit test {next(_texts)}",
            "receipents": {"number": recipients},
        },
    }


async def send(
    client: httpx.AsyncClient, issued: Issued, recipients: list[str], fmt: str = "json"
) -> tuple[int, dict[str, Any], httpx.Headers]:
    """send-sms in an encoding; (status, response, headers)."""
    request = {"authentication": auth(issued), "order": order(recipients)}
    if fmt == "get":
        query = {
            **auth(issued),
            "text": request["order"]["message"]["text"],
            "receipents": ",".join(recipients),
            "sender": "ILETI",
            "iys": "0",
        }
        r = await client.get(f"/v1/send-sms/get/?{urlencode(query)}")
        return r.status_code, parse_xml_response(r.content), r.headers
    if fmt == "json":
        r = await client.post("/v1/send-sms/json", json={"request": request})
        return r.status_code, r.json()["response"], r.headers
    r = await client.post("/v1/send-sms", content=xml_of(request).encode())
    return r.status_code, parse_xml_response(r.content), r.headers


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        rate_limit=RATE,
        rate_limit_burst=BURST,
    )


async def new_account(rt: Runtime, name: str = "acme", **settings: Any) -> Issued:
    return await rt.accounts.create(name, senders=("ILETI",), balance=1_000_000, **settings)


async def known_to(client: httpx.AsyncClient, issued: Issued) -> None:
    """Wait until another instance has picked up a new account (its refresh interval)."""
    for _ in range(100):
        status, _ = await call(client, "get-balance", {"authentication": auth(issued)})
        if status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the other instance never saw the account")


def assert_limited(status: int, response: dict[str, Any], headers: httpx.Headers) -> int:
    """The 429 envelope, exactly; the Retry-After in seconds."""
    assert status == 429
    assert response == LIMITED
    retry_after = headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert int(retry_after) >= 1
    return int(retry_after)


# -- the database ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml", "get"])
async def test_burst_passes_then_429_then_passes_exactly_when_refilled(
    stepped: Runtime, stepped_client: httpx.AsyncClient, clock: FakeClock, fmt: str
) -> None:
    issued = await new_account(stepped)
    status, response, _ = await send(stepped_client, issued, numbers(BURST), fmt)
    assert status == 200
    assert response["status"] == OK_STATUS
    before = (await stored_orders(stepped, issued), await balance(stepped, issued))
    tat = await rate_tat(stepped, issued.account.id)
    assert tat == clock.now_us() + BURST * SECOND // RATE

    status, response, headers = await send(stepped_client, issued, numbers(1, 100), fmt)
    retry_after = assert_limited(status, response, headers)
    assert retry_after == 1  # one recipient at 2/s: 0.5 s, rounded up
    # Nothing was stored, charged or taken.
    assert (await stored_orders(stepped, issued), await balance(stepped, issued)) == before
    assert await rate_tat(stepped, issued.account.id) == tat

    clock.advance(0.5 - JUST_BEFORE)
    assert_limited(*await send(stepped_client, issued, numbers(1, 100), fmt))
    assert await stored_orders(stepped, issued) == before[0]
    clock.advance(JUST_BEFORE)
    status, response, _ = await send(stepped_client, issued, numbers(1, 100), fmt)
    assert status == 200
    assert response["status"] == OK_STATUS
    assert await stored_orders(stepped, issued) == before[0] + 1
    assert await rate_tat(stepped, issued.account.id) == tat + SECOND // RATE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_real_time_429_then_passes_after_really_waiting_retry_after(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Real time, end to end: the system clock, and a real wait of Retry-After."""
    issued = await new_account(runtime)
    assert (await send(client, issued, numbers(BURST)))[0] == 200
    retry_after = assert_limited(*await send(client, issued, numbers(1, 100)))
    assert retry_after == 1
    await asyncio.sleep(retry_after)
    status, response, _ = await send(client, issued, numbers(1, 100))
    assert (status, response["status"]) == (200, OK_STATUS)
    assert await stored_orders(runtime, issued) == 2


async def test_retry_after_is_the_wait_for_the_whole_request(
    stepped: Runtime, stepped_client: httpx.AsyncClient
) -> None:
    issued = await new_account(stepped)
    assert (await send(stepped_client, issued, numbers(BURST)))[0] == 200
    # 20 more recipients at 2/s: a full refill, 10 s.
    assert assert_limited(*await send(stepped_client, issued, numbers(BURST, 100))) == 10
    # A smaller request needs less: 5 recipients, 2.5 s.
    assert assert_limited(*await send(stepped_client, issued, numbers(5, 100))) == 3
    assert await stored_orders(stepped, issued) == 1


async def test_limits_are_per_account(stepped: Runtime, stepped_client: httpx.AsyncClient) -> None:
    first = await new_account(stepped, "first")
    second = await new_account(stepped, "second")
    assert (await send(stepped_client, first, numbers(BURST)))[0] == 200
    assert_limited(*await send(stepped_client, first, numbers(BURST, 100)))
    status, response, _ = await send(stepped_client, second, numbers(BURST))
    assert status == 200
    assert response["status"] == OK_STATUS
    assert_limited(*await send(stepped_client, second, numbers(BURST, 100)))
    assert (await stored_orders(stepped, first), await stored_orders(stepped, second)) == (1, 1)


async def test_account_rate_limit_overrides_the_default(
    stepped: Runtime, stepped_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    slow = await new_account(stepped, "slow", rate_limit=1)
    assert (await send(stepped_client, slow, numbers(BURST)))[0] == 200
    # 20 recipients at the account's 1/s (not the server's 2/s): 20 s.
    assert assert_limited(*await send(stepped_client, slow, numbers(BURST, 100))) == 20

    # A limit set later (as `ileti account update KEY --rate-limit N` does) applies to
    # the next request.
    fast = await new_account(stepped, "fast")
    await stepped.accounts.update(fast.account.key, rate_limit=1000)
    assert (await send(stepped_client, fast, numbers(BURST)))[0] == 200
    # 1000/s: 20 recipients refill in 20 ms (Retry-After: at least a second).
    assert assert_limited(*await send(stepped_client, fast, numbers(BURST, 100))) == 1
    clock.advance(0.02 - JUST_BEFORE)
    assert_limited(*await send(stepped_client, fast, numbers(BURST, 100)))
    clock.advance(JUST_BEFORE)
    assert (await send(stepped_client, fast, numbers(BURST, 100)))[0] == 200
    assert (await stored_orders(stepped, slow), await stored_orders(stepped, fast)) == (1, 2)


async def test_requests_that_fail_validation_are_not_counted(
    stepped: Runtime, stepped_client: httpx.AsyncClient
) -> None:
    issued = await new_account(stepped)
    bad_orders = [
        {**order(numbers(BURST)), "sender": ""},  # 459
        {**order(numbers(BURST)), "sender": "NOTMINE"},  # 450
        order(numbers(BURST), text=""),  # 454
        order(numbers(BURST), text="x" * 2000),  # 453
        {**order(numbers(BURST)), "sendDateTime": "tomorrow"},  # 457
        {**order(numbers(BURST)), "iys": "1", "iysList": "NONE"},  # 469
        order([]),  # 452: no recipients at all
    ]
    for _ in range(3):
        for bad in bad_orders:
            status, response = await call(
                stepped_client, "send-sms", {"authentication": auth(issued), "order": bad}
            )
            assert status == response["status"]["code"]
            assert status not in (200, 429)
    assert await rate_tat(stepped, issued.account.id) is None
    assert await stored_orders(stepped, issued) == 0
    # The whole burst is still there.
    assert (await send(stepped_client, issued, numbers(BURST)))[0] == 200
    assert_limited(*await send(stepped_client, issued, numbers(BURST, 100)))


async def test_unauthenticated_requests_are_not_counted(
    stepped: Runtime, stepped_client: httpx.AsyncClient
) -> None:
    issued = await new_account(stepped)
    wrong = {"key": issued.account.key, "hash": "0" * 64}
    for _ in range(3):
        status, response = await call(
            stepped_client, "send-sms", {"authentication": wrong, "order": order(numbers(BURST))}
        )
        assert (status, response) == (401, error(401))
    assert await rate_tat(stepped, issued.account.id) is None
    assert (await send(stepped_client, issued, numbers(BURST)))[0] == 200


async def test_two_instances_on_one_database_share_the_limit(
    stepped: Runtime, stepped_client: httpx.AsyncClient, settings: Settings, clock: FakeClock
) -> None:
    """Two instances on one database and one clock."""
    async with running(replace(settings, delivery_poll_seconds=0), clock=clock) as (_, c2):
        issued = await new_account(stepped)
        await known_to(c2, issued)
        # Through the first instance, the whole burst; the second one refuses more.
        assert (await send(stepped_client, issued, numbers(BURST)))[0] == 200
        assert assert_limited(*await send(c2, issued, numbers(BURST, 100))) == 10

        # Concurrent sends through both instances: an account at 1/s with a burst
        # of 20 takes exactly four requests of five recipients.
        slow = await new_account(stepped, "slow", rate_limit=1)
        await known_to(c2, slow)
        results = await asyncio.gather(
            *(send(stepped_client if i % 2 else c2, slow, numbers(5, 1000 * i)) for i in range(10))
        )
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [200] * 4 + [429] * 6
        assert await stored_orders(stepped, slow) == 4
        # Five recipients refill in 5 s, for both instances alike.
        clock.advance(5 - JUST_BEFORE)
        assert_limited(*await send(stepped_client, slow, numbers(5, 20_000)))
        clock.advance(JUST_BEFORE)
        assert (await send(c2, slow, numbers(5, 20_000)))[0] == 200
        assert_limited(*await send(stepped_client, slow, numbers(1, 30_000)))
        assert await stored_orders(stepped, slow) == 5


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_default_allows_one_maximal_request_as_a_burst(
    database_url: str, clock: FakeClock
) -> None:
    settings = Settings(database_url=database_url, auth_refresh_seconds=0.1)
    assert (settings.rate_limit, settings.rate_limit_burst) == (100, 50_000)
    async with running(replace(settings, delivery_poll_seconds=0), clock=clock) as (rt, c):
        issued = await new_account(rt)
        status, response, _ = await send(c, issued, numbers(50_000))
        assert status == 200
        assert response["status"] == OK_STATUS
        # 1,000 more at 100/s need 10 s.
        request = {"authentication": auth(issued), "order": order(numbers(1000, 60_000))}
        r = await c.post("/v1/send-sms/json", json={"request": request})
        assert assert_limited(r.status_code, r.json()["response"], r.headers) == 10
        # A second maximal request would wait for a full refill: 500 s.
        request = {"authentication": auth(issued), "order": order(numbers(50_000, 60_000))}
        r = await c.post("/v1/send-sms/json", json={"request": request})
        assert assert_limited(r.status_code, r.json()["response"], r.headers) == 500
        assert await stored_orders(rt, issued) == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_rate_limit_zero_turns_the_default_off(database_url: str, clock: FakeClock) -> None:
    settings = Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_poll_seconds=0,
        rate_limit=0,
        rate_limit_burst=BURST,
    )
    async with running(settings, clock=clock) as (rt, c):
        free = await new_account(rt, "free")
        for i in range(5):
            assert (await send(c, free, numbers(BURST, 100 * i)))[0] == 200
        assert await rate_tat(rt, free.account.id) is None
        # An account with a limit of its own is still limited.
        own = await new_account(rt, "own", rate_limit=1)
        assert (await send(c, own, numbers(BURST)))[0] == 200
        assert_limited(*await send(c, own, numbers(BURST, 100)))
        assert (await stored_orders(rt, free), await stored_orders(rt, own)) == (5, 1)


def test_settings_from_env() -> None:
    default = Settings.from_env({})
    assert (default.rate_limit, default.rate_limit_burst) == (100, 50_000)
    assert default.redis_url is None
    assert default.redis_prefix == "ileti"
    custom = Settings.from_env(
        {
            "ILETI_RATE_LIMIT": "0",
            "ILETI_RATE_LIMIT_BURST": "500",
            "ILETI_REDIS_URL": "redis://127.0.0.1:6379/3",
            "ILETI_REDIS_PREFIX": "ileti-eu",
        }
    )
    assert (custom.rate_limit, custom.rate_limit_burst) == (0, 500)
    assert (custom.redis_url, custom.redis_prefix) == ("redis://127.0.0.1:6379/3", "ileti-eu")
    for bad in ({"ILETI_RATE_LIMIT": "-1"}, {"ILETI_RATE_LIMIT": "fast"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)
    with pytest.raises(ConfigError):
        Settings.from_env({"ILETI_REDIS_PREFIX": "ileti:"})


# -- Redis -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if REQUIRE_REDIS:
            pytest.fail(f"ILETI_TEST_REQUIRE_REDIS is set but Redis at {REDIS_URL}: {exc}")
        pytest.skip(REDIS_SKIP)
    yield client
    client.close()


@pytest.fixture
def redis_settings(redis_server: redis.Redis, sqlite_url: str) -> Iterator[Settings]:
    """Settings with Redis and a key prefix of this test's own, removed afterwards."""
    prefix = f"ileti-test-{uuid.uuid4().hex[:12]}"
    yield Settings(
        database_url=sqlite_url,
        auth_refresh_seconds=0.1,
        rate_limit=RATE,
        rate_limit_burst=BURST,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    keys = list(redis_server.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_server.delete(*keys)


@pytest.fixture
async def redis_runtime(redis_settings: Settings) -> AsyncIterator[Runtime]:
    async with started(redis_settings) as rt:
        yield rt


@pytest.fixture
async def redis_client(redis_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(redis_runtime) as c:
        yield c


async def test_redis_burst_then_429_then_passes(
    redis_runtime: Runtime,
    redis_client: httpx.AsyncClient,
    redis_server: redis.Redis,
    redis_settings: Settings,
) -> None:
    assert redis_runtime.ratelimit.backend == "redis"
    # 1 recipient/s (not RATE): Redis keeps real time, and the last 429 below must come
    # within one refill of the burst even on a loaded machine (at 2/s, 0.5 s was not).
    issued = await new_account(redis_runtime, rate_limit=1)
    assert (await send(redis_client, issued, numbers(BURST)))[0] == 200
    assert assert_limited(*await send(redis_client, issued, numbers(BURST, 100))) == 20
    retry_after = assert_limited(*await send(redis_client, issued, numbers(1, 100)))
    assert retry_after == 1
    assert await stored_orders(redis_runtime, issued) == 1
    # The bucket is in Redis, not in the database.
    keys = [k.decode() for k in redis_server.scan_iter(match=f"{redis_settings.redis_prefix}:*")]
    assert len(keys) == 1
    assert keys[0].endswith(f":account:{issued.account.id}")
    assert await rate_tat(redis_runtime, issued.account.id) is None

    await asyncio.sleep(retry_after)
    assert (await send(redis_client, issued, numbers(1, 100)))[0] == 200
    assert await stored_orders(redis_runtime, issued) == 2


async def test_redis_limits_are_per_account_and_overridable(
    redis_runtime: Runtime, redis_client: httpx.AsyncClient
) -> None:
    first = await new_account(redis_runtime, "first")
    second = await new_account(redis_runtime, "second", rate_limit=1)
    assert (await send(redis_client, first, numbers(BURST)))[0] == 200
    assert_limited(*await send(redis_client, first, numbers(BURST, 100)))
    assert (await send(redis_client, second, numbers(BURST)))[0] == 200
    # The account's 1/s: 20 recipients take 20 s.
    assert assert_limited(*await send(redis_client, second, numbers(BURST, 100))) == 20


async def test_redis_validation_failures_are_not_counted(
    redis_runtime: Runtime, redis_client: httpx.AsyncClient
) -> None:
    issued = await new_account(redis_runtime)
    for _ in range(3):
        status, _ = await call(
            redis_client,
            "send-sms",
            {"authentication": auth(issued), "order": order(numbers(BURST), text="")},
        )
        assert status == 454
    assert (await send(redis_client, issued, numbers(BURST)))[0] == 200


async def test_two_instances_on_one_redis_share_the_limit(
    redis_runtime: Runtime, redis_client: httpx.AsyncClient, redis_settings: Settings
) -> None:
    async with running(redis_settings) as (_other, c2):
        slow = await new_account(redis_runtime, "slow", rate_limit=1)
        await known_to(c2, slow)
        results = await asyncio.gather(
            *(send(redis_client if i % 2 else c2, slow, numbers(5, 1000 * i)) for i in range(10))
        )
        assert sorted(status for status, _, _ in results) == [200] * 4 + [429] * 6
        assert await stored_orders(redis_runtime, slow) == 4


async def test_redis_down_falls_back_to_the_database(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    settings = Settings(
        database_url=sqlite_url,
        auth_refresh_seconds=0.1,
        rate_limit=RATE,
        rate_limit_burst=BURST,
        redis_url="redis://127.0.0.1:1/0",
    )
    async with running(settings) as (rt, c):
        issued = await new_account(rt)
        with caplog.at_level(logging.WARNING, logger="ileti.ratelimit"):
            assert (await send(c, issued, numbers(BURST)))[0] == 200
            assert_limited(*await send(c, issued, numbers(BURST, 100)))
        warnings = [r for r in caplog.records if r.name == "ileti.ratelimit"]
        assert len(warnings) == 1
        assert "using the database" in warnings[0].getMessage()
        assert await rate_tat(rt, issued.account.id) is not None
