"""``ileti relay set|show|check|clear|release|batches|reseal``: each account's upstream
(docs/relay.md). The upstream hash (or the secret it is made from) is read from standard
input only, never from an argument (``ps`` and the shell's history would show it), and
is never printed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from ileti.cli.common import Group, database_option, echo_json, fail, failures, open_store, settings
from ileti.clock import format_local
from ileti.logs import visible
from ileti.models import Account
from ileti.services.accounts import AccountService
from ileti.services.relay import Relay
from ileti.services.relay_settings import MODES, RelaySettingError, RelaySettings, UpstreamView
from ileti.services.upstream import Upstream
from ileti.store import Store
from ileti.store.relay import Batch
from ileti.values import MAX_ID
from ileti.vault import vault_of

T = TypeVar("T")
#: ``ileti relay batches`` without ``--order``: the account's newest this many.
RECENT = 50


@click.group(cls=Group)
def relay() -> None:
    """Each account's upstream: forwarding (relay mode) and releasing sandbox orders."""


def _run(work: Callable[[RelaySettings, AccountService], Awaitable[T]]) -> T:
    """Run ``work`` with the relay's settings service on an open store (no relay loop
    runs here: batches made are sent by a running server's loop). A refusal is one
    line: exit 2 for ``ILETI_SECRET_KEY``, 1 for anything else."""
    config = settings()

    async def main(store: Store) -> T:
        vault = vault_of(config.secret_key)
        upstream = Upstream(timeout=config.relay_timeout_seconds)
        try:
            relay = Relay(store, config, vault=vault, upstream=upstream)
            service = RelaySettings(store, config, vault=vault, upstream=upstream, relay=relay)
            return await work(service, AccountService(store))
        finally:
            await upstream.close()

    with open_store() as store, failures():
        try:
            return asyncio.run(main(store))
        except RelaySettingError as exc:
            fail(str(exc), 2 if exc.field == "secret_key" else 1)


def _time(at: int | None) -> str | None:
    return format_local(at) if at is not None else None


def describe(key: str, view: UpstreamView) -> dict[str, Any]:
    """The upstream as ``show --json`` prints it (never the hash)."""
    return {
        "account": key,
        "url": view.base_url,
        "key": view.key,
        "mode": view.mode,
        "blacklist_sync": view.blacklist_sync,
        "release_numbers": list(view.release_numbers),
        "checked_at": _time(view.checked_at),
        "last_error": view.last_error,
        "last_error_at": _time(view.last_error_at),
        "blacklist_synced_at": _time(view.blacklist_synced_at),
        "batches": dict(sorted(view.batches.items())),
    }


def _show(key: str, view: UpstreamView) -> None:
    sync = "on" if view.blacklist_sync else "off"
    click.echo(f"Upstream of {visible(key)}: {visible(view.base_url)}")
    click.echo(f"  key             {visible(view.key)} (hash kept sealed)")
    click.echo(f"  mode            {view.mode}")
    click.echo(f"  blacklist sync  {sync}")
    click.echo(f"  release to      {', '.join(view.release_numbers) or '-'}")
    click.echo(f"  last check      {_time(view.checked_at) or '-'}")
    if view.last_error is not None:
        at = _time(view.last_error_at) or "-"
        click.echo(f"  last error      {at} {visible(view.last_error)}")
    else:
        click.echo("  last error      -")
    counts = ", ".join(f"{state} {n}" for state, n in sorted(view.batches.items()))
    click.echo(f"  batches         {counts or '-'}")


def _balance(balance: tuple[float, int]) -> str:
    amount, sms = balance
    return f"amount {amount:g}, {sms} SMS"


def _read_credential(what: str) -> str:
    """The upstream hash or secret: prompted for without echo on a terminal, else the
    first line of standard input."""
    if sys.stdin.isatty():
        value: str = click.prompt(f"Upstream {what}", hide_input=True, err=True)
        return value
    line = sys.stdin.readline()
    if not line.strip():
        fail(f"no upstream {what} on standard input (--{what}-stdin)", 2)
    return line.rstrip("\r\n")


