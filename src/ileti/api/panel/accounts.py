"""Every account, for an admin: which one the pages show, chosen from a list."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from ileti.api.panel.base import Ctx, page
from ileti.api.runtime import Runtime

#: Accounts listed at most (an operator with more picks by key in the header's field).
SHOWN = 500


def routes(rt: Runtime) -> list[Route]:
    async def accounts(ctx: Ctx) -> Response:
        found = await ctx.rt.accounts.list()
        return ctx.render("accounts.html", accounts=found[:SHOWN], more=len(found) > SHOWN)

    return [Route("/accounts", page(rt, accounts, admin=True), methods=["GET"])]
