"""The sandbox outbox in the panel: what would have been sent, newest first, searched
by recipient (any accepted form), sender and text; live (server-sent events at
``/outbox/events``: the id of each new message passing the page's filters, which
``static/outbox.js`` turns into a row fetched from ``/outbox/row/{id}``); and one
message's page with its part breakdown and price, and for a message of a relayed (or
released) order, the batch that carried it upstream.

A live page holds one stream. The streams of one process are bounded (``MAX_STREAMS``;
one more is answered 503), each waits through the instance's OutboxWatcher (so a
message stored by any instance shows within a probe interval), sends a comment every
``HEARTBEAT`` seconds, ends when its session does, and ends at once when the instance
stops (the watcher's stop on SIGTERM ends every wait).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ileti.api.panel.base import SECURITY_HEADERS, SESSION_COOKIE, Ctx, NotFound, page
from ileti.api.runtime import Runtime
from ileti.parts import breakdown
from ileti.services import outbox as outbox_service
from ileti.services.outbox import OutboxQueryError
from ileti.services.outbox_pages import BATCH, OutboxPages
from ileti.services.relay_pages import RelayPages
from ileti.services.watch import WaitRefused, WatcherClosed
from ileti.store import StoreUnavailable
from ileti.store.outbox import Filters
from ileti.values import MAX_ID

log = logging.getLogger("ileti.panel")

#: Live streams one process serves at once.
MAX_STREAMS = 100
#: Seconds between heartbeat comments (and session checks) on an idle stream.
HEARTBEAT = 15.0
#: The search fields of the outbox page, in the order the form shows them.
FIELDS = ("recipient", "sender", "text")
MAX_FIELD = 200


def _id(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise NotFound()
    return int(raw)


def _values(ctx: Ctx) -> dict[str, str]:
    query = ctx.request.query_params
    return {name: query.get(name, "")[:MAX_FIELD] for name in FIELDS}


def _filters(account_id: int, values: dict[str, str], before: str | None = None) -> Filters:
    """The search of the page's form; OutboxQueryError naming a bad field."""
    given = {name: (value.strip() if name != "text" else value) for name, value in values.items()}
    return outbox_service.filters(
        account_id=account_id,
        recipient=given["recipient"] or None,
        sender=given["sender"] or None,
        text=given["text"] or None,
        before=before or None,
    )


def routes(rt: Runtime) -> list[Route]:
    pages = OutboxPages(rt.store, rt.outbox_watcher)
    relay_pages = RelayPages(rt.store)
    streams = {"open": 0}

    async def outbox_page(ctx: Ctx) -> Response:
        account = ctx.account
        values = _values(ctx)
        before = ctx.request.query_params.get("before", "")
        try:
            found = _filters(account.id, values, before)
        except OutboxQueryError as exc:
            field = exc.field if exc.field in FIELDS else "recipient"
            if exc.field == "before":
                raise NotFound() from None
            return ctx.render(
                "outbox.html",
                status=422,
                values=values,
                shown=None,
                live=None,
                errors={field: f"outbox.bad_{field}"},
            )
        newest = await pages.newest_id() if not before else 0
        shown = await pages.browse(found)
        live = None
        if not before:  # the first page is live: new messages appear on top
            query = urlencode({k: v for k, v in values.items() if v})
            live = {"after": newest, "query": query}
        return ctx.render(
            "outbox.html",
            values=values,
            shown=shown,
            live=live,
            query_string=urlencode({k: v for k, v in values.items() if v}),
        )

    async def row(ctx: Ctx) -> Response:
        """One message as a row of the outbox table (for the live page), if it passes
        the page's filters; 404 otherwise."""
        message_id = _id(ctx.request.path_params["id"])
        try:
            found = _filters(ctx.account.id, _values(ctx))
        except OutboxQueryError:
            raise NotFound() from None
        message = await pages.one(ctx.account.id, message_id, found)
        if message is None:
            raise NotFound()
        return ctx.render("outbox_row.html", rows=[message])

    async def message_page(ctx: Ctx) -> Response:
        account = ctx.account
        message = await pages.one(account.id, _id(ctx.request.path_params["id"]))
        if message is None:
            raise NotFound()
        credits = message.parts if message.charged else 0
        parts = breakdown(message.text)
        relay = await relay_pages.message(account.id, message.id, message.order_id)
        return ctx.render(
            "outbox_message.html",
            message=message,
            relay=relay,
            parts=parts,
            codepoints={ch: f"U+{ord(ch):04X}" for ch in (*parts.forcing, *parts.doubled)},
            credits=credits,
            unit_price=account.unit_price,
            amount=f"{credits * account.unit_price / 1_000_000:.3f}",
            sent_at=outbox_service.sent_at(message),
        )

    async def events(ctx: Ctx) -> Response:
        account = ctx.account
        try:
            found = _filters(account.id, _values(ctx))
        except OutboxQueryError as exc:
            return PlainTextResponse(str(exc), status_code=400, headers=SECURITY_HEADERS)
        raw = ctx.request.headers.get("last-event-id") or ctx.request.query_params.get("after", "")
        after = int(raw) if raw.isdigit() and int(raw) <= MAX_ID else await pages.newest_id()
        if streams["open"] >= MAX_STREAMS:
            return PlainTextResponse(
                "too many live outbox pages open", status_code=503, headers=SECURITY_HEADERS
            )
        token = ctx.request.cookies.get(SESSION_COOKIE)
        scope = ("panel", account.id)

        async def stream() -> AsyncIterator[str]:
            streams["open"] += 1
            last = after
            try:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        batch = await pages.arrivals(found, last, timeout=HEARTBEAT, scope=scope)
                    except WaitRefused:
                        yield "event: busy\ndata: \n\n"
                        return
                    except WatcherClosed:
                        yield "event: closing\ndata: \n\n"
                        return
                    if batch is None:
                        if await rt.users.session(token) is None:
                            yield "event: ended\ndata: \n\n"
                            return
                        yield ": heartbeat\n\n"
                        continue
                    for message in batch:
                        yield f"id: {message.id}\nevent: message\ndata: {message.id}\n\n"
                    if len(batch) >= BATCH:
                        yield "event: more\ndata: \n\n"
                    last = batch[-1].id
            except StoreUnavailable as exc:  # the browser reconnects after ``retry``
                log.warning("panel: outbox stream: store unavailable: %s", exc)
            finally:
                streams["open"] -= 1

        headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    return [
        Route("/outbox", page(rt, outbox_page), methods=["GET"]),
        Route("/outbox/events", page(rt, events), methods=["GET"]),
        Route("/outbox/row/{id}", page(rt, row), methods=["GET"]),
        Route("/outbox/{id}", page(rt, message_page), methods=["GET"]),
    ]
