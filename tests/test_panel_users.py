"""The panel's users and sessions, in process on both databases: ``ileti user``, what
is stored (argon2id, only a digest of each session token), logging in and out, session
expiry, a password change ending sessions, and what the dashboard shows."""

from __future__ import annotations

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.services.accounts import Issued
from tests.support.cli import ileti, ok
from tests.support.clock import FakeClock
from tests.support.http import auth
from tests.support.panel_http import log_in, post_form
from tests.support.runtime import asgi_client
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
