"""``ileti user create|list|delete|password``: who may log in to the web panel."""

from __future__ import annotations

import sys

import click

from ileti.cli.common import Group, database_option, echo_json, fail, open_store
from ileti.clock import format_local
from ileti.logs import visible
from ileti.services.users import UserError, UserNotFound, UserService
from ileti.store import Store
from ileti.store.users import EmailInUse


def _service(store: Store) -> UserService:
    from ileti.clock import SYSTEM

    return UserService(store, store.settings, clock=SYSTEM)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            fail("--password-stdin: no password on standard input", 2)
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _run(store: Store, call: object) -> object:
    try:
        return call()  # type: ignore[operator]
    except UserError as exc:
        fail(f"{exc.field}: {exc}", 2)
    except EmailInUse as exc:
        fail(f"a user with e-mail {exc.args[0]!r} exists", 1)
    except UserNotFound as exc:
        fail(f"no user with e-mail {exc.args[0]!r}", 1)


@click.group(cls=Group)
def user() -> None:
    """Users of the web panel (/panel/): an admin sees every account, a user one."""


@user.command("create")
@click.argument("email")
@click.option("--account", "account_key", metavar="KEY", help="The account the user sees.")
@click.option("--admin", is_flag=True, help="The user sees and changes every account.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_option
def create(
    email: str, account_key: str | None, admin: bool, password_stdin: bool, as_json: bool
) -> None:
    """Create a user who logs in with EMAIL and a password (prompted)."""
    if not admin and not account_key:
        fail("a user who is not an admin needs --account KEY (or --admin)", 2)
    password = _password(password_stdin)
    with open_store() as store:
        made = _run(
            store,
            lambda: _service(store).create_sync(
                email, password, account_key=account_key, admin=admin
            ),
        )
    data = {"email": made.email, "account": made.account_key, "admin": made.admin}  # type: ignore[attr-defined]
    if as_json:
        echo_json(data)
    else:
        who = "admin" if data["admin"] else f"account {data['account']}"
        click.echo(f"User {visible(str(data['email']))} created ({who}).")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_option
def list_users(as_json: bool) -> None:
    """List the panel's users."""
    with open_store() as store:
        found = _service(store).list_sync()
    rows = [
        {
            "email": u.email,
            "account": u.account_key,
            "admin": u.admin,
            "created_at": format_local(u.created_at),
        }
        for u in found
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No users. Create one: ileti user create EMAIL --account KEY")
    for row in rows:
        role = "admin" if row["admin"] else f"account {row['account']}"
        click.echo(f"{visible(str(row['email']))}  {role}  since {row['created_at']}")


@user.command("delete")
@click.argument("email")
@database_option
def delete(email: str) -> None:
    """Delete a user (their sessions end at once)."""
    with open_store() as store:
        _run(store, lambda: _service(store).delete_sync(email))
    click.echo(f"User {visible(email)} deleted.")


@user.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@database_option
def password(email: str, password_stdin: bool) -> None:
    """Set a user's password (their sessions end at once)."""
    new = _password(password_stdin)
    with open_store() as store:
        _run(store, lambda: _service(store).set_password_sync(email, new))
    click.echo(f"Password of {visible(email)} changed; their sessions have ended.")
