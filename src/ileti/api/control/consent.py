"""``/_ileti/consent``: the sandbox's view of İYS consent.

- ``GET /_ileti/consent/refusals``: the account's refused consent/create calls, newest
  first (kept in this process: the newest 20), each with every problem found: which
  record (its index in the list, and its recipient as written) broke which rule.
- ``GET /_ileti/consent/history``: every record of one recipient, newest first.

An account sees only its own; the admin names the account with ``key``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from ileti.api.control.base import Caller, ControlError, Endpoint
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.models import StoredConsent
from ileti.services.consent import DEFAULT_LIMIT, MAX_LIMIT
from ileti.values import MAX_ID

Key = Annotated[
    str | None,
    Meta(description="The account (admin: required); an account may name only itself"),
]


class RefusalsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: Key = None


class ProblemOut(msgspec.Struct):
    #: The record's index in the list; null: the request as a whole (brand, list size).
    index: int | None
    recipient: str | None
    field: str
    rule: str


class RefusalOut(msgspec.Struct):
    at: str
    records: int
    problems: list[ProblemOut]


class RefusalsOut(msgspec.Struct):
    refusals: list[RefusalOut]


class HistoryQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: Key = None
    recipient: Annotated[
        str | None,
        Meta(description="Required: a Turkish mobile in any accepted form, or an e-mail address"),
    ] = None
    before: (
        Annotated[int, Meta(ge=1, le=MAX_ID, description="Only records with a lower id")] | None
    ) = None
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


class RecordOut(msgspec.Struct):
    id: int
    brandCode: str
    recipient: str
    recipientType: str
    type: str
    status: str
    source: str | None
    consentDate: str
    recorded_at: str
    origin: str


class HistoryOut(msgspec.Struct):
    records: list[RecordOut]


def record_out(found: StoredConsent) -> RecordOut:
    consent = found.consent
    return RecordOut(
        id=found.id,
        brandCode=found.brand_code,
        recipient=consent.recipient,
        recipientType=consent.recipient_type,
        type=consent.type,
        status=consent.status,
        source=consent.source,
        consentDate=format_local(consent.consent_date),
        recorded_at=format_local(found.recorded_at),
        origin=found.origin,
    )


async def refusals(rt: Runtime, caller: Caller, query: RefusalsQuery) -> RefusalsOut:
    account = await caller.one_account(rt.accounts, query.key)
    return RefusalsOut(
        [
            RefusalOut(
                at=format_local(refusal.at),
                records=refusal.records,
                problems=[
                    ProblemOut(p.index, p.recipient, p.field, p.rule) for p in refusal.problems
                ],
            )
            for refusal in rt.consent.refusals(account.id)
        ]
    )


async def history(rt: Runtime, caller: Caller, query: HistoryQuery) -> HistoryOut:
    if query.recipient is None or not query.recipient.strip():
        raise ControlError(400, "recipient is required", "recipient")
    account = await caller.one_account(rt.accounts, query.key)
    found = await rt.consent.history(
        account.id, query.recipient, before=query.before, limit=query.limit
    )
    return HistoryOut([record_out(r) for r in found])


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/consent/refusals",
        "The account's refused consent/create calls (this process, newest first): which "
        "record broke which rule",
        refusals,
        query=RefusalsQuery,
        result=RefusalsOut,
        tags=("consent",),
    ),
    Endpoint(
        "GET",
        "/consent/history",
        "Every İYS consent record of one recipient, newest first",
        history,
        query=HistoryQuery,
        result=HistoryOut,
        tags=("consent",),
    ),
)