@relay.command(name="set", short_help="Set or change an account's upstream.")
@click.argument("account_key", metavar="ACCOUNT_KEY")
@click.option(
    "--url", help="The upstream's v1 base URL (default https://api.iletimerkezi.com/v1/)."
)
@click.option("--upstream-key", help="The upstream account's API key.")
@click.option("--hash-stdin", is_flag=True, help="Read the upstream hash from standard input.")
@click.option(
    "--secret-stdin",
    is_flag=True,
    help="Read the upstream secret from standard input (the hash is made from it).",
)
@click.option("--mode", type=click.Choice(MODES), help="sandbox (capture) or relay (forward).")
@click.option(
    "--blacklist-sync/--no-blacklist-sync",
    default=None,
    help="Mirror the account's blacklist upstream, and import the upstream's.",
)
@click.option(
    "--release-to",
    "release_to",
    metavar="NUMBER",
    multiple=True,
    help="A number released sandbox orders may reach (repeat; replaces the list).",
)
@click.option("--no-release", is_flag=True, help="Empty the release list.")
@database_option
def set_upstream(
    account_key: str,
    url: str | None,
    upstream_key: str | None,
    hash_stdin: bool,
    secret_stdin: bool,
    mode: str | None,
    blacklist_sync: bool | None,
    release_to: tuple[str, ...],
    no_release: bool,
) -> None:
    """Create or change the upstream of ACCOUNT_KEY; what is not given is kept. A test
    call (get-balance) is made first: nothing is stored unless it succeeds."""
    if hash_stdin and secret_stdin:
        fail("give --hash-stdin or --secret-stdin, not both", 2)
    if release_to and no_release:
        fail("give --release-to or --no-release, not both", 2)
    hash_value = _read_credential("hash") if hash_stdin else None
    secret = _read_credential("secret") if secret_stdin else None
    numbers = [] if no_release else (list(release_to) if release_to else None)

    async def work(
        service: RelaySettings, accounts: AccountService
    ) -> tuple[Account, UpstreamView, tuple[float, int] | None]:
        account = await accounts.get(account_key)
        view, balance = await service.set(
            account.id,
            base_url=url,
            key=upstream_key,
            hash=hash_value,
            secret=secret,
            mode=mode,
            blacklist_sync=blacklist_sync,
            release_numbers=numbers,
        )
        return account, view, balance

    account, view, balance = _run(work)
    _show(account.key, view)
    if balance is not None:
        click.echo(f"Test call (get-balance): {_balance(balance)}.")


@relay.command(short_help="Show an account's upstream (never its hash).")
@click.argument("account_key", metavar="ACCOUNT_KEY")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON (null: none).")
@database_option
def show(account_key: str, as_json: bool) -> None:
    """The upstream of ACCOUNT_KEY: URL, key, mode, last check and error, batches by
    state. Never the hash."""

    async def work(
        service: RelaySettings, accounts: AccountService
    ) -> tuple[Account, UpstreamView | None]:
        account = await accounts.get(account_key)
        return account, await service.show(account.id)

    account, view = _run(work)
    if as_json:
        echo_json(describe(account.key, view) if view is not None else None)
    elif view is None:
        click.echo(f"No upstream: the orders of {visible(account.key)} are simulated.", err=True)
    else:
        _show(account.key, view)


@relay.command(short_help="Repeat the test call (get-balance).")
@click.argument("account_key", metavar="ACCOUNT_KEY")
@database_option
def check(account_key: str) -> None:
    """Repeat the test call (get-balance) with the stored upstream."""

    async def work(service: RelaySettings, accounts: AccountService) -> tuple[float, int]:
        return await service.check((await accounts.get(account_key)).id)

    balance = _run(work)
    click.echo(f"The upstream answered get-balance: {_balance(balance)}.")


@relay.command(short_help="Forget an account's upstream.")
@click.argument("account_key", metavar="ACCOUNT_KEY")
@database_option
def clear(account_key: str) -> None:
    """Forget the upstream of ACCOUNT_KEY: its orders are simulated again (batches not
    yet sent fail, refunded)."""

    async def work(service: RelaySettings, accounts: AccountService) -> tuple[Account, bool]:
        account = await accounts.get(account_key)
        return account, await service.clear(account.id)

    account, cleared = _run(work)
    if not cleared:
        fail(f"account {account.key!r} has no upstream", 1)
    click.echo(f"Upstream of {visible(account.key)} removed: its orders are simulated again.")


