"""The panel's users and sessions, in process on both databases: ``ileti user``, what
is stored (argon2id, only a digest of each session token), logging in and out, session
expiry, a password change ending sessions, and what the dashboard shows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.config import Settings, parse_networks
from ileti.services.accounts import Issued
from tests.support.cli import ileti, ok
from tests.support.clock import FakeClock
from tests.support.http import auth
from tests.support.panel_http import csrf_of, log_in, post_form
from tests.support.runtime import asgi_client, client_of, started
from tests.support.stored import everything_as_text, session_rows, user_rows

PASSWORD = "correct horse battery"


def create_user(url: str, email: str, *args: str, password: str = PASSWORD) -> object:
    from click.testing import CliRunner

    from ileti.cli.main import cli

    return CliRunner().invoke(
        cli,
        ["--database", url, "user", "create", email, "--password-stdin", *args],
        input=password + "\n",
        env={"ILETI_DATABASE_URL": None},
        prog_name="ileti",
    )


async def test_user_create_keeps_only_an_argon2id_hash(
    runtime: Runtime, account: Issued, database_url: str
) -> None:
    made = create_user(database_url, "Ayse@Example.com", "--account", account.account.key)
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    assert "User ayse@example.com created (account " in made.output  # type: ignore[attr-defined]
    (row,) = await user_rows(runtime)
    assert row["email"] == "ayse@example.com"
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD.lower() not in await everything_as_text(runtime)
    listed = ok(ileti(database_url, "user", "list"))
    assert f"ayse@example.com  account {account.account.key}" in listed.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--account", "nokey"], PASSWORD, "Error: account: no account with key 'nokey'"),
        ([], PASSWORD, "Error: a user who is not an admin needs --account KEY (or --admin)"),
        (["--admin"], "short", "Error: password: a password is 8 to 1024 characters"),
    ],
)
async def test_user_create_refuses_with_one_line(
    runtime: Runtime, database_url: str, args: list[str], password: str, message: str
) -> None:
    made = create_user(database_url, "a@example.com", *args, password=password)
    assert made.exit_code == 2  # type: ignore[attr-defined]
    assert made.output.strip() == message  # type: ignore[attr-defined]
    assert await user_rows(runtime) == []


async def test_a_bad_email_and_a_taken_one_are_refused(runtime: Runtime, database_url: str) -> None:
    bad = create_user(database_url, "not-an-address", "--admin")
    assert bad.exit_code == 2  # type: ignore[attr-defined]
    assert bad.output.startswith("Error: email: not an e-mail address")  # type: ignore[attr-defined]
    assert create_user(database_url, "a@example.com", "--admin").exit_code == 0  # type: ignore[attr-defined]
    again = create_user(database_url, "A@example.com", "--admin")
    assert again.exit_code == 1  # type: ignore[attr-defined]
    assert again.output.strip() == "Error: a user with e-mail 'a@example.com' exists"  # type: ignore[attr-defined]
    assert len(await user_rows(runtime)) == 1


async def test_a_session_is_kept_as_a_digest_and_ends_at_logout(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, database_url: str
) -> None:
    create_user(database_url, "u@example.com", "--account", account.account.key)
    answer = await log_in(client, "u@example.com", PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/panel/"
    token = client.cookies["ileti_session"]
    (stored,) = await session_rows(runtime)
    assert len(stored["token_sha256"]) == 32
    assert token.lower() not in await everything_as_text(runtime)
    assert (await client.get("/panel/")).status_code == 200
    out = await post_form(client, "/panel/", "/panel/logout", {})
    assert out.status_code == 303
    assert await session_rows(runtime) == []
    client.cookies.set("ileti_session", token)  # the old cookie, kept by an attacker
    again = await client.get("/panel/")
    assert again.status_code == 303 and again.headers["location"].startswith("/panel/login")


async def test_a_password_change_ends_every_session(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, database_url: str
) -> None:
    create_user(database_url, "u@example.com", "--account", account.account.key)
    assert (await log_in(client, "u@example.com", PASSWORD)).status_code == 303
    from click.testing import CliRunner

    from ileti.cli.main import cli

    changed = CliRunner().invoke(
        cli,
        ["--database", database_url, "user", "password", "u@example.com", "--password-stdin"],
        input="another password\n",
        env={"ILETI_DATABASE_URL": None},
    )
    assert changed.exit_code == 0, changed.output
    assert "their sessions have ended" in changed.output
    assert (await client.get("/panel/")).status_code == 303
    assert (await log_in(client, "u@example.com", PASSWORD)).status_code == 401
    assert (await log_in(client, "u@example.com", "another password")).status_code == 303


async def test_deleting_a_user_ends_their_session(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, database_url: str
) -> None:
    create_user(database_url, "u@example.com", "--account", account.account.key)
    assert (await log_in(client, "u@example.com", PASSWORD)).status_code == 303
    deleted = ok(ileti(database_url, "user", "delete", "u@example.com"))
    assert deleted.output.strip() == "User u@example.com deleted."
    assert (await client.get("/panel/")).status_code == 303
    assert await user_rows(runtime) == [] and await session_rows(runtime) == []
    missing = ileti(database_url, "user", "delete", "u@example.com")
    assert missing.exit_code == 1
    assert missing.output.strip() == "Error: no user with e-mail 'u@example.com'"


async def test_a_session_expires(stepped: Runtime, clock: FakeClock, database_url: str) -> None:
    mine = await stepped.accounts.create("acme")
    create_user(database_url, "u@example.com", "--account", mine.account.key)
    async with asgi_client(stepped) as client:
        assert (await log_in(client, "u@example.com", PASSWORD)).status_code == 303
        assert (await client.get("/panel/")).status_code == 200
        clock.advance(stepped.settings.session_seconds + 1)
        expired = await client.get("/panel/")
        assert expired.status_code == 303
        assert expired.headers["location"] == "/panel/login?next=%2Fpanel%2F"


async def test_the_dashboard_shows_the_cause_of_a_refused_call(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, database_url: str
) -> None:
    create_user(database_url, "u@example.com", "--account", account.account.key)
    wrong = {"key": account.account.key, "hash": "0" * 64}
    body = {"request": {"authentication": wrong}}
    refused = await client.post("/v1/get-balance/json", json=body)
    assert refused.status_code == 401
    good = {"request": {"authentication": auth(account)}}
    assert (await client.post("/v1/get-balance/json", json=good)).status_code == 200
    assert (await log_in(client, "u@example.com", PASSWORD)).status_code == 303
    html = (await client.get("/panel/")).text
    assert "<td>get-balance</td><td>401</td><td>yanlış hash</td>" in html
    client.cookies.set("ileti_lang", "en")
    html = (await client.get("/panel/")).text
    assert "<td>get-balance</td><td>401</td><td>wrong hash</td>" in html


async def test_the_dashboard_counts_todays_orders_and_messages(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, database_url: str
) -> None:
    create_user(database_url, "u@example.com", "--account", account.account.key)
    order = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {
            "text": "merhaba",
            "receipents": {"number": ["+905330000001", "+905330000002"]},
        },
    }
    body = {"request": {"authentication": auth(account), "order": order}}
    sent = await client.post("/v1/send-sms/json", json=body)
    assert sent.status_code == 200, sent.text
    assert (await log_in(client, "u@example.com", PASSWORD)).status_code == 303
    html = (await client.get("/panel/")).text
    assert "<dt>Bugünkü siparişler</dt><dd>1</dd>" in html
    assert "<dt>Bugünkü mesajlar</dt><dd>2</dd>" in html
    assert "<dt>Bakiye</dt><dd>98 kredi</dd>" in html


async def test_demo_prints_a_panel_login_that_works(
    runtime: Runtime, client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "demo.json"
    args = ("demo", "--file", str(path), "--url", "http://127.0.0.1:18080")
    first = ok(ileti(database_url, *args)).output
    lines = first.splitlines()
    at = lines.index("The web panel (log in with this e-mail and password):")
    url, email, password = lines[at + 1].split()
    assert (url, email) == ("http://127.0.0.1:18080/panel/", "demo@ileti.example")
    assert json.loads(path.read_text())["panel_password"] == password
    assert (await log_in(client, email, password)).status_code == 303
    assert (await client.get("/panel/")).status_code == 200
    # A second start keeps the password and the session.
    second = ok(ileti(database_url, *args)).output
    assert f"  http://127.0.0.1:18080/panel/  demo@ileti.example  {password}" in second
    assert (await client.get("/panel/")).status_code == 200


async def test_the_session_cookie_is_secure_behind_an_https_proxy(
    settings: Settings, database_url: str
) -> None:
    """X-Forwarded-Proto from a trusted proxy (and only from one) makes the cookie Secure."""
    proxied = replace(settings, trusted_proxies=parse_networks(["10.0.0.0/8"]))
    async with started(proxied) as rt:
        mine = await rt.accounts.create("acme")
        create_user(database_url, "u@example.com", "--account", mine.account.key)
        for peer, secure in (("10.1.2.3", True), ("192.0.2.1", False)):
            async with client_of(rt, ip=peer) as client:
                # ileti is spoken to in http; the header claims the browser used https.
                client.headers["X-Forwarded-Proto"] = "https"
                form = await client.get("/panel/login")
                assert ("Secure" in form.headers["set-cookie"]) is secure
                token = csrf_of(form.text)
                answer = await client.post(
                    "/panel/login",
                    data={"csrf": token, "email": "u@example.com", "password": PASSWORD},
                    headers={"Cookie": f"ileti_login_csrf={token}"},
                )
                assert answer.status_code == 303
                cookie = answer.headers["set-cookie"]
                assert cookie.startswith("ileti_session=")
                assert "HttpOnly" in cookie and "SameSite=lax" in cookie
                assert ("Secure" in cookie.split(",")[0]) is secure


async def test_a_browser_at_the_root_lands_on_the_panel(client: httpx.AsyncClient) -> None:
    browser = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 303 and browser.headers["location"] == "/panel/"
    curl = await client.get("/", headers={"Accept": "*/*"})
    assert curl.status_code == 200 and "The web panel: /panel/" in curl.text


async def test_the_panel_is_gone_when_switched_off(settings: Settings) -> None:
    async with started(replace(settings, panel=False)) as rt, client_of(rt) as client:
        assert (await client.get("/panel/login")).status_code == 404
        root = await client.get("/", headers={"Accept": "text/html"})
        assert root.status_code == 200 and root.headers["content-type"].startswith("text/plain")
