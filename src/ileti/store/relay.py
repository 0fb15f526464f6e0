"""SQL of the relay: each account's upstream, the batches (upstream send-sms requests) of
relayed and released orders, and the mirror of the upstream's reports onto messages.

Primitives only; ``ileti.services.relay`` decides what is sent, retried, failed or
reconciled. Due batches are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (the
writer's ``BEGIN IMMEDIATE`` serialises processes on SQLite), so several instances
share the work and none takes a batch another holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from ileti.errors import Code
from ileti.store.schema import messages, order_texts, orders, upstreams
from ileti.store.schema import relay_batches as batches

SENDING, DELIVERED, UNDELIVERED = int(Code.SENDING), int(Code.DELIVERED), int(Code.UNDELIVERED)
#: States of a batch.
PENDING, IN_FLIGHT, SENT, DONE, FAILED, CANCELLED = (
    "pending",
    "sending",
    "sent",
    "done",
    "failed",
    "cancelled",
)
UNSETTLED = (PENDING, IN_FLIGHT)
#: The reason of a message the upstream did not take or did not deliver.
UPSTREAM_REASON = "upstream"


def _skip_locked(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _larger(conn: Connection, column: Any, value: int) -> Any:
    """The larger of a column and a value (SQLite's two-argument max, PostgreSQL's greatest)."""
    if conn.dialect.name == "sqlite":
        return func.max(column, value)
    return func.greatest(column, value)


# -- upstreams ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpstreamRow:
    account_id: int
    base_url: str
    key: str
    hash_sealed: str
    mode: str
    blacklist_sync: bool
    release_numbers: tuple[str, ...]
    checked_at: int | None
    last_error: str | None
    last_error_at: int | None
    blacklist_synced_at: int | None


def _upstream(row: Any) -> UpstreamRow:
    return UpstreamRow(
        account_id=row.account_id,
        base_url=row.base_url,
        key=row.key,
        hash_sealed=row.hash_sealed,
        mode=row.mode,
        blacklist_sync=bool(row.blacklist_sync),
        release_numbers=tuple(json.loads(row.release_numbers)),
        checked_at=row.checked_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        blacklist_synced_at=row.blacklist_synced_at,
    )


def upstream(conn: Connection, account_id: int) -> UpstreamRow | None:
    row = conn.execute(select(upstreams).where(upstreams.c.account_id == account_id)).first()
    return _upstream(row) if row is not None else None


def all_upstreams(conn: Connection) -> list[UpstreamRow]:
    rows = conn.execute(select(upstreams).order_by(upstreams.c.account_id))
    return [_upstream(row) for row in rows]


def relays(conn: Connection, account_id: int) -> bool:
    """Whether the account's orders are forwarded (its upstream's mode is "relay")."""
    mode = conn.execute(
        select(upstreams.c.mode).where(upstreams.c.account_id == account_id)
    ).scalar()
    return mode == "relay"


def put_upstream(conn: Connection, account_id: int, values: dict[str, Any], now: int) -> None:
    """Create or replace the account's upstream (``release_numbers`` as a list)."""
    row = dict(values)
    if "release_numbers" in row:
        row["release_numbers"] = json.dumps(list(row["release_numbers"]))
    found = conn.execute(
        select(upstreams.c.account_id).where(upstreams.c.account_id == account_id)
    ).first()
    if found is None:
        conn.execute(
            insert(upstreams).values(account_id=account_id, created_at=now, updated_at=now, **row)
        )
    else:
        conn.execute(
            update(upstreams)
            .where(upstreams.c.account_id == account_id)
            .values(updated_at=now, **row)
        )


def delete_upstream(conn: Connection, account_id: int) -> bool:
    return bool(
        conn.execute(delete(upstreams).where(upstreams.c.account_id == account_id)).rowcount
    )


def note_error(conn: Connection, account_id: int, error: str | None, now: int) -> None:
    """The relay's last failure for the account (None: it worked since)."""
    conn.execute(
        update(upstreams)
        .where(upstreams.c.account_id == account_id)
        .values(last_error=error, last_error_at=now if error is not None else None)
    )


