"""Authentication (spec §2): every 401 cause gives one identical body on every action
of ``ileti.api.actions.ACTIONS``, the hash is checked case-insensitively, changes
(rotation, API access, allow-list) take effect at once, ``X-Forwarded-For`` is believed
only from trusted proxies, accounts are isolated, and the database never holds the
secret or the hash."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ileti.api.actions import ACTIONS
from ileti.api.runtime import Runtime
from ileti.config import Settings, parse_networks
from ileti.services.accounts import Issued
from ileti.services.auth import api_hash, hash_digest
from tests.support.actions import CASES, encodings_of, prepare, request_of
from tests.support.http import ENCODINGS, auth, body_of, path_of
from tests.support.runtime import client_of, started
from tests.support.spec import JSON_TYPE, OK, XML_TYPE, json_body, xml_body
from tests.support.stored import (
    account_rows,
    create_account_row,
    everything_as_text,
    listed_numbers,
    snapshot,
    statements,
)

UNAUTHORIZED = {"json": json_body(401), "xml": xml_body(401)}
NUMBER = "+905330000099"
STORED = 905330000099

SPEC_KEY = "public_key"
SPEC_SECRET = "secret_key"
SPEC_HASH = "b6a736a4b6739ac56db7e903b0ef55bda82fca63fac55d4bd1d6d62c54888b22"


def add_request(authentication: Any, number: str = NUMBER) -> dict[str, Any]:
    request: dict[str, Any] = {"blacklist": {"number": number}}
    if authentication is not None:
        request["authentication"] = authentication
    return request


async def post(
    client: httpx.AsyncClient, action: str, request: dict[str, Any], enc: str = "json"
) -> httpx.Response:
    return await client.post(path_of(action, enc), content=body_of(request, enc))


def assert_unauthorized(r: httpx.Response, enc: str) -> None:
    """The one 401: status, content type and the very same bytes, whatever the cause."""
    assert r.status_code == 401
    assert r.headers["content-type"] == (JSON_TYPE if enc == "json" else XML_TYPE)
    assert r.content == UNAUTHORIZED["json" if enc == "json" else "xml"]


def assert_ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.content
    response = r.json()["response"]
    assert response["status"] == OK
    return response


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The simulated carrier off: what is stored changes only by requests."""
    return Settings(database_url=database_url, auth_refresh_seconds=0.1, delivery_poll_seconds=0)


async def listed(runtime: Runtime, issued: Issued) -> list[int]:
    return list(await listed_numbers(runtime, issued))


@pytest.fixture
async def client_from() -> AsyncIterator[Any]:
    """Clients of the test runtime's app whose peer address is the given one."""
    opened: list[httpx.AsyncClient] = []

    def make(runtime: Runtime, ip: str, port: int = 50000) -> httpx.AsyncClient:
        c = client_of(runtime, ip, port)
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


# -- every cause of a 401, one body --------------------------------------------------------


def _causes(issued: Issued, other: Issued) -> dict[str, Any]:
    """Authentication elements (None: none at all) that must all fail alike."""
    key, hash_hex = issued.account.key, issued.hash
    return {
        "missing authentication": None,
        "empty authentication": {},
        "missing key": {"hash": hash_hex},
        "missing hash": {"key": key},
        "empty key": {"key": "", "hash": hash_hex},
        "empty hash": {"key": key, "hash": ""},
        "unknown key": {"key": "0" * 32, "hash": hash_hex},
        "wrong hash": {"key": key, "hash": "f" * 64},
        "hash of another account": {"key": key, "hash": other.hash},
        "another account's key": {"key": other.account.key, "hash": hash_hex},
        "secret instead of hash": {"key": key, "hash": issued.secret},
        "hash of the hash": {"key": key, "hash": hash_digest(hash_hex)},
        "truncated hash": {"key": key, "hash": hash_hex[:-1]},
        "very long key": {"key": key * 100, "hash": hash_hex},
    }


_WRONG_TYPES: dict[str, Any] = {
    "key as number": {"key": 12345678901234567890, "hash": "{hash}"},
    "key as array": {"key": ["{key}"], "hash": "{hash}"},
    "key as object": {"key": {"value": "{key}"}, "hash": "{hash}"},
    "key as true": {"key": True, "hash": "{hash}"},
    "hash as array": {"key": "{key}", "hash": ["{hash}"]},
    "hash as object": {"key": "{key}", "hash": {"value": "{hash}"}},
}


