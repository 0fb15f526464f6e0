"""``ileti relay``: an account's upstream from the command line, on SQLite and
PostgreSQL, with a second ileti (``ileti.testing.server.Sandbox``) as the upstream and
a running instance on the same database (its relay loop sends what the CLI releases).

What is checked is what a user sees (exit code, the lines printed, one-line errors),
what was stored (nothing on a refusal; the hash never in plain form, resealed after a
key rotation) and what the upstream received."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import Result

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.testing.server import Sandbox
from tests.support.cli import failed, invoke, ok
from tests.support.sandbox import Made, make_account, outbox
from tests.support.sms import send_now
from tests.support.spec import MESSAGES
from tests.support.stored import everything_as_text, snapshot
from tests.support.waiting import eventually

OLD_KEY = "relay-cli-old-key-" + "o" * 32
NEW_KEY = "relay-cli-new-key-" + "n" * 32
ALLOWED, OTHER = "+905330000011", "+905330000012"
REFUSED = f"the upstream refused the credentials: 401 {MESSAGES[401]}"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Sandbox]:
    """The upstream: another ileti, serving on a port of its own."""
    with Sandbox() as found:
        yield found


@pytest.fixture
def up(upstream: Sandbox) -> Made:
    """An account on the upstream (100 credits, sender ILETI)."""
    return make_account(upstream)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The running instance beside the CLI: its relay loop polls often."""
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        secret_key=(OLD_KEY,),
        relay_poll_seconds=0.05,
        relay_report_seconds=0.2,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def relay(
    settings: Settings, *args: str, input: str | None = None, secret_key: str | None = OLD_KEY
) -> Result:
    """``ileti relay ARGS...`` on the test's database, with ``ILETI_SECRET_KEY``."""
    env = {"ILETI_DATABASE_URL": settings.database_url, "ILETI_SECRET_KEY": secret_key}
    return invoke(["relay", *args], env=env, input=input)


def set_args(account: Issued, up: Made, *more: str) -> list[str]:
    return ["set", account.account.key, "--url", up.base_url, "--upstream-key", up.key, *more]


async def set_upstream(settings: Settings, account: Issued, up: Made, *more: str) -> str:
    result = ok(relay(settings, *set_args(account, up, "--secret-stdin", *more), input=up.secret))
    return result.stdout


def assert_no_credential(text: str, up: Made) -> None:
    assert up.hash not in text.lower()
    assert up.secret not in text


def shown(settings: Settings, account: Issued) -> Any:
    return json.loads(ok(relay(settings, "show", account.account.key, "--json")).stdout)


async def test_set_prints_the_upstream_and_the_test_calls_balance_never_the_hash(
    runtime: Runtime, settings: Settings, account: Issued, up: Made
) -> None:
    out = await set_upstream(settings, account, up, "--release-to", "0533 000 00 11")
    key = account.account.key
    assert out.splitlines()[0] == f"Upstream of {key}: {up.base_url}"
    assert f"  key             {up.key} (hash kept sealed)" in out.splitlines()
    assert "  mode            sandbox" in out.splitlines()
    assert f"  release to      {ALLOWED}" in out.splitlines()
    assert out.splitlines()[-1] == "Test call (get-balance): amount 0, 100 SMS."
    assert_no_credential(out, up)
    view = shown(settings, account)
    assert view == {
        "account": key,
        "url": up.base_url,
        "key": up.key,
        "mode": "sandbox",
        "blacklist_sync": False,
        "release_numbers": [ALLOWED],
        "checked_at": view["checked_at"],
        "last_error": None,
        "last_error_at": None,
        "blacklist_synced_at": None,
        "batches": {},
    }
    assert view["checked_at"] is not None
    text = ok(relay(settings, "show", key))
    assert text.stdout.splitlines()[0] == f"Upstream of {key}: {up.base_url}"
    assert_no_credential(text.output, up)
    assert_no_credential(await everything_as_text(runtime), up)


async def test_a_change_without_credentials_keeps_them_and_makes_no_test_call(
    settings: Settings, account: Issued, up: Made
) -> None:
    await set_upstream(settings, account, up)
    result = ok(relay(settings, "set", account.account.key, "--blacklist-sync", "--no-release"))
    assert "Test call" not in result.stdout
    assert "  blacklist sync  on" in result.stdout.splitlines()
    assert shown(settings, account)["key"] == up.key
    checked = ok(relay(settings, "check", account.account.key))
    assert checked.stdout == "The upstream answered get-balance: amount 0, 100 SMS.\n"


