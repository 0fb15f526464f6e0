"""``/_ileti/inbound``: simulate an SMS sent *to* an account (an opt-out keyword to its
short code blacklists the sender; ``RET <BRAND>`` to 3338, the İYS registry's short code,
records an İYS RET for the account's brand), and list what was received.

- ``POST /_ileti/inbound`` ``{"from": "+905...", "to": "7889", "text": "RET"}``: the
  message is kept; ``action`` says what it did (``blacklisted``, or null).
- ``GET /_ileti/inbound``: received messages, newest first, a page at a time.

An account sends to and lists only itself; the admin names the account with ``key``
(to list: every account's without one).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from ileti.api.control.base import Caller, ControlError, Endpoint, next_url
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.services.inbound import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InboundError,
    InboundService,
)
from ileti.store.inbound import Inbound
from ileti.values import MAX_ID

Key = Annotated[
    str | None,
    Meta(description="The account (admin: required to send); an account may name only itself"),
]


class InboundIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: Key = None
    sender: Annotated[
        str | None, Meta(description="Required: the sender, a Turkish mobile in any form")
    ] = msgspec.field(name="from", default=None)
    to: Annotated[
        str | None, Meta(description="Required: the number sent to, e.g. the short code")
    ] = None
    text: Annotated[str | None, Meta(description="Required: the message")] = None


class ListQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: Key = None
    before: (
        Annotated[int, Meta(ge=1, le=MAX_ID, description="Only messages with a lower id")] | None
    ) = None
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


class InboundOut(msgspec.Struct):
    id: int
    account_key: str | None
    sender: str = msgspec.field(name="from")
    to: str
    text: str
    received_at: str
    action: str | None


class ReceivedOut(msgspec.Struct):
    action: str | None
    keyword: str | None
    #: The sender was already blacklisted (or, for a RET to 3338, already RET in İYS).
    already_listed: bool
    message: InboundOut


class InboundList(msgspec.Struct):
    messages: list[InboundOut]
    next: str | None


def inbound_out(row: Inbound, key: str | None) -> InboundOut:
    return InboundOut(
        id=row.id,
        account_key=key,
        sender=row.sender,
        to=row.recipient,
        text=row.text,
        received_at=format_local(row.received_at),
        action=row.action,
    )


def _service(rt: Runtime) -> InboundService:
    return InboundService(rt.store, clock=rt.clock)


async def receive(rt: Runtime, caller: Caller, body: InboundIn) -> ReceivedOut:
    for name, value in (("from", body.sender), ("to", body.to), ("text", body.text)):
        if value is None:
            raise ControlError(400, f"{name} is required", name)
    assert body.sender is not None and body.to is not None and body.text is not None
    account = await caller.one_account(rt.accounts, body.key)
    try:
        got = await _service(rt).receive(account, body.sender, body.to, body.text)
    except InboundError as exc:
        raise ControlError(400, str(exc), exc.field) from exc
    return ReceivedOut(
        action=got.message.action,
        keyword=got.keyword,
        already_listed=got.keyword is not None and not got.added,
        message=inbound_out(got.message, account.key),
    )


async def list_inbound(rt: Runtime, caller: Caller, query: ListQuery) -> InboundList:
    account_id = await caller.scope(rt.accounts, query.key)
    try:
        page = await _service(rt).page(account_id, before=query.before, limit=query.limit)
    except InboundError as exc:
        raise ControlError(400, str(exc), exc.field) from exc
    if caller.admin:
        keys = {a.id: a.key for a in await rt.accounts.list()}
    else:
        assert caller.account is not None
        keys = {caller.account.id: caller.account.key}
    return InboundList(
        [inbound_out(m, keys.get(m.account_id)) for m in page.messages],
        next_url("/inbound", query, page.next_before),
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/inbound",
        "Simulate an SMS sent to the account: kept; an opt-out keyword (RET, IPTAL, STOP, "
        "'<name> RET', ...) sent to its short code blacklists the sender (source keyword); "
        "'RET <brand code or name>' sent to 3338 records an İYS RET (source IYS_KISAMESAJ)",
        receive,
        body=InboundIn,
        result=ReceivedOut,
        status=201,
        tags=("inbound",),
    ),
    Endpoint(
        "GET",
        "/inbound",
        "Messages received, newest first, a page at a time (next: the following page's URL)",
        list_inbound,
        query=ListQuery,
        result=InboundList,
        tags=("inbound",),
    ),
)
