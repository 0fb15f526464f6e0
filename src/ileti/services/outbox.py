"""The sandbox outbox: what would have gone out, message by message, for integrators
who have no sandbox at the provider (the admin view ``/outbox`` and ``ileti outbox``).

Newest first, paged by message id: ``before`` is the id of the last message seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ileti.clock import format_local
from ileti.errors import Code
from ileti.services.order_rules import SKIPPED
from ileti.store import AccountNotFound, Store
from ileti.store import accounts as account_store
from ileti.store import outbox as outbox_store
from ileti.store.outbox import OutboxMessage
from ileti.values import MAX_ID, whole

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CHUNK = 1000


class OutboxQueryError(ValueError):
    """A filter or paging value the outbox cannot use."""


@dataclass(frozen=True, slots=True)
class OutboxPage:
    messages: list[OutboxMessage]
    #: The ``before`` of the next page; None on the last page.
    next_before: int | None


def _whole(name: str, raw: str | int | None, *, low: int, high: int) -> int | None:
    try:
        found = whole(raw)
    except ValueError:
        found = low - 1
    if found is not None and not low <= found <= high:
        raise OutboxQueryError(f"{name} must be a whole number from {low} to {high}")
    return found


def parse_limit(raw: str | int | None) -> int:
    found = _whole("limit", raw, low=1, high=MAX_LIMIT)
    return DEFAULT_LIMIT if found is None else found


def parse_id(name: str, raw: str | int | None) -> int | None:
    return _whole(name, raw, low=1, high=MAX_ID)


def _clean_key(key: str | None) -> str | None:
    if key is None or key.strip() == "":
        return None
    return key.strip()


def _page(
    conn: Connection, key: str | None, order_id: int | None, before: int | None, limit: int
) -> list[OutboxMessage] | None:
    account_id = None
    if key is not None:
        account = account_store.by_key(conn, key)
        if account is None:
            return None
        account_id = account.id
    return outbox_store.page(
        conn, account_id=account_id, order_id=order_id, before=before, limit=limit
    )


class OutboxService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(
        self,
        *,
        key: str | None = None,
        order: str | int | None = None,
        before: str | int | None = None,
        limit: str | int | None = None,
    ) -> OutboxPage:
        """One page, newest first. OutboxQueryError for a bad value, AccountNotFound
        for an unknown key."""
        key = _clean_key(key)
        order_id, cursor = parse_id("order", order), parse_id("before", before)
        count = parse_limit(limit)
        found = await self._store.read(_page, key, order_id, cursor, count + 1)
        if found is None:
            raise AccountNotFound(key)
        more = len(found) > count
        shown = found[:count]
        return OutboxPage(shown, shown[-1].id if more else None)

    def iterate(
        self, *, key: str | None = None, order_id: int | None = None, limit: int | None = None
    ) -> Iterator[OutboxMessage]:
        """Every message (or the newest ``limit``), newest first, read a chunk at a time
        (each chunk its own short read: nothing is held open while the caller writes).
        AccountNotFound for an unknown key, at once."""
        key = _clean_key(key)
        if key is not None and self._store.read_sync(account_store.by_key, key) is None:
            raise AccountNotFound(key)
        return self._chunks(key, order_id, limit)

    def _chunks(
        self, key: str | None, order_id: int | None, limit: int | None
    ) -> Iterator[OutboxMessage]:
        left = limit
        cursor: int | None = None
        while left is None or left > 0:
            size = CHUNK if left is None else min(CHUNK, left)
            chunk = self._store.read_sync(_page, key, order_id, cursor, size)
            if not chunk:
                return
            yield from chunk
            if len(chunk) < size:
                return
            cursor = chunk[-1].id
            if left is not None:
                left -= len(chunk)


def sent_at(message: OutboxMessage) -> int | None:
    """When the message went to the carrier: its order's send time once dispatched;
    None while waiting, and for messages skipped at submission or cancelled."""
    if not message.dispatched or message.reason in SKIPPED or message.reason == "cancelled":
        return None
    return message.send_at


def describe(message: OutboxMessage) -> dict[str, Any]:
    """One message as the outbox shows it in JSON (times ``Y-m-d H:i:s``, Istanbul)."""
    sent = sent_at(message)
    return {
        "id": message.id,
        "order_id": message.order_id,
        "account_key": message.account_key,
        "account_name": message.account_name,
        "sender": message.sender,
        "recipient": message.recipient,
        "text": message.text,
        "parts": message.parts,
        "status": message.status,
        "status_message": Code(message.status).message,
        "reason": message.reason,
        "charged": message.charged,
        "iys": message.iys,
        "submitted_at": format_local(message.submit_at),
        "scheduled_at": format_local(message.send_at) if message.scheduled else None,
        "sent_at": format_local(sent) if sent is not None else None,
        "updated_at": format_local(message.updated_at),
    }
