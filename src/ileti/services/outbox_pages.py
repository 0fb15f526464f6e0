"""What the panel shows of the sandbox outbox: a page of an account's messages (newest
first, searched by recipient, sender and text), one message, and the new messages a
live page waits for.

A search by sender or text checks the rows it walks, so a rare match could read every
message of the account: a page reads at most ``WINDOW`` message ids below its cursor
and says where it stopped (``partial``); the next page goes on from there. A recipient
or no filter walks an index and needs no window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass

from ileti.services.outbox import OutboxService
from ileti.services.watch import OutboxWatcher
from ileti.store import Store
from ileti.store import outbox as outbox_store
from ileti.store.outbox import Filters, OutboxMessage

PAGE = 50
#: Message ids a sender or text search reads at most per page.
WINDOW = 10_000
#: New messages one live event batch carries at most.
BATCH = 50


@dataclass(frozen=True, slots=True)
class BrowsePage:
    messages: list[OutboxMessage]
    #: The ``before`` of the next page; None on the last page.
    next_before: int | None
    #: The page stopped at the window, not because it was full.
    partial: bool


class OutboxPages:
    def __init__(self, store: Store, watcher: OutboxWatcher) -> None:
        self._store = store
        self._watcher = watcher
        self._outbox = OutboxService(store, watcher)

    async def browse(self, found: Filters, size: int = PAGE) -> BrowsePage:
        """A page of the messages that pass ``found`` (``found.before``: the cursor)."""
        floor = 0
        if found.recipient is None and found.order_id is None and (found.sender or found.text):
            top = found.before
            if top is None:
                top = await self._store.read(outbox_store.newest_id) + 1
            floor = max(top - 1 - WINDOW, 0)
            found = dataclasses.replace(found, after=max(found.after or 0, floor) or None)
        page = await self._outbox.search(found, size)
        if page.next_before is None and floor > 0:
            return BrowsePage(page.messages, floor + 1, True)
        return BrowsePage(page.messages, page.next_before, False)

    async def one(
        self, account_id: int, message_id: int, found: Filters | None = None
    ) -> OutboxMessage | None:
        """The account's message ``message_id`` if it passes ``found`` (None: any)."""
        base = found or Filters()
        one = dataclasses.replace(
            base, account_id=account_id, after=message_id - 1, before=message_id + 1
        )
        return await self._outbox.newest(one)

    async def newest_id(self) -> int:
        """The newest message id of any account (0: none): a live page read before its
        first page waits for the messages above it (one index probe)."""
        return await self._store.read(outbox_store.newest_id)

    async def arrivals(
        self, found: Filters, after: int, *, timeout: float, scope: Hashable
    ) -> list[OutboxMessage] | None:
        """The messages passing ``found`` with an id above ``after``, oldest first, as soon
        as there is one; None after ``timeout`` seconds. WaitRefused beyond the waits
        allowed at once for ``scope``; WatcherClosed when the instance stops."""
        base = dataclasses.replace(found, before=None)

        async def check(floor: int | None) -> list[OutboxMessage] | None:
            bottom = after if floor is None else max(after, floor)
            page = await self._outbox.search(dataclasses.replace(base, after=bottom), BATCH)
            return list(reversed(page.messages)) or None

        return await self._watcher.wait_for(scope, timeout, check)
