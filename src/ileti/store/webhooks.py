"""SQL for webhooks: queueing delivery reports, claiming due ones, recording attempts.

A row is one POST to make: its URL and its exact JSON body are fixed when it is queued
(in the transaction that changed the message's status). ``next_attempt_at`` is when it
is due; NULL once delivered or given up. An instance claims due rows by pushing
``next_attempt_at`` forward by a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
no other instance takes them while it sends; if it dies, they fall due again when the
lease runs out. A message's reports go out in order: a row is not claimed while an
earlier row for the same message is still waiting.
"""

from __future__ import annotations

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
class Webhook:
    id: int
    message_id: int
    url: str
    payload: str
    attempts: int
    next_attempt_at: int | None
    delivered_at: int | None
    last_error: str | None


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
    """Count each attempt; a delivered one is done, a failed one is due again at
    ``retry_at`` (or given up: no next attempt)."""
    rows = [
        {
            "b_id": attempt.id,
            "b_delivered_at": attempt.at if attempt.delivered else None,
            "b_next": None if attempt.delivered else attempt.retry_at,
            "b_error": attempt.error,
        }
        for attempts in calls
        for attempt in attempts
    ]
    if rows:
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id == bindparam("b_id"), webhooks.c.delivered_at.is_(None))
            .values(
                attempts=webhooks.c.attempts + 1,
                delivered_at=bindparam("b_delivered_at"),
                next_attempt_at=bindparam("b_next"),
                last_error=func.coalesce(bindparam("b_error", type_=Text), webhooks.c.last_error),
            ),
            rows,
        )
    return [None for _ in calls]


# -- reading ----------------------------------------------------------------------------------


def of_account(conn: Connection, account_id: int) -> list[Webhook]:
    """Every webhook queued for an account, oldest first."""
    rows = conn.execute(
        select(
            webhooks.c.id,
            webhooks.c.message_id,
            webhooks.c.url,
            webhooks.c.payload,
            webhooks.c.attempts,
            webhooks.c.next_attempt_at,
            webhooks.c.delivered_at,
            webhooks.c.last_error,
        )
        .where(webhooks.c.account_id == account_id)
        .order_by(webhooks.c.id)
    )
    return [Webhook(*row) for row in rows]