def reseal(conn: Connection, account_id: int, hash_sealed: str) -> None:
    conn.execute(
        update(upstreams)
        .where(upstreams.c.account_id == account_id)
        .values(hash_sealed=hash_sealed)
    )


# -- batches: written with the order (relay) or the release -----------------------------------


@dataclass(frozen=True, slots=True)
class NewBatch:
    order_id: int
    account_id: int
    kind: str  # relay | release
    text_idx: int
    numbers: Sequence[str]
    due_at: int
    deadline_at: int


def insert_batches(conn: Connection, new: Sequence[NewBatch], now: int) -> None:
    if new:
        conn.execute(
            insert(batches),
            [
                {
                    "order_id": b.order_id,
                    "account_id": b.account_id,
                    "kind": b.kind,
                    "text_idx": b.text_idx,
                    "numbers": json.dumps(list(b.numbers)),
                    "size": len(b.numbers),
                    "state": PENDING,
                    "attempts": 0,
                    "due_at": b.due_at,
                    "deadline_at": b.deadline_at,
                    "uncertain": False,
                    "polls": 0,
                    "delivered": 0,
                    "undelivered": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for b in new
            ],
        )


# -- claiming work ------------------------------------------------------------------------------


def _sendable(now: int) -> Any:
    return or_(
        and_(batches.c.state == PENDING, batches.c.due_at <= now),
        and_(batches.c.state == IN_FLIGHT, batches.c.lease_until <= now),
    )


def _pollable(now: int) -> Any:
    return and_(batches.c.state == SENT, batches.c.due_at <= now)


def pending_work(conn: Connection, now: int) -> bool:
    """Whether a batch is due to be sent, reconciled or polled (index probes)."""
    for where in (
        and_(batches.c.state == PENDING, batches.c.due_at <= now),
        and_(batches.c.state == IN_FLIGHT, batches.c.lease_until <= now),
        _pollable(now),
    ):
        if conn.execute(select(exists().where(where))).scalar():
            return True
    return False


@dataclass(frozen=True, slots=True)
class Claimed:
    """A batch claimed for a call, with what the call needs."""

    id: int
    order_id: int
    account_id: int
    kind: str
    text_idx: int
    numbers: list[str]
    attempts: int  # this attempt included
    #: A call for it may have reached the upstream (a crash during it, or no answer):
    #: reconcile before sending again.
    reconcile: bool
    intent_at: int
    deadline_at: int
    upstream_id: str | None
    sender: str
    iys: bool
    iys_list: str | None
    send_at: int
    scheduled: bool
    cancelled: bool
    text: str
    upstream: UpstreamRow | None
    #: The last failure recorded for it (a retried batch): the upstream's code and message.
    error_code: int | None = None
    error: str | None = None
    #: The upstream's report polled so often, this poll included.
    polls: int = 0


def _claimed(conn: Connection, rows: Sequence[Any], now: int) -> list[Claimed]:
    if not rows:
        return []
    order_ids = sorted({row.order_id for row in rows})
    order_rows = {
        row.id: row
        for row in conn.execute(
            select(
                orders.c.id,
                orders.c.sender,
                orders.c.iys,
                orders.c.iys_list,
                orders.c.send_at,
                orders.c.scheduled,
                orders.c.cancelled,
            ).where(orders.c.id.in_(order_ids))
        )
    }
    texts = {
        (row.order_id, row.idx): row.text
        for row in conn.execute(
            select(order_texts.c.order_id, order_texts.c.idx, order_texts.c.text).where(
                order_texts.c.order_id.in_(order_ids)
            )
        )
    }
    ups = {
        row.account_id: _upstream(row)
        for row in conn.execute(
            select(upstreams).where(
                upstreams.c.account_id.in_(sorted({r.account_id for r in rows}))
            )
        )
    }
    found = []
    for row in rows:
        order = order_rows[row.order_id]
        found.append(
            Claimed(
                id=row.id,
                order_id=row.order_id,
                account_id=row.account_id,
                kind=row.kind,
                text_idx=row.text_idx,
                numbers=json.loads(row.numbers),
                attempts=row.attempts + 1,
                reconcile=bool(row.uncertain) or row.state == IN_FLIGHT,
                intent_at=row.intent_at if row.intent_at is not None else now,
                deadline_at=row.deadline_at,
                upstream_id=row.upstream_id,
                sender=order.sender,
                iys=bool(order.iys),
                iys_list=order.iys_list,
                send_at=order.send_at,
                scheduled=bool(order.scheduled),
                cancelled=bool(order.cancelled),
                text=texts[(row.order_id, row.text_idx)],
                upstream=ups.get(row.account_id),
                error_code=row.error_code,
                error=row.error,
                polls=row.polls + 1,
            )
        )
    return found


def claim_sends(conn: Connection, now: int, *, lease_until: int, limit: int) -> list[Claimed]:
    """Up to ``limit`` batches due to be sent (or found in flight with their lease run
    out), locked and marked in flight with the intent recorded: committed before any
    call is made."""
    query = (
        select(batches).where(_sendable(now)).order_by(batches.c.due_at, batches.c.id).limit(limit)
    )
    if _skip_locked(conn):
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    claimed = _claimed(conn, rows, now)
    if rows:
        conn.execute(
            update(batches)
            .where(batches.c.id.in_([row.id for row in rows]))
            .values(
                state=IN_FLIGHT,
                attempts=batches.c.attempts + 1,
                lease_until=lease_until,
                intent_at=func.coalesce(batches.c.intent_at, now),
                updated_at=now,
            )
        )
    return claimed


def claim_polls(conn: Connection, now: int, *, next_at: int, limit: int) -> list[Claimed]:
    """Up to ``limit`` sent batches whose upstream report is due, locked; each is due
    again at ``next_at`` (so a crash during the poll only delays the next)."""
    query = (
        select(batches).where(_pollable(now)).order_by(batches.c.due_at, batches.c.id).limit(limit)
    )
    if _skip_locked(conn):
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    if rows:
        conn.execute(
            update(batches)
            .where(batches.c.id.in_([row.id for row in rows]))
            .values(due_at=next_at, polls=batches.c.polls + 1)
        )
    return _claimed(conn, rows, now)


# -- outcomes -----------------------------------------------------------------------------------


def _messages_of(batch: Claimed, *statuses: int) -> Any:
    where = and_(
        messages.c.order_id == batch.order_id,
        messages.c.text_idx == batch.text_idx,
        messages.c.recipient.in_(batch.numbers),
    )
    if statuses:
        where = and_(where, messages.c.status.in_(statuses))
    return where


def message_ids(conn: Connection, batch: Claimed) -> list[int]:
    """The waiting (110) messages a relayed batch carries."""
    return list(
        conn.execute(
            select(messages.c.id).where(_messages_of(batch, SENDING)).order_by(messages.c.id)
        ).scalars()
    )


def _settle_order(conn: Connection, order_id: int) -> None:
    """A relayed order whose batches are all settled is ``dispatched`` (the simulated
    carrier never looks at it; cancel-order asks the upstream). A released sandbox order
    is left to the simulated carrier."""
    conn.execute(
        update(orders)
        .where(
            orders.c.id == order_id,
            orders.c.relay == true(),
            ~exists().where(batches.c.order_id == order_id, batches.c.state.in_(UNSETTLED)),
        )
        .values(dispatched=True)
    )


def _ours(batch_id: int, attempts: int) -> Any:
    """The batch still in flight under the claim that made attempt ``attempts``: a claim
    whose lease ran out, and which another instance took over (its own attempt), records
    nothing."""
    return and_(
        batches.c.id == batch_id, batches.c.state == IN_FLIGHT, batches.c.attempts == attempts
    )


def mark_sent(
    conn: Connection,
    batch_id: int,
    order_id: int,
    upstream_id: str,
    *,
    now: int,
    poll_at: int,
    attempts: int,
) -> bool:
    """Whether it was recorded (False: the claim was taken over, see ``_ours``)."""
    done = conn.execute(
        update(batches)
        .where(_ours(batch_id, attempts))
        .values(
            state=SENT,
            upstream_id=upstream_id,
            sent_at=now,
            due_at=poll_at,
            lease_until=None,
            uncertain=False,
            error_code=None,
            error=None,
            updated_at=now,
        )
    )
    if not done.rowcount:
        return False
    _settle_order(conn, order_id)
    return True


def mark_retry(
    conn: Connection,
    batch_id: int,
    *,
    attempts: int,
    due_at: int,
    uncertain: bool,
    code: int | None,
    error: str,
    now: int,
) -> None:
    """Back to pending, due again at ``due_at``; ``uncertain`` once any call's outcome
    was unknown (it stays so until reconciled)."""
    values: dict[str, Any] = {
        "state": PENDING,
        "due_at": due_at,
        "lease_until": None,
        "error_code": code,
        "error": error,
        "updated_at": now,
    }
    if uncertain:
        values["uncertain"] = True
    conn.execute(update(batches).where(_ours(batch_id, attempts)).values(**values))


def mark_failed(
    conn: Connection, batch: Claimed, *, code: int | None, error: str, now: int
) -> tuple[list[int], int] | None:
    """The batch failed: its waiting messages undelivered (reason ``upstream``) and no
    longer charged; the order's ``relay_error`` set and its price lowered. Returns the
    messages changed and the credits to refund; None when the claim was taken over
    (``_ours``: nothing changed)."""
    done = conn.execute(
        update(batches)
        .where(_ours(batch.id, batch.attempts))
        .values(
            state=FAILED,
            lease_until=None,
            error_code=code,
            error=error,
            updated_at=now,
        )
    )
    if not done.rowcount:
        return None
    if batch.kind != "relay":
        return [], 0
    parts = conn.execute(
        select(order_texts.c.parts).where(
            order_texts.c.order_id == batch.order_id, order_texts.c.idx == batch.text_idx
        )
    ).scalar_one()
    changed = list(
        conn.execute(
            update(messages)
            .where(_messages_of(batch, SENDING))
            .values(
                status=UNDELIVERED,
                reason=UPSTREAM_REASON,
                due_at=None,
                updated_at=now,
                charged=False,
            )
            .returning(messages.c.id)
        )
    )
    # Every message of a relayed batch was charged its text's parts.
    refund = parts * len(changed) if changed else 0
    conn.execute(
        update(orders)
        .where(orders.c.id == batch.order_id)
        .values(
            relay_error=f"{code} {error}" if code is not None else error,
            price=_larger(conn, orders.c.price - refund, 0),
        )
    )
    _settle_order(conn, batch.order_id)
    return [row.id for row in changed], refund


def set_order_error(conn: Connection, order_id: int, error: str) -> None:
    """The order answers 115 from now on, with this reason (kept if one is set)."""
    conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.relay_error.is_(None))
        .values(relay_error=error)
    )


