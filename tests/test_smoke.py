from __future__ import annotations

import httpx

from ileti.services.accounts import Issued
from tests.support.http import auth, call
from tests.support.spec import OK


async def test_add_then_get(client: httpx.AsyncClient, account: Issued) -> None:
    status, body = await call(
        client,
        "add-blacklist",
        {"authentication": auth(account), "blacklist": {"number": "05330000099"}},
    )
    assert (status, body["status"]) == (200, OK)
    status, body = await call(client, "get-blacklist", {"authentication": auth(account)}, "xml")
    assert status == 200
    assert body["blacklist"] == {"count": "1", "number": ["+905330000099"]}
