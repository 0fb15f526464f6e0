"""The blacklist page: count, search by number, keyset pages with a date filter, add
and remove (source ``panel``), CSV import as a background job with its progress, and a
streamed CSV export."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import csv
import io
import logging
import re
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ileti import numbers
from ileti.api.panel.base import PREFIX, SECURITY_HEADERS, Ctx, FormInvalid, NotFound, page
from ileti.api.runtime import Runtime
from ileti.clock import format_local, next_day, parse_day
from ileti.errors import NotBlacklisted
from ileti.models import BlacklistEntry
from ileti.services.blacklist_csv import CsvRefused
from ileti.services.blacklist_panel import (
    MAX_LINES,
    PROBLEMS_SHOWN,
    BlacklistPanel,
    ImportJob,
    ImportJobs,
    ImportRunning,
    LinesInvalid,
)

log = logging.getLogger("ileti.panel")

HERE = f"{PREFIX}/blacklist"
_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
#: How long an import form's POST waits for a small file's job to end (no-JS users
#: then land on its result at once).
IMPORT_WAIT_SECONDS = 2.0
#: Lines shown in an add form's error.
LINES_SHOWN = 10
#: An export whose client reads nothing for this long is ended (its snapshot released).
EXPORT_STALL_SECONDS = 60.0
_SEPARATOR_KEYS = {",": "comma", ";": "semicolon", "\t": "tab"}


def _cursor(raw: str | None) -> tuple[int, int] | None:
    match = _CURSOR.match(raw or "")
    return (int(match[1]), int(match[2])) if match else None


def _cursor_text(key: tuple[int, int] | None) -> str | None:
    return f"{key[0]}.{key[1]}" if key is not None else None


def _day(raw: str) -> int:
    """An Istanbul day (``Y-m-d``, what ``<input type=date>`` sends)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ValueError(raw)
    return parse_day(raw)


