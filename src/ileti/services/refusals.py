"""The v1 answers an account was refused lately (4xx), for its panel's dashboard:
which call, which code, and the cause where ileti knows it (a 401's: wrong hash, API
access off, an address outside the allow-list). Kept in the process, the newest
``PER_ACCOUNT`` per account for at most ``MAX_ACCOUNTS`` accounts: what this instance
answered since it started. Recording costs nothing on a request that succeeds."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from ileti.clock import Clock

PER_ACCOUNT = 50
MAX_ACCOUNTS = 10_000


@dataclass(frozen=True, slots=True)
class Refusal:
    at: int  # microseconds, UTC
    action: str
    code: int
    cause: str | None
    address: str | None


class Refusals:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._by_account: OrderedDict[int, deque[Refusal]] = OrderedDict()

    def record(
        self, account_id: int, action: str, code: int, cause: str | None, address: str | None
    ) -> None:
        kept = self._by_account.get(account_id)
        if kept is None:
            while len(self._by_account) >= MAX_ACCOUNTS:
                self._by_account.popitem(last=False)
            kept = self._by_account[account_id] = deque(maxlen=PER_ACCOUNT)
        else:
            self._by_account.move_to_end(account_id)
        kept.append(Refusal(self._clock.now_us(), action, code, cause, address))

    def recent(self, account_id: int) -> list[Refusal]:
        """Newest first."""
        return list(reversed(self._by_account.get(account_id, ())))