def _fill(value: Any, issued: Issued) -> Any:
    if isinstance(value, str):
        return value.format(key=issued.account.key, hash=issued.hash)
    if isinstance(value, list):
        return [_fill(v, issued) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, issued) for k, v in value.items()}
    return value


def as_caller(request: dict[str, Any], authentication: Any) -> dict[str, Any]:
    """``request`` with its authentication replaced (None: without one)."""
    out = {k: v for k, v in request.items() if k != "authentication"}
    if authentication is not None:
        out["authentication"] = authentication
    return out


#: Every action of the v1 table: a new one runs here at once (and needs a request in
#: ``tests/support/actions.py``; ``test_every_action_has_a_case`` says so).
EVERY_ACTION = sorted(ACTIONS)


def test_every_action_has_a_case() -> None:
    assert sorted(CASES) == EVERY_ACTION


@pytest.mark.parametrize(
    ("action", "enc"),
    [
        pytest.param(action, enc, id=f"{enc}-{action}")
        for action in EVERY_ACTION
        for enc in encodings_of(action)
    ],
)
async def test_every_cause_gives_the_same_401(
    runtime: Runtime, client_from: Any, account: Issued, action: str, enc: str
) -> None:
    """Each cause, on the action's valid request: the very same 401 bytes, nothing
    stored; and the same request with the right credentials succeeds."""
    other = await runtime.accounts.create("other")
    off = await runtime.accounts.create("off", api_access=False)
    fenced = await runtime.accounts.create("fenced", allow_ips=("10.0.0.0/8",))
    client = client_from(runtime, "192.0.2.1")
    valid = request_of(action, account, await prepare(client, account, action))
    before = await snapshot(runtime)

    causes = _causes(account, other)
    causes["api access off"] = auth(off)
    causes["address outside the allow-list"] = auth(fenced)
    for cause, authentication in causes.items():
        r = await post(client, action, as_caller(valid, authentication), enc)
        assert r.status_code == 401, cause
        assert_unauthorized(r, enc)
    assert await snapshot(runtime) == before

    # With right credentials the same client gets through: the causes were the causes.
    r = await post(client, action, valid, enc)
    assert r.status_code == 200, r.content


@pytest.mark.parametrize("cause", _WRONG_TYPES)
async def test_credentials_of_the_wrong_type_are_401(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, cause: str
) -> None:
    """A key or hash that is not a string is a wrong credential (401), not a 400."""
    authentication = _fill(_WRONG_TYPES[cause], account)
    before = await snapshot(runtime)
    for action in EVERY_ACTION:
        r = await post(client, action, as_caller(request_of(action, account), authentication))
        assert_unauthorized(r, "json")
    assert await snapshot(runtime) == before


NUL_KEYS = ("{key}\x00", "\x00{key}", "{key}\x00x", "\x00", " \x00 ")


