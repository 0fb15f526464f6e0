"""What the panel's blacklist page does: the count, search by number, keyset pages,
adding several numbers at once, and CSV imports run as background jobs.

Every change made here is recorded with source ``panel``.

Imports (:class:`ImportJobs`): the upload is copied to a file of the instance, checked
(:mod:`ileti.services.blacklist_csv`: encoding, separator, header), then read in chunks
of ``CHUNK`` rows by a background task of the instance that received it. Each chunk is
one transaction (the numbers already listed are looked up, the others inserted), so a
1,000,000-line file neither holds the writer for long nor memory: a job keeps its
counts, the first ``PROBLEMS_SHOWN`` refused rows, and a per-row results file on disk.
A job lives in that instance's memory for ``JOB_SECONDS`` after it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import secrets
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ileti import numbers
from ileti.clock import Clock
from ileti.models import BlacklistEntry
from ileti.services.blacklist_csv import CsvRefused, Layout, Row, inspect, rows
from ileti.store import Store
from ileti.store import blacklist_panel as panel_store

log = logging.getLogger("ileti.panel.blacklist")

SOURCE = "panel"
PAGE_SIZE = 50
#: The most numbers one add form takes.
MAX_LINES = 1000
CHUNK = 5000
PROBLEMS_SHOWN = 200
#: The largest file imported (about 10,000,000 lines).
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: How long an ended import's page and results stay.
JOB_SECONDS = 3600
#: The most jobs an instance keeps (the oldest ended ones go first).
JOBS_KEPT = 100


class LinesInvalid(Exception):
    """Some lines of an add form are not numbers: (line number, text) of each."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} invalid line(s)")
        self.problems = problems


class ImportRunning(Exception):
    """The account has an import that has not ended yet."""


@dataclass(frozen=True)
class Page:
    #: The account's kept count (all entries, whatever the range).
    count: int
    entries: list[BlacklistEntry]
    #: Cursors of the previous (newer) and next (older) pages, or None.
    newer: panel_store.Cursor | None
    older: panel_store.Cursor | None


@dataclass(frozen=True)
class Added:
    added: list[int]
    already: list[int]


class BlacklistPanel:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def count(self, account_id: int) -> int:
        return await self._store.read(panel_store.count, account_id)

    async def find(self, account_id: int, number: int) -> BlacklistEntry | None:
        return await self._store.read(panel_store.find, account_id, number)

    async def page(
        self,
        account_id: int,
        *,
        since: int | None,
        until: int | None,
        older_than: panel_store.Cursor | None = None,
        newer_than: panel_store.Cursor | None = None,
        size: int = PAGE_SIZE,
    ) -> Page:
        """A page of ``size`` entries, newest first, and the cursors around it. With
        ``newer_than`` and fewer than ``size`` newer entries, the first page."""

        def read(conn: Any) -> Page:
            total = panel_store.count(conn, account_id)
            found = panel_store.keyset(
                conn,
                account_id,
                since=since,
                until=until,
                older_than=older_than,
                newer_than=newer_than,
                limit=size + 1,
            )
            if newer_than is not None:
                if len(found) <= size:  # back at the start
                    found = panel_store.keyset(
                        conn, account_id, since=since, until=until, limit=size + 1
                    )
                    return _page(total, found, size, first=True)
                return Page(total, found[1:], newer=_key(found[1]), older=_key(found[-1]))
            return _page(total, found, size, first=older_than is None)

        return await self._store.read(read)

    async def add_lines(self, account_id: int, text: str, *, now: int) -> Added:
        """Add every number of ``text`` (one a line); LinesInvalid, with nothing added,
        if a line is not a Turkish mobile number."""
        wanted: list[int] = []
        problems: list[tuple[int, str]] = []
        for index, line in enumerate(text.splitlines(), start=1):
            raw = line.strip()
            if not raw:
                continue
            number = numbers.parse(raw)
            if number is None:
                problems.append((index, raw))
            elif number not in wanted:
                wanted.append(number)
        if problems:
            raise LinesInvalid(problems)
        if not wanted:
            raise LinesInvalid([])
        if len(wanted) > MAX_LINES:
            raise ValueError("too many lines")

        def insert(conn: Any) -> set[int]:
            return panel_store.insert_new(conn, account_id, wanted, blocked_at=now, source=SOURCE)

        new = await self._store.transaction(insert)
        return Added(
            added=[n for n in wanted if n in new], already=[n for n in wanted if n not in new]
        )


def _key(entry: BlacklistEntry) -> panel_store.Cursor:
    return (entry.blocked_at, entry.number)


def _page(total: int, found: list[BlacklistEntry], size: int, *, first: bool) -> Page:
    shown = found[:size]
    older = _key(shown[-1]) if len(found) > size else None
    newer = None if first or not shown else _key(shown[0])
    return Page(total, shown, newer=newer, older=older)


# -- imports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    line: int
    value: str
    reason: str  # missing, empty, scientific, unreadable, invalid


