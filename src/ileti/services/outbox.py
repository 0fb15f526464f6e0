"""The sandbox outbox: what would have gone out, message by message, for integrators
who have no sandbox at the provider (the admin view ``/outbox``, the control API's
``/_ileti/outbox`` and ``ileti outbox``).

Newest first, paged by message id: ``before`` is the id of the last message seen.
A search keeps messages by recipient (any accepted way of writing a Turkish mobile),
sender, order, text, status and submit time; a wait runs a search again whenever the
instance's watcher sees a new message (``ileti.services.watch``); a code is the first
match of a bounded pattern in the newest message to a number (``ileti.services.codes``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import regex
from sqlalchemy import Connection

from ileti import numbers
from ileti.clock import SECOND, format_local, parse_local
from ileti.errors import Code
from ileti.services import codes
from ileti.services.order_rules import SKIPPED, as_written
from ileti.services.watch import OutboxWatcher
from ileti.store import AccountNotFound, Store
from ileti.store import accounts as account_store
from ileti.store import outbox as outbox_store
from ileti.store.outbox import Filters, OutboxMessage
from ileti.values import MAX_ID, whole

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CHUNK = 1000
#: A wait lasts at most this many seconds (default ``DEFAULT_WAIT``).
MAX_WAIT = 30.0
DEFAULT_WAIT = 10.0
STATUSES = (int(Code.SENDING), int(Code.DELIVERED), int(Code.UNDELIVERED))


class OutboxQueryError(ValueError):
    """A filter or paging value the outbox cannot use; ``field`` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LookupError):
    """No message passes the filters, or the newest one holds no code."""


class TimedOut(Exception):
    """A wait ended without a matching message."""


@dataclass(frozen=True, slots=True)
class CodeFound:
    code: str
    message: OutboxMessage


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
        raise OutboxQueryError(f"{name} must be a whole number from {low} to {high}", name)
    return found


def parse_limit(raw: str | int | None) -> int:
    found = _whole("limit", raw, low=1, high=MAX_LIMIT)
    return DEFAULT_LIMIT if found is None else found


def parse_id(name: str, raw: str | int | None) -> int | None:
    return _whole(name, raw, low=1, high=MAX_ID)


def parse_status(raw: str | int | None) -> int | None:
    found = _whole("status", raw, low=0, high=MAX_ID)
    if found is not None and found not in STATUSES:
        raise OutboxQueryError("status must be 110, 111 or 112", "status")
    return found


def _bounded(name: str, seconds: float) -> float:
    """A wait's length: more than 0 and at most ``MAX_WAIT`` seconds."""
    if not 0 < seconds <= MAX_WAIT:  # NaN fails too
        raise OutboxQueryError(f"{name} must be more than 0 and at most {MAX_WAIT:g} s", name)
    return seconds


def recipient_as_stored(raw: str) -> str:
    """How a recipient is stored: E.164 for a Turkish mobile written in any accepted
    form (``05XX…``, ``+90 5XX…``, ``905XX…``), else as written (cut as send-sms cuts
    an invalid recipient), so an invalid number finds the messages it was given to."""
    found = numbers.normalize(raw)
    if found is not None:
        return found
    return as_written(raw)


def _time(name: str, raw: str | None, *, end: bool) -> int | None:
    if raw is None:
        return None
    try:
        moment = parse_local(raw, end_of_day=end)
    except ValueError:
        raise OutboxQueryError(
            f"{name} must be Y-m-d H:i:s or Y-m-d (Istanbul time), got {raw!r}", name
        ) from None
    # ``until`` covers its whole second (a bare date: its day's last second).
    return moment + SECOND - 1 if end else moment


def filters(
    *,
    account_id: int | None = None,
    order: str | int | None = None,
    recipient: str | None = None,
    sender: str | None = None,
    text: str | None = None,
    status: str | int | None = None,
    since: str | None = None,
    until: str | None = None,
    after: str | int | None = None,
    before: str | int | None = None,
) -> Filters:
    """The filters of a search from outside values; OutboxQueryError naming the bad one.

    ``text`` is a case-sensitive substring (``%`` and ``_`` are plain characters);
    ``since`` and ``until`` bound the submit time, both inclusive."""
    for name, value in (("sender", sender), ("text", text)):
        if value is not None and "\x00" in value:  # nothing stored holds one
            raise OutboxQueryError(f"{name} must not contain NUL characters", name)
    start, end = _time("since", since, end=False), _time("until", until, end=True)
    if start is not None and end is not None and end < start:
        raise OutboxQueryError("until is before since", "until")
    return Filters(
        account_id=account_id,
        order_id=parse_id("order", order),
        recipient=recipient_as_stored(recipient) if recipient is not None else None,
        sender=sender,
        text=text,
        status=parse_status(status),
        since=start,
        until=end,
        after=parse_id("after", after),
        before=parse_id("before", before),
    )


