"""``ileti account create|list|show|update|delete``."""

from __future__ import annotations

from typing import Any

import click

from ileti.cli.common import (
    Group,
    Refused,
    account_dict,
    database_option,
    echo_json,
    open_store,
    run,
)
from ileti.logs import visible
from ileti.services.accounts import MAX_BALANCE, AccountError, Issued
from ileti.store import KeyInUse


def _print_issued(issued: Issued, as_json: bool, title: str) -> None:
    data = account_dict(issued.account) | {"secret": issued.secret, "hash": issued.hash}
    if as_json:
        echo_json(data)
        return
    click.echo(title)
    click.echo(f"  id:     {issued.account.id}")
    click.echo(f"  name:   {visible(issued.account.name)}")
    click.echo(f"  key:    {issued.account.key}")
    click.echo(f"  secret: {issued.secret}")
    click.echo(f"  hash:   {issued.hash}")
    click.echo("The secret and hash are shown only now; ileti keeps neither.")


def _print_account(data: dict[str, object]) -> None:
    width = max(len(k) for k in data)
    for name, value in data.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        click.echo(f"{name.ljust(width)}  {visible(str(value))}")


def sending_options(fn: Any) -> Any:
    """Options for the sending settings, shared by ``create`` and ``update``."""
    options = [
        click.option(
            "--unit-price",
            metavar="TRY",
            help="Price of one SMS credit in TRY "
            "(get-balance's amount = balance x price), e.g. 0.158.",
        ),
        click.option(
            "--brand-code", metavar="CODE", help="İYS brand code (needed for iys=1); '' clears it."
        ),
        click.option(
            "--test-number",
            metavar="NUMBER",
            help="The number sender APITEST may send to; '' clears it.",
        ),
        click.option(
            "--webhook-url", metavar="URL", help="Where delivery reports are POSTed; '' clears it."
        ),
        click.option(
            "--strict",
            type=click.Choice(["on", "off"]),
            help="Enforce the documented rules the live service relaxes.",
        ),
        click.option(
            "--rate-limit",
            type=click.IntRange(min=0),
            metavar="N",
            help="send-sms recipients per second; 0: the server's default.",
        ),
        click.option(
            "--short-code",
            metavar="CODE",
            help="The short code inbound opt-outs are sent to (3 to 8 digits); '' clears it.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(
    unit_price: str | None,
    brand_code: str | None,
    test_number: str | None,
    webhook_url: str | None,
    strict: str | None,
    rate_limit: int | None,
    short_code: str | None,
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if unit_price is not None:
        settings["unit_price"] = unit_price
    if brand_code is not None:
        settings["brand_code"] = brand_code
    if test_number is not None:
        settings["test_number"] = test_number
    if webhook_url is not None:
        settings["webhook_url"] = webhook_url
    if strict is not None:
        settings["strict"] = strict == "on"
    if rate_limit is not None:
        settings["rate_limit"] = rate_limit or None
    if short_code is not None:
        settings["short_code"] = short_code
    return settings


def _check_balance(balance: int, credits: int) -> None:
    if balance + credits < 0:
        raise Refused(
            f"the balance would go below zero: {balance} credits, --add-balance {credits}"
        )
    if balance + credits > MAX_BALANCE:
        raise Refused(
            f"the balance would go over {MAX_BALANCE}: {balance} credits, --add-balance {credits}"
        )


@click.group(cls=Group)
def account() -> None:
    """Create and manage API accounts."""


@account.command()
@click.argument("name")
@click.option(
    "--key", metavar="KEY", help="A chosen API key (1 to 64 of A-Z a-z 0-9 - _); default: random."
)
@click.option(
    "--secret",
    metavar="SECRET",
    help="A chosen secret (1 to 200 printable ASCII characters); default: random.",
)
@click.option("--sender", "senders", multiple=True, help="An approved sender (repeatable).")
@click.option(
    "--balance", type=click.IntRange(min=0), default=0, show_default=True, help="SMS credits."
)
@click.option("--no-api-access", is_flag=True, help="Create with API access off.")
@click.option(
    "--allow-ip",
    "allow_ips",
    multiple=True,
    metavar="CIDR",
    help="Only accept API requests from here (repeatable).",
)
@sending_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
def create(
    name: str,
    key: str | None,
    secret: str | None,
    senders: tuple[str, ...],
    balance: int,
    no_api_access: bool,
    allow_ips: tuple[str, ...],
    as_json: bool,
    **sending: Any,
) -> None:
    """Create an account with a chosen or random key and secret; prints its key,
    secret and hash once."""

    async def work(accounts, _bl):  # type: ignore[no-untyped-def]
        try:
            return await accounts.create(
                name,
                key=key,
                secret=secret,
                senders=senders,
                balance=balance,
                api_access=not no_api_access,
                allow_ips=allow_ips,
                **_settings(**sending),
            )
        except KeyInUse as exc:
            raise Refused(f"another account has the key {key!r}") from exc

    with open_store() as store:
        issued = run(store, work)
    _print_issued(issued, as_json, "Account created.")


@account.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@database_option
def list_accounts(as_json: bool) -> None:
    """List accounts (never their secrets)."""
    with open_store() as store:
        accounts = run(store, lambda accounts, _bl: accounts.list())
    rows = [account_dict(a) for a in accounts]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No accounts. Create one: ileti account create NAME")
        return
    click.echo(f"{'ID':>4}  {'KEY':32}  {'API':3}  {'BLACKLIST':>9}  NAME")
    for a in rows:
        api = "on" if a["api_access"] else "off"
        click.echo(
            f"{a['id']:>4}  {a['key']:32}  {api:3}  {a['blacklist_count']:>9}  {visible(a['name'])}"
        )


@account.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
def show(key: str, as_json: bool) -> None:
    """Show one account."""
    with open_store() as store:
        found = run(store, lambda accounts, _bl: accounts.get(key))
    data = account_dict(found)
    if as_json:
        echo_json(data)
    else:
        _print_account(data)


@account.command()
@click.argument("key")
@click.option("--api-access", type=click.Choice(["on", "off"]), help="Allow API access.")
@click.option(
    "--allow-ip",
    "allow_ips",
    multiple=True,
    metavar="CIDR",
    help="Add to the address allow-list (repeatable).",
)
@click.option("--clear-allow-ip", is_flag=True, help="Empty the allow-list first.")
@click.option("--sender", "senders", multiple=True, help="Approve a sender (repeatable).")
@click.option("--clear-senders", is_flag=True, help="Remove every approved sender first.")
@click.option("--balance", type=click.IntRange(min=0), help="Set the SMS credits.")
@click.option("--add-balance", type=int, metavar="N", help="Add N credits (negative: take).")
@sending_options
@click.option("--rotate", is_flag=True, help="New secret and hash; the old hash stops working.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
def update(
    key: str,
    api_access: str | None,
    allow_ips: tuple[str, ...],
    clear_allow_ip: bool,
    senders: tuple[str, ...],
    clear_senders: bool,
    balance: int | None,
    add_balance: int | None,
    rotate: bool,
    as_json: bool,
    **sending: Any,
) -> None:
    """Change an account's access, allow-list, senders, balance or sending settings;
    rotate its secret."""

    async def work(accounts, _bl):  # type: ignore[no-untyped-def]
        current = await accounts.get(key)
        if add_balance:
            # Refused before anything changes (add_balance below stays the atomic guard).
            _check_balance(current.balance if balance is None else balance, add_balance)
        new_ips = None
        if clear_allow_ip or allow_ips:
            base = () if clear_allow_ip else current.allow_ips
            new_ips = tuple(dict.fromkeys((*base, *allow_ips)))
        new_senders = None
        if clear_senders or senders:
            base = () if clear_senders else current.senders
            new_senders = tuple(dict.fromkeys((*base, *senders)))
        changed = await accounts.update(
            key,
            api_access=None if api_access is None else api_access == "on",
            allow_ips=new_ips,
            senders=new_senders,
            balance=balance,
            **_settings(**sending),
        )
        if add_balance:
            try:
                changed = await accounts.add_balance(key, add_balance)
            except AccountError as exc:
                raise Refused(str(exc)) from exc
        issued = await accounts.rotate(key) if rotate else None
        return changed, issued

    with open_store() as store:
        changed, issued = run(store, work)
    if issued is not None:
        _print_issued(issued, as_json, "Credentials rotated; the old hash no longer works.")
    elif as_json:
        echo_json(account_dict(changed))
    else:
        _print_account(account_dict(changed))


@account.command()
@click.argument("key")
@click.option("--yes", is_flag=True, help="Confirm: the account and everything it has go.")
@database_option
def delete(key: str, yes: bool) -> None:
    """Delete the account KEY with everything it has: blacklist, orders, messages,
    webhooks. Its credentials stop working."""
    if not yes:
        raise click.UsageError(
            f"deleting account {key!r} removes everything it has: add --yes to confirm"
        )
    with open_store() as store:
        run(store, lambda accounts, _bl: accounts.delete(key))
    click.echo(f"Account {key} deleted.")
