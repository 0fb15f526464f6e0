"""``/_ileti/webhooks``: the webhook log, replays and test webhooks.

- ``GET /_ileti/webhooks``: queued delivery reports, newest first, a page at a time
  (``next``: the following page's URL, or null), with each row's attempts (each
  recorded as it completed: its time, error, the receiver's status and the start of a
  non-2xx reply).
- ``POST /_ileti/webhooks/{id}/replay``: the same body queued again, due now, to the
  account's current webhook URL; the new row.
- ``POST /_ileti/webhooks/test``: a sample report queued to the account's URL; the new
  row. 409 naming ``webhook_url`` when the account has none.

An account sees and replays only its own webhooks (another's id is 404); the admin
every account's, or one account's with ``key``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ileti.api.control.base import Caller, ControlError, Endpoint, next_url
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.logs import safe_url
from ileti.services.webhooks import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    NoWebhookUrl,
    WebhookLog,
    WebhookNotFound,
    WebhookQueryError,
)
from ileti.store.webhooks import Webhook
from ileti.values import MAX_ID

Id = Annotated[int, Meta(ge=1, le=MAX_ID)]
Key = Annotated[
    str | None, Meta(description="One account's webhooks (admin); an account may name only itself")
]


class Query(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: Key = None
    message: Annotated[Id, Meta(description="One message's reports")] | None = None
    order: Annotated[Id, Meta(description="One order's reports")] | None = None
    status: (
        Annotated[
            Literal["delivered", "failed", "pending", "given_up"],
            Meta(
                description="delivered; failed (an attempt failed, another is due); pending "
                "(no attempt yet); given_up (every attempt failed)"
            ),
        ]
        | None
    ) = None
    before: Annotated[Id, Meta(description="Only rows with a lower id (the cursor)")] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


class TestIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: Annotated[str | None, Meta(description="The account (the admin must name one)")] = None
    status: Literal["accepted", "delivered", "undelivered"] = "delivered"


class AttemptOut(msgspec.Struct):
    at: Annotated[str | None, Meta(description="When it completed (null: not known)")]
    status: Annotated[str, Meta(description="delivered | failed")]
    error: str | None
    http_status: Annotated[
        int | None, Meta(description="The receiver's HTTP status (null: no answer)")
    ]
    reply: Annotated[
        str | None,
        Meta(description="The start of a non-2xx reply's body (4 KiB at most, escaped)"),
    ]


class WebhookOut(msgspec.Struct):
    id: int
    account_key: str | None
    message_id: int
    order_id: int | None
    url: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    history: list[AttemptOut]


class LogOut(msgspec.Struct):
    webhooks: list[WebhookOut]
    next: str | None


def _time(at: int | None) -> str | None:
    return format_local(at) if at is not None else None


def webhook_out(row: Webhook, key: str | None) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        account_key=key,
        message_id=row.message_id,
        order_id=row.order_id,
        url=safe_url(row.url),
        body=row.payload,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        last_attempt_at=_time(row.last_attempt_at),
        next_attempt_at=_time(row.next_attempt_at),
        delivered_at=_time(row.delivered_at),
        history=[
            AttemptOut(
                _time(t.at),
                "failed" if t.error is not None else "delivered",
                t.error,
                t.http_status,
                t.reply,
            )
            for t in row.history
        ],
    )


async def _keys(rt: Runtime, caller: Caller) -> dict[int, str]:
    if caller.admin:
        return {a.id: a.key for a in await rt.accounts.list()}
    assert caller.account is not None
    return {caller.account.id: caller.account.key}


def _log(rt: Runtime) -> WebhookLog:
    return WebhookLog(rt.store, clock=rt.clock)


async def list_webhooks(rt: Runtime, caller: Caller, query: Query) -> LogOut:
    account_id = await caller.scope(rt.accounts, query.key)
    try:
        page = await _log(rt).page(
            account_id,
            limit=query.limit,
            before=query.before,
            message_id=query.message,
            order_id=query.order,
            status=query.status,
        )
    except WebhookQueryError as exc:
        raise ControlError(400, str(exc), exc.field) from exc
    keys = await _keys(rt, caller)
    return LogOut(
        [webhook_out(w, keys.get(w.account_id)) for w in page.webhooks],
        next_url("/webhooks", query, page.next_before),
    )


def _no_url(exc: NoWebhookUrl) -> ControlError:
    return ControlError(409, f"{exc}: set one first (PATCH /_ileti/accounts/...)", "webhook_url")


async def replay_webhook(rt: Runtime, caller: Caller, id: str) -> WebhookOut:
    try:
        webhook_id = msgspec.convert(id, Id, strict=False)
    except msgspec.ValidationError as exc:
        raise ControlError(400, f"a webhook id is a whole number from 1: {exc}", "id") from exc
    scope = None if caller.admin else caller.account_id()
    try:
        made = await _log(rt).replay(webhook_id, scope)
    except WebhookNotFound as exc:
        raise ControlError(404, str(exc), "id") from exc
    except NoWebhookUrl as exc:
        raise _no_url(exc) from exc
    keys = await _keys(rt, caller)
    return webhook_out(made, keys.get(made.account_id))


async def test_webhook(rt: Runtime, caller: Caller, body: TestIn) -> WebhookOut:
    account = await caller.one_account(rt.accounts, body.key)
    try:
        made = await _log(rt).test(account, body.status)
    except WebhookQueryError as exc:
        raise ControlError(400, str(exc), exc.field) from exc
    except NoWebhookUrl as exc:
        raise _no_url(exc) from exc
    return webhook_out(made, account.key)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/webhooks",
        "The webhook log, newest first: each queued delivery report with its URL (no "
        "password), exact body, status, attempts and their history; filters: message, "
        "order, status; a page at a time (next: the following page's URL)",
        list_webhooks,
        query=Query,
        result=LogOut,
        tags=("webhooks",),
    ),
    Endpoint(
        "POST",
        "/webhooks/test",
        "Queue a sample delivery report to the account's webhook URL (409 without one)",
        test_webhook,
        body=TestIn,
        result=WebhookOut,
        status=201,
        tags=("webhooks",),
    ),
    Endpoint(
        "POST",
        "/webhooks/{id}/replay",
        "Queue a webhook's exact body again, due now, to the account's current URL",
        replay_webhook,
        result=WebhookOut,
        status=201,
        tags=("webhooks",),
    ),
)
