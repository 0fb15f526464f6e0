"""Waiting for background work: poll a condition until it holds or time runs out."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


async def eventually(
    check: Callable[[], Any], *, within: float = 15.0, interval: float = 0.05
) -> Any:
    """Call ``check()`` (awaiting it if it returns an awaitable) until it returns
    something truthy, and return that; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s")
        await asyncio.sleep(interval)


async def settles(
    deadline: float,
    attempt: list[Callable[[], Awaitable[Any]]],
    expected: Any,
) -> None:
    """Every coroutine factory in ``attempt`` returns ``expected`` before ``deadline``
    (monotonic), and keeps returning it afterwards."""
    pending = list(range(len(attempt)))
    last: dict[int, Any] = {}
    while pending:
        for index in list(pending):
            last[index] = await attempt[index]()
            if last[index] == expected:
                pending.remove(index)
        if pending and time.monotonic() > deadline:
            pytest.fail(f"not settled to {expected} in time; last answers: {last}")
        if pending:
            await asyncio.sleep(0.02)
    for make in attempt:  # no flapping back
        assert await make() == expected