def batch_dict(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "order_id": batch.order_id,
        "kind": batch.kind,
        "text": batch.text_idx,
        "recipients": batch.size,
        "state": batch.state,
        "attempts": batch.attempts,
        "upstream_id": batch.upstream_id,
        "upstream_status": batch.upstream_status,
        "error_code": batch.error_code,
        "error": batch.error,
        "sent_at": _time(batch.sent_at),
        "delivered": batch.delivered,
        "undelivered": batch.undelivered,
        "created_at": _time(batch.created_at),
        "updated_at": _time(batch.updated_at),
    }


def _batch_table(found: list[Batch]) -> None:
    click.echo(
        f"{'ID':>7}  {'ORDER':>9}  {'KIND':<7}  {'TEXT':>4}  {'SIZE':>6}  {'STATE':<9}  "
        f"{'ATTEMPTS':>8}  {'UPSTREAM ID':<12}  UPSTREAM ERROR"
    )
    for b in found:
        error = "-"
        if b.error is not None or b.error_code is not None:
            code = f"{b.error_code} " if b.error_code is not None else ""
            error = visible(f"{code}{b.error or ''}".strip())
        upstream_id = visible(b.upstream_id) if b.upstream_id else "-"
        click.echo(
            f"{b.id:>7}  {b.order_id:>9}  {b.kind:<7}  {b.text_idx:>4}  {b.size:>6}  "
            f"{b.state:<9}  {b.attempts:>8}  {upstream_id:<12}  {error}"
        )


@relay.command(short_help="Release a captured sandbox order to the upstream.")
@click.argument("order_id", metavar="ORDER_ID", type=click.IntRange(1, MAX_ID))
@click.option("--account", "account_key", required=True, metavar="ACCOUNT_KEY")
@click.option("--json", "as_json", is_flag=True, help="Print the batches made as JSON.")
@database_option
def release(order_id: int, account_key: str, as_json: bool) -> None:
    """Send captured sandbox order ORDER_ID to the upstream, to those of its recipients on
    the account's release list (a running server's relay sends it)."""

    async def work(service: RelaySettings, accounts: AccountService) -> list[Batch]:
        return await service.release((await accounts.get(account_key)).id, order_id)

    made = _run(work)
    if as_json:
        echo_json([batch_dict(b) for b in made])
        return
    recipients = sum(b.size for b in made)
    click.echo(
        f"Order {order_id} released: {len(made)} batch(es), {recipients} recipient(s), "
        "sent upstream by a running server."
    )


@relay.command(short_help="List the upstream requests (batches).")
@click.argument("account_key", metavar="ACCOUNT_KEY")
@click.option("--order", "order_id", type=click.IntRange(1, MAX_ID), help="Only this order's.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@database_option
def batches(account_key: str, order_id: int | None, as_json: bool) -> None:
    """The upstream requests (batches) of ACCOUNT_KEY, newest first (the newest 50), or
    of one order: state, attempts, the upstream's order id, its code and message."""

    async def work(service: RelaySettings, accounts: AccountService) -> list[Batch]:
        account = await accounts.get(account_key)
        if order_id is None:
            return await service.recent(account.id, RECENT)
        return await service.batches(order_id, account.id)

    found = _run(work)
    if as_json:
        echo_json([batch_dict(b) for b in found])
    elif not found:
        click.echo("No batches.", err=True)
    else:
        _batch_table(found)


@relay.command(short_help="Reseal the upstream hashes after a key rotation.")
@database_option
def reseal() -> None:
    """Seal every stored upstream hash again with the first key of ILETI_SECRET_KEY (after
    putting a new key first and the old one after it); then the old key can go."""

    async def work(service: RelaySettings, _accounts: AccountService) -> int:
        return await service.reseal()

    count = _run(work)
    click.echo(f"Resealed {count} upstream credential(s) with the first ILETI_SECRET_KEY.")
