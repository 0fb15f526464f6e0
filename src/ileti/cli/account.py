"""``ileti account create|list|show|update``."""

from __future__ import annotations

import click

from ileti.cli.common import account_dict, database_option, echo_json, open_store, run
from ileti.services.accounts import Issued


def _print_issued(issued: Issued, as_json: bool, title: str) -> None:
    data = account_dict(issued.account) | {"secret": issued.secret, "hash": issued.hash}
    if as_json:
        echo_json(data)
        return
    click.echo(title)
    click.echo(f"  id:     {issued.account.id}")
    click.echo(f"  name:   {issued.account.name}")
    click.echo(f"  key:    {issued.account.key}")
    click.echo(f"  secret: {issued.secret}")
    click.echo(f"  hash:   {issued.hash}")
    click.echo("The secret and hash are shown only now; ileti keeps neither.")


def _print_account(data: dict[str, object]) -> None:
    width = max(len(k) for k in data)
    for name, value in data.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        click.echo(f"{name.ljust(width)}  {value}")


@click.group()
def account() -> None:
    """Create and manage API accounts."""


@account.command()
@click.argument("name")
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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
def create(
    name: str,
    senders: tuple[str, ...],
    balance: int,
    no_api_access: bool,
    allow_ips: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create an account; prints its key, secret and hash once."""
    with open_store() as store:
        issued = run(
            store,
            lambda accounts, _bl: accounts.create(
                name,
                senders=senders,
                balance=balance,
                api_access=not no_api_access,
                allow_ips=allow_ips,
            ),
        )
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
        click.echo(f"{a['id']:>4}  {a['key']:32}  {api:3}  {a['blacklist_count']:>9}  {a['name']}")


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
    rotate: bool,
    as_json: bool,
) -> None:
    """Change an account's access, allow-list, senders or balance; rotate its secret."""

    async def work(accounts, _bl):  # type: ignore[no-untyped-def]
        current = await accounts.get(key)
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
        )
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