@dataclass
class ImportJob:
    id: str
    account_id: int
    filename: str
    layout: Layout
    state: str = "running"  # running, done, failed
    read_bytes: int = 0
    rows: int = 0
    added: int = 0
    already: int = 0
    repeated: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    ended_at: float | None = None
    results: Path | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        if self.state != "running":
            return 100
        return min(99, self.read_bytes * 100 // max(1, self.layout.size))

    def progress(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "percent": self.percent,
            "rows": self.rows,
            "added": self.added,
            "already": self.already,
            "repeated": self.repeated,
            "invalid": self.invalid,
        }


#: The words of the results file: ``labels("result.added")``, ``labels("reason.empty")``...
#: A row's result: added, already (listed before), repeated (an earlier line of the file
#: listed it), invalid (with its reason).
Labels = Callable[[str], str]


class ImportJobs:
    """The imports of one instance (see the module's docstring)."""

    def __init__(self, store: Store, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._jobs: dict[str, ImportJob] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="ileti-imports-"))
        weakref.finalize(self, shutil.rmtree, self._dir, True)

    def get(self, account_id: int, job_id: str) -> ImportJob | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.account_id == account_id else None

    def _forget_old(self) -> None:
        now = time.monotonic()
        ended = sorted(
            (j for j in self._jobs.values() if j.ended_at is not None),
            key=lambda j: j.ended_at or 0.0,
        )
        excess = len(self._jobs) - JOBS_KEPT
        for job in ended:
            if excess > 0 or now - (job.ended_at or now) > JOB_SECONDS:
                self._jobs.pop(job.id, None)
                if job.results is not None:
                    job.results.unlink(missing_ok=True)
                excess -= 1

    async def start(
        self, account_id: int, filename: str, upload: BinaryIO, labels: Labels
    ) -> ImportJob:
        """Copy and check the upload, then read it in the background; CsvRefused for a
        file that cannot be read, ImportRunning while the account has one running."""
        self._forget_old()
        if any(j.account_id == account_id and j.state == "running" for j in self._jobs.values()):
            raise ImportRunning()
        job_id = secrets.token_urlsafe(12)
        source = self._dir / f"{job_id}.upload"

        def copy_and_inspect() -> Layout:
            upload.seek(0)
            copied = 0
            with source.open("wb") as out:
                while block := upload.read(1 << 20):
                    copied += len(block)
                    if copied > MAX_UPLOAD_BYTES:
                        raise CsvRefused("too_large")
                    out.write(block)
            with source.open("rb") as handle:
                return inspect(handle)

        try:
            layout = await asyncio.to_thread(copy_and_inspect)
        except BaseException:
            source.unlink(missing_ok=True)
            raise
        job = ImportJob(job_id, account_id, filename, layout)
        job.results = self._dir / f"{job_id}.results.csv"
        self._jobs[job_id] = job
        job.task = asyncio.create_task(self._run(job, source, labels))
        return job

    async def wait(self, job: ImportJob, seconds: float) -> None:
        """Until the job ends or ``seconds`` pass."""
        if job.task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(job.task), seconds)

    async def _run(self, job: ImportJob, source: Path, labels: Labels) -> None:
        blocked_at = self._clock.now_us()
        assert job.results is not None
        handle = source.open("rb")
        out = job.results.open("w", encoding="utf-8-sig", newline="")
        try:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(
                [labels(f"result.{k}") for k in ("line", "value", "number", "result", "reason")]
            )

            def report(count: int) -> None:
                job.read_bytes = count

            reader = rows(handle, job.layout, progress=report)
            while True:
                chunk = await asyncio.to_thread(_take, reader, CHUNK)
                if not chunk:
                    break
                await self._chunk(job, chunk, blocked_at, writer, labels)
            job.state = "done"
        except Exception:
            log.exception("blacklist import %s failed", job.id)
            job.state = "failed"
        finally:
            handle.close()
            out.close()
            source.unlink(missing_ok=True)
            job.ended_at = time.monotonic()

    async def _chunk(
        self, job: ImportJob, chunk: list[Row], blocked_at: int, writer: Any, labels: Labels
    ) -> None:
        parsed: list[tuple[Row, int | None, str | None]] = []
        for row in chunk:
            if row.problem is not None:
                parsed.append((row, None, row.problem))
                continue
            number = numbers.parse(row.value)
            parsed.append((row, number, None if number is not None else "invalid"))
        wanted = {n for _, n, _ in parsed if n is not None}
        account_id = job.account_id

        def apply(conn: Any) -> tuple[dict[int, BlacklistEntry], set[int]]:
            before = panel_store.listed(conn, account_id, wanted)
            new = panel_store.insert_new(
                conn,
                account_id,
                (n for n in wanted if n not in before),
                blocked_at=blocked_at,
                source=SOURCE,
            )
            return before, new

        before, new = await self._store.transaction(apply)
        seen: set[int] = set()
        lines = []
        for row, number, problem in parsed:
            job.rows += 1
            if number is None:
                job.invalid += 1
                reason = problem or "invalid"
                if len(job.problems) < PROBLEMS_SHOWN:
                    job.problems.append(Problem(row.line, row.value, reason))
                lines.append(
                    [row.line, row.value, "", labels("result.invalid"), labels(f"reason.{reason}")]
                )
                continue
            if number in seen:
                outcome = "repeated"
            elif number in new:
                outcome = "added"
            else:
                earlier = before.get(number)
                ours = earlier is not None and (
                    earlier.blocked_at == blocked_at and earlier.source == SOURCE
                )
                outcome = "repeated" if ours else "already"
            seen.add(number)
            setattr(job, outcome, getattr(job, outcome) + 1)
            lines.append(
                [row.line, row.value, numbers.e164(number), labels(f"result.{outcome}"), ""]
            )
        writer.writerows(lines)


def _take(reader: Iterator[Row], size: int) -> list[Row]:
    taken = []
    for row in reader:
        taken.append(row)
        if len(taken) >= size:
            break
    return taken


__all__ = ["CsvRefused", "ImportJobs", "ImportRunning", "LinesInvalid", "Page"]
