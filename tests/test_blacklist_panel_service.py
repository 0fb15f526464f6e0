"""The panel's blacklist service on SQLite and PostgreSQL: keyset pages (with the date
filter and cursors), adds that tell new from listed, and imports as background jobs
(per-row results across chunks, the count kept in step, one import at a time)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import ileti.services.blacklist_panel as panel
from ileti.api.runtime import Runtime
from ileti.clock import SECOND
from ileti.services.accounts import Issued
from ileti.services.blacklist_csv import CsvRefused
from ileti.services.blacklist_panel import BlacklistPanel, ImportJobs, ImportRunning, LinesInvalid
from tests.support.stored import listed_numbers, put_blacklisted

BASE = 1_700_000_000 * SECOND


def labels(key: str) -> str:
    return key.split(".", 1)[1]


async def test_pages_walk_newest_first_and_back_with_and_without_a_date_range(
    runtime: Runtime, account: Issued
) -> None:
    # 23 entries, one a minute; two share a moment (the number breaks the tie).
    entries = [(905330000000 + i, BASE + i * 60 * SECOND) for i in range(22)]
    entries.append((905339999999, BASE + 5 * 60 * SECOND))
    put_blacklisted(runtime, account, entries)
    service = BlacklistPanel(runtime.store)
    aid = account.account.id
    assert await service.count(aid) == 23
    order = sorted(entries, key=lambda e: (e[1], e[0]), reverse=True)

    async def walk(since: int | None, until: int | None) -> list[list[int]]:
        pages = []
        page = await service.page(aid, since=since, until=until, size=5)
        assert page.newer is None
        pages.append([e.number for e in page.entries])
        while page.older is not None:
            page = await service.page(aid, since=since, until=until, older_than=page.older, size=5)
            pages.append([e.number for e in page.entries])
        # and back again to the first page
        back = [[e.number for e in page.entries]]
        while page.newer is not None:
            page = await service.page(aid, since=since, until=until, newer_than=page.newer, size=5)
            back.append([e.number for e in page.entries])
        assert back[::-1] == pages
        return pages

    pages = await walk(None, None)
    assert [n for p in pages for n in p] == [n for n, _ in order]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    since, until = BASE + 3 * 60 * SECOND, BASE + 15 * 60 * SECOND
    inside = [n for n, at in order if since <= at < until]
    pages = await walk(since, until)
    assert [n for p in pages for n in p] == inside and len(inside) == 13
    # A cursor outside the range still yields only the range.
    page = await service.page(aid, since=since, until=until, older_than=(BASE * 2, 0), size=50)
    assert [e.number for e in page.entries] == inside


async def test_adding_lines_tells_new_from_listed_and_refuses_a_bad_line(
    runtime: Runtime, account: Issued
) -> None:
    service = BlacklistPanel(runtime.store)
    aid = account.account.id
    with pytest.raises(LinesInvalid) as caught:
        await service.add_lines(aid, "05331234567\n\nnope\n123", now=BASE)
    assert caught.value.problems == [(3, "nope"), (4, "123")]
    assert await listed_numbers(runtime, account) == ()
    done = await service.add_lines(aid, "05331234567\n+90 532 111 22 33\n05331234567", now=BASE)
    assert (done.added, done.already) == ([905331234567, 905321112233], [])
    done = await service.add_lines(aid, "5321112233\n05441112233", now=BASE + 1)
    assert (done.added, done.already) == ([905441112233], [905321112233])
    assert await service.count(aid) == 3
    entry = await service.find(aid, 905441112233)
    assert entry is not None and (entry.source, entry.blocked_at) == ("panel", BASE + 1)


async def test_an_import_reports_every_row_across_chunks(
    runtime: Runtime, account: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(panel, "CHUNK", 3)
    put_blacklisted(runtime, account, [(905320000001, BASE)])
    jobs = ImportJobs(runtime.store, clock=runtime.clock)
    lines = [
        "Telefon;Ad",
        "05330000001;a",  # 2 added
        "05320000001;b",  # 3 already listed
        "bad;c",  # 4 invalid
        ";d",  # 5 empty
        "05330000002;e",  # 6 added
        "0533 000 00 01;f",  # 7 repeated (an earlier chunk added it)
        "05330000002;g",  # 8 repeated (the same chunk)
    ]
    upload = io.BytesIO("\r\n".join(lines).encode("cp1254"))
    job = await jobs.start(account.account.id, "x.csv", upload, labels)
    await jobs.wait(job, 30)
    assert job.state == "done"
    assert (job.rows, job.added, job.already, job.repeated, job.invalid) == (7, 2, 1, 2, 2)
    assert [(p.line, p.value, p.reason) for p in job.problems] == [
        (4, "bad", "invalid"),
        (5, "", "empty"),
    ]
    assert job.progress()["percent"] == 100
    assert job.results is not None
    rows = list(csv.reader(io.StringIO(job.results.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["line", "value", "number", "result", "reason"]
    assert [(r[0], r[3], r[4]) for r in rows[1:]] == [
        ("2", "added", ""),
        ("3", "already", ""),
        ("4", "invalid", "invalid"),
        ("5", "invalid", "empty"),
        ("6", "added", ""),
        ("7", "repeated", ""),
        ("8", "repeated", ""),
    ]
    assert sorted(await listed_numbers(runtime, account)) == [
        905320000001,
        905330000001,
        905330000002,
    ]
    assert await BlacklistPanel(runtime.store).count(account.account.id) == 3
    assert jobs.get(account.account.id + 1, job.id) is None  # another account's: unseen


async def test_an_unreadable_file_starts_no_job_and_one_import_runs_at_a_time(
    runtime: Runtime, account: Issued, tmp_path: Path
) -> None:
    jobs = ImportJobs(runtime.store, clock=runtime.clock)
    with pytest.raises(CsvRefused):
        await jobs.start(account.account.id, "x.xlsx", io.BytesIO(b"PK\x03\x04zz"), labels)
    big = io.BytesIO(b"".join(b"0533%07d\n" % n for n in range(50_000)))
    job = await jobs.start(account.account.id, "big.csv", big, labels)
    if job.state == "running":
        with pytest.raises(ImportRunning):
            await jobs.start(account.account.id, "y.csv", io.BytesIO(b"05331234567\n"), labels)
    await jobs.wait(job, 120)
    assert (job.state, job.added) == ("done", 50_000)
    assert await BlacklistPanel(runtime.store).count(account.account.id) == 50_000


async def test_a_file_over_the_upload_limit_is_refused(
    runtime: Runtime, account: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(panel, "MAX_UPLOAD_BYTES", 100)
    jobs = ImportJobs(runtime.store, clock=runtime.clock)
    with pytest.raises(CsvRefused) as caught:
        await jobs.start(account.account.id, "x.csv", io.BytesIO(b"05331234567\n" * 10), labels)
    assert caught.value.code == "too_large"
    assert await BlacklistPanel(runtime.store).count(account.account.id) == 0
