"""Time: stored as integer microseconds since the epoch (UTC); shown and filtered in
Europe/Istanbul time, as the provider does, in ``Y-m-d H:i:s``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ISTANBUL = ZoneInfo("Europe/Istanbul")
WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"
SECOND = 1_000_000


def now_us() -> int:
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def format_local(value: int) -> str:
    """``Y-m-d H:i:s`` in Istanbul time."""
    return from_us(value).astimezone(ISTANBUL).strftime(WIRE_FORMAT)


def format_iso(value: int) -> str:
    """ISO 8601 with offset, Istanbul time (exports)."""
    return from_us(value).astimezone(ISTANBUL).isoformat(timespec="seconds")


def parse_local(text: str, *, end_of_day: bool = False) -> int:
    """``Y-m-d H:i:s`` (or ``Y-m-d``) in Istanbul time -> microseconds; ValueError if not.

    With ``end_of_day`` a bare date means the end of that day.
    """
    text = text.strip()
    try:
        moment = datetime.strptime(text, WIRE_FORMAT)
    except ValueError:
        moment = datetime.strptime(text, "%Y-%m-%d")
        if end_of_day:
            moment += timedelta(days=1) - timedelta(seconds=1)
    return to_us(moment.replace(tzinfo=ISTANBUL))
