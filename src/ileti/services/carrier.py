"""The built-in simulated carrier: what happens to a message after send-sms accepted it.

Every instance runs one background loop. Each round it asks the database (a read, so
an idle instance takes no write lock) whether anything is due, and if so, in
transactions of the durable writer:

1. **dispatches** due orders (not cancelled, ``send_at`` passed: at once for an
   ordinary order, at its time for a scheduled one): the order is marked dispatched,
   its waiting (110) messages get a due time ``ILETI_DELIVERY_DELAY`` seconds ahead,
   and an "accepted" webhook is queued for each;
2. **finalises** due messages by the carrier's policy: first the recipient fault rules
   (``services/faults.py``: 112 with reason ``fault``, or 110 for ever), then
   ``outcome``: 111 delivered, except for the documented test numbers:
   ``ILETI_UNDELIVERED_NUMBERS`` end 112 (reason ``undelivered``) and
   ``ILETI_PENDING_NUMBERS`` stay 110 for ever; a "delivered" / "undelivered" webhook
   is queued for each.

The store only hands over due work and applies the outcomes given; state lives only in
the database and each step is one transaction that claims its rows (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so several instances share the work, nothing is dispatched
twice, and a restarted instance carries on where it stopped. Time is read from the
runtime's clock, so tests advance it and call ``step`` instead of sleeping.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from ileti.clock import SECOND, SYSTEM, Clock
from ileti.config import Settings
from ileti.errors import Code
from ileti.services.faults import FAULT_REASON, recipient_faults
from ileti.services.poller import Poller
from ileti.store import Store
from ileti.store import carrier as carrier_store
from ileti.store import webhooks as webhook_store

#: Orders dispatched, messages finalised, per transaction.
DISPATCH_BATCH = 100
FINALISE_BATCH = 2_000
#: Why a message the carrier could not deliver was not delivered.
UNDELIVERED_REASON = "undelivered"


class Carrier:
    """The simulated carrier of one instance."""

    def __init__(self, store: Store, settings: Settings, *, clock: Clock = SYSTEM) -> None:
        self._store = store
        self._clock = clock
        self._delay = int(settings.delivery_delay_seconds * SECOND)
        self._undelivered = frozenset(settings.undelivered_numbers)
        self._pending = frozenset(settings.pending_numbers)
        #: Draws for fault rules with a probability (tests may fix it).
        self.chance: Callable[[], float] = random.random
        self._poller = Poller(
            "ileti-delivery", self.step, interval=settings.delivery_poll_seconds, grace=30.0
        )

    def outcome(self, recipient: str) -> Code | None:
        """The final status of a message to ``recipient`` (E.164): 111, 112 for the
        always-undelivered test numbers, None (stays 110) for the always-pending ones."""
        if recipient in self._undelivered:
            return Code.UNDELIVERED
        if recipient in self._pending:
            return None
        return Code.DELIVERED

    async def step(self) -> bool:
        """One round: dispatch due orders, finalise due messages. True when a batch was
        full (more may be waiting)."""
        now = self._clock.now_us()
        if not await self._store.read(carrier_store.pending_work, now):
            return False
        orders = await self._store.transaction(functools.partial(self._dispatch, now))
        finalised = await self._store.transaction(functools.partial(self._finalise, now))
        return orders >= DISPATCH_BATCH or finalised >= FINALISE_BATCH

    def _dispatch(self, now: int, conn: Connection) -> int:
        ids = carrier_store.claim_due_orders(conn, now, limit=DISPATCH_BATCH)
        if ids:
            carrier_store.mark_dispatched(conn, ids, now=now, due_at=now + self._delay)
            webhook_store.queue_accepted(conn, ids, now)
        return len(ids)

    def _finalise(self, now: int, conn: Connection) -> int:
        due = carrier_store.claim_due_messages(conn, now, limit=FINALISE_BATCH)
        self._apply(conn, due, now)
        return len(due)

    def _apply(self, conn: Connection, due: Sequence[tuple[int, str, int]], now: int) -> None:
        """Each message's final status by the policy (recipient fault rules first, then
        ``outcome``), and its webhook queued."""
        faults = recipient_faults(conn, sorted({a for _m, _r, a in due}), now, self.chance)
        delivered: list[int] = []
        undelivered: list[int] = []
        faulted: list[int] = []
        pending: list[int] = []
        for message_id, recipient, account_id in due:
            forced = faults.outcome(account_id, recipient)
            status = forced if forced is not None else self.outcome(recipient)
            if status is Code.DELIVERED:
                delivered.append(message_id)
            elif status is Code.UNDELIVERED:
                (faulted if forced is not None else undelivered).append(message_id)
            else:
                pending.append(message_id)
        carrier_store.set_status(conn, delivered, int(Code.DELIVERED), None, now)
        carrier_store.set_status(conn, undelivered, int(Code.UNDELIVERED), UNDELIVERED_REASON, now)
        carrier_store.set_status(conn, faulted, int(Code.UNDELIVERED), FAULT_REASON, now)
        carrier_store.keep_waiting(conn, pending, now)
        webhook_store.queue_final(conn, delivered + undelivered + faulted, now)

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
