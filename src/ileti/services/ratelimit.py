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
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Any

from redis.exceptions import RedisError
from throttled.asyncio import RateLimiterType, Throttled
from throttled.asyncio import store as throttled_store
from throttled.exceptions import BaseThrottledError
from throttled.rate_limiter import per_sec

from ileti.config import Settings
from ileti.errors import RateLimited
from ileti.models import Account
from ileti.store import Store
from ileti.store import ratelimits as rate_store

log = logging.getLogger("ileti.ratelimit")

#: After a Redis failure, the database is used for this long before Redis is tried again.
REDIS_RETRY_SECONDS = 5.0
#: A Redis call that takes longer counts as a failure.
REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 60.0


class RateLimiter:
    """An async callable ``(account, recipients)`` for SendingService's ``limiter``."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._store = store
        self._default = settings.rate_limit
        self._burst = settings.rate_limit_burst
        self._redis: Any = None
        self._throttles: dict[int, Throttled] = {}
        self._prefix = f"{settings.redis_prefix}:ratelimit"
        self._redis_down_until = 0.0
        self._warned_at = -math.inf
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

    async def __call__(self, account: Account, recipients: int) -> None:
        rate = self.rate_of(account)
        if rate <= 0 or recipients <= 0:
            return
        cost = min(recipients, self._burst)
        wait = await self._take_redis(account, cost, rate)
        if wait is None:
            wait_us = await self._store.write(
                rate_store.take, rate_store.Take(account.id, cost, rate, self._burst)
            )
            wait = wait_us / 1_000_000
        if wait > 0:
            raise RateLimited(
                max(1, math.ceil(wait)),
                f"account {account.id}: {recipients} recipients over {rate}/s",
            )

    async def _take_redis(self, account: Account, cost: int, rate: int) -> float | None:
        """Seconds to wait (0: taken); None when Redis is not configured or is down."""
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return None
        throttle = self._throttles.get(rate)
        if throttle is None:
            throttle = Throttled(
                using=RateLimiterType.GCRA.value,
                quota=per_sec(rate, burst=self._burst),
                store=self._redis,
                key_prefix=self._prefix,
            )
            self._throttles[rate] = throttle
        try:
            result = await throttle.limit(f"account:{account.id}", cost=cost)
        except (BaseThrottledError, RedisError, OSError) as exc:
            self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning(
                    "Redis rate limits unavailable (%s: %s); using the database for %.0f s",
                    type(exc).__name__,
                    exc.__cause__ or exc,
                    REDIS_RETRY_SECONDS,
                )
            return None
        if not result.limited:
            return 0.0
        return max(result.state.retry_after, 1e-6)

    async def close(self) -> None:
        """Close the Redis connections (if any)."""
        backend = getattr(self._redis, "_backend", None)
        client = getattr(backend, "_client", None)
        if client is not None:
            # throttled-py creates the client lazily and offers no close of its own.
            with contextlib.suppress(Exception):
                await client.aclose()
            backend._client = None
