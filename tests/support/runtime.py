"""Running instances in process: a started ``Runtime`` and HTTP clients for its app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from ileti.api.app import App
from ileti.api.runtime import Runtime
from ileti.config import Settings

BASE_URL = "http://ileti.test"


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Runtime]:
    """A running instance (store, writer, background loops) for the duration."""
    rt = Runtime.build(settings)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


def client_of(rt: Runtime, ip: str = "127.0.0.1", port: int = 40000) -> httpx.AsyncClient:
    """An (unopened) HTTP client talking to ``rt`` in process, from ``ip``."""
    transport = httpx.ASGITransport(app=App(rt), client=(ip, port))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@asynccontextmanager
async def asgi_client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to ``rt`` in process, from 127.0.0.1."""
    async with client_of(rt) as c:
        yield c


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A running instance and a client for it (tests with several instances)."""
    async with started(settings) as rt, asgi_client(rt) as c:
        yield rt, c
