"""The blacklist: add (idempotent), remove (474 when absent), page, import, export.

Numbers are parsed here (``ileti.numbers``); the store sees only valid ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ileti import numbers
from ileti.clock import SECOND, now_us, parse_local
from ileti.errors import DateRangeInvalid, InvalidNumber, NotBlacklisted
from ileti.models import BlacklistEntry, BlacklistPage
from ileti.store import Store
from ileti.store import blacklist as blacklist_store
from ileti.values import Page

IMPORT_CHUNK = 20_000
#: Where an entry came from: the v1 API, the CLI, an import, a seed, an opt-out
#: keyword sent to the account's short code (``ileti.services.inbound``), or the
#: account's upstream list (``ileti.services.relay_blacklist``).
SOURCES = ("api", "cli", "import", "seed", "keyword", "upstream")
KEYWORD = "keyword"
UPSTREAM = "upstream"


def parse_number(raw: Any) -> int:
    """A valid Turkish mobile as stored, or InvalidNumber (466)."""
    if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidNumber("missing number")
    stored = numbers.parse(raw)
    if stored is None:
        raise InvalidNumber(f"not a Turkish mobile number: {raw!r}")
    return stored


def _moment(text: str | None, *, end: bool) -> int | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = parse_local(text, end_of_day=end)
    except ValueError as exc:
        raise DateRangeInvalid(f"not Y-m-d H:i:s: {text!r}") from exc
    return value + SECOND if end else value  # end is inclusive to the second


@dataclass
class ImportReport:
    added: int = 0
    already: int = 0
    duplicates: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.added + self.already + self.duplicates + len(self.invalid)


def read_numbers(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, raw value) per non-empty line: the line, or its first CSV column.

    A header line whose first column has no digit is skipped.
    """
    for index, line in enumerate(lines, start=1):
        raw = line.strip().lstrip("\ufeff")
        if not raw:
            continue
        if "," in raw or ";" in raw:
            raw = raw.replace(";", ",").split(",", 1)[0].strip().strip('"').strip()
        if index == 1 and not any(ch.isdigit() for ch in raw):
            continue
        yield index, raw


class BlacklistService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, account_id: int, raw: Any, *, source: str = "api") -> int:
        number = parse_number(raw)
        await self._store.write(
            blacklist_store.add, blacklist_store.Add(account_id, number, now_us(), source)
        )
        return number

    async def remove(self, account_id: int, raw: Any) -> int:
        number = parse_number(raw)
        removed = await self._store.write(
            blacklist_store.remove, blacklist_store.Remove(account_id, number, now_us())
        )
        if not removed:
            raise NotBlacklisted(f"{numbers.e164(number)} is not listed")
        return number

    async def page(
        self, account_id: int, page: Page, *, start: str | None = None, end: str | None = None
    ) -> BlacklistPage:
        """One page in blocked-at order, and the count of all entries blocked from
        ``start`` to ``end`` (``Y-m-d H:i:s`` or ``Y-m-d``, Istanbul time; 458)."""
        since, until = _moment(start, end=False), _moment(end, end=True)
        if since is not None and until is not None and since >= until:
            raise DateRangeInvalid("start after end")
        return await self._store.read(_page_query, account_id, since, until, page.offset, page.size)

    def import_numbers(
        self,
        account_id: int,
        rows: Iterable[tuple[int, str]],
        *,
        source: str = "import",
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Add every valid number of ``rows`` in one transaction: all or nothing.

        The file is parsed before the transaction begins, so writers wait only for the
        insert itself.
        """
        report = ImportReport()
        blocked_at = now_us()

        seen: set[int] = set()
        for line, raw in rows:
            number = numbers.parse(raw)
            if number is None:
                report.invalid.append((line, raw))
            elif number in seen:
                report.duplicates += 1
            else:
                seen.add(number)
                continue
            if progress is not None:
                progress(1)
        # Added in number order, so that both indexes grow at one end rather than at
        # random places: several times less work for the database (docs/benchmarks.md).
        ordered = sorted(seen)
        seen.clear()

        def run(conn: Any) -> str | None:
            for start in range(0, len(ordered), IMPORT_CHUNK):
                chunk = ordered[start : start + IMPORT_CHUNK]
                added = blacklist_store.add_many(
                    conn, account_id, chunk, blocked_at=blocked_at, source=source
                )
                report.added += added
                report.already += len(chunk) - added
                if progress is not None:
                    progress(len(chunk))
            return blacklist_store.bulk_add_marker(conn)

        marker = self._store.write_sync(run)
        if report.added:
            blacklist_store.after_bulk_add(self._store.writer_engine, marker)
        return report

    def export(self, account_id: int, consume: Callable[[Iterator[BlacklistEntry]], None]) -> None:
        """Hand every entry, in order, to ``consume`` inside one read snapshot."""
        self._store.read_sync(lambda conn: consume(blacklist_store.entries(conn, account_id)))


def _page_query(
    conn: Any, account_id: int, since: int | None, until: int | None, offset: int, limit: int
) -> BlacklistPage:
    return blacklist_store.page(
        conn, account_id, start=since, end=until, offset=offset, limit=limit
    )
