"""SQL for webhooks: queueing delivery reports, claiming due ones, recording attempts.

A row is one POST to make: its URL and its exact JSON body are fixed when it is queued
(in the transaction that changed the message's status). ``next_attempt_at`` is when it
is due; NULL once delivered or given up. An instance claims due rows by pushing
``next_attempt_at`` forward by a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
no other instance takes them while it sends; if it dies, they fall due again when the
lease runs out. A message's reports go out in order: a row is not claimed while an
earlier row for the same message is still waiting (test webhooks, message id 0, are
not ordered).

``last_error`` holds the row's attempt history: a JSON array of the last
``HISTORY`` attempts, oldest first, each ``{"at": <microseconds>, "error": <text or
null for a delivery>}`` (the table has no column of its own for it, and migrations are
not added for a log). A value that is not such an array (written before the history
was kept) is read as one failed attempt of unknown time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from ileti.errors import Code
from ileti.store.schema import accounts, messages, order_texts, webhooks

SENDING, DELIVERED = int(Code.SENDING), int(Code.DELIVERED)
#: Attempts kept in a row's history (``attempts`` counts them all).
HISTORY = 20
#: The message id of a test webhook (no message; not ordered with any other row).
TEST_MESSAGE_ID = 0


@dataclass(frozen=True, slots=True)
class Claim:
    now: int  # microseconds, UTC
    lease: int  # microseconds the claimed rows are held
    limit: int


@dataclass(frozen=True, slots=True)
class Due:
    id: int
    message_id: int
    url: str
    payload: str
    attempts: int  # attempts made before this one
    account_id: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one POST."""

    id: int
    at: int
    delivered: bool
    error: str | None = None
    retry_at: int | None = None  # None with delivered=False: give up


@dataclass(frozen=True, slots=True)
class Tried:
    """One attempt of a row's history: when (None: unknown), and its error (None: it
    was delivered)."""

    at: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    message_id: int
    url: str
    payload: str
    attempts: int
    next_attempt_at: int | None
    delivered_at: int | None
    last_error: str | None  # the last failed attempt's error
    account_id: int = 0
    order_id: int | None = None  # None: a test webhook, or its message is gone
    history: tuple[Tried, ...] = ()  # the last HISTORY attempts, oldest first

    @property
    def last_attempt_at(self) -> int | None:
        return self.history[-1].at if self.history else None

    @property
    def status(self) -> str:
        """delivered; pending (no attempt yet); failed (to be retried); given_up."""
        if self.delivered_at is not None:
            return "delivered"
        if self.next_attempt_at is None:
            return "given_up"
        return "failed" if self.attempts else "pending"


@dataclass(frozen=True, slots=True)
class LogQuery:
    """A page of the webhook log, newest first; None: no filter."""

    account_id: int | None
    limit: int
    before: int | None = None
    message_id: int | None = None
    order_id: int | None = None
    status: str | None = None  # pending | failed | given_up | delivered


@dataclass(frozen=True, slots=True)
class NewWebhook:
    account_id: int
    message_id: int
    url: str
    payload: str
    due_at: int


def history_of(stored: str | None) -> tuple[Tried, ...]:
    """The attempt history kept in ``last_error`` (see the module's docstring)."""
    if stored is None:
        return ()
    try:
        items = json.loads(stored)
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return (Tried(None, stored),)
    return tuple(Tried(item.get("at"), item.get("error")) for item in items)


def _history_text(history: Sequence[Tried]) -> str:
    kept = history[-HISTORY:]
    return json.dumps([{"at": t.at, "error": t.error} for t in kept], ensure_ascii=False)


def _last_error(history: Sequence[Tried]) -> str | None:
    return next((t.error for t in reversed(history) if t.error is not None), None)


# -- queueing ---------------------------------------------------------------------------


def _json_string(conn: Connection, column: Any) -> ColumnElement[str]:
    if conn.dialect.name == "postgresql":
        return cast(func.to_json(column), Text)
    return func.json_quote(column)


