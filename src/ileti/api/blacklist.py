"""Handlers for add-blacklist, delete-blacklist and get-blacklist (spec §5)."""

from __future__ import annotations

from typing import Any

from ileti import numbers
from ileti.api.runtime import Runtime
from ileti.errors import BadRequest
from ileti.services.auth import Credential
from ileti.values import page_of
from ileti.wire.structs import BlacklistFilter, BlacklistQueryRequest, NumberRequest


async def add(rt: Runtime, who: Credential, req: NumberRequest) -> None:
    number = req.blacklist.number if req.blacklist is not None else None
    await rt.blacklist.add(who.account_id, number, source="api")


async def delete(rt: Runtime, who: Credential, req: NumberRequest) -> None:
    number = req.blacklist.number if req.blacklist is not None else None
    await rt.blacklist.remove(who.account_id, number)


async def get(rt: Runtime, who: Credential, req: BlacklistQueryRequest) -> dict[str, Any]:
    query = req.blacklist
    if isinstance(query, list):
        if query:
            raise BadRequest("blacklist must be an object")
        query = None
    start = end = None
    page = row_count = None
    if query is not None:
        if isinstance(query.filter, BlacklistFilter):
            start, end = query.filter.start, query.filter.end
        elif query.filter:
            raise BadRequest("filter must be an object")
        page, row_count = query.page, query.rowCount
    result = await rt.blacklist.page(who.account_id, page_of(page, row_count), start=start, end=end)
    return {
        "blacklist": {
            "count": result.count,
            "number": [numbers.e164(n) for n in result.numbers],
        }
    }
