"""Orders: the list (submit day, status and sender filters; newest first, keyset
paged), one order's report (every recipient's status and, for a skipped one, why),
cancelling a scheduled order (a confirmed POST; the charge refunded), and the relay: a
relayed order's batches and its refusal, releasing a captured sandbox order to the
account's upstream (a confirmed POST, to the numbers on its release list) and the
batches it made."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ileti.api.panel.base import PREFIX, Ctx, NotFound, page
from ileti.api.runtime import Runtime
from ileti.errors import OrderNotFound, Unavailable
from ileti.models import Order
from ileti.services.order_pages import (
    STATUSES,
    OrderPages,
    OrderQueryError,
    order_filter,
    status_of,
)
from ileti.services.relay_settings import RelaySettingError
from ileti.values import MAX_ID

#: Why a message was not sent (``messages.reason``) -> its catalogue key.
REASONS = (
    "blacklisted",
    "invalid",
    "not_test_number",
    "cancelled",
    "undelivered",
    "fault",
    "iys_no_consent",
    "iys_ret",
    "upstream",
)


def _id(raw: str) -> int:
    """A path id; NotFound for anything no row could have."""
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise NotFound()
    return int(raw)


def cancellable(order: Order, now: int) -> bool:
    """Whether cancel-order would take it: scheduled, not cancelled, not yet due, and not
    gone out; a relayed order is "dispatched" once the upstream has it, schedule and all,
    and is cancelled there first (services/relay.py), so it stays cancellable until due."""
    return (
        order.scheduled
        and not order.cancelled
        and (order.relay or not order.dispatched)
        and order.send_at > now
    )


def routes(rt: Runtime) -> list[Route]:
    pages = OrderPages(rt.store, clock=rt.clock)

    async def order_list(ctx: Ctx) -> Response:
        account = ctx.account
        query = ctx.request.query_params
        values = {name: query.get(name, "") for name in ("start", "end", "sender", "status")}
        errors: dict[str, str] = {}
        try:
            found = order_filter(**values)
            listed = await pages.list(account.id, found, query.get("cursor"))
        except OrderQueryError as exc:
            errors[exc.field if exc.field in values else "start"] = f"orders.bad_{exc.field}"
            return ctx.render(
                "orders.html",
                status=422,
                errors=errors,
                values=values,
                listed=None,
                statuses=STATUSES,
            )
        now = ctx.rt.clock.now_us()
        return ctx.render(
            "orders.html",
            values=values,
            listed=listed,
            statuses=STATUSES,
            errors=errors,
            shown={order.id: status_of(order, now) for order in listed.orders},
        )

    async def report(
        ctx: Ctx, *, status: int = 200, errors: dict[str, Any] | None = None
    ) -> Response:
        order_id = _id(ctx.request.path_params["id"])
        after_raw = ctx.request.query_params.get("after", "")
        after = None
        if after_raw:
            if not after_raw.isdigit() or int(after_raw) > MAX_ID:
                raise NotFound()
            after = int(after_raw)
        both = await pages.report_with_relay(ctx.account.id, order_id, after)
        if both is None:
            raise NotFound()
        found, relay = both
        account = await ctx.rt.accounts.get(ctx.account.key)
        return ctx.render(
            "order.html",
            status=status,
            report=found,
            relay=relay,
            balance=account.balance,
            can_cancel=cancellable(found.order, ctx.rt.clock.now_us()),
            reasons=REASONS,
            errors=errors or {},
        )

    async def order_page(ctx: Ctx) -> Response:
        return await report(ctx)

    async def cancel(ctx: Ctx) -> Response:
        order_id = _id(ctx.request.path_params["id"])
        account = ctx.account
        found = await pages.report(account.id, order_id, None, size=1)
        if found is None:
            raise NotFound()
        if await ctx.field("confirm") != "yes":
            return await report(ctx, status=422, errors={"confirm": "orders.confirm_required"})
        try:
            await ctx.rt.orders.cancel(account.id, order_id)
        except OrderNotFound as exc:
            if found.order.relay:  # the upstream's refusal (455) or too late here
                refused = ("orders.cancel_refused", {}, str(exc))
                return await report(ctx, status=409, errors={"confirm": refused})
            return await report(ctx, status=409, errors={"confirm": "orders.cancel_too_late"})
        except Unavailable as exc:  # the upstream could not be asked: nothing changed
            unanswered = ("orders.cancel_unavailable", {}, str(exc))
            return await report(ctx, status=503, errors={"confirm": unanswered})
        return ctx.redirect(f"{PREFIX}/orders/{order_id}", flash="orders.cancelled")

    async def release(ctx: Ctx) -> Response:
        order_id = _id(ctx.request.path_params["id"])
        account = ctx.account
        if await pages.report(account.id, order_id, None, size=1) is None:
            raise NotFound()
        if await ctx.field("confirm") != "yes":
            return await report(ctx, status=422, errors={"release": "relay.confirm_required"})
        try:
            await ctx.rt.relay_settings.release(account.id, order_id)
        except RelaySettingError as exc:
            return await report(
                ctx, status=409, errors={"release": ("orders.release_refused", {}, str(exc))}
            )
        return ctx.redirect(f"{PREFIX}/orders/{order_id}", flash="orders.released")

    return [
        Route("/orders", page(rt, order_list), methods=["GET"]),
        Route("/orders/{id}", page(rt, order_page), methods=["GET"]),
        Route("/orders/{id}/cancel", page(rt, cancel), methods=["POST"]),
        Route("/orders/{id}/release", page(rt, release), methods=["POST"]),
    ]
