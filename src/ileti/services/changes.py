"""Following a change version: how an instance learns that something it caches
(credentials, fault rules) was changed elsewhere — another instance, the CLI.

Every change bumps a version row in the same transaction (``store.accounts.version``,
``store.faults.version``). A follower reads it every ``every`` seconds and calls
``on_change`` when it moved since the last look, or when it could not be read (the
cache is then dropped rather than trusted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("ileti.changes")


class ChangeFollower:
    def __init__(
        self,
        name: str,
        read_version: Callable[[], Awaitable[int]],
        on_change: Callable[[], None],
        *,
        every: float,
    ) -> None:
        self._name = name
        self._read = read_version
        self._on_change = on_change
        self._every = every
        self._version: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Look now: ``on_change`` if the version moved since the last look."""
        version = await self._read()
        if version != self._version:
            if self._version is not None:
                self._on_change()
            self._version = version

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.refresh()
            except Exception as exc:  # the database may be down for a moment
                log.warning("%s: could not check for changes: %s", self._name, exc)
                self._on_change()

    async def start(self) -> None:
        await self.refresh()
        if self._every > 0 and self._task is None:
            self._task = asyncio.create_task(self._poll(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
