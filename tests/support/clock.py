"""A clock tests advance by hand: background work (the carrier, webhooks, the database
rate limiter) and the order rules read it, so a test moves time on and calls ``step()``
instead of sleeping and hoping the loop ran."""

from __future__ import annotations

from ileti.clock import SECOND, Clock, now_us


class FakeClock(Clock):
    def __init__(self, start_us: int | None = None) -> None:
        self._now = now_us() if start_us is None else start_us

    def now_us(self) -> int:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += int(seconds * SECOND)