def mark_cancelled(conn: Connection, order_id: int, now: int) -> None:
    """Every unsettled or sent batch of a cancelled order is cancelled."""
    conn.execute(
        update(batches)
        .where(batches.c.order_id == order_id, batches.c.state.in_((*UNSETTLED, SENT)))
        .values(state=CANCELLED, lease_until=None, updated_at=now)
    )


def mirror(
    conn: Connection, batch: Claimed, statuses: dict[str, int], *, final: bool, now: int
) -> list[int]:
    """The upstream's statuses (number -> 111/112) onto the batch's waiting messages;
    ``final``: the upstream order is finished, so whatever is still waiting becomes 112.
    Returns the messages changed (their webhooks are queued by the caller)."""
    changed: list[int] = []
    for status in (DELIVERED, UNDELIVERED):
        numbers = [n for n, s in statuses.items() if s == status]
        for start in range(0, len(numbers), 1000):
            chunk = numbers[start : start + 1000]
            changed += (
                conn.execute(
                    update(messages)
                    .where(
                        messages.c.order_id == batch.order_id,
                        messages.c.text_idx == batch.text_idx,
                        messages.c.status == SENDING,
                        messages.c.recipient.in_(chunk),
                    )
                    .values(
                        status=status,
                        reason=None if status == DELIVERED else UPSTREAM_REASON,
                        due_at=None,
                        updated_at=now,
                    )
                    .returning(messages.c.id)
                )
                .scalars()
                .all()
            )
    if final:
        changed += (
            conn.execute(
                update(messages)
                .where(_messages_of(batch, SENDING))
                .values(status=UNDELIVERED, reason=UPSTREAM_REASON, due_at=None, updated_at=now)
                .returning(messages.c.id)
            )
            .scalars()
            .all()
        )
    return changed