def _payload(conn: Connection, status: ColumnElement[str]) -> ColumnElement[str]:
    """``{"report":{"id":..,"packet_id":..,"status":..,"to":..,"body":..}}`` built by
    the database, the same bytes on SQLite and PostgreSQL."""
    return (
        literal('{"report":{"id":', Text)
        + cast(messages.c.id, Text)
        + literal(',"packet_id":', Text)
        + cast(messages.c.order_id, Text)
        + literal(',"status":"', Text)
        + status
        + literal('","to":', Text)
        + _json_string(conn, messages.c.recipient)
        + literal(',"body":', Text)
        + _json_string(conn, order_texts.c.text)
        + literal("}}", Text)
    )


def _queue(
    conn: Connection, where: ColumnElement[bool], status: ColumnElement[str], now: int
) -> None:
    source = (
        select(
            messages.c.account_id,
            messages.c.id,
            accounts.c.webhook_url,
            _payload(conn, status),
            literal(0),
            literal(now),
        )
        .select_from(
            messages.join(accounts, accounts.c.id == messages.c.account_id).join(
                order_texts,
                (order_texts.c.order_id == messages.c.order_id)
                & (order_texts.c.idx == messages.c.text_idx),
            )
        )
        .where(where, accounts.c.webhook_url.is_not(None), accounts.c.webhook_url != "")
        .order_by(messages.c.id)
    )
    conn.execute(
        insert(webhooks).from_select(
            ["account_id", "message_id", "url", "payload", "attempts", "next_attempt_at"], source
        )
    )


def queue_accepted(conn: Connection, order_ids: Sequence[int], now: int) -> None:
    """An "accepted" report for each waiting (110) message of these orders."""
    if order_ids:
        where = messages.c.order_id.in_(order_ids) & (messages.c.status == SENDING)
        _queue(conn, where, literal("accepted", Text), now)


def queue_final(conn: Connection, message_ids: Sequence[int], now: int) -> None:
    """A "delivered" (111) or "undelivered" (112) report for each of these messages."""
    if message_ids:
        status = case(
            (messages.c.status == DELIVERED, literal("delivered", Text)),
            else_=literal("undelivered", Text),
        )
        _queue(conn, messages.c.id.in_(message_ids), status, now)


def queue_cancelled(conn: Connection, order_id: int, now: int) -> None:
    """An "undelivered" report for each message a cancel took from 110 to 112."""
    where = (messages.c.order_id == order_id) & (messages.c.reason == "cancelled")
    _queue(conn, where, literal("undelivered", Text), now)


# -- sending --------------------------------------------------------------------------------


def pending_work(conn: Connection, now: int) -> bool:
    """Whether any webhook is due (an index probe, on a read connection)."""
    query = select(
        exists().where(webhooks.c.next_attempt_at.is_not(None), webhooks.c.next_attempt_at <= now)
    )
    return bool(conn.execute(query).scalar())


def claim(conn: Connection, calls: list[Claim]) -> list[list[Due]]:
    """Due webhooks, each held for ``lease`` microseconds (its next attempt time pushed
    forward) so that no other instance sends it meanwhile."""
    results = []
    earlier = webhooks.alias("earlier")
    for call in calls:
        query = (
            select(
                webhooks.c.id,
                webhooks.c.message_id,
                webhooks.c.url,
                webhooks.c.payload,
                webhooks.c.attempts,
                webhooks.c.account_id,
            )
            .where(
                webhooks.c.next_attempt_at.is_not(None),
                webhooks.c.next_attempt_at <= call.now,
                ~exists().where(
                    earlier.c.message_id == webhooks.c.message_id,
                    earlier.c.message_id != TEST_MESSAGE_ID,
                    earlier.c.id < webhooks.c.id,
                    earlier.c.next_attempt_at.is_not(None),
                ),
            )
            .order_by(webhooks.c.next_attempt_at, webhooks.c.id)
            .limit(call.limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=webhooks)
        due = [Due(*row) for row in conn.execute(query)]
        if due:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id.in_([d.id for d in due]))
                .values(next_attempt_at=call.now + call.lease)
            )
        results.append(due)
    return results


