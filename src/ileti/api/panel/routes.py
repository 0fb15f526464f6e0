"""The panel's routes: every page module's, and the static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Router
from starlette.staticfiles import StaticFiles

from ileti.api.panel import auth, dashboard, orders, outbox, sandbox
from ileti.api.panel.base import PREFIX
from ileti.api.runtime import Runtime

#: Each module's ``routes(rt)``, in the order they are matched.
PAGES = (auth, dashboard, orders, outbox, sandbox)


def routes(rt: Runtime) -> list[BaseRoute]:
    """The panel's routes, or none when ``ILETI_PANEL`` is off."""
    if not rt.settings.panel:
        return []
    inner: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    ]
    for module in PAGES:
        inner.extend(module.routes(rt))
    return [Mount(PREFIX, app=Router(routes=inner))]
