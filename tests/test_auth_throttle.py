"""A brake on guessing credentials (docs/configuration.md, ILETI_AUTH_FAILURE_LIMIT):
after the limit of authentication failures from one client address within the window,
every request from that address is answered 429 (the spec's rate-limit envelope) with
``Retry-After`` until the window ends; below the limit the 401 is the same bytes
whatever the cause, a success does not count, other addresses are not affected, the
operator gets one warning line per address per window, and it works across instances
through Redis. The control API and the outbox's admin token share the brake."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis

from ileti.api.runtime import Runtime
from ileti.config import ConfigError, Settings, parse_networks
from ileti.services import auth_throttle
from ileti.services.accounts import Issued
from tests.support.clock import FakeClock
from tests.support.http import auth, body_of, path_of
from tests.support.runtime import client_of, started
from tests.support.spec import JSON_TYPE, XML_TYPE, json_body, xml_body
from tests.support.stored import listed_numbers
from tests.support.waiting import eventually

LIMIT = 5
WINDOW = 60.0
TOKEN = "admin-token-for-tests-0123"
REDIS_URL = os.environ.get("ILETI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").strip()
REQUIRE_REDIS = os.environ.get("ILETI_TEST_REQUIRE_REDIS", "") not in ("", "0")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_poll_seconds=0,
        auth_failure_limit=LIMIT,
        auth_failure_window_seconds=WINDOW,
        admin_token=TOKEN,
    )


@pytest.fixture
async def rt(settings: Settings, clock: FakeClock) -> AsyncIterator[Runtime]:
    async with started(settings, clock=clock) as found:
        yield found


@pytest.fixture
async def issued(rt: Runtime) -> Issued:
    return await rt.accounts.create("acme")


def add_body(authentication: dict[str, str], number: str, enc: str) -> bytes:
    request = {"authentication": authentication, "blacklist": {"number": number}}
    return body_of(request, enc)


def wrong_credentials(issued: Issued, i: int) -> dict[str, str]:
    """Every kind of failure in turn: a wrong hash, an unknown key, an empty hash."""
    right = auth(issued)
    return [
        {"key": right["key"], "hash": "0" * 64},
        {"key": uuid.uuid4().hex, "hash": right["hash"]},
        {"key": right["key"], "hash": ""},
    ][i % 3]


async def add(
    c: httpx.AsyncClient, authentication: dict[str, str], enc: str = "json", **headers: str
) -> httpx.Response:
    number = f"+90533{uuid.uuid4().int % 10**7:07d}"
    return await c.post(
        path_of("add-blacklist", enc),
        content=add_body(authentication, number, enc),
        headers=headers,
    )


def assert_status(r: httpx.Response, code: int, enc: str = "json") -> None:
    """The spec's envelope for ``code``, in the request's encoding, to the byte."""
    assert r.status_code == code, r.content
    expected = (JSON_TYPE, json_body(code)) if enc == "json" else (XML_TYPE, xml_body(code))
    assert (r.headers["content-type"], r.content) == expected


async def fail(c: httpx.AsyncClient, issued: Issued, times: int, **headers: str) -> None:
    for i in range(times):
        assert_status(await add(c, wrong_credentials(issued, i), **headers), 401)


@pytest.mark.parametrize("enc", ["json", "xml"])
async def test_the_default_limit_then_429_for_every_request_of_that_address(
    database_url: str, clock: FakeClock, enc: str
) -> None:
    settings = Settings(database_url=database_url, delivery_poll_seconds=0)
    assert (settings.auth_failure_limit, settings.auth_failure_window_seconds) == (20, 60.0)
    async with started(settings, clock=clock) as rt, client_of(rt) as c:
        issued = await rt.accounts.create("acme")
        for i in range(20):
            assert_status(await add(c, wrong_credentials(issued, i), enc), 401, enc)
        clock.advance(10)
        # Right credentials too: the address is not heard until the window ends.
        r = await add(c, auth(issued), enc)
        assert_status(r, 429, enc)
        assert r.headers["retry-after"] == "50"
        assert_status(await add(c, wrong_credentials(issued, 0), enc), 429, enc)
        assert await listed_numbers(rt, issued) == ()


async def test_other_addresses_are_not_affected(rt: Runtime, issued: Issued) -> None:
    async with client_of(rt) as blocked, client_of(rt, ip="192.0.2.7") as other:
        await fail(blocked, issued, LIMIT)
        assert_status(await add(blocked, auth(issued)), 429)
        assert (await add(other, auth(issued))).status_code == 200
        await fail(other, issued, LIMIT - 1)
        assert (await add(other, auth(issued))).status_code == 200
    assert len(await listed_numbers(rt, issued)) == 2


async def test_below_the_limit_401s_are_identical_and_successes_do_not_count(
    rt: Runtime, issued: Issued
) -> None:
    async with client_of(rt) as c:
        for i in range(LIMIT - 1):
            assert (await add(c, auth(issued))).status_code == 200
            assert_status(await add(c, wrong_credentials(issued, i)), 401)
        for _ in range(3 * LIMIT):
            assert (await add(c, auth(issued))).status_code == 200
        # The limit-th failure is still the ordinary 401; what follows is 429.
        assert_status(await add(c, wrong_credentials(issued, 1)), 401)
        assert_status(await add(c, auth(issued)), 429)
    assert len(await listed_numbers(rt, issued)) == 4 * LIMIT - 1


async def test_the_add_works_again_when_the_window_ends(
    rt: Runtime, issued: Issued, clock: FakeClock
) -> None:
    async with client_of(rt) as c:
        await fail(c, issued, LIMIT)
        clock.advance(WINDOW - 1)
        r = await add(c, auth(issued))
        assert_status(r, 429)
        assert r.headers["retry-after"] == "1"
        clock.advance(1)
        assert (await add(c, auth(issued))).status_code == 200
        # A new window: LIMIT failures again before the next 429.
        await fail(c, issued, LIMIT)
        assert_status(await add(c, auth(issued)), 429)
    assert len(await listed_numbers(rt, issued)) == 1


async def test_one_warning_per_address_per_window(
    rt: Runtime, issued: Issued, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ileti.auth")
    async with client_of(rt) as c, client_of(rt, ip="192.0.2.7") as other:
        await fail(c, issued, LIMIT)
        for _ in range(3 * LIMIT):
            assert_status(await add(c, wrong_credentials(issued, 0)), 429)
        await fail(other, issued, LIMIT)
        clock.advance(WINDOW)
        await fail(c, issued, LIMIT)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    line = (
        f"{LIMIT} authentication failures from {{}} within 60 s: "
        "its requests are answered 429 for 60 s"
    )
    assert warnings == [
        line.format("127.0.0.1"),
        line.format("192.0.2.7"),
        line.format("127.0.0.1"),
    ]
    # Each ordinary failure keeps its info line; nothing of the credentials is logged.
    assert issued.hash not in caplog.text and "0" * 64 not in caplog.text


async def test_the_address_is_the_one_behind_a_trusted_proxy(
    settings: Settings, clock: FakeClock
) -> None:
    behind = replace(settings, trusted_proxies=parse_networks("127.0.0.1"))
    async with started(behind, clock=clock) as rt, client_of(rt) as proxy:
        issued = await rt.accounts.create("acme")
        await fail(proxy, issued, LIMIT, **{"X-Forwarded-For": "198.51.100.1"})
        r = await add(proxy, auth(issued), **{"X-Forwarded-For": "198.51.100.1"})
        assert_status(r, 429)
        # Another client through the same proxy, and one that writes itself in front.
        r = await add(proxy, auth(issued), **{"X-Forwarded-For": "198.51.100.2"})
        assert r.status_code == 200
        r = await add(proxy, auth(issued), **{"X-Forwarded-For": "198.51.100.2, 198.51.100.1"})
        assert_status(r, 429)


async def test_a_limit_of_zero_never_throttles(settings: Settings, clock: FakeClock) -> None:
    async with started(replace(settings, auth_failure_limit=0), clock=clock) as rt:
        issued = await rt.accounts.create("acme")
        async with client_of(rt) as c:
            await fail(c, issued, 5 * LIMIT)
            assert (await add(c, auth(issued))).status_code == 200
        assert rt.auth_throttle.tracked == 0


async def test_memory_is_bounded_when_addresses_rotate(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_throttle, "MAX_ADDRESSES", 100)
    throttle = rt.auth_throttle
    for i in range(1000):
        for _ in range(LIMIT):
            await throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert throttle.tracked <= 200
    # The newest are kept: the last address is still refused.
    with pytest.raises(auth_throttle.RateLimited):
        throttle.check("10.0.3.231")


# -- the admin token (control API, outbox) ----------------------------------------------


async def test_the_control_api_and_the_outbox_share_the_brake(rt: Runtime) -> None:
    async with client_of(rt) as c, client_of(rt, ip="192.0.2.7") as other:
        for i in range(LIMIT):
            path = "/_ileti/accounts" if i % 2 else "/outbox"
            r = await c.get(path, headers={"Authorization": "Bearer wrong-token-0123456789"})
            assert r.status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        r = await c.get("/_ileti/accounts", headers=right)
        assert (r.status_code, r.json()["error"]["status"]) == (429, 429)
        assert r.headers["retry-after"] == "60"
        r = await c.get("/outbox", headers=right)
        assert (r.status_code, r.headers["retry-after"]) == (429, "60")
        # And v1 from that address too; not another address.
        assert_status(await add(c, {"key": "any", "hash": "any"}), 429)
        assert (await other.get("/_ileti/accounts", headers=right)).status_code == 200


# -- settings ---------------------------------------------------------------------------


def test_settings_are_read_and_checked() -> None:
    found = Settings.from_env(
        {"ILETI_AUTH_FAILURE_LIMIT": "50", "ILETI_AUTH_FAILURE_WINDOW_SECONDS": "300"}
    )
    assert (found.auth_failure_limit, found.auth_failure_window_seconds) == (50, 300.0)
    for variable, value in [
        ("ILETI_AUTH_FAILURE_LIMIT", "-1"),
        ("ILETI_AUTH_FAILURE_LIMIT", "many"),
        ("ILETI_AUTH_FAILURE_WINDOW_SECONDS", "0"),
        ("ILETI_AUTH_FAILURE_WINDOW_SECONDS", "inf"),
    ]:
        with pytest.raises(ConfigError) as error:
            Settings.from_env({variable: value})
        assert error.value.variable == variable


# -- Redis: one limit for every instance -----------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if REQUIRE_REDIS:
            pytest.fail(f"ILETI_TEST_REQUIRE_REDIS is set but Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis tests skipped: no Redis at {REDIS_URL} (set ILETI_TEST_REDIS_URL)")
    yield client
    client.close()


@pytest.fixture
def redis_settings(redis_server: redis.Redis, sqlite_url: str) -> Iterator[Settings]:
    """Real time (Redis keeps the windows), a window of 8 s (long beside the 0.5 s in
    which instances learn of a block, even on a slow machine), a key prefix of the
    test's own, removed afterwards."""
    prefix = f"ileti-test-{uuid.uuid4().hex[:12]}"
    yield Settings(
        database_url=sqlite_url,
        delivery_poll_seconds=0,
        auth_failure_limit=LIMIT,
        auth_failure_window_seconds=8.0,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    keys = list(redis_server.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_server.delete(*keys)


async def test_instances_on_one_redis_share_the_limit(
    redis_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ileti.auth")
    async with started(redis_settings) as one, started(redis_settings) as two:
        assert (one.auth_throttle.backend, two.auth_throttle.backend) == ("redis", "redis")
        issued = await one.accounts.create("acme")
        await two.auth.refresh()
        async with client_of(one) as a, client_of(two) as b:
            await fail(a, issued, LIMIT - 2)
            await fail(b, issued, 2)  # the limit-th failure, on the second instance
            # The first instance learns of the block from Redis.
            await eventually(lambda: _status(a, auth(issued), 429), within=6)
            assert_status(await add(b, auth(issued)), 429)
            # When the window ends, both hear the address again.
            await eventually(lambda: _status(a, auth(issued), 200), within=30)
            await eventually(lambda: _status(b, auth(issued), 200), within=5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and " from 127.0.0.1 " in warnings[0]


async def test_without_redis_each_process_counts_alone(
    redis_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    gone = replace(redis_settings, redis_url="redis://127.0.0.1:1/0")
    caplog.set_level(logging.WARNING, logger="ileti.auth")
    async with started(gone) as rt, client_of(rt) as c:
        issued = await rt.accounts.create("acme")
        await fail(c, issued, LIMIT)
        assert_status(await add(c, auth(issued)), 429)
    assert "Redis unavailable for authentication failures" in caplog.text


async def _status(c: httpx.AsyncClient, authentication: dict[str, str], code: int) -> Any:
    return (await add(c, authentication)).status_code == code
