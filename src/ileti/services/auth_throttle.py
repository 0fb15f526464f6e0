"""A brake on guessing credentials: too many authentication failures from one client
address, and that address is answered 429 for the rest of the window.

The rule: an address's window opens with its first failure and lasts
``ILETI_AUTH_FAILURE_WINDOW_SECONDS`` (default 60). Its first
``ILETI_AUTH_FAILURE_LIMIT`` failures (default 20) are ordinary 401s, the same bytes
whatever the cause; from then until the window ends, every request from it, with right
credentials or wrong ones, is answered ``429 İstek limiti aşıldı`` with ``Retry-After``
(the seconds left), and its credentials are not even looked at. A success neither counts
nor resets anything. Requests answered 429 are not failures. The operator gets one
warning line per address per window (logger ``ileti.auth``), when it reaches the limit:
the address and the count, nothing of the credentials. ``0`` turns the brake off.

"The address" is the client's, as ileti determines it (``api/address.py``: the peer, or
``X-Forwarded-For`` from a trusted proxy).

Where the counts live: Redis when ``ILETI_REDIS_URL`` is set, so that every instance and
worker counts towards one limit (one ``INCR`` per failure, with the window as its
expiry; an address that reaches the limit is put in a sorted set that every instance
reads twice a second, so the others refuse it too); otherwise in the process (each
worker counts alone). If Redis cannot be reached the process counts alone (a warning,
at most once a minute) and Redis is tried again 5 s later.

The hot path, a request with right credentials while no address is blocked (here, or
in Redis as last read), costs one attribute test: the address is not even worked out.
In the process at most ``MAX_ADDRESSES`` addresses are counted and as many blocked;
past that the oldest windows are forgotten, so an attacker who rotates addresses cannot
grow memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ileti.clock import SECOND, Clock
from ileti.config import Settings
from ileti.errors import RateLimited
from ileti.logs import printable

log = logging.getLogger("ileti.auth")

#: Addresses counted (and, separately, blocked) in one process at most.
MAX_ADDRESSES = 50_000
#: How often an instance reads the addresses blocked in Redis.
POLL_SECONDS = 0.5
#: After a Redis failure, the process counts alone for this long.
REDIS_RETRY_SECONDS = 5.0
#: A Redis call that takes longer counts as a failure.
REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 60.0
#: Characters of an address shown in a log line.
_SHOWN_ADDRESS = 64
#: Characters of an address kept as its name (an X-Forwarded-For hop can be anything).
_KEPT = 128

# KEYS[1] the address's count, KEYS[2] the blocked set; ARGV: window (ms), limit,
# address. Returns the count and the milliseconds left in the window.
_FAILED = """
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
local left = redis.call("PTTL", KEYS[1])
if left < 0 then
    redis.call("PEXPIRE", KEYS[1], ARGV[1])
    left = tonumber(ARGV[1])
end
if n >= tonumber(ARGV[2]) then
    local t = redis.call("TIME")
    local now = t[1] * 1000 + math.floor(t[2] / 1000)
    redis.call("ZADD", KEYS[2], now + left, ARGV[3])
    redis.call("PEXPIRE", KEYS[2], ARGV[1])
