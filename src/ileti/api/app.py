"""The ASGI application: ``/v1/...`` goes straight to the v1 route; everything else
(health, later the panel) to a Starlette app, which also runs the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ileti import __version__
from ileti.api import openapi
from ileti.api.control import routes as control_routes
from ileti.api.manifest import Manifest
from ileti.api.outbox import routes as outbox_routes
from ileti.api.panel.routes import routes as panel_routes
from ileti.api.runtime import Runtime
from ileti.api.v1 import PREFIX, V1
from ileti.config import Settings
from ileti.logs import redact_access_log

_NO_STORE = {"Cache-Control": "no-store"}


def _pages(rt: Runtime) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        # Readiness: the database can be read and durably written (services/health.py).
        found = await rt.health.check()
        if not found.ok:
            return JSONResponse(
                {"status": "unhealthy", "store": found.problem, "database": rt.store.dialect},
                status_code=503,
                headers=_NO_STORE,
            )
        body = {"status": "ok", "database": rt.store.dialect, "version": __version__}
        return JSONResponse(body, headers=_NO_STORE)

    async def livez(_request: Request) -> JSONResponse:
        # Liveness: the process serves requests. No I/O, whatever the database does.
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    # Made at the first request, not at start (a tenth of a second of schema building).
    spec: list[bytes] = []

    async def openapi_json(_request: Request) -> Response:
        if not spec:
            spec.append(msgspec.json.encode(openapi.document()))
        return Response(spec[0], media_type="application/json")

    manifest: list[Manifest] = []

    async def manifest_json(request: Request) -> Response:
        # base_url: this server as the caller reached it (the MCP server POSTs there).
        base = f"{request.url.scheme}://{request.url.netloc}"
        if not manifest:
            manifest.append(Manifest())
        return Response(manifest[0].for_base(base), media_type="application/json")

    async def index(request: Request) -> Response:
        if rt.settings.panel and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/panel/", status_code=303)  # a browser: the panel
        return PlainTextResponse(
            f"ileti {__version__}: the iletiMerkezi SMS API v1 at /v1/ "
            "(e.g. POST /v1/add-blacklist/json), described by /openapi.json. "
            "Readiness: /healthz, liveness: /livez. The web panel: /panel/\n"
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await rt.start()
        restore = _end_waits_on_signals(rt)
        try:
            yield
        finally:
            restore()
            await rt.stop()

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/livez", livez),
            Route("/openapi.json", openapi_json),
            Route("/api/manifest.json", manifest_json),
            *outbox_routes(rt),
            *control_routes(rt),
            *panel_routes(rt),
        ],
        lifespan=lifespan,
    )


def _end_waits_on_signals(rt: Runtime) -> Callable[[], None]:
    """On SIGTERM or SIGINT, end every outbox wait at once (503 "shutting down"), then
    let the server's own handler run: the server drains open requests before it stops
    the runtime, and a 30-second long-poll would otherwise hold the shutdown up. Only in
    the main thread (where a server installs its handlers); returns what undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(lambda: loop.create_task(rt.outbox_watcher.stop()))
        before = previous[signal.Signals(sig)]
        if callable(before):
            before(sig, frame)
        else:  # the default (or ignoring): put it back and deliver the signal again
            signal.signal(sig, before)
            if before == signal.SIG_DFL:
                os.kill(os.getpid(), sig)

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, before in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, before)

    return restore


class App:
    """The whole server for one Runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.v1 = V1(runtime)
        self.pages = _pages(runtime)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path.startswith(PREFIX) or path == PREFIX[:-1]):
            await self.v1(scope, receive, send)
        else:
            await self.pages(scope, receive, send)


def create_app(settings: Settings | None = None) -> App:
    """The app factory uvicorn calls (``ileti.api.app:create_app``, factory mode), in
    each worker process after uvicorn has configured logging: the place to redact its
    access log (``hash``, ``text`` and ``receipents`` values), however it is run."""
    redact_access_log()
    return App(Runtime.build(settings or Settings.from_env()))
