"""The sandbox's state (/_ileti/state, /_ileti/reset, ILETI_SEED), on SQLite and
PostgreSQL with real storage: a seed makes accounts that work on /v1/ with their
seeded credentials and blacklists; the same seed again writes nothing; a bad document
is 400 naming the path and leaves every row as it was; export, reset everything and
seed reproduce the state; a reset touches one account only; an account sees and
resets only itself."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.config import ConfigError, Settings
from ileti.services.auth import api_hash
from ileti.services.blacklist import IMPORT_CHUNK
from tests.support.http import call
from tests.support.runtime import started
from tests.support.spec import status as spec_status
from tests.support.stored import BOOKMARK_STEP, blacklist_entries, rows_of_account, snapshot

TOKEN = "admin-token-for-tests-0123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
OK = spec_status(200)
UNAUTHORIZED = spec_status(401)

A, B, C, D = "+905330000001", "+905330000002", "+905330000003", "+905330000004"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No background delivery: the tests step the carrier themselves.
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=TOKEN,
        delivery_poll_seconds=0,
    )


def account_doc(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "key": f"{name}-key", "secret": f"{name}-secret"} | fields


def document(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "accounts": list(accounts)}


def creds(name: str) -> dict[str, str]:
    return {"key": f"{name}-key", "hash": api_hash(f"{name}-key", f"{name}-secret")}


def as_account(name: str) -> dict[str, str]:
    return {"X-Ileti-Key": f"{name}-key", "X-Ileti-Hash": api_hash(f"{name}-key", f"{name}-secret")}


SEED = document(
    account_doc(
        "ci",
        senders=["ILETI"],
        balance=100,
        unit_price="0.158",
        brand_code="696422",
        test_number="05330000009",
        webhook_url="http://127.0.0.1:9/hook",
        strict=True,
        rate_limit=50,
        allow_ips=["127.0.0.1", "10.0.0.0/8"],
        blacklist=[
            {"number": "0533 000 00 01", "blocked_at": "2026-01-02T03:04:05.123456+03:00"},
            {"number": B, "blocked_at": "2026-01-02T00:04:05Z", "source": "api"},
        ],
    ),
    # Credentials by hash alone; every setting left out takes its default.
    {
        "name": "other",
        "key": "other-key",
        "hash": api_hash("other-key", "other-secret").upper(),
        "blacklist": [{"number": C}],
    },
)


async def seed(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/_ileti/state", headers=ADMIN, json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def export(client: httpx.AsyncClient, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    r = await client.get("/_ileti/state", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def send(client: httpx.AsyncClient, name: str, numbers: list[str], text: str = "x") -> int:
    status, body = await call(
        client,
        "send-sms",
        {
            "authentication": creds(name),
            "order": {
                "sender": "ILETI",
                "iys": "0",
                "message": {"text": text, "receipents": {"number": numbers}},
            },
        },
    )
    assert (status, body["status"]) == (200, OK), body
    return int(body["order"]["id"])


async def listed(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    status, body = await call(client, "get-blacklist", {"authentication": creds(name)})
    assert status == 200, body
    return body["blacklist"]  # type: ignore[no-any-return]


# -- seed ------------------------------------------------------------------------------


async def test_a_seed_makes_accounts_that_work_with_their_credentials_and_blacklists(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert await seed(client, SEED) == {
        "created": ["ci-key", "other-key"],
        "updated": [],
        "unchanged": [],
        "blacklist_added": 3,
        "blacklist_already": 0,
        "consents_ignored": 0,
    }
    status, body = await call(client, "get-balance", {"authentication": creds("ci")})
    assert (status, body["balance"]) == (200, {"amount": 15.8, "sms": 100}), body
    assert await listed(client, "ci") == {"count": 2, "number": [B, A]}
    assert await listed(client, "other") == {"count": 1, "number": [C]}

    ci = await runtime.accounts.get("ci-key")
    other = await runtime.accounts.get("other-key")
    assert (ci.strict, ci.rate_limit, ci.brand_code, ci.unit_price) == (True, 50, "696422", 158_000)
    assert ci.allow_ips == ("127.0.0.1/32", "10.0.0.0/8")
    assert (other.senders, other.balance, other.api_access, other.allow_ips) == ((), 0, True, ())
    # 2026-01-02T00:04:05Z and 03:04:05.123456+03:00, to the microsecond.
    assert await blacklist_entries(runtime, ci.id) == [
        (905330000002, 1_767_312_245_000_000, "api"),
        (905330000001, 1_767_312_245_123_456, "seed"),
    ]

    # send-sms skips the seeded number and charges for the other one only.
    order_id = await send(client, "ci", [A, D])
    status, body = await call(
        client, "get-report", {"authentication": creds("ci"), "order": {"id": order_id}}
    )
    assert [[m["number"], m["status"]] for m in body["order"]["message"]] == [[A, 112], [D, 110]]
    assert (await runtime.accounts.get("ci-key")).balance == 99


async def test_the_same_seed_again_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await seed(client, SEED)
    before = await snapshot(runtime)
    assert await seed(client, SEED) == {
        "created": [],
        "updated": [],
        "unchanged": ["ci-key", "other-key"],
        "blacklist_added": 0,
        "blacklist_already": 3,
        "consents_ignored": 0,
    }
    assert await snapshot(runtime) == before  # not even updated_at or a version moved

    # A changed setting is written, and only to its account; a listed number keeps its
    # time and source; a new one is added; none is removed.
    changed = copy.deepcopy(SEED)
    changed["accounts"][1]["balance"] = 7
    changed["accounts"][1]["blacklist"] = [
        {"number": C, "source": "cli", "blocked_at": "2020-01-01T00:00:00Z"},
        {"number": D},
    ]
    changed["consents"] = [{"anything": 1}]
    assert await seed(client, changed) == {
        "created": [],
        "updated": ["other-key"],
        "unchanged": ["ci-key"],
        "blacklist_added": 1,
        "blacklist_already": 3,
        "consents_ignored": 1,
    }
    after = await snapshot(runtime)
    ci_before = [r for r in before["accounts"] if r[2] == "ci-key"]
    assert [r for r in after["accounts"] if r[2] == "ci-key"] == ci_before
    assert (await runtime.accounts.get("other-key")).balance == 7
    assert await listed(client, "other") == {"count": 2, "number": [C, D]}
    kept = (await export(client))["accounts"][1]["blacklist"][0]
    assert (kept["number"], kept["source"]) == (C, "seed")
    assert not kept["blocked_at"].startswith("2020")


def _bad(change: Any) -> dict[str, Any]:
    """SEED with a third account (and whatever ``change`` does to the document)."""
    body = copy.deepcopy(SEED)
    body["accounts"][0]["balance"] = 5  # would update ci, were the document good
    body["accounts"].append(account_doc("third", blacklist=[{"number": A}, {"number": B}]))
    change(body)
    return body


_DELETE = object()


def _set(path: str, value: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            _set("accounts.2.blacklist.1.blocked_at", 5),
            "accounts[2].blacklist[1].blocked_at",
            "Expected `datetime`, got `int`",
        ),
        (
            _set("accounts.2.blacklist.1.blocked_at", "2026-01-01T00:00:00"),
            "accounts[2].blacklist[1].blocked_at",
            "Expected `datetime` with a timezone component",
        ),
        (
            _set("accounts.2.blacklist.1.source", "panel"),
            "accounts[2].blacklist[1].source",
            "Invalid enum value 'panel'",
        ),
        (_set("accounts.2.balance", "lots"), "accounts[2].balance", "Expected `int`, got `str`"),
        (_set("accounts.2.colour", "red"), "accounts[2].colour", "unknown field `colour`"),
        (_set("settings", {}), "settings", "unknown field `settings`"),
        (_set("version", 2), "version", "Invalid enum value 2"),
        (_set("version", _DELETE), None, "missing required field `version`"),
        (
            _set("accounts.2.blacklist.1.number", "123"),
            "accounts[2].blacklist[1].number",
            "not a Turkish mobile number: '123'",
        ),
        (
            _set("accounts.2.blacklist.1.number", "05330000001"),
            "accounts[2].blacklist[1].number",
            "listed again (first at blacklist[0])",
        ),
        (_set("accounts.2.key", "ci-key"), "accounts[2].key", "the key of accounts[0] again"),
        (_set("accounts.2.key", "no spaces"), "accounts[2].key", "a key is 1 to 64"),
        (
            _set("accounts.2.secret", _DELETE),
            "accounts[2].secret",
            "a seeded account needs its secret or its hash",
        ),
        (
            _set("accounts.2.hash", "ab" * 32),
            "accounts[2].hash",
            "is not the hash of this key and secret",
        ),
        (_set("accounts.2.name", " "), "accounts[2].name", "a name of 1 to 200 characters"),
        (_set("accounts.2.balance", -1), "accounts[2].balance", "balance: a whole number"),
        (_set("accounts.2.balance", 2**63), "accounts[2].balance", "balance: a whole number"),
        (_set("accounts.2.rate_limit", 2**31), "accounts[2].rate_limit", "rate limit"),
        (_set("accounts.2.test_number", "123"), "accounts[2].test_number", "test number"),
        (_set("accounts.2.unit_price", "free"), "accounts[2].unit_price", "not an amount of TRY"),
        (_set("accounts.2.rate_limit", 0), "accounts[2].rate_limit", "rate limit"),
        (_set("accounts.2.webhook_url", "ftp://x"), "accounts[2].webhook_url", "webhook URL"),
        (_set("accounts.2.senders", ["ŞİRKET"]), "accounts[2].senders", "sender 'ŞİRKET'"),
        (_set("accounts.2.allow_ips", ["300.0.0.1"]), "accounts[2].allow_ips", "300.0.0.1"),
    ],
)
async def test_a_bad_document_is_400_naming_the_path_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, change: Any, field: str | None, message: str
) -> None:
    await seed(client, SEED)
    await send(client, "ci", [D])
    before = await snapshot(runtime)
    r = await client.post("/_ileti/state", headers=ADMIN, json=_bad(change))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["status"], error["field"]) == (400, field)
    assert message in error["message"], error["message"]
    assert await snapshot(runtime) == before


async def test_a_body_that_is_not_json_is_400(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.post("/_ileti/state", headers=ADMIN, content=b'{"version": 1, "accounts": [')
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("the body is not JSON")
    assert await runtime.accounts.list() == []


# -- export and reset ---------------------------------------------------------------------


async def test_export_then_reset_everything_then_seed_reproduces_the_state(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await seed(client, SEED)
    # Changes made after the seed are part of the state too.
    r = await client.patch("/_ileti/accounts/other-key", headers=ADMIN, json={"balance": 3})
    assert r.status_code == 200
    status, _ = await call(
        client, "add-blacklist", {"authentication": creds("ci"), "blacklist": {"number": D}}
    )
    assert status == 200
    await send(client, "ci", [A, C])
    exported = await export(client)
    for account in exported["accounts"]:
        assert "secret" not in account and "hash" not in account
    assert [a["key"] for a in exported["accounts"]] == ["ci-key", "other-key"]
    assert exported["accounts"][0]["blacklist"][:2] == [
        {"number": B, "blocked_at": "2026-01-02T03:04:05+03:00", "source": "api"},
        {"number": A, "blocked_at": "2026-01-02T03:04:05.123456+03:00", "source": "seed"},
    ]
    assert exported["accounts"][0]["blacklist"][2]["source"] == "api"
    assert exported["accounts"][1]["balance"] == 3

    r = await client.post("/_ileti/reset", headers=ADMIN, json={"everything": True})
    assert (r.status_code, r.json()) == (
        200,
        {"accounts": 2, "orders": 1, "messages": 2, "webhooks": 0, "blacklist": 4},
    )
    emptied = await snapshot(runtime)
    kept = ("changes", "alembic_version")
    assert {name: rows for name, rows in emptied.items() if rows and name not in kept} == {}
    status, body = await call(client, "get-balance", {"authentication": creds("ci")})
    assert (status, body) == (401, {"status": UNAUTHORIZED})

    again = copy.deepcopy(exported)
    for account in again["accounts"]:
        account["secret"] = f"{account['name']}-secret"
    report = await seed(client, again)
    assert (report["created"], report["blacklist_added"]) == (["ci-key", "other-key"], 4)
    assert await export(client) == exported
    assert await listed(client, "ci") == {"count": 3, "number": [B, A, D]}


async def test_resetting_one_account_leaves_the_other_untouched(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    hook = {"webhook_url": "http://127.0.0.1:9/hook", "senders": ["ILETI"], "balance": 10}
    await seed(
        client,
        document(
            account_doc("one", blacklist=[{"number": A}, {"number": B}], **hook),
            account_doc("two", blacklist=[{"number": A}], **hook),
        ),
    )
    for name in ("one", "two"):
        await send(client, name, [C, D], text="again")
    await runtime.carrier.step()  # dispatched: an "accepted" webhook per message
    one_before, two_before = (
        await rows_of_account(runtime, "one-key"),
        await rows_of_account(runtime, "two-key"),
    )
    assert [len(one_before[t]) for t in ("orders", "messages", "webhooks", "rate_limits")] == [
        1,
        2,
        2,
        1,
    ]

    # An account resets itself: its activity goes, its blacklist and balance stay.
    r = await client.post("/_ileti/reset", headers=as_account("one"), json={})
    assert (r.status_code, r.json()) == (
        200,
        {"accounts": 0, "orders": 1, "messages": 2, "webhooks": 2, "blacklist": 0},
    )
    one_after = await rows_of_account(runtime, "one-key")
    assert one_after == {
        "orders": [],
        "messages": [],
        "webhooks": [],
        "blacklist": one_before["blacklist"],
        "rate_limits": [],
        "order_texts": [],
    }
    assert await rows_of_account(runtime, "two-key") == two_before
    assert (await runtime.accounts.get("one-key")).balance == 8
    # The order is no longer there, so the same order again is no 451.
    await send(client, "one", [C, D], text="again")

    # With the blacklist; the count follows, and a number can be listed again.
    r = await client.post("/_ileti/reset", headers=as_account("one"), json={"blacklist": True})
    assert (r.status_code, r.json()) == (
        200,
        {"accounts": 0, "orders": 1, "messages": 2, "webhooks": 0, "blacklist": 2},
    )
    assert await listed(client, "one") == {"count": 0, "number": []}
    assert (await runtime.accounts.get("one-key")).blacklist_count == 0
    status, _ = await call(
        client, "add-blacklist", {"authentication": creds("one"), "blacklist": {"number": B}}
    )
    assert status == 200
    assert await listed(client, "one") == {"count": 1, "number": [B]}
    assert await rows_of_account(runtime, "two-key") == two_before

    # The admin names the account.
    r = await client.post("/_ileti/reset", headers=ADMIN, json={"key": "two-key"})
    assert r.json() == {"accounts": 0, "orders": 1, "messages": 2, "webhooks": 2, "blacklist": 0}
    assert (await rows_of_account(runtime, "two-key"))["blacklist"] == two_before["blacklist"]


async def test_an_account_exports_and_resets_only_itself(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await seed(
        client,
        document(
            account_doc("one", senders=["ILETI"], balance=5),
            account_doc("two", senders=["ILETI"], balance=5, blacklist=[{"number": A}]),
        ),
    )
    await send(client, "two", [C])
    before = await snapshot(runtime)
    one = as_account("one")

    own = await export(client, one)
    assert [a["key"] for a in own["accounts"]] == ["one-key"]
    r = await client.get("/_ileti/state", headers=one, params={"key": "one-key"})
    assert r.json() == own
    for method, path, body in (
        ("GET", "/_ileti/state?key=two-key", None),
        ("POST", "/_ileti/reset", {"key": "two-key"}),
        ("POST", "/_ileti/reset", {"key": "two-key", "blacklist": True}),
    ):
        r = await client.request(method, path, headers=one, json=body)
        assert (r.status_code, r.json()["error"]) == (
            404,
            {"status": 404, "message": "no account with this key", "field": "key"},
        )
    r = await client.post("/_ileti/reset", headers=one, json={"everything": True})
    assert r.status_code == 403
    r = await client.post("/_ileti/state", headers=one, json=document(account_doc("one")))
    assert r.status_code == 403
    assert await snapshot(runtime) == before

    r = await client.get("/_ileti/state", headers=ADMIN, params={"key": "two-key"})
    assert [a["key"] for a in r.json()["accounts"]] == ["two-key"]
    r = await client.get("/_ileti/state", headers=ADMIN, params={"key": "nobody"})
    assert (r.status_code, r.json()["error"]["field"]) == (404, "key")
    assert (await client.get("/_ileti/state")).status_code == 401


async def test_the_admin_names_what_to_reset(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await seed(client, SEED)
    before = await snapshot(runtime)
    for body, status, message in (
        ({}, 400, "name the account to reset, or pass everything: true"),
        ({"key": "ci-key", "everything": True}, 400, "reset one account (key) or everything"),
        ({"key": "nobody"}, 404, "no account with this key"),
        ({"everything": "yes"}, 400, "Expected `bool`, got `str`"),
    ):
        r = await client.post("/_ileti/reset", headers=ADMIN, json=body)
        assert r.status_code == status, r.text
        assert r.json()["error"]["message"].startswith(message)
    assert await snapshot(runtime) == before


# -- ILETI_SEED ---------------------------------------------------------------------------


async def test_ileti_seed_is_loaded_at_every_start_and_changes_nothing_again(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(SEED))
    settings = Settings(database_url=database_url, seed=str(path), delivery_poll_seconds=0)
    async with started(settings) as rt:
        assert [a.key for a in await rt.accounts.list()] == ["ci-key", "other-key"]
        first = await snapshot(rt)
        assert len(first["blacklist"]) == 3
    async with started(settings) as rt:
        assert await snapshot(rt) == first


async def test_a_missing_ileti_seed_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ILETI_SEED": str(missing)})
    assert str(caught.value) == f"ILETI_SEED names {str(missing)!r}, which does not exist"
    with pytest.raises(ConfigError) as caught:
        Settings(seed=str(tmp_path))
    assert str(caught.value) == f"ILETI_SEED names {str(tmp_path)!r}, which is not a file"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            json.dumps(document(account_doc("ci", blacklist=[{"number": "1"}]))),
            "accounts[0].blacklist[0].number: not a Turkish mobile number: '1'",
        ),
        ('{"version": 1, "accounts": [', "not JSON: Input data was truncated"),
        (json.dumps({"accounts": []}), "Object missing required field `version`"),
    ],
)
async def test_a_bad_ileti_seed_file_stops_the_start_and_changes_nothing(
    database_url: str, tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    rt = Runtime.build(Settings(database_url=database_url, seed=str(path)))
    try:
        with pytest.raises(ConfigError) as caught:
            await rt.start()
    finally:
        rt.store.close()
    assert str(caught.value) == f"ILETI_SEED {path}: {problem}"
    assert caught.value.variable == "ILETI_SEED"
    async with started(Settings(database_url=database_url, delivery_poll_seconds=0)) as rt:
        assert await rt.accounts.list() == []


# -- a large seed ------------------------------------------------------------------------


def _numbers(first: int, count: int) -> list[str]:
    return [f"+90533{n:07d}" for n in range(first, first + count)]


async def test_large_seeds_page_right_even_after_everything_was_reset(
    client: httpx.AsyncClient,
) -> None:
    """More than one chunk of entries; deep get-blacklist pages (which start from cached
    bookmarks) stay right when, after a reset of everything, a new account gets the
    removed one's id (SQLite) and its list the same version."""
    count = BOOKMARK_STEP * 2 + 1
    assert count > IMPORT_CHUNK
    for first, year in ((0, 2026), (5_000_000, 2025)):
        given = _numbers(first, count)
        entries = [
            {"number": n, "blocked_at": f"{year}-01-01T00:00:00.{i:06d}+03:00"}
            for i, n in enumerate(given)
        ]
        report = await seed(client, document(account_doc("big", blacklist=entries)))
        assert (report["created"], report["blacklist_added"]) == (["big-key"], count)
        page = {"page": count // 1000 + 1, "rowCount": 1000}  # the last entry
        status, body = await call(
            client, "get-blacklist", {"authentication": creds("big"), "blacklist": page}
        )
        assert status == 200, body
        assert body["blacklist"] == {"count": count, "number": given[-1:]}
        r = await client.post("/_ileti/reset", headers=ADMIN, json={"everything": True})
        assert r.json()["blacklist"] == count