@pytest.mark.parametrize("action", EVERY_ACTION)
async def test_a_key_with_a_nul_is_the_one_401_and_never_reaches_the_database(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    action: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """JSON's ``\u0000`` in the key (PostgreSQL cannot even look such a key up): the
    same 401 bytes as any wrong key, no statement carries it, nothing logged as an error,
    nothing stored. (In XML a NUL is not a character at all: 400, test_envelope.)"""
    before = await snapshot(runtime)
    for key in NUL_KEYS:
        authentication = {"key": key.format(key=account.account.key), "hash": account.hash}
        with statements(runtime) as seen:
            r = await post(client, action, as_caller(request_of(action, account), authentication))
        assert_unauthorized(r, "json")
        assert not [s for s in seen if r"\x00" in repr(s)], key  # as repr shows a NUL
    assert await snapshot(runtime) == before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_key_with_a_nul_in_the_get_form_is_the_one_401(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    before = await snapshot(runtime)
    for key in NUL_KEYS:
        query = {
            "key": key.format(key=account.account.key),
            "hash": account.hash,
            "text": "Merhaba",
            "receipents": NUMBER,
            "sender": "ILETI",
        }
        with statements(runtime) as seen:
            r = await client.get("/v1/send-sms/get/", params=query)
        assert "%00" in str(r.request.url)
        assert_unauthorized(r, "xml")
        assert not [s for s in seen if r"\x00" in repr(s)], key  # as repr shows a NUL
    assert await snapshot(runtime) == before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("enc", ["xml", "form"])
async def test_xml_credentials_with_children_are_401(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, enc: str
) -> None:
    for authentication in (
        {"key": {"value": account.account.key}, "hash": account.hash},
        {"key": account.account.key, "hash": {"value": account.hash}},
    ):
        r = await post(client, "add-blacklist", add_request(authentication), enc)
        assert_unauthorized(r, enc)
    assert await listed(runtime, account) == []


# -- the hash ------------------------------------------------------------------------------


def test_spec_test_vector() -> None:
    assert api_hash(SPEC_KEY, SPEC_SECRET) == SPEC_HASH


async def test_spec_test_vector_authenticates(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """An account whose key is ``public_key`` and whose hash is the spec's vector (as
    the server keeps it: a digest) is let in with that hash, in either case."""
    digest = hash_digest(api_hash(SPEC_KEY, SPEC_SECRET))
    await create_account_row(runtime, name="spec", key=SPEC_KEY, hash_sha256=digest)
    for hash_hex in (SPEC_HASH, SPEC_HASH.upper()):
        r = await post(
            client, "get-blacklist", {"authentication": {"key": SPEC_KEY, "hash": hash_hex}}
        )
        assert_ok(r)
    r = await post(
        client, "get-blacklist", {"authentication": {"key": SPEC_KEY, "hash": SPEC_SECRET}}
    )
    assert_unauthorized(r, "json")


@pytest.mark.parametrize("enc", ENCODINGS)
async def test_hash_in_any_letter_case(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, enc: str
) -> None:
    hash_hex = account.hash
    assert hash_hex == hash_hex.lower() and hash_hex != hash_hex.upper()
    assert hash_hex == api_hash(account.account.key, account.secret)
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(hash_hex))
    for variant in (hash_hex.upper(), mixed):
        authentication = {"key": account.account.key, "hash": variant}
        r = await post(client, "add-blacklist", add_request(authentication), enc)
        assert r.status_code == 200
    assert await listed(runtime, account) == [STORED]


async def test_keys_are_32_lowercase_hex(runtime: Runtime) -> None:
    keys = set()
    for i in range(20):
        issued = await runtime.accounts.create(f"a{i}")
        key = issued.account.key
        assert len(key) == 32 and all(c in "0123456789abcdef" for c in key)
        keys.add(key)
    assert len(keys) == 20


# -- changes take effect at once -----------------------------------------------------------


async def test_rotation(runtime: Runtime, client: httpx.AsyncClient, account: Issued) -> None:
    old = auth(account)
    assert_ok(await post(client, "add-blacklist", add_request(old)))  # cached now

    rotated = await runtime.accounts.rotate(account.account.key)
    assert rotated.account.key == account.account.key
    assert rotated.hash != account.hash and rotated.secret != account.secret
    assert rotated.hash == api_hash(account.account.key, rotated.secret)

    assert_unauthorized(await post(client, "get-blacklist", {"authentication": old}), "json")
    new = auth(rotated)
    r = await post(client, "get-blacklist", {"authentication": new})
    assert assert_ok(r)["blacklist"] == {"count": 1, "number": [NUMBER]}
    # Rotating again retires the second hash too.
    again = await runtime.accounts.rotate(account.account.key)
    assert_unauthorized(await post(client, "get-blacklist", {"authentication": new}), "json")
    assert_ok(await post(client, "get-blacklist", {"authentication": auth(again)}))


async def test_api_access_toggle(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    creds = auth(account)
    assert_ok(await post(client, "add-blacklist", add_request(creds)))

    await runtime.accounts.update(account.account.key, api_access=False)
    for enc in ENCODINGS:
        r = await post(client, "delete-blacklist", add_request(creds), enc)
        assert_unauthorized(r, enc)
    assert await listed(runtime, account) == [STORED]

    await runtime.accounts.update(account.account.key, api_access=True)
    assert_ok(await post(client, "delete-blacklist", add_request(creds)))
    assert await listed(runtime, account) == []


async def test_account_created_after_the_cache_filled(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    assert_ok(await post(client, "get-blacklist", {"authentication": auth(account)}))
    later = await runtime.accounts.create("later")
    assert_ok(await post(client, "get-blacklist", {"authentication": auth(later)}))


# -- the allow-list --------------------------------------------------------------------------

ALLOW = ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7")


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("10.0.0.1", True),
        ("10.255.255.255", True),
        ("192.0.2.7", True),
        ("2001:db8::1", True),
        ("2001:db8:ffff::42", True),
        ("::ffff:10.1.2.3", True),  # an IPv4 client on a dual-stack socket
        ("11.0.0.1", False),
        ("192.0.2.8", False),
        ("192.0.2.6", False),
        ("127.0.0.1", False),
        ("2001:db9::1", False),
        ("::1", False),
        ("::ffff:192.0.2.8", False),
    ],
)
async def test_allow_list(runtime: Runtime, client_from: Any, ip: str, allowed: bool) -> None:
    fenced = await runtime.accounts.create("fenced", allow_ips=ALLOW)
    client = client_from(runtime, ip)
    for enc in ENCODINGS:
        r = await post(client, "add-blacklist", add_request(auth(fenced)), enc)
        if allowed:
            assert r.status_code == 200
        else:
            assert_unauthorized(r, enc)
    assert await listed(runtime, fenced) == ([STORED] if allowed else [])


async def test_allow_list_changes_take_effect_at_once(runtime: Runtime, client_from: Any) -> None:
    issued = await runtime.accounts.create("fenced")
    creds = {"authentication": auth(issued)}
    office, home = client_from(runtime, "198.51.100.10"), client_from(runtime, "203.0.113.20")
    assert_ok(await post(office, "get-blacklist", creds))
    assert_ok(await post(home, "get-blacklist", creds))

    await runtime.accounts.update(issued.account.key, allow_ips=("198.51.100.0/24",))
    assert_ok(await post(office, "get-blacklist", creds))
    assert_unauthorized(await post(home, "get-blacklist", creds), "json")

    await runtime.accounts.update(issued.account.key, allow_ips=("203.0.113.20",))
    assert_unauthorized(await post(office, "get-blacklist", creds), "json")
    assert_ok(await post(home, "get-blacklist", creds))

    await runtime.accounts.update(issued.account.key, allow_ips=())
    assert_ok(await post(office, "get-blacklist", creds))
    assert_ok(await post(home, "get-blacklist", creds))


# -- X-Forwarded-For -----------------------------------------------------------------------

PROXY = "10.9.8.7"
CLIENT = "203.0.113.5"


@pytest.fixture
async def proxied(database_url: str) -> AsyncIterator[Runtime]:
    """A runtime that trusts the proxy 10.9.8.0/24 (and ::1)."""
    settings = Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        trusted_proxies=parse_networks(["10.9.8.0/24", "::1"]),
    )
    async with started(settings) as rt:
        yield rt


@pytest.mark.parametrize(
    ("peer", "forwarded", "allowed"),
    [
        (PROXY, CLIENT, True),
        ("::1", CLIENT, True),
        (PROXY, f"{CLIENT}, 10.9.8.1", True),  # through two trusted proxies
        (PROXY, f"  {CLIENT} ,{PROXY}  ", True),
        (PROXY, None, False),  # the proxy itself is not the client
        (PROXY, "198.51.100.1", False),
        (PROXY, f"{CLIENT}, 198.51.100.1", False),  # a client forging its own header
        (PROXY, "not-an-address", False),
        ("198.51.100.1", CLIENT, False),  # not a trusted proxy: its header is ignored
        (CLIENT, "198.51.100.1", True),  # the client itself; the header is ignored
    ],
)
async def test_forwarded_for_only_from_trusted_proxies(
    proxied: Runtime,
    client_from: Any,
    peer: str,
    forwarded: str | None,
    allowed: bool,
) -> None:
    fenced = await proxied.accounts.create("fenced", allow_ips=(CLIENT,))
    client = client_from(proxied, peer)
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    r = await client.post(
        "/v1/add-blacklist/json",
        content=body_of(add_request(auth(fenced)), "json"),
        headers=headers,
    )
    if allowed:
        assert_ok(r)
    else:
        assert_unauthorized(r, "json")
    assert await listed(proxied, fenced) == ([STORED] if allowed else [])


async def test_forwarded_for_ignored_without_trusted_proxies(
    runtime: Runtime, client_from: Any
) -> None:
    assert runtime.settings.trusted_proxies == ()
    fenced = await runtime.accounts.create("fenced", allow_ips=(CLIENT,))
    client = client_from(runtime, "127.0.0.1")
    r = await client.post(
        "/v1/add-blacklist/json",
        content=body_of(add_request(auth(fenced)), "json"),
        headers={"x-forwarded-for": CLIENT},
    )
    assert_unauthorized(r, "json")
    assert await listed(runtime, fenced) == []


# -- isolation between accounts ---------------------------------------------------------------


async def test_accounts_are_isolated(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    a = auth(account)
    b_issued = await runtime.accounts.create("beta")
    b = auth(b_issued)
    a_numbers = ["+905330000099", "+905330000100", "+905330000101"]
    for number in a_numbers:
        assert_ok(await post(client, "add-blacklist", add_request(a, number)))

    r = await post(client, "get-blacklist", {"authentication": b})
    assert assert_ok(r)["blacklist"] == {"count": 0, "number": []}
    for enc in ENCODINGS:
        r = await post(client, "delete-blacklist", add_request(b, a_numbers[0]), enc)
        assert r.status_code == 474
    r = await post(client, "get-blacklist", {"authentication": a})
    assert assert_ok(r)["blacklist"] == {"count": 3, "number": a_numbers}

    # B lists one of A's numbers and one of its own; each sees only its own list.
    assert_ok(await post(client, "add-blacklist", add_request(b, a_numbers[1])))
    assert_ok(await post(client, "add-blacklist", add_request(b, "+905330000200")))
    r = await post(client, "get-blacklist", {"authentication": b})
    assert assert_ok(r)["blacklist"] == {"count": 2, "number": [a_numbers[1], "+905330000200"]}
    filtered = {"authentication": b, "blacklist": {"filter": {"start": "2000-01-01 00:00:00"}}}
    assert assert_ok(await post(client, "get-blacklist", filtered))["blacklist"]["count"] == 2

    # B removing the shared number leaves A's entry alone; A removing its own leaves B's.
    assert_ok(await post(client, "delete-blacklist", add_request(b, a_numbers[1])))
    assert await listed(runtime, account) == [905330000099, 905330000100, 905330000101]
    assert_ok(await post(client, "delete-blacklist", add_request(a, a_numbers[2])))
    assert await listed(runtime, b_issued) == [905330000200]
    r = await post(client, "get-blacklist", {"authentication": a})
    assert assert_ok(r)["blacklist"] == {"count": 2, "number": a_numbers[:2]}


# -- what is stored ----------------------------------------------------------------------------


async def test_database_holds_no_secret_and_no_hash(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    rotated = await runtime.accounts.rotate(account.account.key)
    others = [await runtime.accounts.create(f"n{i}", allow_ips=("10.0.0.0/8",)) for i in range(3)]
    issued_all = [account, rotated, *others]
    # Requests fill the credential cache; nothing of them may reach the database.
    assert_ok(await post(client, "add-blacklist", add_request(auth(rotated))))
    assert_unauthorized(await post(client, "add-blacklist", add_request(auth(others[0]))), "json")

    accounts_rows = await account_rows(runtime)
    everything = await everything_as_text(runtime)
    assert len(accounts_rows) == len(issued_all) - 1  # the rotated account is one row
    stored_digests = {row["hash_sha256"] for row in accounts_rows}
    assert hash_digest(rotated.hash) in stored_digests
    assert hash_digest(account.hash) not in stored_digests  # retired by the rotation
    for issued in issued_all:
        for secret in (issued.secret, issued.hash):
            assert secret.lower() not in everything
    assert account.account.key in everything  # the key itself is no secret


async def test_sqlite_files_hold_no_secret_and_no_hash(sqlite_url: str, client_from: Any) -> None:
    """Byte for byte, the database file and its WAL (SQLite only: files to read)."""
    runtime = Runtime.build(Settings(database_url=sqlite_url))
    await runtime.start()
    path = Path(sqlite_url.removeprefix("sqlite:///"))

    def read_files() -> bytes:
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert path in files
        return b"".join(p.read_bytes() for p in files)

    try:
        account = await runtime.accounts.create("acme")
        client = client_from(runtime, "127.0.0.1")
        assert_ok(await post(client, "add-blacklist", add_request(auth(account))))
        rotated = await runtime.accounts.rotate(account.account.key)
        assert_ok(await post(client, "add-blacklist", add_request(auth(rotated), "05330000100")))
        raw = read_files()  # with the WAL as it is while serving
    finally:
        await runtime.stop()
    raw += read_files()
    assert account.account.key.encode() in raw
    for secret in (account.secret, account.hash, rotated.secret, rotated.hash):
        assert secret.encode() not in raw
        assert secret.upper().encode() not in raw
