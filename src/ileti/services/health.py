"""Readiness: can this instance serve, i.e. read and durably write its database?

``GET /healthz`` asks :meth:`HealthCheck.check`. A check reads (``SELECT 1`` on the
read pool) and writes: a probe (``store/health.py``) goes through the durable writer like
every write of a request, in the writer's next transaction, and counts only once that
transaction committed. The probe needs fresh space, so a full disk or database fails it,
as it fails real writes; so does a database that is unreachable, read-only, or a writer
that does not commit within ``TIMEOUT_SECONDS``.

Checks are cheap for a load balancer that polls: one answer is reused for
``max_age`` seconds (1 s), and callers arriving while a probe runs share it. Changes
of state are logged once (``ileti.health``): a warning when the instance becomes
unhealthy, an info line when it is healthy again.

``GET /livez`` (liveness) is not here: it does no I/O at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from ileti.clock import Clock
from ileti.logs import printable
from ileti.store import Store
from ileti.store import health as health_store

log = logging.getLogger("ileti.health")

#: A probe that has not committed by then makes the instance unhealthy.
TIMEOUT_SECONDS = 2.0
#: How long one answer is reused.
MAX_AGE_SECONDS = 1.0
#: Characters of a database error shown in the answer.
_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Health:
    """What a check found: ``problem`` says what failed (None: healthy)."""

    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _failure(what: str, exc: BaseException) -> str:
    return f"{what}: {printable(str(exc) or type(exc).__name__, _SHOWN)}"


class HealthCheck:
    def __init__(self, store: Store, *, clock: Clock, max_age: float = MAX_AGE_SECONDS) -> None:
        self._store = store
        self._clock = clock
        self.max_age = max_age
        #: Names this instance's probe row.
        self.instance = uuid.uuid4().hex
        self._last: Health | None = None
        self._last_at = 0.0
        self._running: asyncio.Future[Health] | None = None
        self._started_at = 0.0
        self._healthy = True

    async def check(self) -> Health:
        """The instance's health, at most ``max_age`` seconds old."""
        now = time.monotonic()
        if self._last is not None and now - self._last_at < self.max_age:
            return self._last
        if self._running is None:
            self._started_at = now
            self._running = asyncio.ensure_future(self._probe())
            self._running.add_done_callback(self._finished)
        remaining = TIMEOUT_SECONDS - (now - self._started_at)
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), max(remaining, 0.0))
        except TimeoutError:
            found = Health(f"cannot write: no commit within {TIMEOUT_SECONDS:g} s")
            self._report(found)
            return found

    def _finished(self, future: asyncio.Future[Health]) -> None:
        self._running = None
        if future.cancelled():
            return
        error = future.exception()
        self._last = future.result() if error is None else Health(_failure("cannot check", error))
        self._last_at = time.monotonic()
        self._report(self._last)

    async def _probe(self) -> Health:
        read, write = await asyncio.gather(
            self._store.read(self._store.ping_conn), self._write(), return_exceptions=True
        )
        if isinstance(write, BaseException):
            return Health(_failure("cannot write", write))
        if isinstance(read, BaseException):
            return Health(_failure("cannot read", read))
        return Health()

    async def _write(self) -> None:
        instance, now = self.instance, self._clock.now_us()
        await self._store.transaction(lambda conn: health_store.probe(conn, instance, now))

    def _report(self, found: Health) -> None:
        if found.ok and not self._healthy:
            log.info("healthy again: the database can be read and written")
        elif not found.ok and self._healthy:
            log.warning("unhealthy: %s", found.problem)
        self._healthy = found.ok