async def test_relay_mode_forwards_and_batches_shows_the_upstream_request(
    upstream: Sandbox,
    settings: Settings,
    client: httpx.AsyncClient,
    account: Issued,
    up: Made,
) -> None:
    ok(
        relay(
            settings,
            *set_args(account, up, "--hash-stdin", "--mode", "relay"),
            input=up.hash + "\n",
        )
    )
    order_id = await send_now(client, account, [ALLOWED], "relayed by the CLI's setting")
    received = await eventually(lambda: outbox(upstream, up))
    assert [(m["recipient"], m["text"]) for m in received] == [
        (ALLOWED, "relayed by the CLI's setting")
    ]
    upstream_id = str(received[0]["order_id"])

    def listed() -> list[dict[str, Any]]:
        found = relay(settings, "batches", account.account.key, "--order", str(order_id), "--json")
        batches: list[dict[str, Any]] = json.loads(ok(found).stdout)
        return batches if batches and batches[0]["upstream_id"] else []

    (batch,) = await eventually(listed)
    assert (batch["order_id"], batch["kind"], batch["recipients"]) == (order_id, "relay", 1)
    assert batch["upstream_id"] == upstream_id
    assert batch["state"] in ("sent", "done")
    table = ok(relay(settings, "batches", account.account.key)).stdout.splitlines()
    assert table[0].split() == [
        "ID",
        "ORDER",
        "KIND",
        "TEXT",
        "SIZE",
        "STATE",
        "ATTEMPTS",
        "UPSTREAM",
        "ID",
        "UPSTREAM",
        "ERROR",
    ]
    row = table[1].split()
    assert row[1:3] == [str(order_id), "relay"]
    assert row[7:] == [upstream_id, "-"]


@pytest.mark.parametrize(
    ("more", "stdin", "code", "message"),
    [
        (["--secret-stdin"], "not-the-secret", 1, REFUSED),
        (["--hash-stdin"], "ab" * 32, 1, REFUSED),
        (["--hash-stdin"], "xyz", 1, "the upstream hash must be 64 hexadecimal characters"),
        (["--hash-stdin"], "", 2, "no upstream hash on standard input (--hash-stdin)"),
        (["--secret-stdin"], "\n", 2, "no upstream secret on standard input"),
        (["--hash-stdin", "--secret-stdin"], "x", 2, "give --hash-stdin or --secret-stdin"),
        ([], None, 1, "the upstream hash (or secret) is required with a new key"),
        (["--hash", "ab" * 32], None, 2, "No such option '--hash'"),
        (["--secret-stdin", "--url", "ftp://x/"], "s", 1, "the upstream URL must start with"),
        (["--secret-stdin", "--mode", "live"], "s", 2, "Invalid value for '--mode'"),
        (["--secret-stdin", "--release-to", "123"], "s", 1, "not a Turkish mobile number: '123'"),
        (
            ["--secret-stdin", "--release-to", ALLOWED, "--no-release"],
            "s",
            2,
            "give --release-to or --no-release, not both",
        ),
        (["--secret-stdin", "--upstream-key", "a b"], "s", 1, "1 to 64 printable ASCII"),
    ],
)
async def test_a_refused_setting_is_one_line_and_stores_nothing(
    runtime: Runtime,
    settings: Settings,
    account: Issued,
    up: Made,
    more: list[str],
    stdin: str | None,
    code: int,
    message: str,
) -> None:
    before = await snapshot(runtime)
    result = relay(settings, *set_args(account, up, *more), input=stdin)
    failed(result, message, code)
    assert_no_credential(result.output, up)
    assert await snapshot(runtime) == before


async def test_an_upstream_that_does_not_answer_is_refused(
    runtime: Runtime, settings: Settings, account: Issued, up: Made
) -> None:
    before = await snapshot(runtime)
    url = f"http://127.0.0.1:{closed_port()}/v1/"
    args = ["set", account.account.key, "--url", url, "--upstream-key", up.key, "--secret-stdin"]
    failed(relay(settings, *args, input=up.secret), "the upstream did not answer: ", 1)
    assert await snapshot(runtime) == before


async def test_without_ileti_secret_key_nothing_is_set(
    runtime: Runtime, settings: Settings, account: Issued, up: Made
) -> None:
    before = await snapshot(runtime)
    result = relay(
        settings, *set_args(account, up, "--secret-stdin"), input=up.secret, secret_key=None
    )
    failed(result, "ILETI_SECRET_KEY is not set", 2)
    assert await snapshot(runtime) == before


async def test_an_unknown_account_is_one_line(runtime: Runtime, settings: Settings) -> None:
    before = await snapshot(runtime)
    for args in (
        ["set", "nobody", "--upstream-key", "k", "--secret-stdin"],
        ["show", "nobody"],
        ["check", "nobody"],
        ["clear", "nobody"],
        ["batches", "nobody"],
        ["release", "1", "--account", "nobody"],
    ):
        failed(relay(settings, *args, input="s"), "no account with key 'nobody'", 1)
    assert await snapshot(runtime) == before


async def test_show_without_an_upstream(settings: Settings, account: Issued) -> None:
    key = account.account.key
    result = ok(relay(settings, "show", key))
    assert (result.stdout, result.stderr) == (
        "",
        f"No upstream: the orders of {key} are simulated.\n",
    )
    assert shown(settings, account) is None
    empty = ok(relay(settings, "batches", key))
    assert (empty.stdout, empty.stderr) == ("", "No batches.\n")


