"""Deep get-blacklist pages start from cached bookmarks (store.blacklist.BOOKMARK_STEP):
pages must stay exact while the list changes between reads."""

from __future__ import annotations

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.services.accounts import Issued
from tests.support.http import auth, call
from tests.support.stored import insert_blacklisted, small_bookmark_steps

BASE = 905330000000


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    small_bookmark_steps(monkeypatch, 7)


async def load(rt: Runtime, account_id: int, numbers: list[int], blocked_at: int) -> None:
    await insert_blacklisted(rt, account_id, numbers, blocked_at)


async def read_all(client: httpx.AsyncClient, issued: Issued, rows: int) -> list[str]:
    out: list[str] = []
    page = 1
    while True:
        status, body = await call(
            client,
            "get-blacklist",
            {"authentication": auth(issued), "blacklist": {"page": page, "rowCount": rows}},
        )
        assert status == 200
        got = body["blacklist"]["number"]
        if not got:
            return out
        out.extend(got)
        page += 1


async def test_pages_from_bookmarks_follow_changes(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    aid = account.account.id
    # Ties in blocked-at: the order is then by number.
    await load(runtime, aid, [BASE + i for i in range(0, 100, 2)], 1_000)
    await load(runtime, aid, [BASE + i for i in range(1, 100, 2)], 2_000)
    expected = [f"+{BASE + i}" for i in range(0, 100, 2)] + [
        f"+{BASE + i}" for i in range(1, 100, 2)
    ]
    for rows in (3, 5, 7, 10, 1000):
        assert await read_all(client, account, rows) == expected

    # A delete shifts every later entry: bookmarks of the old version must not be used.
    status, _ = await call(
        client,
        "delete-blacklist",
        {"authentication": auth(account), "blacklist": {"number": f"+{BASE + 10}"}},
    )
    assert status == 200
    expected.remove(f"+{BASE + 10}")
    for rows in (3, 7, 9):
        assert await read_all(client, account, rows) == expected

    # An add at an early blocked-at time shifts them too.
    await load(runtime, aid, [BASE + 500], 1_500)
    expected.insert(50 - 1, f"+{BASE + 500}")
    assert await read_all(client, account, 4) == expected
    status, body = await call(
        client,
        "get-blacklist",
        {"authentication": auth(account), "blacklist": {"page": 13, "rowCount": 8}},
    )
    assert body["blacklist"] == {"count": 100, "number": expected[96:100]}
