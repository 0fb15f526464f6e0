"""The dashboard: balance, blacklist size, today's orders and messages, recent
failures (webhooks, v1 refusals)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from ileti.api.panel.base import Ctx, page
from ileti.api.runtime import Runtime
from ileti.services.dashboard import DashboardService


def routes(rt: Runtime) -> list[Route]:
    service = DashboardService(rt.store, rt.refusals, clock=rt.clock)

    async def dashboard(ctx: Ctx) -> Response:
        if ctx.session is not None and ctx.session.account is None:
            return ctx.render("dashboard.html", summary=None)
        return ctx.render("dashboard.html", summary=await service.summary(ctx.account))

    return [Route("/", page(rt, dashboard), methods=["GET"])]
