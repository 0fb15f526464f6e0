"""The built-in simulated carrier: what happens to a message after send-sms accepted it.

Every instance runs one background loop. Each round it asks the database (a read, so
an idle instance takes no write lock) whether anything is due, and if so, through the
durable writer:

1. **dispatches** due orders (not cancelled, ``send_at`` passed: at once for an
   ordinary order, at its time for a scheduled one): the order is marked dispatched,
   its waiting (110) messages get a due time ``ILETI_DELIVERY_DELAY`` seconds ahead,
   and an "accepted" webhook is queued for each;
2. **finalises** due messages: 111 delivered, except for the documented test numbers:
   ``ILETI_UNDELIVERED_NUMBERS`` end 112 (reason ``undelivered``) and
   ``ILETI_PENDING_NUMBERS`` stay 110 for ever; a "delivered" / "undelivered" webhook
   is queued for each.

State lives only in the database and each step is one transaction that claims its
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several instances share the work,
nothing is dispatched twice, and a restarted instance carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ileti.clock import SECOND, now_us
from ileti.config import Settings
from ileti.store import Store
from ileti.store import delivery as delivery_store

log = logging.getLogger("ileti.delivery")

#: Orders dispatched, messages finalised, per transaction.
DISPATCH_BATCH = 100
FINALISE_BATCH = 2_000


class Poller:
    """Runs ``step`` every ``interval`` seconds in a background task; again at once when
    the step reports more work waiting. Stopping lets the current step finish (up to
    ``grace`` seconds), so no claimed work is left half done."""

    def __init__(
        self, name: str, step: Callable[[], Awaitable[bool]], *, interval: float, grace: float
    ) -> None:
        self._name = name
        self._step = step
        self._interval = interval
        self._grace = grace
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._interval > 0:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                more = await self._step()
            except Exception as exc:  # the database may be down for a moment
                log.warning("%s: %s", self._name, exc)
                more = False
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._interval)


class Carrier:
    """The simulated carrier of one instance."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._delay = int(settings.delivery_delay_seconds * SECOND)
        self._undelivered = settings.undelivered_numbers
        self._pending = settings.pending_numbers
        self._poller = Poller(
            "ileti-delivery", self.step, interval=settings.delivery_poll_seconds, grace=30.0
        )

    async def step(self) -> bool:
        """One round: dispatch due orders, finalise due messages. True when a batch was
        full (more may be waiting)."""
        now = now_us()
        if not await self._store.read(delivery_store.pending_work, now):
            return False
        orders = await self._store.write(
            delivery_store.dispatch,
            delivery_store.Dispatch(now=now, delay=self._delay, limit=DISPATCH_BATCH),
        )
        finalised = await self._store.write(
            delivery_store.finalise,
            delivery_store.Finalise(
                now=now,
                limit=FINALISE_BATCH,
                undelivered=self._undelivered,
                pending=self._pending,
            ),
        )
        return orders >= DISPATCH_BATCH or finalised >= FINALISE_BATCH

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
