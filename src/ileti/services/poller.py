"""A background loop of one instance: runs a step every interval, and again at once
when the step says more work is waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("ileti.poller")


class Poller:
    """Runs ``step`` every ``interval`` seconds in a background task; again at once when
    the step reports more work waiting. Stopping lets the current step finish (up to
    ``grace`` seconds), so no claimed work is left half done."""

    def __init__(
        self, name: str, step: Callable[[], Awaitable[bool]], *, interval: float, grace: float
    ) -> None:
        self._name = name
        self._step = step
        self._interval = interval
        self._grace = grace
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Run the step again now rather than at the end of the interval."""
        self._woken.set()

    def start(self) -> None:
        if self._task is None and self._interval > 0:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                more = await self._step()
            except Exception as exc:  # the database may be down for a moment
                log.warning("%s: %s", self._name, exc)
                more = False
            if not more and not self._woken.is_set():
                await self._pause()
            self._woken.clear()

    async def _pause(self) -> None:
        """Until the interval ends, a wake or a stop."""
        stop = asyncio.ensure_future(self._stopping.wait())
        wake = asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait(
                (stop, wake), timeout=self._interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
            wake.cancel()
