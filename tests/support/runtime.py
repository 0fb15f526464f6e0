"""Running instances in process: a started ``Runtime`` and HTTP clients for its app;
``settle`` steps the background work of instances whose loops do not run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from ileti.api.app import App
from ileti.api.runtime import Runtime
from ileti.clock import SYSTEM, Clock
from ileti.config import Settings
from tests.support.stored import webhook_progress

BASE_URL = "http://ileti.test"


@asynccontextmanager
async def started(settings: Settings, *, clock: Clock = SYSTEM) -> AsyncIterator[Runtime]:
    """A running instance (store, writer, background loops) for the duration. With
    ``delivery_poll_seconds=0`` no loop runs: the test steps them (``settle``)."""
    rt = Runtime.build(settings, clock=clock)
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
async def running(
    settings: Settings, *, clock: Clock = SYSTEM
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A running instance and a client for it (tests with several instances)."""
    async with started(settings, clock=clock) as rt, asgi_client(rt) as c:
        yield rt, c


async def settle(*instances: Runtime) -> None:
    """Step the carrier and the webhook sender of every instance (concurrently, as their
    loops would run) until nothing more happens at the clock's current time. The
    instances share one database and one clock; their loops must not run.

    A round repeats while a step says more is waiting or a report was attempted: a
    later report of a message is claimed only once the earlier one is done."""
    for _ in range(1000):
        before = await webhook_progress(instances[0])
        more = await asyncio.gather(*(rt.carrier.step() for rt in instances))
        more += await asyncio.gather(*(rt.webhooks.step() for rt in instances))
        if not any(more) and await webhook_progress(instances[0]) == before:
            return
    raise AssertionError("background work did not settle in 1000 rounds")
