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
        """Move on by ``seconds`` (to the nearest microsecond)."""
        self._now += round(seconds * SECOND)

    def advance_to(self, at_us: int) -> None:
        """Move on to ``at_us`` (microseconds since the epoch); never back."""
        assert at_us >= self._now, "a clock does not go back"
        self._now = at_us
