"""What the panel shows of the relay beside an order or a message: the order's batches,
whether (and to whom) a captured sandbox order may be released, and the batch that
carried one message upstream. Reads only; the changes go through
``ileti.services.relay_settings``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from ileti.models import Order
from ileti.store import Store
from ileti.store import orders as order_store
from ileti.store import relay as relay_store
from ileti.store.relay import Batch


@dataclass(frozen=True, slots=True)
class OrderRelay:
    """An order as the relay sees it."""

    #: Forwarded to the upstream (the account relayed it when it was accepted).
    relayed: bool
    #: Why the upstream refused it ("<code> <message>"), if it did.
    relay_error: str | None
    #: The account has an upstream now.
    has_upstream: bool
    #: The numbers released orders may reach (the account's release list).
    release_numbers: tuple[str, ...]
    #: The order's batches, relayed or released, oldest first.
    batches: list[Batch]
    #: Per text, the recipients a release would reach (on the list, not skipped).
    reach: dict[int, list[str]]
    #: Whether the release button applies: a captured order, not cancelled, not yet
    #: released, of an account with an upstream.
    releasable: bool


@dataclass(frozen=True, slots=True)
class MessageRelay:
    relayed: bool
    batch: Batch | None


class RelayPages:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def order(self, account_id: int, order_id: int) -> OrderRelay | None:
        """None when the account has no such order."""
        return await self._store.read(order_relay, account_id, order_id)

    async def message(self, account_id: int, message_id: int, order_id: int) -> MessageRelay:
        def read(conn: Connection) -> MessageRelay:
            return MessageRelay(
                relayed=relay_store.order_is_relayed(conn, account_id, order_id),
                batch=relay_store.batch_of_message(conn, account_id, message_id),
            )

        return await self._store.read(read)


def order_relay(conn: Connection, account_id: int, order_id: int) -> OrderRelay | None:
    """The order as the relay sees it; None when the account has no such order."""
    order = order_store.find(conn, account_id, order_id)
    return None if order is None else relay_of(conn, account_id, order)


def relay_of(conn: Connection, account_id: int, order: Order) -> OrderRelay:
    """What the relay shows of one of the account's orders, already read in this
    transaction (``OrderPages.report_with_relay`` reads it with the order's messages, so
    that a batch and the statuses it set are shown together)."""
    order_id = order.id
    upstream = relay_store.upstream(conn, account_id)
    found = relay_store.batches_of(conn, order_id)
    released = any(batch.kind == "release" for batch in found)
    numbers = upstream.release_numbers if upstream is not None else ()
    releasable = upstream is not None and not order.relay and not order.cancelled and not released
    reach = (
        relay_store.release_recipients(conn, order_id, sorted(numbers))
        if releasable and numbers
        else {}
    )
    return OrderRelay(
        relayed=order.relay,
        relay_error=order.relay_error,
        has_upstream=upstream is not None,
        release_numbers=numbers,
        batches=found,
        reach=reach,
        releasable=releasable,
    )