async def test_a_failed_check_is_kept_as_the_last_error(
    upstream: Sandbox, settings: Settings, account: Issued, up: Made
) -> None:
    await set_upstream(settings, account, up)
    gone = httpx.delete(
        f"{upstream.url}/_ileti/accounts/{up.key}",
        headers={"Authorization": f"Bearer {upstream.admin_token}"},
    )
    assert gone.status_code == 204, gone.text
    failed(relay(settings, "check", account.account.key), REFUSED, 1)
    view = shown(settings, account)
    assert view["last_error"] == REFUSED
    assert view["last_error_at"] is not None
    text = ok(relay(settings, "show", account.account.key)).stdout
    assert f"{REFUSED}" in text


async def test_clear_forgets_the_upstream(
    runtime: Runtime, settings: Settings, account: Issued, up: Made
) -> None:
    await set_upstream(settings, account, up)
    key = account.account.key
    cleared = ok(relay(settings, "clear", key))
    assert cleared.stdout == f"Upstream of {key} removed: its orders are simulated again.\n"
    assert (await snapshot(runtime))["upstreams"] == []
    failed(relay(settings, "clear", key), f"account '{key}' has no upstream", 1)
    failed(relay(settings, "check", key), "the account has no upstream", 1)


async def test_release_sends_a_captured_order_to_the_release_list_only(
    upstream: Sandbox,
    settings: Settings,
    client: httpx.AsyncClient,
    account: Issued,
    up: Made,
) -> None:
    key = account.account.key
    await set_upstream(settings, account, up, "--release-to", ALLOWED)
    order_id = await send_now(client, account, [ALLOWED, OTHER], "captured, then released")
    released = ok(relay(settings, "release", str(order_id), "--account", key))
    assert released.stdout == (
        f"Order {order_id} released: 1 batch(es), 1 recipient(s), "
        "sent upstream by a running server.\n"
    )
    received = await eventually(lambda: outbox(upstream, up))
    assert [(m["recipient"], m["text"]) for m in received] == [(ALLOWED, "captured, then released")]
    failed(
        relay(settings, "release", str(order_id), "--account", key),
        f"order {order_id} was released already",
        1,
    )
    assert len(outbox(upstream, up)) == 1
    failed(relay(settings, "release", "999999", "--account", key), "no order 999999", 1)
    failed(relay(settings, "release", str(order_id)), "Missing option '--account'", 2)


async def test_another_accounts_order_is_neither_released_nor_listed(
    runtime: Runtime,
    settings: Settings,
    client: httpx.AsyncClient,
    account: Issued,
    up: Made,
) -> None:
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=10)
    await set_upstream(settings, account, up, "--release-to", ALLOWED)
    theirs = await send_now(client, other, [ALLOWED])
    before = await snapshot(runtime)
    key = account.account.key
    failed(relay(settings, "release", str(theirs), "--account", key), f"no order {theirs}", 1)
    failed(relay(settings, "batches", key, "--order", str(theirs)), f"no order {theirs}", 1)
    after = await snapshot(runtime)  # (the carrier moves the order's messages on meanwhile)
    assert after["relay_batches"] == before["relay_batches"] == []


async def test_reseal_after_a_key_rotation(
    runtime: Runtime, settings: Settings, account: Issued, up: Made
) -> None:
    await set_upstream(settings, account, up)
    key = account.account.key
    before = await snapshot(runtime)
    # The new key alone does not open what the old one sealed: nothing is resealed.
    failed(relay(settings, "reseal", secret_key=NEW_KEY), "nothing was resealed", 2)
    failed(relay(settings, "reseal", secret_key=None), "ILETI_SECRET_KEY is not set", 2)
    assert await snapshot(runtime) == before
    rotated = f"{NEW_KEY},{OLD_KEY}"
    resealed = ok(relay(settings, "reseal", secret_key=rotated))
    assert resealed.stdout == "Resealed 1 upstream credential(s) with the first ILETI_SECRET_KEY.\n"
    after = await snapshot(runtime)
    assert after["upstreams"] != before["upstreams"]
    assert_no_credential(repr(after["upstreams"]), up)
    checked = ok(relay(settings, "check", key, secret_key=NEW_KEY))
    assert checked.stdout == "The upstream answered get-balance: amount 0, 100 SMS.\n"
    failed(
        relay(settings, "check", key, secret_key=OLD_KEY),
        "ILETI_SECRET_KEY does not open the stored upstream credentials",
        1,
    )


def test_relay_without_a_command_prints_its_help() -> None:
    result = ok(invoke(["relay"]))
    assert result.stdout.startswith("Usage: ileti relay [OPTIONS] COMMAND [ARGS]...")
    for command in ("set", "show", "check", "clear", "release", "batches", "reseal"):
        assert f"  {command} " in result.stdout
    assert result.stderr == ""