def record(conn: Connection, calls: list[list[Attempt]]) -> list[None]:
    """Count each attempt and add it to the row's history; a delivered one is done, a
    failed one is due again at ``retry_at`` (or given up: no next attempt)."""
    made = [attempt for attempts in calls for attempt in attempts]
    if made:
        stored = dict(
            conn.execute(
                select(webhooks.c.id, webhooks.c.last_error).where(
                    webhooks.c.id.in_({a.id for a in made})
                )
            ).all()
        )
        histories = {id_: list(history_of(text)) for id_, text in stored.items()}
        rows = []
        for attempt in made:
            history = histories.get(attempt.id)
            if history is None:
                continue  # the row is gone (its account was deleted meanwhile)
            history.append(Tried(attempt.at, None if attempt.delivered else attempt.error))
            rows.append(
                {
                    "b_id": attempt.id,
                    "b_delivered_at": attempt.at if attempt.delivered else None,
                    "b_next": None if attempt.delivered else attempt.retry_at,
                    "b_history": _history_text(history),
                }
            )
        if rows:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == bindparam("b_id"), webhooks.c.delivered_at.is_(None))
                .values(
                    attempts=webhooks.c.attempts + 1,
                    delivered_at=bindparam("b_delivered_at"),
                    next_attempt_at=bindparam("b_next"),
                    last_error=bindparam("b_history", type_=Text),
                ),
                rows,
            )
    return [None for _ in calls]


def insert_one(conn: Connection, new: NewWebhook) -> int:
    """Queue one POST (a replay, a test webhook); its id."""
    result = conn.execute(
        insert(webhooks)
        .values(
            account_id=new.account_id,
            message_id=new.message_id,
            url=new.url,
            payload=new.payload,
            attempts=0,
            next_attempt_at=new.due_at,
        )
        .returning(webhooks.c.id)
    )
    return int(result.scalar_one())


def current_url(conn: Connection, account_id: int) -> str | None:
    """The account's webhook URL now (None: it has none, or is gone)."""
    query = select(accounts.c.webhook_url).where(accounts.c.id == account_id)
    return conn.execute(query).scalar()


# -- reading ----------------------------------------------------------------------------------


_READ = (
    webhooks.c.id,
    webhooks.c.message_id,
    webhooks.c.url,
    webhooks.c.payload,
    webhooks.c.attempts,
    webhooks.c.next_attempt_at,
    webhooks.c.delivered_at,
    webhooks.c.last_error,
    webhooks.c.account_id,
    messages.c.order_id,
)


def _webhook(row: Any) -> Webhook:
    history = history_of(row.last_error)
    return Webhook(
        id=row.id,
        message_id=row.message_id,
        url=row.url,
        payload=row.payload,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=_last_error(history),
        account_id=row.account_id,
        order_id=row.order_id,
        history=history,
    )


def _read() -> Any:
    joined = webhooks.outerjoin(
        messages,
        (messages.c.id == webhooks.c.message_id) & (webhooks.c.message_id != TEST_MESSAGE_ID),
    )
    return select(*_READ).select_from(joined)


#: What each status of the log means in the row's columns.
STATUSES: dict[str, ColumnElement[bool]] = {
    "delivered": webhooks.c.delivered_at.is_not(None),
    "pending": webhooks.c.next_attempt_at.is_not(None) & (webhooks.c.attempts == 0),
    "failed": webhooks.c.next_attempt_at.is_not(None) & (webhooks.c.attempts > 0),
    "given_up": webhooks.c.next_attempt_at.is_(None) & webhooks.c.delivered_at.is_(None),
}


def of_account(conn: Connection, account_id: int) -> list[Webhook]:
    """Every webhook queued for an account, oldest first."""
    query = _read().where(webhooks.c.account_id == account_id).order_by(webhooks.c.id)
    return [_webhook(row) for row in conn.execute(query)]


def one(conn: Connection, webhook_id: int) -> Webhook | None:
    row = conn.execute(_read().where(webhooks.c.id == webhook_id)).first()
    return _webhook(row) if row is not None else None


def page(conn: Connection, query: LogQuery) -> list[Webhook]:
    """Up to ``limit`` rows passing the filters, newest (highest id) first."""
    conditions: list[ColumnElement[bool]] = []
    if query.account_id is not None:
        conditions.append(webhooks.c.account_id == query.account_id)
    if query.before is not None:
        conditions.append(webhooks.c.id < query.before)
    if query.message_id is not None:
        conditions.append(webhooks.c.message_id == query.message_id)
    if query.order_id is not None:
        conditions.append(messages.c.order_id == query.order_id)
    if query.status is not None:
        conditions.append(STATUSES[query.status])
    found = _read().where(*conditions).order_by(webhooks.c.id.desc()).limit(query.limit)
    return [_webhook(row) for row in conn.execute(found)]
