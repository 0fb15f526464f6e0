"""Orders (spec §7): send-sms and cancel-order, each one transaction composed here from
the store's primitives; get-report and get-reports.

send-sms: the checks that need no database (``order_rules.draft``), then 452 for a
request without recipients, then the rate limit is reserved (with Redis, taken now),
then in ONE transaction of the writer: look up the blacklisted recipients and (iys=1)
the İYS consent of every recipient (one query each), plan the order (452 when nothing
is sendable), lock and check the balance (402), look for the
same order within 10 minutes (451), take the rate limit when it lives in the database
(429), charge, insert the order, its texts and its messages. A refusal raises the
catalogue's exception, which rolls back that transaction's savepoint: balance, rate
limit and rows stay exactly as they were (a Redis reservation is given back).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Connection

from ileti.clock import (
    DAY,
    DUPLICATE_WINDOW,
    REPORTS_RANGE_DAYS,
    SYSTEM,
    Clock,
    next_day,
    parse_day,
)
from ileti.errors import (
    Code,
    DateRangeInvalid,
    DuplicateOrder,
    InsufficientBalance,
    InvalidRecipients,
    OrderNotDue,
    OrderNotFound,
)
from ileti.models import Account, Order, OrderCounts, SendCommand
from ileti.services import order_rules
from ileti.services.order_rules import Draft
from ileti.services.ratelimit import RateLimiter, Reservation
from ileti.services.relay import Relay
from ileti.store import Store
from ileti.store import accounts as account_store
from ileti.store import consent as consent_store
from ileti.store import orders as order_store
from ileti.store import relay as relay_store
from ileti.store import webhooks as webhook_store
from ileti.values import Page

#: The delivery mode whose get-report polls are counted (``orders.polls``).
POLLS = "polls"
#: get-reports shows this many orders a page (spec §9).
REPORTS_PAGE = 30


def order_status(order: Order, counts: OrderCounts) -> Code:
    if order.cancelled or order.relay_error is not None:
        return Code.ORDER_FAILED
    if counts.waiting:
        return Code.ORDER_IN_PROGRESS
    return Code.ORDER_COMPLETED


@dataclass(frozen=True)
class Report:
    order: Order
    counts: OrderCounts
    status: Code
    messages: list[tuple[int, str, int]]  # (message id, recipient, status)


@dataclass(frozen=True)
class Summary:
    order: Order
    counts: OrderCounts
    status: Code


def day_range(start: str | None, end: str | None) -> tuple[int, int]:
    """get-reports' filter: from the day ``start`` to the day ``end`` inclusive (``Y-m-d``,
    Istanbul time), at most 10 days -> [since, until) in microseconds; else 458."""
    since = _day(start, "start")
    last = _day(end, "end")
    try:
        until = next_day(last)
    except ValueError as exc:
        raise DateRangeInvalid(f"no day after {end!r}") from exc
    if until <= since or until - since > (REPORTS_RANGE_DAYS + 1) * DAY:
        raise DateRangeInvalid("start after end, or more than 10 days")
    return since, until


def _day(text: str | None, name: str) -> int:
    if text is None or text.strip() == "":
        raise DateRangeInvalid(f"{name} is required")
    try:
        return parse_day(text)
    except ValueError as exc:
        raise DateRangeInvalid(f"{name} is not Y-m-d: {text!r}") from exc


@dataclass(frozen=True)
class Relaying:
    """How orders of an account in relay mode are cut into upstream requests."""

    relay: Relay
    batch_size: int  # recipients per upstream send-sms
    deadline: int  # microseconds from acceptance before a failing batch gives up


class OrderService:
    def __init__(
        self,
        store: Store,
        *,
        limiter: RateLimiter | None = None,
        clock: Clock = SYSTEM,
        relaying: Relaying | None = None,
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self._relaying = relaying

    # -- send-sms ----------------------------------------------------------------------

    async def send(self, account: Account, command: SendCommand) -> int:
        """Store the order; its id. Raises the documented error otherwise, having
        changed nothing."""
        now = self._clock.now_us()
        draft = order_rules.draft(account, command, now=now)
        if not draft.recipients:
            raise InvalidRecipients("no recipients")
        reservation = None
        if self._limiter is not None:
            reservation = await self._limiter.reserve(account, len(draft.recipients))
        create = functools.partial(self._create, draft, reservation, now)
        try:
            order_id, relayed = await self._store.transaction(create)
        except BaseException:
            if self._limiter is not None:
                await self._limiter.give_back(reservation)
            raise
        if relayed and self._relaying is not None:
            self._relaying.relay.wake()
        return order_id

    def _create(
        self, draft: Draft, reservation: Reservation | None, now: int, conn: Connection
    ) -> tuple[int, bool]:
        """The order's transaction (in the writer's thread): its id, and whether it is
        relayed (the account is in relay mode; APITEST stays in the sandbox)."""
        valid = draft.valid_numbers()
        blacklisted = order_store.listed(conn, draft.account_id, valid)
        consent = None
        if draft.iys and draft.brand_code and draft.iys_list:
            consent = consent_store.statuses(
                conn,
                draft.account_id,
                draft.brand_code,
                order_rules.IYS_TYPE,
                draft.iys_list,
                valid,
            )
        plan = order_rules.plan(draft, blacklisted, consent)
        if plan.sendable == 0:
            raise InvalidRecipients("no valid, non-blacklisted recipient with consent")
        if account_store.balance_for_update(conn, draft.account_id) < plan.cost:
            raise InsufficientBalance(f"{plan.cost} credits needed")
        if order_store.has_recent(
            conn, draft.account_id, draft.fingerprint, since=now - DUPLICATE_WINDOW
        ):
            raise DuplicateOrder("the same order within 10 minutes")
        if self._limiter is not None:
            self._limiter.take(conn, reservation, now)
        account_store.charge(conn, draft.account_id, plan.cost)
        relayed = (
            self._relaying is not None
            and draft.sender != order_rules.TEST_SENDER
            and relay_store.relays(conn, draft.account_id)
        )
        order_id = order_store.insert_order(
            conn,
            order_store.NewOrder(
                account_id=draft.account_id,
                sender=draft.sender,
                iys=draft.iys,
                iys_list=draft.iys_list,
                submit_at=draft.submit_at,
                send_at=draft.send_at,
                scheduled=draft.scheduled,
                price=plan.cost,
                fingerprint=draft.fingerprint,
                texts=draft.texts,
                messages=[(f.text_idx, f.shown, f.status, f.reason, f.charged) for f in plan.fates],
                relay=relayed,
            ),
        )
        if relayed and self._relaying is not None:
            relay_store.insert_batches(
                conn, _batches(order_id, draft, plan, self._relaying, now), now
            )
        return order_id, relayed

    # -- cancel-order ------------------------------------------------------------------

    async def cancel(self, account_id: int, order_id: int) -> None:
        """Cancel a scheduled order not yet due: refund its charge, its waiting messages
        undelivered (with their webhooks). 455 when it cannot be cancelled. A relayed
        order is cancelled upstream first (services/relay.py)."""
        now = self._clock.now_us()
        relayed = await self._store.transaction(
            functools.partial(_cancel, account_id, order_id, now)
        )
        if relayed and self._relaying is not None:
            await self._relaying.relay.cancel(account_id, order_id)

    # -- get-report, get-reports -------------------------------------------------------

    async def report(self, account_id: int, order_id: int, page: Page) -> Report:
        order = await self._store.read(order_store.find, account_id, order_id)
        if order is None:
            raise OrderNotFound(f"order {order_id}")
        # A relayed order is "dispatched" once the upstream has it, schedule and all.
        pending = order.scheduled and not order.cancelled and (order.relay or not order.dispatched)
        if pending and order.send_at > self._clock.now_us():
            raise OrderNotDue(f"order {order_id} is scheduled")
        counts, messages, polled, order = await self._store.read(
            _report_rows, account_id, order_id, page.offset, page.size
        )
        if polled:  # the account's messages become final after N polls (services/carrier)
            await self._store.transaction(
                functools.partial(order_store.count_poll, order_id=order_id)
            )
        return Report(order, counts, order_status(order, counts), messages)

    async def reports(
        self, account_id: int, span: tuple[int, int], page: Page
    ) -> tuple[int, list[Summary]]:
        """Orders submitted in ``span`` (see ``day_range``), newest first."""
        since, until = span
        total, found = await self._store.read(
            _range, account_id, since, until, page.offset, page.size
        )
        return total, [Summary(o, c, order_status(o, c)) for o, c in found]


def _batches(
    order_id: int, draft: Draft, plan: order_rules.Plan, relaying: Relaying, now: int
) -> list[relay_store.NewBatch]:
    """The upstream requests of a relayed order: per text, the recipients that survived
    the local checks (110), ``batch_size`` at most to a request."""
    by_text: dict[int, list[str]] = {}
    for fate in plan.fates:
        if fate.status == int(Code.SENDING):
            by_text.setdefault(fate.text_idx, []).append(fate.shown)
    size = relaying.batch_size
    return [
        relay_store.NewBatch(
            order_id=order_id,
            account_id=draft.account_id,
            kind="relay",
            text_idx=text_idx,
            numbers=numbers[start : start + size],
            due_at=now,
            deadline_at=now + relaying.deadline,
        )
        for text_idx, numbers in sorted(by_text.items())
        for start in range(0, len(numbers), size)
    ]


def _cancel(account_id: int, order_id: int, now: int, conn: Connection) -> bool:
    """Cancel a sandbox order; True (nothing changed) for a relayed one, which the relay
    cancels upstream first."""
    if relay_store.order_is_relayed(conn, account_id, order_id):
        return True
    price = order_store.cancellable_price(conn, account_id, order_id, now)
    if price is None:
        raise OrderNotFound(f"order {order_id} cannot be cancelled")
    order_store.mark_cancelled(conn, order_id, now)
    account_store.refund(conn, account_id, price)
    webhook_store.queue_cancelled(conn, order_id, now)
    return False


def _report_rows(
    conn: Connection, account_id: int, oid: int, offset: int, limit: int
) -> tuple[OrderCounts, list[tuple[int, str, int]], bool, Order]:
    """The order's counts, a page of its messages, whether its polls are counted, and
    the order read again *after* its messages: a relayed order that failed (or one
    cancelled) changes its messages and its row in one transaction, so a report whose
    messages show the change also shows the order's 115, never a passing 114 (under
    READ COMMITTED each statement sees the latest commit)."""
    counts = order_store.counts(conn, oid)
    messages = order_store.message_page(conn, oid, offset=offset, limit=limit)
    polled = order_store.delivery_mode(conn, account_id) == POLLS
    order = order_store.find(conn, account_id, oid)
    if order is None:  # deleted with its account meanwhile
        raise OrderNotFound(f"order {oid}")
    return counts, messages, polled, order


def _range(
    conn: Connection, account_id: int, since: int, until: int, offset: int, limit: int
) -> tuple[int, list[tuple[Order, OrderCounts]]]:
    return order_store.in_range(
        conn, account_id, start=since, end=until, offset=offset, limit=limit
    )
