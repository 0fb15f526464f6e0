"""Time: stored as integer microseconds since the epoch (UTC); shown and filtered in
Europe/Istanbul time, as the provider does. Every wall-clock text the API accepts is
parsed here, and every time constant lives here.

Background work (the simulated carrier, webhooks, rate limits) and the order rules
read a :class:`Clock`, so that tests can advance time instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ISTANBUL = ZoneInfo("Europe/Istanbul")
#: ``Y-m-d H:i:s``: every time ileti shows, and get-blacklist's filter.
WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"
#: ``Y-m-d``: get-reports' filter.
DAY_FORMAT = "%Y-%m-%d"
#: ``dd/MM/yyyy HH:mm``: send-sms's ``sendDateTime``.
SEND_FORMAT = "%d/%m/%Y %H:%M"
#: The same with seconds: the live service ignores such a schedule (strict mode: 457).
SEND_FORMAT_SECONDS = "%d/%m/%Y %H:%M:%S"

SECOND = 1_000_000
MINUTE = 60 * SECOND
DAY = 24 * 60 * MINUTE
#: The same order again within this window is refused 451 (spec §7).
DUPLICATE_WINDOW = 10 * MINUTE
#: get-reports covers at most this many days (spec §7).
REPORTS_RANGE_DAYS = 10


class Clock:
    """The time as the server sees it; tests use a clock they can advance."""

    def now_us(self) -> int:
        return now_us()


SYSTEM = Clock()


def now_us() -> int:
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def format_local(value: int) -> str:
    """``Y-m-d H:i:s`` in Istanbul time."""
    return from_us(value).astimezone(ISTANBUL).strftime(WIRE_FORMAT)


def _local(moment: datetime) -> int:
    try:
        return to_us(moment.replace(tzinfo=ISTANBUL))
    except (OverflowError, OSError) as exc:  # years the platform cannot place
        raise ValueError(f"time out of range: {moment}") from exc


def parse_local(text: str, *, end_of_day: bool = False) -> int:
    """``Y-m-d H:i:s`` (or ``Y-m-d``) in Istanbul time -> microseconds; ValueError if not.

    With ``end_of_day`` a bare date means the last second of that day.
    """
    text = text.strip()
    try:
        moment = datetime.strptime(text, WIRE_FORMAT)
    except ValueError:
        moment = datetime.strptime(text, DAY_FORMAT)
        if end_of_day:
            moment += timedelta(days=1) - timedelta(seconds=1)
    return _local(moment)


def parse_day(text: str) -> int:
    """The start of an Istanbul day given as ``Y-m-d`` (or ``Y-m-d H:i:s``, whose time is
    ignored) -> microseconds; ValueError for anything else, trailing text included."""
    text = text.strip()
    try:
        moment = datetime.strptime(text, WIRE_FORMAT)
    except ValueError:
        moment = datetime.strptime(text, DAY_FORMAT)
    return _local(moment.replace(hour=0, minute=0, second=0))


def next_day(day: int) -> int:
    """The start of the Istanbul day after the one starting at ``day``."""
    try:
        moment = from_us(day).astimezone(ISTANBUL).replace(tzinfo=None) + timedelta(days=1)
    except (OverflowError, OSError) as exc:  # the day after 9999-12-31
        raise ValueError("no day after this one") from exc
    return _local(moment)


def parse_send_time(text: str) -> tuple[int, bool]:
    """``dd/MM/yyyy HH:mm`` in Istanbul time -> (microseconds, False); the same with
    seconds -> (microseconds, True); ValueError for anything else."""
    text = text.strip()
    try:
        return _local(datetime.strptime(text, SEND_FORMAT)), False
    except ValueError:
        return _local(datetime.strptime(text, SEND_FORMAT_SECONDS)), True