def routes(rt: Runtime) -> list[Route]:
    service = BlacklistPanel(rt.store)
    jobs = ImportJobs(rt.store, clock=rt.clock)

    async def show(
        ctx: Ctx, *, status: int = 200, errors: dict[str, Any] | None = None, **form: str
    ) -> Response:
        account = ctx.account
        params = ctx.request.query_params
        errors = dict(errors or {})
        values = {
            "q": params.get("q", "").strip(),
            "from": params.get("from", "").strip(),
            "to": params.get("to", "").strip(),
            "numbers": "",
            "number": "",
        }
        values.update(form)
        since = until = None
        for name in ("from", "to"):
            if values[name]:
                try:
                    moment = _day(values[name])
                except ValueError:
                    errors[name] = "blacklist.date_invalid"
                    continue
                if name == "from":
                    since = moment
                else:
                    until = next_day(moment)
        if since is not None and until is not None and since >= until:
            errors["to"] = "blacklist.range_invalid"
        if "from" in errors or "to" in errors:
            since = until = None
            status = 422 if status == 200 else status
        search = None
        if values["q"]:
            number = numbers.parse(values["q"])
            if number is None:
                errors["q"] = "blacklist.not_a_number"
                status = 422 if status == 200 else status
            else:
                search = (number, await service.find(account.id, number))
        listing = await service.page(
            account.id,
            since=since,
            until=until,
            older_than=_cursor(params.get("after")),
            newer_than=_cursor(params.get("before")),
        )
        filters = {k: values[k] for k in ("from", "to") if values[k] and k not in errors}

        def link(**cursor: str | None) -> str | None:
            if all(v is None for v in cursor.values()):
                return None
            query = {**filters, **{k: v for k, v in cursor.items() if v is not None}}
            return f"{HERE}?{urlencode(query)}"

        return ctx.render(
            "blacklist.html",
            status=status,
            errors=errors,
            values=values,
            count=listing.count,
            search=search,
            listing=listing,
            filtered=bool(filters),
            since=since,
            until=until,
            next_link=link(after=_cursor_text(listing.older)),
            previous_link=link(before=_cursor_text(listing.newer)),
            here=HERE + (f"?{ctx.request.url.query}" if ctx.request.url.query else ""),
            e164=numbers.e164,
            max_lines=MAX_LINES,
        )

    async def blacklist_page(ctx: Ctx) -> Response:
        return await show(ctx)

    async def add(ctx: Ctx) -> Response:
        account = ctx.account
        text = await ctx.field("numbers")
        try:
            if len(text.splitlines()) > MAX_LINES * 2:
                raise FormInvalid({"numbers": "blacklist.too_many"})
            try:
                done = await service.add_lines(account.id, text, now=rt.clock.now_us())
            except LinesInvalid as exc:
                if not exc.problems:
                    raise FormInvalid({"numbers": "blacklist.required"}) from None
                shown = ", ".join(
                    ctx.t("blacklist.line", line=line, value=value)
                    for line, value in exc.problems[:LINES_SHOWN]
                )
                if len(exc.problems) > LINES_SHOWN:
                    shown += ", …"
                raise FormInvalid({"numbers": ("blacklist.bad_lines", {"lines": shown})}) from None
            except ValueError:
                raise FormInvalid({"numbers": "blacklist.too_many"}) from None
        except FormInvalid as exc:
            return await show(ctx, status=422, errors=exc.errors, numbers=text)
        if len(done.added) + len(done.already) == 1:
            number = (done.added or done.already)[0]
            return ctx.redirect(
                f"{HERE}?{urlencode({'q': numbers.e164(number)})}", flash="blacklist.added"
            )
        return ctx.redirect(HERE, flash="blacklist.added")

    async def remove(ctx: Ctx) -> Response:
        account = ctx.account
        raw = (await ctx.field("number")).strip()
        back = await ctx.field("back")
        target = back if back.startswith(HERE) and "\\" not in back else HERE
        try:
            if not raw:
                raise FormInvalid({"number": "blacklist.required"})
            if numbers.parse(raw) is None:
                raise FormInvalid({"number": "blacklist.not_a_number"})
            try:
                await rt.blacklist.remove(account.id, raw)
            except NotBlacklisted:
                raise FormInvalid({"number": "blacklist.remove_missing"}) from None
        except FormInvalid as exc:
            return await show(ctx, status=422, errors=exc.errors, number=raw)
        return ctx.redirect(target, flash="blacklist.removed")

    async def start_import(ctx: Ctx) -> Response:
        account = ctx.account
        upload = (await ctx.form()).get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise FormInvalid({"file": "blacklist.file_required"})
            try:
                job = await jobs.start(
                    account.id,
                    upload.filename,
                    upload.file,  # type: ignore[arg-type]
                    lambda key, t=ctx.t: t(f"blacklist.{key}"),
                )
            except CsvRefused as exc:
                raise FormInvalid({"file": f"blacklist.refused.{exc.code}"}) from None
            except ImportRunning:
                raise FormInvalid({"file": "blacklist.import_running"}) from None
        except FormInvalid as exc:
            return await show(ctx, status=422, errors=exc.errors)
        await jobs.wait(job, IMPORT_WAIT_SECONDS)
        return ctx.redirect(f"{HERE}/import/{job.id}")

    def job_of(ctx: Ctx) -> ImportJob:
        job = jobs.get(ctx.account.id, str(ctx.request.path_params["job"]))
        if job is None:
            raise NotFound()
        return job

    async def job_page(ctx: Ctx) -> Response:
        job = job_of(ctx)
        layout = job.layout
        return ctx.render(
            "blacklist_import.html",
            job=job,
            shown=PROBLEMS_SHOWN,
            layout_text=ctx.t(
                "blacklist.job.layout",
                encoding={"utf-8-sig": "UTF-8", "cp1254": "Windows-1254", "utf-16": "UTF-16"}[
                    layout.encoding
                ],
                delimiter=ctx.t(
                    f"blacklist.sep.{_SEPARATOR_KEYS[layout.delimiter]}"
                    if layout.separated
                    else "blacklist.sep.none"
                ),
                column=layout.column + 1,
                header=ctx.t("form.yes") if layout.header else ctx.t("form.no"),
            ),
        )

    async def job_progress(ctx: Ctx) -> Response:
        return JSONResponse(job_of(ctx).progress(), headers=SECURITY_HEADERS)

    async def job_results(ctx: Ctx) -> Response:
        job = job_of(ctx)
        if job.state == "running" or job.results is None or not job.results.exists():
            raise NotFound()
        return FileResponse(
            job.results,
            media_type="text/csv; charset=utf-8",
            filename=f"blacklist-import-{job.id}.csv",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    async def export(ctx: Ctx) -> Response:
        return await _export(rt, ctx.account.id)

    return [
        Route("/blacklist", page(rt, blacklist_page), methods=["GET"]),
        Route("/blacklist/add", page(rt, add), methods=["POST"]),
        Route("/blacklist/remove", page(rt, remove), methods=["POST"]),
        Route("/blacklist/import", page(rt, start_import), methods=["POST"]),
        Route("/blacklist/import/{job}", page(rt, job_page), methods=["GET"]),
        Route("/blacklist/import/{job}/progress", page(rt, job_progress), methods=["GET"]),
        Route("/blacklist/import/{job}/results.csv", page(rt, job_results), methods=["GET"]),
        Route("/blacklist/export", page(rt, export), methods=["GET"]),
    ]


class _Stopped(Exception):
    """The client went away: the export's reader stops."""


async def _export(rt: Runtime, account_id: int) -> Response:
    """number,blocked_at,source of every entry, streamed from one read snapshot: a
    thread writes CSV chunks into a small queue the response reads (bounded memory)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: bytes | BaseException | None) -> None:
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        waited = 0.0
        while True:
            try:
                future.result(timeout=0.5)
                return
            except concurrent.futures.TimeoutError:
                waited += 0.5
                if stop.is_set() or waited >= EXPORT_STALL_SECONDS:
                    future.cancel()
                    raise _Stopped() from None

    def produce() -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["number", "blocked_at", "source"])

        def flush() -> None:
            put(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()

        def consume(entries: Iterator[BlacklistEntry]) -> None:
            for e in entries:
                writer.writerow([numbers.e164(e.number), format_local(e.blocked_at), e.source])
                if buffer.tell() >= 64 * 1024:
                    flush()
                    if stop.is_set():
                        raise _Stopped()

        try:
            rt.blacklist.export(account_id, consume)
            flush()
            put(None)
        except _Stopped:
            pass
        except Exception as exc:
            with contextlib.suppress(_Stopped):
                put(exc)

    threading.Thread(target=produce, name="ileti-panel-export", daemon=True).start()
    first = await queue.get()
    if isinstance(first, BaseException):
        stop.set()
        raise first  # before any byte: the error page (503 when the store is down)

    async def body() -> AsyncIterator[bytes]:
        try:
            item: bytes | BaseException | None = first
            while item is not None:
                if isinstance(item, BaseException):
                    log.warning("panel: blacklist export cut short: %s", item)
                    return
                yield item
                item = await queue.get()
        finally:
            stop.set()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="blacklist.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
