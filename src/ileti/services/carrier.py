"""The built-in simulated carrier: what happens to a message after send-sms accepted it.

Every instance runs one background loop. Each round it asks the database (a read, so
an idle instance takes no write lock) whether anything is due, and if so, in
transactions of the durable writer:

1. **dispatches** due orders (not cancelled, ``send_at`` passed: at once for an
   ordinary order, at its time for a scheduled one): the order is marked dispatched,
   its waiting (110) messages get a due time by the account's delivery mode
   (``ILETI_DELIVERY_DELAY`` seconds ahead by default; ``delay``: its own seconds;
   ``polls`` and ``manual``: held, not on the clock), and an "accepted" webhook is
   queued for each;
2. **finalises** due messages by the carrier's policy: first the recipient fault rules
   (``services/faults.py``: 112 with reason ``fault``, or 110 for ever), then
   ``outcome``: 111 delivered, except for the documented test numbers:
   ``ILETI_UNDELIVERED_NUMBERS`` end 112 (reason ``undelivered``) and
   ``ILETI_PENDING_NUMBERS`` stay 110 for ever; a "delivered" / "undelivered" webhook
   is queued for each. Held messages of a ``polls`` account are finalised once their
   order's get-report was polled that many times; ``advance`` (the control API's
   ``/_ileti/advance``, ``ileti advance``) dispatches and finalises on demand.

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
from dataclasses import dataclass

from sqlalchemy import Connection

from ileti.clock import SECOND, SYSTEM, Clock
from ileti.config import Settings
from ileti.errors import Code
from ileti.services.faults import FAULT_REASON, recipient_faults
from ileti.services.poller import Poller
from ileti.store import Store
from ileti.store import carrier as carrier_store
from ileti.store import webhooks as webhook_store
from ileti.values import MAX_ID

#: Orders dispatched, messages finalised, per transaction.
DISPATCH_BATCH = 100
FINALISE_BATCH = 2_000
#: Why a message the carrier could not deliver was not delivered.
UNDELIVERED_REASON = "undelivered"


#: Delivery modes an account may choose ("default": the server's ILETI_DELIVERY_DELAY).
DELIVERY_MODES = ("delay", "polls", "manual", "default")
#: Bounds of ``after``: seconds for "delay", polls for "polls".
MAX_DELAY_SECONDS = 24 * 3600.0
MAX_POLLS = 1_000


class DeliveryError(ValueError):
    """A delivery setting or an advance that cannot be carried out; ``field`` names the
    input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_delivery(mode: str, after: float | None) -> tuple[str | None, float | None]:
    """(mode, after) as stored (NULLs for "default"); DeliveryError naming the field."""
    if mode not in DELIVERY_MODES:
        raise DeliveryError(f"one of {', '.join(DELIVERY_MODES)}", "mode")
    if mode in ("manual", "default"):
        if after is not None:
            raise DeliveryError(f"not for mode {mode}", "after")
        return (None if mode == "default" else mode), None
    if after is None:
        raise DeliveryError(f"mode {mode} needs after", "after")
    if mode == "delay" and not 0 <= after <= MAX_DELAY_SECONDS:
        raise DeliveryError(f"seconds from 0 to {MAX_DELAY_SECONDS:g}", "after")
    if mode == "polls" and (after != int(after) or not 1 <= after <= MAX_POLLS):
        raise DeliveryError(f"a whole number of polls from 1 to {MAX_POLLS}", "after")
    return mode, float(after)


@dataclass(frozen=True)
class Advanced:
    """What an advance (or one round of finalising) moved."""

    orders: int  # dispatched
    messages: int  # looked at
    delivered: int
    undelivered: int
    waiting: int  # still 110 (the carrier's policy keeps them)

    def dispatched(self, orders: int) -> Advanced:
        return Advanced(orders, self.messages, self.delivered, self.undelivered, self.waiting)


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

    def _due_at(self, now: int, mode: str | None, after: float | None) -> int:
        """When a dispatched order's messages get their final status, by its account's
        delivery mode (``HELD``: not on the clock)."""
        if mode == "delay" and after is not None:
            return now + int(after * SECOND)
        if mode in ("polls", "manual"):
            return carrier_store.HELD
        return now + self._delay

    def _dispatch(self, now: int, conn: Connection) -> int:
        ids = carrier_store.claim_due_orders(conn, now, limit=DISPATCH_BATCH)
        if ids:
            by_due: dict[int, list[int]] = {}
            for order_id, (mode, after) in carrier_store.deliveries(conn, ids).items():
                by_due.setdefault(self._due_at(now, mode, after), []).append(order_id)
            for due_at, group in by_due.items():
                carrier_store.mark_dispatched(conn, group, now=now, due_at=due_at)
            webhook_store.queue_accepted(conn, ids, now)
        return len(ids)

    def _finalise(self, now: int, conn: Connection) -> int:
        due = carrier_store.claim_due_messages(conn, now, limit=FINALISE_BATCH)
        due += carrier_store.claim_polled_messages(conn, limit=FINALISE_BATCH - len(due))
        self._apply(conn, due, now)
        return len(due)

    # -- delivery control (the control API's /_ileti/delivery and /_ileti/advance) -----------

    async def set_delivery(self, account_id: int, mode: str, after: float | None) -> None:
        """An account's delivery mode; DeliveryError naming the field when invalid. Applies
        to orders dispatched from now on."""
        stored, value = check_delivery(mode, after)
        now = self._clock.now_us()
        await self._store.transaction(
            lambda conn: carrier_store.set_delivery(conn, account_id, stored, value, now)
        )

    async def advance(self, account_id: int, order_id: int | None, status: int | None) -> Advanced:
        """Dispatch the account's orders not yet dispatched (or the one order) now, and
        finalise their waiting messages now: with ``status`` (111 or 112), or by the
        carrier's policy when None. Webhooks are queued as the carrier does."""
        if status is not None and status not in (int(Code.DELIVERED), int(Code.UNDELIVERED)):
            raise DeliveryError("111 (delivered) or 112 (undelivered)", "status")
        if order_id is not None and not 1 <= order_id <= MAX_ID:  # no order has it
            raise DeliveryError("no order with this id", "order")
        now = self._clock.now_us()

        def run(conn: Connection) -> Advanced:
            if order_id is not None and carrier_store.order_account(conn, order_id) != account_id:
                raise DeliveryError("no order with this id", "order")
            ids = carrier_store.claim_orders_of(conn, account_id, order_id)
            if ids:
                carrier_store.mark_dispatched(conn, ids, now=now, due_at=carrier_store.HELD)
                webhook_store.queue_accepted(conn, ids, now)
            waiting = carrier_store.waiting_messages(conn, account_id, order_id)
            if status is None:
                return self._apply(conn, waiting, now).dispatched(len(ids))
            moved = [message_id for message_id, _r, _a in waiting]
            reason = None if status == int(Code.DELIVERED) else UNDELIVERED_REASON
            carrier_store.set_status(conn, moved, status, reason, now)
            webhook_store.queue_final(conn, moved, now)
            counts = (len(moved), 0) if status == int(Code.DELIVERED) else (0, len(moved))
            return Advanced(len(ids), len(moved), *counts, 0)

        return await self._store.transaction(run)

    def _apply(self, conn: Connection, due: Sequence[tuple[int, str, int]], now: int) -> Advanced:
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
        return Advanced(0, len(due), len(delivered), len(undelivered + faulted), len(pending))

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
