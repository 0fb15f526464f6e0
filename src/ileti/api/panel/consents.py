"""The Consents page (İYS, spec §10): the account's brand code, search by recipient
(current status per recipient type and type, and every record of that address, newest
first), one record added by form and a CSV imported whole or not at all, both through
consent/create's service (origin ``panel``)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from ileti.api.panel.base import PREFIX, Ctx, FormInvalid, page
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.errors import SubscriptionMissing
from ileti.models import StoredConsent
from ileti.services.consent import PANEL
from ileti.services.consent_rules import (
    MAX_RECORDS,
    RECIPIENT_TYPES,
    SOURCES,
    STATUSES,
    TYPES,
    ConsentRefused,
    Problem,
)

HERE = f"{PREFIX}/consents"
#: The CSV columns, as ``ileti consent import`` reads them (a header line first).
COLUMNS = ("recipient", "recipientType", "type", "status", "source", "consentDate")
FIELDS = COLUMNS
#: The largest CSV file taken.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Records of one address shown.
HISTORY_SHOWN = 100
#: A rule of ``consent_rules`` as written -> its catalogue key (exact texts).
_RULES = {
    "BIREYSEL or TACIR": "consents.rule.recipient_type",
    "MESAJ, ARAMA or EPOSTA": "consents.rule.type",
    "ONAY or RET": "consents.rule.status",
    "a phone number: a string or an integer": "consents.rule.phone",
    "not a Turkish mobile number": "consents.rule.phone",
    "an e-mail address: a string": "consents.rule.email",
    "YYYY-MM-DD HH:MM:SS": "consents.rule.date_format",
    "YYYY-MM-DD HH:MM:SS: no such date or time": "consents.rule.date_format",
    "not in the future": "consents.rule.future",
    "IYS_ sources come from the registry, never from an upload": "consents.rule.iys_source",
    "one of the HS_ sources": "consents.rule.source",
    "HS_KARAR only with RET": "consents.rule.karar",
    "the first record may not be RET": "consents.rule.first_ret",
    "not later than the latest record's": "consents.rule.not_later",
    "not a field of a consent record": "consents.rule.unknown_field",
    "an object": "consents.rule.other",
}
#: Rules with a varying part: (start, catalogue key).
_RULE_STARTS = (
    ("an e-mail address of", "consents.rule.email"),
    ("not an e-mail address", "consents.rule.email"),
    ("not before", "consents.rule.too_early"),
    ("HS_2015 only with", "consents.rule.hs2015"),
    ("older than", "consents.rule.too_old"),
    ("1 to", "consents.rule.too_many"),
)
_SAME = re.compile(r"^same as record (\d+)$")
_ALREADY = re.compile(r"^already (ONAY|RET)$")


def rule_text(ctx: Ctx, problem: Problem, line_of: Any = None) -> str:
    """A refusal's rule in the page's language."""
    rule = problem.rule
    same = _SAME.match(rule)
    if same:
        first = int(same[1])
        return ctx.t("consents.rule.same", line=line_of(first) if line_of else first + 1)
    already = _ALREADY.match(rule)
    if already:
        return ctx.t("consents.rule.already", status=already[1])
    key = _RULES.get(rule)
    if key is None:
        key = next((k for start, k in _RULE_STARTS if rule.startswith(start)), None)
    return ctx.t(key or "consents.rule.other", most=MAX_RECORDS)


def _date(raw: str) -> str:
    """A consent date as typed (``Y-m-d H:M:S``; ``Y-m-dTH:M[:S]`` and no seconds taken)
    as consent/create reads it."""
    text = raw.strip().replace("T", " ")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text):
        text += ":00"
    return text


def _current(history: list[StoredConsent]) -> list[StoredConsent]:
    """The latest record of each (brand, recipient type, type) in a newest-first history."""
    seen: set[tuple[str, str, str]] = set()
    found = []
    for stored in history:
        key = (stored.brand_code, stored.consent.recipient_type, stored.consent.type)
        if key not in seen:
            seen.add(key)
            found.append(stored)
    return found


def routes(rt: Runtime) -> list[Route]:
    async def show(
        ctx: Ctx,
        *,
        status: int = 200,
        errors: dict[str, Any] | None = None,
        values: dict[str, str] | None = None,
        problems: list[dict[str, Any]] | None = None,
        imported: int | None = None,
        q: str | None = None,
    ) -> Response:
        account = ctx.account
        query = (q if q is not None else ctx.request.query_params.get("q", "")).strip()[:320]
        history: list[StoredConsent] | None = None
        if query:
            history = await rt.consent.history(account.id, query, limit=HISTORY_SHOWN)
        form = {
            "recipient": "",
            "recipientType": "BIREYSEL",
            "type": "MESAJ",
            "status": "ONAY",
            "source": "HS_WEB",
            "consentDate": format_local(rt.clock.now_us()),
        }
        form.update(values or {})
        return ctx.render(
            "consents.html",
            status=status,
            errors=errors or {},
            brand_code=account.brand_code,
            q=query,
            history=history,
            current=_current(history) if history else [],
            form=form,
            recipient_types=RECIPIENT_TYPES,
            types=TYPES,
            statuses=STATUSES,
            sources=sorted(SOURCES),
            problems=problems,
            imported=imported,
            local_time=format_local,
            max_records=MAX_RECORDS,
        )

    async def consents_page(ctx: Ctx) -> Response:
        return await show(ctx)

    async def add(ctx: Ctx) -> Response:
        account = ctx.account
        values = {name: (await ctx.field(name)).strip() for name in FIELDS}
        record: dict[str, Any] = {k: v for k, v in values.items() if k != "source"}
        if values["source"]:
            record["source"] = values["source"]
        record["consentDate"] = _date(values["consentDate"])
        try:
            if not account.brand_code:
                raise FormInvalid({"recipient": "consents.no_brand_short"})
            try:
                await rt.consent.create(account, account.brand_code, [record], origin=PANEL)
            except SubscriptionMissing:
                raise FormInvalid({"recipient": "consents.no_brand_short"}) from None
            except ConsentRefused as exc:
                errors: dict[str, Any] = {}
                for problem in exc.problems:
                    name = problem.field if problem.field in FIELDS else "recipient"
                    errors.setdefault(
                        name, ("consents.rule.shown", {"rule": rule_text(ctx, problem)})
                    )
                raise FormInvalid(errors) from None
        except FormInvalid as exc:
            return await show(ctx, status=422, errors=dict(exc.errors), values=values)
        return ctx.redirect(
            f"{HERE}?{urlencode({'q': values['recipient']})}", flash="consents.added"
        )

    async def import_file(ctx: Ctx) -> Response:
        account = ctx.account
        upload = (await ctx.form()).get("file")
        try:
            if not account.brand_code:
                raise FormInvalid({"file": "consents.no_brand_short"})
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise FormInvalid({"file": "consents.file_required"})
            data = await upload.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise FormInvalid({"file": "consents.file_too_big"})
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise FormInvalid({"file": "consents.file_not_utf8"}) from None
            reader = csv.DictReader(io.StringIO(text))
            try:
                if reader.fieldnames is None or set(COLUMNS) - set(reader.fieldnames):
                    raise FormInvalid({"file": "consents.file_header"})
                rows = [{k: v for k, v in row.items() if k in COLUMNS} for row in reader]
            except csv.Error:
                raise FormInvalid({"file": "consents.file_header"}) from None
            if not rows:
                raise FormInvalid({"file": "consents.file_empty"})
            if len(rows) > MAX_RECORDS:
                raise FormInvalid({"file": ("consents.file_too_many", {"most": MAX_RECORDS})})

            def line_of(index: int) -> int:
                """A row's line in the file (the header is line 1), as the CLI counts."""
                return index + 2

            try:
                stored = await rt.consent.create(
                    account, account.brand_code, rows, origin=PANEL, most=MAX_RECORDS
                )
            except SubscriptionMissing:
                raise FormInvalid({"file": "consents.no_brand_short"}) from None
            except ConsentRefused as exc:
                problems = [
                    {
                        "line": None if p.index is None else line_of(p.index),
                        "recipient": p.recipient or "",
                        "field": p.field,
                        "rule": rule_text(ctx, p, line_of),
                    }
                    for p in exc.problems
                ]
                return await show(
                    ctx,
                    status=422,
                    errors={"file": ("consents.file_refused", {"n": len(problems)})},
                    problems=problems,
                )
        except FormInvalid as exc:
            return await show(ctx, status=422, errors=dict(exc.errors))
        return await show(ctx, imported=stored)

    return [
        Route("/consents", page(rt, consents_page), methods=["GET"]),
        Route("/consents/add", page(rt, add), methods=["POST"]),
        Route("/consents/import", page(rt, import_file), methods=["POST"]),
    ]
