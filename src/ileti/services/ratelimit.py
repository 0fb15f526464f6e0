"""Per-account rate limits for send-sms, shared by every instance.

The policy: each account may send ``rate`` recipients per second (its own
``rate_limit``, else ``ILETI_RATE_LIMIT``, default 100 as the provider documents), and
an idle account may send up to ``burst`` recipients at once (``ILETI_RATE_LIMIT_BURST``,
default 50,000: one maximal request). That is a token bucket, kept as GCRA (one
"theoretical arrival time" per account); a request larger than the burst needs a full
bucket and empties it. Over the limit: ``429 İstek limiti aşıldı`` with ``Retry-After``
(whole seconds, at least 1), and nothing is taken.

Where the buckets live: Redis when ``ILETI_REDIS_URL`` is set (throttled-py's GCRA, one
Lua script per request, Redis's own clock), else the database (``ileti.store.ratelimits``).
If Redis cannot be reached, the database takes over (a warning is logged, at most once
a minute) and Redis is tried again a few seconds later: limits stay enforced, requests
do not fail because of Redis.

A refused order spends nothing. In the database the limit is taken inside the order's
own transaction, after every other check, so a refusal rolls it back with the rest.
Redis is taken before that transaction (a cheap early 429) and given back when the
order is then refused (402, 451, 452, 503): its arrival time moves back by the cost.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Connection
from throttled.asyncio import RateLimiterType, Throttled
from throttled.asyncio import store as throttled_store
from throttled.exceptions import BaseThrottledError
from throttled.rate_limiter import per_sec

from ileti.clock import SECOND
from ileti.config import Settings
from ileti.errors import RateLimited
from ileti.models import Account
from ileti.store import ratelimits as rate_store

log = logging.getLogger("ileti.ratelimit")

#: After a Redis failure, the database is used for this long before Redis is tried again.
REDIS_RETRY_SECONDS = 5.0
#: A Redis call that takes longer counts as a failure.
REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 60.0

# Moves an account's GCRA arrival time back by a cost (throttled-py keeps it in seconds
# since 2025-01-01 on Redis's clock); at or before now the bucket is simply full.
_GIVE_BACK = """
local interval = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local now = redis.call("TIME")
now = (now[1] - 1735660800) + (now[2] / 1000000)
local tat = tonumber(redis.call("GET", KEYS[1]))
if not tat then return 0 end
local back = tat - cost * interval
if back <= now then
    redis.call("DEL", KEYS[1])
else
    redis.call("SET", KEYS[1], tostring(back), "EX", math.ceil(back - now))
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Reservation:
    """What one send-sms holds of its account's limit before its transaction."""

    account_id: int
    rate: int
    cost: int
    #: Taken from Redis already (to give back on refusal).
    in_redis: bool = False
    #: To take in the database, inside the order's transaction.
    in_database: rate_store.Take | None = None


class RateLimiter:
    """The send-sms limit of every account: ``reserve`` before the order's transaction,
    ``take`` inside it, ``give_back`` when the order was refused."""

    def __init__(self, settings: Settings) -> None:
        self._default = settings.rate_limit
        self._burst = settings.rate_limit_burst
        self._redis: Any = None
        self._throttles: dict[int, Throttled] = {}
        self._prefix = f"{settings.redis_prefix}:ratelimit"
        self._redis_down_until = 0.0
        self._warned_at = -math.inf
        self._give_back_script: Any = None
        if settings.redis_url:
            self._redis = throttled_store.RedisStore(
                server=settings.redis_url,
                options={
                    "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                    "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                },
            )

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "database"

    def rate_of(self, account: Account) -> int:
        """Recipients per second for this account; 0: not limited."""
        return account.rate_limit or self._default

    async def reserve(self, account: Account, recipients: int) -> Reservation | None:
        """None when the account is not limited. With Redis up, the recipients are taken
        now (RateLimited if they cannot be); otherwise the reservation says what the
        order's transaction must take."""
        rate = self.rate_of(account)
        if rate <= 0 or recipients <= 0:
            return None
        cost = min(recipients, self._burst)
        wait = await self._take_redis(account.id, cost, rate)
        if wait is None:
            take = rate_store.Take(account.id, cost, rate, self._burst)
            return Reservation(account.id, rate, cost, in_database=take)
        if wait > 0:
            raise _limited(account.id, recipients, rate, wait)
        return Reservation(account.id, rate, cost, in_redis=True)

    def take(self, conn: Connection, reservation: Reservation | None, now: int) -> None:
        """Inside the order's transaction: take what the database must hold, or
        RateLimited (and the transaction is rolled back)."""
        if reservation is None or reservation.in_database is None:
            return
        wait_us = rate_store.take(conn, reservation.in_database, now)
        if wait_us > 0:
            raise _limited(
                reservation.account_id, reservation.cost, reservation.rate, wait_us / SECOND
            )

    async def give_back(self, reservation: Reservation | None) -> None:
        """After a refused order: return what Redis holds for it (best effort: if Redis
        is gone, the bucket refills by itself)."""
        if reservation is None or not reservation.in_redis or self._redis is None:
            return
        throttle = self._throttle(reservation.rate)
        key = throttle.limiter._prepare_key(_key(reservation.account_id))
        interval = 1.0 / reservation.rate
        try:
            if self._give_back_script is None:
                client = self._redis._backend.get_client()
                self._give_back_script = client.register_script(_GIVE_BACK)
            await self._give_back_script(keys=[key], args=[interval, reservation.cost])
        except (RedisError, OSError) as exc:
            self._warn(exc)

    def _throttle(self, rate: int) -> Throttled:
        throttle = self._throttles.get(rate)
        if throttle is None:
            throttle = Throttled(
                using=RateLimiterType.GCRA.value,
                quota=per_sec(rate, burst=self._burst),
                store=self._redis,
                key_prefix=self._prefix,
            )
            self._throttles[rate] = throttle
        return throttle

    async def _take_redis(self, account_id: int, cost: int, rate: int) -> float | None:
        """Seconds to wait (0: taken); None when Redis is not configured or is down."""
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return None
        try:
            result = await self._throttle(rate).limit(_key(account_id), cost=cost)
        except (BaseThrottledError, RedisError, OSError) as exc:
            self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            self._warn(exc)
            return None
        if not result.limited:
            return 0.0
        return max(result.state.retry_after, 1e-6)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "Redis rate limits unavailable (%s: %s); using the database for %.0f s",
                type(exc).__name__,
                exc.__cause__ or exc,
                REDIS_RETRY_SECONDS,
            )

    async def close(self) -> None:
        """Close the Redis connections (if any)."""
        backend = getattr(self._redis, "_backend", None)
        client = getattr(backend, "_client", None)
        if client is not None:
            # throttled-py creates the client lazily and offers no close of its own.
            with contextlib.suppress(Exception):
                await client.aclose()
            backend._client = None
            self._give_back_script = None


def _key(account_id: int) -> str:
    return f"account:{account_id}"


def _limited(account_id: int, recipients: int, rate: int, wait_seconds: float) -> RateLimited:
    return RateLimited(
        max(1, math.ceil(wait_seconds)),
        f"account {account_id}: {recipients} recipients over {rate}/s",
    )
