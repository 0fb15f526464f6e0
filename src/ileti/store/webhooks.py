"""SQL for webhooks: queueing delivery reports, claiming due ones, recording attempts.

A row is one POST to make: its URL and its exact JSON body are fixed when it is queued
(in the transaction that changed the message's status). ``next_attempt_at`` is when it
is due; NULL once delivered or given up. An instance claims due rows by pushing
``next_attempt_at`` forward by a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
no other instance takes them while it sends; if it dies, they fall due again when the
lease runs out. A message's reports go out in order: a row is not claimed while an
earlier row for the same message is still waiting (test webhooks, message id 0, are
not ordered).

Each attempt is a row of ``webhook_attempts``, written as it completes (in the same
transaction as the webhook's own counters): when, its error (NULL: delivered), the
receiver's HTTP status and the start of a non-2xx reply. ``last_error`` is the last
failed attempt's error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from ileti.store.schema import accounts, messages, order_texts, webhook_attempts, webhooks

SENDING, DELIVERED = int(Code.SENDING), int(Code.DELIVERED)
#: The message id of a test webhook (no message; not ordered with any other row).
TEST_MESSAGE_ID = 0


@dataclass(frozen=True, slots=True)
class Claim:
    now: int  # microseconds, UTC
    lease: int  # microseconds the claimed rows are held
    limit: int  # rows at most
    per_account: int  # rows of one account at most
    #: Accounts with less room than ``per_account`` (rows of theirs already in flight
    #: taken off); 0: none of theirs.
    room: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Claimed:
    due: list[Due]
    held: bool  # due rows were left for an account out of room: more may be waiting


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
    http_status: int | None = None  # None: no answer
    reply: str | None = None  # the start of a non-2xx answer's body


@dataclass(frozen=True, slots=True)
class Tried:
    """One attempt of a row's history: when (0: unknown, from before attempts were
    kept), its error (None: it was delivered), the receiver's status and the start of
    its reply (a non-2xx one)."""

    at: int | None
    error: str | None
    http_status: int | None = None
    reply: str | None = None


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
    history: tuple[Tried, ...] = ()  # every attempt, oldest first

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


def queue_accepted_messages(conn: Connection, message_ids: Sequence[int], now: int) -> None:
    """An "accepted" report for each of these messages (a relayed batch the upstream took)."""
    if message_ids:
        _queue(conn, messages.c.id.in_(message_ids), literal("accepted", Text), now)


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


def claim(conn: Connection, calls: list[Claim]) -> list[Claimed]:
    """Due webhooks, each held for ``lease`` microseconds (its next attempt time pushed
    forward) so that no other instance sends it meanwhile; at most ``per_account`` (or
    the account's ``room``) of one account, none of an account without room."""
    results = []
    earlier = webhooks.alias("earlier")
    for call in calls:
        full = [account for account, room in call.room.items() if room <= 0]
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
        if full:
            query = query.where(webhooks.c.account_id.not_in(full))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=webhooks)
        due: list[Due] = []
        taken: dict[int, int] = {}
        held = False
        for row in conn.execute(query):
            found = Due(*row)
            room = call.room.get(found.account_id, call.per_account)
            if taken.get(found.account_id, 0) >= room:
                held = True  # left as it is (and unlocked at the commit)
                continue
            taken[found.account_id] = taken.get(found.account_id, 0) + 1
            due.append(found)
        if due:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id.in_([d.id for d in due]))
                .values(next_attempt_at=call.now + call.lease)
            )
        results.append(Claimed(due, held))
    return results


def record(conn: Connection, made: list[Attempt]) -> list[None]:
    """Each attempt as a row of its own, and counted in its webhook: a delivered one is
    done, a failed one is due again at ``retry_at`` (or given up: no next attempt). A
    webhook gone meanwhile (its account deleted) or delivered already is left alone."""
    if made:
        open_ids = set(
            conn.execute(
                select(webhooks.c.id).where(
                    webhooks.c.id.in_({a.id for a in made}), webhooks.c.delivered_at.is_(None)
                )
            ).scalars()
        )
        kept = [a for a in made if a.id in open_ids]
        if kept:
            conn.execute(
                insert(webhook_attempts),
                [
                    {
                        "webhook_id": a.id,
                        "at": a.at,
                        "error": None if a.delivered else a.error,
                        "http_status": a.http_status,
                        "reply": a.reply,
                    }
                    for a in kept
                ],
            )
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == bindparam("b_id"))
                .values(
                    attempts=webhooks.c.attempts + 1,
                    delivered_at=bindparam("b_delivered_at"),
                    next_attempt_at=bindparam("b_next"),
                    last_error=func.coalesce(
                        bindparam("b_error", type_=Text), webhooks.c.last_error
                    ),
                ),
                [
                    {
                        "b_id": a.id,
                        "b_delivered_at": a.at if a.delivered else None,
                        "b_next": None if a.delivered else a.retry_at,
                        "b_error": None if a.delivered else a.error,
                    }
                    for a in kept
                ],
            )
    return [None for _ in made]


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


def _webhooks(conn: Connection, rows: Sequence[Any]) -> list[Webhook]:
    """The rows read by ``_read()``, each with its attempts."""
    history: dict[int, list[Tried]] = {row.id: [] for row in rows}
    ids = list(history)
    for start in range(0, len(ids), 1000):
        tried = conn.execute(
            select(
                webhook_attempts.c.webhook_id,
                webhook_attempts.c.at,
                webhook_attempts.c.error,
                webhook_attempts.c.http_status,
                webhook_attempts.c.reply,
            )
            .where(webhook_attempts.c.webhook_id.in_(ids[start : start + 1000]))
            .order_by(webhook_attempts.c.webhook_id, webhook_attempts.c.id)
        )
        for t in tried:
            history[t.webhook_id].append(Tried(t.at or None, t.error, t.http_status, t.reply))
    return [
        Webhook(
            id=row.id,
            message_id=row.message_id,
            url=row.url,
            payload=row.payload,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            last_error=row.last_error,
            account_id=row.account_id,
            order_id=row.order_id,
            history=tuple(history[row.id]),
        )
        for row in rows
    ]


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
    return _webhooks(conn, conn.execute(query).all())


def one(conn: Connection, webhook_id: int) -> Webhook | None:
    row = conn.execute(_read().where(webhooks.c.id == webhook_id)).first()
    return _webhooks(conn, [row])[0] if row is not None else None


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
    return _webhooks(conn, conn.execute(found).all())
