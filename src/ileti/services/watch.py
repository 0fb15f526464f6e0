"""Waiting for new outbox messages: one watcher per running instance.

While at least one request waits, a background task probes the newest message id (the
primary key's last entry) every ``interval`` seconds and wakes every waiter when it
changes; each waiter then runs its own search again. While nobody waits the task sleeps
and reads nothing, and a waiting request costs no database work until something
changes. Messages stored by another instance (another process on the same database)
are seen the same way, within one interval.

On PostgreSQL two instances may commit out of id order: B's message 100 can be seen
while A's 99 is still being written. So when the newest id jumps by more than one, the
watcher also counts the ids of that range (the newest ``window`` of them) at every
probe, for up to ``settle`` seconds or until the range is full, and wakes the waiters
again when a late message appears in it.

Each waiter gets a *floor* with every retry: the highest id such that every message
at or below it was visible before the retry began (the newest id, or the bottom of the
oldest range still filling). A search that found nothing need not look at or below its
floor again, so a retry costs what the new messages cost, however large the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from ileti.store import Store
from ileti.store import outbox as outbox_store

log = logging.getLogger("ileti.watch")

T = TypeVar("T")

#: Seconds between probes while someone waits.
INTERVAL = 0.02
#: Waits at once per scope (one account, or the admin's every-account view).
PER_SCOPE = 50
#: How long a range of ids with a hole is watched for late commits, and how deep.
SETTLE = 3.0
WINDOW = 5000
#: How long stopping waits for the waiters to leave.
GRACE = 2.0


class WaitRefused(Exception):
    """Too many waits at once for one scope."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} waits at once per account; wait for one to end")
        self.limit = limit


class WatcherClosed(Exception):
    """The instance is stopping: no wait starts or goes on."""

    def __init__(self) -> None:
        super().__init__("the server is shutting down")


@dataclass(slots=True)
class _Range:
    """Ids (low, high] that appeared with holes: a late commit may still fill one."""

    low: int
    high: int
    count: int
    until: float


#: ``check(floor)``: the awaited value, or None to go on waiting. ``floor``: None on the
#: first call; then every message with an id at or below it was already looked at.
Check = Callable[[int | None], Awaitable[T | None]]


class OutboxWatcher:
    def __init__(
        self,
        store: Store,
        *,
        interval: float = INTERVAL,
        per_scope: int = PER_SCOPE,
        settle: float = SETTLE,
        window: int = WINDOW,
    ) -> None:
        self._store = store
        self._interval = interval
        self._per_scope = per_scope
        self._settle = settle
        self._window = window
        self._waits: Counter[Hashable] = Counter()
        self._newest: int | None = None
        self._ranges: list[_Range] = []
        self._settled: int | None = None
        #: Bumped when the newest id goes down (messages deleted): floors start over.
        self._epoch = 0
        self._changed = asyncio.Event()
        self._demand = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._probing = asyncio.Lock()
        self._probed_at: float | None = None
        #: Probes run so far (tests check that an idle watcher reads nothing).
        self.probes = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._closed = False
            self._demand.clear()
            self._task = asyncio.create_task(self._run(), name="ileti-outbox-watch")

    async def stop(self) -> None:
        """End every wait (WatcherClosed), then the task."""
        self._closed = True
        self._wake()
        self._demand.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), GRACE)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- waiting -----------------------------------------------------------------------

    def waiting(self, scope: Hashable) -> int:
        return self._waits[scope]

    async def wait_for(self, scope: Hashable, timeout: float, check: Check[T]) -> T | None:
        """``check`` now and after every change until it gives a value (returned) or
        ``timeout`` seconds pass (None). WaitRefused beyond ``per_scope`` waits at once
        for ``scope``; WatcherClosed when the instance stops."""
        if self._closed:
            raise WatcherClosed()
        if self._waits[scope] >= self._per_scope:
            raise WaitRefused(self._per_scope)
        self._waits[scope] += 1
        self._idle.clear()
        self._demand.set()
        try:
            await self._fresh()
            return await self._loop(timeout, check)
        finally:
            self._waits[scope] -= 1
            if self._waits[scope] <= 0:
                del self._waits[scope]
            if not self._waits:
                self._demand.clear()
                self._idle.set()

    async def _loop(self, timeout: float, check: Check[T]) -> T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        floor: int | None = None
        epoch = self._epoch
        while True:
            changed, settled = self._changed, self._settled
            if self._epoch != epoch:
                floor, epoch = None, self._epoch
            found = await check(floor)
            if found is not None:
                return found
            if self._closed:
                raise WatcherClosed()
            if settled is not None:
                floor = settled if floor is None else max(floor, settled)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return None
            if self._closed:
                raise WatcherClosed()

    def _wake(self) -> None:
        woken, self._changed = self._changed, asyncio.Event()
        woken.set()

    # -- probing -----------------------------------------------------------------------

    async def _fresh(self) -> None:
        """Probe now unless the task just did: a wait's first search then comes after
        a probe, so the next probe wakes it only for what changed since."""
        now = asyncio.get_running_loop().time()
        if self._probed_at is None or now - self._probed_at > self._interval:
            await self._probe()

    async def _run(self) -> None:
        failing = False  # warned once per outage, not every interval
        while not self._closed:
            if not self._waits:
                await self._demand.wait()
                continue
            try:
                await self._probe()
            except Exception as exc:  # the database may be down for a moment
                if not failing:
                    log.warning("outbox watcher: %s", exc)
                failing = True
            else:
                failing = False
            await asyncio.sleep(self._interval)

    async def _probe(self) -> None:
        async with self._probing:
            await self._probe_once()

    async def _probe_once(self) -> None:
        newest = await self._store.read(outbox_store.newest_id)
        self.probes += 1
        now = asyncio.get_running_loop().time()
        self._probed_at = now
        previous = self._newest
        woke = newest != previous
        if previous is not None and newest < previous:  # messages were deleted
            self._ranges.clear()
            self._epoch += 1
        else:
            woke = await self._recount(now) or woke
            if newest != previous:
                await self._hold(previous or 0, newest, now)
        self._newest = newest
        self._settled = min((r.low for r in self._ranges), default=newest)
        if woke:
            self._wake()

    async def _hold(self, previous: int, newest: int, now: float) -> None:
        """Keep watching the new ids (the newest ``window``) if some are missing."""
        low = max(previous, newest - self._window)
        if newest - low > 1:
            count = await self._store.read(outbox_store.count_between, low, newest)
            if count < newest - low:
                self._ranges.append(_Range(low, newest, count, now + self._settle))

    async def _recount(self, now: float) -> bool:
        """Count again the ranges with holes; whether a late message filled one."""
        filled = False
        for held in list(self._ranges):
            count = await self._store.read(outbox_store.count_between, held.low, held.high)
            filled = filled or count > held.count
            held.count = count
            if count >= held.high - held.low or now > held.until:
                self._ranges.remove(held)
        return filled