end
return {n, left}
"""

# KEYS[1] the blocked set; ARGV[1] at most this many. Returns address, ms left, ...
_BLOCKED = """
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local found = redis.call("ZRANGE", KEYS[1], 0, tonumber(ARGV[1]) - 1, "WITHSCORES")
local out = {}
for i = 1, #found, 2 do
    out[#out + 1] = found[i]
    out[#out + 1] = tostring(tonumber(found[i + 1]) - now)
end
return out
"""


class AuthThrottle:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        limit: int | None = None,
        window_seconds: float | None = None,
        name: str = "authfail",
    ) -> None:
        """The v1 brake by default; ``limit``, ``window_seconds`` and ``name`` (its Redis
        keys) make another (the panel's login brake counts e-mails and addresses)."""
        self.limit = settings.auth_failure_limit if limit is None else limit
        window = settings.auth_failure_window_seconds if window_seconds is None else window_seconds
        self.window_us = round(window * SECOND)
        self._clock = clock
        #: address -> (window start, failures), oldest window first.
        self._windows: dict[str, tuple[int, int]] = {}
        #: address -> end of its block.
        self._blocked: dict[str, int] = {}
        #: Whether any address may be blocked: the one test on the hot path.
        self.blocking = False
        self._next_purge = 0
        self._redis: Redis | None = None
        self._prefix = f"{settings.redis_prefix}:{name}"
        self._redis_down_until = 0.0
        self._warned_at = -math.inf
        self._task: asyncio.Task[None] | None = None
        self._scripts: dict[str, Any] = {}
        if settings.redis_url and self.limit > 0:
            self._redis = Redis.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "process"

    @property
    def tracked(self) -> int:
        """Addresses this process holds (counted and blocked)."""
        return len(self._windows) + len(self._blocked)

    # -- the two calls of an authentication ------------------------------------------

    def check(self, address: str | None) -> None:
        """RateLimited when ``address`` is blocked (call only while ``blocking``)."""
        now = self._clock.now_us()
        if now >= self._next_purge:
            self._purge(now)
        until = self._blocked.get(address[:_KEPT] if address is not None else "")
        if until is not None and now < until:
            raise _limited(address or "", until - now)

    def _purge(self, now: int) -> None:
        """Forget the blocks that ended (at most once a second)."""
        self._next_purge = now + SECOND
        for address in [a for a, until in self._blocked.items() if until <= now]:
            del self._blocked[address]
        self.blocking = bool(self._blocked)

    async def failed(self, address: str | None) -> None:
        """Count a failure of ``address``; RateLimited when it was already over the limit
        (another instance's failures, or requests that were under way together)."""
        if not self.enabled or address is None:
            return
        address = address[:_KEPT]
        counted = await self._count_redis(address)
        if counted is None:
            counted = self._count_here(address)
        failures, left_us = counted
        if failures < self.limit:
            return
        self._block(address, self._clock.now_us() + left_us)
        if failures == self.limit:
            log.warning(
                "%d authentication failures from %s within %g s: its requests are answered "
                "429 for %d s",
                failures,
                printable(address, _SHOWN_ADDRESS),
                self.window_us / SECOND,
                max(1, math.ceil(left_us / SECOND)),
            )
            return
        raise _limited(address, left_us)

    # -- in the process ---------------------------------------------------------------

    def _count_here(self, address: str) -> tuple[int, int]:
        now = self._clock.now_us()
        start, failures = self._windows.get(address, (0, 0))
        if failures == 0 or now - start >= self.window_us:
            self._windows.pop(address, None)  # a new window goes to the end: newest
            start, failures = now, 0
            while len(self._windows) >= MAX_ADDRESSES:
                del self._windows[next(iter(self._windows))]
        self._windows[address] = (start, failures + 1)
        return failures + 1, start + self.window_us - now

    def _block(self, address: str, until: int) -> None:
        if address not in self._blocked:
            while len(self._blocked) >= MAX_ADDRESSES:
                del self._blocked[next(iter(self._blocked))]
        self._blocked[address] = until
        self.blocking = True

    # -- in Redis ---------------------------------------------------------------------

    def _script(self, name: str, source: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            assert self._redis is not None
            script = self._scripts[name] = self._redis.register_script(source)
        return script

    def _redis_up(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._redis_down_until

    async def _count_redis(self, address: str) -> tuple[int, int] | None:
        """(failures, microseconds left in the window); None: count in the process."""
        if not self._redis_up():
            return None
        window_ms = max(1, self.window_us // 1000)
        keys = [f"{self._prefix}:{address}", f"{self._prefix}:blocked"]
        try:
            failures, left_ms = await self._script("failed", _FAILED)(
                keys=keys, args=[window_ms, self.limit, address]
            )
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            return None
        return int(failures), int(left_ms) * 1000

    async def refresh(self) -> None:
        """Take the addresses blocked in Redis (by any instance) as blocked here."""
        if not self._redis_up():
            return
        try:
            found = await self._script("blocked", _BLOCKED)(
                keys=[f"{self._prefix}:blocked"], args=[MAX_ADDRESSES]
            )
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            return
        now = self._clock.now_us()
        for i in range(0, len(found), 2):
            address = found[i].decode() if isinstance(found[i], bytes) else str(found[i])
            left_ms = float(found[i + 1])
            if left_ms > 0:
                self._block(address, now + round(left_ms * 1000))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.refresh()
            except Exception as exc:  # never let the loop die
                log.warning("could not read blocked addresses: %s", exc)

    def _redis_failed(self, exc: BaseException) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "Redis unavailable for authentication failures (%s: %s); counting in this "
                "process for %.0f s",
                type(exc).__name__,
                exc,
                REDIS_RETRY_SECONDS,
            )

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._redis is not None and self._task is None:
            self._task = asyncio.create_task(self._poll(), name="ileti-auth-throttle")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._scripts.clear()


def _limited(address: str, left_us: int) -> RateLimited:
    return RateLimited(
        max(1, math.ceil(left_us / SECOND)), f"authentication failures from {address}"
    )
