"""Sandbox control: the fault rules (list, add, remove) and delivery control (mode,
advance), as forms over the services the control API uses (``/_ileti/faults``,
``/_ileti/delivery``, ``/_ileti/advance``). A user acts on their own account; only an
admin adds a rule for every account or removes one."""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ileti.api.panel.base import PREFIX, Ctx, Forbidden, NotFound, page
from ileti.api.runtime import Runtime
from ileti.errors import Code
from ileti.services.carrier import DELIVERY_MODES, Advanced, DeliveryError
from ileti.services.faults import (
    ACTIONS,
    KINDS,
    MAX_FAULT_ID,
    FaultError,
    FaultForbidden,
    FaultNotFound,
    FaultSpec,
)

#: The add form's fields, as FaultSpec names them (the service's errors name them too).
FAULT_FIELDS = (
    "kind",
    "action",
    "code",
    "pattern",
    "remaining",
    "probability",
    "latency_ms",
    "ttl_seconds",
)
ADVANCE_STATUSES = ("", str(int(Code.DELIVERED)), str(int(Code.UNDELIVERED)))


class _Bad(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _int(values: dict[str, str], name: str) -> int | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit() or len(raw) > 12:
        raise _Bad(name)
    return int(raw)


def _float(values: dict[str, str], name: str) -> float | None:
    raw = values.get(name, "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        found = float(raw)
    except ValueError:
        raise _Bad(name) from None
    if not math.isfinite(found):
        raise _Bad(name)
    return found


def _spec(values: dict[str, str], timeout: bool) -> FaultSpec:
    return FaultSpec(
        kind=values["kind"],
        action=values["action"].strip() or None,
        code=_int(values, "code"),
        pattern=values["pattern"].strip() or None,
        remaining=_int(values, "remaining"),
        probability=_float(values, "probability"),
        latency_ms=_int(values, "latency_ms"),
        timeout=timeout,
        ttl_seconds=_float(values, "ttl_seconds"),
    )


def routes(rt: Runtime) -> list[Route]:
    async def show(
        ctx: Ctx,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        fault: dict[str, str] | None = None,
        delivery: dict[str, str] | None = None,
        advanced: Advanced | None = None,
        advance: dict[str, str] | None = None,
    ) -> Response:
        account = await rt.accounts.get(ctx.account.key)
        rules = await rt.faults.list(account.id)
        mode = account.delivery or "default"
        after = account.delivery_after
        current = {
            "mode": mode,
            "after": "" if after is None else f"{after:g}",
        }
        values: dict[str, Any] = {
            "fault": fault or {name: "" for name in (*FAULT_FIELDS, "scope", "timeout")},
            "delivery": delivery or current,
            "advance": advance or {"order": "", "status": ""},
        }
        return ctx.render(
            "sandbox.html",
            status=status,
            errors=errors or {},
            rules=rules,
            account=account,
            kinds=KINDS,
            actions=sorted(ACTIONS),
            modes=DELIVERY_MODES,
            current=current,
            default_delay=f"{rt.settings.delivery_delay_seconds:g}",
            values=values,
            advanced=advanced,
            advance_statuses=ADVANCE_STATUSES,
            now=rt.clock.now_us(),
        )

    async def sandbox(ctx: Ctx) -> Response:
        return await show(ctx)

    async def add_fault(ctx: Ctx) -> Response:
        account = ctx.account
        form = {name: (await ctx.field(name))[:200] for name in (*FAULT_FIELDS, "scope")}
        timeout = await ctx.field("timeout") == "yes"
        form["timeout"] = "yes" if timeout else ""
        if form["kind"] not in KINDS:
            return await show(ctx, status=422, errors={"kind": "sandbox.bad_kind"}, fault=form)
        owner: int | None = account.id
        if form["scope"] == "global":
            if not ctx.admin:
                return await show(
                    ctx, status=422, errors={"scope": "sandbox.bad_scope"}, fault=form
                )
            owner = None
        try:
            await rt.faults.add(_spec(form, timeout), owner)
        except _Bad as exc:
            return await show(
                ctx, status=422, errors={exc.field: f"sandbox.bad_{exc.field}"}, fault=form
            )
        except FaultError as exc:
            field = exc.field if exc.field in (*FAULT_FIELDS, "timeout") else "kind"
            key = f"sandbox.bad_{exc.field}" if exc.field else "sandbox.too_many"
            return await show(ctx, status=422, errors={field: key}, fault=form)
        return ctx.redirect(f"{PREFIX}/sandbox", flash="sandbox.fault_added")

    async def remove_fault(ctx: Ctx) -> Response:
        raw = ctx.request.path_params["id"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_FAULT_ID:
            raise NotFound()
        try:
            await rt.faults.remove(int(raw), None if ctx.admin else ctx.account.id)
        except FaultNotFound:
            raise NotFound() from None
        except FaultForbidden:
            raise Forbidden() from None
        return ctx.redirect(f"{PREFIX}/sandbox", flash="sandbox.fault_removed")

    async def set_delivery(ctx: Ctx) -> Response:
        account = ctx.account
        form = {"mode": (await ctx.field("mode"))[:20], "after": (await ctx.field("after"))[:40]}
        try:
            after = _float(form, "after")
            mode = form["mode"]
            if mode in ("manual", "default"):
                after = None  # the field is not used by these modes
            await rt.carrier.set_delivery(account.id, mode, after)
        except _Bad:
            return await show(ctx, status=422, errors={"after": "sandbox.bad_after"}, delivery=form)
        except DeliveryError as exc:
            field = exc.field if exc.field in ("mode", "after") else "mode"
            return await show(
                ctx, status=422, errors={field: f"sandbox.bad_{field}"}, delivery=form
            )
        return ctx.redirect(f"{PREFIX}/sandbox", flash="sandbox.delivery_saved")

    async def advance(ctx: Ctx) -> Response:
        account = ctx.account
        form = {"order": (await ctx.field("order"))[:24], "status": (await ctx.field("status"))[:4]}
        if form["status"] not in ADVANCE_STATUSES:
            return await show(
                ctx, status=422, errors={"status": "sandbox.bad_status"}, advance=form
            )
        order = form["order"].strip()
        if order and not order.isdigit():
            return await show(ctx, status=422, errors={"order": "sandbox.bad_order"}, advance=form)
        try:
            moved = await rt.carrier.advance(
                account.id,
                int(order) if order else None,
                int(form["status"]) if form["status"] else None,
            )
        except DeliveryError as exc:
            field = "order" if exc.field == "order" else "status"
            return await show(ctx, status=422, errors={field: f"sandbox.bad_{field}"}, advance=form)
        return await show(ctx, advanced=moved, advance=form)

    return [
        Route("/sandbox", page(rt, sandbox), methods=["GET"]),
        Route("/sandbox/faults", page(rt, add_fault), methods=["POST"]),
        Route("/sandbox/faults/{id}/remove", page(rt, remove_fault), methods=["POST"]),
        Route("/sandbox/delivery", page(rt, set_delivery), methods=["POST"]),
        Route("/sandbox/advance", page(rt, advance), methods=["POST"]),
    ]
