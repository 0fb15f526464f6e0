"""``/_ileti/outbox``: search the outbox, wait for a message, read a code out of one.

- ``GET /_ileti/outbox``: messages passing the filters, newest first, a page at a time
  (``next`` is the URL of the following page, or null).
- ``GET /_ileti/outbox/wait``: the newest matching message as soon as there is one
  (one stored before the call counts unless ``after`` excludes it); 408 after
  ``timeout`` seconds.
- ``GET /_ileti/outbox/code``: the first match of ``pattern`` in the newest message to
  ``recipient``; 404 when there is none; with ``wait``, waits for one.

An account sees only its own messages (``key`` naming another account is 404); the
admin sees every account's, or one account's with ``key``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ileti.api.control.base import Caller, ControlError, Endpoint, next_url
from ileti.api.runtime import Runtime
from ileti.services import outbox as outbox_service
from ileti.services.codes import DEFAULT_PATTERN, MAX_PATTERN
from ileti.services.outbox import (
    DEFAULT_LIMIT,
    DEFAULT_WAIT,
    MAX_LIMIT,
    MAX_WAIT,
    NotFound,
    OutboxQueryError,
    OutboxService,
    TimedOut,
    describe,
)
from ileti.services.watch import WaitRefused, WatcherClosed
from ileti.store.outbox import Filters, OutboxMessage
from ileti.values import MAX_ID

Id = Annotated[int, Meta(ge=1, le=MAX_ID)]
Key = Annotated[
    str | None, Meta(description="One account's messages (admin); an account may name only itself")
]
Recipient = Annotated[
    str | None,
    Meta(
        description="A Turkish mobile in any accepted form (+905…, 905…, 05…, 5…); anything "
        "else matches recipients stored as written"
    ),
]
Sender = Annotated[str | None, Meta(description="The sender name, exactly")]
After = Annotated[Id, Meta(description="Only messages with a higher id")]


class Query(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class FilterQuery(Query):
    key: Key = None
    recipient: Recipient = None
    sender: Sender = None
    order: Annotated[Id, Meta(description="One order's id")] | None = None
    text: Annotated[
        str | None, Meta(description="A substring of the text (case-sensitive; % and _ plain)")
    ] = None
    status: Literal[110, 111, 112] | None = None
    since: Annotated[
        str | None, Meta(description="Submitted at or after: Y-m-d H:i:s or Y-m-d, Istanbul")
    ] = None
    until: Annotated[
        str | None, Meta(description="Submitted at or before: Y-m-d H:i:s or Y-m-d (whole day)")
    ] = None


class SearchQuery(FilterQuery):
    before: Annotated[Id, Meta(description="Only messages with a lower id (the cursor)")] | None = (
        None
    )
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


class WaitQuery(FilterQuery):
    after: After | None = None
    timeout: Annotated[float, Meta(gt=0, le=MAX_WAIT, description="Seconds")] = DEFAULT_WAIT


class CodeQuery(Query):
    key: Key = None
    recipient: Annotated[
        str | None, Meta(description="Required: the number the code was sent to, any form")
    ] = None
    sender: Sender = None
    pattern: Annotated[
        str | None,
        Meta(
            description=f"A regular expression, at most {MAX_PATTERN} characters; its group 1 "
            f"if it has one (default {DEFAULT_PATTERN})"
        ),
    ] = None
    after: After | None = None
    wait: Annotated[float, Meta(ge=0, le=MAX_WAIT, description="Seconds to wait")] | None = None


class MessageOut(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    order_id: int
    account_key: str
    account_name: str
    sender: str
    recipient: str
    text: str
    parts: int
    status: int
    status_message: str
    reason: str | None
    charged: bool
    iys: bool
    submitted_at: str
    scheduled_at: str | None
    sent_at: str | None
    updated_at: str


class SearchOut(msgspec.Struct):
    messages: list[MessageOut]
    next: str | None


class WaitOut(msgspec.Struct):
    message: MessageOut


class CodeOut(msgspec.Struct):
    code: str
    message: MessageOut


def message_out(message: OutboxMessage) -> MessageOut:
    return msgspec.convert(describe(message), MessageOut)


def _refused(exc: OutboxQueryError) -> ControlError:
    return ControlError(400, str(exc), exc.field)


async def _account_id(rt: Runtime, caller: Caller, key: str | None) -> int | None:
    """The caller's scope: its own account; the admin's choice (None: every account)."""
    return await caller.scope(rt.accounts, key)


#: The filters search and wait share, by their query parameter's name.
_MATCHING = ("order", "text", "status", "since", "until")


async def _filters(rt: Runtime, caller: Caller, query: Any, **extra: Any) -> Filters:
    account_id = await _account_id(rt, caller, query.key)
    try:
        return outbox_service.filters(
            account_id=account_id, recipient=query.recipient, sender=query.sender, **extra
        )
    except OutboxQueryError as exc:
        raise _refused(exc) from exc


def _service(rt: Runtime) -> OutboxService:
    return OutboxService(rt.store, rt.outbox_watcher)


async def search_outbox(rt: Runtime, caller: Caller, query: SearchQuery) -> SearchOut:
    matching = {name: getattr(query, name) for name in _MATCHING}
    found = await _filters(rt, caller, query, **matching, before=query.before)
    page = await _service(rt).search(found, query.limit)
    return SearchOut(
        [message_out(m) for m in page.messages], next_url("/outbox", query, page.next_before)
    )


def _ended(exc: Exception) -> ControlError:
    if isinstance(exc, WaitRefused):
        return ControlError(429, str(exc))
    return ControlError(503, str(exc))


async def wait_outbox(rt: Runtime, caller: Caller, query: WaitQuery) -> WaitOut:
    matching = {name: getattr(query, name) for name in _MATCHING}
    found = await _filters(rt, caller, query, **matching, after=query.after)
    try:
        message = await _service(rt).wait(found, timeout=query.timeout, scope=found.account_id)
    except TimedOut as exc:
        raise ControlError(408, str(exc)) from exc
    except (WaitRefused, WatcherClosed) as exc:
        raise _ended(exc) from exc
    return WaitOut(message_out(message))


async def outbox_code(rt: Runtime, caller: Caller, query: CodeQuery) -> CodeOut:
    if query.recipient is None:
        raise ControlError(400, "recipient is required", "recipient")
    found = await _filters(rt, caller, query, after=query.after)
    try:
        pattern = outbox_service.pattern_of(query.pattern)
        result = await _service(rt).code(
            found, pattern, wait=query.wait or None, scope=found.account_id
        )
    except OutboxQueryError as exc:
        raise _refused(exc) from exc
    except NotFound as exc:
        raise ControlError(404, str(exc)) from exc
    except TimedOut as exc:
        raise ControlError(408, str(exc)) from exc
    except (WaitRefused, WatcherClosed) as exc:
        raise _ended(exc) from exc
    return CodeOut(result.code, message_out(result.message))


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/outbox",
        "Search the outbox, newest first: recipient, sender, order, text, status, submit "
        "time; a page at a time (next: the following page's URL)",
        search_outbox,
        query=SearchQuery,
        result=SearchOut,
        tags=("outbox",),
    ),
    Endpoint(
        "GET",
        "/outbox/wait",
        "The newest matching message as soon as there is one (408 after timeout)",
        wait_outbox,
        query=WaitQuery,
        result=WaitOut,
        tags=("outbox",),
        long_poll=True,
    ),
    Endpoint(
        "GET",
        "/outbox/code",
        "The code (first match of pattern) in the newest message to a number; with "
        "wait, waits for one",
        outbox_code,
        query=CodeQuery,
        result=CodeOut,
        tags=("outbox",),
        long_poll=True,
    ),
)