def pattern_of(text: str | None) -> regex.Pattern[str]:
    """A code pattern (None: ``codes.DEFAULT_PATTERN``); OutboxQueryError naming
    ``pattern`` when it is too long or not a regular expression."""
    try:
        return codes.compile_pattern(text)
    except codes.PatternError as exc:
        raise OutboxQueryError(str(exc), "pattern") from exc


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
    def __init__(self, store: Store, watcher: OutboxWatcher | None = None) -> None:
        self._store = store
        self._watcher = watcher

    async def search(self, found: Filters, limit: str | int | None = None) -> OutboxPage:
        """One page of the messages that pass ``found``, newest first (``found.before``
        is the cursor). OutboxQueryError for a bad limit."""
        count = parse_limit(limit)
        rows = await self._store.read(outbox_store.search, found, count + 1)
        more = len(rows) > count
        shown = rows[:count]
        return OutboxPage(shown, shown[-1].id if more else None)

    async def newest(self, found: Filters) -> OutboxMessage | None:
        rows = await self._store.read(outbox_store.search, found, 1)
        return rows[0] if rows else None

    async def wait(self, found: Filters, *, timeout: float, scope: Hashable) -> OutboxMessage:
        """The newest message passing ``found`` as soon as there is one (one stored
        before the call counts, unless ``found.after`` excludes it); TimedOut after
        ``timeout`` seconds. WaitRefused beyond the waits allowed at once for
        ``scope``; WatcherClosed when the instance stops."""
        if self._watcher is None:
            raise RuntimeError("waiting needs the instance's watcher")

        async def check(floor: int | None) -> OutboxMessage | None:
            return await self.newest(_above(found, floor))

        message = await self._watcher.wait_for(scope, _bounded("timeout", timeout), check)
        if message is None:
            raise TimedOut(f"no matching message within {timeout:g} s")
        return message

    async def code(
        self,
        found: Filters,
        pattern: regex.Pattern[str],
        *,
        wait: float | None = None,
        scope: Hashable = None,
    ) -> CodeFound:
        """The first match of ``pattern`` (its group 1 if it has groups) in the newest
        message passing ``found``. Without ``wait``: NotFound when there is no such
        message or no match in it. With ``wait`` seconds: waits for a newest message
        that holds a match (TimedOut if none comes). OutboxQueryError naming
        ``pattern`` when the pattern runs too long."""

        async def check(floor: int | None) -> CodeFound | None:
            message = await self.newest(_above(found, floor))
            return await _code_in(message, pattern) if message is not None else None

        if wait is None:
            message = await self.newest(found)
            if message is None:
                raise NotFound("no message passes the filters")
            result = await _code_in(message, pattern)
            if result is None:
                raise NotFound(f"no match of the pattern in the newest message (id {message.id})")
            return result
        if self._watcher is None:
            raise RuntimeError("waiting needs the instance's watcher")
        result = await self._watcher.wait_for(scope, _bounded("wait", wait), check)
        if result is None:
            raise TimedOut(f"no message with a match of the pattern within {wait:g} s")
        return result

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


def _above(found: Filters, floor: int | None) -> Filters:
    """``found`` limited to ids above ``floor`` (what a wait has not looked at yet)."""
    if floor is None or (found.after is not None and found.after >= floor):
        return found
    return dataclasses.replace(found, after=floor)


async def _code_in(message: OutboxMessage, pattern: regex.Pattern[str]) -> CodeFound | None:
    try:
        code = await codes.find_code_async(pattern, message.text)
    except codes.PatternError as exc:
        raise OutboxQueryError(str(exc), "pattern") from exc
    return CodeFound(code, message) if code is not None else None


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