def note_report(
    conn: Connection,
    batch_id: int,
    *,
    status: int,
    delivered: int,
    undelivered: int,
    done: bool,
    now: int,
    next_at: int | None = None,
) -> None:
    """The upstream's last report of a batch; ``done`` once its order is finished, else
    polled again at ``next_at`` (None: as claimed)."""
    values: dict[str, Any] = {
        "upstream_status": status,
        "delivered": delivered,
        "undelivered": undelivered,
        "updated_at": now,
        "error_code": None,
        "error": None,
    }
    if done:
        values["state"] = DONE
    elif next_at is not None:
        values["due_at"] = next_at
    conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))


def note_poll_error(
    conn: Connection, batch_id: int, code: int | None, error: str, now: int
) -> None:
    conn.execute(
        update(batches)
        .where(batches.c.id == batch_id)
        .values(error_code=code, error=error, updated_at=now)
    )


def delay_poll(conn: Connection, batch_id: int, due_at: int) -> None:
    conn.execute(update(batches).where(batches.c.id == batch_id).values(due_at=due_at))


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch as the outbox, panel, CLI and control API show it."""

    id: int
    order_id: int
    kind: str
    text_idx: int
    size: int
    state: str
    attempts: int
    upstream_id: str | None
    upstream_status: int | None
    error_code: int | None
    error: str | None
    sent_at: int | None
    delivered: int
    undelivered: int
    created_at: int
    updated_at: int


def _batch(row: Any) -> Batch:
    return Batch(
        id=row.id,
        order_id=row.order_id,
        kind=row.kind,
        text_idx=row.text_idx,
        size=row.size,
        state=row.state,
        attempts=row.attempts,
        upstream_id=row.upstream_id,
        upstream_status=row.upstream_status,
        error_code=row.error_code,
        error=row.error,
        sent_at=row.sent_at,
        delivered=row.delivered,
        undelivered=row.undelivered,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_BATCH_COLUMNS = [c for c in batches.c if c.name != "numbers"]


def batches_of(conn: Connection, order_id: int) -> list[Batch]:
    rows = conn.execute(
        select(*_BATCH_COLUMNS).where(batches.c.order_id == order_id).order_by(batches.c.id)
    )
    return [_batch(row) for row in rows]


def batch_of_message(conn: Connection, account_id: int, message_id: int) -> Batch | None:
    """The latest batch that carried one of the account's messages upstream (its order,
    text and recipient); None when none did."""
    found = conn.execute(
        select(messages.c.order_id, messages.c.text_idx, messages.c.recipient)
        .join(orders, orders.c.id == messages.c.order_id)
        .where(messages.c.id == message_id, orders.c.account_id == account_id)
    ).first()
    if found is None:
        return None
    row = conn.execute(
        select(*_BATCH_COLUMNS)
        .where(
            batches.c.order_id == found.order_id,
            batches.c.text_idx == found.text_idx,
            batches.c.numbers.contains(json.dumps(found.recipient), autoescape=True),
        )
        .order_by(batches.c.id.desc())
        .limit(1)
    ).first()
    return _batch(row) if row is not None else None


def recent_batches(conn: Connection, account_id: int, limit: int) -> list[Batch]:
    rows = conn.execute(
        select(*_BATCH_COLUMNS)
        .where(batches.c.account_id == account_id)
        .order_by(batches.c.id.desc())
        .limit(limit)
    )
    return [_batch(row) for row in rows]


def state_counts(conn: Connection, account_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(batches.c.state, func.count())
        .where(batches.c.account_id == account_id)
        .group_by(batches.c.state)
    )
    return {state: int(count) for state, count in rows}


def released(conn: Connection, order_id: int) -> bool:
    """Whether the order was already released to the upstream."""
    return bool(
        conn.execute(
            select(exists().where(batches.c.order_id == order_id, batches.c.kind == "release"))
        ).scalar()
    )


#: Messages released may have been simulated as delivered or undelivered; not those
#: skipped when the order was made (blacklisted, invalid, no consent, …).
_RELEASABLE = ("undelivered", "fault")


def release_recipients(
    conn: Connection, order_id: int, allowed: Sequence[str]
) -> dict[int, list[str]]:
    """Per text, the order's recipients (once each) that are on ``allowed`` and were not
    skipped when it was made."""
    rows = conn.execute(
        select(messages.c.text_idx, messages.c.recipient)
        .where(
            messages.c.order_id == order_id,
            messages.c.recipient.in_(list(allowed)),
            or_(messages.c.reason.is_(None), messages.c.reason.in_(_RELEASABLE)),
        )
        .order_by(messages.c.id)
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        texts = found.setdefault(row.text_idx, [])
        if row.recipient not in texts:
            texts.append(row.recipient)
    return found


def upstream_ids_taken(conn: Connection, key: str, ids: Sequence[str]) -> set[str]:
    """Which of these upstream order ids a batch of an account with the same upstream key
    already holds (reconciling must not adopt another batch's order)."""
    if not ids:
        return set()
    rows = conn.execute(
        select(batches.c.upstream_id)
        .join(upstreams, upstreams.c.account_id == batches.c.account_id)
        .where(upstreams.c.key == key, batches.c.upstream_id.in_(list(ids)))
    )
    return {row.upstream_id for row in rows}


class UpstreamIdTaken(Exception):
    """The upstream order a batch would adopt is held by another batch already."""


def take_upstream_id(conn: Connection, key: str, upstream_id: str) -> None:
    """Before a batch adopts an upstream order found by reconciling: UpstreamIdTaken
    when a batch of an account with the same upstream key holds it. On PostgreSQL the
    upstreams of that key are locked first, so two instances adopt one at a time."""
    if _skip_locked(conn):
        conn.execute(select(upstreams.c.account_id).where(upstreams.c.key == key).with_for_update())
    if upstream_ids_taken(conn, key, [upstream_id]):
        raise UpstreamIdTaken(upstream_id)


# -- orders of relayed accounts ------------------------------------------------------------------


def order_is_relayed(conn: Connection, account_id: int, order_id: int) -> bool:
    return bool(
        conn.execute(
            select(orders.c.relay).where(orders.c.id == order_id, orders.c.account_id == account_id)
        ).scalar()
    )


def cancellable(conn: Connection, account_id: int, order_id: int, now: int) -> int | None:
    """The charge of a relayed order still cancellable (scheduled, not cancelled, not
    yet due), its row locked on PostgreSQL; None otherwise."""
    query = select(orders.c.price).where(
        orders.c.id == order_id,
        orders.c.account_id == account_id,
        orders.c.relay == true(),
        orders.c.scheduled == true(),
        orders.c.cancelled.is_(False),
        orders.c.send_at > now,
    )
    if _skip_locked(conn):
        query = query.with_for_update()
    price = conn.execute(query).scalar()
    return None if price is None else int(price)


def in_flight(conn: Connection, order_id: int) -> bool:
    """Whether a call for one of the order's batches may be under way."""
    return bool(
        conn.execute(
            select(exists().where(batches.c.order_id == order_id, batches.c.state == IN_FLIGHT))
        ).scalar()
    )


def sent_upstream_ids(conn: Connection, order_id: int) -> list[str]:
    rows = conn.execute(
        select(batches.c.upstream_id).where(
            batches.c.order_id == order_id,
            batches.c.state.in_((SENT, DONE)),
            batches.c.upstream_id.is_not(None),
        )
    )
    return [row.upstream_id for row in rows]


def hold(conn: Connection, order_id: int, until: int) -> None:
    """The order's pending batches due at ``until``: later while a cancel asks the
    upstream, now again when it could not."""
    conn.execute(
        update(batches)
        .where(batches.c.order_id == order_id, batches.c.state == PENDING)
        .values(due_at=until)
    )
