"""The panel's routes: every page module's, and the static files."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from ileti.api.panel import (
    accounts,
    auth,
    blacklist,
    consents,
    dashboard,
    orders,
    outbox,
    relay,
    sandbox,
    settings,
)
from ileti.api.panel.base import PREFIX, SESSION_COOKIE, Ctx, error_page, request_language
from ileti.api.runtime import Runtime

#: Each module's ``routes(rt)``, in the order they are matched.
PAGES = (
    auth,
    dashboard,
    accounts,
    settings,
    relay,
    blacklist,
    consents,
    orders,
    outbox,
    sandbox,
)


def routes(rt: Runtime) -> list[BaseRoute]:
    """The panel's routes, or none when ``ILETI_PANEL`` is off."""
    if not rt.settings.panel:
        return []
    inner: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    ]
    for module in PAGES:
        inner.extend(module.routes(rt))

    async def refused(request: Request, exc: Exception) -> Response:
        """An unknown panel path (404) or a method a page does not take (405): the
        panel's own error page, with the session's frame when there is one."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        ctx = Ctx(request=request, rt=rt, session=None, lang=request_language(request))
        ctx.session = await rt.users.session(request.cookies.get(SESSION_COOKIE))
        response = error_page(ctx, status if status in (404, 405) else 404)
        if status == 405:
            response.headers["Allow"] = (getattr(exc, "headers", None) or {}).get("Allow", "")
        return response

    panel = Starlette(routes=inner, exception_handlers={404: refused, 405: refused})
    return [Mount(PREFIX, app=panel)]
